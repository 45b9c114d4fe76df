//! Binlog row → Debezium Connect values.
//!
//! Input: one row image of a rows event as parsed by `mysql_common` ([`BinlogRow`], whose values are
//! [`BinlogValue`]s) plus our schema of the table ([`Table`]); output: one [`Value`] per table column,
//! in table order, exactly as Debezium 3.6.3 (MySQL connector, default handling modes:
//! `decimal.handling.mode=precise`, `time.precision.mode=adaptive_time_microseconds`,
//! `bigint.unsigned.handling.mode=long`, `binary.handling.mode=bytes`) puts them in a streaming record.
//!
//! # Algorithm
//! `mysql_common` decodes the wire format but knows nothing of the declared column type (MariaDB sends no
//! column metadata at all), so each value is fixed up by the column's [`ColumnKind`]:
//! * integers arrive signed (255 → -1) and MEDIUMINT is not sign-extended: re-read the low 8/16/24/32
//!   bits as signed or unsigned per `Column::unsigned`; BIGINT UNSIGNED wraps into i64 (mode `long`);
//!   TINYINT(1)/BOOLEAN in SHOW CREATE TABLE form stays int16, `ColumnKind::Bool` (DDL `BOOLEAN`) becomes
//!   a boolean;
//! * BIT(1) → boolean; BIT(n) → the big-endian wire bytes reversed (little-endian), ceil(n/8) long;
//! * DECIMAL (decimal text from `mysql_common`) → the unscaled value at the column's scale as minimal
//!   big-endian two's complement (Java `BigInteger.toByteArray`);
//! * DATE → days since 1970-01-01; DATETIME(0-3) → epoch millis, DATETIME(4-6) → epoch micros; TIME →
//!   micros (may be negative); TIMESTAMP (epoch seconds + micros) → ISO-8601 UTC text with exactly
//!   `fsp` fraction digits (the binlog keeps them: `…:01.000000Z`); zero dates/datetimes/timestamps →
//!   null; YEAR as decoded (0 → 1900, as Debezium reads it from the binlog);
//! * text kinds → decoded by the column charset (utf8/utf8mb3/utf8mb4/ascii as UTF-8, latin1 as
//!   windows-1252 like Java); BINARY(n) is right-padded with 0x00 to n bytes; ENUM index → label
//!   (0 → ""), SET bitmask → comma-joined labels;
//! * MySQL binary JSON → text via [`json::jsonb_to_text`]; MariaDB JSON (LONGTEXT) is passed through;
//! * spatial values (4-byte little-endian SRID + WKB) → struct `{wkb, srid}` (srid 0 → null); POINT →
//!   `{x, y, wkb, srid}`; VECTOR → array of float32.
//!
//! # Invariants
//! `out` is cleared and receives exactly `table.columns.len()` values. Columns missing from the row
//! image (MINIMAL row image, see [`decode_row_image`]) become `Value::Null`. Apart from the values
//! themselves nothing is allocated per row.
//!
//! # Failure
//! Any mismatch between schema and binlog (value of an unexpected shape, wrong column count,
//! out-of-range ENUM index, invalid DECIMAL text, unknown charset, partial JSON diffs, a MariaDB
//! UUID/INET value of the wrong length) returns a [`DecodeError`] naming the column; the
//! caller must stop rather than emit a wrong record. Nothing here panics on bad input.

pub mod json;
pub mod modes;

use base64::Engine as _;
use mysql_common::binlog::row::BinlogRow;
use mysql_common::binlog::value::BinlogValue;
use mysql_common::value::Value as MyValue;

use crate::connect::Value;
use crate::schema::{Column, ColumnKind, Table};

/// A row could not be turned into Connect values.
#[derive(Debug, thiserror::Error)]
pub enum DecodeError {
    /// The row image and the schema disagree on the number of columns.
    #[error("table {table}: row image has {got} columns, schema has {expected}")]
    ColumnCount { table: String, expected: usize, got: usize },
    /// One column's value could not be decoded.
    #[error("table {table}, column `{column}` (#{index}): {reason}")]
    Column { table: String, column: String, index: usize, reason: ValueError },
}

