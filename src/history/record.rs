//! One schema history record (Debezium's `HistoryRecord`) and the order of positions
//! (Debezium's `BinlogHistoryRecordComparator`).
//!
//! Document layout, in this key order (golden `main.schema-history.jsonl`):
//! `{"source":{"server":<prefix>},"position":{<offset map>},"ts_ms":..,"databaseName":..,
//! "schemaName":..,"ddl":..,"tableChanges":[..]}`; `databaseName`, `schemaName` and `ddl` are
//! left out when null (MySQL records never have a `schemaName`). `position` is the connector
//! offset at the statement, in the key order Debezium's offset map has ([`SourceOffset::to_json`]):
//! `{"ts_sec","file","pos","server_id"}` after a streamed DDL (the end of its QUERY event), plus
//! `"snapshot":"INITIAL"` for the statements a snapshot records.

use std::cmp::Ordering;

use serde_json::{json, Map, Value};

use super::json;
use crate::offsets::SourceOffset;
use crate::source::gtid::GtidSet;

/// A schema history record.
#[derive(Debug, Clone, PartialEq)]
pub struct HistoryRecord {
    /// `source.server`: the connector's `topic.prefix`.
    pub server: String,
    /// `position`: the offset the statement belongs to.
    pub position: SourceOffset,
    /// `ts_ms`: when the record was written.
    pub ts_ms: i64,
    /// `databaseName`: the statement's default database (`""` for `SET`).
    pub database_name: Option<String>,
    /// `schemaName` (never set by the MySQL connector).
    pub schema_name: Option<String>,
    /// `ddl`: the statement text.
    pub ddl: Option<String>,
    /// `tableChanges`, in the history's JSON form (`schema::table_changes::history_json`).
    pub table_changes: Vec<Value>,
}

impl HistoryRecord {
    /// The record as an ordered JSON document.
    pub fn to_document(&self) -> Value {
        let mut m = Map::new();
        m.insert("source".into(), json!({ "server": self.server }));
        // The offset's own rendering fixes the key order (Java HashMap order).
        let position: Value =
            serde_json::from_slice(&self.position.to_json()).unwrap_or_else(|_| Value::Object(Map::new()));
        m.insert("position".into(), position);
        m.insert("ts_ms".into(), json!(self.ts_ms));
        if let Some(d) = &self.database_name {
            m.insert("databaseName".into(), json!(d));
        }
        if let Some(s) = &self.schema_name {
            m.insert("schemaName".into(), json!(s));
        }
        if let Some(d) = &self.ddl {
            m.insert("ddl".into(), json!(d));
        }
        m.insert("tableChanges".into(), Value::Array(self.table_changes.clone()));
        Value::Object(m)
    }

    /// One line of `FileSchemaHistory` (compact, without the newline).
    pub fn to_compact(&self) -> String {
        json::compact(&self.to_document())
    }

    /// The value `KafkaSchemaHistory` stores (Jackson's pretty printer).
    pub fn to_pretty(&self) -> String {
        json::pretty(&self.to_document())
    }

    /// Parse a record written by Debezium or by us (any key order, compact or pretty).
    pub fn parse(bytes: &[u8]) -> Result<HistoryRecord, String> {
        let v: Value = serde_json::from_slice(bytes).map_err(|e| format!("not JSON: {e}"))?;
        let Value::Object(m) = v else { return Err("not a JSON object".into()) };
        let server = m
            .get("source")
            .and_then(|s| s.get("server"))
            .and_then(Value::as_str)
            .ok_or("no source.server")?
            .to_string();
        let position = m.get("position").filter(|p| p.is_object()).ok_or("no position object")?;
        let position =
            SourceOffset::from_json(position.to_string().as_bytes()).map_err(|e| format!("position: {e}"))?;
        let text = |k: &str| m.get(k).and_then(Value::as_str).map(str::to_string);
        Ok(HistoryRecord {
            server,
            position,
            ts_ms: m.get("ts_ms").and_then(Value::as_i64).unwrap_or(0),
            database_name: text("databaseName"),
            schema_name: text("schemaName"),
            ddl: text("ddl"),
            table_changes: m.get("tableChanges").and_then(Value::as_array).cloned().unwrap_or_default(),
        })
    }
}

/// Whether `recorded` is at or before `desired` — Debezium's `BinlogHistoryRecordComparator`:
///
/// 1. GTIDs: when `desired` has a GTID set, a `recorded` without one is before it, and one with
///    a set is before when `desired` contains it (equal sets: a recorded non-snapshot position is
///    after a desired snapshot one; then the events to skip decide). A `recorded` with GTIDs is
///    after a `desired` without.
/// 2. Different `server_id`s: the binlog coordinates are unrelated, compare `ts_sec`.
/// 3. Otherwise binlog file (by its numeric extension), then `pos`, then `event` (default 0),
///    then `row` (default -1).
///
/// Two deliberate differences: a position without `server_id` (a snapshot's) is compared by its
/// coordinates instead of its timestamp (Debezium's snapshot positions have no `server_id`, and
/// for a snapshot read at an old binlog position the timestamp would be wrong), and file names
/// that cannot be compared by extension (Debezium throws) are compared as text.
pub fn at_or_before(recorded: &SourceOffset, desired: &SourceOffset) -> bool {
    match (&recorded.gtids, &desired.gtids) {
        (None, Some(_)) => return true,
        (Some(_), None) => return false,
        (Some(r), Some(d)) => {
            if let Some(answer) = compare_gtids(recorded, r, desired, d) {
                return answer;
            }
        }
        (None, None) => {}
    }
    if let (Some(r), Some(d)) = (recorded.server_id, desired.server_id) {
        if r != d {
            return recorded.ts_sec.unwrap_or(0) <= desired.ts_sec.unwrap_or(0);
        }
    }
    let order = compare_files(&recorded.file, &desired.file)
        .then(recorded.pos.cmp(&desired.pos))
        .then(recorded.event.unwrap_or(0).cmp(&desired.event.unwrap_or(0)))
        .then(row(recorded).cmp(&row(desired)));
    order != Ordering::Greater
}

