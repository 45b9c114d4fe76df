//! fold: a table's batch of change events → the upserts and deletes of one write.
//!
//! Within a batch the last event per record key wins, "last" meaning the greatest binlog position
//! (file number, pos, row) — the order Debezium produced them in, and the table's ordering field,
//! so a replayed older event can never win over a newer one either. `d` → delete by key; `r`, `c`,
//! `u` → upsert of the `after` row; tombstones carry no information the delete did not, and are
//! skipped (they still advance the offsets). A PK change arrives as a delete of the old key and a
//! create of the new one: two keys, both applied.
//!
//! A batch holds rows of one column list only: an event with other columns (a schema change)
//! cannot join it, and the caller flushes first ([`TableBatch::accepts`]).

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use crate::decode::{Cell, Change, Columns, Event, Op, Payload};

/// Java `KeyGenerator.NULL_RECORDKEY_PLACEHOLDER` / `EMPTY_RECORDKEY_PLACEHOLDER`.
const NULL_KEY: &str = "__null__";
const EMPTY_KEY: &str = "__empty__";

/// How a table's record key is rendered: hudi-rs's (and Java's) key generators write a single key
/// field as its bare value, several as `f1:v1,f2:v2`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyFormat {
    pub fields: Vec<String>,
}

impl KeyFormat {
    pub fn render(&self, columns: &Columns, row: &[Cell]) -> Result<String, String> {
        let value = |name: &str| -> Result<Option<String>, String> {
            let i = columns.index_of(name).ok_or_else(|| format!("record key field `{name}` is not a column"))?;
            match &row[i] {
                Cell::Null => Ok(None),
                c => c.key_text().map(Some).ok_or_else(|| {
                    format!("record key field `{name}` is not a string, boolean or integer, which Hudi keys need")
                }),
            }
        };
        if let [only] = self.fields.as_slice() {
            return match value(only)? {
                Some(v) if !v.is_empty() => Ok(v),
                _ => Err(format!("record key field `{only}` is null or empty")),
            };
        }
        let mut key = String::new();
        let mut all_empty = true;
        for (i, f) in self.fields.iter().enumerate() {
            if i > 0 {
                key.push(',');
            }
            key.push_str(f);
            key.push(':');
            match value(f)? {
                None => key.push_str(NULL_KEY),
                Some(v) if v.is_empty() => key.push_str(EMPTY_KEY),
                Some(v) => {
                    key.push_str(&v);
                    all_empty = false;
                }
            }
        }
        if all_empty {
            return Err(format!("record key `{key}` is entirely null or empty"));
        }
        Ok(key)
    }
}

/// The events of one table since its last write.
#[derive(Debug, Default)]
pub struct TableBatch {
    /// Column list of the upsert rows in this batch.
    columns: Option<Arc<Columns>>,
    /// record key → (the winning change, arrival index)
    latest: HashMap<String, (Change, usize)>,
    /// next offset to read, per (topic, partition)
    pub offsets: BTreeMap<(String, i32), i64>,
    /// records taken (tombstones included)
    pub records: usize,
}

/// What one write applies.
#[derive(Debug)]
pub struct Folded {
    pub columns: Option<Arc<Columns>>,
    /// Changes whose final op is r/c/u, in arrival order.
    pub upserts: Vec<Change>,
    /// (record key, change) whose final op is d, in arrival order.
    pub deletes: Vec<(String, Change)>,
}

impl TableBatch {
    pub fn is_empty(&self) -> bool {
        self.records == 0
    }

    /// Whether `event` can join this batch (false: a change with another column list than the
    /// batch's rows — flush first).
    pub fn accepts(&self, event: &Event) -> bool {
        match (&event.payload, &self.columns) {
            (Payload::Change(c), Some(cols)) if c.op != Op::Delete => {
                Arc::ptr_eq(cols, &c.columns) || **cols == *c.columns
            }
            _ => true,
        }
    }

    /// Add an event; `key` renders its record key. Errors leave the batch unchanged.
    pub fn add(&mut self, event: Event, key: &KeyFormat) -> Result<(), String> {
        let at = (event.kafka.topic.to_string(), event.kafka.partition);
        if let Payload::Change(change) = event.payload {
            let record_key = key.render(&change.columns, &change.row)?;
            if change.op != Op::Delete && self.columns.is_none() {
                self.columns = Some(change.columns.clone());
            }
            let idx = self.records;
            match self.latest.get(&record_key) {
                Some((old, _)) if old.source.order() > change.source.order() => {}
                _ => {
                    self.latest.insert(record_key, (change, idx));
                }
            }
        }
        self.offsets.insert(at, event.kafka.offset + 1);
        self.records += 1;
        Ok(())
    }

