//! The offset store the pipeline writes to: Connect's file ([`FileOffsetStore`]) or Connect's
//! offsets topic ([`KafkaOffsetStore`]), chosen from the worker properties like Connect chooses:
//!
//! * `offset.storage` (the embedded engine's class property) names the store when set:
//!   `org.apache.kafka.connect.storage.FileOffsetBackingStore` or `...KafkaOffsetBackingStore`;
//! * otherwise `offset.storage.file.filename` (standalone Connect) or `offset.storage.topic`
//!   (distributed Connect), whichever is set; both set is an error naming both properties.
//!
//! Both stores hold the same key/value bytes, so a user can move between them (and between
//! Debezium and this connector) by copying one record.

use std::path::PathBuf;

use super::file::FileOffsetStore;
use super::kafka::{KafkaOffsetConfig, KafkaOffsetStore};
use super::{OffsetError, SourceOffset};
use crate::config::{ConfigError, WorkerConfig};
use crate::sink::topics::KafkaClient;

/// `offset.storage` value of Connect's file store.
pub const FILE_BACKING_STORE: &str = "org.apache.kafka.connect.storage.FileOffsetBackingStore";
/// `offset.storage` value of Connect's topic store.
pub const KAFKA_BACKING_STORE: &str = "org.apache.kafka.connect.storage.KafkaOffsetBackingStore";

/// Where offsets are kept.
#[derive(Debug, Clone)]
pub enum OffsetStorage {
    /// `offset.storage.file.filename`.
    File(PathBuf),
    /// `offset.storage.topic` and its creation settings.
    Kafka(KafkaOffsetConfig),
}

impl OffsetStorage {
    /// The store the worker properties name (module doc); the offsets topic is reached with the
    /// worker's own client settings ([`WorkerConfig::internal_client`]).
    pub fn from_worker(worker: &WorkerConfig) -> Result<Self, ConfigError> {
        const FILE: &str = "offset.storage.file.filename";
        const TOPIC: &str = "offset.storage.topic";
        let file = worker.offset_storage_file_filename.clone();
        let topic = worker.offset_storage_topic.clone();
        let settings = worker.internal_client()?;
        let kafka = |topic: String| {
            OffsetStorage::Kafka(KafkaOffsetConfig {
                client: KafkaClient { bootstrap_servers: worker.bootstrap_servers.clone(), settings: settings.clone() },
                topic,
                partitions: worker.offset_storage_partitions,
                replication_factor: worker.offset_storage_replication_factor,
            })
        };
        match worker.raw.get("offset.storage").map(str::trim) {
            Some(FILE_BACKING_STORE) => {
                file.map(OffsetStorage::File).ok_or_else(|| ConfigError::Missing { property: FILE.into() })
            }
            Some(KAFKA_BACKING_STORE) => {
                topic.map(kafka).ok_or_else(|| ConfigError::Missing { property: TOPIC.into() })
            }
            Some(other) => Err(ConfigError::invalid(
                "offset.storage",
                other,
                format!("expected {FILE_BACKING_STORE} or {KAFKA_BACKING_STORE}"),
            )),
            None => match (file, topic) {
                (Some(_), Some(_)) => Err(ConfigError::Conflict { first: FILE.into(), second: TOPIC.into() }),
                (Some(f), None) => Ok(OffsetStorage::File(f)),
                (None, Some(t)) => Ok(kafka(t)),
                (None, None) => Err(ConfigError::Missing { property: format!("{FILE} (or {TOPIC})") }),
            },
        }
    }

    /// For messages: `offsets file X` / `offsets topic T`.
    pub fn describe(&self) -> String {
        match self {
            OffsetStorage::File(p) => format!("offsets file {} (offset.storage.file.filename)", p.display()),
            OffsetStorage::Kafka(k) => format!("offsets topic {} (offset.storage.topic)", k.topic),
        }
    }
}

/// An open offset store.
pub enum OffsetStore {
    File(FileOffsetStore),
    Kafka(Box<KafkaOffsetStore>),
}

impl OffsetStore {
    /// Open (and for the topic: create if missing, then read to its end).
    pub async fn open(storage: &OffsetStorage) -> Result<Self, OffsetError> {
        Ok(match storage {
            OffsetStorage::File(path) => OffsetStore::File(FileOffsetStore::open(path)?),
            OffsetStorage::Kafka(cfg) => OffsetStore::Kafka(Box::new(KafkaOffsetStore::open(cfg).await?)),
        })
    }

    /// The stored offset of connector `connector_name` with `topic.prefix` `prefix`.
    pub fn get(&self, connector_name: &str, prefix: &str) -> Result<Option<SourceOffset>, OffsetError> {
        match self {
            OffsetStore::File(s) => s.get(connector_name, prefix),
            OffsetStore::Kafka(s) => s.get(connector_name, prefix),
        }
    }

    /// Store a new offset: the file is rewritten at once; the topic record is sent and
    /// acknowledged later (see [`KafkaOffsetStore::commit`]).
    pub fn commit(&mut self, connector_name: &str, prefix: &str, offset: &SourceOffset) -> Result<(), OffsetError> {
        self.write(connector_name, prefix, Some(offset))
    }

    /// Store (`Some`) or delete (`None`) an offset: the file is rewritten at once (other
    /// connectors' entries kept), the topic gets the record or a tombstone (acknowledged by
    /// [`Self::close`]).
    pub fn write(
        &mut self,
        connector_name: &str,
        prefix: &str,
        offset: Option<&SourceOffset>,
    ) -> Result<(), OffsetError> {
        match self {
            OffsetStore::File(s) => s.update(connector_name, prefix, offset),
            OffsetStore::Kafka(s) => s.write(connector_name, prefix, offset),
        }
    }

    /// Wait for every commit in flight (a no-op for the file).
    pub async fn close(&mut self) -> Result<(), OffsetError> {
        match self {
            OffsetStore::File(_) => Ok(()),
            OffsetStore::Kafka(s) => s.close().await,
        }
    }
}
