//! The connector configuration: Debezium 3.6.3 MySQL connector properties, names and defaults
//! kept exactly, grouped by concern. Each field's doc names its property and default.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use regex::Regex;

use super::filters::{ColumnFilter, IncludeExclude, KeyColumns, RegexList, TableFilter};
use super::modes::*;
use super::worker::{positive, replication_factor};
use super::ConfigProviders;
use super::{
    read_config_file, ConfigError, ConverterSettings, Converters, PropReader, Properties, Secret, WorkerConfig,
};

/// The Debezium MySQL connector configuration.
#[derive(Debug, Clone)]
pub struct ConnectorConfig {
    /// `name`: the connector name; part of every offset key. Required.
    pub name: String,
    /// `connector.class`: MySqlConnector or MariaDbConnector. Default MySqlConnector.
    pub connector_class: ConnectorClass,
    /// `tasks.max`: accepted for compatibility; the connector always runs one task. Default 1.
    pub tasks_max: u32,
    /// `topic.prefix`: namespace of every topic and the offset partition `{"server": ..}`;
    /// `[A-Za-z0-9._-]+`. Required.
    pub topic_prefix: String,
    /// Connection to the server (`database.*`, `connect.*`).
    pub connection: ConnectionConfig,
    /// Captured databases and tables (`database.*.list`, `table.*.list`, `table.ignore.builtin`).
    pub tables: TableFilter,
    /// Emitted columns (`column.include.list` / `column.exclude.list`).
    pub columns: ColumnFilter,
    /// `message.key.columns`: custom key columns per table. Default: the primary key (else a
    /// unique NOT NULL key, else no key).
    pub message_key_columns: Vec<KeyColumns>,
    /// Type mapping and column transformations.
    pub types: TypeConfig,
    /// Snapshot behaviour (`snapshot.*`).
    pub snapshot: SnapshotConfig,
    /// Streaming and emitted events.
    pub streaming: StreamingConfig,
    /// Schema history (`schema.history.internal*`).
    pub history: SchemaHistoryConfig,
    /// Signals and incremental snapshots.
    pub signals: SignalConfig,
    /// `key.converter` (+ `key.converter.*`) at connector level; overrides the worker's.
    pub key_converter: Option<ConverterSettings>,
    /// `value.converter` (+ `value.converter.*`) at connector level; overrides the worker's.
    pub value_converter: Option<ConverterSettings>,
    /// `topic.creation.default.partitions` / `.replication.factor`.
    pub topic_creation: TopicCreationDefaults,
    /// Properties Kafka Connect itself consumes (`transforms*`, `predicates*`, `errors.*`,
    /// `header.converter*`, other `topic.creation.*`, `producer.override.*`,
    /// `config.action.reload`), verbatim for the modules that implement them.
    pub connect: Properties,
    /// Embedded-engine/worker properties found in a flat connector file (`offset.storage*`,
    /// `offset.flush.*`, `offset.commit.policy`), verbatim; see [`WorkerConfig::from_map`].
    pub engine: Properties,
    /// Properties we do not support, by name, sorted: the binary warns once at start-up.
    pub unsupported: Vec<String>,
}

/// `database.*` connection settings.
#[derive(Debug, Clone)]
pub struct ConnectionConfig {
    /// `database.hostname`: server host. Required.
    pub hostname: String,
    /// `database.port`: server port. Default 3306.
    pub port: u16,
    /// `database.user`: replication user. Required.
    pub user: String,
    /// `database.password`: the user's password. Default empty.
    pub password: Secret,
    /// `database.server.id`: our replica server id, unique among the server's replicas
    /// (1..=4294967295). Required.
    pub server_id: u32,
    /// `database.ssl.mode`. Default `preferred`.
    pub ssl_mode: SslMode,
    /// `database.ssl.keystore`: client certificate keystore. Default none.
    pub ssl_keystore: Option<PathBuf>,
    /// `database.ssl.keystore.password`. Default none.
    pub ssl_keystore_password: Option<Secret>,
    /// `database.ssl.truststore`: CA truststore. Default none.
    pub ssl_truststore: Option<PathBuf>,
    /// `database.ssl.truststore.password`. Default none.
    pub ssl_truststore_password: Option<Secret>,
    /// `connect.timeout.ms`: connection timeout. Default 30000.
    pub connect_timeout_ms: u64,
    /// `connect.keep.alive`: reconnect the binlog client when the connection drops. Default true.
    pub keep_alive: bool,
    /// `connect.keep.alive.interval.ms`: keep-alive check interval. Default 60000.
    pub keep_alive_interval_ms: u64,
    /// `errors.max.retries`: reconnects after a transient failure (a lost connection) before the
    /// connector stops; -1 = no limit, 0 = none. Default -1.
    pub max_retries: i64,
    /// `retriable.restart.connector.wait.ms`: the longest wait between reconnects (the back-off
    /// starts at one second and doubles up to it). Default 10000.
    pub retry_wait_ms: u64,
    /// `database.initial.statements`: SQL run on every new connection, `;`-separated (`;;` is a
    /// literal `;`). Default none.
    pub initial_statements: Vec<String>,
}

