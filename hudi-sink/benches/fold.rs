//! hudi-sink benchmark: MariaDB → cdc-connector (Avro, our registry) → tansu → hudi-sink → Hudi.
//!
//! Two measurements, each with the release binaries run as processes, the way users run them:
//!
//! 1. `throughput`: `BENCH_EVENTS` (1,000,000) change events over `BENCH_KEYS` (100,000) keys —
//!    inserts of every key in 1,000-row transactions, then a mix of 1,000-row UPDATEs (6 of every 8
//!    steps), 500-row DELETEs and re-INSERTs of the deleted keys (1 step each), one transaction per
//!    step, blocks of keys scattered over the key space — are written to MariaDB while the
//!    connector streams them into a fresh topic. Then, for every variant of the sink's batching /
//!    file-sizing settings (`BENCH_VARIANTS`), a fresh hudi-sink folds the whole topic into a fresh
//!    table: wall time from process start to the checkpoint that covers the last record, events/s,
//!    CPU seconds, peak RSS (`VmHWM`), number of batches, slowest batch; afterwards the table read
//!    back with `hudi-sink read` must equal MariaDB (row count and column sums).
//!    A plain consumer reading the whole topic (no decoding, no Hudi) gives the broker's ceiling.
//! 2. `latency`: a steady `BENCH_RATE` (1,000) events/s for `BENCH_LATENCY_SECS` (60) s — every
//!    100 ms one transaction of 80 UPDATEs, 10 DELETEs and 10 INSERTs (110 Kafka records with the
//!    tombstones) — with the connector and a sink running (default settings, then
//!    `--max-batch-interval 500ms`). MySQL commit time =
//!    the server's `NOW(6)` right after the COMMIT (same client session); Hudi-visible time = the
//!    log time of the sink's `batch committed` line whose checkpoint offsets first cover the
//!    transaction's last record (logged after the Hudi commit completed and the checkpoint was
//!    written). Reported: percentiles of visible − commit.
//!
//! Run (after `cargo build --release --workspace --bins`, with the services up):
//! `eval "$(e2e/services.sh up)"; cargo bench -p hudi-sink --bench fold`.
//! Knobs: `BENCH_MODES` (`throughput,latency`), `BENCH_EVENTS`, `BENCH_KEYS`, `BENCH_VARIANTS`
//! (comma-separated names from [`VARIANTS`]), `BENCH_RATE`, `BENCH_LATENCY_SECS`, `BENCH_BASE` (where
//! tables go: a local directory, default a temporary one, or `s3://bucket/prefix`),
//! `CDC_CONNECTOR_BIN` (default: next to this bench's target directory), `BENCH_NO_SAVE=1`.
//! Output: `benchmarks/results/hudi-sink.json` (every run) and `benchmarks/results/hudi-sink.md`
//! (the tables, also printed); see `benchmarks/RESULTS.md`.

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitCode, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::ClientConfig;
use serde_json::{json, Value as Json};

type Res<T> = Result<T, Box<dyn std::error::Error + Send + Sync>>;

const DB: &str = "hbench";
const TABLE_SQL: &str = "CREATE TABLE hbench.t (\n  id INT NOT NULL PRIMARY KEY,\n  a INT NOT NULL,\n  b BIGINT,\n  \
                         name VARCHAR(64) NOT NULL,\n  score DOUBLE,\n  updated DATETIME(3) NOT NULL\n);\n";

/// Sink settings compared in the throughput run: (name, extra `hudi-sink run` arguments). While
/// catching up, a batch closes at `--max-batch-records` or `--max-batch-interval` after its first
/// record, whichever comes first (records do not arrive during a write), so the large-batch variants
/// raise the interval too.
const VARIANTS: [(&str, &[&str]); 5] = [
    ("defaults", &[]),
    ("batch-10k", &["--max-batch-records", "10000"]),
    ("batch-200k", &["--max-batch-records", "200000", "--max-batch-interval", "60s"]),
    (
        "files-8mb",
        &[
            "--hudi-option",
            "hoodie.parquet.max.file.size=8388608",
            "--hudi-option",
            "hoodie.parquet.small.file.limit=4194304",
        ],
    ),
    (
        "batch-200k-files-8mb",
        &[
            "--max-batch-records",
            "200000",
            "--max-batch-interval",
            "60s",
            "--hudi-option",
            "hoodie.parquet.max.file.size=8388608",
            "--hudi-option",
            "hoodie.parquet.small.file.limit=4194304",
        ],
    ),
];

