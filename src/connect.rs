//! The Kafka Connect data model (schemas and values) that Debezium's records are made of.
//!
//! Debezium builds every key and value as a Connect `Struct` with a Connect `Schema`; the
//! converters (JsonConverter, AvroConverter) derive their bytes from that pair. We keep the same
//! model so that both encodings follow from one place. Schemas are built once per table version
//! and shared (`Arc`); values are plain enums. Field order is significant everywhere: it decides
//! the bytes and the registered schema.

use std::sync::Arc;

/// A Connect schema type.
#[derive(Debug, Clone, PartialEq)]
pub enum SchemaType {
    Int8,
    Int16,
    Int32,
    Int64,
    Float32,
    Float64,
    Boolean,
    String,
    Bytes,
    /// An array of `items`.
    Array(Arc<Schema>),
    /// A struct with ordered fields.
    Struct(Vec<Field>),
}

impl SchemaType {
    /// The name JsonConverter writes in `"type"`.
    pub fn json_name(&self) -> &'static str {
        match self {
            SchemaType::Int8 => "int8",
            SchemaType::Int16 => "int16",
            SchemaType::Int32 => "int32",
            SchemaType::Int64 => "int64",
            SchemaType::Float32 => "float",
            SchemaType::Float64 => "double",
            SchemaType::Boolean => "boolean",
            SchemaType::String => "string",
            SchemaType::Bytes => "bytes",
            SchemaType::Array(_) => "array",
            SchemaType::Struct(_) => "struct",
        }
    }
}

/// A Connect schema: type plus the optional name/version/doc/parameters/default.
#[derive(Debug, Clone, PartialEq)]
pub struct Schema {
    pub ty: SchemaType,
    pub optional: bool,
    pub name: Option<String>,
    pub version: Option<i32>,
    pub doc: Option<String>,
    /// Ordered parameters (`connect.parameters` in Avro, `parameters` in JSON).
    pub parameters: Vec<(String, String)>,
    pub default: Option<Value>,
}

/// A named field of a struct schema.
#[derive(Debug, Clone, PartialEq)]
pub struct Field {
    pub name: String,
    pub schema: Arc<Schema>,
}

impl Field {
    pub fn new(name: impl Into<String>, schema: Arc<Schema>) -> Field {
        Field { name: name.into(), schema }
    }
}

impl Schema {
    /// A plain schema of the given type.
    pub fn new(ty: SchemaType) -> Schema {
        Schema { ty, optional: false, name: None, version: None, doc: None, parameters: Vec::new(), default: None }
    }
    pub fn optional(mut self) -> Schema {
        self.optional = true;
        self
    }
    pub fn required(mut self) -> Schema {
        self.optional = false;
        self
    }
    pub fn named(mut self, name: impl Into<String>) -> Schema {
        self.name = Some(name.into());
        self
    }
    pub fn version(mut self, v: i32) -> Schema {
        self.version = Some(v);
        self
    }
    pub fn doc(mut self, d: impl Into<String>) -> Schema {
        self.doc = Some(d.into());
        self
    }
    pub fn param(mut self, k: impl Into<String>, v: impl Into<String>) -> Schema {
        self.parameters.push((k.into(), v.into()));
        self
    }
    pub fn default_value(mut self, v: Value) -> Schema {
        self.default = Some(v);
        self
    }
    pub fn arc(self) -> Arc<Schema> {
        Arc::new(self)
    }
    /// Struct fields, or an empty slice for non-struct schemas.
    pub fn fields(&self) -> &[Field] {
        match &self.ty {
            SchemaType::Struct(f) => f,
            _ => &[],
        }
    }
}

/// A Connect value. Integers of every width are held as `i64`; the schema says the width.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    Null,
    Boolean(bool),
    Int(i64),
    Float32(f32),
    Float64(f64),
    String(String),
    Bytes(Vec<u8>),
    /// Field values in the order of the struct schema's fields.
    Struct(Vec<Value>),
    Array(Vec<Value>),
}

impl Value {
    pub fn is_null(&self) -> bool {
        matches!(self, Value::Null)
    }
    pub fn str(s: impl Into<String>) -> Value {
        Value::String(s.into())
    }
    pub fn opt_str(s: Option<impl Into<String>>) -> Value {
        s.map(|s| Value::String(s.into())).unwrap_or(Value::Null)
    }
}
