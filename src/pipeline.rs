//! Wiring of the streaming pipeline: binlog source → schema → decode → envelope → encode →
//! Kafka → offsets. No format logic lives here; each step is a call into its module.
//!
//! Positions: a record's offset is `{file, pos, event, row}` as Debezium writes it — on MySQL
//! `pos` is the transaction's BEGIN and `event` the binlog events since; on MariaDB `pos` is the
//! start of the row's statement so that Debezium, which ignores `event` there, resumes exactly too
//! (`source::restart` has the rules, for writing and for reading a stored offset). On resume we
//! reconnect at `pos`, skip `event` events and then `row` rows, so no row is lost or repeated.
//! Offsets are written only after Kafka acknowledged every record up to the one they belong to.
//!
//! Start: an explicit `--binlog-pos latest|earliest|FILE:POS|<GTID set>` streams from there;
//! otherwise the stored offset and `snapshot.mode` decide (`snapshot::mode`): resume streaming, or
//! take a snapshot (`snapshot`) whose records go through the same encode/produce path, then stream
//! from the snapshot's position. Snapshot records' offsets carry `snapshot: "INITIAL"` until the
//! last one.
//!
//! Schema: the catalog streaming starts with comes from the snapshot (taken under its lock), or
//! from `history::startup` (the schema history replayed up to a stored offset, or the server's
//! current schema for an explicit start). Each DDL and every snapshot's schema is recorded in the
//! history (and stored) before anything after it is emitted.

use std::collections::{HashMap, VecDeque};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use mysql_async::Conn;
use mysql_common::binlog::events::EventData;
use tracing::info;

use crate::config::{Converters, SnapshotMode};
use crate::connect::Value;
use crate::decode;
use crate::encode::converter::Converter;
use crate::encode::registry_client::RegistryError;
use crate::envelope::{self, Op, ProcessingTime, SourceInfo, TableSchemas};
use crate::history::startup::{self, OffsetOrigin, Start};
use crate::history::{HistoryConfig, OnDdlError, SchemaHistory};
use crate::incremental::PositionTarget;
use crate::kafka_client::ProbeError;
use crate::offsets::{OffsetStorage, OffsetStore, SourceOffset};
use crate::record::{self, Change, ChangeRecords, SchemaIds, TxOrder};
use crate::schema::{table_changes, Catalog, TableId};
use crate::sink::kafka::{KafkaSink, OutRecord, Seq, SinkConfig};
use crate::snapshot::{self, Marker, Snapshot, SnapshotItem, SnapshotOptions};
use crate::source::binlog::{self, BinlogPosition, BinlogSource, ConnectOptions, SourceEvent};
use crate::source::gtid::GtidSet;
use crate::source::restart::{self, Restart};
use crate::telemetry::Telemetry;

mod blocking;
pub mod preflight;
mod signals;

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

pub use crate::schema::TableFilterFn;

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
    /// `include.query`: each change's `source.query` is the statement that made it (MariaDB's
    /// annotate event, asked for in the dump; MySQL's ROWS_QUERY event, which the server writes
    /// with `binlog_rows_query_log_events=ON`).
    pub include_query: bool,
    /// Key and value converters (JsonConverter or AvroConverter + registry).
    pub converters: Converters,
    pub sink: SinkConfig,
    /// The offsets file or topic.
    pub offsets: OffsetStorage,
    pub offset_flush_interval: Duration,
    /// `schema.history.internal*`.
    pub history: HistoryConfig,
    pub heartbeat_ms: u64,
    /// `heartbeat.interval.ms`, `topic.heartbeat.prefix`, `heartbeat.action.query`.
    pub heartbeat: HeartbeatConfig,
    /// `provide.transaction.metadata`: the transaction topic (`<topic.prefix>.<topic.transaction>`)
    /// when enabled.
    pub transaction_topic: Option<String>,
    /// `skipped.operations` (Debezium's default skips truncates).
    pub skipped: crate::config::SkippedOperations,
    /// `transforms`: ExtractNewRecordState and ByLogicalTableRouter.
    pub transforms: Arc<crate::transforms::Transforms>,
    /// `snapshot.*`.
    pub snapshot: crate::config::SnapshotConfig,
    /// Column selection, message keys, masking and the handling modes (`decimal.handling.mode`,
    /// `time.precision.mode`, `bigint.unsigned.handling.mode`, `binary.handling.mode`).
    pub columns: crate::columns::ColumnSettings,
    /// `inconsistent.schema.handling.mode`: rows of a captured table whose schema is unknown.
    pub inconsistent_schema: crate::config::FailureHandlingMode,
    /// `gtid.source.includes`/`excludes` (None: every source): a GTID start skips the
    /// transactions of other sources, and their row changes are skipped when
    /// `gtid_filter_dml_events` (`gtid.source.filter.dml.events`).
    pub gtid_sources: Option<Arc<crate::config::IncludeExclude>>,
    /// `event.processing.failure.handling.mode`: a rows event whose bytes do not parse.
    pub event_failure: crate::config::FailureHandlingMode,
    pub gtid_filter_dml_events: bool,
    /// `signal.data.collection` (with the `source` channel enabled): the signal table.
    pub signal_table: Option<TableId>,
    /// `incremental.snapshot.chunk.size`.
    pub incremental_chunk_size: usize,
    /// Metrics and progress lines.
    pub telemetry: Arc<Telemetry>,
    /// Reconnects after a lost connection (`errors.max.retries`,
    /// `retriable.restart.connector.wait.ms`).
    pub retries: RetryPolicy,
}

/// How often and how patiently the pipeline reconnects after a transient failure.
#[derive(Debug, Clone)]
pub struct RetryPolicy {
    /// Consecutive reconnects before giving up (None: no limit).
    pub max: Option<u32>,
    /// The longest wait between two; the back-off starts at one second and doubles.
    pub wait: Duration,
}

impl Default for RetryPolicy {
    /// Debezium's defaults: no limit, at most 10 s apart.
    fn default() -> Self {
        RetryPolicy { max: None, wait: Duration::from_secs(10) }
    }
}

impl RetryPolicy {
    /// The wait before reconnect `attempt` (1-based).
    fn backoff(&self, attempt: u32) -> Duration {
        let exp = attempt.saturating_sub(1).min(16);
        Duration::from_secs(1).saturating_mul(1 << exp).min(self.wait).max(Duration::from_millis(100))
    }
}

/// Heartbeat records (`<topic.heartbeat.prefix>.<topic.prefix>`, key `ServerNameKey`, value
/// `Heartbeat{ts_ms}`), each carrying the current offset, so a connector whose tables are idle
/// still commits its progress through the binlog.
#[derive(Debug, Clone, Default)]
pub struct HeartbeatConfig {
    /// `heartbeat.interval.ms`; None (0) = no heartbeats.
    pub interval: Option<Duration>,
    /// `topic.heartbeat.prefix` (Debezium's default `__debezium-heartbeat`).
    pub topic_prefix: String,
    /// `heartbeat.action.query`: run on its own connection before each heartbeat.
    pub action_query: Option<String>,
}

