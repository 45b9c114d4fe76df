//! Confluent `AvroConverter` encoding of our Connect model: the Avro schema text that gets
//! registered, and the record bytes in Confluent's wire format.
//!
//! # Schema (`AvroData.fromConnectSchema`, Confluent 7.x, default `connect.avro` settings)
//!
//! [`avro_schema_json`] renders a Connect schema the way Confluent's `AvroData` converts it
//! (`connect.meta.data=true`, `enhanced.avro.schema.support=false`) and Avro's Java
//! `Schema.toString()` then prints it — which is also the text a Confluent client registers:
//!
//! * int8/int16 → `int` with `"connect.type":"int8"`/`"int16"`; int32 → `int`; int64 → `long`;
//!   float32/float64 → `float`/`double`; boolean, string, bytes; array → `array`; struct →
//!   `record`.
//! * A struct's Connect name is split at its last dot into Avro `namespace` and `name` (an
//!   unnamed struct is `io.confluent.connect.avro.ConnectDefault`). Avro prints `namespace` only
//!   where it differs from the enclosing record's (and `""` for a namespace-less record inside a
//!   namespaced one). A record name already defined earlier in the same schema text is written as
//!   a bare name reference, qualified only if its namespace differs from the enclosing one
//!   (`["null","Value"]` for the envelope's `after`, `"io.debezium.data.geometry.Geometry"` for
//!   the second geometry column).
//! * Metadata properties, in this order: `connect.doc`, `connect.version`, `connect.parameters`
//!   (an object in parameter order), `connect.default` (the default as JSON), `connect.name`,
//!   `connect.type`. `org.apache.kafka.connect.data.Decimal` (bytes) additionally gets
//!   `scale` and `precision` (from `connect.decimal.precision`, default 64) *before* those and
//!   `"logicalType":"decimal"` after them; Connect's `Date`/`Time`/`Timestamp` get
//!   `"logicalType":"date"`/`"time-millis"`/`"timestamp-millis"`. Parameters whose key starts
//!   with `avro` are also copied as plain properties. A type without properties is printed as
//!   the bare type name (`"string"`), otherwise as an object `{"type":…,<props>}`.
//! * An optional schema becomes a union: `["null",T]`, or `[T,"null"]` when it has a non-null
//!   default (Avro requires the default to match the first branch). The properties sit on `T`.
//! * Record fields are `{"name","type"}` plus `"default"`: the field schema's default, or `null`
//!   for an optional field without one. A field doc comes only from the record's
//!   `io.confluent.connect.avro.field.doc.<field>` parameter and a record doc from
//!   `io.confluent.connect.avro.record.doc`; a Connect `doc` goes to `connect.doc`.
//! * Defaults as JSON: integers, booleans, strings; bytes as a string of ISO-8859-1 characters
//!   (one per byte); arrays; structs as objects (a null member takes its field's default).
//!   Floating-point numbers are printed with Java's `Float.toString`/`Double.toString`, except
//!   that a float32 *field* default goes through Avro's `JacksonUtils` double round trip and so
//!   prints as the double (`0.10000000149011612` where `connect.default` says `0.1`).
//! * Strings are escaped like Jackson's writer-based generator: `"`, `\`, `\b \t \n \f \r`,
//!   other control characters as `\u00XX`; everything else (including characters outside the
//!   BMP) is written as raw UTF-8.
//!
//! Avro Java refuses a schema in which the same record name is defined twice with different
//! contents ("Can't redefine"); we do not check that and write the second as a reference, which
//! the registry then rejects as invalid. Debezium never produces such schemas.
//!
//! The golden files (`main`, `txmeta`, `heartbeat`, `mdbtypes*`) confirm every registered schema
//! byte for byte.
//!
//! # Record bytes
//!
//! [`AvroEncoder::encode`] writes Confluent's wire format: magic byte `0`, the schema id as a
//! 4-byte big-endian integer, then the Avro binary encoding of the value, straight into the
//! caller's buffer with no other allocation:
//!
//! * int/long as zig-zag varints (int8..int64 all encode alike), float/double as 4/8 bytes
//!   little-endian, boolean as one byte, string/bytes as a length varint then the bytes;
//! * records as their fields in order; arrays as one block (item count, items) followed by the
//!   terminating `0` (an empty array is just `0`);
//! * an optional value as its union branch index then the value (`0` = null, `1` = value, or
//!   the other way round when the schema has a default).
//!
//! A null struct member whose schema has a default is written as the default (Connect's
//! `Struct.get`). A null where the schema is not optional is an error (AvroConverter's
//! `DataException`), and nothing is left in the buffer. A record whose schema *and* value are
//! null (tombstone, null key) has no bytes at all — the caller's business, as for JSON.
//!
//! The schema id comes from the registry ([`crate::encode::registry_client`]), which registers
//! [`avro_schema_json`]'s text under `<topic>-key` / `<topic>-value`.
//!
//! # Why hand-written
//!
//! `apache-avro`'s writer needs its own `Value` tree (field names as `String`s, nested `Vec`s),
//! i.e. a deep copy of every record before encoding. Walking our Connect schema and value
//! directly avoids all of that; `apache-avro` is used in the tests to cross-check the schemas
//! and bytes (see `encode_throughput` there for the measured difference).

