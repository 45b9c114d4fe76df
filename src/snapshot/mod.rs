//! snapshot: the initial (consistent) snapshot of the captured tables, before streaming starts.
//!
//! # Protocol (`snapshot.locking.mode=minimal`, the default)
//! ```text
//!  control conn                          reader conns (snapshot.max.threads)
//!  list captured tables
//!  FLUSH TABLES WITH READ LOCK  ──┐       (connected, REPEATABLE READ, time_zone UTC)
//!  (no RELOAD: LOCK TABLES … READ)│──────▶ START TRANSACTION WITH CONSISTENT SNAPSHOT (each)
//!  SHOW MASTER STATUS /           │
//!    SHOW BINARY LOG STATUS       │  position P: nothing can commit while the lock is held, so
//!  SET …/DROP …/CREATE … (schema) │  every reader's read view is exactly the data at P
//!  UNLOCK TABLES  ────────────────┘
//!  split tables into PK chunks ──────────▶ SELECT chunk … (streamed) ──▶ rows ──▶ consumer
//!                                          COMMIT
//! ```
//! The lock is held only while the readers open their transactions and the position and schemas
//! are read (milliseconds plus one `SHOW CREATE TABLE` per table). Every snapshot record carries P
//! (`source.file`/`pos`, `server_id` 0, `row` 0), and streaming starts at P afterwards: no change is
//! lost or seen twice. With `snapshot.locking.mode=none` no lock is taken: on MariaDB P is the
//! snapshot's own `binlog_snapshot_file/position` (the earliest among the readers), on MySQL the
//! binlog position and executed GTID set read (from one `SHOW MASTER STATUS` row) *before* the
//! readers start — changes in between may then be seen twice (never lost), and DDL during the
//! snapshot is unsafe, as in Debezium.
//!
//! # Records
//! [`Snapshot::next`] yields the schema-change events first (see [`schema`]), then the rows with
//! their `source.snapshot` markers (see [`markers`]). The caller (the pipeline) encodes and produces
//! them through the same path as streaming records and keeps the offsets: `{file, pos, snapshot:
//! "INITIAL"}` for every record but the last one, whose offset drops `snapshot` — the stored offset
//! says "snapshot finished" only once the last record is acknowledged.
//!
//! # Failure
//! Errors name the table (a failing SELECT, an undecodable value) or the missing privilege (RELOAD
//! for the global lock, LOCK TABLES for the fallback; the message suggests
//! `snapshot.locking.mode=none`). An interrupted snapshot leaves the `snapshot` key in the stored
//! offset, so the next start takes the snapshot again from the beginning (Debezium does the same).
//!
//! Hand-written, not from a crate: there is no Rust library for MySQL snapshots; the protocol is
//! Debezium's (same statements, same order, same records), the PK chunking is Flink CDC's idea
//! without its watermarks (all readers share one read view, so chunks need no reconciliation).

mod lock;
pub mod markers;
pub mod mode;
mod progress;
pub(crate) mod reader;
pub mod schema;
pub mod values;

use std::collections::VecDeque;
use std::sync::Arc;
use std::time::Instant;

use mysql_async::prelude::Queryable;
use tokio::sync::{mpsc, Mutex};
use tokio::task::JoinSet;

use crate::config::{SnapshotConfig, SnapshotLockingMode};
use crate::connect::Value;
use crate::schema::{Catalog, Table, TableFilterFn, TableId};
use crate::source::binlog::{self, BinlogPosition, ConnectOptions, ServerInfo};
use crate::telemetry::Telemetry;

pub use markers::Marker;
pub use schema::SchemaEvent;

use reader::{Msg, TableRead};

/// Errors of the snapshot; all are definite (the snapshot stops and is taken again on restart).
#[derive(Debug, thiserror::Error)]
pub enum SnapshotError {
    #[error("snapshot: {0}")]
    Connect(String),
    #[error("snapshot: {what} failed: {message}")]
    Query { what: String, message: String },
    #[error("snapshot: could not get the lock for {what} within {seconds} s (long-running statements hold it); retry later or set snapshot.locking.mode=none")]
    LockTimeout { what: String, seconds: u32 },
    #[error("snapshot: MySQL user '{user}' may neither take the global read lock (needs the RELOAD privilege) nor lock the captured tables (needs the LOCK TABLES privilege): {detail}. Grant RELOAD (or LOCK TABLES), or set snapshot.locking.mode=none (no locks; safe only when no DDL runs during the snapshot)")]
    LockPrivilege { user: String, detail: String },
    #[error("snapshot: reading table {table} failed: {message}")]
    Select { table: String, message: String },
    #[error("snapshot: cannot convert a value of table {table}, column `{column}`: {message}")]
    Decode { table: String, column: String, message: String },
    #[error("snapshot: cannot apply the schema of database '{database}': {message}")]
    Schema { database: String, message: String },
    #[error("{property}={value} is not supported yet: {why}")]
    NotSupported { property: &'static str, value: String, why: &'static str },
    #[error("snapshot: {0}")]
    Internal(String),
}

