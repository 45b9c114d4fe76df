//! offsets: Debezium's MySQL source offset, in the exact bytes Kafka Connect stores.
//!
//! Kafka Connect keeps one `(key, value)` pair per connector partition, both JSON without schema
//! (Connect's internal JsonConverter, `schemas.enable=false`):
//!
//! * key: `["<connector name>",{"server":"<topic.prefix>"}]` ([`offset_key_json`]);
//! * value: the map Debezium's `BinlogOffsetContext.getOffset()` returns ([`SourceOffset`]), e.g.
//!   `{"ts_sec":1795627630,"file":"mysql-bin.000001","pos":38969,"row":1,"server_id":1}`.
//!
//! The pairs go to the offsets topic (distributed Connect: [`kafka`]) or to a Java-serialized
//! file (standalone Connect, the embedded engine: [`file`]); [`store`] picks one from the worker
//! properties.
//!
//! **Key order.** Debezium builds the value as a `java.util.HashMap` and Jackson writes it in the
//! map's iteration order, so the bytes depend on Java's hashing. [`SourceOffset::to_json`]
//! reproduces it: it inserts the keys in the order Debezium 3.6.3 inserts them (`server_id`,
//! `gtids`, `file`, `pos`, `event`, `row`, `ts_sec`, then `snapshot` during a snapshot, otherwise
//! `transaction_id` and any further keys such as `transaction_data_collection_order_<table>`), then
//! orders them the way a `HashMap` created with `new HashMap<>()` iterates ([`java_hashmap_order`]):
//! `String.hashCode()` over UTF-16 code units, spread `h ^ (h >>> 16)`, bucket `(n - 1) & hash`
//! with `n` starting at 16 and doubling whenever the size exceeds `0.75 n` (or a bucket exceeds 8
//! entries while `n < 64`), buckets in index order, each bucket in insertion order. Verified
//! against every committed offset in `shared/oracle/golden`. String values are escaped the way
//! Jackson escapes them (control characters as `\uXXXX` with upper-case hex, except `\b \t \n \f
//! \r`; everything else verbatim UTF-8).
//!
//! Reading ([`SourceOffset::from_json`]) is tolerant: any key order, optional keys missing, numbers
//! as JSON numbers or numeric strings, the legacy `"snapshot": true`; unknown keys are kept in
//! [`SourceOffset::extra`] so that writing the offset back loses nothing.

pub mod file;
pub mod kafka;
pub mod store;

use serde_json::Value;

pub use file::FileOffsetStore;
pub use kafka::KafkaOffsetStore;
pub use store::{OffsetStorage, OffsetStore};

/// Offset key: the binlog file name to restart from.
pub const FILE_KEY: &str = "file";
/// Offset key: the binlog position to restart from.
pub const POS_KEY: &str = "pos";
/// Offset key: rows of the event at `pos` (after skipping `event` events) already emitted.
pub const ROW_KEY: &str = "row";
/// Offset key: events after `pos` already emitted (inside a transaction).
pub const EVENT_KEY: &str = "event";
/// Offset key: server id of the server that wrote the binlog event.
pub const SERVER_ID_KEY: &str = "server_id";
/// Offset key: the GTID set completed before the restart point (GTID mode only).
pub const GTIDS_KEY: &str = "gtids";
/// Offset key: binlog event time, epoch seconds.
pub const TS_SEC_KEY: &str = "ts_sec";
/// Offset key: snapshot in progress (`"INITIAL"`, ...).
pub const SNAPSHOT_KEY: &str = "snapshot";
/// Offset key: snapshot completed (older Debezium versions and other connectors).
pub const SNAPSHOT_COMPLETED_KEY: &str = "snapshot_completed";
/// Offset key: current transaction id (with `provide.transaction.metadata`).
pub const TRANSACTION_ID_KEY: &str = "transaction_id";

