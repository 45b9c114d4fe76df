//! The streamer's side of signals and incremental snapshots (`crate::incremental` has the
//! algorithm, the offset fields and the queries): reacting to signal rows, reading a chunk between
//! two watermarks, de-duplicating the chunk against the binlog, emitting it at the close
//! watermark.

use std::sync::Arc;

use mysql_async::prelude::Queryable;
use tracing::{info, warn};

use super::{PendingOffset, PipelineError, Streamer};
use crate::connect::Value;
use crate::envelope::Op;
use crate::incremental::{self, Collection, PositionTarget, Progress, Signal};
use crate::java_ser::KeyPart;
use crate::record::Change;
use crate::schema::TableId;
use crate::source::binlog;
use crate::source::restart::RowPoint as Point;

/// A chunk read between the watermarks `<id>-open` and `<id>-close`.
pub(super) struct Window {
    id: String,
    /// The open watermark was seen in the binlog: changes of `table` now replace buffered rows.
    opened: bool,
    table: TableId,
    /// Key parts (offset), message key (de-duplication) and values of each row, in key order.
    rows: Vec<(Vec<KeyPart>, Option<Value>, Value)>,
}

/// Incremental-snapshot state of a running connector.
pub(super) struct Incremental {
    pub(super) signal_table: TableId,
    chunk_size: usize,
    progress: Progress,
    /// Where the next chunk starts (the last row read, emitted or not).
    chunk_end: Option<Vec<KeyPart>>,
    paused: bool,
    window: Option<Window>,
    /// A resumed snapshot reads its next chunk when streaming starts.
    kick: bool,
    conn: Option<mysql_async::Conn>,
    /// The offset fields of `progress`, shared by every offset until it changes.
    entries: Option<Arc<Vec<(String, serde_json::Value)>>>,
    /// A `set-binlog-position` signal read in the current transaction: where the stream goes
    /// once the transaction ends (`Streamer::reposition`).
    pub(super) reposition: Option<PositionTarget>,
    /// Binlog places (file, pos, row) of the `set-binlog-position` signals applied: reading one
    /// again after moving back before it does not move the stream a second time.
    applied: Vec<(Arc<str>, u64, u64)>,
}

impl Incremental {
    pub(super) fn new(signal_table: TableId, chunk_size: usize) -> Incremental {
        Incremental {
            signal_table,
            chunk_size,
            progress: Progress::default(),
            chunk_end: None,
            paused: false,
            window: None,
            kick: false,
            conn: None,
            entries: None,
            reposition: None,
            applied: Vec::new(),
        }
    }

    /// Continue the snapshot a stored offset was in the middle of.
    pub(super) fn resume(&mut self, extra: &[(String, serde_json::Value)]) -> Result<(), String> {
        if let Some(p) = Progress::from_offset(extra)? {
            info!(tables = p.collections.len(), "resuming the incremental snapshot of the stored offset");
            self.chunk_end = p.last_sent.clone();
            self.progress = p;
            self.kick = true;
            self.refresh();
        }
        Ok(())
    }

    fn refresh(&mut self) {
        let e = self.progress.offset_entries(None);
        self.entries = (!e.is_empty()).then(|| Arc::new(e));
    }

    pub(super) fn entries(&self) -> Option<Arc<Vec<(String, serde_json::Value)>>> {
        self.entries.clone()
    }

    /// Whether changes of `table` must be checked against the open window.
    pub(super) fn dedupes(&self, table: &TableId) -> bool {
        self.window.as_ref().is_some_and(|w| w.opened && w.table == *table)
    }

    /// A binlog change of the window's table: its version wins over the buffered row.
    pub(super) fn drop_keys(&mut self, keys: [Option<&Value>; 2]) {
        if let Some(w) = self.window.as_mut() {
            w.rows.retain(|(_, k, _)| !keys.iter().any(|x| x.is_some() && k.as_ref() == *x));
        }
    }
}

fn text(v: Option<&Value>) -> Option<&str> {
    match v {
        Some(Value::String(s)) => Some(s),
        _ => None,
    }
}

impl Streamer {
    /// Run the chunk a resumed snapshot still owes (once, when streaming starts).
    pub(super) async fn incremental_kick(&mut self) -> Result<(), PipelineError> {
        if let Some(inc) = self.incremental.as_mut() {
            if std::mem::take(&mut inc.kick) {
                self.read_next_chunk().await?;
            }
        }
        Ok(())
    }

