//! `cdc-connector` command line: run the connector from a Kafka Connect worker file and a
//! connector config, `serve` a Kafka Connect worker with its REST API, or `inspect` binlog files.
//! Wiring only: configuration is turned into a `PipelineConfig` and handed to `pipeline::run`, or
//! to the `worker`.

use std::io::Write;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use cdc_connector::config::{read_config_file, ConnectorConfig, WorkerConfig};
use cdc_connector::inspect::{inspect_file, ReadOptions};
use cdc_connector::pipeline::{self, StartPosition};
use cdc_connector::sink::topics::KafkaClient;
use cdc_connector::telemetry::Telemetry;
use cdc_connector::worker::{build, rest, Worker};
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
    /// Where to start: latest (end of the binlog), earliest, FILE:POS or a MariaDB GTID set (0-1-61,...: after
    /// those transactions) stream from there without a snapshot; resume requires a stored offset. Without it: the
    /// stored offset, or (none stored) what snapshot.mode says (initial: snapshot, then stream).
    #[arg(long, value_name = "POS")]
    binlog_pos: Option<String>,
    /// Check everything a start needs and exit: the configuration, then (one report, every problem
    /// at once) Kafka's brokers and login, the database connection, binlog settings, privileges,
    /// a database.server.id clash with a connected replica, GTID mode and whether the stored
    /// offset's binlog file is still on the server. Exit status 1 if anything would stop the start.
    #[arg(long)]
    check: bool,
    /// Serve Prometheus metrics on http://ADDR/metrics (e.g. 127.0.0.1:9404); off when not given.
    #[arg(long, value_name = "ADDR")]
    metrics_addr: Option<std::net::SocketAddr>,
}

#[derive(Debug, Args)]
struct ServeArgs {
    /// Kafka Connect worker properties (bootstrap.servers, converters, offset.storage.*, config.storage.topic, producer.*).
    #[arg(long, value_name = "FILE")]
    worker: PathBuf,
    /// Port of the REST API.
    #[arg(long, value_name = "PORT", default_value_t = 8083)]
    rest_port: u16,
    /// Address the REST API listens on (loopback by default; 0.0.0.0 for every interface).
    #[arg(long, value_name = "ADDR", default_value = "127.0.0.1")]
    rest_host: std::net::IpAddr,
    /// Serve every connector's Prometheus metrics on http://ADDR/metrics (e.g. 127.0.0.1:9404).
    #[arg(long, value_name = "ADDR")]
    metrics_addr: Option<SocketAddr>,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run a Kafka Connect worker: any number of connectors, managed over Kafka Connect's REST API.
    #[command(
        long_about = "Run a Kafka Connect worker that hosts any number of MySQL/MariaDB connectors, managed over \
Kafka Connect's REST API (the same paths, status codes and JSON as Kafka Connect 3.x/4.x): POST /connectors, \
GET /connectors/{name}/status, PUT /connectors/{name}/pause|resume|stop, the offsets API of KIP-875, ...\n\n\
Connector configs and target states (RUNNING, PAUSED, STOPPED) persist in the worker's config.storage.topic \
(Kafka Connect's config topic format), or else in config.storage.file.filename, or else in \
<offset.storage.file.filename>.connectors.json; a restarted worker resumes every connector from its offsets.\n\n\
Example:\n  cdc-connector serve --worker worker.properties\n  \
curl -X POST -H 'Content-Type: application/json' http://127.0.0.1:8083/connectors -d @register-mysql.json"
    )]
    Serve(ServeArgs),
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

fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        Some(Command::Inspect { files, max_payload_bytes }) => inspect(&files, &ReadOptions { max_payload_bytes }),
        Some(Command::Serve(args)) => {
            cdc_connector::logging::init("info,rdkafka=warn,mysql_async=warn");
            match serve(args) {
                Ok(()) => ExitCode::SUCCESS,
                Err(e) => {
                    eprintln!("cdc-connector serve: {e:#}");
                    ExitCode::FAILURE
                }
            }
        }
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
    let connector = ConnectorConfig::from_file_with(&connector_path, &worker.providers)?;
    let raw = read_config_file(&connector_path)?;
    for w in build::warnings(&connector, &raw.props) {
        warn!("{w}");
    }
    let telemetry = Arc::new(Telemetry::new(&connector.topic_prefix));
    let cfg = build::pipeline_config(&worker, &connector, telemetry)?;
    let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build()?;
    if args.check {
        println!("ok   {:<22} connector '{}' is valid", "configuration", connector.name);
        let findings = rt.block_on(pipeline::preflight::run(&cfg));
        for f in &findings {
            println!("{f}");
        }
        let failed = findings.iter().filter(|f| f.outcome == pipeline::preflight::Outcome::Fail).count();
        if failed > 0 {
            anyhow::bail!("--check: {failed} problem(s) would stop the connector (FAIL lines above)");
        }
        println!("connector '{}' is ready to start", connector.name);
        return Ok(());
    }
    let metrics_addr = args.metrics_addr;
    rt.block_on(async move {
        if let Some(addr) = metrics_addr {
            let t = cfg.telemetry.clone();
            serve_metrics(addr, Arc::new(move || t.render())).await?;
        }
        let shutdown = async {
            termination().await;
            info!("shutting down: flushing records and committing offsets");
        };
        pipeline::run(cfg, start, shutdown).await.map_err(anyhow::Error::from)
    })?;
    Ok(())
}

/// Ctrl-C or SIGTERM.
async fn termination() {
    let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()).ok();
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {},
        _ = async { match term.as_mut() { Some(t) => { t.recv().await; } None => std::future::pending::<()>().await } } => {},
    }
}

async fn serve_metrics(addr: SocketAddr, render: Arc<dyn Fn() -> String + Send + Sync>) -> anyhow::Result<()> {
    let bound = cdc_connector::metrics_http::serve(addr, render)
        .await
        .map_err(|e| anyhow::anyhow!("--metrics-addr {addr}: {e}"))?;
    info!(metrics_addr = %bound, "serving Prometheus metrics on http://{bound}/metrics");
    Ok(())
}

/// `serve`: a Kafka Connect worker with its REST API, running every stored connector.
fn serve(args: ServeArgs) -> anyhow::Result<()> {
    let worker = WorkerConfig::from_properties_file(&args.worker)?;
    let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build()?;
    rt.block_on(async move {
        let addr = SocketAddr::new(args.rest_host, args.rest_port);
        let listener = tokio::net::TcpListener::bind(addr).await.map_err(|e| {
            anyhow::anyhow!("--rest-host {} --rest-port {}: cannot listen: {e}", args.rest_host, args.rest_port)
        })?;
        let bound = listener.local_addr()?;
        let client =
            KafkaClient { bootstrap_servers: worker.bootstrap_servers.clone(), settings: worker.internal_client()? };
        let cluster_id = match client.cluster_id().await {
            Ok(id) => id,
            Err(e) => {
                warn!(error = %e, "cannot read the Kafka cluster id (GET / shows null)");
                None
            }
        };
        let recorder = Arc::new(Telemetry::recorder());
        let w = Worker::start(worker, bound.to_string(), recorder, cluster_id).await.map_err(|e| anyhow::anyhow!(e))?;
        if let Some(addr) = args.metrics_addr {
            let w = w.clone();
            serve_metrics(addr, Arc::new(move || w.render_metrics())).await?;
        }
        info!(rest = %format!("http://{bound}/"), configs = %w.storage(), "Kafka Connect REST API listening");
        let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
        let server = tokio::spawn(rest::serve(listener, w.clone(), async move {
            let _ = stop_rx.await;
        }));
        termination().await;
        info!("shutting down: stopping every connector (flushing records and committing offsets)");
        let _ = stop_tx.send(());
        w.shutdown().await;
        if let Ok(Ok(Err(e))) = tokio::time::timeout(Duration::from_secs(10), server).await {
            warn!(error = %e, "REST server stopped with an error");
        }
        Ok::<(), anyhow::Error>(())
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
