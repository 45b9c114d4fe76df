//! Connector config validation the way Kafka Connect reports it: every invalid property named,
//! with its message ([`property_errors`]), the response of
//! `PUT /connector-plugins/{plugin}/config/validate` ([`config_infos`]) and the 400 message of a
//! create or update with errors ([`invalid_config_message`]).
//!
//! **Algorithm.** `config::ConnectorConfig::from_map` stops at the first error. To name them all,
//! the map is parsed again with the offending property dropped (an invalid value) or given a
//! neutral placeholder (a missing required one), until it parses; each property is reported once.
//! The loop is bounded, so no input can make it spin.
//!
//! The definitions listed ([`DEFINITIONS`]) are the Debezium properties users set most, with
//! Debezium's types, defaults and groups; a submitted property outside the list is reported with
//! a generic definition. Values of sensitive properties are shown as `[hidden]`, as Connect shows
//! `PASSWORD` values.

use std::collections::{BTreeMap, BTreeSet};

use super::entities::{ConfigInfo, ConfigInfos, ConfigKeyInfo, ConfigValueInfo};
use crate::config::{is_sensitive, ConfigEnum, ConfigError, ConnectorClass, ConnectorConfig};

/// The connector classes this worker runs, with their short aliases (Connect accepts
/// `MySqlConnector` and `MySql` for `io.debezium.connector.mysql.MySqlConnector`).
pub const PLUGINS: &[(&str, &[&str])] = &[
    ("io.debezium.connector.mysql.MySqlConnector", &["MySqlConnector", "MySql"]),
    ("io.debezium.connector.mariadb.MariaDbConnector", &["MariaDbConnector", "MariaDb"]),
];

/// Debezium's version the connector is compatible with (reported as the plugins' version).
pub const PLUGIN_VERSION: &str = "3.6.3.Final";

/// The full class name of a `connector.class` value or alias; `None` when it is not ours.
pub fn plugin_class(value: &str) -> Option<&'static str> {
    let v = value.trim();
    PLUGINS
        .iter()
        .find(|(class, aliases)| class.eq_ignore_ascii_case(v) || aliases.iter().any(|a| a.eq_ignore_ascii_case(v)))
        .map(|(class, _)| *class)
}

/// One property definition: name, Connect type, required, default, importance, group, doc.
type Definition = (&'static str, &'static str, bool, Option<&'static str>, &'static str, &'static str, &'static str);

/// The definitions listed by validation, in Debezium's groups.
pub const DEFINITIONS: &[Definition] = &[
    ("name", "STRING", true, None, "HIGH", "Common", "Globally unique name to use for this connector."),
    ("connector.class", "STRING", true, None, "HIGH", "Common", "Name or alias of the class for this connector."),
    ("tasks.max", "INT", false, Some("1"), "HIGH", "Common", "Maximum number of tasks to use for this connector (always one)."),
    ("topic.prefix", "STRING", true, None, "HIGH", "Connector", "Topic prefix that identifies and provides a namespace for the database server; part of every topic name and of the offset partition."),
    ("database.hostname", "STRING", true, None, "HIGH", "Connection", "Resolvable hostname or IP address of the database server."),
    ("database.port", "INT", false, Some("3306"), "HIGH", "Connection", "Port of the database server."),
    ("database.user", "STRING", true, None, "HIGH", "Connection", "Name of the database user to be used when connecting to the database."),
    ("database.password", "PASSWORD", false, None, "HIGH", "Connection", "Password of the database user to be used when connecting to the database."),
    ("database.server.id", "LONG", true, None, "HIGH", "Connection", "A numeric ID of this database client, which must be unique across all currently-running database processes in the cluster."),
    ("database.include.list", "LIST", false, None, "HIGH", "Filters", "The databases to capture (comma-separated regular expressions)."),
    ("database.exclude.list", "LIST", false, None, "MEDIUM", "Filters", "The databases not to capture (comma-separated regular expressions)."),
    ("table.include.list", "LIST", false, None, "HIGH", "Filters", "The tables to capture, db.table (comma-separated regular expressions)."),
    ("table.exclude.list", "LIST", false, None, "MEDIUM", "Filters", "The tables not to capture, db.table (comma-separated regular expressions)."),
    ("snapshot.mode", "STRING", false, Some("initial"), "LOW", "Snapshot", "The criteria for running a snapshot upon startup of the connector."),
    ("snapshot.locking.mode", "STRING", false, Some("minimal"), "LOW", "Snapshot", "Controls how long the connector holds onto the global read lock while it is performing a snapshot."),
    ("include.schema.changes", "BOOLEAN", false, Some("true"), "MEDIUM", "Events", "Whether the connector should publish changes in the database schema to the topic named after topic.prefix."),
    ("tombstones.on.delete", "BOOLEAN", false, Some("true"), "MEDIUM", "Events", "Whether delete operations should be followed by a tombstone."),
    ("schema.history.internal.kafka.topic", "STRING", false, None, "HIGH", "History Storage", "The name of the topic for the database schema history."),
    ("schema.history.internal.kafka.bootstrap.servers", "STRING", false, None, "HIGH", "History Storage", "Kafka brokers of the schema history topic (default: the worker's bootstrap.servers)."),
    ("key.converter", "CLASS", false, None, "LOW", "Common", "Converter class used to convert between Kafka Connect format and the serialized form that is written to Kafka."),
    ("value.converter", "CLASS", false, None, "LOW", "Common", "Converter class used to convert between Kafka Connect format and the serialized form that is written to Kafka."),
];

