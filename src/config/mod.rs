//! config: the connector and worker configuration, read the way Kafka Connect reads it.
//!
//! Two inputs, both in the formats users already have:
//!
//! * [`ConnectorConfig::from_file`]: the JSON users POST to Kafka Connect
//!   (`{"name": "...", "config": {...}}`, or the bare `config` object of `PUT .../config`), or a
//!   flat Java `.properties` file with `name=` (Connect standalone, Debezium embedded engine).
//!   Property names are Debezium 3.6.3's; defaults are Debezium's.
//! * [`WorkerConfig::from_properties_file`]: a Kafka Connect worker `.properties` file.
//!
//! **Algorithm.** The file becomes a flat `property → string` map (JSON numbers and booleans are
//! turned into their text, as Connect would see them). A [`PropReader`] then takes each property
//! we know, parses and validates it into a typed field (values trimmed as Kafka's `ConfigDef`
//! trims them, except secrets), and records it as used. What is left is either a property
//! Connect itself consumes (`connector.class`, `transforms*`, `errors.*`, ... kept verbatim in
//! [`ConnectorConfig::connect`]) or a property we do not support, returned by name in
//! [`ConnectorConfig::unsupported`] so the binary warns once at start-up: never silently ignored.
//!
//! **Invariants.** Every invalid value fails with a [`ConfigError`] naming the property and the
//! value, except values of sensitive properties ([`is_sensitive`]), which are never shown:
//! passwords live in [`Secret`] (whose `Debug`/`Display` print `***`) and maps that may hold
//! credentials are [`Properties`], whose `Debug` redacts them. Parsing never panics.
//!
//! Properties files are decoded as ISO-8859-1 with `\uXXXX` escapes, exactly like Java's
//! `Properties.load(InputStream)` that Connect uses.

mod connector;
mod converter;
mod filters;
mod modes;
mod providers;
mod worker;

#[cfg(test)]
mod tests;

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::path::{Path, PathBuf};

use serde_json::Value;

pub use connector::{
    ColumnTransform, ColumnTransformKind, ConnectionConfig, ConnectorConfig, SchemaHistoryConfig, SignalConfig,
    SkippedOperations, SnapshotConfig, StreamingConfig, TopicCreationDefaults, TypeConfig,
};
pub use converter::{AvroSettings, ConverterKind, ConverterSettings, Converters, AVRO_CONVERTER, JSON_CONVERTER};
pub use filters::{ColumnFilter, IncludeExclude, KeyColumns, RegexList, TableFilter};
pub use modes::{
    BigintUnsignedHandlingMode, BinaryHandlingMode, ConnectorClass, DecimalHandlingMode, FailureHandlingMode,
    SchemaHistoryKind, SnapshotLockingMode, SnapshotMode, SslMode, TimePrecisionMode,
};
pub use providers::ConfigProviders;
pub use worker::WorkerConfig;

/// Configuration errors. All are definite: the user must fix the file.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The file cannot be read.
    #[error("cannot read config file {path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
    /// The file is not valid JSON.
    #[error("config file {path} is not valid JSON: {message} at line {line}, column {column}")]
    Json {
        /// The file.
        path: PathBuf,
        /// serde_json's description.
        message: String,
        /// 1-based line.
        line: usize,
        /// 1-based column.
        column: usize,
    },
    /// The file is not a valid Java properties file.
    #[error("config file {path} is not a valid properties file: {message}")]
    Properties {
        /// The file.
        path: PathBuf,
        /// The parser's description (with the line).
        message: String,
    },
    /// The JSON is valid but not shaped like a Connect connector config.
    #[error("config file {path}: {message}")]
    Shape {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        message: String,
    },
    /// A required property is missing or empty.
    #[error("missing required property `{property}`")]
    Missing {
        /// The property.
        property: String,
    },
    /// A property has an invalid value. `value` is already quoted, or `***` for secrets.
    #[error("invalid value {value} for property `{property}`: {reason}")]
    Invalid {
        /// The property.
        property: String,
        /// The offending value, quoted (redacted for sensitive properties).
        value: String,
        /// What is expected.
        reason: String,
    },
    /// Two mutually exclusive properties are both set.
    #[error("properties `{first}` and `{second}` cannot both be set; use only one of them")]
    Conflict {
        /// One property.
        first: String,
        /// The other.
        second: String,
    },
}

