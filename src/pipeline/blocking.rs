//! Blocking snapshots: an `execute-snapshot` signal of type `blocking` pauses streaming once the
//! signal's transaction has ended, reads the tables it names like the initial snapshot does
//! (lock, consistent read view, `SHOW CREATE TABLE`, rows in key chunks), and streaming goes on
//! where it paused. Output as Debezium 3.6.3's (oracle run `blocksnap`, tests/it/blocking.rs):
//!
//! - schema-change records: `DROP TABLE IF EXISTS` of each table, then its `CREATE TABLE`, with
//!   `source.snapshot` "false", `source.pos` the position of the event that ended the signal's
//!   transaction (its XID) and the offset of the position after it — also in the schema history;
//! - rows as `op: r` with the initial snapshot's markers (`first`, `first_in_data_collection`, …,
//!   `last`), the same `source` position, `source.ts_ms` the snapshot's start in whole seconds,
//!   offsets `{file, pos, server_id, snapshot: "BLOCKING", ts_sec}` (the last without `snapshot`).
//!
//! Two deliberate differences. Debezium keeps its initial snapshot's schema events in memory and,
//! in the same process, re-emits those (stale DDL with the initial snapshot's offsets, which go
//! backwards) for tables it snapshotted before; we always emit the tables' current DDL, which is
//! what Debezium emits for other tables and after a restart. And an interrupted blocking snapshot
//! is taken again on restart: its offsets carry the request under a key of our own
//! ([`BLOCKING_KEY`]; Debezium ignores it and, like us without it, just streams on).
//!
//! The rows are read at a moment after the pause (under the snapshot lock), and streaming goes on
//! from the pause: changes made in between are read again after the snapshot (as changes of rows
//! the snapshot may already show), never lost.

use std::sync::Arc;
use std::time::Duration;

use tracing::{error, info, warn};

use super::{PendingOffset, PipelineError, Streamer};
use crate::envelope::{Op, ProcessingTime, SourceInfo};
use crate::incremental::BlockingRequest;
use crate::offsets::SourceOffset;
use crate::record::Change;
use crate::schema::TableId;
use crate::sink::kafka::Seq;
use crate::snapshot::{self, Marker, Scope, Snapshot, SnapshotItem, SnapshotOptions};
use crate::source::binlog::{self, BinlogPosition, BinlogSource};

/// Offset key (ours) of a blocking snapshot in progress: the request, as signal `data`.
pub const BLOCKING_KEY: &str = "blocking_snapshot";

/// How [`Streamer::blocking_snapshot`] ended.
pub(super) enum Outcome {
    /// Stream on with this binlog stream (None: none was given and no snapshot was taken).
    Stream(Option<Box<BinlogSource>>),
    /// `shutdown` came first.
    Shutdown,
}

/// `"snapshot"` of the offsets of a blocking snapshot's records (Debezium's `SnapshotType`).
const BLOCKING: &str = "BLOCKING";

impl Streamer {
    /// Queue a blocking snapshot (a signal, or the one a stored offset was in the middle of).
    pub(super) fn queue_blocking(&mut self, req: BlockingRequest) {
        self.blocking.push_back(req);
    }

    /// The blocking snapshot to take now: one was asked for and the transaction that carried
    /// its signal has ended.
    pub(super) fn due_blocking(&mut self) -> Option<BlockingRequest> {
        if self.restart.in_transaction() {
            return None;
        }
        self.blocking.pop_front()
    }

    /// The request of the blocking snapshot a stored offset was written in.
    pub(super) fn resume_blocking(&mut self, offset: &SourceOffset) {
        if !offset.snapshot.as_deref().is_some_and(|s| s.eq_ignore_ascii_case(BLOCKING)) {
            return;
        }
        let Some(data) = offset.extra.iter().find(|(k, _)| k == BLOCKING_KEY).and_then(|(_, v)| v.as_str()) else {
            return;
        };
        match BlockingRequest::from_data(data) {
            Ok(req) => {
                info!(collections = ?req.patterns, "the stored offset is inside a blocking snapshot: taking it again before streaming");
                self.queue_blocking(req);
            }
            Err(e) => {
                warn!(error = %e, "the stored offset's blocking snapshot cannot be read; streaming goes on without it")
            }
        }
    }