/// Type mapping and per-column transformations.
#[derive(Debug, Clone)]
pub struct TypeConfig {
    /// `decimal.handling.mode`. Default `precise`.
    pub decimal_handling_mode: DecimalHandlingMode,
    /// `time.precision.mode`. Default `adaptive_time_microseconds`.
    pub time_precision_mode: TimePrecisionMode,
    /// `bigint.unsigned.handling.mode`. Default `long`.
    pub bigint_unsigned_handling_mode: BigintUnsignedHandlingMode,
    /// `binary.handling.mode`. Default `bytes`.
    pub binary_handling_mode: BinaryHandlingMode,
    /// `column.propagate.source.type`: columns (`db.table.column`) whose schema gets
    /// `__debezium.source.column.*` parameters. Default none.
    pub column_propagate_source_type: RegexList,
    /// `datatype.propagate.source.type`: the same by type name. Default none.
    pub datatype_propagate_source_type: RegexList,
    /// `enable.time.adjuster`: turn two-digit years into four-digit ones. Default true.
    pub enable_time_adjuster: bool,
    /// `column.mask.with.N.chars`, `column.mask.hash[.v2].ALG.with.salt.SALT`,
    /// `column.truncate.to.N.chars`: value transformations, in property-name order.
    pub column_transforms: Vec<ColumnTransform>,
}

/// One column transformation property.
#[derive(Debug, Clone)]
pub struct ColumnTransform {
    /// What to do.
    pub kind: ColumnTransformKind,
    /// Which columns (`db.table.column`).
    pub columns: RegexList,
}

/// The transformation of a [`ColumnTransform`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ColumnTransformKind {
    /// `column.mask.with.N.chars`: replace the value with N `*`.
    MaskWithChars(usize),
    /// `column.truncate.to.N.chars`: keep at most N characters.
    TruncateTo(usize),
    /// `column.mask.hash.ALG.with.salt.SALT` (`v2`: `column.mask.hash.v2...`).
    Hash {
        /// Java `MessageDigest` algorithm name, e.g. `SHA-256`.
        algorithm: String,
        /// The salt (part of the property name, so not a secret).
        salt: String,
        /// Hashing strategy v2 (hashes the value's string form without Java serialization).
        v2: bool,
    },
}

/// Snapshot settings.
#[derive(Debug, Clone)]
pub struct SnapshotConfig {
    /// `snapshot.mode`. Default `initial`.
    pub mode: SnapshotMode,
    /// `snapshot.locking.mode`. Default `minimal`.
    pub locking_mode: SnapshotLockingMode,
    /// `snapshot.fetch.size`: rows fetched per round trip. Default: unset (rows streamed).
    pub fetch_size: Option<u32>,
    /// `snapshot.include.collection.list`: tables (`db.table`) to snapshot, among the captured
    /// ones. Default: all captured tables.
    pub include_collection_list: RegexList,
    /// `snapshot.select.statement.overrides` + `snapshot.select.statement.overrides.<db.table>`:
    /// the SELECT to use per table. Default none.
    pub select_statement_overrides: BTreeMap<String, String>,
    /// `snapshot.max.threads`: tables read in parallel. Default 1.
    pub max_threads: u32,
    /// `snapshot.delay.ms`: wait before starting the snapshot. Default 0.
    pub delay_ms: u64,
}