    /// The batch's write, leaving the batch empty.
    pub fn fold(&mut self) -> (Folded, BTreeMap<(String, i32), i64>, usize) {
        let mut winners: Vec<(String, Change, usize)> = self.latest.drain().map(|(k, (c, i))| (k, c, i)).collect();
        winners.sort_by_key(|(_, _, i)| *i);
        let mut upserts = Vec::new();
        let mut deletes = Vec::new();
        for (k, c, _) in winners {
            if c.op == Op::Delete {
                deletes.push((k, c));
            } else {
                upserts.push(c);
            }
        }
        let folded = Folded { columns: self.columns.take(), upserts, deletes };
        let records = std::mem::take(&mut self.records);
        (folded, std::mem::take(&mut self.offsets), records)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::TableId;
    use crate::decode::{Column, KafkaPos, Kind, SourcePos};

    fn cols() -> Arc<Columns> {
        Arc::new(Columns {
            fields: vec![
                Column { name: "id".into(), kind: Kind::Int32, nullable: false },
                Column { name: "v".into(), kind: Kind::Utf8, nullable: true },
            ],
        })
    }

    fn ev(cols: &Arc<Columns>, offset: i64, op: Op, id: i64, v: &str, pos: i64) -> Event {
        Event {
            table: TableId { db: "d".into(), table: "t".into() },
            kafka: KafkaPos { topic: "p.d.t".into(), partition: 0, offset },
            payload: Payload::Change(Change {
                op,
                columns: cols.clone(),
                row: vec![Cell::Int(id), Cell::Str(v.into())],
                key_fields: Arc::new(vec!["id".into()]),
                source: SourcePos { file: "mysql-bin.000001".into(), pos, row: 0, ts_ms: 0 },
                ts_ms: 0,
            }),
        }
    }

    #[test]
    fn last_event_per_key_wins_by_binlog_position() {
        let c = cols();
        let key = KeyFormat { fields: vec!["id".into()] };
        let mut b = TableBatch::default();
        b.add(ev(&c, 0, Op::Create, 1, "a", 100), &key).unwrap();
        b.add(ev(&c, 1, Op::Update, 1, "b", 200), &key).unwrap();
        b.add(ev(&c, 2, Op::Create, 2, "x", 300), &key).unwrap();
        b.add(ev(&c, 3, Op::Delete, 2, "x", 400), &key).unwrap();
        b.add(ev(&c, 4, Op::Create, 3, "new", 500), &key).unwrap();
        // a replayed older event does not win
        b.add(ev(&c, 5, Op::Update, 1, "old", 150), &key).unwrap();
        b.add(Event { payload: Payload::Tombstone, ..ev(&c, 6, Op::Delete, 2, "", 0) }, &key).unwrap();
        let (f, offsets, records) = b.fold();
        assert_eq!(records, 7);
        assert_eq!(offsets.get(&("p.d.t".to_string(), 0)), Some(&7));
        let up: Vec<_> = f.upserts.iter().map(|c| c.row.clone()).collect();
        assert_eq!(up, vec![vec![Cell::Int(1), Cell::Str("b".into())], vec![Cell::Int(3), Cell::Str("new".into())]]);
        assert_eq!(f.deletes.iter().map(|(k, _)| k.as_str()).collect::<Vec<_>>(), ["2"]);
        assert!(b.is_empty());
    }

    #[test]
    fn composite_keys_use_java_rendering() {
        let c = cols();
        let key = KeyFormat { fields: vec!["id".into(), "v".into()] };
        assert_eq!(key.render(&c, &[Cell::Int(1), Cell::Str("x".into())]).unwrap(), "id:1,v:x");
        assert_eq!(key.render(&c, &[Cell::Int(1), Cell::Null]).unwrap(), "id:1,v:__null__");
        assert_eq!(key.render(&c, &[Cell::Int(1), Cell::Str(String::new())]).unwrap(), "id:1,v:__empty__");
        assert!(KeyFormat { fields: vec!["v".into()] }.render(&c, &[Cell::Int(1), Cell::Null]).is_err());
        let bad =
            Arc::new(Columns { fields: vec![Column { name: "id".into(), kind: Kind::Float64, nullable: false }] });
        assert!(KeyFormat { fields: vec!["id".into()] }.render(&bad, &[Cell::Float(1.5)]).is_err());
    }

    #[test]
    fn a_schema_change_is_not_accepted_into_a_batch() {
        let c1 = cols();
        let c2 = Arc::new(Columns {
            fields: vec![
                Column { name: "id".into(), kind: Kind::Int32, nullable: false },
                Column { name: "w".into(), kind: Kind::Int64, nullable: true },
            ],
        });
        let key = KeyFormat { fields: vec!["id".into()] };
        let mut b = TableBatch::default();
        b.add(ev(&c1, 0, Op::Create, 1, "a", 100), &key).unwrap();
        assert!(b.accepts(&ev(&c1, 1, Op::Update, 1, "a", 110)));
        assert!(!b.accepts(&ev(&c2, 1, Op::Update, 1, "a", 110)));
        assert!(b.accepts(&ev(&c2, 1, Op::Delete, 1, "a", 110)));
    }
}