fn row(o: &SourceOffset) -> i64 {
    o.row.map_or(-1, |r| r as i64)
}

/// `None` when the sets cannot be parsed (the coordinates decide then).
fn compare_gtids(recorded: &SourceOffset, r: &str, desired: &SourceOffset, d: &str) -> Option<bool> {
    let (rs, ds) = (GtidSet::parse(r).ok()?, GtidSet::parse(d).ok()?);
    if rs == ds {
        if !recorded.in_snapshot() && desired.in_snapshot() {
            return Some(false);
        }
        return Some(recorded.event.unwrap_or(0) <= desired.event.unwrap_or(0));
    }
    Some(ds.contains(&rs))
}

/// Binlog file names `base.NNNNNN` by number when the bases match, else as text.
pub fn compare_files(a: &str, b: &str) -> Ordering {
    let split =
        |s: &str| s.rsplit_once('.').and_then(|(base, ext)| ext.parse::<u64>().ok().map(|n| (base.to_string(), n)));
    match (split(a), split(b)) {
        (Some((ba, na)), Some((bb, nb))) if ba == bb => na.cmp(&nb),
        _ => a.cmp(b),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(file: &str, pos: u64, event: Option<u64>, row: Option<u64>) -> SourceOffset {
        SourceOffset { file: file.into(), pos, event, row, server_id: Some(1), ts_sec: Some(10), ..Default::default() }
    }

    #[test]
    fn coordinates_order_file_pos_event_row() {
        let ddl = at("mysql-bin.000001", 32287, None, None);
        assert!(at_or_before(&ddl, &ddl));
        assert!(at_or_before(&ddl, &at("mysql-bin.000001", 32287, None, Some(1))));
        assert!(at_or_before(&ddl, &at("mysql-bin.000001", 32594, None, Some(1))));
        assert!(!at_or_before(&ddl, &at("mysql-bin.000001", 23034, None, Some(3))));
        assert!(at_or_before(&ddl, &at("mysql-bin.000002", 4, None, None)));
        assert!(!at_or_before(&at("mysql-bin.000010", 4, None, None), &at("mysql-bin.000009", 900, None, None)));
        assert!(!at_or_before(&at("f.000001", 5, Some(2), None), &at("f.000001", 5, Some(1), Some(9))));
        assert!(at_or_before(&at("f.000001", 5, Some(1), Some(2)), &at("f.000001", 5, Some(1), Some(2))));
    }

    #[test]
    fn server_ids_and_snapshots() {
        let mut other = at("mysql-bin.000009", 4, None, None);
        other.server_id = Some(2);
        other.ts_sec = Some(5);
        // Another server: only the timestamps compare (5 <= 10), whatever the file names say.
        assert!(at_or_before(&other, &at("mysql-bin.000001", 4, None, None)));
        other.ts_sec = Some(11);
        assert!(!at_or_before(&other, &at("mysql-bin.000001", 4, None, None)));
        // A snapshot position has no server_id: compared by coordinates.
        let snap = SourceOffset {
            file: "mysql-bin.000001".into(),
            pos: 19119,
            ts_sec: Some(99),
            snapshot: Some("INITIAL".into()),
            ..Default::default()
        };
        assert!(at_or_before(&snap, &at("mysql-bin.000001", 19119, None, None)));
        assert!(!at_or_before(&snap, &at("mysql-bin.000001", 4, None, None)));
    }

    #[test]
    fn gtids_decide_when_present() {
        let u = "3e11fa47-71ca-11e1-9e33-c80aa9429562";
        let g = |set: &str| SourceOffset { gtids: Some(set.into()), ..at("f.000001", 1, None, None) };
        assert!(at_or_before(&g(&format!("{u}:1-5")), &g(&format!("{u}:1-9"))));
        assert!(!at_or_before(&g(&format!("{u}:1-9")), &g(&format!("{u}:1-5"))));
        assert!(at_or_before(&at("f.000009", 1, None, None), &g(&format!("{u}:1-5"))));
        assert!(!at_or_before(&g(&format!("{u}:1-5")), &at("f.000001", 1, None, None)));
    }

    #[test]
    fn golden_records_round_trip_field_for_field() {
        let path = crate::offsets::tests::oracle_dir().join("golden/main.schema-history.jsonl");
        for line in std::fs::read_to_string(path).unwrap().lines() {
            let rec = HistoryRecord::parse(line.as_bytes()).unwrap();
            assert_eq!(rec.to_compact(), line);
            assert_eq!(HistoryRecord::parse(rec.to_pretty().as_bytes()).unwrap(), rec);
        }
    }
}
