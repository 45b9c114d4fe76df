//! convert: folded change rows → one Arrow `RecordBatch` for a Hudi upsert.
//!
//! Type mapping (Debezium/Connect → Arrow → Hudi/Avro), chosen so every value survives and reads
//! back with the same meaning:
//!
//! | Debezium column | Arrow | note |
//! |---|---|---|
//! | boolean, int8/16/32, int64, float32/64, string, bytes | Boolean, Int32, Int64, Float32/64, Utf8, Binary | TINYINT/SMALLINT widen to Int32 (what Hudi's Avro reads back) |
//! | `Decimal` precision ≤ 38 | Decimal128(p, s) | |
//! | `Decimal` precision > 38 | Utf8 (plain decimal text) | Hudi reads decimals up to 38 digits |
//! | `io.debezium.time.Date` | Date32 | |
//! | `Timestamp` / `MicroTimestamp` / `NanoTimestamp` (DATETIME) | Timestamp(ms / µs / µs, no zone) | local-timestamp, as MySQL stores it |
//! | `ZonedTimestamp` (TIMESTAMP) | Timestamp(µs, UTC) | |
//! | `Time` / `MicroTime` (TIME) | Int32 ms / Int64 µs | hudi-rs writes no time type |
//! | Json, Enum, EnumSet, Year, Bits | Utf8, Utf8, Utf8, Int32, Binary | |
//! | geometry structs | Struct (wkb Binary, srid Int32, …) | |
//!
//! After the data columns come HoodieStreamer's Debezium metadata columns
//! ([`META_COLUMNS`]), so the tables are interchangeable with HoodieStreamer's; `_event_seq` is
//! the ordering field.

use std::sync::Arc;

use arrow::array::{
    ArrayRef, BinaryBuilder, BooleanBuilder, Date32Builder, Decimal128Builder, Float32Builder, Float64Builder,
    Int32Builder, Int64Builder, StringBuilder, StructArray, TimestampMicrosecondBuilder, TimestampMillisecondBuilder,
};
use arrow::buffer::NullBuffer;
use arrow::datatypes::{DataType, Field, Fields, Schema, TimeUnit};
use arrow::record_batch::RecordBatch;

use crate::config::PartitionSpec;
use crate::decode::{Cell, Change, Column, Columns, Kind};

/// The ordering (precombine) field.
pub const ORDERING_FIELD: &str = "_event_seq";

/// HoodieStreamer's Debezium metadata columns (MySQL flavour) plus `_event_row`.
pub const META_COLUMNS: [&str; 7] = [
    "_change_operation_type",
    "_upstream_event_processed_ts_ms",
    "_event_origin_ts_ms",
    "_event_bin_file",
    "_event_pos",
    "_event_row",
    "_event_seq",
];

pub fn arrow_type(kind: &Kind) -> DataType {
    match kind {
        Kind::Bool => DataType::Boolean,
        Kind::Int32 => DataType::Int32,
        Kind::Int64 => DataType::Int64,
        Kind::Float32 => DataType::Float32,
        Kind::Float64 => DataType::Float64,
        Kind::Utf8 | Kind::DecimalText { .. } => DataType::Utf8,
        Kind::Binary => DataType::Binary,
        Kind::Decimal { precision, scale } => DataType::Decimal128(*precision, *scale),
        Kind::Date => DataType::Date32,
        Kind::TimestampMillis => DataType::Timestamp(TimeUnit::Millisecond, None),
        Kind::TimestampMicros | Kind::TimestampNanos => DataType::Timestamp(TimeUnit::Microsecond, None),
        Kind::ZonedTimestamp => DataType::Timestamp(TimeUnit::Microsecond, Some("UTC".into())),
        Kind::Struct(cols) => DataType::Struct(fields(cols)),
    }
}

fn fields(cols: &[Column]) -> Fields {
    cols.iter().map(|c| Field::new(&c.name, arrow_type(&c.kind), c.nullable)).collect()
}

