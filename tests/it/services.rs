//! Access to the services `e2e/services.sh up` starts (MariaDB with a ROW binlog, tansu).
//! Tests fail loudly when a service is missing: they never skip.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::{Mutex, MutexGuard};
use std::time::{Duration, Instant};

use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::message::{Headers, Message};
use rdkafka::{ClientConfig, Offset, TopicPartitionList};

/// Tests that touch the shared MariaDB binlog run one at a time.
static DB_LOCK: Mutex<()> = Mutex::new(());

pub fn serial() -> MutexGuard<'static, ()> {
    DB_LOCK.lock().unwrap_or_else(|p| p.into_inner())
}

fn env(name: &str) -> String {
    std::env::var(name).unwrap_or_else(|_| {
        panic!("{name} is not set: start the test services with `eval \"$(e2e/services.sh up)\"` (or run e2e/test.sh)")
    })
}

pub fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

pub fn shared() -> PathBuf {
    repo().join("../shared")
}

pub struct Services {
    pub mysql_host: String,
    pub mysql_port: u16,
    pub root_user: String,
    pub root_password: String,
    pub kafka: String,
}

pub fn services() -> Services {
    Services {
        mysql_host: env("MYSQL_HOST"),
        mysql_port: env("MYSQL_PORT").parse().expect("MYSQL_PORT is a port number"),
        root_user: std::env::var("MYSQL_ROOT_USER").unwrap_or_else(|_| "root".into()),
        root_password: std::env::var("MYSQL_ROOT_PASSWORD").unwrap_or_default(),
        kafka: env("KAFKA_BOOTSTRAP"),
    }
}

impl Services {
    /// Run SQL text through the `mariadb` command-line client as root (the client the oracle uses).
    pub fn sql(&self, sql: &str) {
        let mut child = self.client().stdin(Stdio::piped()).spawn().expect("run the mariadb client");
        use std::io::Write;
        child.stdin.take().expect("stdin").write_all(sql.as_bytes()).expect("write SQL");
        let out = child.wait_with_output().expect("mariadb client");
        assert!(
            out.status.success(),
            "SQL failed: {}\n{}",
            String::from_utf8_lossy(&out.stderr),
            sql.chars().take(300).collect::<String>()
        );
    }

    /// The first column of the first row of a query, as text (`mariadb -N -B`).
    pub fn query(&self, sql: &str) -> String {
        self.query_row(sql).into_iter().next().unwrap_or_default()
    }

    /// The columns of the first row of a query, as text (`mariadb -N -B`).
    pub fn query_row(&self, sql: &str) -> Vec<String> {
        self.query_rows(sql).into_iter().next().unwrap_or_else(|| vec![String::new()])
    }

    /// Every row of a query, each as its columns' text (`mariadb -N -B`: NULL is `NULL`).
    pub fn query_rows(&self, sql: &str) -> Vec<Vec<String>> {
        let out = self.client().arg("-N").arg("-B").arg("-e").arg(sql).output().expect("mariadb client");
        assert!(out.status.success(), "query failed: {}\n{sql}", String::from_utf8_lossy(&out.stderr));
        String::from_utf8_lossy(&out.stdout).lines().map(|l| l.split('\t').map(str::to_string).collect()).collect()
    }

    /// Run a SQL file as root.
    /// Run an SQL file, without its `DO SLEEP(n);` lines: the oracle's workloads pause between
    /// sections so that Debezium's batches split there, which changes nothing in the records (and
    /// would add 10.5 s to each of the many tests that run `20-stream.sql`). Workloads whose
    /// pauses matter (a signal's effect awaited before the next statement) keep theirs:
    /// [`Services::sql_file_as_is`].
    pub fn sql_file(&self, path: &Path) {
        let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("read {}: {e}", path.display()));
        let kept: Vec<&str> = text
            .lines()
            .filter(|l| {
                let t = l.trim().to_ascii_uppercase();
                !(t.starts_with("DO SLEEP(") && t.ends_with(");"))
            })
            .collect();
        self.sql(&kept.join("\n"));
    }

    /// Run an SQL file as it is, pauses included.
    pub fn sql_file_as_is(&self, path: &Path) {
        let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("read {}: {e}", path.display()));
        self.sql(&text);
    }

    fn client(&self) -> Command {
        let mut c = Command::new("mariadb");
        c.arg("--no-defaults")
            .arg(format!("-h{}", self.mysql_host))
            .arg(format!("-P{}", self.mysql_port))
            .arg(format!("-u{}", self.root_user))
            .arg("--protocol=TCP")
            .arg("--default-character-set=utf8mb4");
        if !self.root_password.is_empty() {
            c.arg(format!("-p{}", self.root_password));
        }
        c.stdout(Stdio::piped()).stderr(Stdio::piped());
        c
    }

    /// Fresh databases and a fresh binlog, then the oracle's seed: the same binlog history the
    /// golden files were recorded on.
    pub fn reset_with_seed(&self) {
        self.sql("DROP DATABASE IF EXISTS inventory; DROP DATABASE IF EXISTS `final`; DROP DATABASE IF EXISTS types; DROP DATABASE IF EXISTS perf; RESET MASTER;");
        self.sql_file(&shared().join("oracle/sql/10-seed.sql"));
    }
}

