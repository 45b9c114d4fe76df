//! `cdc-connector inspect`: decode binlog files from disk (no server) into one JSON line per row change.
//!
//! # Algorithm
//! [`for_each_rows_event`] frames events itself before handing them to `mysql_common`'s
//! [`EventStreamReader`]: it reads the 19-byte common header, checks the declared size (at least a
//! header, at least header + CRC when the format description says CRC32, at most [`MAX_EVENT_SIZE`]),
//! reads exactly that many bytes and only then parses them, because `mysql_common`'s `Event::read`
//! panics on a short read. CRC32 checksums are verified. `TRANSACTION_PAYLOAD` events (MySQL 8
//! compressed transactions) are expanded as a stream and framed the same way, with the expanded size
//! bounded by [`ReadOptions::max_payload_bytes`]; rows events inside report the payload event's offset.
//! MariaDB events (codes 160-163: annotate, checkpoint, GTID, GTID list), Aurora padding (100) and any
//! other event without rows are skipped by length. Table maps are remembered by the reader.
//!
//! [`inspect_file`] turns each row into plain JSON without any schema: integers as numbers (unsigned
//! when the table map's optional metadata says so, else as stored, i.e. signed), FLOAT/DOUBLE as
//! numbers (FLOAT widened to double), DECIMAL as text, DATE `YYYY-MM-DD`, DATETIME
//! `YYYY-MM-DD HH:MM:SS[.f]` and TIMESTAMP (shown in UTC) the same way with the column's fsp digits,
//! TIME `[-]HH:MM:SS[.f]`, YEAR as a number, BIT, ENUM index and SET bitmask as unsigned numbers,
//! strings as text when they are valid UTF-8 and not of the binary charset (else base64), GEOMETRY
//! as base64, VECTOR as an array of numbers, JSON as its text (Debezium's rendering, see
//! `decode::json`), NULL as null. Arrays are indexed by column; a column absent from a row image
//! (MINIMAL row image) is null there and listed in `absent_columns`.
//!
//! # Failure
//! Every problem is an [`InspectError`] naming `file:pos`: truncated or oversized events, checksum
//! mismatches, undecodable events, rows events for unknown table ids, table maps with metadata that does
//! not fit their column types, partial JSON updates (`PARTIAL_UPDATE_ROWS_EVENT`), encrypted or
//! compressed MariaDB events (codes 164-171), oversized compressed transactions. Reading stops at the
//! first error. As a last line of defence a panic inside `mysql_common` while decoding an event is
//! caught and reported as an error.

use std::collections::BTreeMap;
use std::fs::File;
use std::io::{self, BufReader, Read};
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::Path;

use mysql_common::binlog::consts::{BinlogVersion, EventType};
use mysql_common::binlog::events::{Event, EventData, RowsEventData, TableMapEvent, TransactionPayloadEvent};
use mysql_common::binlog::row::BinlogRow;
use mysql_common::binlog::value::BinlogValue;
use mysql_common::binlog::{BinlogFileHeader, EventStreamReader};
use mysql_common::constants::{ColumnFlags, ColumnType};
use mysql_common::value::Value as MyValue;
use serde_json::{json, Value as Json};

use crate::decode;

/// Largest single event accepted (MySQL's `max_allowed_packet` ceiling is 1 GiB).
pub const MAX_EVENT_SIZE: u32 = 1 << 30;
const HEADER_LEN: usize = 19;
const CHECKSUM_LEN: usize = 4;

/// Options for reading binlog files.
#[derive(Debug, Clone)]
pub struct ReadOptions {
    /// Upper bound on the expanded size of one `TRANSACTION_PAYLOAD` event.
    pub max_payload_bytes: u64,
}

impl Default for ReadOptions {
    fn default() -> Self {
        ReadOptions { max_payload_bytes: 256 << 20 }
    }
}

