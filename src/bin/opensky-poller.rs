//! `opensky-poller` command line: OpenSky state vectors into MySQL/MariaDB. Wiring only: flags
//! become a `PollerConfig` (secrets read from an env var or a file) and `opensky::poll::run` does
//! the work.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{bail, Context};
use cdc_connector::opensky::config::{
    parse_duration, ApiConfig, Auth, BoundingBox, DbConfig, PollerConfig, Secret, SourceConfig, DEFAULT_BASE_URL,
    DEFAULT_TOKEN_URL,
};
use cdc_connector::opensky::poll::{self, Finished};
use cdc_connector::opensky::telemetry::{serve_metrics, Telemetry};
use clap::Parser;
use tracing::{error, info};

#[derive(Debug, Parser)]
#[command(
    name = "opensky-poller",
    version,
    about = "Poll OpenSky Network state vectors into MySQL/MariaDB (final.flights + final.flight_positions)",
    long_about = "Polls GET {base}/states/all of the OpenSky Network REST API and writes each response into\n\
                  MySQL/MariaDB in one transaction: `flights` holds the current state per aircraft (icao24):\n\
                  new aircraft are inserted, changed ones updated (unchanged ones are not written), aircraft\n\
                  absent for --stale-after are deleted; `flight_positions` is an append-only history keyed\n\
                  (icao24, last_contact). 429 Retry-After is honoured, network errors and 5xx back off\n\
                  exponentially; a response that does not parse is logged and nothing is written for it.\n\n\
                  Secrets are never taken from the command line: the OAuth2 client secret comes from the\n\
                  environment variable named by --client-secret-env or from --client-secret-file, the MySQL\n\
                  password from --mysql-password-env / --mysql-password-file.\n\n\
                  Logs are JSON lines on stderr unless stderr is a terminal (CDC_LOG_FORMAT=text|json forces).\n\n\
                  Examples:\n  \
                  opensky-poller --bbox 45.8389,5.9962,47.8229,10.5226 --create-tables --metrics-addr 127.0.0.1:9477\n  \
                  opensky-poller --replay e2e/opensky-replay --interval 1s --database final --create-tables"
)]
struct Cli {
    /// OpenSky REST API base URL.
    #[arg(long, value_name = "URL", default_value = DEFAULT_BASE_URL)]
    base_url: String,
    /// Bounding box lamin,lomin,lamax,lomax (e.g. Switzerland: 45.8389,5.9962,47.8229,10.5226); default: whole world.
    #[arg(long, value_name = "BOX", allow_hyphen_values = true)]
    bbox: Option<BoundingBox>,
    /// Time between polls (e.g. 30s, 1m); never faster than the API resolution (10 s anonymous, 5 s with an account).
    #[arg(long, value_name = "DURATION", default_value = "30s", value_parser = parse_duration)]
    interval: Duration,
    /// Delete aircraft that are absent from the response and whose last_contact is older than this.
    #[arg(long, value_name = "DURATION", default_value = "5m", value_parser = parse_duration)]
    stale_after: Duration,
    /// Poll once, then exit (exit status 0 only if the poll was written).
    #[arg(long, conflicts_with = "polls")]
    once: bool,
    /// Stop after N poll attempts (default: run until SIGTERM / Ctrl-C).
    #[arg(long, value_name = "N")]
    polls: Option<u64>,
    /// Save each raw API response as DIR/NNNNNN.json (for --replay).
    #[arg(long, value_name = "DIR")]
    record: Option<PathBuf>,
    /// Serve the DIR/*.json responses in name order instead of calling the API (no network), then exit.
    #[arg(long, value_name = "DIR", conflicts_with_all = ["record", "client_id"])]
    replay: Option<PathBuf>,
    /// OAuth2 client id of an OpenSky account (client-credentials flow); anonymous without it.
    #[arg(long, value_name = "ID")]
    client_id: Option<String>,
    /// Environment variable holding the OAuth2 client secret.
    #[arg(long, value_name = "NAME", default_value = "OPENSKY_CLIENT_SECRET")]
    client_secret_env: String,
    /// File holding the OAuth2 client secret (takes precedence over --client-secret-env).
    #[arg(long, value_name = "FILE")]
    client_secret_file: Option<PathBuf>,
    /// OAuth2 token endpoint.
    #[arg(long, value_name = "URL", default_value = DEFAULT_TOKEN_URL)]
    token_url: String,
    /// MySQL/MariaDB host.
    #[arg(long, value_name = "HOST", default_value = "127.0.0.1")]
    mysql_host: String,
    /// MySQL/MariaDB port.
    #[arg(long, value_name = "PORT", default_value_t = 3306)]
    mysql_port: u16,
    /// MySQL/MariaDB user (needs SELECT, INSERT, UPDATE, DELETE; CREATE with --create-tables).
    #[arg(long, value_name = "USER", default_value = "root")]
    mysql_user: String,
    /// Environment variable holding the MySQL password (no password when unset).
    #[arg(long, value_name = "NAME", default_value = "OPENSKY_POLLER_MYSQL_PASSWORD")]
    mysql_password_env: String,
    /// File holding the MySQL password (takes precedence over --mysql-password-env).
    #[arg(long, value_name = "FILE")]
    mysql_password_file: Option<PathBuf>,
    /// Database holding the flights and flight_positions tables.
    #[arg(long, value_name = "NAME", default_value = "final")]
    database: String,
    /// Create the database and the tables (schemas/*.sql) when they are missing.
    #[arg(long)]
    create_tables: bool,
    /// Serve Prometheus metrics on http://ADDR/metrics (e.g. 127.0.0.1:9477; port 0 picks a free one).
    #[arg(long, value_name = "ADDR")]
    metrics_addr: Option<SocketAddr>,
    /// Timeout of one HTTP request.
    #[arg(long, value_name = "DURATION", default_value = "20s", value_parser = parse_duration)]
    request_timeout: Duration,
    /// Testing only: replaces the API-resolution floor of the interval and back-off.
    #[arg(long, hide = true)]
    min_interval_ms: Option<u64>,
    /// First back-off after a failure, doubled per consecutive failure.
    #[arg(long, hide = true, default_value_t = 10_000)]
    backoff_base_ms: u64,
    /// Longest back-off.
    #[arg(long, hide = true, default_value_t = 600_000)]
    backoff_max_ms: u64,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    cdc_connector::logging::init("info,mysql_async=warn,hyper=warn,reqwest=warn");
    match run(cli) {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::FAILURE,
        Err(e) => {
            error!("{e:#}");
            eprintln!("opensky-poller: {e:#}");
            ExitCode::FAILURE
        }
    }
}

