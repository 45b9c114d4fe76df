//! `inconsistent.schema.handling.mode` and what stops the connector, against the real Debezium
//! 3.6.3 (project oracle runs `failmodes`, `failmodes_warn`, `failmodes_skip`, workload
//! tests/oracle/sql/run-failmodes-{seed,stream}.sql, golden files made by `tests/oracle/golden.sh
//! failmodes failmodes_warn failmodes_skip`). The workload writes rows of a table whose CREATE
//! TABLE was kept out of the binlog (`SET sql_log_bin = 0`), then rows with one column more than
//! the schema the connector knows (an ALTER kept out of the binlog).
//!
//! Debezium stops at the unknown table by default (`fail`) and skips its rows with `warn`/`skip`;
//! the extra column stops it in every mode ("internal schema size 2, but row size 3"). Here the
//! same, with errors that name the table and the binlog position. Debezium's output stops short
//! of what it had processed (its engine dies before delivering the last batch), so its records
//! are compared as a prefix of ours.

use std::time::Duration;

use crate::connector::Setup;
use crate::golden;
use crate::parity::wait_for_records;
use crate::services::{read_topics, repo, serial, services, unique};

/// Run the workload with `mode` (None: the default); returns the records and the connector's
/// exit code and output.
fn run(mode: Option<&str>) -> (Vec<crate::services::Consumed>, i32, String, String) {
    let svc = services();
    svc.sql("DROP DATABASE IF EXISTS fm; RESET MASTER;");
    svc.sql_file(&repo().join("tests/oracle/sql/run-failmodes-seed.sql"));
    let prefix = unique("failmodes");
    let mut props = vec![("database.include.list", "fm")];
    if let Some(m) = mode {
        props.push(("inconsistent.schema.handling.mode", m));
    }
    let setup = Setup::new(&svc, &prefix, &props);
    let running = setup.start("");
    wait_for_records(&svc.kafka, &prefix, 7, Duration::from_secs(60));
    svc.sql_file(&repo().join("tests/oracle/sql/run-failmodes-stream.sql"));
    let (code, output) = running.wait_exit(Duration::from_secs(60));
    (read_topics(&svc.kafka, &prefix), code, output, prefix)
}

fn check_prefix(run: &str, ours: &[crate::services::Consumed], prefix: &str) {
    let golden = golden::load_path(&repo().join(format!("tests/data/golden/{run}.json.jsonl")));
    assert!(ours.len() >= golden.len(), "{run}: {} records, golden {}", ours.len(), golden.len());
    let diffs = golden::compare(&golden, &ours[..golden.len()], prefix);
    assert!(diffs.is_empty(), "{run}: {} differences from Debezium:\n{}", diffs.len(), diffs.join("\n"));
}

fn after_ids(records: &[crate::services::Consumed]) -> Vec<i64> {
    records
        .iter()
        .filter(|c| c.topic.ends_with(".fm.t1"))
        .filter_map(|c| {
            let v: serde_json::Value = serde_json::from_slice(c.value.as_ref()?).ok()?;
            v["payload"]["after"]["id"].as_i64()
        })
        .collect()
}

#[test]
fn unknown_table_stops_the_connector_by_default() {
    let _g = serial();
    let (records, code, output, prefix) = run(None);
    assert_ne!(code, 0, "the connector must stop:\n{output}");
    assert!(
        output.contains("fm.ghost") && output.contains("mysql-bin.000001:"),
        "the error names the table and the binlog position:\n{output}"
    );
    check_prefix("failmodes", &records, &prefix);
    assert_eq!(after_ids(&records), [0, 1], "nothing after the unknown table's rows");
}

#[test]
fn unknown_table_is_skipped_with_warn_and_skip_and_an_extra_column_still_stops() {
    let _g = serial();
    for mode in ["warn", "skip"] {
        let (records, code, output, prefix) = run(Some(mode));
        assert_ne!(code, 0, "{mode}: the extra column must stop the connector:\n{output}");
        assert!(
            output.contains("fm.t1") && output.contains("mysql-bin.000001:"),
            "{mode}: the error names the table and the binlog position:\n{output}"
        );
        check_prefix(&format!("failmodes_{mode}"), &records, &prefix);
        assert_eq!(after_ids(&records), [0, 1, 2], "{mode}: the rows before the extra column, none after");
        let warned = output.lines().any(|l| l.contains("WARN") && l.contains("fm.ghost"));
        assert_eq!(warned, mode == "warn", "{mode}: a warning names the skipped table only with warn:\n{output}");
    }
}