/// Reading or decoding a binlog file failed.
#[derive(Debug, thiserror::Error)]
pub enum InspectError {
    #[error("{file}: {source}")]
    Open { file: String, source: io::Error },
    #[error("{file}: not a binlog file (no fe 'bin' magic)")]
    NotBinlog { file: String },
    #[error("{file}:{pos}: truncated event: {detail}")]
    Truncated { file: String, pos: u64, detail: String },
    #[error("{file}:{pos}: {detail}")]
    Invalid { file: String, pos: u64, detail: String },
    #[error("{file}:{pos}: checksum mismatch (stored {stored:#010x}, computed {computed:#010x})")]
    Checksum { file: String, pos: u64, stored: u32, computed: u32 },
    #[error("{file}:{pos}: partial JSON update (PARTIAL_UPDATE_ROWS_EVENT, binlog_row_value_options=PARTIAL_JSON) is not supported{table}")]
    PartialJson { file: String, pos: u64, table: String },
    #[error("{file}:{pos}: MariaDB event type {code} (encrypted/compressed events) is not supported")]
    MariaDbUnsupported { file: String, pos: u64, code: u8 },
    #[error("{file}:{pos}: compressed transaction expands past the limit of {limit} bytes")]
    PayloadTooLarge { file: String, pos: u64, limit: u64 },
    #[error("{file}:{pos}: {source}")]
    Rows { file: String, pos: u64, source: Box<dyn std::error::Error + Send + Sync> },
}

/// Insert, update or delete.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RowsKind {
    Insert,
    Update,
    Delete,
}

impl RowsKind {
    /// Debezium's `op` letter.
    pub fn op(self) -> &'static str {
        match self {
            RowsKind::Insert => "c",
            RowsKind::Update => "u",
            RowsKind::Delete => "d",
        }
    }
}

/// One rows event handed to the [`for_each_rows_event`] callback.
pub struct RowsEventRef<'a> {
    /// Start offset of the rows event (of the enclosing `TRANSACTION_PAYLOAD` for compressed ones).
    pub pos: u64,
    /// 0-based ordinal of this rows event in the file.
    pub index: usize,
    pub inside_payload: bool,
    pub kind: RowsKind,
    pub table_map: &'a TableMapEvent<'static>,
    pub rows: &'a RowsEventData<'a>,
}

type CallbackError = Box<dyn std::error::Error + Send + Sync>;

