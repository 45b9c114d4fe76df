//! Tests for the AvroConverter encoding: every registered schema and every record of the
//! oracle's golden runs byte for byte, a cross-check with the `apache-avro` crate, and unit
//! tests of the rules.

use super::*;
use crate::connect::Field;
use crate::encode::test_support::*;
use serde_json::Value as J;
use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

// ---------------------------------------------------------------------------------------------
// Golden files
// ---------------------------------------------------------------------------------------------

/// The golden runs with Avro output, and whether their registry dump exists.
const RUNS: &[&str] = &["main", "txmeta", "heartbeat", "mdbtypes_exclude", "mdbtypes_excludeskip", "mdbtypes_skip"];

/// One subject/version of `<run>.avro-schemas.jsonl`, with the schema text exactly as in the file.
struct Registered {
    subject: String,
    version: i64,
    id: u32,
    raw: String,
    parsed: J,
}

fn read_registered(run: &str) -> Option<Vec<Registered>> {
    let path = golden_dir().join(format!("{run}.avro-schemas.jsonl"));
    let text = std::fs::read_to_string(path).ok()?;
    Some(
        text.lines()
            .map(|line| {
                let members = raw_members(line);
                let get = |n: &str| members.iter().find(|(k, _)| k == n).unwrap_or_else(|| panic!("no {n}")).1;
                assert_eq!(get("schemaType"), "\"AVRO\"");
                Registered {
                    subject: serde_json::from_str(get("subject")).unwrap(),
                    version: get("version").parse().unwrap(),
                    id: get("id").parse().unwrap(),
                    raw: get("schema").to_owned(),
                    parsed: serde_json::from_str(get("schema")).unwrap(),
                }
            })
            .collect(),
    )
}

/// One side (key or value) of a `<run>.avro.jsonl` line: schema id and wire bytes.
struct AvroSide {
    id: u32,
    bytes: Vec<u8>,
}

fn hex_decode(s: &str) -> Vec<u8> {
    (0..s.len()).step_by(2).map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap()).collect()
}

fn read_avro_golden(run: &str) -> Vec<(u64, String, Option<AvroSide>, Option<AvroSide>)> {
    let path = golden_dir().join(format!("{run}.avro.jsonl"));
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    text.lines()
        .map(|line| {
            let j: J = serde_json::from_str(line).unwrap();
            let side = |what: &str| {
                let hex = &j[format!("{what}_hex")];
                if hex.is_null() {
                    return None;
                }
                let bytes = hex_decode(hex.as_str().unwrap());
                let id = j[format!("{what}_schema_id")].as_u64().unwrap() as u32;
                assert_eq!(j[format!("{what}_magic")], 0);
                assert_eq!(&bytes[..5], &[[0u8].as_slice(), &id.to_be_bytes()].concat()[..]);
                Some(AvroSide { id, bytes })
            };
            (j["seq"].as_u64().unwrap(), j["topic"].as_str().unwrap().to_owned(), side("key"), side("value"))
        })
        .collect()
}

/// The heartbeat schemas the pipeline builds (`envelope::heartbeat_*_schema`) render to exactly
/// the text Debezium registered in the golden heartbeat run.
#[test]
fn heartbeat_schemas_match_registered_text() {
    let registered = read_registered("heartbeat").expect("golden heartbeat schemas");
    let raw = |subject: &str| {
        registered.iter().find(|r| r.subject == subject).map(|r| r.raw.clone()).expect("subject registered")
    };
    let key = avro_schema_json(&crate::envelope::heartbeat_key_schema());
    assert_eq!(key, raw("__debezium-heartbeat.dbserver1-key"));
    let value = avro_schema_json(&crate::envelope::heartbeat_value_schema());
    assert_eq!(value, raw("__debezium-heartbeat.dbserver1-value"));
}

