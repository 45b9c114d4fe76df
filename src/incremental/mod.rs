//! Signals and incremental snapshots, as Debezium 3.6.3 runs them (checked against the oracle run
//! `incsnap`, tests/it/incremental.rs).
//!
//! Signals are rows inserted into the signal table (`signal.data.collection`, columns `id`, `type`,
//! `data`), read from the binlog like any change (channel `source`). `execute-snapshot` (type
//! incremental, optional `additional-conditions`) queues tables; `stop-snapshot`,
//! `pause-snapshot`, `resume-snapshot` and `log` do what they say.
//!
//! Algorithm (DBLog watermarks, Debezium's `AbstractIncrementalSnapshotChangeEventSource`): a
//! chunk is read between two watermark rows the connector inserts into the signal table:
//! `<uuid>-open`, then `SELECT * … WHERE key > <last> AND key <= <max> ORDER BY key LIMIT
//! <chunk>` (rows buffered by message key), then `<uuid>-close`. While the binlog reader is
//! between the two watermark events, every change of the table removes the buffered row with the
//! same key (the binlog's version is newer or equal); at the close watermark the remaining rows are
//! emitted as `op: r` with `source.snapshot = "incremental"`, and the next chunk is read. A
//! table's maximum key is read when its first chunk is; an empty chunk ends the table.
//!
//! Progress lives in the offsets, in Debezium's fields (`incremental_snapshot_collections`,
//! `…_correlation_id`, `…_maximum_key`, `…_primary_key`, keys as hex of Java-serialized `Object[]`,
//! [`crate::java_ser`]), so a restart resumes after the last key emitted, and Debezium can resume ours.

use std::collections::VecDeque;

use mysql_common::value::Value as MyValue;
use serde_json::Value as Json;

use crate::connect::Value;
use crate::java_ser::{self, KeyPart};
use crate::schema::{ColumnKind, Table, TableId};

/// Offset fields of an incremental snapshot in progress.
pub const COLLECTIONS_KEY: &str = "incremental_snapshot_collections";
pub const CORRELATION_KEY: &str = "incremental_snapshot_correlation_id";
pub const MAX_KEY_KEY: &str = "incremental_snapshot_maximum_key";
pub const PRIMARY_KEY_KEY: &str = "incremental_snapshot_primary_key";

/// One table queued for an incremental snapshot.
#[derive(Debug, Clone, PartialEq)]
pub struct Collection {
    pub id: TableId,
    /// `additional-conditions` filter, wrapped in parentheses as Debezium stores it.
    pub condition: Option<String>,
}

/// What an incremental snapshot has done so far (the part kept in offsets).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Progress {
    pub correlation_id: Option<String>,
    /// Tables still to read; the first is being read.
    pub collections: VecDeque<Collection>,
    /// The current table's largest key when its first chunk was read.
    pub max_key: Option<Vec<KeyPart>>,
    /// The key of the last row emitted from the current table.
    pub last_sent: Option<Vec<KeyPart>>,
}

impl Progress {
    pub fn running(&self) -> bool {
        !self.collections.is_empty()
    }

    /// The offset fields (none when no snapshot runs), `last_sent` overridden by `key` for a
    /// snapshot row's own offset.
    pub fn offset_entries(&self, key: Option<&[KeyPart]>) -> Vec<(String, Json)> {
        if !self.running() {
            return Vec::new();
        }
        let collections: Vec<Json> = self
            .collections
            .iter()
            .map(|c| {
                serde_json::json!({
                    "incremental_snapshot_collections_id": c.id.to_string(),
                    "incremental_snapshot_collections_additional_condition": c.condition,
                    "incremental_snapshot_collections_surrogate_key": Json::Null,
                })
            })
            .collect();
        let hex = |k: Option<&[KeyPart]>| match k {
            Some(parts) => java_ser::encode_key_hex(parts),
            None => java_ser::encode_null().iter().map(|b| format!("{b:02x}")).collect(),
        };
        let mut out = vec![(COLLECTIONS_KEY.to_string(), Json::String(Json::Array(collections).to_string()))];
        if let Some(id) = &self.correlation_id {
            out.push((CORRELATION_KEY.to_string(), Json::String(id.clone())));
        }
        out.push((MAX_KEY_KEY.to_string(), Json::String(hex(self.max_key.as_deref()))));
        out.push((PRIMARY_KEY_KEY.to_string(), Json::String(hex(key.or(self.last_sent.as_deref())))));
        out
    }

