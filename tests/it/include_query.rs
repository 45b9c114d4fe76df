//! `include.query`: each streamed change carries the SQL statement that made it in
//! `source.query`. On MariaDB the statement comes from the ANNOTATE_ROWS events the connector asks
//! the server for in its dump request (Debezium's MySQL connector does not ask, and leaves
//! `source.query` null on MariaDB); the expected text is the statement the test itself sent.
//! Snapshot reads carry none, as in Debezium.

use std::time::Duration;

use crate::connector::Setup;
use crate::parity::wait_for_records;
use crate::services::{serial, services, unique};

#[test]
fn include_query_puts_each_changes_statement_in_source_query() {
    let _g = serial();
    let svc = services();
    svc.sql(
        "DROP DATABASE IF EXISTS iq; CREATE DATABASE iq; CREATE TABLE iq.t (id INT PRIMARY KEY, v VARCHAR(20));
         INSERT INTO iq.t VALUES (1, 'one');",
    );
    let prefix = unique("iq");
    let topic = format!("{prefix}.iq.t");
    let setup = Setup::new(&svc, &prefix, &[("database.include.list", "iq"), ("include.query", "true")]);
    let mut running = setup.start("");
    running.wait_for_log("binlog stream started", Duration::from_secs(60));
    let statements = [
        "INSERT INTO iq.t VALUES (2, 'two'), (3, 'three')",
        "UPDATE iq.t SET v = 'zwei' WHERE id = 2",
        "DELETE FROM iq.t WHERE id = 3",
        "INSERT INTO iq.t VALUES (4, 'four')",
        "UPDATE iq.t SET v = 'eins' WHERE id = 1",
    ];
    svc.sql(&format!("{};\n{};\n{};\n", statements[0], statements[1], statements[2]));
    // two statements in one transaction: each row change keeps its own
    svc.sql(&format!("BEGIN;\n{};\n{};\nCOMMIT;\n", statements[3], statements[4]));
    let got = wait_for_records(&svc.kafka, &topic, 8, Duration::from_secs(60));
    running.stop();
    let values: Vec<serde_json::Value> =
        got.iter().filter_map(|c| c.value.as_ref()).map(|v| serde_json::from_slice(v).expect("JSON value")).collect();
    let seen: Vec<(String, Option<String>)> = values
        .iter()
        .map(|v| {
            let p = &v["payload"];
            (p["op"].as_str().unwrap().to_string(), p["source"]["query"].as_str().map(str::to_string))
        })
        .collect();
    let expected: Vec<(String, Option<String>)> = [
        ("r", None),
        ("c", Some(statements[0])),
        ("c", Some(statements[0])),
        ("u", Some(statements[1])),
        ("d", Some(statements[2])),
        ("c", Some(statements[3])),
        ("u", Some(statements[4])),
    ]
    .iter()
    .map(|(op, q)| (op.to_string(), q.map(str::to_string)))
    .collect();
    assert_eq!(seen, expected, "op and source.query of every record (the delete's tombstone has no value)");
}
