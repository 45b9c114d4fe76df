//! Blocking snapshots (`execute-snapshot` signals of type `blocking`).
//!
//! - Against the real Debezium 3.6.3 (project oracle run `blocksnap`, workload
//!   tests/oracle/sql/run-blocksnap-{seed,stream}.sql, golden files made by `tests/oracle/golden.sh
//!   blocksnap`): an initial snapshot, then two blocking snapshots around streamed changes — three
//!   tables named exactly (one without a key, one empty), then one named by a regular expression
//!   after an ALTER, read with the signal's SELECT. Every record is compared, and the schema
//!   history (positions included). The tables the blocking snapshots read are created after the
//!   initial snapshot: for tables its initial snapshot already read, Debezium re-emits that
//!   snapshot's schema events from memory (same process only); we emit the current DDL, as
//!   Debezium does after a restart (see `src/pipeline/blocking.rs`).
//! - A blocking snapshot of a table being written to, with the connector killed (SIGKILL) in the
//!   middle: the stored offset says so (`snapshot: "BLOCKING"` and the request), the restarted
//!   connector takes the snapshot again and streams on, and folding the topic by key gives exactly
//!   the table's final rows.

use std::time::{Duration, Instant};

use serde_json::Value as Json;

use crate::connector::Setup;
use crate::golden;
use crate::history::normalize_history;
use crate::incremental::{assert_folds_to, fold_items};
use crate::parity::wait_for_records;
use crate::services::{read_topics, repo, serial, services, unique};

#[test]
fn blocking_snapshots_match_debezium() {
    let _g = serial();
    let svc = services();
    svc.sql("DROP DATABASE IF EXISTS blk; RESET MASTER;");
    svc.sql_file(&repo().join("tests/oracle/sql/run-blocksnap-seed.sql"));
    let prefix = unique("blocksnap");
    let setup = Setup::new(
        &svc,
        &prefix,
        &[("database.include.list", "blk"), ("signal.data.collection", "blk.debezium_signal")],
    );
    setup.use_file_history();
    let golden = golden::load_path(&repo().join("tests/data/golden/blocksnap.json.jsonl"));
    assert_eq!(golden.len(), 45, "the golden run's record count");
    let running = setup.start("");
    let initial = 9;
    let got = wait_for_records(&svc.kafka, &prefix, initial, Duration::from_secs(60));
    assert_eq!(got.len(), initial, "records of the initial snapshot");
    let started = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_millis() as i64;
    svc.sql_file_as_is(&repo().join("tests/oracle/sql/run-blocksnap-stream.sql"));
    wait_for_records(&svc.kafka, &prefix, golden.len(), Duration::from_secs(60));
    std::thread::sleep(Duration::from_secs(2));
    running.stop();
    let ours = read_topics(&svc.kafka, &prefix);
    let diffs = golden::compare(&golden, &ours, &prefix);
    assert!(diffs.is_empty(), "{} differences from Debezium:\n{}", diffs.len(), diffs.join("\n"));
    assert_eq!(ours.len(), golden.len(), "record count");

    // `source.ts_ms` (normalised above): the blocking snapshot's rows carry the time it ran, in
    // whole seconds, not the signal event's (SET timestamp = 1700000000), as in the golden run.
    let items = format!("{prefix}.blk.items");
    let reads: Vec<i64> = ours
        .iter()
        .filter(|c| c.topic == items)
        .filter_map(|c| {
            let v: Json = serde_json::from_slice(c.value.as_deref()?).ok()?;
            (v["payload"]["op"] == "r").then(|| v["payload"]["source"]["ts_ms"].as_i64().unwrap())
        })
        .collect();
    assert_eq!(reads.len(), 4, "rows of items read by the first blocking snapshot");
    assert!(reads.iter().all(|t| t % 1000 == 0 && *t >= started / 1000 * 1000), "{reads:?} (started {started})");

    // The schema history: Debezium's, record by record (positions included).
    let golden_history =
        std::fs::read_to_string(repo().join("tests/data/golden/blocksnap.schema-history.jsonl")).unwrap();
    let ours_history = std::fs::read_to_string(setup.history_file()).unwrap();
    let norm = |text: &str| -> Vec<Json> {
        text.lines().map(|l| normalize_history(serde_json::from_str(l).expect("history line"))).collect()
    };
    let (g, o) = (norm(&golden_history), norm(&ours_history));
    for (i, (g, o)) in g.iter().zip(&o).enumerate() {
        assert_eq!(o, g, "schema history record {}", i + 1);
    }
    assert_eq!(o.len(), g.len(), "schema history records");

    // Done: the last committed offset is a streaming one.
    let stored = setup.stored().expect("a committed offset");
    assert_eq!(stored.snapshot, None, "{stored:?}");
    assert!(stored.extra.iter().all(|(k, _)| k != "blocking_snapshot"), "{stored:?}");
}

