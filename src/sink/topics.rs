//! The connector's internal Kafka topics (the offsets topic, the schema history topic): create
//! one with its topic-level settings, read one from the beginning to its current end, and send
//! a record to a chosen partition with its delivery awaited or checked later.
//!
//! Reading: a consumer without a group is assigned every partition at its low watermark and
//! polls until each partition reached the high watermark read before starting, so records
//! written after the read began are not waited for. A topic that does not exist reads as
//! `None` (callers tell "missing" from "empty"). The blocking librdkafka consumer runs on
//! tokio's blocking pool.
//!
//! Failure: every error names the topic; the caller adds the property that named it.

use std::time::{Duration, Instant};

use rdkafka::admin::{AdminClient, AdminOptions, NewTopic, TopicReplication};
use rdkafka::config::{ClientConfig, FromClientConfigAndContext};
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::error::RDKafkaErrorCode;
use rdkafka::message::Message;
use rdkafka::producer::Producer;
use rdkafka::producer::{DeliveryFuture, FutureProducer, FutureRecord};
use rdkafka::types::RDKafkaRespErr;
use rdkafka::{Offset, TopicPartitionList};

use crate::kafka_client::{ClientSettings, KafkaAuth};

/// How long one metadata, watermark or admin request may take.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);

/// Errors of an internal topic.
#[derive(Debug, thiserror::Error)]
pub enum TopicError {
    #[error("Kafka topic {topic}: {message}")]
    Kafka { topic: String, message: String },
}

fn kafka_err(topic: &str, message: impl std::fmt::Display) -> TopicError {
    TopicError::Kafka { topic: topic.to_string(), message: message.to_string() }
}

/// Where the brokers are and how to reach them (only the connection and security settings of
/// `settings` are used).
#[derive(Debug, Clone)]
pub struct KafkaClient {
    pub bootstrap_servers: String,
    pub settings: ClientSettings,
}

/// One record of an internal topic.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TopicRecord {
    pub partition: i32,
    pub offset: i64,
    pub key: Option<Vec<u8>>,
    pub value: Option<Vec<u8>>,
}

/// Settings of a topic to create.
#[derive(Debug, Clone)]
pub struct TopicSpec<'a> {
    pub partitions: i32,
    /// -1: the broker's default.
    pub replication_factor: i32,
    /// Topic-level configs (`cleanup.policy`, `retention.ms`, ...).
    pub configs: &'a [(&'a str, &'a str)],
}

impl KafkaClient {
    fn config(&self) -> ClientConfig {
        self.settings.connection_only().client_config(&self.bootstrap_servers)
    }

    /// Create a client of type `T` from `cfg`, with its first MSK IAM token when one is needed.
    fn client<T: Created>(&self, cfg: &ClientConfig, topic: &str) -> Result<T, TopicError> {
        let client: T = cfg.create_with_context(self.settings.context()).map_err(|e| kafka_err(topic, e))?;
        client.prime(&self.settings).map_err(|e| kafka_err(topic, e))?;
        Ok(client)
    }

    /// Partitions of `topic`; `None` when the topic does not exist.
    pub async fn partitions(&self, topic: &str) -> Result<Option<Vec<i32>>, TopicError> {
        let cfg = self.config();
        let name = topic.to_string();
        let this = self.clone();
        blocking(topic, move || {
            let consumer: BaseConsumer<KafkaAuth> = this.client(&cfg, &name)?;
            partitions_of(&consumer, &name)
        })
        .await
    }

    /// Create `topic` with `spec` unless it exists. Returns whether it was created.
    pub async fn create(&self, topic: &str, spec: &TopicSpec<'_>) -> Result<bool, TopicError> {
        if self.partitions(topic).await?.is_some() {
            return Ok(false);
        }
        let admin: AdminClient<KafkaAuth> = self.client(&self.config(), topic)?;
        let replication = TopicReplication::Fixed(spec.replication_factor);
        let mut new = NewTopic::new(topic, spec.partitions, replication);
        for (k, v) in spec.configs {
            new = new.set(k, v);
        }
        let opts = AdminOptions::new().operation_timeout(Some(REQUEST_TIMEOUT));
        let res = admin.create_topics([&new], &opts).await.map_err(|e| kafka_err(topic, e))?;
        for r in res {
            match r {
                Ok(_) => {}
                Err((_, RDKafkaErrorCode::TopicAlreadyExists)) => return Ok(false),
                Err((t, code)) => return Err(kafka_err(&t, format!("cannot create the topic: {code}"))),
            }
        }
        Ok(true)
    }

