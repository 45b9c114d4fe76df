//! `cdc-connector serve`: Kafka Connect's REST API (issue 9). Each test starts the worker binary
//! the way a user does (`serve --worker worker.properties`, here on a free port), talks to it
//! over HTTP (curl for the tutorial's registration, reqwest otherwise) and checks what reaches
//! Kafka. This module is the harness; the acceptance points are tested in
//! * `flows`: the Debezium tutorial flow, and the offsets API of KIP-875;
//! * `workers`: two connectors with one failing, and a worker restart keeping configs and positions;
//! * `fields`: response bodies with Kafka Connect's fields.

mod fields;
mod flows;
mod workers;

use std::ffi::OsString;
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use cdc_connector::offsets::file::FileOffsetStore;
use serde_json::{json, Value};

use crate::connector::Running;
use crate::services::{read_topics, Services};

/// The password of the test's database user: it must never reach the worker's log.
const PASSWORD: &str = "rest-S3cret-pw";
/// A wrong password (for the failing connector): it must not reach the log either.
const WRONG_PASSWORD: &str = "wrong-S3cret-pw";
const MYSQL_CONNECTOR: &str = "io.debezium.connector.mysql.MySqlConnector";

/// A database user with Debezium's grants and [`PASSWORD`].
fn create_user(svc: &Services) {
    let mut sql = String::new();
    for host in ["%", "localhost", "127.0.0.1"] {
        sql.push_str(&format!(
            "CREATE USER IF NOT EXISTS 'restuser'@'{host}' IDENTIFIED BY '{PASSWORD}';\n\
             GRANT SELECT, RELOAD, SHOW DATABASES, REPLICATION SLAVE, REPLICATION CLIENT, LOCK TABLES ON *.* TO 'restuser'@'{host}';\n"
        ));
    }
    svc.sql(&sql);
}

/// Fresh binlog, then database `db` with `customers` and `orders`.
fn fresh_database(svc: &Services, db: &str, customers: &[i64], orders: &[i64]) {
    svc.sql(&format!(
        "DROP DATABASE IF EXISTS {db}; RESET MASTER; CREATE DATABASE {db};\n\
         CREATE TABLE {db}.customers (id INT PRIMARY KEY, name VARCHAR(64));\n\
         CREATE TABLE {db}.orders (id INT PRIMARY KEY, qty INT);"
    ));
    insert(svc, db, "customers", customers);
    insert(svc, db, "orders", orders);
}

/// Another database with one customer `id` (the binlog is kept).
fn second_database(svc: &Services, db: &str, id: i64) {
    svc.sql(&format!(
        "DROP DATABASE IF EXISTS {db}; CREATE DATABASE {db}; CREATE TABLE {db}.customers (id INT PRIMARY KEY, name VARCHAR(64));"
    ));
    insert(svc, db, "customers", &[id]);
}

fn insert(svc: &Services, db: &str, table: &str, ids: &[i64]) {
    for id in ids {
        let v = if table == "customers" { format!("'name-{id}'") } else { id.to_string() };
        svc.sql(&format!("INSERT INTO {db}.{table} VALUES ({id}, {v});"));
    }
}

/// A worker directory: `worker.properties` with JsonConverter and `extra` lines (`{dir}` stands
/// for the directory).
fn worker_dir(svc: &Services, extra: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("tempdir");
    let text = format!(
        "bootstrap.servers={}\nkey.converter=org.apache.kafka.connect.json.JsonConverter\nvalue.converter=org.apache.kafka.connect.json.JsonConverter\nkey.converter.schemas.enable=true\nvalue.converter.schemas.enable=true\noffset.flush.interval.ms=0\n{}",
        svc.kafka,
        extra.replace("{dir}", &dir.path().display().to_string())
    );
    std::fs::write(dir.path().join("worker.properties"), text).expect("write worker");
    dir
}

/// Offsets in `{dir}/offsets.dat` (standalone Connect's file).
const FILE_OFFSETS: &str = "offset.storage.file.filename={dir}/offsets.dat\n";

