//! decode: a Kafka record of a Debezium data topic → [`Event`].
//!
//! Two formats, told apart by the first byte: Confluent's Avro wire format (byte 0 = magic 0,
//! 4-byte big-endian schema id, Avro binary; the writer schema comes from the registry by id) and
//! Kafka Connect's JsonConverter with `schemas.enable=true` (`{"schema":…,"payload":…}`, first byte
//! `{`). Both carry the Connect schema of the row (`before`/`after`), from which the column list
//! ([`Columns`]: names, [`Kind`]s, nullability) is derived once per schema id (Avro) or schema text
//! (JSON) and shared by every event with that schema — a change of the `Arc` is a schema change.
//!
//! A null value is a tombstone (skipped by the fold). The record key's field names come from the
//! Kafka key's schema (Debezium's key = the primary key, or `message.key.columns`); their values are
//! taken from the row (`after`, or `before` for deletes), which holds every key column. A record with
//! no key and no configured record key is an error, as is anything that is not one of the two
//! formats: every error says topic, partition and offset.

use std::collections::HashMap;
use std::sync::Arc;

use apache_avro::types::Value as AvroValue;
use base64::Engine;
use serde_json::Value as Json;

pub use cdc_connector::envelope::Op;

use crate::config::TableId;
use crate::registry::{RegistryError, SchemaCache};

/// Where a record came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KafkaPos {
    pub topic: Arc<str>,
    pub partition: i32,
    pub offset: i64,
}

impl std::fmt::Display for KafkaPos {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}@{}", self.topic, self.partition, self.offset)
    }
}

/// Column types of the Hudi table, from the Connect schema (see `convert` for the Arrow side).
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub enum Kind {
    Bool,
    /// int8, int16, int32 (also `io.debezium.time.Year`, `io.debezium.time.Time` in ms)
    Int32,
    /// int64 (also `io.debezium.time.MicroTime`)
    Int64,
    Float32,
    Float64,
    Utf8,
    Binary,
    /// `org.apache.kafka.connect.data.Decimal` with precision ≤ 38
    Decimal {
        precision: u8,
        scale: i8,
    },
    /// a decimal wider than 38 digits (Hudi reads at most 38): its plain decimal text
    DecimalText {
        scale: i8,
    },
    /// days since the epoch (`io.debezium.time.Date`, Connect `Date`)
    Date,
    /// `io.debezium.time.Timestamp` / Connect `Timestamp` (DATETIME(0–3), local time)
    TimestampMillis,
    /// `io.debezium.time.MicroTimestamp` (DATETIME(4–6), local time)
    TimestampMicros,
    /// `io.debezium.time.NanoTimestamp` (kept in microseconds)
    TimestampNanos,
    /// `io.debezium.time.ZonedTimestamp`: ISO-8601 text in UTC (TIMESTAMP columns)
    ZonedTimestamp,
    /// a Connect struct (geometry types: `wkb`, `srid`, …)
    Struct(Vec<Column>),
}

#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Column {
    pub name: String,
    pub kind: Kind,
    pub nullable: bool,
}

/// The columns of a table version.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Columns {
    pub fields: Vec<Column>,
}

impl Columns {
    pub fn index_of(&self, name: &str) -> Option<usize> {
        self.fields.iter().position(|c| c.name == name)
    }
}

/// One value of a row, untyped until `convert` puts it into a column of its [`Kind`].
#[derive(Debug, Clone, PartialEq)]
pub enum Cell {
    Null,
    Bool(bool),
    Int(i64),
    Float(f64),
    Str(String),
    Bytes(Vec<u8>),
    Struct(Vec<Cell>),
}

impl Cell {
    /// The record-key rendering of Java's key generators (`toString` of strings, booleans and
    /// integers).
    pub fn key_text(&self) -> Option<String> {
        match self {
            Cell::Str(s) => Some(s.clone()),
            Cell::Int(i) => Some(i.to_string()),
            Cell::Bool(b) => Some(b.to_string()),
            _ => None,
        }
    }
}

/// The binlog position of an event: Debezium's `source.file`, `pos`, `row` (+ `ts_ms`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SourcePos {
    pub file: String,
    pub pos: i64,
    pub row: i32,
    pub ts_ms: i64,
}

