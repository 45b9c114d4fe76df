//! The initial snapshot against the real server: full parity with Debezium's golden `main` run
//! (snapshot + streaming), `snapshot.mode` behaviours, locking, table selection, SELECT overrides,
//! privileges, the parallel snapshot and the snapshot → stream hand-off.

use std::collections::HashMap;
use std::time::Duration;

use cdc_connector::offsets::SourceOffset;
use serde_json::Value as Json;

use crate::connector::{Running, Setup};
use crate::golden;
use crate::parity::wait_for_records;
use crate::services::{read_topics, serial, services, shared, unique, Consumed};

fn value(c: &Consumed) -> Option<Json> {
    c.value.as_ref().map(|v| serde_json::from_slice(v).expect("JSON value"))
}

/// The envelope, with or without the JsonConverter schema wrapper.
fn payload(v: &Json) -> &Json {
    v.get("payload").unwrap_or(v)
}

fn source_field<'a>(v: &'a Json, field: &str) -> &'a Json {
    payload(v).pointer(&format!("/source/{field}")).unwrap_or(&Json::Null)
}

/// Write records without the JsonConverter schemas (10x smaller: the broker is the bottleneck
/// here), in larger producer batches (tansu's fetch slows down with the number of batches in a
/// partition).
fn schemaless(setup: &Setup) {
    let worker =
        std::fs::read_to_string(setup.worker()).unwrap().replace("schemas.enable=true", "schemas.enable=false");
    std::fs::write(setup.worker(), worker + "producer.linger.ms=50\n").unwrap();
}

/// Wait until the stored offset says the snapshot is complete.
fn wait_snapshot_done(setup: &Setup, timeout: Duration) -> SourceOffset {
    let deadline = std::time::Instant::now() + timeout;
    loop {
        if let Some(o) = setup.stored().filter(|o| o.snapshot.is_none()) {
            return o;
        }
        assert!(std::time::Instant::now() < deadline, "snapshot not complete after {timeout:?}: {:?}", setup.stored());
        std::thread::sleep(Duration::from_millis(200));
    }
}

