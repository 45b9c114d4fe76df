//! Kafka Connect `JsonConverter` encoding of our Connect model, byte for byte.
//!
//! # Format
//!
//! `org.apache.kafka.connect.json.JsonConverter` (Kafka 4.x, default settings) turns a Connect
//! schema + value into compact JSON through Jackson:
//!
//! * with `schemas.enable=true` (the default): `{"schema":<schema>,"payload":<payload>}`;
//! * with `schemas.enable=false`: just `<payload>`.
//!
//! **Schema JSON** (`JsonConverter.asJsonSchema`), keys in exactly this order: `type`; then
//! `fields` (struct: each field's own schema object with `"field":<name>` appended as its *last*
//! key) or `items` (array); then `optional`, `name`, `version`, `doc`, `parameters` (an object, in
//! insertion order), `default` (the default value rendered as payload JSON). Absent attributes are
//! omitted; `optional` is always present.
//!
//! **Payload** (`JsonConverter.convertToJson`): structs are objects in field order; int8..int64
//! are JSON integers; booleans; strings with Jackson's escaping; bytes as standard padded base64;
//! float32/float64 as Java's `Float.toString` / `Double.toString`; arrays. A `null` value whose
//! schema has a default is written as the default (Connect's `Struct.get` substitutes it, and
//! `replace.null.with.default` is `true` by default), otherwise `null`.
//!
//! **String escaping** (Jackson `UTF8JsonGenerator`, default features): `"` → `\"`, `\` → `\\`,
//! the control characters U+0008/09/0A/0C/0D → `\b \t \n \f \r`, every other character below
//! U+0020 → `\u00XX` (upper-case hex); `/` and U+007F are not escaped; other non-ASCII BMP
//! characters are written as raw UTF-8, but characters outside the BMP (emoji, …) are written as
//! two escaped UTF-16 surrogates (`😀` → `\uD83D\uDE00`), which is what Jackson 2.x does unless
//! `COMBINE_UNICODE_SURROGATES_IN_UTF8` is enabled. The golden files confirm all of these.
//!
//! **Non-finite floats**: Jackson's `QUOTE_NON_NUMERIC_NUMBERS` is on by default, so NaN and the
//! infinities are written as the *strings* `"NaN"`, `"Infinity"`, `"-Infinity"` (MySQL cannot
//! store them, so this never happens with real rows).
//!
//! **Null records**: `JsonConverter.fromConnectData` returns `null` (no bytes, i.e. a Kafka
//! tombstone / null key) when both schema and value are null, which is how Debezium's tombstones
//! and the key-less TRUNCATE record look. That case has no schema and is the caller's business:
//! [`JsonEncoder::encode`] always has a schema and, like JsonConverter given a schema and a null
//! value, writes `{"schema":…,"payload":null}`.
//!
//! # Caching
//!
//! The schema part never changes for a given `Arc<Schema>`, so [`JsonEncoder`] renders
//! `{"schema":<schema>,"payload":` once per schema and keeps it in a map keyed by the `Arc`'s
//! pointer. The entry holds a clone of the `Arc`, so the pointer cannot be freed and reused by a
//! different schema while it is cached. The hot path is then one hash lookup, one `memcpy` of the
//! prefix and the payload written straight into the caller's buffer — no per-record allocation
//! beyond growing that buffer. Schemas are built once per table version, so the cache stays
//! small; as a guard against callers that build a fresh `Arc` per record it is cleared when it
//! exceeds [`JsonEncoder::MAX_CACHED_SCHEMAS`] entries.
//!
//! # Why the float formatting is hand-written
//!
//! Jackson prints `float`/`double` with `Float.toString` / `Double.toString` (its fast Schubfach
//! writer is off by default). No Rust crate prints Java's format: Rust's `Display` never uses
//! exponents (`1e-5` → `0.00001`), `ryu` writes `1e-5` / `1.7976931348623157e308`, while Java
//! writes `1.0E-5` / `1.7976931348623157E308`, plain decimals only for `1e-3 <= |x| < 1e7`, always
//! at least one digit after the point, and at least two significant digits for tiny subnormals
//! (`4.9E-324`, not `5E-324`). So [`write_java_f64`] / [`write_java_f32`] take the shortest
//! round-trip digits from `ryu` (the f32 digits for floats) and lay them out the Java way; the
//! two-digit case is settled with an exact formatting. See those functions for how the digits
//! compare with the JDK 17 that produced the golden files.