/// The operations `skipped.operations` drops.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct SkippedOperations {
    /// `c`: inserts.
    pub create: bool,
    /// `u`: updates.
    pub update: bool,
    /// `d`: deletes.
    pub delete: bool,
    /// `t`: truncates.
    pub truncate: bool,
}

/// Streaming and event settings.
#[derive(Debug, Clone)]
pub struct StreamingConfig {
    /// `include.schema.changes`: emit schema change events on `<topic.prefix>`. Default true.
    pub include_schema_changes: bool,
    /// `include.query`: put the SQL text in `source.query` (needs `binlog_rows_query_log_events`).
    /// Default false.
    pub include_query: bool,
    /// `tombstones.on.delete`: follow each delete with a tombstone. Default true.
    pub tombstones_on_delete: bool,
    /// `skipped.operations`: `c,u,d,t` or `none`. Default `t`.
    pub skipped_operations: SkippedOperations,
    /// `provide.transaction.metadata`: BEGIN/END records and `transaction` blocks. Default false.
    pub provide_transaction_metadata: bool,
    /// `heartbeat.interval.ms`: heartbeat period, 0 = off. Default 0.
    pub heartbeat_interval_ms: u64,
    /// `heartbeat.action.query`: SQL run on every heartbeat. Default none.
    pub heartbeat_action_query: Option<String>,
    /// `topic.heartbeat.prefix`. Default `__debezium-heartbeat`.
    pub topic_heartbeat_prefix: String,
    /// `topic.transaction`: transaction topic suffix. Default `transaction`.
    pub topic_transaction: String,
    /// `topic.delimiter`: between topic name parts. Default `.`.
    pub topic_delimiter: String,
    /// `max.batch.size`: events per batch. Default 2048.
    pub max_batch_size: u32,
    /// `max.queue.size`: events buffered; must exceed `max.batch.size`. Default 8192.
    pub max_queue_size: u32,
    /// `max.queue.size.in.bytes`: buffered bytes, 0 = unbounded. Default 0.
    pub max_queue_size_in_bytes: u64,
    /// `poll.interval.ms`: wait for new events when the queue is empty. Default 500.
    pub poll_interval_ms: u64,
    /// `inconsistent.schema.handling.mode`: event for a table with unknown schema. Default `fail`.
    pub inconsistent_schema_handling_mode: FailureHandlingMode,
    /// `event.processing.failure.handling.mode`: event that cannot be processed. Default `fail`.
    pub event_processing_failure_handling_mode: FailureHandlingMode,
    /// `gtid.source.includes` / `gtid.source.excludes`: the GTID sources (MySQL server UUIDs,
    /// MariaDB `domain-server`) whose transactions count. Default all.
    pub gtid_sources: IncludeExclude,
    /// `gtid.source.filter.dml.events`: skip the row changes of transactions of other GTID
    /// sources. Default true.
    pub gtid_filter_dml_events: bool,
}

/// Schema history settings.
#[derive(Debug, Clone)]
pub struct SchemaHistoryConfig {
    /// `schema.history.internal`: storage. Default KafkaSchemaHistory.
    pub kind: SchemaHistoryKind,
    /// `schema.history.internal.kafka.topic`: history topic. Default none: no history is kept
    /// (Debezium requires it).
    pub kafka_topic: Option<String>,
    /// `schema.history.internal.kafka.bootstrap.servers`. Default: the worker's `bootstrap.servers`.
    pub kafka_bootstrap_servers: Option<String>,
    /// `schema.history.internal.producer.*`: history producer overrides. Default none.
    pub kafka_producer: Properties,
    /// `schema.history.internal.consumer.*`: history consumer overrides. Default none.
    pub kafka_consumer: Properties,
    /// `schema.history.internal.file.filename`. Required with file storage.
    pub file_filename: Option<PathBuf>,
    /// `schema.history.internal.skip.unparseable.ddl`: skip DDL the parser rejects. Default false.
    pub skip_unparseable_ddl: bool,
    /// `schema.history.internal.store.only.captured.tables.ddl`. Default false.
    pub store_only_captured_tables_ddl: bool,
    /// `schema.history.internal.store.only.captured.databases.ddl`. Default false.
    pub store_only_captured_databases_ddl: bool,
}