    /// Pause streaming (what was read so far is in Kafka and committed), take the blocking
    /// snapshot, and return a binlog stream from where it paused (`source` itself when no table
    /// matches: nothing paused).
    pub(super) async fn blocking_snapshot(
        &mut self,
        source: Option<BinlogSource>,
        req: BlockingRequest,
        heartbeat_ms: u64,
        shutdown: &mut (impl std::future::Future<Output = ()> + Unpin),
    ) -> Result<Outcome, PipelineError> {
        let paused = BinlogPosition { file: self.file.to_string(), pos: self.restart.pos() };
        let mut captured: Vec<TableId> = self
            .catalog
            .tables()
            .map(|t| t.id.clone())
            .filter(|id| (self.cfg.table_filter)(&id.db, &id.table))
            .collect();
        captured.sort();
        let tables = match req.tables(&captured) {
            Ok(t) if !t.is_empty() => t,
            Ok(_) => {
                warn!(collections = ?req.patterns, "blocking snapshot: no captured table matches; nothing to read");
                return Ok(Outcome::Stream(source.map(Box::new)));
            }
            Err(e) => {
                warn!(error = %e, "blocking snapshot signal ignored");
                return Ok(Outcome::Stream(source.map(Box::new)));
            }
        };
        self.sink.flush(Duration::from_secs(30)).await?;
        self.maybe_flush_offsets(true)?;
        if let Some(s) = source {
            s.close().await;
        }
        info!(position = %paused, tables = ?tables.iter().map(ToString::to_string).collect::<Vec<_>>(), "blocking snapshot: streaming paused");
        let opts = SnapshotOptions {
            db: self.cfg.db.clone(),
            server: self.server.clone(),
            config: self.cfg.snapshot.clone(),
            table_filter: self.cfg.table_filter.clone(),
            db_filter: self.cfg.db_filter.clone(),
            data: true,
            telemetry: self.cfg.telemetry.clone(),
            scope: Scope::Blocking { tables, selects: req.selects.clone() },
        };
        let request: Arc<str> = Arc::from(req.to_data());
        match self.read_blocking(&opts, &request, shutdown).await {
            Ok(true) => info!(position = %paused, "blocking snapshot complete; streaming resumes"),
            Ok(false) => return Ok(Outcome::Shutdown),
            Err(PipelineError::Snapshot(e)) => {
                // As Debezium: a snapshot that fails (a bad SELECT of the signal, a table gone)
                // is given up, and streaming goes on.
                error!(error = %e, collections = ?req.patterns, "blocking snapshot failed; streaming resumes without it");
            }
            Err(e) => return Err(e),
        }
        // The offsets from here on say "not in a blocking snapshot".
        if self.pending.back().is_some_and(|p| p.blocking.is_some()) {
            let seq = self.pending.back().map(|p| p.seq).unwrap_or_default();
            let done = self.blocking_offset(seq, false, None);
            self.pending.push_back(done);
        }
        self.sink.flush(Duration::from_secs(30)).await?;
        self.maybe_flush_offsets(true)?;
        let conn = binlog::connect(&self.cfg.db).await?;
        let resumed = BinlogSource::start(conn, &self.cfg.db, self.cfg.server_id, &paused, heartbeat_ms).await?;
        // Streaming goes on where it paused; the source position stays the commit's (another
        // blocking snapshot asked for in the same transaction reports the same place).
        let commit_pos = self.commit_pos;
        self.start_at(&paused, 0, 0);
        self.commit_pos = commit_pos;
        Ok(Outcome::Stream(Some(Box::new(resumed))))
    }

    /// Produce the snapshot's records. `Ok(false)`: `shutdown` came first.
    async fn read_blocking(
        &mut self,
        opts: &SnapshotOptions,
        request: &Arc<str>,
        shutdown: &mut (impl std::future::Future<Output = ()> + Unpin),
    ) -> Result<bool, PipelineError> {
        let (mut snap, catalog) = Snapshot::begin(opts).await?;
        // Streaming goes on with the tables as the snapshot read them (what its schema records
        // and its rows say).
        for table in catalog.tables() {
            self.schemas.remove(&table.id);
            self.catalog.insert(table.clone());
        }
        let mut tick = tokio::time::interval(Duration::from_millis(100));
        loop {
            tokio::select! {
                biased;
                _ = &mut *shutdown => return Ok(false),
                _ = tick.tick() => self.maybe_flush_offsets(false)?,
                item = snap.next() => match item? {
                    None => return Ok(true),
                    Some(SnapshotItem::Schema(ev)) => self.blocking_schema(ev, request).await?,
                    Some(SnapshotItem::Row(row)) => self.blocking_row(row, request).await?,
                },
            }
        }
    }