    /// The progress a stored offset's extra fields hold (None: no snapshot was running).
    pub fn from_offset(extra: &[(String, Json)]) -> Result<Option<Progress>, String> {
        let get = |k: &str| extra.iter().find(|(n, _)| n == k).map(|(_, v)| v);
        let Some(collections) = get(COLLECTIONS_KEY).and_then(Json::as_str) else { return Ok(None) };
        let list: Vec<Json> =
            serde_json::from_str(collections).map_err(|e| format!("{COLLECTIONS_KEY} is not a JSON array: {e}"))?;
        let mut queue = VecDeque::new();
        for c in list {
            let name = c["incremental_snapshot_collections_id"]
                .as_str()
                .ok_or_else(|| format!("{COLLECTIONS_KEY}: an entry without incremental_snapshot_collections_id"))?;
            let (db, table) =
                name.split_once('.').ok_or_else(|| format!("{COLLECTIONS_KEY}: {name:?} is not db.table"))?;
            let condition = c["incremental_snapshot_collections_additional_condition"].as_str().map(str::to_string);
            queue.push_back(Collection { id: TableId::new(db, table), condition });
        }
        let key = |k: &str| -> Result<Option<Vec<KeyPart>>, String> {
            match get(k).and_then(Json::as_str) {
                Some(h) => java_ser::decode_key_hex(h).map_err(|e| format!("{k}: {e}")),
                None => Ok(None),
            }
        };
        Ok(Some(Progress {
            correlation_id: get(CORRELATION_KEY).and_then(Json::as_str).map(str::to_string),
            collections: queue,
            max_key: key(MAX_KEY_KEY)?,
            last_sent: key(PRIMARY_KEY_KEY)?,
        }))
    }

    /// Move on to the next table.
    pub fn next_collection(&mut self) {
        self.collections.pop_front();
        self.max_key = None;
        self.last_sent = None;
    }
}

/// A signal, as read from the signal table (columns 1-3: id, type, data).
#[derive(Debug, Clone, PartialEq)]
pub enum Signal {
    Execute {
        collections: Vec<Collection>,
        incremental: bool,
    },
    /// `execute-snapshot` of type `blocking`: streaming pauses while these tables are read.
    Blocking(BlockingRequest),
    Stop {
        collections: Option<Vec<TableId>>,
    },
    Pause,
    Resume,
    Log(String),
    WindowOpen(String),
    WindowClose(String),
    /// `set-binlog-position`: read the binlog from here on.
    SetPosition(PositionTarget),
    /// Anything else (named in a warning).
    Other(String),
}

/// A blocking snapshot asked for by an `execute-snapshot` signal of type `blocking`.
///
/// As in Debezium 3.6.3 (`SnapshotConfiguration`, oracle run `blocksnap`): `data-collections` are
/// regular expressions matched (whole, ignoring case) against the captured tables' `db.table`, and
/// an `additional-conditions` entry's `filter` is the whole `SELECT` that reads its table (for
/// incremental snapshots it is only a condition).
#[derive(Debug, Clone, PartialEq)]
pub struct BlockingRequest {
    pub patterns: Vec<String>,
    /// `db.table` → the `SELECT` that reads it.
    pub selects: Vec<(TableId, String)>,
}