impl ConfigError {
    /// An invalid-value error; the value is redacted when the property is sensitive.
    pub fn invalid(property: &str, value: &str, reason: impl Into<String>) -> Self {
        let value = if is_sensitive(property) { "***".to_owned() } else { format!("{value:?}") };
        ConfigError::Invalid { property: property.to_owned(), value, reason: reason.into() }
    }

    /// The property the error is about (the first one of a conflict); `None` for file errors.
    pub fn property(&self) -> Option<&str> {
        match self {
            ConfigError::Missing { property } | ConfigError::Invalid { property, .. } => Some(property),
            ConfigError::Conflict { first, .. } => Some(first),
            ConfigError::Io { .. }
            | ConfigError::Json { .. }
            | ConfigError::Properties { .. }
            | ConfigError::Shape { .. } => None,
        }
    }

    fn missing(property: &str) -> Self {
        ConfigError::Missing { property: property.to_owned() }
    }
}

/// Connector properties we accept but whose effect is not implemented yet: named once when a
/// connector starts.
pub const NOT_YET_IMPLEMENTED: &[&str] = &[];

/// Whether a property may hold a credential, so that its value must never be shown: names
/// containing `password`, `secret`, `jaas`, `credentials`, `token` or `user.info` (Schema
/// Registry basic auth), or whose last segment ends in `key` (`ssl.key`, `api.key`).
pub fn is_sensitive(property: &str) -> bool {
    let p = property.to_ascii_lowercase();
    ["password", "secret", "jaas", "credentials", "token", "user.info"].iter().any(|s| p.contains(s))
        || p.rsplit('.').next().is_some_and(|last| last.ends_with("key"))
}

/// A secret value (password). `Debug` and `Display` print `***`; read it with
/// [`Secret::expose`] only where it is used.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    /// Wrap a secret.
    pub fn new(value: impl Into<String>) -> Self {
        Secret(value.into())
    }

    /// The secret itself.
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// Whether the secret is the empty string.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("***")
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("***")
    }
}

/// A verbatim `property → value` map whose `Debug` redacts sensitive properties.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct Properties(pub BTreeMap<String, String>);

impl Properties {
    /// The value of `key`.
    pub fn get(&self, key: &str) -> Option<&str> {
        self.0.get(key).map(String::as_str)
    }

    /// Whether the map is empty.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Number of properties.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Properties in name order.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &str)> {
        self.0.iter().map(|(k, v)| (k.as_str(), v.as_str()))
    }
}

impl fmt::Debug for Properties {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_map()
            .entries(self.0.iter().map(|(k, v)| {
                let shown: &dyn fmt::Debug = if is_sensitive(k) { &Redacted } else { v };
                (k, shown)
            }))
            .finish()
    }
}

struct Redacted;

impl fmt::Debug for Redacted {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("***")
    }
}

/// A configuration file flattened to properties.
#[derive(Debug)]
pub struct RawConfig {
    pub props: BTreeMap<String, String>,
    /// Top-level JSON keys that are neither `name` nor `config` (reported as unsupported).
    pub unsupported_top_level: Vec<String>,
}

/// Read a connector or worker config file: JSON (by `.json` extension or a leading `{`) or Java
/// properties.
pub fn read_config_file(path: &Path) -> Result<RawConfig, ConfigError> {
    let bytes = std::fs::read(path).map_err(|source| ConfigError::Io { path: path.to_path_buf(), source })?;
    let is_json = path.extension().is_some_and(|e| e.eq_ignore_ascii_case("json"))
        || bytes.iter().find(|b| !b.is_ascii_whitespace()) == Some(&b'{');
    if is_json {
        parse_connect_json(path, &bytes)
    } else {
        Ok(RawConfig { props: parse_properties(path, &bytes)?, unsupported_top_level: Vec::new() })
    }
}

/// Parse Java properties (ISO-8859-1, as `Properties.load(InputStream)`); later keys win.
pub fn parse_properties(path: &Path, bytes: &[u8]) -> Result<BTreeMap<String, String>, ConfigError> {
    let mut map = BTreeMap::new();
    java_properties::PropertiesIter::new(bytes)
        .read_into(|k, v| {
            map.insert(k, v);
        })
        .map_err(|e| ConfigError::Properties { path: path.to_path_buf(), message: e.to_string() })?;
    Ok(map)
}