/// Errors reading or writing offsets.
#[derive(Debug, thiserror::Error)]
pub enum OffsetError {
    /// The offsets file could not be read or written (transient or environmental: retry or fix
    /// permissions/disk).
    #[error("offsets file {path}: {source}")]
    Io {
        /// The file.
        path: std::path::PathBuf,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
    /// The offsets file is not a Java-serialized `HashMap<byte[], byte[]>` (definite: the file
    /// must be repaired or removed).
    #[error("offsets file {path} is corrupt at byte offset {offset}: {reason}")]
    Corrupt {
        /// The file.
        path: std::path::PathBuf,
        /// Byte offset in the file where decoding failed.
        offset: usize,
        /// What was expected.
        reason: String,
    },
    /// An offset value is not a JSON object with the fields Debezium writes.
    #[error("invalid Debezium offset JSON: {0}")]
    InvalidJson(String),
    /// The offsets topic could not be created, read or written.
    #[error("offsets topic ({property}): {message}")]
    Kafka {
        /// The worker property that names the topic.
        property: &'static str,
        /// What failed (with the topic name).
        message: String,
    },
}

/// Debezium's MySQL offset map (the value of a Connect offset record).
///
/// Absent optional fields are absent from the JSON. Debezium itself omits `server_id` when it is
/// 0, and `row`/`event` when they are 0; the caller decides by setting `None`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct SourceOffset {
    /// `file`: binlog file name of the restart position.
    pub file: String,
    /// `pos`: restart position in `file` (start of the current transaction, or the end of the
    /// last event when no transaction start was seen).
    pub pos: u64,
    /// `row`: rows of the event to skip after restarting.
    pub row: Option<u64>,
    /// `event`: events to skip after `pos` when restarting.
    pub event: Option<u64>,
    /// `server_id`: server id from the binlog event header.
    pub server_id: Option<u64>,
    /// `gtids`: the executed GTID set to restart from (GTID mode).
    pub gtids: Option<String>,
    /// `ts_sec`: event timestamp, epoch seconds.
    pub ts_sec: Option<i64>,
    /// `snapshot`: snapshot type while a snapshot runs (`"INITIAL"`, `"BLOCKING"`). The legacy
    /// boolean form `true` is read as `"INITIAL"`.
    pub snapshot: Option<String>,
    /// `snapshot_completed`: written by older Debezium versions; kept for round trips.
    pub snapshot_completed: Option<bool>,
    /// `transaction_id`: the transaction in progress (transaction metadata enabled).
    pub transaction_id: Option<String>,
    /// Any other keys (e.g. `transaction_data_collection_order_<db.table>`,
    /// `incremental_snapshot_*`), in Debezium's insertion order.
    pub extra: Vec<(String, Value)>,
}

impl SourceOffset {
    /// Whether the offset was written while the initial snapshot ran, so that a restart must
    /// take it again (Debezium's `isInitialSnapshotRunning`). `"BLOCKING"` (a record of a
    /// blocking snapshot) and `"INCREMENTAL"` (a row of an incremental snapshot) are not that:
    /// streaming resumes from the offset's position.
    pub fn in_snapshot(&self) -> bool {
        self.snapshot.as_deref().is_some_and(|s| s.eq_ignore_ascii_case("INITIAL"))
    }

    /// The keys and rendered JSON values in the order Debezium inserts them into its `HashMap`.
    fn entries_in_insertion_order(&self) -> Vec<(&str, String)> {
        let mut out: Vec<(&str, String)> = Vec::with_capacity(10 + self.extra.len());
        if let Some(v) = self.server_id {
            out.push((SERVER_ID_KEY, v.to_string()));
        }
        if let Some(v) = &self.gtids {
            out.push((GTIDS_KEY, json_string(v)));
        }
        out.push((FILE_KEY, json_string(&self.file)));
        out.push((POS_KEY, self.pos.to_string()));
        if let Some(v) = self.event {
            out.push((EVENT_KEY, v.to_string()));
        }
        if let Some(v) = self.row {
            out.push((ROW_KEY, v.to_string()));
        }
        if let Some(v) = self.ts_sec {
            out.push((TS_SEC_KEY, v.to_string()));
        }
        if let Some(v) = &self.snapshot {
            out.push((SNAPSHOT_KEY, json_string(v)));
        }
        if let Some(v) = self.snapshot_completed {
            out.push((SNAPSHOT_COMPLETED_KEY, v.to_string()));
        }
        if let Some(v) = &self.transaction_id {
            out.push((TRANSACTION_ID_KEY, json_string(v)));
        }
        for (k, v) in &self.extra {
            // A key that shadows a typed field would be written twice; the typed field wins.
            if out.iter().any(|(existing, _)| existing == k) {
                continue;
            }
            out.push((k.as_str(), json_value(v)));
        }
        out
    }