impl BlockingRequest {
    /// The `data` text of an equivalent signal (kept in offsets while the snapshot runs, so
    /// that a restart takes it again).
    pub fn to_data(&self) -> String {
        let conditions: Vec<Json> = self
            .selects
            .iter()
            .map(|(t, f)| serde_json::json!({"data-collection": t.to_string(), "filter": f}))
            .collect();
        serde_json::json!({"type": "blocking", "data-collections": self.patterns, "additional-conditions": conditions})
            .to_string()
    }

    /// The request an offset's `to_data` text holds.
    pub fn from_data(data: &str) -> Result<BlockingRequest, String> {
        match parse_signal("", "execute-snapshot", Some(data))? {
            Signal::Blocking(r) => Ok(r),
            _ => Err("not a blocking snapshot request".into()),
        }
    }

    /// The tables of `captured` it names, in `captured`'s order; an error names an invalid
    /// pattern.
    pub fn tables<'a>(&self, captured: impl IntoIterator<Item = &'a TableId>) -> Result<Vec<TableId>, String> {
        let anchored: Vec<String> = self.patterns.iter().map(|p| format!("^(?:{})$", p.trim())).collect();
        let set = regex::RegexSetBuilder::new(&anchored)
            .case_insensitive(true)
            .build()
            .map_err(|e| format!("data-collections holds an invalid regular expression: {e}"))?;
        Ok(captured.into_iter().filter(|id| set.is_match(&id.to_string())).cloned().collect())
    }
}

/// Where a `set-binlog-position` signal sends the connector: `{"binlog_filename", "binlog_position"}` or
/// `{"gtid_set"}` (a MySQL set, or on MariaDB a `domain-server-seq` list).
#[derive(Debug, Clone, PartialEq)]
pub enum PositionTarget {
    File { file: String, pos: u64 },
    Gtid(crate::source::gtid::GtidSet),
}

/// The `data` of a `set-binlog-position` signal, checked as Debezium 3.6.3's `SetBinlogPositionSignal` checks it
/// (its messages), except that a GTID set may also be MariaDB's.
fn position_target(j: &Json) -> Result<PositionTarget, String> {
    let text = |k: &str| j.get(k).and_then(Json::as_str).filter(|s| !s.is_empty());
    let (file, gtid) = (text("binlog_filename"), text("gtid_set"));
    let pos = match j.get("binlog_position") {
        None | Some(Json::Null) => None,
        Some(v) => Some(v.as_i64().ok_or("binlog_position is not a number")?),
    };
    let has_file = file.is_some() || pos.is_some();
    match (has_file, gtid) {
        (true, Some(_)) => Err("Cannot specify both binlog file/position and GTID set".into()),
        (false, None) => Err("Must specify either binlog file/position or GTID set".into()),
        (false, Some(g)) => crate::source::gtid::GtidSet::parse(g)
            .map(PositionTarget::Gtid)
            .map_err(|e| format!("Invalid GTID set format: {g} ({e})")),
        (true, None) => {
            let file = file.ok_or("Binlog filename must be specified when position is provided")?;
            let pos = pos.ok_or("Binlog position must be specified when filename is provided")?;
            let pos = u64::try_from(pos).map_err(|_| "Binlog position must be non-negative")?;
            // `^[a-zA-Z0-9_-]+\.\d{6}$`, as Debezium checks it
            let valid = file.split_once('.').is_some_and(|(base, n)| {
                !base.is_empty()
                    && base.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
                    && n.len() == 6
                    && n.bytes().all(|b| b.is_ascii_digit())
            });
            if !valid {
                return Err(format!("Invalid binlog filename format: {file}"));
            }
            Ok(PositionTarget::File { file: file.to_string(), pos })
        }
    }
}

/// `db.table` (Debezium also accepts a quoted or schema-less form; we take `db.table`).
fn table_id(name: &str) -> Option<TableId> {
    let clean = |s: &str| s.trim().trim_matches('`').trim_matches('"').to_string();
    let (db, t) = name.split_once('.')?;
    Some(TableId::new(clean(db), clean(t)))
}

