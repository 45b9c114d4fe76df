//! Riding through outages, with real processes on loopback: a MariaDB of the test's own is
//! restarted mid-stream, and frozen (SIGSTOP) for longer than the binlog read timeout
//! (`connect.keep.alive.interval.ms`); the Kafka broker (tansu) is down for 30 s while rows keep
//! coming. (A schema registry that is down: `avro::avro_registry_down_is_retried_…`.) After each, the topic holds every row written
//! before, during and after the outage; the connector's log says what happened; and a record
//! written twice (if any) lies after the offset the connector had committed when the outage
//! began — nothing older is read again.

use std::collections::BTreeMap;
use std::process::Command;
use std::time::{Duration, Instant};

use crate::connector::{Running, Setup};
use crate::parity::wait_for_records;
use crate::services::{serial, unique, Consumed, PrivateMariaDb, Services};

/// Connector settings that make a dead connection show within seconds.
const FAST: &[(&str, &str)] = &[
    ("connect.keep.alive.interval.ms", "3000"),
    ("connect.timeout.ms", "2000"),
    ("retriable.restart.connector.wait.ms", "2000"),
];

fn setup(db: &PrivateMariaDb, svc: &Services, prefix: &str) -> Setup {
    svc.sql(
        "CREATE DATABASE IF NOT EXISTS outage; CREATE TABLE IF NOT EXISTS outage.t (id INT PRIMARY KEY, v VARCHAR(20));
         INSERT INTO outage.t VALUES (1, 'seed');",
    );
    let port = db.port.to_string();
    let mut extra =
        vec![("database.hostname", "127.0.0.1"), ("database.port", port.as_str()), ("database.include.list", "outage")];
    extra.extend_from_slice(FAST);
    Setup::new(svc, prefix, &extra)
}

fn insert(svc: &Services, ids: std::ops::RangeInclusive<i64>) {
    let values: Vec<String> = ids.map(|i| format!("({i}, 'v{i}')")).collect();
    svc.sql(&format!("INSERT INTO outage.t VALUES {};", values.join(",")));
}

/// `(file, pos, row, id)` of each create record (snapshot reads included).
fn creates(records: &[Consumed]) -> Vec<(String, u64, u64, i64)> {
    records
        .iter()
        .filter_map(|c| c.value.as_ref())
        .map(|v| serde_json::from_slice::<serde_json::Value>(v).expect("JSON value"))
        .filter_map(|v| {
            let p = &v["payload"];
            let id = p["after"]["id"].as_i64()?;
            let s = &p["source"];
            Some((s["file"].as_str()?.to_string(), s["pos"].as_u64()?, s["row"].as_u64().unwrap_or(0), id))
        })
        .collect()
}

/// Every id of `expected` is in `records`; ids written more than once all lie after `committed`
/// (`file`, `pos`). Returns how many records were duplicates.
fn check_no_loss(records: &[Consumed], expected: std::ops::RangeInclusive<i64>, committed: &(String, u64)) -> usize {
    let all = creates(records);
    let mut seen: BTreeMap<i64, Vec<(String, u64)>> = BTreeMap::new();
    for (file, pos, _, id) in &all {
        seen.entry(*id).or_default().push((file.clone(), *pos));
    }
    let missing: Vec<i64> = expected.clone().filter(|i| !seen.contains_key(i)).collect();
    assert!(missing.is_empty(), "rows lost: {missing:?}");
    let mut duplicates = 0;
    for (id, at) in &seen {
        if at.len() > 1 {
            duplicates += at.len() - 1;
            for (file, pos) in at {
                assert!(
                    (file.as_str(), *pos) >= (committed.0.as_str(), committed.1),
                    "row {id} was sent twice from {file}:{pos}, before the committed offset {committed:?}"
                );
            }
        }
    }
    duplicates
}

/// Wait until the connector committed an offset at or past the binlog end of `svc`.
fn wait_committed_to_end(setup: &Setup, svc: &Services) -> (String, u64) {
    let end = svc.query_row("SHOW MASTER STATUS");
    let end = (end[0].clone(), end[1].parse::<u64>().unwrap());
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        if let Some(o) = setup.stored() {
            // The last transaction's offset points at its start; its end is the binlog end.
            if (o.file.as_str(), o.pos) >= (end.0.as_str(), end.1.saturating_sub(4096)) {
                return (o.file, o.pos);
            }
        }
        assert!(Instant::now() < deadline, "no offset near {end:?} committed: {:?}", setup.stored());
        std::thread::sleep(Duration::from_millis(200));
    }
}

/// A private MariaDB and a connector streaming from it, rows `1..=rows` in Kafka and the offset
/// of the last committed: the state each outage starts from.
struct Streaming {
    db: PrivateMariaDb,
    svc: Services,
    setup: Setup,
    running: Running,
    topic: String,
    before: (String, u64),
}

