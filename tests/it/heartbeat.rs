//! Heartbeats (`heartbeat.interval.ms`, `topic.heartbeat.prefix`, `heartbeat.action.query`)
//! against the golden `heartbeat` run of the real Debezium 3.6.3: the same heartbeat records
//! (topic, key and value bytes, no headers) and unchanged data records; and what heartbeats are
//! for: a connector whose captured tables are idle while other tables are busy keeps committing
//! its progress through the binlog.

use std::time::{Duration, Instant};

use crate::connector::Setup;
use crate::golden;
use crate::parity::{streaming_golden, wait_for_records};
use crate::services::{read_topics, serial, services, shared, unique, Services};

/// `SHOW MASTER STATUS`: (file, position).
fn master_status(svc: &Services) -> (String, u64) {
    let row = svc.query_row("SHOW MASTER STATUS");
    (row[0].clone(), row[1].parse().expect("position"))
}

/// The golden heartbeat run (`heartbeat.interval.ms=1000`) over the streaming workload: its data
/// records equal the golden ones record for record, and every heartbeat equals Debezium's bytes
/// (topic `__debezium-heartbeat.<prefix>`, `ServerNameKey` key, `Heartbeat` value, no headers)
/// except `ts_ms`, which is the time it was sent.
#[test]
fn heartbeat_records_match_debezium_golden() {
    let _g = serial();
    let svc = services();
    svc.reset_with_seed();
    let prefix = unique("hbgold");
    let setup = Setup::new(&svc, &prefix, &[("heartbeat.interval.ms", "1000")]);
    let started = now_ms();
    let running = setup.start("latest");
    svc.sql_file(&shared().join("oracle/sql/20-stream.sql"));
    let golden_data = streaming_golden();
    wait_for_records(&svc.kafka, &prefix, golden_data.len(), Duration::from_secs(60));
    // Idle for a few intervals so that heartbeats are due whatever the workload's pace.
    std::thread::sleep(Duration::from_millis(3500));
    running.stop();
    let ended = now_ms();

    let ours = read_topics(&svc.kafka, &prefix);
    let diffs = golden::compare(&golden_data, &ours, &prefix);
    assert!(diffs.is_empty(), "{} data differences with heartbeats on:\n{}", diffs.len(), diffs.join("\n"));

    let golden_hb: Vec<_> =
        golden::load("heartbeat").into_iter().filter(|g| g.topic == "__debezium-heartbeat.dbserver1").collect();
    assert!(!golden_hb.is_empty(), "the golden run has heartbeats");
    let topic = format!("__debezium-heartbeat.{prefix}");
    let beats = read_topics(&svc.kafka, &topic);
    assert!(beats.len() >= 3, "at least one heartbeat per second of idle time: {}", beats.len());
    let sub = |s: &str| s.replace("dbserver1", &prefix);
    let g = &golden_hb[0];
    let text = |b: &Option<Vec<u8>>| b.as_ref().map(|b| String::from_utf8_lossy(b).into_owned());
    for (i, b) in beats.iter().enumerate() {
        assert_eq!(b.topic, topic);
        assert_eq!(b.partition, 0, "heartbeat {i}: one partition, as in the golden run");
        assert!(b.headers.is_empty() && g.headers.is_empty(), "heartbeat {i} headers: {:?}", b.headers);
        assert_eq!(text(&b.key), g.key.as_deref().map(sub), "heartbeat {i} key");
        let value = text(&b.value).expect("a heartbeat has a value");
        assert_eq!(
            golden::normalize_ts(&value),
            golden::normalize_ts(g.value.as_deref().expect("golden value")),
            "heartbeat {i} value"
        );
        let v: serde_json::Value = serde_json::from_str(&value).unwrap();
        let ts = v["payload"]["ts_ms"].as_i64().expect("ts_ms");
        assert!((started..=ended).contains(&ts), "heartbeat {i} ts_ms {ts} is the time it was sent");
    }
    // The last committed offset is the end of the workload: the heartbeats of the idle time carry it.
    let end = master_status(&svc);
    let last = setup.stored().expect("an offset was committed");
    assert_eq!((last.file.as_str(), last.pos), (end.0.as_str(), end.1), "{last:?}");
}

fn now_ms() -> i64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_millis() as i64
}

/// Captured tables idle, another database busy: with heartbeats the committed offset follows the
/// binlog (so the server can purge behind it and a restart skips the uncaptured changes); the
/// action query runs on every heartbeat. A failing action query stops the connector naming it.
#[test]
fn idle_captured_tables_still_advance_the_committed_offset() {
    let _g = serial();
    let svc = services();
    svc.reset_with_seed();
    svc.sql(
        "DROP DATABASE IF EXISTS busy; CREATE DATABASE busy;
         CREATE TABLE busy.t (id INT AUTO_INCREMENT PRIMARY KEY, v INT);
         CREATE TABLE busy.beats (id INT AUTO_INCREMENT PRIMARY KEY, at DATETIME(3));",
    );
    let prefix = unique("hbidle");
    let setup = Setup::new(
        &svc,
        &prefix,
        &[
            ("table.include.list", "inventory.customers"),
            ("heartbeat.interval.ms", "300"),
            ("heartbeat.action.query", "INSERT INTO busy.beats (at) VALUES (NOW(3))"),
        ],
    );
    // The action query writes, so the connector's user needs the privilege (as Debezium's does).
    svc.sql("GRANT INSERT ON busy.* TO 'debezium'@'%'; GRANT INSERT ON busy.* TO 'debezium'@'127.0.0.1';");
    let running = setup.start("latest");
    let start = master_status(&svc);
    let deadline = Instant::now() + Duration::from_secs(30);
    let mut followed = None;
    for i in 0.. {
        svc.sql(&format!("INSERT INTO busy.t (v) VALUES ({i}), ({i})"));
        std::thread::sleep(Duration::from_millis(200));
        let end = master_status(&svc);
        if let Some(o) = setup.stored().filter(|o| o.file == end.0 && o.pos > start.1) {
            followed = Some(o);
            if i >= 5 {
                break;
            }
        }
        assert!(Instant::now() < deadline, "the committed offset did not follow the binlog: {:?}", setup.stored());
    }
    running.stop();
    let followed = followed.expect("offset");
    assert!(followed.pos > start.1, "{followed:?} is after the start {start:?}");
    assert!(read_topics(&svc.kafka, &prefix).is_empty(), "nothing captured was written");
    let beats: u64 = svc.query("SELECT COUNT(*) FROM busy.beats").parse().unwrap();
    assert!(beats >= 2, "heartbeat.action.query ran on the heartbeats: {beats} rows");

    setup.set_connector_property("heartbeat.action.query", Some("INSERT INTO busy.nope VALUES (1)"));
    let (code, out) = setup.run_failing("latest");
    assert_ne!(code, 0, "{out}");
    assert!(out.contains("heartbeat.action.query failed") && out.contains("busy.nope"), "{out}");
}
