//! Both directions (b): cdc-connector hands over to the real Debezium. cdc-connector takes the
//! snapshot of the oracle's seed and streams part of the oracle's workload (`20-stream.sql`), is
//! stopped (SIGTERM) between two statements, the rest of the workload runs while nothing reads the
//! binlog, and then the real Debezium 3.6.3 (the oracle's harness, `e2e/debezium-resume/run.sh`)
//! starts on *our* stores:
//!
//! * the offsets file (`offset.storage.file.filename`, Connect's `FileOffsetBackingStore`) with
//!   the `FileSchemaHistory` file;
//! * the offsets topic on tansu (Connect's `KafkaOffsetBackingStore`) with the history topic
//!   (`KafkaSchemaHistory`).
//!
//! Debezium must emit exactly the golden records (`main.json.jsonl`) that follow the last one we
//! produced: ours and Debezium's together are the 127 golden records, nothing lost, nothing
//! twice (the connector committed everything it produced before it stopped, so no record may be
//! repeated). Normalised as `normalize.py` does (`ts_ms`/`ts_us`/`ts_ns`, the run id); the topic
//! prefix is unique per run. Each case takes about a minute (JVM start, Debezium's 10 s idle stop).
//! Java and the oracle's jars are required: the script fails with what to install.

use std::path::Path;
use std::time::Duration;

use rdkafka::admin::{AdminClient, AdminOptions, ResourceSpecifier};
use rdkafka::client::DefaultClientContext;
use rdkafka::ClientConfig;
use serde_json::Value;

use crate::connector::Setup;
use crate::golden::{self, GoldenRecord};
use crate::parity::wait_for_records;
use crate::services::{read_topics, repo, serial, services, shared, unique, Services};

/// Where our stores are, for Debezium.
enum Stores {
    /// Offsets file and FileSchemaHistory file (copied for Debezium).
    Files,
    /// Offsets topic and history topic on tansu.
    Topics { offsets: String, history: String },
}

/// `source.pos` of each golden record (schema changes and data records carry it; a tombstone
/// has the position of the delete before it).
fn source_positions(golden: &[GoldenRecord]) -> Vec<u64> {
    let mut last = 0;
    golden
        .iter()
        .map(|g| {
            if let Some(v) = g.value.as_deref() {
                let v: Value = serde_json::from_str(v).expect("golden JSON");
                last = v.pointer("/payload/source/pos").and_then(Value::as_u64).expect("source.pos");
            }
            last
        })
        .collect()
}

/// The server's current binlog position (`SHOW MASTER STATUS`).
fn binlog_end(svc: &Services) -> (String, u64) {
    let row = svc.query_row("SHOW MASTER STATUS");
    (row[0].clone(), row[1].parse().expect("binlog position"))
}

/// A topic's config value as the broker describes it.
fn topic_config(kafka: &str, topic: &str, name: &str) -> Option<String> {
    let admin: AdminClient<DefaultClientContext> =
        ClientConfig::new().set("bootstrap.servers", kafka).create().expect("admin client");
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    let res = rt
        .block_on(admin.describe_configs(&[ResourceSpecifier::Topic(topic)], &AdminOptions::new()))
        .expect("describe configs");
    let resource = res.into_iter().next()?.ok()?;
    resource.get(name)?.value.clone()
}

/// Run the real Debezium on `props` (see `e2e/debezium-resume/run.sh`); returns its records.
fn run_debezium(props: &[(&str, String)], out: &Path) -> Vec<GoldenRecord> {
    let file = out.join("overrides.properties");
    let text: String = props.iter().map(|(k, v)| format!("{k}={v}\n")).collect();
    std::fs::write(&file, text).expect("write properties");
    let run_out = out.join("debezium");
    let res = std::process::Command::new(repo().join("e2e/debezium-resume/run.sh"))
        .arg("--out")
        .arg(&run_out)
        .arg("--props")
        .arg(&file)
        .output()
        .expect("run e2e/debezium-resume/run.sh");
    let stderr = String::from_utf8_lossy(&res.stderr);
    let stdout = String::from_utf8_lossy(&res.stdout);
    let summary: Value = stdout.lines().last().and_then(|l| serde_json::from_str(l).ok()).unwrap_or(Value::Null);
    assert!(
        res.status.success(),
        "the real Debezium did not resume from our stores (exit {:?}; summary {summary}; output in {}):\n{}",
        res.status.code(),
        out.display(),
        stderr.lines().rev().take(60).collect::<Vec<_>>().into_iter().rev().collect::<Vec<_>>().join("\n")
    );
    eprintln!("{}", stderr.lines().filter(|l| l.starts_with("[debezium-resume")).collect::<Vec<_>>().join("\n"));
    let json = summary["json"].as_str().expect("summary names the records file");
    // Warnings Debezium logged about what it read (offsets, history) are worth seeing on failure.
    let engine_log = std::fs::read_to_string(summary["engine_log"].as_str().unwrap()).unwrap_or_default();
    for l in engine_log.lines().filter(|l| l.contains(" WARN ") || l.contains(" ERROR ")) {
        eprintln!("[debezium] {}", l.chars().take(400).collect::<String>());
    }
    golden::load_path(Path::new(json))
}