/// The groups of [`DEFINITIONS`], in order.
pub fn groups() -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for d in DEFINITIONS {
        if !out.iter().any(|g| g == d.5) {
            out.push(d.5.to_string());
        }
    }
    out
}

/// Every invalid or missing property of a connector config with its message, in the order found.
/// Empty when the config parses (Connect's check that `connector.class` names a known plugin
/// included).
pub fn property_errors(props: &BTreeMap<String, String>) -> Vec<(String, String)> {
    let mut errors: Vec<(String, String)> = Vec::new();
    let mut work = props.clone();
    match props.get("connector.class").map(|c| (c, plugin_class(c))) {
        None => errors.push(("connector.class".into(), "missing required property `connector.class`".into())),
        Some((given, None)) => errors.push(("connector.class".into(), unknown_class_message(given))),
        Some((_, Some(_))) => {}
    }
    // The parser knows only full class names.
    work.insert("connector.class".into(), ConnectorClass::MySql.as_str().into());
    if let Some(class) = props.get("connector.class").and_then(|c| plugin_class(c)) {
        work.insert("connector.class".into(), class.into());
    }
    let mut seen: BTreeSet<String> = errors.iter().map(|(p, _)| p.clone()).collect();
    for _ in 0..64 {
        let Err(e) = ConnectorConfig::from_map(work.clone()) else { break };
        let Some(property) = e.property().map(str::to_string) else {
            errors.push((String::new(), e.to_string()));
            break;
        };
        let again = !seen.insert(property.clone());
        if !again {
            errors.push((property.clone(), e.to_string()));
        }
        match &e {
            ConfigError::Missing { .. } if work.get(&property).is_some_and(|v| v == placeholder(&property)) => break,
            ConfigError::Missing { .. } => {
                work.insert(property.clone(), placeholder(&property).into());
            }
            ConfigError::Conflict { second, .. } => {
                work.remove(second);
            }
            _ if work.remove(&property).is_none() => break,
            _ => {}
        }
    }
    errors
}

/// A neutral valid value for a required property, used only to look for further errors.
fn placeholder(property: &str) -> &'static str {
    match property {
        "database.server.id" | "database.port" | "tasks.max" => "1",
        _ => "placeholder",
    }
}

/// Connect's message for a `connector.class` it has no plugin for.
pub fn unknown_class_message(given: &str) -> String {
    let known: Vec<&str> = PLUGINS.iter().map(|(c, _)| *c).collect();
    format!(
        "Failed to find any class that implements Connector and which name matches {}, available connectors are: {}",
        given.trim(),
        known.join(", ")
    )
}

/// The message of a 400 answer to a create or config update with errors (Connect's wording).
pub fn invalid_config_message(errors: &[(String, String)]) -> String {
    let mut m = format!("Connector configuration is invalid and contains the following {} error(s):", errors.len());
    for (_, e) in errors {
        m.push('\n');
        m.push_str(e);
    }
    m.push_str("\nYou can also find the above list of errors at the endpoint `/connector-plugins/{connectorType}/config/validate`");
    m
}

/// The definition of `name`: from [`DEFINITIONS`], else a generic optional string.
fn definition(name: &str, order: i32) -> ConfigKeyInfo {
    let found = DEFINITIONS.iter().position(|d| d.0 == name);
    let (kind, required, default, importance, group, doc) = match found {
        Some(i) => {
            let d = DEFINITIONS[i];
            (d.1, d.2, d.3, d.4, Some(d.5), d.6.to_string())
        }
        None => {
            let kind = if is_sensitive(name) { "PASSWORD" } else { "STRING" };
            (kind, false, None, "LOW", None, String::new())
        }
    };
    ConfigKeyInfo {
        name: name.to_string(),
        kind,
        required,
        default_value: default.map(str::to_string),
        importance,
        documentation: doc,
        group,
        order: found.map_or(-1, |_| order),
        width: "NONE",
        display_name: name.to_string(),
        dependents: Vec::new(),
    }
}