impl SourcePos {
    /// The binlog file's sequence number (`mysql-bin.000003` → 3).
    pub fn file_number(&self) -> u64 {
        self.file.rsplit('.').next().and_then(|n| n.parse().ok()).unwrap_or(0)
    }

    /// Total order of events of one server: (file number, pos, row).
    pub fn order(&self) -> (u64, i64, i32) {
        (self.file_number(), self.pos, self.row)
    }

    /// The ordering field `_event_seq`: zero-padded `file.pos.row`, so that text order is event
    /// order (HoodieStreamer writes `file.pos` unpadded and compares it numerically; a padded text
    /// lets Hudi's own event-time merge compare it).
    pub fn seq(&self) -> String {
        format!("{:010}.{:020}.{:010}", self.file_number(), self.pos.max(0), self.row.max(0))
    }
}

/// A row change.
#[derive(Debug, Clone)]
pub struct Change {
    pub op: Op,
    pub columns: Arc<Columns>,
    /// `after` for r/c/u, `before` for d.
    pub row: Vec<Cell>,
    /// Names of the record key fields (the Kafka key's fields).
    pub key_fields: Arc<Vec<String>>,
    pub source: SourcePos,
    /// The envelope's `ts_ms` (when the connector processed the event).
    pub ts_ms: i64,
}

#[derive(Debug, Clone)]
pub enum Payload {
    Tombstone,
    Change(Change),
}

#[derive(Debug, Clone)]
pub struct Event {
    pub table: TableId,
    pub kafka: KafkaPos,
    pub payload: Payload,
}

#[derive(Debug, thiserror::Error)]
pub enum DecodeError {
    #[error("{at}: {source}")]
    Registry { at: KafkaPos, source: RegistryError },
    #[error("{at}: {what}")]
    Bad { at: KafkaPos, what: String },
}

impl DecodeError {
    pub fn at(&self) -> &KafkaPos {
        match self {
            DecodeError::Registry { at, .. } | DecodeError::Bad { at, .. } => at,
        }
    }
}

/// Decodes records; caches column lists by schema id / schema text.
pub struct Decoder {
    registry: SchemaCache,
    avro_columns: HashMap<u32, Arc<Columns>>,
    json_columns: HashMap<String, Arc<Columns>>,
    avro_keys: HashMap<u32, Arc<Vec<String>>>,
    json_keys: HashMap<String, Arc<Vec<String>>>,
}

impl Decoder {
    pub fn new(registry: SchemaCache) -> Decoder {
        Decoder {
            registry,
            avro_columns: HashMap::new(),
            json_columns: HashMap::new(),
            avro_keys: HashMap::new(),
            json_keys: HashMap::new(),
        }
    }

    /// Decode one record. `key_override` replaces the Kafka key's field names (`--record-key`).
    pub async fn decode(
        &mut self,
        table: TableId,
        at: KafkaPos,
        key: Option<&[u8]>,
        value: Option<&[u8]>,
        key_override: Option<&Arc<Vec<String>>>,
    ) -> Result<Event, DecodeError> {
        let Some(value) = value else {
            return Ok(Event { table, kafka: at, payload: Payload::Tombstone });
        };
        let bad = |what: String| DecodeError::Bad { at: at.clone(), what };
        let key_fields = match key_override {
            Some(k) => k.clone(),
            None => match key {
                None => return Err(bad("record has no key (set --record-key for this table)".into())),
                Some(k) => self.key_fields(k).await.map_err(|e| match e {
                    Fail::Registry(source) => DecodeError::Registry { at: at.clone(), source },
                    Fail::Bad(what) => bad(format!("key: {what}")),
                })?,
            },
        };
        let envelope = match value.first() {
            Some(0) => self.avro_envelope(value).await,
            Some(b'{') => self.json_envelope(value),
            _ => Err(Fail::Bad(format!(
                "value is neither Confluent Avro (magic byte 0) nor JSON: first bytes {:02x?}",
                &value[..value.len().min(8)]
            ))),
        }
        .map_err(|e| match e {
            Fail::Registry(source) => DecodeError::Registry { at: at.clone(), source },
            Fail::Bad(what) => bad(what),
        })?;
        let change = envelope.into_change(key_fields).map_err(bad)?;
        Ok(Event { table, kafka: at, payload: change.map_or(Payload::Tombstone, Payload::Change) })
    }