/// One record read back from Kafka.
#[derive(Debug, Clone)]
pub struct Consumed {
    pub topic: String,
    pub partition: i32,
    pub key: Option<Vec<u8>>,
    pub value: Option<Vec<u8>>,
    pub headers: Vec<(String, Vec<u8>)>,
}

/// Read every record of the topics whose names start with `prefix` (all partitions, from the
/// beginning to the current end).
pub fn read_topics(kafka: &str, prefix: &str) -> Vec<Consumed> {
    let consumer: BaseConsumer = ClientConfig::new()
        .set("bootstrap.servers", kafka)
        .set("group.id", format!("it-{}", std::process::id()))
        .set("enable.auto.commit", "false")
        .set("enable.partition.eof", "true")
        .create()
        .expect("consumer");
    let md = consumer.fetch_metadata(None, Duration::from_secs(10)).expect("metadata");
    let mut out = Vec::new();
    for t in md.topics() {
        if !(t.name() == prefix || t.name().starts_with(&format!("{prefix}."))) {
            continue;
        }
        for p in t.partitions() {
            let (lo, hi) = consumer.fetch_watermarks(t.name(), p.id(), Duration::from_secs(10)).expect("watermarks");
            if hi <= lo {
                continue;
            }
            let mut tpl = TopicPartitionList::new();
            tpl.add_partition_offset(t.name(), p.id(), Offset::Offset(lo)).expect("tpl");
            consumer.assign(&tpl).expect("assign");
            // tansu serves far fewer records/s than Kafka on a busy machine: allow for large partitions.
            let deadline = Instant::now() + Duration::from_secs(30 + ((hi - lo) / 100) as u64);
            let mut next = lo;
            while next < hi {
                assert!(Instant::now() < deadline, "timed out reading {}:{}", t.name(), p.id());
                match consumer.poll(Duration::from_millis(500)) {
                    Some(Ok(m)) => {
                        let headers = m
                            .headers()
                            .map(|h| {
                                h.iter().map(|h| (h.key.to_string(), h.value.unwrap_or_default().to_vec())).collect()
                            })
                            .unwrap_or_default();
                        next = m.offset() + 1;
                        out.push(Consumed {
                            topic: m.topic().to_string(),
                            partition: m.partition(),
                            key: m.key().map(|k| k.to_vec()),
                            value: m.payload().map(|v| v.to_vec()),
                            headers,
                        });
                    }
                    Some(Err(rdkafka::error::KafkaError::PartitionEOF(_))) | None => {}
                    Some(Err(e)) => panic!("consume {}: {e}", t.name()),
                }
            }
        }
    }
    out
}

/// `after.id` of the change records of the topics whose names end with `topic_suffix` (tombstones
/// and records without an `after.id` left out), in order.
pub fn after_ids(records: &[Consumed], topic_suffix: &str) -> Vec<i64> {
    records
        .iter()
        .filter(|c| c.topic.ends_with(topic_suffix))
        .filter_map(|c| c.value.as_ref())
        .map(|v| serde_json::from_slice::<serde_json::Value>(v).expect("a JSON record value"))
        .filter_map(|v| v["payload"]["after"]["id"].as_i64())
        .collect()
}

/// A unique name for this test run (tansu topics are never deleted, so every run uses new ones).
pub fn unique(base: &str) -> String {
    let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_nanos();
    format!("{base}{}", nanos % 1_000_000_000_000)
}

/// Reads every record of `topic` while the test runs, from the first one on. For a compacted topic
/// (Connect's offsets topic) the history is only readable as it is written: tansu's maintenance
/// (every 10 minutes) compacts it to the latest record per key.
pub struct TopicRecorder {
    stop: std::sync::Arc<std::sync::atomic::AtomicBool>,
    handle: std::thread::JoinHandle<Vec<Consumed>>,
}