use std::collections::HashSet;

use thiserror::Error;

use crate::connect::{Schema, SchemaType, Value};
use crate::encode::json::{write_java_f32, write_java_f64};

/// Full Avro name of an unnamed Connect struct (`AvroData.NAMESPACE` + `DEFAULT_SCHEMA_NAME`).
const DEFAULT_RECORD_FULL_NAME: &str = "io.confluent.connect.avro.ConnectDefault";
const RECORD_DOC_PARAM: &str = "io.confluent.connect.avro.record.doc";
const FIELD_DOC_PARAM_PREFIX: &str = "io.confluent.connect.avro.field.doc.";
const FIELD_DEFAULT_FLAG_PARAM: &str = "io.confluent.connect.avro.field.default";
const DECIMAL_NAME: &str = "org.apache.kafka.connect.data.Decimal";
const DATE_NAME: &str = "org.apache.kafka.connect.data.Date";
const TIME_NAME: &str = "org.apache.kafka.connect.data.Time";
const TIMESTAMP_NAME: &str = "org.apache.kafka.connect.data.Timestamp";
const DECIMAL_PRECISION_PARAM: &str = "connect.decimal.precision";
const DECIMAL_PRECISION_DEFAULT: i64 = 64;

/// Confluent wire format magic byte.
pub const MAGIC_BYTE: u8 = 0;
/// Bytes before the Avro payload: magic byte + 4-byte schema id.
pub const WIRE_HEADER_LEN: usize = 5;

// ---------------------------------------------------------------------------------------------
// Schema text
// ---------------------------------------------------------------------------------------------

/// The Avro schema JSON that Confluent's AvroConverter registers for `schema` (see the module
/// docs for the rules). Deterministic: equal Connect schemas give identical text.
pub fn avro_schema_json(schema: &Schema) -> String {
    let mut w = SchemaWriter { out: Vec::with_capacity(1024), defined: HashSet::new(), space: None };
    w.schema(schema);
    String::from_utf8(w.out).expect("schema text is built from UTF-8")
}

struct SchemaWriter<'a> {
    out: Vec<u8>,
    /// Full names of the records written so far (later uses become references).
    defined: HashSet<&'a str>,
    /// Namespace of the enclosing record (Avro's `Names.space`).
    space: Option<&'a str>,
}

/// Avro's `Name`: (namespace or `None`, simple name, full name) of a struct's Connect name.
fn record_name(connect_name: Option<&str>) -> (Option<&str>, &str, &str) {
    let full = connect_name.unwrap_or(DEFAULT_RECORD_FULL_NAME);
    match full.rfind('.') {
        Some(0) => (None, &full[1..], &full[1..]),
        Some(i) => (Some(&full[..i]), &full[i + 1..], full),
        None => (None, full, full),
    }
}

fn non_null_default(schema: &Schema) -> Option<&Value> {
    schema.default.as_ref().filter(|d| !d.is_null())
}

fn param<'s>(schema: &'s Schema, key: &str) -> Option<&'s str> {
    schema.parameters.iter().find(|(k, _)| k == key).map(|(_, v)| v.as_str())
}

fn name_is(schema: &Schema, logical: &str) -> bool {
    schema.name.as_deref().is_some_and(|n| n.eq_ignore_ascii_case(logical))
}

