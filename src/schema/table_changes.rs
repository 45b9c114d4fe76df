//! Debezium's `tableChanges`: the Connect schemas and values of schema change events, and the
//! JSON form the schema history stores.
//!
//! Two renderings of the same [`SchemaChange`] exist in Debezium and both are reproduced:
//! * in schema change events (topic `<prefix>`), `tableChanges` is a Connect array of
//!   `io.debezium.connector.schema.Change` structs ([`change_schema`], [`table_change_value`]);
//!   every field is always present (absent values are nulls, `enumValues` is null unless the
//!   column is an ENUM/SET whose members are shown quoted, e.g. `'small'`);
//! * in the schema history (`schema.history.internal.*`), each change is plain JSON
//!   ([`history_json`]): `length`/`scale`/`defaultValueExpression` are omitted when absent,
//!   `hasDefaultValue` is added, `enumValues` is always a list, the table has `attributes: []`,
//!   the table comment sits next to `table` (not inside it), and DROP has only `type` and `id`.
//!
//! The envelope of schema change events (`SchemaChangeKey`/`SchemaChangeValue`) is built here
//! too, given the `io.debezium.connector.mysql.Source` schema from the envelope module.

use std::sync::Arc;

use serde_json::json;

use crate::connect::{Field, Schema, SchemaType, Value};

use super::{ChangeType, Column, SchemaChange, Table};

fn s(ty: SchemaType) -> Schema {
    Schema::new(ty)
}
fn string_array() -> Arc<Schema> {
    s(SchemaType::Array(s(SchemaType::String).arc())).optional().arc()
}

/// `io.debezium.connector.schema.Column`.
pub fn column_schema() -> Arc<Schema> {
    let opt_str = || s(SchemaType::String).optional().arc();
    let opt_i32 = || s(SchemaType::Int32).optional().arc();
    let opt_bool = || s(SchemaType::Boolean).optional().arc();
    let fields = vec![
        Field::new("name", s(SchemaType::String).arc()),
        Field::new("jdbcType", s(SchemaType::Int32).arc()),
        Field::new("nativeType", opt_i32()),
        Field::new("typeName", s(SchemaType::String).arc()),
        Field::new("typeExpression", opt_str()),
        Field::new("charsetName", opt_str()),
        Field::new("length", opt_i32()),
        Field::new("scale", opt_i32()),
        Field::new("position", s(SchemaType::Int32).arc()),
        Field::new("optional", opt_bool()),
        Field::new("autoIncremented", opt_bool()),
        Field::new("generated", opt_bool()),
        Field::new("comment", opt_str()),
        Field::new("defaultValueExpression", opt_str()),
        Field::new("enumValues", string_array()),
    ];
    s(SchemaType::Struct(fields)).named("io.debezium.connector.schema.Column").version(1).arc()
}

/// `io.debezium.connector.schema.Table` (optional: null for DROP).
pub fn table_schema() -> Arc<Schema> {
    let fields = vec![
        Field::new("defaultCharsetName", s(SchemaType::String).optional().arc()),
        Field::new("primaryKeyColumnNames", string_array()),
        Field::new("columns", s(SchemaType::Array(column_schema())).arc()),
        Field::new("comment", s(SchemaType::String).optional().arc()),
    ];
    s(SchemaType::Struct(fields)).optional().named("io.debezium.connector.schema.Table").version(1).arc()
}

/// `io.debezium.connector.schema.Change`.
pub fn change_schema() -> Arc<Schema> {
    let fields = vec![
        Field::new("type", s(SchemaType::String).arc()),
        Field::new("id", s(SchemaType::String).arc()),
        Field::new("table", table_schema()),
    ];
    s(SchemaType::Struct(fields)).named("io.debezium.connector.schema.Change").version(1).arc()
}

/// `io.debezium.connector.mysql.SchemaChangeKey` {databaseName}.
pub fn schema_change_key_schema() -> Arc<Schema> {
    let fields = vec![Field::new("databaseName", s(SchemaType::String).arc())];
    s(SchemaType::Struct(fields)).named("io.debezium.connector.mysql.SchemaChangeKey").version(1).arc()
}

/// `io.debezium.connector.mysql.SchemaChangeValue` {source, ts_ms, databaseName, schemaName,
/// ddl, tableChanges}; `source` is the connector's Source schema.
pub fn schema_change_value_schema(source: Arc<Schema>) -> Arc<Schema> {
    let opt_str = || s(SchemaType::String).optional().arc();
    let fields = vec![
        Field::new("source", source),
        Field::new("ts_ms", s(SchemaType::Int64).arc()),
        Field::new("databaseName", opt_str()),
        Field::new("schemaName", opt_str()),
        Field::new("ddl", opt_str()),
        Field::new("tableChanges", s(SchemaType::Array(change_schema())).arc()),
    ];
    s(SchemaType::Struct(fields)).named("io.debezium.connector.mysql.SchemaChangeValue").version(1).arc()
}