/// Signal settings.
#[derive(Debug, Clone)]
pub struct SignalConfig {
    /// `signal.data.collection`: the signal table, `db.table`. Default none.
    pub data_collection: Option<String>,
    /// `signal.enabled.channels`: `source`, `kafka`, `file`, `jmx`. Default `source`.
    pub enabled_channels: Vec<String>,
    /// `incremental.snapshot.chunk.size`: rows per incremental-snapshot chunk. Default 1024.
    pub incremental_snapshot_chunk_size: u32,
}

/// Topic creation defaults (`topic.creation.default.*`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct TopicCreationDefaults {
    /// `topic.creation.default.partitions`: -1 = broker default. Default unset (no creation).
    pub partitions: Option<i32>,
    /// `topic.creation.default.replication.factor`: -1 = broker default. Default unset.
    pub replication_factor: Option<i16>,
}

impl TopicCreationDefaults {
    pub(crate) fn read(r: &mut PropReader) -> Result<Self, ConfigError> {
        const P: &str = "topic.creation.default.partitions";
        const RF: &str = "topic.creation.default.replication.factor";
        let partitions = if r.contains(P) && r.opt_string(P).is_some() { Some(positive(r, P, -1)?) } else { None };
        let replication_factor =
            if r.contains(RF) && r.opt_string(RF).is_some() { Some(replication_factor(r, RF, -1)?) } else { None };
        Ok(TopicCreationDefaults { partitions, replication_factor })
    }

    /// Connector values over worker values.
    pub fn or(self, worker: TopicCreationDefaults) -> Self {
        TopicCreationDefaults {
            partitions: self.partitions.or(worker.partitions),
            replication_factor: self.replication_factor.or(worker.replication_factor),
        }
    }
}

/// Properties Connect consumes itself: accepted silently.
fn is_connect_property(k: &str) -> bool {
    matches!(k, "connector.class" | "tasks.max" | "name" | "config.action.reload")
        || k.starts_with("transforms")
        || k.starts_with("predicates")
        || k.starts_with("errors.")
        || k.starts_with("key.converter")
        || k.starts_with("value.converter")
        || k.starts_with("header.converter")
        || k.starts_with("topic.creation.")
        || k.starts_with("producer.override.")
}

/// Embedded-engine (worker-level) properties that may appear in a flat connector file.
fn is_engine_property(k: &str) -> bool {
    k == "offset.storage"
        || k.starts_with("offset.storage.")
        || k.starts_with("offset.flush.")
        || k == "offset.commit.policy"
}

impl ConnectorConfig {
    /// Read a connector config: Connect JSON (`{"name","config"}` or a bare config object) or a
    /// flat `.properties` file.
    pub fn from_file(path: impl AsRef<Path>) -> Result<Self, ConfigError> {
        Self::from_file_with(path, &ConfigProviders::default())
    }

    /// [`ConnectorConfig::from_file`], with the `${provider:path:key}` references of the worker's
    /// `providers` resolved.
    pub fn from_file_with(path: impl AsRef<Path>, providers: &ConfigProviders) -> Result<Self, ConfigError> {
        let raw = read_config_file(path.as_ref())?;
        let mut config = Self::from_map(providers.resolve(raw.props)?)?;
        config.unsupported.extend(raw.unsupported_top_level);
        config.unsupported.sort();
        Ok(config)
    }

