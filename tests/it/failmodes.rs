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
//!
//! Runs `failtype_fail`, `failtype_warn`, `failtype_skip` (workload tests/oracle/sql/run-failtype-*.sql): a value
//! that does not fit the column type the connector knows (text where the schema says INT, the ALTER kept out of the
//! binlog). Debezium leaves such a value null and logs "Failed to properly convert data value", in every
//! `event.processing.failure.handling.mode`; so do we (naming the binlog position too).

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

fn t1_ids(records: &[crate::services::Consumed]) -> Vec<i64> {
    crate::services::after_ids(records, ".fm.t1")
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
    assert_eq!(t1_ids(&records), [0, 1], "nothing after the unknown table's rows");
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
        assert_eq!(t1_ids(&records), [0, 1, 2], "{mode}: the rows before the extra column, none after");
        let warned = output.lines().any(|l| l.contains("WARN") && l.contains("fm.ghost"));
        assert_eq!(warned, mode == "warn", "{mode}: a warning names the skipped table only with warn:\n{output}");
    }
}

#[test]
fn a_value_that_does_not_fit_its_column_is_left_null_in_every_mode() {
    let _g = serial();
    for mode in ["fail", "warn", "skip"] {
        let svc = services();
        svc.sql("DROP DATABASE IF EXISTS ft; RESET MASTER;");
        svc.sql_file(&repo().join("tests/oracle/sql/run-failtype-seed.sql"));
        let prefix = unique("failtype");
        let setup = Setup::new(
            &svc,
            &prefix,
            &[("database.include.list", "ft"), ("event.processing.failure.handling.mode", mode)],
        );
        let golden = golden::load_path(&repo().join(format!("tests/data/golden/failtype_{mode}.json.jsonl")));
        assert_eq!(golden.len(), 10, "{mode}: the golden run's records");
        let mut running = setup.start("");
        wait_for_records(&svc.kafka, &prefix, 7, Duration::from_secs(60));
        svc.sql_file(&repo().join("tests/oracle/sql/run-failtype-stream.sql"));
        running.wait_for_log("Failed to properly convert data value for 'ft.t.v' of type INT", Duration::from_secs(30));
        let ours = wait_for_records(&svc.kafka, &prefix, golden.len(), Duration::from_secs(60));
        std::thread::sleep(Duration::from_secs(1));
        running.stop();
        let diffs = golden::compare(&golden, &ours, &prefix);
        assert!(diffs.is_empty(), "{mode}: {} differences from Debezium:\n{}", diffs.len(), diffs.join("\n"));
    }
}

/// `event.processing.failure.handling.mode` on a rows event whose bytes do not parse: a binlog file on the server's
/// disk damaged as a bad disk or a bug would damage it (row 2's VARCHAR length pointing past its event; the event's
/// CRC32 made right again, so only the row data is wrong). The oracle replays SQL and cannot write such a file, so
/// the expectation is Debezium's documented behaviour: `fail` stops (here naming the table and position), `warn` logs
/// the event and skips it, `skip` skips it quietly; the rows around it go out either way.
#[test]
fn a_rows_event_that_does_not_parse_stops_or_is_skipped_by_mode() {
    let _g = serial();
    let svc = services();
    svc.sql(
        "DROP DATABASE IF EXISTS fc; RESET MASTER;
         CREATE DATABASE fc; CREATE TABLE fc.t (id INT PRIMARY KEY, v VARCHAR(20));
         INSERT INTO fc.t VALUES (1, 'one'); INSERT INTO fc.t VALUES (2, 'two'); INSERT INTO fc.t VALUES (3, 'three');
         FLUSH BINARY LOGS; INSERT INTO fc.t VALUES (4, 'four');",
    );
    let events = svc.query_rows("SHOW BINLOG EVENTS IN 'mysql-bin.000001'");
    let annotate = |text: &str| events.iter().position(|e| e[5].contains(text)).expect("statement in the binlog");
    let start =
        events[..annotate("(1, 'one')")].iter().rev().find(|e| e[2] == "Gtid").expect("row 1's GTID")[1].clone();
    let rows2 =
        events[annotate("(2, 'two')")..].iter().find(|e| e[2].starts_with("Write_rows")).expect("row 2's event");
    let (p, end): (usize, usize) = (rows2[1].parse().unwrap(), rows2[4].parse().unwrap());
    let path = std::path::Path::new(&std::env::var("MYSQL_DATADIR").expect("MYSQL_DATADIR")).join("mysql-bin.000001");
    let mut bytes = std::fs::read(&path).expect("the closed binlog file");
    // header 19, table id 6 + flags 2, column count 1, columns-present bitmap 1, null bitmap 1, id 4: v's length
    let len_at = p + 19 + 8 + 1 + 1 + 1 + 4;
    assert_eq!(bytes[len_at], 3, "row 2's v ('two') has length 3 at {len_at}");
    bytes[len_at] = 0xff;
    let crc = crc32fast::hash(&bytes[p..end - 4]);
    bytes[end - 4..end].copy_from_slice(&crc.to_le_bytes());
    std::fs::write(&path, &bytes).expect("write the damaged file");
    let binlog_pos = format!("mysql-bin.000001:{start}");
    let ids = |prefix: &str| crate::services::after_ids(&read_topics(&svc.kafka, prefix), ".fc.t");
    for mode in ["fail", "warn", "skip"] {
        let prefix = unique("failparse");
        let setup = Setup::new(
            &svc,
            &prefix,
            &[("database.include.list", "fc"), ("event.processing.failure.handling.mode", mode)],
        );
        if mode == "fail" {
            let (code, out) = setup.run_failing(&binlog_pos);
            assert_ne!(code, 0, "{out}");
            assert!(out.contains(&format!("table fc.t at mysql-bin.000001:{p}")), "names table and position: {out}");
            assert_eq!(ids(&prefix), [1], "row 1, nothing after the damaged event");
            continue;
        }
        let running = setup.start(&binlog_pos);
        wait_for_records(&svc.kafka, &prefix, 3, Duration::from_secs(60));
        std::thread::sleep(Duration::from_secs(1));
        let out = running.stop_with_log();
        assert_eq!(ids(&prefix), [1, 3, 4], "{mode}: the damaged event skipped, the rows around it out:\n{out}");
        let warned = out.lines().any(|l| l.contains("WARN") && l.contains("cannot be read") && l.contains("fc.t"));
        assert_eq!(warned, mode == "warn", "{mode}: a warning names the skipped event only with warn:\n{out}");
    }
    svc.sql("RESET MASTER;");
}