/// The Arrow schema of a table version: data columns, the day column of a `:day` partition, then
/// the metadata columns.
pub fn arrow_schema(columns: &Columns, partition: Option<&PartitionSpec>) -> Schema {
    let mut f: Vec<Field> =
        columns.fields.iter().map(|c| Field::new(&c.name, arrow_type(&c.kind), c.nullable)).collect();
    if let Some(p) = partition.filter(|p| p.by_day) {
        f.push(Field::new(p.field(), DataType::Utf8, true));
    }
    f.push(Field::new("_change_operation_type", DataType::Utf8, false));
    f.push(Field::new("_upstream_event_processed_ts_ms", DataType::Int64, false));
    f.push(Field::new("_event_origin_ts_ms", DataType::Int64, false));
    f.push(Field::new("_event_bin_file", DataType::Utf8, false));
    f.push(Field::new("_event_pos", DataType::Int64, false));
    f.push(Field::new("_event_row", DataType::Int32, false));
    f.push(Field::new(ORDERING_FIELD, DataType::Utf8, false));
    Schema::new(f)
}

/// The upsert batch of `changes` (all with `columns`). Errors name the column.
pub fn to_record_batch(
    columns: &Columns,
    changes: &[Change],
    partition: Option<&PartitionSpec>,
) -> Result<RecordBatch, String> {
    let schema = Arc::new(arrow_schema(columns, partition));
    let mut arrays: Vec<ArrayRef> = Vec::with_capacity(schema.fields().len());
    for (i, col) in columns.fields.iter().enumerate() {
        let cells: Vec<&Cell> = changes.iter().map(|c| &c.row[i]).collect();
        arrays.push(column(&col.kind, &cells).map_err(|e| format!("column `{}`: {e}", col.name))?);
    }
    if let Some(p) = partition.filter(|p| p.by_day) {
        let i =
            columns.index_of(&p.column).ok_or_else(|| format!("partition column `{}` is not a column", p.column))?;
        let kind = &columns.fields[i].kind;
        let mut days = StringBuilder::new();
        for c in changes {
            match &c.row[i] {
                Cell::Null => days.append_null(),
                cell => {
                    days.append_value(utc_day(kind, cell).map_err(|e| format!("partition column `{}`: {e}", p.column))?)
                }
            }
        }
        arrays.push(Arc::new(days.finish()));
    }
    let mut op = StringBuilder::new();
    let mut processed = Int64Builder::new();
    let mut origin = Int64Builder::new();
    let mut file = StringBuilder::new();
    let mut pos = Int64Builder::new();
    let mut row = Int32Builder::new();
    let mut seq = StringBuilder::new();
    for c in changes {
        op.append_value(c.op.code());
        processed.append_value(c.ts_ms);
        origin.append_value(c.source.ts_ms);
        file.append_value(&c.source.file);
        pos.append_value(c.source.pos);
        row.append_value(c.source.row);
        seq.append_value(c.source.seq());
    }
    arrays.push(Arc::new(op.finish()));
    arrays.push(Arc::new(processed.finish()));
    arrays.push(Arc::new(origin.finish()));
    arrays.push(Arc::new(file.finish()));
    arrays.push(Arc::new(pos.finish()));
    arrays.push(Arc::new(row.finish()));
    arrays.push(Arc::new(seq.finish()));
    RecordBatch::try_new(schema, arrays).map_err(|e| e.to_string())
}