/// Parse Connect's connector JSON: `{"name":..,"config":{..}}` or a bare config object.
fn parse_connect_json(path: &Path, bytes: &[u8]) -> Result<RawConfig, ConfigError> {
    let value: Value = serde_json::from_slice(bytes).map_err(|e| {
        let full = e.to_string();
        let suffix = format!(" at line {} column {}", e.line(), e.column());
        let message = full.strip_suffix(&suffix).unwrap_or(&full).to_owned();
        ConfigError::Json { path: path.to_path_buf(), message, line: e.line(), column: e.column() }
    })?;
    let shape = |message: String| ConfigError::Shape { path: path.to_path_buf(), message };
    let Value::Object(top) = value else {
        return Err(shape("expected a JSON object".into()));
    };
    let mut unsupported_top_level = Vec::new();
    let (top_name, config) = match top.get("config") {
        Some(Value::Object(config)) => {
            let name = match top.get("name") {
                None | Some(Value::Null) => None,
                Some(Value::String(s)) => Some(s.clone()),
                Some(_) => return Err(shape("top-level `name` must be a string".into())),
            };
            for k in top.keys() {
                if k != "name" && k != "config" {
                    unsupported_top_level.push(k.clone());
                }
            }
            (name, config.clone())
        }
        Some(_) => return Err(shape("`config` must be a JSON object".into())),
        None => (None, top),
    };
    let mut props = BTreeMap::new();
    for (k, v) in config {
        let text = match v {
            Value::String(s) => s,
            Value::Number(n) => n.to_string(),
            Value::Bool(b) => b.to_string(),
            Value::Null => continue,
            Value::Array(_) | Value::Object(_) => {
                return Err(shape(format!("property `{k}` must be a string, number or boolean")))
            }
        };
        props.insert(k, text);
    }
    if let Some(name) = top_name {
        match props.get("name") {
            Some(inner) if inner.trim() != name.trim() => {
                return Err(ConfigError::invalid("name", inner, format!("does not match the top-level name {name:?}")))
            }
            _ => {
                props.insert("name".into(), name);
            }
        }
    }
    Ok(RawConfig { props, unsupported_top_level })
}

/// An enumerated property value with Debezium's spelling.
pub trait ConfigEnum: Sized + Copy + PartialEq + 'static {
    /// Accepted spellings (matched case-insensitively); the first one per variant is canonical.
    const VALUES: &'static [(&'static str, Self)];

    /// Canonical spelling.
    fn as_str(&self) -> &'static str {
        Self::VALUES.iter().find(|(_, v)| v == self).map(|(s, _)| *s).unwrap_or("")
    }

    /// Parse a spelling.
    fn parse(s: &str) -> Option<Self> {
        Self::VALUES.iter().find(|(name, _)| name.eq_ignore_ascii_case(s)).map(|(_, v)| *v)
    }

    /// The canonical spellings, for error messages.
    fn expected() -> String {
        let names: Vec<&str> = Self::VALUES.iter().filter(|(n, v)| v.as_str() == *n).map(|(n, _)| *n).collect();
        format!("expected one of {}", names.join(", "))
    }
}

