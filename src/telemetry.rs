//! telemetry: the connector's metrics and progress log lines, one function per event kind.
//!
//! Metric names follow what Debezium users already graph from Kafka Connect's JMX exporter
//! (`debezium_metrics_<Attribute>{context="streaming",name="<topic.prefix>",plugin="mysql"}`):
//! `MilliSecondsBehindSource`, `TotalNumberOfEventsSeen`, `NumberOfCommittedTransactions`,
//! `Connected`, plus our own `cdc_connector_*` counters for Kafka and offsets. Metrics live in a
//! private Prometheus recorder, served by `metrics_http::serve` when `--metrics-addr` is given.
//! No event takes a credential, so nothing secret can reach a log line or a metric.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant, SystemTime};

use metrics::{Counter, Gauge, Key, Label, Recorder, SharedString, Unit};
use metrics_exporter_prometheus::{PrometheusBuilder, PrometheusRecorder};
use tracing::info;

/// The connector's metrics.
pub struct Telemetry {
    recorder: PrometheusRecorder,
    behind_ms: Gauge,
    connected: Gauge,
    events_seen: Counter,
    transactions: Counter,
    records: Counter,
    offset_commits: Counter,
    events_total: AtomicU64,
    last_progress: std::sync::Mutex<Instant>,
}

impl Telemetry {
    pub fn new(server_name: &str) -> Telemetry {
        let recorder = PrometheusBuilder::new().build_recorder();
        let meta = metrics::Metadata::new(module_path!(), metrics::Level::INFO, Some(module_path!()));
        let labels = || {
            vec![
                Label::new("context", "streaming"),
                Label::new("name", server_name.to_string()),
                Label::new("plugin", "mysql"),
            ]
        };
        let counter = |name: &'static str, help: &'static str| {
            recorder.describe_counter(name.into(), Some(Unit::Count), SharedString::from(help));
            recorder.register_counter(&Key::from_parts(name, labels()), &meta)
        };
        let gauge = |name: &'static str, help: &'static str| {
            recorder.describe_gauge(name.into(), None, SharedString::from(help));
            recorder.register_gauge(&Key::from_parts(name, labels()), &meta)
        };
        Telemetry {
            behind_ms: gauge(
                "debezium_metrics_MilliSecondsBehindSource",
                "Milliseconds between the last event's binlog timestamp and its processing",
            ),
            connected: gauge("debezium_metrics_Connected", "1 while the binlog connection is up"),
            events_seen: counter("debezium_metrics_TotalNumberOfEventsSeen", "Row change events seen"),
            transactions: counter("debezium_metrics_NumberOfCommittedTransactions", "Transactions committed"),
            records: counter("cdc_connector_records_produced_total", "Records handed to the Kafka producer"),
            offset_commits: counter("cdc_connector_offset_commits_total", "Offset commits written"),
            recorder,
            events_total: AtomicU64::new(0),
            last_progress: std::sync::Mutex::new(Instant::now()),
        }
    }

    /// Prometheus text exposition.
    pub fn render(&self) -> String {
        self.recorder.handle().render()
    }

    pub fn connected(&self, server: &str, mariadb: bool) {
        self.connected.set(1.0);
        info!(server, mariadb, "connected");
    }

    pub fn disconnected(&self) {
        self.connected.set(0.0);
    }

    /// A row change event with binlog timestamp `ts` (seconds) was processed.
    pub fn event_seen(&self, ts: u32) {
        self.events_seen.increment(1);
        self.events_total.fetch_add(1, Ordering::Relaxed);
        let now_ms = SystemTime::now().duration_since(SystemTime::UNIX_EPOCH).unwrap_or_default().as_millis() as i64;
        self.behind_ms.set((now_ms - i64::from(ts) * 1000).max(0) as f64);
    }

    pub fn transaction_committed(&self) {
        self.transactions.increment(1);
    }

    pub fn records_produced(&self, n: u64) {
        self.records.increment(n);
    }

    pub fn offsets_committed(&self, file: &str, pos: u64) {
        self.offset_commits.increment(1);
        tracing::debug!(file, pos, "offsets committed");
    }

    /// A progress line every `every` while events flow (the log is the progress display when
    /// stderr is not a terminal).
    pub fn progress(&self, every: Duration, file: &str, pos: u64) {
        let mut last = self.last_progress.lock().unwrap_or_else(|p| p.into_inner());
        if last.elapsed() < every {
            return;
        }
        *last = Instant::now();
        let events = self.events_total.load(Ordering::Relaxed);
        info!(events, file, pos, "streaming");
    }
}