/// The connector config of the Debezium tutorial's `register-mysql.json`, pointed at the test
/// server, database `db` and topic prefix `prefix`.
fn tutorial_config(svc: &Services, prefix: &str, db: &str, server_id: u32) -> Value {
    json!({
        "connector.class": MYSQL_CONNECTOR,
        "tasks.max": "1",
        "database.hostname": svc.mysql_host,
        "database.port": svc.mysql_port.to_string(),
        "database.user": "restuser",
        "database.password": PASSWORD,
        "database.server.id": server_id.to_string(),
        "topic.prefix": prefix,
        "database.include.list": db,
        "schema.history.internal.kafka.bootstrap.servers": svc.kafka,
        "schema.history.internal.kafka.topic": format!("schema-changes.{prefix}"),
    })
}

/// A running `cdc-connector serve` and an HTTP client for it.
struct Serve {
    running: Running,
    base: String,
    port: u16,
    metrics: Option<String>,
    rt: tokio::runtime::Runtime,
    client: reqwest::Client,
}

/// An HTTP answer.
struct Resp {
    status: u16,
    body: Value,
    location: Option<String>,
}

impl Serve {
    fn start(worker: &Path, extra: &[&str]) -> Serve {
        let mut args: Vec<OsString> =
            vec!["serve".into(), "--worker".into(), worker.into(), "--rest-port".into(), "0".into()];
        args.extend(extra.iter().map(Into::into));
        let mut running = Running::spawn_with_args(&args);
        running.wait_for_log("Kafka Connect REST API listening", Duration::from_secs(60));
        let url_after = |lines: &[String], marker: &str| {
            lines
                .iter()
                .find_map(|l| l.split(marker).nth(1).map(|r| r.split(['/', ' ']).next().unwrap_or("").to_string()))
        };
        let addr = url_after(&running.lines, "rest=http://").expect("the REST address in the log");
        let metrics = url_after(&running.lines, "metrics_addr=");
        let port = addr.rsplit(':').next().and_then(|p| p.parse().ok()).expect("a port");
        let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime");
        Serve { running, base: format!("http://{addr}"), port, metrics, rt, client: reqwest::Client::new() }
    }

    fn call(&self, method: &str, path: &str, body: Option<&Value>) -> Resp {
        let url = format!("{}{path}", self.base);
        let method = reqwest::Method::from_bytes(method.as_bytes()).expect("method");
        let mut req = self.client.request(method.clone(), &url).timeout(Duration::from_secs(150));
        if let Some(b) = body {
            req = req.json(b);
        }
        self.rt.block_on(async {
            let resp = req.send().await.unwrap_or_else(|e| panic!("{method} {url}: {e}"));
            let status = resp.status().as_u16();
            let location = resp.headers().get("location").and_then(|v| v.to_str().ok()).map(str::to_string);
            let text = resp.text().await.expect("body");
            let body = if text.is_empty() {
                Value::Null
            } else {
                serde_json::from_str(&text).unwrap_or_else(|e| panic!("{method} {url}: not JSON ({e}): {text}"))
            };
            Resp { status, body, location }
        })
    }

    fn get(&self, path: &str) -> Resp {
        self.call("GET", path, None)
    }