    async fn key_fields(&mut self, key: &[u8]) -> Result<Arc<Vec<String>>, Fail> {
        match key.first() {
            Some(0) => {
                let id = schema_id(key)?;
                if let Some(k) = self.avro_keys.get(&id) {
                    return Ok(k.clone());
                }
                let schema = self.registry.get(id).await.map_err(Fail::Registry)?;
                let names: Vec<String> = schema.json["fields"]
                    .as_array()
                    .ok_or_else(|| Fail::Bad(format!("key schema {id} is not a record")))?
                    .iter()
                    .filter_map(|f| f["name"].as_str().map(str::to_owned))
                    .collect();
                let names = Arc::new(names);
                self.avro_keys.insert(id, names.clone());
                Ok(names)
            }
            Some(b'{') => {
                let j: Json = serde_json::from_slice(key).map_err(|e| Fail::Bad(format!("JSON key: {e}")))?;
                let schema = &j["schema"];
                let text = schema.to_string();
                if let Some(k) = self.json_keys.get(&text) {
                    return Ok(k.clone());
                }
                let names: Vec<String> = schema["fields"]
                    .as_array()
                    .ok_or_else(|| Fail::Bad("JSON key has no schema with fields (schemas.enable=true needed)".into()))?
                    .iter()
                    .filter_map(|f| f["field"].as_str().map(str::to_owned))
                    .collect();
                let names = Arc::new(names);
                self.json_keys.insert(text, names.clone());
                Ok(names)
            }
            _ => Err(Fail::Bad("key is neither Confluent Avro nor JSON".into())),
        }
    }

    async fn avro_envelope(&mut self, value: &[u8]) -> Result<Envelope, Fail> {
        let id = schema_id(value)?;
        let schema = self.registry.get(id).await.map_err(Fail::Registry)?;
        let columns = match self.avro_columns.get(&id) {
            Some(c) => c.clone(),
            None => {
                let c = Arc::new(avro_row_columns(&schema.json).map_err(Fail::Bad)?);
                self.avro_columns.insert(id, c.clone());
                c
            }
        };
        let datum = apache_avro::from_avro_datum(&schema.avro, &mut &value[5..], None)
            .map_err(|e| Fail::Bad(format!("Avro datum does not match schema id {id}: {e}")))?;
        let AvroValue::Record(fields) = datum else {
            return Err(Fail::Bad(format!("schema id {id} is not a record")));
        };
        let mut env = Envelope::new(columns);
        for (name, v) in fields {
            match name.as_str() {
                "before" => env.before = avro_row(&env.columns, v)?,
                "after" => env.after = avro_row(&env.columns, v)?,
                "op" => env.op = avro_str(&v),
                "ts_ms" => env.ts_ms = avro_long(&v),
                "source" => {
                    if let AvroValue::Record(src) = unwrap_union(v) {
                        for (n, v) in src {
                            match n.as_str() {
                                "file" => env.file = avro_str(&v),
                                "pos" => env.pos = avro_long(&v),
                                "row" => env.row = avro_long(&v),
                                "ts_ms" => env.source_ts_ms = avro_long(&v),
                                _ => {}
                            }
                        }
                    }
                }
                _ => {}
            }
        }
        Ok(env)
    }