    /// Build from a flat property map.
    pub fn from_map(props: BTreeMap<String, String>) -> Result<Self, ConfigError> {
        let mut r = PropReader::new(props);

        let name = r.required_string("name")?;
        let connector_class = r.enumerated("connector.class", ConnectorClass::MySql)?;
        let tasks_max: u32 = r.int("tasks.max", 1)?;
        if tasks_max == 0 {
            return Err(ConfigError::invalid("tasks.max", "0", "expected at least 1"));
        }
        let topic_prefix = r.required_string("topic.prefix")?;
        let valid_prefix = Regex::new("^[A-Za-z0-9._-]+$").expect("constant regex");
        if !valid_prefix.is_match(&topic_prefix) || topic_prefix.len() > 249 {
            return Err(ConfigError::invalid(
                "topic.prefix",
                &topic_prefix,
                "only letters, digits, '.', '_' and '-' are allowed (at most 249 characters)",
            ));
        }

        let connection = read_connection(&mut r)?;

        let databases = IncludeExclude::parse(
            "database.include.list",
            r.opt_string("database.include.list"),
            "database.exclude.list",
            r.opt_string("database.exclude.list"),
        )?;
        let table_filter = IncludeExclude::parse(
            "table.include.list",
            r.opt_string("table.include.list"),
            "table.exclude.list",
            r.opt_string("table.exclude.list"),
        )?;
        let tables =
            TableFilter { databases, tables: table_filter, ignore_builtin: r.bool("table.ignore.builtin", true)? };
        let columns = ColumnFilter {
            columns: IncludeExclude::parse(
                "column.include.list",
                r.opt_string("column.include.list"),
                "column.exclude.list",
                r.opt_string("column.exclude.list"),
            )?,
        };
        let message_key_columns = match r.opt_string("message.key.columns") {
            Some(v) => KeyColumns::parse_list("message.key.columns", &v)?,
            None => Vec::new(),
        };

        let types = read_types(&mut r)?;
        let snapshot = read_snapshot(&mut r)?;
        let streaming = read_streaming(&mut r)?;
        let history = read_history(&mut r)?;
        let signals = read_signals(&mut r)?;

        let key_converter = ConverterSettings::read(&mut r, "key.converter")?;
        let value_converter = ConverterSettings::read(&mut r, "value.converter")?;
        let topic_creation = TopicCreationDefaults::read(&mut r)?;

        let engine = Properties(r.take_matching(is_engine_property));
        let connect = Properties(r.take_matching(is_connect_property));
        let unsupported = r.unused();

        Ok(ConnectorConfig {
            name,
            connector_class,
            tasks_max,
            topic_prefix,
            connection,
            tables,
            columns,
            message_key_columns,
            types,
            snapshot,
            streaming,
            history,
            signals,
            key_converter,
            value_converter,
            topic_creation,
            connect,
            engine,
            unsupported,
        })
    }

    /// The key and value converters in effect: connector-level settings override the worker's
    /// (JsonConverter with schemas when neither sets one).
    pub fn converters(&self, worker: Option<&WorkerConfig>) -> Converters {
        Converters::resolve(
            worker.and_then(|w| w.key_converter.as_ref()),
            worker.and_then(|w| w.value_converter.as_ref()),
            self.key_converter.as_ref(),
            self.value_converter.as_ref(),
        )
    }

    /// Topic creation defaults: connector-level values over the worker's.
    pub fn topic_creation(&self, worker: Option<&WorkerConfig>) -> TopicCreationDefaults {
        match worker {
            Some(w) => self.topic_creation.or(w.topic_creation),
            None => self.topic_creation,
        }
    }

    /// The custom key columns for `db`.`table` (`message.key.columns`), if any.
    pub fn key_columns_for(&self, db: &str, table: &str) -> Option<&[String]> {
        let id = format!("{db}.{table}");
        self.message_key_columns.iter().find(|k| k.tables.matches(&id)).map(|k| k.columns.as_slice())
    }
}

