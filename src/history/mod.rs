//! history: Debezium's schema history — every DDL the connector applies, with the binlog
//! position it belongs to, so that after a restart the table schemas can be rebuilt *as of the
//! resume position* (events between an old offset and a later `ALTER` decode with the old
//! schema).
//!
//! Storage ([`HistoryStorage`]): `schema.history.internal` =
//! `io.debezium.storage.kafka.history.KafkaSchemaHistory` (a one-partition topic, [`kafka`]) or
//! `io.debezium.storage.file.history.FileSchemaHistory` (a file, [`file`]); the records are
//! Debezium's ([`record`]), so a history written by Debezium is read as-is and ours can be read
//! by Debezium. Without `schema.history.internal.kafka.topic` (or a file) nothing is recorded and
//! schemas are taken from the server at every start, as before this module existed.
//!
//! What is recorded ([`SchemaHistory::record_ddl`], [`SchemaHistory::record_snapshot`]):
//! * every streamed statement that changes a database or table definition (not `TRUNCATE`,
//!   `GRANT`, ...), positioned at the end of its QUERY event — the offset a restart after it
//!   would resume from;
//! * the schema read from the server at start-up (or by a snapshot), in the form of Debezium's
//!   snapshot: `SET character_set_server`, `DROP TABLE IF EXISTS` per captured table, then per
//!   database `DROP DATABASE IF EXISTS`, `CREATE DATABASE`, `USE` and each `SHOW CREATE TABLE`
//!   ([`startup`]);
//! * with `schema.history.internal.store.only.captured.tables.ddl` only statements touching a
//!   captured table (and global `SET`s); with `...store.only.captured.databases.ddl` only
//!   statements of captured databases.
//!
//! Invariant: a record is written (fsynced, or acknowledged by Kafka) before the pipeline emits
//! anything after its statement, so no committed offset is ever past a DDL the history lacks.
//! A statement read again after a restart (its record is after the resume position) is not
//! recorded twice.
//!
//! Failure: storage errors name the property and the topic or file; a record that cannot be
//! read names its line or offset; a DDL of the history that cannot be applied names its position.

pub mod file;
mod json;
pub mod kafka;
pub mod record;
pub mod startup;

use std::path::PathBuf;
use std::sync::Arc;

pub use record::{at_or_before, HistoryRecord};
pub use startup::SchemaEvent;

use crate::config::{ConfigError, SchemaHistoryConfig, SchemaHistoryKind};
use crate::kafka_client::ClientSettings;
use crate::offsets::SourceOffset;
use crate::schema::ddl::{self, Statement};
use crate::schema::{DdlError, SchemaChange};
use crate::sink::topics::KafkaClient;

/// Decides which databases/tables are captured (`(db, table)`; `(db, "")` asks about a database).
pub type Filter = Arc<dyn Fn(&str, &str) -> bool + Send + Sync>;