    /// Poll `path` until `pred` holds for its body.
    fn wait_for(&self, path: &str, what: &str, pred: impl Fn(&Value) -> bool) -> Value {
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            let r = self.get(path);
            if r.status == 200 && pred(&r.body) {
                return r.body;
            }
            assert!(Instant::now() < deadline, "{path}: no {what} within 60 s; last answer {} {}", r.status, r.body);
            std::thread::sleep(Duration::from_millis(300));
        }
    }

    fn wait_state(&self, name: &str, connector: &str, task: Option<&str>) -> Value {
        self.wait_for(&format!("/connectors/{name}/status"), &format!("{connector}/{task:?}"), |s| {
            s["connector"]["state"] == connector
                && match task {
                    Some(t) => s["tasks"][0]["state"] == t,
                    None => s["tasks"].as_array().is_some_and(|a| a.is_empty()),
                }
        })
    }

    fn metrics_text(&self) -> String {
        let addr = self.metrics.as_ref().expect("--metrics-addr given");
        self.rt.block_on(async {
            self.client.get(format!("http://{addr}/metrics")).send().await.expect("metrics").text().await.expect("text")
        })
    }

    /// SIGTERM, wait for a clean exit; returns the whole log (checked for secrets).
    fn stop(self) -> String {
        let _ = Command::new("kill").arg("-TERM").arg(self.running.child.id().to_string()).status();
        let (code, log) = self.running.wait_exit(Duration::from_secs(120));
        assert_eq!(code, 0, "serve exited with {code}:\n{log}");
        for secret in [PASSWORD, WRONG_PASSWORD] {
            assert!(!log.contains(secret), "the worker log holds a database password:\n{log}");
        }
        log
    }
}

/// One data record: (table, op, id). Schema-change records and tombstones are left out.
type Change = (String, String, i64);

fn changes(kafka: &str, prefix: &str) -> Vec<Change> {
    read_topics(kafka, prefix)
        .into_iter()
        .filter(|c| c.topic != prefix)
        .filter_map(|c| {
            let value: Value = serde_json::from_slice(c.value.as_deref()?).ok()?;
            let key: Value = serde_json::from_slice(c.key.as_deref()?).ok()?;
            let table = c.topic.rsplit('.').next()?.to_string();
            Some((table, value["payload"]["op"].as_str()?.to_string(), key["payload"]["id"].as_i64()?))
        })
        .collect()
}

fn count(all: &[Change], table: &str, op: &str, id: i64) -> usize {
    all.iter().filter(|(t, o, i)| t == table && o == op && *i == id).count()
}

/// Wait until `pred` holds for the records of `prefix`; returns them.
fn wait_changes(kafka: &str, prefix: &str, what: &str, pred: impl Fn(&[Change]) -> bool) -> Vec<Change> {
    let deadline = Instant::now() + Duration::from_secs(90);
    loop {
        let all = changes(kafka, prefix);
        if pred(&all) {
            return all;
        }
        assert!(Instant::now() < deadline, "no {what} in the records of {prefix} within 90 s: {all:?}");
        std::thread::sleep(Duration::from_millis(500));
    }
}

/// `max_len`: the longer of two reads of a topic (a read right after another may miss nothing,
/// but never returns fewer records than were already seen).
trait MaxLen {
    fn max_len(self, other: Self) -> Self;
}

impl MaxLen for Vec<Change> {
    fn max_len(self, other: Self) -> Self {
        if self.len() >= other.len() {
            self
        } else {
            other
        }
    }
}

/// The stored offset of `name`/`prefix` in the offsets file, as JSON.
fn file_offset(path: &Path, name: &str, prefix: &str) -> Option<Value> {
    let o = FileOffsetStore::open(path).expect("offsets file").get(name, prefix).expect("offset")?;
    Some(serde_json::from_slice(&o.to_json()).unwrap())
}

/// The key structure of a JSON value: objects by key set (recursively), arrays of objects by
/// their first element (other arrays, empty ones included, as leaves); free-form maps (a connector's `config`, an offset's `partition`/`offset`) as leaves.
fn shape(v: &Value) -> Value {
    match v {
        Value::Object(m) => Value::Object(
            m.iter()
                .map(|(k, v)| {
                    let leaf = matches!(k.as_str(), "config" | "partition" | "offset");
                    (k.clone(), if leaf { json!("map") } else { shape(v) })
                })
                .collect(),
        ),
        Value::Array(a) => match a.first() {
            Some(first @ Value::Object(_)) => Value::Array(vec![shape(first)]),
            _ => json!("array"),
        },
        _ => json!("value"),
    }
}