/// Full parity with the golden `main` run: seed, snapshot (`snapshot.mode=initial`), stream
/// workload; offsets in Connect's offsets topic and the history in a Kafka topic, as a distributed
/// Connect worker keeps them. Records, every committed offset and the history are compared.
#[test]
fn snapshot_and_stream_match_debezium_golden() {
    let _g = serial();
    let svc = services();
    svc.reset_with_seed();
    let prefix = unique("snapgold");
    let setup = Setup::new(&svc, &prefix, &[]);
    let (offsets_topic, history_topic) = (format!("{prefix}-offsets"), format!("{prefix}-history"));
    setup.use_offsets_topic(&offsets_topic);
    setup.use_kafka_history(&svc.kafka, &history_topic);
    let golden = golden::load("main");
    assert_eq!(golden.len(), 127);
    let recorder = crate::services::TopicRecorder::start(&svc.kafka, &offsets_topic);
    let ours = crate::parity::snapshot_then_stream(&svc, &setup, &prefix, &golden);
    let diffs = golden::compare(&golden, &ours, &prefix);
    assert!(diffs.is_empty(), "{} differences from Debezium's golden output:\n{}", diffs.len(), diffs.join("\n"));
    assert_eq!(ours.len(), golden.len(), "record count");

    // Every committed offset, in commit order (one key, so one partition of the offsets topic),
    // as written: read back later, tansu may have compacted the topic to the last one.
    let commits = recorder.finish();
    let key = format!(r#"["{}",{{"server":"{prefix}"}}]"#, setup.name);
    assert!(commits.iter().all(|c| c.key.as_deref() == Some(key.as_bytes())), "Connect's key {key}");
    let commits: Vec<SourceOffset> =
        commits.iter().map(|c| SourceOffset::from_json(c.value.as_deref().expect("offset value")).unwrap()).collect();
    let golden_commits = golden_committed();
    // During the snapshot: Debezium's first commit, `{ts_sec, file, pos, snapshot: INITIAL}`.
    let during: Vec<&SourceOffset> = commits.iter().filter(|o| o.snapshot.is_some()).collect();
    assert!(!during.is_empty(), "offsets committed during the snapshot: {commits:?}");
    for o in &during {
        assert_eq!(without_ts(o), without_ts(&golden_commits[0]), "snapshot offset");
        assert!(o.ts_sec.is_some());
    }
    let first_after = commits.iter().position(|o| o.snapshot.is_none()).expect("offsets after the snapshot");
    assert!(commits[first_after..].iter().all(|o| o.snapshot.is_none()), "snapshot offsets after the snapshot ended");
    // After it: the snapshot position without `snapshot` (Debezium's last snapshot record), then
    // streaming offsets of the golden's form.
    assert_eq!((commits[first_after].file.as_str(), commits[first_after].pos), ("mysql-bin.000001", 19119));
    for o in &commits[first_after..] {
        assert!(o.ts_sec.is_some() && o.file == "mysql-bin.000001", "{o:?}");
        assert!(o.gtids.is_none() && o.snapshot_completed.is_none(), "{o:?}");
    }
    // The last one names the same last row as Debezium's. Its `pos` is the start of that row's
    // transaction (MySQL semantics, kept on MariaDB: see DESIGN.md), where Debezium on MariaDB
    // stores the end of the rows event.
    let last = commits.last().unwrap();
    let golden_last = golden_commits.last().unwrap();
    assert_eq!(
        SourceOffset { pos: 0, ..without_ts(last) },
        SourceOffset { pos: 0, ..without_ts(golden_last) },
        "{last:?} vs {golden_last:?}"
    );
    assert!(last.pos < golden_last.pos && last.pos > 38_000, "{last:?}");

    // The history topic holds Debezium's history: the snapshot's statements at the snapshot
    // position, then the streamed DDL.
    let history = read_topics(&svc.kafka, &history_topic);
    let golden_history: Vec<Json> = crate::history::golden_history(&prefix)
        .lines()
        .map(|l| crate::history::normalize_history(serde_json::from_str(l).unwrap()))
        .collect();
    let history: Vec<Json> = history.iter().map(|r| crate::history::normalize_history(value(r).unwrap())).collect();
    assert_eq!(history.len(), golden_history.len(), "history record count");
    for (i, (o, g)) in history.iter().zip(&golden_history).enumerate() {
        assert_eq!(o.to_string(), g.to_string(), "history record {i}");
    }
}

/// `main.committed-offsets.jsonl` values.
fn golden_committed() -> Vec<SourceOffset> {
    let text = std::fs::read_to_string(shared().join("oracle/golden/main.committed-offsets.jsonl")).unwrap();
    text.lines()
        .map(|l| {
            let v: Json = serde_json::from_str(l).unwrap();
            SourceOffset::from_json(v["value"].to_string().as_bytes()).unwrap()
        })
        .collect()
}

/// Without `ts_sec`, and without the keys Debezium does not write on MariaDB: our MariaDB GTID
/// position (`mariadb_gtids`, `mariadb_gtid`; checked in `txmeta::…`).
fn without_ts(o: &SourceOffset) -> SourceOffset {
    let extra = o.extra.iter().filter(|(k, _)| !k.starts_with("mariadb_gtid")).cloned().collect();
    SourceOffset { ts_sec: None, extra, ..o.clone() }
}

/// Data records (value present) of `topic`, with their op and marker.
fn data(records: &[Consumed], topic: &str) -> Vec<Json> {
    records.iter().filter(|c| c.topic == topic).filter_map(value).collect()
}

fn ops(records: &[Json]) -> Vec<String> {
    records.iter().map(|v| payload(v)["op"].as_str().unwrap_or_default().to_string()).collect()
}

fn markers(records: &[Json]) -> Vec<String> {
    records.iter().map(|v| source_field(v, "snapshot").as_str().unwrap_or_default().to_string()).collect()
}

fn ids(records: &[Json]) -> Vec<i64> {
    records
        .iter()
        .map(|v| {
            let p = payload(v);
            let row = if p["after"].is_null() { &p["before"] } else { &p["after"] };
            row["id"].as_i64().expect("id")
        })
        .collect()
}

#[test]
fn never_streams_from_the_oldest_binlog() {
    let _g = serial();
    let svc = services();
    svc.reset_with_seed();
    let prefix = unique("snapnever");
    let setup = Setup::new(&svc, &prefix, &[("snapshot.mode", "never"), ("table.include.list", "inventory.customers")]);
    let running = setup.start("");
    let got = wait_for_records(&svc.kafka, &prefix, 4, Duration::from_secs(30));
    std::thread::sleep(Duration::from_secs(1));
    running.stop();
    let customers = data(&read_topics(&svc.kafka, &prefix), &format!("{prefix}.inventory.customers"));
    assert_eq!(ops(&customers), ["c", "c", "c", "c"], "{got:?}");
    assert_eq!(ids(&customers), [1001, 1002, 1003, 1004]);
    assert!(markers(&customers).iter().all(|m| m == "false"));
}

#[test]
fn no_data_snapshots_the_schema_then_streams() {
    let _g = serial();
    let svc = services();
    svc.reset_with_seed();
    let prefix = unique("snapnodata");
    let setup =
        Setup::new(&svc, &prefix, &[("snapshot.mode", "no_data"), ("table.include.list", "inventory.customers")]);
    let running = setup.start("");
    svc.sql("INSERT INTO inventory.customers VALUES (default, 'No', 'Data', 'nd@x.org');");
    let got = wait_for_records(&svc.kafka, &prefix, 7, Duration::from_secs(30));
    running.stop();
    let schema = data(&got, &prefix);
    let ddl: Vec<&str> = schema.iter().map(|v| payload(v)["ddl"].as_str().unwrap()).collect();
    assert_eq!(ddl.len(), 6, "{ddl:?}");
    assert!(ddl[5].starts_with("CREATE TABLE `customers`"), "{ddl:?}");
    assert!(ddl[0].starts_with("SET character_set_server="));
    assert_eq!(
        &ddl[1..4],
        [
            "DROP TABLE IF EXISTS `inventory`.`customers`",
            "DROP DATABASE IF EXISTS `inventory`",
            "CREATE DATABASE `inventory` CHARSET utf8mb4 COLLATE utf8mb4_general_ci"
        ]
    );
    // The last schema record of a snapshot without data rows is its `last` record (Debezium's
    // no_data snapshot does the same: oracle run `incsnap`, tests/it/incremental.rs).
    let m = markers(&schema);
    assert!(m[..m.len() - 1].iter().all(|m| m == "true") && m.last().map(String::as_str) == Some("last"), "{m:?}");
    let customers = data(&got, &format!("{prefix}.inventory.customers"));
    assert_eq!(ops(&customers), ["c"]);
}

#[test]
fn initial_only_stops_after_the_snapshot_and_does_not_repeat_it() {
    let _g = serial();
    let svc = services();
    svc.reset_with_seed();
    let prefix = unique("snaponly");
    let setup =
        Setup::new(&svc, &prefix, &[("snapshot.mode", "initial_only"), ("table.include.list", "inventory.customers")]);
    let (code, log) =
        Running::spawn_only(&setup.worker(), &setup.connector(), "", &[]).wait_exit(Duration::from_secs(60));
    assert_eq!(code, 0, "{log}");
    assert!(!log.contains("binlog stream started"), "{log}");
    let customers = data(&read_topics(&svc.kafka, &prefix), &format!("{prefix}.inventory.customers"));
    assert_eq!(ops(&customers), ["r", "r", "r", "r"]);
    assert_eq!(markers(&customers), ["first", "true", "true", "last"]);
    assert_eq!(setup.stored().expect("offset").snapshot, None);
    let (code, log) =
        Running::spawn_only(&setup.worker(), &setup.connector(), "", &[]).wait_exit(Duration::from_secs(60));
    assert_eq!(code, 0, "{log}");
    assert!(log.contains("nothing to do"), "{log}");
    assert_eq!(read_topics(&svc.kafka, &prefix).len(), 4 + 6, "no new records");
}

#[test]
fn always_snapshots_at_every_start_and_when_needed_when_the_binlog_is_gone() {
    let _g = serial();
    let svc = services();
    svc.reset_with_seed();
    let count_r = |prefix: &str| {
        ops(&data(&read_topics(&svc.kafka, prefix), &format!("{prefix}.inventory.customers")))
            .iter()
            .filter(|o| *o == "r")
            .count()
    };
    let prefix = unique("snapalways");
    let setup =
        Setup::new(&svc, &prefix, &[("snapshot.mode", "always"), ("table.include.list", "inventory.customers")]);
    setup.start("").stop();
    setup.start("").stop();
    assert_eq!(count_r(&prefix), 8, "two snapshots of four rows");

    let prefix = unique("snapneeded");
    let setup =
        Setup::new(&svc, &prefix, &[("snapshot.mode", "when_needed"), ("table.include.list", "inventory.customers")]);
    setup.start("").stop();
    setup.start("").stop();
    assert_eq!(count_r(&prefix), 4, "the second start resumes");
    // The stored binlog file is purged: when_needed takes a new snapshot by itself.
    svc.sql("FLUSH BINARY LOGS; PURGE BINARY LOGS TO 'mysql-bin.000002';");
    let mut running = setup.start("");
    running.wait_for_log("takes a new snapshot", Duration::from_secs(10));
    running.stop();
    assert_eq!(count_r(&prefix), 8, "a new snapshot after the purge");
}

/// `snapshot.mode=recovery` rebuilds the history at a stored offset; without one there is nothing
/// to recover and the error says how to start.
#[test]
fn recovery_mode_without_an_offset_says_how_to_start() {
    let _g = serial();
    let svc = services();
    let setup = Setup::new(&svc, &unique("snaprecov"), &[("snapshot.mode", "recovery")]);
    let (code, log) =
        Running::spawn_only(&setup.worker(), &setup.connector(), "", &[]).wait_exit(Duration::from_secs(30));
    assert_ne!(code, 0, "{log}");
    assert!(log.contains("snapshot.mode=recovery") && log.contains("snapshot.mode=initial"), "{log}");
}

#[test]
fn unlocked_snapshot_of_included_collections_with_a_select_override() {
    let _g = serial();
    let svc = services();
    svc.reset_with_seed();
    let prefix = unique("snapnone");
    let setup = Setup::new(
        &svc,
        &prefix,
        &[
            ("snapshot.locking.mode", "none"),
            ("table.include.list", "inventory.customers,inventory.products"),
            ("snapshot.include.collection.list", "inventory.customers"),
            ("snapshot.select.statement.overrides", "inventory.customers"),
            (
                "snapshot.select.statement.overrides.inventory.customers",
                "SELECT id, email, first_name, last_name FROM inventory.customers WHERE id > 1002 ORDER BY id",
            ),
        ],
    );
    let mut running = setup.start("");
    assert!(!running.lines.iter().any(|l| l.contains("lock released")), "no lock taken");
    svc.sql("UPDATE inventory.products SET weight = 1 WHERE id = 101;");
    // the schema and snapshot records alone can reach the count: wait for the update itself
    wait_for_records(&svc.kafka, &format!("{prefix}.inventory.products"), 1, Duration::from_secs(30));
    let got = wait_for_records(&svc.kafka, &prefix, 10, Duration::from_secs(30));
    running.wait_for_log("snapshot complete", Duration::from_secs(1));
    running.stop();
    let schema = data(&got, &prefix);
    let tables: Vec<&str> = schema.iter().filter_map(|v| source_field(v, "table").as_str()).collect();
    assert_eq!(tables, ["customers", "products", "customers", "products"], "DROP and CREATE of both captured tables");
    let customers = data(&got, &format!("{prefix}.inventory.customers"));
    assert_eq!(ids(&customers), [1003, 1004]);
    assert_eq!(markers(&customers), ["first", "last"]);
    // The override's column order does not matter: values land in their columns.
    assert_eq!(customers[0]["payload"]["after"]["first_name"], "Edward");
    let products = data(&got, &format!("{prefix}.inventory.products"));
    assert_eq!(ops(&products), ["u"], "products is captured but not snapshotted");
}

#[test]
fn missing_lock_privileges_are_named_and_table_locks_are_used_without_reload() {
    let _g = serial();
    let svc = services();
    svc.reset_with_seed();
    svc.sql(
        "DROP USER IF EXISTS 'nolock'@'%'; CREATE USER 'nolock'@'%' IDENTIFIED BY 'pw';
         GRANT SELECT, SHOW DATABASES, REPLICATION SLAVE, REPLICATION CLIENT ON *.* TO 'nolock'@'%';",
    );
    let cfg = [("database.user", "nolock"), ("database.password", "pw"), ("table.include.list", "inventory.orders")];
    let setup = Setup::new(&svc, &unique("snapnolock"), &cfg);
    let (code, log) =
        Running::spawn_only(&setup.worker(), &setup.connector(), "", &[]).wait_exit(Duration::from_secs(30));
    assert_ne!(code, 0, "{log}");
    for needle in ["RELOAD", "LOCK TABLES", "snapshot.locking.mode=none", "nolock"] {
        assert!(log.contains(needle), "missing {needle:?} in:\n{log}");
    }
    // With LOCK TABLES (but still no RELOAD) the snapshot locks the captured tables instead.
    svc.sql("GRANT LOCK TABLES ON *.* TO 'nolock'@'%';");
    let prefix = unique("snaptablelock");
    let setup = Setup::new(&svc, &prefix, &cfg);
    let mut running = setup.start("");
    running.wait_for_log("using table read locks", Duration::from_secs(1));
    running.wait_for_log("snapshot complete", Duration::from_secs(1));
    running.stop();
    let orders = data(&read_topics(&svc.kafka, &prefix), &format!("{prefix}.inventory.orders"));
    assert_eq!(markers(&orders), ["first", "true", "true", "last"]);
}

/// A table big enough for several chunks, a composite-key table and one without a key.
fn create_bulk_tables(svc: &crate::services::Services, rows: u64) {
    svc.sql(&format!(
        "DROP DATABASE IF EXISTS snapbulk; CREATE DATABASE snapbulk; USE snapbulk;
         CREATE TABLE big (id BIGINT NOT NULL PRIMARY KEY, a INT NOT NULL, name VARCHAR(64) NOT NULL, score DOUBLE,
                           created DATETIME(3) NOT NULL);
         INSERT INTO big SELECT seq, seq % 1000, CONCAT('row-', seq), seq / 7, '2024-01-01 00:00:00' + INTERVAL seq SECOND
           FROM seq_1_to_{rows};
         CREATE TABLE comp (a INT NOT NULL, b VARCHAR(10) NOT NULL, v INT, PRIMARY KEY (a, b));
         INSERT INTO comp SELECT seq DIV 3, CONCAT('k', seq % 3), seq FROM seq_1_to_3000;
         CREATE TABLE nokey (x INT, y VARCHAR(10));
         INSERT INTO nokey SELECT seq, 'y' FROM seq_1_to_500;
         ANALYZE TABLE big, comp, nokey;"
    ));
}

/// Snapshot records of one topic: normalised after-images (ts fields blanked) → count.
fn image_counts(records: &[Json]) -> HashMap<String, usize> {
    let mut m = HashMap::new();
    for v in records.iter().filter(|v| payload(v)["op"] == "r") {
        *m.entry(golden::normalize_ts(&payload(v)["after"].to_string())).or_default() += 1;
    }
    m
}

#[test]
fn parallel_snapshot_equals_single_threaded_and_hands_off_without_gap_or_overlap() {
    let _g = serial();
    let svc = services();
    svc.reset_with_seed();
    create_bulk_tables(&svc, 4_500);
    let include = ("database.include.list", "snapbulk");

    let single = unique("snapone");
    let setup = Setup::new(&svc, &single, &[include]);
    schemaless(&setup);
    let running = setup.start("");
    wait_snapshot_done(&setup, Duration::from_secs(120));
    running.stop();
    let one = read_topics(&svc.kafka, &single);

    let parallel = unique("snapfour");
    let setup = Setup::new(&svc, &parallel, &[include, ("snapshot.max.threads", "4")]);
    schemaless(&setup);
    // Inserts before, during and after the snapshot.
    let writer = {
        let svc = services();
        std::thread::spawn(move || {
            for id in 4_501..=4_600 {
                svc.sql(&format!("INSERT INTO snapbulk.big VALUES ({id}, 1, 'late', NULL, '2024-01-01')"));
            }
        })
    };
    let running = Running::spawn(&setup.worker(), &setup.connector(), "", &[]);
    wait_snapshot_done(&setup, Duration::from_secs(120));
    writer.join().expect("writer");
    let four = wait_for_records(&svc.kafka, &parallel, one.len() + 100, Duration::from_secs(60));
    std::thread::sleep(Duration::from_secs(1));
    running.stop();
    let four = if four.len() >= one.len() + 100 { read_topics(&svc.kafka, &parallel) } else { four };

    for table in ["big", "comp", "nokey"] {
        let a = data(&one, &format!("{single}.snapbulk.{table}"));
        let b = data(&four, &format!("{parallel}.snapbulk.{table}"));
        let mut b_snapshot: Vec<Json> = b.iter().filter(|v| payload(v)["op"] == "r").cloned().collect();
        if table == "big" {
            b_snapshot.retain(|v| payload(v)["after"]["id"].as_i64().unwrap() <= 4_500);
        }
        assert_eq!(image_counts(&a), image_counts(&b_snapshot), "snapbulk.{table}: the same rows");
        // Markers: one first-of-table, one last-of-table, in that order around the table's records.
        let m = markers(&b.iter().filter(|v| payload(v)["op"] == "r").cloned().collect::<Vec<_>>());
        let firsts = m.iter().filter(|x| x.starts_with("first")).count();
        let lasts = m.iter().filter(|x| x.starts_with("last")).count();
        assert_eq!((firsts, lasts), (1, 1), "snapbulk.{table} markers");
        assert!(m[0].starts_with("first") && m[m.len() - 1].starts_with("last"), "snapbulk.{table}: {:?}", &m[..3]);
    }
    let all: Vec<Json> = four.iter().filter(|c| c.topic != parallel).filter_map(value).collect();
    assert_eq!(markers(&all).iter().filter(|m| *m == "last").count(), 1, "one record marked last");

    // Within each 2048-key chunk of `big` (4.5k rows, 4 readers: the minimum chunk) the records are in key order.
    let big = data(&four, &format!("{parallel}.snapbulk.big"));
    let snap_ids: Vec<i64> = ids(&big.iter().filter(|v| payload(v)["op"] == "r").cloned().collect::<Vec<_>>());
    let mut by_chunk: HashMap<i64, Vec<i64>> = HashMap::new();
    for id in snap_ids.iter().filter(|id| **id <= 4_500) {
        by_chunk.entry((id - 1) / 2048).or_default().push(*id);
    }
    assert!(by_chunk.len() >= 3, "several chunks");
    for (chunk, ids) in &by_chunk {
        assert!(ids.windows(2).all(|w| w[0] < w[1]), "chunk {chunk} out of key order");
    }
    let interleaved = snap_ids.windows(2).filter(|w| w[1] < w[0]).count();
    eprintln!("parallel snapshot: {} chunks of big, {interleaved} switches between chunks", by_chunk.len());

    // Every row inserted around the snapshot appears exactly once: in the snapshot or in the stream.
    let mut seen: HashMap<i64, Vec<String>> = HashMap::new();
    for v in &big {
        let id = payload(v)["after"]["id"].as_i64().unwrap();
        if id > 4_500 {
            seen.entry(id).or_default().push(payload(v)["op"].as_str().unwrap().to_string());
        }
    }
    let missing: Vec<i64> = (4_501..=4_600).filter(|id| !seen.contains_key(id)).collect();
    let twice: Vec<_> = seen.iter().filter(|(_, ops)| ops.len() != 1).collect();
    assert!(missing.is_empty() && twice.is_empty(), "missing {missing:?}, more than once {twice:?}");
    let in_snapshot = seen.values().filter(|ops| ops[0] == "r").count();
    eprintln!("hand-off: {in_snapshot} of 100 concurrent inserts in the snapshot, the rest streamed");
}

#[test]
fn an_interrupted_snapshot_is_taken_again() {
    let _g = serial();
    let svc = services();
    svc.reset_with_seed();
    create_bulk_tables(&svc, 20_000);
    let prefix = unique("snapkill");
    let setup = Setup::new(&svc, &prefix, &[("database.include.list", "snapbulk")]);
    schemaless(&setup);
    let mut running = Running::spawn_only(&setup.worker(), &setup.connector(), "", &[]);
    running.wait_for_log("snapshot lock released", Duration::from_secs(30));
    // Wait for a committed offset from inside the snapshot, then kill.
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    let during = loop {
        if let Some(o) = setup.stored().filter(|o| o.snapshot.is_some()) {
            break o;
        }
        assert!(std::time::Instant::now() < deadline, "no offset committed during the snapshot");
        std::thread::sleep(Duration::from_millis(20));
    };
    running.kill9();
    assert_eq!(during.snapshot.as_deref(), Some("INITIAL"));
    assert_eq!((during.row, during.server_id, during.event), (None, None, None), "{during:?}");
    assert!(String::from_utf8(during.to_json()).unwrap().contains(r#""snapshot":"INITIAL""#));
    // The restart takes the snapshot again (with --binlog-pos resume too) and completes it.
    let mut running = Running::spawn_only(&setup.worker(), &setup.connector(), "resume", &[]);
    let done = wait_snapshot_done(&setup, Duration::from_secs(300));
    running.wait_for_log("snapshot complete", Duration::from_secs(10));
    assert!(running.lines.iter().any(|l| l.contains("snapshot lock released")), "the snapshot was taken again");
    running.stop();
    assert_eq!((done.file.as_str(), done.pos), (during.file.as_str(), during.pos));
}

/// Peak RSS (kB) of a running process.
fn peak_rss_kb(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).expect("proc status");
    let line = status.lines().find(|l| l.starts_with("VmHWM:")).expect("VmHWM");
    line.split_whitespace().nth(1).and_then(|n| n.parse().ok()).expect("number")
}

/// Snapshot `rows` rows with `threads` readers; returns (rows/s, peak RSS kB).
fn measure_snapshot(svc: &crate::services::Services, rows: u64, threads: &str) -> (f64, u64) {
    create_bulk_tables(svc, rows);
    let prefix = unique("snapmem");
    let setup = Setup::new(
        svc,
        &prefix,
        &[
            ("database.include.list", "snapbulk"),
            ("table.include.list", "snapbulk.big"),
            ("snapshot.max.threads", threads),
        ],
    );
    schemaless(&setup);
    let start = std::time::Instant::now();
    let mut running = Running::spawn_only(&setup.worker(), &setup.connector(), "", &[]);
    wait_snapshot_done(&setup, Duration::from_secs(600));
    let secs = start.elapsed().as_secs_f64();
    running.wait_for_log("snapshot data read", Duration::from_secs(10));
    let read = running.lines.iter().find(|l| l.contains("snapshot data read")).expect("progress line");
    assert!(read.contains(&format!("rows={rows} ")), "the snapshot read every row of snapbulk.big: {read}");
    let rss = peak_rss_kb(running.child.id());
    running.stop();
    (rows as f64 / secs, rss)
}

#[test]
fn snapshot_memory_stays_flat_as_rows_grow() {
    let _g = serial();
    let svc = services();
    svc.reset_with_seed();
    let (rate_small, rss_small) = measure_snapshot(&svc, 20_000, "1");
    let (rate_large, rss_large) = measure_snapshot(&svc, 100_000, "1");
    eprintln!(
        "snapshot memory: 20k rows {rss_small} kB peak ({rate_small:.0} rows/s), 100k rows {rss_large} kB peak ({rate_large:.0} rows/s)"
    );
    // Five times the rows may not cost more than a little more memory (buffers, Kafka queue).
    assert!(rss_large < rss_small + 48 * 1024, "peak RSS grew with rows: {rss_small} kB → {rss_large} kB");
}

/// `database.initial.statements` run on every connection that reads (the snapshot's control and
/// reader connections here), never on the binlog dump's, with `;;` standing for a `;` inside a
/// statement; a statement the server refuses stops the snapshot with an error naming the
/// property and the statement's number (and the server's reason).
#[test]
fn initial_statements_run_on_query_connections_only() {
    let _g = serial();
    let svc = services();
    svc.sql(
        "DROP DATABASE IF EXISTS initst; CREATE DATABASE initst;
         CREATE TABLE initst.audit (conn BIGINT, note VARCHAR(10));
         CREATE TABLE initst.t (id INT PRIMARY KEY);
         INSERT INTO initst.t VALUES (1), (2);
         GRANT INSERT ON initst.audit TO 'debezium'@'%';
         GRANT INSERT ON initst.audit TO 'debezium'@'localhost';",
    );
    let prefix = unique("initst");
    let statements = "SET SESSION wait_timeout = 600;INSERT INTO initst.audit VALUES (CONNECTION_ID(), 'a;;b')";
    let setup = Setup::new(
        &svc,
        &prefix,
        &[
            ("database.include.list", "initst"),
            ("table.include.list", "initst.t"),
            ("snapshot.max.threads", "2"),
            ("database.initial.statements", statements),
        ],
    );
    let mut running = setup.start("");
    running.wait_for_log("binlog stream started", Duration::from_secs(60));
    wait_snapshot_done(&setup, Duration::from_secs(30));
    let rows = data(&read_topics(&svc.kafka, &prefix), &format!("{prefix}.initst.t"));
    assert_eq!(ids(&rows), [1, 2]);
    let dump: Vec<String> = svc
        .query_rows("SELECT ID FROM information_schema.PROCESSLIST WHERE COMMAND LIKE 'Binlog Dump%'")
        .into_iter()
        .map(|r| r[0].clone())
        .collect();
    running.stop();
    let audit = svc.query_rows("SELECT conn, note FROM initst.audit");
    // The control connection and two readers.
    assert_eq!(audit.len(), 3, "{audit:?}");
    assert!(audit.iter().all(|r| r[1] == "a;b"), "{audit:?}");
    assert!(!dump.is_empty(), "the connector's binlog dump was running");
    assert!(audit.iter().all(|r| !dump.contains(&r[0])), "the binlog dump {dump:?} ran them: {audit:?}");

    let failing = unique("initst_bad");
    let bad = Setup::new(
        &svc,
        &failing,
        &[
            ("table.include.list", "initst.t"),
            ("database.initial.statements", "SET SESSION wait_timeout = 600;SELEC 1"),
        ],
    );
    let (code, log) = Running::spawn_only(&bad.worker(), &bad.connector(), "", &[]).wait_exit(Duration::from_secs(60));
    assert_ne!(code, 0, "{log}");
    assert!(log.contains("statement 2 of 2 in database.initial.statements failed"), "{log}");
}
