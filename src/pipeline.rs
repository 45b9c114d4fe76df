//! Wiring of the streaming pipeline: binlog source → schema → decode → envelope → encode →
//! Kafka → offsets. No format logic lives here; each step is a call into its module.
//!
//! Positions: a record's offset is `{file, pos: <start of its transaction>, event: <rows events
//! of the transaction already completed>, row: <rows of the current event emitted>}` — MySQL
//! semantics, kept on MariaDB too because we see its GTID event. On resume we reconnect at
//! `pos`, skip `event` rows events and then `row` rows, so no row is lost or repeated.
//! Offsets are written only after Kafka acknowledged every record up to the one they belong to.
//!
//! Schema: the catalog streaming starts with comes from `history::startup` (the schema history
//! replayed up to a stored offset, or the server's current schema for an explicit start). Each
//! DDL is recorded in the history (and stored) before anything after it is emitted.

use std::collections::{HashMap, VecDeque};
use std::sync::Arc;
use std::time::{Duration, Instant};

use mysql_common::binlog::events::EventData;
use tracing::info;

use crate::config::Converters;
use crate::connect::Value;
use crate::decode;
use crate::encode::converter::Converter;
use crate::encode::registry_client::RegistryError;
use crate::envelope::{self, Op, ProcessingTime, SourceInfo, TableSchemas};
use crate::history::startup::{self, OffsetOrigin, Start};
use crate::history::{HistoryConfig, OnDdlError, SchemaHistory};
use crate::offsets::{OffsetStorage, OffsetStore, SourceOffset};
use crate::record::{self, Change, ChangeRecords, SchemaIds};
use crate::schema::{connect_schema, table_changes, Catalog, TableId};
use crate::sink::kafka::{KafkaSink, OutRecord, Seq, SinkConfig};
use crate::source::binlog::{self, BinlogPosition, BinlogSource, ConnectOptions, SourceEvent};
use crate::source::gtid::GtidSet;
use crate::telemetry::Telemetry;

/// Where streaming starts (`--binlog-pos`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StartPosition {
    /// The stored offset; fail if there is none.
    Resume,
    /// The current end of the binlog.
    Latest,
    /// The oldest binlog file the server still has.
    Earliest,
    /// An explicit file:pos.
    At(BinlogPosition),
    /// After the transactions of a GTID set (MariaDB `0-1-61,...`; MySQL `uuid:1-5,...` is
    /// parsed but not supported yet).
    Gtid(GtidSet),
}

impl std::str::FromStr for StartPosition {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "resume" => Ok(StartPosition::Resume),
            "latest" => Ok(StartPosition::Latest),
            "earliest" => Ok(StartPosition::Earliest),
            other if GtidSet::looks_like(other) => {
                GtidSet::parse(other).map(StartPosition::Gtid).map_err(|e| format!("--binlog-pos {other}: {e}"))
            }
            other => {
                let (file, pos) = other.rsplit_once(':').ok_or_else(|| {
                    format!("--binlog-pos must be resume, latest, earliest, FILE:POS or a GTID set, not '{other}'")
                })?;
                let pos: u64 =
                    pos.parse().map_err(|_| format!("--binlog-pos {other}: '{pos}' is not a binlog position"))?;
                if file.is_empty() {
                    return Err(format!("--binlog-pos {other}: the file name is empty"));
                }
                Ok(StartPosition::At(BinlogPosition { file: file.to_string(), pos }))
            }
        }
    }
}

/// Decides which tables are captured (from the connector's include/exclude lists).
pub type TableFilterFn = Arc<dyn Fn(&str, &str) -> bool + Send + Sync>;

/// Everything the pipeline needs, resolved from the worker and connector configs.
#[derive(Clone)]
pub struct PipelineConfig {
    pub connector_name: String,
    pub prefix: String,
    pub db: ConnectOptions,
    pub server_id: u32,
    pub table_filter: TableFilterFn,
    pub db_filter: TableFilterFn,
    pub include_schema_changes: bool,
    pub tombstones_on_delete: bool,
    /// Key and value converters (JsonConverter or AvroConverter + registry).
    pub converters: Converters,
    pub sink: SinkConfig,
    /// The offsets file or topic.
    pub offsets: OffsetStorage,
    pub offset_flush_interval: Duration,
    /// `schema.history.internal*`.
    pub history: HistoryConfig,
    /// `snapshot.mode` (only `recovery` and `when_needed` act here).
    pub snapshot_mode: crate::config::SnapshotMode,
    pub heartbeat_ms: u64,
    /// Metrics and progress lines.
    pub telemetry: Arc<Telemetry>,
}

