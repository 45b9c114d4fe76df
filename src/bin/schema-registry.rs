//! `schema-registry` command line: a Confluent-compatible schema registry backed by a Kafka topic.
//! Wiring only: flags → `StoreConfig`, open the store (replaying the topic), serve the axum router
//! until SIGINT/SIGTERM.

use std::net::SocketAddr;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use cdc_connector::registry::{api, KafkaStore, Registry, StoreConfig};
use clap::Parser;
use tracing::{error, info};

#[derive(Debug, Parser)]
#[command(
    name = "schema-registry",
    version,
    about = "Confluent Schema Registry-compatible server (Avro) storing its state in a Kafka topic",
    long_about = "Serves the Confluent Schema Registry REST API subset that Confluent's serializers and Debezium's\n\
                  AvroConverter use: subjects, versions, global ids, lookup, soft/permanent delete, compatibility\n\
                  levels (BACKWARD by default) and tests, mode and schema types.\n\n\
                  State lives in a compacted Kafka topic (default `_schemas`, created if missing) in Confluent's own\n\
                  record format, replayed at start-up: ids survive restarts, and several registries may share a topic\n\
                  (each one re-reads the topic before a write).\n\n\
                  Example:\n  schema-registry --bootstrap-servers 127.0.0.1:9092 --listen 127.0.0.1:8081\n\n\
                  Logs go to stderr: text on a terminal, JSON lines otherwise (CDC_LOG_FORMAT=text|json overrides;\n\
                  RUST_LOG sets the filter, default info)."
)]
struct Cli {
    /// Address to serve HTTP on.
    #[arg(long, value_name = "ADDR:PORT", default_value = "127.0.0.1:8081")]
    listen: SocketAddr,
    /// Kafka bootstrap servers holding the schemas topic.
    #[arg(long, value_name = "HOST:PORT,...", default_value = "127.0.0.1:9092")]
    bootstrap_servers: String,
    /// The compacted topic storing schemas and configuration (Confluent's `kafkastore.topic`).
    #[arg(long, value_name = "NAME", default_value = "_schemas")]
    topic: String,
    /// Kafka client properties file (repeatable), Java names as in Kafka's client.properties or
    /// Confluent's kafkastore.* without the prefix: security.protocol, sasl.mechanism (PLAIN,
    /// SCRAM-SHA-256/512, AWS_MSK_IAM), sasl.jaas.config, ssl.truststore.location (PEM),
    /// ssl.keystore.location (PEM or PKCS12), ...; librdkafka's own names are accepted too.
    /// `config.providers` in the file resolves ${env:NAME} and ${file:PATH:KEY} references.
    #[arg(long = "kafka-config", value_name = "FILE")]
    kafka_config: Vec<std::path::PathBuf>,
    /// One Kafka client property (repeatable; wins over --kafka-config), e.g. security.protocol=SSL.
    #[arg(long = "kafka-property", value_name = "KEY=VALUE", value_parser = parse_kv)]
    kafka_properties: Vec<(String, String)>,
    /// Time limit for one write or read-to-end of the topic, in milliseconds (then the request fails with 50002).
    #[arg(long, value_name = "MS", default_value_t = 10_000)]
    timeout_ms: u64,
    /// How long start-up keeps retrying while Kafka is unreachable, in milliseconds.
    #[arg(long, value_name = "MS", default_value_t = 60_000)]
    startup_timeout_ms: u64,
}

fn parse_kv(s: &str) -> Result<(String, String), String> {
    s.split_once('=')
        .map(|(k, v)| (k.trim().to_string(), v.trim().to_string()))
        .filter(|(k, _)| !k.is_empty())
        .ok_or_else(|| format!("expected KEY=VALUE, got '{s}'"))
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    cdc_connector::logging::init("info,rdkafka=warn");
    let rt = match tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("schema-registry: starting the runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match rt.block_on(run(cli)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            error!("{e:#}");
            eprintln!("schema-registry: {e:#}");
            ExitCode::FAILURE
        }
    }
}

async fn run(cli: Cli) -> anyhow::Result<()> {
    let cfg = StoreConfig {
        bootstrap_servers: cli.bootstrap_servers.clone(),
        topic: cli.topic.clone(),
        client: cdc_connector::kafka_client::from_command_line(
            &cli.kafka_config,
            &cli.kafka_properties,
            &cli.bootstrap_servers,
        )?,
        operation_timeout: Duration::from_millis(cli.timeout_ms.max(1)),
        startup_timeout: Duration::from_millis(cli.startup_timeout_ms),
    };
    info!(bootstrap = %cfg.bootstrap_servers, topic = %cfg.topic, "reading the schemas topic");
    let store = KafkaStore::open(cfg).await?;
    let app = api::router(Arc::new(Registry::new(store)));
    let listener = tokio::net::TcpListener::bind(cli.listen)
        .await
        .map_err(|e| anyhow::anyhow!("listening on {}: {e}", cli.listen))?;
    info!(listen = %listener.local_addr()?, "schema registry ready");
    axum::serve(listener, app).with_graceful_shutdown(shutdown()).await?;
    info!("stopped");
    Ok(())
}

async fn shutdown() {
    let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()).ok();
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {},
        _ = async { match term.as_mut() { Some(t) => { t.recv().await; } None => std::future::pending::<()>().await } } => {},
    }
    info!("shutting down");
}