    /// Every record of `topic`, partition by partition in offset order, up to the end it had
    /// when reading began; `None` when the topic does not exist.
    pub async fn read_all(&self, topic: &str) -> Result<Option<Vec<TopicRecord>>, TopicError> {
        let mut cfg = self.config();
        cfg.set("group.id", "cdc-connector-internal")
            .set("enable.auto.commit", "false")
            .set("enable.partition.eof", "false")
            .set("auto.offset.reset", "earliest");
        let name = topic.to_string();
        let this = self.clone();
        blocking(topic, move || {
            let consumer: BaseConsumer<KafkaAuth> = this.client(&cfg, &name)?;
            let Some(partitions) = partitions_of(&consumer, &name)? else { return Ok(None) };
            read_partitions(&consumer, &name, &partitions).map(Some)
        })
        .await
    }

    /// The cluster id the brokers report; `None` when they report none.
    pub async fn cluster_id(&self) -> Result<Option<String>, TopicError> {
        let cfg = self.config();
        let this = self.clone();
        blocking("(cluster metadata)", move || {
            let consumer: BaseConsumer<KafkaAuth> = this.client(&cfg, "(cluster metadata)")?;
            Ok(consumer.client().fetch_cluster_id(REQUEST_TIMEOUT))
        })
        .await
    }

    /// A producer for internal records: `acks=all`, idempotent, sent at once.
    pub fn producer(&self, topic: &str) -> Result<InternalProducer, TopicError> {
        let mut cfg = self.config();
        cfg.set("acks", "all").set("enable.idempotence", "true").set("linger.ms", "0");
        cfg.set("client.id", "cdc-connector-internal");
        self.client(&cfg, topic)
    }
}

/// The producer of internal records.
pub type InternalProducer = FutureProducer<KafkaAuth>;

/// A librdkafka client type built with [`KafkaAuth`]: gets its first MSK IAM token at once.
trait Created: FromClientConfigAndContext<KafkaAuth> {
    fn prime(&self, settings: &ClientSettings) -> Result<(), String>;
}

impl Created for BaseConsumer<KafkaAuth> {
    fn prime(&self, settings: &ClientSettings) -> Result<(), String> {
        settings.prime(self.client())
    }
}

impl Created for AdminClient<KafkaAuth> {
    fn prime(&self, settings: &ClientSettings) -> Result<(), String> {
        settings.prime(self.inner())
    }
}

impl Created for FutureProducer<KafkaAuth> {
    fn prime(&self, settings: &ClientSettings) -> Result<(), String> {
        settings.prime(self.client())
    }
}

/// Hand a record to `producer` for `partition` of `topic`; the returned future resolves when
/// Kafka acknowledged (or refused) it. Internal records are few: a full local queue is an error.
pub fn send(
    producer: &InternalProducer,
    topic: &str,
    partition: i32,
    key: Option<&[u8]>,
    value: Option<&[u8]>,
) -> Result<DeliveryFuture, TopicError> {
    let mut record: FutureRecord<'_, [u8], [u8]> = FutureRecord::to(topic).partition(partition);
    if let Some(k) = key {
        record = record.key(k);
    }
    if let Some(v) = value {
        record = record.payload(v);
    }
    producer.send_result(record).map_err(|(e, _)| kafka_err(topic, e))
}

/// The outcome of a delivery future: `Ok` once Kafka stored the record.
pub async fn delivered(topic: &str, delivery: DeliveryFuture) -> Result<(), TopicError> {
    match delivery.await {
        Ok(Ok(_)) => Ok(()),
        Ok(Err((e, _))) => Err(kafka_err(topic, format!("Kafka did not store the record: {e}"))),
        Err(_) => Err(kafka_err(topic, "the producer was closed before Kafka acknowledged the record")),
    }
}