    fn json_envelope(&mut self, value: &[u8]) -> Result<Envelope, Fail> {
        let j: Json = serde_json::from_slice(value).map_err(|e| Fail::Bad(format!("JSON value: {e}")))?;
        let (Some(schema), Some(payload)) = (j.get("schema"), j.get("payload")) else {
            return Err(Fail::Bad(
                "JSON value without schema/payload (JsonConverter schemas.enable=true needed)".into(),
            ));
        };
        let row_schema = schema["fields"]
            .as_array()
            .and_then(|f| f.iter().find(|f| f["field"] == "after" || f["field"] == "before"))
            .ok_or_else(|| Fail::Bad("JSON schema has no before/after field: not a Debezium envelope".into()))?;
        let text = row_schema.to_string();
        let columns = match self.json_columns.get(&text) {
            Some(c) => c.clone(),
            None => {
                let c = Arc::new(Columns { fields: json_struct_fields(row_schema).map_err(Fail::Bad)? });
                self.json_columns.insert(text, c.clone());
                c
            }
        };
        let mut env = Envelope::new(columns);
        env.before = json_row(&env.columns, &payload["before"])?;
        env.after = json_row(&env.columns, &payload["after"])?;
        env.op = payload["op"].as_str().map(str::to_owned);
        env.ts_ms = payload["ts_ms"].as_i64();
        let src = &payload["source"];
        env.file = src["file"].as_str().map(str::to_owned);
        env.pos = src["pos"].as_i64();
        env.row = src["row"].as_i64();
        env.source_ts_ms = src["ts_ms"].as_i64();
        Ok(env)
    }
}

enum Fail {
    Registry(RegistryError),
    Bad(String),
}

fn schema_id(bytes: &[u8]) -> Result<u32, Fail> {
    if bytes.len() < 5 {
        return Err(Fail::Bad(format!("{} bytes: too short for the Confluent wire format", bytes.len())));
    }
    Ok(u32::from_be_bytes([bytes[1], bytes[2], bytes[3], bytes[4]]))
}

/// The parts of a Debezium envelope the sink uses.
struct Envelope {
    columns: Arc<Columns>,
    before: Option<Vec<Cell>>,
    after: Option<Vec<Cell>>,
    op: Option<String>,
    ts_ms: Option<i64>,
    file: Option<String>,
    pos: Option<i64>,
    row: Option<i64>,
    source_ts_ms: Option<i64>,
}

impl Envelope {
    fn new(columns: Arc<Columns>) -> Envelope {
        Envelope {
            columns,
            before: None,
            after: None,
            op: None,
            ts_ms: None,
            file: None,
            pos: None,
            row: None,
            source_ts_ms: None,
        }
    }

    /// `None` for operations the sink skips (`t`, truncate).
    fn into_change(self, key_fields: Arc<Vec<String>>) -> Result<Option<Change>, String> {
        let op = match self.op.as_deref() {
            Some("r") => Op::Read,
            Some("c") => Op::Create,
            Some("u") => Op::Update,
            Some("d") => Op::Delete,
            Some("t") => return Ok(None),
            other => return Err(format!("envelope without a known `op` ({other:?}): not a Debezium change event")),
        };
        let row = if op == Op::Delete { self.before } else { self.after }
            .ok_or_else(|| format!("op {} without its row image", op.code()))?;
        for k in key_fields.iter() {
            if self.columns.index_of(k).is_none() {
                return Err(format!("record key field `{k}` is not a column of the row"));
            }
        }
        let source = SourcePos {
            file: self.file.ok_or("source.file missing")?,
            pos: self.pos.ok_or("source.pos missing")?,
            row: self.row.unwrap_or(0) as i32,
            ts_ms: self.source_ts_ms.unwrap_or(0),
        };
        Ok(Some(Change { op, columns: self.columns, row, key_fields, source, ts_ms: self.ts_ms.unwrap_or(0) }))
    }
}

// ---------------------------------------------------------------------------------------------
// Avro schema JSON → columns

/// The columns of the `before`/`after` record of an Avro envelope schema. `after` usually
/// references the record `before` defined, by name: named records are collected first.
pub fn avro_row_columns(envelope: &Json) -> Result<Columns, String> {
    let mut named = HashMap::new();
    collect_named(envelope, None, &mut named);
    let fields = envelope["fields"].as_array().ok_or("value schema is not a record")?;
    let row = fields
        .iter()
        .find(|f| f["name"] == "before" || f["name"] == "after")
        .ok_or("value schema has no before/after field: not a Debezium envelope")?;
    let (ty, _) = strip_null(&row["type"]);
    let record = resolve(ty, &named).ok_or("before/after is not a record")?;
    Ok(Columns { fields: avro_record_fields(record, &named)? })
}