use std::collections::HashMap;
use std::sync::Arc;

use base64::Engine as _;

use crate::connect::{Schema, SchemaType, Value};

/// JsonConverter (`schemas.enable` on or off) with a per-schema cache of the schema JSON.
#[derive(Debug)]
pub struct JsonEncoder {
    schemas_enable: bool,
    /// `Arc::as_ptr` → (the `Arc`, kept alive so the address stays unique; rendered
    /// `{"schema":<schema json>,"payload":` prefix).
    cache: HashMap<usize, (Arc<Schema>, Box<[u8]>)>,
}

impl Default for JsonEncoder {
    /// `schemas.enable=true`, Kafka Connect's default.
    fn default() -> Self {
        JsonEncoder::new(true)
    }
}

impl JsonEncoder {
    /// Once the cache holds more schemas than this, it is emptied before adding another.
    pub const MAX_CACHED_SCHEMAS: usize = 4096;

    pub fn new(schemas_enable: bool) -> JsonEncoder {
        JsonEncoder { schemas_enable, cache: HashMap::new() }
    }

    pub fn schemas_enable(&self) -> bool {
        self.schemas_enable
    }

    /// Number of schemas whose JSON is cached.
    pub fn cached_schemas(&self) -> usize {
        self.cache.len()
    }

    /// Drops every cached schema rendering (and the `Arc`s held for them).
    pub fn clear_cache(&mut self) {
        self.cache.clear();
    }

    /// Appends JsonConverter's bytes for `value` (with `schema`) to `out`.
    ///
    /// A record whose schema *and* value are null (tombstone, null key) has no bytes at all;
    /// the caller handles it without calling this. A `Value::Null` here is written as
    /// `{"schema":…,"payload":null}` (or the schema default), as JsonConverter does.
    pub fn encode(&mut self, schema: &Arc<Schema>, value: &Value, out: &mut Vec<u8>) {
        if self.schemas_enable {
            let key = Arc::as_ptr(schema) as usize;
            if !self.cache.contains_key(&key) {
                if self.cache.len() >= Self::MAX_CACHED_SCHEMAS {
                    self.cache.clear();
                }
                let mut prefix = Vec::with_capacity(256);
                prefix.extend_from_slice(b"{\"schema\":");
                write_schema(&mut prefix, schema);
                prefix.extend_from_slice(b",\"payload\":");
                self.cache.insert(key, (Arc::clone(schema), prefix.into_boxed_slice()));
            }
            let prefix = &self.cache[&key].1;
            out.extend_from_slice(prefix);
            write_payload(out, schema, value);
            out.push(b'}');
        } else {
            write_payload(out, schema, value);
        }
    }

    /// Convenience: [`encode`](Self::encode) into a new `Vec`.
    pub fn encode_to_vec(&mut self, schema: &Arc<Schema>, value: &Value) -> Vec<u8> {
        let mut out = Vec::with_capacity(512);
        self.encode(schema, value, &mut out);
        out
    }
}

/// Appends JsonConverter's schema JSON (`asJsonSchema`) for `schema`.
pub fn write_schema(out: &mut Vec<u8>, schema: &Schema) {
    write_schema_inner(out, schema, None);
}

fn write_schema_inner(out: &mut Vec<u8>, schema: &Schema, field_name: Option<&str>) {
    out.extend_from_slice(b"{\"type\":\"");
    out.extend_from_slice(schema.ty.json_name().as_bytes());
    out.push(b'"');
    match &schema.ty {
        SchemaType::Struct(fields) => {
            out.extend_from_slice(b",\"fields\":[");
            for (i, f) in fields.iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                write_schema_inner(out, &f.schema, Some(&f.name));
            }
            out.push(b']');
        }
        SchemaType::Array(items) => {
            out.extend_from_slice(b",\"items\":");
            write_schema_inner(out, items, None);
        }
        _ => {}
    }
    out.extend_from_slice(if schema.optional { b",\"optional\":true" } else { b",\"optional\":false" });
    if let Some(name) = &schema.name {
        out.extend_from_slice(b",\"name\":");
        write_json_string(out, name);
    }
    if let Some(v) = schema.version {
        out.extend_from_slice(b",\"version\":");
        write_int(out, i64::from(v));
    }
    if let Some(doc) = &schema.doc {
        out.extend_from_slice(b",\"doc\":");
        write_json_string(out, doc);
    }
    if !schema.parameters.is_empty() {
        out.extend_from_slice(b",\"parameters\":{");
        for (i, (k, v)) in schema.parameters.iter().enumerate() {
            if i > 0 {
                out.push(b',');
            }
            write_json_string(out, k);
            out.push(b':');
            write_json_string(out, v);
        }
        out.push(b'}');
    }
    if let Some(d) = &schema.default {
        out.extend_from_slice(b",\"default\":");
        write_payload(out, schema, d);
    }
    if let Some(name) = field_name {
        out.extend_from_slice(b",\"field\":");
        write_json_string(out, name);
    }
    out.push(b'}');
}