/// `"db"."table"`, Debezium's quoted table id.
pub fn quoted_id(change: &SchemaChange) -> String {
    format!("\"{}\".\"{}\"", change.id.db, change.id.table)
}

/// An ENUM/SET member as Debezium lists it: quoted, `'` doubled.
fn quoted_member(v: &str) -> String {
    format!("'{}'", v.replace('\'', "''"))
}

fn opt_int(v: Option<i32>) -> Value {
    v.map(|x| Value::Int(x.into())).unwrap_or(Value::Null)
}

fn column_value(c: &Column) -> Value {
    let enums = if c.enum_values.is_empty() {
        Value::Null
    } else {
        Value::Array(c.enum_values.iter().map(|v| Value::String(quoted_member(v))).collect())
    };
    Value::Struct(vec![
        Value::str(&c.name),
        Value::Int(c.jdbc_type.into()),
        Value::Null,
        Value::str(&c.type_name),
        Value::str(&c.type_expression),
        Value::opt_str(c.charset.clone()),
        opt_int(c.length),
        opt_int(c.scale),
        Value::Int(c.position.into()),
        Value::Boolean(c.optional),
        Value::Boolean(c.auto_increment),
        Value::Boolean(c.generated),
        Value::opt_str(c.comment.clone()),
        Value::opt_str(c.default_expression.clone()),
        enums,
    ])
}

fn table_value(t: &Table) -> Value {
    Value::Struct(vec![
        Value::opt_str(t.default_charset.clone()),
        Value::Array(t.primary_key.iter().map(Value::str).collect()),
        Value::Array(t.columns.iter().map(column_value).collect()),
        Value::opt_str(t.comment.clone()),
    ])
}

/// One `Change` struct value (schema: [`change_schema`]).
pub fn table_change_value(change: &SchemaChange) -> Value {
    let table = match (&change.kind, &change.table) {
        (ChangeType::Drop, _) | (_, None) => Value::Null,
        (_, Some(t)) => table_value(t),
    };
    Value::Struct(vec![Value::str(change.kind.as_str()), Value::String(quoted_id(change)), table])
}

/// The `tableChanges` array value.
pub fn table_changes_value(changes: &[SchemaChange]) -> Value {
    Value::Array(changes.iter().map(table_change_value).collect())
}

/// Debezium's `hasDefaultValue`: an explicit default, or nullable (implicit DEFAULT NULL).
pub fn has_default_value(c: &Column) -> bool {
    c.default_expression.is_some() || c.optional
}

fn column_history_json(c: &Column) -> serde_json::Value {
    let mut m = serde_json::Map::new();
    m.insert("name".into(), json!(c.name));
    m.insert("jdbcType".into(), json!(c.jdbc_type));
    m.insert("typeName".into(), json!(c.type_name));
    m.insert("typeExpression".into(), json!(c.type_expression));
    m.insert("charsetName".into(), json!(c.charset));
    if let Some(l) = c.length {
        m.insert("length".into(), json!(l));
    }
    if let Some(sc) = c.scale {
        m.insert("scale".into(), json!(sc));
    }
    m.insert("position".into(), json!(c.position));
    m.insert("optional".into(), json!(c.optional));
    m.insert("autoIncremented".into(), json!(c.auto_increment));
    m.insert("generated".into(), json!(c.generated));
    m.insert("comment".into(), json!(c.comment));
    m.insert("hasDefaultValue".into(), json!(has_default_value(c)));
    if let Some(d) = &c.default_expression {
        m.insert("defaultValueExpression".into(), json!(d));
    }
    m.insert("enumValues".into(), json!(c.enum_values.iter().map(|v| quoted_member(v)).collect::<Vec<_>>()));
    serde_json::Value::Object(m)
}

/// One table change as the schema history stores it.
pub fn history_json(change: &SchemaChange) -> serde_json::Value {
    let mut m = serde_json::Map::new();
    m.insert("type".into(), json!(change.kind.as_str()));
    m.insert("id".into(), json!(quoted_id(change)));
    if let (false, Some(t)) = (change.kind == ChangeType::Drop, &change.table) {
        let mut tm = serde_json::Map::new();
        tm.insert("defaultCharsetName".into(), json!(t.default_charset));
        tm.insert("primaryKeyColumnNames".into(), json!(t.primary_key));
        tm.insert("columns".into(), serde_json::Value::Array(t.columns.iter().map(column_history_json).collect()));
        tm.insert("attributes".into(), json!([]));
        m.insert("table".into(), serde_json::Value::Object(tm));
        m.insert("comment".into(), json!(t.comment));
    }
    serde_json::Value::Object(m)
}