/// Which snapshot: the initial one, or a blocking one asked for while streaming.
#[derive(Clone, Debug, Default)]
pub enum Scope {
    /// Every captured table (rows: `snapshot.include.collection.list`); the binlog position is
    /// read under the lock and streaming starts there.
    #[default]
    Initial,
    /// An `execute-snapshot` signal of type `blocking`: these tables (schema and rows), each read
    /// with its `SELECT` of the signal if it has one, else `snapshot.select.statement.overrides`.
    /// Streaming is paused at a transaction boundary while it runs and goes on from there: no
    /// position is read. The schema events are the tables' `DROP TABLE IF EXISTS` then their
    /// `CREATE TABLE` (Debezium 3.6.3, oracle run `blocksnap`).
    Blocking { tables: Vec<TableId>, selects: Vec<(TableId, String)> },
}

/// What a snapshot needs.
#[derive(Clone)]
pub struct SnapshotOptions {
    pub db: ConnectOptions,
    pub server: ServerInfo,
    pub config: SnapshotConfig,
    pub table_filter: TableFilterFn,
    pub db_filter: TableFilterFn,
    /// Read rows (false for `snapshot.mode=no_data`: schema only).
    pub data: bool,
    pub telemetry: Arc<Telemetry>,
    pub scope: Scope,
}

/// One data record of the snapshot.
#[derive(Debug)]
pub struct SnapshotRow {
    pub table: Arc<Table>,
    /// One value per table column, in column order.
    pub values: Vec<Value>,
    pub marker: Marker,
    /// `source.ts_ms`: when the data phase started (whole seconds, as Debezium reports it).
    pub ts_ms: i64,
}

/// What [`Snapshot::next`] yields.
#[derive(Debug)]
pub enum SnapshotItem {
    Schema(SchemaEvent),
    Row(SnapshotRow),
}

/// A running snapshot: the position and schemas are read, readers are streaming rows.
pub struct Snapshot {
    /// Where the snapshot's read view is in the binlog (None: a blocking snapshot, which does
    /// not read it).
    position: Option<BinlogPosition>,
    /// MySQL's executed GTID set at `position` (read with it; None: not known).
    gtids: Option<crate::source::gtid::GtidSet>,
    schema: VecDeque<SchemaEvent>,
    tables: Arc<[TableRead]>,
    msgs: Option<mpsc::Receiver<Msg>>,
    markers: markers::Markers,
    ready: VecDeque<markers::MarkedRow>,
    chunks_done: Vec<usize>,
    chunks_total: Vec<Option<usize>>,
    tasks: JoinSet<()>,
    progress: progress::Progress,
    ts_ms: i64,
}

