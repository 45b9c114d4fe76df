//! Kafka Connect schemas of a table's keys and row values, as Debezium 3.6.3 builds them.
//!
//! * key: struct `<prefix>.<db>.<table>.Key` (required, no version) with the primary-key
//!   columns in key order; `None` when the table has no primary key (Debezium sends a null key);
//! * value: struct `<prefix>.<db>.<table>.Value` (optional, no version) with every column in
//!   table order — the schema of the envelope's `before`/`after` fields.
//!
//! Each column's schema follows the oracle README's type-mapping table for the default modes
//! (`decimal.handling.mode=precise`, `time.precision.mode=adaptive_time_microseconds`,
//! `bigint.unsigned.handling.mode=long`, `binary.handling.mode=bytes`); [`SchemaOptions`] carries
//! the other modes, implemented from Debezium's documentation. `optional` is the column's
//! nullability. A column `DEFAULT` becomes the schema default converted to the schema's type
//! (`DEFAULT 0` on DOUBLE → `0.0`, `DEFAULT FALSE` on BOOLEAN → `false`, strings as is); `DEFAULT
//! NULL`, unparseable literals and expressions give no default. `CURRENT_TIMESTAMP` on a NOT
//! NULL TIMESTAMP/DATETIME gives the epoch (as Debezium does); TIMESTAMP literals are read as UTC.
//!
//! MariaDB types Debezium cannot parse (our choice, stable from now on): `UUID` → string named
//! `io.debezium.data.Uuid` (version 1, the name Debezium uses for PostgreSQL's uuid) holding the
//! canonical text form; `INET4`/`INET6` → plain string with the server's text form.
//! `VECTOR` → array of float32 named `io.debezium.data.FloatVector`.

use std::sync::Arc;

use crate::columns::{ColumnPlan, ColumnSettings};
use crate::connect::{Field, Schema, SchemaType, Value};

use super::{Column, ColumnKind, Table};

/// `decimal.handling.mode`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum DecimalHandling {
    #[default]
    Precise,
    Double,
    String,
}

/// `time.precision.mode`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum TimePrecision {
    #[default]
    AdaptiveTimeMicroseconds,
    Adaptive,
    Connect,
    /// `isostring`: DATE, TIME and DATETIME as ISO-8601 text
    IsoString,
    /// `microseconds`: every DATETIME in microseconds
    Microseconds,
    /// `nanoseconds`: TIME and DATETIME in nanoseconds
    Nanoseconds,
}

/// `bigint.unsigned.handling.mode`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum BigIntUnsigned {
    #[default]
    Long,
    Precise,
}

/// `binary.handling.mode`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum BinaryHandling {
    #[default]
    Bytes,
    Base64,
    Base64UrlSafe,
    Hex,
}

/// The converter settings that shape column schemas. `Default` = Debezium's defaults.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct SchemaOptions {
    pub decimal: DecimalHandling,
    pub time_precision: TimePrecision,
    pub bigint_unsigned: BigIntUnsigned,
    pub binary: BinaryHandling,
}

/// `<prefix>.<db>.<table>.Key`, or None without a primary key: the connector's schema with no
/// column option set (`columns::ColumnPlan` builds both).
pub fn key_schema(prefix: &str, table: &Table, opts: &SchemaOptions) -> Option<Arc<Schema>> {
    let settings = ColumnSettings { options: *opts, ..ColumnSettings::default() };
    ColumnPlan::new(table, &settings).key_schema(prefix, table, &settings)
}

/// `<prefix>.<db>.<table>.Value` (optional, as used for `before`/`after`), with no column option set.
pub fn value_schema(prefix: &str, table: &Table, opts: &SchemaOptions) -> Arc<Schema> {
    let settings = ColumnSettings { options: *opts, ..ColumnSettings::default() };
    ColumnPlan::new(table, &settings).value_schema(prefix, table, &settings)
}

fn semantic(ty: SchemaType, name: &str) -> Schema {
    Schema::new(ty).named(name).version(1)
}

fn decimal_schema(scale: i32, precision: Option<i32>, opts: &SchemaOptions) -> Schema {
    match opts.decimal {
        DecimalHandling::Precise => {
            let s =
                semantic(SchemaType::Bytes, "org.apache.kafka.connect.data.Decimal").param("scale", scale.to_string());
            match precision {
                Some(p) => s.param("connect.decimal.precision", p.to_string()),
                None => s,
            }
        }
        DecimalHandling::Double => Schema::new(SchemaType::Float64),
        DecimalHandling::String => Schema::new(SchemaType::String),
    }
}

