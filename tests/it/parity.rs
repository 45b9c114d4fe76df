//! Streaming parity with the real Debezium 3.6.3 (golden `main` run): same topics, key bytes,
//! value bytes and headers for every record after the snapshot, no extra records.
//!
//! Normalised, as `../shared/oracle/normalize.py` does: `ts_ms`/`ts_us`/`ts_ns` and the run id.
//! The topic prefix is unique per test run (tansu topics cannot be deleted), so `dbserver1` in
//! the golden text is replaced by it. Binlog positions are compared as they are: the project's
//! MariaDB is started exactly like the oracle's (same flags, fresh binlog, same seed).

use std::time::{Duration, Instant};

use crate::connector::Setup;
use crate::golden;
use crate::services::{read_topics, serial, services, shared, unique};

/// Golden records after the snapshot (the streaming phase).
pub fn streaming_golden() -> Vec<golden::GoldenRecord> {
    streaming_golden_of("main")
}

/// The streaming phase of golden run `run`.
pub fn streaming_golden_of(run: &str) -> Vec<golden::GoldenRecord> {
    let all = golden::load(run);
    // The snapshot ends with the record marked "last"; streaming records follow it.
    let last_snapshot = all
        .iter()
        .rposition(|r| r.value.as_deref().is_some_and(|v| v.contains(r#""snapshot":"last""#)))
        .expect("golden has a last snapshot record");
    all[last_snapshot + 1..].to_vec()
}

/// Wait until the topics under `prefix` hold `n` records (or the timeout passes).
pub fn wait_for_records(kafka: &str, prefix: &str, n: usize, timeout: Duration) -> Vec<crate::services::Consumed> {
    let deadline = Instant::now() + timeout;
    loop {
        let got = read_topics(kafka, prefix);
        if got.len() >= n || Instant::now() > deadline {
            return got;
        }
        std::thread::sleep(Duration::from_millis(500));
    }
}

/// Start `setup` on the seeded server (snapshot), wait for the snapshot's records of `golden`, run
/// the oracle's streaming workload and return every record once `golden`'s count is reached (or
/// the timeout passed), read after the connector stopped.
pub fn snapshot_then_stream(
    svc: &crate::services::Services,
    setup: &crate::connector::Setup,
    prefix: &str,
    golden: &[crate::golden::GoldenRecord],
) -> Vec<crate::services::Consumed> {
    snapshot_then_stream_sql(svc, setup, prefix, golden, &shared().join("oracle/sql/20-stream.sql"))
}

/// [`snapshot_then_stream`] with another streaming workload (`stream_sql`).
pub fn snapshot_then_stream_sql(
    svc: &crate::services::Services,
    setup: &crate::connector::Setup,
    prefix: &str,
    golden: &[crate::golden::GoldenRecord],
    stream_sql: &std::path::Path,
) -> Vec<crate::services::Consumed> {
    let in_snapshot =
        |g: &&crate::golden::GoldenRecord| g.value.as_deref().is_some_and(|v| !v.contains(r#""snapshot":"false""#));
    let snapshot_records = golden.iter().filter(in_snapshot).count();
    let running = setup.start("");
    let got = wait_for_records(&svc.kafka, prefix, snapshot_records, Duration::from_secs(60));
    assert_eq!(got.len(), snapshot_records, "snapshot records");
    svc.sql_file(stream_sql);
    let ours = wait_for_records(&svc.kafka, prefix, golden.len(), Duration::from_secs(60));
    // Give a late extra record the chance to show up before judging.
    std::thread::sleep(Duration::from_secs(2));
    running.stop();
    if ours.len() >= golden.len() {
        read_topics(&svc.kafka, prefix)
    } else {
        ours
    }
}

#[test]
fn streaming_records_match_debezium_golden() {
    let _g = serial();
    let svc = services();
    svc.reset_with_seed();
    let prefix = unique("parity");
    let setup = Setup::new(&svc, &prefix, &[]);
    let running = setup.start("latest");
    svc.sql_file(&shared().join("oracle/sql/20-stream.sql"));
    let golden = streaming_golden();
    let ours = wait_for_records(&svc.kafka, &prefix, golden.len(), Duration::from_secs(60));
    // Give a late extra record the chance to show up before judging.
    std::thread::sleep(Duration::from_secs(2));
    running.stop();
    let ours = if ours.len() >= golden.len() { read_topics(&svc.kafka, &prefix) } else { ours };
    let diffs = golden::compare(&golden, &ours, &prefix);
    assert!(diffs.is_empty(), "{} differences from Debezium's golden output:\n{}", diffs.len(), diffs.join("\n"));
    assert_eq!(ours.len(), golden.len(), "record count");
}

/// The server switching binlog files mid-stream: records carry the new file name and nothing is
/// lost across the rotation.
#[test]
fn binlog_rotation_is_followed() {
    let _g = serial();
    let svc = services();
    svc.reset_with_seed();
    let prefix = unique("rotate");
    let setup = Setup::new(&svc, &prefix, &[("table.include.list", "inventory.customers")]);
    let running = setup.start("latest");
    svc.sql(
        "INSERT INTO inventory.customers VALUES (default, 'A', 'One', 'a@x.org'); FLUSH BINARY LOGS;
         INSERT INTO inventory.customers VALUES (default, 'B', 'Two', 'b@x.org');",
    );
    let got = wait_for_records(&svc.kafka, &prefix, 2, Duration::from_secs(30));
    running.stop();
    let files: Vec<String> = got
        .iter()
        .filter_map(|r| r.value.as_ref())
        .map(|v| {
            let v: serde_json::Value = serde_json::from_slice(v).unwrap();
            v.pointer("/payload/source/file").and_then(|f| f.as_str()).unwrap_or_default().to_string()
        })
        .collect();
    assert_eq!(files, ["mysql-bin.000001", "mysql-bin.000002"], "records: {got:?}");
}

/// `--metrics-addr` serves Debezium's streaming metric names in the Prometheus format.
#[test]
fn metrics_endpoint_counts_events() {
    use std::io::{Read, Write};
    let _g = serial();
    let svc = services();
    svc.reset_with_seed();
    let prefix = unique("metrics");
    let setup = Setup::new(&svc, &prefix, &[("table.include.list", "inventory.customers")]);
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let addr = format!("127.0.0.1:{port}");
    let running = setup.start_with("latest", &["--metrics-addr", &addr]);
    svc.sql("INSERT INTO inventory.customers VALUES (default, 'M', 'Etric', 'm@x.org');");
    wait_for_records(&svc.kafka, &prefix, 1, Duration::from_secs(30));
    let mut body = String::new();
    let deadline = Instant::now() + Duration::from_secs(10);
    while !body.contains("TotalNumberOfEventsSeen{") || !body.contains("} 1") {
        assert!(Instant::now() < deadline, "metrics never showed the event:\n{body}");
        let mut conn = std::net::TcpStream::connect(&addr).expect("metrics endpoint");
        conn.write_all(b"GET /metrics HTTP/1.0\r\nHost: localhost\r\n\r\n").unwrap();
        body.clear();
        conn.read_to_string(&mut body).unwrap();
        std::thread::sleep(Duration::from_millis(200));
    }
    running.stop();
    let line = body.lines().find(|l| l.starts_with("debezium_metrics_TotalNumberOfEventsSeen{")).expect("metric line");
    assert!(line.contains(&format!("name=\"{prefix}\"")) && line.ends_with(" 1"), "{line}");
    assert!(body.contains("debezium_metrics_Connected{"), "{body}");
}

/// `skipped.operations=c,d`: inserts and deletes are not emitted, updates are. Debezium checks the
/// operation of each record it makes (`EventDispatcher`'s receiver), so the delete and create
/// halves of a primary-key update, and the delete's tombstone, are dropped too.
#[test]
fn skipped_operations_drop_changes_by_operation() {
    let _g = serial();
    let svc = services();
    svc.reset_with_seed();
    let prefix = unique("skipops");
    let setup =
        Setup::new(&svc, &prefix, &[("table.include.list", "inventory.customers"), ("skipped.operations", "c,d")]);
    let running = setup.start("latest");
    svc.sql(
        "INSERT INTO inventory.customers VALUES (4001, 'S', 'Kip', 's1@x.org');
         UPDATE inventory.customers SET last_name = 'Kept' WHERE id = 4001;
         UPDATE inventory.customers SET id = 4002 WHERE id = 4001;
         DELETE FROM inventory.customers WHERE id = 4002;
         INSERT INTO inventory.customers VALUES (4003, 'S', 'Last', 's3@x.org');
         UPDATE inventory.customers SET last_name = 'Seen' WHERE id = 4003;",
    );
    // the two plain updates
    wait_for_records(&svc.kafka, &prefix, 2, Duration::from_secs(30));
    std::thread::sleep(Duration::from_secs(1));
    running.stop();
    let got = read_topics(&svc.kafka, &prefix);
    let ops: Vec<String> = got
        .iter()
        .map(|c| match &c.value {
            None => "tombstone".to_string(),
            Some(v) => {
                let v: serde_json::Value = serde_json::from_slice(v).unwrap();
                v["payload"]["op"].as_str().unwrap().to_string()
            }
        })
        .collect();
    assert_eq!(ops, ["u", "u"]);
}

/// A TRUNCATE and an ALTER after a rows event of several rows carry, as `source.row`, the number
/// of that event's last row — what Debezium's source info was left with (project oracle run
/// `truncrow`, tests/oracle/sql/run-truncrow-*.sql; every record compared).
#[test]
fn statements_carry_the_last_row_number_like_debezium() {
    let _g = serial();
    let svc = services();
    svc.sql("DROP DATABASE IF EXISTS tr; RESET MASTER;");
    svc.sql_file(&crate::services::repo().join("tests/oracle/sql/run-truncrow-seed.sql"));
    let golden = golden::load_path(&crate::services::repo().join("tests/data/golden/truncrow.json.jsonl"));
    assert_eq!(golden.len(), 17, "the golden run's record count");
    let prefix = unique("truncrow");
    let setup = Setup::new(&svc, &prefix, &[("database.include.list", "tr"), ("skipped.operations", "none")]);
    let stream = crate::services::repo().join("tests/oracle/sql/run-truncrow-stream.sql");
    let ours = snapshot_then_stream_sql(&svc, &setup, &prefix, &golden, &stream);
    let diffs = golden::compare(&golden, &ours, &prefix);
    assert!(diffs.is_empty(), "{} differences from Debezium:\n{}", diffs.len(), diffs.join("\n"));
    assert_eq!(ours.len(), golden.len(), "record count");
}
