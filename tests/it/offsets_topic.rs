//! Offsets in Kafka Connect's offsets topic (`offset.storage.topic`): the records are the bytes
//! and partition Kafka Connect writes (key `["<name>",{"server":"<prefix>"}]`, Debezium's offset
//! JSON, partition = Java's murmur2 of the key over 25 partitions, checked with kafka-python),
//! and a restart resumes from them.

use std::time::Duration;

use cdc_connector::offsets::{offset_key_json, SourceOffset};
use cdc_connector::sink::topics::{KafkaClient, TopicSpec};
use rdkafka::config::ClientConfig;
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::producer::{BaseProducer, BaseRecord, Producer};

use crate::connector::Setup;
use crate::golden;
use crate::parity::{streaming_golden, wait_for_records};
use crate::partitioning::java_partitions;
use crate::services::{read_topics, serial, services, shared, unique};

/// Connect's default partition count of the offsets topic.
const PARTITIONS: usize = 25;

fn partition_count(kafka: &str, topic: &str) -> usize {
    let consumer: BaseConsumer = ClientConfig::new().set("bootstrap.servers", kafka).create().expect("consumer");
    let md = consumer.fetch_metadata(Some(topic), Duration::from_secs(10)).expect("metadata");
    md.topics().first().map_or(0, |t| t.partitions().len())
}

/// Write an offset record into `topic` the way Kafka Connect does (creating the topic with 25
/// partitions, as a Connect worker would): Java's partition for the key, no headers.
pub fn put_connect_record(kafka: &str, topic: &str, name: &str, prefix: &str, value: &[u8]) {
    let client = KafkaClient { bootstrap_servers: kafka.to_string(), settings: Default::default() };
    let spec =
        TopicSpec { partitions: PARTITIONS as i32, replication_factor: 1, configs: &[("cleanup.policy", "compact")] };
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    rt.block_on(client.create(topic, &spec)).expect("create the offsets topic");
    let key = offset_key_json(name, prefix);
    let partition = java_partitions(std::slice::from_ref(&key), PARTITIONS)[0] as i32;
    let producer: BaseProducer = ClientConfig::new().set("bootstrap.servers", kafka).create().expect("producer");
    producer.send(BaseRecord::to(topic).key(&key[..]).payload(value).partition(partition)).expect("send offset");
    producer.flush(Duration::from_secs(30)).expect("flush offset");
}

#[test]
fn offsets_topic_holds_connects_bytes_and_resume_works() {
    let _g = serial();
    let svc = services();
    svc.reset_with_seed();
    let prefix = unique("offtopic");
    let topic = format!("{prefix}-offsets");
    let setup = Setup::new(&svc, &prefix, &[]);
    setup.use_offsets_topic(&topic);
    setup.use_kafka_history(&svc.kafka, &format!("{prefix}-history"));
    let stream = std::fs::read_to_string(shared().join("oracle/sql/20-stream.sql")).unwrap();
    let split = stream.find("-- 9.").expect("section 9 of the stream workload");
    let golden = streaming_golden();
    // Records of sections 1-8: those before the first schema change record.
    let before_alter = golden.iter().position(|g| g.topic == "dbserver1").expect("a DDL record");

    let running = setup.start("latest");
    svc.sql(&stream[..split]);
    wait_for_records(&svc.kafka, &prefix, before_alter, Duration::from_secs(60));
    running.stop();
    assert_eq!(partition_count(&svc.kafka, &topic), PARTITIONS);
    let records = read_topics(&svc.kafka, &topic);
    assert!(!records.is_empty(), "no offset commits in {topic}");
    let key = offset_key_json(&setup.name, &prefix);
    let want_partition = java_partitions(std::slice::from_ref(&key), PARTITIONS)[0] as i32;
    for r in &records {
        assert_eq!(r.key.as_deref(), Some(&key[..]), "key bytes");
        assert!(r.headers.is_empty());
        assert_eq!(r.partition, want_partition, "Java's murmur2 partition of the key");
        let value = r.value.as_deref().expect("no tombstones");
        let offset = SourceOffset::from_json(value).expect("Debezium offset JSON");
        assert_eq!(offset.to_json(), value, "Debezium's (HashMap-ordered) bytes");
    }
    let last = SourceOffset::from_json(records.last().unwrap().value.as_deref().unwrap()).unwrap();
    let last_json = String::from_utf8(last.to_json()).unwrap();
    assert!(last_json.starts_with("{\"ts_sec\":") && last_json.contains("\"server_id\":1"), "{last_json}");

    let running = setup.start("resume");
    svc.sql(&stream[split..]);
    wait_for_records(&svc.kafka, &prefix, golden.len(), Duration::from_secs(60));
    std::thread::sleep(Duration::from_secs(2));
    running.stop();
    let ours = read_topics(&svc.kafka, &prefix);
    let diffs = golden::compare(&golden, &ours, &prefix);
    assert!(
        diffs.is_empty(),
        "{} differences after resuming from the offsets topic:\n{}",
        diffs.len(),
        diffs.join("\n")
    );
    assert_eq!(ours.len(), golden.len());
}