/// Appends the payload JSON (`convertToJson`) of `value` under `schema`.
///
/// A value that does not fit its schema (JsonConverter would throw a `DataException`) is written
/// according to its own variant, like JsonConverter does for schemaless data.
pub fn write_payload(out: &mut Vec<u8>, schema: &Schema, value: &Value) {
    match (&schema.ty, value) {
        (_, Value::Null) => match &schema.default {
            Some(d) if !d.is_null() => write_payload(out, schema, d),
            _ => out.extend_from_slice(b"null"),
        },
        (SchemaType::Struct(fields), Value::Struct(values)) => {
            out.push(b'{');
            for (i, f) in fields.iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                write_json_string(out, &f.name);
                out.push(b':');
                write_payload(out, &f.schema, values.get(i).unwrap_or(&Value::Null));
            }
            out.push(b'}');
        }
        (SchemaType::Array(items), Value::Array(values)) => {
            out.push(b'[');
            for (i, v) in values.iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                write_payload(out, items, v);
            }
            out.push(b']');
        }
        (SchemaType::Float32, Value::Float32(f)) => write_java_f32(out, *f),
        (SchemaType::Float32, Value::Float64(f)) => write_java_f32(out, *f as f32),
        (SchemaType::Float64, Value::Float32(f)) => write_java_f64(out, f64::from(*f)),
        (SchemaType::Float32, Value::Int(i)) => write_java_f32(out, *i as f32),
        (SchemaType::Float64, Value::Int(i)) => write_java_f64(out, *i as f64),
        _ => write_schemaless(out, value),
    }
}

/// Payload JSON of a value by its own variant.
fn write_schemaless(out: &mut Vec<u8>, value: &Value) {
    match value {
        Value::Null => out.extend_from_slice(b"null"),
        Value::Boolean(b) => out.extend_from_slice(if *b { b"true" } else { b"false" }),
        Value::Int(i) => write_int(out, *i),
        Value::Float32(f) => write_java_f32(out, *f),
        Value::Float64(f) => write_java_f64(out, *f),
        Value::String(s) => write_json_string(out, s),
        Value::Bytes(b) => write_base64_string(out, b),
        Value::Struct(values) | Value::Array(values) => {
            // A struct without a struct schema has no field names; write it as an array.
            out.push(b'[');
            for (i, v) in values.iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                write_schemaless(out, v);
            }
            out.push(b']');
        }
    }
}

#[inline]
fn write_int(out: &mut Vec<u8>, i: i64) {
    let mut buf = itoa::Buffer::new();
    out.extend_from_slice(buf.format(i).as_bytes());
}

/// `"` + standard padded base64 + `"`.
fn write_base64_string(out: &mut Vec<u8>, bytes: &[u8]) {
    out.push(b'"');
    let start = out.len();
    let len = base64::encoded_len(bytes.len(), true).expect("base64 length overflow");
    out.resize(start + len, 0);
    let written = base64::engine::general_purpose::STANDARD
        .encode_slice(bytes, &mut out[start..])
        .expect("buffer sized by encoded_len");
    debug_assert_eq!(written, len);
    out.push(b'"');
}

const HEX_UPPER: &[u8; 16] = b"0123456789ABCDEF";

/// Per ASCII byte: 0 = copy, otherwise the short escape letter, or `u` for `\u00XX`.
const ESCAPES: [u8; 128] = {
    let mut t = [0u8; 128];
    let mut i = 0;
    while i < 0x20 {
        t[i] = b'u';
        i += 1;
    }
    t[0x08] = b'b';
    t[0x09] = b't';
    t[0x0A] = b'n';
    t[0x0C] = b'f';
    t[0x0D] = b'r';
    t[b'"' as usize] = b'"';
    t[b'\\' as usize] = b'\\';
    t
};

