//! Kafka Connect's offsets topic (`offset.storage.topic`, distributed Connect and
//! `KafkaOffsetBackingStore`), read and written the way Connect does.
//!
//! **Format.** One record per commit: key and value are the offset JSON bytes of [`super`]
//! (`["<connector name>",{"server":"<prefix>"}]` and Debezium's offset map), no headers. The
//! partition is the Java producer's choice for the key: `toPositive(murmur2(key)) % partitions`
//! ([`murmur2`], [`partition_for`]), so every commit of a connector lands in the partition Connect
//! would use and compaction keeps the latest one.
//!
//! **Topic.** Created when missing, as Connect's worker creates it: `cleanup.policy=compact`,
//! `offset.storage.partitions` partitions (Connect's default 25) and
//! `offset.storage.replication.factor` (default 3; -1 = the broker's default). An existing topic
//! is used as it is, whatever its partition count.
//!
//! **Start.** The whole topic is read to its end; per key the last value wins and a null value
//! (tombstone) deletes the key, as in Connect's `KafkaOffsetBackingStore`.
//!
//! **Commit.** [`KafkaOffsetStore::commit`] hands the record to an idempotent `acks=all`
//! producer and returns without waiting; the commit counts once Kafka acknowledged it. A failed
//! earlier commit is reported by the next `commit` (or by [`KafkaOffsetStore::close`], which waits
//! for every commit in flight). Commits of one key are acknowledged in order (one partition,
//! idempotent producer), so a crash leaves the last acknowledged offset, never a newer one
//! before an older one.

use std::collections::HashMap;

use futures_util::FutureExt;
use rdkafka::producer::DeliveryFuture;

use super::{offset_key_json, parse_offset_key, OffsetError, SourceOffset};
use crate::sink::topics::{self, InternalProducer, KafkaClient, TopicError, TopicSpec};

/// Where the offsets topic is and how to create it.
#[derive(Debug, Clone)]
pub struct KafkaOffsetConfig {
    pub client: KafkaClient,
    /// `offset.storage.topic`.
    pub topic: String,
    /// `offset.storage.partitions` (Connect's default 25).
    pub partitions: i32,
    /// `offset.storage.replication.factor` (Connect's default 3; -1 = broker default).
    pub replication_factor: i16,
}

/// The offsets topic of Kafka Connect.
pub struct KafkaOffsetStore {
    topic: String,
    partitions: i32,
    producer: InternalProducer,
    /// Last value per key, as read at start and updated by commits.
    data: HashMap<Vec<u8>, Option<Vec<u8>>>,
    in_flight: Vec<DeliveryFuture>,
}

fn topic_err(e: TopicError) -> OffsetError {
    OffsetError::Kafka { property: "offset.storage.topic", message: e.to_string() }
}

impl KafkaOffsetStore {
    /// Create the topic if needed and read it to its end.
    pub async fn open(cfg: &KafkaOffsetConfig) -> Result<Self, OffsetError> {
        let spec = TopicSpec {
            partitions: cfg.partitions,
            replication_factor: i32::from(cfg.replication_factor),
            configs: &[("cleanup.policy", "compact")],
        };
        if cfg.client.create(&cfg.topic, &spec).await.map_err(topic_err)? {
            tracing::info!(topic = %cfg.topic, partitions = cfg.partitions, "created the offsets topic (offset.storage.topic)");
        }
        let records = cfg.client.read_all(&cfg.topic).await.map_err(topic_err)?.ok_or_else(|| OffsetError::Kafka {
            property: "offset.storage.topic",
            message: format!("topic {} does not exist after creating it", cfg.topic),
        })?;
        let partitions = cfg.client.partitions(&cfg.topic).await.map_err(topic_err)?.map_or(0, |p| p.len() as i32);
        let mut data = HashMap::new();
        for r in records {
            if let Some(k) = r.key {
                data.insert(k, r.value);
            }
        }
        let producer = cfg.client.producer(&cfg.topic).map_err(topic_err)?;
        Ok(KafkaOffsetStore {
            topic: cfg.topic.clone(),
            partitions: partitions.max(1),
            producer,
            data,
            in_flight: Vec::new(),
        })
    }

    /// The topic.
    pub fn topic(&self) -> &str {
        &self.topic
    }

    /// The stored offset of connector `connector_name` / `prefix`; `None` when there is none
    /// (or its last record is a tombstone).
    pub fn get(&self, connector_name: &str, prefix: &str) -> Result<Option<SourceOffset>, OffsetError> {
        let exact = offset_key_json(connector_name, prefix);
        let value = match self.data.get(&exact) {
            Some(v) => v.as_ref(),
            // Tolerate keys written with other JSON spacing.
            None => self
                .data
                .iter()
                .find(|(k, _)| parse_offset_key(k).is_some_and(|(n, p)| n == connector_name && p == prefix))
                .and_then(|(_, v)| v.as_ref()),
        };
        value.map(|v| SourceOffset::from_json(v)).transpose()
    }

