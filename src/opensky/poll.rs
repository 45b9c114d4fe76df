//! poll: the poll loop — fetch, parse, write, then wait for the next poll.
//!
//! ```text
//!   ┌──────── wait until next_at (or shutdown) ◄──────────────────────────────┐
//!   ▼                                                                          │
//! fetch ──200──► [record] ─► parse ──ok──► store.apply (1 transaction) ──ok──► next_at = start + interval
//!   │                          └─err─► log reason, nothing written ──────────► next_at = start + interval
//!   ├─429──────► next_at = now + max(Retry-After, interval)         (store error ► back-off)
//!   ├─transient► next_at = now + back-off(consecutive failures)
//!   └─401 twice / other 4xx / missing tables ─► stop with the reason (exit non-zero)
//! ```
//!
//! Back-off: `base · 2^(failures-1)`, capped at `backoff_max`, with "equal jitter" (a uniformly
//! random point in the upper half), never below the `min_interval` floor; any success resets it.
//! A poll is never retried with stale data: after a failure the next request fetches fresh states.
//!
//! The loop never exits on a transient failure; it stops on shutdown, after `max_polls`
//! attempts, when a replay is exhausted, or on a definite error.

use std::future::Future;
use std::pin::pin;
use std::sync::Arc;
use std::time::Duration;

use rand::Rng;
use tokio::time::Instant;

use super::api::{self, FetchError, Fetcher};
use super::config::{PollerConfig, SourceConfig};
use super::state;
use super::store::{Store, StoreError};
use super::telemetry::Telemetry;

/// When the next poll may start.
#[derive(Debug, Clone)]
pub struct Schedule {
    pub interval: Duration,
    pub floor: Duration,
    pub backoff_base: Duration,
    pub backoff_max: Duration,
    failures: u32,
}

impl Schedule {
    pub fn new(interval: Duration, floor: Duration, backoff_base: Duration, backoff_max: Duration) -> Schedule {
        Schedule { interval: interval.max(floor), floor, backoff_base, backoff_max, failures: 0 }
    }

    /// After a successful (or rejected-but-answered) poll that started at `started`.
    pub fn after_success(&mut self, started: Instant) -> Instant {
        self.failures = 0;
        started + self.interval
    }

    /// After a 429: at least `retry_after` (or the back-off when the API did not say) and the interval.
    pub fn after_rate_limit(&mut self, now: Instant, retry_after: Option<Duration>) -> Instant {
        match retry_after {
            Some(d) => now + d.max(self.interval),
            None => self.after_failure(now),
        }
    }

    /// After a transient failure: exponential back-off with jitter.
    pub fn after_failure(&mut self, now: Instant) -> Instant {
        self.failures = self.failures.saturating_add(1);
        now + self.backoff(&mut rand::rng())
    }

    /// The current back-off delay, drawn from `[d/2, d]` where `d = base·2^(failures-1)` capped.
    pub fn backoff(&self, rng: &mut impl Rng) -> Duration {
        let exp = self.failures.saturating_sub(1).min(30);
        let d = self.backoff_base.saturating_mul(1u32 << exp).min(self.backoff_max);
        let half = d / 2;
        let jitter = if half.is_zero() { Duration::ZERO } else { half.mul_f64(rng.random::<f64>()) };
        (half + jitter).max(self.floor)
    }
}

/// How the loop ended.
#[derive(Debug, PartialEq, Eq)]
pub enum Finished {
    /// `max_polls` reached; whether the last attempt was committed.
    PollsDone { last_ok: bool },
    /// Every recorded response was replayed.
    ReplayDone,
    /// Shutdown was requested.
    Shutdown,
}

#[derive(Debug, thiserror::Error)]
pub enum PollerError {
    #[error("{0}")]
    Config(String),
    #[error("{0}")]
    Unauthorized(String),
    #[error("the API refused the request: {0}")]
    Definite(String),
    #[error(transparent)]
    Store(StoreError),
}

