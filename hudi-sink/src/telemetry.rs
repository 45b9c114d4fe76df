//! telemetry: hudi-sink's metrics and log lines, one function per event kind.
//!
//! Prometheus metrics (served by `cdc_connector::metrics_http` with `--metrics-addr`), labelled
//! with `table="<db>.<table>"`: `hudi_sink_records_in_total`, `hudi_sink_upserts_total`,
//! `hudi_sink_deletes_total`, `hudi_sink_commits_total`, `hudi_sink_commit_seconds` (summary of
//! the time from batch flush to checkpoint), `hudi_sink_consumer_lag` (records behind the
//! partitions' high watermarks), `hudi_sink_freshness_ms` (now − `source.ts_ms` of the newest
//! committed event) and `hudi_sink_table_stopped` (1 once a table stopped on an error).

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, SystemTime};

use metrics::{Counter, Gauge, Histogram, Key, Label, Recorder, SharedString, Unit};
use metrics_exporter_prometheus::{PrometheusBuilder, PrometheusRecorder};

struct TableMetrics {
    records_in: Counter,
    upserts: Counter,
    deletes: Counter,
    commits: Counter,
    commit_seconds: Histogram,
    lag: Gauge,
    freshness_ms: Gauge,
    stopped: Gauge,
    newest_source_ts_ms: i64,
}

pub struct Telemetry {
    recorder: PrometheusRecorder,
    tables: Mutex<HashMap<String, TableMetrics>>,
}

impl Default for Telemetry {
    fn default() -> Self {
        Self::new()
    }
}

fn now_ms() -> i64 {
    SystemTime::now().duration_since(SystemTime::UNIX_EPOCH).unwrap_or_default().as_millis() as i64
}

impl Telemetry {
    pub fn new() -> Telemetry {
        let recorder = PrometheusBuilder::new().build_recorder();
        for (name, help) in [
            ("hudi_sink_records_in_total", "Kafka records taken (tombstones included)"),
            ("hudi_sink_upserts_total", "Rows upserted into Hudi"),
            ("hudi_sink_deletes_total", "Rows deleted from Hudi"),
            ("hudi_sink_commits_total", "Completed Hudi commits"),
        ] {
            recorder.describe_counter(name.into(), Some(Unit::Count), SharedString::from(help));
        }
        recorder.describe_histogram(
            "hudi_sink_commit_seconds".into(),
            Some(Unit::Seconds),
            SharedString::from("Time from batch flush to checkpoint written"),
        );
        recorder.describe_gauge(
            "hudi_sink_consumer_lag".into(),
            None,
            SharedString::from("Records behind the high watermark"),
        );
        recorder.describe_gauge(
            "hudi_sink_freshness_ms".into(),
            None,
            SharedString::from("Milliseconds between now and source.ts_ms of the newest committed event"),
        );
        recorder.describe_gauge(
            "hudi_sink_table_stopped".into(),
            None,
            SharedString::from("1 once the table stopped on an error"),
        );
        Telemetry { recorder, tables: Mutex::new(HashMap::new()) }
    }

    pub fn render(&self) -> String {
        self.update_freshness();
        self.recorder.handle().render()
    }

    fn with<R>(&self, table: &str, f: impl FnOnce(&mut TableMetrics) -> R) -> R {
        let mut tables = self.tables.lock().unwrap_or_else(|p| p.into_inner());
        let m = tables.entry(table.to_owned()).or_insert_with(|| {
            let meta = metrics::Metadata::new(module_path!(), metrics::Level::INFO, Some(module_path!()));
            let key = |name: &'static str| Key::from_parts(name, vec![Label::new("table", table.to_owned())]);
            TableMetrics {
                records_in: self.recorder.register_counter(&key("hudi_sink_records_in_total"), &meta),
                upserts: self.recorder.register_counter(&key("hudi_sink_upserts_total"), &meta),
                deletes: self.recorder.register_counter(&key("hudi_sink_deletes_total"), &meta),
                commits: self.recorder.register_counter(&key("hudi_sink_commits_total"), &meta),
                commit_seconds: self.recorder.register_histogram(&key("hudi_sink_commit_seconds"), &meta),
                lag: self.recorder.register_gauge(&key("hudi_sink_consumer_lag"), &meta),
                freshness_ms: self.recorder.register_gauge(&key("hudi_sink_freshness_ms"), &meta),
                stopped: self.recorder.register_gauge(&key("hudi_sink_table_stopped"), &meta),
                newest_source_ts_ms: 0,
            }
        });
        f(m)
    }

