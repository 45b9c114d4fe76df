//! The Kafka producer: creates topics, produces records with Java-compatible partitioning, and
//! tracks which records Kafka acknowledged so offsets are committed only for stored data.
//!
//! Algorithm: every record gets a sequence number (`Seq`) in production order; librdkafka's
//! delivery callback reports it back. `AckTracker` keeps the lowest sequence number that is not
//! yet acknowledged (`acked_upto`: every record below it is stored). Offsets are recorded with
//! the sequence number of the record that produced them and flushed only once `acked_upto` has
//! passed it, so a crash never loses a record whose offset was committed.
//!
//! Partitioning uses librdkafka's `murmur2_random` partitioner: the same murmur2 hash of the key
//! bytes Java's default partitioner uses, so keys land on the partitions Kafka Connect would
//! choose; null keys spread randomly. Idempotence and `acks=all` keep per-partition order.
//!
//! Failure: a delivery error is fatal (`SinkError::Delivery`): the pipeline stops without
//! committing offsets past the failed record. A full local queue is back-pressure: `send` waits.

use std::collections::{BTreeSet, HashMap, HashSet};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use rdkafka::admin::{AdminClient, AdminOptions, NewTopic, TopicReplication};
use rdkafka::client::DefaultClientContext;
use rdkafka::config::ClientConfig;
use rdkafka::error::{KafkaError, RDKafkaErrorCode};
use rdkafka::message::{Header, OwnedHeaders};
use rdkafka::producer::{BaseRecord, DeliveryResult, Producer, ProducerContext, ThreadedProducer};
use rdkafka::ClientContext;

/// Production order number of a record.
pub type Seq = u64;

/// Errors of the Kafka sink.
#[derive(Debug, thiserror::Error)]
pub enum SinkError {
    #[error("invalid Kafka producer setting: {0}")]
    Config(String),
    #[error("cannot create topic {topic}: {message}")]
    CreateTopic { topic: String, message: String },
    #[error("Kafka did not store a record for topic {topic}: {message}")]
    Delivery { topic: String, message: String },
    #[error("Kafka producer error: {0}")]
    Produce(String),
    #[error("timed out after {0:?} waiting for Kafka to acknowledge records (is the broker at bootstrap.servers reachable?)")]
    FlushTimeout(Duration),
}

#[derive(Default)]
struct AckInner {
    /// Every record with a lower sequence number is acknowledged.
    acked_upto: Seq,
    /// Acknowledged records above `acked_upto`.
    ahead: BTreeSet<Seq>,
    error: Option<SinkError>,
}

/// Delivery bookkeeping shared with librdkafka's callback thread.
#[derive(Default, Clone)]
pub struct AckTracker {
    inner: Arc<Mutex<AckInner>>,
}

impl AckTracker {
    fn ack(&self, seq: Seq) {
        let mut g = self.inner.lock().unwrap_or_else(|p| p.into_inner());
        if seq == g.acked_upto {
            g.acked_upto += 1;
            loop {
                let next = g.acked_upto;
                if !g.ahead.remove(&next) {
                    break;
                }
                g.acked_upto += 1;
            }
        } else if seq > g.acked_upto {
            g.ahead.insert(seq);
        }
    }

    fn fail(&self, err: SinkError) {
        let mut g = self.inner.lock().unwrap_or_else(|p| p.into_inner());
        if g.error.is_none() {
            g.error = Some(err);
        }
    }

    /// All records with a sequence number below this are stored in Kafka.
    pub fn acked_upto(&self) -> Seq {
        self.inner.lock().unwrap_or_else(|p| p.into_inner()).acked_upto
    }

    /// The first delivery error, if any (taken once).
    pub fn take_error(&self) -> Option<SinkError> {
        self.inner.lock().unwrap_or_else(|p| p.into_inner()).error.take()
    }
}

/// librdkafka context reporting deliveries to the tracker.
pub struct AckContext {
    tracker: AckTracker,
}

