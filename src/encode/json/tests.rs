//! Tests for the JsonConverter encoding, including the byte-for-byte round trip of every record
//! in the oracle's golden files.

use super::*;
use crate::connect::Field;
use crate::encode::test_support::*;
use std::path::PathBuf;

// ---------------------------------------------------------------------------------------------
// The golden round trip
// ---------------------------------------------------------------------------------------------

/// The assumption behind the round trip: the golden lines carry JsonConverter's bytes verbatim
/// (Java float formatting, Jackson's `\uXXXX` surrogate escapes), not a re-serialization.
#[test]
fn golden_lines_embed_raw_converter_bytes() {
    let text = std::fs::read_to_string(golden_dir().join("main.json.jsonl")).unwrap();
    for needle in ["E38", "E-38", "E-324", "E308", "\\uD83D\\uDE00", "\"default\":0.0"] {
        assert!(text.contains(needle), "golden main.json.jsonl lacks {needle}");
    }
    // serde_json would write these differently, so they survived untouched.
    assert!(!text.contains("e308") && !text.contains("e-324"));
}

#[test]
fn golden_records_round_trip_byte_for_byte() {
    let mut total = 0usize;
    let mut failures = Vec::new();
    for path in golden_files() {
        let recs = read_golden(&path);
        assert!(!recs.is_empty(), "{} is empty", path.display());
        // One encoder per file, with schemas shared between records as a real pipeline would:
        // reuse the Arc when the schema JSON is identical so the cache is exercised.
        let mut enc = JsonEncoder::new(true);
        let mut enc19 = JsonEncoder::new(true).with_float_format(JavaFloatFormat::Jdk19);
        let mut schemas: HashMap<Vec<u8>, Arc<Schema>> = HashMap::new();
        for r in &recs {
            for (what, part) in [("key", &r.key), ("value", &r.value)] {
                let Some((schema, value, raw)) = part else { continue };
                let mut sj = Vec::new();
                write_schema(&mut sj, schema);
                let schema = schemas.entry(sj).or_insert_with(|| Arc::clone(schema));
                let mut out = Vec::new();
                enc.encode(schema, value, &mut out);
                total += 1;
                if out != raw.as_bytes() {
                    let got = String::from_utf8_lossy(&out).into_owned();
                    let at = got.bytes().zip(raw.bytes()).take_while(|(a, b)| a == b).count();
                    failures.push(format!(
                        "{} seq {} {what}: first difference at byte {at}:\n  golden: {}\n  ours:   {}",
                        path.display(),
                        r.seq,
                        &raw[at.saturating_sub(60)..(at + 60).min(raw.len())],
                        &got[at.saturating_sub(60)..(at + 60).min(got.len())],
                    ));
                }
                // No golden value tells JDK 17 and JDK 19+ formatting apart.
                assert_eq!(enc19.encode_to_vec(schema, value), raw.as_bytes(), "JDK 19 format, seq {}", r.seq);
                // schemas.enable=false writes exactly the payload.
                let mut plain = Vec::new();
                JsonEncoder::new(false).encode(schema, value, &mut plain);
                let payload_raw = raw_members(raw).into_iter().find(|(n, _)| n == "payload").unwrap().1;
                assert_eq!(String::from_utf8(plain).unwrap(), payload_raw);
            }
        }
        assert!(enc.cached_schemas() <= schemas.len());
    }
    assert!(failures.is_empty(), "{} of {total} golden records differ:\n{}", failures.len(), failures.join("\n"));
    assert!(total > 500, "only {total} records checked");
}