fn geometry_schema(point: bool) -> Schema {
    let bytes = Schema::new(SchemaType::Bytes);
    let srid = Schema::new(SchemaType::Int32).optional().arc();
    if point {
        let dbl = Schema::new(SchemaType::Float64).arc();
        let fields = vec![
            Field::new("x", dbl.clone()),
            Field::new("y", dbl),
            Field::new("wkb", bytes.optional().arc()),
            Field::new("srid", srid),
        ];
        semantic(SchemaType::Struct(fields), "io.debezium.data.geometry.Point").doc("Geometry (POINT)")
    } else {
        let fields = vec![Field::new("wkb", bytes.arc()), Field::new("srid", srid)];
        semantic(SchemaType::Struct(fields), "io.debezium.data.geometry.Geometry").doc("Geometry")
    }
}

/// The schema of one column (type, name, parameters, optional, default).
pub fn column_schema(col: &Column, opts: &SchemaOptions) -> Schema {
    use ColumnKind as K;
    let fsp = col.length.unwrap_or(0);
    let s = match col.kind {
        K::Bool => Schema::new(SchemaType::Boolean),
        K::Bit if col.length.unwrap_or(1) <= 1 => Schema::new(SchemaType::Boolean),
        K::Bit => {
            semantic(SchemaType::Bytes, "io.debezium.data.Bits").param("length", col.length.unwrap_or(1).to_string())
        }
        K::TinyInt => Schema::new(SchemaType::Int16),
        K::SmallInt => Schema::new(if col.unsigned { SchemaType::Int32 } else { SchemaType::Int16 }),
        K::MediumInt => Schema::new(SchemaType::Int32),
        K::Int => Schema::new(if col.unsigned { SchemaType::Int64 } else { SchemaType::Int32 }),
        K::BigInt if col.unsigned && opts.bigint_unsigned == BigIntUnsigned::Precise => {
            decimal_schema(0, Some(20), &SchemaOptions { decimal: DecimalHandling::Precise, ..*opts })
        }
        K::BigInt => Schema::new(SchemaType::Int64),
        K::Decimal => decimal_schema(col.scale.unwrap_or(0), col.length, opts),
        K::Float => Schema::new(SchemaType::Float32),
        K::Double => Schema::new(SchemaType::Float64),
        K::Date if opts.time_precision == TimePrecision::Connect => {
            semantic(SchemaType::Int32, "org.apache.kafka.connect.data.Date")
        }
        K::Date if opts.time_precision == TimePrecision::IsoString => {
            semantic(SchemaType::String, "io.debezium.time.IsoDate")
        }
        K::Date => semantic(SchemaType::Int32, "io.debezium.time.Date"),
        K::Time => match opts.time_precision {
            TimePrecision::Connect => semantic(SchemaType::Int32, "org.apache.kafka.connect.data.Time"),
            TimePrecision::IsoString => semantic(SchemaType::String, "io.debezium.time.IsoTime"),
            TimePrecision::Nanoseconds => semantic(SchemaType::Int64, "io.debezium.time.NanoTime"),
            TimePrecision::Adaptive if fsp <= 3 => semantic(SchemaType::Int32, "io.debezium.time.Time"),
            _ => semantic(SchemaType::Int64, "io.debezium.time.MicroTime"),
        },
        K::DateTime => match opts.time_precision {
            TimePrecision::Connect => semantic(SchemaType::Int64, "org.apache.kafka.connect.data.Timestamp"),
            TimePrecision::IsoString => semantic(SchemaType::String, "io.debezium.time.IsoTimestamp"),
            TimePrecision::Microseconds => semantic(SchemaType::Int64, "io.debezium.time.MicroTimestamp"),
            TimePrecision::Nanoseconds => semantic(SchemaType::Int64, "io.debezium.time.NanoTimestamp"),
            _ if fsp <= 3 => semantic(SchemaType::Int64, "io.debezium.time.Timestamp"),
            _ => semantic(SchemaType::Int64, "io.debezium.time.MicroTimestamp"),
        },
        K::Timestamp => semantic(SchemaType::String, "io.debezium.time.ZonedTimestamp"),
        K::Year => semantic(SchemaType::Int32, "io.debezium.time.Year"),
        K::Char | K::VarChar | K::TinyText | K::Text | K::MediumText | K::LongText => Schema::new(SchemaType::String),
        K::Enum => semantic(SchemaType::String, "io.debezium.data.Enum").param("allowed", col.enum_values.join(",")),
        K::Set => semantic(SchemaType::String, "io.debezium.data.EnumSet").param("allowed", col.enum_values.join(",")),
        K::Binary | K::VarBinary | K::TinyBlob | K::Blob | K::MediumBlob | K::LongBlob => match opts.binary {
            BinaryHandling::Bytes => Schema::new(SchemaType::Bytes),
            _ => Schema::new(SchemaType::String),
        },
        K::Json => semantic(SchemaType::String, "io.debezium.data.Json"),
        K::Point => geometry_schema(true),
        K::Geometry
        | K::LineString
        | K::Polygon
        | K::MultiPoint
        | K::MultiLineString
        | K::MultiPolygon
        | K::GeometryCollection => geometry_schema(false),
        K::Uuid => semantic(SchemaType::String, "io.debezium.data.Uuid"),
        K::Inet4 | K::Inet6 => Schema::new(SchemaType::String),
        K::Vector => {
            semantic(SchemaType::Array(Schema::new(SchemaType::Float32).arc()), "io.debezium.data.FloatVector")
        }
    };
    let mut s = if col.optional { s.optional() } else { s };
    // under a non-default handling mode the default is the default mode's, reshaped like values
    let default = match crate::decode::modes::Shape::of(col, opts) {
        None => default_value(col, &s),
        Some(shape) => column_schema(col, &SchemaOptions::default()).default.and_then(|d| shape.reshape(d).ok()),
    };
    if let Some(d) = default {
        s = s.default_value(d);
    }
    s
}