fn read_connection(r: &mut PropReader) -> Result<ConnectionConfig, ConfigError> {
    let hostname = r.required_string("database.hostname")?;
    let port: u16 = r.int("database.port", 3306)?;
    if port == 0 {
        return Err(ConfigError::invalid("database.port", "0", "expected 1..=65535"));
    }
    let user = r.required_string("database.user")?;
    let password = r.secret("database.password").unwrap_or_default();
    let server_id: u32 = r
        .opt_int("database.server.id")?
        .ok_or_else(|| ConfigError::Missing { property: "database.server.id".into() })?;
    if server_id == 0 {
        return Err(ConfigError::invalid(
            "database.server.id",
            "0",
            "expected 1..=4294967295 (a replica cannot use server id 0)",
        ));
    }
    let initial_statements =
        r.opt_string("database.initial.statements").map(|s| split_statements(&s)).unwrap_or_default();
    Ok(ConnectionConfig {
        hostname,
        port,
        user,
        password,
        server_id,
        ssl_mode: r.enumerated("database.ssl.mode", SslMode::Preferred)?,
        ssl_keystore: r.opt_string("database.ssl.keystore").map(PathBuf::from),
        ssl_keystore_password: r.secret("database.ssl.keystore.password"),
        ssl_truststore: r.opt_string("database.ssl.truststore").map(PathBuf::from),
        ssl_truststore_password: r.secret("database.ssl.truststore.password"),
        connect_timeout_ms: r.int("connect.timeout.ms", 30_000)?,
        keep_alive: r.bool("connect.keep.alive", true)?,
        keep_alive_interval_ms: r.int("connect.keep.alive.interval.ms", 60_000)?,
        max_retries: r.int("errors.max.retries", -1)?,
        retry_wait_ms: r.int("retriable.restart.connector.wait.ms", 10_000)?,
        initial_statements,
    })
}

/// Split `database.initial.statements` on `;`, where `;;` stands for a literal `;`.
fn split_statements(s: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut current = String::new();
    let mut chars = s.chars().peekable();
    while let Some(c) = chars.next() {
        if c == ';' {
            if chars.peek() == Some(&';') {
                chars.next();
                current.push(';');
            } else {
                out.push(std::mem::take(&mut current));
            }
        } else {
            current.push(c);
        }
    }
    out.push(current);
    out.into_iter().map(|s| s.trim().to_owned()).filter(|s| !s.is_empty()).collect()
}

fn regex_list(r: &mut PropReader, key: &str) -> Result<RegexList, ConfigError> {
    match r.opt_string(key) {
        Some(v) => RegexList::parse(key, &v),
        None => Ok(RegexList::default()),
    }
}

fn read_types(r: &mut PropReader) -> Result<TypeConfig, ConfigError> {
    let mask_chars = Regex::new(r"^column\.mask\.with\.(\d+)\.chars$").expect("constant regex");
    let truncate = Regex::new(r"^column\.truncate\.to\.(\d+)\.chars$").expect("constant regex");
    let hash = Regex::new(r"^column\.mask\.hash\.(v2\.)?([^.]+)\.with\.salt\.(.+)$").expect("constant regex");
    let transform_props = r.take_matching(|k| k.starts_with("column.mask.") || k.starts_with("column.truncate."));
    let mut column_transforms = Vec::new();
    for (key, value) in transform_props {
        let n = |caps: regex::Captures<'_>| -> Result<usize, ConfigError> {
            caps[1].parse().map_err(|_| ConfigError::invalid(&key, &caps[1], "character count out of range"))
        };
        let kind = if let Some(c) = mask_chars.captures(&key) {
            ColumnTransformKind::MaskWithChars(n(c)?)
        } else if let Some(c) = truncate.captures(&key) {
            ColumnTransformKind::TruncateTo(n(c)?)
        } else if let Some(c) = hash.captures(&key) {
            if crate::columns::Algorithm::from_java(&c[2]).is_none() {
                return Err(ConfigError::invalid(
                    &key,
                    &c[2],
                    "unsupported hash algorithm; expected MD5, SHA-1, SHA-224, SHA-256, SHA-384 or SHA-512",
                ));
            }
            ColumnTransformKind::Hash { algorithm: c[2].to_owned(), salt: c[3].to_owned(), v2: c.get(1).is_some() }
        } else {
            return Err(ConfigError::invalid(
                &key,
                value.trim(),
                "unknown column transformation; expected column.mask.with.N.chars, \
                 column.truncate.to.N.chars or column.mask.hash[.v2].ALG.with.salt.SALT",
            ));
        };
        column_transforms.push(ColumnTransform { kind, columns: RegexList::parse(&key, value.trim())? });
    }
    let time_precision_mode = r.enumerated("time.precision.mode", TimePrecisionMode::AdaptiveTimeMicroseconds)?;
    if time_precision_mode == TimePrecisionMode::Adaptive {
        // Debezium 3.6.3's MySQL connector refuses it at validation (the oracle's modes_double run)
        return Err(ConfigError::invalid(
            "time.precision.mode",
            "adaptive",
            "The 'adaptive' time.precision.mode is no longer supported (use adaptive_time_microseconds, connect or isostring)",
        ));
    }
    Ok(TypeConfig {
        decimal_handling_mode: r.enumerated("decimal.handling.mode", DecimalHandlingMode::Precise)?,
        time_precision_mode,
        bigint_unsigned_handling_mode: r
            .enumerated("bigint.unsigned.handling.mode", BigintUnsignedHandlingMode::Long)?,
        binary_handling_mode: r.enumerated("binary.handling.mode", BinaryHandlingMode::Bytes)?,
        column_propagate_source_type: regex_list(r, "column.propagate.source.type")?,
        datatype_propagate_source_type: regex_list(r, "datatype.propagate.source.type")?,
        enable_time_adjuster: r.bool("enable.time.adjuster", true)?,
        column_transforms,
    })
}

