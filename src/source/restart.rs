//! Restart points: which binlog position, `event` and `row` the offset of a change record names,
//! and how a stored offset is resumed, so that cdc-connector and Debezium 3.6 each continue from
//! an offset the other wrote without losing or repeating a row.
//!
//! Debezium's rule (`BinlogOffsetContext`, `BinlogStreamingChangeEventSource`): an offset names a
//! position to reconnect at, `event` (binlog events after it to skip; *every* event counts: the
//! transaction's BEGIN, its TABLE_MAPs, earlier rows events) and `row` (rows of the next rows
//! event to skip). It starts skipping events only when it sees a `BEGIN`; `row` applies to the
//! first rows event it does not skip.
//!
//! Writing:
//! * **MySQL**: the position is the transaction's `BEGIN` and `event` counts the events since,
//!   the BEGIN included: the offsets Debezium writes there.
//! * **MariaDB**: Debezium never sees a transaction start there (it ignores MariaDB's GTID event),
//!   so it ignores `event` and applies `row` to the first rows event after the position. The
//!   position is therefore the start of the row's *statement*: the transaction's GTID event for
//!   its first statement, otherwise the end of the previous statement's last rows event (the one
//!   flagged `STMT_END`), where the statement's ANNOTATE_ROWS and TABLE_MAP events follow. `event`
//!   still counts from there, and is left out for the first rows event of a transaction: the keys
//!   Debezium writes on MariaDB. A statement with several rows events (more rows than one event
//!   holds, a multi-table UPDATE) has its TABLE_MAPs only before the first one, so its later rows
//!   events keep the statement start: Debezium resuming there repeats rows of that statement
//!   (never loses one); cdc-connector skips exactly.
//!
//! Reading a stored offset:
//! * with `event`: skip `event` events counted from the position, then `row` rows of the next
//!   rows event;
//! * without `event`, at a transaction start: skip `row` rows of the first rows event;
//! * without `event`, anywhere else: an offset Debezium wrote on MariaDB, whose position is the
//!   end of the rows event that held the row and whose `row` counts rows of *that* event: resume
//!   after it and skip nothing. (When the row was not the last of its event the rest of the event
//!   is not read again; Debezium's own restart there skips rows of the next event instead.)
//!
//! Only events at or after the position count: the fake ROTATE and the format description event
//! the server sends ahead of them do not (they carry `log_pos` 0, or a position before it).

use super::binlog::SourceEvent;

/// What a binlog event means for restart points.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// A switch to another binlog file (or the first, fake, ROTATE of a stream).
    Rotate,
    /// A transaction start: MySQL `BEGIN` or GTID, MariaDB GTID (`standalone`: a DDL follows).
    Begin {
        pos: u64,
        standalone: bool,
    },
    /// XID or `COMMIT`.
    Commit {
        end_pos: u64,
    },
    /// Any other QUERY event (DDL, SAVEPOINT, ...).
    Query {
        end_pos: u64,
    },
    /// A rows event; `stmt_end`: the last of its statement.
    Rows {
        end_pos: u64,
        stmt_end: bool,
    },
    TableMap,
    /// Anything else (format description, ANNOTATE_ROWS, checkpoints, heartbeats...).
    Other {
        end_pos: u64,
    },
}

impl From<&SourceEvent> for Kind {
    fn from(ev: &SourceEvent) -> Kind {
        match ev {
            SourceEvent::Rotate { .. } => Kind::Rotate,
            SourceEvent::Begin { pos, standalone, .. } => Kind::Begin { pos: *pos, standalone: *standalone },
            SourceEvent::Commit { end_pos, .. } => Kind::Commit { end_pos: *end_pos },
            SourceEvent::Query { end_pos, .. } => Kind::Query { end_pos: *end_pos },
            SourceEvent::Rows { end_pos, stmt_end, .. } => Kind::Rows { end_pos: *end_pos, stmt_end: *stmt_end },
            SourceEvent::TableMap { .. } => Kind::TableMap,
            SourceEvent::Other { end_pos } | SourceEvent::RowsQuery { end_pos, .. } => {
                Kind::Other { end_pos: *end_pos }
            }
        }
    }
}

/// What to do with a rows event.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Step {
    /// Already emitted before the restart: emit none of its rows.
    Skip,
    /// Emit its rows after the first `skip_rows`.
    Emit { skip_rows: u64 },
}

