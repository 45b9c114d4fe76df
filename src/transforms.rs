//! The two single message transforms users pair with Debezium, configured the Kafka Connect way
//! (`transforms=unwrap,route`, `transforms.<name>.type=...`, `transforms.<name>.<option>=...`):
//!
//! * `io.debezium.transforms.ExtractNewRecordState` (unwrap): a change record's value becomes its
//!   row (`after`, for a rewritten delete `before`), its schema the row schema
//!   (`<topic>.Value`, required). `delete.tombstone.handling.mode`: `tombstone` (default: a delete
//!   becomes a record with a null value under the optional row schema — JsonConverter writes
//!   `{"schema":…,"payload":null}`, AvroConverter a Kafka null — and the tombstone after it is
//!   dropped), `drop`, `rewrite` (the `before` row plus `__deleted: "true"`; other records get
//!   `"false"`; tombstones dropped), `rewrite-with-tombstone` (rewrite, tombstones kept).
//!   `add.fields` / `add.headers` (with `add.fields.prefix` / `add.headers.prefix`, default `__`)
//!   copy envelope fields (`op`, `ts_ms`, …) or `source` fields (`table`, `source.ts_ms`, …) into
//!   optional fields after `__deleted`, or into headers after Debezium's own. Records that are not
//!   change envelopes (schema changes, heartbeats, transaction records) pass unchanged.
//! * `io.debezium.transforms.ByLogicalTableRouter` (route): a data topic matching `topic.regex`
//!   is renamed by `topic.replacement` (`$1` groups, Java syntax); its key gains the field
//!   `key.field.name` (default `__dbz__physicalTableIdentifier`) holding the original topic
//!   (`key.enforce.uniqueness`, default true), and the key, envelope and row schemas are renamed
//!   after the new topic. Only change records' topics are routed.
//!
//! Both act on a table's schemas once per table version (`TableSchemas`), and on each record's
//! values by moving struct fields, so the hot path allocates no schema. Everything is checked
//! against the real Debezium's output (tests/oracle: runs unwrap, unwrap_rewrite, route).
//! Hand-written: these are Java classes of Debezium; no Rust crate implements them.

use std::sync::Arc;

use crate::config::{ConfigError, Properties};
use crate::connect::{Field, Schema, SchemaType, Value};

const UNWRAP: &str = "io.debezium.transforms.ExtractNewRecordState";
/// Most `add.headers` entries (records keep their headers on the stack).
pub const MAX_ADDED_HEADERS: usize = 3;
const ROUTER: &str = "io.debezium.transforms.ByLogicalTableRouter";

/// The configured transforms, in chain order.
#[derive(Debug, Clone, Default)]
pub struct Transforms {
    pub unwrap: Option<Unwrap>,
    pub route: Option<Route>,
}

impl Transforms {
    pub fn is_empty(&self) -> bool {
        self.unwrap.is_none() && self.route.is_none()
    }

    /// Parse `transforms` and `transforms.<name>.*` from the connector's Connect properties.
    pub fn from_properties(props: &Properties) -> Result<Transforms, ConfigError> {
        let mut out = Transforms::default();
        let Some(list) = props.get("transforms").filter(|l| !l.trim().is_empty()) else { return Ok(out) };
        for name in list.split(',').map(str::trim).filter(|n| !n.is_empty()) {
            let key = |opt: &str| format!("transforms.{name}.{opt}");
            let get = |opt: &str| props.get(&key(opt)).map(str::trim);
            for unsupported in ["predicate", "negate"] {
                if let Some(v) = get(unsupported) {
                    return Err(ConfigError::invalid(&key(unsupported), v, "transform predicates are not supported"));
                }
            }
            let Some(ty) = get("type") else { return Err(ConfigError::Missing { property: key("type") }) };
            match ty {
                UNWRAP if out.unwrap.is_none() => out.unwrap = Some(Unwrap::parse(name, props)?),
                ROUTER if out.route.is_none() => out.route = Some(Route::parse(name, props)?),
                UNWRAP | ROUTER => {
                    return Err(ConfigError::invalid(&key("type"), ty, "this transform is already in the chain once"))
                }
                _ => {
                    return Err(ConfigError::invalid(
                        &key("type"),
                        ty,
                        format!("supported transforms: {UNWRAP}, {ROUTER}"),
                    ))
                }
            }
        }
        Ok(out)
    }
}