fn is_current_timestamp(expr: &str) -> bool {
    let e = expr.trim().to_ascii_uppercase();
    ["CURRENT_TIMESTAMP", "NOW", "LOCALTIME", "LOCALTIMESTAMP"].iter().any(|f| e.starts_with(f))
}

/// The column's DEFAULT as a value of `schema`'s type, if it has a usable literal default.
pub fn default_value(col: &Column, schema: &Schema) -> Option<Value> {
    use ColumnKind as K;
    let expr = col.default_expression.as_deref()?;
    let now = is_current_timestamp(expr);
    match (&schema.ty, col.kind) {
        (SchemaType::Boolean, K::Bit) => parse_bits(expr).map(|b| Value::Boolean(b.iter().any(|&x| x != 0))),
        (SchemaType::Boolean, _) => match expr.to_ascii_uppercase().as_str() {
            "TRUE" | "1" => Some(Value::Boolean(true)),
            "FALSE" | "0" => Some(Value::Boolean(false)),
            _ => None,
        },
        (SchemaType::Bytes, K::Bit) => parse_bits(expr).map(Value::Bytes),
        (SchemaType::Bytes, K::Decimal | K::BigInt) => decimal_bytes(expr, col.scale.unwrap_or(0)).map(Value::Bytes),
        (SchemaType::Bytes, _) => Some(Value::Bytes(expr.as_bytes().to_vec())),
        (SchemaType::Int16 | SchemaType::Int32 | SchemaType::Int64, K::Date) => parse_date(expr).map(Value::Int),
        (SchemaType::Int32 | SchemaType::Int64, K::Time) => parse_time_micros(expr).map(|us| {
            Value::Int(if schema.name.as_deref() == Some("io.debezium.time.MicroTime") { us } else { us / 1000 })
        }),
        (SchemaType::Int64, K::DateTime) if now => (!col.optional).then_some(Value::Int(0)),
        (SchemaType::Int64, K::DateTime) => parse_datetime_micros(expr).map(|us| {
            Value::Int(if schema.name.as_deref() == Some("io.debezium.time.MicroTimestamp") {
                us
            } else {
                us.div_euclid(1000)
            })
        }),
        (SchemaType::String, K::Timestamp) if now => (!col.optional).then(|| Value::str("1970-01-01T00:00:00Z")),
        (SchemaType::String, K::Timestamp) => parse_datetime_micros(expr).map(|us| Value::String(zoned(us))),
        (SchemaType::Int16 | SchemaType::Int32 | SchemaType::Int64, _) => {
            let v = expr
                .trim()
                .parse::<i64>()
                .ok()
                .or_else(|| expr.trim().parse::<f64>().ok().map(|f| f.round() as i64))?;
            Some(Value::Int(v))
        }
        (SchemaType::Float32, _) => expr.trim().parse::<f32>().ok().map(Value::Float32),
        (SchemaType::Float64, _) => expr.trim().parse::<f64>().ok().map(Value::Float64),
        (SchemaType::String, K::Decimal) => Some(Value::str(expr)),
        (SchemaType::String, _) => Some(Value::str(expr)),
        _ => None,
    }
}

/// `b'101'` / `0x1F` / a decimal number → little-endian bytes (as Debezium encodes BIT values).
fn parse_bits(expr: &str) -> Option<Vec<u8>> {
    let e = expr.trim();
    let value: u64 =
        if let Some(b) = e.strip_prefix("b'").or_else(|| e.strip_prefix("B'")).and_then(|s| s.strip_suffix('\'')) {
            u64::from_str_radix(b, 2).ok()?
        } else if let Some(h) = e.strip_prefix("0x") {
            u64::from_str_radix(h, 16).ok()?
        } else {
            e.parse().ok()?
        };
    let mut bytes = value.to_le_bytes().to_vec();
    while bytes.len() > 1 && bytes.last() == Some(&0) {
        bytes.pop();
    }
    Some(bytes)
}

