//! source: the Kafka side — which topics, which partitions, from which offsets.
//!
//! Partitions are assigned by the sink itself (`incremental_assign`), not by a consumer-group
//! rebalance: the start offset of every partition is the one in the table's checkpoint, which a
//! group rebalance would not know about, and one process owns all of its tables (Hudi allows one
//! writer per table). Topics are discovered from the broker's metadata at start and every few
//! seconds (a table created later gets its topic later). The group id is used only to commit the
//! offsets that checkpoints already hold, so lag tools see the sink's progress.

use std::collections::BTreeMap;
use std::time::Duration;

use cdc_connector::kafka_client::{self, KafkaAuth};
use rdkafka::consumer::{Consumer, StreamConsumer};
use rdkafka::message::OwnedMessage;
use rdkafka::{Offset, TopicPartitionList};

use crate::config::{RunArgs, TopicSelection};

pub struct Source {
    consumer: StreamConsumer<KafkaAuth>,
    selection: TopicSelection,
}

#[derive(Debug, thiserror::Error)]
#[error("Kafka: {0}")]
pub struct SourceError(pub String);

fn kerr(e: impl std::fmt::Display) -> SourceError {
    SourceError(e.to_string())
}

impl Source {
    pub fn new(args: &RunArgs) -> Result<Source, SourceError> {
        let selection =
            args.topic_selection().map_err(|e| SourceError(format!("--topics is not a valid regex: {e}")))?;
        let client =
            kafka_client::from_command_line(&args.kafka_config, &args.kafka_properties, &args.bootstrap_servers)
                .map_err(kerr)?;
        let consumer: StreamConsumer<KafkaAuth> = client
            .client_config(&args.bootstrap_servers)
            .set("group.id", &args.group_id)
            .set("enable.auto.commit", "false")
            .set("enable.auto.offset.store", "false")
            .set("auto.offset.reset", "earliest")
            .set("enable.partition.eof", "false")
            .set("client.id", "hudi-sink")
            .create_with_context(client.context())
            .map_err(kerr)?;
        client.prime(consumer.client()).map_err(SourceError)?;
        Ok(Source { consumer, selection })
    }

    /// The selected topics the broker has now, with their partition ids.
    pub fn topics(&self) -> Result<Vec<(String, Vec<i32>)>, SourceError> {
        let md = self.consumer.fetch_metadata(None, Duration::from_secs(10)).map_err(kerr)?;
        let mut out = Vec::new();
        for t in md.topics() {
            if self.selection.matches(t.name()) && !t.partitions().is_empty() {
                out.push((t.name().to_owned(), t.partitions().iter().map(|p| p.id()).collect()));
            }
        }
        out.sort();
        Ok(out)
    }

    /// Start reading `topic`'s partitions at the given offsets.
    pub fn assign(&self, topic: &str, partitions: &[(i32, Offset)]) -> Result<(), SourceError> {
        let mut tpl = TopicPartitionList::new();
        for (p, o) in partitions {
            tpl.add_partition_offset(topic, *p, *o).map_err(kerr)?;
        }
        self.consumer.incremental_assign(&tpl).map_err(kerr)
    }

    /// Stop fetching `topic` (its table stopped).
    pub fn pause(&self, topic: &str, partitions: &[i32]) {
        let mut tpl = TopicPartitionList::new();
        for p in partitions {
            tpl.add_partition(topic, *p);
        }
        if let Err(e) = self.consumer.pause(&tpl) {
            tracing::warn!(topic, error = %e, "could not pause the topic of a stopped table");
        }
    }

    /// Read `topic`'s partitions again from their beginning (records already fetched are dropped
    /// by librdkafka's seek).
    pub fn seek_to_beginning(&self, topic: &str, partitions: &[i32]) -> Result<(), SourceError> {
        for p in partitions {
            self.consumer.seek(topic, *p, Offset::Beginning, Duration::from_secs(10)).map_err(kerr)?;
        }
        Ok(())
    }

    /// The next record, or `None` after `timeout`.
    pub async fn recv(&self, timeout: Duration) -> Result<Option<OwnedMessage>, SourceError> {
        match tokio::time::timeout(timeout, self.consumer.recv()).await {
            Err(_) => Ok(None),
            Ok(Ok(m)) => Ok(Some(m.detach())),
            Ok(Err(e)) => Err(kerr(e)),
        }
    }

    /// Commit `offsets` (next offsets to read) to the group, for monitoring; failures are logged.
    pub fn commit(&self, offsets: &BTreeMap<String, BTreeMap<i32, i64>>) {
        let mut tpl = TopicPartitionList::new();
        for (t, parts) in offsets {
            for (p, o) in parts {
                let _ = tpl.add_partition_offset(t, *p, Offset::Offset(*o));
            }
        }
        if let Err(e) = self.consumer.commit(&tpl, rdkafka::consumer::CommitMode::Async) {
            tracing::debug!(error = %e, "group offset commit failed (monitoring only)");
        }
    }

    /// (low, high) watermarks of a partition (blocking metadata call; call rarely).
    pub fn watermarks(&self, topic: &str, partition: i32) -> Option<(i64, i64)> {
        self.consumer.fetch_watermarks(topic, partition, Duration::from_secs(5)).ok()
    }

    /// High watermark of a partition (blocking metadata call; call rarely).
    pub fn high_watermark(&self, topic: &str, partition: i32) -> Option<i64> {
        self.consumer.fetch_watermarks(topic, partition, Duration::from_secs(5)).ok().map(|(_, hi)| hi)
    }
}