/// Parse a signal row; an error names what is wrong with its `data`.
pub fn parse_signal(id: &str, kind: &str, data: Option<&str>) -> Result<Signal, String> {
    let json = || -> Result<Json, String> {
        match data {
            Some(d) if !d.trim().is_empty() => serde_json::from_str(d).map_err(|e| format!("data is not JSON: {e}")),
            _ => Ok(Json::Null),
        }
    };
    let tables = |j: &Json| -> Result<Option<Vec<TableId>>, String> {
        let Some(list) = j.get("data-collections") else { return Ok(None) };
        let list = list.as_array().ok_or("data-collections is not an array")?;
        list.iter()
            .map(|v| {
                let s = v.as_str().ok_or("data-collections holds a non-string")?;
                table_id(s).ok_or_else(|| format!("data collection {s:?} is not db.table"))
            })
            .collect::<Result<Vec<_>, _>>()
            .map(Some)
    };
    Ok(match kind {
        "execute-snapshot" => {
            let j = json()?;
            let kind = j.get("type").and_then(Json::as_str).unwrap_or("incremental");
            if kind.eq_ignore_ascii_case("blocking") {
                return blocking_request(&j).map(Signal::Blocking);
            }
            let incremental = kind.eq_ignore_ascii_case("incremental");
            let ids = tables(&j)?.ok_or("execute-snapshot without data-collections")?;
            let conditions: Vec<(TableId, String)> = match j.get("additional-conditions") {
                Some(Json::Array(list)) => list
                    .iter()
                    .filter_map(|c| {
                        let t = table_id(c.get("data-collection")?.as_str()?)?;
                        Some((t, c.get("filter")?.as_str()?.to_string()))
                    })
                    .collect(),
                _ => Vec::new(),
            };
            let collections = ids
                .into_iter()
                .map(|id| {
                    let condition = conditions.iter().find(|(t, _)| *t == id).map(|(_, f)| format!("({f})"));
                    Collection { id, condition }
                })
                .collect();
            Signal::Execute { collections, incremental }
        }
        "stop-snapshot" => Signal::Stop { collections: tables(&json()?)?.filter(|t| !t.is_empty()) },
        "pause-snapshot" => Signal::Pause,
        "resume-snapshot" => Signal::Resume,
        "log" => Signal::Log(json()?.get("message").and_then(Json::as_str).unwrap_or_default().to_string()),
        "set-binlog-position" => {
            let j = json()?;
            if j.as_object().is_none_or(|o| o.is_empty()) {
                return Err("set-binlog-position signal without data".into());
            }
            Signal::SetPosition(position_target(&j)?)
        }
        "snapshot-window-open" => Signal::WindowOpen(id.to_string()),
        "snapshot-window-close" => Signal::WindowClose(id.to_string()),
        other => Signal::Other(other.to_string()),
    })
}

/// The `data` of an `execute-snapshot` signal of type `blocking`.
fn blocking_request(j: &Json) -> Result<BlockingRequest, String> {
    let list = j.get("data-collections").ok_or("execute-snapshot without data-collections")?;
    let patterns = list
        .as_array()
        .ok_or("data-collections is not an array")?
        .iter()
        .map(|v| v.as_str().map(str::to_string).ok_or("data-collections holds a non-string"))
        .collect::<Result<Vec<_>, _>>()?;
    if patterns.is_empty() {
        return Err("execute-snapshot with an empty data-collections".into());
    }
    let mut selects = Vec::new();
    if let Some(list) = j.get("additional-conditions") {
        for c in list.as_array().ok_or("additional-conditions is not an array")? {
            let name = c
                .get("data-collection")
                .and_then(Json::as_str)
                .ok_or("an additional condition without data-collection")?;
            let id = table_id(name).ok_or_else(|| format!("data collection {name:?} is not db.table"))?;
            let filter = c.get("filter").and_then(Json::as_str).filter(|f| !f.trim().is_empty());
            let filter =
                filter.ok_or_else(|| format!("the additional condition of {name} has no filter (a SELECT)"))?;
            selects.push((id, filter.to_string()));
        }
    }
    Ok(BlockingRequest { patterns, selects })
}