#[inline]
fn write_u_escape(out: &mut Vec<u8>, unit: u32) {
    out.extend_from_slice(&[
        b'\\',
        b'u',
        HEX_UPPER[((unit >> 12) & 0xF) as usize],
        HEX_UPPER[((unit >> 8) & 0xF) as usize],
        HEX_UPPER[((unit >> 4) & 0xF) as usize],
        HEX_UPPER[(unit & 0xF) as usize],
    ]);
}

/// Appends `s` as a JSON string literal, escaped exactly like Jackson's `UTF8JsonGenerator`.
pub fn write_json_string(out: &mut Vec<u8>, s: &str) {
    out.reserve(s.len() + 2);
    out.push(b'"');
    let bytes = s.as_bytes();
    let mut start = 0;
    let mut i = 0;
    while i < bytes.len() {
        let b = bytes[i];
        if b < 0x80 {
            let e = ESCAPES[b as usize];
            if e == 0 {
                i += 1;
                continue;
            }
            out.extend_from_slice(&bytes[start..i]);
            if e == b'u' {
                write_u_escape(out, u32::from(b));
            } else {
                out.extend_from_slice(&[b'\\', e]);
            }
            i += 1;
            start = i;
        } else if b >= 0xF0 {
            // 4-byte UTF-8 sequence: a supplementary character, written as a surrogate pair.
            out.extend_from_slice(&bytes[start..i]);
            let cp = (u32::from(b & 0x07) << 18)
                | (u32::from(bytes[i + 1] & 0x3F) << 12)
                | (u32::from(bytes[i + 2] & 0x3F) << 6)
                | u32::from(bytes[i + 3] & 0x3F);
            let v = cp - 0x10000;
            write_u_escape(out, 0xD800 | (v >> 10));
            write_u_escape(out, 0xDC00 | (v & 0x3FF));
            i += 4;
            start = i;
        } else {
            i += 1;
        }
    }
    out.extend_from_slice(&bytes[start..]);
    out.push(b'"');
}

// ---------------------------------------------------------------------------------------------
// Java Double.toString / Float.toString
// ---------------------------------------------------------------------------------------------

/// Significant decimal digits (ASCII, no leading/trailing zeros) and the exponent `k` of the
/// first digit: value = `d1.d2d3… × 10^k`.
struct Decimal {
    digits: [u8; 20],
    len: usize,
    exp: i32,
}

impl Decimal {
    /// Parses the digits out of a finite, non-zero, positive number printed by ryu or by
    /// `{:e}` (`"1.5e-7"`, `"123.0"`, `"0.001"`, `"5e-324"`).
    fn parse(s: &[u8]) -> Decimal {
        let mut d = Decimal { digits: [0; 20], len: 0, exp: 0 };
        let mut int_digits: i32 = 0; // digits (incl. leading zeros) before the point
        let mut seen_point = false;
        let mut leading_zeros: i32 = 0;
        let mut i = 0;
        while i < s.len() {
            let c = s[i];
            match c {
                b'0'..=b'9' => {
                    if !seen_point {
                        int_digits += 1;
                    }
                    if d.len == 0 && c == b'0' {
                        leading_zeros += 1;
                    } else {
                        d.digits[d.len] = c;
                        d.len += 1;
                    }
                }
                b'.' => seen_point = true,
                b'e' | b'E' => break,
                _ => {}
            }
            i += 1;
        }
        let mut e10: i32 = 0;
        if i < s.len() {
            i += 1;
            let neg = s.get(i) == Some(&b'-');
            if neg || s.get(i) == Some(&b'+') {
                i += 1;
            }
            while i < s.len() {
                e10 = e10 * 10 + i32::from(s[i] - b'0');
                i += 1;
            }
            if neg {
                e10 = -e10;
            }
        }
        while d.len > 1 && d.digits[d.len - 1] == b'0' {
            d.len -= 1;
        }
        d.exp = int_digits - leading_zeros - 1 + e10;
        d
    }