fn read_snapshot(r: &mut PropReader) -> Result<SnapshotConfig, ConfigError> {
    const OVERRIDES: &str = "snapshot.select.statement.overrides";
    let mut select_statement_overrides = BTreeMap::new();
    if let Some(list) = r.opt_string(OVERRIDES) {
        for table in list.split(',').map(str::trim).filter(|t| !t.is_empty()) {
            let key = format!("{OVERRIDES}.{table}");
            let statement = r.opt_string(&key).ok_or_else(|| ConfigError::Missing { property: key.clone() })?;
            select_statement_overrides.insert(table.to_owned(), statement);
        }
    }
    let max_threads: u32 = r.int("snapshot.max.threads", 1)?;
    if max_threads == 0 {
        return Err(ConfigError::invalid("snapshot.max.threads", "0", "expected at least 1"));
    }
    Ok(SnapshotConfig {
        mode: r.enumerated("snapshot.mode", SnapshotMode::Initial)?,
        locking_mode: r.enumerated("snapshot.locking.mode", SnapshotLockingMode::Minimal)?,
        fetch_size: r.opt_int("snapshot.fetch.size")?,
        include_collection_list: regex_list(r, "snapshot.include.collection.list")?,
        select_statement_overrides,
        max_threads,
        delay_ms: r.int("snapshot.delay.ms", 0)?,
    })
}

fn read_streaming(r: &mut PropReader) -> Result<StreamingConfig, ConfigError> {
    const SKIPPED: &str = "skipped.operations";
    let mut skipped_operations = SkippedOperations { truncate: true, ..Default::default() };
    if let Some(v) = r.opt_string(SKIPPED) {
        skipped_operations = SkippedOperations::default();
        if !v.eq_ignore_ascii_case("none") {
            for op in v.split(',').map(str::trim).filter(|o| !o.is_empty()) {
                match op.to_ascii_lowercase().as_str() {
                    "c" => skipped_operations.create = true,
                    "u" => skipped_operations.update = true,
                    "d" => skipped_operations.delete = true,
                    "t" => skipped_operations.truncate = true,
                    _ => {
                        return Err(ConfigError::invalid(
                            SKIPPED,
                            &v,
                            format!("unknown operation {op:?}; expected c, u, d, t or none"),
                        ))
                    }
                }
            }
        }
    }
    let max_batch_size: u32 = r.int("max.batch.size", 2048)?;
    let max_queue_size: u32 = r.int("max.queue.size", 8192)?;
    if max_batch_size == 0 {
        return Err(ConfigError::invalid("max.batch.size", "0", "expected at least 1"));
    }
    if max_queue_size <= max_batch_size {
        return Err(ConfigError::invalid(
            "max.queue.size",
            &max_queue_size.to_string(),
            format!("must be larger than max.batch.size ({max_batch_size})"),
        ));
    }
    Ok(StreamingConfig {
        include_schema_changes: r.bool("include.schema.changes", true)?,
        include_query: r.bool("include.query", false)?,
        tombstones_on_delete: r.bool("tombstones.on.delete", true)?,
        skipped_operations,
        provide_transaction_metadata: r.bool("provide.transaction.metadata", false)?,
        heartbeat_interval_ms: r.int("heartbeat.interval.ms", 0)?,
        heartbeat_action_query: r.opt_string("heartbeat.action.query"),
        topic_heartbeat_prefix: r.string("topic.heartbeat.prefix", "__debezium-heartbeat"),
        topic_transaction: r.string("topic.transaction", "transaction"),
        topic_delimiter: r.string("topic.delimiter", "."),
        max_batch_size,
        max_queue_size,
        max_queue_size_in_bytes: r.int("max.queue.size.in.bytes", 0)?,
        poll_interval_ms: r.int("poll.interval.ms", 500)?,
        inconsistent_schema_handling_mode: r
            .enumerated("inconsistent.schema.handling.mode", FailureHandlingMode::Fail)?,
        event_processing_failure_handling_mode: r
            .enumerated("event.processing.failure.handling.mode", FailureHandlingMode::Fail)?,
        gtid_sources: IncludeExclude::parse(
            "gtid.source.includes",
            r.opt_string("gtid.source.includes"),
            "gtid.source.excludes",
            r.opt_string("gtid.source.excludes"),
        )?,
        gtid_filter_dml_events: r.bool("gtid.source.filter.dml.events", true)?,
    })
}