/// A secret from a file (trailing newline removed) or from an environment variable.
fn secret(file: Option<&PathBuf>, env: &str) -> anyhow::Result<Option<Secret>> {
    if let Some(f) = file {
        let s = std::fs::read_to_string(f).with_context(|| format!("reading secret file {}", f.display()))?;
        return Ok(Some(Secret::new(s.trim_end_matches(['\r', '\n']))));
    }
    Ok(std::env::var(env).ok().map(Secret::new))
}

fn run(cli: Cli) -> anyhow::Result<bool> {
    let auth = match &cli.client_id {
        None => Auth::Anonymous,
        Some(id) => {
            let Some(secret) = secret(cli.client_secret_file.as_ref(), &cli.client_secret_env)? else {
                bail!(
                    "--client-id needs its secret in the environment variable {} or in --client-secret-file",
                    cli.client_secret_env
                );
            };
            Auth::ClientCredentials { client_id: id.clone(), secret, token_url: cli.token_url.clone() }
        }
    };
    let min_interval = cli.min_interval_ms.map(Duration::from_millis).unwrap_or_else(|| auth.resolution());
    let source = match &cli.replay {
        Some(dir) => SourceConfig::Replay(dir.clone()),
        None => SourceConfig::Api(ApiConfig { base_url: cli.base_url.clone(), bbox: cli.bbox, auth }),
    };
    let cfg = PollerConfig {
        source,
        record_dir: cli.record.clone(),
        interval: cli.interval,
        min_interval,
        backoff_base: Duration::from_millis(cli.backoff_base_ms),
        backoff_max: Duration::from_millis(cli.backoff_max_ms.max(cli.backoff_base_ms)),
        stale_after: cli.stale_after,
        max_polls: if cli.once { Some(1) } else { cli.polls },
        request_timeout: cli.request_timeout,
        db: DbConfig {
            host: cli.mysql_host.clone(),
            port: cli.mysql_port,
            user: cli.mysql_user.clone(),
            password: secret(cli.mysql_password_file.as_ref(), &cli.mysql_password_env)?,
            database: cli.database.clone(),
            create_tables: cli.create_tables,
        },
        metrics_addr: cli.metrics_addr,
    };
    let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build()?;
    rt.block_on(async move {
        let telemetry = Arc::new(Telemetry::new());
        if let Some(addr) = cfg.metrics_addr {
            let bound = serve_metrics(addr, telemetry.clone()).await.with_context(|| format!("--metrics-addr {addr}"))?;
            telemetry.metrics_listening(bound);
        }
        let shutdown = async {
            let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()).ok();
            tokio::select! {
                _ = tokio::signal::ctrl_c() => {},
                _ = async { match term.as_mut() { Some(t) => { t.recv().await; } None => std::future::pending::<()>().await } } => {},
            }
            info!("shutting down");
        };
        match poll::run(cfg, telemetry, shutdown).await? {
            Finished::PollsDone { last_ok } => Ok(last_ok),
            Finished::ReplayDone | Finished::Shutdown => Ok(true),
        }
    })
}