fn collect_named<'a>(j: &'a Json, ns: Option<&str>, out: &mut HashMap<String, &'a Json>) {
    match j {
        Json::Object(o) => {
            let ns = o.get("namespace").and_then(Json::as_str).or(ns);
            if o.get("type").and_then(Json::as_str) == Some("record") {
                if let Some(name) = o.get("name").and_then(Json::as_str) {
                    let full = match ns {
                        Some(ns) if !name.contains('.') => format!("{ns}.{name}"),
                        _ => name.to_owned(),
                    };
                    out.entry(name.rsplit('.').next().unwrap_or(name).to_owned()).or_insert(j);
                    out.entry(full).or_insert(j);
                }
                for f in o.get("fields").and_then(Json::as_array).into_iter().flatten() {
                    collect_named(&f["type"], ns, out);
                }
            }
        }
        Json::Array(a) => a.iter().for_each(|t| collect_named(t, ns, out)),
        _ => {}
    }
}

fn resolve<'a>(ty: &'a Json, named: &HashMap<String, &'a Json>) -> Option<&'a Json> {
    match ty {
        Json::String(name) => named.get(name.as_str()).copied(),
        Json::Object(_) if ty["type"] == "record" => Some(ty),
        _ => None,
    }
}

/// `["null", T]` → (T, nullable)
fn strip_null(ty: &Json) -> (&Json, bool) {
    if let Json::Array(a) = ty {
        let non_null: Vec<&Json> = a.iter().filter(|t| *t != "null").collect();
        if non_null.len() == 1 {
            return (non_null[0], a.len() > 1);
        }
    }
    (ty, false)
}

fn avro_record_fields(record: &Json, named: &HashMap<String, &Json>) -> Result<Vec<Column>, String> {
    let mut out = Vec::new();
    for f in record["fields"].as_array().ok_or("record without fields")? {
        let name = f["name"].as_str().ok_or("field without name")?.to_owned();
        let (ty, nullable) = strip_null(&f["type"]);
        let kind = avro_kind(ty, named).map_err(|e| format!("column `{name}`: {e}"))?;
        out.push(Column { name, kind, nullable });
    }
    Ok(out)
}

fn avro_kind(ty: &Json, named: &HashMap<String, &Json>) -> Result<Kind, String> {
    let (base, connect_name, logical) = match ty {
        Json::String(s) => (s.as_str(), None, None),
        Json::Object(o) => (
            o.get("type").and_then(Json::as_str).unwrap_or(""),
            o.get("connect.name").and_then(Json::as_str),
            o.get("logicalType").and_then(Json::as_str),
        ),
        _ => return Err(format!("unsupported Avro type {ty}")),
    };
    if base == "record" || named.contains_key(base) {
        let record = resolve(ty, named).ok_or_else(|| format!("unknown record type {ty}"))?;
        return Ok(Kind::Struct(avro_record_fields(record, named)?));
    }
    if logical == Some("decimal") || connect_name == Some("org.apache.kafka.connect.data.Decimal") {
        let scale =
            ty["scale"].as_i64().or_else(|| ty["connect.parameters"]["scale"].as_str()?.parse().ok()).unwrap_or(0);
        let precision = ty["precision"]
            .as_i64()
            .or_else(|| ty["connect.parameters"]["connect.decimal.precision"].as_str()?.parse().ok());
        return Ok(decimal_kind(precision, scale));
    }
    let connect_type = ty["connect.type"].as_str();
    let primitive = match base {
        "boolean" => "boolean",
        "int" => connect_type.unwrap_or("int32"),
        "long" => "int64",
        "float" => "float32",
        "double" => "float64",
        "string" => "string",
        "bytes" | "fixed" => "bytes",
        "enum" => "string",
        other => return Err(format!("unsupported Avro type `{other}`")),
    };
    let name = connect_name.or(match logical {
        Some("date") => Some("org.apache.kafka.connect.data.Date"),
        Some("timestamp-millis") => Some("org.apache.kafka.connect.data.Timestamp"),
        _ => None,
    });
    Ok(connect_kind(primitive, name))
}