/// A primary-key value of a read row as JDBC hands it to Debezium (Integer for the small integer
/// types and INT, Long for BIGINT and INT UNSIGNED, String for text; other types as their text).
pub fn key_part(table: &Table, col_index: usize, v: &MyValue) -> KeyPart {
    let col = &table.columns[col_index];
    let long = matches!(col.kind, ColumnKind::BigInt) || (matches!(col.kind, ColumnKind::Int) && col.unsigned);
    match v {
        MyValue::NULL => KeyPart::Null,
        MyValue::Int(i) if long => KeyPart::Long(*i),
        MyValue::Int(i) => i32::try_from(*i).map(KeyPart::Int).unwrap_or(KeyPart::Long(*i)),
        MyValue::UInt(u) => i64::try_from(*u).map(KeyPart::Long).unwrap_or_else(|_| KeyPart::Str(u.to_string())),
        MyValue::Bytes(b) => KeyPart::Str(String::from_utf8_lossy(b).into_owned()),
        other => KeyPart::Str(other.as_sql(true).trim_matches('\'').to_string()),
    }
}

/// A key part as a query parameter.
pub fn key_param(p: &KeyPart) -> MyValue {
    match p {
        KeyPart::Null => MyValue::NULL,
        KeyPart::Byte(v) => MyValue::Int(i64::from(*v)),
        KeyPart::Short(v) => MyValue::Int(i64::from(*v)),
        KeyPart::Int(v) => MyValue::Int(i64::from(*v)),
        KeyPart::Long(v) => MyValue::Int(*v),
        KeyPart::Str(s) => MyValue::Bytes(s.as_bytes().to_vec()),
    }
}

/// `'text'` as a MySQL string literal.
fn sql_string(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('\'');
    for c in s.chars() {
        match c {
            '\'' => out.push_str("\\'"),
            '\\' => out.push_str("\\\\"),
            '\0' => out.push_str("\\0"),
            c => out.push(c),
        }
    }
    out.push('\'');
    out
}

/// The watermark statement Debezium runs (same text, so binlog positions match Debezium's).
pub fn watermark_sql(signal_table: &TableId, id: &str, kind: &str, data: &str) -> String {
    format!(
        "INSERT INTO {} VALUES ({}, {}, {})",
        crate::snapshot::schema::qualified(signal_table),
        sql_string(id),
        sql_string(kind),
        sql_string(data)
    )
}

/// Now as Java's `Instant.toString()` prints it, always with nine fraction digits (Java drops
/// trailing zero groups; a fixed width keeps the watermark statements, and so the binlog
/// positions after them, the same length as Debezium's almost always-nine-digit ones).
pub fn instant_now() -> String {
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap_or_default();
    let secs = now.as_secs() as i64;
    let (y, m, d) = crate::decode::civil_from_days(secs.div_euclid(86_400));
    let t = secs.rem_euclid(86_400);
    format!("{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}.{:09}Z", t / 3600, t / 60 % 60, t % 60, now.subsec_nanos())
}

/// The rows a chunk read, in key order: each row's key parts (for the offset and the next
/// chunk) and its full decoded values.
pub type ChunkRows = Vec<(Vec<KeyPart>, Vec<Value>)>;

/// `SELECT <key> … ORDER BY <key> DESC LIMIT 1` and `SELECT * … LIMIT n` for a chunk.
pub struct ChunkQueries {
    pub max_key: String,
    pub chunk: String,
    pub params: Vec<MyValue>,
}

