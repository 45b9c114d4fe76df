//! The value side of Debezium's handling modes (`decimal.handling.mode`, `time.precision.mode`,
//! `bigint.unsigned.handling.mode`, `binary.handling.mode`): a row decoded in the default modes
//! (by the binlog decoder or the snapshot reader) is reshaped in place into what the configured
//! modes emit, so both paths stay equal by construction. The schemas come from
//! `schema::connect_schema` with the same [`SchemaOptions`].
//!
//! What each mode does (Debezium 3.6.3's MySQL connector, checked against the oracle runs
//! `modes_string`, `modes_double`, `modes_iso`, `modes_micro`, `modes_nano` in `tests/data/golden/`):
//! * `decimal.handling.mode=string`: DECIMAL as `BigDecimal.toPlainString()` (every digit of the
//!   column's scale); `double`: the nearest double.
//! * `bigint.unsigned.handling.mode=precise`: BIGINT UNSIGNED as a Connect Decimal of scale 0.
//! * `binary.handling.mode=base64|base64-url-safe|hex`: BINARY/VARBINARY/BLOB as text (padded
//!   base64; lower-case hex). BIT and spatial values stay bytes.
//! * `time.precision.mode=connect`: TIME as milliseconds of the day (Connect `Time`) and DATETIME
//!   as epoch milliseconds (Connect `Timestamp`), fractions below a millisecond cut off; a TIME
//!   outside 00:00–24:00 (MySQL allows −838:59:59 to 838:59:59) is null, as Java's `LocalTime`
//!   cannot hold it. `isostring`: DATE as `2024-02-29Z`, TIME as `12:34:56.789Z`, DATETIME as
//!   `2024-02-29T12:34:56.789Z` (the fraction without trailing zeros, none when zero), with the
//!   same null for TIME out of range. `microseconds`: every DATETIME in microseconds
//!   (`MicroTimestamp`); `nanoseconds`: TIME and DATETIME in nanoseconds (`NanoTime`,
//!   `NanoTimestamp`), null where the count does not fit 64 bits (years before 1678 or after
//!   2261). The runs `modes_micro` and `modes_nano` show both. (`adaptive` is refused, as by
//!   Debezium.)
//!
//! Only columns whose shape changes are visited; a table in the default modes has no
//! [`Shaper`] at all. A value of an unexpected shape is an error naming the column (never a panic).

use base64::Engine as _;

use crate::connect::Value;
use crate::schema::connect_schema::{BigIntUnsigned, BinaryHandling, DecimalHandling, SchemaOptions, TimePrecision};
use crate::schema::{Column, ColumnKind, Table};

use super::{civil_from_days, fsp, ValueError};

/// How one column's default-mode value becomes the configured mode's value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Shape {
    DecimalString {
        scale: u32,
    },
    DecimalDouble {
        scale: u32,
    },
    UnsignedDecimal,
    Base64,
    Base64UrlSafe,
    Hex,
    /// TIME micros → millis of the day
    ConnectTime,
    /// DATETIME(4–6) micros → millis (DATETIME(0–3) already are)
    MicrosToMillis,
    IsoDate,
    IsoTime,
    /// DATETIME; `micros` when the default value is in microseconds
    IsoDateTime {
        micros: bool,
    },
    /// DATETIME(0–3) millis → micros
    MillisToMicros,
    /// TIME or DATETIME(4–6) micros → nanos
    MicrosToNanos,
    /// DATETIME(0–3) millis → nanos
    MillisToNanos,
}

