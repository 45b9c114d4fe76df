//! Signals and incremental snapshots.
//!
//! - Against the real Debezium 3.6.3 (project oracle run `incsnap`, workload
//!   tests/oracle/sql/run-incsnap-{seed,stream}.sql, golden files made by `tests/oracle/golden.sh
//!   incsnap`): `execute-snapshot` of three tables (one with a composite key, one empty) in chunks
//!   of 3 rows, a second one with `additional-conditions`, a `log` signal, streamed changes around
//!   them. Every record is compared — the watermark rows Debezium writes into the signal table
//!   included — after normalising what is random in them (the window UUIDs and the
//!   `openWindowTimestamp`/`closeWindowTimestamp` instants), as well as the offsets' incremental
//!   fields of the records (Java-serialized keys included).
//! - A table written to continuously while its incremental snapshot runs, with the connector
//!   killed (SIGKILL) in the middle: the restarted connector goes on from the last chunk (it does
//!   not read the table again), and folding the topic by key gives exactly the table's final rows.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::Value as Json;

use crate::connector::Setup;
use crate::golden;
use crate::parity::wait_for_records;
use crate::services::{read_topics, repo, serial, services, unique, Consumed};

/// Window ids (`<uuid>-open`) and instants are random; everything else must match.
fn normalize(s: &str) -> String {
    let uuid = regex::Regex::new(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}-(open|close)").unwrap();
    let instant = regex::Regex::new(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?Z").unwrap();
    instant.replace_all(&uuid.replace_all(s, "WINDOW-$1"), "INSTANT").into_owned()
}

/// A fresh database `db` with a signal table the connector user may write (watermarks), then
/// `tables_sql`.
fn signal_db(svc: &crate::services::Services, db: &str, tables_sql: &str) {
    svc.sql(&format!(
        "DROP DATABASE IF EXISTS {db}; CREATE DATABASE {db}; USE {db};
         CREATE TABLE debezium_signal (id VARCHAR(64) PRIMARY KEY, type VARCHAR(32) NOT NULL, data TEXT NULL);
         GRANT INSERT, UPDATE, DELETE ON {db}.debezium_signal TO 'debezium'@'%';
         GRANT INSERT, UPDATE, DELETE ON {db}.debezium_signal TO 'debezium'@'localhost';
         {tables_sql}"
    ));
}

fn signal_setup(prefix: &str, svc: &crate::services::Services, chunk: &str, db: &str) -> Setup {
    Setup::new(
        svc,
        prefix,
        &[
            ("database.include.list", db),
            ("snapshot.mode", "no_data"),
            ("signal.data.collection", &format!("{db}.debezium_signal")),
            ("incremental.snapshot.chunk.size", chunk),
        ],
    )
}

#[test]
fn incremental_snapshots_and_signals_match_debezium() {
    let _g = serial();
    let svc = services();
    svc.sql("DROP DATABASE IF EXISTS inc; RESET MASTER;");
    svc.sql_file(&repo().join("tests/oracle/sql/run-incsnap-seed.sql"));
    let prefix = unique("incsnap");
    let setup = signal_setup(&prefix, &svc, "3", "inc");
    let mut golden = golden::load_path(&repo().join("tests/data/golden/incsnap.json.jsonl"));
    assert_eq!(golden.len(), 54, "the golden run's record count");
    for g in golden.iter_mut() {
        g.key = g.key.as_deref().map(normalize);
        g.value = g.value.as_deref().map(normalize);
    }
    let running = setup.start("");
    let schema_records = 12;
    let got = wait_for_records(&svc.kafka, &prefix, schema_records, Duration::from_secs(60));
    assert_eq!(got.len(), schema_records, "schema records of the no_data snapshot");
    svc.sql_file_as_is(&repo().join("tests/oracle/sql/run-incsnap-stream.sql"));
    wait_for_records(&svc.kafka, &prefix, golden.len(), Duration::from_secs(60));
    std::thread::sleep(Duration::from_secs(2));
    running.stop();
    let mut ours = read_topics(&svc.kafka, &prefix);
    for c in ours.iter_mut() {
        let norm = |b: &mut Option<Vec<u8>>| {
            if let Some(v) = b.as_mut() {
                *v = normalize(&String::from_utf8_lossy(v)).into_bytes();
            }
        };
        norm(&mut c.key);
        norm(&mut c.value);
    }
    let diffs = golden::compare(&golden, &ours, &prefix);
    assert!(diffs.is_empty(), "{} differences from Debezium:\n{}", diffs.len(), diffs.join("\n"));
    assert_eq!(ours.len(), golden.len(), "record count");

    // The incremental fields of the last committed offset: none once the snapshots are done.
    let stored = setup.stored().expect("a committed offset");
    assert!(stored.extra.iter().all(|(k, _)| !k.starts_with("incremental_snapshot")), "{stored:?}");
}

/// The offsets Debezium would commit after each record carry the snapshot's progress: compare
/// ours, read back from the offsets file while the snapshot runs, with the golden run's.
#[test]
fn incremental_progress_in_offsets_matches_debezium() {
    let golden: Vec<Json> = std::fs::read_to_string(repo().join("tests/data/golden/incsnap.source-offsets.jsonl"))
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    // Every distinct incremental state the golden run went through decodes into our progress
    // and encodes back to the same fields.
    let mut states = 0;
    for g in &golden {
        let o = &g["sourceOffset"];
        let extra: Vec<(String, Json)> = o
            .as_object()
            .unwrap()
            .iter()
            .filter(|(k, _)| k.starts_with("incremental_snapshot"))
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        let Some(p) = cdc_connector::incremental::Progress::from_offset(&extra).expect("golden offset decodes") else {
            continue;
        };
        states += 1;
        let mut back = p.offset_entries(None);
        back.sort_by(|a, b| a.0.cmp(&b.0));
        let mut want = extra.clone();
        want.sort_by(|a, b| a.0.cmp(&b.0));
        assert_eq!(back, want, "golden seq {}", g["seq"]);
    }
    assert!(states >= 30, "golden offsets with incremental state: {states}");
}

/// `id` → (`name`, `qty`) of an `(id BIGINT, name, qty BIGINT)` table.
pub type Folded = BTreeMap<i64, (String, i64)>;

/// The topic of an `(id BIGINT, name, qty BIGINT)` table folded by key (the last record of each
/// key wins, a delete removes it), and its `op: r` records with their ids.
pub fn fold_items<'a>(records: &'a [Consumed], topic: &str) -> (Folded, Vec<(i64, &'a Consumed)>) {
    let mut folded = BTreeMap::new();
    let mut reads = Vec::new();
    for c in records.iter().filter(|c| c.topic == topic) {
        let Some(v) = &c.value else { continue };
        let v: Json = serde_json::from_slice(v).expect("JSON value");
        let p = &v["payload"];
        if p["op"] == "d" {
            folded.remove(&p["before"]["id"].as_i64().unwrap());
            continue;
        }
        let a = &p["after"];
        let id = a["id"].as_i64().unwrap();
        folded.insert(id, (a["name"].as_str().unwrap().to_string(), a["qty"].as_i64().unwrap()));
        if p["op"] == "r" {
            reads.push((id, c));
        }
    }
    (folded, reads)
}

/// `folded` holds exactly the rows of `table` (`id, name, qty`).
pub fn assert_folds_to(svc: &crate::services::Services, table: &str, folded: &Folded) {
    let rows: Folded = svc
        .query_rows(&format!("SELECT id, name, qty FROM {table} ORDER BY id"))
        .into_iter()
        .map(|r| (r[0].parse().unwrap(), (r[1].clone(), r[2].parse().unwrap())))
        .collect();
    let missing: Vec<_> = rows.keys().filter(|k| !folded.contains_key(k)).take(10).collect();
    let extra: Vec<_> = folded.keys().filter(|k| !rows.contains_key(k)).take(10).collect();
    let differ: Vec<_> = rows.iter().filter(|(k, v)| folded.get(k).is_some_and(|f| f != *v)).take(10).collect();
    assert!(
        missing.is_empty() && extra.is_empty() && differ.is_empty(),
        "topic folded by key vs table {table}: missing {missing:?}, extra {extra:?}, different {differ:?}"
    );
    assert_eq!(folded.len(), rows.len());
}

/// The writer's view of the table: id → qty, applied in commit order.
fn writer(svc: crate::services::Services, stop: Arc<AtomicBool>) {
    let mut n: u64 = 0;
    while !stop.load(Ordering::Relaxed) {
        n += 1;
        let id = (n * 7919) % 20_000 + 1;
        let sql = match n % 4 {
            0 => format!("DELETE FROM incw.items WHERE id = {id};"),
            1 => {
                format!("INSERT INTO incw.items VALUES ({}, 'new', {n}) ON DUPLICATE KEY UPDATE qty = {n};", 20_000 + n)
            }
            _ => format!(
                "INSERT INTO incw.items VALUES ({id}, 'back', {n}) ON DUPLICATE KEY UPDATE qty = {n}, name = 'upd';"
            ),
        };
        svc.sql(&sql);
        std::thread::sleep(Duration::from_millis(5));
    }
}

fn run_id(c: &Consumed) -> Vec<u8> {
    c.headers.iter().find(|(k, _)| k == "__debezium.context.runId").map(|(_, v)| v.clone()).unwrap_or_default()
}

#[test]
fn incremental_snapshot_under_writes_survives_a_kill_and_ends_with_the_tables_rows() {
    let _g = serial();
    let svc = services();
    signal_db(
        &svc,
        "incw",
        "CREATE TABLE items (id BIGINT PRIMARY KEY, name VARCHAR(20), qty BIGINT);
         INSERT INTO items SELECT seq, CONCAT('n', seq), seq FROM seq_1_to_20000;",
    );
    let prefix = unique("incw");
    let setup = signal_setup(&prefix, &svc, "100", "incw");
    setup.set_offset_flush_interval(200);
    let topic = format!("{prefix}.incw.items");
    let running = setup.start("");
    let stop = Arc::new(AtomicBool::new(false));
    let w = {
        let (svc, stop) = (services(), stop.clone());
        std::thread::spawn(move || writer(svc, stop))
    };
    svc.sql(
        r#"INSERT INTO incw.debezium_signal VALUES ('go', 'execute-snapshot', '{"data-collections": ["incw.items"]}');"#,
    );
    // Kill once the committed offset says rows 2,000-15,000 have been emitted (the offsets file
    // is cheap to poll; the table has 200 chunks).
    let last_committed = |setup: &Setup| -> Option<i64> {
        let o = setup.stored()?;
        let p = cdc_connector::incremental::Progress::from_offset(&o.extra).ok()??;
        match p.last_sent?.first()? {
            cdc_connector::java_ser::KeyPart::Long(k) => Some(*k),
            _ => None,
        }
    };
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        if last_committed(&setup).is_some_and(|k| (2_000..15_000).contains(&k)) {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "no committed incremental-snapshot offset in rows 2,000-15,000 within 120 s"
        );
        std::thread::sleep(Duration::from_millis(5));
    }
    running.kill9();
    let stored = setup.stored().expect("committed offset");
    let resumed_after = cdc_connector::incremental::Progress::from_offset(&stored.extra)
        .expect("offset decodes")
        .expect("the offset holds the snapshot in progress")
        .last_sent;
    let running = setup.start("resume");
    // Done when the connector says so; then the writer stops and the stream catches up.
    let mut running = running;
    running.wait_for_log("incremental snapshot complete", Duration::from_secs(180));
    stop.store(true, Ordering::Relaxed);
    w.join().expect("writer");
    svc.sql("INSERT INTO incw.items VALUES (999999, 'last', 0);");
    let deadline = Instant::now() + Duration::from_secs(60);
    let records = loop {
        let r = read_topics(&svc.kafka, &prefix);
        let last_seen = r
            .iter()
            .any(|c| c.topic == topic && c.key.as_ref().is_some_and(|k| String::from_utf8_lossy(k).contains("999999")));
        if last_seen {
            break r;
        }
        assert!(Instant::now() < deadline, "the final insert did not arrive in 60 s");
        std::thread::sleep(Duration::from_millis(200));
    };
    running.stop();

    let (folded, reads) = fold_items(&records, &topic);
    let first_run = records.iter().find(|c| c.topic == topic).map(run_id);
    let second_run_reads: Vec<i64> =
        reads.iter().filter(|(_, c)| Some(run_id(c)) != first_run).map(|(id, _)| *id).collect();
    assert_folds_to(&svc, "incw.items", &folded);
    // The restarted run went on after the last key the killed one committed.
    let Some(Some(cdc_connector::java_ser::KeyPart::Long(after))) = resumed_after.map(|k| k.first().cloned()) else {
        panic!("the committed primary key is one BIGINT");
    };
    eprintln!(
        "incremental: killed after key {after}; the restarted run read {} rows ({}..={}); {} rows in the table",
        second_run_reads.len(),
        second_run_reads.iter().min().unwrap_or(&0),
        second_run_reads.iter().max().unwrap_or(&0),
        folded.len()
    );
    assert!(!second_run_reads.is_empty(), "the restarted run read the rest of the table");
    assert!(
        second_run_reads.iter().all(|&id| id > after),
        "the restarted run read keys at or before {after}, the last key committed: {:?}",
        second_run_reads.iter().filter(|&&id| id <= after).take(5).collect::<Vec<_>>()
    );
}