    /// The exact JSON bytes Kafka Connect stores for this offset under Debezium 3.6.3.
    pub fn to_json(&self) -> Vec<u8> {
        let entries = self.entries_in_insertion_order();
        let keys: Vec<&str> = entries.iter().map(|(k, _)| *k).collect();
        let mut s = String::with_capacity(128);
        s.push('{');
        for (n, i) in java_hashmap_order(&keys).into_iter().enumerate() {
            if n > 0 {
                s.push(',');
            }
            s.push_str(&json_string(entries[i].0));
            s.push(':');
            s.push_str(&entries[i].1);
        }
        s.push('}');
        s.into_bytes()
    }

    /// Parse an offset value as written by any Debezium version (tolerant; see module doc).
    pub fn from_json(bytes: &[u8]) -> Result<Self, OffsetError> {
        let value: Value =
            serde_json::from_slice(bytes).map_err(|e| OffsetError::InvalidJson(format!("not JSON: {e}")))?;
        let Value::Object(map) = value else {
            return Err(OffsetError::InvalidJson("expected a JSON object".into()));
        };
        let mut out = SourceOffset::default();
        let mut have_file = false;
        let mut have_pos = false;
        for (k, v) in map {
            match k.as_str() {
                FILE_KEY => {
                    out.file = as_string(&k, &v)?;
                    have_file = true;
                }
                POS_KEY => {
                    out.pos = as_u64(&k, &v)?;
                    have_pos = true;
                }
                ROW_KEY => out.row = opt(&v, |v| as_u64(&k, v))?,
                EVENT_KEY => out.event = opt(&v, |v| as_u64(&k, v))?,
                SERVER_ID_KEY => out.server_id = opt(&v, |v| as_u64(&k, v))?,
                GTIDS_KEY => out.gtids = opt(&v, |v| as_string(&k, v))?,
                TS_SEC_KEY => out.ts_sec = opt(&v, |v| as_i64(&k, v))?,
                SNAPSHOT_KEY => {
                    out.snapshot = match &v {
                        Value::Null | Value::Bool(false) => None,
                        Value::Bool(true) => Some("INITIAL".to_owned()),
                        Value::String(s) if s.eq_ignore_ascii_case("false") => None,
                        Value::String(s) if s.eq_ignore_ascii_case("true") => Some("INITIAL".to_owned()),
                        Value::String(s) => Some(s.clone()),
                        _ => return Err(bad_field(&k, &v, "a string or boolean")),
                    }
                }
                SNAPSHOT_COMPLETED_KEY => {
                    out.snapshot_completed = match &v {
                        Value::Null => None,
                        Value::Bool(b) => Some(*b),
                        Value::String(s) if s.eq_ignore_ascii_case("true") => Some(true),
                        Value::String(s) if s.eq_ignore_ascii_case("false") => Some(false),
                        _ => return Err(bad_field(&k, &v, "a boolean")),
                    }
                }
                TRANSACTION_ID_KEY => out.transaction_id = opt(&v, |v| as_string(&k, v))?,
                _ => out.extra.push((k, v)),
            }
        }
        if !have_file {
            return Err(OffsetError::InvalidJson("missing key \"file\"".into()));
        }
        if !have_pos {
            return Err(OffsetError::InvalidJson("missing key \"pos\"".into()));
        }
        Ok(out)
    }
}

/// The exact key bytes Kafka Connect stores for a Debezium MySQL connector:
/// `["<connector name>",{"server":"<topic.prefix>"}]`.
pub fn offset_key_json(connector_name: &str, topic_prefix: &str) -> Vec<u8> {
    format!("[{},{{\"server\":{}}}]", json_string(connector_name), json_string(topic_prefix)).into_bytes()
}

