//! `cdc-connector serve`: Kafka Connect's REST API (issue 9). Each test starts the worker binary
//! the way a user does (`serve --worker worker.properties`, here on a free port), talks to it
//! over HTTP (curl for the tutorial's registration, reqwest otherwise) and checks what reaches
//! Kafka. The acceptance points:
//! * the Debezium tutorial flow ([`tutorial_flow_register_put_pause_resume_delete`]);
//! * the offsets API of KIP-875 ([`offsets_api_get_patch_delete`]);
//! * two connectors, one failing ([`two_connectors_one_failing`]);
//! * a worker restart keeps configs and positions ([`worker_restart_keeps_configs_and_positions`]);
//! * response bodies with Kafka Connect's fields ([`responses_have_kafka_connects_fields`]).

use std::collections::{BTreeMap, BTreeSet};
use std::ffi::OsString;
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use cdc_connector::offsets::file::FileOffsetStore;
use cdc_connector::offsets::{offset_key_json, SourceOffset};
use serde_json::{json, Value};

use crate::connector::Running;
use crate::services::{read_topics, serial, services, unique, Services};

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

/// The Debezium tutorial with curl: register `register-mysql.json`, poll the status to RUNNING,
/// see the records, change the config (the connector restarts with it), pause (nothing emitted)
/// and resume (nothing lost), delete.
#[test]
fn tutorial_flow_register_put_pause_resume_delete() {
    let _g = serial();
    let svc = services();
    create_user(&svc);
    let db = "rest_tut";
    fresh_database(&svc, db, &[1001, 1002, 1003, 1004], &[1, 2]);
    let prefix = unique("resttut");
    let dir = worker_dir(&svc, FILE_OFFSETS);
    let serve = Serve::start(&dir.path().join("worker.properties"), &[]);
    let name = "inventory-connector";

    // POST the tutorial's file with the tutorial's curl command line (trailing slash included).
    let register = json!({ "name": name, "config": tutorial_config(&svc, &prefix, db, 184054) });
    let file = dir.path().join("register-mysql.json");
    std::fs::write(&file, serde_json::to_vec_pretty(&register).unwrap()).unwrap();
    let out = Command::new("curl")
        .args(["-s", "-o", "-", "-w", "\n%{http_code}", "-X", "POST", "-H", "Accept:application/json"])
        .args(["-H", "Content-Type:application/json"])
        .arg(format!("http://localhost:{}/connectors/", serve.port))
        .arg("-d")
        .arg(format!("@{}", file.display()))
        .output()
        .expect("curl");
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    let (body, code) = text.rsplit_once('\n').expect("curl output");
    assert_eq!(code, "201", "POST /connectors/: {text}");
    let created: Value = serde_json::from_str(body).expect("JSON body");
    assert_eq!(created["name"], name);
    assert_eq!(created["type"], "source");
    assert_eq!(created["config"]["database.password"], PASSWORD, "the config is returned as stored, as Connect does");
    assert_eq!(created["tasks"], json!([{ "connector": name, "task": 0 }]));

    let status = serve.wait_state(name, "RUNNING", Some("RUNNING"));
    assert_eq!(status["connector"]["worker_id"], format!("127.0.0.1:{}", serve.port));
    // The snapshot, then a streamed insert.
    wait_changes(&svc.kafka, &prefix, "snapshot records", |all| all.iter().filter(|c| c.1 == "r").count() == 6);
    insert(&svc, db, "customers", &[1005]);
    insert(&svc, db, "orders", &[3]);
    wait_changes(&svc.kafka, &prefix, "streamed inserts", |all| {
        count(all, "customers", "c", 1005) == 1 && count(all, "orders", "c", 3) == 1
    });

    // PUT a changed config: only customers from now on. 200 (it exists), and it restarts with it.
    let mut config = tutorial_config(&svc, &prefix, db, 184054);
    config["table.include.list"] = json!(format!("{db}.customers"));
    let put = serve.call("PUT", &format!("/connectors/{name}/config"), Some(&config));
    assert_eq!(put.status, 200, "{}", put.body);
    assert_eq!(put.body["config"]["table.include.list"], format!("{db}.customers"));
    let mut want = config.clone();
    want["name"] = json!(name);
    assert_eq!(serve.get(&format!("/connectors/{name}/config")).body, want);
    serve.wait_state(name, "RUNNING", Some("RUNNING"));
    insert(&svc, db, "customers", &[1006]);
    insert(&svc, db, "orders", &[4]);
    wait_changes(&svc.kafka, &prefix, "customer 1006", |all| count(all, "customers", "c", 1006) == 1);
    std::thread::sleep(Duration::from_secs(2));
    assert_eq!(count(&changes(&svc.kafka, &prefix), "orders", "c", 4), 0, "orders are no longer captured");

    // Pause: nothing is emitted while paused.
    let pause = serve.call("PUT", &format!("/connectors/{name}/pause"), None);
    assert_eq!((pause.status, pause.body), (202, Value::Null));
    serve.wait_state(name, "PAUSED", Some("PAUSED"));
    insert(&svc, db, "customers", &[1007, 1008]);
    std::thread::sleep(Duration::from_secs(4));
    let paused = changes(&svc.kafka, &prefix);
    assert_eq!(
        count(&paused, "customers", "c", 1007) + count(&paused, "customers", "c", 1008),
        0,
        "records while paused"
    );
    // Resume: what happened while paused arrives, once.
    assert_eq!(serve.call("PUT", &format!("/connectors/{name}/resume"), None).status, 202);
    serve.wait_state(name, "RUNNING", Some("RUNNING"));
    let all = wait_changes(&svc.kafka, &prefix, "the inserts made while paused", |all| {
        count(all, "customers", "c", 1007) == 1 && count(all, "customers", "c", 1008) == 1
    });
    std::thread::sleep(Duration::from_secs(2));
    let all = changes(&svc.kafka, &prefix).max_len(all);
    for id in 1001..=1004 {
        assert_eq!(count(&all, "customers", "r", id), 1, "customer {id} snapshotted once: {all:?}");
    }
    for id in 1005..=1008 {
        assert_eq!(count(&all, "customers", "c", id), 1, "customer {id} emitted once: {all:?}");
    }

    // DELETE: gone.
    let del = serve.call("DELETE", &format!("/connectors/{name}"), None);
    assert_eq!((del.status, del.body), (204, Value::Null));
    let gone = serve.get(&format!("/connectors/{name}"));
    assert_eq!(gone.status, 404);
    assert_eq!(gone.body, json!({ "error_code": 404, "message": format!("Connector {name} not found") }));
    assert_eq!(serve.get(&format!("/connectors/{name}/status")).status, 404);
    assert_eq!(serve.get("/connectors").body, json!([]));
    serve.stop();
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

/// KIP-875: GET shows the stored offset; PATCH and DELETE only while STOPPED; an earlier offset
/// makes the resumed connector re-emit from there; no offset makes it snapshot again.
#[test]
fn offsets_api_get_patch_delete() {
    let _g = serial();
    let svc = services();
    create_user(&svc);
    let db = "rest_off";
    fresh_database(&svc, db, &[1001, 1002], &[]);
    let prefix = unique("restoff");
    let dir = worker_dir(&svc, FILE_OFFSETS);
    let offsets_file = dir.path().join("offsets.dat");
    let serve = Serve::start(&dir.path().join("worker.properties"), &[]);
    let name = "off-connector";
    let created = serve.call(
        "POST",
        "/connectors",
        Some(&json!({ "name": name, "config": tutorial_config(&svc, &prefix, db, 5301) })),
    );
    assert_eq!(created.status, 201, "{}", created.body);
    assert_eq!(created.location.as_deref(), Some(format!("{}/connectors/{name}", serve.base).as_str()));
    serve.wait_state(name, "RUNNING", Some("RUNNING"));
    wait_changes(&svc.kafka, &prefix, "snapshot", |all| all.iter().filter(|c| c.1 == "r").count() == 2);
    insert(&svc, db, "customers", &[1003]);
    wait_changes(&svc.kafka, &prefix, "1003", |all| count(all, "customers", "c", 1003) == 1);

    // Not while running.
    let stopped_msg = format!("Connectors must be in the STOPPED state before their offsets can be modified. This can be done for the specified connector by issuing a 'PUT' request to the '/connectors/{name}/stop' endpoint");
    let body = json!({ "offsets": [{ "partition": { "server": prefix }, "offset": { "file": "mysql-bin.000001", "pos": 4 } }] });
    for (method, b) in [("PATCH", Some(&body)), ("DELETE", None)] {
        let r = serve.call(method, &format!("/connectors/{name}/offsets"), b);
        assert_eq!((r.status, r.body), (400, json!({ "error_code": 400, "message": stopped_msg })), "{method}");
    }

    // GET = what the file holds (the offset after 1003).
    let get_offset = |serve: &Serve| {
        let r = serve.get(&format!("/connectors/{name}/offsets"));
        assert_eq!(r.status, 200);
        r.body
    };
    let one = |offset: &Value| json!({ "offsets": [{ "partition": { "server": prefix }, "offset": offset }] });
    let deadline = Instant::now() + Duration::from_secs(30);
    let o1 = loop {
        let got = get_offset(&serve);
        let file = file_offset(&offsets_file, name, &prefix);
        if let Some(f) = file.filter(|f| got == one(f) && f.get("snapshot").is_none()) {
            break f;
        }
        assert!(Instant::now() < deadline, "GET offsets {got} never matched the file");
        std::thread::sleep(Duration::from_millis(300));
    };
    insert(&svc, db, "customers", &[1004, 1005]);
    wait_changes(&svc.kafka, &prefix, "1004, 1005", |all| {
        count(all, "customers", "c", 1004) == 1 && count(all, "customers", "c", 1005) == 1
    });

    // STOP: no task; the final offset is stored and shown.
    let stop = serve.call("PUT", &format!("/connectors/{name}/stop"), None);
    assert_eq!((stop.status, stop.body), (204, Value::Null));
    serve.wait_state(name, "STOPPED", None);
    assert_eq!(serve.get(&format!("/connectors/{name}/tasks")).body, json!([]));
    let o2 = file_offset(&offsets_file, name, &prefix).expect("an offset");
    assert_ne!(o1, o2, "the offset moved past 1004 and 1005");
    assert_eq!(get_offset(&serve), one(&o2));

    // Bad PATCH bodies are refused, naming what is wrong.
    let bad = |b: Value| serve.call("PATCH", &format!("/connectors/{name}/offsets"), Some(&b));
    let r = bad(json!({ "offsets": [] }));
    assert_eq!(r.body["message"], "Partitions / offsets need to be provided for an alter offsets request");
    let r =
        bad(json!({ "offsets": [{ "partition": { "server": prefix }, "offset": { "file": "mysql-bin.000001" } }] }));
    assert_eq!(r.status, 400);
    assert!(r.body["message"].as_str().unwrap().contains("\"pos\""), "{}", r.body);
    let r = bad(json!({ "offsets": [{ "partition": { "server": "other" }, "offset": o1 }] }));
    assert_eq!(r.status, 400);
    assert!(r.body["message"].as_str().unwrap().contains("topic.prefix"), "{}", r.body);
    assert_eq!(get_offset(&serve), one(&o2), "nothing was written");

    // PATCH back to the offset after 1003, resume: 1004 and 1005 again, 1003 not.
    let r = serve.call("PATCH", &format!("/connectors/{name}/offsets"), Some(&one(&o1)));
    assert_eq!(
        (r.status, r.body),
        (200, json!({ "message": "The offsets for this connector have been altered successfully" }))
    );
    assert_eq!(get_offset(&serve), one(&o1));
    assert_eq!(file_offset(&offsets_file, name, &prefix), Some(o1.clone()));
    assert_eq!(serve.call("PUT", &format!("/connectors/{name}/resume"), None).status, 202);
    serve.wait_state(name, "RUNNING", Some("RUNNING"));
    let all = wait_changes(&svc.kafka, &prefix, "1004 and 1005 again", |all| {
        count(all, "customers", "c", 1004) == 2 && count(all, "customers", "c", 1005) == 2
    });
    assert_eq!(count(&all, "customers", "c", 1003), 1, "1003 is before the patched offset");

    // DELETE the offsets (stopped): the next start takes a snapshot again.
    assert_eq!(serve.call("PUT", &format!("/connectors/{name}/stop"), None).status, 204);
    let r = serve.call("DELETE", &format!("/connectors/{name}/offsets"), None);
    assert_eq!(
        (r.status, r.body),
        (200, json!({ "message": "The offsets for this connector have been reset successfully" }))
    );
    assert_eq!(get_offset(&serve), json!({ "offsets": [] }));
    assert_eq!(file_offset(&offsets_file, name, &prefix), None);
    assert_eq!(serve.call("PUT", &format!("/connectors/{name}/resume"), None).status, 202);
    wait_changes(&svc.kafka, &prefix, "a second snapshot", |all| {
        (1001..=1002).all(|id| count(all, "customers", "r", id) == 2)
            && (1003..=1005).all(|id| count(all, "customers", "r", id) == 1)
    });
    serve.wait_for(&format!("/connectors/{name}/offsets"), "an offset after the new snapshot", |b| {
        b["offsets"][0]["offset"]["file"].is_string() && b["offsets"][0]["offset"].get("snapshot").is_none()
    });
    serve.stop();
}

/// Two connectors (two databases, two topic prefixes) in one worker: one fails (wrong password)
/// and shows FAILED with its trace while the other keeps RUNNING and capturing; fixing the failed
/// one's config brings it up. Also: 409, 400 naming the property, 404, restart semantics,
/// per-connector metrics.
#[test]
fn two_connectors_one_failing() {
    let _g = serial();
    let svc = services();
    create_user(&svc);
    fresh_database(&svc, "rest_one", &[1], &[]);
    second_database(&svc, "rest_two", 7);
    let (p1, p2) = (unique("restone"), unique("resttwo"));
    let dir = worker_dir(&svc, FILE_OFFSETS);
    let serve = Serve::start(&dir.path().join("worker.properties"), &["--metrics-addr", "127.0.0.1:0"]);

    let one = tutorial_config(&svc, &p1, "rest_one", 5401);
    let mut two = tutorial_config(&svc, &p2, "rest_two", 5402);
    two["database.password"] = json!(WRONG_PASSWORD);
    for (n, c) in [("one", &one), ("two", &two)] {
        let r = serve.call("POST", "/connectors", Some(&json!({ "name": n, "config": c })));
        assert_eq!(r.status, 201, "{}", r.body);
    }
    let failed = serve.wait_state("two", "RUNNING", Some("FAILED"));
    let trace = failed["tasks"][0]["trace"].as_str().expect("a trace on the failed task");
    assert!(trace.contains("rejected user 'restuser'"), "trace: {trace}");
    assert!(failed["connector"].get("trace").is_none(), "the connector instance itself did not fail");
    serve.wait_state("one", "RUNNING", Some("RUNNING"));
    wait_changes(&svc.kafka, &p1, "one's snapshot", |all| count(all, "customers", "r", 1) == 1);
    insert(&svc, "rest_one", "customers", &[2]);
    wait_changes(&svc.kafka, &p1, "one's insert", |all| count(all, "customers", "c", 2) == 1);

    // Errors in Connect's shape.
    let dup = serve.call("POST", "/connectors", Some(&json!({ "name": "one", "config": one })));
    assert_eq!((dup.status, dup.body), (409, json!({ "error_code": 409, "message": "Connector one already exists" })));
    let mut bad = one.clone();
    bad.as_object_mut().unwrap().remove("topic.prefix");
    bad["database.port"] = json!("port-abc");
    let r = serve.call("POST", "/connectors", Some(&json!({ "name": "bad", "config": bad })));
    assert_eq!(r.status, 400, "{}", r.body);
    let msg = r.body["message"].as_str().unwrap();
    assert!(msg.starts_with("Connector configuration is invalid and contains the following 2 error(s):"), "{msg}");
    assert!(msg.contains("`topic.prefix`") && msg.contains("`database.port`"), "{msg}");
    assert!(!msg.contains(PASSWORD));
    let mut same_id = tutorial_config(&svc, &unique("restthree"), "rest_one", 5401);
    same_id["table.include.list"] = json!("rest_one.orders");
    let r = serve.call("PUT", "/connectors/three/config", Some(&same_id));
    assert_eq!(r.status, 400);
    assert!(
        r.body["message"].as_str().unwrap().contains("database.server.id 5401 is already used by connector 'one'"),
        "{}",
        r.body
    );
    for (method, path) in [
        ("GET", "/connectors/nope/status"),
        ("PUT", "/connectors/nope/pause"),
        ("GET", "/connectors/nope/offsets"),
        ("POST", "/connectors/one/tasks/1/restart"),
        ("GET", "/no/such/path"),
    ] {
        let r = serve.call(method, path, None);
        assert_eq!(r.status, 404, "{method} {path}: {}", r.body);
        assert_eq!(r.body["error_code"], 404);
        assert!(r.body["message"].is_string());
    }

    // Input that is not even well-formed gets Connect's error body too.
    let r = serve.get("/connectors/%FF%FE/status");
    assert_eq!((r.status, &r.body["error_code"]), (400, &json!(400)), "{}", r.body);
    let raw = serve.rt.block_on(async {
        let resp = serve.client.post(format!("{}/connectors", serve.base)).body("{\"name\": ").send().await.unwrap();
        (resp.status().as_u16(), resp.json::<Value>().await.unwrap())
    });
    assert_eq!((raw.0, &raw.1["error_code"]), (400, &json!(400)), "{}", raw.1);

    // Restart only what failed: 202 with the plan; still failing (the password is still wrong).
    let r = serve.call("POST", "/connectors/two/restart?includeTasks=true&onlyFailed=true", None);
    assert_eq!(r.status, 202, "{}", r.body);
    assert_eq!(r.body["connector"]["state"], "RUNNING");
    assert_eq!(r.body["tasks"][0]["state"], "RESTARTING");
    let r = serve.call("POST", "/connectors/two/restart", None);
    assert_eq!((r.status, r.body), (204, Value::Null), "a plain restart restarts the connector instance only");
    serve.wait_state("two", "RUNNING", Some("FAILED"));
    assert_eq!(serve.call("POST", "/connectors/two/tasks/0/restart", None).status, 204);
    serve.wait_state("two", "RUNNING", Some("FAILED"));

    // Fix the password: two comes up and captures; one never stopped.
    let r = serve.call("PATCH", "/connectors/two/config", Some(&json!({ "database.password": PASSWORD })));
    assert_eq!(r.status, 200, "{}", r.body);
    serve.wait_state("two", "RUNNING", Some("RUNNING"));
    wait_changes(&svc.kafka, &p2, "two's snapshot", |all| count(all, "customers", "r", 7) == 1);
    insert(&svc, "rest_one", "customers", &[3]);
    insert(&svc, "rest_two", "customers", &[8]);
    wait_changes(&svc.kafka, &p1, "one's second insert", |all| count(all, "customers", "c", 3) == 1);
    wait_changes(&svc.kafka, &p2, "two's insert", |all| count(all, "customers", "c", 8) == 1);
    assert_eq!(changes(&svc.kafka, &p1).iter().filter(|c| c.1 == "r").count(), 1, "one was never restarted");

    // Each connector's metrics under its own label.
    let metrics = serve.metrics_text();
    for n in ["one", "two"] {
        assert!(
            metrics.lines().any(|l| l.starts_with("debezium_metrics_TotalNumberOfEventsSeen")
                && l.contains(&format!("connector=\"{n}\""))),
            "no metrics for {n}:\n{metrics}"
        );
    }
    let offsets: BTreeSet<String> = FileOffsetStore::open(dir.path().join("offsets.dat"))
        .unwrap()
        .load()
        .keys()
        .map(|k| String::from_utf8_lossy(k).into_owned())
        .collect();
    assert_eq!(offsets.len(), 2, "both connectors' offsets in the one file: {offsets:?}");
    serve.stop();
}

/// A worker restart (config topic + offsets topic, as distributed Connect) keeps every
/// connector's config, target state and position: nothing is snapshotted again or lost.
#[test]
fn worker_restart_keeps_configs_and_positions() {
    let _g = serial();
    let svc = services();
    create_user(&svc);
    let db = "rest_rs";
    fresh_database(&svc, db, &[1, 2], &[]);
    second_database(&svc, "rest_rs2", 9);
    let (p1, p2) = (unique("restrs"), unique("restrstwo"));
    let config_topic = format!("{p1}-configs");
    let extra = format!(
        "offset.storage.topic={p1}-offsets\noffset.storage.replication.factor=1\nconfig.storage.topic={config_topic}\nconfig.storage.replication.factor=1\n"
    );
    let dir = worker_dir(&svc, &extra);
    let worker = dir.path().join("worker.properties");
    let serve = Serve::start(&worker, &[]);
    let c1 = tutorial_config(&svc, &p1, db, 5501);
    let c2 = tutorial_config(&svc, &p2, "rest_rs2", 5502);
    let r = serve.call("POST", "/connectors", Some(&json!({ "name": "c1", "config": c1 })));
    assert_eq!(r.status, 201, "{}", r.body);
    let r = serve.call("POST", "/connectors", Some(&json!({ "name": "c2", "config": c2, "initial_state": "PAUSED" })));
    assert_eq!(r.status, 201, "{}", r.body);
    serve.wait_state("c1", "RUNNING", Some("RUNNING"));
    serve.wait_state("c2", "PAUSED", Some("PAUSED"));
    wait_changes(&svc.kafka, &p1, "c1's snapshot", |all| all.iter().filter(|c| c.1 == "r").count() == 2);
    insert(&svc, db, "customers", &[3]);
    wait_changes(&svc.kafka, &p1, "3", |all| count(all, "customers", "c", 3) == 1);
    serve.stop();

    // While the worker is down.
    insert(&svc, db, "customers", &[4, 5]);
    svc.sql(&format!("UPDATE {db}.customers SET name = 'one' WHERE id = 1;"));

    // The config topic holds Connect's records.
    let records: BTreeMap<String, Value> = read_topics(&svc.kafka, &config_topic)
        .into_iter()
        .filter_map(|r| Some((String::from_utf8(r.key?).ok()?, serde_json::from_slice(r.value.as_deref()?).ok()?)))
        .collect();
    let mut want_c1 = c1.clone();
    want_c1["name"] = json!("c1");
    assert_eq!(records["connector-c1"], json!({ "properties": want_c1 }));
    assert_eq!(records["target-state-c1"], json!({ "state": "STARTED", "state.v2": "STARTED" }));
    assert_eq!(records["target-state-c2"], json!({ "state": "PAUSED", "state.v2": "PAUSED" }));
    assert_eq!(records["commit-c1"], json!({ "tasks": 1 }));
    assert_eq!(records["task-c1-0"]["properties"]["task.class"], "io.debezium.connector.mysql.MySqlConnectorTask");

    let serve = Serve::start(&worker, &[]);
    assert_eq!(serve.get("/connectors").body, json!(["c1", "c2"]));
    assert_eq!(serve.get("/connectors/c1/config").body, want_c1);
    serve.wait_state("c1", "RUNNING", Some("RUNNING"));
    serve.wait_state("c2", "PAUSED", Some("PAUSED"));
    let all = wait_changes(&svc.kafka, &p1, "the changes made while the worker was down", |all| {
        count(all, "customers", "c", 4) == 1
            && count(all, "customers", "c", 5) == 1
            && count(all, "customers", "u", 1) == 1
    });
    std::thread::sleep(Duration::from_secs(2));
    let all = changes(&svc.kafka, &p1).max_len(all);
    assert_eq!(all.iter().filter(|c| c.1 == "r").count(), 2, "no second snapshot: {all:?}");
    for id in 3..=5 {
        assert_eq!(count(&all, "customers", "c", id), 1, "{id} exactly once: {all:?}");
    }
    assert!(changes(&svc.kafka, &p2).is_empty(), "c2 stayed paused");
    // Resumed after the restart, c2 starts (its first snapshot).
    assert_eq!(serve.call("PUT", "/connectors/c2/resume", None).status, 202);
    wait_changes(&svc.kafka, &p2, "c2's snapshot", |all| count(all, "customers", "r", 9) == 1);
    // GET offsets shows what the offsets topic holds (its last record for the connector's key).
    serve.call("PUT", "/connectors/c1/stop", None);
    let key = offset_key_json("c1", &p1);
    let stored = read_topics(&svc.kafka, &format!("{p1}-offsets"))
        .into_iter()
        .rev()
        .find(|r| r.key.as_deref() == Some(&key[..]))
        .and_then(|r| r.value)
        .expect("c1's offset record");
    let stored: Value = serde_json::from_slice(&stored).unwrap();
    SourceOffset::from_json(stored.to_string().as_bytes()).expect("a Debezium offset");
    let offsets = serve.get("/connectors/c1/offsets").body;
    assert_eq!(offsets, json!({ "offsets": [{ "partition": { "server": p1 }, "offset": stored }] }));
    serve.stop();
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

/// Response bodies have the fields of Kafka Connect's: each is compared with the documented
/// example of the same call (Apache Kafka `docs/connect.html` "REST API" and Confluent's
/// "Kafka Connect REST Interface" reference; fields Connect 3.x/4.x added since, such as
/// `type`, come from the entity classes of `connect/runtime/.../rest/entities`).
#[test]
fn responses_have_kafka_connects_fields() {
    let _g = serial();
    let svc = services();
    let dir = worker_dir(&svc, FILE_OFFSETS);
    let serve = Serve::start(&dir.path().join("worker.properties"), &[]);
    let prefix = unique("restdoc");
    // PAUSED from the start: a task, no pipeline (nothing needs the database here).
    let config = tutorial_config(&svc, &prefix, "rest_doc", 5601);
    let created =
        serve.call("POST", "/connectors", Some(&json!({ "name": "doc", "config": config, "initial_state": "PAUSED" })));
    let wid = format!("127.0.0.1:{}", serve.port);
    let documented: Vec<(&str, &str, Option<Value>, u16, Value)> = vec![
        (
            "GET",
            "/",
            None,
            200,
            json!({ "version": "3.9.0", "commit": "abc", "kafka_cluster_id": "I4ZmrWqfT2e-upky_4fdPA" }),
        ),
        ("GET", "/connectors", None, 200, json!(["doc"])),
        (
            "GET",
            "/connectors/doc",
            None,
            200,
            json!({ "name": "doc", "config": {}, "tasks": [{ "connector": "doc", "task": 0 }], "type": "source" }),
        ),
        ("GET", "/connectors/doc/config", None, 200, json!({})),
        (
            "GET",
            "/connectors/doc/status",
            None,
            200,
            json!({
                "name": "doc",
                "connector": { "state": "PAUSED", "worker_id": wid },
                "tasks": [{ "id": 0, "state": "PAUSED", "worker_id": wid }],
                "type": "source"
            }),
        ),
        ("GET", "/connectors/doc/tasks", None, 200, json!([{ "id": { "connector": "doc", "task": 0 }, "config": {} }])),
        ("GET", "/connectors/doc/tasks/0/status", None, 200, json!({ "id": 0, "state": "PAUSED", "worker_id": wid })),
        (
            "GET",
            "/connectors?expand=status&expand=info",
            None,
            200,
            json!({ "doc": {
            "status": { "name": "doc", "connector": { "state": "PAUSED", "worker_id": wid }, "tasks": [{ "id": 0, "state": "PAUSED", "worker_id": wid }], "type": "source" },
            "info": { "name": "doc", "config": {}, "tasks": [{ "connector": "doc", "task": 0 }], "type": "source" }
        } }),
        ),
        (
            "GET",
            "/connector-plugins",
            None,
            200,
            json!([{ "class": MYSQL_CONNECTOR, "type": "source", "version": "3.6.3.Final" }]),
        ),
        (
            "PUT",
            "/connector-plugins/MySqlConnector/config/validate",
            Some(json!({ "connector.class": MYSQL_CONNECTOR, "name": "x" })),
            200,
            json!({
                "name": MYSQL_CONNECTOR,
                "error_count": 1,
                "groups": ["Common"],
                "configs": [{
                    "definition": { "name": "topic.prefix", "type": "STRING", "required": true, "default_value": null, "importance": "HIGH",
                        "documentation": "..", "group": "Connector", "width": "NONE", "display_name": "..", "dependents": [], "order": 1 },
                    "value": { "name": "topic.prefix", "value": null, "recommended_values": [], "errors": [".."], "visible": true }
                }]
            }),
        ),
        ("GET", "/connectors/doc/offsets", None, 200, json!({ "offsets": [] })),
        (
            "POST",
            "/connectors/doc/restart?includeTasks=true",
            None,
            202,
            json!({
                "name": "doc", "connector": { "state": "RESTARTING", "worker_id": wid },
                "tasks": [{ "id": 0, "state": "RESTARTING", "worker_id": wid }], "type": "source"
            }),
        ),
        ("POST", "/connectors/doc/restart", None, 204, Value::Null),
        ("PUT", "/connectors/doc/stop", None, 204, Value::Null),
        (
            "GET",
            "/connectors/doc/status",
            None,
            200,
            json!({ "name": "doc", "connector": { "state": "STOPPED", "worker_id": wid }, "tasks": [], "type": "source" }),
        ),
        (
            "PATCH",
            "/connectors/doc/offsets",
            Some(
                json!({ "offsets": [{ "partition": { "server": prefix }, "offset": { "file": "mysql-bin.000001", "pos": 4 } }] }),
            ),
            200,
            json!({ "message": "The offsets for this connector have been altered successfully" }),
        ),
        ("GET", "/connectors/doc/offsets", None, 200, json!({ "offsets": [{ "partition": {}, "offset": {} }] })),
        (
            "DELETE",
            "/connectors/doc/offsets",
            None,
            200,
            json!({ "message": "The offsets for this connector have been reset successfully" }),
        ),
        ("PUT", "/connectors/doc/resume", None, 202, Value::Null),
        (
            "GET",
            "/connectors/missing",
            None,
            404,
            json!({ "error_code": 404, "message": "Connector missing not found" }),
        ),
        (
            "GET",
            "/health",
            None,
            200,
            json!({ "status": "healthy", "message": "Worker has completed startup and is ready to handle requests." }),
        ),
    ];
    assert_eq!(created.status, 201, "{}", created.body);
    assert_eq!(shape(&created.body), shape(&documented[2].4));
    for (method, path, body, status, example) in &documented {
        let r = serve.call(method, path, body.as_ref());
        assert_eq!(r.status, *status, "{method} {path}: {}", r.body);
        if path.ends_with("/config") {
            // A free-form map of property names to string values.
            assert!(r.body.as_object().is_some_and(|m| m.values().all(Value::is_string)), "{method} {path}");
            continue;
        }
        assert_eq!(shape(&r.body), shape(example), "{method} {path}: {}", r.body);
        // The status answers are the documented ones exactly (states, worker id).
        if path.ends_with("/status") || path.contains("restart?") {
            assert_eq!(r.body, *example, "{method} {path}");
        }
    }
    let root = serve.get("/").body;
    assert_eq!(root["version"], "4.3.0");
    let validate = serve
        .call(
            "PUT",
            "/connector-plugins/MySqlConnector/config/validate",
            Some(&json!({ "connector.class": MYSQL_CONNECTOR, "name": "x" })),
        )
        .body;
    let prefix_info =
        validate["configs"].as_array().unwrap().iter().find(|c| c["value"]["name"] == "topic.prefix").unwrap();
    assert!(prefix_info["value"]["errors"][0].as_str().unwrap().contains("topic.prefix"));
    let del = serve.call("DELETE", "/connectors/doc", None);
    assert_eq!((del.status, del.body), (204, Value::Null));
    // PUT .../config creates a missing connector (201 + Location), then replaces its config (200).
    let config2 = tutorial_config(&svc, &unique("restdoctwo"), "rest_doc", 5602);
    let put = serve.call("PUT", "/connectors/doc2/config", Some(&config2));
    assert_eq!(put.status, 201, "{}", put.body);
    assert_eq!(put.location, Some(format!("{}/connectors/doc2", serve.base)));
    assert_eq!(shape(&put.body), shape(&documented[2].4));
    let put = serve.call("PUT", "/connectors/doc2/config", Some(&config2));
    assert_eq!((put.status, put.location), (200, None));
    assert_eq!(put.body["name"], "doc2");
    assert_eq!(serve.call("DELETE", "/connectors/doc2", None).status, 204);
    serve.stop();
}