/// The restart point of one row: offset keys `pos`, `event` (0: left out) and `row`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RowPoint {
    pub pos: u64,
    pub event: u64,
    pub row: u64,
}

/// Restart-point state of a binlog stream. Call [`Restart::before`] and [`Restart::after`] around
/// the handling of every event, in stream order.
#[derive(Debug)]
pub struct Restart {
    mariadb: bool,
    /// The restart position in the current file.
    pos: u64,
    /// Events at or after `pos` handled so far.
    events: u64,
    /// Inside a transaction (after a non-standalone BEGIN/GTID, before its commit).
    in_tx: bool,
    /// `pos` is a transaction start and no rows event followed it yet.
    tx_start: bool,
    /// The first event at or after the start position has been seen.
    started: bool,
    /// Whether the event between `before` and `after` counts.
    counted: bool,
    // resuming a stored offset
    skip_events: u64,
    skip_rows: u64,
    /// A stored offset without `event` but with `row`: the first event decides how to read it.
    check_first: bool,
}

impl Restart {
    /// State for a server; `mariadb` selects MariaDB's statement-level positions.
    pub fn new(mariadb: bool) -> Restart {
        Restart {
            mariadb,
            pos: 0,
            events: 0,
            in_tx: false,
            tx_start: false,
            started: false,
            counted: false,
            skip_events: 0,
            skip_rows: 0,
            check_first: false,
        }
    }

    /// The stream starts at `pos` (of the stored offset, or a fresh position with no skips).
    pub fn start(&mut self, pos: u64, event: Option<u64>, row: Option<u64>) {
        let (event, row) = (event.unwrap_or(0), row.unwrap_or(0));
        *self = Restart {
            pos,
            skip_events: event,
            skip_rows: row,
            check_first: event == 0 && row > 0,
            ..Restart::new(self.mariadb)
        };
    }

    /// The current restart position (for offsets of records that are not rows, and progress).
    pub fn pos(&self) -> u64 {
        self.pos
    }

    /// Inside a multi-statement transaction (between BEGIN and COMMIT): the restart point is
    /// not a transaction boundary.
    pub fn in_transaction(&self) -> bool {
        self.in_tx
    }

    /// Before handling an event: for a rows event, whether and from which row to emit it.
    pub fn before(&mut self, kind: Kind) -> Step {
        self.counted = match kind {
            Kind::Rotate => false,
            Kind::Other { end_pos } if !self.started && (end_pos == 0 || end_pos <= self.pos) => false,
            _ => true,
        };
        if !self.counted {
            return Step::Emit { skip_rows: 0 };
        }
        self.started = true;
        if std::mem::take(&mut self.check_first) && !matches!(kind, Kind::Begin { .. }) {
            tracing::warn!(
                pos = self.pos,
                skip_rows = self.skip_rows,
                "the stored offset has no `event` and does not point at a transaction start (an offset Debezium \
                 wrote on MariaDB: the end of the rows event it names); resuming after that event"
            );
            self.skip_rows = 0;
        }
        if self.skip_events > 0 {
            self.skip_events -= 1;
            return Step::Skip;
        }
        match kind {
            Kind::Rows { .. } => Step::Emit { skip_rows: std::mem::take(&mut self.skip_rows) },
            _ => Step::Emit { skip_rows: 0 },
        }
    }

    /// The restart point of row `idx` (0-based) of the rows event being handled.
    pub fn row(&self, idx: u64) -> RowPoint {
        let event = if self.mariadb && self.tx_start { 0 } else { self.events };
        RowPoint { pos: self.pos, event, row: idx + 1 }
    }

    /// A statement was emitted as a record (a DDL): a restart resumes after it.
    pub fn statement_done(&mut self, end_pos: u64) {
        self.pos = end_pos;
        self.events = 0;
        self.tx_start = false;
    }

    /// The stream moved to another file; reading continues at `pos` in it.
    pub fn new_file(&mut self, pos: u64) {
        self.pos = pos;
        self.events = 0;
        self.tx_start = false;
    }

