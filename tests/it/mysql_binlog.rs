//! The connector reading a real MySQL binlog end to end: fixture
//! `mysql-5.7.40_gtid-utf8mb4.mysql-bin.000080` (GTID mode: ten transactions, row changes of
//! `a.b` and `a.emoji`, five DDL statements) served by [`crate::fake_mysql`], since no MySQL
//! server runs here. Debezium on MariaDB cannot show MySQL GTIDs, so the expected values come
//! from independent decoders: the fixture's `.expected.json` (mysql-binlog-connector-java and
//! python-mysql-replication: the GTIDs, row events and values, the DDL statements) and
//! `mariadb-binlog` run on the file here (event positions, the GTID events' places, each
//! transaction's session id) — and Debezium's documented MySQL behaviour for what it makes of
//! them: `source.gtid` the transaction's GTID, `source.thread` the session of its `BEGIN`, offsets
//! and schema-history positions with the GTID set completed before the statement
//! (`gtids`), transaction ids that are GTIDs.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use serde_json::Value as Json;

use crate::connector::Setup;
use crate::fake_mysql::{FakeMysql, Spec};
use crate::services::{read_topics, serial, services, shared, unique, Consumed};

const FIXTURE: &str = "mysql-5.7.40_gtid-utf8mb4.mysql-bin.000080";

fn fixture(name: &str) -> PathBuf {
    shared().join("fixtures/binlogs").join(name)
}

fn expected_of(name: &str) -> Json {
    serde_json::from_str(&std::fs::read_to_string(fixture(&format!("{name}.expected.json"))).unwrap()).unwrap()
}

/// One event as `mariadb-binlog` prints it.
#[derive(Debug)]
struct Printed {
    pos: u64,
    end: u64,
    gtid_event: bool,
    thread: Option<u32>,
}

/// The file's events per `mariadb-binlog` (it prints MySQL's GTID events as "Ignorable event
/// type 33" and the session of each query event).
fn mariadb_binlog_events(name: &str) -> Vec<Printed> {
    let out = std::process::Command::new("mariadb-binlog").arg(fixture(name)).output().expect("run mariadb-binlog");
    assert!(out.status.success(), "mariadb-binlog: {}", String::from_utf8_lossy(&out.stderr));
    let text = String::from_utf8_lossy(&out.stdout);
    let mut events: Vec<Printed> = Vec::new();
    let mut at: Option<u64> = None;
    for line in text.lines() {
        if let Some(p) = line.strip_prefix("# at ") {
            at = p.trim().parse().ok();
        } else if line.starts_with("# Ignorable event type 33") {
            // Printed after the event's header line.
            events.last_mut().expect("a header line first").gtid_event = true;
        } else if let (Some(pos), Some(i)) = (at, line.find("end_log_pos ")) {
            let end: u64 = line[i + 12..].split_whitespace().next().unwrap().parse().unwrap();
            let thread = line.split("thread_id=").nth(1).and_then(|t| t.split_whitespace().next()?.parse().ok());
            events.push(Printed { pos, end, gtid_event: false, thread });
            at = None;
        }
    }
    events
}

/// The server UUID and number of a fixture's first GTID (per the decoders).
fn first_gtid(expected: &Json) -> (&str, u64) {
    let first = expected["gtids"]["first"][0].as_str().unwrap();
    let (uuid, n) = first.split_once(':').unwrap();
    (uuid, n.parse().unwrap())
}

fn payload(c: &Consumed) -> Option<Json> {
    let v: Json = serde_json::from_slice(c.value.as_deref()?).ok()?;
    Some(v["payload"].clone())
}

/// A fixture read by the connector from its first event, through the fake server.
struct Run {
    records: Vec<Consumed>,
    setup: Setup,
    unknown: Vec<String>,
    log: String,
}