impl TopicRecorder {
    pub fn start(kafka: &str, topic: &str) -> TopicRecorder {
        let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        let (kafka, topic, flag) = (kafka.to_string(), topic.to_string(), stop.clone());
        let handle = std::thread::spawn(move || {
            use std::sync::atomic::Ordering;
            let consumer: BaseConsumer = ClientConfig::new()
                .set("bootstrap.servers", &kafka)
                .set("group.id", format!("it-rec-{}", std::process::id()))
                .set("enable.auto.commit", "false")
                .set("allow.auto.create.topics", "false")
                .create()
                .expect("consumer");
            // Wait for the topic (the connector creates it), then read all its partitions.
            let partitions = loop {
                if let Ok(md) = consumer.fetch_metadata(Some(&topic), Duration::from_secs(2)) {
                    if let Some(t) = md.topics().iter().find(|t| t.name() == topic && !t.partitions().is_empty()) {
                        break t.partitions().iter().map(|p| p.id()).collect::<Vec<_>>();
                    }
                }
                if flag.load(Ordering::SeqCst) {
                    return Vec::new();
                }
                std::thread::sleep(Duration::from_millis(100));
            };
            let mut tpl = TopicPartitionList::new();
            for p in partitions {
                tpl.add_partition_offset(&topic, p, Offset::Beginning).expect("tpl");
            }
            consumer.assign(&tpl).expect("assign");
            let mut out = Vec::new();
            let mut idle_since: Option<Instant> = None;
            loop {
                match consumer.poll(Duration::from_millis(200)) {
                    Some(Ok(m)) => {
                        idle_since = None;
                        out.push(Consumed {
                            topic: m.topic().to_string(),
                            partition: m.partition(),
                            key: m.key().map(|k| k.to_vec()),
                            value: m.payload().map(|v| v.to_vec()),
                            headers: Vec::new(),
                        });
                    }
                    _ if flag.load(Ordering::SeqCst) => {
                        // Stopped: drain until nothing came for two seconds.
                        let since = *idle_since.get_or_insert_with(Instant::now);
                        if since.elapsed() > Duration::from_secs(2) {
                            return out;
                        }
                    }
                    _ => {}
                }
            }
        });
        TopicRecorder { stop, handle }
    }

    /// Stop (after draining what is still arriving) and return every record read, in order.
    pub fn finish(self) -> Vec<Consumed> {
        self.stop.store(true, std::sync::atomic::Ordering::SeqCst);
        self.handle.join().expect("recorder thread")
    }
}

/// A MariaDB of one test's own (`e2e/services.sh up mysql` on a free port in a temporary
/// services directory): for server settings the shared one must not have (TLS), and for tests
/// that stop, freeze or restart the server. Stopped and deleted when dropped.
pub struct PrivateMariaDb {
    dir: tempfile::TempDir,
    pub port: u16,
    extra_args: String,
}

impl PrivateMariaDb {
    /// Start one with `extra_args` added to mariadbd's flags (`MYSQL_EXTRA_ARGS`).
    pub fn start(extra_args: &str) -> PrivateMariaDb {
        let dir = tempfile::tempdir().expect("tempdir");
        let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        let db = PrivateMariaDb { dir, port, extra_args: extra_args.to_string() };
        db.script("up");
        db
    }

    fn script(&self, cmd: &str) {
        let out = Command::new(repo().join("e2e/services.sh"))
            .args([cmd, "mysql"])
            .env("CDC_SERVICES_DIR", self.dir.path())
            .env("MYSQL_PORT", self.port.to_string())
            .env("MYSQL_EXTRA_ARGS", &self.extra_args)
            .env("SERVICES_TIMEOUT", "60")
            .output()
            .expect("run e2e/services.sh");
        assert!(out.status.success(), "services.sh {cmd} mysql: {}", String::from_utf8_lossy(&out.stderr));
    }

    /// Root access to it (the `mariadb` client over TCP), Kafka from the shared services.
    pub fn services(&self) -> Services {
        Services { mysql_host: "127.0.0.1".into(), mysql_port: self.port, ..services() }
    }

    /// mariadbd's process id.
    pub fn pid(&self) -> i32 {
        let text = std::fs::read_to_string(self.dir.path().join("mariadb/mariadbd.pid")).expect("mariadbd.pid");
        text.trim().parse().expect("a pid")
    }

    /// Stop the server (its data stays), then start it again on the same port.
    pub fn restart(&self) {
        self.script("down");
        self.script("up");
    }
}

impl Drop for PrivateMariaDb {
    fn drop(&mut self) {
        let _ = Command::new(repo().join("e2e/services.sh"))
            .args(["down", "mysql"])
            .env("CDC_SERVICES_DIR", self.dir.path())
            .env("MYSQL_PORT", self.port.to_string())
            .output();
    }
}