fn read_history(r: &mut PropReader) -> Result<SchemaHistoryConfig, ConfigError> {
    const P: &str = "schema.history.internal";
    let kind = r.enumerated(P, SchemaHistoryKind::Kafka)?;
    let config = SchemaHistoryConfig {
        kind,
        kafka_topic: r.opt_string("schema.history.internal.kafka.topic"),
        kafka_bootstrap_servers: r.opt_string("schema.history.internal.kafka.bootstrap.servers"),
        kafka_producer: Properties(r.prefixed("schema.history.internal.producer.")),
        kafka_consumer: Properties(r.prefixed("schema.history.internal.consumer.")),
        file_filename: r.opt_string("schema.history.internal.file.filename").map(PathBuf::from),
        skip_unparseable_ddl: r.bool("schema.history.internal.skip.unparseable.ddl", false)?,
        store_only_captured_tables_ddl: r.bool("schema.history.internal.store.only.captured.tables.ddl", false)?,
        store_only_captured_databases_ddl: r
            .bool("schema.history.internal.store.only.captured.databases.ddl", false)?,
    };
    // Without a Kafka history topic nothing is recorded (the binary warns; schemas then come from
    // the server at every start); the file history needs its file name.
    if kind == SchemaHistoryKind::File && config.file_filename.is_none() {
        return Err(ConfigError::Missing { property: "schema.history.internal.file.filename".into() });
    }
    Ok(config)
}

fn read_signals(r: &mut PropReader) -> Result<SignalConfig, ConfigError> {
    const CHANNELS: &str = "signal.enabled.channels";
    let channels = r.string(CHANNELS, "source");
    let mut enabled_channels = Vec::new();
    for ch in channels.split(',').map(str::trim).filter(|c| !c.is_empty()) {
        let ch = ch.to_ascii_lowercase();
        if !matches!(ch.as_str(), "source" | "kafka" | "file" | "jmx") {
            return Err(ConfigError::invalid(
                CHANNELS,
                &channels,
                format!("unknown channel {ch:?}; expected source, kafka, file or jmx"),
            ));
        }
        if !enabled_channels.contains(&ch) {
            enabled_channels.push(ch);
        }
    }
    let chunk: u32 = r.int("incremental.snapshot.chunk.size", 1024)?;
    if chunk == 0 {
        return Err(ConfigError::invalid("incremental.snapshot.chunk.size", "0", "expected at least 1"));
    }
    let data_collection = r.opt_string("signal.data.collection");
    if let Some(dc) = data_collection.as_deref().filter(|dc| dc.split('.').filter(|p| !p.is_empty()).count() != 2) {
        return Err(ConfigError::invalid("signal.data.collection", dc, "expected the signal table as db.table"));
    }
    Ok(SignalConfig { data_collection, enabled_channels, incremental_snapshot_chunk_size: chunk })
}