    fn update_freshness(&self) {
        let now = now_ms();
        let tables = self.tables.lock().unwrap_or_else(|p| p.into_inner());
        for m in tables.values() {
            if m.newest_source_ts_ms > 0 {
                m.freshness_ms.set((now - m.newest_source_ts_ms).max(0) as f64);
            }
        }
    }

    /// A table was assigned, resuming from a checkpoint (`seq`) or from the start offsets.
    pub fn table_assigned(&self, table: &str, uri: &str, checkpoint_seq: Option<u64>, offsets: &str) {
        self.with(table, |m| m.stopped.set(0.0));
        tracing::info!(table, uri, checkpoint = ?checkpoint_seq, offsets, "table assigned");
    }

    pub fn records_in(&self, table: &str, n: u64) {
        self.with(table, |m| m.records_in.increment(n));
    }

    /// A batch of a table was committed and its checkpoint written.
    #[allow(clippy::too_many_arguments)]
    pub fn batch_committed(
        &self,
        table: &str,
        records: usize,
        upserts: usize,
        deletes: usize,
        instants: &[String],
        newest_source_ts_ms: i64,
        checkpoint: &crate::checkpoint::Checkpoint,
        took: Duration,
    ) {
        self.with(table, |m| {
            m.upserts.increment(upserts as u64);
            m.deletes.increment(deletes as u64);
            m.commits.increment(instants.len() as u64);
            m.commit_seconds.record(took.as_secs_f64());
            m.newest_source_ts_ms = m.newest_source_ts_ms.max(newest_source_ts_ms);
        });
        self.update_freshness();
        tracing::info!(
            table,
            records,
            upserts,
            deletes,
            instants = ?instants,
            checkpoint = checkpoint.seq,
            // the next offsets to read, as in the checkpoint: what is now visible in Hudi
            offsets = %serde_json::to_string(&checkpoint.offsets).unwrap_or_default(),
            took_ms = took.as_millis() as u64,
            "batch committed"
        );
    }

    pub fn lag(&self, table: &str, lag: i64) {
        self.with(table, |m| m.lag.set(lag.max(0) as f64));
    }

    /// A table stopped: nothing more is written to it until a restart.
    pub fn table_stopped(&self, table: &str, at: Option<&str>, error: &str) {
        self.with(table, |m| m.stopped.set(1.0));
        tracing::error!(table, at, error, "table stopped: its records are no longer written (checkpoint kept)");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn metrics_render_per_table() {
        let t = Telemetry::new();
        t.records_in("inventory.customers", 3);
        t.batch_committed(
            "inventory.customers",
            3,
            2,
            1,
            &["20240101000000000".into()],
            now_ms() - 5_000,
            &crate::checkpoint::Checkpoint { seq: 1, ..Default::default() },
            Duration::from_millis(40),
        );
        t.table_stopped("inventory.orders", Some("p.inventory.orders/0@5"), "boom");
        let text = t.render();
        for needle in [
            "hudi_sink_records_in_total{table=\"inventory.customers\"} 3",
            "hudi_sink_upserts_total{table=\"inventory.customers\"} 2",
            "hudi_sink_deletes_total{table=\"inventory.customers\"} 1",
            "hudi_sink_commits_total{table=\"inventory.customers\"} 1",
            "hudi_sink_table_stopped{table=\"inventory.orders\"} 1",
            "hudi_sink_freshness_ms{table=\"inventory.customers\"}",
            "hudi_sink_commit_seconds",
        ] {
            assert!(text.contains(needle), "{needle} missing in\n{text}");
        }
    }
}
