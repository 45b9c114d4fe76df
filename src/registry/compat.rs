//! Schema validation, canonical form and compatibility checks.
//!
//! * **Validation**: a schema is valid when it is JSON and `apache-avro` parses it into a schema
//!   (named types resolve, names are legal, unions are well formed…). Anything else is 42201.
//! * **Canonical form** (what "the same schema" means for ids and lookups): the schema JSON with every
//!   object's keys sorted, whitespace dropped, and `{"type":"<primitive>"}` written as `"<primitive>"`.
//!   Unlike Avro's Parsing Canonical Form it keeps `doc`, `default`, `aliases` and custom properties
//!   such as `connect.name`: Confluent's registry treats two schemas differing only there as different
//!   schemas (Debezium's `connect.default` changes with a column default), and so do we. Key order and
//!   layout do not matter, as with Confluent (which compares Avro's `Schema.toString()`).
//! * **Compatibility**, per Confluent's levels: BACKWARD = the new schema can read data written with
//!   the previous one; FORWARD = data written with the new schema can be read with the previous one;
//!   FULL = both. Plain levels compare with the latest live version, `*_TRANSITIVE` with every live
//!   version. The reader/writer check itself is `apache_avro::schema_compatibility::SchemaCompatibility`
//!   (field defaults, type promotion, union branches, enum symbols, fixed sizes, names). Aliases are
//!   not honoured (apache-avro does not implement them), so a rename via aliases is reported
//!   incompatible where Java's check would accept it.
//!
//! Library calls are wrapped in `catch_unwind`: a panic inside the Avro library on some input becomes
//! a 42201 / an "incompatible" answer instead of a dropped connection.

use std::fmt;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::str::FromStr;

use apache_avro::schema_compatibility::SchemaCompatibility;
use apache_avro::Schema;
use serde_json::Value;

/// Confluent's compatibility levels.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Level {
    None,
    #[default]
    Backward,
    BackwardTransitive,
    Forward,
    ForwardTransitive,
    Full,
    FullTransitive,
}

impl Level {
    pub fn as_str(self) -> &'static str {
        match self {
            Level::None => "NONE",
            Level::Backward => "BACKWARD",
            Level::BackwardTransitive => "BACKWARD_TRANSITIVE",
            Level::Forward => "FORWARD",
            Level::ForwardTransitive => "FORWARD_TRANSITIVE",
            Level::Full => "FULL",
            Level::FullTransitive => "FULL_TRANSITIVE",
        }
    }

    /// Compare with every live version (true) or only the latest (false).
    pub fn transitive(self) -> bool {
        matches!(self, Level::BackwardTransitive | Level::ForwardTransitive | Level::FullTransitive)
    }

    fn backward(self) -> bool {
        matches!(self, Level::Backward | Level::BackwardTransitive | Level::Full | Level::FullTransitive)
    }

    fn forward(self) -> bool {
        matches!(self, Level::Forward | Level::ForwardTransitive | Level::Full | Level::FullTransitive)
    }
}

impl fmt::Display for Level {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Level {
    type Err = ();
    /// Case-insensitive, as Confluent's registry accepts it.
    fn from_str(s: &str) -> Result<Level, ()> {
        Ok(match s.to_ascii_uppercase().as_str() {
            "NONE" => Level::None,
            "BACKWARD" => Level::Backward,
            "BACKWARD_TRANSITIVE" => Level::BackwardTransitive,
            "FORWARD" => Level::Forward,
            "FORWARD_TRANSITIVE" => Level::ForwardTransitive,
            "FULL" => Level::Full,
            "FULL_TRANSITIVE" => Level::FullTransitive,
            _ => return Err(()),
        })
    }
}

/// A schema that parsed: its Avro model, its canonical form and its compact text (the submitted JSON
/// with whitespace removed and key order kept: what the registry stores and returns).
#[derive(Debug, Clone)]
pub struct ParsedSchema {
    pub schema: Schema,
    pub canonical: String,
    pub text: String,
}

/// Validate a schema string (42201 material on error).
pub fn parse(text: &str) -> Result<ParsedSchema, String> {
    let json: Value = serde_json::from_str(text).map_err(|e| format!("not JSON: {e}"))?;
    let schema = match catch_unwind(AssertUnwindSafe(|| Schema::parse(&json))) {
        Ok(Ok(s)) => s,
        Ok(Err(e)) => return Err(e.to_string()),
        Err(_) => return Err("the Avro parser failed on this schema".to_string()),
    };
    Ok(ParsedSchema { schema, canonical: canonical_value(&json), text: json.to_string() })
}

/// Canonical form of a schema string; text that is not JSON is its own canonical form (records
/// written by someone else are kept, not rejected, on replay).
pub fn canonical(text: &str) -> String {
    match serde_json::from_str::<Value>(text) {
        Ok(v) => canonical_value(&v),
        Err(_) => text.to_string(),
    }
}

fn canonical_value(v: &Value) -> String {
    let mut out = String::new();
    write_canonical(v, &mut out);
    out
}

const PRIMITIVES: &[&str] = &["null", "boolean", "int", "long", "float", "double", "bytes", "string"];

fn write_canonical(v: &Value, out: &mut String) {
    match v {
        Value::Object(m) => {
            if m.len() == 1 {
                if let Some(Value::String(t)) = m.get("type") {
                    if PRIMITIVES.contains(&t.as_str()) {
                        out.push_str(&Value::String(t.clone()).to_string());
                        return;
                    }
                }
            }
            let mut keys: Vec<&String> = m.keys().collect();
            keys.sort();
            out.push('{');
            for (i, k) in keys.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                out.push_str(&Value::String((*k).clone()).to_string());
                out.push(':');
                write_canonical(&m[k.as_str()], out);
            }
            out.push('}');
        }
        Value::Array(a) => {
            out.push('[');
            for (i, x) in a.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_canonical(x, out);
            }
            out.push(']');
        }
        other => out.push_str(&other.to_string()),
    }
}