fn decimal_kind(precision: Option<i64>, scale: i64) -> Kind {
    let scale = scale.clamp(0, 38) as i8;
    match precision {
        Some(p) if p > 38 => Kind::DecimalText { scale },
        Some(p) => Kind::Decimal { precision: p.max(i64::from(scale)).max(1) as u8, scale },
        None => Kind::Decimal { precision: 38, scale },
    }
}

/// Connect primitive type + logical name → column kind.
fn connect_kind(primitive: &str, name: Option<&str>) -> Kind {
    match name {
        Some("io.debezium.time.Date" | "org.apache.kafka.connect.data.Date") => return Kind::Date,
        Some("io.debezium.time.Timestamp" | "org.apache.kafka.connect.data.Timestamp") => return Kind::TimestampMillis,
        Some("io.debezium.time.MicroTimestamp") => return Kind::TimestampMicros,
        Some("io.debezium.time.NanoTimestamp") => return Kind::TimestampNanos,
        Some("io.debezium.time.ZonedTimestamp") => return Kind::ZonedTimestamp,
        _ => {}
    }
    match primitive {
        "boolean" => Kind::Bool,
        "int8" | "int16" | "int32" => Kind::Int32,
        "int64" => Kind::Int64,
        // JsonConverter spells float32/float64 `float`/`double`
        "float32" | "float" => Kind::Float32,
        "float64" | "double" => Kind::Float64,
        "bytes" => Kind::Binary,
        _ => Kind::Utf8,
    }
}

// ---------------------------------------------------------------------------------------------
// JSON (JsonConverter) schema → columns

fn json_struct_fields(schema: &Json) -> Result<Vec<Column>, String> {
    let mut out = Vec::new();
    for f in schema["fields"].as_array().ok_or("struct schema without fields")? {
        let name = f["field"].as_str().ok_or("field without name")?.to_owned();
        let nullable = f["optional"].as_bool().unwrap_or(false);
        let kind = json_kind(f).map_err(|e| format!("column `{name}`: {e}"))?;
        out.push(Column { name, kind, nullable });
    }
    Ok(out)
}

fn json_kind(f: &Json) -> Result<Kind, String> {
    let ty = f["type"].as_str().ok_or("schema without type")?;
    let name = f["name"].as_str();
    if name == Some("org.apache.kafka.connect.data.Decimal") {
        let params = &f["parameters"];
        let scale = params["scale"].as_str().and_then(|s| s.parse().ok()).unwrap_or(0);
        let precision = params["connect.decimal.precision"].as_str().and_then(|s| s.parse().ok());
        return Ok(decimal_kind(precision, scale));
    }
    match ty {
        "struct" => Ok(Kind::Struct(json_struct_fields(f)?)),
        "array" | "map" => Err(format!("Connect type `{ty}` is not supported")),
        _ => Ok(connect_kind(ty, name)),
    }
}

// ---------------------------------------------------------------------------------------------
// values

fn unwrap_union(v: AvroValue) -> AvroValue {
    match v {
        AvroValue::Union(_, b) => *b,
        v => v,
    }
}

fn avro_str(v: &AvroValue) -> Option<String> {
    match v {
        AvroValue::String(s) | AvroValue::Enum(_, s) => Some(s.clone()),
        AvroValue::Union(_, b) => avro_str(b),
        _ => None,
    }
}

fn avro_long(v: &AvroValue) -> Option<i64> {
    match v {
        AvroValue::Long(l) => Some(*l),
        AvroValue::Int(i) => Some(i64::from(*i)),
        AvroValue::Union(_, b) => avro_long(b),
        _ => None,
    }
}

fn avro_row(columns: &Columns, v: AvroValue) -> Result<Option<Vec<Cell>>, Fail> {
    match unwrap_union(v) {
        AvroValue::Null => Ok(None),
        AvroValue::Record(fields) => avro_fields(&columns.fields, fields).map(Some),
        other => Err(Fail::Bad(format!("row image is not a record: {other:?}"))),
    }
}

fn avro_fields(columns: &[Column], fields: Vec<(String, AvroValue)>) -> Result<Vec<Cell>, Fail> {
    let mut by_name: HashMap<String, AvroValue> = fields.into_iter().collect();
    columns.iter().map(|c| avro_cell(&c.kind, by_name.remove(&c.name).unwrap_or(AvroValue::Null))).collect()
}