impl Snapshot {
    /// Run the locked part of the protocol and start the readers. Returns the snapshot and the
    /// catalog (the schemas as of the snapshot position, for streaming).
    pub async fn begin(opts: &SnapshotOptions) -> Result<(Snapshot, Catalog), SnapshotError> {
        mode::validate(&opts.config)?;
        let started = Instant::now();
        let mut control = lock::open_control(&opts.db).await?;
        let threads = if opts.data { opts.config.max_threads.max(1) as usize } else { 0 };
        let mut readers = Vec::with_capacity(threads);
        for _ in 0..threads {
            readers.push(lock::open_reader(&opts.db).await?);
        }
        let (initial, tables) = match &opts.scope {
            Scope::Initial => (true, schema::captured_tables(&mut control, &opts.db_filter, &opts.table_filter).await?),
            Scope::Blocking { tables, .. } => (false, tables.clone()),
        };
        let locking = opts.config.locking_mode == SnapshotLockingMode::Minimal;
        let pos_err = |e: binlog::SourceError| SnapshotError::Query {
            what: "reading the binlog position".into(),
            message: e.to_string(),
        };
        let (position, gtids, events, catalog) = if locking {
            let held = lock::lock(&mut control, &opts.db.user, &tables).await?;
            let locked_at = Instant::now();
            let inner = async {
                for r in readers.iter_mut() {
                    lock::begin_snapshot(r).await?;
                }
                if !initial {
                    let (events, catalog) = schema::read_table_schemas(&mut control, &tables).await?;
                    return Ok::<_, SnapshotError>((None, None, events, catalog));
                }
                let position = binlog::current_position(&mut control, &opts.db, &opts.server).await.map_err(pos_err)?;
                let gtids = if opts.server.is_mariadb {
                    None
                } else {
                    binlog::gtids_at(&mut control, &opts.db, false, &position, true).await.map_err(pos_err)?
                };
                let (events, catalog) = schema::read_schema(&mut control, &tables).await?;
                Ok((Some(position), gtids, events, catalog))
            }
            .await;
            let unlocked = lock::unlock(&mut control).await;
            let out = inner?;
            unlocked?;
            tracing::info!(lock = ?held, held_ms = locked_at.elapsed().as_millis() as u64, "snapshot lock released");
            out
        } else if !initial {
            for r in readers.iter_mut() {
                lock::begin_snapshot(r).await?;
            }
            let (events, catalog) = schema::read_table_schemas(&mut control, &tables).await?;
            (None, None, events, catalog)
        } else {
            // MySQL: the position and GTID set before the readers start (one `SHOW MASTER STATUS`
            // row, so they agree); MariaDB: the readers' own snapshot positions.
            let (before, gtids) = if opts.server.is_mariadb {
                (None, None)
            } else {
                let (p, g) =
                    binlog::current_position_and_gtids(&mut control, &opts.db, &opts.server).await.map_err(pos_err)?;
                (Some(p), g)
            };
            let mut earliest: Option<BinlogPosition> = before;
            for r in readers.iter_mut() {
                lock::begin_snapshot(r).await?;
                if opts.server.is_mariadb {
                    let p = lock::mariadb_snapshot_position(r).await?;
                    if earliest.as_ref().is_none_or(|e| (&p.file, p.pos) < (&e.file, e.pos)) {
                        earliest = Some(p);
                    }
                }
            }
            let position = match earliest {
                Some(p) => p,
                None => binlog::current_position(&mut control, &opts.db, &opts.server).await.map_err(pos_err)?,
            };
            let (events, catalog) = schema::read_schema(&mut control, &tables).await?;
            (Some(position), gtids, events, catalog)
        };
        match &position {
            Some(p) => tracing::info!(position = %p, tables = tables.len(), threads, "snapshot position read"),
            None => tracing::info!(tables = tables.len(), threads, "blocking snapshot: schemas read"),
        }

        let include = &opts.config.include_collection_list;
        let mut reads = Vec::new();
        if opts.data {
            let estimates = estimated_rows(&mut control, &tables).await?;
            for (id, est) in tables.iter().zip(estimates) {
                let name = id.to_string();
                if initial && !include.is_empty() && !include.matches(&name) {
                    continue;
                }
                let Some(table) = catalog.table(id) else { continue };
                let signal_select = match &opts.scope {
                    Scope::Blocking { selects, .. } => selects.iter().find(|(t, _)| t == id).map(|(_, s)| s.clone()),
                    Scope::Initial => None,
                };
                let select = signal_select.or_else(|| opts.config.select_statement_overrides.get(&name).cloned());
                reads.push(TableRead { table: Arc::new(table.clone()), select, estimated_rows: est });
            }
        }
        let tables: Arc<[TableRead]> = reads.into();
        let n = tables.len();
        let mut tasks = JoinSet::new();
        let msgs = if n > 0 {
            let batch = opts.config.fetch_size.filter(|f| *f > 0).unwrap_or(1024) as usize;
            let (msg_tx, msg_rx) = mpsc::channel(threads * 2 + 2);
            let (chunk_tx, chunk_rx) = mpsc::channel(threads);
            let chunk_rx = Arc::new(Mutex::new(chunk_rx));
            tasks.spawn(reader::plan(control, tables.clone(), threads, chunk_tx, msg_tx.clone()));
            for r in readers {
                tasks.spawn(reader::read(r, tables.clone(), chunk_rx.clone(), msg_tx.clone(), batch));
            }
            Some(msg_rx)
        } else {
            for mut r in readers {
                let _ = r.query_drop("COMMIT").await;
                let _ = r.disconnect().await;
            }
            let _ = control.disconnect().await;
            None
        };
        let now_s = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap_or_default().as_secs();
        let progress = progress::Progress::new(opts.telemetry.clone(), &tables, started);
        Ok((
            Snapshot {
                position,
                gtids,
                schema: events.into(),
                markers: markers::Markers::new(n),
                ready: VecDeque::new(),
                chunks_done: vec![0; n],
                chunks_total: vec![None; n],
                tables,
                msgs,
                tasks,
                progress,
                ts_ms: now_s as i64 * 1000,
            },
            catalog,
        ))
    }