/// Reads a binlog file and calls `f` for every rows event (see the module docs).
pub fn for_each_rows_event(
    path: &Path,
    opts: &ReadOptions,
    f: impl FnMut(&RowsEventRef<'_>) -> Result<(), CallbackError>,
) -> Result<(), InspectError> {
    let file = path.display().to_string();
    let fh = File::open(path).map_err(|source| InspectError::Open { file: file.clone(), source })?;
    for_each_rows_event_in(BufReader::with_capacity(1 << 16, fh), &file, opts, f)
}

/// [`for_each_rows_event`] over the bytes of a binlog file from `input`; errors name `file`.
pub fn for_each_rows_event_in(
    mut input: impl Read,
    file: &str,
    opts: &ReadOptions,
    mut f: impl FnMut(&RowsEventRef<'_>) -> Result<(), CallbackError>,
) -> Result<(), InspectError> {
    let file = file.to_string();
    let mut magic = [0u8; 4];
    if read_full(&mut input, &mut magic).map_err(|source| InspectError::Open { file: file.clone(), source })? != 4
        || magic != BinlogFileHeader::VALUE
    {
        return Err(InspectError::NotBinlog { file });
    }
    let mut reader = EventStreamReader::new(BinlogVersion::Version4);
    let mut buf = Vec::new();
    let mut inner_buf = Vec::new();
    let mut pos: u64 = 4;
    let mut index = 0usize;
    let invalid = |pos: u64, detail: String| InspectError::Invalid { file: file.clone(), pos, detail };
    loop {
        let checksummed = current_checksum(&reader);
        let frame = read_frame(&mut input, &mut buf, checksummed).map_err(|e| e.into_error(&file, pos))?;
        let Some(size) = frame else { break };
        let type_code = buf[4];
        if type_code == EventType::FORMAT_DESCRIPTION_EVENT as u8 && size < HEADER_LEN + 57 {
            return Err(invalid(pos, format!("FORMAT_DESCRIPTION event of {size} bytes is too short")));
        }
        let event = guarded(|| reader.read(&buf[..size]))
            .map_err(|d| invalid(pos, d))?
            .map_err(|e| invalid(pos, format!("cannot parse event type {type_code}: {e}")))?
            .ok_or_else(|| invalid(pos, "empty event".into()))?;
        // verify CRC32 (the FDE carries its own algorithm byte, so check it against itself)
        if event_crc32(&event) {
            let stored = u32::from_le_bytes(buf[size - CHECKSUM_LEN..size].try_into().unwrap_or([0; 4]));
            // MySQL computes the FDE's checksum with LOG_EVENT_BINLOG_IN_USE_F (flags bit 0) clear;
            // the server sets that bit afterwards while the file is open.
            let computed = if type_code == EventType::FORMAT_DESCRIPTION_EVENT as u8 {
                let mut head = [0u8; HEADER_LEN];
                head.copy_from_slice(&buf[..HEADER_LEN]);
                head[17] &= !1;
                crc32_update(crc32_update(!0, &head), &buf[HEADER_LEN..size - CHECKSUM_LEN]) ^ !0
            } else {
                crc32(&buf[..size - CHECKSUM_LEN])
            };
            if stored != computed {
                return Err(InspectError::Checksum { file, pos, stored, computed });
            }
        }
        match type_code {
            40 => {
                // TRANSACTION_PAYLOAD
                check_payload_header(event.data()).map_err(|d| invalid(pos, d))?;
                let tpe: TransactionPayloadEvent<'_> =
                    event.read_event().map_err(|e| invalid(pos, format!("bad TRANSACTION_PAYLOAD: {e}")))?;
                if tpe.uncompressed_size() > opts.max_payload_bytes {
                    return Err(InspectError::PayloadTooLarge { file, pos, limit: opts.max_payload_bytes });
                }
                let dec = tpe.decompressed().map_err(|e| invalid(pos, format!("cannot expand payload: {e}")))?;
                let mut dec = BufReader::new(dec.take(opts.max_payload_bytes.saturating_add(1)));
                let mut expanded: u64 = 0;
                loop {
                    let frame = read_frame(&mut dec, &mut inner_buf, false).map_err(|e| e.into_error(&file, pos))?;
                    let Some(isize) = frame else { break };
                    expanded += isize as u64;
                    if expanded > opts.max_payload_bytes {
                        return Err(InspectError::PayloadTooLarge { file, pos, limit: opts.max_payload_bytes });
                    }
                    let inner = guarded(|| reader.read_decompressed(&inner_buf[..isize]))
                        .map_err(|d| invalid(pos, d))?
                        .map_err(|e| invalid(pos, format!("cannot parse event inside payload: {e}")))?
                        .ok_or_else(|| invalid(pos, "empty event inside payload".into()))?;
                    handle_event(&file, pos, &mut index, true, &reader, &inner, &mut f)?;
                }
            }
            164..=171 => return Err(InspectError::MariaDbUnsupported { file, pos, code: type_code }),
            _ => handle_event(&file, pos, &mut index, false, &reader, &event, &mut f)?,
        }
        pos += size as u64;
    }
    Ok(())
}

fn handle_event(
    file: &str,
    pos: u64,
    index: &mut usize,
    inside_payload: bool,
    reader: &EventStreamReader,
    event: &Event,
    f: &mut impl FnMut(&RowsEventRef<'_>) -> Result<(), CallbackError>,
) -> Result<(), InspectError> {
    let code = event.header().event_type_raw();
    let kind = match code {
        23 | 30 => RowsKind::Insert,
        24 | 31 => RowsKind::Update,
        25 | 32 => RowsKind::Delete,
        39 => {
            let table = match event.read_data() {
                Ok(Some(EventData::RowsEvent(r))) => reader
                    .get_tme(r.table_id())
                    .map(|t| format!(" (table {}.{})", t.database_name(), t.table_name()))
                    .unwrap_or_default(),
                _ => String::new(),
            };
            return Err(InspectError::PartialJson { file: file.into(), pos, table });
        }
        _ => return Ok(()),
    };
    let invalid = |detail: String| InspectError::Invalid { file: file.into(), pos, detail };
    let data = guarded(|| event.read_data())
        .map_err(invalid)?
        .map_err(|e| invalid(format!("cannot parse rows event: {e}")))?;
    let Some(EventData::RowsEvent(rows)) = data else {
        return Err(invalid(format!("event type {code} did not parse as a rows event")));
    };
    let tme = reader
        .get_tme(rows.table_id())
        .ok_or_else(|| invalid(format!("rows event for table id {} without a table map", rows.table_id())))?;
    validate_table_map(tme).map_err(invalid)?;
    let ev = RowsEventRef { pos, index: *index, inside_payload, kind, table_map: tme, rows: &rows };
    *index += 1;
    match catch_unwind(AssertUnwindSafe(|| f(&ev))) {
        Ok(Ok(())) => Ok(()),
        Ok(Err(source)) => Err(InspectError::Rows { file: file.into(), pos, source }),
        Err(p) => Err(invalid(format!("decoder panicked: {}", panic_text(&p)))),
    }
}

/// Checks that every column has the metadata its type needs, so `mysql_common` never indexes past it.
fn validate_table_map(tme: &TableMapEvent<'_>) -> Result<(), String> {
    use ColumnType::*;
    for i in 0..tme.columns_count() as usize {
        let ty = tme
            .get_column_type(i)
            .map_err(|e| format!("table map column {i}: {e}"))?
            .ok_or_else(|| format!("table map column {i}: no type"))?;
        let need = match ty {
            MYSQL_TYPE_TINY_BLOB
            | MYSQL_TYPE_BLOB
            | MYSQL_TYPE_MEDIUM_BLOB
            | MYSQL_TYPE_LONG_BLOB
            | MYSQL_TYPE_DOUBLE
            | MYSQL_TYPE_FLOAT
            | MYSQL_TYPE_GEOMETRY
            | MYSQL_TYPE_TIME2
            | MYSQL_TYPE_DATETIME2
            | MYSQL_TYPE_TIMESTAMP2
            | MYSQL_TYPE_JSON
            | MYSQL_TYPE_VECTOR
            | MYSQL_TYPE_TYPED_ARRAY => 1,
            MYSQL_TYPE_VARCHAR
            | MYSQL_TYPE_VAR_STRING
            | MYSQL_TYPE_NEWDECIMAL
            | MYSQL_TYPE_SET
            | MYSQL_TYPE_ENUM
            | MYSQL_TYPE_STRING
            | MYSQL_TYPE_BIT => 2,
            _ => 0,
        };
        let meta = tme.get_column_metadata(i).unwrap_or(&[]);
        if meta.len() < need {
            return Err(format!("table map column {i} ({ty:?}): {} metadata bytes, {need} needed", meta.len()));
        }
        if ty == MYSQL_TYPE_NEWDECIMAL && (meta[0] == 0 || meta[0] > 65 || meta[1] > 30 || meta[1] > meta[0]) {
            return Err(format!("table map column {i}: DECIMAL({},{}) is invalid", meta[0], meta[1]));
        }
    }
    Ok(())
}

/// One decoded row change (see [`inspect_file`]).
#[derive(Debug, Clone, PartialEq)]
pub struct RowChange {
    pub pos: u64,
    /// Ordinal of the rows event in the file (not printed; several events can share `pos`).
    pub event_index: usize,
    pub table: String,
    pub kind: RowsKind,
    pub before: Option<Vec<Json>>,
    pub after: Option<Vec<Json>>,
    /// Columns missing from the before or after image.
    pub absent_columns: Vec<usize>,
}

impl RowChange {
    /// The JSON line `inspect` prints.
    pub fn to_json(&self) -> Json {
        let mut v = json!({
            "pos": self.pos,
            "table": self.table,
            "op": self.kind.op(),
            "before": self.before,
            "after": self.after,
        });
        if !self.absent_columns.is_empty() {
            v["absent_columns"] = json!(self.absent_columns);
        }
        v
    }
}

/// Inserted/updated/deleted row counts per `db.table`.
pub type RowsPerTable = BTreeMap<String, [u64; 3]>;

/// Decodes every row change of a binlog file and hands it to `sink`; returns row counts per table.
pub fn inspect_file(
    path: &Path,
    opts: &ReadOptions,
    sink: impl FnMut(RowChange) -> io::Result<()>,
) -> Result<RowsPerTable, InspectError> {
    let file = path.display().to_string();
    let fh = File::open(path).map_err(|source| InspectError::Open { file: file.clone(), source })?;
    inspect_reader(BufReader::with_capacity(1 << 16, fh), &file, opts, sink)
}

/// [`inspect_file`] over the bytes of a binlog file from `input` (the fuzz target's entry);
/// errors name `file`.
pub fn inspect_reader(
    input: impl Read,
    file: &str,
    opts: &ReadOptions,
    mut sink: impl FnMut(RowChange) -> io::Result<()>,
) -> Result<RowsPerTable, InspectError> {
    let mut counts = RowsPerTable::new();
    for_each_rows_event_in(input, file, opts, |ev| {
        let tme = ev.table_map;
        let table = format!("{}.{}", tme.database_name(), tme.table_name());
        let ncols = tme.columns_count() as usize;
        let before_bits: Option<Vec<bool>> = ev.rows.columns_before_image().map(|b| b.iter().map(|x| *x).collect());
        let after_bits: Option<Vec<bool>> = ev.rows.columns_after_image().map(|b| b.iter().map(|x| *x).collect());
        let mut absent = Vec::new();
        for i in 0..ncols {
            let missing = |bits: &Option<Vec<bool>>| bits.as_ref().is_some_and(|b| !b.get(i).copied().unwrap_or(false));
            if missing(&before_bits) || missing(&after_bits) {
                absent.push(i);
            }
        }
        crate::source::binlog::check_row_images(ev.rows)?;
        for row in ev.rows.rows(tme) {
            let (before, after) = row?;
            let before = before.map(|r| row_json(tme, &r, before_bits.as_deref())).transpose()?;
            let after = after.map(|r| row_json(tme, &r, after_bits.as_deref())).transpose()?;
            let slot = counts.entry(table.clone()).or_insert([0; 3]);
            slot[ev.kind as usize] += 1;
            sink(RowChange {
                pos: ev.pos,
                event_index: ev.index,
                table: table.clone(),
                kind: ev.kind,
                before,
                after,
                absent_columns: absent.clone(),
            })?;
        }
        Ok(())
    })?;
    Ok(counts)
}

fn row_json(tme: &TableMapEvent<'_>, row: &BinlogRow, bits: Option<&[bool]>) -> Result<Vec<Json>, CallbackError> {
    let ncols = tme.columns_count() as usize;
    let mut out = Vec::with_capacity(ncols);
    let mut j = 0;
    for i in 0..ncols {
        if bits.is_some_and(|b| !b.get(i).copied().unwrap_or(false)) {
            out.push(Json::Null);
            continue;
        }
        let col = row.columns_ref().get(j).ok_or("row image shorter than its bitmap")?;
        let value = row.as_ref(j).ok_or("row value missing")?;
        j += 1;
        let ty = tme.get_column_type(i).ok().flatten().ok_or("column without type")?;
        let meta = tme.get_column_metadata(i).unwrap_or(&[]);
        let binary = col.character_set() == 63;
        let unsigned = col.flags().contains(ColumnFlags::UNSIGNED_FLAG);
        out.push(plain_value(ty, meta, binary, unsigned, value).map_err(|e| format!("column {i} ({ty:?}): {e}"))?);
    }
    Ok(out)
}

fn plain_value(
    ty: ColumnType,
    meta: &[u8],
    binary: bool,
    _unsigned: bool,
    v: &BinlogValue<'_>,
) -> Result<Json, String> {
    use ColumnType::*;
    let fsp = meta.first().copied().unwrap_or(0).min(6) as usize;
    let my = match v {
        BinlogValue::Value(my) => my,
        BinlogValue::Jsonb(j) => {
            let mut s = String::new();
            decode::json::jsonb_to_text(j, &mut s).map_err(|e| e.to_string())?;
            return Ok(Json::String(s));
        }
        BinlogValue::JsonDiff(_) => return Err("partial JSON update (JSON diff)".into()),
    };
    Ok(match (ty, my) {
        (_, MyValue::NULL) => Json::Null,
        (MYSQL_TYPE_TIMESTAMP | MYSQL_TYPE_TIMESTAMP2, MyValue::Int(s)) => Json::String(utc_text(*s, 0, 0)),
        (MYSQL_TYPE_TIMESTAMP | MYSQL_TYPE_TIMESTAMP2, MyValue::Bytes(b)) => {
            let t = String::from_utf8_lossy(b);
            let (s, f) = t.split_once('.').unwrap_or((&t, "0"));
            let s: i64 = s.parse().map_err(|_| format!("bad TIMESTAMP {t}"))?;
            let f: i64 = f.parse().map_err(|_| format!("bad TIMESTAMP {t}"))?;
            Json::String(utc_text(s, f, fsp))
        }
        (_, MyValue::Int(i)) => json!(i),
        (_, MyValue::UInt(u)) => json!(u),
        (_, MyValue::Float(f)) => json!(*f as f64),
        (_, MyValue::Double(d)) => json!(d),
        (MYSQL_TYPE_DATE | MYSQL_TYPE_NEWDATE, MyValue::Date(y, m, d, ..)) => {
            json!(format!("{y:04}-{m:02}-{d:02}"))
        }
        (_, MyValue::Date(y, mo, d, h, mi, s, us)) => {
            let mut t = format!("{y:04}-{mo:02}-{d:02} {h:02}:{mi:02}:{s:02}");
            push_fraction(&mut t, *us as i64, if ty == MYSQL_TYPE_DATETIME2 { fsp } else { 0 });
            Json::String(t)
        }
        (_, MyValue::Time(neg, days, h, m, s, us)) => {
            let hours = *days as u64 * 24 + *h as u64;
            let mut t = format!("{}{hours:02}:{m:02}:{s:02}", if *neg { "-" } else { "" });
            push_fraction(&mut t, *us as i64, if ty == MYSQL_TYPE_TIME2 { fsp } else { 0 });
            Json::String(t)
        }
        (MYSQL_TYPE_YEAR, MyValue::Bytes(b)) => {
            let t = String::from_utf8_lossy(b);
            json!(t.parse::<i64>().map_err(|_| format!("bad YEAR {t}"))?)
        }
        (MYSQL_TYPE_NEWDECIMAL | MYSQL_TYPE_DECIMAL, MyValue::Bytes(b)) => {
            Json::String(String::from_utf8_lossy(b).into())
        }
        (MYSQL_TYPE_BIT, MyValue::Bytes(b)) => {
            if b.len() > 8 {
                return Err(format!("BIT of {} bytes", b.len()));
            }
            json!(b.iter().fold(0u64, |acc, x| (acc << 8) | *x as u64))
        }
        (MYSQL_TYPE_SET, MyValue::Bytes(b)) => {
            if b.len() > 8 {
                return Err(format!("SET of {} bytes", b.len()));
            }
            json!(b.iter().rev().fold(0u64, |acc, x| (acc << 8) | *x as u64))
        }
        (MYSQL_TYPE_VECTOR, MyValue::Bytes(b)) => {
            if b.len() % 4 != 0 {
                return Err(format!("VECTOR of {} bytes", b.len()));
            }
            Json::Array(b.chunks_exact(4).map(|c| json!(f32::from_le_bytes([c[0], c[1], c[2], c[3]]) as f64)).collect())
        }
        (MYSQL_TYPE_GEOMETRY, MyValue::Bytes(b)) => Json::String(decode::base64(b)),
        (_, MyValue::Bytes(b)) => match std::str::from_utf8(b) {
            Ok(s) if !binary => Json::String(s.to_owned()),
            _ => Json::String(decode::base64(b)),
        },
    })
}

fn push_fraction(t: &mut String, micros: i64, fsp: usize) {
    if fsp > 0 {
        let f = format!("{:06}", micros.rem_euclid(1_000_000));
        t.push('.');
        t.push_str(&f[..fsp]);
    }
}

fn utc_text(secs: i64, micros: i64, fsp: usize) -> String {
    let days = secs.div_euclid(86_400);
    let rem = secs.rem_euclid(86_400);
    let (y, m, d) = decode::civil_from_days(days);
    let mut t = format!("{y:04}-{m:02}-{d:02} {:02}:{:02}:{:02}", rem / 3600, (rem / 60) % 60, rem % 60);
    push_fraction(&mut t, micros, fsp);
    t
}

// ---- framing helpers ----

enum FrameError {
    Io(io::Error),
    Truncated(String),
    Invalid(String),
}

impl FrameError {
    fn into_error(self, file: &str, pos: u64) -> InspectError {
        match self {
            FrameError::Io(e) => InspectError::Invalid { file: file.into(), pos, detail: format!("read error: {e}") },
            FrameError::Truncated(detail) => InspectError::Truncated { file: file.into(), pos, detail },
            FrameError::Invalid(detail) => InspectError::Invalid { file: file.into(), pos, detail },
        }
    }
}

/// Checks the header of a TRANSACTION_PAYLOAD event body (MySQL's `Transaction_payload_event`:
/// length-encoded field type, field length and value triples up to an end mark of 0, then the
/// payload) before `mysql_common` parses it: its parser panics on an unknown compression type,
/// an unknown field longer than the event or a field type above 255 (found by the
/// `binlog_events` fuzz target). Hand
/// written because the parser is that crate's; the check accepts exactly what it parses safely.
pub fn check_payload_header(mut data: &[u8]) -> Result<(), String> {
    fn lenenc(d: &mut &[u8]) -> Option<u64> {
        let (&first, rest) = d.split_first()?;
        let n = match first {
            x @ 0..=0xfa => {
                *d = rest;
                return Some(u64::from(x));
            }
            0xfc => 2,
            0xfd => 3,
            0xfe => 8,
            _ => return None,
        };
        let bytes = rest.get(..n)?;
        *d = &rest[n..];
        Some(bytes.iter().rev().fold(0u64, |v, b| (v << 8) | u64::from(*b)))
    }
    let bad = |what: &str| Err(format!("malformed TRANSACTION_PAYLOAD header: {what}"));
    let (mut size, mut compression) = (None, None);
    loop {
        let Some(field) = lenenc(&mut data) else { return bad("it ends before its end mark") };
        if field == 0 {
            break;
        }
        if field > 255 {
            // mysql_common keeps an unknown field's type in a u8 (and panics on a larger one)
            return bad(&format!("field type {field}"));
        }
        let Some(len) = lenenc(&mut data) else { return bad("a field length runs past the event") };
        match field {
            1..=3 => {
                let Some(value) = lenenc(&mut data) else { return bad("a field value runs past the event") };
                match field {
                    1 => size = Some(value),
                    2 => compression = Some(value),
                    _ => {}
                }
            }
            _ => match usize::try_from(len).ok().and_then(|n| data.get(n..)) {
                Some(rest) => data = rest,
                None => return bad(&format!("field {field} of {len} bytes runs past the event")),
            },
        }
    }
    match compression {
        Some(0 | 255) => {}
        Some(other) => return bad(&format!("unknown compression type {other} (MySQL writes 0 = ZSTD or 255 = none)")),
        None => return bad("no compression type"),
    }
    match size {
        Some(n) if n <= data.len() as u64 => Ok(()),
        Some(n) => bad(&format!("payload of {n} bytes, {} present", data.len())),
        None => bad("no payload size"),
    }
}

/// Reads one whole event into `buf`; `Ok(None)` at a clean end of input.
fn read_frame<R: Read>(input: &mut R, buf: &mut Vec<u8>, checksummed: bool) -> Result<Option<usize>, FrameError> {
    buf.resize(HEADER_LEN, 0);
    let got = read_full(input, &mut buf[..HEADER_LEN]).map_err(FrameError::Io)?;
    if got == 0 {
        return Ok(None);
    }
    if got < HEADER_LEN {
        return Err(FrameError::Truncated(format!("{got} of {HEADER_LEN} header bytes")));
    }
    let size = u32::from_le_bytes([buf[9], buf[10], buf[11], buf[12]]);
    let min = HEADER_LEN + if checksummed { CHECKSUM_LEN } else { 0 };
    if (size as usize) < min || size > MAX_EVENT_SIZE {
        return Err(FrameError::Invalid(format!("event type {} declares an impossible size of {size} bytes", buf[4])));
    }
    let size = size as usize;
    // Grow with the bytes actually there: a damaged header declaring up to 1 GiB costs no more
    // memory than the input holds.
    buf.truncate(HEADER_LEN);
    let got = input.by_ref().take((size - HEADER_LEN) as u64).read_to_end(buf).map_err(FrameError::Io)?;
    if got < size - HEADER_LEN {
        return Err(FrameError::Truncated(format!(
            "event type {} declares {size} bytes, only {} present",
            buf[4],
            HEADER_LEN + got
        )));
    }
    Ok(Some(size))
}

/// Like `read_exact`, but returns how many bytes were read before EOF.
fn read_full<R: Read>(input: &mut R, mut out: &mut [u8]) -> io::Result<usize> {
    let mut n = 0;
    while !out.is_empty() {
        match input.read(out) {
            Ok(0) => break,
            Ok(k) => {
                n += k;
                out = &mut out[k..];
            }
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(n)
}

/// Whether non-FDE events currently end with a checksum (any algorithm other than OFF).
fn current_checksum(reader: &EventStreamReader) -> bool {
    let footer = reader.get_fde().footer();
    !matches!(
        footer.get_checksum_alg(),
        Ok(None) | Ok(Some(mysql_common::binlog::consts::BinlogChecksumAlg::BINLOG_CHECKSUM_ALG_OFF))
    )
}

/// Whether this (outer) event carries a CRC32 we can verify.
fn event_crc32(event: &Event) -> bool {
    matches!(
        event.footer().get_checksum_alg(),
        Ok(Some(mysql_common::binlog::consts::BinlogChecksumAlg::BINLOG_CHECKSUM_ALG_CRC32))
    )
}

/// CRC-32 (IEEE, reflected), as MySQL's binlog checksum.
pub fn crc32(data: &[u8]) -> u32 {
    !crc32_update(!0, data)
}

/// Feeds `data` into a running (pre-inverted) CRC-32 state.
fn crc32_update(state: u32, data: &[u8]) -> u32 {
    static TABLE: std::sync::OnceLock<[u32; 256]> = std::sync::OnceLock::new();
    let table = TABLE.get_or_init(|| {
        let mut t = [0u32; 256];
        for (i, e) in t.iter_mut().enumerate() {
            let mut c = i as u32;
            for _ in 0..8 {
                c = if c & 1 != 0 { 0xEDB8_8320 ^ (c >> 1) } else { c >> 1 };
            }
            *e = c;
        }
        t
    });
    data.iter().fold(state, |c, b| table[((c ^ *b as u32) & 0xFF) as usize] ^ (c >> 8))
}

fn guarded<T>(f: impl FnOnce() -> T) -> Result<T, String> {
    catch_unwind(AssertUnwindSafe(f)).map_err(|p| format!("decoder panicked: {}", panic_text(&p)))
}

fn panic_text(p: &Box<dyn std::any::Any + Send>) -> String {
    p.downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| p.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "unknown panic".into())
}
