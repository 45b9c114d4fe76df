//! hudi-sink end to end: MariaDB → cdc-connector (AvroConverter, our registry) → tansu →
//! hudi-sink → Hudi tables in a local directory and on the S3 server of `e2e/services.sh up`; the
//! tables read back with hudi-rs (`hudi-sink read`) must equal `SELECT * … ORDER BY pk` from
//! MariaDB after the type mapping of `hudi-sink/src/convert.rs`.
//!
//! The hudi-sink binary belongs to the `hudi-sink` workspace member (so that this test binary does
//! not link hudi-rs): it is found through `HUDI_SINK_BIN`, else next to this test binary's
//! target directory (`cargo build --release -p hudi-sink`, which `e2e/test.sh` runs).

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::{Map, Value as Json};

use crate::connector::Setup;
use crate::registry::RegistryProc;
use crate::services::{serial, services, shared, unique, Services};

pub fn sink_bin() -> PathBuf {
    if let Ok(p) = std::env::var("HUDI_SINK_BIN") {
        return PathBuf::from(p);
    }
    // target/<profile>/deps/it-<hash> → target/<profile>/hudi-sink
    let exe = std::env::current_exe().expect("test binary path");
    let bin = exe.parent().and_then(|d| d.parent()).expect("target dir").join("hudi-sink");
    assert!(
        bin.exists(),
        "{} not found: build it with `cargo build --release -p hudi-sink` (e2e/test.sh does) or set HUDI_SINK_BIN",
        bin.display()
    );
    bin
}

/// A running hudi-sink; killed on drop.
pub struct SinkProc {
    pub child: Child,
    pub lines: Arc<Mutex<Vec<String>>>,
    pub name: String,
}

impl SinkProc {
    pub fn start(name: &str, args: &[String]) -> SinkProc {
        SinkProc::start_with_env(name, args, None)
    }

    /// Start with `HUDI_SINK_FAILPOINT` set (a crash test hook of the sink).
    pub fn start_with_env(name: &str, args: &[String], failpoint: Option<&str>) -> SinkProc {
        let mut cmd = Command::new(sink_bin());
        if let Some(fp) = failpoint {
            cmd.env("HUDI_SINK_FAILPOINT", fp);
        }
        let mut child = cmd
            .arg("run")
            .args(args)
            .env("CDC_LOG_FORMAT", "json")
            .env("RUST_LOG", "info,rdkafka=warn,hudi_core=warn")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn hudi-sink");
        let stderr = child.stderr.take().expect("stderr");
        let lines = Arc::new(Mutex::new(Vec::new()));
        let l = lines.clone();
        let tag = name.to_owned();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                eprintln!("[{tag}] {line}");
                l.lock().unwrap().push(line);
            }
        });
        SinkProc { child, lines, name: name.to_owned() }
    }

    pub fn log_contains(&self, needle: &str) -> bool {
        self.lines.lock().unwrap().iter().any(|l| l.contains(needle))
    }

    pub fn assert_running(&mut self) {
        if let Ok(Some(st)) = self.child.try_wait() {
            panic!("{} exited ({st}):\n{}", self.name, self.lines.lock().unwrap().join("\n"));
        }
    }

    /// SIGTERM and wait: the sink flushes what it read.
    pub fn stop(mut self) {
        let _ = Command::new("kill").arg("-TERM").arg(self.child.id().to_string()).status();
        let deadline = Instant::now() + Duration::from_secs(60);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        panic!("{} did not stop within 60 s of SIGTERM", self.name);
    }
}

impl Drop for SinkProc {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A table read back with hudi-rs: rows sorted by record key; `None` if it cannot be read (yet).
pub fn read_table(path: &str) -> Result<Vec<Map<String, Json>>, String> {
    let out = Command::new(sink_bin())
        .args(["read", path])
        .env("CDC_LOG_FORMAT", "json")
        .env("RUST_LOG", "warn")
        .output()
        .expect("run hudi-sink read");
    json_lines(&out, "hudi-sink read")
}

/// The JSON-object lines a reader printed, or its stderr when it failed.
fn json_lines(out: &std::process::Output, reader: &str) -> Result<Vec<Map<String, Json>>, String> {
    if !out.status.success() {
        return Err(String::from_utf8_lossy(&out.stderr).into_owned());
    }
    Ok(String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| match serde_json::from_str(l) {
            Ok(Json::Object(m)) => m,
            other => panic!("{reader} printed {other:?}"),
        })
        .collect())
}

/// A column of a MySQL table and how to render it like `hudi-sink read` renders its Hudi column.
struct MyColumn {
    name: String,
    /// SQL expression
    expr: String,
    cmp: Cmp,
}

#[derive(Clone, Copy, PartialEq, Debug)]
enum Cmp {
    Exact,
    /// numbers compared with a relative tolerance (FLOAT prints 6 digits in MariaDB)
    Float(f64),
    /// BIT(n>1): Debezium's bytes are little-endian; MySQL's HEX is big-endian
    BitsLe,
}

