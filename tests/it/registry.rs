//! The `schema-registry` binary against a real broker (tansu from `e2e/services.sh up`): each test
//! starts its own registry process(es) on a free port with a fresh `_schemas` topic (tansu topics
//! cannot be deleted). Client-level behaviour goes through Confluent's Python client
//! (`tests/it/py/registry_client.py`); raw status codes and bodies through a minimal HTTP client.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

use super::services::{repo, services, shared, unique};

/// One registry process, killed on drop.
pub(crate) struct RegistryProc {
    child: Child,
    pub port: u16,
    log: PathBuf,
}

impl RegistryProc {
    /// A registry on a free port, storing its schemas in `topic`.
    pub fn start(topic: &str) -> RegistryProc {
        RegistryProc::start_on(topic, free_port())
    }

    /// A registry on `port`.
    pub fn start_on(topic: &str, port: u16) -> RegistryProc {
        RegistryProc::start_against(&services().kafka, topic, &[]).on_port(port).wait_ready()
    }

    /// A registry on a free port, on the brokers at `kafka` with extra command-line `args`, not
    /// waited for.
    pub fn start_against(kafka: &str, topic: &str, args: &[&str]) -> RegistryStarting {
        RegistryStarting {
            kafka: kafka.to_string(),
            topic: topic.to_string(),
            args: args.iter().map(|a| a.to_string()).collect(),
            port: free_port(),
            env: Vec::new(),
        }
    }
}

/// A registry about to start ([`RegistryProc::start_against`]).
pub(crate) struct RegistryStarting {
    kafka: String,
    topic: String,
    args: Vec<String>,
    port: u16,
    env: Vec<(String, String)>,
}

impl RegistryStarting {
    fn on_port(mut self, port: u16) -> Self {
        self.port = port;
        self
    }

    /// Set an environment variable of the process.
    pub fn env(mut self, k: &str, v: &str) -> Self {
        self.env.push((k.to_string(), v.to_string()));
        self
    }

