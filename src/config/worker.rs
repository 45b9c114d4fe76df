//! The Kafka Connect worker configuration (`connect-standalone.properties`,
//! `connect-distributed.properties`): where Kafka is, how records are converted, where offsets
//! are kept. Everything we do not model is kept verbatim in [`WorkerConfig::raw`].

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use crate::kafka_client::{security_properties, ClientSettings};

use super::{
    parse_properties, ConfigError, ConfigProviders, ConverterSettings, PropReader, Properties, TopicCreationDefaults,
};

/// A Kafka Connect worker configuration.
#[derive(Debug, Clone)]
pub struct WorkerConfig {
    /// `bootstrap.servers`: Kafka brokers, `host:port[,...]`. Default `localhost:9092`.
    pub bootstrap_servers: String,
    /// `key.converter` (+ `key.converter.*`): default key converter. Default: none (JsonConverter
    /// with schemas when no level sets one).
    pub key_converter: Option<ConverterSettings>,
    /// `value.converter` (+ `value.converter.*`): default value converter. Default: none.
    pub value_converter: Option<ConverterSettings>,
    /// `offset.storage.file.filename`: standalone offsets file (Java-serialized map). Default none.
    pub offset_storage_file_filename: Option<PathBuf>,
    /// `offset.storage.topic`: distributed offsets topic (e.g. `my_connect_offsets`). Default none.
    pub offset_storage_topic: Option<String>,
    /// `offset.storage.partitions`: partitions when creating the offsets topic. Default 25.
    pub offset_storage_partitions: i32,
    /// `offset.storage.replication.factor`: replication of the offsets topic. Default 3.
    pub offset_storage_replication_factor: i16,
    /// `offset.flush.interval.ms`: how often offsets are committed. Default 60000.
    pub offset_flush_interval_ms: u64,
    /// `offset.flush.timeout.ms`: how long a flush may wait for delivery. Default 5000.
    pub offset_flush_timeout_ms: u64,
    /// `producer.*`: producer overrides with the prefix removed, verbatim; the Java producer's
    /// names, which librdkafka mostly shares ([`crate::kafka_client`] translates or rejects the
    /// rest).
    pub producer: Properties,
    /// `topic.creation.default.*` (Connect reads these per connector; accepted here too, the
    /// connector's values win).
    pub topic_creation: TopicCreationDefaults,
    /// Every other property, verbatim (`group.id`, `plugin.path`, `listeners`, ...).
    pub raw: Properties,
    /// `config.providers`: what `${provider:path:key}` references in this worker's properties
    /// (already resolved here) and in its connectors' configs resolve with.
    pub providers: ConfigProviders,
}

impl WorkerConfig {
    /// Read a worker `.properties` file.
    pub fn from_properties_file(path: impl AsRef<Path>) -> Result<Self, ConfigError> {
        let path = path.as_ref();
        let bytes = std::fs::read(path).map_err(|source| ConfigError::Io { path: path.to_path_buf(), source })?;
        Self::from_map(parse_properties(path, &bytes)?)
    }

    /// Build from a property map (e.g. the embedded-engine properties of a connector file,
    /// [`super::ConnectorConfig::engine`]).
    pub fn from_map(props: BTreeMap<String, String>) -> Result<Self, ConfigError> {
        let providers = ConfigProviders::from_worker(&props)?;
        let mut r = PropReader::new(providers.resolve(props)?);
        let config = WorkerConfig {
            bootstrap_servers: r.string("bootstrap.servers", "localhost:9092"),
            key_converter: ConverterSettings::read(&mut r, "key.converter")?,
            value_converter: ConverterSettings::read(&mut r, "value.converter")?,
            offset_storage_file_filename: r.opt_string("offset.storage.file.filename").map(PathBuf::from),
            offset_storage_topic: r.opt_string("offset.storage.topic"),
            offset_storage_partitions: positive(&mut r, "offset.storage.partitions", 25)?,
            offset_storage_replication_factor: replication_factor(&mut r, "offset.storage.replication.factor", 3)?,
            offset_flush_interval_ms: r.int("offset.flush.interval.ms", 60_000)?,
            offset_flush_timeout_ms: r.int("offset.flush.timeout.ms", 5_000)?,
            producer: Properties(r.prefixed("producer.")),
            topic_creation: TopicCreationDefaults::read(&mut r)?,
            raw: Properties(r.take_matching(|_| true)),
            providers,
        };
        config.producer_client()?;
        config.internal_client()?;
        Ok(config)
    }

    /// The top-level security properties (`security.protocol`, `sasl.*`, `ssl.*`): in Kafka
    /// Connect they configure the worker's own clients; here they are also the base every other
    /// client's prefixed settings (`producer.*`, `schema.history.internal.producer.*`, ...) go over.
    pub fn security(&self) -> Result<ClientSettings, ConfigError> {
        ClientSettings::from_properties(security_properties(self.raw.iter()), "", &self.bootstrap_servers)
    }

    /// The source connectors' producer: `producer.*` over [`Self::security`].
    pub fn producer_client(&self) -> Result<ClientSettings, ConfigError> {
        let producer = ClientSettings::from_properties(self.producer.iter(), "producer.", &self.bootstrap_servers)?;
        Ok(producer.over(&self.security()?))
    }

    /// The worker's own clients (offsets and config topics, topic creation): the top-level
    /// security properties, completed by the producer's connection settings when only those
    /// are given.
    pub fn internal_client(&self) -> Result<ClientSettings, ConfigError> {
        Ok(self.security()?.over(&self.producer_client()?.connection_only()))
    }
}

/// A partition count: positive, or -1 for the broker default.
pub(crate) fn positive(r: &mut PropReader, key: &str, default: i32) -> Result<i32, ConfigError> {
    positive_or_broker_default(r, key, default)
}

/// A replication factor: positive, or -1 for the broker default.
pub(crate) fn replication_factor(r: &mut PropReader, key: &str, default: i16) -> Result<i16, ConfigError> {
    positive_or_broker_default(r, key, default)
}

fn positive_or_broker_default<T>(r: &mut PropReader, key: &str, default: T) -> Result<T, ConfigError>
where
    T: std::str::FromStr + TryFrom<i128> + Into<i64> + Copy + std::fmt::Display,
{
    let v: T = r.int(key, default)?;
    let n: i64 = v.into();
    if n == 0 || n < -1 {
        return Err(ConfigError::invalid(
            key,
            &v.to_string(),
            "expected a positive number (or -1 for the broker default)",
        ));
    }
    Ok(v)
}