fn mysql_columns(svc: &Services, db: &str, table: &str) -> Vec<MyColumn> {
    let text = svc.query_text(&format!(
        "SELECT COLUMN_NAME, DATA_TYPE, COLUMN_TYPE FROM information_schema.COLUMNS \
         WHERE TABLE_SCHEMA='{db}' AND TABLE_NAME='{table}' ORDER BY ORDINAL_POSITION"
    ));
    text.lines()
        .map(|l| {
            let f: Vec<&str> = l.split('\t').collect();
            let (name, ty, col_type) = (f[0].to_owned(), f[1], f[2]);
            let c = format!("`{name}`");
            let unsigned = col_type.contains("unsigned");
            let (expr, cmp) = match ty {
                "bigint" if unsigned => (format!("CAST({c} AS SIGNED)"), Cmp::Exact),
                "tinyint" | "smallint" | "mediumint" | "int" | "bigint" => (c.clone(), Cmp::Exact),
                // Debezium's binlog path reads YEAR 0000 as 1900 (JSON_OBJECT would print `0000`)
                "year" => (format!("IF({c} = 0, 1900, CAST({c} AS SIGNED))"), Cmp::Exact),
                "float" => (c.clone(), Cmp::Float(1e-6)),
                "double" => (c.clone(), Cmp::Float(1e-12)),
                "decimal" => (format!("CAST({c} AS CHAR)"), Cmp::Exact),
                // Debezium turns zero dates into null
                "date" => (zero_date_null(&c, "%Y-%m-%d"), Cmp::Exact),
                "datetime" => (zero_date_null(&c, "%Y-%m-%d %H:%i:%s.%f"), Cmp::Exact),
                "timestamp" => (zero_date_null(&c, "%Y-%m-%dT%H:%i:%s.%fZ"), Cmp::Exact),
                "time" => (format!("CAST(TIME_TO_SEC({c}) * 1000000 AS SIGNED)"), Cmp::Exact),
                // MariaDB's JSON (a checked LONGTEXT) would be embedded as JSON: compare its text
                "longtext" | "mediumtext" | "text" | "tinytext" => (format!("CONCAT('', {c})"), Cmp::Exact),
                "bit" if col_type == "bit(1)" => (format!("IF({c} IS NULL, NULL, IF({c} + 0 = 1, TRUE, FALSE))"), Cmp::Exact),
                "bit" => (format!("HEX({c})"), Cmp::BitsLe),
                "binary" | "varbinary" | "tinyblob" | "blob" | "mediumblob" | "longblob" => (format!("HEX({c})"), Cmp::Exact),
                "geometry" | "point" | "linestring" | "polygon" => (
                    format!("IF({c} IS NULL, NULL, JSON_OBJECT('wkb', HEX(ST_AsWKB({c})), 'srid', NULLIF(ST_SRID({c}), 0)))"),
                    Cmp::Exact,
                ),
                _ => (c.clone(), Cmp::Exact),
            };
            MyColumn { name, expr, cmp }
        })
        .collect()
}

/// `DATE_FORMAT(c, fmt)`, null for MySQL's zero dates (`0000-00-00…`), as Debezium sends them.
fn zero_date_null(c: &str, fmt: &str) -> String {
    format!("IF(CAST({c} AS CHAR) LIKE '0000-00-00%', NULL, DATE_FORMAT({c}, '{fmt}'))")
}

impl Services {
    /// Run a query as root, return the raw tab-separated rows (no header, no escaping).
    pub fn query_text(&self, sql: &str) -> String {
        let mut c = Command::new("mariadb");
        c.arg("--no-defaults")
            .arg(format!("-h{}", self.mysql_host))
            .arg(format!("-P{}", self.mysql_port))
            .arg(format!("-u{}", self.root_user))
            .args(["--protocol=TCP", "--default-character-set=utf8mb4", "--batch", "--raw", "-N", "-e", sql]);
        if !self.root_password.is_empty() {
            c.arg(format!("-p{}", self.root_password));
        }
        let out = c.output().expect("mariadb client");
        assert!(out.status.success(), "{sql}: {}", String::from_utf8_lossy(&out.stderr));
        String::from_utf8(out.stdout).expect("UTF-8 query output")
    }
}

/// The rows of a MySQL table rendered like `hudi-sink read`, keyed by the table's PK text.
fn mysql_rows(svc: &Services, db: &str, table: &str, cols: &[MyColumn]) -> Vec<Map<String, Json>> {
    let fields: Vec<String> = cols.iter().map(|c| format!("'{}', {}", c.name, c.expr)).collect();
    let text = svc.query_text(&format!("SELECT JSON_OBJECT({}) FROM `{db}`.`{table}`", fields.join(", ")));
    text.lines()
        .map(|l| match serde_json::from_str(l) {
            Ok(Json::Object(mut m)) => {
                // JSON_OBJECT nests JSON_OBJECT values as objects already; a JSON column is text.
                for c in cols.iter().filter(|c| c.expr.starts_with("IF(") && c.expr.contains("JSON_OBJECT")) {
                    let parsed = match m.get(&c.name) {
                        Some(Json::String(s)) => serde_json::from_str::<Json>(s).ok(),
                        _ => None,
                    };
                    if let Some(v) = parsed {
                        m.insert(c.name.clone(), v);
                    }
                }
                m
            }
            other => panic!("MySQL row {l}: {other:?}"),
        })
        .collect()
}

fn bits_le_to_hex(v: &str) -> String {
    // Hudi side: hex of Debezium's little-endian bytes; MySQL: big-endian hex, leading zeros
    // dropped. Compare as numbers.
    let bytes: Vec<u8> = (0..v.len() / 2).map(|i| u8::from_str_radix(&v[2 * i..2 * i + 2], 16).unwrap()).collect();
    let mut n: u128 = 0;
    for b in bytes.iter().rev() {
        n = (n << 8) | u128::from(*b);
    }
    format!("{n:X}")
}

fn same(cmp: Cmp, hudi: &Json, mysql: &Json) -> bool {
    match (cmp, hudi, mysql) {
        (_, Json::Null, Json::Null) => true,
        (Cmp::Float(tol), a, b) => {
            let (Some(a), Some(b)) = (a.as_f64(), b.as_f64()) else { return false };
            a == b || (a - b).abs() <= tol * a.abs().max(b.abs())
        }
        (Cmp::BitsLe, Json::String(a), Json::String(b)) => {
            let b = b.trim_start_matches('0');
            bits_le_to_hex(a) == if b.is_empty() { "0" } else { b }
        }
        (_, Json::Bool(a), Json::Number(n)) => n.as_i64() == Some(i64::from(*a)),
        // geometry: Hudi's struct may have more fields (a Point's x, y) than MySQL's wkb/srid
        (_, Json::Object(a), Json::Object(b)) => {
            b.iter().all(|(k, v)| same(Cmp::Exact, a.get(k).unwrap_or(&Json::Null), v))
        }
        (_, Json::Number(a), Json::Number(b)) => a.as_f64() == b.as_f64(),
        (_, Json::String(a), Json::Number(b)) | (_, Json::Number(b), Json::String(a)) => a == &b.to_string(),
        (_, a, b) => a == b,
    }
}

fn table_columns(svc: &Services, db: &str, table: &str) -> Vec<MyColumn> {
    let mut cols = mysql_columns(svc, db, table);
    // FLOAT → DOUBLE by ALTER: rows from before it hold the float widened to double
    if (db, table) == ("inventory", "products") {
        cols.iter_mut().filter(|c| c.name == "weight").for_each(|c| c.cmp = Cmp::Float(1e-6));
    }
    cols
}