impl Shape {
    /// The reshaping `col` needs under `opts` (None: its value stays as decoded).
    pub fn of(col: &Column, opts: &SchemaOptions) -> Option<Shape> {
        use ColumnKind as K;
        let scale = col.scale.unwrap_or(0).max(0) as u32;
        match col.kind {
            K::Decimal => match opts.decimal {
                DecimalHandling::Precise => None,
                DecimalHandling::String => Some(Shape::DecimalString { scale }),
                DecimalHandling::Double => Some(Shape::DecimalDouble { scale }),
            },
            K::BigInt if col.unsigned && opts.bigint_unsigned == BigIntUnsigned::Precise => {
                Some(Shape::UnsignedDecimal)
            }
            K::Binary | K::VarBinary | K::TinyBlob | K::Blob | K::MediumBlob | K::LongBlob => match opts.binary {
                BinaryHandling::Bytes => None,
                BinaryHandling::Base64 => Some(Shape::Base64),
                BinaryHandling::Base64UrlSafe => Some(Shape::Base64UrlSafe),
                BinaryHandling::Hex => Some(Shape::Hex),
            },
            K::Time => match opts.time_precision {
                TimePrecision::Connect => Some(Shape::ConnectTime),
                TimePrecision::IsoString => Some(Shape::IsoTime),
                TimePrecision::Nanoseconds => Some(Shape::MicrosToNanos),
                _ => None,
            },
            K::DateTime => match (opts.time_precision, fsp(col) > 3) {
                (TimePrecision::Connect, true) => Some(Shape::MicrosToMillis),
                (TimePrecision::IsoString, micros) => Some(Shape::IsoDateTime { micros }),
                (TimePrecision::Microseconds, false) => Some(Shape::MillisToMicros),
                (TimePrecision::Nanoseconds, true) => Some(Shape::MicrosToNanos),
                (TimePrecision::Nanoseconds, false) => Some(Shape::MillisToNanos),
                _ => None,
            },
            K::Date if opts.time_precision == TimePrecision::IsoString => Some(Shape::IsoDate),
            _ => None,
        }
    }

    /// `v` (a non-null value of the default modes) in this shape.
    pub fn reshape(self, v: Value) -> Result<Value, ValueError> {
        reshape(v, self)
    }
}

/// The reshaping of one table's rows (see the module docs).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Shaper {
    columns: Vec<(usize, Shape)>,
}

impl Shaper {
    /// The shaper of `table` under `opts`, or None when no column changes (the default modes).
    pub fn new(table: &Table, opts: &SchemaOptions) -> Option<Shaper> {
        let columns: Vec<(usize, Shape)> =
            table.columns.iter().enumerate().filter_map(|(i, col)| Shape::of(col, opts).map(|s| (i, s))).collect();
        (!columns.is_empty()).then_some(Shaper { columns })
    }

    /// Reshape `row` (one value per table column, default modes) in place. The error names the
    /// column index.
    pub fn apply(&self, row: &mut [Value]) -> Result<(), (usize, ValueError)> {
        for &(i, shape) in &self.columns {
            let Some(v) = row.get_mut(i) else { continue };
            if matches!(v, Value::Null) {
                continue;
            }
            let new = reshape(std::mem::replace(v, Value::Null), shape).map_err(|e| (i, e))?;
            *v = new;
        }
        Ok(())
    }
}

fn unexpected(shape: Shape, v: &Value) -> ValueError {
    ValueError::Invalid { what: "value for the handling mode", detail: format!("{shape:?} cannot take {v:?}") }
}