/// Snapshot + the workload up to `split` (the start of a section comment of `20-stream.sql`)
/// through cdc-connector, the rest while it is stopped, then the real Debezium on our stores.
fn hand_over(kind: &str, split: &str) {
    let _g = serial();
    let svc = services();
    svc.reset_with_seed();
    let prefix = unique(&format!("dbz{kind}"));
    let setup = Setup::new(&svc, &prefix, &[]);
    let stores = match kind {
        "file" => {
            setup.use_file_history();
            Stores::Files
        }
        _ => {
            let (offsets, history) = (format!("{prefix}-offsets"), format!("{prefix}-history"));
            setup.use_offsets_topic(&offsets);
            setup.use_kafka_history(&svc.kafka, &history);
            Stores::Topics { offsets, history }
        }
    };
    let golden = golden::load("main");
    let stream = std::fs::read_to_string(shared().join("oracle/sql/20-stream.sql")).expect("20-stream.sql");
    let at = stream.find(split).unwrap_or_else(|| panic!("no '{split}' in 20-stream.sql"));

    // cdc-connector: snapshot, then the workload up to `split`.
    let running = setup.start("");
    svc.sql(&stream[..at]);
    let (file, end) = binlog_end(&svc);
    assert_eq!(file, "mysql-bin.000001");
    // The server's binlog is the oracle's byte for byte: the golden records before `end` are ours.
    let ours_n = source_positions(&golden).iter().filter(|&&p| p < end).count();
    assert!(ours_n > 68 && ours_n < golden.len(), "{ours_n} records before the split");
    wait_for_records(&svc.kafka, &prefix, ours_n, Duration::from_secs(90));
    // Give a late extra record the chance to show up before judging.
    std::thread::sleep(Duration::from_secs(2));
    running.stop();
    let ours = read_topics(&svc.kafka, &prefix);
    let diffs = golden::compare(&golden[..ours_n], &ours, &prefix);
    assert!(diffs.is_empty(), "{} differences of our records from the golden ones:\n{}", diffs.len(), diffs.join("\n"));
    assert_eq!(ours.len(), ours_n, "our record count");

    if let Stores::Topics { history, .. } = &stores {
        // Debezium's settings (KafkaSchemaHistory checks them); with `-1` tansu would delete the
        // records at its next retention run.
        assert_eq!(
            topic_config(&svc.kafka, history, "retention.ms").as_deref(),
            Some(cdc_connector::history::kafka::RETENTION_MS),
            "retention.ms of {history}"
        );
    }

    // The rest of the workload while nothing reads the binlog (in the database the first part
    // ended in).
    let last_use = stream[..at].lines().rev().find(|l| l.starts_with("USE ")).expect("a USE statement");
    svc.sql(&format!("{last_use}\n{}", &stream[at..]));

    // The real Debezium on our stores. Its output stays in `out` when the test fails.
    let out = std::env::temp_dir().join(format!("debezium-resume-{prefix}"));
    std::fs::create_dir_all(&out).expect("output directory");
    let mut props: Vec<(&str, String)> = vec![
        ("name", setup.name.clone()),
        ("topic.prefix", prefix.clone()),
        ("database.hostname", svc.mysql_host.clone()),
        ("database.port", svc.mysql_port.to_string()),
    ];
    match &stores {
        Stores::Files => {
            // Copies, so that ours stay as they were for a look after a failure.
            let (offsets, history) = (out.join("offsets.dat"), out.join("history.dat"));
            std::fs::copy(setup.offsets(), &offsets).expect("copy the offsets file");
            std::fs::copy(setup.history_file(), &history).expect("copy the history file");
            props.push(("offset.storage.file.filename", offsets.display().to_string()));
            props.push(("schema.history.internal.file.filename", history.display().to_string()));
        }
        Stores::Topics { offsets, history } => {
            props.extend([
                ("offset.storage", "org.apache.kafka.connect.storage.KafkaOffsetBackingStore".to_string()),
                ("offset.storage.topic", offsets.clone()),
                ("offset.storage.partitions", "25".to_string()),
                ("offset.storage.replication.factor", "1".to_string()),
                ("bootstrap.servers", svc.kafka.clone()),
                ("offset.storage.file.filename", String::new()),
                ("schema.history.internal", "io.debezium.storage.kafka.history.KafkaSchemaHistory".to_string()),
                ("schema.history.internal.kafka.topic", history.clone()),
                ("schema.history.internal.kafka.bootstrap.servers", svc.kafka.clone()),
                ("schema.history.internal.file.filename", String::new()),
            ]);
        }
    }
    let theirs = run_debezium(&props, &out);
    let diffs = golden::compare_in_order(&golden[ours_n..], &theirs, &prefix);
    assert!(
        diffs.is_empty(),
        "Debezium, resumed from our {kind} stores after golden seq {ours_n}, differs from the {} golden records that \
         follow ({} differences; its output and logs are in {}):\n{}",
        golden.len() - ours_n,
        diffs.len(),
        out.display(),
        diffs.join("\n")
    );
    std::fs::remove_dir_all(&out).expect("remove the output directory");
}

/// Stopped right after the multi-statement transaction of section 5 (five statements, five
/// tables): the last committed offset is inside that transaction, at its last statement. Debezium
/// on MariaDB ignores `event` and skips `row` rows of the first rows event after `pos`, so `pos`
/// must be that statement's start (`source::restart`), not the transaction's.
#[test]
fn debezium_resumes_from_our_offsets_file_and_history_file() {
    hand_over("file", "-- 6.");
}

/// Stopped after the two ALTER TABLEs and the TRUNCATE (sections 9, 10): Debezium must read those
/// statements from our history topic, and parse the CREATE TABLEs that follow itself.
#[test]
fn debezium_resumes_from_our_offsets_topic_and_history_topic() {
    hand_over("topic", "-- 11.");
}
