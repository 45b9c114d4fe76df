//! Crash safety: SIGKILL the connector in the middle of the stream workload, restart it with
//! `--binlog-pos resume`; every golden record ends up in Kafka, none is lost, and every duplicate
//! is a record after the last offset the killed process flushed.
//!
//! The connector keeps a schema history file. It is killed early in the first part of
//! `20-stream.sql` (sections 1-10, with the ALTER TABLE statements), which finishes while it is
//! down, so the restarted connector must decode the rows written before each ALTER with the
//! schema the history gives for them (the server already has the new one).

use std::collections::HashMap;
use std::time::Duration;

use cdc_connector::offsets::file::FileOffsetStore;

use crate::connector::Setup;
use crate::golden::{self, normalize_ts};
use crate::parity::{streaming_golden, wait_for_records};
use crate::services::{read_topics, serial, services, shared, unique};

#[test]
fn sigkill_then_resume_loses_nothing() {
    let _g = serial();
    let svc = services();
    svc.reset_with_seed();
    let prefix = unique("resume");
    let setup = Setup::new(&svc, &prefix, &[]);
    setup.use_file_history();
    // Offsets lag behind delivered records, so the restart re-delivers some of them.
    setup.set_offset_flush_interval(1500);
    let stream = std::fs::read_to_string(shared().join("oracle/sql/20-stream.sql")).unwrap();
    let split = stream.find("-- 11.").expect("section 11 of the stream workload");
    // Section 11 runs in the database section 9 chose.
    let (part1, part2) = (stream[..split].to_string(), format!("USE inventory;\n{}", &stream[split..]));

    let running = setup.start("latest");
    let sql = {
        let svc = services();
        std::thread::spawn(move || svc.sql(&part1))
    };
    // Kill once some, but not all, of the first part has reached Kafka.
    let seen = wait_for_records(&svc.kafka, &prefix, 12, Duration::from_secs(60));
    assert!(seen.len() >= 12, "connector produced only {} records", seen.len());
    running.kill9();
    let killed_with = read_topics(&svc.kafka, &prefix).len();
    let flushed = FileOffsetStore::open(setup.offsets())
        .expect("offsets file readable")
        .get(&setup.name, &prefix)
        .expect("offsets decodable");
    sql.join().expect("first part of the workload");

    let running = setup.start("resume");
    svc.sql(&part2);
    let golden = streaming_golden();
    let ours = wait_for_records(&svc.kafka, &prefix, golden.len(), Duration::from_secs(60));
    std::thread::sleep(Duration::from_secs(2));
    running.stop();
    let ours = if ours.len() >= golden.len() { read_topics(&svc.kafka, &prefix) } else { ours };

    // Multiset comparison on normalised (topic, key, value).
    let norm = |t: &str, k: Option<&str>, v: Option<&str>| {
        let n = |s: &str| normalize_ts(&golden::mariadb_gtid_as_debezium(s));
        (t.to_string(), k.map(n), v.map(n))
    };
    let sub = |s: &str| s.replace("dbserver1", &prefix);
    let mut want: HashMap<_, usize> = HashMap::new();
    for g in &golden {
        *want
            .entry(norm(&sub(&g.topic), g.key.as_deref().map(sub).as_deref(), g.value.as_deref().map(sub).as_deref()))
            .or_default() += 1;
    }
    let mut got: HashMap<_, Vec<usize>> = HashMap::new();
    for (i, c) in ours.iter().enumerate() {
        let k = c.key.as_ref().map(|b| String::from_utf8_lossy(b).into_owned());
        let v = c.value.as_ref().map(|b| String::from_utf8_lossy(b).into_owned());
        got.entry(norm(&c.topic, k.as_deref(), v.as_deref())).or_default().push(i);
    }
    let mut missing = Vec::new();
    let mut duplicates = 0;
    for (rec, n) in &want {
        let have = got.get(rec).map(|v| v.len()).unwrap_or(0);
        if have < *n {
            missing.push(format!("{rec:?}"));
        }
        if have > *n {
            duplicates += have - n;
            // A duplicate must come from after the last flushed offset.
            if let (Some(off), Some(v)) = (&flushed, &rec.2) {
                let pos = source_pos(v);
                assert!(
                    pos.is_none_or(|p| p >= off.pos),
                    "record at binlog pos {pos:?} was delivered twice although the flushed offset {off:?} covered it"
                );
            }
        }
    }
    assert!(missing.is_empty(), "{} golden records missing after resume:\n{}", missing.len(), missing.join("\n"));
    let extra: Vec<_> = got.keys().filter(|k| !want.contains_key(*k)).collect();
    assert!(extra.is_empty(), "records that are not in the golden output: {extra:?}");
    eprintln!(
        "resume: {killed_with} records before SIGKILL, flushed offset {flushed:?}, {duplicates} duplicate(s) after restart"
    );
    let _ = golden::load; // keep the module's loader linked for other tests
}

fn source_pos(value: &str) -> Option<u64> {
    let v: serde_json::Value = serde_json::from_str(value).ok()?;
    v.pointer("/payload/source/pos")?.as_u64()
}