fn column(kind: &Kind, cells: &[&Cell]) -> Result<ArrayRef, String> {
    macro_rules! build {
        ($builder:expr, $conv:expr) => {{
            let mut b = $builder;
            for &c in cells {
                match c {
                    Cell::Null => b.append_null(),
                    c => b.append_value($conv(c)?),
                }
            }
            Arc::new(b.finish()) as ArrayRef
        }};
    }
    Ok(match kind {
        Kind::Bool => build!(BooleanBuilder::new(), |c: &Cell| match c {
            Cell::Bool(b) => Ok::<_, String>(*b),
            Cell::Int(i) => Ok(*i != 0),
            other => Err(format!("{other:?} is not a boolean")),
        }),
        Kind::Int32 => {
            build!(Int32Builder::new(), |c: &Cell| int(c).and_then(|i| i32::try_from(i).map_err(|e| e.to_string())))
        }
        Kind::Int64 => build!(Int64Builder::new(), int),
        Kind::Float32 => build!(Float32Builder::new(), |c: &Cell| float(c).map(|f| f as f32)),
        Kind::Float64 => build!(Float64Builder::new(), float),
        Kind::Utf8 => build!(StringBuilder::new(), |c: &Cell| match c {
            Cell::Str(s) => Ok::<_, String>(s.clone()),
            Cell::Int(i) => Ok(i.to_string()),
            Cell::Float(f) => Ok(f.to_string()),
            Cell::Bool(b) => Ok(b.to_string()),
            other => Err(format!("{other:?} is not text")),
        }),
        Kind::Binary => build!(BinaryBuilder::new(), |c: &Cell| match c {
            Cell::Bytes(b) => Ok::<_, String>(b.clone()),
            Cell::Str(s) => Ok(s.as_bytes().to_vec()),
            other => Err(format!("{other:?} is not bytes")),
        }),
        Kind::Decimal { precision, scale } => {
            let b = Decimal128Builder::new().with_precision_and_scale(*precision, *scale).map_err(|e| e.to_string())?;
            build!(b, |c: &Cell| match c {
                Cell::Bytes(b) => unscaled_i128(b),
                other => Err(format!("{other:?} is not a decimal")),
            })
        }
        Kind::DecimalText { scale } => build!(StringBuilder::new(), |c: &Cell| match c {
            Cell::Bytes(b) => Ok::<_, String>(decimal_text(b, *scale)),
            other => Err(format!("{other:?} is not a decimal")),
        }),
        Kind::Date => {
            build!(Date32Builder::new(), |c: &Cell| int(c).and_then(|i| i32::try_from(i).map_err(|e| e.to_string())))
        }
        Kind::TimestampMillis => build!(TimestampMillisecondBuilder::new(), int),
        Kind::TimestampMicros => build!(TimestampMicrosecondBuilder::new(), int),
        Kind::TimestampNanos => {
            build!(TimestampMicrosecondBuilder::new(), |c: &Cell| int(c).map(|n| n.div_euclid(1000)))
        }
        Kind::ZonedTimestamp => build!(TimestampMicrosecondBuilder::new().with_timezone("UTC"), |c: &Cell| match c {
            Cell::Str(s) => chrono::DateTime::parse_from_rfc3339(s)
                .map(|t| t.timestamp_micros())
                .map_err(|e| format!("`{s}` is not an ISO-8601 timestamp: {e}")),
            other => Err(format!("{other:?} is not a zoned timestamp")),
        }),
        Kind::Struct(cols) => {
            let mut children = Vec::with_capacity(cols.len());
            for (i, col) in cols.iter().enumerate() {
                let sub: Vec<&Cell> = cells
                    .iter()
                    .map(|c| match c {
                        Cell::Struct(v) => v.get(i).unwrap_or(&Cell::Null),
                        _ => &Cell::Null,
                    })
                    .collect();
                children.push(column(&col.kind, &sub).map_err(|e| format!("field `{}`: {e}", col.name))?);
            }
            let nulls = NullBuffer::from(cells.iter().map(|c| !matches!(c, Cell::Null)).collect::<Vec<bool>>());
            Arc::new(StructArray::try_new(fields(cols), children, Some(nulls)).map_err(|e| e.to_string())?)
        }
    })
}

/// The UTC day (`YYYY-MM-DD`) of a date, a timestamp, or an integer of Unix seconds.
fn utc_day(kind: &Kind, cell: &Cell) -> Result<String, String> {
    let micros = match kind {
        Kind::Date => int(cell)?.checked_mul(86_400_000_000),
        Kind::TimestampMillis => int(cell)?.checked_mul(1000),
        Kind::TimestampMicros => Some(int(cell)?),
        Kind::TimestampNanos => Some(int(cell)?.div_euclid(1000)),
        Kind::ZonedTimestamp => match cell {
            Cell::Str(s) => Some(
                chrono::DateTime::parse_from_rfc3339(s)
                    .map_err(|e| format!("`{s}` is not an ISO-8601 timestamp: {e}"))?
                    .timestamp_micros(),
            ),
            other => return Err(format!("{other:?} is not a zoned timestamp")),
        },
        Kind::Int32 | Kind::Int64 => int(cell)?.checked_mul(1_000_000),
        other => return Err(format!("a {other:?} column has no day")),
    };
    micros
        .and_then(chrono::DateTime::from_timestamp_micros)
        .map(|t| t.format("%Y-%m-%d").to_string())
        .ok_or_else(|| format!("{cell:?} is out of range for a day"))
}

