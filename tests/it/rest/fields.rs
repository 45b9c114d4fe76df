//! Response bodies with Kafka Connect's fields.

use serde_json::{json, Value};

use super::*;
use crate::services::{serial, services, unique};

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
