//! progress: how far a backfill (the records that were already in the topics when their tables
//! were assigned) has come. On a terminal an indicatif bar (records, records/s, ETA); otherwise a
//! log line every 10 s. Backlogs under [`Progress::MIN_BACKLOG`] records show nothing. Counting
//! only: nothing here affects what is written.

use std::io::IsTerminal;
use std::time::{Duration, Instant};

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

const LOG_EVERY: Duration = Duration::from_secs(10);

pub struct Progress {
    backlog: u64,
    done: u64,
    started: Instant,
    last_log: Instant,
    bar: Option<ProgressBar>,
    finished: bool,
}

impl Default for Progress {
    fn default() -> Self {
        Self::new()
    }
}

impl Progress {
    pub const MIN_BACKLOG: u64 = 10_000;

    pub fn new() -> Progress {
        Progress { backlog: 0, done: 0, started: Instant::now(), last_log: Instant::now(), bar: None, finished: true }
    }

    /// A table was assigned with `records` waiting for it.
    pub fn add_backlog(&mut self, records: u64) {
        self.backlog += records;
        if self.backlog - self.done < Self::MIN_BACKLOG {
            return;
        }
        self.finished = false;
        if self.bar.is_none() && std::io::stderr().is_terminal() {
            let bar = ProgressBar::with_draw_target(Some(self.backlog), ProgressDrawTarget::stderr());
            bar.set_style(
                ProgressStyle::with_template("backfill [{bar:30}] {human_pos}/{human_len} records {per_sec} ETA {eta}")
                    .unwrap_or_else(|_| ProgressStyle::default_bar()),
            );
            bar.set_position(self.done);
            self.bar = Some(bar);
        }
        if let Some(b) = &self.bar {
            b.set_length(self.backlog);
        }
    }

    /// One record was taken.
    pub fn record(&mut self) {
        if self.finished {
            return;
        }
        self.done += 1;
        if let Some(b) = &self.bar {
            b.inc(1);
        } else if self.last_log.elapsed() >= LOG_EVERY {
            self.last_log = Instant::now();
            let rate = self.done as f64 / self.started.elapsed().as_secs_f64().max(0.001);
            tracing::info!(records = self.done, of = self.backlog, records_per_s = rate as u64, "backfill");
        }
        if self.done >= self.backlog {
            self.finished = true;
            if let Some(b) = self.bar.take() {
                b.finish_and_clear();
            }
            tracing::info!(records = self.done, secs = self.started.elapsed().as_secs(), "backfill done: caught up");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn small_backlogs_show_nothing_large_ones_finish() {
        let mut p = Progress::new();
        p.add_backlog(10);
        assert!(p.finished);
        p.add_backlog(Progress::MIN_BACKLOG);
        assert!(!p.finished);
        for _ in 0..Progress::MIN_BACKLOG + 10 {
            p.record();
        }
        assert!(p.finished);
        assert_eq!(p.done, Progress::MIN_BACKLOG + 10);
    }
}
