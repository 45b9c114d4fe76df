//! `hudi-sink`: CLI wiring only (see the library's documentation for the design).

// hudi-rs's write futures are deep (see the library)
#![recursion_limit = "256"]

use std::process::ExitCode;
use std::sync::Arc;

use clap::{Parser, Subcommand};
use hudi_sink::config::RunArgs;
use hudi_sink::sink::Sink;
use hudi_sink::telemetry::Telemetry;
use tracing::{error, info};

/// Fold Debezium change-event topics (Avro through a schema registry, or JSON) into Apache Hudi
/// copy-on-write tables at `<base>/<db>/<table>`, exactly once (checkpoints next to each table).
#[derive(Debug, Parser)]
#[command(name = "hudi-sink", version)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
#[allow(clippy::large_enum_variant)]
enum Command {
    /// Consume the topics and write the tables until SIGTERM/SIGINT.
    Run(RunArgs),
    /// Print a table (snapshot read with hudi-rs) as JSON lines sorted by record key.
    Read {
        /// The table's base path (directory or `s3://bucket/prefix/db/table`).
        path: String,
        #[command(flatten)]
        storage: hudi_sink::config::StorageArgs,
    },
    /// Serve the live flights map (`/`) and its rows as JSON (`/api/flights`) from the Hudi table.
    Serve(hudi_sink::web::ServeArgs),
    /// Run SQL over the Hudi tables (`<db>.<table>`) with DataFusion and print the result.
    Query(hudi_sink::query::QueryArgs),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    cdc_connector::logging::init("info,rdkafka=warn,hudi_core=warn");
    // The AWS credential chain must never try the cloud instance-metadata address.
    if std::env::var_os("AWS_EC2_METADATA_DISABLED").is_none() {
        std::env::set_var("AWS_EC2_METADATA_DISABLED", "true");
    }
    let rt = match tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("hudi-sink: starting the runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    let result = rt.block_on(async move {
        match cli.command {
            Command::Run(args) => run(args).await,
            Command::Read { path, storage } => read(&path, &storage).await,
            Command::Serve(args) => serve(args).await,
            Command::Query(args) => query(args).await,
        }
    });
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            error!("{e:#}");
            eprintln!("hudi-sink: {e:#}");
            ExitCode::FAILURE
        }
    }
}

async fn run(args: RunArgs) -> anyhow::Result<()> {
    let telemetry = Arc::new(Telemetry::new());
    if let Some(addr) = args.metrics_addr {
        let t = telemetry.clone();
        let bound = cdc_connector::metrics_http::serve(addr, Arc::new(move || t.render()))
            .await
            .map_err(|e| anyhow::anyhow!("--metrics-addr {addr}: {e}"))?;
        info!(metrics_addr = %bound, "serving Prometheus metrics on http://{bound}/metrics");
    }
    let (tx, rx) = tokio::sync::watch::channel(false);
    tokio::spawn(async move {
        let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()).ok();
        tokio::select! {
            _ = tokio::signal::ctrl_c() => {},
            _ = async { match term.as_mut() { Some(t) => { t.recv().await; } None => std::future::pending::<()>().await } } => {},
        }
        let _ = tx.send(true);
    });
    info!(topics = %args.topics, base = %args.base_path, group = %args.group_id, "hudi-sink starting");
    let stopped = Sink::new(args, telemetry)?.run(rx).await?;
    if !stopped.is_empty() {
        anyhow::bail!("tables stopped on errors: {}", stopped.join(", "));
    }
    info!("stopped");
    Ok(())
}

async fn read(path: &str, storage: &hudi_sink::config::StorageArgs) -> anyhow::Result<()> {
    let batches = hudi_sink::table::read_table(path, &storage.storage_options()).await.map_err(anyhow::Error::msg)?;
    use std::io::Write;
    let mut out = std::io::stdout().lock();
    for row in hudi_sink::dump::rows(&batches) {
        writeln!(out, "{}", serde_json::Value::Object(row))?;
    }
    Ok(())
}

async fn serve(args: hudi_sink::web::ServeArgs) -> anyhow::Result<()> {
    let table = args.table.clone();
    let bound = hudi_sink::web::serve(args).await?;
    info!(addr = %bound, %table, "serving the flights map on http://{bound}/ (rows as JSON: /api/flights)");
    let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())?;
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {},
        _ = term.recv() => {},
    }
    info!("stopped");
    Ok(())
}

async fn query(args: hudi_sink::query::QueryArgs) -> anyhow::Result<()> {
    let batches = hudi_sink::query::run_sql(&args.base_path, &args.storage.storage_options(), &args.sql)
        .await
        .map_err(anyhow::Error::msg)?;
    hudi_sink::query::print(&batches, args.format, &mut std::io::stdout().lock()).map_err(anyhow::Error::msg)
}