impl<'a> SchemaWriter<'a> {
    /// A schema in a position where it may be optional (field type, array items, top level).
    fn schema(&mut self, schema: &'a Schema) {
        if schema.optional {
            if non_null_default(schema).is_some() {
                self.out.push(b'[');
                self.base(schema);
                self.out.extend_from_slice(b",\"null\"]");
            } else {
                self.out.extend_from_slice(b"[\"null\",");
                self.base(schema);
                self.out.push(b']');
            }
        } else {
            self.base(schema);
        }
    }

    /// The non-union schema, with its properties.
    fn base(&mut self, schema: &'a Schema) {
        let avro_type = match &schema.ty {
            SchemaType::Struct(_) => return self.record(schema),
            SchemaType::Array(items) => {
                self.out.extend_from_slice(b"{\"type\":\"array\",\"items\":");
                self.schema(items);
                self.props(schema);
                self.out.push(b'}');
                return;
            }
            SchemaType::Int8 | SchemaType::Int16 | SchemaType::Int32 => "int",
            SchemaType::Int64 => "long",
            SchemaType::Float32 => "float",
            SchemaType::Float64 => "double",
            SchemaType::Boolean => "boolean",
            SchemaType::String => "string",
            SchemaType::Bytes => "bytes",
        };
        let start = self.out.len();
        self.out.extend_from_slice(b"{\"type\":\"");
        self.out.extend_from_slice(avro_type.as_bytes());
        self.out.push(b'"');
        let props_start = self.out.len();
        self.props(schema);
        if self.out.len() == props_start {
            // No properties: Avro prints the bare type name.
            self.out.truncate(start);
            self.out.push(b'"');
            self.out.extend_from_slice(avro_type.as_bytes());
            self.out.push(b'"');
        } else {
            self.out.push(b'}');
        }
    }

    fn record(&mut self, schema: &'a Schema) {
        let (space, name, full) = record_name(schema.name.as_deref());
        if self.defined.contains(full) {
            // Avro's writeNameRef: a name known in this text is printed as a reference.
            let qualified = if space.is_none() || space == self.space { name } else { full };
            write_str(&mut self.out, qualified);
            return;
        }
        self.defined.insert(full);
        self.out.extend_from_slice(b"{\"type\":\"record\",\"name\":");
        write_str(&mut self.out, name);
        match space {
            Some(s) if Some(s) != self.space => {
                self.out.extend_from_slice(b",\"namespace\":");
                write_str(&mut self.out, s);
            }
            None if self.space.is_some() => self.out.extend_from_slice(b",\"namespace\":\"\""),
            _ => {}
        }
        let saved_space = std::mem::replace(&mut self.space, space);
        if let Some(doc) = param(schema, RECORD_DOC_PARAM) {
            self.out.extend_from_slice(b",\"doc\":");
            write_str(&mut self.out, doc);
        }
        self.out.extend_from_slice(b",\"fields\":[");
        for (i, field) in schema.fields().iter().enumerate() {
            if i > 0 {
                self.out.push(b',');
            }
            self.out.extend_from_slice(b"{\"name\":");
            write_str(&mut self.out, &field.name);
            self.out.extend_from_slice(b",\"type\":");
            self.schema(&field.schema);
            let doc = schema
                .parameters
                .iter()
                .find(|(k, _)| k.strip_prefix(FIELD_DOC_PARAM_PREFIX) == Some(field.name.as_str()));
            if let Some((_, doc)) = doc {
                self.out.extend_from_slice(b",\"doc\":");
                write_str(&mut self.out, doc);
            }
            if let Some(d) = non_null_default(&field.schema) {
                self.out.extend_from_slice(b",\"default\":");
                write_default(&mut self.out, &field.schema, d, true);
            } else if field.schema.optional {
                self.out.extend_from_slice(b",\"default\":null");
            }
            self.out.push(b'}');
        }
        self.out.push(b']');
        self.props(schema);
        self.out.push(b'}');
        self.space = saved_space;
    }