#[test]
fn golden_struct_headers_match_java_to_string() {
    let mut checked = 0;
    for path in golden_files() {
        let recs = read_golden(&path);
        for (i, r) in recs.iter().enumerate() {
            for h in r.headers.as_array().unwrap() {
                let (name, schema_ty, text) =
                    (h["key"].as_str().unwrap(), h["schema"].as_str().unwrap_or(""), h["value"].as_str().unwrap_or(""));
                if schema_ty == "STRING" {
                    let s = Schema::new(SchemaType::String);
                    let v = Value::str(text);
                    assert_eq!(header_to_java_string(&s, &v), text);
                    assert_eq!(header_value(&s, &v), text.as_bytes());
                    continue;
                }
                assert_eq!(schema_ty, "STRUCT", "{name}");
                // oldkey (on the create) is the key of the record before it (the tombstone);
                // newkey (on the delete and its tombstone) is the key of the following create.
                let key_rec = match name {
                    "__debezium.oldkey" => &recs[i - 1],
                    "__debezium.newkey" => recs[i + 1..].iter().find(|r| r.value.is_some()).unwrap(),
                    other => panic!("unexpected STRUCT header {other}"),
                };
                let (ks, kv, _) = key_rec.key.as_ref().unwrap();
                assert_eq!(header_to_java_string(ks, kv), text, "{} seq {} {name}", path.display(), r.seq);
                checked += 1;
            }
        }
    }
    assert!(checked >= 18, "only {checked} STRUCT headers checked");
}

// ---------------------------------------------------------------------------------------------
// Headers on the wire
// ---------------------------------------------------------------------------------------------

fn key_schema(fields: &[(&str, SchemaType)]) -> Arc<Schema> {
    Schema::new(SchemaType::Struct(fields.iter().map(|(n, t)| Field::new(*n, Schema::new(t.clone()).arc())).collect()))
        .named("dbserver1.final.flights.Key")
        .arc()
}

#[test]
fn header_values_like_simple_header_converter() {
    let s = key_schema(&[("id", SchemaType::Int32)]);
    assert_eq!(header_value(&s, &Value::Struct(vec![Value::Int(1105)])), b"{\"id\":1105}");
    assert_eq!(header_to_java_string(&s, &Value::Struct(vec![Value::Int(1105)])), "Struct{id=1105}");

    let s = key_schema(&[("icao24", SchemaType::String), ("last_contact", SchemaType::Int64)]);
    let v = Value::Struct(vec![Value::str("abc123"), Value::Int(17)]);
    assert_eq!(header_value(&s, &v), b"{\"icao24\":\"abc123\",\"last_contact\":17}");
    assert_eq!(header_to_java_string(&s, &v), "Struct{icao24=abc123,last_contact=17}");

    // Values.escape only escapes backslash and quote; nulls are written, Struct.toString skips them.
    let s = Schema::new(SchemaType::Struct(vec![
        Field::new("a", Schema::new(SchemaType::String).optional().arc()),
        Field::new("b", Schema::new(SchemaType::String).optional().arc()),
        Field::new("c", Schema::new(SchemaType::Float64).arc()),
        Field::new("d", Schema::new(SchemaType::Bytes).arc()),
    ]));
    let v = Value::Struct(vec![Value::str("q\"b\\\n"), Value::Null, Value::Float64(1e-5), Value::Bytes(vec![1, 2, 3])]);
    assert_eq!(
        String::from_utf8(header_value(&s, &v)).unwrap(),
        "{\"a\":\"q\\\"b\\\\\n\",\"b\":null,\"c\":1.0E-5,\"d\":\"AQID\"}"
    );
    assert_eq!(header_to_java_string(&s, &v), "Struct{a=q\"b\\\n,c=1.0E-5,d=AQID}");

    // Strings are their text; other scalars their Java rendering.
    assert_eq!(header_value(&Schema::new(SchemaType::String), &Value::str("dbserver1")), b"dbserver1");
    assert_eq!(header_value(&Schema::new(SchemaType::Int64), &Value::Int(-5)), b"-5");
    assert_eq!(header_value(&Schema::new(SchemaType::Boolean), &Value::Boolean(true)), b"true");
    assert_eq!(header_value(&Schema::new(SchemaType::Float32), &Value::Float32(f32::NAN)), b"NaN");
    assert_eq!(header_value(&Schema::new(SchemaType::Bytes), &Value::Bytes(vec![0xff])), b"/w==");
    assert!(header_value(&Schema::new(SchemaType::String).optional(), &Value::Null).is_empty());
}

