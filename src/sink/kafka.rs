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
//!
//! Producer settings and the in-flight gate. `enable.idempotence=true` and `acks=all` are the
//! defaults (ordering per partition and no duplicates on retry, as Kafka Connect's producer).
//! `linger.ms=5` (librdkafka's own default), no compression (tansu's snappy is broken). With
//! idempotence on, librdkafka 2.12 (bundled by rdkafka-sys 4.10) has two behaviours that together
//! make its broker thread busy-spin whenever records queue up behind a produce request:
//!
//! 1. It caps the partition's in-flight *messages* (`rktp_msgs_inflight`) at
//!    `RD_KAFKA_IDEMP_MAX_INFLIGHT` = 5, a limit meant for *requests*
//!    (`rd_kafka_toppar_producer_serve`: `max_requests = min(.., 5 - inflight)`). Any request of
//!    5 or more records therefore blocks the next one: one ProduceRequest per partition at a time.
//! 2. That check comes after `rd_kafka_msgq_allow_wakeup_at` has already set the broker thread's
//!    next wake-up to the queued batch's linger deadline, clamped to *now* once it has passed. The
//!    thread then polls its socket with a zero timeout, finds nothing to do (it may not send),
//!    and loops, until the response arrives.
//!
//! Without idempotence neither happens (requests are pipelined; a blocked send does not touch the
//! wake-up time). So whenever the connector produces faster than one request per round trip, one
//! core spins for the whole round trip. Against tansu 0.6.0 with sqlite (a ~1 MB request of 330
//! records of 3.3 KB takes 130-230 ms) that was ~93 % of the connector's CPU, ~260-316 µs per
//! record (benchmarks/RESULTS.md, "Producer CPU with idempotence"). tansu itself answers
//! correctly (one InitProducerId, PID epoch 0, Produce v10, no errors or epoch bumps); a real
//! Kafka only makes each spin shorter. No librdkafka property avoids it: `linger.ms` only
//! delays the spin until the oldest queued record is that old (a backlog is always older),
//! `max.in.flight` and `queue.buffering.backpressure.threshold` are checked elsewhere, and
//! batches under 5 records would make tansu (one sqlite transaction per request) far slower.
//!
//! So `send` does not give librdkafka a record that would have to wait behind an in-flight
//! request (`InflightGate`): a record is enqueued when every earlier record is acknowledged
//! (it starts a batch), or when it can still join the batch that record started: the batch is
//! younger than 3/4 of `linger.ms` (librdkafka sends it at `linger.ms`) and stays within one
//! ProduceRequest (`batch.num.messages`, `min(batch.size, message.max.bytes)` less a 1 KB
//! margin, records counted with key, value, headers and 64 bytes of framing). Otherwise `send`
//! waits for the acknowledgements (woken by the delivery callback). This is what librdkafka does
//! anyway with idempotence (one request per partition at a time), minus the spin: the batch
//! simply waits in the pipeline instead of librdkafka's queue, so librdkafka's queue holds at
//! most one batch (peak RSS fell from ~450 MB to ~30 MB). The cost is up to `linger.ms` per
//! round trip between a response and the next request (5 ms against tansu's 130-230 ms), and the
//! gate is global: with several partitions, a new round starts once all of the previous round's
//! requests are acknowledged. With `linger.ms=0` every record would
//! wait for the previous one's acknowledgement: keep `linger.ms` at a few ms. The gate is off
//! when `producer.enable.idempotence=false` (librdkafka pipelines then and does not spin).

use std::collections::{BTreeSet, HashSet};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use rdkafka::admin::{AdminClient, AdminOptions, NewTopic, TopicReplication};
use rdkafka::client::OAuthToken;
use rdkafka::config::ClientConfig;
use rdkafka::error::{KafkaError, RDKafkaErrorCode};
use rdkafka::message::{Header, OwnedHeaders};
use rdkafka::producer::{BaseRecord, DeliveryResult, Producer, ProducerContext, ThreadedProducer};
use rdkafka::ClientContext;

use crate::kafka_client::{ClientSettings, KafkaAuth};
use tokio::sync::Notify;

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
    /// `send` is waiting until `acked_upto` reaches this (`None`: nobody waits).
    wake_at: Option<Seq>,
}

/// Delivery bookkeeping shared with librdkafka's callback thread.
#[derive(Default, Clone)]
pub struct AckTracker {
    inner: Arc<Mutex<AckInner>>,
    /// Wakes the in-flight gate in `send` (see the module doc).
    wake: Arc<Notify>,
}

impl AckTracker {
    fn ack(&self, seq: Seq) {
        let mut g = self.inner.lock().unwrap_or_else(|p| p.into_inner());
        Self::advance(&mut g, seq);
        if g.wake_at.is_some_and(|w| g.acked_upto >= w) {
            g.wake_at = None;
            self.wake.notify_one();
        }
    }