    /// A row inserted into the signal table (its `after` struct: id, type, data).
    pub(super) async fn on_signal(
        &mut self,
        row: &Value,
        pos: u64,
        ts: u32,
        point: Point,
    ) -> Result<(), PipelineError> {
        let row: &[Value] = match row {
            Value::Struct(fields) => fields,
            _ => &[],
        };
        let (Some(id), Some(kind)) = (text(row.first()), text(row.get(1))) else {
            warn!(file = %self.file, pos, "a signal row without a text id and type: ignored");
            return Ok(());
        };
        let signal = match incremental::parse_signal(id, kind, text(row.get(2))) {
            Ok(s) => s,
            Err(e) => {
                warn!(signal = id, kind, file = %self.file, pos, error = %e, "ignoring a signal");
                return Ok(());
            }
        };
        let id = id.to_string();
        let Some(inc) = self.incremental.as_mut() else { return Ok(()) };
        match signal {
            Signal::Execute { collections, incremental } => {
                if !incremental {
                    warn!(signal = %id, "only incremental snapshots are supported; signal ignored");
                    return Ok(());
                }
                info!(signal = %id, tables = ?collections.iter().map(|c| c.id.to_string()).collect::<Vec<_>>(), "incremental snapshot requested");
                let was_running = inc.progress.running();
                let wanted: Vec<Collection> = collections
                    .into_iter()
                    .filter(|c| {
                        let known = self.catalog.table(&c.id);
                        let ok = known.is_some_and(|t| !t.key_indexes().is_empty())
                            && (self.cfg.table_filter)(&c.id.db, &c.id.table);
                        if !ok {
                            warn!(table = %c.id, "not a captured table with a primary key: left out of the incremental snapshot");
                        }
                        ok
                    })
                    .collect();
                inc.progress.collections.extend(wanted);
                if !was_running && inc.progress.running() {
                    inc.progress.correlation_id = Some(id);
                    inc.chunk_end = None;
                    inc.refresh();
                    self.read_next_chunk().await?;
                }
                inc_refresh(self);
            }
            Signal::Blocking(req) => {
                info!(signal = %id, collections = ?req.patterns, "blocking snapshot requested: streaming pauses once this transaction ends");
                self.blocking.push_back(req);
            }
            Signal::Stop { collections } => {
                match collections {
                    None => {
                        info!(signal = %id, "incremental snapshot stopped");
                        inc.progress = Progress::default();
                        inc.window = None;
                        inc.chunk_end = None;
                    }
                    Some(list) => {
                        let current = inc.progress.collections.front().map(|c| c.id.clone());
                        inc.progress.collections.retain(|c| !list.contains(&c.id));
                        if current.is_some_and(|c| list.contains(&c)) {
                            inc.window = None;
                            inc.chunk_end = None;
                            inc.progress.max_key = None;
                            inc.progress.last_sent = None;
                        }
                        info!(signal = %id, tables = ?list.iter().map(ToString::to_string).collect::<Vec<_>>(), "tables removed from the incremental snapshot");
                        if inc.progress.running() && inc.window.is_none() {
                            self.read_next_chunk().await?;
                        }
                    }
                }
                inc_refresh(self);
            }
            Signal::Pause => {
                info!(signal = %id, "incremental snapshot paused");
                inc.paused = true;
            }
            Signal::Resume => {
                info!(signal = %id, "incremental snapshot resumed");
                let idle = std::mem::replace(&mut inc.paused, false) && inc.window.is_none();
                if idle {
                    self.read_next_chunk().await?;
                }
            }
            Signal::Log(message) => {
                let at = format!("{{file={}, pos={pos}, ts_sec={ts}}}", self.file);
                info!(signal = %id, "{}", message.replace("{}", &at));
            }
            Signal::WindowOpen(wid) => {
                if let Some(w) = inc.window.as_mut().filter(|w| format!("{}-open", w.id) == wid) {
                    w.opened = true;
                }
            }
            Signal::WindowClose(wid) => {
                if inc.window.as_ref().is_some_and(|w| format!("{}-close", w.id) == wid) {
                    let w = inc.window.take().expect("checked");
                    self.emit_window(w, pos, ts, point).await?;
                    self.read_next_chunk().await?;
                }
            }
            Signal::SetPosition(target) => {
                let at = (self.file.clone(), pos, point.row);
                if inc.applied.contains(&at) {
                    info!(signal = %id, file = %self.file, pos, "set-binlog-position signal read again after moving to its position: not applied twice");
                    return Ok(());
                }
                if let Err(why) = self.check_position_target(&target).await {
                    warn!(signal = %id, error = %why, "set-binlog-position signal ignored; streaming goes on where it is");
                    return Ok(());
                }
                info!(signal = %id, target = ?target, "set-binlog-position: the stream moves there once this transaction ends");
                if let Some(inc) = self.incremental.as_mut() {
                    inc.applied.push(at);
                    inc.reposition = Some(target);
                }
                // As Debezium: a heartbeat carries the new position at once (when heartbeats are on).
                if self.cfg.heartbeat.interval.is_some() {
                    self.emit_heartbeat().await?;
                }
            }
            Signal::Other(kind) => warn!(signal = %id, kind, "signal type not supported; ignored"),
        }
        Ok(())
    }