// ---------------------------------------------------------------------------------------------
// Encoder unit tests
// ---------------------------------------------------------------------------------------------

fn enc(schema: &Arc<Schema>, value: &Value) -> String {
    String::from_utf8(JsonEncoder::new(true).encode_to_vec(schema, value)).unwrap()
}

fn payload(schema: Schema, value: Value) -> String {
    String::from_utf8(JsonEncoder::new(false).encode_to_vec(&schema.arc(), &value)).unwrap()
}

#[test]
fn schema_key_order() {
    let inner = Schema::new(SchemaType::String)
        .optional()
        .named("io.debezium.data.Enum")
        .version(1)
        .doc("d")
        .param("allowed", "a,b")
        .param("z", "1")
        .default_value(Value::str("a"))
        .arc();
    let arr = Schema::new(SchemaType::Array(Schema::new(SchemaType::Int32).arc())).optional().arc();
    let s =
        Schema::new(SchemaType::Struct(vec![Field::new("e", inner), Field::new("l", arr)])).named("T").version(2).arc();
    let v = Value::Struct(vec![Value::Null, Value::Array(vec![Value::Int(1), Value::Int(-2)])]);
    assert_eq!(
        enc(&s, &v),
        r#"{"schema":{"type":"struct","fields":[{"type":"string","optional":true,"name":"io.debezium.data.Enum","version":1,"doc":"d","parameters":{"allowed":"a,b","z":"1"},"default":"a","field":"e"},{"type":"array","items":{"type":"int32","optional":false},"optional":true,"field":"l"}],"optional":false,"name":"T","version":2},"payload":{"e":"a","l":[1,-2]}}"#
    );
}

#[test]
fn null_payloads() {
    // A null field with a default is written as the default (Struct.get / replace.null.with.default).
    let s = Schema::new(SchemaType::Int32).optional().default_value(Value::Int(0));
    assert_eq!(payload(s, Value::Null), "0");
    assert_eq!(payload(Schema::new(SchemaType::String).optional(), Value::Null), "null");
    let s =
        Schema::new(SchemaType::Struct(vec![Field::new("x", Schema::new(SchemaType::Int64).optional().arc())])).arc();
    assert_eq!(
        enc(&s, &Value::Null),
        r#"{"schema":{"type":"struct","fields":[{"type":"int64","optional":true,"field":"x"}],"optional":false},"payload":null}"#
    );
}

#[test]
fn scalar_payloads() {
    assert_eq!(payload(Schema::new(SchemaType::Int8), Value::Int(-128)), "-128");
    assert_eq!(payload(Schema::new(SchemaType::Int64), Value::Int(i64::MIN)), "-9223372036854775808");
    assert_eq!(payload(Schema::new(SchemaType::Boolean), Value::Boolean(false)), "false");
    assert_eq!(payload(Schema::new(SchemaType::Bytes), Value::Bytes(vec![])), "\"\"");
    assert_eq!(payload(Schema::new(SchemaType::Bytes), Value::Bytes(vec![1, 0xE2, 0x40])), "\"AeJA\"");
    assert_eq!(payload(Schema::new(SchemaType::Bytes), Value::Bytes(vec![0, 0, 0, 0xff])), "\"AAAA/w==\"");
    assert_eq!(payload(Schema::new(SchemaType::Float32), Value::Float32(3.14)), "3.14");
    assert_eq!(payload(Schema::new(SchemaType::Float64), Value::Float64(100.0)), "100.0");
    assert_eq!(payload(Schema::new(SchemaType::Float64), Value::Float64(f64::NAN)), "\"NaN\"");
    assert_eq!(payload(Schema::new(SchemaType::Float32), Value::Float32(f32::NEG_INFINITY)), "\"-Infinity\"");
}