/// Every schema registered by the oracle equals, byte for byte, what we render for the Connect
/// schema of the records that used it; and per subject, the versions come in the order our
/// records would register them.
#[test]
fn golden_schemas_match_registered_text() {
    let mut checked_uses = 0usize;
    let mut matched = 0usize;
    let mut failures = Vec::new();
    for run in RUNS {
        let Some(registered) = read_registered(run) else { continue };
        let by_id: HashMap<u32, &Registered> = registered.iter().map(|r| (r.id, r)).collect();
        let json = read_golden(&golden_dir().join(format!("{run}.json.jsonl")));
        let avro = read_avro_golden(run);
        assert_eq!(json.len(), avro.len(), "{run}: record counts");
        // subject → ids in order of first use by our records.
        let mut first_use: BTreeMap<String, Vec<u32>> = BTreeMap::new();
        let mut seen_ids = std::collections::HashSet::new();
        for (j, (seq, topic, akey, avalue)) in json.iter().zip(&avro) {
            assert_eq!(j.seq, *seq);
            assert_eq!(&j.topic, topic);
            for (what, part, side) in [("key", &j.key, akey), ("value", &j.value, avalue)] {
                assert_eq!(part.is_some(), side.is_some(), "{run} seq {seq} {what}: null in one golden only");
                let (Some((schema, _, _)), Some(side)) = (part, side) else { continue };
                let reg = by_id.get(&side.id).unwrap_or_else(|| panic!("{run}: id {} not registered", side.id));
                assert_eq!(reg.subject, format!("{topic}-{what}"), "{run} seq {seq}: TopicNameStrategy");
                let ours = avro_schema_json(schema);
                checked_uses += 1;
                let ids = first_use.entry(reg.subject.clone()).or_default();
                if !ids.contains(&side.id) {
                    ids.push(side.id);
                }
                let parsed_ok = serde_json::from_str::<J>(&ours).map(|p| p == reg.parsed).unwrap_or(false);
                if ours != reg.raw || !parsed_ok {
                    let at = ours.bytes().zip(reg.raw.bytes()).take_while(|(a, b)| a == b).count();
                    failures.push(format!(
                        "{run} seq {seq} {what} ({} v{}), parsed equal: {parsed_ok}, first difference at {at}:\n  golden: {}\n  ours:   {}",
                        reg.subject,
                        reg.version,
                        &reg.raw[at.saturating_sub(80)..(at + 80).min(reg.raw.len())],
                        &ours[at.saturating_sub(80)..(at + 80).min(ours.len())],
                    ));
                } else if seen_ids.insert((run, side.id)) {
                    matched += 1;
                }
            }
        }
        // Versions per subject in registration order = ids in order of first use.
        for (subject, ids) in &first_use {
            let mut versions: Vec<&Registered> = registered.iter().filter(|r| &r.subject == subject).collect();
            versions.sort_by_key(|r| r.version);
            let reg_ids: Vec<u32> = versions.iter().map(|r| r.id).collect();
            assert_eq!(&reg_ids, ids, "{run}: versions of {subject}");
        }
        // Every registered subject/version was used by some record.
        let used: usize = first_use.values().map(Vec::len).sum();
        assert_eq!(used, registered.len(), "{run}: registered schemas not used by any record");
    }
    assert!(failures.is_empty(), "{} schema mismatches:\n{}", failures.len(), failures.join("\n"));
    eprintln!("{matched} registered schemas match byte for byte ({checked_uses} record uses)");
    assert!(matched >= 70, "only {matched} schemas checked");
}