/// Tables whose expected rows were recorded before a statement the change stream does not carry:
/// Debezium (and cdc-connector) skip TRUNCATE by default (`skipped.operations=t`), so after
/// 20-stream.sql's `TRUNCATE TABLE products_on_hand` the Hudi table keeps the rows MySQL had just
/// before it — which is what HoodieStreamer on Debezium's topics would show too.
type Frozen = BTreeMap<(String, String), Vec<Map<String, Json>>>;

/// Run 20-stream.sql, recording `products_on_hand` right before its TRUNCATE.
fn run_stream_sql(svc: &Services) -> Frozen {
    let text = std::fs::read_to_string(shared().join("oracle/sql/20-stream.sql")).expect("read 20-stream.sql");
    let cut = text.find("TRUNCATE TABLE products_on_hand;").expect("20-stream.sql truncates products_on_hand");
    // back to the start of the line (the statement runs with the rest)
    let cut = text[..cut].rfind('\n').map_or(0, |i| i + 1);
    svc.sql(&text[..cut]);
    let cols = table_columns(svc, "inventory", "products_on_hand");
    let rows = mysql_rows(svc, "inventory", "products_on_hand", &cols);
    assert!(!rows.is_empty(), "products_on_hand has rows before the TRUNCATE");
    // the second part needs the database the first part was using
    svc.sql(&format!("USE inventory;\n{}", &text[cut..]));
    BTreeMap::from([(("inventory".to_string(), "products_on_hand".to_string()), rows)])
}

/// Columns 20-stream.sql adds with ALTER TABLE: MySQL fills older rows with the column default
/// (`'n/a'` for phone), in Hudi older rows read them as null (their events had no such column).
const ADDED: [(&str, &str, &str); 2] = [("inventory", "customers", "phone"), ("inventory", "products", "sku")];

/// Compare one table; returns the differences (empty = equal).
fn diff_table(
    svc: &Services,
    db: &str,
    table: &str,
    pk: &[&str],
    hudi: &[Map<String, Json>],
    frozen: Option<&Vec<Map<String, Json>>>,
) -> Vec<String> {
    let cols = table_columns(svc, db, table);
    let mysql = match frozen {
        Some(rows) => rows.clone(),
        None => mysql_rows(svc, db, table, &cols),
    };
    let key = |m: &Map<String, Json>| {
        pk.iter().map(|k| m.get(*k).map(|v| v.to_string()).unwrap_or_default()).collect::<Vec<_>>()
    };
    let h: BTreeMap<Vec<String>, &Map<String, Json>> = hudi.iter().map(|m| (key(m), m)).collect();
    let my: BTreeMap<Vec<String>, &Map<String, Json>> = mysql.iter().map(|m| (key(m), m)).collect();
    let mut diffs = Vec::new();
    if h.len() != hudi.len() {
        diffs.push(format!("{db}.{table}: {} rows in Hudi but {} distinct keys (duplicates)", hudi.len(), h.len()));
    }
    for k in my.keys().filter(|k| !h.contains_key(*k)) {
        diffs.push(format!("{db}.{table} {k:?}: in MySQL, not in Hudi"));
    }
    for k in h.keys().filter(|k| !my.contains_key(*k)) {
        diffs.push(format!("{db}.{table} {k:?}: in Hudi, not in MySQL"));
    }
    for (k, m) in &my {
        let Some(hr) = h.get(k) else { continue };
        for c in &cols {
            let hv = hr.get(&c.name).cloned().unwrap_or_else(|| Json::String("<no such column in Hudi>".into()));
            let mv = m.get(&c.name).cloned().unwrap_or(Json::Null);
            let added_default = hv.is_null()
                && ADDED.iter().any(|(d, t, col)| (*d, *t, *col) == (db, table, c.name.as_str()))
                && (mv == "n/a" || mv.is_null());
            if !same(c.cmp, &hv, &mv) && !added_default {
                diffs.push(format!("{db}.{table} {k:?} column {}: Hudi {hv} vs MySQL {mv}", c.name));
            }
        }
    }
    diffs
}

/// The captured tables of the oracle workload and their primary keys (after 20-stream.sql).
const TABLES: [(&str, &str, &[&str]); 10] = [
    ("inventory", "products", &["id"]),
    ("inventory", "products_on_hand", &["product_id"]),
    ("inventory", "customers", &["id"]),
    ("inventory", "addresses", &["id"]),
    ("inventory", "orders", &["order_number"]),
    ("inventory", "reviews", &["id"]),
    ("final", "flights", &["icao24", "last_contact"]),
    ("final", "flight_positions", &["id"]),
    ("types", "all_types", &["id"]),
    ("types", "all_types_ddl", &["id"]),
];

/// The database the end-to-end test's poller replay writes (the poller's own table layout,
/// `schemas/`, differs from the oracle's `final.flights`, so it cannot share `final`).
const SKY: &str = "hudi_sky";

/// The poller's tables in [`SKY`] and their primary keys.
const SKY_TABLES: [(&str, &str, &[&str]); 2] =
    [(SKY, "flights", &["icao24"]), (SKY, "flight_positions", &["icao24", "last_contact"])];

type TableList<'a> = &'a [(&'a str, &'a str, &'a [&'a str])];