/// Errors of the schema history.
#[derive(Debug, thiserror::Error)]
pub enum HistoryError {
    #[error("schema history file {path} (schema.history.internal.file.filename): {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("schema history ({property}): {message}")]
    Kafka { property: &'static str, message: String },
    #[error("{location} holds a record that cannot be read ({message}); repair or remove it, or rebuild the history with snapshot.mode=recovery")]
    Corrupt { location: String, message: String },
    #[error("the schema history ({what}) {state}, but connector '{connector}' has a stored offset at {position} in the {offsets}: the table schemas as of that position are unknown. Restore the history, or start once with snapshot.mode=recovery to rebuild it from the server's current table definitions (correct only if no DDL ran on captured tables since that position), then set snapshot.mode back")]
    Missing { what: String, state: &'static str, connector: String, position: String, offsets: String },
    #[error("cannot apply the DDL recorded at {position} in the {what}: {message}")]
    Replay { what: String, position: String, message: String },
    #[error("reading table definitions from the server failed: {0}")]
    Server(String),
}

/// Where the history is kept.
#[derive(Debug, Clone)]
pub enum HistoryStorage {
    /// Not configured: nothing is recorded, schemas come from the server at start.
    None,
    /// `schema.history.internal.file.filename`.
    File(PathBuf),
    /// `schema.history.internal.kafka.topic` on `...kafka.bootstrap.servers`.
    Kafka { client: KafkaClient, topic: String },
}

/// The history settings the pipeline uses.
#[derive(Debug, Clone)]
pub struct HistoryConfig {
    pub storage: HistoryStorage,
    /// `schema.history.internal.skip.unparseable.ddl`.
    pub skip_unparseable_ddl: bool,
    /// `schema.history.internal.store.only.captured.tables.ddl`.
    pub store_only_captured_tables_ddl: bool,
    /// `schema.history.internal.store.only.captured.databases.ddl`.
    pub store_only_captured_databases_ddl: bool,
}

impl HistoryConfig {
    /// From the connector's `schema.history.internal*` properties. The Kafka history without
    /// `...kafka.bootstrap.servers` uses the worker's `bootstrap.servers`; its clients use
    /// `schema.history.internal.producer.*` over `...consumer.*` over the worker's top-level
    /// security settings (`base`).
    pub fn from_connector(
        h: &SchemaHistoryConfig,
        worker_bootstrap: &str,
        base: &ClientSettings,
    ) -> Result<HistoryConfig, ConfigError> {
        let storage = match (h.kind, &h.kafka_topic, &h.file_filename) {
            (SchemaHistoryKind::File, _, Some(path)) => HistoryStorage::File(path.clone()),
            (SchemaHistoryKind::Kafka, Some(topic), _) => {
                let bootstrap_servers =
                    h.kafka_bootstrap_servers.clone().unwrap_or_else(|| worker_bootstrap.to_string());
                let settings = |props: &crate::config::Properties, prefix: &str| {
                    ClientSettings::from_properties(props.iter(), prefix, &bootstrap_servers)
                };
                let settings = settings(&h.kafka_producer, "schema.history.internal.producer.")?
                    .over(&settings(&h.kafka_consumer, "schema.history.internal.consumer.")?)
                    .over(base);
                HistoryStorage::Kafka { client: KafkaClient { bootstrap_servers, settings }, topic: topic.clone() }
            }
            _ => HistoryStorage::None,
        };
        Ok(HistoryConfig {
            storage,
            skip_unparseable_ddl: h.skip_unparseable_ddl,
            store_only_captured_tables_ddl: h.store_only_captured_tables_ddl,
            store_only_captured_databases_ddl: h.store_only_captured_databases_ddl,
        })
    }
}

enum Store {
    None,
    File(file::FileHistory),
    Kafka(Box<kafka::KafkaHistory>),
}

/// What to do with a DDL statement that cannot be applied.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OnDdlError {
    /// Stop: it may change a captured table.
    Fail,
    /// Skip it (`why` is for the log).
    Skip { why: &'static str },
}

/// The schema history of one connector: its store, its recording rules and what start-up left
/// to record.
pub struct SchemaHistory {
    store: Store,
    config: HistoryConfig,
    /// `source.server` of every record (`topic.prefix`).
    server: String,
    tables: Filter,
    databases: Filter,
    /// The start-up schema, recorded at the first position the stream reports.
    pending_startup: Option<(Vec<SchemaEvent>, i64)>,
    /// Records after the resume position: their statements are read again from the binlog.
    ahead: Vec<(SourceOffset, String)>,
}

impl SchemaHistory {
    pub fn new(config: HistoryConfig, server: &str, tables: Filter, databases: Filter) -> SchemaHistory {
        let store = match &config.storage {
            HistoryStorage::None => Store::None,
            HistoryStorage::File(p) => Store::File(file::FileHistory::new(p)),
            HistoryStorage::Kafka { client, topic } => {
                Store::Kafka(Box::new(kafka::KafkaHistory::new(client.clone(), topic.clone())))
            }
        };
        SchemaHistory {
            store,
            config,
            server: server.to_string(),
            tables,
            databases,
            pending_startup: None,
            ahead: Vec::new(),
        }
    }

    /// Whether a store is configured.
    pub fn is_enabled(&self) -> bool {
        !matches!(self.store, Store::None)
    }

    /// The store, for messages.
    pub fn describe(&self) -> String {
        match &self.store {
            Store::None => "no schema history (schema.history.internal.kafka.topic is not set)".into(),
            Store::File(f) => f.describe(),
            Store::Kafka(k) => k.describe(),
        }
    }

    /// Every record of this connector (`source.server` = `topic.prefix`; a shared store may hold
    /// other connectors' records), in order; `None` when the topic or file does not exist.
    pub async fn read(&self) -> Result<Option<Vec<HistoryRecord>>, HistoryError> {
        let all = match &self.store {
            Store::None => return Ok(None),
            Store::File(f) => f.read()?,
            Store::Kafka(k) => k.read().await?,
        };
        Ok(all.map(|records| records.into_iter().filter(|r| r.server == self.server).collect()))
    }

    async fn append(&mut self, records: &[HistoryRecord]) -> Result<(), HistoryError> {
        match &mut self.store {
            Store::None => Ok(()),
            Store::File(f) => f.append(records),
            Store::Kafka(k) => k.append(records).await,
        }
    }

    /// The rule for a statement that cannot be parsed or applied: skipped with
    /// `schema.history.internal.skip.unparseable.ddl` (parse errors) or when it cannot touch a
    /// captured table; otherwise the connector stops.
    pub fn on_ddl_error(&self, e: &DdlError, default_db: &str) -> OnDdlError {
        let unparseable = matches!(e, DdlError::Parse { .. } | DdlError::Tokenize { .. });
        if unparseable && self.config.skip_unparseable_ddl {
            return OnDdlError::Skip { why: "schema.history.internal.skip.unparseable.ddl=true" };
        }
        let touches_captured = match e {
            DdlError::UnknownTable { table, .. } | DdlError::Parse { table, .. } => {
                let (d, t) = split_table_name(table, default_db);
                (self.tables)(&d, &t)
            }
            DdlError::Tokenize { .. } => true,
        };
        if touches_captured {
            OnDdlError::Fail
        } else {
            OnDdlError::Skip { why: "it does not touch a captured table" }
        }
    }

    /// Whether a statement is recorded under the `store.only.captured.*` rules.
    fn keeps(&self, database: &str, ddl: &str, changes: &[SchemaChange]) -> bool {
        let global_set =
            database.is_empty() && ddl.trim_start().get(..4).is_some_and(|s| s.eq_ignore_ascii_case("SET "));
        if global_set {
            return true;
        }
        if self.config.store_only_captured_databases_ddl && !(self.databases)(database, "") {
            return false;
        }
        !self.config.store_only_captured_tables_ddl || changes.iter().any(|c| (self.tables)(&c.id.db, &c.id.table))
    }

    fn record(&self, position: &SourceOffset, database: &str, ddl: &str, changes: &[SchemaChange]) -> HistoryRecord {
        HistoryRecord {
            server: self.server.clone(),
            position: position.clone(),
            ts_ms: now_ms(),
            database_name: Some(database.to_string()),
            schema_name: None,
            ddl: Some(ddl.to_string()),
            table_changes: changes.iter().map(crate::schema::table_changes::history_json).collect(),
        }
    }

    /// Record a streamed statement already applied to the catalog (`changes` are all the table
    /// changes it made) at `position`, the offset after it. Waits until it is stored.
    pub async fn record_ddl(
        &mut self,
        position: SourceOffset,
        database: &str,
        ddl: &str,
        changes: &[SchemaChange],
    ) -> Result<(), HistoryError> {
        if !self.is_enabled() || !changes_schema(database, ddl) || !self.keeps(database, ddl, changes) {
            return Ok(());
        }
        if let Some(i) = self.ahead.iter().position(|(p, d)| same_coordinates(p, &position) && d == ddl) {
            // Recorded before the restart that re-read it.
            self.ahead.remove(i);
            return Ok(());
        }
        let rec = self.record(&position, database, ddl, changes);
        self.append(std::slice::from_ref(&rec)).await
    }

    /// Record a schema snapshot (start-up schema, snapshot, recovery), every statement at
    /// `position`. Waits until all are stored.
    pub async fn record_snapshot(
        &mut self,
        position: &SourceOffset,
        events: &[SchemaEvent],
    ) -> Result<(), HistoryError> {
        let records: Vec<HistoryRecord> = events
            .iter()
            .filter(|e| self.keeps(&e.database, &e.ddl, &e.changes))
            .map(|e| self.record(position, &e.database, &e.ddl, &e.changes))
            .collect();
        self.append(&records).await
    }

    /// The stream reported its first position (`file`, `pos`): record the start-up schema
    /// there, if start-up left it to record.
    pub async fn stream_position(&mut self, file: &str, pos: u64) -> Result<(), HistoryError> {
        let Some((events, ts_sec)) = self.pending_startup.take() else { return Ok(()) };
        let position = snapshot_position(file, pos, ts_sec, None);
        self.record_snapshot(&position, &events).await?;
        tracing::info!(history = %self.describe(), file, pos, statements = events.len(), "recorded the start-up schema in the schema history");
        Ok(())
    }
}

/// A snapshot's history position: `{"ts_sec","file","pos","snapshot":"INITIAL"}`, with MySQL's
/// executed GTID set (`gtids`) when it is known, as Debezium records it.
pub fn snapshot_position(file: &str, pos: u64, ts_sec: i64, gtids: Option<&str>) -> SourceOffset {
    SourceOffset {
        file: file.to_string(),
        pos,
        ts_sec: Some(ts_sec),
        gtids: gtids.map(str::to_string),
        snapshot: Some("INITIAL".into()),
        ..SourceOffset::default()
    }
}

/// The same binlog coordinates (`ts_sec` aside: a binlog copied to another server keeps
/// positions, not times).
fn same_coordinates(a: &SourceOffset, b: &SourceOffset) -> bool {
    (&a.file, a.pos, a.event, a.row, &a.gtids) == (&b.file, b.pos, b.event, b.row, &b.gtids)
}

/// Whether `ddl` changes a database or table definition (what Debezium records), as opposed to
/// `TRUNCATE`, grants, views, ...
fn changes_schema(database: &str, ddl: &str) -> bool {
    ddl::parse(database, ddl)
        .map(|stmts| stmts.iter().any(|s| !matches!(s, Statement::Ignored | Statement::Truncate(_))))
        .unwrap_or(false)
}

/// `db.table` (or `table`, in `default_db`) as named in a DDL error.
pub fn split_table_name(name: &str, default_db: &str) -> (String, String) {
    let clean = |s: &str| s.trim_matches('`').to_string();
    match name.split_once('.') {
        Some((d, t)) => (clean(d), clean(t)),
        None => (default_db.to_string(), clean(name)),
    }
}

pub fn now_ms() -> i64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_millis() as i64)
}