impl ClientContext for AckContext {}

impl ProducerContext for AckContext {
    type DeliveryOpaque = usize;

    fn delivery(&self, result: &DeliveryResult<'_>, seq: usize) {
        match result {
            Ok(_) => self.tracker.ack(seq as Seq),
            Err((e, msg)) => {
                use rdkafka::Message;
                self.tracker.fail(SinkError::Delivery { topic: msg.topic().to_string(), message: e.to_string() })
            }
        }
    }
}

/// Producer settings.
#[derive(Debug, Clone)]
pub struct SinkConfig {
    pub bootstrap_servers: String,
    /// Extra librdkafka properties (the worker's `producer.*` with the prefix removed).
    pub overrides: Vec<(String, String)>,
    /// Partitions for topics the connector creates (`topic.creation.default.partitions`).
    pub default_partitions: i32,
    /// Replication factor for created topics (`topic.creation.default.replication.factor`).
    pub default_replication_factor: i32,
}

/// One record to produce. Header values are already encoded bytes.
pub struct OutRecord<'a> {
    pub topic: &'a str,
    pub key: Option<&'a [u8]>,
    pub value: Option<&'a [u8]>,
    pub headers: &'a [(&'a str, &'a [u8])],
    /// Force a partition (schema-change and heartbeat topics use partition 0).
    pub partition: Option<i32>,
}

/// The Kafka sink.
pub struct KafkaSink {
    producer: ThreadedProducer<AckContext>,
    admin: AdminClient<DefaultClientContext>,
    tracker: AckTracker,
    next_seq: Seq,
    known_topics: HashSet<String>,
    config: SinkConfig,
}

/// Java producer properties that have no librdkafka meaning (dropped instead of failing).
const JAVA_ONLY: &[&str] =
    &["key.serializer", "value.serializer", "buffer.memory", "max.block.ms", "interceptor.classes"];

fn client_config(cfg: &SinkConfig) -> ClientConfig {
    let mut c = ClientConfig::new();
    c.set("bootstrap.servers", &cfg.bootstrap_servers);
    c.set("partitioner", "murmur2_random");
    c.set("enable.idempotence", "true");
    c.set("acks", "all");
    c.set("linger.ms", "5");
    c.set("compression.type", "none");
    c.set("client.id", "cdc-connector");
    for (k, v) in &cfg.overrides {
        if !JAVA_ONLY.contains(&k.as_str()) {
            c.set(k, v);
        }
    }
    c
}

impl KafkaSink {
    /// Create the producer and admin client (no network round trip yet).
    pub fn new(cfg: SinkConfig) -> Result<KafkaSink, SinkError> {
        let tracker = AckTracker::default();
        let producer = client_config(&cfg)
            .create_with_context(AckContext { tracker: tracker.clone() })
            .map_err(|e| SinkError::Config(e.to_string()))?;
        let mut admin_cfg = ClientConfig::new();
        admin_cfg.set("bootstrap.servers", &cfg.bootstrap_servers);
        for (k, v) in &cfg.overrides {
            if k.starts_with("security.") || k.starts_with("sasl.") || k.starts_with("ssl.") {
                admin_cfg.set(k, v);
            }
        }
        let admin = admin_cfg.create().map_err(|e| SinkError::Config(e.to_string()))?;
        Ok(KafkaSink { producer, admin, tracker, next_seq: 0, known_topics: HashSet::new(), config: cfg })
    }

    /// Delivery tracker (shared with the offset committer).
    pub fn tracker(&self) -> &AckTracker {
        &self.tracker
    }

    /// Sequence number the next record will get.
    pub fn next_seq(&self) -> Seq {
        self.next_seq
    }