/// Parse an offset key `["<connector name>",{"server":"<topic.prefix>"}]` into
/// `(connector name, topic prefix)`; `None` for any other shape.
pub fn parse_offset_key(bytes: &[u8]) -> Option<(String, String)> {
    let value: Value = serde_json::from_slice(bytes).ok()?;
    let arr = value.as_array()?;
    if arr.len() != 2 {
        return None;
    }
    let name = arr[0].as_str()?;
    let partition = arr[1].as_object()?;
    let server = partition.get("server")?.as_str()?;
    Some((name.to_owned(), server.to_owned()))
}

/// The iteration order of a `java.util.HashMap<String, _>` created with `new HashMap<>()` into
/// which `keys` were put in the given order: returns indexes into `keys`. Duplicate keys keep the
/// position of their first insertion (as Java does) and appear once.
///
/// Bins that Java would turn into trees (more than 8 colliding keys in a table of 64 or more) are
/// not emulated: such bins keep insertion order here. No Debezium offset comes near that.
pub fn java_hashmap_order(keys: &[&str]) -> Vec<usize> {
    const LOAD_FACTOR_NUM: usize = 3; // 0.75 = 3/4
    const TREEIFY_THRESHOLD: usize = 8;
    const MIN_TREEIFY_CAPACITY: usize = 64;

    let hashes: Vec<u32> = keys.iter().map(|k| spread(java_string_hash(k))).collect();
    let mut capacity = 16usize;
    // Insertion-ordered list of distinct keys; bucket contents are derived at the end (resizes
    // preserve relative order inside a bucket, so only the final capacity matters).
    let mut inserted: Vec<usize> = Vec::with_capacity(keys.len());
    for (i, key) in keys.iter().enumerate() {
        if inserted.iter().any(|&j| keys[j] == *key) {
            continue;
        }
        let bucket = hashes[i] as usize & (capacity - 1);
        let chain_before = inserted.iter().filter(|&&j| hashes[j] as usize & (capacity - 1) == bucket).count();
        inserted.push(i);
        if chain_before >= TREEIFY_THRESHOLD && capacity < MIN_TREEIFY_CAPACITY {
            capacity *= 2;
        }
        if inserted.len() > capacity * LOAD_FACTOR_NUM / 4 {
            capacity *= 2;
        }
    }
    let mut order = inserted;
    // Stable sort: bucket index ascending, insertion order within a bucket.
    order.sort_by_key(|&i| hashes[i] as usize & (capacity - 1));
    order
}

/// Java's `String.hashCode()`: `s[0]*31^(n-1) + ... + s[n-1]` over UTF-16 code units.
pub fn java_string_hash(s: &str) -> i32 {
    s.encode_utf16().fold(0i32, |h, c| h.wrapping_mul(31).wrapping_add(i32::from(c)))
}

/// `HashMap.hash()`: `h ^ (h >>> 16)`.
fn spread(h: i32) -> u32 {
    let h = h as u32;
    h ^ (h >> 16)
}

/// A JSON string literal escaped the way Jackson escapes it.
pub(crate) fn json_string(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    crate::encode::json::write_jackson_str(s, &mut out);
    out
}

/// Render an arbitrary JSON value compactly, strings escaped like Jackson.
fn json_value(v: &Value) -> String {
    match v {
        Value::String(s) => json_string(s),
        Value::Array(items) => {
            let parts: Vec<String> = items.iter().map(json_value).collect();
            format!("[{}]", parts.join(","))
        }
        Value::Object(map) => {
            let parts: Vec<String> = map.iter().map(|(k, v)| format!("{}:{}", json_string(k), json_value(v))).collect();
            format!("{{{}}}", parts.join(","))
        }
        other => other.to_string(),
    }
}

fn bad_field(key: &str, v: &Value, expected: &str) -> OffsetError {
    let mut shown = v.to_string();
    if shown.len() > 80 {
        let mut cut = 80;
        while !shown.is_char_boundary(cut) {
            cut -= 1;
        }
        shown.truncate(cut);
        shown.push('…');
    }
    OffsetError::InvalidJson(format!("key \"{key}\" must be {expected}, found {shown}"))
}

fn opt<T>(v: &Value, f: impl FnOnce(&Value) -> Result<T, OffsetError>) -> Result<Option<T>, OffsetError> {
    if v.is_null() {
        Ok(None)
    } else {
        f(v).map(Some)
    }
}