/// `delete.tombstone.handling.mode`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeleteMode {
    Tombstone,
    Drop,
    Rewrite,
    RewriteWithTombstone,
}

/// Where an added field or header takes its value from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FieldSource {
    /// A top-level envelope field (`op`, `ts_ms`, `ts_us`, `ts_ns`).
    Envelope(usize),
    /// A `source` field, by index in the Source schema.
    Source(usize),
}

/// One `add.fields` / `add.headers` entry: output name, origin, schema (made optional).
#[derive(Debug, Clone)]
pub struct Added {
    pub name: String,
    pub from: FieldSource,
    pub schema: Arc<Schema>,
}

/// ExtractNewRecordState settings.
#[derive(Debug, Clone)]
pub struct Unwrap {
    pub delete_mode: DeleteMode,
    pub fields: Vec<Added>,
    pub headers: Vec<Added>,
}

/// The envelope fields after `source` and `transaction` (index into the envelope struct).
const ENVELOPE_FIELDS: &[(&str, usize)] = &[("op", 4), ("ts_ms", 5), ("ts_us", 6), ("ts_ns", 7)];

impl Unwrap {
    fn parse(name: &str, props: &Properties) -> Result<Unwrap, ConfigError> {
        let key = |opt: &str| format!("transforms.{name}.{opt}");
        let get = |opt: &str| props.get(&key(opt)).map(str::trim);
        let delete_mode = match get("delete.tombstone.handling.mode") {
            None | Some("tombstone") => DeleteMode::Tombstone,
            Some("drop") => DeleteMode::Drop,
            Some("rewrite") => DeleteMode::Rewrite,
            Some("rewrite-with-tombstone") => DeleteMode::RewriteWithTombstone,
            Some(v) => {
                return Err(ConfigError::invalid(
                    &key("delete.tombstone.handling.mode"),
                    v,
                    "expected tombstone, drop, rewrite or rewrite-with-tombstone",
                ))
            }
        };
        for legacy in ["delete.handling.mode", "drop.tombstones", "route.by.field", "drop.fields.header.name"] {
            if let Some(v) = get(legacy) {
                return Err(ConfigError::invalid(
                    &key(legacy),
                    v,
                    "not supported (removed in Debezium 3; use delete.tombstone.handling.mode)",
                ));
            }
        }
        let source = crate::envelope::source_schema();
        let list = |opt: &str, prefix_opt: &str| -> Result<Vec<Added>, ConfigError> {
            let prefix = get(prefix_opt).unwrap_or("__");
            let mut out = Vec::new();
            for item in get(opt).unwrap_or("").split(',').map(str::trim).filter(|s| !s.is_empty()) {
                out.push(added(item, prefix, &source).ok_or_else(|| {
                    ConfigError::invalid(&key(opt), item, "not a field of the change envelope or of its source block")
                })?);
            }
            Ok(out)
        };
        let headers = list("add.headers", "add.headers.prefix")?;
        if headers.len() > MAX_ADDED_HEADERS {
            let v = get("add.headers").unwrap_or("");
            return Err(ConfigError::invalid(&key("add.headers"), v, format!("at most {MAX_ADDED_HEADERS} headers")));
        }
        Ok(Unwrap { delete_mode, fields: list("add.fields", "add.fields.prefix")?, headers })
    }

    /// The value schema of unwrapped records: the row's fields, `__deleted` (rewrite modes), then
    /// the added fields; named like the row schema, required.
    pub fn value_schema(&self, row: &Schema) -> Arc<Schema> {
        let mut fields: Vec<Field> = row.fields().to_vec();
        if matches!(self.delete_mode, DeleteMode::Rewrite | DeleteMode::RewriteWithTombstone) {
            fields.push(Field::new("__deleted", Schema::new(SchemaType::String).optional().arc()));
        }
        fields.extend(self.fields.iter().map(|a| Field::new(a.name.as_str(), a.schema.clone())));
        let mut s = Schema::new(SchemaType::Struct(fields)).required();
        s.name = row.name.clone();
        s.version = row.version;
        s.arc()
    }