/// Run the poller until it finishes (see [`Finished`]) or fails definitely.
pub async fn run(
    cfg: PollerConfig,
    telemetry: Arc<Telemetry>,
    shutdown: impl Future<Output = ()>,
) -> Result<Finished, PollerError> {
    let (mut fetcher, floor, source, credits) = match &cfg.source {
        SourceConfig::Api(a) => {
            let h = api::HttpApi::new(a, cfg.request_timeout).map_err(PollerError::Config)?;
            let credits = super::config::BoundingBox::credits(a.bbox.as_ref());
            (Fetcher::Http(h), cfg.min_interval, a.base_url.clone(), Some(credits))
        }
        SourceConfig::Replay(dir) => {
            let r = api::Replay::open(dir).map_err(PollerError::Config)?;
            (Fetcher::Replay(r), Duration::ZERO, format!("replay:{}", dir.display()), None)
        }
    };
    if cfg.interval < floor {
        telemetry.interval_raised(cfg.interval, floor);
    }
    let mut schedule = Schedule::new(cfg.interval, floor, cfg.backoff_base, cfg.backoff_max);
    let mut store = Store::new(&cfg.db).map_err(PollerError::Store)?;
    telemetry.started(&source, schedule.interval, credits);

    let mut shutdown = pin!(shutdown);
    let mut next_at = Instant::now();
    let mut attempts: u64 = 0;
    let result = loop {
        if let Some(max) = cfg.max_polls {
            if attempts >= max {
                break Ok(Finished::PollsDone { last_ok: false });
            }
        }
        tokio::select! {
            _ = &mut shutdown => break Ok(Finished::Shutdown),
            _ = tokio::time::sleep_until(next_at) => {}
        }
        attempts += 1;
        let started = Instant::now();
        let outcome = tokio::select! {
            _ = &mut shutdown => break Ok(Finished::Shutdown),
            o = poll_once(&cfg, &mut fetcher, &mut store, &telemetry, attempts) => o,
        };
        match outcome {
            Ok(committed) => {
                next_at = schedule.after_success(started);
                if cfg.max_polls == Some(attempts) {
                    break Ok(Finished::PollsDone { last_ok: committed });
                }
            }
            Err(Step::RateLimited(retry_after)) => {
                next_at = schedule.after_rate_limit(Instant::now(), retry_after);
                telemetry.rate_limited(attempts, next_at - Instant::now());
            }
            Err(Step::Transient(reason)) => {
                next_at = schedule.after_failure(Instant::now());
                telemetry.transient(attempts, &reason, next_at - Instant::now());
            }
            Err(Step::Db(e)) => {
                next_at = schedule.after_failure(Instant::now());
                telemetry.db_error(attempts, &super::api::error_chain(&e), next_at - Instant::now());
            }
            Err(Step::Stop(e)) => break Err(e),
            Err(Step::Exhausted) => {
                telemetry.replay_finished(attempts - 1);
                break Ok(Finished::ReplayDone);
            }
        }
    };
    store.close().await;
    result
}

enum Step {
    RateLimited(Option<Duration>),
    Transient(String),
    Db(StoreError),
    Stop(PollerError),
    Exhausted,
}

/// One attempt. `Ok(true)` = committed, `Ok(false)` = answered but rejected (logged, nothing written).
async fn poll_once(
    cfg: &PollerConfig,
    fetcher: &mut Fetcher,
    store: &mut Store,
    telemetry: &Telemetry,
    poll: u64,
) -> Result<bool, Step> {
    let fetched = fetcher.fetch().await.map_err(|e| match e {
        FetchError::RateLimited { retry_after } => Step::RateLimited(retry_after),
        FetchError::Transient(m) => Step::Transient(m),
        FetchError::Unauthorized(m) => Step::Stop(PollerError::Unauthorized(m)),
        FetchError::Definite(m) => Step::Stop(PollerError::Definite(m)),
        FetchError::Exhausted => Step::Exhausted,
    })?;
    if let Some(c) = fetched.credits_remaining {
        telemetry.credits_remaining(c);
    }
    if let (Some(dir), true) = (&cfg.record_dir, fetched.live) {
        if let Err(e) = api::record(dir, &fetched.body) {
            telemetry.record_failed(dir, &e.to_string());
        }
    }
    let snapshot = match state::parse(&fetched.body) {
        Ok(s) => s,
        Err(e) => {
            telemetry.bad_response(poll, &e.to_string());
            return Ok(false);
        }
    };
    match store.apply(&snapshot, cfg.stale_after).await {
        Ok(applied) => {
            telemetry.poll_committed(poll, snapshot.time, snapshot.states.len(), &applied);
            Ok(true)
        }
        Err(e @ (StoreError::MissingTables { .. } | StoreError::BadName(_))) => Err(Step::Stop(PollerError::Store(e))),
        Err(e) => Err(Step::Db(e)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_with_jitter_and_caps() {
        let mut s = Schedule::new(
            Duration::from_secs(30),
            Duration::from_secs(10),
            Duration::from_secs(10),
            Duration::from_secs(300),
        );
        let mut rng = rand::rng();
        let t0 = Instant::now();
        for k in 1..=8u32 {
            s.after_failure(t0);
            let want = Duration::from_secs(10 * (1u64 << (k - 1))).min(Duration::from_secs(300));
            for _ in 0..20 {
                let b = s.backoff(&mut rng);
                assert!(
                    b >= (want / 2).max(Duration::from_secs(10)) && b <= want.max(Duration::from_secs(10)),
                    "{k}: {b:?}"
                );
            }
        }
        assert_eq!(s.after_success(t0), t0 + Duration::from_secs(30));
        assert_eq!(s.after_rate_limit(t0, Some(Duration::from_secs(100))), t0 + Duration::from_secs(100));
        assert_eq!(s.after_rate_limit(t0, Some(Duration::from_secs(1))), t0 + Duration::from_secs(30));
    }

    #[test]
    fn interval_never_below_floor() {
        let s = Schedule::new(
            Duration::from_secs(1),
            Duration::from_secs(10),
            Duration::from_secs(1),
            Duration::from_secs(2),
        );
        assert_eq!(s.interval, Duration::from_secs(10));
    }
}
