//! Kafka Connect converters (`key.converter`, `value.converter`) and how a connector-level
//! setting overrides the worker's.
//!
//! Connect's rule (`Plugins.newConverter`): if the connector config names a converter class, that
//! converter is configured from the connector's own `<key|value>.converter.*` properties only;
//! otherwise the worker's converter and the worker's `*.converter.*` properties apply. With
//! neither, we use JsonConverter with `schemas.enable=true` (the Connect distribution's sample
//! worker config).

use super::{ConfigError, PropReader, Properties};

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
    Avro {
        /// `schema.registry.url` (may be a comma-separated list).
        registry_url: String,
    },
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
            AVRO_CONVERTER => {
                let registry_url = props
                    .get("schema.registry.url")
                    .map(|s| s.trim().to_owned())
                    .filter(|s| !s.is_empty())
                    .ok_or_else(|| ConfigError::Missing { property: format!("{property}.schema.registry.url") })?;
                ConverterKind::Avro { registry_url }
            }
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