    /// The unwrapped value of an envelope (`before`, `after`, `source`, `transaction`, `op`, ...),
    /// or None when the record is dropped. `Some(Value::Null)`: a delete turned into a tombstone
    /// (encode it under the optional row schema).
    pub fn value(&self, envelope: Value) -> Option<Value> {
        let Value::Struct(mut env) = envelope else { return Some(envelope) };
        let is_delete = matches!(env.get(4), Some(Value::String(op)) if op == "d");
        if matches!(env.get(4), Some(Value::String(op)) if op == "t") {
            return None; // a TRUNCATE has no row to extract
        }
        let rewrite = matches!(self.delete_mode, DeleteMode::Rewrite | DeleteMode::RewriteWithTombstone);
        if is_delete {
            match self.delete_mode {
                DeleteMode::Tombstone => return Some(Value::Null),
                DeleteMode::Drop => return None,
                DeleteMode::Rewrite | DeleteMode::RewriteWithTombstone => {}
            }
        }
        let added: Vec<Value> = self.fields.iter().map(|a| pick(&env, &a.from)).collect();
        let row = std::mem::replace(&mut env[usize::from(!is_delete)], Value::Null);
        let Value::Struct(mut fields) = row else { return Some(Value::Null) };
        if rewrite {
            fields.push(Value::str(if is_delete { "true" } else { "false" }));
        }
        fields.extend(added);
        Some(Value::Struct(fields))
    }

    /// Whether a tombstone (the record after a delete) is kept.
    pub fn keeps_tombstones(&self) -> bool {
        self.delete_mode == DeleteMode::RewriteWithTombstone
    }

    /// `add.headers` of an envelope: (name, header bytes as Connect's SimpleHeaderConverter
    /// writes them; None for a null value).
    pub fn header_values(&self, envelope: &Value) -> Vec<(String, Option<Vec<u8>>)> {
        let Value::Struct(env) = envelope else { return Vec::new() };
        self.headers
            .iter()
            .map(|a| {
                let bytes = match pick(env, &a.from) {
                    Value::String(s) => Some(s.into_bytes()),
                    Value::Int(i) => Some(i.to_string().into_bytes()),
                    Value::Null => None,
                    other => Some(format!("{other:?}").into_bytes()),
                };
                (a.name.clone(), bytes)
            })
            .collect()
    }
}

/// `op` → the envelope's `op`; `source.ts_ms` / `table` → a source field; None if neither.
fn added(item: &str, prefix: &str, source: &Schema) -> Option<Added> {
    let out_name = format!("{prefix}{}", item.replace('.', "_"));
    let optional = |s: &Schema| {
        let mut s = s.clone();
        s.optional = true;
        s.default = None;
        s.arc()
    };
    let source_field = |name: &str| {
        source.fields().iter().position(|f| f.name == name).map(|i| Added {
            name: out_name.clone(),
            from: FieldSource::Source(i),
            schema: optional(&source.fields()[i].schema),
        })
    };
    if let Some(name) = item.strip_prefix("source.") {
        return source_field(name);
    }
    if let Some(&(_, i)) = ENVELOPE_FIELDS.iter().find(|(n, _)| *n == item) {
        let schema = if item == "op" { Schema::new(SchemaType::String) } else { Schema::new(SchemaType::Int64) };
        return Some(Added { name: out_name, from: FieldSource::Envelope(i), schema: optional(&schema) });
    }
    source_field(item)
}

fn pick(env: &[Value], from: &FieldSource) -> Value {
    match from {
        FieldSource::Envelope(i) => env.get(*i).cloned().unwrap_or(Value::Null),
        FieldSource::Source(i) => match env.get(2) {
            Some(Value::Struct(src)) => src.get(*i).cloned().unwrap_or(Value::Null),
            _ => Value::Null,
        },
    }
}

/// ByLogicalTableRouter settings.
#[derive(Debug, Clone)]
pub struct Route {
    pub regex: regex::Regex,
    /// The replacement with Java's `$1` groups rewritten for `regex` (`${1}`).
    pub replacement: String,
    /// `key.field.name` when `key.enforce.uniqueness` (default true).
    pub key_field: Option<String>,
}

