//! opensky: the `opensky-poller` — OpenSky Network state vectors into MySQL/MariaDB, the source
//! system of the whole pipeline (its binlog is what `cdc-connector` streams).
//!
//! The data path is a straight line of modules:
//!
//! `config` → `api` (HTTP `/states/all` with `auth` tokens, or a `--replay` directory) → `state`
//! (body → typed state vectors, all-or-nothing) → `plan` (insert / update / stale delete /
//! history, a pure function) → `store` (one transaction per poll) → `telemetry` (logs, metrics).
//! `poll` is the loop that ties them together and decides when to poll next (interval, 429
//! Retry-After, exponential back-off with jitter).
//!
//! Guarantees: a poll is written completely or not at all; unchanged aircraft are not written;
//! transient failures (network, 5xx, 429, database) never stop the poller; definite ones
//! (credentials rejected twice, a wrong request, missing tables) stop it with the reason; no input
//! from the network can make it panic; secrets never reach a log line.

pub mod api;
pub mod auth;
pub mod config;
pub mod plan;
pub mod poll;
pub mod state;
pub mod store;
pub mod telemetry;
