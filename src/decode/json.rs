//! MySQL binary JSON (JSONB) → JSON text, the way Debezium's MySQL connector writes it.
//!
//! Debezium turns a MySQL `JSON` column into text with mysql-binlog-connector-java's `JsonBinary` +
//! `JsonStringFormatter`. Its output rules (re-implemented here from their observable behaviour):
//! * compact: no whitespace (`{"k":"v","n":[1,2]}`); object members in **storage order** (MySQL stores
//!   keys sorted by length, then bytes), not in the order they were written;
//! * strings: `"` and `\` are backslash-escaped, `\b \t \f \n \r` use their short escapes, other
//!   control characters `\u00XX` (upper-case hex); everything else (including non-ASCII) is written as is;
//! * integers in decimal; doubles as Java's `Double.toString`, except when that would use an exponent
//!   (|x| < 1e-3 or |x| ≥ 1e7), where the exact decimal expansion of the binary double is written
//!   (`new BigDecimal(double).toPlainString()`);
//! * opaque scalars: DECIMAL → plain decimal text; DATE → `"YYYY-MM-DD"`; TIME → `"[-]HH:MM:SS[.f]"`;
//!   DATETIME/TIMESTAMP → `"YYYY-MM-DD HH:MM:SS[.f]"` (fraction: micro-seconds with trailing zeros
//!   removed); any other opaque type → its raw bytes in standard base64, quoted.
//!
//! Known deliberate difference: the Java reader drops an inlined UINT32 member of a *large* object or
//! array (it checks `instanceof Integer` on a `Long`) and so emits invalid JSON; we write the number.
//! TIME opaque values with a negative sign are decoded correctly here (the Java code mis-handles them).
//!
//! Failure: malformed JSONB (bad offsets, unknown type bytes, bad opaque payloads, nesting deeper than
//! [`MAX_DEPTH`]) gives [`ValueError::Invalid`]; nothing here panics on bad input.

use std::fmt::Write as _;

use base64::Engine as _;
use mysql_common::binlog::decimal::Decimal;
use mysql_common::binlog::jsonb;
use mysql_common::constants::ColumnType;

use super::ValueError;

/// Deepest nesting accepted (MySQL itself refuses documents deeper than 100).
pub const MAX_DEPTH: usize = 150;

/// Appends the Debezium text form of a JSONB value to `out`.
pub fn jsonb_to_text(value: &jsonb::Value<'_>, out: &mut String) -> Result<(), ValueError> {
    write_value(value, out, 0)
}

fn invalid(detail: impl Into<String>) -> ValueError {
    ValueError::Invalid { what: "JSON binary value", detail: detail.into() }
}

/// `[v,…]` for the elements of a small or large JSONB array.
fn write_array<'a>(
    items: impl Iterator<Item = std::io::Result<jsonb::Value<'a>>>,
    out: &mut String,
    depth: usize,
) -> Result<(), ValueError> {
    out.push('[');
    for (i, v) in items.enumerate() {
        if i > 0 {
            out.push(',');
        }
        let v = v.map_err(|e| invalid(e.to_string()))?;
        write_value(&v, out, depth + 1)?;
    }
    out.push(']');
    Ok(())
}

/// `{"k":v,…}` for the entries of a small or large JSONB object.
fn write_object<'a>(
    entries: impl Iterator<Item = std::io::Result<(jsonb::ObjectKey<'a>, jsonb::Value<'a>)>>,
    out: &mut String,
    depth: usize,
) -> Result<(), ValueError> {
    out.push('{');
    for (i, kv) in entries.enumerate() {
        if i > 0 {
            out.push(',');
        }
        let (k, v) = kv.map_err(|e| invalid(e.to_string()))?;
        write_string(&String::from_utf8_lossy(k.value_raw()), out);
        out.push(':');
        write_value(&v, out, depth + 1)?;
    }
    out.push('}');
    Ok(())
}

fn write_value(value: &jsonb::Value<'_>, out: &mut String, depth: usize) -> Result<(), ValueError> {
    if depth > MAX_DEPTH {
        return Err(invalid(format!("nested deeper than {MAX_DEPTH} levels")));
    }
    use jsonb::Value as J;
    match value {
        J::Null => out.push_str("null"),
        J::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        J::I16(x) => write_int(out, *x as i64),
        J::U16(x) => write_int(out, *x as i64),
        J::I32(x) => write_int(out, *x as i64),
        J::U32(x) => write_int(out, *x as i64),
        J::I64(x) => write_int(out, *x),
        J::U64(x) => {
            let _ = write!(out, "{x}");
        }
        J::F64(x) => write_java_double(*x, out),
        J::String(s) => write_string(&String::from_utf8_lossy(s.str_raw()), out),
        J::SmallArray(a) => write_array(a.iter(), out, depth)?,
        J::LargeArray(a) => write_array(a.iter(), out, depth)?,
        J::SmallObject(o) => write_object(o.iter(), out, depth)?,
        J::LargeObject(o) => write_object(o.iter(), out, depth)?,
        J::Opaque(o) => write_opaque(o.value_type(), o.data_raw(), out)?,
    }
    Ok(())
}