impl Route {
    fn parse(name: &str, props: &Properties) -> Result<Route, ConfigError> {
        let key = |opt: &str| format!("transforms.{name}.{opt}");
        let get = |opt: &str| props.get(&key(opt)).map(str::trim);
        let regex_text = get("topic.regex").ok_or_else(|| ConfigError::Missing { property: key("topic.regex") })?;
        // Connect matches the whole topic name (Matcher.matches()).
        let regex = regex::Regex::new(&format!("^(?:{regex_text})$"))
            .map_err(|e| ConfigError::invalid(&key("topic.regex"), regex_text, e.to_string()))?;
        let replacement =
            get("topic.replacement").ok_or_else(|| ConfigError::Missing { property: key("topic.replacement") })?;
        let replacement = java_replacement(replacement);
        for unsupported in ["key.field.regex", "key.field.replacement", "schema.name.adjustment.mode"] {
            if let Some(v) = get(unsupported) {
                return Err(ConfigError::invalid(&key(unsupported), v, "not supported yet"));
            }
        }
        let enforce = match get("key.enforce.uniqueness") {
            None | Some("true") => true,
            Some("false") => false,
            Some(v) => return Err(ConfigError::invalid(&key("key.enforce.uniqueness"), v, "expected true or false")),
        };
        let field = get("key.field.name").unwrap_or("__dbz__physicalTableIdentifier").to_string();
        Ok(Route { regex, replacement, key_field: enforce.then_some(field) })
    }

    /// The new topic of `topic`, if the regex matches it.
    pub fn topic(&self, topic: &str) -> Option<String> {
        self.regex.is_match(topic).then(|| self.regex.replace(topic, self.replacement.as_str()).into_owned())
    }
}

/// Java's `Matcher.replaceFirst` syntax (`$1`, `\$`) → the regex crate's (`${1}`, `$$`).
fn java_replacement(java: &str) -> String {
    let mut out = String::with_capacity(java.len() + 4);
    let mut chars = java.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\\' => match chars.next() {
                Some('$') => out.push_str("$$"),
                Some(other) => out.push(other),
                None => {}
            },
            '$' => {
                let mut digits = String::new();
                while let Some(d) = chars.peek().filter(|d| d.is_ascii_digit()) {
                    digits.push(*d);
                    chars.next();
                }
                out.push_str(&format!("${{{digits}}}"));
            }
            c => out.push(c),
        }
    }
    out
}

/// A struct schema renamed (fields and the rest unchanged).
pub fn renamed(s: &Schema, name: String) -> Arc<Schema> {
    let mut s = s.clone();
    s.name = Some(name);
    s.arc()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn props(kv: &[(&str, &str)]) -> Properties {
        Properties(kv.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect())
    }

    #[test]
    fn parses_the_chain_and_names_bad_properties() {
        let t = Transforms::from_properties(&props(&[
            ("transforms", "unwrap,route"),
            ("transforms.unwrap.type", UNWRAP),
            ("transforms.unwrap.delete.tombstone.handling.mode", "rewrite"),
            ("transforms.unwrap.add.fields", "op,table,source.ts_ms"),
            ("transforms.route.type", ROUTER),
            ("transforms.route.topic.regex", "dbserver1\\.inventory\\.(.*)"),
            ("transforms.route.topic.replacement", "dbserver1.inv.$1"),
        ]))
        .unwrap();
        let u = t.unwrap.unwrap();
        assert_eq!(u.delete_mode, DeleteMode::Rewrite);
        let names: Vec<&str> = u.fields.iter().map(|a| a.name.as_str()).collect();
        assert_eq!(names, ["__op", "__table", "__source_ts_ms"]);
        let r = t.route.unwrap();
        assert_eq!(r.topic("dbserver1.inventory.orders").as_deref(), Some("dbserver1.inv.orders"));
        assert_eq!(r.topic("dbserver1.final.flights"), None);

        let bad =
            Transforms::from_properties(&props(&[("transforms", "x"), ("transforms.x.type", "com.example.Nope")]));
        assert_eq!(bad.unwrap_err().property(), Some("transforms.x.type"));
        let missing = Transforms::from_properties(&props(&[("transforms", "x")]));
        assert_eq!(missing.unwrap_err().property(), Some("transforms.x.type"));
        let field = Transforms::from_properties(&props(&[
            ("transforms", "u"),
            ("transforms.u.type", UNWRAP),
            ("transforms.u.add.fields", "nope"),
        ]));
        assert_eq!(field.unwrap_err().property(), Some("transforms.u.add.fields"));
    }

    #[test]
    fn java_replacements() {
        assert_eq!(java_replacement("a.$1.b$12"), "a.${1}.b${12}");
        assert_eq!(java_replacement("cost\\$"), "cost$$");
    }
}