    /// Whether the stream can go to `target`: its binlog file is on the server, its GTID set is of
    /// the server's kind.
    async fn check_position_target(&self, target: &PositionTarget) -> Result<(), String> {
        match target {
            PositionTarget::File { file, pos } => {
                let mut conn = crate::source::binlog::connect_jdbc(&self.cfg.db).await.map_err(|e| e.to_string())?;
                let at = crate::source::binlog::BinlogPosition { file: file.clone(), pos: *pos };
                let checked = crate::source::binlog::check_available(
                    &mut conn,
                    &self.cfg.db,
                    &at,
                    "the set-binlog-position signal",
                )
                .await;
                let _ = conn.disconnect().await;
                checked.map_err(|e| e.to_string())
            }
            PositionTarget::Gtid(set) => match (set, self.mariadb) {
                (crate::source::gtid::GtidSet::MariaDb(_), true) | (crate::source::gtid::GtidSet::MySql(_), false) => {
                    Ok(())
                }
                (crate::source::gtid::GtidSet::MariaDb(_), false) => {
                    Err(format!("{set} is a MariaDB GTID set, but the server is MySQL"))
                }
                (crate::source::gtid::GtidSet::MySql(_), true) => {
                    Err(format!("{set} is a MySQL GTID set, but the server is MariaDB"))
                }
            },
        }
    }

    /// The rows of a closed window, as `op: r` records. The offsets of all but the last row keep
    /// the progress from before the window (a restart reads the window again: duplicates, never a
    /// gap); the last row's offset carries the window's last key. So a chunk costs two sets of
    /// offset fields, not one per row.
    async fn emit_window(&mut self, w: Window, pos: u64, ts: u32, point: Point) -> Result<(), PipelineError> {
        if w.rows.is_empty() {
            return Ok(());
        }
        let (schemas, ids) = self.table_schemas(&w.table, pos).await?;
        let before = self.incremental.as_ref().and_then(Incremental::entries);
        let n = w.rows.len();
        for (i, (parts, key, values)) in w.rows.into_iter().enumerate() {
            let source = self.binlog_source("incremental", crate::history::now_ms(), &w.table, pos, 0);
            let change = Change {
                schemas: &schemas,
                ids,
                op: Op::Read,
                before: (None, None),
                after: (key, Some(values)),
                tx: None,
            };
            let emitted = self.emit_change(change, source, &w.table, pos).await?;
            let last = i + 1 == n;
            if last {
                if let Some(inc) = self.incremental.as_mut() {
                    inc.progress.last_sent = Some(parts);
                    inc.refresh();
                }
            }
            if let Some(seq) = emitted {
                let mut offset: PendingOffset = self.offset_after(seq, ts, point.event, point.row);
                offset.snapshot = Some("INCREMENTAL");
                if !last {
                    offset.inc = before.clone();
                }
                self.pending.push_back(offset);
            }
        }
        Ok(())
    }

