//! Debezium's record layout: the Connect schemas and values of keys, change envelopes and
//! `source` blocks.
//!
//! A data record is `(topic, key, value, headers)` where the value is the envelope struct
//! `<prefix>.<db>.<table>.Envelope` with fields, in this order: `before`, `after`, `source`,
//! `transaction`, `op`, `ts_ms`, `ts_us`, `ts_ns`. The field order decides the bytes and the
//! registered schema id, so it is fixed here once. Per-table schemas are built once per table
//! version (`TableSchemas`) and shared by every record of that table; building a record only
//! assembles values.
//!
//! Invariants: `source.pos` is the start of the rows event that carried the row and `source.row`
//! its 0-based index in that event; streaming records carry `snapshot: "false"`.

use std::sync::Arc;

use crate::connect::{Field, Schema, SchemaType, Value};

/// Debezium version string reported in `source.version`.
pub const DEBEZIUM_VERSION: &str = "3.6.3.Final";
/// `source.connector`.
pub const CONNECTOR: &str = "mysql";

/// The allowed values of `source.snapshot`, in Debezium's order.
const SNAPSHOT_ALLOWED: &str = "true,first,first_in_data_collection,last_in_data_collection,last,false,incremental";

fn int64() -> Schema {
    Schema::new(SchemaType::Int64)
}
fn string() -> Schema {
    Schema::new(SchemaType::String)
}

/// Heartbeat key: `io.debezium.connector.common.ServerNameKey` (version 1) {serverName}.
pub fn heartbeat_key_schema() -> Arc<Schema> {
    Schema::new(SchemaType::Struct(vec![Field::new("serverName", string().arc())]))
        .named("io.debezium.connector.common.ServerNameKey")
        .version(1)
        .arc()
}

/// Heartbeat value: `io.debezium.connector.common.Heartbeat` (version 1) {ts_ms}.
pub fn heartbeat_value_schema() -> Arc<Schema> {
    Schema::new(SchemaType::Struct(vec![Field::new("ts_ms", int64().arc())]))
        .named("io.debezium.connector.common.Heartbeat")
        .version(1)
        .arc()
}

/// Transaction topic key: `io.debezium.connector.common.TransactionMetadataKey` (version 1) {id}.
pub fn transaction_key_schema() -> Arc<Schema> {
    Schema::new(SchemaType::Struct(vec![Field::new("id", string().arc())]))
        .named("io.debezium.connector.common.TransactionMetadataKey")
        .version(1)
        .arc()
}

/// Transaction topic value: `io.debezium.connector.common.TransactionMetadataValue` (version 1)
/// {status, id, event_count, data_collections[`event.collection`{data_collection, event_count}],
/// ts_ms}.
pub fn transaction_value_schema() -> Arc<Schema> {
    let collection = Schema::new(SchemaType::Struct(vec![
        Field::new("data_collection", string().arc()),
        Field::new("event_count", int64().arc()),
    ]))
    .optional()
    .named("event.collection")
    .version(1)
    .arc();
    Schema::new(SchemaType::Struct(vec![
        Field::new("status", string().arc()),
        Field::new("id", string().arc()),
        Field::new("event_count", int64().optional().arc()),
        Field::new("data_collections", Schema::new(SchemaType::Array(collection)).optional().arc()),
        Field::new("ts_ms", int64().arc()),
    ]))
    .named("io.debezium.connector.common.TransactionMetadataValue")
    .version(1)
    .arc()
}

/// `io.debezium.connector.mysql.Source` (version 1) with its 17 fields.
pub fn source_schema() -> Arc<Schema> {
    let f = |n: &str, s: Schema| Field::new(n, s.arc());
    Schema::new(SchemaType::Struct(vec![
        f("version", string()),
        f("connector", string()),
        f("name", string()),
        f("ts_ms", int64()),
        f(
            "snapshot",
            string()
                .optional()
                .named("io.debezium.data.Enum")
                .version(1)
                .param("allowed", SNAPSHOT_ALLOWED)
                .default_value(Value::str("false")),
        ),
        f("db", string()),
        f("sequence", string().optional()),
        f("ts_us", int64().optional()),
        f("ts_ns", int64().optional()),
        f("table", string().optional()),
        f("server_id", int64()),
        f("gtid", string().optional()),
        f("file", string()),
        f("pos", int64()),
        f("row", Schema::new(SchemaType::Int32)),
        f("thread", int64().optional()),
        f("query", string().optional()),
    ]))
    .named("io.debezium.connector.mysql.Source")
    .version(1)
    .arc()
}