/// Every record's wire bytes equal the golden AvroConverter bytes (the golden timestamps are
/// the JSON golden's, so no field needs masking).
#[test]
fn golden_records_encode_byte_for_byte() {
    let enc = AvroEncoder::new();
    let mut total = 0usize;
    let mut failures = Vec::new();
    for run in RUNS {
        let json = read_golden(&golden_dir().join(format!("{run}.json.jsonl")));
        let avro = read_avro_golden(run);
        assert_eq!(json.len(), avro.len());
        for (j, (seq, _, akey, avalue)) in json.iter().zip(&avro) {
            for (what, part, side) in [("key", &j.key, akey), ("value", &j.value, avalue)] {
                let (Some((schema, value, _)), Some(side)) = (part, side) else { continue };
                let mut out = vec![0xAA]; // something already in the buffer
                enc.encode(side.id, schema, value, &mut out).unwrap();
                total += 1;
                if out[1..] != side.bytes[..] {
                    let at = out[1..].iter().zip(&side.bytes).take_while(|(a, b)| a == b).count();
                    failures.push(format!(
                        "{run} seq {seq} {what}: first difference at byte {at} of {} (ours {})",
                        side.bytes.len(),
                        out.len() - 1
                    ));
                }
            }
        }
    }
    assert!(failures.is_empty(), "{} of {total} records differ:\n{}", failures.len(), failures.join("\n"));
    eprintln!("{total} golden keys/values encode byte for byte");
    assert!(total > 700, "only {total} records checked");
}

/// `apache-avro` (an independent implementation) parses our schema text, reads our bytes back
/// to the end, and writes the same bytes for the same value.
#[test]
fn apache_avro_reads_our_schemas_and_bytes() {
    let enc = AvroEncoder::new();
    let mut n = 0;
    for run in ["main", "heartbeat"] {
        let json = read_golden(&golden_dir().join(format!("{run}.json.jsonl")));
        let mut parsed: HashMap<String, apache_avro::Schema> = HashMap::new();
        for r in &json {
            for (schema, value, _) in [&r.key, &r.value].into_iter().flatten() {
                let text = avro_schema_json(schema);
                let avro_schema = parsed
                    .entry(text.clone())
                    .or_insert_with(|| apache_avro::Schema::parse_str(&text).unwrap_or_else(|e| panic!("{e}: {text}")));
                let bytes = enc.encode_to_vec(7, schema, value).unwrap();
                let mut rest = &bytes[WIRE_HEADER_LEN..];
                let decoded = apache_avro::from_avro_datum(avro_schema, &mut rest, None)
                    .unwrap_or_else(|e| panic!("seq {}: {e}", r.seq));
                assert!(rest.is_empty(), "seq {}: {} bytes left", r.seq, rest.len());
                assert!(matches!(decoded, apache_avro::types::Value::Record(_)));
                // And apache-avro's writer, fed the same value, writes the same bytes.
                let theirs = apache_avro::to_avro_datum(avro_schema, to_apache(schema, value)).unwrap();
                assert_eq!(theirs, &bytes[WIRE_HEADER_LEN..], "seq {}", r.seq);
                n += 1;
            }
        }
    }
    assert!(n > 200);
}

// ---------------------------------------------------------------------------------------------
// Schema rendering rules
// ---------------------------------------------------------------------------------------------

fn s(ty: SchemaType) -> Schema {
    Schema::new(ty)
}

fn strukt(name: Option<&str>, fields: Vec<(&str, Schema)>) -> Schema {
    let mut sc = s(SchemaType::Struct(fields.into_iter().map(|(n, f)| Field::new(n, f.arc())).collect()));
    sc.name = name.map(str::to_owned);
    sc
}

