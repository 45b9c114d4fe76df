//! A connector's [`PipelineConfig`] from the worker and connector configurations: the one place
//! where both `cdc-connector --connector FILE` and the connectors of `cdc-connector serve` turn
//! Kafka Connect properties into a pipeline. Wiring only: every property is parsed by `config`.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use crate::columns::ColumnSettings;
use crate::config::{ConfigError, ConnectorConfig, SchemaHistoryKind, WorkerConfig, NOT_YET_IMPLEMENTED};
use crate::history::HistoryConfig;
use crate::offsets::OffsetStorage;
use crate::pipeline::{HeartbeatConfig, PipelineConfig, RetryPolicy};
use crate::schema::connect_schema::{BigIntUnsigned, BinaryHandling, DecimalHandling, SchemaOptions, TimePrecision};
use crate::sink::kafka::SinkConfig;
use crate::source::binlog::ConnectOptions;
use crate::source::tls::TlsOptions;
use crate::telemetry::Telemetry;

/// The pipeline of `connector` on `worker`, its metrics in `telemetry`.
pub fn pipeline_config(
    worker: &WorkerConfig,
    connector: &ConnectorConfig,
    telemetry: Arc<Telemetry>,
) -> Result<PipelineConfig, ConfigError> {
    let converters = connector.converters(Some(worker));
    let topics = connector.topic_creation(Some(worker));
    let mut producer = worker.producer_client()?;
    // Debezium's bound on the bytes between the binlog reader and the producer: here that queue
    // is librdkafka's (records go from the decoder straight to it)
    let queue_bytes = connector.streaming.max_queue_size_in_bytes;
    if queue_bytes > 0 {
        producer = producer.with_default("queue.buffering.max.kbytes", &(queue_bytes / 1024).max(1).to_string());
    }
    let offsets = OffsetStorage::from_worker(worker)?;
    let history = HistoryConfig::from_connector(&connector.history, &worker.bootstrap_servers, &worker.security()?)?;
    let tables = Arc::new(connector.tables.clone());
    let tables_db = tables.clone();
    Ok(PipelineConfig {
        connector_name: connector.name.clone(),
        prefix: connector.topic_prefix.clone(),
        db: ConnectOptions {
            host: connector.connection.hostname.clone(),
            port: connector.connection.port,
            user: connector.connection.user.clone(),
            password: connector.connection.password.expose().to_string(),
            connect_timeout_ms: connector.connection.connect_timeout_ms,
            tls: TlsOptions::load(
                connector.connection.ssl_mode,
                connector.connection.ssl_truststore.as_deref(),
                connector.connection.ssl_keystore.as_deref(),
            )?,
            keep_alive_ms: connector.connection.keep_alive.then_some(connector.connection.keep_alive_interval_ms),
            annotate_rows: false,
            initial_statements: connector.connection.initial_statements.clone(),
        },
        retries: RetryPolicy {
            max: u32::try_from(connector.connection.max_retries).ok(),
            wait: Duration::from_millis(connector.connection.retry_wait_ms),
        },
        server_id: connector.connection.server_id,
        table_filter: Arc::new(move |db, t| tables.is_captured(db, t)),
        db_filter: Arc::new(move |db, _| tables_db.is_database_captured(db)),
        include_schema_changes: connector.streaming.include_schema_changes,
        tombstones_on_delete: connector.streaming.tombstones_on_delete,
        include_query: connector.streaming.include_query,
        converters,
        sink: SinkConfig {
            bootstrap_servers: worker.bootstrap_servers.clone(),
            client: producer,
            default_partitions: topics.partitions.filter(|p| *p > 0).unwrap_or(1),
            default_replication_factor: topics.replication_factor.filter(|r| *r > 0).map(i32::from).unwrap_or(1),
        },
        offsets,
        offset_flush_interval: Duration::from_millis(worker.offset_flush_interval_ms),
        history,
        heartbeat_ms: connector.streaming.heartbeat_interval_ms,
        heartbeat: HeartbeatConfig::new(
            connector.streaming.heartbeat_interval_ms,
            &connector.streaming.topic_heartbeat_prefix,
            connector.streaming.heartbeat_action_query.clone(),
        ),
        transaction_topic: connector
            .streaming
            .provide_transaction_metadata
            .then(|| format!("{}.{}", connector.topic_prefix, connector.streaming.topic_transaction)),
        skipped: connector.streaming.skipped_operations,
        transforms: Arc::new(crate::transforms::Transforms::from_properties(&connector.connect)?),
        snapshot: connector.snapshot.clone(),
        columns: ColumnSettings {
            filter: connector.columns.clone(),
            key_columns: connector.message_key_columns.clone(),
            transforms: connector.types.column_transforms.clone(),
            propagate: connector.types.column_propagate_source_type.clone(),
            propagate_types: connector.types.datatype_propagate_source_type.clone(),
            options: schema_options(&connector.types),
        },
        signal_table: connector
            .signals
            .data_collection
            .as_deref()
            .filter(|_| connector.signals.enabled_channels.iter().any(|c| c == "source"))
            .and_then(|name| {
                let (db, table) = name.split_once('.')?;
                Some(crate::schema::TableId::new(db.trim_matches('`'), table.trim_matches('`')))
            }),
        incremental_chunk_size: connector.signals.incremental_snapshot_chunk_size as usize,
        inconsistent_schema: connector.streaming.inconsistent_schema_handling_mode,
        gtid_sources: match &connector.streaming.gtid_sources {
            crate::config::IncludeExclude::All => None,
            other => Some(Arc::new(other.clone())),
        },
        gtid_filter_dml_events: connector.streaming.gtid_filter_dml_events,
        event_failure: connector.streaming.event_processing_failure_handling_mode,
        telemetry,
    })
}