/// The optional transaction block `event.block` (version 1).
pub fn transaction_block_schema() -> Arc<Schema> {
    Schema::new(SchemaType::Struct(vec![
        Field::new("id", string().arc()),
        Field::new("total_order", int64().arc()),
        Field::new("data_collection_order", int64().arc()),
    ]))
    .optional()
    .named("event.block")
    .version(1)
    .arc()
}

/// The envelope schema around a row `Value` struct (which must be optional).
pub fn envelope_schema(envelope_name: &str, row: &Arc<Schema>, source: &Arc<Schema>) -> Arc<Schema> {
    Schema::new(SchemaType::Struct(vec![
        Field::new("before", row.clone()),
        Field::new("after", row.clone()),
        Field::new("source", source.clone()),
        Field::new("transaction", transaction_block_schema()),
        Field::new("op", string().arc()),
        Field::new("ts_ms", int64().optional().arc()),
        Field::new("ts_us", int64().optional().arc()),
        Field::new("ts_ns", int64().optional().arc()),
    ]))
    .named(envelope_name)
    .version(2)
    .arc()
}

/// The schemas of one table version: key (None when the table has no key), row and envelope,
/// and what the configured transforms (`transforms`) make of them.
#[derive(Debug, Clone)]
pub struct TableSchemas {
    /// The topic records go to (after `ByLogicalTableRouter`).
    pub topic: String,
    /// The table's key schema (also what the `__debezium.newkey`/`oldkey` headers show).
    pub key: Option<Arc<Schema>>,
    pub row: Arc<Schema>,
    pub envelope: Arc<Schema>,
    /// Indexes of the key columns in the row's column order.
    pub key_indexes: Vec<usize>,
    /// The schema record keys are written with (the router adds a field).
    pub out_key: Option<Arc<Schema>>,
    /// The schema record values are written with: the envelope, or the unwrapped row.
    pub value: Arc<Schema>,
    /// With the router's key field: the original topic, its value.
    pub route_key: Option<String>,
    /// `ExtractNewRecordState`, when configured.
    pub unwrap: Option<crate::transforms::Unwrap>,
    /// Handling modes, column masking and selection (None when rows pass unchanged).
    pub plan: Option<crate::columns::ColumnPlan>,
}

impl TableSchemas {
    /// Assemble from the key/row schemas built by `schema::connect_schema`.
    pub fn new(
        topic: String,
        key: Option<Arc<Schema>>,
        row: Arc<Schema>,
        key_indexes: Vec<usize>,
        source: &Arc<Schema>,
    ) -> TableSchemas {
        let envelope = envelope_schema(&format!("{topic}.Envelope"), &row, source);
        TableSchemas {
            topic,
            out_key: key.clone(),
            key,
            value: envelope.clone(),
            row,
            envelope,
            key_indexes,
            route_key: None,
            unwrap: None,
            plan: None,
        }
    }

    /// Rows go through `plan` (see `columns`) unless it changes nothing.
    pub fn with_plan(mut self, plan: crate::columns::ColumnPlan) -> TableSchemas {
        self.plan = (!plan.is_identity()).then_some(plan);
        self
    }

    /// A full decoded row (every column, default handling modes) → its key and the emitted row
    /// struct; the error names the column index.
    pub fn finish_row(
        &self,
        mut row: Vec<Value>,
    ) -> Result<(Option<Value>, Value), (usize, crate::decode::ValueError)> {
        match &self.plan {
            None => Ok((self.key_value(&row), Value::Struct(row))),
            Some(plan) => {
                plan.apply(&mut row)?;
                let key = self.key_value(&row);
                Ok((key, Value::Struct(plan.project(row))))
            }
        }
    }

    /// Apply the connector's transforms to the schemas (once per table version).
    pub fn transformed(mut self, t: &crate::transforms::Transforms, source: &Arc<Schema>) -> TableSchemas {
        use crate::transforms::renamed;
        if let Some(new_topic) = t.route.as_ref().and_then(|r| r.topic(&self.topic).map(|n| (r, n))) {
            let (route, new_topic) = new_topic;
            self.row = renamed(&self.row, format!("{new_topic}.Value"));
            self.envelope = envelope_schema(&format!("{new_topic}.Envelope"), &self.row, source);
            self.value = self.envelope.clone();
            if let (Some(k), Some(field)) = (&self.key, &route.key_field) {
                let mut fields = k.fields().to_vec();
                fields.push(Field::new(field.as_str(), string().arc()));
                let mut out = Schema::new(SchemaType::Struct(fields)).named(format!("{new_topic}.Key"));
                out.version = k.version;
                self.out_key = Some(out.arc());
                self.route_key = Some(std::mem::replace(&mut self.topic, new_topic));
            } else {
                self.out_key = self.key.as_ref().map(|k| renamed(k, format!("{new_topic}.Key")));
                self.topic = new_topic;
            }
        }
        if let Some(u) = &t.unwrap {
            self.value = u.value_schema(&self.row);
            self.unwrap = Some(u.clone());
        }
        self
    }

