//! telemetry: the connector's metrics and progress log lines, one function per event kind.
//!
//! Metric names follow what Debezium users already graph from Kafka Connect's JMX exporter
//! (`debezium_metrics_<Attribute>{context="streaming",name="<topic.prefix>",plugin="mysql"}`):
//! `MilliSecondsBehindSource`, `TotalNumberOfEventsSeen`, `NumberOfCommittedTransactions`,
//! `Connected`, plus our own `cdc_connector_*` counters for Kafka and offsets. The snapshot's metrics
//! (`context="snapshot"`: `SnapshotRunning`, `SnapshotCompleted`, `SnapshotAborted`,
//! `SnapshotDurationInSeconds`, `TotalTableCount`, `RemainingTableCount`, `RowsScanned{table=..}`,
//! `TotalNumberOfEventsSeen`) are Debezium's snapshot MBean attributes ([`SnapshotMetrics`]). Metrics live in a
//! private Prometheus recorder, served by `metrics_http::serve` when `--metrics-addr` is given.
//! No event takes a credential, so nothing secret can reach a log line or a metric.
//!
//! The connectors of one worker (`cdc-connector serve`) share one recorder
//! ([`Telemetry::shared`]), so one `/metrics` page lists them all; each of their metrics carries
//! a `connector="<name>"` label besides Debezium's `name="<topic.prefix>"`, so two connectors never
//! collide (not even with the same `topic.prefix`), and a connector restarted by the worker
//! (resume, new config) continues its own counters.

use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use metrics::{Counter, Gauge, Key, Label, Recorder, SharedString, Unit};
use metrics_exporter_prometheus::{PrometheusBuilder, PrometheusRecorder};
use tracing::info;

/// The connector's metrics.
pub struct Telemetry {
    recorder: Arc<PrometheusRecorder>,
    server_name: String,
    /// `connector="<name>"` when the recorder is shared by a worker's connectors.
    connector: Option<String>,
    behind_ms: Gauge,
    connected: Gauge,
    events_seen: Counter,
    transactions: Counter,
    records: Counter,
    offset_commits: Counter,
    reconnects: Counter,
    events_total: AtomicU64,
    last_progress: std::sync::Mutex<Instant>,
}

impl Telemetry {
    /// Metrics of a connector in a private recorder.
    pub fn new(server_name: &str) -> Telemetry {
        Telemetry::build(Arc::new(Self::recorder()), server_name, None)
    }

    /// A recorder to share between the connectors of a worker ([`Self::shared`]).
    pub fn recorder() -> PrometheusRecorder {
        PrometheusBuilder::new().build_recorder()
    }

    /// Metrics of connector `connector` in a recorder shared with the worker's other connectors
    /// (labelled `connector="<name>"`).
    pub fn shared(recorder: Arc<PrometheusRecorder>, server_name: &str, connector: &str) -> Telemetry {
        Telemetry::build(recorder, server_name, Some(connector.to_string()))
    }