async fn blocking<T: Send + 'static>(
    topic: &str,
    f: impl FnOnce() -> Result<T, TopicError> + Send + 'static,
) -> Result<T, TopicError> {
    tokio::task::spawn_blocking(f).await.map_err(|e| kafka_err(topic, format!("reader task failed: {e}")))?
}

fn partitions_of(consumer: &BaseConsumer<KafkaAuth>, topic: &str) -> Result<Option<Vec<i32>>, TopicError> {
    let md = consumer.fetch_metadata(Some(topic), REQUEST_TIMEOUT).map_err(|e| kafka_err(topic, e))?;
    let Some(t) = md.topics().iter().find(|t| t.name() == topic) else { return Ok(None) };
    match t.error() {
        None => {}
        Some(RDKafkaRespErr::RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART) => return Ok(None),
        Some(e) => return Err(kafka_err(topic, format!("metadata error {e:?}"))),
    }
    if t.partitions().is_empty() {
        return Ok(None);
    }
    let mut ids: Vec<i32> = t.partitions().iter().map(|p| p.id()).collect();
    ids.sort_unstable();
    Ok(Some(ids))
}

fn read_partitions(
    consumer: &BaseConsumer<KafkaAuth>,
    topic: &str,
    partitions: &[i32],
) -> Result<Vec<TopicRecord>, TopicError> {
    let mut tpl = TopicPartitionList::new();
    let mut ends = Vec::new();
    for &p in partitions {
        let (lo, hi) = consumer.fetch_watermarks(topic, p, REQUEST_TIMEOUT).map_err(|e| kafka_err(topic, e))?;
        if hi > lo {
            tpl.add_partition_offset(topic, p, Offset::Offset(lo)).map_err(|e| kafka_err(topic, e))?;
            ends.push((p, hi));
        }
    }
    let mut out = Vec::new();
    if ends.is_empty() {
        return Ok(out);
    }
    consumer.assign(&tpl).map_err(|e| kafka_err(topic, e))?;
    let mut remaining = ends.len();
    let mut last_progress = Instant::now();
    while remaining > 0 {
        match consumer.poll(Duration::from_millis(200)) {
            Some(Ok(m)) => {
                last_progress = Instant::now();
                let Some(end) = ends.iter_mut().find(|(p, _)| *p == m.partition()) else { continue };
                if m.offset() >= end.1 {
                    continue;
                }
                out.push(TopicRecord {
                    partition: m.partition(),
                    offset: m.offset(),
                    key: m.key().map(<[u8]>::to_vec),
                    value: m.payload().map(<[u8]>::to_vec),
                });
                if m.offset() + 1 >= end.1 {
                    end.1 = -1;
                    remaining -= 1;
                }
            }
            Some(Err(e)) => return Err(kafka_err(topic, format!("reading the topic: {e}"))),
            None => {
                // A partition whose last offsets hold no visible record (compaction, control
                // records) ends when the consumer's position reached the end.
                if let Ok(pos) = consumer.position() {
                    for (p, hi) in ends.iter_mut().filter(|(_, h)| *h >= 0) {
                        let at = pos.find_partition(topic, *p).and_then(|e| e.offset().to_raw());
                        if at.is_some_and(|o| o >= *hi) {
                            *hi = -1;
                            remaining -= 1;
                        }
                    }
                }
                if remaining > 0 && last_progress.elapsed() > REQUEST_TIMEOUT {
                    let behind: Vec<String> =
                        ends.iter().filter(|(_, h)| *h >= 0).map(|(p, h)| format!("partition {p} (end {h})")).collect();
                    return Err(kafka_err(
                        topic,
                        format!("no progress reading to the end within {REQUEST_TIMEOUT:?}: {}", behind.join(", ")),
                    ));
                }
            }
        }
    }
    // Partition order, then offset order (records of one key are in one partition).
    out.sort_by_key(|r| (r.partition, r.offset));
    Ok(out)
}