fn avro_cell(kind: &Kind, v: AvroValue) -> Result<Cell, Fail> {
    Ok(match unwrap_union(v) {
        AvroValue::Null => Cell::Null,
        AvroValue::Boolean(b) => Cell::Bool(b),
        AvroValue::Int(i) | AvroValue::Date(i) | AvroValue::TimeMillis(i) => Cell::Int(i64::from(i)),
        AvroValue::Long(l)
        | AvroValue::TimestampMillis(l)
        | AvroValue::TimestampMicros(l)
        | AvroValue::TimestampNanos(l)
        | AvroValue::LocalTimestampMillis(l)
        | AvroValue::LocalTimestampMicros(l)
        | AvroValue::LocalTimestampNanos(l)
        | AvroValue::TimeMicros(l) => Cell::Int(l),
        AvroValue::Float(f) => Cell::Float(f64::from(f)),
        AvroValue::Double(d) => Cell::Float(d),
        AvroValue::String(s) | AvroValue::Enum(_, s) => Cell::Str(s),
        AvroValue::Uuid(u) => Cell::Str(u.to_string()),
        AvroValue::Bytes(b) | AvroValue::Fixed(_, b) => Cell::Bytes(b),
        AvroValue::Decimal(d) => {
            Cell::Bytes(Vec::<u8>::try_from(d).map_err(|e| Fail::Bad(format!("decimal value: {e}")))?)
        }
        AvroValue::Record(fields) => match kind {
            Kind::Struct(cols) => Cell::Struct(avro_fields(cols, fields)?),
            _ => return Err(Fail::Bad("record value for a non-struct column".into())),
        },
        other => return Err(Fail::Bad(format!("unsupported Avro value {other:?}"))),
    })
}

fn json_row(columns: &Columns, v: &Json) -> Result<Option<Vec<Cell>>, Fail> {
    match v {
        Json::Null => Ok(None),
        Json::Object(_) => json_fields(&columns.fields, v).map(Some),
        other => Err(Fail::Bad(format!("row image is not an object: {other}"))),
    }
}

fn json_fields(columns: &[Column], v: &Json) -> Result<Vec<Cell>, Fail> {
    columns.iter().map(|c| json_cell(&c.kind, &v[c.name.as_str()])).collect()
}