    fn advance(g: &mut AckInner, seq: Seq) {
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
        g.wake_at = None;
        self.wake.notify_one();
    }

    /// Wait until every record below `upto` is acknowledged or a delivery failed (or `limit` passed).
    async fn wait_acked(&self, upto: Seq, limit: Duration) {
        {
            let mut g = self.inner.lock().unwrap_or_else(|p| p.into_inner());
            if g.acked_upto >= upto || g.error.is_some() {
                return;
            }
            g.wake_at = Some(upto);
        }
        // A notification sent between the unlock and this await is kept as a permit (notify_one).
        let _ = tokio::time::timeout(limit, self.wake.notified()).await;
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

/// librdkafka context reporting deliveries to the tracker (and refreshing MSK IAM tokens).
pub struct AckContext {
    tracker: AckTracker,
    auth: KafkaAuth,
}

impl ClientContext for AckContext {
    const ENABLE_REFRESH_OAUTH_TOKEN: bool = true;

    fn generate_oauth_token(&self, _config: Option<&str>) -> Result<OAuthToken, Box<dyn std::error::Error>> {
        self.auth.oauth_token()
    }
}

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
    /// The producer's client settings (the worker's `producer.*` over its security settings).
    pub client: ClientSettings,
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
    admin: AdminClient<KafkaAuth>,
    tracker: AckTracker,
    next_seq: Seq,
    known_topics: HashSet<String>,
    config: SinkConfig,
    gate: InflightGate,
}

/// Bytes a record is counted for against the request size (payload, key, headers and a generous
/// allowance for the v2 record framing).
fn record_size(rec: &OutRecord<'_>) -> usize {
    const RECORD_OVERHEAD: usize = 64;
    rec.key.map_or(0, <[u8]>::len)
        + rec.value.map_or(0, <[u8]>::len)
        + rec.headers.iter().map(|(k, v)| k.len() + v.len() + 8).sum::<usize>()
        + RECORD_OVERHEAD
}

/// The in-flight gate of the idempotent producer (see the module doc): records are handed to
/// librdkafka only while nothing is outstanding, or while they can still join the batch that was
/// started when nothing was outstanding (younger than `join`, within one ProduceRequest).
#[derive(Debug, Clone)]
struct InflightGate {
    enabled: bool,
    /// How long after the first record of a batch later records may still join it (3/4 of `linger.ms`).
    join: Duration,
    /// `batch.num.messages`.
    max_count: u64,
    /// `min(batch.size, message.max.bytes)` minus the request/batch header allowance.
    max_bytes: usize,
    open: Option<OpenBatch>,
}

#[derive(Debug, Clone, Copy)]
struct OpenBatch {
    since: Instant,
    count: u64,
    bytes: usize,
}

impl InflightGate {
    fn new(cfg: &ClientConfig) -> InflightGate {
        let num = |key: &str, default: u64| cfg.get(key).and_then(|v| v.trim().parse::<u64>().ok()).unwrap_or(default);
        let idempotent = cfg.get("enable.idempotence").is_some_and(|v| v.trim().eq_ignore_ascii_case("true"));
        // `queue.buffering.max.ms` is librdkafka's name, `linger.ms` its alias (the last one set wins
        // in librdkafka; ours sets `linger.ms`, so an override of either is honoured).
        let linger_ms = cfg.get("queue.buffering.max.ms").or_else(|| cfg.get("linger.ms"));
        let linger_ms = linger_ms.and_then(|v| v.trim().parse::<f64>().ok()).unwrap_or(5.0).max(0.0);
        let request_bytes = num("batch.size", 1_000_000).min(num("message.max.bytes", 1_000_000)) as usize;
        InflightGate {
            enabled: idempotent,
            join: Duration::from_secs_f64(linger_ms * 0.75 / 1000.0),
            max_count: num("batch.num.messages", 10_000).max(1),
            max_bytes: request_bytes.saturating_sub(1024),
            open: None,
        }
    }

    /// May a record of `size` bytes join the open batch now? Counts it if so.
    fn try_join(&mut self, now: Instant, size: usize) -> bool {
        match &mut self.open {
            Some(b)
                if now.duration_since(b.since) < self.join
                    && b.count < self.max_count
                    && b.bytes + size <= self.max_bytes =>
            {
                b.count += 1;
                b.bytes += size;
                true
            }
            _ => false,
        }
    }

