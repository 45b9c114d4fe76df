//! Crash safety across snapshot and streaming: the connector is SIGKILLed at seeded random
//! moments (`CRASH_SEED` picks another sequence; the seed is printed) and restarted with
//! `--binlog-pos resume` each time (or without `--binlog-pos` while nothing is stored yet).
//!
//! Phase 1 kills it four times while it snapshots a 2,000-row table, then lets a snapshot complete
//! and kills it soon after; phase 2 kills it while a writer inserts, updates and deletes rows (22
//! kills in all). Afterwards:
//! - nothing is lost: every seed row has an `r` record and every change the writer made has its
//!   record (op, key and after-image);
//! - every duplicate comes from after the offset the killed run had committed: a run's records
//!   that an earlier run had already delivered are snapshot records of a snapshot the committed
//!   offset did not mark complete, or changes at or after the committed binlog position.
//!
//! Runs are told apart by the `__debezium.context.runId` header, a UUIDv7 whose millisecond
//! timestamp falls after the start of the run that produced it.

use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use cdc_connector::offsets::SourceOffset;
use serde_json::Value as Json;

use crate::connector::{Running, Setup};
use crate::golden::normalize_ts;
use crate::services::{read_topics, serial, services, unique, Consumed};

const SEED_ROWS: u64 = 2_000;

/// xorshift64*: a reproducible sequence without a dependency.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    fn between(&mut self, lo: u64, hi: u64) -> u64 {
        lo + self.next() % (hi - lo)
    }
}

fn now_ms() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_millis() as u64
}

/// A change the writer made: (op, id, note after it; None for a delete).
type Change = (&'static str, u64, Option<String>);

/// Insert, update and delete rows of `crash.items` until `stop`, one statement per transaction.
fn writer(stop: Arc<AtomicBool>, done: Arc<Mutex<Vec<Change>>>) {
    let svc = services();
    let mut k = 0u64;
    while !stop.load(Ordering::Relaxed) {
        let id = 100_000 + k;
        svc.sql(&format!("INSERT INTO crash.items VALUES ({id}, 'i{k}')"));
        done.lock().unwrap().push(("c", id, Some(format!("i{k}"))));
        if k.is_multiple_of(3) {
            let target = (k * 7919) % SEED_ROWS + 1;
            svc.sql(&format!("UPDATE crash.items SET note = 'u{k}' WHERE id = {target}"));
            done.lock().unwrap().push(("u", target, Some(format!("u{k}"))));
        }
        if k.is_multiple_of(5) && k >= 10 {
            let gone = id - 10;
            svc.sql(&format!("DELETE FROM crash.items WHERE id = {gone}"));
            done.lock().unwrap().push(("d", gone, None));
        }
        k += 1;
        std::thread::sleep(Duration::from_millis(5));
    }
}

/// One run of the connector: when it started and the offset it had committed when killed.
struct Run {
    started_ms: u64,
    committed_before: Option<SourceOffset>,
}

fn header<'a>(c: &'a Consumed, name: &str) -> Option<&'a [u8]> {
    c.headers.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_slice())
}

/// Milliseconds of a UUIDv7 in text form.
fn uuid_v7_ms(id: &[u8]) -> u64 {
    let hex: String = String::from_utf8_lossy(id).chars().filter(|c| *c != '-').take(12).collect();
    u64::from_str_radix(&hex, 16).expect("UUIDv7 run id")
}