/// Why a single value could not be decoded.
#[derive(Debug, thiserror::Error)]
pub enum ValueError {
    #[error("binlog value {got} does not fit column kind {kind:?}")]
    Mismatch { kind: ColumnKind, got: &'static str },
    #[error(
        "partial JSON update (JSON diff, binlog_row_value_options=PARTIAL_JSON) cannot be decoded into a full value"
    )]
    PartialJson,
    #[error("invalid {what}: {detail}")]
    Invalid { what: &'static str, detail: String },
    #[error("unsupported: {0}")]
    Unsupported(String),
    #[error("value already taken from the row")]
    Taken,
}

/// Decodes a full row image (all columns present, as MariaDB and `binlog_row_image=FULL` send).
pub fn decode_row(table: &Table, row: &BinlogRow, out: &mut Vec<Value>) -> Result<(), DecodeError> {
    decode_row_image(table, row, None, out)
}

/// Decodes a row image whose present columns are given by the rows event's column bitmap
/// (`included[i]` for table column `i`); absent columns become `Value::Null`.
pub fn decode_row_image(
    table: &Table,
    row: &BinlogRow,
    included: Option<&[bool]>,
    out: &mut Vec<Value>,
) -> Result<(), DecodeError> {
    decode_row_image_into(table, row, included, out, None)
}

/// [`decode_row_image`], except that a value of an optional column that does not convert to the
/// column's type (the binlog holds text where the known schema says INT: a schema changed behind
/// the connector's back) becomes `Value::Null`, with the column and the reason added to
/// `nulled` — what Debezium does ("Failed to properly convert data value", the field left null).
/// A required column's value still fails.
pub fn decode_row_image_lenient(
    table: &Table,
    row: &BinlogRow,
    out: &mut Vec<Value>,
    nulled: &mut Vec<(usize, ValueError)>,
) -> Result<(), DecodeError> {
    decode_row_image_into(table, row, None, out, Some(nulled))
}

fn decode_row_image_into(
    table: &Table,
    row: &BinlogRow,
    included: Option<&[bool]>,
    out: &mut Vec<Value>,
    mut nulled: Option<&mut Vec<(usize, ValueError)>>,
) -> Result<(), DecodeError> {
    out.clear();
    let n = table.columns.len();
    let present = match included {
        Some(bits) => bits.iter().take(n).filter(|b| **b).count(),
        None => n,
    };
    if row.len() != present || included.is_some_and(|b| b.len() < n) {
        return Err(DecodeError::ColumnCount { table: table.id.to_string(), expected: present, got: row.len() });
    }
    let mut j = 0;
    for (i, col) in table.columns.iter().enumerate() {
        if let Some(bits) = included {
            if !bits[i] {
                out.push(Value::Null);
                continue;
            }
        }
        let v = row.as_ref(j).ok_or(ValueError::Taken).and_then(|v| decode_value(table, col, v));
        j += 1;
        match v {
            Ok(v) => out.push(v),
            Err(reason @ (ValueError::Mismatch { .. } | ValueError::Invalid { .. }))
                if col.optional && nulled.is_some() =>
            {
                out.push(Value::Null);
                if let Some(n) = nulled.as_mut() {
                    n.push((i, reason));
                }
            }
            Err(reason) => {
                return Err(DecodeError::Column {
                    table: table.id.to_string(),
                    column: col.name.clone(),
                    index: i,
                    reason,
                })
            }
        }
    }
    Ok(())
}