    /// Lays the digits out like `Double.toString` / `Float.toString`.
    fn write_java(&self, out: &mut Vec<u8>) {
        let digits = &self.digits[..self.len];
        let k = self.exp;
        if (0..7).contains(&k) {
            // 1 <= x < 10^7: integer part, point, at least one fraction digit.
            let int_len = k as usize + 1;
            if digits.len() <= int_len {
                out.extend_from_slice(digits);
                out.resize(out.len() + int_len - digits.len(), b'0');
                out.extend_from_slice(b".0");
            } else {
                out.extend_from_slice(&digits[..int_len]);
                out.push(b'.');
                out.extend_from_slice(&digits[int_len..]);
            }
        } else if (-3..0).contains(&k) {
            // 10^-3 <= x < 1: "0.", zeros, digits.
            out.extend_from_slice(b"0.");
            out.resize(out.len() + (-k - 1) as usize, b'0');
            out.extend_from_slice(digits);
        } else {
            out.push(digits[0]);
            out.push(b'.');
            if digits.len() > 1 {
                out.extend_from_slice(&digits[1..]);
            } else {
                out.push(b'0');
            }
            out.push(b'E');
            let mut buf = itoa::Buffer::new();
            out.extend_from_slice(buf.format(k).as_bytes());
        }
    }
}

/// A tiny `fmt::Write` into a stack buffer.
struct StackBuf {
    buf: [u8; 48],
    len: usize,
}

impl std::fmt::Write for StackBuf {
    fn write_str(&mut self, s: &str) -> std::fmt::Result {
        let end = self.len + s.len();
        if end > self.buf.len() {
            return Err(std::fmt::Error);
        }
        self.buf[self.len..end].copy_from_slice(s.as_bytes());
        self.len = end;
        Ok(())
    }
}

/// Java's two-significant-digit rule for values whose shortest form has a single digit.
///
/// Java never prints fewer than two significant digits' worth of information: among the
/// decimals of length 2 that round to `x` it picks the one closest to `x`. For normal numbers
/// that is always `d.0` (a one-digit decimal that rounds to `x` lies within half an ulp of it,
/// far closer than 0.05·10^k), so this is only needed for subnormals with very few significant
/// bits (`4.9E-324`, `1.4E-45`). `exact2` is `x` correctly rounded to two digits (`{:.1e}`);
/// `roundtrips` tells whether a decimal string parses back to `x`.
fn two_digit_decimal(one: &Decimal, exact2: &Decimal, roundtrips: impl Fn(&str) -> bool) -> Option<Decimal> {
    // Two-digit decimals as (m, e): m in 10..=99, value m × 10^(e-1).
    let to_dec = |m: u32, e: i32| -> (Decimal, bool) {
        let mut sb = StackBuf { buf: [0; 48], len: 0 };
        let _ = std::fmt::Write::write_fmt(&mut sb, format_args!("{}e{}", m, e - 1));
        let s = &sb.buf[..sb.len];
        (Decimal::parse(s), roundtrips(std::str::from_utf8(s).unwrap_or("x")))
    };
    // The correctly rounded two-digit decimal c is the closest of all; if it rounds to x, done.
    let (c, c_exp) = (two_digit_value(exact2), exact2.exp);
    let (dec, ok) = to_dec(c, c_exp);
    if ok {
        return Some(dec);
    }
    // Otherwise x lies strictly between c and the one-digit decimal (both are on an interval
    // around x and c is closer), so the next closest candidate is c's neighbour towards it.
    let one_is_above = (one.exp, one.digits[0]) > (exact2.exp, exact2.digits[0]);
    let (m, e) = match (one_is_above, c) {
        (true, 99) => (10, c_exp + 1),
        (true, _) => (c + 1, c_exp),
        (false, 10) => (99, c_exp - 1),
        (false, _) => (c - 1, c_exp),
    };
    let (dec, ok) = to_dec(m, e);
    ok.then_some(dec)
}

/// The two leading digits of `d` as a number 10..=99 (a missing second digit counts as 0).
fn two_digit_value(d: &Decimal) -> u32 {
    let first = u32::from(d.digits[0] - b'0');
    let second = if d.len > 1 { u32::from(d.digits[1] - b'0') } else { 0 };
    first * 10 + second
}

/// Writes a non-finite value the way Jackson does by default (quoted).
fn write_non_finite(out: &mut Vec<u8>, nan: bool, negative: bool) {
    out.extend_from_slice(if nan {
        b"\"NaN\""
    } else if negative {
        b"\"-Infinity\""
    } else {
        b"\"Infinity\""
    });
}

