//! Test-only helpers shared by the encoders' tests: reading the oracle's golden files and
//! parsing JsonConverter output (`{"schema":…,"payload":…}`) back into our Connect model.
//!
//! The golden files carry the same records through JsonConverter (`<run>.json.jsonl`) and
//! AvroConverter (`<run>.avro.jsonl`); parsing the JSON side gives the Connect schema and value
//! that every encoder is then checked against.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use base64::Engine as _;
use serde_json::Value as J;

use crate::connect::{Field, Schema, SchemaType, Value};

pub(crate) const GOLDEN_DIR: &str = "/work/shared/oracle/golden";

pub(crate) fn golden_dir() -> PathBuf {
    std::env::var_os("CDC_GOLDEN_DIR").map(PathBuf::from).unwrap_or_else(|| PathBuf::from(GOLDEN_DIR))
}

/// Index just past the JSON value that starts at `i` (after optional whitespace).
pub(crate) fn skip_value(s: &[u8], mut i: usize) -> usize {
    while s[i].is_ascii_whitespace() {
        i += 1;
    }
    match s[i] {
        b'"' => {
            i += 1;
            loop {
                match s[i] {
                    b'\\' => i += 2,
                    b'"' => return i + 1,
                    _ => i += 1,
                }
            }
        }
        b'{' | b'[' => {
            let mut depth = 0usize;
            loop {
                match s[i] {
                    b'"' => {
                        i = skip_value(s, i);
                        continue;
                    }
                    b'{' | b'[' => depth += 1,
                    b'}' | b']' => {
                        depth -= 1;
                        if depth == 0 {
                            return i + 1;
                        }
                    }
                    _ => {}
                }
                i += 1;
            }
        }
        _ => {
            while i < s.len() && !matches!(s[i], b',' | b'}' | b']') && !s[i].is_ascii_whitespace() {
                i += 1;
            }
            i
        }
    }
}

/// The top-level members of a JSON object line as (name, raw value text), without
/// re-serializing anything.
pub(crate) fn raw_members(line: &str) -> Vec<(String, &str)> {
    let s = line.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    assert_eq!(s[i], b'{');
    i += 1;
    loop {
        while s[i].is_ascii_whitespace() || s[i] == b',' {
            i += 1;
        }
        if s[i] == b'}' {
            break;
        }
        let name_end = skip_value(s, i);
        let name: String = serde_json::from_str(&line[i..name_end]).unwrap();
        i = name_end;
        while s[i].is_ascii_whitespace() || s[i] == b':' {
            i += 1;
        }
        let end = skip_value(s, i);
        out.push((name, &line[i..end]));
        i = end;
    }
    out
}

/// Test-only parser: JsonConverter's schema JSON → our `Schema`.
pub(crate) fn parse_schema(j: &J) -> Schema {
    let o = j.as_object().expect("schema object");
    let ty = match o["type"].as_str().unwrap() {
        "int8" => SchemaType::Int8,
        "int16" => SchemaType::Int16,
        "int32" => SchemaType::Int32,
        "int64" => SchemaType::Int64,
        "float" => SchemaType::Float32,
        "double" => SchemaType::Float64,
        "boolean" => SchemaType::Boolean,
        "string" => SchemaType::String,
        "bytes" => SchemaType::Bytes,
        "array" => SchemaType::Array(Arc::new(parse_schema(&o["items"]))),
        "struct" => SchemaType::Struct(
            o["fields"]
                .as_array()
                .unwrap()
                .iter()
                .map(|f| Field::new(f["field"].as_str().unwrap(), Arc::new(parse_schema(f))))
                .collect(),
        ),
        other => panic!("unsupported schema type {other}"),
    };
    let mut schema = Schema::new(ty);
    for (k, v) in o {
        match k.as_str() {
            "type" | "fields" | "items" | "field" | "default" => {}
            "optional" => schema.optional = v.as_bool().unwrap(),
            "name" => schema.name = Some(v.as_str().unwrap().to_owned()),
            "version" => schema.version = Some(v.as_i64().unwrap() as i32),
            "doc" => schema.doc = Some(v.as_str().unwrap().to_owned()),
            "parameters" => {
                schema.parameters =
                    v.as_object().unwrap().iter().map(|(k, v)| (k.clone(), v.as_str().unwrap().to_owned())).collect()
            }
            other => panic!("unexpected schema key {other}"),
        }
    }
    if let Some(d) = o.get("default") {
        schema.default = Some(parse_payload(&schema, d));
    }
    schema
}

