//! Snapshot result-set values → the Connect values the binlog decoder produces for the same data.
//!
//! Rows are read with the binary protocol (prepared statements), so numbers, dates and times arrive
//! typed exactly as in a rows event, and text arrives as the column's own bytes (the reader sessions
//! run with `character_set_results = NULL`, so the server does not convert): almost every value can
//! go through [`decode::decode_value`] unchanged, which keeps the two paths equal by construction.
//! Only four things differ on the wire, and they are converted here:
//! * TIMESTAMP arrives as a calendar date-time in the session time zone (the readers set UTC), not
//!   as epoch seconds; Debezium's snapshot prints it with the fraction's trailing zeros removed
//!   (`1970-01-01T00:00:01Z` for a TIMESTAMP(6) `…01.000000`, where the binlog path keeps six
//!   digits — the oracle's golden records show both);
//! * YEAR goes through Debezium's snapshot time adjuster: two-digit values 0–69 → 2000–2069,
//!   70–99 → 1970–1999 (so YEAR 0000 reads as 2000 in a snapshot, 1900 from the binlog);
//! * ENUM and SET arrive as their labels rather than an index or a bitmask;
//! * MariaDB's UUID, INET4 and INET6 arrive as text rather than their 16/4/16 stored bytes.
//!
//! Failure: a value of an unexpected shape returns a [`ValueError`]; nothing panics.

use mysql_common::binlog::value::BinlogValue;
use mysql_common::value::Value as MyValue;

use crate::connect::Value;
use crate::decode::{self, days_from_civil, ValueError};
use crate::schema::{Column, ColumnKind, Table};

/// Converts one result-set value of `col`.
pub fn snapshot_value(table: &Table, col: &Column, v: MyValue) -> Result<Value, ValueError> {
    match (col.kind, v) {
        (_, MyValue::NULL) => Ok(Value::Null),
        (ColumnKind::Timestamp, MyValue::Date(y, mo, d, h, mi, s, us)) => {
            if y == 0 || mo == 0 || d == 0 {
                return Ok(Value::Null);
            }
            let days = days_from_civil(i64::from(y), u32::from(mo), u32::from(d));
            let secs = days * 86_400 + i64::from(h) * 3600 + i64::from(mi) * 60 + i64::from(s);
            Ok(Value::String(format_iso_timestamp(secs, i64::from(us))))
        }
        (ColumnKind::Year, MyValue::Int(y)) => Ok(Value::Int(adjust_year(y))),
        (ColumnKind::Year, MyValue::UInt(y)) => Ok(Value::Int(adjust_year(y as i64))),
        (ColumnKind::Enum | ColumnKind::Set, MyValue::Bytes(b)) => {
            Ok(Value::String(decode::decode_text(table, col, &b)?))
        }
        // The server sends MariaDB's UUID/INET4/INET6 as their text form.
        (ColumnKind::Uuid | ColumnKind::Inet4 | ColumnKind::Inet6, MyValue::Bytes(b)) => {
            String::from_utf8(b).map(Value::String).map_err(|e| ValueError::Invalid {
                what: "UUID/INET text",
                detail: String::from_utf8_lossy(e.as_bytes()).into_owned(),
            })
        }
        (_, v) => decode::decode_value(table, col, &BinlogValue::Value(v)),
    }
}

/// Debezium's default time adjuster (`enable.time.adjuster=true`) for two-digit years.
fn adjust_year(y: i64) -> i64 {
    match y {
        0..=69 => y + 2000,
        70..=99 => y + 1900,
        _ => y,
    }
}

/// ISO-8601 UTC text as Java's `ISO_OFFSET_DATE_TIME` prints it: the fraction only when it is not
/// zero, without trailing zeros.
pub fn format_iso_timestamp(secs: i64, micros: i64) -> String {
    let mut s = decode::format_zoned_timestamp(secs, micros, 6);
    s.pop(); // 'Z'
    while s.ends_with('0') && s.contains('.') {
        s.pop();
    }
    if s.ends_with('.') {
        s.pop();
    }
    s.push('Z');
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn iso_timestamps_drop_trailing_zeros() {
        assert_eq!(format_iso_timestamp(1, 0), "1970-01-01T00:00:01Z");
        assert_eq!(format_iso_timestamp(1, 1), "1970-01-01T00:00:01.000001Z");
        assert_eq!(format_iso_timestamp(1, 780_000), "1970-01-01T00:00:01.78Z");
        assert_eq!(format_iso_timestamp(2147483647, 999_999), "2038-01-19T03:14:07.999999Z");
    }

    #[test]
    fn years_are_adjusted_like_debezium() {
        assert_eq!(adjust_year(0), 2000);
        assert_eq!(adjust_year(69), 2069);
        assert_eq!(adjust_year(70), 1970);
        assert_eq!(adjust_year(1901), 1901);
    }
}
