//! The `_schemas` topic: Confluent's record format, replay at start-up, produce on change.
//!
//! Record format (the one Confluent's registry writes, so either registry can read the other's topic):
//! * key `{"keytype":"SCHEMA","subject":S,"version":V,"magic":1}`,
//!   value `{"subject":S,"version":V,"id":ID,"schema":TEXT,"deleted":BOOL}`, tombstone = permanent delete;
//! * key `{"keytype":"CONFIG","subject":S|null,"magic":0}`, value `{"compatibilityLevel":LEVEL}`,
//!   tombstone = back to the default;
//! * read only: `DELETE_SUBJECT` / `CLEAR_SUBJECT` (value `{"subject":S,"version":V}`); others ignored.
//!
//! Keys are serialised with a fixed field order so that compaction sees the same bytes for the same key
//! whoever wrote it. The topic is created (compacted, 1 partition) through the admin API if missing,
//! since brokers such as tansu do not auto-create topics. Only partition 0 is used.
//!
//! Algorithm: a tailer thread reads partition 0 from the beginning forever and folds every record into
//! [`State`] (see `state.rs`), publishing the next offset it will read. Start-up waits until the tailer
//! has reached the high watermark read at start. [`KafkaStore::sync`] does the same at any time ("read
//! to the current end"); [`KafkaStore::write`] produces one record and waits until the tailer has
//! applied it, so a writer reads its own writes and every state change goes through the log.
//!
//! Failure: start-up retries while Kafka is unreachable, up to the start-up timeout, then fails. After
//! that, a produce or sync that does not finish within the operation timeout is an error for that
//! request only (the client may retry); the tailer keeps retrying on its own (librdkafka reconnects).

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, RwLock, RwLockReadGuard};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use rdkafka::admin::{AdminClient, AdminOptions, NewTopic, TopicReplication};
use rdkafka::client::{ClientContext, OAuthToken};
use rdkafka::consumer::{BaseConsumer, Consumer, ConsumerContext};
use rdkafka::error::{KafkaError, RDKafkaErrorCode};
use rdkafka::message::Message;
use rdkafka::producer::{FutureProducer, FutureRecord, Producer};
use rdkafka::util::Timeout;
use rdkafka::{ClientConfig, Offset, TopicPartitionList};
use serde_json::{json, Value};
use tokio::sync::watch;

use super::state::State;
use crate::kafka_client::{ClientSettings, KafkaAuth, ProbeError};

/// A record key of the topic.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Key {
    Schema {
        subject: String,
        version: i32,
    },
    Config {
        subject: Option<String>,
    },
    DeleteSubject {
        subject: String,
    },
    ClearSubject {
        subject: String,
    },
    /// another key type (NOOP, MODE, CONTEXT…): ignored
    Other(String),
}