    /// Nothing is outstanding: the record starts a new batch.
    fn start(&mut self, now: Instant, size: usize) {
        self.open = Some(OpenBatch { since: now, count: 1, bytes: size });
    }
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
    for (k, v) in cfg.client.iter() {
        if !JAVA_ONLY.contains(&k) {
            c.set(k, v);
        }
    }
    c
}

impl KafkaSink {
    /// Create the producer and admin client (no network round trip yet).
    pub fn new(cfg: SinkConfig) -> Result<KafkaSink, SinkError> {
        let tracker = AckTracker::default();
        let client_cfg = client_config(&cfg);
        let gate = InflightGate::new(&client_cfg);
        let producer: ThreadedProducer<AckContext> = client_cfg
            .create_with_context(AckContext { tracker: tracker.clone(), auth: cfg.client.context() })
            .map_err(|e| SinkError::Config(e.to_string()))?;
        cfg.client.prime(producer.client()).map_err(SinkError::Config)?;
        let admin = admin_client(&cfg)?;
        Ok(KafkaSink { producer, admin, tracker, next_seq: 0, known_topics: HashSet::new(), config: cfg, gate })
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
        if self.config.client.uses_msk_iam() {
            // an admin client's OAUTHBEARER token is not refreshed (nothing polls its main
            // queue): a fresh one for each topic created (rare)
            self.admin = admin_client(&self.config)?;
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
        self.pass_gate(record_size(rec)).await?;
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

    /// The in-flight gate (module doc): returns when the record may be handed to librdkafka.
    async fn pass_gate(&mut self, size: usize) -> Result<(), SinkError> {
        if !self.gate.enabled {
            return Ok(());
        }
        loop {
            if let Some(e) = self.tracker.take_error() {
                return Err(e);
            }
            let now = Instant::now();
            if self.tracker.acked_upto() >= self.next_seq {
                self.gate.start(now, size);
                return Ok(());
            }
            if self.gate.try_join(now, size) {
                return Ok(());
            }
            self.gate.open = None;
            // The bound only guards against a lost wake-up; acks and failures notify.
            self.tracker.wait_acked(self.next_seq, Duration::from_millis(200)).await;
        }
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

/// The admin client creating the connector's topics (the producer's connection settings).
fn admin_client(cfg: &SinkConfig) -> Result<AdminClient<KafkaAuth>, SinkError> {
    let settings = cfg.client.connection_only();
    let admin: AdminClient<KafkaAuth> = settings
        .client_config(&cfg.bootstrap_servers)
        .create_with_context(settings.context())
        .map_err(|e| SinkError::Config(e.to_string()))?;
    settings.prime(admin.inner()).map_err(SinkError::Config)?;
    Ok(admin)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn gate(props: &[(&str, &str)]) -> InflightGate {
        let cfg = SinkConfig {
            bootstrap_servers: "127.0.0.1:9".into(),
            client: ClientSettings::from_properties(props.iter().copied(), "producer.", "127.0.0.1:9").unwrap(),
            default_partitions: 1,
            default_replication_factor: 1,
        };
        InflightGate::new(&client_config(&cfg))
    }

    #[test]
    fn gate_settings_follow_the_producer_properties() {
        let g = gate(&[]);
        assert!(g.enabled);
        assert_eq!(g.join, Duration::from_micros(3750));
        assert_eq!((g.max_count, g.max_bytes), (10_000, 1_000_000 - 1024));
        let g = gate(&[("linger.ms", "20"), ("batch.size", "2000000"), ("batch.num.messages", "500")]);
        assert_eq!(g.join, Duration::from_millis(15));
        assert_eq!((g.max_count, g.max_bytes), (500, 1_000_000 - 1024)); // message.max.bytes caps
        assert_eq!(gate(&[("queue.buffering.max.ms", "8")]).join, Duration::from_millis(6));
        assert!(!gate(&[("enable.idempotence", "false")]).enabled);
    }

    #[test]
    fn gate_joins_only_a_young_batch_within_one_request() {
        let mut g = gate(&[("batch.num.messages", "3"), ("batch.size", "3048")]);
        let t = Instant::now();
        assert!(!g.try_join(t, 10), "no open batch");
        g.start(t, 1000);
        assert!(g.try_join(t + Duration::from_millis(1), 1000));
        assert!(!g.try_join(t + Duration::from_millis(1), 1001), "would exceed the request size");
        assert!(g.try_join(t + Duration::from_millis(1), 24));
        assert!(!g.try_join(t + Duration::from_millis(1), 1), "batch.num.messages reached");
        g.start(t, 10);
        assert!(!g.try_join(t + Duration::from_millis(4), 10), "older than 3/4 linger.ms");
    }

    #[tokio::test]
    async fn wait_acked_wakes_on_ack_and_on_failure() {
        let t = AckTracker::default();
        let t2 = t.clone();
        let acker = std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(20));
            t2.ack(1);
            t2.ack(0);
        });
        let start = Instant::now();
        t.wait_acked(2, Duration::from_secs(10)).await;
        assert_eq!(t.acked_upto(), 2);
        assert!(start.elapsed() < Duration::from_secs(5));
        acker.join().unwrap();
        let t2 = t.clone();
        let failer = std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(20));
            t2.fail(SinkError::Produce("x".into()));
        });
        t.wait_acked(3, Duration::from_secs(10)).await;
        assert!(t.take_error().is_some());
        assert!(start.elapsed() < Duration::from_secs(5));
        failer.join().unwrap();
    }

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
