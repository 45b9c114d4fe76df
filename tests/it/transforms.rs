//! The SMTs users pair with Debezium, against the real Debezium 3.6.3 running them on the same
//! workload: golden files in tests/data/golden/ made by `tests/oracle/golden.sh unwrap
//! unwrap_rewrite route` (configurations in tests/oracle/conf/). The streaming part of each run is
//! compared record by record (topics, key and value bytes, headers) after the usual
//! normalisation, as `parity` does for the plain run.

use std::time::Duration;

use crate::connector::Setup;
use crate::golden::{self, GoldenRecord};
use crate::parity::wait_for_records;
use crate::services::{read_topics, repo, serial, services, shared, unique};

/// The records of project golden run `run` after the snapshot. An unwrapped value has no `source`
/// to tell, so the snapshot's length is taken from the plain `main` run (a snapshot has no delete
/// for a transform to drop).
fn streaming_part(run: &str) -> Vec<GoldenRecord> {
    let main = golden::load("main");
    let snapshot_len = main
        .iter()
        .rposition(|r| r.value.as_deref().is_some_and(|v| v.contains(r#""snapshot":"last""#)))
        .expect("a last snapshot record")
        + 1;
    let all = golden::load_path(&repo().join(format!("tests/data/golden/{run}.json.jsonl")));
    all[snapshot_len..].to_vec()
}

fn check(run: &str, props: &[(&str, String)]) {
    let _g = serial();
    let svc = services();
    svc.reset_with_seed();
    let prefix = unique(run);
    let owned: Vec<(String, String)> =
        props.iter().map(|(k, v)| (k.to_string(), v.replace("PREFIX", &prefix))).collect();
    let extra: Vec<(&str, &str)> = owned.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    let setup = Setup::new(&svc, &prefix, &extra);
    let running = setup.start("latest");
    svc.sql_file(&shared().join("oracle/sql/20-stream.sql"));
    let mut golden = streaming_part(run);
    wait_for_records(&svc.kafka, &prefix, golden.len(), Duration::from_secs(60));
    std::thread::sleep(Duration::from_secs(2));
    running.stop();
    let mut ours = read_topics(&svc.kafka, &prefix);
    // `add.fields=source.ts_ms` copies the event time, which the oracle's README lists as
    // non-deterministic: normalised like `ts_ms` itself.
    let re = regex::Regex::new(r#""__source_ts_ms":\d+"#).unwrap();
    for g in &mut golden {
        g.value = g.value.as_deref().map(|v| re.replace_all(v, r#""__source_ts_ms":0"#).into_owned());
    }
    for o in &mut ours {
        if let Some(v) = o.value.as_mut() {
            *v = re.replace_all(std::str::from_utf8(v).unwrap(), r#""__source_ts_ms":0"#).into_owned().into_bytes();
        }
    }
    let diffs = golden::compare(&golden, &ours, &prefix);
    assert!(diffs.is_empty(), "{run}: {} differences from Debezium:\n{}", diffs.len(), diffs.join("\n"));
    assert_eq!(ours.len(), golden.len(), "{run}: record count");
}

#[test]
fn extract_new_record_state_matches_debezium() {
    check(
        "unwrap",
        &[
            ("transforms", "unwrap".into()),
            ("transforms.unwrap.type", "io.debezium.transforms.ExtractNewRecordState".into()),
        ],
    );
}

#[test]
fn extract_new_record_state_rewrite_with_fields_and_headers_matches_debezium() {
    check(
        "unwrap_rewrite",
        &[
            ("transforms", "unwrap".into()),
            ("transforms.unwrap.type", "io.debezium.transforms.ExtractNewRecordState".into()),
            ("transforms.unwrap.delete.tombstone.handling.mode", "rewrite".into()),
            ("transforms.unwrap.add.fields", "op,table,source.ts_ms".into()),
            ("transforms.unwrap.add.headers", "db".into()),
        ],
    );
}

#[test]
fn by_logical_table_router_matches_debezium() {
    check(
        "route",
        &[
            ("transforms", "route".into()),
            ("transforms.route.type", "io.debezium.transforms.ByLogicalTableRouter".into()),
            ("transforms.route.topic.regex", r"PREFIX\.inventory\.(.*)".into()),
            ("transforms.route.topic.replacement", "PREFIX.inventory.all".into()),
        ],
    );
}

/// A transform this connector does not have stops start-up naming the property.
#[test]
fn unknown_transform_names_the_property() {
    let _g = serial();
    let svc = services();
    let prefix = unique("badsmt");
    let setup = Setup::new(
        &svc,
        &prefix,
        &[("transforms", "x"), ("transforms.x.type", "org.apache.kafka.connect.transforms.InsertField$Value")],
    );
    let (code, out) = setup.run_failing("latest");
    assert_ne!(code, 0, "{out}");
    assert!(out.contains("transforms.x.type"), "{out}");
}