impl Key {
    /// Confluent's serialisation, field order fixed.
    pub fn to_bytes(&self) -> Vec<u8> {
        let q = |s: &str| Value::String(s.to_string()).to_string();
        let text = match self {
            Key::Schema { subject, version } => {
                format!(r#"{{"keytype":"SCHEMA","subject":{},"version":{version},"magic":1}}"#, q(subject))
            }
            Key::Config { subject } => format!(
                r#"{{"keytype":"CONFIG","subject":{},"magic":0}}"#,
                subject.as_deref().map(q).unwrap_or_else(|| "null".into())
            ),
            Key::DeleteSubject { subject } => {
                format!(r#"{{"keytype":"DELETE_SUBJECT","subject":{},"magic":0}}"#, q(subject))
            }
            Key::ClearSubject { subject } => {
                format!(r#"{{"keytype":"CLEAR_SUBJECT","subject":{},"magic":0}}"#, q(subject))
            }
            Key::Other(k) => format!(r#"{{"keytype":{},"magic":0}}"#, q(k)),
        };
        text.into_bytes()
    }

    /// Parse a key; `None` when it is not a JSON object with a `keytype`.
    pub fn parse(bytes: &[u8]) -> Option<Key> {
        let v: Value = serde_json::from_slice(bytes).ok()?;
        let kind = v.get("keytype")?.as_str()?;
        let subject = v.get("subject").and_then(|s| s.as_str()).map(str::to_string);
        Some(match kind {
            "SCHEMA" => Key::Schema { subject: subject?, version: i32::try_from(v.get("version")?.as_i64()?).ok()? },
            "CONFIG" => Key::Config { subject },
            "DELETE_SUBJECT" => Key::DeleteSubject { subject: subject? },
            "CLEAR_SUBJECT" => Key::ClearSubject { subject: subject? },
            other => Key::Other(other.to_string()),
        })
    }
}

/// The value of a SCHEMA record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SchemaValue {
    pub subject: String,
    pub version: i32,
    pub id: i32,
    pub schema: String,
    pub deleted: bool,
}

impl SchemaValue {
    pub fn to_json(&self) -> Value {
        json!({
            "subject": self.subject,
            "version": self.version,
            "id": self.id,
            "schema": self.schema,
            "deleted": self.deleted,
        })
    }

    /// `None` when required fields are missing or the schema type is not Avro.
    pub fn from_json(v: Value) -> Option<SchemaValue> {
        if let Some(t) = v.get("schemaType").and_then(|t| t.as_str()) {
            if t != "AVRO" {
                return None;
            }
        }
        Some(SchemaValue {
            subject: v.get("subject")?.as_str()?.to_string(),
            version: i32::try_from(v.get("version")?.as_i64()?).ok()?,
            id: i32::try_from(v.get("id")?.as_i64()?).ok()?,
            schema: v.get("schema")?.as_str()?.to_string(),
            deleted: v.get("deleted").and_then(|d| d.as_bool()).unwrap_or(false),
        })
    }
}

/// One record: key and value (`None` = tombstone).
#[derive(Debug, Clone)]
pub struct Record {
    pub key: Key,
    pub value: Option<Value>,
}

/// Where the store lives and how long to wait for it.
#[derive(Debug, Clone)]
pub struct StoreConfig {
    /// Kafka bootstrap servers.
    pub bootstrap_servers: String,
    /// The topic (Confluent's default: `_schemas`).
    pub topic: String,
    /// Extra librdkafka properties for every client (security settings…).
    pub client: ClientSettings,
    /// Bound on one produce / one read-to-end.
    pub operation_timeout: Duration,
    /// How long start-up keeps retrying while Kafka is unreachable.
    pub startup_timeout: Duration,
}

/// Storage errors: transient from the client's point of view (retry the request).
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("Kafka client: {0}")]
    Client(String),
    #[error("creating topic '{topic}': {message}")]
    CreateTopic { topic: String, message: String },
    #[error("timed out after {0:?} waiting for the '_schemas' topic")]
    Timeout(Duration),
    #[error("producing to '{topic}': {message}")]
    Produce { topic: String, message: String },
}

/// The topic-backed store: a producer plus a tailer thread folding records into the state.
pub struct KafkaStore {
    cfg: StoreConfig,
    producer: FutureProducer<KafkaAuth>,
    state: Arc<RwLock<State>>,
    /// next offset the tailer will apply
    applied: watch::Receiver<i64>,
    stop: Arc<AtomicBool>,
    tailer: Option<JoinHandle<()>>,
}

fn client_config(cfg: &StoreConfig) -> ClientConfig {
    cfg.client.client_config(&cfg.bootstrap_servers)
}

impl KafkaStore {
    /// Create the topic if needed, start the tailer and replay the topic up to its current end.
    pub async fn open(cfg: StoreConfig) -> Result<KafkaStore, StoreError> {
        let deadline = Instant::now() + cfg.startup_timeout;
        let mut delay = Duration::from_millis(200);
        loop {
            let probed = {
                let (client, bootstrap, timeout) =
                    (cfg.client.clone(), cfg.bootstrap_servers.clone(), cfg.operation_timeout);
                tokio::task::spawn_blocking(move || client.probe(&bootstrap, timeout))
                    .await
                    .map_err(|e| StoreError::Client(e.to_string()))?
            };
            let attempt = match probed {
                // a refused login or TLS handshake does not heal by waiting
                Err(e @ ProbeError::Refused(_)) => return Err(StoreError::Client(e.to_string())),
                Err(e) => Err(StoreError::Client(e.to_string())),
                Ok(()) => ensure_topic(&cfg).await,
            };
            match attempt {
                Ok(()) => break,
                Err(e) if Instant::now() + delay < deadline => {
                    tracing::warn!(error = %e, retry_in_ms = delay.as_millis() as u64, "schemas topic not ready; retrying");
                    tokio::time::sleep(delay).await;
                    delay = (delay * 2).min(Duration::from_secs(5));
                }
                Err(e) => return Err(e),
            }
        }
        let producer: FutureProducer<KafkaAuth> = client_config(&cfg)
            .set("acks", "all")
            .set("linger.ms", "0")
            .set("compression.type", "none")
            .set("message.timeout.ms", cfg.operation_timeout.as_millis().to_string())
            .set("client.id", "schema-registry")
            .create_with_context(cfg.client.context())
            .map_err(|e| StoreError::Client(e.to_string()))?;
        cfg.client.prime(producer.client()).map_err(StoreError::Client)?;
        let consumer: BaseConsumer<ReaderContext> = client_config(&cfg)
            .set("group.id", format!("schema-registry-{}", uuid::Uuid::now_v7()))
            .set("enable.auto.commit", "false")
            .set("enable.partition.eof", "true")
            .set("auto.offset.reset", "earliest")
            .set("fetch.wait.max.ms", "50")
            .set("client.id", "schema-registry-reader")
            .create_with_context(ReaderContext { auth: cfg.client.context() })
            .map_err(|e| StoreError::Client(e.to_string()))?;
        cfg.client.prime(consumer.client()).map_err(StoreError::Client)?;
        let mut tpl = TopicPartitionList::new();
        tpl.add_partition_offset(&cfg.topic, 0, Offset::Beginning).map_err(|e| StoreError::Client(e.to_string()))?;
        consumer.assign(&tpl).map_err(|e| StoreError::Client(e.to_string()))?;

        let state = Arc::new(RwLock::new(State::default()));
        let (tx, rx) = watch::channel(0i64);
        let stop = Arc::new(AtomicBool::new(false));
        let tailer = {
            let (state, stop, topic) = (state.clone(), stop.clone(), cfg.topic.clone());
            std::thread::Builder::new()
                .name("schemas-tailer".into())
                .spawn(move || tail(consumer, &topic, &state, &tx, &stop))
                .map_err(|e| StoreError::Client(format!("starting the reader thread: {e}")))?
        };
        let store = KafkaStore { cfg, producer, state, applied: rx, stop, tailer: Some(tailer) };
        let t0 = Instant::now();
        loop {
            match store.sync().await {
                Ok(()) => break,
                Err(e) if Instant::now() < deadline => {
                    tracing::warn!(error = %e, "replaying the schemas topic; retrying");
                    tokio::time::sleep(Duration::from_millis(500)).await;
                }
                Err(e) => return Err(e),
            }
        }
        let (subjects, max_id) = {
            let st = store.read();
            (st.subjects(true).len(), st.max_id())
        };
        tracing::info!(
            topic = %store.cfg.topic,
            records_up_to = *store.applied.borrow(),
            subjects,
            max_id,
            elapsed_ms = t0.elapsed().as_millis() as u64,
            "schemas topic replayed"
        );
        Ok(store)
    }