    /// Write the offset of connector `connector_name` / `prefix` (see the module doc: not
    /// waited for; an earlier failed write is returned here).
    pub fn commit(&mut self, connector_name: &str, prefix: &str, offset: &SourceOffset) -> Result<(), OffsetError> {
        self.write(connector_name, prefix, Some(offset))
    }

    /// Write the offset (`Some`) or a tombstone that deletes it (`None`, as Connect's offset
    /// reset does); not waited for, like [`Self::commit`].
    pub fn write(
        &mut self,
        connector_name: &str,
        prefix: &str,
        offset: Option<&SourceOffset>,
    ) -> Result<(), OffsetError> {
        self.check_in_flight()?;
        let key = offset_key_json(connector_name, prefix);
        let value = offset.map(SourceOffset::to_json);
        let partition = partition_for(&key, self.partitions);
        let delivery =
            topics::send(&self.producer, &self.topic, partition, Some(&key), value.as_deref()).map_err(topic_err)?;
        self.in_flight.push(delivery);
        self.data.insert(key, value);
        Ok(())
    }

    /// Drop the commits Kafka acknowledged; fail on the first one it refused.
    fn check_in_flight(&mut self) -> Result<(), OffsetError> {
        let mut result = Ok(());
        self.in_flight.retain_mut(|d| match d.now_or_never() {
            None => true,
            Some(Ok(Ok(_))) => false,
            Some(outcome) => {
                if result.is_ok() {
                    let message = match outcome {
                        Ok(Err((e, _))) => format!("Kafka did not store an offset commit: {e}"),
                        _ => "the producer was closed before Kafka acknowledged an offset commit".into(),
                    };
                    result = Err(OffsetError::Kafka { property: "offset.storage.topic", message });
                }
                false
            }
        });
        result
    }

    /// Wait until every commit in flight is acknowledged.
    pub async fn close(&mut self) -> Result<(), OffsetError> {
        let mut result = Ok(());
        for d in std::mem::take(&mut self.in_flight) {
            if let Err(e) = topics::delivered(&self.topic, d).await {
                if result.is_ok() {
                    result = Err(topic_err(e));
                }
            }
        }
        result
    }
}

/// The partition Kafka's Java producer chooses for a non-null key:
/// `toPositive(murmur2(key)) % partitions`.
pub fn partition_for(key: &[u8], partitions: i32) -> i32 {
    ((murmur2(key) & 0x7fff_ffff) as i64 % i64::from(partitions.max(1))) as i32
}

/// Kafka's `Utils.murmur2` (MurmurHash2, seed `0x9747b28c`), as a Java `int`.
pub fn murmur2(data: &[u8]) -> i32 {
    const M: u32 = 0x5bd1_e995;
    const R: u32 = 24;
    let len = data.len();
    let mut h: u32 = 0x9747_b28c ^ len as u32;
    let mut chunks = data.chunks_exact(4);
    for c in &mut chunks {
        let mut k = u32::from_le_bytes([c[0], c[1], c[2], c[3]]);
        k = k.wrapping_mul(M);
        k ^= k >> R;
        k = k.wrapping_mul(M);
        h = h.wrapping_mul(M);
        h ^= k;
    }
    let tail = chunks.remainder();
    if tail.len() >= 3 {
        h ^= u32::from(tail[2]) << 16;
    }
    if tail.len() >= 2 {
        h ^= u32::from(tail[1]) << 8;
    }
    if !tail.is_empty() {
        h ^= u32::from(tail[0]);
        h = h.wrapping_mul(M);
    }
    h ^= h >> 13;
    h = h.wrapping_mul(M);
    h ^= h >> 15;
    h as i32
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn murmur2_matches_kafkas_java_implementation() {
        // Kafka's UtilsTest.testMurmur2 vectors.
        let cases: &[(&[u8], i32)] = &[
            (b"21", -973932308),
            (b"foobar", -790332482),
            (b"a-little-bit-long-string", -985981536),
            (b"a-little-bit-longer-string", -1486304829),
            (b"lkjh234lh9fiuh90y23oiuhsafujhadof229phr9h19h89h8", -58897971),
            (b"abc", 479470107),
        ];
        for (data, want) in cases {
            assert_eq!(murmur2(data), *want, "{}", String::from_utf8_lossy(data));
        }
    }

    #[test]
    fn partition_is_positive_modulo() {
        for key in [&b"foobar"[..], b"21", b"", br#"["oracle-engine",{"server":"dbserver1"}]"#] {
            let p = partition_for(key, 25);
            assert!((0..25).contains(&p));
            assert_eq!(p, ((murmur2(key) & 0x7fff_ffff) % 25));
        }
        assert_eq!(partition_for(b"x", 1), 0);
    }
}
