//! Kafka Connect converters (`key.converter`, `value.converter`) and how a connector-level
//! setting overrides the worker's.
//!
//! Connect's rule (`Plugins.newConverter`): if the connector config names a converter class, that
//! converter is configured from the connector's own `<key|value>.converter.*` properties only;
//! otherwise the worker's converter and the worker's `*.converter.*` properties apply. With
//! neither, we use JsonConverter with `schemas.enable=true` (the Connect distribution's sample
//! worker config).

use super::{ConfigError, PropReader, Properties, Secret};

/// `org.apache.kafka.connect.json.JsonConverter`.
pub const JSON_CONVERTER: &str = "org.apache.kafka.connect.json.JsonConverter";
/// `io.confluent.connect.avro.AvroConverter`.
pub const AVRO_CONVERTER: &str = "io.confluent.connect.avro.AvroConverter";

/// How record keys or values are serialized.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ConverterKind {
    /// JsonConverter; `schemas.enable` (default true) wraps records in `{"schema","payload"}`.
    Json {
        /// `schemas.enable`.
        schemas_enable: bool,
    },
    /// Confluent AvroConverter with the Schema Registry at `schema.registry.url`.
    Avro(AvroSettings),
}

/// The AvroConverter settings we act on. Settings whose non-default values would change the
/// bytes we write (`connect.meta.data`, `enhanced.avro.schema.support`, subject name
/// strategies) are refused with the property named rather than silently ignored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AvroSettings {
    /// `schema.registry.url` (may be a comma-separated list).
    pub registry_url: String,
    /// `basic.auth.user.info` (`user:password`) when `basic.auth.credentials.source=USER_INFO`.
    pub user_info: Option<Secret>,
    /// `auto.register.schemas` (default true); when false, schemas are only looked up.
    pub auto_register: bool,
}

impl AvroSettings {
    /// Settings with only a registry URL (everything else at AvroConverter's defaults).
    pub fn new(registry_url: impl Into<String>) -> AvroSettings {
        AvroSettings { registry_url: registry_url.into(), user_info: None, auto_register: true }
    }
}

impl Default for ConverterKind {
    fn default() -> Self {
        ConverterKind::Json { schemas_enable: true }
    }
}

/// A converter as configured at one level (worker or connector).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConverterSettings {
    /// The class property (`key.converter` or `value.converter`) and its value.
    pub class: String,
    /// The validated kind.
    pub kind: ConverterKind,
    /// All `<property>.*` settings, verbatim (e.g. `schemas.enable`, `basic.auth.user.info`).
    pub properties: Properties,
}

impl ConverterSettings {
    /// Read `<property>` and `<property>.*` (`property` is `key.converter` or
    /// `value.converter`); `None` when the class is not set.
    pub(crate) fn read(r: &mut PropReader, property: &str) -> Result<Option<Self>, ConfigError> {
        let class = r.opt_string(property);
        // Properties of a converter are consumed even without a class (Connect ignores them then).
        let props = r.prefixed(&format!("{property}."));
        let Some(class) = class else {
            return Ok(None);
        };
        let kind = match class.as_str() {
            JSON_CONVERTER => {
                let key = format!("{property}.schemas.enable");
                let schemas_enable = match props.get("schemas.enable").map(|s| s.trim()) {
                    None | Some("") => true,
                    Some(v) if v.eq_ignore_ascii_case("true") => true,
                    Some(v) if v.eq_ignore_ascii_case("false") => false,
                    Some(v) => return Err(ConfigError::invalid(&key, v, "expected true or false")),
                };
                ConverterKind::Json { schemas_enable }
            }
            AVRO_CONVERTER => ConverterKind::Avro(read_avro(property, &props)?),
            other => {
                return Err(ConfigError::invalid(
                    property,
                    other,
                    format!("supported converters are {JSON_CONVERTER} and {AVRO_CONVERTER}"),
                ))
            }
        };
        Ok(Some(ConverterSettings { class, kind, properties: Properties(props) }))
    }
}

fn read_avro(property: &str, props: &std::collections::BTreeMap<String, String>) -> Result<AvroSettings, ConfigError> {
    let get = |k: &str| props.get(k).map(|s| s.trim()).filter(|s| !s.is_empty());
    let name = |k: &str| format!("{property}.{k}");
    let registry_url = get("schema.registry.url")
        .ok_or_else(|| ConfigError::Missing { property: name("schema.registry.url") })?
        .to_owned();
    let flag = |k: &str, default: bool| -> Result<bool, ConfigError> {
        match get(k) {
            None => Ok(default),
            Some(v) if v.eq_ignore_ascii_case("true") => Ok(true),
            Some(v) if v.eq_ignore_ascii_case("false") => Ok(false),
            Some(v) => Err(ConfigError::invalid(&name(k), v, "expected true or false")),
        }
    };
    let auto_register = flag("auto.register.schemas", true)?;
    // Settings that would change the registered schemas or the bytes: only their defaults.
    for (k, default) in [("connect.meta.data", true), ("enhanced.avro.schema.support", false)] {
        if flag(k, default)? != default {
            return Err(ConfigError::invalid(
                &name(k),
                get(k).unwrap_or_default(),
                format!("only {default} is supported"),
            ));
        }
    }
    for k in ["key.subject.name.strategy", "value.subject.name.strategy"] {
        if let Some(v) = get(k) {
            if v != "io.confluent.kafka.serializers.subject.TopicNameStrategy" {
                return Err(ConfigError::invalid(
                    &name(k),
                    v,
                    "only io.confluent.kafka.serializers.subject.TopicNameStrategy is supported",
                ));
            }
        }
    }
    let user_info = match get("basic.auth.credentials.source").unwrap_or("URL") {
        "USER_INFO" => Some(Secret::new(
            get("basic.auth.user.info")
                .ok_or_else(|| ConfigError::Missing { property: name("basic.auth.user.info") })?,
        )),
        "URL" => None,
        other => {
            return Err(ConfigError::invalid(
                &name("basic.auth.credentials.source"),
                other,
                "supported sources are USER_INFO and URL",
            ))
        }
    };
    Ok(AvroSettings { registry_url, user_info, auto_register })
}

/// The converters in effect for a connector.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Converters {
    /// For record keys.
    pub key: ConverterKind,
    /// For record values.
    pub value: ConverterKind,
}

impl Converters {
    /// Apply Connect's rule: connector-level settings win over the worker's, per key/value.
    pub fn resolve(
        worker_key: Option<&ConverterSettings>,
        worker_value: Option<&ConverterSettings>,
        connector_key: Option<&ConverterSettings>,
        connector_value: Option<&ConverterSettings>,
    ) -> Self {
        let pick = |c: Option<&ConverterSettings>, w: Option<&ConverterSettings>| {
            c.or(w).map(|s| s.kind.clone()).unwrap_or_default()
        };
        Converters { key: pick(connector_key, worker_key), value: pick(connector_value, worker_value) }
    }
}