    /// Start it and wait until it answers.
    pub fn wait_ready(self) -> RegistryProc {
        let mut r = self.spawn();
        let port = r.port;
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            if let Ok(Some(st)) = r.child.try_wait() {
                panic!("schema-registry exited ({st}) during start-up:\n{}", r.log_text());
            }
            if let Ok((200, _)) = http(port, "GET", "/subjects", None) {
                return r;
            }
            assert!(Instant::now() < deadline, "schema-registry not answering after 60 s:\n{}", r.log_text());
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// Start it and wait for it to exit (a start that must fail): its exit status and log.
    pub fn run_to_exit(self, timeout: Duration) -> (std::process::ExitStatus, String) {
        let mut r = self.spawn();
        let deadline = Instant::now() + timeout;
        loop {
            if let Ok(Some(st)) = r.child.try_wait() {
                return (st, r.log_text());
            }
            assert!(Instant::now() < deadline, "schema-registry still running after {timeout:?}:\n{}", r.log_text());
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    fn spawn(self) -> RegistryProc {
        let port = self.port;
        let topic = &self.topic;
        let dir = std::env::temp_dir().join("cdc-it-registry");
        std::fs::create_dir_all(&dir).expect("log dir");
        let log = dir.join(format!("{topic}-{port}.log"));
        let child = Command::new(env!("CARGO_BIN_EXE_schema-registry"))
            .args(["--bootstrap-servers", &self.kafka, "--topic", topic, "--listen"])
            .arg(format!("127.0.0.1:{port}"))
            .args(&self.args)
            .envs(self.env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
            .env("CDC_LOG_FORMAT", "json")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(&log).expect("log file"))
            .spawn()
            .expect("start schema-registry");
        RegistryProc { child, port, log }
    }
}

impl RegistryProc {
    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    pub fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    pub fn call(&self, method: &str, path: &str, body: Option<&str>) -> (u16, Value) {
        let (status, text) = http(self.port, method, path, body).unwrap_or_else(|e| panic!("{method} {path}: {e}"));
        let v =
            serde_json::from_str(&text).unwrap_or_else(|e| panic!("{method} {path}: body is not JSON ({e}): {text}"));
        (status, v)
    }

    fn stop(mut self) {
        self.kill();
    }

    fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for RegistryProc {
    fn drop(&mut self) {
        self.kill();
    }
}

pub(crate) fn free_port() -> u16 {
    let l = std::net::TcpListener::bind("127.0.0.1:0").expect("bind a free port");
    l.local_addr().expect("addr").port()
}

/// Minimal HTTP/1.1 request (Connection: close): (status, body).
pub(crate) fn http(port: u16, method: &str, path: &str, body: Option<&str>) -> std::io::Result<(u16, String)> {
    let mut s = TcpStream::connect(("127.0.0.1", port))?;
    s.set_read_timeout(Some(Duration::from_secs(30)))?;
    let body = body.unwrap_or("");
    write!(
        s,
        "{method} {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\
         Content-Type: application/vnd.schemaregistry.v1+json\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    )?;
    let mut out = Vec::new();
    s.read_to_end(&mut out)?;
    let text = String::from_utf8_lossy(&out).to_string();
    let (head, rest) = text.split_once("\r\n\r\n").unwrap_or((&text, ""));
    let status = head.split_whitespace().nth(1).and_then(|s| s.parse().ok()).unwrap_or(0);
    let body =
        if head.to_ascii_lowercase().contains("transfer-encoding: chunked") { dechunk(rest) } else { rest.to_string() };
    Ok((status, body))
}

fn dechunk(mut s: &str) -> String {
    let mut out = String::new();
    while let Some((len, rest)) = s.split_once("\r\n") {
        let n = usize::from_str_radix(len.trim(), 16).unwrap_or(0);
        if n == 0 || rest.len() < n {
            break;
        }
        out.push_str(&rest[..n]);
        s = rest[n..].trim_start_matches("\r\n");
    }
    out
}

/// Run a scenario of `tests/it/py/registry_client.py`; returns its JSON result line.
fn py(args: &[&str]) -> Value {
    let script = repo().join("tests/it/py/registry_client.py");
    let out = Command::new("python3").arg(&script).args(args).output().expect("run python3");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "registry_client.py {args:?} failed:\n{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_str(stdout.lines().last().unwrap_or("")).unwrap_or_else(|e| panic!("result line: {e}: {stdout}"))
}

/// The oracle's schema golden file (`CDC_SHARED_DIR` overrides where `shared/` is, e.g. from a worktree).
fn golden_file() -> String {
    let dir = std::env::var_os("CDC_SHARED_DIR").map(PathBuf::from).unwrap_or_else(shared);
    dir.join("oracle/golden/main.avro-schemas.jsonl").display().to_string()
}

fn body(schema: &str) -> String {
    serde_json::json!({ "schema": schema }).to_string()
}

#[test]
fn registry_python_client_register_lookup_versions_delete_compatibility() {
    let r = RegistryProc::start(&unique("_schemas_it_basic"));
    let res = py(&["basic", &r.url(), "it"]);
    assert_eq!(res["ids"], serde_json::json!([1, 2, 3]));
}

#[test]
fn registry_golden_schemas_get_ids_in_order_and_survive_restart() {
    let topic = unique("_schemas_it_golden");
    let r = RegistryProc::start(&topic);
    let n = py(&["golden", &r.url(), &golden_file()])["n"].as_u64().expect("n") as usize;
    assert_eq!(n, 22);
    let before = py(&["dump", &r.url(), &n.to_string()]);
    r.stop();
    let r = RegistryProc::start(&topic);
    let after = py(&["dump", &r.url(), &n.to_string()]);
    assert_eq!(before, after, "after a restart every id resolves to the same schema and subjects keep their versions");
    // ids are never reused: the next new schema gets n + 1
    let (status, v) = r.call("POST", "/subjects/after-restart/versions", Some(&body(r#""string""#)));
    assert_eq!((status, v["id"].as_u64()), (200, Some(n as u64 + 1)));
}

#[test]
fn registry_two_instances_on_one_topic_agree() {
    let topic = unique("_schemas_it_two");
    let a = RegistryProc::start(&topic);
    let b = RegistryProc::start(&topic);
    let n = py(&["golden", &a.url(), &golden_file()])["n"].as_u64().expect("n");
    // B re-reads the topic before writing: new ids continue after A's
    let (status, v) = b.call("POST", "/subjects/via-b/versions", Some(&body(r#""long""#)));
    assert_eq!((status, v["id"].as_u64()), (200, Some(n + 1)), "{v}");
    // an existing schema registered through B under a new subject reuses A's id
    let (_, first) = a.call("GET", "/schemas/ids/1", None);
    let (status, v) = b.call("POST", "/subjects/copy-of-1/versions", Some(&serde_json::to_string(&first).unwrap()));
    assert_eq!((status, v["id"].as_u64()), (200, Some(1)), "{v}");
    let (status, v) = a.call("GET", "/subjects/copy-of-1/versions/latest", None);
    assert_eq!((status, v["id"].as_u64()), (200, Some(1)), "A sees B's write: {v}");
    let da = py(&["dump", &a.url(), &(n + 1).to_string()]);
    let db = py(&["dump", &b.url(), &(n + 1).to_string()]);
    assert_eq!(da, db, "both registries answer the same");
}

#[test]
fn registry_errors_have_confluent_codes_and_json_bodies() {
    let r = RegistryProc::start(&unique("_schemas_it_errors"));
    let v1 = r#"{"type":"record","name":"R","fields":[{"name":"a","type":"int"}]}"#;
    assert_eq!(r.call("POST", "/subjects/s-value/versions", Some(&body(v1))).0, 200);

    let code = |(status, v): (u16, Value)| (status, v["error_code"].as_i64().unwrap_or(0));
    // invalid schemas
    assert_eq!(code(r.call("POST", "/subjects/s-value/versions", Some(&body(r#"{"type":"recrd"}"#)))), (422, 42201));
    assert_eq!(code(r.call("POST", "/subjects/s-value/versions", Some(&body("{not json")))), (422, 42201));
    assert_eq!(
        code(r.call(
            "POST",
            "/subjects/s-value/versions",
            Some(&body(r#"{"type":"record","name":"X","fields":[{"name":"a","type":"Nope"}]}"#))
        )),
        (422, 42201)
    );
    // unknown subject / version / id
    assert_eq!(code(r.call("GET", "/subjects/none/versions", None)), (404, 40401));
    assert_eq!(code(r.call("GET", "/subjects/none/versions/latest", None)), (404, 40401));
    assert_eq!(code(r.call("GET", "/subjects/s-value/versions/9", None)), (404, 40402));
    assert_eq!(code(r.call("GET", "/schemas/ids/4242", None)), (404, 40403));
    assert_eq!(code(r.call("POST", "/subjects/s-value", Some(&body(r#""int""#)))), (404, 40403));
    assert_eq!(code(r.call("GET", "/subjects/s-value/versions/0", None)), (422, 42202));
    // BACKWARD-incompatible: 409 with error_code 409; FORWARD accepts it
    let v2 = r#"{"type":"record","name":"R","fields":[{"name":"a","type":"int"},{"name":"b","type":"int"}]}"#;
    assert_eq!(code(r.call("POST", "/subjects/s-value/versions", Some(&body(v2)))), (409, 409));
    let (s, v) = r.call("POST", "/compatibility/subjects/s-value/versions/latest", Some(&body(v2)));
    assert_eq!((s, &v["is_compatible"]), (200, &Value::Bool(false)));
    assert_eq!(r.call("PUT", "/config/s-value", Some(r#"{"compatibility":"FORWARD"}"#)).0, 200);
    assert_eq!(r.call("GET", "/config/s-value", None).1["compatibilityLevel"], "FORWARD");
    assert_eq!(r.call("GET", "/config", None).1["compatibilityLevel"], "BACKWARD");
    assert_eq!(r.call("POST", "/subjects/s-value/versions", Some(&body(v2))).0, 200);
    assert_eq!(code(r.call("PUT", "/config", Some(r#"{"compatibility":"SIDEWAYS"}"#))), (422, 42203));
    // unknown routes (confluent-kafka 2.16 probes /associations) and methods: JSON too
    let (s, v) = r.call("GET", "/associations/resources/default/topic?resourceType=topic", None);
    assert_eq!((s, v), (404, serde_json::json!({"error_code": 404, "message": "HTTP 404 Not Found"})));
    assert_eq!(code(r.call("PATCH", "/subjects", None)), (405, 405));
    assert_eq!(r.call("GET", "/mode", None).1, serde_json::json!({"mode": "READWRITE"}));
    assert_eq!(r.call("GET", "/schemas/types", None).1, serde_json::json!(["AVRO"]));
    // the raw schema endpoints
    let (s, v) = r.call("GET", "/subjects/s-value/versions/1/schema", None);
    assert_eq!((s, v), (200, serde_json::from_str::<Value>(v1).unwrap()));
}