/// `pause-snapshot` holds the reads until `resume-snapshot`; `stop-snapshot` ends the snapshot
/// where it is (no more reads, no incremental fields in later offsets).
#[test]
fn pause_resume_and_stop_signals() {
    let _g = serial();
    let svc = services();
    signal_db(
        &svc,
        "incp",
        "CREATE TABLE items (id BIGINT PRIMARY KEY, v BIGINT);
         INSERT INTO items SELECT seq, seq FROM seq_1_to_5000;",
    );
    let prefix = unique("incp");
    let setup = signal_setup(&prefix, &svc, "10", "incp");
    let topic = format!("{prefix}.incp.items");
    let reads = || {
        read_topics(&svc.kafka, &prefix)
            .iter()
            .filter(|c| {
                c.topic == topic && c.value.as_ref().is_some_and(|v| String::from_utf8_lossy(v).contains(r#""op":"r""#))
            })
            .count()
    };
    let signal = |id: &str, kind: &str, data: &str| {
        svc.sql(&format!("INSERT INTO incp.debezium_signal VALUES ('{id}', '{kind}', '{data}');"));
    };
    let mut running = setup.start("");
    signal("go", "execute-snapshot", r#"{"data-collections": ["incp.items"]}"#);
    signal("hold", "pause-snapshot", "");
    running.wait_for_log("incremental snapshot paused", Duration::from_secs(30));
    std::thread::sleep(Duration::from_secs(1));
    let paused_at = reads();
    std::thread::sleep(Duration::from_secs(2));
    assert_eq!(reads(), paused_at, "no reads while paused");
    assert!(paused_at < 5_000, "paused before the end: {paused_at}");
    signal("more", "resume-snapshot", "");
    running.wait_for_log("incremental snapshot complete", Duration::from_secs(120));
    let deadline = Instant::now() + Duration::from_secs(30);
    while reads() < 5_000 {
        assert!(Instant::now() < deadline, "all 5,000 rows read after resume-snapshot: {}", reads());
        std::thread::sleep(Duration::from_millis(200));
    }
    assert_eq!(reads(), 5_000, "each row read once");

    signal("again", "execute-snapshot", r#"{"data-collections": ["incp.items"]}"#);
    signal("halt", "stop-snapshot", r#"{"type": "incremental"}"#);
    running.wait_for_log("incremental snapshot stopped", Duration::from_secs(30));
    std::thread::sleep(Duration::from_secs(2));
    let after_stop = reads();
    std::thread::sleep(Duration::from_secs(1));
    assert_eq!(reads(), after_stop, "no reads after stop-snapshot");
    assert!(after_stop < 10_000, "the second snapshot stopped before the end: {after_stop}");
    svc.sql("INSERT INTO incp.items VALUES (99999, 0);");
    wait_for_records(&svc.kafka, &prefix, 0, Duration::from_secs(1));
    std::thread::sleep(Duration::from_secs(1));
    running.stop();
    let stored = setup.stored().expect("a committed offset");
    assert!(stored.extra.iter().all(|(k, _)| !k.starts_with("incremental_snapshot")), "{stored:?}");
}

/// `set-binlog-position` (oracle run `setpos`, workload tests/oracle/sql/run-setpos-*.sql, heartbeats on): rows
/// 2-5, then a signal naming the start of row 5's transaction, then row 6. Up to the signal row every record equals
/// Debezium's. Debezium 3.6.3 only stores the position (a heartbeat carries it) and goes there when restarted; we
/// go there at once, once the signal's transaction has ended: row 5 and the signal row are read a second time (the
/// signal is not applied twice), then row 6. A restart resumes after row 6 and emits nothing; a signal naming a
/// binlog file the server does not have is ignored with a warning and the stream goes on where it was.
#[test]
fn set_binlog_position_signal_moves_the_stream() {
    let _g = serial();
    let svc = services();
    svc.sql("DROP DATABASE IF EXISTS sp; RESET MASTER;");
    svc.sql_file(&repo().join("tests/oracle/sql/run-setpos-seed.sql"));
    let prefix = unique("setpos");
    let setup = Setup::new(
        &svc,
        &prefix,
        &[
            ("database.include.list", "sp"),
            ("signal.data.collection", "sp.debezium_signal"),
            ("heartbeat.interval.ms", "1000"),
        ],
    );
    let golden: Vec<golden::GoldenRecord> = golden::load_path(&repo().join("tests/data/golden/setpos.json.jsonl"))
        .into_iter()
        .filter(|g| !g.topic.starts_with("__debezium-heartbeat"))
        .collect();
    assert_eq!(golden.len(), 15, "the golden run's data and schema records");
    let mut running = setup.start("");
    let snapshot_records = 9;
    let got = wait_for_records(&svc.kafka, &prefix, snapshot_records, Duration::from_secs(60));
    assert_eq!(got.len(), snapshot_records, "records of the initial snapshot");
    svc.sql_file_as_is(&repo().join("tests/oracle/sql/run-setpos-stream.sql"));
    // The workload's position is the start of row 5's transaction on this server too.
    let events = svc.query_rows("SHOW BINLOG EVENTS IN 'mysql-bin.000001'");
    let annotate = events.iter().position(|e| e[5].contains("VALUES (5, 'five')")).expect("row 5's statement");
    let gtid_of_row5 =
        events[..annotate].iter().rev().find(|e| e[2] == "Gtid").map(|e| e[1].clone()).expect("its GTID");
    assert_eq!(gtid_of_row5, "1697", "the signal's position is where row 5's transaction starts");
    // golden + row 5 and the signal row once more
    let expected = golden.len() + 2;
    let ours = wait_for_records(&svc.kafka, &prefix, expected, Duration::from_secs(60));
    running.wait_for_log("set-binlog-position: streaming from the new position", Duration::from_secs(10));

    // Debezium's records, with the two read again after the move where they come.
    let mut want = golden.clone();
    let row5 = golden
        .iter()
        .position(|g| {
            g.topic.ends_with(".sp.t") && g.value.as_deref().is_some_and(|v| v.contains(r#""after":{"id":5"#))
        })
        .expect("row 5");
    let signal = golden.iter().position(|g| g.topic.ends_with(".debezium_signal")).expect("signal row");
    let row6 = golden
        .iter()
        .position(|g| g.value.as_deref().is_some_and(|v| v.contains(r#""after":{"id":6"#)))
        .expect("row 6");
    assert!(row5 < signal && signal < row6);
    want.insert(row6, golden[signal].clone());
    want.insert(row6, golden[row5].clone());
    let diffs = golden::compare(&want, &ours, &prefix);
    assert!(diffs.is_empty(), "{} differences:\n{}", diffs.len(), diffs.join("\n"));
    assert_eq!(ours.len(), expected);
    let beats = read_topics(&svc.kafka, &format!("__debezium-heartbeat.{prefix}"));
    assert!(!beats.is_empty(), "heartbeats (one carries the new position)");

    // A signal naming a file the server does not have: ignored, the stream goes on.
    svc.sql(
        r#"INSERT INTO sp.debezium_signal VALUES ('pos-2', 'set-binlog-position',
             '{"binlog_filename": "mysql-bin.000099", "binlog_position": 4}');
           INSERT INTO sp.t VALUES (7, 'seven');"#,
    );
    running.wait_for_log("set-binlog-position signal ignored", Duration::from_secs(20));
    let ours = wait_for_records(&svc.kafka, &prefix, expected + 2, Duration::from_secs(30));
    assert_eq!(ours.len(), expected + 2, "the ignored signal's row and row 7, once each");
    std::thread::sleep(Duration::from_secs(2));
    running.stop();
    let stored = setup.stored().expect("a committed offset");
    assert!(stored.pos > 1697, "the committed offset is after the last row read: {stored:?}");

    // A restart goes on from there: nothing is read again, no signal applied again.
    let mut again = setup.start("");
    again.wait_for_log("binlog stream started", Duration::from_secs(30));
    svc.sql("INSERT INTO sp.t VALUES (8, 'eight');");
    let ours = wait_for_records(&svc.kafka, &prefix, expected + 3, Duration::from_secs(30));
    std::thread::sleep(Duration::from_secs(2));
    again.stop();
    let ours_now = read_topics(&svc.kafka, &prefix);
    assert_eq!(ours_now.len(), expected + 3, "only row 8 after the restart: {}", ours.len());
}

/// The incremental snapshot's own connection lost between chunks (killed on the server while
/// the snapshot is paused): the next chunk query fails, the pipeline reconnects as after any
/// lost connection, and the snapshot goes on from the committed chunk — every row read, the
/// reconnect logged (issue #8: outages).
#[test]
fn a_lost_incremental_snapshot_connection_is_reconnected() {
    let _g = serial();
    let svc = services();
    signal_db(
        &svc,
        "incl",
        "CREATE TABLE items (id BIGINT PRIMARY KEY, v BIGINT);
         INSERT INTO items SELECT seq, seq FROM seq_1_to_3000;",
    );
    let prefix = unique("incl");
    let setup = signal_setup(&prefix, &svc, "100", "incl");
    setup.set_connector_property("retriable.restart.connector.wait.ms", Some("2000"));
    let topic = format!("{prefix}.incl.items");
    let signal = |id: &str, kind: &str, data: &str| {
        svc.sql(&format!("INSERT INTO incl.debezium_signal VALUES ('{id}', '{kind}', '{data}');"));
    };
    let mut running = setup.start("");
    signal("go", "execute-snapshot", r#"{"data-collections": ["incl.items"]}"#);
    signal("hold", "pause-snapshot", "");
    running.wait_for_log("incremental snapshot paused", Duration::from_secs(30));
    // every connection of the connector's user but the binlog dump: the snapshot's reader among them
    let ids = svc.query(
        "SELECT GROUP_CONCAT(ID) FROM information_schema.PROCESSLIST WHERE USER = 'debezium' AND COMMAND <> 'Binlog Dump'",
    );
    let ids: Vec<&str> = ids.trim().split(',').filter(|s| !s.is_empty() && *s != "NULL").collect();
    assert!(!ids.is_empty(), "the incremental snapshot's connection is open");
    for id in ids {
        svc.sql(&format!("KILL CONNECTION {id};"));
    }
    signal("more", "resume-snapshot", "");
    running.wait_for_log("reconnecting in", Duration::from_secs(60));
    running.wait_for_log("incremental snapshot complete", Duration::from_secs(120));
    let deadline = Instant::now() + Duration::from_secs(60);
    let read_ids = || -> std::collections::BTreeSet<i64> {
        read_topics(&svc.kafka, &prefix)
            .iter()
            .filter(|c| c.topic == topic)
            .filter_map(|c| c.value.as_ref())
            .map(|v| serde_json::from_slice::<serde_json::Value>(v).expect("JSON"))
            .filter(|v| v["payload"]["op"] == "r")
            .filter_map(|v| v["payload"]["after"]["id"].as_i64())
            .collect()
    };
    loop {
        let got = read_ids();
        if got.len() == 3000 {
            assert_eq!(got.first().copied(), Some(1));
            assert_eq!(got.last().copied(), Some(3000));
            break;
        }
        assert!(Instant::now() < deadline, "{} of 3,000 rows read after the reconnect", got.len());
        std::thread::sleep(Duration::from_millis(500));
    }
    let log = running.stop_with_log();
    assert!(log.contains("incremental snapshot on MySQL"), "the lost connection is named:\n{log}");
}