fn reshape(v: Value, shape: Shape) -> Result<Value, ValueError> {
    const MICROS_PER_DAY: i64 = 86_400_000_000;
    Ok(match (shape, v) {
        (Shape::DecimalString { scale }, Value::Bytes(b)) => Value::String(unscaled_to_text(&b, scale)),
        (Shape::DecimalDouble { scale }, Value::Bytes(b)) => {
            let text = unscaled_to_text(&b, scale);
            Value::Float64(text.parse().map_err(|_| ValueError::Invalid { what: "DECIMAL", detail: text })?)
        }
        (Shape::UnsignedDecimal, Value::Int(i)) => Value::Bytes(unsigned_bytes(i as u64)),
        (Shape::Base64, Value::Bytes(b)) => Value::String(base64::engine::general_purpose::STANDARD.encode(b)),
        (Shape::Base64UrlSafe, Value::Bytes(b)) => Value::String(base64::engine::general_purpose::URL_SAFE.encode(b)),
        (Shape::Hex, Value::Bytes(b)) => Value::String(hex_lower(&b)),
        (Shape::ConnectTime, Value::Int(us)) => {
            if (0..MICROS_PER_DAY).contains(&us) {
                Value::Int(us / 1000)
            } else {
                Value::Null
            }
        }
        (Shape::MicrosToMillis, Value::Int(us)) => Value::Int(us.div_euclid(1000)),
        (Shape::MillisToMicros, Value::Int(ms)) => Value::Int(ms * 1000),
        // a nanosecond count beyond 64 bits (before 1677 or after 2262) is null, as in Debezium
        (Shape::MicrosToNanos, Value::Int(us)) => us.checked_mul(1000).map_or(Value::Null, Value::Int),
        (Shape::MillisToNanos, Value::Int(ms)) => ms.checked_mul(1_000_000).map_or(Value::Null, Value::Int),
        (Shape::IsoDate, Value::Int(days)) => {
            let (y, m, d) = civil_from_days(days);
            Value::String(format!("{}-{m:02}-{d:02}Z", year_text(y)))
        }
        (Shape::IsoTime, Value::Int(us)) => {
            if (0..MICROS_PER_DAY).contains(&us) {
                let mut s = String::with_capacity(16);
                push_time(&mut s, us);
                s.push('Z');
                Value::String(s)
            } else {
                Value::Null
            }
        }
        (Shape::IsoDateTime { micros }, Value::Int(t)) => {
            let us = if micros { t } else { t * 1000 };
            let (days, tod) = (us.div_euclid(MICROS_PER_DAY), us.rem_euclid(MICROS_PER_DAY));
            let (y, m, d) = civil_from_days(days);
            let mut s = format!("{}-{m:02}-{d:02}T", year_text(y));
            push_time(&mut s, tod);
            s.push('Z');
            Value::String(s)
        }
        (shape, v) => return Err(unexpected(shape, &v)),
    })
}

/// A year as `java.time` prints it (four digits at least).
fn year_text(y: i64) -> String {
    if y < 0 {
        format!("-{:04}", -y)
    } else {
        format!("{y:04}")
    }
}

/// `HH:MM:SS[.fraction]` of microseconds within a day, the fraction without trailing zeros
/// (`DateTimeFormatter.ISO_LOCAL_TIME`).
fn push_time(s: &mut String, us: i64) {
    use std::fmt::Write as _;
    let secs = us / 1_000_000;
    let frac = us % 1_000_000;
    let _ = write!(s, "{:02}:{:02}:{:02}", secs / 3600, secs / 60 % 60, secs % 60);
    if frac != 0 {
        let digits = format!("{frac:06}");
        s.push('.');
        s.push_str(digits.trim_end_matches('0'));
    }
}

/// Lower-case hex of `b` (Java's `%02x` per byte).
pub(crate) fn hex_lower(b: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut s = String::with_capacity(b.len() * 2);
    for x in b {
        s.push(DIGITS[(x >> 4) as usize] as char);
        s.push(DIGITS[(x & 15) as usize] as char);
    }
    s
}

/// `u` as Java's `BigInteger.toByteArray()`: minimal big-endian two's complement.
fn unsigned_bytes(u: u64) -> Vec<u8> {
    let b = u.to_be_bytes();
    let skip = b.iter().take_while(|&&x| x == 0).count().min(7);
    let mut out = Vec::with_capacity(9);
    if b[skip] & 0x80 != 0 {
        out.push(0);
    }
    out.extend_from_slice(&b[skip..]);
    out
}