    /// The schema statements [`Snapshot::next`] yields first (for the schema history).
    pub fn schema_events(&mut self) -> &[SchemaEvent] {
        self.schema.make_contiguous()
    }

    /// The binlog position every snapshot record carries; streaming starts there (None for a
    /// blocking snapshot: streaming goes on where it paused).
    pub fn position(&self) -> Option<&BinlogPosition> {
        self.position.as_ref()
    }

    /// MySQL's executed GTID set at [`Snapshot::position`] (read with it; None on MariaDB, with
    /// GTID mode off, and for a blocking snapshot).
    pub fn gtids(&self) -> Option<&crate::source::gtid::GtidSet> {
        self.gtids.as_ref()
    }

    /// The next record: schema events first, then rows; None when the snapshot is complete.
    pub async fn next(&mut self) -> Result<Option<SnapshotItem>, SnapshotError> {
        if let Some(ev) = self.schema.pop_front() {
            return Ok(Some(SnapshotItem::Schema(ev)));
        }
        loop {
            if let Some(r) = self.ready.pop_front() {
                let row = SnapshotRow {
                    table: self.tables[r.table].table.clone(),
                    values: r.values,
                    marker: r.marker,
                    ts_ms: self.ts_ms,
                };
                return Ok(Some(SnapshotItem::Row(row)));
            }
            let Some(rx) = self.msgs.as_mut() else {
                self.progress.finish();
                return Ok(None);
            };
            match rx.recv().await {
                Some(Msg::Rows { table, rows }) => {
                    for values in rows {
                        self.progress.row(table);
                        self.markers.push(table, values, &mut self.ready);
                    }
                }
                Some(Msg::ChunkDone { table }) => {
                    self.chunks_done[table] += 1;
                    self.check_table(table);
                }
                Some(Msg::Chunks { table, count }) => {
                    self.chunks_total[table] = Some(count);
                    self.check_table(table);
                }
                Some(Msg::Failed(e)) => {
                    self.progress.abort();
                    return Err(e);
                }
                None => {
                    if let Some(t) = (0..self.tables.len()).find(|&t| self.chunks_total[t] != Some(self.chunks_done[t]))
                    {
                        self.progress.abort();
                        return Err(SnapshotError::Internal(format!(
                            "the readers stopped before table {} was read completely",
                            self.tables[t].table.id
                        )));
                    }
                    self.markers.finish(&mut self.ready);
                    self.msgs = None;
                    while self.tasks.join_next().await.is_some() {}
                }
            }
        }
    }

    fn check_table(&mut self, table: usize) {
        if self.chunks_total[table] == Some(self.chunks_done[table]) {
            self.markers.table_done(table, &mut self.ready);
            self.progress.table_done(table);
        }
    }
}

impl Drop for Snapshot {
    fn drop(&mut self) {
        self.tasks.abort_all();
    }
}

/// `information_schema.TABLES.TABLE_ROWS` of each table (0 when unknown), for chunking and progress.
async fn estimated_rows(conn: &mut mysql_async::Conn, tables: &[TableId]) -> Result<Vec<u64>, SnapshotError> {
    let mut out = Vec::with_capacity(tables.len());
    for id in tables {
        let est: Option<Option<u64>> = conn
            .exec_first(
                "SELECT TABLE_ROWS FROM information_schema.TABLES WHERE TABLE_SCHEMA = ? AND TABLE_NAME = ?",
                (id.db.as_str(), id.table.as_str()),
            )
            .await
            .map_err(|e| SnapshotError::Query { what: format!("the row estimate of {id}"), message: e.to_string() })?;
        out.push(est.flatten().unwrap_or(0));
    }
    Ok(out)
}

/// A connection for incremental-snapshot chunks: the reader's session settings (UTC, binary
/// results), each statement in its own transaction (autocommit).
pub async fn open_incremental_reader(
    opts: &crate::source::binlog::ConnectOptions,
) -> Result<mysql_async::Conn, SnapshotError> {
    lock::open_reader(opts).await
}
