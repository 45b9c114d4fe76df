//! Several connectors in one worker, one failing; a worker restart.

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use cdc_connector::offsets::{offset_key_json, SourceOffset};
use serde_json::{json, Value};

use super::*;
use crate::services::{serial, services, unique};

/// Two connectors (two databases, two topic prefixes) in one worker: one fails (wrong password)
/// and shows FAILED with its trace while the other keeps RUNNING and capturing; fixing the failed
/// one's config brings it up. Also: 409, 400 naming the property, 404, restart semantics,
/// per-connector metrics, and a worker restart on the configs file (file offsets).
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

    // The configs file next to the offsets file brings both back after a worker restart.
    insert(&svc, "rest_one", "customers", &[4]);
    let serve = Serve::start(&dir.path().join("worker.properties"), &[]);
    assert_eq!(serve.get("/connectors").body, json!(["one", "two"]));
    serve.wait_state("one", "RUNNING", Some("RUNNING"));
    serve.wait_state("two", "RUNNING", Some("RUNNING"));
    assert_eq!(serve.get("/connectors/two/config").body["database.password"], PASSWORD);
    let all = wait_changes(&svc.kafka, &p1, "one's insert made while the worker was down", |all| {
        count(all, "customers", "c", 4) == 1
    });
    assert_eq!(all.iter().filter(|c| c.1 == "r").count(), 1, "one was not snapshotted again");
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