/// Serve fixture `name` as `file_name`, start the connector at its first event with a schema
/// history of `history` (database, DDL: what the connector knew before the file — test input)
/// and `gtids` as the stored offset's completed GTID set, and wait for every row change the
/// independent decoders counted and `statements` schema-change records.
fn run_fixture(
    name: &str,
    file_name: &str,
    history: &[(&str, &str)],
    gtids: Option<&str>,
    statements: usize,
    extra: &[(&str, &str)],
) -> Run {
    run_fixture_with(name, file_name, history, gtids, statements, extra, Resume::default())
}

/// Where the stored offset points and what the server lists, when not the file's start.
#[derive(Default)]
struct Resume<'a> {
    /// The stored offset's position (default 4).
    pos: Option<u64>,
    /// The name the server has the file under (a failover: the offset's file is gone).
    listed: Option<&'a str>,
    /// Row changes to wait for (default: all the decoders counted).
    rows: Option<u64>,
    /// Start with this `--binlog-pos` instead of the stored offset (no offset, no history: the
    /// schema comes from the server's `schemas`).
    binlog_pos: Option<&'a str>,
    schemas: Vec<(String, Vec<(String, String)>)>,
}

fn run_fixture_with(
    name: &str,
    file_name: &str,
    history: &[(&str, &str)],
    gtids: Option<&str>,
    statements: usize,
    extra: &[(&str, &str)],
    resume: Resume<'_>,
) -> Run {
    let svc = services();
    let expected = expected_of(name);
    let server = FakeMysql::start(Spec {
        version: expected["format"]["server_version"].as_str().unwrap().to_string(),
        server_id: 1,
        file_name: file_name.into(),
        listed_name: resume.listed.map(str::to_string),
        schemas: resume.schemas.clone(),
        binlog: std::fs::read(fixture(name)).unwrap(),
        gtid_mode: gtids.is_some()
            || expected["event_counts"].as_object().unwrap().keys().any(|k| k.contains("GTID_TAGGED")),
        gtid_executed: String::new(),
    });
    let prefix = unique("mysqlbin");
    let mut props = vec![("database.hostname", "127.0.0.1"), ("connect.keep.alive", "false")];
    props.extend_from_slice(extra);
    let setup = Setup::new(&svc, &prefix, &props);
    setup.set_connector_property("database.port", Some(&server.port.to_string()));
    setup.use_file_history();
    if resume.binlog_pos.is_none() {
        let lines: Vec<String> = history
            .iter()
            .map(|(db, ddl)| {
                serde_json::json!({"source": {"server": prefix}, "position": {"file": "mysql-bin.000000", "pos": 4, "server_id": 1},
                    "ts_ms": 0, "databaseName": db, "ddl": ddl, "tableChanges": []})
                .to_string()
            })
            .collect();
        std::fs::write(setup.history_file(), lines.join("\n") + "\n").unwrap();
        let mut store = cdc_connector::offsets::FileOffsetStore::open(setup.offsets()).unwrap();
        let start = cdc_connector::offsets::SourceOffset {
            file: file_name.into(),
            pos: resume.pos.unwrap_or(4),
            server_id: Some(1),
            gtids: gtids.map(str::to_string),
            ..Default::default()
        };
        store.put(&setup.name, &setup.prefix, &start);
        store.flush().unwrap();
        drop(store);
    }
    let running = setup.start(resume.binlog_pos.unwrap_or("resume"));
    let rows_expected: u64 = resume.rows.unwrap_or_else(|| {
        expected["rows_per_table"]
            .as_object()
            .unwrap()
            .values()
            .map(|t| t["inserted"].as_u64().unwrap() + t["updated"].as_u64().unwrap() + t["deleted"].as_u64().unwrap())
            .sum()
    });
    let deadline = Instant::now() + Duration::from_secs(60);
    let records = loop {
        let r = read_topics(&svc.kafka, &prefix);
        let rows = r.iter().filter_map(payload).filter(|p| p["op"].is_string()).count() as u64;
        let ddl = r.iter().filter_map(payload).filter(|p| p["ddl"].is_string()).count();
        if rows >= rows_expected && ddl >= statements {
            break r;
        }
        assert!(
            Instant::now() < deadline,
            "{name}: {rows} of {rows_expected} row changes, {ddl} of {statements} statements; unanswered: {:?}",
            server.unknown_queries()
        );
        std::thread::sleep(Duration::from_millis(300));
    };
    std::thread::sleep(Duration::from_secs(1));
    let log = running.stop_with_log();
    Run { records, setup, unknown: server.unknown_queries(), log }
}