fn as_string(key: &str, v: &Value) -> Result<String, OffsetError> {
    match v {
        Value::String(s) => Ok(s.clone()),
        _ => Err(bad_field(key, v, "a string")),
    }
}

fn as_i64(key: &str, v: &Value) -> Result<i64, OffsetError> {
    match v {
        Value::Number(n) => n.as_i64(),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
    .ok_or_else(|| bad_field(key, v, "an integer"))
}

fn as_u64(key: &str, v: &Value) -> Result<u64, OffsetError> {
    match v {
        Value::Number(n) => n.as_u64(),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
    .ok_or_else(|| bad_field(key, v, "a non-negative integer"))
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// The oracle directory (`CDC_ORACLE_DIR`, default `../shared/oracle` next to the repository).
    pub(crate) fn oracle_dir() -> std::path::PathBuf {
        let dir = std::env::var_os("CDC_ORACLE_DIR")
            .map(std::path::PathBuf::from)
            .unwrap_or_else(|| std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/oracle"));
        assert!(
            dir.join("golden").is_dir(),
            "oracle golden files not found under {}; set CDC_ORACLE_DIR",
            dir.display()
        );
        dir
    }

    fn golden_committed_offsets() -> Vec<(String, String)> {
        // Each line embeds the verbatim key and value JSON: `..."key":<key>,"value":<value>}`.
        let mut out = Vec::new();
        let golden = oracle_dir().join("golden");
        let mut files: Vec<_> = std::fs::read_dir(&golden)
            .unwrap()
            .map(|e| e.unwrap().path())
            .filter(|p| p.file_name().unwrap().to_string_lossy().ends_with(".committed-offsets.jsonl"))
            .collect();
        files.sort();
        assert!(!files.is_empty());
        for f in files {
            for line in std::fs::read_to_string(&f).unwrap().lines() {
                let k = line.find(",\"key\":").unwrap() + 7;
                let v = line.find(",\"value\":").unwrap();
                let key = line[k..v].to_owned();
                let value = line[v + 9..line.len() - 1].to_owned();
                out.push((key, value));
            }
        }
        out
    }

    #[test]
    fn every_golden_committed_offset_round_trips_byte_for_byte() {
        let all = golden_committed_offsets();
        assert!(all.len() >= 20, "{}", all.len());
        for (key, value) in all {
            assert_eq!(String::from_utf8(offset_key_json("oracle-engine", "dbserver1")).unwrap(), key);
            assert_eq!(parse_offset_key(key.as_bytes()), Some(("oracle-engine".into(), "dbserver1".into())));
            let parsed = SourceOffset::from_json(value.as_bytes()).unwrap();
            assert!(parsed.extra.is_empty(), "{value}");
            assert_eq!(String::from_utf8(parsed.to_json()).unwrap(), value);
        }
    }

    #[test]
    fn golden_source_offsets_parse_and_render_with_debezium_key_order() {
        // source-offsets.jsonl holds the same maps sorted by key (TreeMap), so they test
        // from_json on another key order; the rendering must follow HashMap order again.
        let path = oracle_dir().join("golden/main.source-offsets.jsonl");
        for line in std::fs::read_to_string(path).unwrap().lines() {
            let v: Value = serde_json::from_str(line).unwrap();
            let offset = &v["sourceOffset"];
            let parsed = SourceOffset::from_json(offset.to_string().as_bytes()).unwrap();
            let rendered: Value = serde_json::from_slice(&parsed.to_json()).unwrap();
            assert_eq!(&rendered, offset);
            let keys: Vec<&str> = rendered.as_object().unwrap().keys().map(|k| k.as_str()).collect();
            let expected: Vec<&str> = ["ts_sec", "file", "pos", "row", "server_id", "snapshot"]
                .into_iter()
                .filter(|k| offset.get(*k).is_some())
                .collect();
            assert_eq!(keys, expected);
        }
    }

    #[test]
    fn documented_example_with_event_orders_server_id_before_event() {
        // DEBEZIUM.md §4 (from Debezium's documentation): server_id and event share bucket 12.
        let o = SourceOffset {
            ts_sec: Some(1530088501),
            file: "mysql-bin.000003".into(),
            pos: 817,
            row: Some(1),
            server_id: Some(223344),
            event: Some(2),
            ..Default::default()
        };
        assert_eq!(
            String::from_utf8(o.to_json()).unwrap(),
            r#"{"ts_sec":1530088501,"file":"mysql-bin.000003","pos":817,"row":1,"server_id":223344,"event":2}"#
        );
    }

    #[test]
    fn gtid_and_transaction_keys() {
        let o = SourceOffset {
            file: "binlog.000002".into(),
            pos: 4,
            server_id: Some(1),
            gtids: Some("3e11fa47-71ca-11e1-9e33-c80aa9429562:1-5".into()),
            ts_sec: Some(1),
            transaction_id: Some("3e11fa47-71ca-11e1-9e33-c80aa9429562:6".into()),
            event: Some(3),
            row: Some(1),
            ..Default::default()
        };
        let json = String::from_utf8(o.to_json()).unwrap();
        // Buckets (n = 16): transaction_id 0, ts_sec 2, file 3, pos 5, gtids 10, row 11,
        // server_id 12 then event 12 (insertion order).
        assert_eq!(
            json,
            r#"{"transaction_id":"3e11fa47-71ca-11e1-9e33-c80aa9429562:6","ts_sec":1,"file":"binlog.000002","pos":4,"gtids":"3e11fa47-71ca-11e1-9e33-c80aa9429562:1-5","row":1,"server_id":1,"event":3}"#
        );
        assert_eq!(SourceOffset::from_json(json.as_bytes()).unwrap(), o);
    }

    #[test]
    fn java_string_hash_matches_java() {
        // s[0]*31^(n-1) + ... in 32-bit two's complement, over UTF-16 code units.
        assert_eq!(java_string_hash(""), 0);
        assert_eq!(java_string_hash("file"), 3143036);
        assert_eq!(java_string_hash("ts_sec"), -864836975);
        assert_eq!(java_string_hash("server_id"), -197437545);
        // A supplementary character hashes as its surrogate pair 0xD83D 0xDE00.
        assert_eq!(java_string_hash("\u{1F600}"), 0xD83D * 31 + 0xDE00);
    }

    #[test]
    fn hashmap_order_resizes_past_twelve_keys() {
        let keys: Vec<String> = (0..13).map(|i| format!("k{i}")).collect();
        let refs: Vec<&str> = keys.iter().map(|s| s.as_str()).collect();
        let order = java_hashmap_order(&refs);
        // "k0".."k9" hash to 3366..3375 ("k"=107, 107*31 + '0'..); "k10".."k12" to 104351..
        // With n = 32 after the 13th put, sort by (h ^ h>>>16) & 31.
        let mut expected: Vec<usize> = (0..13).collect();
        expected.sort_by_key(|&i| spread(java_string_hash(refs[i])) as usize & 31);
        assert_eq!(order, expected);
        assert_eq!(java_hashmap_order(&refs[..12]).len(), 12);
    }

    #[test]
    fn from_json_is_tolerant() {
        let o = SourceOffset::from_json(
            br#"{"pos":"817","file":"mysql-bin.000003","server_id":"5","snapshot":true,"x":[1]}"#,
        )
        .unwrap();
        assert_eq!(o.pos, 817);
        assert_eq!(o.server_id, Some(5));
        assert_eq!(o.snapshot.as_deref(), Some("INITIAL"));
        assert_eq!(o.extra, vec![("x".to_owned(), serde_json::json!([1]))]);
        assert!(SourceOffset::from_json(br#"{"pos":1}"#).is_err());
        assert!(SourceOffset::from_json(br#"{"file":"f","pos":-1}"#).is_err());
        assert!(SourceOffset::from_json(b"[").is_err());
        assert!(SourceOffset::from_json(b"[]").is_err());
    }

    #[test]
    fn strings_are_escaped_like_jackson() {
        assert_eq!(json_string("a\"b\\c\n\u{1}é/"), "\"a\\\"b\\\\c\\n\\u0001é/\"");
        assert_eq!(
            String::from_utf8(offset_key_json("my \"conn\"", "p")).unwrap(),
            r#"["my \"conn\"",{"server":"p"}]"#
        );
    }
}