/// Test-only parser: payload JSON → our `Value`, guided by the schema.
pub(crate) fn parse_payload(schema: &Schema, j: &J) -> Value {
    if j.is_null() {
        return Value::Null;
    }
    match &schema.ty {
        SchemaType::Int8 | SchemaType::Int16 | SchemaType::Int32 | SchemaType::Int64 => {
            Value::Int(j.as_i64().expect("integer"))
        }
        SchemaType::Float32 => Value::Float32(j.as_f64().expect("number") as f32),
        SchemaType::Float64 => Value::Float64(j.as_f64().expect("number")),
        SchemaType::Boolean => Value::Boolean(j.as_bool().expect("boolean")),
        SchemaType::String => Value::String(j.as_str().expect("string").to_owned()),
        SchemaType::Bytes => Value::Bytes(
            base64::engine::general_purpose::STANDARD.decode(j.as_str().expect("base64 string")).expect("base64"),
        ),
        SchemaType::Array(items) => {
            Value::Array(j.as_array().expect("array").iter().map(|v| parse_payload(items, v)).collect())
        }
        SchemaType::Struct(fields) => {
            let o = j.as_object().expect("struct object");
            assert_eq!(o.len(), fields.len(), "struct member count");
            Value::Struct(fields.iter().map(|f| parse_payload(&f.schema, &o[&f.name])).collect())
        }
    }
}

/// Parses a `{"schema":…,"payload":…}` envelope.
pub(crate) fn parse_envelope(raw: &str) -> (Arc<Schema>, Value) {
    let j: J = serde_json::from_str(raw).unwrap();
    let o = j.as_object().unwrap();
    assert_eq!(o.keys().collect::<Vec<_>>(), ["schema", "payload"]);
    let schema = Arc::new(parse_schema(&o["schema"]));
    let value = parse_payload(&schema, &o["payload"]);
    (schema, value)
}

pub(crate) fn golden_files() -> Vec<PathBuf> {
    let dir = golden_dir();
    let mut files: Vec<PathBuf> =
        ["main.json.jsonl", "txmeta.json.jsonl", "heartbeat.json.jsonl"].iter().map(|f| dir.join(f)).collect();
    let mut mdb: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("reading {}: {e}", dir.display()))
        .map(|e| e.unwrap().path())
        .filter(|p| {
            let n = p.file_name().unwrap().to_string_lossy();
            n.starts_with("mdbtypes") && n.ends_with(".json.jsonl")
        })
        .collect();
    mdb.sort();
    files.extend(mdb);
    files
}

pub(crate) struct GoldenRecord {
    pub seq: u64,
    pub topic: String,
    pub headers: J,
    pub key: Option<(Arc<Schema>, Value, String)>,
    pub value: Option<(Arc<Schema>, Value, String)>,
}

pub(crate) fn read_golden(path: &Path) -> Vec<GoldenRecord> {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    text.lines()
        .map(|line| {
            let members = raw_members(line);
            let names: Vec<&str> = members.iter().map(|(n, _)| n.as_str()).collect();
            assert_eq!(names, ["seq", "topic", "partition", "headers", "key", "value"], "{}", path.display());
            let get = |n: &str| members.iter().find(|(k, _)| k == n).unwrap().1;
            let env = |raw: &str| {
                if raw == "null" {
                    None
                } else {
                    let (s, v) = parse_envelope(raw);
                    Some((s, v, raw.to_owned()))
                }
            };
            GoldenRecord {
                seq: get("seq").parse().unwrap(),
                topic: serde_json::from_str(get("topic")).unwrap(),
                headers: serde_json::from_str(get("headers")).unwrap(),
                key: env(get("key")),
                value: env(get("value")),
            }
        })
        .collect()
}