    /// Insert the open watermark, read the next chunk (moving through finished and empty tables),
    /// insert the close watermark.
    async fn read_next_chunk(&mut self) -> Result<(), PipelineError> {
        let Some(inc) = self.incremental.as_mut() else { return Ok(()) };
        if !inc.progress.running() || inc.paused || inc.window.is_some() {
            return Ok(());
        }
        let addr = self.cfg.db.addr();
        let fail = |what: &str, e: String| PipelineError::Incremental {
            addr: addr.clone(),
            message: format!("{what}: {e}"),
            lost: false,
        };
        // a query that failed because the connection went away: the pipeline reconnects and the
        // snapshot goes on from the committed offset's chunk
        let fail_sql = |what: &str, e: mysql_async::Error| PipelineError::Incremental {
            addr: addr.clone(),
            message: format!("{what}: {e}"),
            lost: binlog::connection_lost(&e),
        };
        if inc.conn.is_none() {
            let conn = crate::snapshot::open_incremental_reader(&self.cfg.db).await.map_err(|e| {
                PipelineError::Incremental { addr: addr.clone(), message: format!("connecting: {e}"), lost: true }
            })?;
            inc.conn = Some(conn);
        }
        let window_id = uuid::Uuid::now_v7().to_string();
        let open_ts = incremental::instant_now();
        let signal_table = inc.signal_table.clone();
        let open = incremental::watermark_sql(
            &signal_table,
            &format!("{window_id}-open"),
            "snapshot-window-open",
            &format!("{{\"openWindowTimestamp\": \"{open_ts}\"}}"),
        );
        let conn = inc.conn.as_mut().expect("connected above");
        conn.query_drop(open).await.map_err(|e| fail_sql("writing the open watermark", e))?;
        let mut rows = Vec::new();
        let mut window_table = None;
        while let Some(c) = inc.progress.collections.front().cloned() {
            let Some(table) = self.catalog.table(&c.id).cloned() else {
                warn!(table = %c.id, "table no longer exists: left out of the incremental snapshot");
                inc.progress.next_collection();
                inc.chunk_end = None;
                continue;
            };
            let key_idx = table.key_indexes();
            let key_cols: Vec<String> =
                key_idx.iter().map(|&i| crate::snapshot::schema::quote(&table.columns[i].name)).collect();
            let select_err = |e: mysql_async::Error| fail_sql(&format!("reading {}", c.id), e);
            if inc.progress.max_key.is_none() {
                let q = incremental::chunk_queries(&table, &key_cols, c.condition.as_deref(), None, None, 1);
                let conn = inc.conn.as_mut().expect("connected above");
                let max: Option<mysql_async::Row> = conn.query_first(q.max_key).await.map_err(select_err)?;
                match max {
                    None => {
                        info!(table = %c.id, "incremental snapshot: the table is empty");
                        inc.progress.next_collection();
                        inc.chunk_end = None;
                        continue;
                    }
                    Some(row) => {
                        let raw = row.unwrap();
                        inc.progress.max_key = Some(
                            key_idx.iter().zip(raw.iter()).map(|(&i, v)| incremental::key_part(&table, i, v)).collect(),
                        );
                    }
                }
            }
            let q = incremental::chunk_queries(
                &table,
                &key_cols,
                c.condition.as_deref(),
                inc.chunk_end.as_deref(),
                inc.progress.max_key.as_deref(),
                inc.chunk_size,
            );
            let conn = inc.conn.as_mut().expect("connected above");
            let params = if q.params.is_empty() {
                mysql_async::Params::Empty
            } else {
                mysql_async::Params::Positional(q.params)
            };
            let mut result = conn.exec_iter(q.chunk.as_str(), params).await.map_err(select_err)?;
            let map = crate::snapshot::reader::column_map(&table, result.columns_ref());
            let key_pos: Vec<Option<usize>> = key_idx.iter().map(|k| map.iter().position(|m| *m == Some(*k))).collect();
            let mut read = Vec::new();
            while let Some(row) = result.next().await.map_err(select_err)? {
                let raw = row.unwrap_raw();
                let parts: Vec<KeyPart> = key_idx
                    .iter()
                    .zip(&key_pos)
                    .map(|(&i, p)| match p.and_then(|p| raw.get(p)).and_then(|v| v.as_ref()) {
                        Some(v) => incremental::key_part(&table, i, v),
                        None => KeyPart::Null,
                    })
                    .collect();
                let values = crate::snapshot::reader::row_values(&table, &map, raw)
                    .map_err(|e| fail(&format!("decoding {}", c.id), e.to_string()))?;
                read.push((parts, values));
            }
            drop(result);
            if read.is_empty() {
                info!(table = %c.id, "incremental snapshot of the table finished");
                inc.progress.next_collection();
                inc.chunk_end = None;
                continue;
            }
            inc.chunk_end = read.last().map(|(p, _)| p.clone());
            rows = read;
            window_table = Some(c.id.clone());
            break;
        }
        if !inc.progress.running() {
            info!("incremental snapshot complete");
            inc.progress = Progress::default();
        }
        inc.refresh();
        let close = incremental::watermark_sql(
            &signal_table,
            &format!("{window_id}-close"),
            "snapshot-window-close",
            &format!(
                "{{\"openWindowTimestamp\": \"{open_ts}\", \"closeWindowTimestamp\": \"{}\"}}",
                incremental::instant_now()
            ),
        );
        let conn = inc.conn.as_mut().expect("connected above");
        conn.query_drop(close).await.map_err(|e| fail_sql("writing the close watermark", e))?;
        let table = window_table.unwrap_or_else(|| signal_table.clone());
        let mut finished = Vec::with_capacity(rows.len());
        if !rows.is_empty() {
            let (schemas, _) = self.table_schemas(&table, 0).await?;
            for (parts, values) in rows {
                let (key, values) =
                    schemas.finish_row(values).map_err(|(index, reason)| PipelineError::Incremental {
                        addr: self.cfg.db.addr(),
                        message: format!("{table}: column {index}: {reason}"),
                        lost: false,
                    })?;
                finished.push((parts, key, values));
            }
        }
        if let Some(inc) = self.incremental.as_mut() {
            inc.window = Some(Window { id: window_id, opened: false, table, rows: finished });
        }
        Ok(())
    }
}

fn inc_refresh(s: &mut Streamer) {
    if let Some(inc) = s.incremental.as_mut() {
        inc.refresh();
    }
}