impl HeartbeatConfig {
    /// From the connector's `heartbeat.*` properties.
    pub fn new(interval_ms: u64, topic_prefix: &str, action_query: Option<String>) -> HeartbeatConfig {
        HeartbeatConfig {
            interval: (interval_ms > 0).then(|| Duration::from_millis(interval_ms)),
            topic_prefix: topic_prefix.to_string(),
            action_query: action_query.filter(|q| !q.trim().is_empty()),
        }
    }
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
    Snapshot(#[from] snapshot::SnapshotError),
    #[error(transparent)]
    History(#[from] crate::history::HistoryError),
    #[error("no stored offset for connector '{name}' (server '{prefix}') in the {store}: start without --binlog-pos to take a snapshot (snapshot.mode), or with --binlog-pos latest, earliest, FILE:POS or a GTID set to stream without one")]
    NoOffset { name: String, prefix: String, store: String },
    #[error("snapshot.mode=recovery rebuilds the schema history at the stored offset, but connector '{name}' (server '{prefix}') has none in the {store}: use snapshot.mode=initial to start from a snapshot")]
    RecoveryWithoutOffset { name: String, prefix: String, store: String },
    #[error("--binlog-pos {gtids}: {why}")]
    GtidStart { gtids: String, why: &'static str },
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
    #[error("heartbeat.action.query failed on MySQL at {addr}: {message}")]
    HeartbeatQuery { addr: String, message: String },
    #[error("incremental snapshot on MySQL at {addr}: {message}")]
    Incremental {
        addr: String,
        message: String,
        /// The connection went away (transient: the pipeline reconnects).
        lost: bool,
    },
    #[error("the stored offset's incremental snapshot cannot be resumed: {0}")]
    IncrementalOffset(String),
}

impl PipelineError {
    /// A failure of a connection (to the database server, or Kafka not storing records in
    /// time), not of the data or the settings: the pipeline starts again from the committed
    /// offset.
    pub fn is_transient(&self) -> bool {
        use crate::sink::kafka::SinkError;
        match self {
            PipelineError::Source(e) => e.is_transient(),
            PipelineError::Sink(SinkError::Delivery { .. } | SinkError::FlushTimeout(_)) => true,
            PipelineError::Incremental { lost, .. } => *lost,
            _ => false,
        }
    }
}

/// Offset key of the MariaDB GTID position (`d-s-n,...`: the last transaction completed per
/// domain). Not Debezium's `gtids`: Debezium's MySQL connector, finding `gtids` in an offset,
/// asks a MariaDB server for MySQL's GTID set, gets none and refuses to resume; under its own key
/// the position is ours to use (a resume whose binlog file is gone goes on by GTID) and invisible
/// to Debezium. A `gtids` in MariaDB's form (Debezium's MariaDB connector writes one) is read too.
pub const MARIADB_GTIDS_KEY: &str = "mariadb_gtids";

/// Offset key of the GTID of the MariaDB transaction an offset is inside of: a restart there
/// resumes at a statement of the transaction, after its GTID event, and still knows its GTID
/// (`source.gtid` of the changes read again, the completed set at its end).
pub const MARIADB_GTID_KEY: &str = "mariadb_gtid";

/// Offset key prefix of a transaction's per-table event count (Debezium's `TransactionContext`).
const TX_ORDER_PREFIX: &str = "transaction_data_collection_order_";

/// Pending offset: becomes committable once record `seq` is acknowledged.
/// Kept per record until Kafka acknowledges it; turned into a `SourceOffset` only when
/// flushed, so the hot path copies a few integers and one `Arc`.
#[derive(Clone)]
struct PendingOffset {
    seq: Seq,
    file: Arc<str>,
    pos: u64,
    event: u64,
    row: u64,
    server_id: i64,
    ts: u32,
    /// `"snapshot"`: `INITIAL` for a snapshot record other than the last one, `INCREMENTAL` for
    /// a row of an incremental snapshot.
    snapshot: Option<&'static str>,
    /// Inside a transaction with transaction metadata on: its id and per-table event counts
    /// (`transaction_id`, `transaction_data_collection_order_<db.table>`).
    tx: Option<Arc<TxOffset>>,
    /// An incremental snapshot in progress: its offset fields.
    inc: Option<Arc<Vec<(String, serde_json::Value)>>>,
    /// The GTIDs of the transactions completed before this record's (`Streamer::gtids_text`).
    gtids: Option<Arc<str>>,
    /// MariaDB, inside a transaction: its GTID (`MARIADB_GTID_KEY`).
    open_gtid: Option<Arc<str>>,
    /// Inside a blocking snapshot: its request (`blocking::BLOCKING_KEY`).
    blocking: Option<Arc<str>>,
}

/// The transaction part of an offset.
#[derive(Debug)]
struct TxOffset {
    id: Arc<str>,
    counts: Vec<(String, u64)>,
}

impl PendingOffset {
    fn to_offset(&self) -> SourceOffset {
        SourceOffset {
            file: self.file.to_string(),
            pos: self.pos,
            row: (self.row > 0).then_some(self.row),
            event: (self.event > 0).then_some(self.event),
            server_id: (self.server_id > 0).then_some(self.server_id as u64),
            ts_sec: Some(i64::from(self.ts)),
            snapshot: self.snapshot.map(str::to_string),
            transaction_id: self.tx.as_ref().map(|t| t.id.to_string()),
            // MySQL's set under Debezium's key; MariaDB's under our own (see `MARIADB_GTIDS_KEY`).
            gtids: self.gtids.as_ref().filter(|g| g.contains(':')).map(|g| g.to_string()),
            extra: self
                .tx
                .iter()
                .flat_map(|t| {
                    t.counts.iter().map(|(k, n)| (format!("{TX_ORDER_PREFIX}{k}"), serde_json::Value::from(*n)))
                })
                .chain(self.inc.iter().flat_map(|e| e.iter().cloned()))
                .chain(
                    self.gtids
                        .as_ref()
                        .filter(|g| !g.contains(':'))
                        .map(|g| (MARIADB_GTIDS_KEY.to_string(), serde_json::Value::from(g.as_ref()))),
                )
                .chain(
                    self.open_gtid
                        .as_ref()
                        .map(|g| (MARIADB_GTID_KEY.to_string(), serde_json::Value::from(g.as_ref()))),
                )
                .chain(
                    self.blocking
                        .as_ref()
                        .map(|r| (blocking::BLOCKING_KEY.to_string(), serde_json::Value::from(r.as_ref()))),
                )
                .collect(),
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
    /// The offset committed last (`complete_gtid` may amend it).
    committed: Option<PendingOffset>,
    last_flush: Instant,
    // position state
    file: Arc<str>,
    /// Restart point in `file` (offsets) and what a stored offset still skips.
    restart: Restart,
    /// The current transaction's GTID (`source.gtid`; MariaDB's `0-1-61` as well).
    gtid: Option<String>,
    /// The session that wrote the current transaction (`source.thread`: MySQL's `BEGIN` carries
    /// it; MariaDB's binlog has no thread id for row changes).
    thread: Option<u32>,
    /// The statement of the rows events being read (`include.query`), until the next statement or
    /// the transaction's end.
    query: Option<String>,
    /// The GTIDs of the completed transactions, when known in full (from the stored offset, a
    /// GTID start, the snapshot, or MariaDB's `BINLOG_GTID_POS` at the start position); its text
    /// is shared by every offset until the next transaction completes.
    gtids: Option<GtidSet>,
    gtids_text: Option<Arc<str>>,
    /// The GTID of the transaction being read, until it completes (its COMMIT/XID, or its one
    /// statement when `!open_multi`).
    open_gtid: Option<String>,
    open_multi: bool,
    /// `open_gtid` for offsets, while a MariaDB transaction is open.
    open_gtid_offset: Option<Arc<str>>,
    /// The current transaction comes from a GTID source `gtid.source.*` leaves out: its row
    /// changes are skipped.
    gtid_excluded: bool,
    /// Id of the server that wrote the current event (`source.server_id`).
    server_id: i64,
    // scratch buffers reused across records
    key_buf: Vec<u8>,
    value_buf: Vec<u8>,
    scratch: Vec<Value>,
    /// Columns of the row being decoded whose values did not convert (`decode_row_image_lenient`).
    nulled: Vec<(usize, decode::ValueError)>,
    heartbeat: Heartbeat,
    tx: TxMeta,
    /// Signals and incremental snapshots (`signal.data.collection` set).
    incremental: Option<signals::Incremental>,
    /// Blocking snapshots asked for, taken in turn once the current transaction ends.
    blocking: VecDeque<crate::incremental::BlockingRequest>,
    /// Position of the event that ended the last transaction (`source.pos` of a blocking
    /// snapshot's records).
    commit_pos: u64,
    /// The server (blocking snapshots need it as the initial one does).
    server: binlog::ServerInfo,
    /// Index of the last row change read in its rows event (`source.row` of the records that
    /// follow without a row of their own: statements, a blocking snapshot's records).
    last_row: i32,
    mariadb: bool,
}

/// Transaction metadata (`provide.transaction.metadata`): BEGIN/END records on the transaction
/// topic and each change's `transaction` block, as Debezium's `TransactionMonitor` makes them.
/// A transaction starts at MySQL's `BEGIN` query (id: the GTID of the GTID event before it, else
/// `file=<f>,pos=<p>` of the BEGIN) or at MariaDB's GTID event (id: the MariaDB GTID, which
/// Debezium's MySQL connector does not read), and ends at its XID/COMMIT.
struct TxMeta {
    key_schema: Arc<crate::connect::Schema>,
    value_schema: Arc<crate::connect::Schema>,
    current: Option<TxState>,
    /// The transaction a stored offset was inside of (its counts are restored into `current`
    /// at start): when its start is read again (MySQL resumes at its BEGIN) no second BEGIN
    /// record is emitted; MariaDB resumes at a statement inside it and never sees its start.
    resume: Option<Arc<str>>,
}

struct TxState {
    id: Arc<str>,
    total: u64,
    /// `db.table` → events, in first-event order.
    per_table: Vec<(String, u64)>,
}

impl TxState {
    /// The count slot of `db.table` (added on its first event).
    fn table_slot(&mut self, db: &str, table: &str) -> usize {
        let is = |k: &str| {
            k.len() == db.len() + 1 + table.len()
                && k.starts_with(db)
                && k.ends_with(table)
                && k.as_bytes()[db.len()] == b'.'
        };
        match self.per_table.iter().position(|(k, _)| is(k)) {
            Some(i) => i,
            None => {
                self.per_table.push((format!("{db}.{table}"), 0));
                self.per_table.len() - 1
            }
        }
    }

    fn offset(&self) -> Arc<TxOffset> {
        Arc::new(TxOffset { id: self.id.clone(), counts: self.per_table.clone() })
    }
}

/// Heartbeat state: schemas, topic, when the last one went out, and the connection of
/// `heartbeat.action.query` (opened on first use).
struct Heartbeat {
    topic: String,
    key_schema: Arc<crate::connect::Schema>,
    value_schema: Arc<crate::connect::Schema>,
    last: Instant,
    conn: Option<Conn>,
    /// Timestamp (binlog `ts`, seconds) of the newest event seen: the offset's `ts_sec`.
    event_ts: u32,
}

/// A record that is not a row change, before encoding (`Streamer::emit_keyed`).
struct Keyed<'a> {
    topic: &'a str,
    key_schema: Arc<crate::connect::Schema>,
    key: Value,
    value_schema: Arc<crate::connect::Schema>,
    value: Value,
    /// Schema-change records carry the `__debezium.context.*` headers and go to partition 0.
    context_headers: bool,
}

/// How streaming starts.
enum Plan {
    /// Stream from `begin` (or after the transactions of `gtid`); `skip_events` and `skip_rows` are
    /// the stored offset's `event` and `row` (read by `source::restart`).
    Stream {
        begin: BinlogPosition,
        skip_events: u64,
        skip_rows: u64,
        gtid: Option<GtidSet>,
        schema: SchemaStart,
    },
    Snapshot {
        data: bool,
        stream_after: bool,
    },
    Stop,
}

/// Where streaming's first catalog comes from (`history::startup::Start`, owned).
enum SchemaStart {
    Resume { offset: Box<SourceOffset>, recovery: bool },
    Explicit { latest: bool },
}

/// Run the pipeline (snapshot if needed, then streaming) until `shutdown` resolves or it fails.
/// `start` is `--binlog-pos` (None: the stored offset, else `snapshot.mode`).
///
/// Once it has streamed, a transient failure (the connection to the server lost, broken,
/// silent for `connect.keep.alive.interval.ms`, or a server that ended the stream) does not stop
/// it: what Kafka acknowledged is committed, and after a back-off (one second, doubling up to
/// `retriable.restart.connector.wait.ms`) it starts again from the committed offset — the way
/// Kafka Connect restarts a Debezium task after a retriable error, without the restart. Up to
/// `errors.max.retries` consecutive attempts (-1: no limit); `connect.keep.alive=false` turns
/// this off. A failure before the first stream started (a wrong host, a refused login) stops
/// at once.
pub async fn run(
    cfg: PipelineConfig,
    start: Option<StartPosition>,
    shutdown: impl std::future::Future<Output = ()>,
) -> Result<(), PipelineError> {
    use futures_util::FutureExt;
    probe_kafka(&cfg).await?;
    let shutdown = shutdown.shared();
    let mut start = start;
    let mut ever_streamed = false;
    let mut attempt: u32 = 0;
    loop {
        let streamed = AtomicBool::new(false);
        let err = match run_once(cfg.clone(), start.clone(), shutdown.clone(), &streamed).await {
            Ok(()) => return Ok(()),
            Err(e) => e,
        };
        if streamed.load(Ordering::Relaxed) {
            ever_streamed = true;
            attempt = 0;
        }
        if !(ever_streamed && err.is_transient() && cfg.db.keep_alive_ms.is_some()) {
            return Err(err);
        }
        attempt += 1;
        if cfg.retries.max.is_some_and(|max| attempt > max) {
            tracing::error!(error = %err, attempts = attempt - 1, "giving up after errors.max.retries reconnects");
            return Err(err);
        }
        let wait = cfg.retries.backoff(attempt);
        cfg.telemetry.reconnecting();
        tracing::warn!(attempt, "{err}; reconnecting in {wait:?}");
        tokio::select! {
            _ = shutdown.clone() => return Ok(()),
            _ = tokio::time::sleep(wait) => {}
        }
        start = restart_position(&cfg, start).await;
    }
}

/// Brokers that refuse the producer's login or TLS handshake stop the start with librdkafka's
/// reason (otherwise every Kafka request would just time out); unreachable ones are only
/// reported, the run goes on as before (librdkafka keeps trying).
async fn probe_kafka(cfg: &PipelineConfig) -> Result<(), PipelineError> {
    let (client, bootstrap) = (cfg.sink.client.clone(), cfg.sink.bootstrap_servers.clone());
    let probed = tokio::task::spawn_blocking(move || client.probe(&bootstrap, Duration::from_secs(10))).await;
    match probed {
        Ok(Err(e @ ProbeError::Refused(_))) => Err(crate::sink::kafka::SinkError::Config(e.to_string()).into()),
        Ok(Err(e)) => {
            tracing::warn!(bootstrap = %cfg.sink.bootstrap_servers, "{e}");
            Ok(())
        }
        _ => Ok(()),
    }
}

/// Where a reconnect starts: an explicit `--binlog-pos` holds until an offset was committed;
/// from then on, the committed offset.
async fn restart_position(cfg: &PipelineConfig, start: Option<StartPosition>) -> Option<StartPosition> {
    match start {
        None | Some(StartPosition::Resume) => start,
        explicit => match OffsetStore::open(&cfg.offsets).await.map(|s| s.get(&cfg.connector_name, &cfg.prefix)) {
            Ok(Ok(Some(_))) => Some(StartPosition::Resume),
            _ => explicit,
        },
    }
}

/// One run of the pipeline: connect, snapshot or resume, stream until `shutdown` or an error.
/// `streamed` is set once the binlog stream started.
async fn run_once(
    cfg: PipelineConfig,
    start: Option<StartPosition>,
    shutdown: impl std::future::Future<Output = ()>,
    streamed: &AtomicBool,
) -> Result<(), PipelineError> {
    snapshot::mode::validate(&cfg.snapshot)?;
    // Schema-change records and row changes each get their own key and value converters (JSON
    // encoders keep per-schema caches); Avro converters with equal settings share one registry client.
    let mut registries = Vec::new();
    let mut converter = |is_key| {
        let kind = if is_key { &cfg.converters.key } else { &cfg.converters.value };
        Converter::new(kind, is_key, &mut registries).map_err(|e| PipelineError::RegistryConfig(Box::new(e)))
    };
    let encoders = [converter(true)?, converter(false)?, converter(true)?, converter(false)?];
    let mut conn = binlog::connect(&cfg.db).await?;
    let info = binlog::check_server(&mut conn, &cfg.db).await?;
    cfg.telemetry.connected(&info.version, info.is_mariadb);
    let mut cfg = cfg;
    cfg.db.annotate_rows = cfg.include_query && info.is_mariadb;
    let store = OffsetStore::open(&cfg.offsets).await?;
    let plan = start_plan(&mut conn, &cfg, &info, &store, start.as_ref()).await?;
    let history = SchemaHistory::new(cfg.history.clone(), &cfg.prefix, cfg.table_filter.clone(), cfg.db_filter.clone());
    let sink = KafkaSink::new(cfg.sink.clone())?;
    let mut s = Streamer::new(cfg, sink, store, history, encoders, &info);
    tokio::pin!(shutdown);
    let (begin, skip_events, skip_rows, gtid) = match plan {
        Plan::Stop => {
            info!("snapshot.mode=initial_only and the snapshot is complete: nothing to do");
            return s.drain().await;
        }
        Plan::Stream { begin, skip_events, skip_rows, gtid, schema } => {
            let store_name = s.cfg.offsets.describe();
            let origin = OffsetOrigin { connector: &s.cfg.connector_name, store: &store_name };
            let start = match &schema {
                SchemaStart::Resume { offset, recovery } => Start::Resume { offset, recovery: *recovery },
                SchemaStart::Explicit { latest } => Start::Explicit { latest: *latest },
            };
            s.catalog = startup::startup_catalog(&mut conn, &mut s.history, start, origin).await?;
            if let (SchemaStart::Resume { offset, .. }, Some(inc)) = (&schema, s.incremental.as_mut()) {
                inc.resume(&offset.extra).map_err(PipelineError::IncrementalOffset)?;
            }
            if let SchemaStart::Resume { offset, .. } = &schema {
                s.resume_blocking(offset);
                s.set_gtids(stored_gtids(offset, info.is_mariadb));
                // Inside a MariaDB transaction: its GTID event is not read again.
                let open = offset.extra.iter().find(|(k, _)| k == MARIADB_GTID_KEY).and_then(|(_, v)| v.as_str());
                if let (Some(g), None) = (open, &gtid) {
                    s.gtid = Some(g.to_string());
                    s.open_gtid = Some(g.to_string());
                    s.open_multi = true;
                    s.open_gtid_offset = Some(Arc::from(g));
                    s.gtid_excluded = s.cfg.gtid_filter_dml_events
                        && s.cfg.gtid_sources.as_ref().is_some_and(|f| !f.allows(GtidSet::source_of(g)));
                }
            }
            if let (SchemaStart::Resume { offset, .. }, Some(_)) = (&schema, &s.cfg.transaction_topic) {
                if let Some(id) = offset.transaction_id.as_deref() {
                    let id: Arc<str> = Arc::from(id);
                    let per_table: Vec<(String, u64)> = offset
                        .extra
                        .iter()
                        .filter_map(|(k, v)| Some((k.strip_prefix(TX_ORDER_PREFIX)?.to_string(), v.as_u64()?)))
                        .collect();
                    let total = per_table.iter().map(|(_, n)| n).sum();
                    s.tx.current = Some(TxState { id: id.clone(), total, per_table });
                    s.tx.resume = Some(id);
                }
            }
            (begin, skip_events, skip_rows, gtid)
        }
        Plan::Snapshot { data, stream_after } => {
            let opts = SnapshotOptions {
                db: s.cfg.db.clone(),
                server: info.clone(),
                config: s.cfg.snapshot.clone(),
                table_filter: s.cfg.table_filter.clone(),
                db_filter: s.cfg.db_filter.clone(),
                data,
                telemetry: s.cfg.telemetry.clone(),
                scope: snapshot::Scope::Initial,
            };
            let pos = match s.snapshot(&opts, &mut shutdown).await {
                Ok(Some(pos)) if stream_after => pos,
                Ok(other) => {
                    if other.is_some() {
                        info!("snapshot.mode=initial_only: snapshot complete, not streaming");
                    }
                    return s.drain().await;
                }
                Err(e) => {
                    // Keep what was acknowledged: the stored offset still says "snapshot", so the
                    // next start takes the snapshot again.
                    let _ = s.drain().await;
                    return Err(e);
                }
            };
            // The first connection sat idle through the snapshot: stream on a fresh one.
            drop(conn);
            conn = binlog::connect(&s.cfg.db).await?;
            (pos, 0, 0, None)
        }
    };
    if let Some(set) = &gtid {
        // A GTID start: the set is what was completed before it.
        s.set_gtids(Some(set.clone()));
    } else if s.gtids.is_none() && info.is_mariadb && skip_events == 0 && skip_rows == 0 {
        // MariaDB tells the GTID position of any transaction boundary.
        match binlog::gtids_at(&mut conn, &s.cfg.db, info.is_mariadb, &begin, false).await {
            Ok(set) => s.set_gtids(set),
            Err(e) => {
                tracing::warn!(position = %begin, error = %e, "GTID position unknown: offsets carry none until a restart")
            }
        }
    }
    if !s.blocking.is_empty() {
        // The stored offset was written inside a blocking snapshot: take it again first.
        s.start_at(&begin, skip_events, skip_rows);
        drop(conn);
        while let Some(req) = s.due_blocking() {
            match s.blocking_snapshot(None, req, s.cfg.heartbeat_ms.max(1000), &mut shutdown).await {
                Ok(blocking::Outcome::Stream(stream)) => {
                    if let Some(stream) = stream {
                        stream.close().await;
                    }
                }
                Ok(blocking::Outcome::Shutdown) => return s.drain().await,
                Err(e) => {
                    let _ = s.drain().await;
                    return Err(e);
                }
            }
        }
        conn = binlog::connect(&s.cfg.db).await?;
    }
    info!(position = %begin, skip_events, skip_rows, tables = s.catalog.tables().count(), "starting binlog stream");
    let heartbeat_ms = s.cfg.heartbeat_ms.max(1000);
    let mut source = match &gtid {
        Some(GtidSet::MariaDb(_)) => {
            let set = gtid.as_ref().map(ToString::to_string).unwrap_or_default();
            BinlogSource::start_at_mariadb_gtid(conn, &s.cfg.db, s.cfg.server_id, &set, heartbeat_ms).await?
        }
        Some(GtidSet::MySql(set)) => {
            BinlogSource::start_at_mysql_gtid(conn, &s.cfg.db, s.cfg.server_id, set, heartbeat_ms).await?
        }
        None => BinlogSource::start(conn, &s.cfg.db, s.cfg.server_id, &begin, heartbeat_ms).await?,
    };
    info!(file = %begin.file, pos = begin.pos, "binlog stream started");
    streamed.store(true, Ordering::Relaxed);
    s.start_at(&begin, skip_events, skip_rows);
    let mut tick = tokio::time::interval(Duration::from_millis(100));
    let result = loop {
        tokio::select! {
            biased;
            _ = &mut shutdown => break Ok(()),
            _ = tick.tick() => {
                s.cfg.telemetry.progress(Duration::from_secs(30), &s.file, s.restart.pos());
                if let Err(e) = s.maybe_heartbeat().await { break Err(e); }
                if let Err(e) = s.maybe_flush_offsets(false) { break Err(e); }
            }
            ev = source.next(&s.cfg.db.user) => {
                match ev {
                    Err(e) => break Err(e.into()),
                    Ok(None) => break Err(PipelineError::Source(binlog::SourceError::Lost {
                        file: s.file.to_string(),
                        pos: s.restart.pos(),
                        message: format!("the server ended the binlog stream (it shut down, or another replica connected with database.server.id={})", s.cfg.server_id),
                    })),
                    Ok(Some(ev)) => {
                        // Handling can wait a long time (a schema registry that is down is
                        // retried forever); a shutdown interrupts it. Offsets only ever cover
                        // records already sent, so stopping mid-event loses nothing.
                        tokio::select! {
                            biased;
                            _ = &mut shutdown => break Ok(()),
                            r = s.handle(ev, &source) => if let Err(e) = r { break Err(e); },
                        }
                        if let Err(e) = s.maybe_heartbeat().await { break Err(e); }
                        if let Some(target) = s.due_reposition() {
                            match s.reposition(source, target, heartbeat_ms).await {
                                Ok(moved) => source = moved,
                                Err(e) => {
                                    let _ = s.drain().await;
                                    s.cfg.telemetry.disconnected();
                                    return Err(e);
                                }
                            }
                        }
                        if let Some(req) = s.due_blocking() {
                            match s.blocking_snapshot(Some(source), req, heartbeat_ms, &mut shutdown).await {
                                Ok(blocking::Outcome::Stream(Some(resumed))) => source = *resumed,
                                Ok(blocking::Outcome::Stream(None)) => {
                                    let _ = s.drain().await;
                                    s.cfg.telemetry.disconnected();
                                    return Err(PipelineError::Snapshot(snapshot::SnapshotError::Internal(
                                        "the blocking snapshot returned no binlog stream".into(),
                                    )));
                                }
                                Ok(blocking::Outcome::Shutdown) => {
                                    let drained = s.drain().await;
                                    s.cfg.telemetry.disconnected();
                                    return drained;
                                }
                                Err(e) => {
                                    let _ = s.drain().await;
                                    s.cfg.telemetry.disconnected();
                                    return Err(e);
                                }
                            }
                        }
                    }
                }
            }
        }
    };
    // Drain: wait for Kafka, then commit what was stored, whatever ended the loop.
    let drained = s.drain().await;
    source.close().await;
    s.cfg.telemetry.disconnected();
    result?;
    drained
}

/// Where to start: explicit `--binlog-pos`, else the stored offset and `snapshot.mode`.
async fn start_plan(
    conn: &mut Conn,
    cfg: &PipelineConfig,
    info: &binlog::ServerInfo,
    store: &OffsetStore,
    start: Option<&StartPosition>,
) -> Result<Plan, PipelineError> {
    let explicit = |begin, gtid, latest| Plan::Stream {
        begin,
        skip_events: 0,
        skip_rows: 0,
        gtid,
        schema: SchemaStart::Explicit { latest },
    };
    match start {
        Some(StartPosition::Latest) => {
            return Ok(explicit(binlog::current_position(conn, &cfg.db, info).await?, None, true))
        }
        Some(StartPosition::Earliest) => {
            return Ok(explicit(binlog::earliest_position(conn, &cfg.db).await?, None, false))
        }
        Some(StartPosition::At(p)) => {
            binlog::check_available(conn, &cfg.db, p, "--binlog-pos").await?;
            return Ok(explicit(p.clone(), None, false));
        }
        Some(StartPosition::Gtid(set)) => return Ok(explicit(gtid_start(set, info)?, Some(set.clone()), false)),
        Some(StartPosition::Resume) | None => {}
    }
    let stored = store.get(&cfg.connector_name, &cfg.prefix)?;
    let no_offset = |recovery: bool| {
        let (name, prefix, store) = (cfg.connector_name.clone(), cfg.prefix.clone(), cfg.offsets.describe());
        if recovery {
            PipelineError::RecoveryWithoutOffset { name, prefix, store }
        } else {
            PipelineError::NoOffset { name, prefix, store }
        }
    };
    if start.is_some() && stored.is_none() {
        return Err(no_offset(false));
    }
    if cfg.snapshot.mode == SnapshotMode::Recovery {
        // Rebuild the history from the server at the stored offset, then resume streaming there.
        let offset = stored.ok_or_else(|| no_offset(true))?;
        let begin = BinlogPosition { file: offset.file.clone(), pos: offset.pos };
        check_resume_position(conn, cfg, &begin).await?;
        let (skip_events, skip_rows) = (offset.event.unwrap_or(0), offset.row.unwrap_or(0));
        let schema = SchemaStart::Resume { offset: Box::new(offset), recovery: true };
        return Ok(Plan::Stream { begin, skip_events, skip_rows, gtid: None, schema });
    }
    let (available, by_gtid) = match &stored {
        Some(o) if !o.in_snapshot() => {
            let file = binlog::binlog_files(conn, &cfg.db).await?.contains(&o.file);
            // Gone (purged, or another server after a failover): resume after the stored GTIDs.
            let by_gtid = if file { None } else { stored_gtids(o, info.is_mariadb) };
            (file || by_gtid.is_some(), by_gtid)
        }
        _ => (true, None),
    };
    Ok(match snapshot::mode::decide(cfg.snapshot.mode, stored, available) {
        snapshot::mode::Decision::Resume(offset) if by_gtid.is_some() => {
            let mut set = by_gtid.expect("checked");
            if let Some(sources) = &cfg.gtid_sources {
                // Transactions of left-out sources are skipped: start where the server has them.
                let end = binlog::current_position(conn, &cfg.db, info).await?;
                if let Some(server) = binlog::gtids_at(conn, &cfg.db, info.is_mariadb, &end, true).await? {
                    set = set.with_excluded_from(&server, |source| sources.allows(source));
                }
            }
            tracing::warn!(
                file = %offset.file,
                gtids = %set,
                "the stored offset's binlog file is not on the server (purged, or a failover to another server): resuming after its GTIDs (a transaction the offset was inside of and had not finished is read again from its start)"
            );
            let schema = SchemaStart::Resume { offset: Box::new(offset), recovery: false };
            let begin = BinlogPosition { file: String::new(), pos: 4 };
            Plan::Stream { begin, skip_events: 0, skip_rows: 0, gtid: Some(set), schema }
        }
        snapshot::mode::Decision::Resume(offset) => {
            let begin = BinlogPosition { file: offset.file.clone(), pos: offset.pos };
            // A purged file stops here with the error saying what to do.
            check_resume_position(conn, cfg, &begin).await?;
            let (skip_events, skip_rows) = (offset.event.unwrap_or(0), offset.row.unwrap_or(0));
            let schema = SchemaStart::Resume { offset: Box::new(offset), recovery: false };
            Plan::Stream { begin, skip_events, skip_rows, gtid: None, schema }
        }
        snapshot::mode::Decision::StreamFromEarliest => {
            explicit(binlog::earliest_position(conn, &cfg.db).await?, None, false)
        }
        snapshot::mode::Decision::Snapshot { data, stream_after } => Plan::Snapshot { data, stream_after },
        snapshot::mode::Decision::Stop => Plan::Stop,
    })
}

/// The completed-GTID set of a stored offset, when it holds one of the server's kind: MySQL's in
/// `gtids`, MariaDB's in `mariadb_gtids` (or in `gtids`, as Debezium's MariaDB connector keeps it).
fn stored_gtids(offset: &SourceOffset, mariadb: bool) -> Option<GtidSet> {
    let ours = offset.extra.iter().find(|(k, _)| k == MARIADB_GTIDS_KEY).and_then(|(_, v)| v.as_str());
    let text = if mariadb { ours.or(offset.gtids.as_deref()) } else { offset.gtids.as_deref() };
    match GtidSet::parse(text?) {
        Ok(set @ GtidSet::MariaDb(_)) if mariadb => Some(set),
        Ok(set @ GtidSet::MySql(_)) if !mariadb => Some(set),
        _ => None,
    }
}

/// Where a GTID start begins: the stream names the file (`""` until then). The set must be of
/// the server's kind.
fn gtid_start(set: &GtidSet, info: &binlog::ServerInfo) -> Result<BinlogPosition, PipelineError> {
    let why = match set {
        GtidSet::MariaDb(_) if info.is_mariadb => return Ok(BinlogPosition { file: String::new(), pos: 4 }),
        GtidSet::MySql(_) if !info.is_mariadb => return Ok(BinlogPosition { file: String::new(), pos: 4 }),
        GtidSet::MariaDb(_) => "a MariaDB GTID set, but the server is MySQL",
        GtidSet::MySql(_) => "a MySQL GTID set, but the server is MariaDB (its GTIDs look like 0-1-61)",
    };
    Err(PipelineError::GtidStart { gtids: set.to_string(), why })
}

/// The stored offset's binlog file must still be on the server (`SourceError::PositionPurged`
/// otherwise, saying what to do).
async fn check_resume_position(
    conn: &mut Conn,
    cfg: &PipelineConfig,
    begin: &BinlogPosition,
) -> Result<(), PipelineError> {
    let what = format!("the stored offset of connector '{}' ({})", cfg.connector_name, cfg.offsets.describe());
    binlog::check_available(conn, &cfg.db, begin, &what).await.map_err(Into::into)
}

impl Streamer {
    /// `encoders`: key and value converters of schema-change records, then of data records.
    fn new(
        cfg: PipelineConfig,
        sink: KafkaSink,
        store: OffsetStore,
        history: SchemaHistory,
        encoders: [Converter; 4],
        server: &binlog::ServerInfo,
    ) -> Streamer {
        let [key_enc, value_enc, data_key_enc, data_value_enc] = encoders;
        let run_id = uuid::Uuid::now_v7().to_string();
        let source_schema = envelope::source_schema();
        Streamer {
            key_enc,
            value_enc,
            records: {
                let mut r =
                    ChangeRecords::new(data_key_enc, data_value_enc, &cfg.prefix, &run_id, cfg.tombstones_on_delete);
                r.skip_operations(cfg.skipped.create, cfg.skipped.update, cfg.skipped.delete);
                r
            },
            schema_change_key_schema: table_changes::schema_change_key_schema(),
            schema_change_value_schema: table_changes::schema_change_value_schema(source_schema.clone()),
            source_schema,
            catalog: Catalog::default(),
            schemas: HashMap::new(),
            sink,
            store,
            history,
            pending: VecDeque::new(),
            committed: None,
            last_flush: Instant::now(),
            file: Arc::from(""),
            restart: Restart::new(server.is_mariadb),
            gtid: None,
            thread: None,
            query: None,
            gtids: None,
            gtids_text: None,
            open_gtid: None,
            open_multi: false,
            open_gtid_offset: None,
            gtid_excluded: false,
            server_id: 0,
            key_buf: Vec::with_capacity(256),
            value_buf: Vec::with_capacity(4096),
            scratch: Vec::new(),
            nulled: Vec::new(),
            heartbeat: Heartbeat {
                topic: format!("{}.{}", cfg.heartbeat.topic_prefix, cfg.prefix),
                key_schema: envelope::heartbeat_key_schema(),
                value_schema: envelope::heartbeat_value_schema(),
                last: Instant::now(),
                conn: None,
                event_ts: 0,
            },
            tx: TxMeta {
                key_schema: envelope::transaction_key_schema(),
                value_schema: envelope::transaction_value_schema(),
                current: None,
                resume: None,
            },
            incremental: cfg.signal_table.clone().map(|t| signals::Incremental::new(t, cfg.incremental_chunk_size)),
            blocking: VecDeque::new(),
            commit_pos: 0,
            last_row: 0,
            cfg,
            mariadb: server.is_mariadb,
            server: server.clone(),
        }
    }

    /// Streaming starts at `begin`; `event` and `row` of the stored offset say what to skip.
    fn start_at(&mut self, begin: &BinlogPosition, event: u64, row: u64) {
        self.file = Arc::from(begin.file.as_str());
        self.commit_pos = begin.pos;
        self.restart.start(begin.pos, Some(event), Some(row));
    }

    /// The transaction of `open_gtid` is complete: its GTID joins the completed set (offsets
    /// written from now on carry it).
    fn complete_gtid(&mut self) {
        self.gtid_excluded = false;
        self.open_gtid_offset = None;
        let Some(g) = self.open_gtid.take() else { return };
        if let Some(set) = self.gtids.as_mut() {
            if set.add(&g) {
                self.gtids_text = Some(Arc::from(set.to_string()));
            }
        }
        // MariaDB: the offset of the transaction's last record now says, in our own GTID keys
        // only, that the transaction is complete. Debezium's fields still name that record (a
        // resume by file and position is unchanged); a resume by GTID starts after it instead of
        // needing it again. An offset already committed is committed once more, amended.
        let amend = |p: &mut PendingOffset, gtids: &Option<Arc<str>>| {
            let open = p.open_gtid.as_deref() == Some(g.as_str());
            if open {
                p.open_gtid = None;
                p.gtids = gtids.clone();
            }
            open
        };
        if let Some(p) = self.pending.back_mut() {
            amend(p, &self.gtids_text);
        } else if let Some(mut p) = self.committed.clone() {
            if amend(&mut p, &self.gtids_text) {
                self.pending.push_back(p);
            }
        }
    }

    /// The completed-GTID set streaming starts with (None: not known).
    fn set_gtids(&mut self, set: Option<GtidSet>) {
        self.gtids_text = set.as_ref().map(|s| Arc::from(s.to_string()));
        self.gtids = set;
    }

    /// MySQL's completed GTID set (`gtids` of offsets and history positions; MariaDB's goes
    /// under our own offset key only).
    fn mysql_gtids(&self) -> Option<&str> {
        self.gtids_text.as_deref().filter(|g| g.contains(':'))
    }

    /// The target of a `set-binlog-position` signal, once the transaction that carried it ended.
    fn due_reposition(&mut self) -> Option<PositionTarget> {
        if self.restart.in_transaction() {
            return None;
        }
        self.incremental.as_mut()?.reposition.take()
    }

    /// Move the stream to `target` (a `set-binlog-position` signal): what was read so far is
    /// stored in Kafka and its offset (the target, `offset_after`) committed, then the binlog is
    /// read again from the target on a new connection. Debezium 3.6.3 only stores the position
    /// and goes there when the connector is restarted; here the stream moves at once. The table
    /// schemas stay as they are (as in Debezium: no DDL between the two positions is replayed).
    async fn reposition(
        &mut self,
        source: BinlogSource,
        target: PositionTarget,
        heartbeat_ms: u64,
    ) -> Result<BinlogSource, PipelineError> {
        self.sink.flush(Duration::from_secs(30)).await?;
        self.maybe_flush_offsets(true)?;
        source.close().await;
        let mut conn = binlog::connect(&self.cfg.db).await?;
        // The GTID state of the new position (MariaDB tells it for a position; MySQL's is
        // unknown until a restart after a snapshot or a GTID start).
        (self.gtid, self.open_gtid, self.open_gtid_offset, self.gtid_excluded) = (None, None, None, false);
        let (db, server_id) = (&self.cfg.db.clone(), self.cfg.server_id);
        let (begin, moved) = match target {
            PositionTarget::File { file, pos } => {
                let begin = BinlogPosition { file, pos };
                let gtids = if self.mariadb {
                    binlog::gtids_at(&mut conn, db, true, &begin, false).await.unwrap_or(None)
                } else {
                    None
                };
                let moved = BinlogSource::start(conn, db, server_id, &begin, heartbeat_ms).await?;
                self.set_gtids(gtids);
                (begin, moved)
            }
            PositionTarget::Gtid(set) => {
                self.set_gtids(Some(set.clone()));
                let begin = BinlogPosition { file: String::new(), pos: 4 };
                let moved = match &set {
                    GtidSet::MariaDb(_) => {
                        BinlogSource::start_at_mariadb_gtid(conn, db, server_id, &set.to_string(), heartbeat_ms).await?
                    }
                    GtidSet::MySql(m) => {
                        BinlogSource::start_at_mysql_gtid(conn, db, server_id, m, heartbeat_ms).await?
                    }
                };
                (begin, moved)
            }
        };
        info!(position = %begin, "set-binlog-position: streaming from the new position");
        self.start_at(&begin, 0, 0);
        Ok(moved)
    }

    /// Wait for Kafka, then commit what was acknowledged and close the offset store. The last
    /// call on a `Streamer`.
    async fn drain(&mut self) -> Result<(), PipelineError> {
        let flushed = self.sink.flush(Duration::from_secs(30)).await;
        let committed = self.maybe_flush_offsets(true);
        let closed = self.store.close().await;
        flushed?;
        committed?;
        closed?;
        Ok(())
    }

    /// Take a snapshot and produce its records; returns its position, or None when `shutdown`
    /// interrupted it (the stored offset then still says "snapshot").
    async fn snapshot(
        &mut self,
        opts: &SnapshotOptions,
        shutdown: &mut (impl std::future::Future<Output = ()> + Unpin),
    ) -> Result<Option<BinlogPosition>, PipelineError> {
        let (mut snap, catalog) = Snapshot::begin(opts).await?;
        self.catalog = catalog;
        self.schemas.clear();
        let pos = snap
            .position()
            .cloned()
            .ok_or_else(|| snapshot::SnapshotError::Internal("the initial snapshot read no binlog position".into()))?;
        self.start_at(&pos, 0, 0);
        self.set_gtids(snap.gtids().cloned());
        // The snapshot's schema is in the history (stored) before any of its records is emitted.
        let ts_sec = crate::history::now_ms() / 1000;
        let position = crate::history::snapshot_position(&pos.file, pos.pos, ts_sec, self.mysql_gtids());
        self.history.record_snapshot(&position, snap.schema_events()).await?;
        let mut tick = tokio::time::interval(Duration::from_millis(100));
        // The last schema record is held back: without data rows after it (`no_data`, empty
        // tables) it is the snapshot's `last` record, as in Debezium.
        let mut held: Option<snapshot::SchemaEvent> = None;
        loop {
            tokio::select! {
                biased;
                _ = &mut *shutdown => return Ok(None),
                _ = tick.tick() => self.maybe_flush_offsets(false)?,
                item = snap.next() => match item? {
                    None => break,
                    Some(SnapshotItem::Schema(ev)) => {
                        if let Some(prev) = held.replace(ev) {
                            self.emit_snapshot_schema(prev, false).await?;
                        }
                    }
                    Some(SnapshotItem::Row(row)) => {
                        if let Some(prev) = held.take() {
                            self.emit_snapshot_schema(prev, false).await?;
                        }
                        self.emit_snapshot_row(row).await?
                    }
                },
            }
        }
        if let Some(last) = held.take() {
            self.emit_snapshot_schema(last, true).await?;
        }
        // The offset of the last record already has no "snapshot" key; without data records the
        // completion is recorded once the schema records are acknowledged (or right away).
        match self.pending.back() {
            Some(last) if last.snapshot == Some("INITIAL") => {
                let done = self.snapshot_offset(last.seq, false);
                self.pending.push_back(done);
            }
            Some(_) => {}
            None => {
                let done = self.snapshot_offset(0, false).to_offset();
                self.store.commit(&self.cfg.connector_name, &self.cfg.prefix, &done)?;
            }
        }
        info!(position = %pos, "snapshot complete");
        Ok(Some(pos))
    }

    fn snapshot_offset(&self, seq: Seq, snapshot: bool) -> PendingOffset {
        self.offset_now(seq, 0, snapshot.then_some("INITIAL"))
    }

    /// Offset at the restart position between events, `ts_sec` now: a snapshot's records.
    fn offset_now(&self, seq: Seq, server_id: i64, snapshot: Option<&'static str>) -> PendingOffset {
        let ts = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap_or_default().as_secs();
        PendingOffset {
            seq,
            file: self.file.clone(),
            pos: self.restart.pos(),
            event: 0,
            row: 0,
            server_id,
            ts: ts as u32,
            snapshot,
            tx: None,
            inc: None,
            gtids: self.gtids_text.clone(),
            open_gtid: None,
            blocking: None,
        }
    }

    /// `source` of a change read at binlog position `pos` (row `row` of its event): streamed
    /// changes and truncates (`marker` "false"), incremental-snapshot rows ("incremental").
    fn binlog_source(&self, marker: &str, ts_ms: i64, id: &TableId, pos: u64, row: i32) -> Value {
        SourceInfo {
            server_name: &self.cfg.prefix,
            ts_ms,
            snapshot: marker,
            db: &id.db,
            table: Some(&id.table),
            server_id: self.server_id,
            gtid: self.gtid.as_deref(),
            file: &self.file,
            pos: pos as i64,
            row,
            thread: self.thread.map(i64::from),
            query: self.query.as_deref(),
        }
        .to_value()
    }

    fn snapshot_source(&self, ts_ms: i64, marker: &str, db: &str, table: Option<&str>) -> Value {
        SourceInfo {
            server_name: &self.cfg.prefix,
            ts_ms,
            snapshot: marker,
            db,
            table,
            server_id: 0,
            gtid: None,
            file: &self.file,
            pos: self.restart.pos() as i64,
            row: 0,
            thread: None,
            query: None,
        }
        .to_value()
    }

    /// A schema record of the snapshot (`last`: the snapshot's last record, no data rows follow).
    async fn emit_snapshot_schema(&mut self, ev: snapshot::SchemaEvent, last: bool) -> Result<(), PipelineError> {
        if !self.cfg.include_schema_changes {
            return Ok(());
        }
        let now = ProcessingTime::now();
        let marker = if last { "last" } else { "true" };
        let source = self.snapshot_source(now.ns / 1_000_000, marker, &ev.database, ev.table.as_deref());
        let what = match &ev.table {
            Some(t) => format!("{}.{t}", ev.database),
            None => ev.database.clone(),
        };
        let seq =
            self.emit_schema_change(source, &ev.database, &ev.ddl, &ev.changes, &what, self.restart.pos()).await?;
        self.pending.push_back(self.snapshot_offset(seq, !last));
        Ok(())
    }

    async fn emit_snapshot_row(&mut self, row: snapshot::SnapshotRow) -> Result<(), PipelineError> {
        let id = &row.table.id;
        let (schemas, ids) = self.table_schemas(id, self.restart.pos()).await?;
        let source = self.snapshot_source(row.ts_ms, row.marker.as_str(), &id.db, Some(&id.table));
        let (key, values) = schemas.finish_row(row.values).map_err(|(index, reason)| PipelineError::Decode {
            table: id.to_string(),
            file: self.file.to_string(),
            pos: self.restart.pos(),
            message: format!(
                "snapshot value of column `{}`: {reason}",
                row.table.columns.get(index).map(|c| c.name.as_str()).unwrap_or("?")
            ),
        })?;
        let after = (key, Some(values));
        let change = Change { schemas: &schemas, ids, op: Op::Read, before: (None, None), after, tx: None };
        if let Some(seq) = self.emit_change(change, source, id, self.restart.pos()).await? {
            self.pending.push_back(self.snapshot_offset(seq, row.marker != Marker::Last));
        }
        Ok(())
    }

    async fn handle(&mut self, ev: SourceEvent, source: &BinlogSource) -> Result<(), PipelineError> {
        if self.incremental.is_some() {
            self.incremental_kick().await?;
        }
        let kind = restart::Kind::from(&ev);
        let step = self.restart.before(kind);
        match ev {
            SourceEvent::Rotate { file, pos } => {
                self.history.stream_position(&file, pos).await?;
                if *self.file != *file {
                    self.file = Arc::from(file.as_str());
                    self.restart.new_file(pos);
                }
            }
            SourceEvent::Begin { pos, ts, gtid, standalone, thread } => {
                self.query = None;
                // A transaction starts at MySQL's BEGIN query (after its GTID event, if any) or at
                // MariaDB's (non-standalone) GTID event.
                let starts = !standalone && gtid.as_deref().is_none_or(|g| !g.contains(':'));
                match &gtid {
                    Some(g) => {
                        let mariadb = !g.contains(':');
                        // (Debezium's MySQL connector ignores MariaDB's GTID event and reports no
                        // GTID there; we report it, and parity tests compare `source.gtid` with the
                        // server's binlog instead.)
                        self.gtid = Some(g.clone());
                        self.open_gtid = Some(g.clone());
                        // MariaDB: the GTID event starts a transaction that ends at its XID (a
                        // standalone one is one statement); MySQL: a BEGIN follows, or one DDL.
                        self.open_multi = mariadb && !standalone;
                        self.open_gtid_offset = self.open_multi.then(|| Arc::from(g.as_str()));
                        if mariadb {
                            self.thread = None;
                        }
                        self.gtid_excluded = self.cfg.gtid_filter_dml_events
                            && self.cfg.gtid_sources.as_ref().is_some_and(|f| !f.allows(GtidSet::source_of(g)));
                    }
                    None => {
                        self.open_multi = true;
                        self.thread = thread;
                    }
                }
                if starts && self.cfg.transaction_topic.is_some() {
                    let id = match (&gtid, &self.gtid) {
                        (Some(mariadb), _) if !mariadb.contains(':') => mariadb.clone(),
                        (_, Some(mysql)) if mysql.contains(':') => mysql.clone(),
                        _ => format!("file={},pos={pos}", self.file),
                    };
                    self.begin_transaction(id, ts, pos).await?;
                }
            }
            SourceEvent::Commit { pos, end_pos, ts } => {
                self.query = None;
                self.commit_pos = pos;
                self.cfg.telemetry.transaction_committed();
                self.complete_gtid();
                if let Some(tx) = self.tx.current.take() {
                    self.end_transaction(tx, ts, end_pos).await?;
                }
            }
            SourceEvent::Query { pos, end_pos, ts, server_id, db, sql, .. } => {
                self.server_id = server_id as i64;
                self.heartbeat.event_ts = ts;
                self.handle_ddl(pos, end_pos, ts, &db, &sql).await?;
                if !self.open_multi {
                    self.complete_gtid();
                }
            }
            SourceEvent::Rows { pos, ts, server_id, event, .. } => {
                self.server_id = server_id as i64;
                self.heartbeat.event_ts = ts;
                if self.gtid_excluded {
                    tracing::trace!(gtid = ?self.gtid, "row changes of a GTID source left out by gtid.source.*: skipped");
                } else if let restart::Step::Emit { skip_rows } = step {
                    self.handle_rows(pos, ts, &event, source, skip_rows).await?;
                }
            }
            SourceEvent::RowsQuery { sql, .. } => {
                if self.cfg.include_query {
                    self.query = Some(sql);
                }
            }
            SourceEvent::TableMap { .. } | SourceEvent::Other { .. } => {}
        }
        self.restart.after(kind);
        Ok(())
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
        // Debezium's offset at the statement: MySQL's GTIDs are those completed before it.
        let position = SourceOffset {
            file: self.file.to_string(),
            pos: end_pos,
            server_id: Some(self.server_id as u64),
            ts_sec: Some(i64::from(ts)),
            gtids: self.mysql_gtids().map(str::to_string),
            ..SourceOffset::default()
        };
        // Index statements: Debezium shows a unique index that became a table's key as the
        // statement without its leading `CREATE`, and any other index statement on a captured
        // table as a database-level change (no table changes, empty `source.table`).
        let index_tables: Vec<TableId> = match crate::schema::ddl::parse(db, sql) {
            Ok(stmts) => stmts
                .into_iter()
                .filter_map(|s| match s {
                    crate::schema::ddl::Statement::Index { id, .. } => Some(id),
                    _ => None,
                })
                .collect(),
            Err(_) => Vec::new(),
        };
        let ddl_text = match (index_tables.is_empty(), changes.is_empty()) {
            (false, false) => strip_leading_create(sql),
            _ => sql,
        };
        self.history.record_ddl(position, &history_db, ddl_text, &changes).await?;
        if !self.cfg.skipped.truncate {
            self.emit_truncates(pos, end_pos, ts, db, sql).await?;
        }
        let captured: Vec<_> =
            changes.iter().filter(|c| (self.cfg.table_filter)(&c.id.db, &c.id.table)).cloned().collect();
        let captured_index = index_tables.iter().find(|id| (self.cfg.table_filter)(&id.db, &id.table));
        if (captured.is_empty() && captured_index.is_none()) || !self.cfg.include_schema_changes {
            return Ok(());
        }
        let (first_db, first_table) = match (captured.first(), captured_index) {
            (Some(c), _) => (c.id.db.clone(), c.id.table.clone()),
            (None, Some(id)) => (id.db.clone(), String::new()),
            (None, None) => return Ok(()),
        };
        let first = TableId::new(first_db.clone(), first_table.clone());
        let database = if db.is_empty() { first_db } else { db.to_string() };
        let source = SourceInfo {
            server_name: &self.cfg.prefix,
            ts_ms: ts as i64 * 1000,
            snapshot: "false",
            db: &database,
            table: Some(&first_table),
            server_id: self.server_id,
            gtid: self.gtid.as_deref(),
            file: &self.file,
            pos: pos as i64,
            // Debezium's `source.row` of a statement is the row number its source info was
            // left with: that of the last row change read (oracle run `blocksnap`).
            row: self.last_row,
            thread: None,
            query: None,
        }
        .to_value();
        let what = format!("schema change of {first}");
        let seq = self.emit_schema_change(source, &database, ddl_text, &captured, &what, pos).await?;
        // A restart resumes after the statement, so it is neither applied nor emitted twice.
        self.restart.statement_done(end_pos);
        let offset = self.offset_after(seq, ts, 0, 0);
        self.pending.push_back(offset);
        Ok(())
    }

    /// `TRUNCATE TABLE` of captured tables (when `skipped.operations` lets truncates through):
    /// one record each on the table's topic, op `t`, no key, no before/after image.
    async fn emit_truncates(
        &mut self,
        pos: u64,
        end_pos: u64,
        ts: u32,
        db: &str,
        sql: &str,
    ) -> Result<(), PipelineError> {
        let Ok(statements) = crate::schema::ddl::parse(db, sql) else { return Ok(()) };
        for st in statements {
            let crate::schema::ddl::Statement::Truncate(id) = st else { continue };
            if !(self.cfg.table_filter)(&id.db, &id.table) || self.catalog.table(&id).is_none() {
                continue;
            }
            let (schemas, ids) = self.table_schemas(&id, pos).await?;
            // `source.row` as Debezium leaves it: the last row change's (see `last_row`).
            let source = self.binlog_source("false", ts as i64 * 1000, &id, pos, self.last_row);
            let change = Change {
                schemas: &schemas,
                ids,
                op: Op::Truncate,
                before: (None, None),
                after: (None, None),
                tx: None,
            };
            if let Some(seq) = self.emit_change(change, source, &id, pos).await? {
                // A restart resumes after the statement.
                self.restart.statement_done(end_pos);
                let offset = self.offset_after(seq, ts, 0, 0);
                self.pending.push_back(offset);
            }
        }
        Ok(())
    }

    /// Produce one schema-change record on `<topic.prefix>` (partition 0). `what` and `pos` name it
    /// in errors.
    async fn emit_schema_change(
        &mut self,
        source: Value,
        database: &str,
        ddl: &str,
        changes: &[crate::schema::SchemaChange],
        what: &str,
        pos: u64,
    ) -> Result<Seq, PipelineError> {
        let now = ProcessingTime::now();
        let key_schema = self.schema_change_key_schema.clone();
        let key = Value::Struct(vec![Value::str(database)]);
        let value_schema = self.schema_change_value_schema.clone();
        let value = Value::Struct(vec![
            source,
            Value::Int(now.ns / 1_000_000),
            Value::str(database),
            Value::Null,
            Value::str(ddl),
            table_changes::table_changes_value(changes),
        ]);
        let topic = self.cfg.prefix.clone();
        let record = Keyed { topic: &topic, key_schema, key, value_schema, value, context_headers: true };
        self.emit_keyed(record, &format!("schema change topic {topic}"), what, pos).await
    }

    /// Encode (with the schema-change converters) and produce one record that is not a row
    /// change: schema changes (partition 0, context headers) and heartbeats (partition by key,
    /// no headers). `subject_of` and `what` name it in registry and encoding errors.
    async fn emit_keyed(&mut self, r: Keyed<'_>, subject_of: &str, what: &str, pos: u64) -> Result<Seq, PipelineError> {
        let registry_err = |source| PipelineError::Registry {
            table: subject_of.to_string(),
            file: self.file.to_string(),
            pos,
            source: Box::new(source),
        };
        let key_id = self.key_enc.schema_id(r.topic, &r.key_schema).await.map_err(registry_err)?;
        let value_id = self.value_enc.schema_id(r.topic, &r.value_schema).await.map_err(registry_err)?;
        let encode_err = |e: crate::encode::avro::AvroEncodeError| PipelineError::Encode {
            table: what.to_string(),
            file: self.file.to_string(),
            pos,
            message: e.to_string(),
        };
        self.key_buf.clear();
        self.key_enc.encode(key_id, &r.key_schema, &r.key, &mut self.key_buf).map_err(encode_err)?;
        self.value_buf.clear();
        self.value_enc.encode(value_id, &r.value_schema, &r.value, &mut self.value_buf).map_err(encode_err)?;
        let (partitions, partition) = if r.context_headers { (Some(1), Some(0)) } else { (None, None) };
        self.sink.ensure_topic(r.topic, partitions).await?;
        let headers: Vec<(&str, &[u8])> = if r.context_headers {
            self.records.context().iter().map(|(k, v)| (*k, v.as_bytes())).collect()
        } else {
            Vec::new()
        };
        let out = OutRecord {
            topic: r.topic,
            key: Some(&self.key_buf),
            value: Some(&self.value_buf),
            headers: &headers,
            partition,
        };
        Ok(self.sink.send(&out).await?)
    }

    /// A transaction starts: its BEGIN record (unless a stored offset inside this very
    /// transaction says it was already emitted; its counts are then restored).
    async fn begin_transaction(&mut self, id: String, ts: u32, pos: u64) -> Result<(), PipelineError> {
        if let Some(resumed) = self.tx.resume.take() {
            if *resumed == *id && self.tx.current.as_ref().is_some_and(|t| t.id == resumed) {
                return Ok(());
            }
        }
        let id: Arc<str> = Arc::from(id);
        self.tx.current = Some(TxState { id: id.clone(), total: 0, per_table: Vec::new() });
        let value = Value::Struct(vec![
            Value::str("BEGIN"),
            Value::str(&*id),
            Value::Null,
            Value::Null,
            Value::Int(i64::from(ts) * 1000),
        ]);
        self.emit_transaction_record(&id, value, pos).await?;
        Ok(())
    }

    /// A transaction ends: its END record with the event counts (per table in the order of
    /// Debezium's `HashMap`), committable once stored as the position after the commit.
    async fn end_transaction(&mut self, tx: TxState, ts: u32, end_pos: u64) -> Result<(), PipelineError> {
        let keys: Vec<&str> = tx.per_table.iter().map(|(k, _)| k.as_str()).collect();
        let collections = crate::offsets::java_hashmap_order(&keys)
            .into_iter()
            .map(|i| {
                let (k, n) = &tx.per_table[i];
                Value::Struct(vec![Value::str(k.as_str()), Value::Int(*n as i64)])
            })
            .collect();
        let value = Value::Struct(vec![
            Value::str("END"),
            Value::str(&*tx.id),
            Value::Int(tx.total as i64),
            Value::Array(collections),
            Value::Int(i64::from(ts) * 1000),
        ]);
        let seq = self.emit_transaction_record(&tx.id, value, end_pos).await?;
        let mut offset = self.offset_after(seq, ts, 0, 0);
        offset.pos = end_pos;
        self.pending.push_back(offset);
        Ok(())
    }

    async fn emit_transaction_record(&mut self, id: &str, value: Value, pos: u64) -> Result<Seq, PipelineError> {
        let topic = self.cfg.transaction_topic.clone().unwrap_or_default();
        let record = Keyed {
            topic: &topic,
            key_schema: self.tx.key_schema.clone(),
            key: Value::Struct(vec![Value::str(id)]),
            value_schema: self.tx.value_schema.clone(),
            value,
            context_headers: false,
        };
        self.emit_keyed(record, &format!("transaction topic {topic}"), &format!("transaction {id}"), pos).await
    }

    /// Emit a heartbeat when `heartbeat.interval.ms` has passed since the last one, carrying the
    /// current offset. Only at a transaction boundary (the offset then needs no `event`/`row`; a
    /// transaction in progress gets its heartbeat right after its COMMIT).
    async fn maybe_heartbeat(&mut self) -> Result<(), PipelineError> {
        let Some(interval) = self.cfg.heartbeat.interval else { return Ok(()) };
        if self.heartbeat.last.elapsed() < interval || self.restart.in_transaction() {
            return Ok(());
        }
        self.heartbeat.last = Instant::now();
        if let Some(query) = self.cfg.heartbeat.action_query.clone() {
            self.heartbeat_action(&query).await?;
        }
        self.emit_heartbeat().await
    }

    /// A heartbeat record now, carrying the current offset.
    async fn emit_heartbeat(&mut self) -> Result<(), PipelineError> {
        let now_ms = ProcessingTime::now().ns / 1_000_000;
        let topic = self.heartbeat.topic.clone();
        let record = Keyed {
            topic: &topic,
            key_schema: self.heartbeat.key_schema.clone(),
            key: Value::Struct(vec![Value::str(self.cfg.prefix.as_str())]),
            value_schema: self.heartbeat.value_schema.clone(),
            value: Value::Struct(vec![Value::Int(now_ms)]),
            context_headers: false,
        };
        let pos = self.restart.pos();
        let seq = self.emit_keyed(record, &format!("heartbeat topic {topic}"), "a heartbeat", pos).await?;
        let ts = match self.heartbeat.event_ts {
            0 => (now_ms / 1000) as u32,
            ts => ts,
        };
        let offset = self.offset_after(seq, ts, 0, 0);
        self.pending.push_back(offset);
        Ok(())
    }

    /// Run `heartbeat.action.query` on the heartbeat's own connection (reconnecting once after an
    /// error, since that connection sits idle between heartbeats).
    async fn heartbeat_action(&mut self, query: &str) -> Result<(), PipelineError> {
        use mysql_async::prelude::Queryable;
        let addr = self.cfg.db.addr();
        let fail = |message: String| PipelineError::HeartbeatQuery { addr: addr.clone(), message };
        for attempt in 0..2 {
            let conn = match self.heartbeat.conn.as_mut() {
                Some(c) => c,
                None => self.heartbeat.conn.insert(binlog::connect_jdbc(&self.cfg.db).await?),
            };
            match conn.query_drop(query).await {
                Ok(()) => return Ok(()),
                Err(mysql_async::Error::Server(e)) => return Err(fail(e.to_string())),
                Err(e) if attempt == 0 => {
                    tracing::warn!(error = %e, "heartbeat.action.query: connection lost, reconnecting");
                    self.heartbeat.conn = None;
                }
                Err(e) => return Err(fail(e.to_string())),
            }
        }
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
        let settings = &self.cfg.columns;
        let plan = crate::columns::ColumnPlan::new(table, settings);
        let key = plan.key_schema(&self.cfg.prefix, table, settings);
        let row = plan.value_schema(&self.cfg.prefix, table, settings);
        let key_indexes = plan.key_indexes.clone();
        let topic = format!("{}.{}.{}", self.cfg.prefix, id.db, id.table);
        let ts = Arc::new(
            TableSchemas::new(topic, key, row, key_indexes, &self.source_schema)
                .with_plan(plan)
                .transformed(&self.cfg.transforms, &self.source_schema),
        );
        let ids = self.records.schema_ids(&ts).await.map_err(|source| PipelineError::Registry {
            table: id.to_string(),
            file: self.file.to_string(),
            pos,
            source: Box::new(source),
        })?;
        self.schemas.insert(id.clone(), (ts.clone(), ids));
        Ok((ts, ids))
    }

    /// The offset to commit once record `seq` is stored: the restart point plus the events and
    /// rows to skip after it (`source::restart`).
    fn offset_after(&self, seq: Seq, ts: u32, event: u64, row: u64) -> PendingOffset {
        // After a `set-binlog-position` signal, until the stream moves: its position (as Debezium).
        let (file, pos, event, row) = match self.incremental.as_ref().and_then(|i| i.reposition.as_ref()) {
            Some(PositionTarget::File { file, pos }) => (Arc::from(file.as_str()), *pos, 0, 0),
            _ => (self.file.clone(), self.restart.pos(), event, row),
        };
        PendingOffset {
            seq,
            file,
            pos,
            event,
            row,
            server_id: self.server_id,
            ts,
            snapshot: None,
            tx: self.tx.current.as_ref().map(TxState::offset),
            inc: self.incremental.as_ref().and_then(signals::Incremental::entries),
            gtids: self.gtids_text.clone(),
            open_gtid: self.open_gtid_offset.clone(),
            blocking: None,
        }
    }

    async fn handle_rows(
        &mut self,
        pos: u64,
        ts: u32,
        event: &mysql_common::binlog::events::Event,
        source: &BinlogSource,
        skip_rows: u64,
    ) -> Result<(), PipelineError> {
        let data = match event.read_data() {
            Ok(d) => d,
            Err(e) => return self.undecodable("?".into(), pos, e.to_string()),
        };
        let Some(EventData::RowsEvent(rows)) = data else { return Ok(()) };
        let Some(tme) = source.table_map(rows.table_id()) else {
            let message = "rows event without a preceding TABLE_MAP event".into();
            return self.undecodable(format!("table_id {}", rows.table_id()), pos, message);
        };
        let id = TableId::new(tme.database_name(), tme.table_name());
        let captured = (self.cfg.table_filter)(&id.db, &id.table);
        let (signals, dedupe) = match &self.incremental {
            Some(inc) => (inc.signal_table == id, inc.dedupes(&id)),
            None => (false, false),
        };
        if !captured && !signals {
            return Ok(());
        }
        if self.catalog.table(&id).is_none() {
            // A table the schema history never saw created (its DDL kept out of the binlog, a
            // history that lost it): Debezium's `inconsistent.schema.handling.mode`.
            use crate::config::FailureHandlingMode as M;
            match self.cfg.inconsistent_schema {
                M::Fail => {}
                M::Warn => {
                    tracing::warn!(table = %id, file = %self.file, pos, "rows of a table whose schema is not known: skipped (inconsistent.schema.handling.mode=warn)");
                    return Ok(());
                }
                M::Skip | M::Ignore => {
                    tracing::debug!(table = %id, file = %self.file, pos, "rows of a table whose schema is not known: skipped");
                    return Ok(());
                }
            }
        }
        let (schemas, ids) = self.table_schemas(&id, pos).await?;
        use mysql_common::binlog::events::RowsEventData as R;
        let base_op = match &rows {
            R::WriteRowsEvent(_) | R::WriteRowsEventV1(_) => Op::Create,
            R::DeleteRowsEvent(_) | R::DeleteRowsEventV1(_) => Op::Delete,
            _ => Op::Update,
        };
        // Inserts and deletes of a skipped operation make no record: not decoded at all. (An
        // update's records are filtered one by one: a primary-key change makes a delete and a
        // create.)
        let skipped = match base_op {
            Op::Create => self.cfg.skipped.create,
            Op::Delete => self.cfg.skipped.delete,
            _ => false,
        };
        if skipped && !signals && !dedupe {
            return Ok(());
        }
        if let Err(e) = binlog::check_row_images(&rows) {
            return self.undecodable(id.to_string(), pos, e);
        }
        for (row_idx, item) in rows.rows(tme).enumerate() {
            let (before, after) = match item {
                Ok(images) => images,
                Err(e) => return self.undecodable(id.to_string(), pos, format!("row {}: {e}", row_idx + 1)),
            };
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
            let (before_img, after_img) = record::decode_change(
                table,
                &schemas,
                before.as_ref(),
                after.as_ref(),
                &mut self.scratch,
                &mut self.nulled,
            )
            .map_err(dec_err)?;
            for (i, reason) in self.nulled.drain(..) {
                // As Debezium: the value is left null and the record goes out.
                let col = &table.columns[i];
                tracing::warn!(
                    table = %id,
                    column = %col.name,
                    file = %self.file,
                    pos,
                    error = %reason,
                    "Failed to properly convert data value for '{id}.{}' of type {}: left null in the record",
                    col.name,
                    col.type_name
                );
            }
            let point = self.restart.row(row_idx as u64);
            if captured {
                self.last_row = row_idx as i32;
            }
            if dedupe {
                if let Some(inc) = self.incremental.as_mut() {
                    inc.drop_keys([before_img.0.as_ref(), after_img.0.as_ref()]);
                }
            }
            if signals && base_op == Op::Create {
                if let Some(row) = after_img.1.as_ref() {
                    self.on_signal(row, pos, ts, point).await?;
                }
            }
            if !captured || skipped {
                continue;
            }
            let source_v = self.binlog_source("false", ts as i64 * 1000, &id, pos, row_idx as i32);
            self.cfg.telemetry.event_seen(ts);
            // The transaction's counts are lent to the change while it is encoded.
            let mut current = self.tx.current.take();
            let tx = current.as_mut().map(|t| {
                let slot = t.table_slot(&id.db, &id.table);
                let TxState { id: tx_id, total, per_table } = t;
                TxOrder { id: tx_id, total, table: &mut per_table[slot].1 }
            });
            let change = Change { schemas: &schemas, ids, op: base_op, before: before_img, after: after_img, tx };
            let emitted = self.emit_change(change, source_v, &id, pos).await;
            self.tx.current = current;
            if let Some(seq) = emitted? {
                let offset = self.offset_after(seq, ts, point.event, point.row);
                self.pending.push_back(offset);
            }
        }
        Ok(())
    }

    /// A rows event that cannot be read (its bytes do not parse): Debezium's
    /// `event.processing.failure.handling.mode` — `fail` stops with the table and position, `warn`
    /// logs them and skips the rest of the event, `skip` skips it quietly.
    fn undecodable(&self, table: String, pos: u64, message: String) -> Result<(), PipelineError> {
        use crate::config::FailureHandlingMode as M;
        let file = self.file.to_string();
        match self.cfg.event_failure {
            M::Fail => Err(PipelineError::Decode { table, file, pos, message }),
            M::Warn => {
                tracing::warn!(table, file, pos, error = %message, "a binlog event that cannot be read: skipped (event.processing.failure.handling.mode=warn)");
                Ok(())
            }
            M::Skip | M::Ignore => {
                tracing::debug!(table, file, pos, error = %message, "a binlog event that cannot be read: skipped");
                Ok(())
            }
        }
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
            self.committed = Some(p);
        }
        self.last_flush = Instant::now();
        Ok(())
    }
}

/// `sql` without its leading `CREATE` keyword (and the blanks after it).
fn strip_leading_create(sql: &str) -> &str {
    let t = sql.trim_start();
    match t.get(..6) {
        Some(w) if w.eq_ignore_ascii_case("CREATE") => t[6..].trim_start(),
        _ => sql,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reconnect_backoff_doubles_up_to_the_configured_wait() {
        let p = RetryPolicy { max: None, wait: Duration::from_secs(10) };
        let waits: Vec<u64> = (1..=6).map(|a| p.backoff(a).as_secs()).collect();
        assert_eq!(waits, [1, 2, 4, 8, 10, 10]);
        assert_eq!(p.backoff(u32::MAX), Duration::from_secs(10));
        let short = RetryPolicy { max: Some(3), wait: Duration::from_millis(50) };
        assert_eq!(short.backoff(1), Duration::from_millis(100), "never a busy loop");
    }

    #[test]
    fn only_connection_failures_are_transient() {
        use binlog::SourceError;
        let lost = SourceError::Lost { file: "f".into(), pos: 4, message: "gone".into() };
        assert!(PipelineError::Source(lost).is_transient());
        let refused = SourceError::Connect { addr: "h:1".into(), message: "Connection refused".into() };
        assert!(PipelineError::Source(refused).is_transient());
        let untrusted = SourceError::Tls {
            addr: "h:1".into(),
            message: "TLS connection failed (database.ssl.mode=verify_ca): UnknownIssuer".into(),
        };
        assert!(!PipelineError::Source(untrusted).is_transient());
        let auth = SourceError::Auth { addr: "h:1".into(), user: "u".into() };
        assert!(!PipelineError::Source(auth).is_transient());
        let bad = SourceError::Stream { file: "f".into(), pos: 4, message: "cannot parse".into() };
        assert!(!PipelineError::Source(bad).is_transient());
        let purged = SourceError::Purged { file: "f".into(), pos: 4, detail: "x".into() };
        assert!(!PipelineError::Source(purged).is_transient());
    }
}