/// A decimal literal → Connect Decimal bytes (big-endian two's complement of the unscaled value,
/// minimal length like Java's `BigInteger.toByteArray`), by the same code that encodes row values.
fn decimal_bytes(expr: &str, scale: i32) -> Option<Vec<u8>> {
    let scale = scale.max(0) as usize;
    let e = expr.trim();
    // A DDL literal may carry more fraction digits than the column keeps: they are cut off.
    let e = match e.split_once('.') {
        Some((int, frac)) if frac.len() > scale => format!("{int}.{}", frac.get(..scale)?),
        _ => e.to_string(),
    };
    crate::decode::decimal_unscaled_bytes(&e, Some(scale)).ok()
}

/// Days from 1970-01-01 to a proleptic Gregorian date.
pub(crate) fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146097 + doe - 719468
}

fn civil_from_days(z: i64) -> (i64, i64, i64) {
    let z = z + 719468;
    let era = z.div_euclid(146097);
    let doe = z - era * 146097;
    let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    (yoe + era * 400 + i64::from(m <= 2), m, d)
}

fn parse_date(s: &str) -> Option<i64> {
    let mut it = s.trim().splitn(3, '-');
    let (y, m, d) =
        (it.next()?.parse::<i64>().ok()?, it.next()?.parse::<i64>().ok()?, it.next()?.get(..2)?.parse::<i64>().ok()?);
    if !(1..=9999).contains(&y) || !(1..=12).contains(&m) || !(1..=31).contains(&d) {
        return None;
    }
    Some(days_from_civil(y, m, d))
}

/// `[-]HH:MM:SS[.ffffff]` → microseconds.
fn parse_time_micros(s: &str) -> Option<i64> {
    let s = s.trim();
    let (neg, s) = match s.strip_prefix('-') {
        Some(r) => (true, r),
        None => (false, s),
    };
    let (hms, frac) = s.split_once('.').unwrap_or((s, ""));
    if !frac.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let mut parts = hms.split(':');
    let h: i64 = parts.next()?.parse().ok()?;
    let m: i64 = parts.next().unwrap_or("0").parse().ok()?;
    let sec: i64 = parts.next().unwrap_or("0").parse().ok()?;
    let mut f = frac.to_string();
    f.truncate(6);
    while f.len() < 6 {
        f.push('0');
    }
    if !(0..=10_000).contains(&h) || !(0..60).contains(&m) || !(0..60).contains(&sec) {
        return None;
    }
    let us = ((h * 60 + m) * 60 + sec) * 1_000_000 + f.parse::<i64>().ok()?;
    Some(if neg { -us } else { us })
}

/// `YYYY-MM-DD[ HH:MM:SS[.ffffff]]` → microseconds since the epoch (UTC).
fn parse_datetime_micros(s: &str) -> Option<i64> {
    let s = s.trim();
    let (date, time) = s.split_once([' ', 'T']).unwrap_or((s, "00:00:00"));
    Some(parse_date(date)? * 86_400_000_000 + parse_time_micros(time)?)
}

/// ISO-8601 UTC text as `ZonedTimestamp` prints it (fraction only when non-zero).
fn zoned(us: i64) -> String {
    let (days, rem) = (us.div_euclid(86_400_000_000), us.rem_euclid(86_400_000_000));
    let (y, m, d) = civil_from_days(days);
    let secs = rem / 1_000_000;
    let frac = rem % 1_000_000;
    let mut out = format!("{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}", secs / 3600, secs / 60 % 60, secs % 60);
    if frac != 0 {
        let f = format!("{frac:06}");
        out.push('.');
        out.push_str(f.trim_end_matches('0'));
    }
    out.push('Z');
    out
}

#[cfg(test)]
mod tests {
    use super::decimal_bytes;

    #[test]
    fn decimal_defaults_are_twos_complement_of_the_unscaled_value() {
        assert_eq!(decimal_bytes("1.25", 2), Some(vec![0x7D])); // 125
        assert_eq!(decimal_bytes("-0.5", 1), Some(vec![0xFB])); // -5
        assert_eq!(decimal_bytes("1.239", 2), Some(vec![0x7B])); // cut to 1.23 = 123
        assert_eq!(decimal_bytes("128", 0), Some(vec![0x00, 0x80])); // sign byte kept
        assert_eq!(decimal_bytes("abc", 0), None);
        // Wider than i128 (40 digits): 10^40 = 0x1D6329F1C35CA4BFABB9F5610000000000
        let big = decimal_bytes("10000000000000000000000000000000000000000", 0).expect("65-digit decimals fit");
        assert_eq!(big.first(), Some(&0x1D));
        assert_eq!(big.len(), 17);
    }
}
