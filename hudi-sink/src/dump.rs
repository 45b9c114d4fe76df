//! dump: a table read back with hudi-rs as JSON lines (`hudi-sink read`), for people and tests.
//!
//! One object per row, sorted by `_hoodie_record_key`; values rendered so that they compare with
//! what MySQL prints: integers and floats as JSON numbers (a FLOAT as its shortest f32 text),
//! decimals as plain text with their scale, binary as upper-case hex (`HEX()`), dates as
//! `YYYY-MM-DD`, local timestamps as `YYYY-MM-DD HH:MM:SS.ffffff`, UTC timestamps as
//! `YYYY-MM-DDTHH:MM:SS.ffffffZ`, structs as objects.

use arrow::array::{
    Array, AsArray, BinaryArray, BooleanArray, Date32Array, Decimal128Array, Float32Array, Float64Array, Int16Array,
    Int32Array, Int64Array, Int8Array, LargeBinaryArray, LargeStringArray, StringArray, StructArray,
    TimestampMicrosecondArray, TimestampMillisecondArray,
};
use arrow::datatypes::{DataType, TimeUnit};
use arrow::record_batch::RecordBatch;
use serde_json::{Map, Value as Json};

/// The rows of `batches` as JSON objects, sorted by `_hoodie_record_key` (then by their text).
pub fn rows(batches: &[RecordBatch]) -> Vec<Map<String, Json>> {
    let mut out = rows_in_order(batches);
    out.sort_by_cached_key(|m| {
        (
            m.get("_hoodie_record_key").and_then(Json::as_str).unwrap_or("").to_owned(),
            Json::Object(m.clone()).to_string(),
        )
    });
    out
}

/// The rows of `batches` as JSON objects, in the batches' order.
pub fn rows_in_order(batches: &[RecordBatch]) -> Vec<Map<String, Json>> {
    let mut out = Vec::new();
    for b in batches {
        for r in 0..b.num_rows() {
            let mut m = Map::new();
            for (f, col) in b.schema().fields().iter().zip(b.columns()) {
                m.insert(f.name().clone(), value(col.as_ref(), r));
            }
            out.push(m);
        }
    }
    out
}

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02X}")).collect()
}

fn value(col: &dyn Array, r: usize) -> Json {
    if col.is_null(r) {
        return Json::Null;
    }
    macro_rules! arr {
        ($t:ty) => {
            col.as_any().downcast_ref::<$t>().expect("array of its data type")
        };
    }
    match col.data_type() {
        DataType::Boolean => Json::Bool(arr!(BooleanArray).value(r)),
        DataType::Int8 => arr!(Int8Array).value(r).into(),
        DataType::Int16 => arr!(Int16Array).value(r).into(),
        DataType::Int32 => arr!(Int32Array).value(r).into(),
        DataType::Int64 => arr!(Int64Array).value(r).into(),
        DataType::Float32 => {
            let f = arr!(Float32Array).value(r);
            f.to_string().parse::<f64>().ok().and_then(serde_json::Number::from_f64).map_or(Json::Null, Json::Number)
        }
        DataType::Float64 => serde_json::Number::from_f64(arr!(Float64Array).value(r)).map_or(Json::Null, Json::Number),
        DataType::Utf8 => Json::String(arr!(StringArray).value(r).to_owned()),
        DataType::LargeUtf8 => Json::String(arr!(LargeStringArray).value(r).to_owned()),
        DataType::Binary => Json::String(hex(arr!(BinaryArray).value(r))),
        DataType::LargeBinary => Json::String(hex(arr!(LargeBinaryArray).value(r))),
        DataType::Decimal128(_, _) => Json::String(arr!(Decimal128Array).value_as_string(r)),
        DataType::Date32 => {
            let d = chrono::NaiveDate::from_num_days_from_ce_opt(arr!(Date32Array).value(r).saturating_add(719_163));
            d.map_or(Json::Null, |d| Json::String(d.format("%Y-%m-%d").to_string()))
        }
        DataType::Timestamp(unit, tz) => {
            let micros = match unit {
                TimeUnit::Millisecond => arr!(TimestampMillisecondArray).value(r).saturating_mul(1000),
                TimeUnit::Microsecond => arr!(TimestampMicrosecondArray).value(r),
                TimeUnit::Nanosecond => {
                    col.as_primitive::<arrow::datatypes::TimestampNanosecondType>().value(r).div_euclid(1000)
                }
                TimeUnit::Second => {
                    col.as_primitive::<arrow::datatypes::TimestampSecondType>().value(r).saturating_mul(1_000_000)
                }
            };
            let t = chrono::DateTime::from_timestamp_micros(micros).map(|t| t.naive_utc());
            let fmt = if tz.is_some() { "%Y-%m-%dT%H:%M:%S%.6fZ" } else { "%Y-%m-%d %H:%M:%S%.6f" };
            t.map_or(Json::Null, |t| Json::String(t.format(fmt).to_string()))
        }
        DataType::Struct(fields) => {
            let s = arr!(StructArray);
            let mut m = Map::new();
            for (f, c) in fields.iter().zip(s.columns()) {
                m.insert(f.name().clone(), value(c.as_ref(), r));
            }
            Json::Object(m)
        }
        other => Json::String(format!("<unsupported type {other}>")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    #[test]
    fn renders_like_mysql_prints() {
        use arrow::datatypes::{Field, Schema};
        let schema = Arc::new(Schema::new(vec![
            Field::new("_hoodie_record_key", DataType::Utf8, false),
            Field::new("f", DataType::Float32, true),
            Field::new("d", DataType::Date32, true),
            Field::new("ts", DataType::Timestamp(TimeUnit::Millisecond, None), true),
            Field::new("z", DataType::Timestamp(TimeUnit::Microsecond, Some("UTC".into())), true),
            Field::new("b", DataType::Binary, true),
            Field::new("dec", DataType::Decimal128(10, 2), true),
        ]));
        let batch = RecordBatch::try_new(
            schema,
            vec![
                Arc::new(StringArray::from(vec!["2", "1"])),
                Arc::new(Float32Array::from(vec![Some(5.3), None])),
                Arc::new(Date32Array::from(vec![Some(19783), None])),
                Arc::new(TimestampMillisecondArray::from(vec![Some(1_709_287_200_123), None])),
                Arc::new(TimestampMicrosecondArray::from(vec![Some(1_709_287_200_000_001), None]).with_timezone("UTC")),
                Arc::new(BinaryArray::from(vec![Some(&[0xab, 0x01][..]), None])),
                Arc::new(Decimal128Array::from(vec![Some(-50), None]).with_precision_and_scale(10, 2).unwrap()),
            ],
        )
        .unwrap();
        let rows = rows(&[batch]);
        assert_eq!(rows[0]["_hoodie_record_key"], "1");
        let r = Json::Object(rows[1].clone());
        assert_eq!(
            r.to_string(),
            r#"{"_hoodie_record_key":"2","f":5.3,"d":"2024-03-01","ts":"2024-03-01 10:00:00.123000","z":"2024-03-01T10:00:00.000001Z","b":"AB01","dec":"-0.50"}"#
        );
    }
}