/// Appends `x` formatted as Jackson writes a Java `double` (`Double.toString`).
///
/// Digits: the shortest decimal that rounds to `x` (from `ryu`), closest to `x` on ties —
/// Java's `Double.toString` specification since JDK 19 — plus Java's two-digit rule for tiny
/// subnormals. The golden files were made on JDK 17, whose older `FloatingDecimal` agrees with
/// this for every value in them; it is known to differ for some values (it occasionally prints
/// a digit more than necessary), see the tests in this module.
pub fn write_java_f64(out: &mut Vec<u8>, x: f64) {
    if !x.is_finite() {
        return write_non_finite(out, x.is_nan(), x.is_sign_negative());
    }
    if x.is_sign_negative() {
        out.push(b'-');
    }
    let a = x.abs();
    if a == 0.0 {
        out.extend_from_slice(b"0.0");
        return;
    }
    let mut buf = ryu::Buffer::new();
    let mut d = Decimal::parse(buf.format_finite(a).as_bytes());
    if d.len == 1 && a < f64::MIN_POSITIVE {
        let mut sb = StackBuf { buf: [0; 48], len: 0 };
        let _ = std::fmt::Write::write_fmt(&mut sb, format_args!("{:.1e}", a));
        let exact2 = Decimal::parse(&sb.buf[..sb.len]);
        if let Some(two) = two_digit_decimal(&d, &exact2, |s| s.parse::<f64>().ok() == Some(a)) {
            d = two;
        }
    }
    d.write_java(out);
}

/// Appends `x` formatted as Jackson writes a Java `float` (`Float.toString`).
///
/// Same rules as [`write_java_f64`], with the shortest digits that identify the `f32`.
pub fn write_java_f32(out: &mut Vec<u8>, x: f32) {
    if !x.is_finite() {
        return write_non_finite(out, x.is_nan(), x.is_sign_negative());
    }
    if x.is_sign_negative() {
        out.push(b'-');
    }
    let a = x.abs();
    if a == 0.0 {
        out.extend_from_slice(b"0.0");
        return;
    }
    let mut buf = ryu::Buffer::new();
    let mut d = Decimal::parse(buf.format_finite(a).as_bytes());
    if d.len == 1 && a < f32::MIN_POSITIVE {
        let mut sb = StackBuf { buf: [0; 48], len: 0 };
        let _ = std::fmt::Write::write_fmt(&mut sb, format_args!("{:.1e}", a));
        let exact2 = Decimal::parse(&sb.buf[..sb.len]);
        if let Some(two) = two_digit_decimal(&d, &exact2, |s| s.parse::<f32>().ok() == Some(a)) {
            d = two;
        }
    }
    d.write_java(out);
}

/// `Double.toString(x)` as a `String` (tests, diagnostics).
pub fn java_double_to_string(x: f64) -> String {
    let mut v = Vec::with_capacity(26);
    write_java_f64(&mut v, x);
    String::from_utf8(v).expect("ASCII")
}

/// `Float.toString(x)` as a `String` (tests, diagnostics).
pub fn java_float_to_string(x: f32) -> String {
    let mut v = Vec::with_capacity(26);
    write_java_f32(&mut v, x);
    String::from_utf8(v).expect("ASCII")
}

// ---------------------------------------------------------------------------------------------
// Headers
// ---------------------------------------------------------------------------------------------

/// The bytes Kafka Connect's default header converter (`SimpleHeaderConverter`) writes for a
/// header: a string as its UTF-8 text; anything else as `Values.convertToString`, i.e. compact
/// JSON-like text of the value only (`{"id":1105}`, `{"icao24":"abc123","last_contact":17}`).
///
/// A null header value has no bytes in Java (the Kafka header value is `null`); here it gives an
/// empty `Vec`, so callers that must tell the two apart check `value.is_null()` first.
pub fn header_value(schema: &Schema, value: &Value) -> Vec<u8> {
    let mut out = Vec::new();
    write_header_value(&mut out, schema, value);
    out
}

/// [`header_value`] appending to `out`.
pub fn write_header_value(out: &mut Vec<u8>, schema: &Schema, value: &Value) {
    match value {
        Value::Null => {}
        Value::String(s) => out.extend_from_slice(s.as_bytes()),
        _ => append_values_string(out, Some(schema), value, false),
    }
}