#[test]
fn primitive_schemas() {
    assert_eq!(avro_schema_json(&s(SchemaType::Int32)), r#""int""#);
    assert_eq!(avro_schema_json(&s(SchemaType::Int64)), r#""long""#);
    assert_eq!(avro_schema_json(&s(SchemaType::Int8)), r#"{"type":"int","connect.type":"int8"}"#);
    assert_eq!(avro_schema_json(&s(SchemaType::Int16).optional()), r#"["null",{"type":"int","connect.type":"int16"}]"#);
    assert_eq!(avro_schema_json(&s(SchemaType::Float32)), r#""float""#);
    assert_eq!(avro_schema_json(&s(SchemaType::Bytes).optional()), r#"["null","bytes"]"#);
    assert_eq!(
        avro_schema_json(&s(SchemaType::Array(s(SchemaType::String).optional().arc()))),
        r#"{"type":"array","items":["null","string"]}"#
    );
}

#[test]
fn metadata_property_order() {
    let sc = s(SchemaType::String)
        .optional()
        .named("io.debezium.data.Enum")
        .version(1)
        .doc("d\"q")
        .param("allowed", "a,b")
        .default_value(Value::str("a"));
    assert_eq!(
        avro_schema_json(&sc),
        r#"[{"type":"string","connect.doc":"d\"q","connect.version":1,"connect.parameters":{"allowed":"a,b"},"connect.default":"a","connect.name":"io.debezium.data.Enum"},"null"]"#
    );
}

#[test]
fn logical_types() {
    let dec = s(SchemaType::Bytes).named(DECIMAL_NAME).version(1).param("scale", "2");
    assert_eq!(
        avro_schema_json(&dec),
        r#"{"type":"bytes","scale":2,"precision":64,"connect.version":1,"connect.parameters":{"scale":"2"},"connect.name":"org.apache.kafka.connect.data.Decimal","logicalType":"decimal"}"#
    );
    assert_eq!(
        avro_schema_json(&s(SchemaType::Int32).named(DATE_NAME).version(1)),
        r#"{"type":"int","connect.version":1,"connect.name":"org.apache.kafka.connect.data.Date","logicalType":"date"}"#
    );
    assert_eq!(
        avro_schema_json(&s(SchemaType::Int32).named(TIME_NAME)),
        r#"{"type":"int","connect.name":"org.apache.kafka.connect.data.Time","logicalType":"time-millis"}"#
    );
    assert_eq!(
        avro_schema_json(&s(SchemaType::Int64).named(TIMESTAMP_NAME)),
        r#"{"type":"long","connect.name":"org.apache.kafka.connect.data.Timestamp","logicalType":"timestamp-millis"}"#
    );
    // Debezium's own time types are plain ints/longs with connect.name only.
    assert_eq!(
        avro_schema_json(&s(SchemaType::Int32).named("io.debezium.time.Date").version(1)),
        r#"{"type":"int","connect.version":1,"connect.name":"io.debezium.time.Date"}"#
    );
}

#[test]
fn records_namespaces_and_references() {
    let point = strukt(Some("geo.Point"), vec![("x", s(SchemaType::Float64))]).optional();
    let value = strukt(Some("srv.db.t.Value"), vec![("id", s(SchemaType::Int32)), ("p", point.clone()), ("q", point)])
        .optional();
    let env = strukt(
        Some("srv.db.t.Envelope"),
        vec![
            ("before", value.clone()),
            ("after", value),
            ("anon", strukt(None, vec![])),
            ("plain", strukt(Some("Plain"), vec![])),
        ],
    );
    assert_eq!(
        avro_schema_json(&env),
        concat!(
            r#"{"type":"record","name":"Envelope","namespace":"srv.db.t","fields":["#,
            r#"{"name":"before","type":["null",{"type":"record","name":"Value","fields":["#,
            r#"{"name":"id","type":"int"},"#,
            r#"{"name":"p","type":["null",{"type":"record","name":"Point","namespace":"geo","fields":[{"name":"x","type":"double"}],"connect.name":"geo.Point"}],"default":null},"#,
            r#"{"name":"q","type":["null","geo.Point"],"default":null}],"connect.name":"srv.db.t.Value"}],"default":null},"#,
            r#"{"name":"after","type":["null","Value"],"default":null},"#,
            r#"{"name":"anon","type":{"type":"record","name":"ConnectDefault","namespace":"io.confluent.connect.avro","fields":[]}},"#,
            r#"{"name":"plain","type":{"type":"record","name":"Plain","namespace":"","fields":[],"connect.name":"Plain"}}"#,
            r#"],"connect.name":"srv.db.t.Envelope"}"#
        )
    );
    // A top-level record without namespace: no "namespace" key at all.
    assert_eq!(
        avro_schema_json(&strukt(Some("Top"), vec![])),
        r#"{"type":"record","name":"Top","fields":[],"connect.name":"Top"}"#
    );
}

#[test]
fn field_defaults_and_docs() {
    let rec = strukt(
        Some("a.R"),
        vec![
            ("i8", s(SchemaType::Int8).default_value(Value::Int(-1))),
            ("f", s(SchemaType::Float32).default_value(Value::Float32(0.1))),
            ("d", s(SchemaType::Float64).optional().default_value(Value::Float64(0.0))),
            ("b", s(SchemaType::Bytes).default_value(Value::Bytes(vec![0x01, 0xE2, 0x40]))),
            ("l", s(SchemaType::Array(s(SchemaType::Int64).arc())).default_value(Value::Array(vec![Value::Int(1)]))),
        ],
    )
    .param("io.confluent.connect.avro.record.doc", "rec doc")
    .param("io.confluent.connect.avro.field.doc.f", "f doc");
    assert_eq!(
        avro_schema_json(&rec),
        concat!(
            r#"{"type":"record","name":"R","namespace":"a","doc":"rec doc","fields":["#,
            r#"{"name":"i8","type":{"type":"int","connect.default":-1,"connect.type":"int8"},"default":-1},"#,
            r#"{"name":"f","type":{"type":"float","connect.default":0.1},"doc":"f doc","default":0.10000000149011612},"#,
            r#"{"name":"d","type":[{"type":"double","connect.default":0.0},"null"],"default":0.0},"#,
            "{\"name\":\"b\",\"type\":{\"type\":\"bytes\",\"connect.default\":\"\\u0001\u{e2}@\"},\"default\":\"\\u0001\u{e2}@\"},",
            r#"{"name":"l","type":{"type":"array","items":"long","connect.default":[1]},"default":[1]}],"#,
            r#""connect.parameters":{"io.confluent.connect.avro.record.doc":"rec doc","io.confluent.connect.avro.field.doc.f":"f doc"},"connect.name":"a.R"}"#
        )
    );
}

#[test]
fn string_escaping_like_jackson_writer() {
    let mut v = Vec::new();
    write_str(&mut v, "a\"b\\c\n\t\r\u{8}\u{c}\u{1}\u{1f}\u{7f}é😀/");
    assert_eq!(String::from_utf8(v).unwrap(), "\"a\\\"b\\\\c\\n\\t\\r\\b\\f\\u0001\\u001F\u{7f}é😀/\"");
}

// ---------------------------------------------------------------------------------------------
// Binary encoding rules
// ---------------------------------------------------------------------------------------------

fn datum(schema: &Schema, value: &Value) -> Vec<u8> {
    let mut out = Vec::new();
    write_datum(&mut out, schema, value).unwrap();
    out
}

#[test]
fn zigzag_varints() {
    let long = s(SchemaType::Int64);
    for (n, want) in [
        (0i64, vec![0u8]),
        (-1, vec![1]),
        (1, vec![2]),
        (-64, vec![0x7F]),
        (64, vec![0x80, 0x01]),
        (1005, vec![0xDA, 0x0F]),
        (i64::MAX, vec![0xFE, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x01]),
        (i64::MIN, vec![0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x01]),
    ] {
        assert_eq!(datum(&long, &Value::Int(n)), want, "{n}");
    }
    assert_eq!(datum(&s(SchemaType::Int32), &Value::Int(i64::from(i32::MIN))), vec![0xFF, 0xFF, 0xFF, 0xFF, 0x0F]);
}

#[test]
fn scalars_unions_arrays_structs() {
    assert_eq!(datum(&s(SchemaType::Boolean), &Value::Boolean(true)), [1]);
    assert_eq!(datum(&s(SchemaType::Float32), &Value::Float32(1.0)), 1.0f32.to_le_bytes());
    assert_eq!(datum(&s(SchemaType::Float64), &Value::Float64(-2.5)), (-2.5f64).to_le_bytes());
    assert_eq!(datum(&s(SchemaType::String), &Value::str("héllo")), b"\x0ch\xc3\xa9llo");
    assert_eq!(datum(&s(SchemaType::Bytes), &Value::Bytes(vec![])), [0]);
    let opt = s(SchemaType::String).optional();
    assert_eq!(datum(&opt, &Value::Null), [0]);
    assert_eq!(datum(&opt, &Value::str("x")), [2, 2, b'x']);
    // With a default the value branch comes first.
    let opt_def = s(SchemaType::String).optional().default_value(Value::str("false"));
    assert_eq!(datum(&opt_def, &Value::str("true")), [0, 8, b't', b'r', b'u', b'e']);
    assert_eq!(datum(&opt_def, &Value::Null), [2]);
    let arr = s(SchemaType::Array(s(SchemaType::Int32).arc()));
    assert_eq!(datum(&arr, &Value::Array(vec![])), [0]);
    assert_eq!(datum(&arr, &Value::Array(vec![Value::Int(1), Value::Int(-1)])), [4, 2, 1, 0]);
    // A null struct member takes its default (Struct.get), required or optional.
    let st = strukt(
        None,
        vec![
            ("a", s(SchemaType::Boolean).default_value(Value::Boolean(false))),
            ("b", s(SchemaType::String).optional().default_value(Value::str("n/a"))),
            ("c", s(SchemaType::Int32).optional()),
        ],
    );
    assert_eq!(datum(&st, &Value::Struct(vec![Value::Null, Value::Null, Value::Null])), [0, 0, 6, b'n', b'/', b'a', 0]);
}

#[test]
fn wire_format_and_errors() {
    let enc = AvroEncoder::new();
    let st = strukt(Some("K"), vec![("id", s(SchemaType::Int32)), ("name", s(SchemaType::String))]);
    let mut out = b"prefix".to_vec();
    enc.encode(0x01020304, &st, &Value::Struct(vec![Value::Int(1005), Value::str("a")]), &mut out).unwrap();
    assert_eq!(out, b"prefix\x00\x01\x02\x03\x04\xda\x0f\x02a");

    let before = out.clone();
    let err = enc.encode(9, &st, &Value::Struct(vec![Value::Int(1), Value::Null]), &mut out).unwrap_err();
    assert_eq!(err.path, "name");
    assert_eq!(err.kind, AvroEncodeErrorKind::NullForRequired);
    assert_eq!(out, before, "nothing left behind on error");
    assert_eq!(err.to_string(), "cannot encode as Avro at `name`: null value for a required (non-optional) schema");

    let err = enc.encode(9, &st, &Value::Struct(vec![Value::str("x"), Value::str("a")]), &mut out).unwrap_err();
    assert_eq!(err.kind, AvroEncodeErrorKind::TypeMismatch { expected: "int32", found: "string" });
    let err = enc.encode(9, &s(SchemaType::Int16), &Value::Int(40000), &mut out).unwrap_err();
    assert_eq!(err.kind, AvroEncodeErrorKind::OutOfRange { expected: "int16", value: 40000 });
    assert!(err.path.is_empty());
    let nested = strukt(Some("O"), vec![("inner", st.optional())]);
    let err = enc
        .encode(9, &nested, &Value::Struct(vec![Value::Struct(vec![Value::Null, Value::Null])]), &mut out)
        .unwrap_err();
    assert_eq!(err.path, "inner.id");
    assert_eq!(out, before);
}

// ---------------------------------------------------------------------------------------------
// Throughput
// ---------------------------------------------------------------------------------------------

/// Our encoder against `apache-avro`'s writer (which first needs its own `Value` tree) on the
/// golden `main` values: `cargo test --release --lib avro::tests::encode_throughput -- --ignored --nocapture`.
#[test]
#[ignore]
fn encode_throughput() {
    let recs = read_golden(&golden_dir().join("main.json.jsonl"));
    let items: Vec<(Arc<Schema>, Value)> =
        recs.iter().filter_map(|r| r.value.as_ref()).map(|(s, v, _)| (Arc::clone(s), v.clone())).collect();
    let enc = AvroEncoder::new();
    let mut out = Vec::with_capacity(1 << 16);
    let rounds = 2000;
    let start = std::time::Instant::now();
    let mut bytes = 0usize;
    for _ in 0..rounds {
        for (s, v) in &items {
            out.clear();
            enc.encode(1, s, v, &mut out).unwrap();
            bytes += out.len();
        }
    }
    let el = start.elapsed();
    let n = rounds * items.len();
    eprintln!(
        "ours: {n} records, {:.0} ns/record, {:.0} MB/s",
        el.as_nanos() as f64 / n as f64,
        bytes as f64 / el.as_secs_f64() / 1e6
    );

    // apache-avro: Connect value → apache_avro Value (the per-record copy) → to_avro_datum.
    let parsed: Vec<apache_avro::Schema> =
        items.iter().map(|(s, _)| apache_avro::Schema::parse_str(&avro_schema_json(s)).unwrap()).collect();
    let rounds = rounds / 10;
    let start = std::time::Instant::now();
    for _ in 0..rounds {
        for ((s, v), a) in items.iter().zip(&parsed) {
            let av = to_apache(s, v);
            let b = apache_avro::to_avro_datum(a, av).unwrap();
            std::hint::black_box(b);
        }
    }
    let el = start.elapsed();
    let n = rounds * items.len();
    eprintln!("apache-avro: {:.0} ns/record (incl. building its Value)", el.as_nanos() as f64 / n as f64);
    // Check the two agree while we are at it.
    for ((s, v), a) in items.iter().zip(&parsed) {
        let mut ours = Vec::new();
        write_datum(&mut ours, s, v).unwrap();
        assert_eq!(apache_avro::to_avro_datum(a, to_apache(s, v)).unwrap(), ours);
    }
}

fn to_apache(schema: &Schema, value: &Value) -> apache_avro::types::Value {
    use apache_avro::types::Value as A;
    let base = |v: &Value| -> A {
        match (&schema.ty, v) {
            (SchemaType::Int64, Value::Int(i)) => A::Long(*i),
            (_, Value::Int(i)) => A::Int(*i as i32),
            (_, Value::Boolean(b)) => A::Boolean(*b),
            (_, Value::Float32(f)) => A::Float(*f),
            (_, Value::Float64(f)) => A::Double(*f),
            (_, Value::String(s)) => A::String(s.clone()),
            (_, Value::Bytes(b)) if name_is(schema, DECIMAL_NAME) => A::Decimal(apache_avro::Decimal::from(b.clone())),
            (_, Value::Bytes(b)) => A::Bytes(b.clone()),
            (SchemaType::Array(items), Value::Array(vs)) => A::Array(vs.iter().map(|v| to_apache(items, v)).collect()),
            (SchemaType::Struct(fields), Value::Struct(vs)) => A::Record(
                fields
                    .iter()
                    .zip(vs)
                    .map(|(f, v)| {
                        let v = if v.is_null() { f.schema.default.as_ref().unwrap_or(v) } else { v };
                        (f.name.clone(), to_apache(&f.schema, v))
                    })
                    .collect(),
            ),
            _ => A::Null,
        }
    };
    if schema.optional {
        let default_first = schema.default.as_ref().is_some_and(|d| !d.is_null());
        if value.is_null() {
            A::Union(u32::from(default_first), Box::new(A::Null))
        } else {
            A::Union(u32::from(!default_first), Box::new(base(value)))
        }
    } else {
        base(value)
    }
}
