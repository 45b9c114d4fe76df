//! Running the `cdc-connector` binary the way a user does: a worker.properties, a connector JSON
//! and `--binlog-pos`.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use crate::services::Services;

pub struct Setup {
    pub dir: tempfile::TempDir,
    pub prefix: String,
    pub name: String,
}

impl Setup {
    /// A worker + connector config in a fresh directory, capturing the oracle's databases.
    pub fn new(svc: &Services, prefix: &str, extra: &[(&str, &str)]) -> Setup {
        let dir = tempfile::tempdir().expect("tempdir");
        let name = format!("{prefix}-connector");
        let worker = format!(
            "bootstrap.servers={}\nkey.converter=org.apache.kafka.connect.json.JsonConverter\nvalue.converter=org.apache.kafka.connect.json.JsonConverter\nkey.converter.schemas.enable=true\nvalue.converter.schemas.enable=true\noffset.storage.file.filename={}\noffset.flush.interval.ms=0\n",
            svc.kafka,
            dir.path().join("offsets.dat").display()
        );
        std::fs::write(dir.path().join("worker.properties"), worker).expect("write worker");
        let mut config = serde_json::Map::new();
        for (k, v) in [
            ("connector.class", "io.debezium.connector.mysql.MySqlConnector"),
            ("tasks.max", "1"),
            ("database.hostname", svc.mysql_host.as_str()),
            ("database.user", "debezium"),
            ("database.password", "dbz"),
            ("database.server.id", "184054"),
            ("topic.prefix", prefix),
            ("database.include.list", "inventory,final,types"),
        ] {
            config.insert(k.into(), v.into());
        }
        config.insert("database.port".into(), svc.mysql_port.to_string().into());
        for (k, v) in extra {
            config.insert(k.to_string(), v.to_string().into());
        }
        let json = serde_json::json!({"name": name, "config": config});
        std::fs::write(dir.path().join("connector.json"), serde_json::to_vec_pretty(&json).unwrap())
            .expect("write connector");
        Setup { dir, prefix: prefix.to_string(), name }
    }

    /// Commit offsets every `ms` milliseconds instead of after every batch.
    pub fn set_offset_flush_interval(&self, ms: u64) {
        let text = std::fs::read_to_string(self.worker()).expect("read worker");
        let text = text.replace("offset.flush.interval.ms=0", &format!("offset.flush.interval.ms={ms}"));
        std::fs::write(self.worker(), text).expect("write worker");
    }

    /// Keep offsets in the Kafka topic `topic` (Connect's `offset.storage.topic`, 25 partitions)
    /// instead of the offsets file.
    pub fn use_offsets_topic(&self, topic: &str) {
        let text = std::fs::read_to_string(self.worker()).expect("read worker");
        let text: Vec<String> = text
            .lines()
            .filter(|l| !l.starts_with("offset.storage.file.filename="))
            .map(str::to_string)
            .chain([format!("offset.storage.topic={topic}"), "offset.storage.replication.factor=1".to_string()])
            .collect();
        std::fs::write(self.worker(), text.join("\n") + "\n").expect("write worker");
    }

    /// Add a line to the worker properties.
    pub fn add_worker_property(&self, key: &str, value: &str) {
        let text = std::fs::read_to_string(self.worker()).expect("read worker");
        std::fs::write(self.worker(), format!("{text}{key}={value}\n")).expect("write worker");
    }

    /// Set (or with `None` remove) a property of the connector config.
    pub fn set_connector_property(&self, key: &str, value: Option<&str>) {
        let mut json: serde_json::Value =
            serde_json::from_slice(&std::fs::read(self.connector()).expect("read connector")).expect("connector json");
        let config = json["config"].as_object_mut().expect("config object");
        match value {
            Some(v) => config.insert(key.to_string(), v.into()),
            None => config.remove(key),
        };
        std::fs::write(self.connector(), serde_json::to_vec_pretty(&json).unwrap()).expect("write connector");
    }

    /// Keep the schema history in [`Self::history_file`] (FileSchemaHistory).
    pub fn use_file_history(&self) {
        self.set_connector_property(
            "schema.history.internal",
            Some("io.debezium.storage.file.history.FileSchemaHistory"),
        );
        let path = self.history_file().display().to_string();
        self.set_connector_property("schema.history.internal.file.filename", Some(&path));
    }

    /// Keep the schema history in the Kafka topic `topic` (KafkaSchemaHistory).
    pub fn use_kafka_history(&self, kafka: &str, topic: &str) {
        self.set_connector_property("schema.history.internal.kafka.topic", Some(topic));
        self.set_connector_property("schema.history.internal.kafka.bootstrap.servers", Some(kafka));
    }

    /// The offset committed to the offsets file, if any.
    pub fn stored(&self) -> Option<cdc_connector::offsets::SourceOffset> {
        cdc_connector::offsets::FileOffsetStore::open(self.offsets())
            .expect("offsets file")
            .get(&self.name, &self.prefix)
            .expect("offset")
    }

    pub fn history_file(&self) -> PathBuf {
        self.dir.path().join("history.dat")
    }

    /// Run the connector until it exits by itself (a start-up error); returns (exit code, output).
    pub fn run_failing(&self, binlog_pos: &str) -> (i32, String) {
        let (w, c) = (self.worker().display().to_string(), self.connector().display().to_string());
        run_to_end(&["--worker", &w, "--connector", &c, "--binlog-pos", binlog_pos], Duration::from_secs(60))
    }

