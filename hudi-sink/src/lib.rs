//! hudi-sink: folds Debezium change-event topics into Apache Hudi copy-on-write tables, exactly
//! once, with hudi-rs (`hudi` =0.6.0-rc.1).
//!
//! The data path is a straight line of modules:
//!
//! `config` (CLI) → `source` (Kafka: topics, partitions, seek to the checkpoint) → `decode`
//! (Confluent-framed Avro through `registry`, or JsonConverter JSON with schemas → [`decode::Event`])
//! → `fold` (a batch per table, last event per record key) → `convert` (rows → Arrow, Debezium →
//! Hudi type mapping, HoodieStreamer's metadata columns) → `table` (Hudi upsert / delete by key) →
//! `checkpoint` (the Kafka offsets each completed commit covers); `evolve` handles schema changes
//! (projection onto the table's columns, rebuild on an added column); `sink` is the wiring,
//! `telemetry` the metrics and log lines, `progress` the backfill bar, `dump` the read-back for
//! `hudi-sink read`, `web` the live flights map and its JSON (`hudi-sink serve`), `query` SQL over
//! the tables with DataFusion (`hudi-sink query`).
//!
//! # Why a crate of its own
//!
//! hudi-rs pulls ~460 crates (two Arrow versions, Lance, the AWS SDK, object_store): about 12
//! minutes of release build on 2 cores, and every test binary that links it costs a long link. As
//! a workspace member, `cargo build --bin cdc-connector` and the connector's tests never compile or
//! link it (a binary of the root package would build every dependency of the package, hudi
//! included, for any of its targets). The integration tests in the root package's `tests/it` run
//! this crate's binary as a process (as they run `cdc-connector`) and read tables back through
//! `hudi-sink read`, so the one root test binary does not link hudi either; CI builds the Hudi tree
//! once (`cargo build --workspace`), for this binary and this crate's single test binary (the
//! library's unit tests; the binary target has `test = false`).
//!
//! # Exactly-once table state
//!
//! hudi-rs has no API to put extra metadata into a commit, so HoodieStreamer's checkpoint key
//! (`streamer.checkpoint.key.v2` for table version ≥ 8) is **not** used. Instead every batch of a
//! table ends with a checkpoint object written next to the table, after its commits completed:
//!
//! ```text
//!   poll ─▶ fold ─▶ upsert (commit 1) ─▶ delete_keys (commit 2) ─▶ checkpoint N+1 ─▶ group offsets
//!                   requested → inflight → completed                 <base>/<db>/<table>/
//!                                                                   .hudi-sink/checkpoints/N+1.json
//! ```
//!
//! * A checkpoint (`checkpoint::Checkpoint`) holds, for the table's topic, the next offset of
//!   every partition, plus the instants it covers. Names are zero-padded sequence numbers, so the
//!   newest is the greatest name in a listing; the last few are kept.
//! * At start the sink reads the newest checkpoint of every table it is assigned and seeks there;
//!   a table without one starts at `--start-offsets` (earliest by default).
//! * A crash before the checkpoint is written replays the batch. Replays are idempotent: the
//!   ordering field (`_event_seq`, from binlog file number, pos and row) makes Hudi's event-time
//!   merge keep the newest version of a row, deletes are by key, and every event after the
//!   checkpoint is applied again in order, so the table converges to the same state.
//! * A crash inside a commit leaves a pending instant on the timeline; hudi-rs rolls pending
//!   instants back at the start of the next write (`rollback_failed_writes`, Java's EAGER
//!   policy), before that write fences its own instant. One writer per table.
//! * Kafka group offsets (`--group-id`) are committed after the checkpoint, for lag monitoring
//!   only; the sink never reads them back.
//!
//! # Failure
//!
//! A record the sink cannot take — a schema id the registry does not know, a value that is neither
//! Confluent Avro nor JsonConverter JSON, a record without a key (and no `--record-key`), a schema
//! change Hudi cannot apply, a record key change — **stops that table** (there is no dead-letter
//! topic): the records before it are written and checkpointed, the error is logged with the
//! record's `topic/partition@offset`, and nothing after it is written, so the table and its
//! checkpoint end right before the bad record and a restart stops at the same record again (after
//! a fix, e.g. registering the schema or `--record-key`, it goes on from there). A write error stops
//! the table with its checkpoint where it was. The other tables go on; the process exits non-zero
//! at SIGTERM when tables stopped (or at start-up errors). A schema registry that does not answer
//! is waited for (back-off, logged), not a reason to stop a table.

// the sink's async state machines (hudi-rs writes inside) are deep
#![recursion_limit = "256"]

pub mod checkpoint;
pub mod config;
pub mod convert;
pub mod decode;
pub mod dump;
pub mod evolve;
pub mod failpoint;
pub mod fold;
pub mod progress;
pub mod query;
pub mod registry;
pub mod sink;
pub mod source;
pub mod table;
pub mod telemetry;
pub mod web;
