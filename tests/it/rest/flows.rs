//! The Debezium tutorial flow, and the offsets API of KIP-875.

use std::time::{Duration, Instant};

use serde_json::{json, Value};

use super::*;
use crate::services::{serial, services, unique};

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
