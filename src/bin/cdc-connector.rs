//! `cdc-connector` command line: run the connector from a Kafka Connect worker file and a
//! connector config, or `inspect` binlog files. Wiring only: configuration is turned into a
//! `PipelineConfig` and handed to `pipeline::run`.

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use cdc_connector::config::{read_config_file, ConnectorConfig, WorkerConfig};
use cdc_connector::history::{HistoryConfig, HistoryStorage};
use cdc_connector::inspect::{inspect_file, ReadOptions};
use cdc_connector::offsets::OffsetStorage;
use cdc_connector::pipeline::{self, HeartbeatConfig, PipelineConfig, StartPosition};
use cdc_connector::sink::kafka::SinkConfig;
use cdc_connector::source::binlog::ConnectOptions;
use cdc_connector::telemetry::Telemetry;
use clap::{Args, Parser, Subcommand};
use tracing::{info, warn};

#[derive(Debug, Parser)]
#[command(
    name = "cdc-connector",
    version,
    about = "Debezium-compatible MySQL/MariaDB change-data-capture to Kafka",
    long_about = "Reads the MySQL/MariaDB binlog as a replica and writes Debezium 3.6-format change events to Kafka.\n\n\
                  It reads the same files a Kafka Connect user already has: a worker .properties file and the connector\n\
                  JSON you would POST to Kafka Connect (or its .properties form).\n\n\
                  Example:\n  cdc-connector --worker worker.properties --connector inventory.json --binlog-pos latest",
    args_conflicts_with_subcommands = true
)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
    #[command(flatten)]
    run: RunArgs,
}

#[derive(Debug, Args)]
struct RunArgs {
    /// Kafka Connect worker properties (bootstrap.servers, converters, offset.storage.file.filename, producer.*).
    #[arg(long, value_name = "FILE")]
    worker: Option<PathBuf>,
    /// Connector config: the JSON you POST to Kafka Connect ({"name":..,"config":{..}}) or a .properties file.
    #[arg(long, value_name = "FILE")]
    connector: Option<PathBuf>,
    /// Where to start: latest (end of the binlog), earliest, FILE:POS or a GTID set (MariaDB 0-1-61,... or
    /// MySQL uuid:1-5,...: after those transactions) stream from there without a snapshot; resume requires a stored offset. Without it: the
    /// stored offset, or (none stored) what snapshot.mode says (initial: snapshot, then stream).
    #[arg(long, value_name = "POS")]
    binlog_pos: Option<String>,
    /// Validate the configuration, report unsupported properties, and exit.
    #[arg(long)]
    check: bool,
    /// Serve Prometheus metrics on http://ADDR/metrics (e.g. 127.0.0.1:9404); off when not given.
    #[arg(long, value_name = "ADDR")]
    metrics_addr: Option<std::net::SocketAddr>,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Decode binlog files from disk and print one JSON line per row change.
    Inspect {
        /// Binlog files, read in the order given.
        #[arg(required = true)]
        files: Vec<PathBuf>,
        /// Upper bound (bytes) on the expanded size of one compressed transaction.
        #[arg(long, default_value_t = ReadOptions::default().max_payload_bytes)]
        max_payload_bytes: u64,
    },
}

/// Connector properties we accept but whose effect is not implemented yet: named once at start-up.
const NOT_YET_IMPLEMENTED: &[&str] = &[
    "column.include.list",
    "column.exclude.list",
    "message.key.columns",
    "decimal.handling.mode",
    "time.precision.mode",
    "bigint.unsigned.handling.mode",
    "binary.handling.mode",
    "column.propagate.source.type",
    "datatype.propagate.source.type",
    "include.query",
    "signal.data.collection",
    "database.ssl.mode",
    "database.initial.statements",
    "transforms",
    "gtid.source.includes",
    "gtid.source.excludes",
];

fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        Some(Command::Inspect { files, max_payload_bytes }) => inspect(&files, &ReadOptions { max_payload_bytes }),
        None => {
            cdc_connector::logging::init("info,rdkafka=warn,mysql_async=warn");
            match run(cli.run) {
                Ok(()) => ExitCode::SUCCESS,
                Err(e) => {
                    // One sentence on stderr, whatever the log format.
                    eprintln!("cdc-connector: {e:#}");
                    ExitCode::FAILURE
                }
            }
        }
    }
}