/// Sink settings compared in the latency run.
const LATENCY_VARIANTS: [(&str, &[&str]); 2] =
    [("defaults", &[]), ("interval-500ms", &["--max-batch-interval", "500ms"])];

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.iter().any(|a| a == "--list") || !args.iter().any(|a| a == "--bench") {
        // `cargo test --all-targets` runs bench targets without `--bench`: measure nothing there
        eprintln!("hudi-sink bench: not measuring (run it with `cargo bench -p hudi-sink --bench fold`)");
        return ExitCode::SUCCESS;
    }
    match run() {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("hudi-sink bench: ERROR: {e}");
            ExitCode::FAILURE
        }
    }
}

// ---------------------------------------------------------------------------------------------
// settings and services

struct Settings {
    repo: PathBuf,
    modes: Vec<String>,
    events: u64,
    keys: u64,
    variants: Vec<(&'static str, &'static [&'static str])>,
    rate: u64,
    latency_secs: u64,
    base: String,
    _tmp: Option<tempfile::TempDir>,
    mysql_host: String,
    mysql_port: u16,
    kafka: String,
    registry: String,
}

fn env_or<T: std::str::FromStr>(name: &str, default: T) -> Res<T> {
    match std::env::var(name) {
        Ok(v) => v.parse().map_err(|_| format!("{name}={v} is not valid").into()),
        Err(_) => Ok(default),
    }
}

fn need(name: &str) -> Res<String> {
    std::env::var(name).map_err(|_| format!("{name} is not set: run `eval \"$(e2e/services.sh up)\"` first").into())
}

fn settings() -> Res<Settings> {
    let repo = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..").canonicalize()?;
    let modes = env_or("BENCH_MODES", "throughput,latency".to_string())?.split(',').map(str::to_owned).collect();
    let wanted = env_or("BENCH_VARIANTS", VARIANTS.iter().map(|v| v.0).collect::<Vec<_>>().join(","))?;
    let mut variants = Vec::new();
    for name in wanted.split(',').map(str::trim).filter(|n| !n.is_empty()) {
        variants.push(*VARIANTS.iter().find(|v| v.0 == name).ok_or(format!("unknown variant {name}"))?);
    }
    let (base, tmp) = match std::env::var("BENCH_BASE") {
        Ok(b) => (b, None),
        Err(_) => {
            let t = tempfile::Builder::new().prefix("hudi-sink-bench-").tempdir()?;
            (t.path().to_string_lossy().into_owned(), Some(t))
        }
    };
    Ok(Settings {
        repo,
        modes,
        events: env_or("BENCH_EVENTS", 1_000_000)?,
        keys: env_or("BENCH_KEYS", 100_000)?,
        variants,
        rate: env_or("BENCH_RATE", 1_000)?,
        latency_secs: env_or("BENCH_LATENCY_SECS", 60)?,
        base,
        _tmp: tmp,
        mysql_host: need("MYSQL_HOST")?,
        mysql_port: need("MYSQL_PORT")?.parse()?,
        kafka: need("KAFKA_BOOTSTRAP")?,
        registry: need("REGISTRY_URL")?,
    })
}

impl Settings {
    fn mariadb(&self) -> Command {
        let mut c = Command::new("mariadb");
        c.arg("--no-defaults").arg(format!("-h{}", self.mysql_host)).arg(format!("-P{}", self.mysql_port)).args([
            "-uroot",
            "--protocol=TCP",
            "--batch",
            "-N",
        ]);
        c
    }

    /// Run SQL text to completion; returns stdout.
    fn sql(&self, sql: &str) -> Res<String> {
        let mut child = self.mariadb().stdin(Stdio::piped()).stdout(Stdio::piped()).stderr(Stdio::piped()).spawn()?;
        let mut stdin = child.stdin.take().ok_or("stdin")?;
        let text = sql.to_owned();
        let writer = std::thread::spawn(move || stdin.write_all(text.as_bytes()));
        let out = child.wait_with_output()?;
        writer.join().map_err(|_| "writer thread")??;
        if !out.status.success() {
            return Err(format!("SQL failed: {}", String::from_utf8_lossy(&out.stderr)).into());
        }
        Ok(String::from_utf8_lossy(&out.stdout).into_owned())
    }
}

fn unix_ms() -> i64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_millis() as i64).unwrap_or(0)
}

fn target_bin(name: &str) -> PathBuf {
    // target/release/deps/fold-<hash> → target/release/<name>
    std::env::current_exe()
        .ok()
        .and_then(|e| e.parent().and_then(|d| d.parent()).map(|d| d.join(name)))
        .unwrap_or_else(|| PathBuf::from(name))
}