/// The handling modes as the schema builder and the value shaper take them.
fn schema_options(t: &crate::config::TypeConfig) -> SchemaOptions {
    use crate::config::TimePrecisionMode as T;
    use crate::config::{BigintUnsignedHandlingMode as B, BinaryHandlingMode as Bin, DecimalHandlingMode as D};
    SchemaOptions {
        decimal: match t.decimal_handling_mode {
            D::Precise => DecimalHandling::Precise,
            D::Double => DecimalHandling::Double,
            D::String => DecimalHandling::String,
        },
        time_precision: match t.time_precision_mode {
            T::Connect => TimePrecision::Connect,
            T::IsoString => TimePrecision::IsoString,
            // `adaptive` is refused when the configuration is read, as Debezium refuses it
            T::Adaptive => TimePrecision::Adaptive,
            T::Microseconds => TimePrecision::Microseconds,
            T::Nanoseconds => TimePrecision::Nanoseconds,
            T::AdaptiveTimeMicroseconds => TimePrecision::AdaptiveTimeMicroseconds,
        },
        bigint_unsigned: match t.bigint_unsigned_handling_mode {
            B::Long => BigIntUnsigned::Long,
            B::Precise => BigIntUnsigned::Precise,
        },
        binary: match t.binary_handling_mode {
            Bin::Bytes => BinaryHandling::Bytes,
            Bin::Base64 => BinaryHandling::Base64,
            Bin::Base64UrlSafe => BinaryHandling::Base64UrlSafe,
            Bin::Hex => BinaryHandling::Hex,
        },
    }
}

