//! JSON text of history records as Debezium's `DocumentWriter` (Jackson) writes it: compact for
//! `FileSchemaHistory` (one record per line), and Jackson's `DefaultPrettyPrinter` layout for
//! `KafkaSchemaHistory` (it stores `HistoryRecord.toString()`, which is pretty-printed):
//!
//! ```text
//! {
//!   "source" : {
//!     "server" : "dbserver1"
//!   },
//!   "tableChanges" : [ {
//!     "type" : "DROP"
//!   } ],
//!   "empty" : [ ]
//! }
//! ```
//!
//! Objects keep their key order (serde_json `preserve_order`); strings are escaped like Jackson.

use serde_json::Value;

use crate::encode::json::write_jackson_str;

/// Compact JSON (`{"a":1,"b":[1,2]}`).
pub fn compact(v: &Value) -> String {
    let mut out = String::with_capacity(256);
    write(v, None, 0, &mut out);
    out
}

/// Jackson's default pretty printer (2-space object indentation, arrays on one line, `" : "`).
pub fn pretty(v: &Value) -> String {
    let mut out = String::with_capacity(512);
    write(v, Some(()), 0, &mut out);
    out
}

fn newline(out: &mut String, level: usize) {
    out.push('\n');
    for _ in 0..level {
        out.push_str("  ");
    }
}

/// `pretty`: `Some` for the pretty layout; `level`: object nesting (arrays do not indent).
fn write(v: &Value, pretty: Option<()>, level: usize, out: &mut String) {
    match v {
        Value::Null => out.push_str("null"),
        Value::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        Value::Number(n) => out.push_str(&n.to_string()),
        Value::String(s) => write_jackson_str(s, out),
        Value::Array(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                if pretty.is_some() {
                    out.push(' ');
                }
                write(item, pretty, level, out);
            }
            if pretty.is_some() {
                out.push(' ');
            }
            out.push(']');
        }
        Value::Object(map) => {
            out.push('{');
            for (i, (k, item)) in map.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                if pretty.is_some() {
                    newline(out, level + 1);
                }
                write_jackson_str(k, out);
                out.push_str(if pretty.is_some() { " : " } else { ":" });
                write(item, pretty, level + 1, out);
            }
            if pretty.is_some() {
                if map.is_empty() {
                    out.push(' ');
                } else {
                    newline(out, level);
                }
            }
            out.push('}');
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn compact_keeps_order_and_escapes_like_jackson() {
        let v: Value = serde_json::from_str(r#"{"b":1,"a":[true,null,"x\u0001\n"],"c":{}}"#).unwrap();
        assert_eq!(compact(&v), r#"{"b":1,"a":[true,null,"x\u0001\n"],"c":{}}"#);
    }

    #[test]
    fn pretty_matches_jacksons_default_pretty_printer() {
        let v: Value =
            serde_json::from_str(r#"{"source":{"server":"s"},"n":1,"t":[{"type":"DROP","id":"x"}],"e":[],"o":{}}"#)
                .unwrap();
        let want = "{\n  \"source\" : {\n    \"server\" : \"s\"\n  },\n  \"n\" : 1,\n  \"t\" : [ {\n    \"type\" : \"DROP\",\n    \"id\" : \"x\"\n  } ],\n  \"e\" : [ ],\n  \"o\" : { }\n}";
        assert_eq!(pretty(&v), want);
        assert_eq!(serde_json::from_str::<Value>(&pretty(&v)).unwrap(), v);
    }
}