    /// Appends `,"key":value` for each property AvroData puts on the base schema, in order.
    fn props(&mut self, schema: &Schema) {
        let out = &mut self.out;
        let is_decimal = matches!(schema.ty, SchemaType::Bytes) && name_is(schema, DECIMAL_NAME);
        if is_decimal {
            let scale = param(schema, "scale").and_then(|s| s.parse::<i64>().ok()).unwrap_or(0);
            let precision = param(schema, DECIMAL_PRECISION_PARAM)
                .and_then(|s| s.parse::<i64>().ok())
                .unwrap_or(DECIMAL_PRECISION_DEFAULT);
            out.extend_from_slice(b",\"scale\":");
            write_int(out, scale);
            out.extend_from_slice(b",\"precision\":");
            write_int(out, precision);
        }
        if let Some(doc) = &schema.doc {
            out.extend_from_slice(b",\"connect.doc\":");
            write_str(out, doc);
        }
        if let Some(v) = schema.version {
            out.extend_from_slice(b",\"connect.version\":");
            write_int(out, i64::from(v));
        }
        let mut params = schema.parameters.iter().filter(|(k, _)| k != FIELD_DEFAULT_FLAG_PARAM).peekable();
        if params.peek().is_some() {
            out.extend_from_slice(b",\"connect.parameters\":{");
            for (i, (k, v)) in params.enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                write_str(out, k);
                out.push(b':');
                write_str(out, v);
            }
            out.push(b'}');
        }
        if let Some(d) = non_null_default(schema) {
            if param(schema, FIELD_DEFAULT_FLAG_PARAM).is_none() {
                out.extend_from_slice(b",\"connect.default\":");
                write_default(out, schema, d, false);
            }
        }
        if let Some(name) = &schema.name {
            out.extend_from_slice(b",\"connect.name\":");
            write_str(out, name);
        }
        match schema.ty {
            SchemaType::Int8 => out.extend_from_slice(b",\"connect.type\":\"int8\""),
            SchemaType::Int16 => out.extend_from_slice(b",\"connect.type\":\"int16\""),
            _ => {}
        }
        let logical = match schema.ty {
            _ if is_decimal => Some("decimal"),
            SchemaType::Int32 if name_is(schema, DATE_NAME) => Some("date"),
            SchemaType::Int32 if name_is(schema, TIME_NAME) => Some("time-millis"),
            SchemaType::Int64 if name_is(schema, TIMESTAMP_NAME) => Some("timestamp-millis"),
            _ => None,
        };
        if let Some(l) = logical {
            out.extend_from_slice(b",\"logicalType\":\"");
            out.extend_from_slice(l.as_bytes());
            out.push(b'"');
        }
        // Parameters starting with "avro" are copied as plain properties (Avro's addProp keeps
        // the first value of a key).
        for (i, (k, v)) in schema.parameters.iter().enumerate() {
            if !k.starts_with("avro") || schema.parameters[..i].iter().any(|(k2, _)| k2 == k) {
                continue;
            }
            let taken = matches!(k.as_str(), "logicalType" | "scale" | "precision");
            if taken && (logical.is_some() || is_decimal) {
                continue;
            }
            out.push(b',');
            write_str(out, k);
            out.push(b':');
            write_str(out, v);
        }
    }
}

/// A default value as JSON (`AvroData.defaultValueFromConnect`). `field_default` selects the
/// rendering of a record field's `"default"` (float32 widened to double), otherwise that of
/// the `connect.default` property.
fn write_default(out: &mut Vec<u8>, schema: &Schema, value: &Value, field_default: bool) {
    match (&schema.ty, value) {
        (_, Value::Null) => out.extend_from_slice(b"null"),
        (SchemaType::Float32, Value::Float32(f)) if field_default => write_java_f64(out, f64::from(*f)),
        (SchemaType::Float32, Value::Float64(f)) if field_default => write_java_f64(out, f64::from(*f as f32)),
        (SchemaType::Float32, Value::Float64(f)) => write_java_f32(out, *f as f32),
        (SchemaType::Float64, Value::Float32(f)) => write_java_f64(out, f64::from(*f)),
        (SchemaType::Array(items), Value::Array(values)) => {
            out.push(b'[');
            for (i, v) in values.iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                write_default(out, items, v, field_default);
            }
            out.push(b']');
        }
        (SchemaType::Struct(fields), Value::Struct(values)) => {
            out.push(b'{');
            for (i, f) in fields.iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                write_str(out, &f.name);
                out.push(b':');
                let v = values.get(i).filter(|v| !v.is_null()).or(non_null_default(&f.schema));
                write_default(out, &f.schema, v.unwrap_or(&Value::Null), field_default);
            }
            out.push(b'}');
        }
        (_, Value::Boolean(b)) => out.extend_from_slice(if *b { b"true" } else { b"false" }),
        (_, Value::Int(i)) => write_int(out, *i),
        (_, Value::Float32(f)) => write_java_f32(out, *f),
        (_, Value::Float64(f)) => write_java_f64(out, *f),
        (_, Value::String(s)) => write_str(out, s),
        (_, Value::Bytes(b)) => {
            // new String(bytes, ISO_8859_1): one character per byte.
            let s: String = b.iter().map(|&b| char::from(b)).collect();
            write_str(out, &s);
        }
        // A struct or array default under a schema of another type (AvroData would throw).
        (_, Value::Array(_)) | (_, Value::Struct(_)) => out.extend_from_slice(b"null"),
    }
}