    /// Read access to the state as of the last applied record.
    pub fn read(&self) -> RwLockReadGuard<'_, State> {
        self.state.read().unwrap_or_else(|p| p.into_inner())
    }

    /// Wait until every record written to the topic before this call has been applied.
    pub async fn sync(&self) -> Result<(), StoreError> {
        let producer = self.producer.clone();
        let topic = self.cfg.topic.clone();
        let timeout = self.cfg.operation_timeout;
        let (_, high) = tokio::task::spawn_blocking(move || producer.client().fetch_watermarks(&topic, 0, timeout))
            .await
            .map_err(|e| StoreError::Client(e.to_string()))?
            .map_err(|e| StoreError::Client(format!("reading the end offset of '{}': {e}", self.cfg.topic)))?;
        self.wait_applied(high).await
    }

    async fn wait_applied(&self, offset: i64) -> Result<(), StoreError> {
        let mut rx = self.applied.clone();
        let timeout = self.cfg.operation_timeout;
        let res = tokio::time::timeout(timeout, rx.wait_for(|a| *a >= offset)).await.map(|r| r.is_ok());
        match res {
            Ok(true) => Ok(()),
            Ok(false) => Err(StoreError::Client("the reader thread stopped".into())),
            Err(_) => Err(StoreError::Timeout(timeout)),
        }
    }

    /// Produce one record (value `None` = tombstone) and wait until the tailer has applied it.
    pub async fn write(&self, key: &Key, value: Option<&Value>) -> Result<(), StoreError> {
        let k = key.to_bytes();
        let v = value.map(|v| v.to_string().into_bytes());
        let mut rec: FutureRecord<'_, [u8], [u8]> = FutureRecord::to(&self.cfg.topic).partition(0).key(&k[..]);
        if let Some(v) = &v {
            rec = rec.payload(&v[..]);
        }
        let delivery = self
            .producer
            .send(rec, Timeout::After(self.cfg.operation_timeout))
            .await
            .map_err(|(e, _)| StoreError::Produce { topic: self.cfg.topic.clone(), message: e.to_string() })?;
        self.wait_applied(delivery.offset + 1).await
    }

    pub fn topic(&self) -> &str {
        &self.cfg.topic
    }
}

impl Drop for KafkaStore {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.tailer.take() {
            let _ = t.join();
        }
    }
}