/// The queries for the next chunk of `table` (`key_cols` quoted, in key order).
pub fn chunk_queries(
    table: &Table,
    key_cols: &[String],
    condition: Option<&str>,
    after: Option<&[KeyPart]>,
    max: Option<&[KeyPart]>,
    limit: usize,
) -> ChunkQueries {
    let from = crate::snapshot::schema::qualified(&table.id);
    let cond_where = condition.map(|c| format!(" WHERE {c}")).unwrap_or_default();
    let desc: Vec<String> = key_cols.iter().map(|c| format!("{c} DESC")).collect();
    let max_key =
        format!("SELECT {} FROM {from}{cond_where} ORDER BY {} LIMIT 1", key_cols.join(", "), desc.join(", "));
    let mut conds: Vec<String> = condition.map(|c| vec![c.to_string()]).unwrap_or_default();
    let mut params = Vec::new();
    if let Some(a) = after {
        let vals: Vec<MyValue> = a.iter().map(key_param).collect();
        conds.push(crate::snapshot::reader::key_bound(key_cols, &vals, ">", ">", &mut params));
    }
    if let Some(m) = max {
        let vals: Vec<MyValue> = m.iter().map(key_param).collect();
        conds.push(crate::snapshot::reader::key_bound(key_cols, &vals, "<", "<=", &mut params));
    }
    let w = if conds.is_empty() { String::new() } else { format!(" WHERE {}", conds.join(" AND ")) };
    let chunk = format!("SELECT * FROM {from}{w} ORDER BY {} LIMIT {limit}", key_cols.join(", "));
    ChunkQueries { max_key, chunk, params }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signals_parse_as_debezium_writes_them() {
        let s = parse_signal(
            "sig-2",
            "execute-snapshot",
            Some(r#"{"data-collections": ["inc.items"], "type": "INCREMENTAL", "additional-conditions": [{"data-collection": "inc.items", "filter": "qty > 5"}]}"#),
        )
        .unwrap();
        assert_eq!(
            s,
            Signal::Execute {
                collections: vec![Collection { id: TableId::new("inc", "items"), condition: Some("(qty > 5)".into()) }],
                incremental: true
            }
        );
        assert_eq!(
            parse_signal("x-open", "snapshot-window-open", Some("{}")).unwrap(),
            Signal::WindowOpen("x-open".into())
        );
        assert_eq!(parse_signal("l", "log", Some(r#"{"message": "hi {}"}"#)).unwrap(), Signal::Log("hi {}".into()));
        assert_eq!(
            parse_signal("s", "stop-snapshot", Some(r#"{"type":"incremental"}"#)).unwrap(),
            Signal::Stop { collections: None }
        );
        assert!(parse_signal("e", "execute-snapshot", Some("{")).is_err());
        let set = |d: &str| parse_signal("p", "set-binlog-position", Some(d));
        assert_eq!(
            set(r#"{"binlog_filename": "mysql-bin.000003", "binlog_position": 1234}"#).unwrap(),
            Signal::SetPosition(PositionTarget::File { file: "mysql-bin.000003".into(), pos: 1234 })
        );
        assert!(matches!(set(r#"{"gtid_set": "0-1-61"}"#).unwrap(), Signal::SetPosition(PositionTarget::Gtid(_))));
        for (data, why) in [
            (r#"{"binlog_filename": "f.000001", "binlog_position": 4, "gtid_set": "0-1-2"}"#, "Cannot specify both"),
            (r#"{"binlog_position": 4}"#, "Binlog filename must be specified"),
            (r#"{"binlog_filename": "f.000001"}"#, "Binlog position must be specified"),
            (r#"{"binlog_filename": "f.000001", "binlog_position": -1}"#, "non-negative"),
            (r#"{"binlog_filename": "f.1", "binlog_position": 4}"#, "Invalid binlog filename format: f.1"),
            (r#"{"gtid_set": "x"}"#, "Invalid GTID set format"),
            (r#"{"other": 1}"#, "Must specify either"),
            ("{}", "without data"),
        ] {
            let e = set(data).unwrap_err();
            assert!(e.contains(why), "{data}: {e}");
        }
        assert!(parse_signal("e", "execute-snapshot", Some(r#"{"data-collections": ["nodot"]}"#)).is_err());
    }

    #[test]
    fn blocking_requests_match_tables_by_regular_expression() {
        let data = r#"{"data-collections": ["blk\\.pai.*", "BLK.Items"], "type": "BLOCKING", "additional-conditions": [{"data-collection": "blk.pairs", "filter": "SELECT * FROM blk.pairs WHERE k2 > 1"}]}"#;
        let Signal::Blocking(req) = parse_signal("blk-2", "execute-snapshot", Some(data)).unwrap() else {
            panic!("a blocking request");
        };
        assert_eq!(req.patterns, ["blk\\.pai.*", "BLK.Items"]);
        assert_eq!(req.selects, [(TableId::new("blk", "pairs"), "SELECT * FROM blk.pairs WHERE k2 > 1".to_string())]);
        let captured = [
            TableId::new("blk", "items"),
            TableId::new("blk", "items2"),
            TableId::new("blk", "pairs"),
            TableId::new("blkxpairs", "t"),
            TableId::new("other", "pairs"),
        ];
        // Whole names, ignoring case; `.` in a pattern is any character unless escaped.
        assert_eq!(req.tables(&captured).unwrap(), [TableId::new("blk", "items"), TableId::new("blk", "pairs")]);
        // Kept in offsets as signal data and read back.
        assert_eq!(BlockingRequest::from_data(&req.to_data()).unwrap(), req);
        let bad = |d: &str| parse_signal("b", "execute-snapshot", Some(d)).unwrap_err();
        assert!(bad(r#"{"type": "blocking"}"#).contains("without data-collections"));
        assert!(bad(r#"{"type": "blocking", "data-collections": []}"#).contains("empty"));
        assert!(bad(r#"{"type": "blocking", "data-collections": ["a.b"], "additional-conditions": [{"data-collection": "a.b"}]}"#)
            .contains("no filter"));
        let Signal::Blocking(unclosed) =
            parse_signal("b", "execute-snapshot", Some(r#"{"type": "blocking", "data-collections": ["a.(b"]}"#))
                .unwrap()
        else {
            panic!("a blocking request");
        };
        assert!(unclosed.tables(&captured).unwrap_err().contains("invalid regular expression"));
    }

    #[test]
    fn progress_round_trips_through_offset_fields() {
        let p = Progress {
            correlation_id: Some("sig-1".into()),
            collections: VecDeque::from(vec![
                Collection { id: TableId::new("inc", "pairs"), condition: None },
                Collection { id: TableId::new("inc", "items"), condition: Some("(qty > 5)".into()) },
            ]),
            max_key: Some(vec![KeyPart::Str("c".into()), KeyPart::Int(0)]),
            last_sent: None,
        };
        let entries = p.offset_entries(None);
        assert_eq!(entries[3].1, Json::String("aced000570".into()));
        assert_eq!(Progress::from_offset(&entries).unwrap(), Some(p.clone()));
        assert_eq!(Progress::default().offset_entries(None), Vec::new());
        assert_eq!(Progress::from_offset(&[]).unwrap(), None);
    }

    #[test]
    fn watermarks_and_instants_look_like_debeziums() {
        let sql =
            watermark_sql(&TableId::new("inc", "debezium_signal"), "u-open", "snapshot-window-open", r#"{"a": "b'c"}"#);
        assert_eq!(
            sql,
            r#"INSERT INTO `inc`.`debezium_signal` VALUES ('u-open', 'snapshot-window-open', '{"a": "b\'c"}')"#
        );
        let i = instant_now();
        assert_eq!(i.len(), "2026-11-26T16:25:16.406085463Z".len(), "{i}");
        assert!(i.ends_with('Z'), "{i}");
    }
}