/// Check `new` against `existing` (oldest first) under `level`. Returns the reasons it is
/// incompatible; empty means compatible. Non-transitive levels look at the last element only.
pub fn check(level: Level, new: &Schema, existing: &[&Schema]) -> Vec<String> {
    if level == Level::None {
        return Vec::new();
    }
    let against: &[&Schema] = if level.transitive() {
        existing
    } else {
        match existing.last() {
            Some(_) => &existing[existing.len() - 1..],
            None => &[],
        }
    };
    let mut reasons = Vec::new();
    for old in against {
        reasons.extend(check_pair(level, new, old));
    }
    reasons
}

/// Check `new` against one version `old` under `level`'s direction (transitivity does not apply).
pub fn check_pair(level: Level, new: &Schema, old: &Schema) -> Vec<String> {
    let mut reasons = Vec::new();
    if level.backward() {
        if let Err(e) = can_read(old, new) {
            reasons.push(format!("BACKWARD: the new schema cannot read data written with an earlier one: {e}"));
        }
    }
    if level.forward() {
        if let Err(e) = can_read(new, old) {
            reasons.push(format!("FORWARD: an earlier schema cannot read data written with the new one: {e}"));
        }
    }
    reasons
}

fn can_read(writer: &Schema, reader: &Schema) -> Result<(), String> {
    match catch_unwind(AssertUnwindSafe(|| SchemaCompatibility::can_read(writer, reader))) {
        Ok(Ok(())) => Ok(()),
        Ok(Err(e)) => Err(shorten(e.to_string())),
        Err(_) => Err("the Avro compatibility checker failed on these schemas".to_string()),
    }
}

/// apache-avro's messages may embed whole schemas in Debug form: keep them readable.
fn shorten(mut s: String) -> String {
    const MAX: usize = 400;
    if s.len() > MAX {
        let mut cut = MAX;
        while !s.is_char_boundary(cut) {
            cut -= 1;
        }
        s.truncate(cut);
        s.push('…');
    }
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(s: &str) -> Schema {
        parse(s).unwrap().schema
    }

    const V1: &str = r#"{"type":"record","name":"r","fields":[{"name":"a","type":"int"}]}"#;
    // adds a field with a default: BACKWARD and FORWARD compatible
    const V2_DEFAULT: &str = r#"{"type":"record","name":"r","fields":[{"name":"a","type":"int"},{"name":"b","type":"string","default":"x"}]}"#;
    // adds a field without default: FORWARD only
    const V2_NO_DEFAULT: &str =
        r#"{"type":"record","name":"r","fields":[{"name":"a","type":"int"},{"name":"b","type":"string"}]}"#;

    #[test]
    fn canonical_ignores_layout_and_key_order_but_keeps_properties() {
        let a = r#"{"type":"record","name":"r","fields":[{"name":"a","type":"int"}]}"#;
        let b = r#"{ "name": "r", "fields": [ {"type": {"type":"int"}, "name": "a"} ], "type": "record" }"#;
        assert_eq!(parse(a).unwrap().canonical, parse(b).unwrap().canonical);
        let c = r#"{"type":"record","name":"r","fields":[{"name":"a","type":"int"}],"connect.version":2}"#;
        assert_ne!(parse(a).unwrap().canonical, parse(c).unwrap().canonical);
        assert_eq!(
            parse(b).unwrap().text,
            r#"{"name":"r","fields":[{"type":{"type":"int"},"name":"a"}],"type":"record"}"#
        );
    }

    #[test]
    fn invalid_schemas_are_rejected() {
        assert!(parse("{").is_err());
        assert!(parse(r#"{"type":"nope"}"#).is_err());
        assert!(parse(r#"{"type":"record","name":"r","fields":[{"name":"a","type":"Missing"}]}"#).is_err());
        assert!(parse(r#""string""#).is_ok());
    }

    #[test]
    fn levels() {
        let (v1, d, nd) = (p(V1), p(V2_DEFAULT), p(V2_NO_DEFAULT));
        assert!(check(Level::Backward, &d, &[&v1]).is_empty());
        assert!(check(Level::Full, &d, &[&v1]).is_empty());
        assert!(!check(Level::Backward, &nd, &[&v1]).is_empty());
        assert!(check(Level::Forward, &nd, &[&v1]).is_empty());
        assert!(!check(Level::Full, &nd, &[&v1]).is_empty());
        assert!(check(Level::None, &p(r#""string""#), &[&v1]).is_empty());
        // transitive: v1 (int a) → v2 (a removed, b with default) → v3 (a back without default)
        let v2 = p(r#"{"type":"record","name":"r","fields":[{"name":"b","type":"string","default":"x"}]}"#);
        let v3 = p(
            r#"{"type":"record","name":"r","fields":[{"name":"b","type":"string","default":"x"},{"name":"a","type":"string"}]}"#,
        );
        assert!(check(Level::Forward, &v3, &[&v1, &v2]).is_empty());
        assert!(!check(Level::ForwardTransitive, &v3, &[&v1, &v2]).is_empty());
        assert_eq!("full_transitive".parse::<Level>(), Ok(Level::FullTransitive));
        assert!("sideways".parse::<Level>().is_err());
    }
}