/// Errors that stop the pipeline.
#[derive(Debug, thiserror::Error)]
pub enum PipelineError {
    #[error(transparent)]
    Source(#[from] binlog::SourceError),
    #[error(transparent)]
    Sink(#[from] crate::sink::kafka::SinkError),
    #[error(transparent)]
    Offsets(#[from] crate::offsets::OffsetError),
    #[error(transparent)]
    History(#[from] crate::history::HistoryError),
    #[error("no stored offset for connector '{name}' (server '{prefix}') in the {store}: start with --binlog-pos latest, earliest, FILE:POS or a GTID set first")]
    NoOffset { name: String, prefix: String, store: String },
    #[error("--binlog-pos {gtids}: {why}")]
    GtidStart { gtids: String, why: &'static str },
    #[error(
        "snapshot.mode=when_needed would take a new snapshot now, but this build cannot take snapshots yet: {detail}"
    )]
    SnapshotNeeded { detail: String },
    #[error("cannot apply DDL at {file}:{pos} (database '{db}'): {message}")]
    Ddl { file: String, pos: u64, db: String, message: String },
    #[error("cannot decode row of table {table} at {file}:{pos}: {message}")]
    Decode { table: String, file: String, pos: u64, message: String },
    #[error("table {table} at {file}:{pos} is not known to the connector's schema (it was captured but its CREATE TABLE was never seen)")]
    UnknownTable { table: String, file: String, pos: u64 },
    #[error("loading table schemas from the server failed: {0}")]
    LoadSchema(String),
    #[error("cannot register the Avro schemas of {table} (first change at {file}:{pos}); nothing of it was produced: {source}")]
    Registry {
        table: String,
        file: String,
        pos: u64,
        #[source]
        source: Box<RegistryError>,
    },
    #[error("invalid schema registry settings: {0}")]
    RegistryConfig(#[source] Box<RegistryError>),
    #[error("cannot encode a change of {table} at {file}:{pos}: {message}")]
    Encode { table: String, file: String, pos: u64, message: String },
}

/// Pending offset: becomes committable once record `seq` is acknowledged.
/// Kept per record until Kafka acknowledges it; turned into a `SourceOffset` only when
/// flushed, so the hot path copies a few integers and one `Arc`.
struct PendingOffset {
    seq: Seq,
    file: Arc<str>,
    pos: u64,
    event: u64,
    row: u64,
    server_id: i64,
    ts: u32,
}

impl PendingOffset {
    fn to_offset(&self) -> SourceOffset {
        SourceOffset {
            file: self.file.to_string(),
            pos: self.pos,
            row: (self.row > 0).then_some(self.row),
            event: (self.event > 0).then_some(self.event),
            server_id: Some(self.server_id as u64),
            ts_sec: Some(i64::from(self.ts)),
            ..SourceOffset::default()
        }
    }
}

struct Streamer {
    cfg: PipelineConfig,
    catalog: Catalog,
    /// Schemas of the captured tables seen so far, with their registry ids.
    schemas: HashMap<TableId, (Arc<TableSchemas>, SchemaIds)>,
    source_schema: Arc<crate::connect::Schema>,
    schema_change_key_schema: Arc<crate::connect::Schema>,
    schema_change_value_schema: Arc<crate::connect::Schema>,
    sink: KafkaSink,
    /// Schema-change records (key and value).
    key_enc: Converter,
    value_enc: Converter,
    /// Data records of row changes.
    records: ChangeRecords,
    store: OffsetStore,
    history: SchemaHistory,
    pending: VecDeque<PendingOffset>,
    last_flush: Instant,
    // position state
    file: Arc<str>,
    tx_pos: u64,
    tx_events: u64,
    /// Inside a BEGIN/GTID … COMMIT/XID transaction.
    in_tx: bool,
    gtid: Option<String>,
    /// Id of the server that wrote the current event (`source.server_id`).
    server_id: i64,
    skip_events: u64,
    skip_rows: u64,
    /// Until the first transaction-level event after start has been seen.
    checking_start: bool,
    // scratch buffers reused across records
    key_buf: Vec<u8>,
    value_buf: Vec<u8>,
    scratch: Vec<Value>,
}

/// Run the streaming pipeline until the stream ends or `shutdown` resolves.
pub async fn run(
    cfg: PipelineConfig,
    start: StartPosition,
    shutdown: impl std::future::Future<Output = ()>,
) -> Result<(), PipelineError> {
    // Schema-change records and row changes each get their own key and value converters (JSON
    // encoders keep per-schema caches); Avro converters with equal settings share one registry client.
    let mut registries = Vec::new();
    let mut converter = |is_key| {
        let kind = if is_key { &cfg.converters.key } else { &cfg.converters.value };
        Converter::new(kind, is_key, &mut registries).map_err(|e| PipelineError::RegistryConfig(Box::new(e)))
    };
    let (key_enc, value_enc) = (converter(true)?, converter(false)?);
    let (data_key_enc, data_value_enc) = (converter(true)?, converter(false)?);
    let mut conn = binlog::connect(&cfg.db).await?;
    let info = binlog::check_server(&mut conn, &cfg.db).await?;
    cfg.telemetry.connected(&info.version, info.is_mariadb);
    let store = OffsetStore::open(&cfg.offsets).await?;
    let stored = match &start {
        StartPosition::Resume => {
            Some(store.get(&cfg.connector_name, &cfg.prefix)?.ok_or_else(|| PipelineError::NoOffset {
                name: cfg.connector_name.clone(),
                prefix: cfg.prefix.clone(),
                store: cfg.offsets.describe(),
            })?)
        }
        _ => None,
    };
    let (begin, skip_events, skip_rows) = match (&start, &stored) {
        (StartPosition::Resume, Some(off)) => {
            (BinlogPosition { file: off.file.clone(), pos: off.pos }, off.event.unwrap_or(0), off.row.unwrap_or(0))
        }
        (StartPosition::Latest, _) => (binlog::current_position(&mut conn, &cfg.db, &info).await?, 0, 0),
        (StartPosition::Gtid(set), _) => (gtid_start(set, &info)?, 0, 0),
        (StartPosition::At(p), _) => (p.clone(), 0, 0),
        _ => (binlog::earliest_position(&mut conn, &cfg.db).await?, 0, 0),
    };
    match &start {
        StartPosition::Resume => check_resume_position(&mut conn, &cfg, &begin).await?,
        StartPosition::At(p) => binlog::check_available(&mut conn, &cfg.db, p, "--binlog-pos").await?,
        _ => {}
    }
    let mut history =
        SchemaHistory::new(cfg.history.clone(), &cfg.prefix, cfg.table_filter.clone(), cfg.db_filter.clone());
    let schema_start = match &stored {
        Some(offset) => Start::Resume { offset, recovery: cfg.snapshot_mode == crate::config::SnapshotMode::Recovery },
        None => Start::Explicit { latest: start == StartPosition::Latest },
    };
    let store_name = cfg.offsets.describe();
    let origin = OffsetOrigin { connector: &cfg.connector_name, store: &store_name };
    let catalog = startup::startup_catalog(&mut conn, &mut history, schema_start, origin).await?;
    info!(position = %begin, skip_events, skip_rows, tables = catalog.tables().count(), "starting binlog stream");
    let heartbeat_ms = cfg.heartbeat_ms.max(1000);
    let mut source = match &start {
        StartPosition::Gtid(set) => {
            BinlogSource::start_at_mariadb_gtid(conn, &cfg.db, cfg.server_id, &set.to_string(), heartbeat_ms).await?
        }
        _ => BinlogSource::start(conn, &cfg.db, cfg.server_id, &begin, heartbeat_ms).await?,
    };
    let sink = KafkaSink::new(cfg.sink.clone())?;
    info!(file = %begin.file, pos = begin.pos, "binlog stream started");
    let run_id = uuid::Uuid::now_v7().to_string();
    let source_schema = envelope::source_schema();
    let mut s = Streamer {
        key_enc,
        value_enc,
        records: ChangeRecords::new(data_key_enc, data_value_enc, &cfg.prefix, &run_id, cfg.tombstones_on_delete),
        schema_change_key_schema: table_changes::schema_change_key_schema(),
        schema_change_value_schema: table_changes::schema_change_value_schema(source_schema.clone()),
        source_schema,
        catalog,
        schemas: HashMap::new(),
        sink,
        store,
        history,
        pending: VecDeque::new(),
        last_flush: Instant::now(),
        file: Arc::from(begin.file.as_str()),
        tx_pos: begin.pos,
        tx_events: 0,
        in_tx: false,
        gtid: None,
        server_id: 0,
        skip_events,
        skip_rows,
        checking_start: skip_events > 0 || skip_rows > 0,
        key_buf: Vec::with_capacity(256),
        value_buf: Vec::with_capacity(4096),
        scratch: Vec::new(),
        cfg,
    };
    tokio::pin!(shutdown);
    let mut tick = tokio::time::interval(Duration::from_millis(100));
    let result = loop {
        tokio::select! {
            biased;
            _ = &mut shutdown => break Ok(()),
            _ = tick.tick() => {
                s.cfg.telemetry.progress(Duration::from_secs(30), &s.file, s.tx_pos);
                if let Err(e) = s.maybe_flush_offsets(false) { break Err(e); }
            }
            ev = source.next(&s.cfg.db.user) => {
                match ev {
                    Err(e) => break Err(e.into()),
                    Ok(None) => break Ok(()),
                    Ok(Some(ev)) => {
                        // Handling can wait a long time (a schema registry that is down is
                        // retried forever); a shutdown interrupts it. Offsets only ever cover
                        // records already sent, so stopping mid-event loses nothing.
                        tokio::select! {
                            biased;
                            _ = &mut shutdown => break Ok(()),
                            r = s.handle(ev, &source) => if let Err(e) = r { break Err(e); },
                        }
                    }
                }
            }
        }
    };
    // Drain: wait for Kafka, then commit what was stored, whatever ended the loop.
    let flushed = s.sink.flush(Duration::from_secs(30)).await;
    let committed = s.maybe_flush_offsets(true);
    let stored = s.store.close().await;
    source.close().await;
    s.cfg.telemetry.disconnected();
    result?;
    flushed?;
    committed?;
    stored?;
    Ok(())
}

/// Where a GTID start begins: MariaDB only (the stream names the file; `""` until then).
fn gtid_start(set: &GtidSet, info: &binlog::ServerInfo) -> Result<BinlogPosition, PipelineError> {
    let why = match set {
        GtidSet::MariaDb(_) if info.is_mariadb => return Ok(BinlogPosition { file: String::new(), pos: 4 }),
        GtidSet::MariaDb(_) => "a MariaDB GTID set, but the server is MySQL",
        GtidSet::MySql(_) => {
            "starting from a MySQL GTID set is not supported yet; use FILE:POS (SHOW BINARY LOG STATUS)"
        }
    };
    Err(PipelineError::GtidStart { gtids: set.to_string(), why })
}

/// The stored offset's binlog file must still be on the server (`SourceError::PositionPurged`
/// otherwise, saying what to do).
async fn check_resume_position(
    conn: &mut mysql_async::Conn,
    cfg: &PipelineConfig,
    begin: &BinlogPosition,
) -> Result<(), PipelineError> {
    let what = format!("the stored offset of connector '{}' ({})", cfg.connector_name, cfg.offsets.describe());
    match binlog::check_available(conn, &cfg.db, begin, &what).await {
        Err(e @ binlog::SourceError::PositionPurged { .. })
            if cfg.snapshot_mode == crate::config::SnapshotMode::WhenNeeded =>
        {
            // HOOK(when_needed): with snapshot.mode=when_needed a purged offset means "take a new
            // snapshot, then stream from its position" instead of stopping. Connect it to the
            // snapshot (branch `snapshot`: `snapshot::mode::decide(mode, stored, available=false)`
            // returns `Decision::Snapshot`), log that a new snapshot is taken because the offset's
            // binlog is gone, and drop this error.
            Err(PipelineError::SnapshotNeeded { detail: e.to_string() })
        }
        r => r.map_err(Into::into),
    }
}

impl Streamer {
    async fn handle(&mut self, ev: SourceEvent, source: &BinlogSource) -> Result<(), PipelineError> {
        if self.checking_start {
            self.check_start(&ev);
        }
        match ev {
            SourceEvent::Rotate { file, pos } => {
                self.history.stream_position(&file, pos).await?;
                if *self.file != *file {
                    self.file = Arc::from(file.as_str());
                    self.tx_pos = pos;
                    self.tx_events = 0;
                }
            }
            SourceEvent::Begin { pos, gtid, standalone } => {
                self.tx_pos = pos;
                self.tx_events = 0;
                self.in_tx = !standalone;
                // Debezium's MySQL connector reports no GTID for MariaDB (it ignores MariaDB's GTID
                // event); `source.gtid` stays null there so output matches it byte for byte.
                self.gtid = gtid.filter(|g| g.contains(':'));
            }
            SourceEvent::Commit { end_pos } => {
                self.cfg.telemetry.transaction_committed();
                self.in_tx = false;
                self.tx_pos = end_pos;
                self.tx_events = 0;
                self.skip_events = 0;
                self.skip_rows = 0;
            }
            SourceEvent::Query { pos, end_pos, ts, server_id, db, sql, .. } => {
                self.server_id = server_id as i64;
                self.handle_ddl(pos, end_pos, ts, &db, &sql).await?;
                // A statement outside a transaction (DDL) is complete once read; one inside a
                // transaction (e.g. SAVEPOINT) leaves the restart position at the transaction start.
                if !self.in_tx {
                    self.tx_pos = end_pos;
                    self.tx_events = 0;
                }
            }
            SourceEvent::Rows { pos, ts, server_id, event, .. } => {
                self.server_id = server_id as i64;
                self.handle_rows(pos, ts, &event, source).await?;
                self.tx_events += 1;
            }
            SourceEvent::TableMap { .. } | SourceEvent::Other { .. } => {}
        }
        Ok(())
    }

    /// Our offsets point at a transaction start, and `event`/`row` count from there. Debezium's
    /// MySQL connector on MariaDB never sees a transaction start and stores the end of the rows
    /// event with the number of its rows already emitted: resuming from such an offset must not
    /// skip rows of the event that follows, so the skip counts are dropped.
    fn check_start(&mut self, ev: &SourceEvent) {
        match ev {
            SourceEvent::Rotate { .. } | SourceEvent::Other { .. } => {}
            SourceEvent::Begin { .. } => self.checking_start = false,
            _ => {
                self.checking_start = false;
                tracing::warn!(
                    file = %self.file,
                    pos = self.tx_pos,
                    skip_events = self.skip_events,
                    skip_rows = self.skip_rows,
                    "the stored offset does not point at a transaction start (a Debezium offset written on MariaDB); \
                     resuming after the event it names"
                );
                self.skip_events = 0;
                self.skip_rows = 0;
            }
        }
    }

    async fn handle_ddl(&mut self, pos: u64, end_pos: u64, ts: u32, db: &str, sql: &str) -> Result<(), PipelineError> {
        let changes = match self.catalog.apply_ddl(db, sql) {
            Ok(c) => c,
            Err(e) => {
                // Never stop on a statement that cannot touch a captured table.
                match self.history.on_ddl_error(&e, db) {
                    OnDdlError::Fail => {
                        return Err(PipelineError::Ddl {
                            file: self.file.to_string(),
                            pos,
                            db: db.to_string(),
                            message: e.to_string(),
                        })
                    }
                    OnDdlError::Skip { why } => {
                        tracing::warn!(file = %self.file, pos, error = %e, "skipping a DDL statement: {why}");
                        return Ok(());
                    }
                }
            }
        };
        for c in &changes {
            self.schemas.remove(&c.id);
            if let Some(prev) = &c.previous_id {
                self.schemas.remove(prev);
            }
        }
        // In the history (stored) before anything after the statement is emitted.
        let history_db = match (db, changes.first()) {
            ("", Some(c)) => c.id.db.clone(),
            _ => db.to_string(),
        };
        let position = SourceOffset {
            file: self.file.to_string(),
            pos: end_pos,
            server_id: Some(self.server_id as u64),
            ts_sec: Some(i64::from(ts)),
            ..SourceOffset::default()
        };
        self.history.record_ddl(position, &history_db, sql, &changes).await?;
        let captured: Vec<_> =
            changes.iter().filter(|c| (self.cfg.table_filter)(&c.id.db, &c.id.table)).cloned().collect();
        if captured.is_empty() || !self.cfg.include_schema_changes {
            return Ok(());
        }
        let first = captured[0].id.clone();
        let database = if db.is_empty() { first.db.clone() } else { db.to_string() };
        let source = SourceInfo {
            server_name: &self.cfg.prefix,
            ts_ms: ts as i64 * 1000,
            snapshot: "false",
            db: &database,
            table: Some(&first.table),
            server_id: self.server_id,
            gtid: self.gtid.as_deref(),
            file: &self.file,
            pos: pos as i64,
            row: 0,
            thread: None,
            query: None,
        }
        .to_value();
        let now = ProcessingTime::now();
        let key_schema = self.schema_change_key_schema.clone();
        let key = Value::Struct(vec![Value::str(database.as_str())]);
        let value_schema = self.schema_change_value_schema.clone();
        let value = Value::Struct(vec![
            source,
            Value::Int(now.ns / 1_000_000),
            Value::str(database.as_str()),
            Value::Null,
            Value::str(sql),
            table_changes::table_changes_value(&captured),
        ]);
        let topic = self.cfg.prefix.clone();
        let registry_err = |source| PipelineError::Registry {
            table: format!("schema change topic {topic}"),
            file: self.file.to_string(),
            pos,
            source: Box::new(source),
        };
        let key_id = self.key_enc.schema_id(&topic, &key_schema).await.map_err(registry_err)?;
        let value_id = self.value_enc.schema_id(&topic, &value_schema).await.map_err(registry_err)?;
        let encode_err = |e: crate::encode::avro::AvroEncodeError| PipelineError::Encode {
            table: format!("schema change of {}", first),
            file: self.file.to_string(),
            pos,
            message: e.to_string(),
        };
        self.key_buf.clear();
        self.key_enc.encode(key_id, &key_schema, &key, &mut self.key_buf).map_err(encode_err)?;
        self.value_buf.clear();
        self.value_enc.encode(value_id, &value_schema, &value, &mut self.value_buf).map_err(encode_err)?;
        self.sink.ensure_topic(&topic, Some(1)).await?;
        let headers: Vec<(&str, &[u8])> = self.records.context().iter().map(|(k, v)| (*k, v.as_bytes())).collect();
        let seq = self
            .sink
            .send(&OutRecord {
                topic: &topic,
                key: Some(&self.key_buf),
                value: Some(&self.value_buf),
                headers: &headers,
                partition: Some(0),
            })
            .await?;
        // A restart resumes after the statement, so it is neither applied nor emitted twice.
        self.tx_pos = end_pos;
        let offset = self.offset_after(seq, ts, 0, 0);
        self.pending.push_back(offset);
        Ok(())
    }

    /// The schemas of a captured table and their registry ids. Built on the table's first change
    /// after start or after a DDL touched it; registering them (Avro) happens here, before any of
    /// the table's records are produced, so a refused schema stops the connector first.
    async fn table_schemas(&mut self, id: &TableId, pos: u64) -> Result<(Arc<TableSchemas>, SchemaIds), PipelineError> {
        if let Some((s, ids)) = self.schemas.get(id) {
            return Ok((s.clone(), *ids));
        }
        let Some(table) = self.catalog.table(id) else {
            return Err(PipelineError::UnknownTable { table: id.to_string(), file: self.file.to_string(), pos });
        };
        let opts = connect_schema::SchemaOptions::default();
        let key = connect_schema::key_schema(&self.cfg.prefix, table, &opts);
        let row = connect_schema::value_schema(&self.cfg.prefix, table, &opts);
        let topic = format!("{}.{}.{}", self.cfg.prefix, id.db, id.table);
        let ts = Arc::new(TableSchemas::new(topic, key, row, table.key_indexes(), &self.source_schema));
        let ids = self.records.schema_ids(&ts).await.map_err(|source| PipelineError::Registry {
            table: id.to_string(),
            file: self.file.to_string(),
            pos,
            source: Box::new(source),
        })?;
        self.schemas.insert(id.clone(), (ts.clone(), ids));
        Ok((ts, ids))
    }

    /// The offset to commit once record `seq` is stored: the transaction start plus the rows
    /// events and rows already emitted.
    fn offset_after(&self, seq: Seq, ts: u32, event: u64, row: u64) -> PendingOffset {
        PendingOffset { seq, file: self.file.clone(), pos: self.tx_pos, event, row, server_id: self.server_id, ts }
    }

    async fn handle_rows(
        &mut self,
        pos: u64,
        ts: u32,
        event: &mysql_common::binlog::events::Event,
        source: &BinlogSource,
    ) -> Result<(), PipelineError> {
        if self.skip_events > 0 {
            self.skip_events -= 1;
            return Ok(());
        }
        let data = event.read_data().map_err(|e| PipelineError::Decode {
            table: "?".into(),
            file: self.file.to_string(),
            pos,
            message: e.to_string(),
        })?;
        let Some(EventData::RowsEvent(rows)) = data else { return Ok(()) };
        let Some(tme) = source.table_map(rows.table_id()) else {
            return Err(PipelineError::Decode {
                table: format!("table_id {}", rows.table_id()),
                file: self.file.to_string(),
                pos,
                message: "rows event without a preceding TABLE_MAP event".into(),
            });
        };
        let id = TableId::new(tme.database_name(), tme.table_name());
        if !(self.cfg.table_filter)(&id.db, &id.table) {
            return Ok(());
        }
        let (schemas, ids) = self.table_schemas(&id, pos).await?;
        use mysql_common::binlog::events::RowsEventData as R;
        let base_op = match &rows {
            R::WriteRowsEvent(_) | R::WriteRowsEventV1(_) => Op::Create,
            R::DeleteRowsEvent(_) | R::DeleteRowsEventV1(_) => Op::Delete,
            _ => Op::Update,
        };
        let skip_rows = std::mem::take(&mut self.skip_rows);
        for (row_idx, item) in rows.rows(tme).enumerate() {
            let (before, after) = item.map_err(|e| PipelineError::Decode {
                table: id.to_string(),
                file: self.file.to_string(),
                pos,
                message: e.to_string(),
            })?;
            if (row_idx as u64) < skip_rows {
                continue;
            }
            let table = self.catalog.table(&id).expect("schemas exist only for known tables");
            let dec_err = |e: decode::DecodeError| PipelineError::Decode {
                table: id.to_string(),
                file: self.file.to_string(),
                pos,
                message: e.to_string(),
            };
            let (before_img, after_img) =
                record::decode_change(table, &schemas, before.as_ref(), after.as_ref(), &mut self.scratch)
                    .map_err(dec_err)?;
            let source_v = SourceInfo {
                server_name: &self.cfg.prefix,
                ts_ms: ts as i64 * 1000,
                snapshot: "false",
                db: &id.db,
                table: Some(&id.table),
                server_id: self.server_id,
                gtid: self.gtid.as_deref(),
                file: &self.file,
                pos: pos as i64,
                row: row_idx as i32,
                thread: None,
                query: None,
            }
            .to_value();
            let (event, row) = (self.tx_events, row_idx as u64 + 1);
            self.cfg.telemetry.event_seen(ts);
            let change = Change { schemas: &schemas, ids, op: base_op, before: before_img, after: after_img };
            if let Some(seq) = self.emit_change(change, source_v, &id, pos).await? {
                let offset = self.offset_after(seq, ts, event, row);
                self.pending.push_back(offset);
            }
        }
        Ok(())
    }

    async fn emit_change(
        &mut self,
        change: Change<'_>,
        source: Value,
        table: &TableId,
        pos: u64,
    ) -> Result<Option<Seq>, PipelineError> {
        let topic = change.schemas.topic.as_str();
        self.sink.ensure_topic(topic, None).await?;
        let n = self.records.encode_change(change, source, ProcessingTime::now()).map_err(|e| {
            PipelineError::Encode { table: table.to_string(), file: self.file.to_string(), pos, message: e.to_string() }
        })?;
        let mut last_seq = 0;
        for i in 0..n {
            let r = self.records.get(i);
            let rec = OutRecord { topic, key: r.key, value: r.value, headers: r.headers.as_slice(), partition: None };
            last_seq = self.sink.send(&rec).await?;
        }
        self.cfg.telemetry.records_produced(n as u64);
        Ok((n > 0).then_some(last_seq))
    }

    /// Commit the newest offset whose records Kafka has acknowledged (every
    /// `offset.flush.interval.ms`, or now when `force`).
    fn maybe_flush_offsets(&mut self, force: bool) -> Result<(), PipelineError> {
        if let Some(e) = self.sink.tracker().take_error() {
            return Err(e.into());
        }
        if !force && self.last_flush.elapsed() < self.cfg.offset_flush_interval {
            return Ok(());
        }
        let acked = self.sink.tracker().acked_upto();
        let mut newest = None;
        while self.pending.front().is_some_and(|p| p.seq < acked) {
            newest = self.pending.pop_front();
        }
        if let Some(p) = newest {
            self.store.commit(&self.cfg.connector_name, &self.cfg.prefix, &p.to_offset())?;
            self.cfg.telemetry.offsets_committed(&p.file, p.pos);
        }
        self.last_flush = Instant::now();
        Ok(())
    }
}