/// Connect's `Values.append(sb, value, embedded)`.
fn append_values_string(out: &mut Vec<u8>, schema: Option<&Schema>, value: &Value, embedded: bool) {
    match value {
        Value::Null => match schema.and_then(|s| s.default.as_ref()) {
            Some(d) if !d.is_null() => append_values_string(out, schema, d, embedded),
            _ => out.extend_from_slice(b"null"),
        },
        Value::Boolean(b) => out.extend_from_slice(if *b { b"true" } else { b"false" }),
        Value::Int(i) => write_int(out, *i),
        Value::Float32(f) => write_java_number_plain(out, |o| write_java_f32(o, *f), f.is_finite()),
        Value::Float64(f) => write_java_number_plain(out, |o| write_java_f64(o, *f), f.is_finite()),
        Value::String(s) => {
            if embedded {
                // Values.escape: backslash and double quote only.
                out.push(b'"');
                for &b in s.as_bytes() {
                    if b == b'\\' || b == b'"' {
                        out.push(b'\\');
                    }
                    out.push(b);
                }
                out.push(b'"');
            } else {
                out.extend_from_slice(s.as_bytes());
            }
        }
        Value::Bytes(b) => {
            if embedded {
                write_base64_string(out, b);
            } else {
                let start = out.len();
                write_base64_string(out, b);
                out.remove(start);
                out.pop();
            }
        }
        Value::Array(values) => {
            let items = match schema.map(|s| &s.ty) {
                Some(SchemaType::Array(items)) => Some(&**items),
                _ => None,
            };
            out.push(b'[');
            for (i, v) in values.iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                append_values_string(out, items, v, true);
            }
            out.push(b']');
        }
        Value::Struct(values) => {
            let fields = schema.map(|s| s.fields()).unwrap_or(&[]);
            out.push(b'{');
            for (i, f) in fields.iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                append_values_string(out, None, &Value::String(f.name.clone()), true);
                out.push(b':');
                append_values_string(out, Some(&f.schema), values.get(i).unwrap_or(&Value::Null), true);
            }
            out.push(b'}');
        }
    }
}

/// Java's `String.valueOf(Number)`: like Jackson but non-finite values unquoted.
fn write_java_number_plain(out: &mut Vec<u8>, write: impl FnOnce(&mut Vec<u8>), finite: bool) {
    if finite {
        write(out);
    } else {
        let start = out.len();
        write(out);
        out.remove(start);
        out.pop();
    }
}

/// Java `toString()` of a header value, as the golden files record it: a string as itself, a
/// struct as Connect's `Struct.toString()` (`Struct{id=1105}`: `name=value` pairs of the
/// non-null fields, comma-separated), numbers and booleans as Java prints them, arrays as
/// `[a, b]`. Bytes print as base64 here (Java would print an identity hash, `[B@1b2c3d`).
pub fn header_to_java_string(schema: &Schema, value: &Value) -> String {
    let mut out = Vec::new();
    append_java_to_string(&mut out, Some(schema), value);
    String::from_utf8(out).expect("UTF-8 in, UTF-8 out")
}

fn append_java_to_string(out: &mut Vec<u8>, schema: Option<&Schema>, value: &Value) {
    match value {
        Value::Null => out.extend_from_slice(b"null"),
        Value::String(s) => out.extend_from_slice(s.as_bytes()),
        Value::Struct(values) => {
            out.extend_from_slice(b"Struct{");
            let fields = schema.map(|s| s.fields()).unwrap_or(&[]);
            let mut first = true;
            for (f, v) in fields.iter().zip(values) {
                if v.is_null() {
                    continue;
                }
                if !first {
                    out.push(b',');
                }
                first = false;
                out.extend_from_slice(f.name.as_bytes());
                out.push(b'=');
                append_java_to_string(out, Some(&f.schema), v);
            }
            out.push(b'}');
        }
        Value::Array(values) => {
            let items = match schema.map(|s| &s.ty) {
                Some(SchemaType::Array(items)) => Some(&**items),
                _ => None,
            };
            out.push(b'[');
            for (i, v) in values.iter().enumerate() {
                if i > 0 {
                    out.extend_from_slice(b", ");
                }
                append_java_to_string(out, items, v);
            }
            out.push(b']');
        }
        _ => append_values_string(out, schema, value, false),
    }
}

#[cfg(test)]
mod tests;