fn int(c: &Cell) -> Result<i64, String> {
    match c {
        Cell::Int(i) => Ok(*i),
        Cell::Bool(b) => Ok(i64::from(*b)),
        other => Err(format!("{other:?} is not an integer")),
    }
}

fn float(c: &Cell) -> Result<f64, String> {
    match c {
        Cell::Float(f) => Ok(*f),
        Cell::Int(i) => Ok(*i as f64),
        other => Err(format!("{other:?} is not a number")),
    }
}

/// A big-endian two's-complement unscaled decimal (Connect's `Decimal` bytes) as i128.
fn unscaled_i128(b: &[u8]) -> Result<i128, String> {
    if b.len() > 16 {
        return Err(format!("{}-byte decimal does not fit 38 digits", b.len()));
    }
    let neg = b.first().is_some_and(|x| x & 0x80 != 0);
    let mut buf = if neg { [0xffu8; 16] } else { [0u8; 16] };
    buf[16 - b.len()..].copy_from_slice(b);
    Ok(i128::from_be_bytes(buf))
}

/// A big-endian two's-complement unscaled decimal of any width as plain text with `scale`
/// fraction digits (e.g. `-12.500`).
pub fn decimal_text(b: &[u8], scale: i8) -> String {
    let neg = b.first().is_some_and(|x| x & 0x80 != 0);
    // magnitude, big-endian bytes
    let mut mag: Vec<u8> = if neg {
        let mut v: Vec<u8> = b.iter().map(|x| !x).collect();
        for x in v.iter_mut().rev() {
            let (s, carry) = x.overflowing_add(1);
            *x = s;
            if !carry {
                break;
            }
        }
        v
    } else {
        b.to_vec()
    };
    let mut digits = Vec::new();
    while mag.iter().any(|&x| x != 0) {
        let mut rem = 0u32;
        for x in mag.iter_mut() {
            let cur = (rem << 8) | u32::from(*x);
            *x = (cur / 10) as u8;
            rem = cur % 10;
        }
        digits.push(b'0' + rem as u8);
    }
    let scale = scale.max(0) as usize;
    while digits.len() <= scale {
        digits.push(b'0');
    }
    digits.reverse();
    let (int, frac) = digits.split_at(digits.len() - scale);
    let mut s = String::with_capacity(digits.len() + 2);
    if neg {
        s.push('-');
    }
    s.push_str(std::str::from_utf8(int).unwrap_or("0"));
    if scale > 0 {
        s.push('.');
        s.push_str(std::str::from_utf8(frac).unwrap_or(""));
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::decode::{Op, SourcePos};
    use arrow::array::Array;

    #[test]
    fn decimals() {
        assert_eq!(unscaled_i128(&[0x00, 0xdd]).unwrap(), 221);
        assert_eq!(unscaled_i128(&[0xff, 0x38]).unwrap(), -200);
        assert_eq!(decimal_text(&[0x00, 0xdd], 2), "2.21");
        assert_eq!(decimal_text(&[0xff, 0x38], 3), "-0.200");
        assert_eq!(decimal_text(&[0x05], 0), "5");
        assert_eq!(decimal_text(&[0x00], 2), "0.00");
        // 10^40 needs 17 bytes
        let big: Vec<u8> = {
            let mut v = vec![0u8; 17];
            let mut n = [0u32; 17];
            n[16] = 1;
            for _ in 0..40 {
                let mut carry = 0u32;
                for x in n.iter_mut().rev() {
                    let cur = *x * 10 + carry;
                    *x = cur & 0xff;
                    carry = cur >> 8;
                }
            }
            for (i, x) in n.iter().enumerate() {
                v[i] = *x as u8;
            }
            v
        };
        assert_eq!(decimal_text(&big, 30), "10000000000.000000000000000000000000000000");
    }

    #[test]
    fn batch_with_meta_columns() {
        let cols = Arc::new(Columns {
            fields: vec![
                Column { name: "id".into(), kind: Kind::Int32, nullable: false },
                Column { name: "ts".into(), kind: Kind::ZonedTimestamp, nullable: true },
                Column {
                    name: "g".into(),
                    kind: Kind::Struct(vec![
                        Column { name: "wkb".into(), kind: Kind::Binary, nullable: false },
                        Column { name: "srid".into(), kind: Kind::Int32, nullable: true },
                    ]),
                    nullable: true,
                },
            ],
        });
        let change = |id, ts: Option<&str>, g: Cell| Change {
            op: Op::Create,
            columns: cols.clone(),
            row: vec![Cell::Int(id), ts.map_or(Cell::Null, |s| Cell::Str(s.into())), g],
            key_fields: Arc::new(vec!["id".into()]),
            source: SourcePos { file: "mysql-bin.000002".into(), pos: 77, row: id as i32, ts_ms: 1000 },
            ts_ms: 2000,
        };
        let batch = to_record_batch(
            &cols,
            &[
                change(1, Some("2024-03-01T10:00:00.5Z"), Cell::Struct(vec![Cell::Bytes(vec![1]), Cell::Null])),
                change(2, None, Cell::Null),
            ],
            None,
        )
        .unwrap();
        assert_eq!(batch.num_rows(), 2);
        assert_eq!(batch.num_columns(), 3 + META_COLUMNS.len());
        let names: Vec<&str> = batch.schema_ref().fields().iter().skip(3).map(|f| f.name().as_str()).collect();
        assert_eq!(names, META_COLUMNS);
        let ts = batch.column(1).as_any().downcast_ref::<arrow::array::TimestampMicrosecondArray>().unwrap();
        assert_eq!(ts.value(0), 1_709_287_200_500_000);
        assert!(ts.is_null(1));
        assert!(batch.column(2).is_null(1) && !batch.column(2).is_null(0));
    }

    #[test]
    fn day_partition_column() {
        let cols = Columns {
            fields: vec![
                Column { name: "id".into(), kind: Kind::Int32, nullable: false },
                Column { name: "last_contact".into(), kind: Kind::Int64, nullable: true },
            ],
        };
        let change = |id, lc: Cell| Change {
            op: Op::Create,
            columns: Arc::new(cols.clone()),
            row: vec![Cell::Int(id), lc],
            key_fields: Arc::new(vec!["id".into()]),
            source: SourcePos { file: "mysql-bin.000001".into(), pos: 4, row: 0, ts_ms: 0 },
            ts_ms: 0,
        };
        let spec = PartitionSpec { column: "last_contact".into(), by_day: true };
        let batch = to_record_batch(
            &cols,
            &[change(1, Cell::Int(1_700_000_000)), change(2, Cell::Int(-1)), change(3, Cell::Null)],
            Some(&spec),
        )
        .unwrap();
        let day = batch
            .column_by_name("last_contact_day")
            .unwrap()
            .as_any()
            .downcast_ref::<arrow::array::StringArray>()
            .unwrap();
        assert_eq!((day.value(0), day.value(1)), ("2023-11-14", "1969-12-31"));
        assert!(day.is_null(2));
        assert_eq!(utc_day(&Kind::Date, &Cell::Int(19_783)).unwrap(), "2024-03-01");
        assert_eq!(utc_day(&Kind::ZonedTimestamp, &Cell::Str("2024-03-01T23:59:59.9Z".into())).unwrap(), "2024-03-01");
        assert!(utc_day(&Kind::Utf8, &Cell::Str("x".into())).is_err());
        let bad = PartitionSpec { column: "nope".into(), by_day: true };
        assert!(to_record_batch(&cols, &[change(1, Cell::Int(0))], Some(&bad)).is_err());
    }
}