    /// Make sure `topic` exists, creating it with the configured partitions if it does not.
    pub async fn ensure_topic(&mut self, topic: &str, partitions: Option<i32>) -> Result<(), SinkError> {
        if self.known_topics.contains(topic) {
            return Ok(());
        }
        let parts = partitions.unwrap_or(self.config.default_partitions).max(1);
        let rf = self.config.default_replication_factor.max(1);
        let new = NewTopic::new(topic, parts, TopicReplication::Fixed(rf));
        let opts = AdminOptions::new().operation_timeout(Some(Duration::from_secs(30)));
        let res = self
            .admin
            .create_topics([&new], &opts)
            .await
            .map_err(|e| SinkError::CreateTopic { topic: topic.to_string(), message: e.to_string() })?;
        for r in res {
            match r {
                Ok(_) | Err((_, RDKafkaErrorCode::TopicAlreadyExists)) => {}
                Err((t, code)) => return Err(SinkError::CreateTopic { topic: t, message: code.to_string() }),
            }
        }
        self.known_topics.insert(topic.to_string());
        Ok(())
    }

    /// Enqueue one record; waits while librdkafka's local queue is full. Returns its sequence number.
    pub async fn send(&mut self, rec: &OutRecord<'_>) -> Result<Seq, SinkError> {
        if let Some(e) = self.tracker.take_error() {
            return Err(e);
        }
        let seq = self.next_seq;
        let mut headers = OwnedHeaders::new_with_capacity(rec.headers.len());
        for (k, v) in rec.headers {
            headers = headers.insert(Header { key: k, value: Some(*v) });
        }
        let mut record: BaseRecord<'_, [u8], [u8], usize> =
            BaseRecord::with_opaque_to(rec.topic, seq as usize).headers(headers);
        if let Some(k) = rec.key {
            record = record.key(k);
        }
        if let Some(v) = rec.value {
            record = record.payload(v);
        }
        if let Some(p) = rec.partition {
            record = record.partition(p);
        }
        loop {
            match self.producer.send(record) {
                Ok(()) => break,
                Err((KafkaError::MessageProduction(RDKafkaErrorCode::QueueFull), r)) => {
                    record = r;
                    tokio::time::sleep(Duration::from_millis(5)).await;
                }
                Err((e, _)) => return Err(SinkError::Produce(e.to_string())),
            }
        }
        self.next_seq += 1;
        Ok(seq)
    }

    /// Wait until every record sent so far is acknowledged (or fail).
    pub async fn flush(&self, timeout: Duration) -> Result<(), SinkError> {
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            if let Some(e) = self.tracker.take_error() {
                return Err(e);
            }
            if self.tracker.acked_upto() >= self.next_seq {
                return Ok(());
            }
            if tokio::time::Instant::now() >= deadline {
                return Err(SinkError::FlushTimeout(timeout));
            }
            self.producer.poll(Duration::from_millis(0));
            tokio::time::sleep(Duration::from_millis(2)).await;
        }
    }

    /// Number of partitions of a topic as the broker reports it.
    pub fn partition_count(&self, topic: &str) -> Result<usize, SinkError> {
        let md = self
            .producer
            .client()
            .fetch_metadata(Some(topic), Duration::from_secs(10))
            .map_err(|e| SinkError::Produce(e.to_string()))?;
        Ok(md.topics().first().map(|t| t.partitions().len()).unwrap_or(0))
    }
}

/// Split the worker's `producer.*` properties into librdkafka overrides.
pub fn producer_overrides(props: &HashMap<String, String>) -> Vec<(String, String)> {
    let mut v: Vec<(String, String)> =
        props.iter().filter_map(|(k, v)| k.strip_prefix("producer.").map(|k| (k.to_string(), v.clone()))).collect();
    v.sort();
    v
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tracker_advances_only_over_contiguous_acks() {
        let t = AckTracker::default();
        t.ack(1);
        t.ack(2);
        assert_eq!(t.acked_upto(), 0);
        t.ack(0);
        assert_eq!(t.acked_upto(), 3);
        t.ack(4);
        assert_eq!(t.acked_upto(), 3);
        t.ack(3);
        assert_eq!(t.acked_upto(), 5);
    }
}