fn write_int(out: &mut String, x: i64) {
    let _ = write!(out, "{x}");
}

/// JSON string with JsonStringFormatter's escaping rules (Jackson's, non-ASCII left raw).
pub(crate) fn write_string(s: &str, out: &mut String) {
    crate::encode::json::write_jackson_str(s, out);
}

fn write_opaque(ty: ColumnType, data: &[u8], out: &mut String) -> Result<(), ValueError> {
    use ColumnType::*;
    match ty {
        MYSQL_TYPE_NEWDECIMAL | MYSQL_TYPE_DECIMAL => {
            let (precision, scale, bin) = match data {
                [p, s, rest @ ..] => (*p as usize, *s as usize, rest),
                _ => return Err(invalid("opaque DECIMAL shorter than 2 bytes")),
            };
            if precision == 0 || precision > 65 || scale > 30 || scale > precision {
                return Err(invalid(format!("opaque DECIMAL({precision},{scale})")));
            }
            let dec = Decimal::read_bin(bin, precision, scale, false).map_err(|e| invalid(e.to_string()))?;
            let _ = write!(out, "{dec}");
        }
        MYSQL_TYPE_DATE | MYSQL_TYPE_NEWDATE => {
            let (neg, int_part, _) = packed(data)?;
            let (y, m, d) = ymd(int_part);
            out.push('"');
            if neg {
                out.push('-');
            }
            let _ = write!(out, "{y:04}-{m:02}-{d:02}");
            out.push('"');
        }
        MYSQL_TYPE_TIME | MYSQL_TYPE_TIME2 => {
            let (neg, int_part, frac) = packed(data)?;
            let hour = (int_part >> 12) % (1 << 10);
            let min = (int_part >> 6) % (1 << 6);
            let sec = int_part % (1 << 6);
            out.push('"');
            if neg {
                out.push('-');
            }
            let _ = write!(out, "{hour:02}:{min:02}:{sec:02}");
            write_trimmed_micros(frac, out);
            out.push('"');
        }
        MYSQL_TYPE_DATETIME | MYSQL_TYPE_DATETIME2 | MYSQL_TYPE_TIMESTAMP | MYSQL_TYPE_TIMESTAMP2 => {
            let (_, int_part, frac) = packed(data)?;
            let (y, mo, d) = ymd(int_part);
            let hms = int_part % (1 << 17);
            let (h, mi, s) = (hms >> 12, (hms >> 6) % (1 << 6), hms % (1 << 6));
            let _ = write!(out, "\"{y:04}-{mo:02}-{d:02} {h:02}:{mi:02}:{s:02}");
            write_trimmed_micros(frac, out);
            out.push('"');
        }
        _ => {
            out.push('"');
            base64::engine::general_purpose::STANDARD.encode_string(data, out);
            out.push('"');
        }
    }
    Ok(())
}

/// Splits a MySQL "packed" temporal (8-byte little-endian i64) into sign, integer part, micro-seconds.
fn packed(data: &[u8]) -> Result<(bool, u64, u64), ValueError> {
    let raw = data
        .first_chunk::<8>()
        .map(|b| i64::from_le_bytes(*b))
        .ok_or_else(|| invalid("opaque temporal value shorter than 8 bytes"))?;
    let neg = raw < 0;
    let abs = raw.unsigned_abs();
    Ok((neg, abs >> 24, abs % (1 << 24)))
}

fn ymd(int_part: u64) -> (u64, u64, u64) {
    let ymd = int_part >> 17;
    let ym = ymd >> 5;
    (ym / 13, ym % 13, ymd % (1 << 5))
}

fn write_trimmed_micros(mut micros: u64, out: &mut String) {
    if micros == 0 {
        return;
    }
    micros %= 1_000_000;
    let mut digits = format!("{micros:06}");
    while digits.ends_with('0') {
        digits.pop();
    }
    out.push('.');
    out.push_str(&digits);
}