    /// The key as written: the table's key, plus the router's field when configured.
    pub fn out_key_value(&self, key: Option<&Value>) -> Option<Value> {
        match (key, &self.route_key) {
            (Some(Value::Struct(fields)), Some(original)) => {
                let mut fields = fields.clone();
                fields.push(Value::str(original.as_str()));
                Some(Value::Struct(fields))
            }
            (k, _) => k.cloned(),
        }
    }

    /// The key struct value of a row (None when the table has no key).
    pub fn key_value(&self, row: &[Value]) -> Option<Value> {
        self.key.as_ref()?;
        Some(Value::Struct(self.key_indexes.iter().map(|&i| row.get(i).cloned().unwrap_or(Value::Null)).collect()))
    }
}

/// Where in the binlog a change came from; becomes the `source` block.
#[derive(Debug, Clone)]
pub struct SourceInfo<'a> {
    pub server_name: &'a str,
    /// Event time in milliseconds since the epoch.
    pub ts_ms: i64,
    pub snapshot: &'a str,
    pub db: &'a str,
    pub table: Option<&'a str>,
    pub server_id: i64,
    pub gtid: Option<&'a str>,
    pub file: &'a str,
    pub pos: i64,
    pub row: i32,
    pub thread: Option<i64>,
    pub query: Option<&'a str>,
}

impl SourceInfo<'_> {
    /// The `source` struct value (field order of `source_schema`).
    pub fn to_value(&self) -> Value {
        Value::Struct(vec![
            Value::str(DEBEZIUM_VERSION),
            Value::str(CONNECTOR),
            Value::str(self.server_name),
            Value::Int(self.ts_ms),
            Value::str(self.snapshot),
            Value::str(self.db),
            Value::Null,
            Value::Int(self.ts_ms.saturating_mul(1_000)),
            Value::Int(self.ts_ms.saturating_mul(1_000_000)),
            Value::opt_str(self.table),
            Value::Int(self.server_id),
            Value::opt_str(self.gtid),
            Value::str(self.file),
            Value::Int(self.pos),
            Value::Int(self.row as i64),
            self.thread.map(Value::Int).unwrap_or(Value::Null),
            Value::opt_str(self.query),
        ])
    }
}

/// Change operation codes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op {
    Read,
    Create,
    Update,
    Delete,
    Truncate,
}

impl Op {
    pub fn code(self) -> &'static str {
        match self {
            Op::Read => "r",
            Op::Create => "c",
            Op::Update => "u",
            Op::Delete => "d",
            Op::Truncate => "t",
        }
    }
}

/// Processing time for the envelope's `ts_ms`/`ts_us`/`ts_ns`.
#[derive(Debug, Clone, Copy)]
pub struct ProcessingTime {
    pub ns: i64,
}

impl ProcessingTime {
    pub fn now() -> ProcessingTime {
        let d = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap_or_default();
        ProcessingTime { ns: d.as_nanos() as i64 }
    }
}

/// The envelope value (field order of `envelope_schema`); `transaction` is the `event.block`
/// struct (`transaction_block`) or null.
pub fn envelope_value(
    before: Option<Value>,
    after: Option<Value>,
    source: Value,
    transaction: Value,
    op: Op,
    now: ProcessingTime,
) -> Value {
    Value::Struct(vec![
        before.unwrap_or(Value::Null),
        after.unwrap_or(Value::Null),
        source,
        transaction,
        Value::str(op.code()),
        Value::Int(now.ns / 1_000_000),
        Value::Int(now.ns / 1_000),
        Value::Int(now.ns),
    ])
}

/// The Connect headers Debezium puts on every data and schema-change record, in order.
pub fn context_headers(logical_name: &str, run_id: &str) -> [(&'static str, String); 4] {
    [
        ("__debezium.context.connectorLogicalName", logical_name.to_string()),
        ("__debezium.context.taskId", "0".to_string()),
        ("__debezium.context.connectorName", CONNECTOR.to_string()),
        ("__debezium.context.runId", run_id.to_string()),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn source_has_debezium_field_order() {
        let s = source_schema();
        let names: Vec<&str> = s.fields().iter().map(|f| f.name.as_str()).collect();
        assert_eq!(
            names,
            [
                "version",
                "connector",
                "name",
                "ts_ms",
                "snapshot",
                "db",
                "sequence",
                "ts_us",
                "ts_ns",
                "table",
                "server_id",
                "gtid",
                "file",
                "pos",
                "row",
                "thread",
                "query"
            ]
        );
    }
}