fn write_int(out: &mut Vec<u8>, i: i64) {
    let mut buf = itoa::Buffer::new();
    out.extend_from_slice(buf.format(i).as_bytes());
}

/// A JSON string as Jackson's `WriterBasedJsonGenerator` writes it (Avro's `Schema.toString`).
fn write_str(out: &mut Vec<u8>, s: &str) {
    const HEX: &[u8; 16] = b"0123456789ABCDEF";
    out.push(b'"');
    let bytes = s.as_bytes();
    let mut run = 0;
    for (i, &b) in bytes.iter().enumerate() {
        let esc: &[u8] = match b {
            b'"' => b"\\\"",
            b'\\' => b"\\\\",
            0x08 => b"\\b",
            b'\t' => b"\\t",
            b'\n' => b"\\n",
            0x0C => b"\\f",
            b'\r' => b"\\r",
            0..=0x1F => b"",
            _ => continue,
        };
        out.extend_from_slice(&bytes[run..i]);
        run = i + 1;
        if esc.is_empty() {
            out.extend_from_slice(b"\\u00");
            out.push(HEX[usize::from(b >> 4)]);
            out.push(HEX[usize::from(b & 0xF)]);
        } else {
            out.extend_from_slice(esc);
        }
    }
    out.extend_from_slice(&bytes[run..]);
    out.push(b'"');
}

// ---------------------------------------------------------------------------------------------
// Binary encoding
// ---------------------------------------------------------------------------------------------

/// Why a value could not be encoded (AvroConverter would throw a `DataException`).
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error("cannot encode as Avro{}: {kind}", if path.is_empty() { String::new() } else { format!(" at `{path}`") })]
pub struct AvroEncodeError {
    /// Dotted path of struct field names from the top-level value (empty: the value itself).
    pub path: String,
    pub kind: AvroEncodeErrorKind,
}

#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum AvroEncodeErrorKind {
    #[error("null value for a required (non-optional) schema")]
    NullForRequired,
    #[error("a {found} value does not fit the schema type {expected}")]
    TypeMismatch { expected: &'static str, found: &'static str },
    #[error("{value} is out of range for {expected}")]
    OutOfRange { expected: &'static str, value: i64 },
}

impl AvroEncodeError {
    fn new(kind: AvroEncodeErrorKind) -> AvroEncodeError {
        AvroEncodeError { path: String::new(), kind }
    }
    fn in_field(mut self, field: &str) -> AvroEncodeError {
        self.path = if self.path.is_empty() { field.to_owned() } else { format!("{field}.{}", self.path) };
        self
    }
}

fn value_kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Boolean(_) => "boolean",
        Value::Int(_) => "integer",
        Value::Float32(_) => "float32",
        Value::Float64(_) => "float64",
        Value::String(_) => "string",
        Value::Bytes(_) => "bytes",
        Value::Struct(_) => "struct",
        Value::Array(_) => "array",
    }
}

/// AvroConverter's value encoding in Confluent's wire format. Stateless: the Avro encoding
/// follows from the Connect schema alone, and the schema id is the registry's business.
#[derive(Debug, Clone, Copy, Default)]
pub struct AvroEncoder;

impl AvroEncoder {
    pub fn new() -> AvroEncoder {
        AvroEncoder
    }

    /// Appends `0x00`, `schema_id` (big-endian) and the Avro binary encoding of `value` to
    /// `out`. On error `out` is left as it was.
    pub fn encode(
        &self,
        schema_id: u32,
        schema: &Schema,
        value: &Value,
        out: &mut Vec<u8>,
    ) -> Result<(), AvroEncodeError> {
        let start = out.len();
        out.push(MAGIC_BYTE);
        out.extend_from_slice(&schema_id.to_be_bytes());
        write_datum(out, schema, value).inspect_err(|_| out.truncate(start))
    }