/// What a connector's start-up should warn about, one sentence each (property names only,
/// never values): unsupported properties, accepted but not implemented ones, no schema history.
pub fn warnings(connector: &ConnectorConfig, props: &BTreeMap<String, String>) -> Vec<String> {
    let mut out: Vec<String> =
        connector.unsupported.iter().map(|p| format!("unsupported connector property '{p}' is ignored")).collect();
    for p in props.keys().filter(|k| NOT_YET_IMPLEMENTED.contains(&k.as_str())) {
        out.push(format!("property '{p}' is accepted but not implemented yet; it has no effect"));
    }
    let signals = &connector.signals;
    for ch in signals.enabled_channels.iter().filter(|c| *c != "source") {
        out.push(format!(
            "signal channel '{ch}' of signal.enabled.channels is not supported; signals are read from the signal table (signal.data.collection) only"
        ));
    }
    if signals.data_collection.is_some() && !signals.enabled_channels.iter().any(|c| c == "source") {
        out.push(
            "signal.data.collection is set but signal.enabled.channels has no 'source': the signal table is not read"
                .into(),
        );
    }
    let h = &connector.history;
    let has_history = matches!(
        (h.kind, &h.kafka_topic, &h.file_filename),
        (SchemaHistoryKind::File, _, Some(_)) | (SchemaHistoryKind::Kafka, Some(_), _)
    );
    if !has_history {
        out.push("no schema history (schema.history.internal.kafka.topic is not set): table schemas are read from the server at every start, so after a restart, changes made before a later ALTER TABLE decode with the new schema".into());
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::history::HistoryStorage;

    fn map(kv: &[(&str, &str)]) -> BTreeMap<String, String> {
        kv.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
    }

    /// Each Kafka client gets the settings Connect would give it, translated: the worker's
    /// top-level security for all, `producer.*` for the producer (with `max.queue.size.in.bytes`
    /// as its queue bound), `schema.history.internal.*` for the history topic.
    #[test]
    fn every_kafka_client_gets_its_settings() {
        let jaas = r#"org.apache.kafka.common.security.scram.ScramLoginModule required username="w" password="pw";"#;
        let worker = WorkerConfig::from_map(map(&[
            ("bootstrap.servers", "k:9096"),
            ("security.protocol", "SASL_SSL"),
            ("sasl.mechanism", "SCRAM-SHA-512"),
            ("sasl.jaas.config", jaas),
            ("producer.linger.ms", "9"),
            ("producer.sasl.mechanism", "SCRAM-SHA-256"),
            ("offset.storage.topic", "offsets"),
        ]))
        .unwrap();
        let mut props = map(&[
            ("name", "c"),
            ("topic.prefix", "p"),
            ("database.hostname", "h"),
            ("database.user", "u"),
            ("database.password", "x"),
            ("database.server.id", "5"),
            ("schema.history.internal.kafka.topic", "hist"),
            ("schema.history.internal.consumer.ssl.endpoint.identification.algorithm", ""),
            ("max.queue.size.in.bytes", "65536"),
        ]);
        props.insert("schema.history.internal.kafka.bootstrap.servers".into(), "k:9096".into());
        let connector = ConnectorConfig::from_map(props).unwrap();
        let cfg = pipeline_config(&worker, &connector, Arc::new(Telemetry::new("p"))).unwrap();
        let get = |s: &crate::kafka_client::ClientSettings, k: &str| {
            s.iter().find(|(key, _)| *key == k).map(|(_, v)| v.to_string())
        };
        let producer = &cfg.sink.client;
        assert_eq!(get(producer, "security.protocol").as_deref(), Some("SASL_SSL"));
        assert_eq!(get(producer, "sasl.mechanism").as_deref(), Some("SCRAM-SHA-256"), "producer.* wins");
        assert_eq!(get(producer, "sasl.username").as_deref(), Some("w"));
        assert_eq!(get(producer, "linger.ms").as_deref(), Some("9"));
        assert_eq!(get(producer, "queue.buffering.max.kbytes").as_deref(), Some("64"));
        let OffsetStorage::Kafka(offsets) = &cfg.offsets else { panic!("offsets topic") };
        let internal = &offsets.client.settings;
        assert_eq!(get(internal, "sasl.mechanism").as_deref(), Some("SCRAM-SHA-512"), "the worker's own");
        assert_eq!(get(internal, "linger.ms"), None);
        let HistoryStorage::Kafka { client, .. } = &cfg.history.storage else { panic!("history topic") };
        assert_eq!(get(&client.settings, "ssl.endpoint.identification.algorithm").as_deref(), Some("none"));
        assert_eq!(get(&client.settings, "sasl.password").as_deref(), Some("pw"));
        assert_eq!(cfg.db.initial_statements, Vec::<String>::new());
    }

    /// Signal channels other than the signal table are named at start-up; a signal table that
    /// no enabled channel reads too.
    #[test]
    fn unsupported_signal_channels_are_named() {
        let props = |extra: &[(&str, &str)]| {
            let mut m = map(&[
                ("name", "c"),
                ("topic.prefix", "p"),
                ("database.hostname", "h"),
                ("database.user", "u"),
                ("database.server.id", "5"),
                ("schema.history.internal.kafka.topic", "hist"),
                ("schema.history.internal.kafka.bootstrap.servers", "k:9092"),
                ("signal.data.collection", "db.signals"),
                ("database.initial.statements", "SET SESSION wait_timeout = 600;SET @a = 'x;;y'"),
            ]);
            m.extend(map(extra));
            m
        };
        let warned = |extra: &[(&str, &str)]| {
            let p = props(extra);
            warnings(&ConnectorConfig::from_map(p.clone()).unwrap(), &p)
        };
        assert_eq!(warned(&[]), Vec::<String>::new());
        let w = warned(&[("signal.enabled.channels", "source,kafka")]);
        assert_eq!(w.len(), 1, "{w:?}");
        assert!(w[0].contains("'kafka'") && w[0].contains("signal.enabled.channels"), "{w:?}");
        let w = warned(&[("signal.enabled.channels", "file")]);
        assert!(w.iter().any(|m| m.contains("signal table is not read")), "{w:?}");
        let connector = ConnectorConfig::from_map(props(&[])).unwrap();
        assert_eq!(connector.connection.initial_statements, ["SET SESSION wait_timeout = 600", "SET @a = 'x;y'"]);
    }
}