fn json_cell(kind: &Kind, v: &Json) -> Result<Cell, Fail> {
    Ok(match v {
        Json::Null => Cell::Null,
        Json::Bool(b) => Cell::Bool(*b),
        Json::Number(n) => match n.as_i64() {
            Some(i) if !matches!(kind, Kind::Float32 | Kind::Float64) => Cell::Int(i),
            _ => Cell::Float(n.as_f64().unwrap_or(f64::NAN)),
        },
        Json::String(s) => match kind {
            Kind::Binary | Kind::Decimal { .. } | Kind::DecimalText { .. } => Cell::Bytes(
                base64::engine::general_purpose::STANDARD
                    .decode(s)
                    .map_err(|e| Fail::Bad(format!("base64 value: {e}")))?,
            ),
            _ => Cell::Str(s.clone()),
        },
        Json::Object(_) => match kind {
            Kind::Struct(cols) => Cell::Struct(json_fields(cols, v)?),
            _ => return Err(Fail::Bad("object value for a non-struct column".into())),
        },
        Json::Array(_) => return Err(Fail::Bad("array values are not supported".into())),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const ENVELOPE: &str = r#"{"type":"record","name":"Envelope","namespace":"p.inventory.customers","fields":[
      {"name":"before","type":["null",{"type":"record","name":"Value","fields":[
        {"name":"id","type":"int"},
        {"name":"first_name","type":"string"},
        {"name":"phone","type":["null","string"],"default":null},
        {"name":"d","type":["null",{"type":"int","connect.version":1,"connect.name":"io.debezium.time.Date"}],"default":null},
        {"name":"w","type":["null",{"type":"bytes","scale":2,"precision":10,"connect.version":1,"connect.parameters":{"scale":"2","connect.decimal.precision":"10"},"connect.name":"org.apache.kafka.connect.data.Decimal","logicalType":"decimal"}],"default":null},
        {"name":"big","type":["null",{"type":"bytes","scale":30,"precision":65,"connect.parameters":{"scale":"30","connect.decimal.precision":"65"},"connect.name":"org.apache.kafka.connect.data.Decimal","logicalType":"decimal"}],"default":null},
        {"name":"t","type":{"type":"int","connect.type":"int16"}},
        {"name":"g","type":["null",{"type":"record","name":"Geometry","namespace":"io.debezium.data.geometry","fields":[{"name":"wkb","type":"bytes"},{"name":"srid","type":["null","int"],"default":null}],"connect.name":"io.debezium.data.geometry.Geometry"}],"default":null}
      ],"connect.name":"p.inventory.customers.Value"}],"default":null},
      {"name":"after","type":["null","Value"],"default":null},
      {"name":"op","type":"string"}]}"#;

    #[test]
    fn avro_columns_follow_connect_names() {
        let j: Json = serde_json::from_str(ENVELOPE).unwrap();
        let cols = avro_row_columns(&j).unwrap();
        let kinds: Vec<(&str, &Kind, bool)> =
            cols.fields.iter().map(|c| (c.name.as_str(), &c.kind, c.nullable)).collect();
        assert_eq!(kinds[0], ("id", &Kind::Int32, false));
        assert_eq!(kinds[1], ("first_name", &Kind::Utf8, false));
        assert_eq!(kinds[2], ("phone", &Kind::Utf8, true));
        assert_eq!(kinds[3], ("d", &Kind::Date, true));
        assert_eq!(kinds[4], ("w", &Kind::Decimal { precision: 10, scale: 2 }, true));
        assert_eq!(kinds[5], ("big", &Kind::DecimalText { scale: 30 }, true));
        assert_eq!(kinds[6], ("t", &Kind::Int32, false));
        match kinds[7].1 {
            Kind::Struct(f) => assert_eq!(f.iter().map(|c| c.name.as_str()).collect::<Vec<_>>(), ["wkb", "srid"]),
            k => panic!("{k:?}"),
        }
    }

    #[test]
    fn json_columns_and_values() {
        let schema: Json = serde_json::from_str(
            r#"{"type":"struct","fields":[{"type":"int32","optional":false,"field":"id"},
            {"type":"int64","optional":true,"name":"io.debezium.time.MicroTimestamp","version":1,"field":"ts"},
            {"type":"bytes","optional":true,"name":"org.apache.kafka.connect.data.Decimal","version":1,"parameters":{"scale":"2","connect.decimal.precision":"10"},"field":"price"},
            {"type":"double","optional":true,"field":"w"}],"optional":true,"field":"after"}"#,
        )
        .unwrap();
        let cols = Columns { fields: json_struct_fields(&schema).unwrap() };
        assert_eq!(cols.fields[1].kind, Kind::TimestampMicros);
        assert_eq!(cols.fields[2].kind, Kind::Decimal { precision: 10, scale: 2 });
        let row: Json = serde_json::from_str(r#"{"id":7,"ts":1700000000000000,"price":"AN0=","w":1}"#).unwrap();
        let Ok(Some(cells)) = json_row(&cols, &row) else { panic!() };
        assert_eq!(
            cells,
            vec![Cell::Int(7), Cell::Int(1_700_000_000_000_000), Cell::Bytes(vec![0, 0xdd]), Cell::Float(1.0)]
        );
    }

    #[test]
    fn seq_orders_like_binlog_positions() {
        let p = |file: &str, pos, row| SourcePos { file: file.into(), pos, row, ts_ms: 0 };
        let a = p("mysql-bin.000009", 123_456, 3);
        let b = p("mysql-bin.000010", 4, 0);
        let c = p("mysql-bin.000010", 4, 1);
        assert!(a.seq() < b.seq() && b.seq() < c.seq());
        assert!(a.order() < b.order() && b.order() < c.order());
        assert_eq!(b.seq(), "0000000010.00000000000000000004.0000000000");
    }
}