fn connector_bin() -> PathBuf {
    std::env::var("CDC_CONNECTOR_BIN").map(PathBuf::from).unwrap_or_else(|_| target_bin("cdc-connector"))
}

fn sink_bin() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_hudi-sink"))
}

// ---------------------------------------------------------------------------------------------
// processes

/// A child process whose stderr lines are collected (with the time each was read).
struct Proc {
    name: String,
    child: Child,
    lines: Arc<Mutex<Vec<String>>>,
}

impl Proc {
    fn spawn(name: &str, mut cmd: Command) -> Res<Proc> {
        let mut child = cmd
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(|e| format!("cannot start {name}: {e}"))?;
        let stderr = child.stderr.take().ok_or("stderr")?;
        let lines = Arc::new(Mutex::new(Vec::new()));
        let l = lines.clone();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                l.lock().unwrap_or_else(|p| p.into_inner()).push(line);
            }
        });
        Ok(Proc { name: name.to_owned(), child, lines })
    }

    fn lines(&self) -> Vec<String> {
        self.lines.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }

    fn tail(&self) -> String {
        let l = self.lines();
        l[l.len().saturating_sub(20)..].join("\n")
    }

    fn alive(&mut self) -> Res<()> {
        if let Some(st) = self.child.try_wait()? {
            return Err(format!("{} exited ({st}):\n{}", self.name, self.tail()).into());
        }
        Ok(())
    }

    fn wait_for_log(&mut self, needle: &str, timeout: Duration) -> Res<()> {
        let deadline = Instant::now() + timeout;
        while !self.lines().iter().any(|l| l.contains(needle)) {
            self.alive()?;
            if Instant::now() > deadline {
                return Err(format!("no '{needle}' from {} within {timeout:?}:\n{}", self.name, self.tail()).into());
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        Ok(())
    }

    /// (CPU seconds, peak RSS in MiB) so far.
    fn usage(&self) -> (f64, f64) {
        let pid = self.child.id();
        let cpu = std::fs::read_to_string(format!("/proc/{pid}/stat"))
            .ok()
            .and_then(|s| {
                let rest = s[s.rfind(')')? + 1..].to_owned();
                let f: Vec<&str> = rest.split_whitespace().collect();
                Some(f.get(11)?.parse::<f64>().ok()? + f.get(12)?.parse::<f64>().ok()?)
            })
            // SAFETY: sysconf has no preconditions.
            .map_or(0.0, |ticks| ticks / unsafe { libc::sysconf(libc::_SC_CLK_TCK) } as f64);
        let hwm_kb = std::fs::read_to_string(format!("/proc/{pid}/status"))
            .ok()
            .and_then(|s| s.lines().find(|l| l.starts_with("VmHWM:"))?.split_whitespace().nth(1)?.parse::<f64>().ok())
            .unwrap_or(0.0);
        (cpu, hwm_kb / 1024.0)
    }

    fn stop(&mut self) -> Res<()> {
        // SAFETY: plain kill(2) on our own child.
        unsafe { libc::kill(self.child.id() as i32, libc::SIGTERM) };
        let deadline = Instant::now() + Duration::from_secs(120);
        while Instant::now() < deadline {
            if self.child.try_wait()?.is_some() {
                return Ok(());
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let _ = self.child.kill();
        Err(format!("{} did not stop within 120 s of SIGTERM", self.name).into())
    }
}

impl Drop for Proc {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

fn start_connector(s: &Settings, prefix: &str, dir: &Path) -> Res<Proc> {
    let url = &s.registry;
    let worker = format!(
        "bootstrap.servers={}\nkey.converter=io.confluent.connect.avro.AvroConverter\n\
         value.converter=io.confluent.connect.avro.AvroConverter\nkey.converter.schema.registry.url={url}\n\
         value.converter.schema.registry.url={url}\noffset.storage.file.filename={}\noffset.flush.interval.ms=1000\n",
        s.kafka,
        dir.join("offsets.dat").display()
    );
    std::fs::write(dir.join("worker.properties"), worker)?;
    let connector = json!({
        "name": format!("{prefix}-connector"),
        "config": {
            "connector.class": "io.debezium.connector.mysql.MySqlConnector",
            "tasks.max": "1",
            "database.hostname": s.mysql_host,
            "database.port": s.mysql_port.to_string(),
            "database.user": "debezium",
            "database.password": "dbz",
            "database.server.id": "184054",
            "topic.prefix": prefix,
            "database.include.list": DB,
        }
    });
    std::fs::write(dir.join("connector.json"), serde_json::to_vec_pretty(&connector)?)?;
    let mut cmd = Command::new(connector_bin());
    cmd.arg("--worker")
        .arg(dir.join("worker.properties"))
        .arg("--connector")
        .arg(dir.join("connector.json"))
        .args(["--binlog-pos", "latest"])
        .env("RUST_LOG", "info")
        .env("CDC_LOG_FORMAT", "text");
    let mut p = Proc::spawn("cdc-connector", cmd)?;
    p.wait_for_log("binlog stream started", Duration::from_secs(60))?;
    Ok(p)
}

fn start_sink(s: &Settings, topic: &str, base: &str, extra: &[&str]) -> Res<Proc> {
    let mut cmd = Command::new(sink_bin());
    cmd.args(["run", "--bootstrap-servers", &s.kafka, "--topics", topic, "--schema-registry-url", &s.registry])
        .args(["--base-path", base, "--group-id", &format!("bench-{}", unix_ms())])
        .args(extra)
        .env("CDC_LOG_FORMAT", "json")
        .env("RUST_LOG", "info,rdkafka=warn,hudi_core=warn")
        .env("AWS_EC2_METADATA_DISABLED", "true");
    Proc::spawn("hudi-sink", cmd)
}

/// Records in partition 0 of `topic` (its high watermark), None while it does not exist.
fn high_watermark(consumer: &BaseConsumer, topic: &str) -> Option<i64> {
    consumer.fetch_watermarks(topic, 0, Duration::from_secs(5)).ok().map(|(_, hi)| hi)
}

/// One `batch committed` line of the sink: (log time in ms since the epoch, records, took_ms,
/// next offset of partition 0 of `topic`).
struct Commit {
    at_ms: i64,
    records: u64,
    took_ms: u64,
    next_offset: i64,
}

fn commits(sink: &Proc, topic: &str) -> Vec<Commit> {
    let mut out = Vec::new();
    for l in sink.lines() {
        let Ok(j) = serde_json::from_str::<Json>(&l) else { continue };
        let f = &j["fields"];
        if f["message"] != "batch committed" {
            continue;
        }
        let at_ms = j["timestamp"]
            .as_str()
            .and_then(|t| chrono::DateTime::parse_from_rfc3339(t).ok())
            .map_or(0, |t| t.timestamp_millis());
        let offsets: Json = f["offsets"].as_str().and_then(|o| serde_json::from_str(o).ok()).unwrap_or(Json::Null);
        out.push(Commit {
            at_ms,
            records: f["records"].as_u64().unwrap_or(0),
            took_ms: f["took_ms"].as_u64().unwrap_or(0),
            next_offset: offsets[topic]["0"].as_i64().unwrap_or(0),
        });
    }
    out
}

// ---------------------------------------------------------------------------------------------
// throughput

/// The throughput workload: (SQL, change events, tombstones).
fn workload_sql(events: u64, keys: u64) -> (String, u64, u64) {
    let blocks = (keys / 1000).max(1);
    let mut sql = format!("USE {DB};\n");
    let mut n = 0;
    let mut tombstones = 0;
    for b in 0..blocks {
        let (lo, hi) = (b * 1000 + 1, b * 1000 + 1000);
        sql += &format!(
            "INSERT INTO t SELECT seq, seq % 1000, seq * 7, CONCAT('name-', seq), seq / 3, '2024-01-01 00:00:00' FROM seq_{lo}_to_{hi};\n"
        );
        n += 1000;
    }
    let mut step = 0u64;
    let mut last_block = 0;
    while n < events {
        let block = if step % 8 == 7 { last_block } else { (step * 37) % blocks };
        let (lo, hi) = (block * 1000 + 1, block * 1000 + 1000);
        match step % 8 {
            0..=5 => {
                sql += &format!(
                    "UPDATE t SET a = a + 1, b = b + {step}, name = CONCAT('name-', id, '-', {step}), score = score + 0.5, \
                     updated = '2024-01-01 00:00:00' + INTERVAL {step} SECOND WHERE id BETWEEN {lo} AND {hi};\n"
                );
                n += 1000;
            }
            6 => {
                sql += &format!("DELETE FROM t WHERE id BETWEEN {lo} AND {hi} AND id % 2 = 0;\n");
                n += 500;
                tombstones += 500;
            }
            _ => {
                sql += &format!(
                    "INSERT INTO t SELECT seq, seq % 1000, seq * 7, CONCAT('again-', seq), seq / 3, '2024-02-01 00:00:00' \
                     FROM seq_{}_to_{hi}_step_2;\n",
                    lo + 1
                );
                n += 500;
            }
        }
        last_block = block;
        step += 1;
    }
    (sql, n, tombstones)
}

/// (row count, SUM(a), SUM(b), SUM(score)) of a result set.
fn table_sums(rows: impl Iterator<Item = (i64, i64, f64)>) -> (u64, i64, i64, f64) {
    let mut out = (0, 0, 0, 0.0);
    for (a, b, score) in rows {
        out.0 += 1;
        out.1 += a;
        out.2 += b;
        out.3 += score;
    }
    out
}

fn hudi_sums(path: &str) -> Res<(u64, i64, i64, f64)> {
    let out = Command::new(sink_bin()).args(["read", path]).env("RUST_LOG", "warn").output()?;
    if !out.status.success() {
        return Err(format!("hudi-sink read {path}: {}", String::from_utf8_lossy(&out.stderr)).into());
    }
    let text = String::from_utf8_lossy(&out.stdout);
    let mut rows = Vec::new();
    for l in text.lines() {
        let j: Json = serde_json::from_str(l)?;
        rows.push((j["a"].as_i64().unwrap_or(0), j["b"].as_i64().unwrap_or(0), j["score"].as_f64().unwrap_or(0.0)));
    }
    Ok(table_sums(rows.into_iter()))
}

fn mysql_sums(s: &Settings) -> Res<(u64, i64, i64, f64)> {
    let out = s.sql(&format!("SELECT COUNT(*), SUM(a), SUM(b), SUM(score) FROM {DB}.t;"))?;
    let f: Vec<&str> = out.split_whitespace().collect();
    Ok((f[0].parse()?, f[1].parse()?, f[2].parse()?, f[3].parse()?))
}

fn throughput(s: &Settings) -> Res<Vec<Json>> {
    let consumer: BaseConsumer =
        ClientConfig::new().set("bootstrap.servers", &s.kafka).set("group.id", "hudi-sink-bench").create()?;
    let (sql, events, tombstones) = workload_sql(s.events, s.keys);
    let records = (events + tombstones) as i64;
    // the table must exist before the connector starts at `latest`
    s.sql(&format!("DROP DATABASE IF EXISTS {DB};\nCREATE DATABASE {DB};\n{TABLE_SQL}"))?;
    let prefix = format!("hb{}", unix_ms());
    let topic = format!("{prefix}.{DB}.t");
    let dir = tempfile::tempdir()?;
    let mut connector = start_connector(s, &prefix, dir.path())?;
    eprintln!("throughput: writing {events} change events ({records} Kafka records) through the connector");
    let t0 = Instant::now();
    s.sql(&sql)?;
    let mysql_s = t0.elapsed().as_secs_f64();
    let deadline = Instant::now() + Duration::from_secs(3600);
    while high_watermark(&consumer, &topic).unwrap_or(0) < records {
        connector.alive()?;
        if Instant::now() > deadline {
            return Err(format!("the connector did not deliver {records} records within an hour").into());
        }
        std::thread::sleep(Duration::from_millis(200));
    }
    let connector_s = t0.elapsed().as_secs_f64();
    connector.stop()?;
    eprintln!("throughput: MariaDB took {mysql_s:.1} s, the topic was complete after {connector_s:.1} s");
    let expected = mysql_sums(s)?;
    let mut runs = vec![kafka_read(s, &topic, records)?];
    for (name, extra) in &s.variants {
        let base = format!("{}/{prefix}-{name}", s.base.trim_end_matches('/'));
        let mut sink = start_sink(s, &topic, &base, extra)?;
        let t0 = Instant::now();
        let deadline = t0 + Duration::from_secs(3600);
        loop {
            sink.alive()?;
            if commits(&sink, &topic).last().is_some_and(|c| c.next_offset >= records) {
                break;
            }
            if Instant::now() > deadline {
                return Err(format!("{name}: not done within an hour:\n{}", sink.tail()).into());
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        let wall = t0.elapsed().as_secs_f64();
        // VmHWM is the peak already; CPU until the last record is visible
        let peak = sink.usage();
        sink.stop()?;
        let batches = commits(&sink, &topic);
        let folded: u64 = batches.iter().map(|c| c.records).sum();
        let slowest = batches.iter().map(|c| c.took_ms).max().unwrap_or(0);
        let path = format!("{base}/{DB}/t");
        let got = hudi_sums(&path)?;
        let equal = got.0 == expected.0
            && got.1 == expected.1
            && got.2 == expected.2
            && (got.3 - expected.3).abs() <= 1e-9 * expected.3.abs().max(1.0);
        let size_mb = dir_size_mb(&path);
        let run = json!({
            "mode": "throughput",
            "variant": name,
            "sink_args": extra,
            "events": events,
            "kafka_records": records,
            "records_in_batches": folded,
            "keys": s.keys,
            "wall_s": wall,
            "events_per_s": events as f64 / wall,
            "cpu_s": peak.0,
            "peak_rss_mib": peak.1,
            "batches": batches.len(),
            "slowest_batch_ms": slowest,
            "table_rows": got.0,
            "table_equals_mysql": equal,
            "table_dir_mib": size_mb,
            "mysql_s": mysql_s,
            "connector_topic_complete_s": connector_s,
        });
        eprintln!("throughput {name}: {run}");
        if !equal {
            return Err(format!("{name}: Hudi table {got:?} differs from MySQL {expected:?}").into());
        }
        runs.push(run);
    }
    Ok(runs)
}

/// The broker's ceiling: every record of the topic read by a plain consumer (no decoding, no Hudi).
fn kafka_read(s: &Settings, topic: &str, records: i64) -> Res<Json> {
    use rdkafka::{Offset, TopicPartitionList};
    let consumer: BaseConsumer = ClientConfig::new()
        .set("bootstrap.servers", &s.kafka)
        .set("group.id", format!("bench-read-{}", unix_ms()))
        .set("enable.auto.commit", "false")
        .create()?;
    let mut tpl = TopicPartitionList::new();
    tpl.add_partition_offset(topic, 0, Offset::Beginning)?;
    consumer.assign(&tpl)?;
    let t0 = Instant::now();
    let deadline = t0 + Duration::from_secs(3600);
    let (mut n, mut bytes) = (0i64, 0usize);
    while n < records {
        if let Some(m) = consumer.poll(Duration::from_millis(500)) {
            let m = m?;
            use rdkafka::Message;
            bytes += m.payload().map_or(0, <[u8]>::len) + m.key().map_or(0, <[u8]>::len);
            n += 1;
        }
        if Instant::now() > deadline {
            return Err(format!("read only {n} of {records} records within an hour").into());
        }
    }
    let wall = t0.elapsed().as_secs_f64();
    let run = json!({
        "mode": "kafka-read",
        "variant": "plain consumer",
        "kafka_records": records,
        "bytes": bytes,
        "wall_s": wall,
        "records_per_s": records as f64 / wall,
    });
    eprintln!("throughput kafka-read: {run}");
    Ok(run)
}

fn dir_size_mb(path: &str) -> Option<f64> {
    if path.contains("://") {
        return None;
    }
    let mut total = 0u64;
    let mut stack = vec![PathBuf::from(path)];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).ok()?.flatten() {
            let m = e.metadata().ok()?;
            if m.is_dir() {
                stack.push(e.path());
            } else {
                total += m.len();
            }
        }
    }
    Some(total as f64 / 1_048_576.0)
}

// ---------------------------------------------------------------------------------------------
// latency

fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let i = ((sorted.len() - 1) as f64 * p).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

fn latency(s: &Settings, variant: &str, extra: &[&str]) -> Res<Json> {
    let consumer: BaseConsumer =
        ClientConfig::new().set("bootstrap.servers", &s.kafka).set("group.id", "hudi-sink-bench").create()?;
    // 100k keys to update
    let keys = s.keys.max(10_000);
    let mut setup = format!("DROP DATABASE IF EXISTS {DB};\nCREATE DATABASE {DB};\n{TABLE_SQL}USE {DB};\n");
    for b in 0..keys / 1000 {
        let (lo, hi) = (b * 1000 + 1, b * 1000 + 1000);
        setup += &format!(
            "INSERT INTO t SELECT seq, seq % 1000, seq * 7, CONCAT('name-', seq), seq / 3, '2024-01-01 00:00:00' FROM seq_{lo}_to_{hi};\n"
        );
    }
    s.sql(&setup)?;
    let prefix = format!("hl{}", unix_ms());
    let topic = format!("{prefix}.{DB}.t");
    let dir = tempfile::tempdir()?;
    let mut connector = start_connector(s, &prefix, dir.path())?;
    let base = format!("{}/{prefix}", s.base.trim_end_matches('/'));
    let mut sink = start_sink(s, &topic, &base, extra)?;
    sink.wait_for_log("hudi-sink starting", Duration::from_secs(30))?;
    // one transaction every 100 ms: 80 updates, 10 deletes, 10 inserts = 100 events, 110 records
    let per_txn = 100;
    let txns = s.latency_secs * s.rate / per_txn;
    let interval = Duration::from_micros(1_000_000 * per_txn / s.rate.max(1));
    let mut client = s.mariadb().stdin(Stdio::piped()).stdout(Stdio::piped()).stderr(Stdio::piped()).spawn()?;
    let mut stdin = client.stdin.take().ok_or("stdin")?;
    writeln!(stdin, "USE {DB};")?;
    eprintln!("latency: {txns} transactions of {per_txn} events every {interval:?}");
    let t0 = Instant::now();
    for i in 0..txns {
        let due = t0 + interval * i as u32;
        if let Some(wait) = due.checked_duration_since(Instant::now()) {
            std::thread::sleep(wait);
        }
        let block = (i * 100) % (keys - 100);
        let (lo, hi) = (block + 1, block + 100);
        writeln!(
            stdin,
            "START TRANSACTION;\n\
             UPDATE t SET a = a + 1, b = {i}, updated = NOW(3) WHERE id BETWEEN {lo} AND {} ;\n\
             DELETE FROM t WHERE id BETWEEN {} AND {hi};\n\
             INSERT INTO t SELECT seq, {i}, seq, CONCAT('lat-', seq), 0.5, NOW(3) FROM seq_{}_to_{hi};\n\
             COMMIT;\nSELECT {i}, UNIX_TIMESTAMP(NOW(6));",
            lo + 79,
            lo + 90,
            lo + 90
        )?;
        stdin.flush()?;
        if i % 50 == 0 {
            connector.alive()?;
            sink.alive()?;
        }
    }
    drop(stdin);
    let out = client.wait_with_output()?;
    if !out.status.success() {
        return Err(format!("latency workload: {}", String::from_utf8_lossy(&out.stderr)).into());
    }
    let commit_ms: BTreeMap<u64, i64> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|l| {
            let (i, t) = l.split_once('\t')?;
            Some((i.trim().parse().ok()?, (t.trim().parse::<f64>().ok()? * 1000.0) as i64))
        })
        .collect();
    let achieved = txns as f64 * per_txn as f64 / t0.elapsed().as_secs_f64();
    let records = (txns * 110) as i64;
    let deadline = Instant::now() + Duration::from_secs(300);
    while commits(&sink, &topic).last().is_none_or(|c| c.next_offset < records) {
        sink.alive()?;
        if Instant::now() > deadline {
            let hw = high_watermark(&consumer, &topic);
            return Err(
                format!("sink not caught up after 300 s (topic at {hw:?} of {records}):\n{}", sink.tail()).into()
            );
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    let (cpu, rss) = sink.usage();
    sink.stop()?;
    connector.stop()?;
    let batches = commits(&sink, &topic);
    let mut lat = Vec::new();
    for (i, c) in &commit_ms {
        let last_offset = (*i as i64 + 1) * 110 - 1;
        if let Some(b) = batches.iter().find(|b| b.next_offset > last_offset) {
            lat.push((b.at_ms - c) as f64);
        }
    }
    lat.sort_by(f64::total_cmp);
    let run = json!({
        "mode": "latency",
        "variant": variant,
        "sink_args": extra,
        "target_events_per_s": s.rate,
        "achieved_events_per_s": achieved,
        "seconds": s.latency_secs,
        "transactions": txns,
        "measured": lat.len(),
        "latency_ms_p50": percentile(&lat, 0.5),
        "latency_ms_p95": percentile(&lat, 0.95),
        "latency_ms_p99": percentile(&lat, 0.99),
        "latency_ms_max": lat.last().copied().unwrap_or(f64::NAN),
        "batches": batches.len(),
        "sink_cpu_s": cpu,
        "sink_peak_rss_mib": rss,
    });
    eprintln!("latency: {run}");
    if lat.len() as u64 != txns {
        return Err(format!("only {} of {txns} transactions measured", lat.len()).into());
    }
    Ok(run)
}

// ---------------------------------------------------------------------------------------------
// results

fn machine() -> Json {
    let cpu = std::fs::read_to_string("/proc/cpuinfo").ok().and_then(|c| {
        c.lines().find(|l| l.starts_with("model name")).map(|l| l.split(':').nth(1).unwrap_or("").trim().to_owned())
    });
    let load = std::fs::read_to_string("/proc/loadavg").unwrap_or_default();
    json!({
        "cpu": cpu,
        "cores": std::thread::available_parallelism().map(|n| n.get()).unwrap_or(0),
        "loadavg_at_start": load.split_whitespace().take(3).collect::<Vec<_>>().join(" "),
    })
}

fn markdown(runs: &[Json]) -> String {
    let mut md = String::from(
        "hudi-sink benchmark (`cargo bench -p hudi-sink --bench fold`, see benchmarks/RESULTS.md)\n\n\
         | variant | events | wall s | events/s | CPU s | peak RSS MiB | batches | slowest batch ms | table MiB | equals MySQL |\n\
         |---|---:|---:|---:|---:|---:|---:|---:|---:|---|\n",
    );
    for r in runs.iter().filter(|r| r["mode"] == "throughput") {
        md += &format!(
            "| {} | {} | {:.1} | {:.0} | {:.1} | {:.0} | {} | {} | {} | {} |\n",
            r["variant"].as_str().unwrap_or(""),
            r["events"],
            r["wall_s"].as_f64().unwrap_or(0.0),
            r["events_per_s"].as_f64().unwrap_or(0.0),
            r["cpu_s"].as_f64().unwrap_or(0.0),
            r["peak_rss_mib"].as_f64().unwrap_or(0.0),
            r["batches"],
            r["slowest_batch_ms"],
            r["table_dir_mib"].as_f64().map_or("-".to_string(), |m| format!("{m:.0}")),
            r["table_equals_mysql"],
        );
    }
    for r in runs.iter().filter(|r| r["mode"] == "kafka-read") {
        md += &format!(
            "\nBroker ceiling: a plain consumer reads the {} records from tansu in {:.1} s ({:.0} records/s).\n",
            r["kafka_records"],
            r["wall_s"].as_f64().unwrap_or(0.0),
            r["records_per_s"].as_f64().unwrap_or(0.0),
        );
    }
    for r in runs.iter().filter(|r| r["mode"] == "latency") {
        md += &format!(
            "\nLatency, MySQL commit → visible in Hudi, at {:.0} events/s for {} s ({} transactions, sink `{}`): \
             p50 {:.0} ms, p95 {:.0} ms, p99 {:.0} ms, max {:.0} ms; sink CPU {:.1} s, peak RSS {:.0} MiB.\n",
            r["achieved_events_per_s"].as_f64().unwrap_or(0.0),
            r["seconds"],
            r["transactions"],
            r["variant"].as_str().unwrap_or(""),
            r["latency_ms_p50"].as_f64().unwrap_or(0.0),
            r["latency_ms_p95"].as_f64().unwrap_or(0.0),
            r["latency_ms_p99"].as_f64().unwrap_or(0.0),
            r["latency_ms_max"].as_f64().unwrap_or(0.0),
            r["sink_cpu_s"].as_f64().unwrap_or(0.0),
            r["sink_peak_rss_mib"].as_f64().unwrap_or(0.0),
        );
    }
    md
}

fn run() -> Res<()> {
    let s = settings()?;
    for bin in [connector_bin(), sink_bin()] {
        if !bin.exists() {
            return Err(
                format!("{} is missing: `cargo build --release --workspace --bins` first", bin.display()).into()
            );
        }
    }
    let started = unix_ms();
    let machine = machine();
    let mut runs = Vec::new();
    if s.modes.iter().any(|m| m == "throughput") {
        runs.extend(throughput(&s)?);
    }
    if s.modes.iter().any(|m| m == "latency") {
        for (name, extra) in LATENCY_VARIANTS {
            runs.push(latency(&s, name, extra)?);
        }
    }
    let md = markdown(&runs);
    println!("{md}");
    if std::env::var("BENCH_NO_SAVE").is_ok_and(|v| v == "1") {
        return Ok(());
    }
    let dir = s.repo.join("benchmarks/results");
    std::fs::create_dir_all(&dir)?;
    let doc = json!({
        "started_unix_ms": started,
        "machine": machine,
        "base": if s.base.contains("://") { s.base.clone() } else { "local directory".to_string() },
        "runs": runs,
    });
    std::fs::write(dir.join("hudi-sink.json"), serde_json::to_vec_pretty(&doc)?)?;
    std::fs::write(dir.join("hudi-sink.md"), md)?;
    eprintln!("results: {}", dir.join("hudi-sink.{json,md}").display());
    Ok(())
}