    fn build(recorder: Arc<PrometheusRecorder>, server_name: &str, connector: Option<String>) -> Telemetry {
        let meta = metrics::Metadata::new(module_path!(), metrics::Level::INFO, Some(module_path!()));
        let labels = || label_set("streaming", server_name, connector.as_deref(), None);
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
            reconnects: counter(
                "cdc_connector_reconnects_total",
                "Restarts from the committed offset after a lost connection",
            ),
            recorder,
            server_name: server_name.to_string(),
            connector,
            events_total: AtomicU64::new(0),
            last_progress: std::sync::Mutex::new(Instant::now()),
        }
    }

    fn snapshot_labels(&self, extra: Option<(&'static str, String)>) -> Vec<Label> {
        label_set("snapshot", &self.server_name, self.connector.as_deref(), extra)
    }

    /// A snapshot of `tables` (`db.table`) starts: its metrics, with Debezium's snapshot names.
    pub fn snapshot_started(&self, tables: &[String]) -> SnapshotMetrics {
        let meta = metrics::Metadata::new(module_path!(), metrics::Level::INFO, Some(module_path!()));
        let gauge = |name: &'static str, help: &'static str| {
            self.recorder.describe_gauge(name.into(), None, SharedString::from(help));
            self.recorder.register_gauge(&Key::from_parts(name, self.snapshot_labels(None)), &meta)
        };
        let rows_name = "debezium_metrics_RowsScanned";
        self.recorder.describe_counter(rows_name.into(), Some(Unit::Count), SharedString::from("Rows read per table"));
        let rows = tables
            .iter()
            .map(|t| {
                let key = Key::from_parts(rows_name, self.snapshot_labels(Some(("table", t.clone()))));
                self.recorder.register_counter(&key, &meta)
            })
            .collect();
        let events_name = "debezium_metrics_TotalNumberOfEventsSeen";
        let events = self.recorder.register_counter(&Key::from_parts(events_name, self.snapshot_labels(None)), &meta);
        let m = SnapshotMetrics {
            running: gauge("debezium_metrics_SnapshotRunning", "1 while a snapshot runs"),
            completed: gauge("debezium_metrics_SnapshotCompleted", "1 once the snapshot completed"),
            aborted: gauge("debezium_metrics_SnapshotAborted", "1 when the snapshot was aborted"),
            duration: gauge("debezium_metrics_SnapshotDurationInSeconds", "Seconds the snapshot took (so far)"),
            total_tables: gauge("debezium_metrics_TotalTableCount", "Tables the snapshot reads"),
            remaining_tables: gauge("debezium_metrics_RemainingTableCount", "Tables the snapshot has yet to finish"),
            remaining: AtomicI64::new(tables.len() as i64),
            started: Instant::now(),
            rows,
            events,
        };
        m.running.set(1.0);
        m.completed.set(0.0);
        m.aborted.set(0.0);
        m.total_tables.set(tables.len() as f64);
        m.remaining_tables.set(tables.len() as f64);
        info!(tables = tables.len(), "snapshot started");
        m
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

    /// The pipeline starts again after a transient failure.
    pub fn reconnecting(&self) {
        self.connected.set(0.0);
        self.reconnects.increment(1);
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

/// Debezium's labels (`context`, `name`, `plugin`), then `connector` when shared, then `extra`.
fn label_set(
    context: &'static str,
    server_name: &str,
    connector: Option<&str>,
    extra: Option<(&'static str, String)>,
) -> Vec<Label> {
    let mut l = vec![
        Label::new("context", context),
        Label::new("name", server_name.to_string()),
        Label::new("plugin", "mysql"),
    ];
    if let Some(c) = connector {
        l.push(Label::new("connector", c.to_string()));
    }
    if let Some((k, v)) = extra {
        l.push(Label::new(k, v));
    }
    l
}

/// Debezium's snapshot metrics of one snapshot (from [`Telemetry::snapshot_started`]).
pub struct SnapshotMetrics {
    running: Gauge,
    completed: Gauge,
    aborted: Gauge,
    duration: Gauge,
    total_tables: Gauge,
    remaining_tables: Gauge,
    remaining: AtomicI64,
    started: Instant,
    rows: Vec<Counter>,
    events: Counter,
}

impl SnapshotMetrics {
    /// A row of table number `table` (index into the started list) was read.
    pub fn row(&self, table: usize) {
        if let Some(c) = self.rows.get(table) {
            c.increment(1);
        }
        self.events.increment(1);
    }

    /// One more table is done.
    pub fn table_done(&self) {
        let left = self.remaining.fetch_sub(1, Ordering::Relaxed) - 1;
        self.remaining_tables.set(left.max(0) as f64);
        self.duration.set(self.started.elapsed().as_secs() as f64);
    }

    /// Tables not finished yet.
    pub fn remaining(&self) -> u64 {
        self.remaining.load(Ordering::Relaxed).max(0) as u64
    }

    pub fn completed(&self, took: Duration) {
        self.running.set(0.0);
        self.completed.set(1.0);
        self.duration.set(took.as_secs() as f64);
    }

    pub fn aborted(&self, took: Duration) {
        self.running.set(0.0);
        self.aborted.set(1.0);
        self.duration.set(took.as_secs() as f64);
    }
}