fn run(args: RunArgs) -> anyhow::Result<()> {
    let worker_path = args.worker.ok_or_else(|| anyhow::anyhow!("--worker <worker.properties> is required"))?;
    let connector_path = args
        .connector
        .ok_or_else(|| anyhow::anyhow!("--connector <connector.json|connector.properties> is required"))?;
    let start: Option<StartPosition> =
        args.binlog_pos.as_deref().map(str::parse).transpose().map_err(|e: String| anyhow::anyhow!(e))?;
    let worker = WorkerConfig::from_properties_file(&worker_path)?;
    let connector = ConnectorConfig::from_file(&connector_path)?;
    for p in &connector.unsupported {
        warn!(property = %p, "unsupported connector property '{p}' is ignored");
    }
    let raw = read_config_file(&connector_path)?;
    let not_yet = |k: &&String| NOT_YET_IMPLEMENTED.contains(&k.as_str());
    for p in raw.props.keys().filter(not_yet) {
        warn!(property = %p, "property '{p}' is accepted but not implemented yet; it has no effect");
    }
    let converters = connector.converters(Some(&worker));
    let topics = connector.topic_creation(Some(&worker));
    let overrides: Vec<(String, String)> =
        worker.producer.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
    let offsets = OffsetStorage::from_worker(&worker, overrides.clone())?;
    let history = HistoryConfig::from_connector(&connector.history, &worker.bootstrap_servers);
    if matches!(history.storage, HistoryStorage::None) {
        warn!("no schema history (schema.history.internal.kafka.topic is not set): table schemas are read from the server at every start, so after a restart, changes made before a later ALTER TABLE decode with the new schema");
    }
    let tables = Arc::new(connector.tables.clone());
    let tables_db = tables.clone();
    let cfg = PipelineConfig {
        connector_name: connector.name.clone(),
        prefix: connector.topic_prefix.clone(),
        db: ConnectOptions {
            host: connector.connection.hostname.clone(),
            port: connector.connection.port,
            user: connector.connection.user.clone(),
            password: connector.connection.password.expose().to_string(),
            connect_timeout_ms: connector.connection.connect_timeout_ms,
        },
        server_id: connector.connection.server_id,
        table_filter: Arc::new(move |db, t| tables.is_captured(db, t)),
        db_filter: Arc::new(move |db, _| tables_db.is_database_captured(db)),
        include_schema_changes: connector.streaming.include_schema_changes,
        tombstones_on_delete: connector.streaming.tombstones_on_delete,
        converters,
        sink: SinkConfig {
            bootstrap_servers: worker.bootstrap_servers.clone(),
            overrides,
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
        snapshot: connector.snapshot.clone(),
        telemetry: Arc::new(Telemetry::new(&connector.topic_prefix)),
    };
    if args.check {
        println!("configuration of connector '{}' is valid", connector.name);
        return Ok(());
    }
    let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build()?;
    let metrics_addr = args.metrics_addr;
    rt.block_on(async move {
        if let Some(addr) = metrics_addr {
            let t = cfg.telemetry.clone();
            let bound = cdc_connector::metrics_http::serve(addr, Arc::new(move || t.render()))
                .await
                .map_err(|e| anyhow::anyhow!("--metrics-addr {addr}: {e}"))?;
            info!(metrics_addr = %bound, "serving Prometheus metrics on http://{bound}/metrics");
        }
        let shutdown = async {
            let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()).ok();
            tokio::select! {
                _ = tokio::signal::ctrl_c() => {},
                _ = async { match term.as_mut() { Some(t) => { t.recv().await; } None => std::future::pending::<()>().await } } => {},
            }
            info!("shutting down: flushing records and committing offsets");
        };
        pipeline::run(cfg, start, shutdown).await.map_err(anyhow::Error::from)
    })?;
    Ok(())
}

fn inspect(files: &[PathBuf], opts: &ReadOptions) -> ExitCode {
    let stdout = std::io::stdout();
    let mut out = std::io::BufWriter::new(stdout.lock());
    for f in files {
        let res = inspect_file(f, opts, |row| writeln!(out, "{}", row.to_json()));
        if let Err(e) = res {
            let _ = out.flush();
            eprintln!("cdc-connector inspect: {e}");
            return ExitCode::FAILURE;
        }
    }
    if let Err(e) = out.flush() {
        eprintln!("cdc-connector inspect: writing output: {e}");
        return ExitCode::FAILURE;
    }
    ExitCode::SUCCESS
}
