//! Schema history: Debezium's format, replay up to the resume position, the missing-history error
//! and `snapshot.mode=recovery`, and the start-up errors for a purged binlog and GTID starts.

use std::time::Duration;

use cdc_connector::offsets::{FileOffsetStore, SourceOffset};
use serde_json::Value;

use crate::connector::Setup;
use crate::golden::{self, GoldenRecord};
use crate::parity::{streaming_golden, wait_for_records};
use crate::services::{read_topics, serial, services, shared, unique, Consumed, Services};

/// Golden `main.schema-history.jsonl` lines with `source.server` renamed to `prefix`.
pub fn golden_history(prefix: &str) -> String {
    let text =
        std::fs::read_to_string(shared().join("oracle/golden/main.schema-history.jsonl")).expect("golden history");
    text.replace(r#""source":{"server":"dbserver1"}"#, &format!(r#""source":{{"server":"{prefix}"}}"#))
}

/// Debezium's streaming offset commits of the `main` run: (n, records delivered before it, value).
pub fn golden_streaming_offsets() -> Vec<(u64, usize, String)> {
    let text = std::fs::read_to_string(shared().join("oracle/golden/main.committed-offsets.jsonl")).unwrap();
    text.lines()
        .map(|l| {
            let v: Value = serde_json::from_str(l).unwrap();
            // The value's verbatim bytes: everything after `"value":` up to the final `}`.
            let at = l.find(",\"value\":").unwrap() + 9;
            (
                v["n"].as_u64().unwrap(),
                v["records_delivered_so_far"].as_u64().unwrap() as usize,
                l[at..l.len() - 1].to_string(),
            )
        })
        .filter(|(_, _, value)| !value.contains("\"snapshot\""))
        .collect()
}

/// Normalise a history record for comparison: `ts_ms`, `position.ts_sec`, `source.server`.
pub fn normalize_history(mut v: Value) -> Value {
    v["ts_ms"] = Value::from(0);
    if v["position"].get("ts_sec").is_some() {
        v["position"]["ts_sec"] = Value::from(0);
    }
    v["source"]["server"] = Value::from("dbserver1");
    v
}

fn json_of(bytes: &Option<Vec<u8>>) -> Value {
    serde_json::from_slice(bytes.as_deref().expect("a value")).expect("JSON value")
}

/// Wait for `expected` records under `prefix`, stop the connector, and compare with the golden ones.
fn expect_golden(
    svc: &Services,
    running: crate::connector::Running,
    prefix: &str,
    expected: &[GoldenRecord],
) -> Vec<Consumed> {
    wait_for_records(&svc.kafka, prefix, expected.len(), Duration::from_secs(60));
    // Give a late extra record the chance to show up before judging.
    std::thread::sleep(Duration::from_secs(2));
    running.stop();
    let ours = read_topics(&svc.kafka, prefix);
    let diffs = golden::compare(expected, &ours, prefix);
    assert!(diffs.is_empty(), "{} differences from Debezium's golden output:\n{}", diffs.len(), diffs.join("\n"));
    assert_eq!(ours.len(), expected.len(), "record count");
    ours
}

/// Both directions (a): for every streaming offset Debezium committed in the `main` run, placed
/// in our offset store (the file, or the offsets topic for every other one) next to Debezium's
/// own history file, the connector resumes and emits exactly the golden records that follow.
/// The whole workload is already in the binlog (and the server's tables already have the
/// ALTERed columns), so records before the ALTERs decode right only through the history.
#[test]
fn debezium_offsets_and_history_resume_to_the_golden_records() {
    let _g = serial();
    let svc = services();
    svc.reset_with_seed();
    svc.sql_file(&shared().join("oracle/sql/20-stream.sql"));
    let golden = golden::load("main");
    for (n, delivered, value) in golden_streaming_offsets() {
        let prefix = unique(&format!("dbzoff{n}x"));
        let setup = Setup::new(&svc, &prefix, &[]);
        setup.use_file_history();
        let history = golden_history(&prefix);
        std::fs::write(setup.history_file(), &history).unwrap();
        let offset = SourceOffset::from_json(value.as_bytes()).expect("golden offset");
        if n % 2 == 1 {
            let topic = format!("{prefix}-offsets");
            setup.use_offsets_topic(&topic);
            crate::offsets_topic::put_connect_record(&svc.kafka, &topic, &setup.name, &prefix, value.as_bytes());
        } else {
            let mut store = FileOffsetStore::open(setup.offsets()).unwrap();
            store.put(&setup.name, &prefix, &offset);
            store.flush().unwrap();
        }
        let running = setup.start("resume");
        eprintln!("offset {n} ({value}): expecting the {} golden records after {delivered}", golden.len() - delivered);
        expect_golden(&svc, running, &prefix, &golden[delivered..]);
        // Statements read again from the binlog are already in the history: not recorded twice.
        assert_eq!(std::fs::read_to_string(setup.history_file()).unwrap(), history, "offset {n}: history changed");
    }
}

/// History replay: rows written before an ALTER TABLE that the connector had not read yet when it
/// stopped decode with the old schema after the restart; rows after it with the new one.
#[test]
fn alter_after_the_stored_offset_decodes_with_the_old_schema_before_it() {
    let _g = serial();
    let svc = services();
    svc.reset_with_seed();
    let prefix = unique("replay");
    let setup = Setup::new(&svc, &prefix, &[("table.include.list", "inventory.customers")]);
    setup.use_file_history();
    let running = setup.start("latest");
    svc.sql("INSERT INTO inventory.customers VALUES (2001, 'Ann', 'Before', 'a@x.org');");
    wait_for_records(&svc.kafka, &prefix, 1, Duration::from_secs(30));
    running.stop();
    svc.sql(
        "INSERT INTO inventory.customers VALUES (2002, 'Bob', 'Stopped', 'b@x.org');
         ALTER TABLE inventory.customers ADD COLUMN phone VARCHAR(32) NULL DEFAULT 'n/a' AFTER last_name;
         INSERT INTO inventory.customers VALUES (2003, 'Cy', 'After', '555', 'c@x.org');",
    );
    let running = setup.start("resume");
    let got = wait_for_records(&svc.kafka, &prefix, 4, Duration::from_secs(30));
    running.stop();
    assert_eq!(got.len(), 4, "{got:?}");
    let rows: Vec<Value> = got
        .iter()
        .filter(|c| c.topic.ends_with("inventory.customers"))
        .map(|c| json_of(&c.value)["payload"]["after"].clone())
        .collect();
    assert_eq!(rows.len(), 3);
    assert_eq!(rows[1]["last_name"], "Stopped");
    assert!(rows[1].get("phone").is_none(), "the row before the ALTER has the new column: {}", rows[1]);
    assert_eq!(rows[2]["phone"], "555");
    assert_eq!(rows[2]["email"], "c@x.org");
    let ddl = got.iter().find(|c| c.topic == prefix).expect("the schema change record");
    assert!(json_of(&ddl.value)["payload"]["ddl"].as_str().unwrap().contains("ADD COLUMN phone"));
    // The history has the start-up schema and the ALTER, positioned after its QUERY event.
    let history = std::fs::read_to_string(setup.history_file()).unwrap();
    let last: Value = serde_json::from_str(history.lines().last().unwrap()).unwrap();
    assert!(last["ddl"].as_str().unwrap().starts_with("ALTER TABLE inventory.customers"), "{last}");
    assert_eq!(last["position"]["server_id"], 1);
}

/// The history records written during the main workload (Kafka history topic) equal Debezium's
/// history file after normalisation: the start-up schema in the form of Debezium's snapshot at
/// the same position, then the four streamed DDL statements at the same positions.
#[test]
fn history_records_match_debezium_golden() {
    let _g = serial();
    let svc = services();
    svc.reset_with_seed();
    let prefix = unique("histfmt");
    let topic = format!("{prefix}-history");
    let setup = Setup::new(&svc, &prefix, &[]);
    setup.use_kafka_history(&svc.kafka, &topic);
    let running = setup.start("latest");
    svc.sql_file(&shared().join("oracle/sql/20-stream.sql"));
    expect_golden(&svc, running, &prefix, &streaming_golden());
    let ours = read_topics(&svc.kafka, &topic);
    assert!(ours.iter().all(|r| r.partition == 0 && r.key.is_none()), "one partition, null keys");
    let text = String::from_utf8(ours[0].value.clone().unwrap()).unwrap();
    assert!(text.starts_with("{\n  \"source\" : {\n    \"server\" : "), "Jackson's pretty printer: {text}");
    let golden: Vec<Value> =
        golden_history(&prefix).lines().map(|l| normalize_history(serde_json::from_str(l).unwrap())).collect();
    let ours: Vec<Value> = ours.iter().map(|r| normalize_history(json_of(&r.value))).collect();
    assert_eq!(ours.len(), golden.len(), "history record count");
    for (i, (o, g)) in ours.iter().zip(&golden).enumerate() {
        // Key order too: compare the compact text.
        assert_eq!(o.to_string(), g.to_string(), "history record {i}");
    }
}

/// An offset without its history stops with an error naming snapshot.mode=recovery;
/// `snapshot.mode=recovery` rebuilds the history at the stored offset and streams.
#[test]
fn missing_history_is_an_error_and_recovery_rebuilds_it() {
    let _g = serial();
    let svc = services();
    svc.reset_with_seed();
    let prefix = unique("recover");
    let setup = Setup::new(&svc, &prefix, &[("table.include.list", "inventory.customers")]);
    setup.use_file_history();
    let running = setup.start("latest");
    svc.sql("INSERT INTO inventory.customers VALUES (3001, 'R', 'One', 'r1@x.org');");
    wait_for_records(&svc.kafka, &prefix, 1, Duration::from_secs(30));
    running.stop();

    std::fs::remove_file(setup.history_file()).unwrap();
    let (code, out) = setup.run_failing("resume");
    assert_ne!(code, 0, "{out}");
    assert!(out.contains("does not exist") && out.contains("snapshot.mode=recovery"), "{out}");
    assert!(out.contains(&setup.history_file().display().to_string()), "names the file: {out}");
    std::fs::write(setup.history_file(), "").unwrap();
    let (code, out) = setup.run_failing("resume");
    assert_ne!(code, 0, "{out}");
    assert!(out.contains("is empty") && out.contains("snapshot.mode=recovery"), "{out}");

    setup.set_connector_property("snapshot.mode", Some("recovery"));
    let running = setup.start("resume");
    svc.sql("INSERT INTO inventory.customers VALUES (3002, 'R', 'Two', 'r2@x.org');");
    let got = wait_for_records(&svc.kafka, &prefix, 2, Duration::from_secs(30));
    running.stop();
    assert_eq!(got.len(), 2, "{got:?}");
    let history = std::fs::read_to_string(setup.history_file()).unwrap();
    let records: Vec<Value> = history.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    assert!(records.iter().any(|r| r["ddl"].as_str().unwrap().starts_with("CREATE TABLE `customers`")), "{history}");
    assert!(
        records.iter().all(|r| r["position"]["snapshot"] == "INITIAL" && r["position"]["server_id"] == 1),
        "{history}"
    );

    // Back to the default mode: the rebuilt history is replayed.
    setup.set_connector_property("snapshot.mode", None);
    let running = setup.start("resume");
    svc.sql("INSERT INTO inventory.customers VALUES (3003, 'R', 'Three', 'r3@x.org');");
    let got = wait_for_records(&svc.kafka, &prefix, 3, Duration::from_secs(30));
    running.stop();
    assert_eq!(got.len(), 3, "{got:?}");
}

/// A stored offset in a binlog file the server purged stops with the documented error; with
/// `snapshot.mode=when_needed` a new snapshot is taken instead.
#[test]
fn purged_binlog_stops_with_a_clear_error() {
    let _g = serial();
    let svc = services();
    svc.reset_with_seed();
    let prefix = unique("purged");
    let setup = Setup::new(&svc, &prefix, &[("table.include.list", "inventory.customers")]);
    setup.use_file_history();
    let running = setup.start("latest");
    svc.sql("INSERT INTO inventory.customers VALUES (4001, 'P', 'One', 'p@x.org');");
    wait_for_records(&svc.kafka, &prefix, 1, Duration::from_secs(30));
    running.stop();
    svc.sql("FLUSH BINARY LOGS;");
    // MariaDB keeps a file while a (just closed) dump thread or the binlog checkpoint still uses it.
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    while svc.query("SHOW BINARY LOGS") != "mysql-bin.000002" {
        assert!(std::time::Instant::now() < deadline, "PURGE BINARY LOGS kept mysql-bin.000001");
        svc.sql("PURGE BINARY LOGS TO 'mysql-bin.000002';");
        std::thread::sleep(Duration::from_millis(200));
    }
    // An offset without a GTID position (ours has one: `gtid::resume_by_gtid_…` resumes by it).
    crate::gtid::strip_gtids(&setup, &setup);
    let (code, out) = setup.run_failing("resume");
    assert_ne!(code, 0, "{out}");
    for needle in
        ["no longer has binlog file mysql-bin.000001", "purged", "snapshot.mode=when_needed", "--binlog-pos earliest"]
    {
        assert!(out.contains(needle), "no '{needle}' in: {out}");
    }
    assert!(out.contains(&setup.offsets().display().to_string()), "names the offsets file: {out}");
    // With snapshot.mode=when_needed the connector says so and takes a new snapshot instead.
    setup.set_connector_property("snapshot.mode", Some("when_needed"));
    let mut running = setup.start("resume");
    running.wait_for_log("takes a new snapshot", Duration::from_secs(30));
    running.wait_for_log("snapshot complete", Duration::from_secs(30));
    running.stop();
    let got = read_topics(&svc.kafka, &prefix);
    let snapshot_rows = got.iter().filter(|c| c.value.is_some() && json_of(&c.value)["payload"]["op"] == "r").count();
    assert_eq!(snapshot_rows, 5, "the four seed customers and 4001, read again");
    // An explicit FILE:POS in a purged file is refused the same way.
    setup.set_connector_property("snapshot.mode", None);
    let (code, out) = setup.run_failing("mysql-bin.000001:4");
    assert_ne!(code, 0, "{out}");
    assert!(out.contains("no longer has binlog file mysql-bin.000001"), "{out}");
}

/// `--binlog-pos` with a MariaDB GTID starts after that transaction; a MySQL GTID set against
/// MariaDB is refused, saying what MariaDB's GTIDs look like.
#[test]
fn mariadb_gtid_start() {
    let _g = serial();
    let svc = services();
    svc.reset_with_seed();
    let prefix = unique("gtid");
    let setup = Setup::new(&svc, &prefix, &[("table.include.list", "inventory.customers")]);
    setup.use_file_history();
    svc.sql("INSERT INTO inventory.customers VALUES (5001, 'G', 'Skipped', 'g1@x.org');");
    let gtid = svc.query("SELECT @@gtid_binlog_pos");
    assert!(gtid.starts_with("0-1-"), "{gtid}");
    svc.sql("INSERT INTO inventory.customers VALUES (5002, 'G', 'Read', 'g2@x.org');");
    let running = setup.start(&gtid);
    svc.sql("INSERT INTO inventory.customers VALUES (5003, 'G', 'Live', 'g3@x.org');");
    wait_for_records(&svc.kafka, &prefix, 2, Duration::from_secs(30));
    std::thread::sleep(Duration::from_secs(1));
    running.stop();
    let got = read_topics(&svc.kafka, &prefix);
    let names: Vec<String> =
        got.iter().map(|c| json_of(&c.value)["payload"]["after"]["last_name"].as_str().unwrap().to_string()).collect();
    assert_eq!(names, ["Read", "Live"]);
    let source = &json_of(&got[0].value)["payload"]["source"];
    assert_eq!(source["file"], "mysql-bin.000001");
    // The history's start-up schema is at the position the server started from.
    let first: Value =
        serde_json::from_str(std::fs::read_to_string(setup.history_file()).unwrap().lines().next().unwrap()).unwrap();
    assert_eq!(first["position"]["file"], "mysql-bin.000001", "{first}");
    // Resuming afterwards works from the file:pos offsets.
    let running = setup.start("resume");
    svc.sql("INSERT INTO inventory.customers VALUES (5004, 'G', 'Resumed', 'g4@x.org');");
    let got = wait_for_records(&svc.kafka, &prefix, 3, Duration::from_secs(30));
    running.stop();
    assert_eq!(got.len(), 3);

    let (code, out) = setup.run_failing("3e11fa47-71ca-11e1-9e33-c80aa9429562:1-5");
    assert_ne!(code, 0, "{out}");
    assert!(out.contains("a MySQL GTID set, but the server is MariaDB"), "{out}");
}