#[test]
fn sigkill_at_random_moments_across_snapshot_and_streaming_loses_nothing() {
    let _g = serial();
    let svc = services();
    svc.reset_with_seed();
    let seed: u64 = std::env::var("CRASH_SEED").ok().and_then(|s| s.parse().ok()).unwrap_or(20_261_126);
    eprintln!("crash test seed: {seed} (set CRASH_SEED to replay another sequence)");
    let mut rng = Rng(seed | 1);
    svc.sql(&format!(
        "DROP DATABASE IF EXISTS crash; CREATE DATABASE crash;
         CREATE TABLE crash.items (id BIGINT NOT NULL PRIMARY KEY, note VARCHAR(32) NOT NULL);
         USE crash; INSERT INTO crash.items SELECT seq, CONCAT('s', seq) FROM seq_1_to_{SEED_ROWS};"
    ));
    let prefix = unique("crash");
    let setup = Setup::new(&svc, &prefix, &[("database.include.list", "crash"), ("table.include.list", "crash.items")]);
    setup.use_file_history();
    setup.set_offset_flush_interval(300);
    let worker =
        std::fs::read_to_string(setup.worker()).unwrap().replace("schemas.enable=true", "schemas.enable=false");
    std::fs::write(setup.worker(), worker).unwrap();

    let mut runs: Vec<Run> = Vec::new();
    let start = |runs: &mut Vec<Run>| {
        let committed_before = setup.stored();
        runs.push(Run { started_ms: now_ms(), committed_before: committed_before.clone() });
        let pos = if committed_before.is_some() { "resume" } else { "" };
        Running::spawn_only(&setup.worker(), &setup.connector(), pos, &[])
    };
    let snapshot_done = |setup: &Setup| setup.stored().is_some_and(|o| o.snapshot.is_none());

    // Phase 1: four kills while the snapshot runs (each restart takes it again), then a run that
    // completes it and is killed soon after.
    let mut kills = 0;
    let mut snapshot_kills = 0;
    for _ in 0..4 {
        let running = start(&mut runs);
        std::thread::sleep(Duration::from_millis(rng.between(100, 700)));
        running.kill9();
        kills += 1;
        if !snapshot_done(&setup) {
            snapshot_kills += 1;
        }
    }
    let running = start(&mut runs);
    let deadline = Instant::now() + Duration::from_secs(180);
    while !snapshot_done(&setup) {
        assert!(Instant::now() < deadline, "the snapshot did not complete in 180 s");
        std::thread::sleep(Duration::from_millis(10));
    }
    std::thread::sleep(Duration::from_millis(rng.between(0, 500)));
    running.kill9();
    kills += 1;

    // Phase 2: kills while the writer changes rows.
    let stop = Arc::new(AtomicBool::new(false));
    let done = Arc::new(Mutex::new(Vec::new()));
    let w = {
        let (stop, done) = (stop.clone(), done.clone());
        std::thread::spawn(move || writer(stop, done))
    };
    while kills < 22 {
        let running = start(&mut runs);
        std::thread::sleep(Duration::from_millis(rng.between(200, 2_000)));
        running.kill9();
        kills += 1;
    }
    stop.store(true, Ordering::Relaxed);
    w.join().expect("writer");
    let changes = done.lock().unwrap().clone();
    // The last run catches up: until its committed offset has not moved for 3 s.
    let running = start(&mut runs);
    let deadline = Instant::now() + Duration::from_secs(180);
    let (mut last, mut since) = (setup.stored(), Instant::now());
    while since.elapsed() < Duration::from_secs(3) {
        assert!(Instant::now() < deadline, "the last run did not catch up in 180 s");
        std::thread::sleep(Duration::from_millis(100));
        let now = setup.stored();
        if now != last {
            (last, since) = (now, Instant::now());
        }
    }
    running.stop();
    let records = read_topics(&svc.kafka, &prefix);
    let topic = format!("{prefix}.crash.items");
    let data: Vec<(&Consumed, Json)> = records
        .iter()
        .filter(|c| c.topic == topic)
        .filter_map(|c| c.value.as_ref().map(|v| (c, serde_json::from_slice(v).expect("JSON value"))))
        .collect();
    eprintln!(
        "crash: {kills} kills ({snapshot_kills} during the snapshot), {} runs, {} writer changes, {} records",
        runs.len(),
        changes.len(),
        data.len()
    );
    assert!(snapshot_kills >= 1, "seed {seed}: no kill fell into the snapshot");

    // Nothing lost.
    let mut seen: HashSet<(String, u64, Option<String>)> = HashSet::new();
    for (_, v) in &data {
        let op = v["op"].as_str().unwrap().to_string();
        let image = if op == "d" { &v["before"] } else { &v["after"] };
        let id = image["id"].as_u64().unwrap();
        let note = (op != "d").then(|| v["after"]["note"].as_str().unwrap().to_string());
        seen.insert((op, id, note));
    }
    let missing_seed: Vec<u64> =
        (1..=SEED_ROWS).filter(|id| !seen.contains(&("r".into(), *id, Some(format!("s{id}"))))).collect();
    assert!(
        missing_seed.is_empty(),
        "seed {seed}: snapshot rows missing: {:?}",
        &missing_seed[..missing_seed.len().min(20)]
    );
    let missing: Vec<&Change> =
        changes.iter().filter(|(op, id, note)| !seen.contains(&(op.to_string(), *id, note.clone()))).collect();
    assert!(
        missing.is_empty(),
        "seed {seed}: {} changes lost, e.g. {:?}",
        missing.len(),
        &missing[..missing.len().min(20)]
    );

    // Every duplicate comes from after the offset committed before its run started.
    let run_of = |c: &Consumed| {
        let ms = uuid_v7_ms(header(c, "__debezium.context.runId").expect("runId header"));
        runs.iter().rposition(|r| r.started_ms <= ms + 5).expect("a run started before the record's run id")
    };
    let mut first_run: HashMap<String, usize> = HashMap::new();
    let mut duplicates = 0;
    for (c, v) in &data {
        let run = run_of(c);
        let identity = normalize_ts(&v.to_string());
        match first_run.get(&identity) {
            None => {
                first_run.insert(identity, run);
            }
            Some(first) if *first == run => panic!("seed {seed}: run {run} delivered a record twice: {v}"),
            Some(_) => {
                duplicates += 1;
                let committed = &runs[run].committed_before;
                let source = &v["source"];
                let ok = match committed {
                    None => true,
                    Some(o) if o.snapshot.is_some() => true,
                    Some(o) => {
                        v["op"] != "r"
                            && (source["file"].as_str().unwrap(), source["pos"].as_u64().unwrap())
                                >= (o.file.as_str(), o.pos)
                    }
                };
                assert!(ok, "seed {seed}: run {run} re-delivered a record its start offset {committed:?} covered: {v}");
            }
        }
    }
    eprintln!("crash: {duplicates} duplicate records, all after the committed offset of their run");
}