/// Declares an enum implementing [`ConfigEnum`].
macro_rules! config_enum {
    (
        $(#[$meta:meta])*
        pub enum $name:ident {
            $( $(#[$vmeta:meta])* $variant:ident = $($spelling:literal)|+ ),+ $(,)?
        }
    ) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum $name {
            $( $(#[$vmeta])* $variant ),+
        }

        impl $crate::config::ConfigEnum for $name {
            const VALUES: &'static [(&'static str, Self)] = &[
                $( $( ($spelling, $name::$variant), )+ )+
            ];
        }
    };
}
pub(crate) use config_enum;

/// Takes typed values out of a property map and remembers which properties were used.
pub(crate) struct PropReader {
    props: BTreeMap<String, String>,
    used: BTreeSet<String>,
}

impl PropReader {
    pub fn new(props: BTreeMap<String, String>) -> Self {
        PropReader { props, used: BTreeSet::new() }
    }

    /// The value (trimmed unless sensitive), marking the property used.
    pub fn take(&mut self, key: &str) -> Option<String> {
        let v = self.props.get(key)?;
        self.used.insert(key.to_owned());
        Some(if is_sensitive(key) { v.clone() } else { v.trim().to_owned() })
    }

    /// Whether the property is present (without using it).
    pub fn contains(&self, key: &str) -> bool {
        self.props.contains_key(key)
    }

    /// A string; empty counts as unset.
    pub fn opt_string(&mut self, key: &str) -> Option<String> {
        self.take(key).filter(|v| !v.is_empty())
    }

    pub fn string(&mut self, key: &str, default: &str) -> String {
        self.opt_string(key).unwrap_or_else(|| default.to_owned())
    }

    pub fn required_string(&mut self, key: &str) -> Result<String, ConfigError> {
        self.opt_string(key).ok_or_else(|| ConfigError::missing(key))
    }

    pub fn secret(&mut self, key: &str) -> Option<Secret> {
        self.take(key).map(Secret)
    }

    pub fn bool(&mut self, key: &str, default: bool) -> Result<bool, ConfigError> {
        match self.opt_string(key) {
            None => Ok(default),
            Some(v) if v.eq_ignore_ascii_case("true") => Ok(true),
            Some(v) if v.eq_ignore_ascii_case("false") => Ok(false),
            Some(v) => Err(ConfigError::invalid(key, &v, "expected true or false")),
        }
    }

    pub fn opt_int<T>(&mut self, key: &str) -> Result<Option<T>, ConfigError>
    where
        T: std::str::FromStr + TryFrom<i128>,
    {
        let Some(v) = self.opt_string(key) else {
            return Ok(None);
        };
        let parsed: Option<T> =
            v.strip_prefix('+').unwrap_or(&v).parse::<i128>().ok().and_then(|n| T::try_from(n).ok());
        match parsed {
            Some(n) => Ok(Some(n)),
            None if v.parse::<i128>().is_ok() => Err(ConfigError::invalid(key, &v, "out of range")),
            None => Err(ConfigError::invalid(key, &v, "expected an integer")),
        }
    }

    pub fn int<T>(&mut self, key: &str, default: T) -> Result<T, ConfigError>
    where
        T: std::str::FromStr + TryFrom<i128>,
    {
        Ok(self.opt_int(key)?.unwrap_or(default))
    }

    pub fn enumerated<E: ConfigEnum>(&mut self, key: &str, default: E) -> Result<E, ConfigError> {
        match self.opt_string(key) {
            None => Ok(default),
            Some(v) => E::parse(&v).ok_or_else(|| ConfigError::invalid(key, &v, E::expected())),
        }
    }

    /// All properties starting with `prefix`, keyed by the rest of the name; marks them used.
    pub fn prefixed(&mut self, prefix: &str) -> BTreeMap<String, String> {
        let keys: Vec<String> =
            self.props.keys().filter(|k| k.starts_with(prefix) && k.len() > prefix.len()).cloned().collect();
        let mut out = BTreeMap::new();
        for k in keys {
            if let Some(v) = self.props.get(&k) {
                out.insert(k[prefix.len()..].to_owned(), v.clone());
            }
            self.used.insert(k);
        }
        out
    }

    /// Properties matching `pred` not used yet, verbatim; marks them used.
    pub fn take_matching(&mut self, pred: impl Fn(&str) -> bool) -> BTreeMap<String, String> {
        let mut out = BTreeMap::new();
        for (k, v) in &self.props {
            if !self.used.contains(k) && pred(k) {
                out.insert(k.clone(), v.clone());
            }
        }
        for k in out.keys() {
            self.used.insert(k.clone());
        }
        out
    }

    /// Unused properties matching `pred`, names only.
    pub fn unused_matching(&self, pred: impl Fn(&str) -> bool) -> Vec<String> {
        self.props.keys().filter(|k| !self.used.contains(*k) && pred(k)).cloned().collect()
    }

    /// Properties never used, in name order.
    pub fn unused(&self) -> Vec<String> {
        self.unused_matching(|_| true)
    }
}