    /// Convenience: [`encode`](Self::encode) into a new `Vec`.
    pub fn encode_to_vec(&self, schema_id: u32, schema: &Schema, value: &Value) -> Result<Vec<u8>, AvroEncodeError> {
        let mut out = Vec::with_capacity(256);
        self.encode(schema_id, schema, value, &mut out)?;
        Ok(out)
    }
}

/// Appends the bare Avro binary encoding of `value` (no wire header). On error, `out` may hold
/// a partial encoding (use [`AvroEncoder::encode`] for all-or-nothing).
pub fn write_datum(out: &mut Vec<u8>, schema: &Schema, value: &Value) -> Result<(), AvroEncodeError> {
    if schema.optional {
        let default_first = non_null_default(schema).is_some();
        // Union branch index, zig-zag encoded: 0 → 0x00, 1 → 0x02.
        let index_is_one = value.is_null() == default_first;
        out.push(if index_is_one { 2 } else { 0 });
        if value.is_null() {
            return Ok(());
        }
    } else if value.is_null() {
        return Err(AvroEncodeError::new(AvroEncodeErrorKind::NullForRequired));
    }
    let mismatch =
        |expected| Err(AvroEncodeError::new(AvroEncodeErrorKind::TypeMismatch { expected, found: value_kind(value) }));
    match (&schema.ty, value) {
        (SchemaType::Int8 | SchemaType::Int16 | SchemaType::Int32, Value::Int(i)) => {
            let (lo, hi, name) = match schema.ty {
                SchemaType::Int8 => (i64::from(i8::MIN), i64::from(i8::MAX), "int8"),
                SchemaType::Int16 => (i64::from(i16::MIN), i64::from(i16::MAX), "int16"),
                _ => (i64::from(i32::MIN), i64::from(i32::MAX), "int32"),
            };
            if *i < lo || *i > hi {
                return Err(AvroEncodeError::new(AvroEncodeErrorKind::OutOfRange { expected: name, value: *i }));
            }
            write_long(out, *i);
        }
        (SchemaType::Int64, Value::Int(i)) => write_long(out, *i),
        (SchemaType::Float32, Value::Float32(f)) => out.extend_from_slice(&f.to_le_bytes()),
        (SchemaType::Float32, Value::Float64(f)) => out.extend_from_slice(&(*f as f32).to_le_bytes()),
        (SchemaType::Float64, Value::Float64(f)) => out.extend_from_slice(&f.to_le_bytes()),
        (SchemaType::Float64, Value::Float32(f)) => out.extend_from_slice(&f64::from(*f).to_le_bytes()),
        (SchemaType::Boolean, Value::Boolean(b)) => out.push(u8::from(*b)),
        (SchemaType::String, Value::String(s)) => write_bytes(out, s.as_bytes()),
        (SchemaType::Bytes, Value::Bytes(b)) => write_bytes(out, b),
        (SchemaType::Array(items), Value::Array(values)) => {
            if !values.is_empty() {
                write_long(out, values.len() as i64);
                for v in values {
                    write_datum(out, items, v)?;
                }
            }
            out.push(0);
        }
        (SchemaType::Struct(fields), Value::Struct(values)) => {
            for (i, f) in fields.iter().enumerate() {
                let v = match values.get(i) {
                    Some(v) if !v.is_null() => v,
                    _ => non_null_default(&f.schema).unwrap_or(&Value::Null),
                };
                write_datum(out, &f.schema, v).map_err(|e| e.in_field(&f.name))?;
            }
        }
        (ty, _) => return mismatch(ty.json_name()),
    }
    Ok(())
}

/// Zig-zag varint of a long (an int's encoding is the same for values in `i32` range).
#[inline]
fn write_long(out: &mut Vec<u8>, n: i64) {
    let mut z = ((n << 1) ^ (n >> 63)) as u64;
    while z >= 0x80 {
        out.push(z as u8 | 0x80);
        z >>= 7;
    }
    out.push(z as u8);
}

#[inline]
fn write_bytes(out: &mut Vec<u8>, b: &[u8]) {
    write_long(out, b.len() as i64);
    out.extend_from_slice(b);
}

#[cfg(test)]
mod tests;