fn sink_args(kafka: &str, prefix: &str, registry: &str, base: &str, group: &str) -> Vec<String> {
    [
        "--bootstrap-servers",
        kafka,
        "--topics",
        &format!(r"^{prefix}\.(inventory|final|types|{SKY})\..*"),
        "--schema-registry-url",
        registry,
        "--base-path",
        base,
        "--group-id",
        group,
        "--max-batch-interval",
        "1s",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect()
}

/// Wait until every table of `tables` that MySQL has, read back, equals MySQL; panics with the
/// differences after `timeout`.
fn wait_equal(
    svc: &Services,
    base: &str,
    frozen: &Frozen,
    tables: TableList<'_>,
    sinks: &mut [&mut SinkProc],
    timeout: Duration,
) {
    let deadline = Instant::now() + timeout;
    loop {
        for s in sinks.iter_mut() {
            s.assert_running();
        }
        let mut diffs = Vec::new();
        for &(db, table, pk) in tables {
            if !mysql_has_table(svc, db, table) {
                continue;
            }
            let f = frozen.get(&(db.to_string(), table.to_string()));
            let mysql_count: usize = match f {
                Some(rows) => rows.len(),
                None => svc.query_text(&format!("SELECT COUNT(*) FROM `{db}`.`{table}`")).trim().parse().unwrap(),
            };
            match read_table(&format!("{base}/{db}/{table}")) {
                Ok(rows) => diffs.extend(diff_table(svc, db, table, pk, &rows, f)),
                Err(_) if mysql_count == 0 => {}
                Err(e) => diffs.push(format!("{db}.{table}: cannot read: {}", e.lines().last().unwrap_or(""))),
            }
        }
        if diffs.is_empty() {
            return;
        }
        if Instant::now() > deadline {
            panic!("Hudi tables under {base} differ from MySQL after {timeout:?}:\n{}", diffs.join("\n"));
        }
        std::thread::sleep(Duration::from_secs(3));
    }
}

#[test]
fn hudi_sink_folds_the_oracle_workload_into_local_and_s3_tables() {
    let _g = serial();
    let svc = services();
    svc.sql(&format!("DROP DATABASE IF EXISTS `{SKY}`"));
    svc.reset_with_seed();
    let registry = RegistryProc::start(&unique("_schemas_it_hudi"));
    // products' ALTER (weight FLOAT NULL → DOUBLE NOT NULL) is not BACKWARD compatible
    let (status, v) = registry.call("PUT", "/config", Some(r#"{"compatibility":"NONE"}"#));
    assert_eq!(status, 200, "{v}");
    let prefix = unique("h");
    let conv = "io.confluent.connect.avro.AvroConverter";
    let url = registry.url();
    let setup = Setup::new(
        &svc,
        &prefix,
        &[
            ("key.converter", conv),
            ("key.converter.schema.registry.url", url.as_str()),
            ("value.converter", conv),
            ("value.converter.schema.registry.url", url.as_str()),
            ("database.include.list", &format!("inventory,final,types,{SKY}")),
        ],
    );
    // from the start of the binlog: the seed's rows arrive as inserts, so every table is complete
    let connector = setup.start("earliest");
    let local = tempfile::tempdir().expect("tempdir");
    let local_base = local.path().join("lakehouse").to_string_lossy().into_owned();
    let s3_base =
        format!("s3://{}/{}", std::env::var("S3_BUCKET").expect("S3_BUCKET (e2e/services.sh up)"), unique("it-hudi"));
    std::env::var("AWS_ENDPOINT").expect("AWS_ENDPOINT (e2e/services.sh up)");
    let mut local_sink =
        SinkProc::start("sink-local", &sink_args(&svc.kafka, &prefix, &url, &local_base, &unique("g")));
    // on S3, final.flights is partitioned by the UTC day of last_contact (part of its key)
    let mut s3_args = sink_args(&svc.kafka, &prefix, &url, &s3_base, &unique("g"));
    // and the poller's flight_positions too (its PK is (icao24, last_contact))
    for p in ["final.flights=last_contact:day".to_string(), format!("{SKY}.flight_positions=last_contact:day")] {
        s3_args.extend(["--partition-field".to_string(), p]);
    }
    let mut s3_sink = SinkProc::start("sink-s3", &s3_args);
    let none = Frozen::new();
    wait_equal(&svc, &local_base, &none, &TABLES, &mut [&mut local_sink], Duration::from_secs(300));
    let frozen = run_stream_sql(&svc);
    // the poller's replay of the bundled recording: inserts, updates of changed aircraft, deletes
    // of stale ones (flights) and an append-only history (flight_positions)
    let replay = crate::services::repo().join("e2e/opensky-replay");
    let (code, log) = crate::poller::run(
        crate::poller::poller(
            &svc,
            SKY,
            &["--replay", replay.to_str().unwrap(), "--interval", "0s", "--base-url", "http://127.0.0.1:9/none"],
        ),
        Duration::from_secs(60),
    );
    assert_eq!(code, 0, "opensky-poller --replay: {log}");
    let all: Vec<_> = TABLES.iter().chain(&SKY_TABLES).copied().collect();
    wait_equal(&svc, &local_base, &frozen, &all, &mut [&mut local_sink], Duration::from_secs(300));
    wait_equal(&svc, &s3_base, &frozen, &all, &mut [&mut s3_sink], Duration::from_secs(300));
    // the deleted, updated and PK-changed rows are what MySQL says (checked above); spot checks
    let customers = read_table(&format!("{local_base}/inventory/customers")).unwrap();
    assert!(customers.iter().any(|r| r["id"] == 1105), "PK-changed customer 1005 → 1105");
    assert!(!customers.iter().any(|r| r["id"] == 1005 || r["id"] == 1106), "deleted customers");
    assert!(customers.iter().any(|r| r["id"] == 1001 && r["phone"] == "555-0199"), "ALTER-added column");
    assert!(customers.iter().all(|r| r["_event_seq"].is_string() && r["_change_operation_type"].is_string()));
    let flights = read_table(&format!("{s3_base}/final/flights")).unwrap();
    // hive-style partition paths (hudi-rs's default)
    assert!(
        flights
            .iter()
            .all(|r| r["_hoodie_partition_path"] == "last_contact_day=2023-11-14"
                && r["last_contact_day"] == "2023-11-14")
    );
    // the replay's updates and deletes reached Hudi: the recording ends with 2 aircraft and 6 positions
    let sky = read_table(&format!("{local_base}/{SKY}/flights")).unwrap();
    let icao: Vec<&Json> = sky.iter().map(|r| &r["icao24"]).collect();
    assert_eq!(icao, ["4b1805", "4b1a2c"], "flights after the replay (3c6586 and 4ca7b4 deleted)");
    assert!(sky.iter().any(|r| r["icao24"] == "4b1805" && r["last_contact"] == 1767225939), "4b1805's last update");
    let positions = read_table(&format!("{s3_base}/{SKY}/flight_positions")).unwrap();
    assert_eq!(positions.len(), 6, "every position once");
    let days: std::collections::BTreeSet<&str> =
        positions.iter().filter_map(|r| r["_hoodie_partition_path"].as_str()).collect();
    assert_eq!(days, ["last_contact_day=2025-12-31", "last_contact_day=2026-01-01"].into(), "UTC day partitions");
    local_sink.stop();
    s3_sink.stop();
    connector.stop();
    // the same tables through readers that share no code with hudi-sink
    let mut python_hudi_read = 0;
    for base in [&local_base, &s3_base] {
        for &(db, table, pk) in all.iter().filter(|(db, table, _)| mysql_has_table(&svc, db, table)) {
            let path = format!("{base}/{db}/{table}");
            let by_hudi_rs = read_table(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
            let frozen_rows = frozen.get(&(db.to_string(), table.to_string()));
            for reader in ["timeline", "hudi"] {
                let rows = match read_table_py(reader, &path) {
                    Ok(rows) => rows,
                    // PyPI hudi 0.5.0 has `todo!()` for Avro local-timestamp types, which DATETIME
                    // columns are (hudi-sink/src/convert.rs): a known gap of that reader
                    Err(e)
                        if reader == "hudi" && has_datetime(&svc, db, table) && e.contains("not yet implemented") =>
                    {
                        eprintln!("{path}: PyPI hudi cannot read local-timestamp (DATETIME) columns");
                        continue;
                    }
                    Err(e) => panic!("{reader} reader, {path}: {e}"),
                };
                python_hudi_read += usize::from(reader == "hudi");
                let diffs = diff_table(&svc, db, table, pk, &rows, frozen_rows);
                assert!(diffs.is_empty(), "{reader} reader, {path}:\n{}", diffs.join("\n"));
                assert_eq!(versions(&rows), versions(&by_hudi_rs), "{reader} reader vs hudi-rs, {path}");
            }
        }
    }
    let without_datetime =
        all.iter().filter(|(db, t, _)| mysql_has_table(&svc, db, t) && !has_datetime(&svc, db, t)).count();
    assert_eq!(python_hudi_read, 2 * without_datetime, "PyPI hudi reads every table without DATETIME columns");
    svc.sql(&format!("DROP DATABASE `{SKY}`"));
}

/// (record key, commit time, ordering value) of every row: which version of each row a reader saw.
fn versions(rows: &[Map<String, Json>]) -> Vec<(String, String, String)> {
    let text = |r: &Map<String, Json>, k: &str| r.get(k).and_then(Json::as_str).unwrap_or_default().to_owned();
    let mut v: Vec<_> = rows
        .iter()
        .map(|r| (text(r, "_hoodie_record_key"), text(r, "_hoodie_commit_time"), text(r, "_event_seq")))
        .collect();
    v.sort();
    v
}

fn mysql_has_table(svc: &Services, db: &str, table: &str) -> bool {
    svc.query_text(&format!(
        "SELECT COUNT(*) FROM information_schema.TABLES WHERE TABLE_SCHEMA='{db}' AND TABLE_NAME='{table}'"
    ))
    .trim()
        != "0"
}

fn has_datetime(svc: &Services, db: &str, table: &str) -> bool {
    svc.query_text(&format!(
        "SELECT COUNT(*) FROM information_schema.COLUMNS WHERE TABLE_SCHEMA='{db}' AND TABLE_NAME='{table}' AND DATA_TYPE='datetime'"
    ))
    .trim()
        != "0"
}

/// A table read by `tests/it/py/hudi_read.py` (`reader`: `hudi` = the PyPI hudi package,
/// `timeline` = pyarrow + fastavro from the timeline), rows sorted by record key.
pub fn read_table_py(reader: &str, path: &str) -> Result<Vec<Map<String, Json>>, String> {
    let out = Command::new("python3")
        .arg(crate::services::repo().join("tests/it/py/hudi_read.py"))
        .args([reader, path])
        .env("RUST_BACKTRACE", "0")
        .output()
        .expect("run python3 tests/it/py/hudi_read.py");
    json_lines(&out, "hudi_read.py")
}

/// Seeded churn on `final.flights` while the sink is being killed: inserts of new keys, updates,
/// primary-key changes and deletes, so that every round has fresh events to write.
struct Churn {
    live: Vec<(String, i64)>,
    next: u32,
}

impl Churn {
    fn sql(&mut self, rng: &mut impl rand::Rng) -> String {
        let mut out = String::from("USE `final`;\nSTART TRANSACTION;\n");
        for _ in 0..rng.random_range(20..40) {
            let pick = rng.random_range(0..10);
            if pick < 4 || self.live.len() < 5 {
                self.next += 1;
                let (icao, lc) = (format!("c{:05x}", self.next), 1_800_000_000 + i64::from(self.next));
                out += &format!(
                    "INSERT INTO flights VALUES ('{icao}','CR{:06}','Churnland',{lc},{lc},{}.5,{}.25,{},FALSE,{},1.0,0.0,NULL,'{:04}',FALSE,0,{});\n",
                    self.next,
                    rng.random_range(-179..179),
                    rng.random_range(-89..89),
                    rng.random_range(0..12000),
                    rng.random_range(0..300),
                    rng.random_range(0..7777),
                    rng.random_range(0..8),
                );
                self.live.push((icao, lc));
            } else {
                let i = rng.random_range(0..self.live.len());
                let (icao, lc) = self.live[i].clone();
                match pick {
                    4..=6 => {
                        out += &format!(
                            "UPDATE flights SET velocity = {}, on_ground = {}, squawk = NULL WHERE icao24 = '{icao}' AND last_contact = {lc};\n",
                            rng.random_range(0..300),
                            rng.random_bool(0.5),
                        )
                    }
                    7 => {
                        let new_lc = lc + 1_000_000;
                        out += &format!(
                            "UPDATE flights SET last_contact = {new_lc} WHERE icao24 = '{icao}' AND last_contact = {lc};\n"
                        );
                        self.live[i].1 = new_lc;
                    }
                    _ => {
                        out += &format!("DELETE FROM flights WHERE icao24 = '{icao}' AND last_contact = {lc};\n");
                        self.live.swap_remove(i);
                    }
                }
            }
            if rng.random_bool(0.1) {
                out += "COMMIT;\nSTART TRANSACTION;\n";
            }
        }
        out + "COMMIT;\n"
    }
}

/// Instants of the data tables under `base` that were started and never completed.
fn pending_instants(base: &str) -> Vec<String> {
    let mut out = Vec::new();
    for (db, table, _) in TABLES {
        let dir = PathBuf::from(format!("{base}/{db}/{table}/.hoodie/timeline"));
        let Ok(entries) = std::fs::read_dir(&dir) else { continue };
        let names: Vec<String> = entries.flatten().map(|e| e.file_name().to_string_lossy().into_owned()).collect();
        // timeline layout 2: <ts>.commit.requested, <ts>.inflight, <ts>_<completion>.commit
        for n in &names {
            let Some(ts) = n.strip_suffix(".commit.requested") else { continue };
            if !names.iter().any(|m| m.starts_with(&format!("{ts}_")) && m.ends_with(".commit")) {
                out.push(format!("{db}.{table} {ts}"));
            }
        }
    }
    out
}

/// Kills at seeded random moments while change events keep arriving, restarting each time: aborts
/// at every failpoint of the sink (inside the upsert after its data files are written and before
/// the commit completes, between the upsert and the delete commit, between the commits and the
/// checkpoint, after the checkpoint), then SIGKILLs at random moments after the restarted sink
/// began writing. Afterwards every table equals MySQL: no row lost, none duplicated, none stale.
#[test]
fn hudi_sink_recovers_from_kills_at_random_moments() {
    use rand::{Rng, SeedableRng};
    let _g = serial();
    let svc = services();
    svc.reset_with_seed();
    let registry = RegistryProc::start(&unique("_schemas_it_hudicrash"));
    let (status, v) = registry.call("PUT", "/config", Some(r#"{"compatibility":"NONE"}"#));
    assert_eq!(status, 200, "{v}");
    let prefix = unique("k");
    let conv = "io.confluent.connect.avro.AvroConverter";
    let url = registry.url();
    let setup = Setup::new(
        &svc,
        &prefix,
        &[
            ("key.converter", conv),
            ("key.converter.schema.registry.url", url.as_str()),
            ("value.converter", conv),
            ("value.converter.schema.registry.url", url.as_str()),
        ],
    );
    let connector = setup.start("earliest");
    let frozen = run_stream_sql(&svc);
    let local = tempfile::tempdir().expect("tempdir");
    let base = local.path().join("lakehouse").to_string_lossy().into_owned();
    let seed: u64 = std::env::var("HUDI_CRASH_SEED").ok().and_then(|s| s.parse().ok()).unwrap_or(20240301);
    eprintln!("crash test seed {seed} (HUDI_CRASH_SEED)");
    let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
    let mut churn = Churn { live: Vec::new(), next: 0 };
    // small batches: many commits, so that kills land between them
    // final.flights partitioned by day: the churn's primary-key changes move rows across partitions
    let mut args = sink_args(&svc.kafka, &prefix, &url, &base, &unique("g"));
    args.extend(["--partition-field".to_string(), "final.flights=last_contact:day".to_string()]);
    args.extend(["--max-batch-records".to_string(), "5".to_string()]);
    let failpoints = ["during-upsert", "after-upsert", "after-commit", "after-checkpoint"];
    let mut aborted_at: BTreeMap<&str, usize> = BTreeMap::new();
    let mut left_pending = 0;
    for round in 0..14 {
        svc.sql(&churn.sql(&mut rng));
        let fp = (round < 8).then(|| failpoints[round % 4]);
        let spec = fp.map(|f| format!("{f}:{}", rng.random_range(1..4)));
        let mut sink = SinkProc::start_with_env(&format!("sink-crash-{round}"), &args, spec.as_deref());
        let outcome = match fp {
            Some(f) => {
                // run until the failpoint aborts the sink (or it is idle long enough: then SIGKILL)
                let deadline = Instant::now() + Duration::from_secs(90);
                while Instant::now() < deadline && sink.child.try_wait().ok().flatten().is_none() {
                    std::thread::sleep(Duration::from_millis(20));
                }
                if sink.child.try_wait().ok().flatten().is_some() {
                    assert!(
                        sink.log_contains("HUDI_SINK_FAILPOINT"),
                        "sink-crash-{round} exited, not at its failpoint"
                    );
                    *aborted_at.entry(f).or_default() += 1;
                    format!("aborted at {}", spec.as_deref().unwrap_or(""))
                } else {
                    format!("{} not reached: SIGKILL", spec.as_deref().unwrap_or(""))
                }
            }
            None => {
                // SIGKILL at a random moment after the sink started writing
                let deadline = Instant::now() + Duration::from_secs(90);
                while Instant::now() < deadline && !sink.log_contains("batch committed") {
                    sink.assert_running();
                    std::thread::sleep(Duration::from_millis(10));
                }
                let wait = Duration::from_millis(rng.random_range(0..2500));
                std::thread::sleep(wait);
                format!("SIGKILL {wait:?} after its first commit")
            }
        };
        drop(sink); // SIGKILL if still running
        let pending = pending_instants(&base);
        if !pending.is_empty() {
            left_pending += 1;
        }
        eprintln!("round {round}: {outcome}; pending instants {pending:?}");
    }
    for f in failpoints {
        assert!(aborted_at.get(f).is_some_and(|n| *n > 0), "no round aborted at {f}: {aborted_at:?}");
    }
    assert!(left_pending > 0, "no kill left a commit in flight");
    // the last run catches up with default batch sizes (a checkpoint does not depend on them)
    let mut sink = SinkProc::start("sink-final", &args[..args.len() - 2]);
    wait_equal(&svc, &base, &frozen, &TABLES, &mut [&mut sink], Duration::from_secs(300));
    // the commits the kills left in flight were rolled back (every table was written again after
    // its kill: the restart replays from the checkpoint before the interrupted batch)
    let pending = pending_instants(&base);
    assert!(pending.is_empty(), "instants still in flight after recovery: {pending:?}");
    let flights = read_table(&format!("{base}/final/flights")).expect("read flights");
    assert!(flights.iter().filter(|r| r["origin_country"] == "Churnland").count() >= 5, "the churn reached Hudi");
    let days: std::collections::BTreeSet<&str> =
        flights.iter().filter_map(|r| r["_hoodie_partition_path"].as_str()).collect();
    assert!(days.len() >= 2, "rows in several day partitions: {days:?}");
    sink.stop();
    connector.stop();
}

/// The offsets group `group` committed for partition 0 of each topic (-1: none).
fn group_offsets(kafka: &str, group: &str, topics: &[&str]) -> Vec<(String, i64)> {
    use rdkafka::consumer::{BaseConsumer, Consumer};
    let consumer: BaseConsumer = rdkafka::ClientConfig::new()
        .set("bootstrap.servers", kafka)
        .set("group.id", group)
        .set("enable.auto.commit", "false")
        .create()
        .expect("consumer");
    let mut tpl = rdkafka::TopicPartitionList::new();
    for t in topics {
        tpl.add_partition(t, 0);
    }
    let committed = consumer.committed_offsets(tpl, Duration::from_secs(30)).expect("committed offsets");
    topics
        .iter()
        .map(|t| {
            let offset = match committed.find_partition(t, 0).map(|e| e.offset()) {
                Some(rdkafka::Offset::Offset(o)) => o,
                _ => -1,
            };
            (t.to_string(), offset)
        })
        .collect()
}

/// Bad input (unknown schema id, neither Avro nor JSON, no key, a bad record mid-topic, a schema
/// change Hudi cannot take) stops only its table, logged with topic/partition/offset and shown by
/// `hudi_sink_table_stopped`; the JSON-converter table next to them is written; the sink exits
/// non-zero naming the stopped tables; a restart stops at the same records.
#[test]
fn hudi_sink_stops_a_table_on_bad_input_and_goes_on_with_the_others() {
    use rdkafka::admin::{AdminClient, AdminOptions, NewTopic, TopicReplication};
    use rdkafka::producer::{BaseProducer, BaseRecord, Producer};
    let _g = serial();
    let svc = services();
    let registry = RegistryProc::start(&unique("_schemas_it_hudibad"));
    let prefix = unique("b");
    let topics: Vec<String> = ["good.t", "bad.unknown_id", "bad.not_avro", "bad.no_key", "bad.late", "bad.retyped"]
        .iter()
        .map(|t| format!("{prefix}.{t}"))
        .collect();
    let admin: AdminClient<rdkafka::client::DefaultClientContext> =
        rdkafka::ClientConfig::new().set("bootstrap.servers", &svc.kafka).create().expect("admin client");
    let new: Vec<NewTopic> = topics.iter().map(|t| NewTopic::new(t, 1, TopicReplication::Fixed(1))).collect();
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    for r in rt.block_on(admin.create_topics(&new, &AdminOptions::new())).expect("create topics") {
        r.expect("topic created");
    }
    let producer: BaseProducer = rdkafka::ClientConfig::new().set("bootstrap.servers", &svc.kafka).create().unwrap();
    let row = |name: &str| {
        format!(
            r#"{{"type":"struct","fields":[{{"type":"int32","optional":false,"field":"id"}},{{"type":"string","optional":true,"field":"name"}}],"optional":true,"name":"p.good.t.Value","field":"{name}"}}"#
        )
    };
    let schema = format!(
        r#"{{"type":"struct","fields":[{},{},{{"type":"struct","fields":[{{"type":"string","optional":false,"field":"file"}},{{"type":"int64","optional":false,"field":"pos"}},{{"type":"int32","optional":true,"field":"row"}},{{"type":"int64","optional":false,"field":"ts_ms"}}],"optional":false,"name":"io.debezium.connector.mysql.Source","field":"source"}},{{"type":"string","optional":false,"field":"op"}},{{"type":"int64","optional":true,"field":"ts_ms"}}],"optional":false,"name":"p.good.t.Envelope"}}"#,
        row("before"),
        row("after")
    );
    let key = |id: i32| {
        format!(
            r#"{{"schema":{{"type":"struct","fields":[{{"type":"int32","optional":false,"field":"id"}}],"optional":false,"name":"p.good.t.Key"}},"payload":{{"id":{id}}}}}"#
        )
    };
    let value = |op: &str, before: Option<(i32, &str)>, after: Option<(i32, &str)>, pos: i64| {
        let img =
            |r: Option<(i32, &str)>| r.map_or("null".to_string(), |(id, n)| format!(r#"{{"id":{id},"name":"{n}"}}"#));
        format!(
            r#"{{"schema":{schema},"payload":{{"before":{},"after":{},"source":{{"file":"mysql-bin.000001","pos":{pos},"row":0,"ts_ms":1700000000000}},"op":"{op}","ts_ms":1700000000001}}}}"#,
            img(before),
            img(after)
        )
    };
    let good = topics[0].as_str();
    let send = |topic: &str, k: Option<String>, v: Option<String>| {
        let mut rec: BaseRecord<'_, String, String> = BaseRecord::to(topic);
        if let Some(k) = k.as_ref() {
            rec = rec.key(k);
        }
        if let Some(v) = v.as_ref() {
            rec = rec.payload(v);
        }
        producer.send(rec).map_err(|(e, _)| e).expect("produce");
    };
    send(good, Some(key(1)), Some(value("c", None, Some((1, "a")), 100)));
    send(good, Some(key(2)), Some(value("c", None, Some((2, "b")), 200)));
    send(good, Some(key(1)), Some(value("u", Some((1, "a")), Some((1, "a2")), 300)));
    send(good, Some(key(2)), Some(value("d", Some((2, "b")), None, 400)));
    send(good, Some(key(2)), None);
    // schema id 999999 does not exist in this registry
    send(topics[1].as_str(), Some(key(1)), Some(String::from_utf8_lossy(&[0, 0, 0x0f, 0x42, 0x3f, 2, 4]).into_owned()));
    send(topics[2].as_str(), Some(key(1)), Some("hello, not Avro".into()));
    send(topics[3].as_str(), None, Some(value("c", None, Some((1, "a")), 100)));
    // good records, a bad one at offset 2, a good one after it: the table ends right before offset 2
    let late = topics[4].as_str();
    send(late, Some(key(1)), Some(value("c", None, Some((1, "x")), 100)));
    send(late, Some(key(2)), Some(value("c", None, Some((2, "y")), 200)));
    send(late, Some(key(3)), Some("{not json".into()));
    send(late, Some(key(4)), Some(value("c", None, Some((4, "z")), 400)));
    // a schema change Hudi cannot take (a string column becomes an int: neither widens into the
    // other) stops the table at that record
    let retyped = topics[5].as_str();
    let int_name = |id: i32, pos: i64| {
        value("c", None, Some((id, "N")), pos)
            .replace(
                r#"{"type":"string","optional":true,"field":"name"}"#,
                r#"{"type":"int32","optional":true,"field":"name"}"#,
            )
            .replace(r#""name":"N""#, r#""name":7"#)
    };
    send(retyped, Some(key(1)), Some(value("c", None, Some((1, "s")), 100)));
    send(retyped, Some(key(2)), Some(int_name(2, 200)));
    send(retyped, Some(key(3)), Some(value("c", None, Some((3, "t")), 300)));
    producer.flush(Duration::from_secs(10)).expect("flush");

    let local = tempfile::tempdir().expect("tempdir");
    let base = local.path().join("lakehouse").to_string_lossy().into_owned();
    let group = unique("g");
    let mut args = sink_args(&svc.kafka, &prefix, &registry.url(), &base, &group);
    args[3] = format!(r"^{prefix}\..*");
    // (table, where, what): each stopped table's error line
    let expected = [
        ("bad.unknown_id", format!("{}/0@0", topics[1]), "schema id 999999 is not known"),
        ("bad.not_avro", format!("{}/0@0", topics[2]), "neither Confluent Avro"),
        ("bad.no_key", format!("{}/0@0", topics[3]), "record has no key"),
        ("bad.late", format!("{}/0@2", topics[4]), "JSON value"),
        ("bad.retyped", format!("{}/0@1", topics[5]), "schema change Hudi cannot take"),
    ];
    let stop_line = |sink: &SinkProc, (table, at, what): &(&str, String, &str)| {
        sink.lines.lock().unwrap().iter().any(|l| {
            l.contains("table stopped")
                && l.contains(&format!(r#""table":"{table}""#))
                && l.contains(at)
                && l.contains(what)
        })
    };
    for run in ["sink-bad", "sink-bad-restarted"] {
        let mut run_args = args.clone();
        run_args.extend(["--metrics-addr".to_string(), "127.0.0.1:0".to_string()]);
        let mut sink = SinkProc::start(run, &run_args);
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            sink.assert_running();
            let rows = read_table(&format!("{base}/good/t")).unwrap_or_default();
            let late = read_table(&format!("{base}/bad/late")).unwrap_or_default();
            let retyped = read_table(&format!("{base}/bad/retyped")).unwrap_or_default();
            let stopped = expected.iter().all(|e| stop_line(&sink, e));
            if rows.len() == 1 && late.len() == 2 && retyped.len() == 1 && stopped {
                assert_eq!((&rows[0]["id"], &rows[0]["name"]), (&Json::from(1), &Json::from("a2")));
                // the records before the bad one were written, none after it
                let late: Vec<_> = late.iter().map(|r| (r["id"].clone(), r["name"].clone())).collect();
                assert_eq!(late, [(Json::from(1), Json::from("x")), (Json::from(2), Json::from("y"))]);
                assert_eq!((&retyped[0]["id"], &retyped[0]["name"]), (&Json::from(1), &Json::from("s")));
                break;
            }
            assert!(
                Instant::now() < deadline,
                "{run}: good table {rows:?}, bad.late {late:?}, stopped tables: {stopped}\n{}",
                sink.lines.lock().unwrap().join("\n")
            );
            std::thread::sleep(Duration::from_millis(500));
        }
        for t in ["unknown_id", "not_avro", "no_key"] {
            assert!(!local.path().join(format!("lakehouse/bad/{t}/.hoodie")).exists(), "bad.{t} has a Hudi table");
        }
        // the metrics say the same
        let addr = sink
            .lines
            .lock()
            .unwrap()
            .iter()
            .filter_map(|l| serde_json::from_str::<Json>(l).ok())
            .find_map(|v| v.pointer("/fields/metrics_addr").and_then(Json::as_str).map(str::to_owned))
            .expect("the sink logs its metrics address");
        let text = crate::poller::http_get(&addr, "/metrics");
        let m = |name: &str, table: &str| crate::poller::metric(&text, &format!("{name}{{table=\"{table}\"}}"));
        if run == "sink-bad" {
            // 2 creates, an update, a delete and its tombstone
            assert_eq!(m("hudi_sink_records_in_total", "good.t"), Some(5.0), "{text}");
            assert!(m("hudi_sink_commits_total", "good.t").is_some_and(|n| n >= 1.0), "{text}");
            assert!(m("hudi_sink_upserts_total", "good.t").is_some_and(|n| n >= 1.0), "{text}");
            // (deletes count rows that were in Hudi: none when key 2's insert and delete fold together)
            assert!(m("hudi_sink_deletes_total", "good.t").is_some(), "{text}");
            // source.ts_ms of these records is 2023-11-14: the table is that far behind now
            assert!(m("hudi_sink_freshness_ms", "good.t").is_some_and(|ms| ms > 1e10), "{text}");
        }
        assert_eq!(m("hudi_sink_table_stopped", "good.t"), Some(0.0), "{text}");
        for (table, _, _) in &expected {
            assert_eq!(m("hudi_sink_table_stopped", table), Some(1.0), "{table}: {text}");
        }
        let _ = Command::new("kill").arg("-TERM").arg(sink.child.id().to_string()).status();
        let status = sink.child.wait().expect("wait");
        assert!(!status.success(), "the sink exits non-zero when tables stopped");
        assert!(sink.log_contains("tables stopped on errors"));
        // the group's committed offsets (for lag monitoring) are the checkpoints' next offsets
        let want = [(topics[0].as_str(), 5), (topics[4].as_str(), 2), (topics[5].as_str(), 1)];
        assert_eq!(group_offsets(&svc.kafka, &group, &want.map(|(t, _)| t)), want.map(|(t, o)| (t.to_string(), o)));
    }
}
