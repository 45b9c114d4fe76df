//! `source.snapshot` markers, assigned with a lookahead so that "last" is known before a record
//! leaves.
//!
//! Debezium marks the snapshot's data records `first` (the first record of the first table),
//! `first_in_data_collection` (the first of each later table), `last_in_data_collection` (the last
//! of each table), `last` (the very last record) and `true` (everything else); when one record
//! qualifies twice the precedence is last > first > last_in_data_collection >
//! first_in_data_collection (a one-row first table gets `first`, a one-row middle table
//! `last_in_data_collection`). `first` belongs to the first table of the list: when that table is
//! empty no record is `first` (oracle run `blocksnap`: its first table, `empty_t`, has no rows).
//!
//! Rows arrive per table in read order, possibly interleaved between tables and chunks (parallel
//! snapshot). Each table holds back its newest row until the next row of that table arrives (then the
//! held one is not its table's last) or the table is complete (then it is). A completed table's last
//! row waits in one more slot until any other record leaves, because it might be the snapshot's last
//! record; whatever sits there when the snapshot ends becomes `last` — also when the last tables were
//! empty. Memory: one row per table being read, plus one.

use std::collections::VecDeque;

use crate::connect::Value;

/// A `source.snapshot` value of a data record.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Marker {
    First,
    FirstInDataCollection,
    True,
    LastInDataCollection,
    Last,
}

impl Marker {
    pub fn as_str(self) -> &'static str {
        match self {
            Marker::First => "first",
            Marker::FirstInDataCollection => "first_in_data_collection",
            Marker::True => "true",
            Marker::LastInDataCollection => "last_in_data_collection",
            Marker::Last => "last",
        }
    }
}

/// A row with the marker it leaves with.
#[derive(Debug)]
pub struct MarkedRow {
    /// Index of the table in the snapshot's table list.
    pub table: usize,
    pub values: Vec<Value>,
    pub marker: Marker,
}

struct Held {
    values: Vec<Value>,
    first_of_table: bool,
}

/// The marker state machine (see the module doc).
pub struct Markers {
    held: Vec<Option<Held>>,
    emitted: Vec<u64>,
    /// The last row of a completed table: (table, row, was it its table's first).
    tail: Option<(usize, Held)>,
}

impl Markers {
    pub fn new(tables: usize) -> Markers {
        Markers { held: (0..tables).map(|_| None).collect(), emitted: vec![0; tables], tail: None }
    }

    /// A row of `table` arrived; rows that can leave now are appended to `out`.
    pub fn push(&mut self, table: usize, values: Vec<Value>, out: &mut VecDeque<MarkedRow>) {
        let first_of_table = self.emitted[table] == 0 && self.held[table].is_none();
        if let Some(prev) = self.held[table].replace(Held { values, first_of_table }) {
            self.emit(table, prev, false, false, out);
        }
    }

    /// Every row of `table` has arrived.
    pub fn table_done(&mut self, table: usize, out: &mut VecDeque<MarkedRow>) {
        if let Some(last) = self.held[table].take() {
            self.flush_tail(out);
            self.tail = Some((table, last));
        }
    }

    /// The snapshot ended: the remaining rows leave, the final one marked `last`.
    pub fn finish(&mut self, out: &mut VecDeque<MarkedRow>) {
        for t in 0..self.held.len() {
            self.table_done(t, out);
        }
        if let Some((table, row)) = self.tail.take() {
            self.emit(table, row, true, true, out);
        }
    }

    fn flush_tail(&mut self, out: &mut VecDeque<MarkedRow>) {
        if let Some((table, row)) = self.tail.take() {
            self.emit(table, row, true, false, out);
        }
    }

    fn emit(&mut self, table: usize, row: Held, last_of_table: bool, last: bool, out: &mut VecDeque<MarkedRow>) {
        // The waiting tail leaves before anything else, so it keeps its place in the order.
        if !last {
            self.flush_tail(out);
        }
        let marker = if last {
            Marker::Last
        } else if table == 0 && row.first_of_table {
            Marker::First
        } else if last_of_table {
            Marker::LastInDataCollection
        } else if row.first_of_table {
            Marker::FirstInDataCollection
        } else {
            Marker::True
        };
        self.emitted[table] += 1;
        out.push_back(MarkedRow { table, values: row.values, marker });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(events: &[(usize, Option<i64>)], tables: usize) -> Vec<(usize, i64, &'static str)> {
        let mut m = Markers::new(tables);
        let mut out = VecDeque::new();
        for (t, v) in events {
            match v {
                Some(v) => m.push(*t, vec![Value::Int(*v)], &mut out),
                None => m.table_done(*t, &mut out),
            }
        }
        m.finish(&mut out);
        out.into_iter()
            .map(|r| {
                let Value::Int(v) = r.values[0] else { unreachable!() };
                (r.table, v, r.marker.as_str())
            })
            .collect()
    }

    #[test]
    fn sequential_tables_match_debezium() {
        let got = run(&[(0, Some(1)), (0, Some(2)), (0, None), (1, Some(3)), (1, Some(4)), (1, Some(5)), (1, None)], 2);
        assert_eq!(
            got,
            [
                (0, 1, "first"),
                (0, 2, "last_in_data_collection"),
                (1, 3, "first_in_data_collection"),
                (1, 4, "true"),
                (1, 5, "last")
            ]
        );
    }

    #[test]
    fn one_row_tables_and_empty_last_tables() {
        let got = run(&[(0, Some(1)), (0, None), (1, Some(2)), (1, None), (2, Some(3)), (2, None), (3, None)], 4);
        assert_eq!(got, [(0, 1, "first"), (1, 2, "last_in_data_collection"), (2, 3, "last")]);
        assert_eq!(run(&[(0, None)], 1), []);
        assert_eq!(run(&[(0, Some(7)), (0, None)], 1), [(0, 7, "last")]);
    }

    #[test]
    fn an_empty_first_table_leaves_no_record_first() {
        let got = run(&[(0, None), (1, Some(1)), (1, Some(2)), (1, None), (2, Some(3)), (2, None)], 3);
        assert_eq!(got, [(1, 1, "first_in_data_collection"), (1, 2, "last_in_data_collection"), (2, 3, "last")]);
    }

    #[test]
    fn interleaved_tables_keep_per_table_order_and_markers() {
        let got =
            run(&[(0, Some(1)), (1, Some(10)), (0, Some(2)), (1, Some(11)), (1, None), (0, Some(3)), (0, None)], 2);
        assert_eq!(
            got,
            [
                (0, 1, "first"),
                (1, 10, "first_in_data_collection"),
                (1, 11, "last_in_data_collection"),
                (0, 2, "true"),
                (0, 3, "last")
            ]
        );
    }
}
