//! The oracle's `mdbtypes` workload (MariaDB-only column types UUID, INET4, INET6), on which
//! Debezium 3.6.3 stops (`golden/mdbtypes.FAILED.txt`: its DDL parser rejects the types): here it
//! runs to completion, snapshot and streaming, with every row. Expected values are the server's
//! own text form of each column (`CAST(c AS CHAR)`), read with the `mariadb` client.

use std::collections::BTreeMap;
use std::time::Duration;

use serde_json::Value as Json;

use crate::connector::Setup;
use crate::parity::wait_for_records;
use crate::services::{read_topics, serial, services, shared, unique, Services};

/// `table` as the server prints it: id → [uuid, inet4, inet6] (None for NULL).
fn server_rows(svc: &Services, table: &str) -> BTreeMap<i64, Vec<Option<String>>> {
    let out = std::process::Command::new("mariadb")
        .args(["--no-defaults", "-N", "-B", "--protocol=TCP", "-uroot"])
        .arg(format!("-h{}", svc.mysql_host))
        .arg(format!("-P{}", svc.mysql_port))
        .arg("-e")
        .arg(format!(
            "SELECT id, CAST(c_uuid AS CHAR), CAST(c_inet4 AS CHAR), CAST(c_inet6 AS CHAR) FROM extra.{table} ORDER BY id"
        ))
        .output()
        .expect("mariadb client");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| {
            let cols: Vec<&str> = l.split('\t').collect();
            let v = |s: &str| (s != "NULL").then(|| s.to_string());
            (cols[0].parse().unwrap(), cols[1..].iter().map(|c| v(c)).collect())
        })
        .collect()
}

/// The last after-image per key of a topic's records (deletes remove the key).
fn fold(records: &[Json]) -> BTreeMap<i64, Vec<Option<String>>> {
    let mut rows = BTreeMap::new();
    for v in records {
        let p = &v["payload"];
        let after = &p["after"];
        if after.is_null() {
            rows.remove(&p["before"]["id"].as_i64().unwrap());
            continue;
        }
        let col = |c: &str| after[c].as_str().map(str::to_string);
        rows.insert(after["id"].as_i64().unwrap(), vec![col("c_uuid"), col("c_inet4"), col("c_inet6")]);
    }
    rows
}

#[test]
fn mariadb_uuid_inet4_inet6_workload_runs_to_completion() {
    let _g = serial();
    let svc = services();
    svc.reset_with_seed();
    svc.sql("DROP DATABASE IF EXISTS extra;");
    svc.sql_file(&shared().join("oracle/sql/run-mdbtypes-seed.sql"));
    let prefix = unique("mdbtypes");
    let setup = Setup::new(&svc, &prefix, &[("database.include.list", "extra")]);
    let running = setup.start("");
    svc.sql_file(&shared().join("oracle/sql/run-mdbtypes-stream.sql"));
    // Beyond the workload: UUIDs of other versions and variants (MariaDB stores some of them with
    // their segments reordered), a time-based one, an IPv4-compatible IPv6 address.
    svc.sql(
        "INSERT INTO extra.mdb_types VALUES
           (5, '00000000-0000-1000-0000-000000000001', '10.1.2.3', '::1.2.3.4'),
           (9, '00000000-0000-5000-8000-000000000001', NULL, NULL),
           (10, '00000000-0000-6000-8000-000000000001', NULL, NULL),
           (6, '3f2504e0-4f89-41d3-9a0c-0305e82c3301', NULL, 'fe80::1'),
           (7, 'c232ab00-9414-11ec-b3c8-9f6bdeced846', NULL, '2001:db8:0:0:1:0:0:1'),
           (8, '017f22e2-79b0-7cc3-98c4-dc0c0c07398f', NULL, NULL);",
    );
    // snapshot: 3 + 1 rows; stream: insert, update, insert plain, 4 rows into mdb_types_ddl, 6
    // more rows; schema changes: the snapshot's and the CREATE TABLE.
    let got = wait_for_records(&svc.kafka, &prefix, 4 + 13, Duration::from_secs(60));
    std::thread::sleep(Duration::from_secs(1));
    running.stop();
    let got = if got.len() > 17 { got } else { read_topics(&svc.kafka, &prefix) };
    let values = |table: &str| -> Vec<Json> {
        got.iter()
            .filter(|c| c.topic == format!("{prefix}.extra.{table}"))
            .filter_map(|c| c.value.as_ref())
            .map(|v| serde_json::from_slice(v).unwrap())
            .collect()
    };
    for table in ["mdb_types", "mdb_types_ddl"] {
        let records = values(table);
        assert!(!records.is_empty(), "{table}: no records");
        assert_eq!(fold(&records), server_rows(&svc, table), "{table}: rows differ from the server's");
        // The Connect schema of each column: UUID named after the type, INET4/INET6 plain strings.
        let after = records[0]["schema"]["fields"].as_array().unwrap().iter().find(|f| f["field"] == "after").unwrap();
        let field =
            |name: &str| after["fields"].as_array().unwrap().iter().find(|f| f["field"] == name).unwrap().clone();
        assert_eq!(field("c_uuid")["name"], "io.debezium.data.Uuid", "{table}");
        assert_eq!(field("c_uuid")["type"], "string");
        for c in ["c_inet4", "c_inet6"] {
            assert_eq!(field(c)["type"], "string", "{table}.{c}");
            assert!(field(c).get("name").is_none(), "{table}.{c}");
        }
    }
    // mdb_types: 3 snapshot rows, then the insert and the update streamed.
    let ops: Vec<String> =
        values("mdb_types").iter().map(|v| v["payload"]["op"].as_str().unwrap().to_string()).collect();
    assert_eq!(ops, ["r", "r", "r", "c", "u", "c", "c", "c", "c", "c", "c"]);
    let plain: Vec<i64> = values("plain").iter().map(|v| v["payload"]["after"]["id"].as_i64().unwrap()).collect();
    assert_eq!(plain, [1, 2]);
}
