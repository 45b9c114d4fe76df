//! Snapshot progress: an indicatif bar per table being read plus a total (rows done / estimated,
//! rows/s, ETA) when stderr is a terminal, `tracing` lines every 10 s otherwise; and the snapshot
//! metrics (`telemetry::SnapshotMetrics`). Estimates come from `information_schema.TABLES`, so the
//! totals are approximate; the counts are exact.

use std::io::IsTerminal;
use std::sync::Arc;
use std::time::{Duration, Instant};

use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};

use super::reader::TableRead;
use crate::telemetry::{SnapshotMetrics, Telemetry};

const LOG_EVERY: Duration = Duration::from_secs(10);

struct Bars {
    multi: MultiProgress,
    total: ProgressBar,
    tables: Vec<Option<ProgressBar>>,
}

pub struct Progress {
    names: Vec<String>,
    estimated: Vec<u64>,
    rows: Vec<u64>,
    total_rows: u64,
    total_estimated: u64,
    started: Instant,
    last_log: Instant,
    metrics: SnapshotMetrics,
    bars: Option<Bars>,
    finished: bool,
}

fn style(template: &str) -> ProgressStyle {
    ProgressStyle::with_template(template).unwrap_or_else(|_| ProgressStyle::default_bar())
}

impl Progress {
    pub fn new(telemetry: Arc<Telemetry>, tables: &[TableRead], started: Instant) -> Progress {
        let names: Vec<String> = tables.iter().map(|t| t.table.id.to_string()).collect();
        let estimated: Vec<u64> = tables.iter().map(|t| t.estimated_rows).collect();
        let total_estimated: u64 = estimated.iter().sum();
        let bars = (std::io::stderr().is_terminal() && !tables.is_empty()).then(|| {
            let multi = MultiProgress::with_draw_target(ProgressDrawTarget::stderr());
            let total = multi.add(ProgressBar::new(total_estimated.max(1)));
            total.set_style(style("snapshot {msg} [{bar:30}] {human_pos}/~{human_len} rows {per_sec} ETA {eta}"));
            total.set_message(format!("0/{} tables", tables.len()));
            Bars { multi, total, tables: (0..tables.len()).map(|_| None).collect() }
        });
        Progress {
            metrics: telemetry.snapshot_started(&names),
            rows: vec![0; names.len()],
            names,
            estimated,
            total_rows: 0,
            total_estimated,
            started,
            last_log: Instant::now(),
            bars,
            finished: false,
        }
    }

    /// One row of `table` was handed to the producer.
    pub fn row(&mut self, table: usize) {
        self.rows[table] += 1;
        self.total_rows += 1;
        self.metrics.row(table);
        if let Some(b) = &mut self.bars {
            let bar = b.tables[table].get_or_insert_with(|| {
                let bar = b.multi.insert_before(&b.total, ProgressBar::new(self.estimated[table].max(1)));
                bar.set_style(style("  {msg:30} [{bar:30}] {human_pos}/~{human_len} rows {per_sec} ETA {eta}"));
                bar.set_message(self.names[table].clone());
                bar
            });
            bar.inc(1);
            if self.rows[table] > self.estimated[table] {
                bar.set_length(self.rows[table]);
            }
            b.total.inc(1);
            if self.total_rows > self.total_estimated {
                b.total.set_length(self.total_rows);
            }
        } else if self.total_rows.is_multiple_of(1024) && self.last_log.elapsed() >= LOG_EVERY {
            self.last_log = Instant::now();
            let secs = self.started.elapsed().as_secs_f64().max(0.001);
            let rate = self.total_rows as f64 / secs;
            let left = self.total_estimated.saturating_sub(self.total_rows);
            tracing::info!(
                table = %self.names[table],
                table_rows = self.rows[table],
                table_estimated = self.estimated[table],
                rows = self.total_rows,
                estimated = self.total_estimated,
                rows_per_sec = rate as u64,
                eta_s = (left as f64 / rate.max(1.0)) as u64,
                "snapshot progress"
            );
        }
    }

    /// Every row of `table` was read.
    pub fn table_done(&mut self, table: usize) {
        self.metrics.table_done();
        let done = self.rows.len() - self.metrics.remaining() as usize;
        match &mut self.bars {
            Some(b) => {
                if let Some(bar) = b.tables[table].take() {
                    bar.finish_and_clear();
                }
                b.total.set_message(format!("{done}/{} tables", self.rows.len()));
            }
            None => tracing::info!(table = %self.names[table], rows = self.rows[table], "snapshot of table done"),
        }
    }

    pub fn finish(&mut self) {
        if std::mem::replace(&mut self.finished, true) {
            return;
        }
        if let Some(b) = &self.bars {
            b.total.finish_and_clear();
        }
        let elapsed = self.started.elapsed();
        self.metrics.completed(elapsed);
        let rate = self.total_rows as f64 / elapsed.as_secs_f64().max(0.001);
        tracing::info!(
            rows = self.total_rows,
            seconds = elapsed.as_secs_f64(),
            rows_per_sec = rate as u64,
            "snapshot data read"
        );
    }

    pub fn abort(&mut self) {
        if std::mem::replace(&mut self.finished, true) {
            return;
        }
        if let Some(b) = &self.bars {
            b.total.abandon();
        }
        self.metrics.aborted(self.started.elapsed());
    }
}
