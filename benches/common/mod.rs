//! Helpers shared by the benchmarks: the MariaDB service, medians, machine facts, CPU and RSS of
//! this process.

#![allow(dead_code)] // each bench uses a subset

use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use serde_json::{json, Value as Json};

pub type BoxError = Box<dyn std::error::Error + Send + Sync>;
pub type Res<T> = Result<T, BoxError>;

pub fn env_parse<T: std::str::FromStr>(name: &str, default: T) -> Res<T> {
    match std::env::var(name) {
        Ok(v) => v.trim().parse().map_err(|_| format!("{name}={v} is not a number").into()),
        Err(_) => Ok(default),
    }
}

pub struct Services {
    pub mysql_host: String,
    pub mysql_port: u16,
    pub kafka: String,
    /// `REGISTRY_URL`, for mode `kafka-avro` only.
    pub registry: Option<String>,
}

pub fn services(need_kafka: bool) -> Res<Services> {
    let get = |n: &str| {
        std::env::var(n).map_err(|_| {
            format!(
                "{n} is not set: start the services first, e.g. `eval \"$(e2e/services.sh up)\"` \
                 (or run only the offline modes with BENCH_MODES=decode,encode and an existing BENCH_BINLOG)"
            )
        })
    };
    let mysql_host = get("MYSQL_HOST")?;
    let mysql_port = get("MYSQL_PORT")?.parse().map_err(|_| "MYSQL_PORT is not a port number")?;
    let kafka = if need_kafka { get("KAFKA_BOOTSTRAP")? } else { String::new() };
    if mysql_host != "127.0.0.1" && mysql_host != "localhost" {
        return Err(format!("MYSQL_HOST={mysql_host}: this bench only talks to 127.0.0.1").into());
    }
    let registry = std::env::var("REGISTRY_URL").ok();
    let s = Services { mysql_host, mysql_port, kafka, registry };
    // fail early and clearly when MariaDB does not answer
    s.sql_out("SELECT 1").map_err(|e| format!("MariaDB at {}:{} does not answer: {e}", s.mysql_host, s.mysql_port))?;
    Ok(s)
}

impl Services {
    pub fn client(&self) -> Command {
        let mut c = Command::new("mariadb");
        c.args([
            "--no-defaults",
            "--protocol=tcp",
            "-h",
            &self.mysql_host,
            "-P",
            &self.mysql_port.to_string(),
            "-uroot",
        ]);
        c.args(["--default-character-set=utf8mb4", "-N", "-B"]);
        c
    }

    /// Run SQL (on stdin) and return stdout.
    pub fn sql_out(&self, sql: &str) -> Res<String> {
        let mut child = self
            .client()
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(|e| format!("cannot run the `mariadb` client: {e}"))?;
        child.stdin.take().expect("stdin").write_all(sql.as_bytes())?;
        let out = child.wait_with_output()?;
        if !out.status.success() {
            return Err(format!("SQL failed: {}", String::from_utf8_lossy(&out.stderr).trim()).into());
        }
        Ok(String::from_utf8_lossy(&out.stdout).into_owned())
    }

    /// Run a SQL file through the client (stdin = the file), as perf.sh does.
    pub fn sql_file(&self, path: &Path) -> Res<()> {
        let out =
            self.client().stdin(std::fs::File::open(path)?).stdout(Stdio::null()).stderr(Stdio::piped()).output()?;
        if !out.status.success() {
            return Err(format!("mariadb < {}: {}", path.display(), String::from_utf8_lossy(&out.stderr).trim()).into());
        }
        Ok(())
    }
}

pub fn median(mut xs: Vec<f64>) -> f64 {
    xs.sort_by(|a, b| a.partial_cmp(b).unwrap());
    let n = xs.len();
    if n == 0 {
        f64::NAN
    } else if n % 2 == 1 {
        xs[n / 2]
    } else {
        (xs[n / 2 - 1] + xs[n / 2]) / 2.0
    }
}

pub fn machine() -> Json {
    let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
    let model = cpuinfo
        .lines()
        .find_map(|l| l.strip_prefix("model name").map(|r| r.trim_start_matches([' ', '\t', ':']).to_string()))
        .unwrap_or_default();
    let meminfo = std::fs::read_to_string("/proc/meminfo").unwrap_or_default();
    let mem_kb = meminfo
        .lines()
        .find_map(|l| {
            l.strip_prefix("MemTotal:").and_then(|r| r.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
        })
        .unwrap_or(0);
    let cpus = std::thread::available_parallelism().map(|n| n.get()).unwrap_or(0);
    let kernel = std::fs::read_to_string("/proc/sys/kernel/osrelease").unwrap_or_default().trim().to_string();
    json!({"cpu": model, "cpus": cpus, "mem_gib": (mem_kb as f64 / 1048576.0 * 10.0).round() / 10.0, "kernel": kernel})
}

pub fn unix_now() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or(0)
}

pub fn rusage_cpu() -> (f64, f64) {
    // SAFETY: getrusage only writes the struct we pass.
    let mut ru: libc::rusage = unsafe { std::mem::zeroed() };
    unsafe { libc::getrusage(libc::RUSAGE_SELF, &mut ru) };
    let t = |tv: libc::timeval| tv.tv_sec as f64 + tv.tv_usec as f64 / 1e6;
    (t(ru.ru_utime), t(ru.ru_stime))
}