    /// Offset of a blocking snapshot's record: the paused position; `snapshot` "BLOCKING" for
    /// rows but the last; `request` (ours) until the snapshot is done.
    fn blocking_offset(&self, seq: Seq, snapshot: bool, request: Option<&Arc<str>>) -> PendingOffset {
        PendingOffset {
            inc: self.incremental.as_ref().and_then(super::signals::Incremental::entries),
            blocking: request.cloned(),
            ..self.offset_now(seq, self.server_id, snapshot.then_some(BLOCKING))
        }
    }

    /// `source` of a blocking snapshot's record: where streaming paused (the event that ended
    /// the signal's transaction).
    fn blocking_source(&self, ts_ms: i64, marker: &str, db: &str, table: Option<&str>) -> crate::connect::Value {
        SourceInfo {
            server_name: &self.cfg.prefix,
            ts_ms,
            snapshot: marker,
            db,
            table,
            server_id: self.server_id,
            gtid: self.gtid.as_deref(),
            file: &self.file,
            pos: self.commit_pos as i64,
            row: self.last_row,
            thread: self.thread.map(i64::from),
            query: None,
        }
        .to_value()
    }

    /// A `DROP TABLE IF EXISTS` / `CREATE TABLE` of the snapshot (already in the streaming
    /// schema, `read_blocking`): recorded in the history, emitted.
    async fn blocking_schema(&mut self, ev: snapshot::SchemaEvent, request: &Arc<str>) -> Result<(), PipelineError> {
        let at = self.commit_pos;
        let now = ProcessingTime::now();
        let position = SourceOffset {
            file: self.file.to_string(),
            pos: self.restart.pos(),
            server_id: (self.server_id > 0).then_some(self.server_id as u64),
            ts_sec: Some(now.ns / 1_000_000_000),
            gtids: self.mysql_gtids().map(str::to_string),
            ..SourceOffset::default()
        };
        self.history.record_ddl(position, &ev.database, &ev.ddl, &ev.changes).await?;
        if !self.cfg.include_schema_changes {
            return Ok(());
        }
        let source = self.blocking_source(now.ns / 1_000_000, "false", &ev.database, ev.table.as_deref());
        let what = match &ev.table {
            Some(t) => format!("{}.{t}", ev.database),
            None => ev.database.clone(),
        };
        let seq = self.emit_schema_change(source, &ev.database, &ev.ddl, &ev.changes, &what, at).await?;
        self.pending.push_back(self.blocking_offset(seq, false, Some(request)));
        Ok(())
    }

    async fn blocking_row(&mut self, row: snapshot::SnapshotRow, request: &Arc<str>) -> Result<(), PipelineError> {
        let id = &row.table.id;
        let at = self.commit_pos;
        let (schemas, ids) = self.table_schemas(id, at).await?;
        let source = self.blocking_source(row.ts_ms, row.marker.as_str(), &id.db, Some(&id.table));
        let (key, values) = schemas.finish_row(row.values).map_err(|(index, reason)| PipelineError::Decode {
            table: id.to_string(),
            file: self.file.to_string(),
            pos: at,
            message: format!(
                "blocking snapshot value of column `{}`: {reason}",
                row.table.columns.get(index).map(|c| c.name.as_str()).unwrap_or("?")
            ),
        })?;
        let change =
            Change { schemas: &schemas, ids, op: Op::Read, before: (None, None), after: (key, Some(values)), tx: None };
        if let Some(seq) = self.emit_change(change, source, id, at).await? {
            let last = row.marker == Marker::Last;
            let offset = self.blocking_offset(seq, !last, (!last).then_some(request));
            self.pending.push_back(offset);
        }
        Ok(())
    }
}