#[test]
fn string_escaping_like_jackson() {
    let e = |s: &str| {
        let mut v = Vec::new();
        write_json_string(&mut v, s);
        String::from_utf8(v).unwrap()
    };
    assert_eq!(e(""), r#""""#);
    assert_eq!(e("plain / text"), r#""plain / text""#);
    assert_eq!(e("q\"b\\s"), r#""q\"b\\s""#);
    assert_eq!(e("\n\t\r\u{8}\u{c}"), r#""\n\t\r\b\f""#);
    assert_eq!(e("\u{0}\u{1}\u{1f}\u{7f}"), "\"\\u0000\\u0001\\u001F\u{7f}\"");
    assert_eq!(e("héllo ✈ 日本語 \u{2028}"), "\"héllo ✈ 日本語 \u{2028}\"");
    assert_eq!(e("😀x🚀"), r#""\uD83D\uDE00x\uD83D\uDE80""#);
    assert_eq!(e("\u{10000}\u{10FFFF}"), r#""\uD800\uDC00\uDBFF\uDFFF""#);
}

#[test]
fn schema_cache_by_arc_identity() {
    let mut e = JsonEncoder::default();
    let a = Schema::new(SchemaType::Int32).arc();
    let b = Schema::new(SchemaType::Int32).optional().arc();
    let mut out = Vec::new();
    e.encode(&a, &Value::Int(1), &mut out);
    e.encode(&a, &Value::Int(2), &mut out);
    e.encode(&b, &Value::Null, &mut out);
    assert_eq!(e.cached_schemas(), 2);
    assert_eq!(
        String::from_utf8(out).unwrap(),
        r#"{"schema":{"type":"int32","optional":false},"payload":1}{"schema":{"type":"int32","optional":false},"payload":2}{"schema":{"type":"int32","optional":true},"payload":null}"#
    );
    // The cache keeps the Arc alive, so a dropped schema's address cannot be reused meanwhile.
    assert_eq!(Arc::strong_count(&a), 2);
    e.clear_cache();
    assert_eq!(Arc::strong_count(&a), 1);
}

// ---------------------------------------------------------------------------------------------
// Java float formatting
// ---------------------------------------------------------------------------------------------

/// Values checked with OpenJDK 17.0.15 (`jshell`: `Double.toString(x)` / `Float.toString(x)`),
/// and what JDK 19+ prints where it differs.
#[test]
fn java_double_to_string_edges() {
    // (x, JDK 17, JDK 19+)
    let cases: &[(f64, &str, &str)] = &[
        (0.0, "0.0", "0.0"),
        (-0.0, "-0.0", "-0.0"),
        (1.0, "1.0", "1.0"),
        (-1.0, "-1.0", "-1.0"),
        (100.0, "100.0", "100.0"),
        (3.14, "3.14", "3.14"),
        (2.718281828459045, "2.718281828459045", "2.718281828459045"),
        (0.1, "0.1", "0.1"),
        (0.5, "0.5", "0.5"),
        (0.001, "0.001", "0.001"),
        (0.0012345, "0.0012345", "0.0012345"),
        (0.0001, "1.0E-4", "1.0E-4"),
        (0.00099, "9.9E-4", "9.9E-4"),
        (1e-5, "1.0E-5", "1.0E-5"),
        (9999999.0, "9999999.0", "9999999.0"),
        (9999999.5, "9999999.5", "9999999.5"),
        (1e7, "1.0E7", "1.0E7"),
        (12345678.0, "1.2345678E7", "1.2345678E7"),
        (1234567.125, "1234567.125", "1234567.125"),
        (1e21, "1.0E21", "1.0E21"),
        (1e22, "1.0E22", "1.0E22"),
        (1e23, "9.999999999999999E22", "1.0E23"),
        (123456789012345680.0, "1.2345678901234568E17", "1.2345678901234568E17"),
        (2.82879384806159E17, "2.82879384806159008E17", "2.82879384806159E17"),
        (f64::MAX, "1.7976931348623157E308", "1.7976931348623157E308"),
        (-f64::MAX, "-1.7976931348623157E308", "-1.7976931348623157E308"),
        (f64::MIN_POSITIVE, "2.2250738585072014E-308", "2.2250738585072014E-308"),
        (5e-324, "4.9E-324", "4.9E-324"),
        (-5e-324, "-4.9E-324", "-4.9E-324"),
        (1e-323, "1.0E-323", "9.9E-324"),
        (1.5e-323, "1.5E-323", "1.5E-323"),
        (2e-323, "2.0E-323", "2.0E-323"),
        (1e-322, "1.0E-322", "9.9E-323"),
        (4.4501477170144023E-308, "4.4501477170144023E-308", "4.4501477170144023E-308"),
        (9007199254740993.0, "9.007199254740992E15", "9.007199254740992E15"),
        (f64::NAN, "\"NaN\"", "\"NaN\""),
        (f64::INFINITY, "\"Infinity\"", "\"Infinity\""),
        (f64::NEG_INFINITY, "\"-Infinity\"", "\"-Infinity\""),
    ];
    for (x, jdk17, jdk19) in cases {
        assert_eq!(java_double_to_string(*x), *jdk17, "JDK 17 Double.toString({x:e})");
        let mut v = Vec::new();
        write_java_f64_as(&mut v, *x, JavaFloatFormat::Jdk19);
        assert_eq!(String::from_utf8(v).unwrap(), *jdk19, "JDK 19 Double.toString({x:e})");
    }
}

#[test]
fn java_float_to_string_edges() {
    let cases: &[(f32, &str, &str)] = &[
        (0.0, "0.0", "0.0"),
        (-0.0, "-0.0", "-0.0"),
        (3.14, "3.14", "3.14"),
        (100.0, "100.0", "100.0"),
        (0.1, "0.1", "0.1"),
        (1e-5, "1.0E-5", "1.0E-5"),
        (0.001, "0.001", "0.001"),
        (0.0001, "1.0E-4", "1.0E-4"),
        (9999999.0, "9999999.0", "9999999.0"),
        (1e7, "1.0E7", "1.0E7"),
        (16777216.0, "1.6777216E7", "1.6777216E7"),
        (5.7208e10, "5.7208001E10", "5.7208E10"),
        (3.40282e38, "3.40282E38", "3.40282E38"),
        (-3.40282e38, "-3.40282E38", "-3.40282E38"),
        (1.17549e-38, "1.17549E-38", "1.17549E-38"),
        (f32::MAX, "3.4028235E38", "3.4028235E38"),
        (f32::MIN_POSITIVE, "1.17549435E-38", "1.1754944E-38"),
        (1e-45, "1.4E-45", "1.4E-45"),
        (3e-45, "2.8E-45", "2.8E-45"),
        (4e-45, "4.2E-45", "4.2E-45"),
        (1e-44, "9.8E-45", "9.8E-45"),
        (1.0e10, "1.0E10", "1.0E10"),
        (f32::NAN, "\"NaN\"", "\"NaN\""),
        (f32::INFINITY, "\"Infinity\"", "\"Infinity\""),
    ];
    for (x, jdk17, jdk19) in cases {
        assert_eq!(java_float_to_string(*x), *jdk17, "JDK 17 Float.toString({x:e})");
        let mut v = Vec::new();
        write_java_f32_as(&mut v, *x, JavaFloatFormat::Jdk19);
        assert_eq!(String::from_utf8(v).unwrap(), *jdk19, "JDK 19 Float.toString({x:e})");
    }
}

/// The JDK 19+ formatting gives the shortest digits that round-trip.
#[test]
fn jdk19_format_round_trips() {
    let mut state = 0x9E37_79B9_7F4A_7C15u64;
    for _ in 0..200_000 {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        let x = f64::from_bits(state);
        if x.is_finite() {
            let mut v = Vec::new();
            write_java_f64_as(&mut v, x, JavaFloatFormat::Jdk19);
            assert_eq!(std::str::from_utf8(&v).unwrap().parse::<f64>().unwrap(), x);
        }
        let y = f32::from_bits(state as u32);
        if y.is_finite() {
            let mut v = Vec::new();
            write_java_f32_as(&mut v, y, JavaFloatFormat::Jdk19);
            assert_eq!(std::str::from_utf8(&v).unwrap().parse::<f32>().unwrap(), y);
        }
    }
}

/// Compares with `<hex bits> <Java toString>` lines printed by OpenJDK 17: the committed sample
/// (`java_float_sample.txt`: 4,200 values, 700 of them doubles whose JDK 17 digits are not the
/// shortest) and, when `JAVA_FLOAT_DUMP_DIR` names a directory with `doubles.txt` /
/// `floats.txt` written by `JavaFloatDump.java` (next to this file), all of those.
#[test]
fn java_float_dump_agrees() {
    let dir = std::env::var_os("JAVA_FLOAT_DUMP_DIR").map(PathBuf::from);
    let sample = include_str!("java_float_sample.txt");
    let mut mismatches = Vec::new();
    let check = |mismatches: &mut Vec<String>, kind: &str, hex: &str, want: &str| {
        let got = if kind == "d" {
            java_double_to_string(f64::from_bits(u64::from_str_radix(hex, 16).unwrap()))
        } else {
            java_float_to_string(f32::from_bits(u32::from_str_radix(hex, 16).unwrap()))
        };
        if got != want && !(want.chars().all(|c| c.is_alphabetic() || c == '-') && got.trim_matches('"') == want) {
            mismatches.push(format!("{kind} {hex}: java {want} ours {got}"));
        }
    };
    for line in sample.lines().filter(|l| !l.starts_with('#') && !l.is_empty()) {
        let mut it = line.split(' ');
        let (kind, hex, want) = (it.next().unwrap(), it.next().unwrap(), it.next().unwrap());
        check(&mut mismatches, kind, hex, want);
    }
    let sample_mismatches = mismatches.len();
    let mut n = 0usize;
    if let Some(dir) = dir {
        for (kind, file) in [("d", "doubles.txt"), ("f", "floats.txt")] {
            let text = std::fs::read_to_string(dir.join(file)).unwrap();
            for line in text.lines() {
                let (hex, want) = line.split_once(' ').unwrap();
                check(&mut mismatches, kind, hex, want);
                n += 1;
            }
        }
        eprintln!("{} of {n} dumped values differ", mismatches.len() - sample_mismatches);
        let _ = std::fs::write(dir.join("mismatches.txt"), mismatches.join("\n"));
    }
    assert!(
        mismatches.is_empty(),
        "{} mismatches:\n{}",
        mismatches.len(),
        mismatches.iter().take(50).cloned().collect::<Vec<_>>().join("\n")
    );
}

/// Rough throughput of the hot path on the golden `main` records (schemas cached):
/// `cargo test --release --lib encode_throughput -- --ignored --nocapture`.
#[test]
#[ignore]
fn encode_throughput() {
    let recs = read_golden(&golden_dir().join("main.json.jsonl"));
    let items: Vec<(Arc<Schema>, Value)> =
        recs.iter().filter_map(|r| r.value.as_ref()).map(|(s, v, _)| (Arc::clone(s), v.clone())).collect();
    let mut enc = JsonEncoder::default();
    let mut out = Vec::with_capacity(1 << 16);
    let rounds = 2000;
    let start = std::time::Instant::now();
    let mut bytes = 0usize;
    for _ in 0..rounds {
        for (s, v) in &items {
            out.clear();
            enc.encode(s, v, &mut out);
            bytes += out.len();
        }
    }
    let el = start.elapsed();
    let n = rounds * items.len();
    eprintln!(
        "{n} records, {:.0} ns/record, {:.0} MB/s (incl. cached schema prefix)",
        el.as_nanos() as f64 / n as f64,
        bytes as f64 / el.as_secs_f64() / 1e6
    );
}