pub fn status_kb(pid: &str, key: &str) -> Option<u64> {
    let text = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    text.lines().find_map(|l| l.strip_prefix(key).and_then(|r| r.trim().trim_end_matches("kB").trim().parse().ok()))
}

// ---------------------------------------------------------------------------------------------
// the release connector binary against MariaDB + tansu

pub fn connector_bin() -> PathBuf {
    std::env::var("CDC_CONNECTOR_BIN")
        .map(PathBuf::from)
        .unwrap_or_else(|_| PathBuf::from(env!("CARGO_BIN_EXE_cdc-connector")))
}

/// (utime + stime seconds) of a process from /proc/PID/stat.
pub fn proc_cpu(pid: u32) -> Res<f64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat"))?;
    let rest = &stat[stat.rfind(')').ok_or("bad /proc stat")? + 1..];
    let f: Vec<&str> = rest.split_whitespace().collect();
    // fields after the command: [0]=state (field 3) ... [11]=utime (14), [12]=stime (15)
    let ticks: f64 = f.get(11).ok_or("short stat")?.parse::<f64>()? + f.get(12).ok_or("short stat")?.parse::<f64>()?;
    // SAFETY: sysconf has no preconditions.
    let hz = unsafe { libc::sysconf(libc::_SC_CLK_TCK) } as f64;
    Ok(ticks / hz)
}

pub struct Connector {
    pub child: std::process::Child,
    pub lines: mpsc::Receiver<String>,
    pub log: Vec<String>,
}

impl Connector {
    /// Start `bin` on `dir`'s `worker.properties` and `connector.json` at `--binlog-pos latest`
    /// and wait until it streams.
    pub fn stream_from_latest(bin: &Path, dir: &Path) -> Res<Connector> {
        let mut c = Connector::spawn(
            bin,
            &[
                "--worker".into(),
                dir.join("worker.properties").into(),
                "--connector".into(),
                dir.join("connector.json").into(),
                "--binlog-pos".into(),
                "latest".into(),
            ],
        )?;
        c.wait_for_log("binlog stream started", Duration::from_secs(60))?;
        Ok(c)
    }

    /// Start `bin` with `args` (RUST_LOG=info, text logs), its stderr lines collected.
    pub fn spawn(bin: &Path, args: &[std::ffi::OsString]) -> Res<Connector> {
        let mut child = Command::new(bin)
            .args(args)
            .env("RUST_LOG", "info")
            .env("CDC_LOG_FORMAT", "text")
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(|e| format!("cannot start {}: {e}", bin.display()))?;
        let stderr = child.stderr.take().expect("stderr");
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        Ok(Connector { child, lines: rx, log: Vec::new() })
    }

    pub fn drain(&mut self) {
        while let Ok(l) = self.lines.try_recv() {
            self.log.push(l);
        }
    }
    pub fn tail(&mut self) -> String {
        self.drain();
        let n = self.log.len();
        self.log[n.saturating_sub(30)..].join("\n")
    }
    pub fn check_alive(&mut self) -> Res<()> {
        if let Some(st) = self.child.try_wait()? {
            return Err(format!("cdc-connector exited early ({st}); last log lines:\n{}", self.tail()).into());
        }
        Ok(())
    }
    pub fn wait_for_log(&mut self, needle: &str, timeout: Duration) -> Res<()> {
        let deadline = Instant::now() + timeout;
        loop {
            if self.log.iter().any(|l| l.contains(needle)) {
                return Ok(());
            }
            self.check_alive()?;
            if Instant::now() > deadline {
                return Err(format!("no '{needle}' in the connector log within {timeout:?}:\n{}", self.tail()).into());
            }
            if let Ok(l) = self.lines.recv_timeout(Duration::from_millis(50)) {
                self.log.push(l);
            }
        }
    }
    pub fn stop(&mut self) -> Res<()> {
        // SAFETY: plain kill(2) on the child we spawned.
        unsafe { libc::kill(self.child.id() as i32, libc::SIGTERM) };
        let deadline = Instant::now() + Duration::from_secs(60);
        while Instant::now() < deadline {
            if let Some(st) = self.child.try_wait()? {
                if !st.success() {
                    eprintln!("   connector exit status {st}; last log lines:\n{}", self.tail());
                }
                return Ok(());
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
        Err("cdc-connector did not stop within 60 s of SIGTERM".into())
    }
}

impl Drop for Connector {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// Records in all partitions of `topic` (sum of high watermarks), None while the topic does not exist.
pub fn topic_count(consumer: &rdkafka::consumer::BaseConsumer, topic: &str) -> Option<i64> {
    use rdkafka::consumer::Consumer;
    let md = consumer.fetch_metadata(Some(topic), Duration::from_secs(5)).ok()?;
    let t = md.topics().iter().find(|t| t.name() == topic)?;
    if t.error().is_some() || t.partitions().is_empty() {
        return None;
    }
    let mut sum = 0;
    for p in t.partitions() {
        let (lo, hi) = consumer.fetch_watermarks(topic, p.id(), Duration::from_secs(5)).ok()?;
        sum += hi - lo;
    }
    Some(sum)
}