/// Java `Double.toString`, or the exact plain expansion where Java would use an exponent
/// (JsonStringFormatter's rule). Non-finite values cannot occur in JSONB; they are written as `null`.
pub fn write_java_double(x: f64, out: &mut String) {
    if !x.is_finite() {
        out.push_str("null");
        return;
    }
    if x == 0.0 {
        out.push_str(if x.is_sign_negative() { "-0.0" } else { "0.0" });
        return;
    }
    let a = x.abs();
    if !(1e-3..1e7).contains(&a) {
        write_exact_double(x, out);
        return;
    }
    if x < 0.0 {
        out.push('-');
    }
    // Shortest round-trip digits and the decimal exponent of the first digit.
    let sci = format!("{a:e}");
    let (mant, exp) = sci.split_once('e').unwrap_or((&sci, "0"));
    let exp: i32 = exp.parse().unwrap_or(0);
    let digits: String = mant.chars().filter(|c| c.is_ascii_digit()).collect();
    if exp >= 0 {
        let int_len = exp as usize + 1;
        if digits.len() <= int_len {
            out.push_str(&digits);
            for _ in digits.len()..int_len {
                out.push('0');
            }
            out.push_str(".0");
        } else {
            out.push_str(&digits[..int_len]);
            out.push('.');
            out.push_str(&digits[int_len..]);
        }
    } else {
        out.push_str("0.");
        for _ in 0..(-exp - 1) {
            out.push('0');
        }
        out.push_str(&digits);
    }
}

/// Exact decimal value of a finite, non-zero double (Java `new BigDecimal(x).toPlainString()`).
fn write_exact_double(x: f64, out: &mut String) {
    let bits = x.to_bits();
    let neg = bits >> 63 == 1;
    let exp_bits = ((bits >> 52) & 0x7ff) as i32;
    let frac = bits & ((1u64 << 52) - 1);
    let (mut m, mut e) = if exp_bits == 0 { (frac, -1074) } else { (frac | (1u64 << 52), exp_bits - 1075) };
    while m & 1 == 0 && m != 0 {
        m >>= 1;
        e += 1;
    }
    if neg {
        out.push('-');
    }
    let mut n = BigUint::from_u64(m);
    if e >= 0 {
        for _ in 0..e {
            n.mul_small(2);
        }
        out.push_str(&n.to_decimal());
    } else {
        let k = (-e) as usize;
        for _ in 0..k {
            n.mul_small(5);
        }
        let digits = n.to_decimal();
        if digits.len() > k {
            out.push_str(&digits[..digits.len() - k]);
            out.push('.');
            out.push_str(&digits[digits.len() - k..]);
        } else {
            out.push_str("0.");
            for _ in digits.len()..k {
                out.push('0');
            }
            out.push_str(&digits);
        }
    }
}

/// Minimal unsigned big integer (little-endian base-2^32 limbs) for exact double expansion.
struct BigUint(Vec<u32>);

impl BigUint {
    fn from_u64(v: u64) -> BigUint {
        BigUint(vec![v as u32, (v >> 32) as u32])
    }
    fn mul_small(&mut self, k: u32) {
        let mut carry = 0u64;
        for limb in self.0.iter_mut() {
            let t = *limb as u64 * k as u64 + carry;
            *limb = t as u32;
            carry = t >> 32;
        }
        if carry > 0 {
            self.0.push(carry as u32);
        }
    }
    fn to_decimal(&self) -> String {
        let mut limbs = self.0.clone();
        let mut chunks = Vec::new();
        loop {
            while limbs.last() == Some(&0) {
                limbs.pop();
            }
            if limbs.is_empty() {
                break;
            }
            let mut rem = 0u64;
            for limb in limbs.iter_mut().rev() {
                let cur = (rem << 32) | *limb as u64;
                *limb = (cur / 1_000_000_000) as u32;
                rem = cur % 1_000_000_000;
            }
            chunks.push(rem as u32);
        }
        let mut s = String::new();
        match chunks.split_last() {
            None => s.push('0'),
            Some((first, rest)) => {
                let _ = write!(s, "{first}");
                for c in rest.iter().rev() {
                    let _ = write!(s, "{c:09}");
                }
            }
        }
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(x: f64) -> String {
        let mut s = String::new();
        write_java_double(x, &mut s);
        s
    }

    #[test]
    fn java_double_rules() {
        assert_eq!(d(9.0), "9.0");
        assert_eq!(d(123.456), "123.456");
        assert_eq!(d(0.001), "0.001");
        assert_eq!(d(1234567.0), "1234567.0");
        assert_eq!(d(-2.5), "-2.5");
        assert_eq!(d(1e7), "10000000");
        assert_eq!(d(0.5e-3), "0.0005000000000000000104083408558608425664715468883514404296875");
        assert_eq!(d(1e20), "100000000000000000000");
        assert_eq!(d(0.0), "0.0");
    }

    #[test]
    fn string_escapes() {
        let mut s = String::new();
        write_string("a\"b\\c\n\u{1}é", &mut s);
        assert_eq!(s, "\"a\\\"b\\\\c\\n\\u0001é\"");
    }
}