/// The plain decimal text (`BigDecimal.toPlainString()`) of a big-endian two's complement
/// unscaled value at `scale`.
pub fn unscaled_to_text(b: &[u8], scale: u32) -> String {
    let neg = b.first().is_some_and(|x| x & 0x80 != 0);
    // magnitude, big-endian
    let mut mag: Vec<u8> = if neg {
        // two's complement: invert and add one
        let mut m: Vec<u8> = b.iter().map(|x| !x).collect();
        for x in m.iter_mut().rev() {
            let (v, carry) = x.overflowing_add(1);
            *x = v;
            if !carry {
                break;
            }
        }
        m
    } else {
        b.to_vec()
    };
    // decimal digits by repeated division by 10^9 (the magnitude is at most a few dozen bytes)
    let mut chunks: Vec<u32> = Vec::new();
    while mag.iter().any(|&x| x != 0) {
        let mut rem: u64 = 0;
        for x in mag.iter_mut() {
            let cur = (rem << 8) | u64::from(*x);
            *x = (cur / 1_000_000_000) as u8;
            rem = cur % 1_000_000_000;
        }
        chunks.push(rem as u32);
        let lead = mag.iter().take_while(|&&x| x == 0).count();
        mag.drain(..lead);
    }
    let mut digits = match chunks.split_last() {
        None => String::from("0"),
        Some((top, rest)) => {
            let mut s = top.to_string();
            for c in rest.iter().rev() {
                s.push_str(&format!("{c:09}"));
            }
            s
        }
    };
    let scale = scale as usize;
    if scale > 0 {
        if digits.len() <= scale {
            digits = format!("{}{digits}", "0".repeat(scale + 1 - digits.len()));
        }
        digits.insert(digits.len() - scale, '.');
    }
    if neg {
        digits.insert(0, '-');
    }
    digits
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::decode::decimal_unscaled_bytes;

    #[test]
    fn unscaled_round_trips_through_the_decoders_bytes() {
        for (text, scale) in [
            ("0", 0),
            ("0.00", 2),
            ("1234.56", 2),
            ("-0.01", 2),
            ("-12345.6789012345", 10),
            ("3.141592653589793238462643383280", 30),
            ("-99999999999999999999999999999999999.999999999999999999999999999999", 30),
            ("99999999999999999999999999999999999.999999999999999999999999999999", 30),
            ("128", 0),
            ("-128", 0),
            ("-129", 0),
            ("255", 0),
            ("1000000000", 0),
        ] {
            let b = decimal_unscaled_bytes(text, Some(scale)).unwrap();
            assert_eq!(unscaled_to_text(&b, scale as u32), text, "{b:?}");
        }
    }

    #[test]
    fn unsigned_bigint_bytes_are_java_biginteger_bytes() {
        // the oracle's modes_string run: 0 → AA==, 2^64-1 → AP//////////, 1234567890123 → AR9x+wTL
        let b64 = |u: u64| base64::engine::general_purpose::STANDARD.encode(unsigned_bytes(u));
        assert_eq!(b64(0), "AA==");
        assert_eq!(b64(u64::MAX), "AP//////////");
        assert_eq!(b64(u64::MAX - 1), "AP/////////+");
        assert_eq!(b64(1_234_567_890_123), "AR9x+wTL");
        assert_eq!(unsigned_bytes(127), [127]);
        assert_eq!(unsigned_bytes(128), [0, 128]);
    }

    #[test]
    fn iso_and_connect_times() {
        let t = |us: i64, s: Shape| reshape(Value::Int(us), s).unwrap();
        assert_eq!(t(45_296_789_012, Shape::IsoTime), Value::str("12:34:56.789012Z"));
        assert_eq!(t(45_296_000_000, Shape::IsoTime), Value::str("12:34:56Z"));
        assert_eq!(t(0, Shape::IsoTime), Value::str("00:00:00Z"));
        assert_eq!(t(-1_000_000, Shape::IsoTime), Value::Null);
        assert_eq!(t(3_020_399_000_000, Shape::ConnectTime), Value::Null);
        assert_eq!(t(45_296_789_012, Shape::ConnectTime), Value::Int(45_296_789));
        assert_eq!(t(19782, Shape::IsoDate), Value::str("2024-02-29Z"));
        assert_eq!(t(-354_285, Shape::IsoDate), Value::str("1000-01-01Z"));
        assert_eq!(t(-1, Shape::IsoDateTime { micros: true }), Value::str("1969-12-31T23:59:59.999999Z"));
        assert_eq!(t(1_709_210_096_789, Shape::IsoDateTime { micros: false }), Value::str("2024-02-29T12:34:56.789Z"));
        assert_eq!(t(-1, Shape::MicrosToMillis), Value::Int(-1));
        assert!(reshape(Value::str("x"), Shape::IsoDate).is_err());
    }
}