    /// After handling an event.
    pub fn after(&mut self, kind: Kind) {
        let counted = std::mem::take(&mut self.counted);
        match kind {
            Kind::Rotate => {}
            Kind::Begin { pos, standalone } => {
                self.pos = pos;
                self.events = 1;
                self.in_tx = !standalone;
                self.tx_start = true;
            }
            Kind::Commit { end_pos } => {
                self.in_tx = false;
                self.statement_done(end_pos);
                // Skips never reach past the transaction they were stored in.
                self.skip_events = 0;
                self.skip_rows = 0;
            }
            // Outside a transaction a statement is complete once read.
            Kind::Query { end_pos } if !self.in_tx => self.statement_done(end_pos),
            Kind::Rows { end_pos, stmt_end: true } if self.mariadb => self.statement_done(end_pos),
            Kind::Rows { .. } => {
                self.tx_start = false;
                self.events += u64::from(counted);
            }
            Kind::Query { .. } | Kind::TableMap | Kind::Other { .. } => self.events += u64::from(counted),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Binlog events for a synthetic layout: each takes 100 bytes.
    #[derive(Debug, Clone, Copy)]
    enum E {
        Begin,
        Ddl,
        Annotate,
        Map,
        /// A rows event (3 rows each); `true`: the last of its statement.
        Rows(bool),
        Commit,
    }

    /// (start position, kind) of each event, starting at `base`.
    fn layout(base: u64, es: &[E]) -> Vec<(u64, Kind)> {
        es.iter()
            .enumerate()
            .map(|(i, e)| {
                let (start, end_pos) = (base + 100 * i as u64, base + 100 * (i as u64 + 1));
                let kind = match e {
                    E::Begin => Kind::Begin { pos: start, standalone: false },
                    E::Ddl => Kind::Query { end_pos },
                    E::Annotate => Kind::Other { end_pos },
                    E::Map => Kind::TableMap,
                    E::Rows(stmt_end) => Kind::Rows { end_pos, stmt_end: *stmt_end },
                    E::Commit => Kind::Commit { end_pos },
                };
                (start, kind)
            })
            .collect()
    }

    /// MariaDB: GTID, then per statement ANNOTATE + TABLE_MAPs + rows events, then XID.
    fn mariadb_tx() -> Vec<E> {
        use E::*;
        vec![
            Begin,
            Annotate,
            Map,
            Rows(true),
            Annotate,
            Map,
            Rows(true),
            Annotate,
            Map,
            Map,
            Rows(false),
            Rows(true),
            Commit,
        ]
    }

    /// MySQL: GTID, BEGIN, TABLE_MAPs and rows events, XID.
    fn mysql_tx() -> Vec<E> {
        use E::*;
        vec![Begin, Begin, Map, Rows(true), Map, Map, Rows(false), Rows(true), Commit]
    }

    /// What a fresh stream from `start` sends first (fake ROTATE, format description).
    fn preamble() -> Vec<Kind> {
        vec![Kind::Rotate, Kind::Other { end_pos: 0 }]
    }

    /// Stream `kinds` through `r`; per rows event: the step and the point of its rows.
    fn run(r: &mut Restart, kinds: impl IntoIterator<Item = Kind>) -> Vec<(Step, [RowPoint; 3])> {
        let mut out = Vec::new();
        for k in kinds {
            let step = r.before(k);
            if let Kind::Rows { .. } = k {
                out.push((step, [r.row(0), r.row(1), r.row(2)]));
            }
            r.after(k);
        }
        out
    }

    /// (rows event index, row) emitted for `steps`, where the first step is rows event `first`.
    fn emitted(first: usize, steps: &[Step]) -> Vec<(usize, u64)> {
        let mut out = Vec::new();
        for (j, s) in steps.iter().enumerate() {
            if let Step::Emit { skip_rows } = s {
                out.extend((*skip_rows..3).map(|r| (first + j, r)));
            }
        }
        out
    }

    /// Index of the first rows event at or after `pos`.
    fn first_rows_at(events: &[(u64, Kind)], pos: u64) -> usize {
        events.iter().filter(|(start, k)| matches!(k, Kind::Rows { .. }) && *start < pos).count()
    }

    fn points(mariadb: bool, events: &[(u64, Kind)]) -> Vec<[RowPoint; 3]> {
        let mut r = Restart::new(mariadb);
        r.start(50, None, None);
        let got = run(&mut r, preamble().into_iter().chain(events.iter().map(|e| e.1)));
        assert!(got.iter().all(|(s, _)| *s == Step::Emit { skip_rows: 0 }));
        got.into_iter().map(|(_, p)| p).collect()
    }

    #[test]
    fn mariadb_points_at_the_statement_start() {
        let events = layout(100, &mariadb_tx());
        let firsts: Vec<RowPoint> = points(true, &events).iter().map(|p| p[0]).collect();
        assert_eq!(
            firsts,
            [
                // first rows event of the transaction: Debezium's MariaDB keys (no `event`)
                RowPoint { pos: 100, event: 0, row: 1 },
                // later statements: their start, `event` = the ANNOTATE and TABLE_MAPs before
                RowPoint { pos: 500, event: 2, row: 1 },
                RowPoint { pos: 800, event: 3, row: 1 },
                RowPoint { pos: 800, event: 4, row: 1 },
            ]
        );
    }

    #[test]
    fn mysql_points_at_begin_and_counts_every_event() {
        let events = layout(100, &mysql_tx());
        let firsts: Vec<RowPoint> = points(false, &events).iter().map(|p| p[0]).collect();
        // Debezium on MySQL: BEGIN + TABLE_MAP = 2, then + ROWS + 2 TABLE_MAPs = 5, + ROWS = 6
        let at = |event| RowPoint { pos: 200, event, row: 1 };
        assert_eq!(firsts, [at(2), at(5), at(6)]);
    }

    /// Every point written while streaming, resumed by cdc-connector, emits exactly the rows after
    /// it; resumed by Debezium on MariaDB (reconnect at `pos`, ignore `event`, skip `row` rows of
    /// the first rows event), too, except inside a statement of several rows events.
    #[test]
    fn every_point_resumes_exactly() {
        for (mariadb, tx) in [(true, mariadb_tx()), (false, mysql_tx())] {
            let events = layout(100, &tx);
            let all: Vec<(usize, u64)> =
                emitted(0, &vec![Step::Emit { skip_rows: 0 }; 4][..points(mariadb, &events).len()]);
            for (i, p) in points(mariadb, &events).iter().flatten().enumerate() {
                let want: Vec<(usize, u64)> = all[i + 1..].to_vec();
                let tail: Vec<Kind> = events.iter().filter(|(start, _)| *start >= p.pos).map(|e| e.1).collect();
                let first = first_rows_at(&events, p.pos);
                let mut again = Restart::new(mariadb);
                again.start(p.pos, (p.event > 0).then_some(p.event), Some(p.row));
                let steps: Vec<Step> =
                    run(&mut again, preamble().into_iter().chain(tail)).iter().map(|s| s.0).collect();
                assert_eq!(emitted(first, &steps), want, "mariadb={mariadb}, cdc-connector from {p:?}");
                if mariadb {
                    let mut dbz = vec![Step::Emit { skip_rows: 0 }; steps.len()];
                    dbz[0] = Step::Emit { skip_rows: p.row };
                    let exact = emitted(first, &dbz) == want;
                    // rows of the two-event statement's second event (rows 9..11)
                    assert_eq!(exact, !(9..12).contains(&i), "Debezium from {p:?}");
                }
            }
        }
    }

    #[test]
    fn debezium_mariadb_offsets_resume_after_their_event() {
        use E::*;
        // Debezium's {pos: end of a rows event, row: n}: the XID or another statement follows.
        let events = layout(100, &mariadb_tx());
        for end in [500, 800] {
            let tail = events.iter().filter(|(start, _)| *start >= end).map(|e| e.1);
            let mut r = Restart::new(true);
            r.start(end, None, Some(3));
            let steps = run(&mut r, preamble().into_iter().chain(tail));
            assert_eq!(steps[0].0, Step::Emit { skip_rows: 0 }, "from {end}");
        }
        // At a transaction start (our own offsets without `event`) the row count is kept.
        let mut r = Restart::new(true);
        r.start(100, None, Some(2));
        let steps = run(
            &mut r,
            preamble().into_iter().chain(layout(100, &[Begin, Annotate, Map, Rows(true)]).into_iter().map(|e| e.1)),
        );
        assert_eq!(steps[0].0, Step::Emit { skip_rows: 2 });
    }

    #[test]
    fn ddl_outside_a_transaction_moves_the_point_after_it() {
        use E::*;
        let mut r = Restart::new(true);
        r.start(50, None, None);
        let mut events = layout(100, &[Begin, Ddl]);
        if let Kind::Begin { standalone, .. } = &mut events[0].1 {
            *standalone = true;
        }
        run(&mut r, events.into_iter().map(|e| e.1));
        assert_eq!(r.pos(), 300);
        r.new_file(4);
        assert_eq!(r.pos(), 4);
    }
}
