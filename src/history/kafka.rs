//! `io.debezium.storage.kafka.history.KafkaSchemaHistory` (`schema.history.internal.kafka.topic`
//! on `schema.history.internal.kafka.bootstrap.servers`): one partition, records with a null key
//! and the pretty-printed record JSON as value, in order.
//!
//! The topic is created when first written, exactly as Debezium creates it: 1 partition, the
//! broker's default replication factor, `cleanup.policy=delete`, `retention.ms=9223372036854775807`
//! (Java's `Long.MAX_VALUE`), `retention.bytes=-1` (never compacted, never expired: every record is
//! needed to rebuild the schema). Not `retention.ms=-1`: Kafka reads it as "forever" too, but tansu
//! 0.6.0's retention job deletes every record of such a topic (it keeps a record while
//! `now - timestamp <= retention.ms`), at start-up and every 10 minutes. An existing
//! topic with more than one partition is refused (records would lose their order). Each write
//! waits for Kafka's acknowledgement before it counts. Reading takes every record up to the end
//! the partition had when reading began; null values are skipped with a warning (as Debezium
//! does) and a value that is not a record stops the connector with the topic and offset.

use super::record::HistoryRecord;
use super::HistoryError;
use crate::sink::topics::{self, InternalProducer, KafkaClient, TopicError, TopicSpec};

const PROPERTY: &str = "schema.history.internal.kafka.topic";

/// `retention.ms` of a new history topic: Debezium's `RETENTION_MS_MAX` (`Long.MAX_VALUE`).
pub const RETENTION_MS: &str = "9223372036854775807";

/// The history topic.
pub struct KafkaHistory {
    client: KafkaClient,
    topic: String,
    producer: Option<InternalProducer>,
}

fn kafka_err(e: TopicError) -> HistoryError {
    HistoryError::Kafka { property: PROPERTY, message: e.to_string() }
}

impl KafkaHistory {
    pub fn new(client: KafkaClient, topic: String) -> KafkaHistory {
        KafkaHistory { client, topic, producer: None }
    }

    /// `history topic <t> (schema.history.internal.kafka.topic)`, for messages.
    pub fn describe(&self) -> String {
        format!("history topic {} ({PROPERTY})", self.topic)
    }

    /// Every record in order; `None` when the topic does not exist.
    pub async fn read(&self) -> Result<Option<Vec<HistoryRecord>>, HistoryError> {
        if let Some(parts) = self.client.partitions(&self.topic).await.map_err(kafka_err)? {
            self.check_partitions(parts.len())?;
        }
        let Some(raw) = self.client.read_all(&self.topic).await.map_err(kafka_err)? else { return Ok(None) };
        let mut out = Vec::with_capacity(raw.len());
        for r in raw {
            let Some(value) = r.value else {
                tracing::warn!(topic = %self.topic, offset = r.offset, "skipping a null record in the schema history topic");
                continue;
            };
            let rec = HistoryRecord::parse(&value).map_err(|message| HistoryError::Corrupt {
                location: format!("{} partition {} offset {}", self.describe(), r.partition, r.offset),
                message,
            })?;
            out.push(rec);
        }
        Ok(Some(out))
    }

    fn check_partitions(&self, n: usize) -> Result<(), HistoryError> {
        if n == 1 {
            return Ok(());
        }
        Err(HistoryError::Kafka {
            property: PROPERTY,
            message: format!(
                "topic {} has {n} partitions; the schema history needs exactly one (records must stay in order)",
                self.topic
            ),
        })
    }

    /// Append records, each acknowledged by Kafka before the next is sent.
    pub async fn append(&mut self, records: &[HistoryRecord]) -> Result<(), HistoryError> {
        if self.producer.is_none() {
            let spec = TopicSpec {
                partitions: 1,
                replication_factor: -1,
                configs: &[("cleanup.policy", "delete"), ("retention.ms", RETENTION_MS), ("retention.bytes", "-1")],
            };
            if self.client.create(&self.topic, &spec).await.map_err(kafka_err)? {
                tracing::info!(topic = %self.topic, "created the schema history topic ({PROPERTY})");
            } else if let Some(parts) = self.client.partitions(&self.topic).await.map_err(kafka_err)? {
                self.check_partitions(parts.len())?;
            }
            self.producer = Some(self.client.producer(&self.topic).map_err(kafka_err)?);
        }
        let Some(producer) = &self.producer else { return Ok(()) };
        for r in records {
            let value = r.to_pretty();
            let delivery = topics::send(producer, &self.topic, 0, None, Some(value.as_bytes())).map_err(kafka_err)?;
            topics::delivered(&self.topic, delivery).await.map_err(kafka_err)?;
        }
        Ok(())
    }
}