/// The definitions of `GET /connector-plugins/{plugin}/config`.
pub fn definitions() -> Vec<ConfigKeyInfo> {
    DEFINITIONS.iter().enumerate().map(|(i, d)| definition(d.0, i as i32 + 1)).collect()
}

/// The validation response for `props` against plugin `class`.
pub fn config_infos(class: &str, props: &BTreeMap<String, String>) -> ConfigInfos {
    let errors = property_errors(props);
    let mut names: Vec<String> = DEFINITIONS.iter().map(|d| d.0.to_string()).collect();
    for k in props.keys() {
        if !names.contains(k) {
            names.push(k.clone());
        }
    }
    for (p, _) in &errors {
        if !p.is_empty() && !names.contains(p) {
            names.push(p.clone());
        }
    }
    let configs: Vec<ConfigInfo> = names
        .iter()
        .enumerate()
        .map(|(i, name)| {
            let errs: Vec<String> = errors.iter().filter(|(p, _)| p == name).map(|(_, m)| m.clone()).collect();
            let value = props.get(name).map(|v| if is_sensitive(name) { "[hidden]".to_string() } else { v.clone() });
            ConfigInfo {
                definition: definition(name, i as i32 + 1),
                value: ConfigValueInfo {
                    name: name.clone(),
                    value,
                    recommended_values: Vec::new(),
                    errors: errs,
                    visible: true,
                },
            }
        })
        .collect();
    // An error that names no property (none today) still counts.
    let unnamed = errors.iter().filter(|(p, _)| p.is_empty()).count();
    let error_count = configs.iter().map(|c| c.value.errors.len()).sum::<usize>() + unnamed;
    ConfigInfos { name: class.to_string(), error_count, groups: groups(), configs }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn props(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
    }

    fn valid() -> BTreeMap<String, String> {
        props(&[
            ("name", "inventory-connector"),
            ("connector.class", "io.debezium.connector.mysql.MySqlConnector"),
            ("database.hostname", "mysql"),
            ("database.user", "debezium"),
            ("database.password", "dbz"),
            ("database.server.id", "184054"),
            ("topic.prefix", "dbserver1"),
        ])
    }

    #[test]
    fn valid_config_has_no_errors_and_aliases_are_accepted() {
        assert!(property_errors(&valid()).is_empty());
        let mut p = valid();
        p.insert("connector.class".into(), "MySqlConnector".into());
        assert!(property_errors(&p).is_empty());
        assert_eq!(plugin_class("MariaDb"), Some("io.debezium.connector.mariadb.MariaDbConnector"));
        assert_eq!(plugin_class("org.example.Other"), None);
    }

    #[test]
    fn every_bad_property_is_named_once() {
        let mut p = valid();
        p.remove("topic.prefix");
        p.insert("database.server.id".into(), "abc".into());
        p.insert("database.port".into(), "0".into());
        p.insert("snapshot.mode".into(), "sometimes".into());
        let errors = property_errors(&p);
        let named: Vec<&str> = errors.iter().map(|(p, _)| p.as_str()).collect();
        for want in ["topic.prefix", "database.server.id", "database.port", "snapshot.mode"] {
            assert_eq!(named.iter().filter(|n| **n == want).count(), 1, "{want}: {errors:?}");
        }
        assert_eq!(errors.len(), 4, "{errors:?}");
        for (prop, msg) in &errors {
            assert!(msg.contains(prop.as_str()), "{msg} names {prop}");
        }
        let infos = config_infos("io.debezium.connector.mysql.MySqlConnector", &p);
        assert_eq!(infos.error_count, 4);
        let message = invalid_config_message(&errors);
        assert!(message.starts_with("Connector configuration is invalid and contains the following 4 error(s):"));
    }

    #[test]
    fn unknown_class_and_hidden_password() {
        let mut p = valid();
        p.insert("connector.class".into(), "org.example.FileStreamSource".into());
        let errors = property_errors(&p);
        assert_eq!(errors.len(), 1);
        assert!(errors[0].1.contains("org.example.FileStreamSource"), "{errors:?}");
        let infos = config_infos("MySqlConnector", &valid());
        let pw = infos.configs.iter().find(|c| c.value.name == "database.password").unwrap();
        assert_eq!(pw.value.value.as_deref(), Some("[hidden]"));
        assert_eq!(pw.definition.kind, "PASSWORD");
        let text = serde_json::to_string(&infos).unwrap();
        assert!(!text.contains("dbz"), "the password never appears: {text}");
    }

    #[test]
    fn garbage_never_loops_or_panics() {
        let mut p = BTreeMap::new();
        for i in 0..200 {
            p.insert(format!("k{i}"), "\u{0}".repeat(i % 7));
        }
        p.insert("database.server.id".into(), "-1".into());
        p.insert("name".into(), "".into());
        let errors = property_errors(&p);
        assert!(!errors.is_empty());
        let _ = config_infos("x", &p);
    }
}