async fn ensure_topic(cfg: &StoreConfig) -> Result<(), StoreError> {
    let admin: AdminClient<KafkaAuth> =
        client_config(cfg).create_with_context(cfg.client.context()).map_err(|e| StoreError::Client(e.to_string()))?;
    cfg.client.prime(admin.inner()).map_err(StoreError::Client)?;
    let new = NewTopic::new(&cfg.topic, 1, TopicReplication::Fixed(1)).set("cleanup.policy", "compact");
    let opts =
        AdminOptions::new().operation_timeout(Some(cfg.operation_timeout)).request_timeout(Some(cfg.operation_timeout));
    let res = admin
        .create_topics([&new], &opts)
        .await
        .map_err(|e| StoreError::CreateTopic { topic: cfg.topic.clone(), message: e.to_string() })?;
    for r in res {
        match r {
            Ok(_) => tracing::info!(topic = %cfg.topic, "created the schemas topic (compacted, 1 partition)"),
            Err((_, RDKafkaErrorCode::TopicAlreadyExists)) => {}
            Err((t, code)) => return Err(StoreError::CreateTopic { topic: t, message: code.to_string() }),
        }
    }
    Ok(())
}

/// The reader's client context: end-of-partition is expected (it is how the tailer learns it has
/// caught up), so it is not logged as an error; other client errors are warnings (librdkafka retries).
/// It refreshes MSK IAM tokens too.
struct ReaderContext {
    auth: KafkaAuth,
}

impl ClientContext for ReaderContext {
    const ENABLE_REFRESH_OAUTH_TOKEN: bool = true;

    fn generate_oauth_token(&self, _config: Option<&str>) -> Result<OAuthToken, Box<dyn std::error::Error>> {
        self.auth.oauth_token()
    }

    fn error(&self, error: KafkaError, reason: &str) {
        // librdkafka reports it as a partition error or, through the client callback, as a global one.
        let eof = matches!(error, KafkaError::PartitionEOF(_))
            || matches!(error, KafkaError::Global(rdkafka::types::RDKafkaErrorCode::PartitionEOF));
        if !eof {
            tracing::warn!(error = %error, reason, "schemas topic reader");
        }
    }
}

impl ConsumerContext for ReaderContext {}

/// The tailer: apply records in log order forever; publish the next offset to read.
fn tail(
    consumer: BaseConsumer<ReaderContext>,
    topic: &str,
    state: &RwLock<State>,
    applied: &watch::Sender<i64>,
    stop: &AtomicBool,
) {
    let mut last_error: Option<(String, Instant)> = None;
    while !stop.load(Ordering::Relaxed) {
        match consumer.poll(Duration::from_millis(100)) {
            Some(Ok(m)) => {
                let rec = m.key().and_then(Key::parse).map(|key| Record {
                    key,
                    value: m.payload().and_then(|p| serde_json::from_slice::<Value>(p).ok()),
                });
                match rec {
                    Some(rec) => state.write().unwrap_or_else(|p| p.into_inner()).apply(rec),
                    None => tracing::warn!(offset = m.offset(), "_schemas: record with an unreadable key ignored"),
                }
                applied.send_replace(m.offset() + 1);
            }
            Some(Err(KafkaError::PartitionEOF(_))) => {
                // at the end: the position is the high watermark even if compaction left offset gaps
                if let Ok(pos) = consumer.position() {
                    if let Some(Offset::Offset(o)) = pos.find_partition(topic, 0).map(|p| p.offset()) {
                        applied.send_if_modified(|a| {
                            let grew = o > *a;
                            if grew {
                                *a = o;
                            }
                            grew
                        });
                    }
                }
            }
            Some(Err(e)) => {
                let msg = e.to_string();
                let repeat = matches!(&last_error, Some((m, t)) if *m == msg && t.elapsed() < Duration::from_secs(30));
                if !repeat {
                    tracing::warn!(error = %msg, topic, "reading the schemas topic");
                    last_error = Some((msg, Instant::now()));
                }
            }
            None => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_round_trip_in_confluent_order() {
        let k = Key::Schema { subject: "a\"b".into(), version: 3 };
        assert_eq!(
            String::from_utf8(k.to_bytes()).unwrap(),
            r#"{"keytype":"SCHEMA","subject":"a\"b","version":3,"magic":1}"#
        );
        assert_eq!(Key::parse(&k.to_bytes()), Some(k));
        let g = Key::Config { subject: None };
        assert_eq!(String::from_utf8(g.to_bytes()).unwrap(), r#"{"keytype":"CONFIG","subject":null,"magic":0}"#);
        assert_eq!(Key::parse(&g.to_bytes()), Some(g));
        assert_eq!(Key::parse(br#"{"keytype":"NOOP","magic":0}"#), Some(Key::Other("NOOP".into())));
        assert_eq!(Key::parse(b"garbage"), None);
    }

    #[test]
    fn schema_values() {
        let v = SchemaValue { subject: "s".into(), version: 1, id: 7, schema: "\"int\"".into(), deleted: false };
        assert_eq!(SchemaValue::from_json(v.to_json()), Some(v));
        assert_eq!(
            SchemaValue::from_json(json!({"subject":"s","version":1,"id":1,"schema":"x","schemaType":"PROTOBUF"})),
            None
        );
    }
}
