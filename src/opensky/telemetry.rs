//! telemetry: every log line and metric of the poller is emitted from one function per event
//! kind here, so the names stay consistent and nothing secret can slip into a log line (no event
//! takes a credential).
//!
//! Metrics live in a private Prometheus recorder (no global state, so several pollers can run in
//! one process) and are served as text by [`serve_metrics`] on `GET /metrics`.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use metrics::{Counter, Gauge, Key, Label, Recorder, SharedString, Unit};
use metrics_exporter_prometheus::{PrometheusBuilder, PrometheusRecorder};
use tracing::{error, info, warn};

/// Outcome of one poll attempt (the `outcome` label of `opensky_poller_polls_total`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    Ok,
    RateLimited,
    Transient,
    BadResponse,
    DbError,
}

impl Outcome {
    const ALL: [Outcome; 5] =
        [Outcome::Ok, Outcome::RateLimited, Outcome::Transient, Outcome::BadResponse, Outcome::DbError];
    fn label(self) -> &'static str {
        match self {
            Outcome::Ok => "ok",
            Outcome::RateLimited => "rate_limited",
            Outcome::Transient => "transient_error",
            Outcome::BadResponse => "bad_response",
            Outcome::DbError => "db_error",
        }
    }
}

/// Row counts of one committed poll.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Applied {
    pub inserted: u64,
    pub updated: u64,
    pub deleted: u64,
    pub unchanged: u64,
    pub positions: u64,
}

/// The poller's metrics and log events.
pub struct Telemetry {
    recorder: PrometheusRecorder,
    polls: Vec<(Outcome, Counter)>,
    states: Counter,
    inserted: Counter,
    updated: Counter,
    deleted: Counter,
    positions: Counter,
    credits: Gauge,
    last_success: Gauge,
}

impl Default for Telemetry {
    fn default() -> Self {
        Self::new()
    }
}

impl Telemetry {
    pub fn new() -> Telemetry {
        let recorder = PrometheusBuilder::new().build_recorder();
        let meta = metrics::Metadata::new(module_path!(), metrics::Level::INFO, Some(module_path!()));
        let counter = |name: &'static str, help: &'static str, labels: Vec<Label>| {
            recorder.describe_counter(name.into(), Some(Unit::Count), SharedString::from(help));
            recorder.register_counter(&Key::from_parts(name, labels), &meta)
        };
        let polls = Outcome::ALL
            .iter()
            .map(|o| {
                let c = counter(
                    "opensky_poller_polls_total",
                    "Poll attempts by outcome",
                    vec![Label::new("outcome", o.label())],
                );
                (*o, c)
            })
            .collect();
        let states = counter("opensky_poller_states_received_total", "State vectors received", vec![]);
        let inserted = counter("opensky_poller_rows_inserted_total", "Rows inserted into flights", vec![]);
        let updated = counter("opensky_poller_rows_updated_total", "Rows updated in flights", vec![]);
        let deleted = counter("opensky_poller_rows_deleted_total", "Stale rows deleted from flights", vec![]);
        let positions = counter("opensky_poller_positions_inserted_total", "Rows appended to flight_positions", vec![]);
        recorder.describe_gauge(
            "opensky_poller_api_credits_remaining".into(),
            None,
            "X-Rate-Limit-Remaining of the last API response".into(),
        );
        let credits = recorder.register_gauge(&Key::from_name("opensky_poller_api_credits_remaining"), &meta);
        recorder.describe_gauge(
            "opensky_poller_last_success_timestamp_seconds".into(),
            Some(Unit::Seconds),
            "Unix time of the last committed poll".into(),
        );
        let last_success =
            recorder.register_gauge(&Key::from_name("opensky_poller_last_success_timestamp_seconds"), &meta);
        Telemetry { recorder, polls, states, inserted, updated, deleted, positions, credits, last_success }
    }

    /// Prometheus text exposition of every metric.
    pub fn render(&self) -> String {
        self.recorder.handle().render()
    }

    fn poll(&self, o: Outcome) {
        if let Some((_, c)) = self.polls.iter().find(|(x, _)| *x == o) {
            c.increment(1);
        }
    }

    /// A poll was committed.
    pub fn poll_committed(&self, poll: u64, api_time: i64, states: usize, a: &Applied) {
        self.poll(Outcome::Ok);
        self.states.increment(states as u64);
        self.inserted.increment(a.inserted);
        self.updated.increment(a.updated);
        self.deleted.increment(a.deleted);
        self.positions.increment(a.positions);
        let now = SystemTime::now().duration_since(SystemTime::UNIX_EPOCH).unwrap_or_default();
        self.last_success.set(now.as_secs_f64());
        info!(
            poll,
            api_time,
            states,
            inserted = a.inserted,
            updated = a.updated,
            deleted = a.deleted,
            unchanged = a.unchanged,
            positions = a.positions,
            "poll committed"
        );
    }

    /// The API said how many credits are left.
    pub fn credits_remaining(&self, remaining: f64) {
        self.credits.set(remaining);
    }

    /// 429: the next request waits `retry_after`.
    pub fn rate_limited(&self, poll: u64, retry_after: Duration) {
        self.poll(Outcome::RateLimited);
        warn!(poll, retry_after_s = retry_after.as_secs_f64(), "rate limited by the API (429); waiting as told");
    }

    /// Network error, 5xx, token endpoint down, …: retried after `backoff`.
    pub fn transient(&self, poll: u64, reason: &str, backoff: Duration) {
        self.poll(Outcome::Transient);
        warn!(poll, reason, backoff_s = backoff.as_secs_f64(), "poll failed; retrying after back-off");
    }

    /// The response could not be parsed: nothing was written.
    pub fn bad_response(&self, poll: u64, reason: &str) {
        self.poll(Outcome::BadResponse);
        error!(poll, reason, "response rejected; nothing written for this poll");
    }

    /// The database transaction failed and was rolled back.
    pub fn db_error(&self, poll: u64, reason: &str, backoff: Duration) {
        self.poll(Outcome::DbError);
        error!(poll, reason, backoff_s = backoff.as_secs_f64(), "database write failed; poll rolled back");
    }

    /// A raw response could not be saved under `--record`.
    pub fn record_failed(&self, path: &std::path::Path, reason: &str) {
        warn!(path = %path.display(), reason, "could not record the response");
    }

    pub fn started(&self, source: &str, interval: Duration, credits_per_call: Option<u32>) {
        info!(source, interval_s = interval.as_secs_f64(), credits_per_call, "opensky-poller started");
    }

    pub fn interval_raised(&self, asked: Duration, floor: Duration) {
        warn!(
            asked_s = asked.as_secs_f64(),
            floor_s = floor.as_secs_f64(),
            "--interval is below the API's time resolution; polling every {:?} instead",
            floor
        );
    }

    pub fn metrics_listening(&self, addr: SocketAddr) {
        info!(metrics_addr = %addr, "serving Prometheus metrics on http://{addr}/metrics");
    }

    pub fn replay_finished(&self, polls: u64) {
        info!(polls, "replay finished: no more recorded responses");
    }
}

/// Serve `GET /metrics` on `addr` until the process ends; returns the bound address.
pub async fn serve_metrics(addr: SocketAddr, telemetry: Arc<Telemetry>) -> std::io::Result<SocketAddr> {
    crate::metrics_http::serve(addr, Arc::new(move || telemetry.render())).await
}