#[test]
fn mysql_gtids_threads_and_history_positions_from_a_real_mysql_binlog() {
    let _g = serial();
    let expected = expected_of(FIXTURE);
    // The GTIDs in file order: the independent decoders' first, last and count (consecutive).
    let (uuid, first_no) = first_gtid(&expected);
    let count = expected["gtids"]["count"].as_u64().unwrap();
    let gtids: Vec<String> = (0..count).map(|i| format!("{uuid}:{}", first_no + i)).collect();
    assert_eq!(gtids.last().map(String::as_str), expected["gtids"]["last"].as_str(), "consecutive GTIDs");
    let printed = mariadb_binlog_events(FIXTURE);
    let gtid_places: Vec<u64> = printed.iter().filter(|e| e.gtid_event).map(|e| e.pos).collect();
    assert_eq!(gtid_places.len() as u64, count, "GTID events mariadb-binlog saw");
    // The transaction (its GTID's index) an event at `pos` belongs to, and its session.
    let tx_of = |pos: u64| gtid_places.iter().rposition(|&g| g < pos).expect("inside a transaction");
    let thread_of = |tx: usize| {
        printed.iter().find(|e| e.pos > gtid_places[tx] && !e.gtid_event).and_then(|e| e.thread).expect("BEGIN or DDL")
    };

    // What the connector knew before this file (test input): table `a.b` (its one INT column is
    // unnamed in the binlog) and the GTIDs before the file's first.
    let before = format!("{uuid}:1-{}", first_no - 1);
    let Run { records, setup, unknown, .. } = run_fixture(
        FIXTURE,
        "mysql-bin.000080",
        &[("", "CREATE DATABASE a"), ("a", "CREATE TABLE b (id INT)")],
        Some(&before),
        expected["queries"].as_array().unwrap().len(),
        &[("database.include.list", "a"), ("provide.transaction.metadata", "true")],
    );
    let prefix = setup.prefix.clone();

    // Row changes: per table and kind as the decoders counted them, at the rows events' places,
    // with their values, their transaction's GTID and session, and a transaction id that is it.
    let samples: BTreeMap<u64, Json> = expected["sample_row_events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| (e["pos"].as_u64().unwrap(), e.clone()))
        .collect();
    let mut counts: BTreeMap<String, [u64; 3]> = BTreeMap::new();
    let mut per_event: BTreeMap<u64, usize> = BTreeMap::new();
    for c in records.iter().filter(|c| c.topic.starts_with(&format!("{prefix}.a."))) {
        let Some(p) = payload(c) else { continue };
        let s = &p["source"];
        let table = format!("a.{}", s["table"].as_str().unwrap());
        let pos = s["pos"].as_u64().unwrap();
        let sample = samples.get(&pos).unwrap_or_else(|| panic!("{table}: no rows event at {pos}"));
        assert_eq!(sample["table"].as_str(), Some(table.as_str()), "table of the rows event at {pos}");
        let (slot, image) = match p["op"].as_str().unwrap() {
            "c" => (0, &p["after"]),
            "u" => (1, &p["after"]),
            "d" => (2, &p["before"]),
            other => panic!("op {other} at {pos}"),
        };
        counts.entry(table.clone()).or_default()[slot] += 1;
        let row = per_event.entry(pos).or_default();
        let want = &sample["rows"][*row];
        *row += 1;
        let values: Vec<&Json> = image.as_object().unwrap().values().collect();
        assert_row(&values, want, &format!("{table} at {pos}, row {row}"));
        let tx = tx_of(pos);
        assert_eq!(s["gtid"].as_str(), Some(gtids[tx].as_str()), "source.gtid at {pos}");
        assert_eq!(s["thread"].as_u64(), Some(u64::from(thread_of(tx))), "source.thread at {pos}");
        assert_eq!(p["transaction"]["id"].as_str(), Some(gtids[tx].as_str()), "transaction.id at {pos}");
    }
    for (table, t) in expected["rows_per_table"].as_object().unwrap() {
        let want = [t["inserted"].as_u64().unwrap(), t["updated"].as_u64().unwrap(), t["deleted"].as_u64().unwrap()];
        assert_eq!(counts.get(table).copied().unwrap_or_default(), want, "{table}: inserted/updated/deleted");
    }
    // Transaction records: one BEGIN and one END per transaction with row changes, the GTID as id.
    let tx_topic = format!("{prefix}.transaction");
    let tx: Vec<Json> = records.iter().filter(|c| c.topic == tx_topic).filter_map(payload).collect();
    let with_rows: Vec<usize> = {
        let mut v: Vec<usize> = samples.keys().map(|&p| tx_of(p)).collect();
        v.dedup();
        v
    };
    let ids = |status: &str| -> Vec<String> {
        tx.iter().filter(|t| t["status"] == status).map(|t| t["id"].as_str().unwrap().to_string()).collect()
    };
    let want: Vec<String> = with_rows.iter().map(|&i| gtids[i].clone()).collect();
    assert_eq!(ids("BEGIN"), want, "BEGIN records");
    assert_eq!(ids("END"), want, "END records");

    // Statements: each with its GTID, recorded in the history at the end of its event with the
    // GTIDs completed before it.
    let ddl: Vec<Json> = records.iter().filter(|c| c.topic == prefix).filter_map(payload).collect();
    let queries = expected["queries"].as_array().unwrap();
    assert_eq!(ddl.len(), queries.len(), "schema-change records");
    let history: Vec<Json> = std::fs::read_to_string(setup.history_file())
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .filter(|r: &Json| r["position"]["file"] == "mysql-bin.000080")
        .collect();
    assert_eq!(history.len(), queries.len(), "history records of the file's statements");
    for ((q, rec), h) in queries.iter().zip(&ddl).zip(&history) {
        let pos = q["pos"].as_u64().unwrap();
        let tx = tx_of(pos);
        assert_eq!(rec["ddl"], q["sql"], "statement at {pos}");
        assert_eq!(rec["source"]["gtid"].as_str(), Some(gtids[tx].as_str()), "source.gtid of the statement at {pos}");
        assert_eq!(h["ddl"], q["sql"], "history record of the statement at {pos}");
        let end = printed.iter().find(|e| e.pos == pos).map(|e| e.end).expect("mariadb-binlog printed it");
        assert_eq!(h["position"]["pos"].as_u64(), Some(end), "history position of the statement at {pos}");
        let completed = if tx == 0 { before.clone() } else { format!("{uuid}:1-{}", first_no + tx as u64 - 1) };
        assert_eq!(h["position"]["gtids"].as_str(), Some(completed.as_str()), "history gtids at {pos}");
    }

    // The offset: every GTID of the file completed.
    let stored = setup.stored().expect("a committed offset");
    assert_eq!(stored.gtids.as_deref(), Some(format!("{uuid}:1-{}", first_no + count - 1).as_str()), "{stored:?}");
    assert!(unknown.is_empty(), "queries the fake server could not answer: {unknown:?}");
}

/// A row image (its values in column order) equals a row of the decoders' `sample_row_events`
/// (strings as `{"utf8"}`, decimals as `{"decimal"}` there).
fn assert_row(values: &[&Json], want: &Json, what: &str) {
    let want = want.as_array().unwrap();
    assert_eq!(values.len(), want.len(), "{what}: columns");
    for (i, w) in want.iter().enumerate() {
        let w = w.get("utf8").or_else(|| w.get("decimal")).unwrap_or(w);
        assert_eq!(values[i], w, "{what}, column {i}");
    }
}

fn image(p: &Json, which: &str) -> Vec<Json> {
    p[which].as_object().unwrap_or_else(|| panic!("no {which} image: {p}")).values().cloned().collect()
}

/// MySQL's ROWS_QUERY event (`binlog_rows_query_log_events=ON`) becomes `source.query` with
/// `include.query`; the statements of the file (DROP and CREATE of the table) come first; each
/// change carries its transaction's GTID and session (fixture `mysql-5.7.30_rows-query`).
#[test]
fn mysql_rows_query_events_fill_source_query() {
    let _g = serial();
    let name = "mysql-5.7.30_rows-query.log.bin";
    let expected = expected_of(name);
    let printed = mariadb_binlog_events(name);
    let gtid_places: Vec<u64> = printed.iter().filter(|e| e.gtid_event).map(|e| e.pos).collect();
    let gtids: Vec<&str> = expected["gtids"]["first"].as_array().unwrap().iter().map(|g| g.as_str().unwrap()).collect();
    assert_eq!(gtid_places.len(), gtids.len(), "GTID events");
    let queries = expected["queries"].as_array().unwrap();
    let run = run_fixture(
        name,
        "mysql-bin.000001",
        &[("", "CREATE DATABASE `default`")],
        None,
        queries.len(),
        &[("database.include.list", "default"), ("include.query", "true")],
    );
    let sample = &expected["sample_row_events"][0];
    let topic = format!("{}.{}", run.setup.prefix, sample["table"].as_str().unwrap());
    let rows: Vec<Json> = run.records.iter().filter(|c| c.topic == topic).filter_map(payload).collect();
    assert_eq!(rows.len(), 1, "{rows:?}");
    let p = &rows[0];
    assert_eq!(p["op"], "c");
    assert_row(&image(p, "after").iter().collect::<Vec<_>>(), &sample["rows"][0], "the inserted row");
    let pos = sample["pos"].as_u64().unwrap();
    assert_eq!(p["source"]["pos"].as_u64(), Some(pos));
    assert_eq!(p["source"]["query"], expected["rows_query_events"][0]["query"], "source.query");
    let tx = gtid_places.iter().rposition(|&g| g < pos).unwrap();
    assert_eq!(p["source"]["gtid"].as_str(), Some(gtids[tx]), "source.gtid");
    let begin = printed.iter().find(|e| e.pos > gtid_places[tx] && !e.gtid_event).and_then(|e| e.thread);
    assert_eq!(p["source"]["thread"].as_u64(), begin.map(u64::from), "source.thread");
    assert_eq!(statement_texts(&run), query_texts(queries), "schema-change records");
    assert!(run.unknown.is_empty(), "queries the fake server could not answer: {:?}", run.unknown);
}

/// MySQL 8's compressed transactions (TRANSACTION_PAYLOAD, zstd) go through the whole pipeline:
/// an insert and an update, their images as the decoders read them (fixtures
/// `mysql-8.0.32_compressed-insert`, `mysql-8.0.28_compressed-update`).
#[test]
fn mysql_compressed_transactions_reach_kafka() {
    let _g = serial();
    let varchars = |n: usize| (1..=n).map(|i| format!("v{i} VARCHAR(1024)")).collect::<Vec<_>>().join(", ");
    let movies = format!(
        "CREATE TABLE movies (id INT, {}, year INT, {}) DEFAULT CHARSET=utf8mb4",
        varchars(1),
        varchars(8).replace("v", "w")
    );
    for (name, db, table) in [
        ("mysql-8.0.32_compressed-insert.000001", "test", "CREATE TABLE tb1 (a INT)".to_string()),
        ("mysql-8.0.28_compressed-update.mysql-bin.compressed", "demo", movies),
    ] {
        let expected = expected_of(name);
        let create_db = format!("CREATE DATABASE {db}");
        let run = run_fixture(
            name,
            "mysql-bin.000001",
            &[("", create_db.as_str()), (db, table.as_str())],
            None,
            0,
            &[("database.include.list", db)],
        );
        let sample = &expected["sample_row_events"][0];
        assert_eq!(sample["inside_transaction_payload"], true, "{name}: a compressed transaction");
        let topic = format!("{}.{}", run.setup.prefix, sample["table"].as_str().unwrap());
        let rows: Vec<Json> = run.records.iter().filter(|c| c.topic == topic).filter_map(payload).collect();
        assert_eq!(rows.len(), 1, "{name}: {rows:?}");
        let p = &rows[0];
        let row = &sample["rows"][0];
        match p["op"].as_str().unwrap() {
            "c" => assert_row(&image(p, "after").iter().collect::<Vec<_>>(), row, name),
            "u" => {
                assert_row(&image(p, "before").iter().collect::<Vec<_>>(), &row["before"], &format!("{name} before"));
                assert_row(&image(p, "after").iter().collect::<Vec<_>>(), &row["after"], &format!("{name} after"));
            }
            other => panic!("{name}: op {other}"),
        }
        assert!(run.unknown.is_empty(), "{name}: queries the fake server could not answer: {:?}", run.unknown);
    }
}

/// A tagged GTID (MySQL 8.4+, `uuid:tag:gno`; fixture `mysql-9.6.0_gtid-tagged`) is the change's
/// `source.gtid` and its transaction's id; the row as the decoders read it (DECIMAL as a string).
#[test]
fn mysql_tagged_gtids_name_their_transactions() {
    let _g = serial();
    let name = "mysql-9.6.0_gtid-tagged.000001";
    let expected = expected_of(name);
    let run = run_fixture(
        name,
        "mysql-bin.000001",
        &[("", "CREATE DATABASE test"), ("test", "CREATE TABLE orders (id INT, qty INT, amount DECIMAL(10,2))")],
        None,
        0,
        &[
            ("database.include.list", "test"),
            ("decimal.handling.mode", "string"),
            ("provide.transaction.metadata", "true"),
        ],
    );
    let sample = &expected["sample_row_events"][0];
    let topic = format!("{}.{}", run.setup.prefix, sample["table"].as_str().unwrap());
    let rows: Vec<Json> = run.records.iter().filter(|c| c.topic == topic).filter_map(payload).collect();
    assert_eq!(rows.len(), 1, "{rows:?}");
    let p = &rows[0];
    assert_row(&image(p, "after").iter().collect::<Vec<_>>(), &sample["rows"][0], "the inserted row");
    let gtid = p["source"]["gtid"].as_str().expect("source.gtid");
    let tagged =
        regex::Regex::new(r"^[0-9a-f]{8}(-[0-9a-f]{4}){3}-[0-9a-f]{12}:[a-z_][a-z0-9_]{0,31}:[1-9][0-9]*$").unwrap();
    assert!(tagged.is_match(gtid), "{gtid} is uuid:tag:gno");
    assert_eq!(p["transaction"]["id"].as_str(), Some(gtid), "transaction.id");
    assert!(run.unknown.is_empty(), "queries the fake server could not answer: {:?}", run.unknown);
}

/// A failover on MySQL: the stored offset names a binlog file the server does not have (another
/// server, other file names) but carries the completed GTIDs, so the connector resumes by GTID
/// (COM_BINLOG_DUMP_GTID) and reads exactly the transactions after them — here the four with
/// `a.b` changes are done, so only the statements and the `a.emoji` insert come (fixture
/// `mysql-5.7.40_gtid-utf8mb4`; GTIDs per the decoders, places per `mariadb-binlog`).
#[test]
fn mysql_resume_by_gtid_after_a_failover() {
    let _g = serial();
    let split = AfterB::new();
    let after = split.after();
    let run = run_fixture_with(
        FIXTURE,
        "mysql-bin.000080",
        &[("", "CREATE DATABASE a"), ("a", "CREATE TABLE b (id INT)")],
        Some(&split.completed()),
        split.queries().len(),
        &[("database.include.list", "a")],
        Resume {
            pos: Some(split.gtid_places[split.done as usize]),
            listed: Some("mysql-bin.000081"),
            rows: Some(after.iter().map(|e| e["row_count"].as_u64().unwrap()).sum()),
            ..Resume::default()
        },
    );
    split.assert_only_later_changes(&run, "after the failover");
    assert_eq!(statement_texts(&run), query_texts(split.queries()), "schema-change records");
    assert!(run.log.contains("GTID"), "the resume by GTID is logged: {}", run.log);
    // The last offset is the last change's, inside its transaction: the GTIDs completed before
    // it, on the new server's file.
    let last_pos = after.last().unwrap()["pos"].as_u64().unwrap();
    let last_tx = split.gtid_places.iter().filter(|&&g| g < last_pos).count() as u64;
    let count = split.expected["gtids"]["count"].as_u64().unwrap();
    assert_eq!(last_tx, count, "the last change is in the file's last transaction");
    let stored = run.setup.stored().expect("a committed offset");
    let want = format!("{}:1-{}", split.uuid, split.first_no + last_tx - 2);
    assert_eq!(stored.gtids.as_deref(), Some(want.as_str()), "{stored:?}");
    assert_eq!(stored.file, "mysql-bin.000081", "{stored:?}");
    assert!(run.unknown.is_empty(), "queries the fake server could not answer: {:?}", run.unknown);
}

/// `--binlog-pos <MySQL GTID set>`: the connector reads the schema from the server and asks for
/// the binlog after those GTIDs (COM_BINLOG_DUMP_GTID); it gets exactly the later transactions
/// (fixture `mysql-5.7.40_gtid-utf8mb4`: after the four with `a.b` changes, the statements and
/// the `a.emoji` insert), each with its GTID, and its offsets carry the completed set.
#[test]
fn mysql_start_at_a_gtid_set() {
    let _g = serial();
    let split = AfterB::new();
    let start = split.completed();
    let queries = split.queries();
    // The server's schema now: a.b (test input) and a.emoji as the file's statement made it.
    let emoji = queries.iter().map(|q| q["sql"].as_str().unwrap()).find(|q| q.contains("`emoji`")).unwrap();
    let run = run_fixture_with(
        FIXTURE,
        "mysql-bin.000080",
        &[],
        None,
        queries.len(),
        &[("database.include.list", "a")],
        Resume {
            rows: Some(split.after().iter().map(|e| e["row_count"].as_u64().unwrap()).sum()),
            binlog_pos: Some(&start),
            schemas: vec![(
                "a".into(),
                vec![
                    ("b".into(), "CREATE TABLE `b` (\n  `id` int(11) DEFAULT NULL\n) ENGINE=InnoDB".into()),
                    ("emoji".into(), emoji.into()),
                ],
            )],
            ..Resume::default()
        },
    );
    split.assert_only_later_changes(&run, "after the start");
    // The server's schema first (recorded at the start), then the file's statements.
    let texts = statement_texts(&run);
    let want = query_texts(queries);
    assert_eq!(texts[texts.len() - want.len()..], want[..], "schema-change records");
    let stored = run.setup.stored().expect("a committed offset");
    let gtids = stored.gtids.clone().expect("the offset carries the completed GTIDs");
    let set = cdc_connector::source::gtid::GtidSet::parse(&gtids).unwrap();
    assert!(set.contains(&cdc_connector::source::gtid::GtidSet::parse(&start).unwrap()), "{stored:?}");
    assert!(run.unknown.is_empty(), "queries the fake server could not answer: {:?}", run.unknown);
}

/// The GTID fixture split after its last `a.b` change: a resume or a start after the GTIDs
/// completed by then must read exactly the later transactions (the statements and the `a.emoji`
/// insert). GTIDs per the decoders, places per `mariadb-binlog`.
struct AfterB {
    expected: Json,
    uuid: String,
    first_no: u64,
    gtid_places: Vec<u64>,
    /// Position of the last `a.b` rows event.
    last_b: u64,
    /// How many transactions are done by the last `a.b` change (its own included).
    done: u64,
}

impl AfterB {
    fn new() -> AfterB {
        let expected = expected_of(FIXTURE);
        let (uuid, first_no) = first_gtid(&expected);
        let uuid = uuid.to_string();
        let gtid_places: Vec<u64> =
            mariadb_binlog_events(FIXTURE).iter().filter(|e| e.gtid_event).map(|e| e.pos).collect();
        let last_b = expected["sample_row_events"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|e| e["table"] == "a.b")
            .map(|e| e["pos"].as_u64().unwrap())
            .max()
            .unwrap();
        let done = gtid_places.iter().filter(|&&g| g < last_b).count() as u64;
        AfterB { expected, uuid, first_no, gtid_places, last_b, done }
    }

    /// The GTID set completed by the last `a.b` change.
    fn completed(&self) -> String {
        format!("{}:1-{}", self.uuid, self.first_no + self.done - 1)
    }

    /// The decoders' rows events after it.
    fn after(&self) -> Vec<&Json> {
        let samples = self.expected["sample_row_events"].as_array().unwrap();
        samples.iter().filter(|e| e["pos"].as_u64().unwrap() > self.last_b).collect()
    }

    fn queries(&self) -> &Vec<Json> {
        self.expected["queries"].as_array().unwrap()
    }

    /// `run` read only the row changes after it, each where and as the decoders saw it, with its
    /// transaction's GTID.
    fn assert_only_later_changes(&self, run: &Run, what: &str) {
        let prefix = &run.setup.prefix;
        let after = self.after();
        let data: Vec<Json> =
            run.records.iter().filter(|c| c.topic.starts_with(&format!("{prefix}.a."))).filter_map(payload).collect();
        assert_eq!(data.len(), after.len(), "{what}: only the changes after {}: {data:?}", self.completed());
        for (p, e) in data.iter().zip(&after) {
            let pos = e["pos"].as_u64().unwrap();
            assert_eq!(p["source"]["pos"].as_u64(), Some(pos), "{what}");
            assert_eq!(format!("a.{}", p["source"]["table"].as_str().unwrap()), e["table"].as_str().unwrap(), "{what}");
            assert_row(&image(p, "after").iter().collect::<Vec<_>>(), &e["rows"][0], what);
            let tx = self.gtid_places.iter().rposition(|&g| g < pos).unwrap() as u64;
            let gtid = format!("{}:{}", self.uuid, self.first_no + tx);
            assert_eq!(p["source"]["gtid"].as_str(), Some(gtid.as_str()), "{what}: source.gtid at {pos}");
        }
    }
}

/// The `ddl` of `run`'s schema-change records, in order.
fn statement_texts(run: &Run) -> Vec<Json> {
    run.records.iter().filter(|c| c.topic == run.setup.prefix).filter_map(payload).map(|d| d["ddl"].clone()).collect()
}

/// The `sql` of the decoders' statements of a fixture.
fn query_texts(queries: &[Json]) -> Vec<Json> {
    queries.iter().map(|q| q["sql"].clone()).collect()
}
