//! The initial snapshot against the real server: full parity with Debezium's golden `main` run
//! (snapshot + streaming), `snapshot.mode` behaviours, locking, table selection, SELECT overrides,
//! privileges, the parallel snapshot and the snapshot → stream hand-off.

use std::collections::HashMap;
use std::time::Duration;

use cdc_connector::offsets::file::FileOffsetStore;
use cdc_connector::offsets::SourceOffset;
use serde_json::Value as Json;

use crate::connector::{Running, Setup};
use crate::golden;
use crate::parity::wait_for_records;
use crate::services::{read_topics, serial, services, shared, unique, Consumed};

fn stored(setup: &Setup) -> Option<SourceOffset> {
    FileOffsetStore::open(setup.offsets()).expect("offsets file").get(&setup.name, &setup.prefix).expect("offset")
}

fn value(c: &Consumed) -> Option<Json> {
    c.value.as_ref().map(|v| serde_json::from_slice(v).expect("JSON value"))
}

/// (topic, marker) of every snapshot data record, in consumption order per topic.
fn source_field<'a>(v: &'a Json, field: &str) -> &'a Json {
    v.pointer(&format!("/payload/source/{field}")).unwrap_or(&Json::Null)
}

/// Wait until the stored offset says the snapshot is complete.
fn wait_snapshot_done(setup: &Setup, timeout: Duration) -> SourceOffset {
    let deadline = std::time::Instant::now() + timeout;
    loop {
        if let Some(o) = stored(setup).filter(|o| o.snapshot.is_none()) {
            return o;
        }
        assert!(std::time::Instant::now() < deadline, "snapshot not complete after {timeout:?}: {:?}", stored(setup));
        std::thread::sleep(Duration::from_millis(200));
    }
}

#[test]
fn snapshot_and_stream_match_debezium_golden() {
    let _g = serial();
    let svc = services();
    svc.reset_with_seed();
    let prefix = unique("snapgold");
    let setup = Setup::new(&svc, &prefix, &[]);
    let running = setup.start("");
    // After the snapshot the stored offset is the golden offset of the last snapshot record.
    let after_snapshot = wait_snapshot_done(&setup, Duration::from_secs(30));
    assert_eq!((after_snapshot.file.as_str(), after_snapshot.pos), ("mysql-bin.000001", 19119));
    assert_eq!((after_snapshot.row, after_snapshot.event, after_snapshot.server_id), (None, None, None));
    svc.sql_file(&shared().join("oracle/sql/20-stream.sql"));
    let golden = golden::load("main");
    assert_eq!(golden.len(), 127);
    let ours = wait_for_records(&svc.kafka, &prefix, golden.len(), Duration::from_secs(60));
    std::thread::sleep(Duration::from_secs(2));
    running.stop();
    let ours = if ours.len() >= golden.len() { read_topics(&svc.kafka, &prefix) } else { ours };
    let diffs = golden::compare(&golden, &ours, &prefix);
    assert!(diffs.is_empty(), "{} differences from Debezium's golden output:\n{}", diffs.len(), diffs.join("\n"));
    assert_eq!(ours.len(), golden.len(), "record count");
    // The last committed offset is Debezium's last one (ts_sec aside).
    let last = stored(&setup).expect("offset stored");
    let golden_last = golden_committed().pop().expect("golden commits");
    assert_eq!(without_ts(&last), without_ts(&golden_last));
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

fn without_ts(o: &SourceOffset) -> SourceOffset {
    SourceOffset { ts_sec: None, ..o.clone() }
}