    pub fn worker(&self) -> PathBuf {
        self.dir.path().join("worker.properties")
    }
    pub fn connector(&self) -> PathBuf {
        self.dir.path().join("connector.json")
    }
    pub fn offsets(&self) -> PathBuf {
        self.dir.path().join("offsets.dat")
    }

    /// Start the connector (`binlog_pos` "" = no `--binlog-pos`); returns once it logs that the
    /// binlog stream started.
    pub fn start(&self, binlog_pos: &str) -> Running {
        Running::spawn(&self.worker(), &self.connector(), binlog_pos, &[])
    }

    /// Start with extra command-line arguments.
    pub fn start_with(&self, binlog_pos: &str, args: &[&str]) -> Running {
        Running::spawn(&self.worker(), &self.connector(), binlog_pos, args)
    }
}

/// The binary under test: `CDC_CONNECTOR_BIN` when set (a private copy, safe from concurrent
/// builds into a shared target directory), else the one cargo built for this test binary.
pub fn bin() -> String {
    std::env::var("CDC_CONNECTOR_BIN").unwrap_or_else(|_| env!("CARGO_BIN_EXE_cdc-connector").to_string())
}

pub struct Running {
    pub child: Child,
    pub log: mpsc::Receiver<String>,
    pub lines: Vec<String>,
}

impl Running {
    pub fn spawn(worker: &Path, connector: &Path, binlog_pos: &str, args: &[&str]) -> Running {
        let mut r = Running::spawn_only(worker, connector, binlog_pos, args);
        r.wait_for_log("binlog stream started", Duration::from_secs(60));
        r
    }

    /// Start without waiting for anything (`binlog_pos` "" = no `--binlog-pos`).
    pub fn spawn_only(worker: &Path, connector: &Path, binlog_pos: &str, args: &[&str]) -> Running {
        let pos: &[&str] = if binlog_pos.is_empty() { &[] } else { &["--binlog-pos", binlog_pos] };
        let mut all: Vec<std::ffi::OsString> = args.iter().map(Into::into).collect();
        all.extend(["--worker".into(), worker.into(), "--connector".into(), connector.into()]);
        all.extend(pos.iter().map(Into::into));
        Running::spawn_with_args(&all)
    }

    /// Start the binary with exactly `args` (e.g. `serve ...`), without waiting for anything.
    pub fn spawn_with_args(args: &[std::ffi::OsString]) -> Running {
        let mut child = Command::new(bin())
            .args(args)
            .env("RUST_LOG", "info")
            .env("CDC_LOG_FORMAT", "text")
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn cdc-connector");
        let stderr = child.stderr.take().expect("stderr");
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                eprintln!("[connector] {line}");
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        Running { child, log: rx, lines: Vec::new() }
    }

    pub fn wait_for_log(&mut self, needle: &str, timeout: Duration) {
        let deadline = Instant::now() + timeout;
        loop {
            if self.lines.iter().any(|l| l.contains(needle)) {
                return;
            }
            if let Ok(Some(status)) = self.child.try_wait() {
                while let Ok(l) = self.log.try_recv() {
                    self.lines.push(l);
                }
                panic!("cdc-connector exited ({status}) before logging '{needle}':\n{}", self.lines.join("\n"));
            }
            assert!(Instant::now() < deadline, "no '{needle}' in the connector log within {timeout:?}");
            if let Ok(l) = self.log.recv_timeout(Duration::from_millis(100)) {
                self.lines.push(l);
            }
        }
    }

    /// Wait for the process to exit by itself; returns its exit code and the whole log.
    pub fn wait_exit(mut self, timeout: Duration) -> (i32, String) {
        let deadline = Instant::now() + timeout;
        loop {
            while let Ok(l) = self.log.try_recv() {
                self.lines.push(l);
            }
            if let Ok(Some(status)) = self.child.try_wait() {
                // The reader thread may still hold the last lines.
                std::thread::sleep(Duration::from_millis(200));
                while let Ok(l) = self.log.try_recv() {
                    self.lines.push(l);
                }
                return (status.code().unwrap_or(-1), self.lines.join("\n"));
            }
            assert!(
                Instant::now() < deadline,
                "cdc-connector still running after {timeout:?}:\n{}",
                self.lines.join("\n")
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// SIGTERM and wait (the connector flushes and commits offsets on the way out).
    pub fn stop(mut self) {
        unsafe_kill(self.child.id(), "TERM");
        let deadline = Instant::now() + Duration::from_secs(30);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let _ = self.child.kill();
        panic!("cdc-connector did not stop within 30 s of SIGTERM");
    }

    /// SIGTERM, wait, and return the whole log.
    pub fn stop_with_log(self) -> String {
        unsafe_kill(self.child.id(), "TERM");
        self.wait_exit(Duration::from_secs(30)).1
    }

    /// SIGKILL: no chance to flush anything.
    pub fn kill9(mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn unsafe_kill(pid: u32, sig: &str) {
    let _ = Command::new("kill").arg(format!("-{sig}")).arg(pid.to_string()).status();
}

/// Run the binary to completion (for commands that are expected to fail fast).
pub fn run_to_end(args: &[&str], timeout: Duration) -> (i32, String) {
    let mut child = Command::new(bin())
        .args(args)
        .env("CDC_LOG_FORMAT", "text")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn cdc-connector");
    let deadline = Instant::now() + timeout;
    loop {
        if let Ok(Some(_)) = child.try_wait() {
            break;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let out = child.wait_with_output().expect("output");
            panic!("cdc-connector {args:?} did not exit within {timeout:?}: {}", String::from_utf8_lossy(&out.stderr));
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let out = child.wait_with_output().expect("output");
    let text = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    (out.status.code().unwrap_or(-1), text)
}