#[test]
fn an_interrupted_blocking_snapshot_is_taken_again_after_a_restart() {
    let _g = serial();
    let svc = services();
    svc.sql(
        "DROP DATABASE IF EXISTS blkw; CREATE DATABASE blkw; USE blkw;
         CREATE TABLE debezium_signal (id VARCHAR(64) PRIMARY KEY, type VARCHAR(32) NOT NULL, data TEXT NULL);
         CREATE TABLE items (id BIGINT PRIMARY KEY, name VARCHAR(20), qty BIGINT);
         INSERT INTO items SELECT seq, CONCAT('n', seq), seq FROM seq_1_to_100000;",
    );
    let prefix = unique("blkw");
    let setup = Setup::new(
        &svc,
        &prefix,
        &[
            ("database.include.list", "blkw"),
            ("snapshot.mode", "no_data"),
            ("signal.data.collection", "blkw.debezium_signal"),
        ],
    );
    setup.set_offset_flush_interval(100);
    let topic = format!("{prefix}.blkw.items");
    let mut running = setup.start("");
    running.wait_for_log("binlog stream started", Duration::from_secs(60));
    svc.sql(
        r#"INSERT INTO blkw.debezium_signal VALUES ('b1', 'execute-snapshot', '{"data-collections": ["blkw.items"], "type": "blocking"}');"#,
    );
    // Kill once a committed offset says the blocking snapshot is under way.
    let deadline = Instant::now() + Duration::from_secs(120);
    let stored = loop {
        if let Some(o) = setup.stored().filter(|o| o.snapshot.as_deref() == Some("BLOCKING")) {
            break o;
        }
        assert!(Instant::now() < deadline, "no committed offset of the blocking snapshot within 120 s");
        std::thread::sleep(Duration::from_millis(5));
    };
    running.kill9();
    let request = stored.extra.iter().find(|(k, _)| k == "blocking_snapshot").map(|(_, v)| v.clone());
    let request = request.expect("the offset holds the blocking snapshot's request");
    let request: Json = serde_json::from_str(request.as_str().expect("a string")).expect("JSON request");
    assert_eq!(request["data-collections"], serde_json::json!(["blkw.items"]), "{request}");
    assert!(stored.server_id.is_some() && stored.row.is_none() && stored.event.is_none(), "{stored:?}");
    let killed_records = read_topics(&svc.kafka, &prefix).iter().filter(|c| c.topic == topic).count();
    assert!(killed_records < 100_000, "killed before the snapshot ended ({killed_records} records)");

    // Changes while the connector is down, then the restart.
    svc.sql(
        "UPDATE blkw.items SET qty = -1 WHERE id <= 10; DELETE FROM blkw.items WHERE id BETWEEN 11 AND 20;
         INSERT INTO blkw.items VALUES (100001, 'new', 1);",
    );
    let mut running = setup.start("resume");
    running.wait_for_log("blocking snapshot complete", Duration::from_secs(180));
    svc.sql("UPDATE blkw.items SET name = 'after' WHERE id = 5; INSERT INTO blkw.items VALUES (100002, 'last', 2);");
    let deadline = Instant::now() + Duration::from_secs(60);
    let records = loop {
        let r = read_topics(&svc.kafka, &prefix);
        if r.iter()
            .any(|c| c.topic == topic && c.key.as_ref().is_some_and(|k| String::from_utf8_lossy(k).contains("100002")))
        {
            break r;
        }
        assert!(Instant::now() < deadline, "the final insert did not arrive in 60 s");
        std::thread::sleep(Duration::from_secs(1));
    };
    running.stop();

    let (folded, reads) = fold_items(&records, &topic);
    assert_folds_to(&svc, "blkw.items", &folded);
    // The whole table was read again after the restart (rows the killed run had emitted too).
    assert!(reads.len() >= killed_records + 100_000 - 20, "{} reads, {killed_records} before the kill", reads.len());
    let stored = setup.stored().expect("a committed offset");
    assert!(stored.snapshot.is_none() && stored.extra.iter().all(|(k, _)| k != "blocking_snapshot"), "{stored:?}");
}

/// A stored offset inside a blocking snapshot whose tables are no longer captured: the restart
/// says so and streams on (it neither stops nor takes anything).
#[test]
fn a_stored_blocking_snapshot_that_matches_no_table_streams_on() {
    let _g = serial();
    let svc = services();
    svc.sql("DROP DATABASE IF EXISTS blkn; CREATE DATABASE blkn; CREATE TABLE blkn.t (id INT PRIMARY KEY);");
    let at = svc.query_row("SHOW MASTER STATUS");
    let prefix = unique("blkn");
    let setup = Setup::new(&svc, &prefix, &[("database.include.list", "blkn")]);
    let request = r#"{"type": "blocking", "data-collections": ["gone\\.t"]}"#;
    let offset = cdc_connector::offsets::SourceOffset {
        file: at[0].clone(),
        pos: at[1].parse().unwrap(),
        server_id: Some(1),
        snapshot: Some("BLOCKING".into()),
        extra: vec![("blocking_snapshot".into(), Json::from(request))],
        ..Default::default()
    };
    let mut store = cdc_connector::offsets::FileOffsetStore::open(setup.offsets()).unwrap();
    store.put(&setup.name, &setup.prefix, &offset);
    store.flush().unwrap();
    drop(store);
    let mut running = setup.start("resume");
    running.wait_for_log("binlog stream started", Duration::from_secs(60));
    svc.sql("INSERT INTO blkn.t VALUES (7);");
    let got = wait_for_records(&svc.kafka, &prefix, 1, Duration::from_secs(30));
    let log = running.stop_with_log();
    assert_eq!(got.len(), 1, "the insert streamed after the restart: {log}");
    assert!(log.contains("no captured table matches"), "{log}");
}