fn streaming(tag: &str, rows: i64) -> Streaming {
    let db = PrivateMariaDb::start("");
    let svc = db.services();
    let prefix = unique(tag);
    let topic = format!("{prefix}.outage.t");
    let setup = setup(&db, &svc, &prefix);
    let running = setup.start("");
    insert(&svc, 2..=rows);
    wait_for_records(&svc.kafka, &topic, rows as usize, Duration::from_secs(60));
    let before = wait_committed_to_end(&setup, &svc);
    Streaming { db, svc, setup, running, topic, before }
}

fn signal(pid: i32, sig: &str) {
    let ok = Command::new("kill").arg(format!("-{sig}")).arg(pid.to_string()).status().unwrap().success();
    assert!(ok, "kill -{sig} {pid}");
}

#[test]
fn a_server_restart_mid_stream_loses_nothing() {
    let _g = serial();
    let Streaming { db, svc, setup: _setup, mut running, topic, before } = streaming("restart", 40);

    db.restart();
    running.wait_for_log("connection to the database server lost", Duration::from_secs(60));
    insert(&svc, 41..=80);
    let got = wait_for_records(&svc.kafka, &topic, 80, Duration::from_secs(90));
    running.wait_for_log("binlog stream started", Duration::from_secs(5));
    let log = running.stop_with_log();
    let duplicates = check_no_loss(&got, 1..=80, &before);
    eprintln!("restart: {} records, {duplicates} duplicates", got.len());
    assert_eq!(
        log.matches("binlog stream started").count(),
        2,
        "streamed, then streamed again after the restart:\n{log}"
    );
    assert!(log.contains("reconnecting in"), "the back-off is logged:\n{log}");
}

#[test]
fn a_frozen_server_is_detected_by_the_read_timeout_and_streaming_goes_on() {
    let _g = serial();
    let Streaming { db, svc, setup: _setup, mut running, topic, before } = streaming("frozen", 30);

    // Frozen for well over the 3 s read timeout: the half-dead connection must be noticed
    // (no event, not even the server's heartbeat), and reconnects time out until it thaws.
    let pid = db.pid();
    signal(pid, "STOP");
    let frozen = Instant::now();
    let waited = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        running.wait_for_log("no event and no heartbeat from the server within 3000 ms", Duration::from_secs(20));
    }));
    std::thread::sleep(Duration::from_secs(10).saturating_sub(frozen.elapsed()));
    signal(pid, "CONT");
    if let Err(panic) = waited {
        std::panic::resume_unwind(panic);
    }
    insert(&svc, 31..=60);
    let got = wait_for_records(&svc.kafka, &topic, 60, Duration::from_secs(90));
    let log = running.stop_with_log();
    let duplicates = check_no_loss(&got, 1..=60, &before);
    eprintln!("frozen: {} records, {duplicates} duplicates", got.len());
    assert!(log.matches("binlog stream started").count() >= 2, "streaming started again:\n{log}");
}

/// `e2e/services.sh` on the shared services (the test's environment names them).
fn shared_services(args: &[&str]) {
    let out = Command::new(crate::services::repo().join("e2e/services.sh")).args(args).output().expect("services.sh");
    assert!(out.status.success(), "services.sh {args:?}: {}", String::from_utf8_lossy(&out.stderr));
}

#[test]
fn kafka_down_for_30_s_mid_stream_loses_nothing() {
    let _g = serial();
    let Streaming { svc, setup, running, topic, before, db: _db } = streaming("kafkadown", 20);

    // The broker (and the registry, which lives on it) stop; rows keep coming for 30 s.
    shared_services(&["down", "kafka"]);
    let down = Instant::now();
    for batch in 0..6 {
        let first = 21 + batch * 10;
        insert(&svc, first..=first + 9);
        std::thread::sleep(Duration::from_secs(5));
    }
    std::thread::sleep(Duration::from_secs(30).saturating_sub(down.elapsed()));
    let during = setup.stored().map(|o| (o.file, o.pos));
    assert_eq!(during, Some(before.clone()), "no offset committed for records Kafka did not store");
    shared_services(&["up", "kafka"]);
    shared_services(&["up", "registry"]);

    let got = wait_for_records(&svc.kafka, &topic, 80, Duration::from_secs(120));
    let after = wait_committed_to_end(&setup, &svc);
    assert!(after > before, "offsets move on once Kafka is back: {after:?}");
    running.stop();
    let duplicates = check_no_loss(&got, 1..=80, &before);
    eprintln!("kafka down: {} records, {duplicates} duplicates", got.len());
}