fn shape(v: &BinlogValue<'_>) -> &'static str {
    match v {
        BinlogValue::Value(MyValue::NULL) => "NULL",
        BinlogValue::Value(MyValue::Bytes(_)) => "Bytes",
        BinlogValue::Value(MyValue::Int(_)) => "Int",
        BinlogValue::Value(MyValue::UInt(_)) => "UInt",
        BinlogValue::Value(MyValue::Float(_)) => "Float",
        BinlogValue::Value(MyValue::Double(_)) => "Double",
        BinlogValue::Value(MyValue::Date(..)) => "Date",
        BinlogValue::Value(MyValue::Time(..)) => "Time",
        BinlogValue::Jsonb(_) => "Jsonb",
        BinlogValue::JsonDiff(_) => "JsonDiff",
    }
}

fn invalid(what: &'static str, detail: impl Into<String>) -> ValueError {
    ValueError::Invalid { what, detail: detail.into() }
}

/// Decodes one column value (see the module docs for the rules).
pub fn decode_value(table: &Table, col: &Column, v: &BinlogValue<'_>) -> Result<Value, ValueError> {
    use ColumnKind as K;
    let mismatch = || ValueError::Mismatch { kind: col.kind, got: shape(v) };
    let my = match v {
        BinlogValue::Value(MyValue::NULL) => return Ok(Value::Null),
        BinlogValue::JsonDiff(_) => return Err(ValueError::PartialJson),
        BinlogValue::Jsonb(j) => {
            return match col.kind {
                K::Json | K::Text | K::TinyText | K::MediumText | K::LongText | K::VarChar | K::Char => {
                    let mut s = String::new();
                    json::jsonb_to_text(j, &mut s)?;
                    Ok(Value::String(s))
                }
                _ => Err(mismatch()),
            }
        }
        BinlogValue::Value(my) => my,
    };
    let raw_int = || match my {
        MyValue::Int(i) => Ok(*i),
        MyValue::UInt(u) => Ok(*u as i64),
        _ => Err(mismatch()),
    };
    let bytes = || match my {
        MyValue::Bytes(b) => Ok(b.as_slice()),
        _ => Err(mismatch()),
    };
    Ok(match col.kind {
        K::TinyInt => {
            let r = raw_int()?;
            Value::Int(if col.unsigned { r as u8 as i64 } else { r as i8 as i64 })
        }
        K::Bool => Value::Boolean(raw_int()? != 0),
        K::SmallInt => {
            let r = raw_int()?;
            Value::Int(if col.unsigned { r as u16 as i64 } else { r as i16 as i64 })
        }
        K::MediumInt => {
            let r = raw_int()? & 0xFF_FFFF;
            Value::Int(if col.unsigned { r } else { (r << 40) >> 40 })
        }
        K::Int => {
            let r = raw_int()?;
            Value::Int(if col.unsigned { r as u32 as i64 } else { r as i32 as i64 })
        }
        K::BigInt => Value::Int(raw_int()?),
        K::Bit => {
            let b = bytes()?;
            let nbits = col.length.filter(|l| *l > 0).map(|l| l as usize).unwrap_or(b.len() * 8);
            if nbits == 1 {
                Value::Boolean(b.last().is_some_and(|x| x & 1 == 1))
            } else {
                let nbytes = nbits.div_ceil(8);
                let mut le: Vec<u8> = b.iter().rev().copied().collect();
                le.resize(nbytes, 0);
                Value::Bytes(le)
            }
        }
        K::Decimal => {
            let text = std::str::from_utf8(bytes()?).map_err(|e| invalid("DECIMAL text", e.to_string()))?;
            Value::Bytes(decimal_unscaled_bytes(text, col.scale.map(|s| s.max(0) as usize))?)
        }
        K::Float => match my {
            MyValue::Float(f) => Value::Float32(*f),
            MyValue::Double(d) => Value::Float32(*d as f32),
            _ => return Err(mismatch()),
        },
        K::Double => match my {
            MyValue::Double(d) => Value::Float64(*d),
            MyValue::Float(f) => Value::Float64(*f as f64),
            _ => return Err(mismatch()),
        },
        K::Date => match my {
            MyValue::Date(y, m, d, ..) => {
                if *y == 0 || *m == 0 || *d == 0 {
                    Value::Null
                } else {
                    Value::Int(days_from_civil(*y as i64, *m as u32, *d as u32))
                }
            }
            _ => return Err(mismatch()),
        },
        K::Time => match my {
            MyValue::Time(neg, days, h, m, s, us) => {
                let secs = (*days as i64 * 24 + *h as i64) * 3600 + *m as i64 * 60 + *s as i64;
                let micros = secs * 1_000_000 + *us as i64;
                Value::Int(if *neg { -micros } else { micros })
            }
            _ => return Err(mismatch()),
        },
        K::DateTime => match my {
            MyValue::Date(y, mo, d, h, mi, s, us) => {
                if *y == 0 || *mo == 0 || *d == 0 {
                    Value::Null
                } else {
                    let days = days_from_civil(*y as i64, *mo as u32, *d as u32);
                    let secs = days * 86_400 + *h as i64 * 3600 + *mi as i64 * 60 + *s as i64;
                    let micros = secs * 1_000_000 + *us as i64;
                    if fsp(col) <= 3 {
                        Value::Int(micros.div_euclid(1000))
                    } else {
                        Value::Int(micros)
                    }
                }
            }
            _ => return Err(mismatch()),
        },
        K::Timestamp => {
            let (secs, micros) = match my {
                MyValue::Int(s) => (*s, 0),
                MyValue::UInt(s) => (*s as i64, 0),
                MyValue::Bytes(b) => parse_timestamp_text(b)?,
                _ => return Err(mismatch()),
            };
            if secs == 0 && micros == 0 {
                Value::Null
            } else {
                Value::String(format_zoned_timestamp(secs, micros, fsp(col)))
            }
        }
        K::Year => match my {
            MyValue::Bytes(b) => {
                let t = std::str::from_utf8(b).ok().and_then(|t| t.parse::<i64>().ok());
                Value::Int(t.ok_or_else(|| invalid("YEAR", String::from_utf8_lossy(b).into_owned()))?)
            }
            MyValue::Int(i) => Value::Int(*i),
            MyValue::UInt(u) => Value::Int(*u as i64),
            _ => return Err(mismatch()),
        },
        K::Char | K::VarChar | K::TinyText | K::Text | K::MediumText | K::LongText | K::Json => {
            Value::String(decode_text(table, col, bytes()?)?)
        }
        K::Binary => {
            let b = bytes()?;
            let mut v = b.to_vec();
            if let Some(n) = col.length.filter(|n| *n > 0) {
                if v.len() < n as usize {
                    v.resize(n as usize, 0);
                }
            }
            Value::Bytes(v)
        }
        K::VarBinary | K::TinyBlob | K::Blob | K::MediumBlob | K::LongBlob => Value::Bytes(bytes()?.to_vec()),
        K::Enum => {
            let idx = raw_int()?;
            if idx == 0 {
                Value::String(String::new())
            } else {
                let label = usize::try_from(idx - 1).ok().and_then(|i| col.enum_values.get(i));
                match label {
                    Some(l) => Value::String(l.clone()),
                    None => {
                        return Err(invalid(
                            "ENUM index",
                            format!("{idx} (column has {} labels)", col.enum_values.len()),
                        ))
                    }
                }
            }
        }
        K::Set => {
            let mask: u64 = match my {
                MyValue::Bytes(b) if b.len() <= 8 => {
                    b.iter().enumerate().fold(0u64, |acc, (i, x)| acc | (*x as u64) << (8 * i))
                }
                MyValue::Int(i) => *i as u64,
                MyValue::UInt(u) => *u,
                _ => return Err(mismatch()),
            };
            let mut s = String::new();
            for bit in 0..64 {
                if mask & (1u64 << bit) != 0 {
                    let label = col.enum_values.get(bit).ok_or_else(|| {
                        invalid("SET bitmask", format!("bit {bit} set, column has {} labels", col.enum_values.len()))
                    })?;
                    if !s.is_empty() {
                        s.push(',');
                    }
                    s.push_str(label);
                }
            }
            Value::String(s)
        }
        K::Geometry
        | K::LineString
        | K::Polygon
        | K::MultiPoint
        | K::MultiLineString
        | K::MultiPolygon
        | K::GeometryCollection => {
            let (srid, wkb) = split_srid(bytes()?)?;
            Value::Struct(vec![Value::Bytes(wkb.to_vec()), srid])
        }
        K::Point => {
            let (srid, wkb) = split_srid(bytes()?)?;
            let (x, y) = wkb_point(wkb)?;
            Value::Struct(vec![Value::Float64(x), Value::Float64(y), Value::Bytes(wkb.to_vec()), srid])
        }
        K::Vector => {
            let b = bytes()?;
            if b.len() % 4 != 0 {
                return Err(invalid("VECTOR", format!("{} bytes is not a multiple of 4", b.len())));
            }
            Value::Array(
                b.chunks_exact(4).map(|c| Value::Float32(f32::from_le_bytes([c[0], c[1], c[2], c[3]]))).collect(),
            )
        }
        // Fixed-length binary columns: the row image leaves out trailing zero bytes.
        K::Uuid => {
            let b = padded::<16>(bytes()?).ok_or_else(|| invalid("UUID", hex(bytes().ok())))?;
            Value::String(mariadb_uuid_text(&b))
        }
        K::Inet4 => {
            let b = padded::<4>(bytes()?).ok_or_else(|| invalid("INET4", hex(bytes().ok())))?;
            Value::String(std::net::Ipv4Addr::from(b).to_string())
        }
        K::Inet6 => {
            let b = padded::<16>(bytes()?).ok_or_else(|| invalid("INET6", hex(bytes().ok())))?;
            Value::String(mariadb_inet6_text(&b))
        }
    })
}

/// An INET6 value as MariaDB prints it: RFC 5952 text, except that IPv4-mapped (`::ffff:a.b.c.d`)
/// and IPv4-compatible addresses (`::a.b.c.d`, when the upper half of the IPv4 part is not zero)
/// end in dotted decimal, as MySQL's and MariaDB's INET6_NTOA do.
pub fn mariadb_inet6_text(b: &[u8; 16]) -> String {
    let word = |i: usize| u16::from_be_bytes([b[2 * i], b[2 * i + 1]]);
    let v4 = std::net::Ipv4Addr::new(b[12], b[13], b[14], b[15]);
    if b[..10].iter().all(|&x| x == 0) {
        match word(5) {
            0xffff => return format!("::ffff:{v4}"),
            0 if word(6) != 0 => return format!("::{v4}"),
            _ => {}
        }
    }
    std::net::Ipv6Addr::from(*b).to_string()
}

/// `b` right-padded with zero bytes to `N` (None when longer).
fn padded<const N: usize>(b: &[u8]) -> Option<[u8; N]> {
    let mut out = [0u8; N];
    out.get_mut(..b.len())?.copy_from_slice(b);
    Some(out)
}

/// A MariaDB UUID column's stored bytes as the server prints it. Stored bytes in text order are
/// printed as they are; a UUID stored with its segments in reverse order (node, clock_seq,
/// time_hi_and_version, time_mid, time_low — MariaDB's index-friendly form for RFC 4122 versions
/// 1–5, recognisable by the version and variant bits at their swapped places) is put back first.
pub fn mariadb_uuid_text(rec: &[u8; 16]) -> String {
    let swapped = rec[8] > 0 && rec[8] < 0x60 && rec[6] & 0x80 != 0;
    let mut mem = *rec;
    if swapped {
        mem[0..4].copy_from_slice(&rec[12..16]);
        mem[4..6].copy_from_slice(&rec[10..12]);
        mem[6..8].copy_from_slice(&rec[8..10]);
        mem[8..10].copy_from_slice(&rec[6..8]);
        mem[10..16].copy_from_slice(&rec[0..6]);
    }
    uuid::Uuid::from_bytes(mem).hyphenated().to_string()
}

fn hex(b: Option<&[u8]>) -> String {
    modes::hex_lower(b.unwrap_or_default())
}

/// Fractional-second precision of a temporal column (`Column::length`, 0 when absent).
pub(crate) fn fsp(col: &Column) -> usize {
    col.length.unwrap_or(0).clamp(0, 6) as usize
}

/// `mysql_common` renders TIMESTAMP2 as `"<secs>"` or `"<secs>.<6-digit micros>"`.
fn parse_timestamp_text(b: &[u8]) -> Result<(i64, i64), ValueError> {
    let bad = || invalid("TIMESTAMP", String::from_utf8_lossy(b).into_owned());
    let t = std::str::from_utf8(b).map_err(|_| bad())?;
    let (s, f) = t.split_once('.').unwrap_or((t, "0"));
    let secs = s.parse::<i64>().map_err(|_| bad())?;
    let micros = f.parse::<i64>().map_err(|_| bad())?;
    if !(0..1_000_000).contains(&micros) {
        return Err(bad());
    }
    Ok((secs, micros))
}

/// ISO-8601 UTC text of an epoch instant with exactly `fsp` fraction digits (`ZonedTimestamp`).
pub fn format_zoned_timestamp(secs: i64, micros: i64, fsp: usize) -> String {
    let days = secs.div_euclid(86_400);
    let rem = secs.rem_euclid(86_400);
    let (y, m, d) = civil_from_days(days);
    let mut s = format!("{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}", rem / 3600, (rem / 60) % 60, rem % 60);
    if fsp > 0 {
        let frac = format!("{micros:06}");
        s.push('.');
        s.push_str(&frac[..fsp.min(6)]);
    }
    s.push('Z');
    s
}

/// Days since 1970-01-01 of a proleptic Gregorian date.
pub fn days_from_civil(y: i64, m: u32, d: u32) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = if y >= 0 { y } else { y - 399 } / 400;
    let yoe = y - era * 400;
    let mp = (m as i64 + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d as i64 - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// Inverse of [`days_from_civil`].
pub fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = if z >= 0 { z } else { z - 146_096 } / 146_097;
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (if m <= 2 { y + 1 } else { y }, m, d)
}

/// Decimal text (`-123.4500`) → unscaled value at `scale` as minimal big-endian two's complement.
pub fn decimal_unscaled_bytes(text: &str, scale: Option<usize>) -> Result<Vec<u8>, ValueError> {
    let bad = |why: &str| invalid("DECIMAL", format!("{text:?}: {why}"));
    let t = text.trim();
    let (neg, t) = match t.strip_prefix('-') {
        Some(r) => (true, r),
        None => (false, t.strip_prefix('+').unwrap_or(t)),
    };
    let (int, frac) = t.split_once('.').unwrap_or((t, ""));
    if int.is_empty() && frac.is_empty() {
        return Err(bad("no digits"));
    }
    let scale = scale.unwrap_or(frac.len());
    let (frac_used, frac_extra) = frac.split_at(frac.len().min(scale));
    if frac_extra.bytes().any(|c| c != b'0') {
        return Err(bad("more fraction digits than the column scale"));
    }
    // 9 limbs of 32 bits: 288 bits, enough for 65 decimal digits plus sign.
    const LIMBS: usize = 9;
    let mut mag = [0u32; LIMBS];
    let mut ndigits = 0usize;
    let digits = int.bytes().chain(frac_used.bytes()).chain(std::iter::repeat_n(b'0', scale - frac_used.len()));
    for c in digits {
        if !c.is_ascii_digit() {
            return Err(bad("not a digit"));
        }
        ndigits += 1;
        if ndigits > 80 {
            return Err(bad("too many digits"));
        }
        let mut carry = (c - b'0') as u64;
        for limb in mag.iter_mut() {
            let t = *limb as u64 * 10 + carry;
            *limb = t as u32;
            carry = t >> 32;
        }
    }
    if neg {
        let mut carry = 1u64;
        for limb in mag.iter_mut() {
            let t = (!*limb) as u64 + carry;
            *limb = t as u32;
            carry = t >> 32;
        }
    }
    let mut be = [0u8; LIMBS * 4];
    for (i, limb) in mag.iter().enumerate() {
        be[(LIMBS - 1 - i) * 4..(LIMBS - i) * 4].copy_from_slice(&limb.to_be_bytes());
    }
    let mut start = 0;
    while start + 1 < be.len() {
        let (b0, b1) = (be[start], be[start + 1]);
        if (b0 == 0x00 && b1 & 0x80 == 0) || (b0 == 0xFF && b1 & 0x80 != 0) {
            start += 1;
        } else {
            break;
        }
    }
    Ok(be[start..].to_vec())
}

fn split_srid(b: &[u8]) -> Result<(Value, &[u8]), ValueError> {
    match b {
        [a, b2, c, d, wkb @ ..] => {
            let srid = u32::from_le_bytes([*a, *b2, *c, *d]);
            Ok((if srid == 0 { Value::Null } else { Value::Int(srid as i64) }, wkb))
        }
        _ => Err(invalid("geometry", format!("{} bytes, shorter than the 4-byte SRID", b.len()))),
    }
}

/// x and y of a WKB POINT (either byte order).
fn wkb_point(wkb: &[u8]) -> Result<(f64, f64), ValueError> {
    if wkb.len() < 21 {
        return Err(invalid("POINT", format!("WKB of {} bytes", wkb.len())));
    }
    let le = match wkb[0] {
        0 => false,
        1 => true,
        o => return Err(invalid("POINT", format!("WKB byte order {o}"))),
    };
    let rd4 = |s: &[u8]| {
        let a = [s[0], s[1], s[2], s[3]];
        if le {
            u32::from_le_bytes(a)
        } else {
            u32::from_be_bytes(a)
        }
    };
    let rd8 = |s: &[u8]| {
        let mut a = [0u8; 8];
        a.copy_from_slice(&s[..8]);
        if le {
            f64::from_le_bytes(a)
        } else {
            f64::from_be_bytes(a)
        }
    };
    let ty = rd4(&wkb[1..5]);
    if ty != 1 {
        return Err(invalid("POINT", format!("WKB geometry type {ty}")));
    }
    Ok((rd8(&wkb[5..13]), rd8(&wkb[13..21])))
}

/// Text bytes → String by the column's charset (falling back to the table's, then utf8mb4).
pub fn decode_text(table: &Table, col: &Column, b: &[u8]) -> Result<String, ValueError> {
    let cs = col.charset.as_deref().or(table.default_charset.as_deref()).unwrap_or("utf8mb4");
    let is = |names: &[&str]| names.iter().any(|n| cs.eq_ignore_ascii_case(n));
    if is(&["utf8mb4", "utf8", "utf8mb3", "ascii", "binary"]) {
        Ok(String::from_utf8_lossy(b).into_owned())
    } else if is(&["latin1", "cp1252"]) {
        Ok(b.iter().map(|x| cp1252(*x)).collect())
    } else {
        Err(ValueError::Unsupported(format!("character set {cs}")))
    }
}

/// windows-1252 (MySQL's `latin1`, decoded as Java's Cp1252: the five unmapped bytes → U+FFFD).
fn cp1252(b: u8) -> char {
    const HIGH: [u16; 32] = [
        0x20AC, 0xFFFD, 0x201A, 0x0192, 0x201E, 0x2026, 0x2020, 0x2021, 0x02C6, 0x2030, 0x0160, 0x2039, 0x0152, 0xFFFD,
        0x017D, 0xFFFD, 0xFFFD, 0x2018, 0x2019, 0x201C, 0x201D, 0x2022, 0x2013, 0x2014, 0x02DC, 0x2122, 0x0161, 0x203A,
        0x0153, 0xFFFD, 0x017E, 0x0178,
    ];
    match b {
        0x80..=0x9F => char::from_u32(HIGH[(b - 0x80) as usize] as u32).unwrap_or('\u{FFFD}'),
        _ => b as char,
    }
}

/// Base64 (standard alphabet, padded) as JsonConverter writes bytes; handy for tests and tools.
pub fn base64(b: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(b)
}

#[cfg(test)]
mod tests {
    /// Expected texts printed by MariaDB 10.11 itself:
    /// `SELECT CAST(CAST('<input>' AS INET6) AS CHAR)`.
    #[test]
    fn inet6_prints_as_mariadb_does() {
        let cases = [
            ("::1", "::1"),
            ("::2", "::2"),
            ("::0.1.0.0", "::0.1.0.0"),
            ("::0.0.1.0", "::100"),
            ("::ffff:0.0.0.0", "::ffff:0.0.0.0"),
            ("::ffff:0.0.0.1", "::ffff:0.0.0.1"),
            ("::1:0:0", "::1:0:0"),
            ("0:0:0:0:0:1:0:1", "::1:0:1"),
            ("::ffff", "::ffff"),
            ("::fffe:1.2.3.4", "::fffe:102:304"),
            ("1::", "1::"),
            ("1:0:0:2::3", "1:0:0:2::3"),
            ("::1:2", "::0.1.0.2"),
            ("::1.2.3.4", "::1.2.3.4"),
            ("2001:db8:0:0:1:0:0:1", "2001:db8::1:0:0:1"),
        ];
        for (input, want) in cases {
            let addr: std::net::Ipv6Addr = input.parse().unwrap();
            assert_eq!(super::mariadb_inet6_text(&addr.octets()), want, "{input}");
        }
    }

    use super::*;

    #[test]
    fn decimals() {
        let b64 = |t: &str, s| base64(&decimal_unscaled_bytes(t, Some(s)).unwrap());
        assert_eq!(b64("1234.56", 2), "AeJA");
        assert_eq!(b64("-0.01", 2), "/w==");
        assert_eq!(b64("0.0000000001", 10), "AQ==");
        assert_eq!(b64("-99999999.99", 2), "/av0HAE=");
        assert_eq!(b64("99999999.99", 2), "AlQL4/8=");
        assert_eq!(b64("0.00", 2), "AA==");
        assert_eq!(b64("-0.50", 2), "zg==");
        assert_eq!(
            b64("-99999999999999999999999999999999999.999999999999999999999999999999", 30),
            "/wzp2OOAPG91dBC5sca6EIXayfYAAAAAAAAAAQ=="
        );
        assert!(decimal_unscaled_bytes("1.234", Some(2)).is_err());
    }

    #[test]
    fn dates() {
        assert_eq!(days_from_civil(2024, 2, 29), 19782);
        assert_eq!(days_from_civil(1000, 1, 1), -354285);
        assert_eq!(days_from_civil(9999, 12, 31), 2932896);
        assert_eq!(civil_from_days(19782), (2024, 2, 29));
        assert_eq!(civil_from_days(-354285), (1000, 1, 1));
        assert_eq!(format_zoned_timestamp(1, 0, 6), "1970-01-01T00:00:01.000000Z");
        assert_eq!(format_zoned_timestamp(2147483647, 999999, 6), "2038-01-19T03:14:07.999999Z");
        assert_eq!(format_zoned_timestamp(1709210096, 0, 0), "2024-02-29T12:34:56Z");
    }
}
