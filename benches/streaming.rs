//! Streaming benchmark: the oracle's (a1) workload (`perf.events`, 200 transactions x 1,000-row
//! INSERT, see `../shared/oracle/perf.sh` `gen_stream_sql` and `PERF.md`) through cdc-connector in
//! three modes:
//!
//! 1. `decode`: read the workload's binlog FILE from disk, parse the events, decode every row into
//!    Connect values and build key / source / envelope values exactly as `pipeline.rs` does per
//!    record, without encoding (≈ Debezium's "count" handler).
//! 2. `encode`: the same plus the JSON encoding of key and value (JsonConverter, schemas enabled)
//!    and the header list (≈ Debezium's "json" handler).
//! 3. `avro`: mode 2 with Confluent's AvroConverter encoding (wire format, schema id resolved once
//!    up front, as the pipeline does per table) instead of JSON.
//! 4. `kafka`: the real release `cdc-connector` binary streaming live from MariaDB into tansu while
//!    the workload is inserted; timed from the start of the insert until all records are in the topic.
//! 5. `kafka-avro`: mode 4 with AvroConverter and our schema registry (`REGISTRY_URL`).
//!
//! Modes 1-3 run each repetition in a fresh child process (this binary, `--child MODE BINLOG`),
//! so that peak RSS (VmHWM) belongs to that mode alone.
//!
//! Run: `eval "$(e2e/services.sh up)"` then `cargo bench --bench streaming`.
//! Environment knobs:
//! * `BENCH_MODES` (default `decode,encode,avro,kafka,kafka-avro`), `BENCH_REPEAT` (default 3), `BENCH_ROWS` (default 200000)
//! * `BENCH_BINLOG`: the workload binlog (default `benchmarks/data/perf-events-<rows>.binlog`); generated
//!   from the MariaDB service (`MYSQL_HOST`, `MYSQL_PORT`, root without password) when missing
//! * `MYSQL_HOST`, `MYSQL_PORT`, `KAFKA_BOOTSTRAP`, `REGISTRY_URL`: the services (as printed by `e2e/services.sh up`)
//! * `CDC_CONNECTOR_BIN`: the connector binary for mode 3 (default: the one cargo built for this bench)
//! * `BENCH_WORKER_EXTRA`: extra worker.properties lines for mode 3, `;`-separated (diagnostics, e.g.
//!   `producer.linger.ms=100`); the default run uses the worker file a user would write
//! * `BENCH_NO_SAVE=1`: print the runs, write no results (diagnostic runs)
//!
//! Output: `benchmarks/results/streaming.json` (all runs + medians; modes not run this time are kept
//! from the previous file) and `benchmarks/results/streaming.md` (the table, also printed).

use std::collections::BTreeMap;
use std::hint::black_box;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode, Stdio};
use std::sync::{mpsc, Arc};
use std::time::{Duration, Instant};

use cdc_connector::config::{AvroSettings, ConverterKind};
use cdc_connector::connect::Value;
use cdc_connector::encode::converter::Converter;
use cdc_connector::envelope::{self, envelope_value, Op, ProcessingTime, SourceInfo, TableSchemas};
use cdc_connector::inspect::{for_each_rows_event, ReadOptions, RowsKind};
use cdc_connector::offsets::SourceOffset;
use cdc_connector::record::{decode_change, Change, ChangeRecords, Image, SchemaIds};
use cdc_connector::schema::{connect_schema, Catalog, TableId};
use serde_json::{json, Value as Json};

mod common;

use common::{
    connector_bin, env_parse, machine, median, proc_cpu, rusage_cpu, services, status_kb, topic_count, unix_now,
    Connector, Res, Services,
};

const PREFIX: &str = "dbserver1";
const TABLE_DDL: &str = "CREATE TABLE `events` (\n  `id` bigint(20) NOT NULL,\n  `a` int(11) NOT NULL,\n  `b` int(11) DEFAULT NULL,\n  `name` varchar(64) NOT NULL,\n  `score` double DEFAULT NULL,\n  `created` datetime NOT NULL,\n  PRIMARY KEY (`id`)\n) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_general_ci";
/// perf.sh `perf_table_sql events`
const TABLE_SQL: &str = "CREATE DATABASE IF NOT EXISTS perf;\nCREATE TABLE perf.events (\n  id BIGINT NOT NULL PRIMARY KEY,\n  a INT NOT NULL,\n  b INT,\n  name VARCHAR(64) NOT NULL,\n  score DOUBLE,\n  created DATETIME NOT NULL\n);\n";

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let result = if args.first().map(String::as_str) == Some("--child") {
        child(&args[1..])
    } else if args.iter().any(|a| a == "--list") || !args.iter().any(|a| a == "--bench") {
        // `cargo test --all-targets` runs bench targets without `--bench`: measure nothing there
        eprintln!("streaming bench: not measuring (run it with `cargo bench --bench streaming`)");
        Ok(())
    } else {
        parent()
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("streaming bench: ERROR: {e}");
            ExitCode::FAILURE
        }
    }
}

// ---------------------------------------------------------------------------------------------
// settings

struct Settings {
    repo: PathBuf,
    modes: Vec<String>,
    repeat: usize,
    rows: u64,
    binlog: PathBuf,
}

fn settings() -> Res<Settings> {
    let repo = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let modes: Vec<String> = std::env::var("BENCH_MODES")
        .unwrap_or_else(|_| "decode,encode,avro,kafka,kafka-avro".into())
        .split(',')
        .map(|s| s.trim().to_string())
        .filter(|s| !s.is_empty())
        .collect();
    for m in &modes {
        if !matches!(m.as_str(), "decode" | "encode" | "avro" | "kafka" | "kafka-avro") {
            return Err(format!("BENCH_MODES: unknown mode '{m}' (decode, encode, avro, kafka, kafka-avro)").into());
        }
    }
    let repeat: usize = env_parse("BENCH_REPEAT", 3)?;
    let rows: u64 = env_parse("BENCH_ROWS", 200_000)?;
    if repeat == 0 || rows == 0 {
        return Err("BENCH_REPEAT and BENCH_ROWS must be > 0".into());
    }
    let binlog = std::env::var("BENCH_BINLOG")
        .map(PathBuf::from)
        .unwrap_or_else(|_| repo.join(format!("benchmarks/data/perf-events-{rows}.binlog")));
    Ok(Settings { repo, modes, repeat, rows, binlog })
}

/// perf.sh `gen_stream_sql`: `rows` rows in transactions of 1,000 (Python `%r` of a float = Rust `{:?}`
/// for these magnitudes: shortest round-trip digits with a `.0` for integral values).
fn gen_stream_sql(rows: u64) -> String {
    let mut out = String::with_capacity(rows as usize * 80);
    let batch = 1000;
    let mut start = 1;
    while start <= rows {
        out.push_str("START TRANSACTION;\nINSERT INTO perf.events VALUES ");
        let end = (start + batch - 1).min(rows);
        for i in start..=end {
            if i > start {
                out.push_str(",\n");
            }
            out.push_str(&format!(
                "({i},{},{},'name-{i}',{:?},'2024-01-01 00:00:00' + INTERVAL {i} SECOND)",
                i % 1000,
                i * 7 % 100000,
                i as f64 / 7.0
            ));
        }
        out.push_str(";\nCOMMIT;\n");
        start += batch;
    }
    out
}

fn write_stream_sql(dir: &Path, rows: u64) -> Res<PathBuf> {
    std::fs::create_dir_all(dir)?;
    let path = dir.join(format!("perf-stream-{rows}.sql"));
    if !path.exists() {
        let tmp = path.with_extension("sql.tmp");
        std::fs::write(&tmp, gen_stream_sql(rows))?;
        std::fs::rename(&tmp, &path)?;
    }
    Ok(path)
}

// ---------------------------------------------------------------------------------------------
// parent: orchestration, results

fn parent() -> Res<()> {
    let s = settings()?;
    let offline = s.modes.iter().any(|m| !m.starts_with("kafka"));
    let need_kafka = s.modes.iter().any(|m| m.starts_with("kafka"));
    let data_dir = s.repo.join("benchmarks/data");
    let svc = if need_kafka || (offline && !s.binlog.exists()) { Some(services(need_kafka)?) } else { None };
    let sql_path = write_stream_sql(&data_dir, s.rows)?;
    if offline && !s.binlog.exists() {
        let svc = svc.as_ref().expect("services checked above");
        eprintln!(
            "generating the workload binlog {} from MariaDB {}:{}",
            s.binlog.display(),
            svc.mysql_host,
            svc.mysql_port
        );
        generate_binlog(svc, &sql_path, &s.binlog)?;
    }
    let mut runs: Vec<Json> = Vec::new();
    for mode in &s.modes {
        for i in 1..=s.repeat {
            eprintln!("== {mode} run {i}/{}", s.repeat);
            let r = match mode.as_str() {
                "kafka" | "kafka-avro" => run_kafka(svc.as_ref().expect("services checked"), mode, &s, &sql_path, i)?,
                m => run_child(m, &s.binlog, s.rows)?,
            };
            eprintln!("   {r}");
            runs.push(r);
        }
    }
    if std::env::var("BENCH_NO_SAVE").is_ok_and(|v| v == "1") {
        println!("{}", markdown(&summarize(&runs), s.rows));
        return Ok(());
    }
    write_results(&s, runs)
}

fn run_child(mode: &str, binlog: &Path, rows: u64) -> Res<Json> {
    let exe = std::env::current_exe()?;
    let out = Command::new(exe).args(["--child", mode]).arg(binlog).stderr(Stdio::inherit()).output()?;
    if !out.status.success() {
        return Err(format!("child run of mode {mode} failed ({})", out.status).into());
    }
    let text = String::from_utf8_lossy(&out.stdout);
    let line = text.lines().last().ok_or("child printed nothing")?;
    let mut v: Json = serde_json::from_str(line)?;
    let n = v["records"].as_u64().unwrap_or(0);
    if n != rows {
        return Err(format!("mode {mode}: {n} records in {}, expected {rows}", binlog.display()).into());
    }
    v["mode"] = json!(mode);
    Ok(v)
}

/// Medians per mode. events/s from the median wall time; CPU per event from the median CPU.
fn summarize(runs: &[Json]) -> BTreeMap<String, Json> {
    let mut by_mode: BTreeMap<String, Vec<&Json>> = BTreeMap::new();
    for r in runs {
        by_mode.entry(r["mode"].as_str().unwrap_or("?").to_string()).or_default().push(r);
    }
    let mut out = BTreeMap::new();
    for (mode, rs) in by_mode {
        let f = |k: &str| median(rs.iter().filter_map(|r| r[k].as_f64()).collect());
        let records = rs[0]["records"].as_f64().unwrap_or(0.0);
        let wall = f("wall_s");
        let cpu = f("cpu_s");
        let mut m = json!({
            "runs": rs.len(),
            "records": records,
            "wall_s": wall,
            "events_per_s": (records / wall).round(),
            "cpu_s": cpu,
            "cpu_us_per_event": cpu / records * 1e6,
            "peak_rss_mb": f("peak_rss_kb") / 1024.0,
        });
        if mode.starts_with("kafka") {
            m["insert_s"] = json!(f("insert_s"));
            m["first_to_last_s"] = json!(f("first_to_last_s"));
            m["cpu_total_s"] = json!(f("cpu_total_s"));
            m["cpu_total_us_per_event"] = json!(f("cpu_total_s") / records * 1e6);
        } else {
            m["json_bytes_per_record"] = json!(f("json_bytes") / records);
        }
        out.insert(mode, m);
    }
    out
}

fn write_results(s: &Settings, runs: Vec<Json>) -> Res<()> {
    let dir = s.repo.join("benchmarks/results");
    std::fs::create_dir_all(&dir)?;
    let path = dir.join("streaming.json");
    // keep the runs of modes not measured this time
    let mut all: Vec<Json> = Vec::new();
    if let Ok(text) = std::fs::read_to_string(&path) {
        if let Ok(old) = serde_json::from_str::<Json>(&text) {
            if old["rows"].as_u64() == Some(s.rows) {
                for r in old["runs"].as_array().cloned().unwrap_or_default() {
                    if !s.modes.iter().any(|m| Some(m.as_str()) == r["mode"].as_str()) {
                        all.push(r);
                    }
                }
            }
        }
    }
    let stamp = unix_now();
    all.extend(runs.into_iter().map(|mut r| {
        r["unix_time"] = json!(stamp);
        r
    }));
    let summary = summarize(&all);
    let doc = json!({
        "workload": "oracle perf (a1): perf.events, 200 transactions x 1,000-row INSERT (perf.sh gen_stream_sql)",
        "rows": s.rows,
        "unix_time": stamp,
        "machine": machine(),
        "binlog": s.binlog.display().to_string(),
        "summary": summary,
        "runs": all,
    });
    std::fs::write(&path, serde_json::to_string_pretty(&doc)? + "\n")?;
    let md = markdown(&summary, s.rows);
    std::fs::write(dir.join("streaming.md"), &md)?;
    println!("\n{md}");
    eprintln!("wrote {} and {}", path.display(), dir.join("streaming.md").display());
    Ok(())
}

fn markdown(summary: &BTreeMap<String, Json>, rows: u64) -> String {
    let mut s = format!(
        "Streaming benchmark, {rows} rows (medians; `cargo bench --bench streaming`, see benchmarks/RESULTS.md)\n\n\
         | mode | runs | wall s | **events/s** | CPU s | CPU µs/event | peak RSS MB | notes |\n|---|---|---|---|---|---|---|---|\n"
    );
    for mode in ["decode", "encode", "avro", "kafka", "kafka-avro"] {
        let Some(m) = summary.get(mode) else { continue };
        let label = match mode {
            "decode" => "1 decode only (binlog file)",
            "encode" => "2 decode + JSON encode (binlog file)",
            "avro" => "3 decode + Avro encode (binlog file)",
            "kafka" => "4 live → Kafka (tansu), JSON, insert start → last record in topic",
            _ => "5 live → Kafka (tansu), Avro + our registry, insert start → last record in topic",
        };
        let notes = if mode.starts_with("kafka") {
            format!(
                "insert {:.2} s; first→last {:.2} s; CPU is the connector in the window, whole process {:.2} s ({:.1} µs/event)",
                m["insert_s"].as_f64().unwrap_or(f64::NAN),
                m["first_to_last_s"].as_f64().unwrap_or(f64::NAN),
                m["cpu_total_s"].as_f64().unwrap_or(f64::NAN),
                m["cpu_total_us_per_event"].as_f64().unwrap_or(f64::NAN)
            )
        } else if mode == "encode" || mode == "avro" {
            format!("{:.0} bytes/record (key+value)", m["json_bytes_per_record"].as_f64().unwrap_or(0.0))
        } else {
            String::new()
        };
        s.push_str(&format!(
            "| {label} | {} | {:.3} | **{:.0}** | {:.3} | {:.2} | {:.1} | {notes} |\n",
            m["runs"],
            m["wall_s"].as_f64().unwrap_or(f64::NAN),
            m["events_per_s"].as_f64().unwrap_or(f64::NAN),
            m["cpu_s"].as_f64().unwrap_or(f64::NAN),
            m["cpu_us_per_event"].as_f64().unwrap_or(f64::NAN),
            m["peak_rss_mb"].as_f64().unwrap_or(f64::NAN),
        ));
    }
    s
}

// ---------------------------------------------------------------------------------------------
// workload binlog

fn generate_binlog(svc: &Services, sql_path: &Path, target: &Path) -> Res<()> {
    svc.sql_out("DROP DATABASE IF EXISTS perf")?;
    svc.sql_out("FLUSH BINARY LOGS")?;
    let status = svc.sql_out("SHOW MASTER STATUS")?;
    let file =
        status.split_whitespace().next().ok_or("SHOW MASTER STATUS is empty: is the binlog enabled?")?.to_string();
    svc.sql_out(TABLE_SQL)?;
    svc.sql_file(sql_path)?;
    svc.sql_out("FLUSH BINARY LOGS")?;
    let tmp = tempfile::tempdir()?;
    let prefix = format!("{}/", tmp.path().display());
    let out = Command::new("mariadb-binlog")
        .args([
            "--no-defaults",
            "--read-from-remote-server",
            "--raw",
            "-h",
            &svc.mysql_host,
            "-P",
            &svc.mysql_port.to_string(),
            "-uroot",
        ])
        .arg(format!("--result-file={prefix}"))
        .arg(&file)
        .output()
        .map_err(|e| format!("cannot run mariadb-binlog: {e}"))?;
    if !out.status.success() {
        return Err(
            format!("mariadb-binlog --raw {file} failed: {}", String::from_utf8_lossy(&out.stderr).trim()).into()
        );
    }
    if let Some(d) = target.parent() {
        std::fs::create_dir_all(d)?;
    }
    std::fs::copy(tmp.path().join(&file), target)?;
    eprintln!("binlog {file} ({} bytes) saved as {}", std::fs::metadata(target)?.len(), target.display());
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// modes 1 and 2 (child process)

/// The per-record state the pipeline's `Streamer` keeps (only what the row path touches).
struct Mirror {
    encode: bool,
    prefix: String,
    file: Arc<str>,
    tx_pos: u64,
    tx_events: u64,
    server_id: i64,
    changes: ChangeRecords,
    ids: SchemaIds,
    scratch: Vec<Value>,
    nulled: Vec<(usize, cdc_connector::decode::ValueError)>,
    records: u64,
    json_bytes: u64,
}

impl Mirror {
    /// `Streamer::emit_change` without the Kafka calls: the same `ChangeRecords` encoding (mode 2),
    /// or only the envelope values (mode 1).
    fn emit_change(
        &mut self,
        schemas: &TableSchemas,
        op: Op,
        before: Image,
        after: Image,
        source: Value,
        offset: SourceOffset,
    ) {
        let now = ProcessingTime::now();
        if self.encode {
            let change = Change { schemas, ids: self.ids, op, before, after, tx: None };
            let n = self.changes.encode_change(change, source, now).expect("encodable");
            self.records += n as u64;
            self.json_bytes += self.changes.encoded_len() as u64;
            for i in 0..n {
                black_box(self.changes.get(i).headers.as_slice().len());
            }
        } else {
            self.records += 1;
            black_box(envelope_value(before.1, after.1, source, Value::Null, op, now));
        }
        // the pipeline queues this until Kafka acknowledges the record; here it is dropped
        black_box(offset);
    }

    /// `Streamer::offset_after`
    fn offset_after(&self, event: u64, row: u64) -> SourceOffset {
        SourceOffset {
            file: self.file.to_string(),
            pos: self.tx_pos,
            row: if row > 0 { Some(row) } else { None },
            event: if event > 0 { Some(event) } else { None },
            server_id: Some(self.server_id as u64),
            ts_sec: Some(ProcessingTime::now().ns / 1_000_000_000),
            ..SourceOffset::default()
        }
    }
}

fn child(args: &[String]) -> Res<()> {
    let [mode, binlog] = args else { return Err("usage: --child decode|encode|avro BINLOG".into()) };
    let (encode, kind) = match mode.as_str() {
        "decode" => (false, ConverterKind::Json { schemas_enable: true }),
        "encode" => (true, ConverterKind::Json { schemas_enable: true }),
        // No registry is contacted: the ids are fixed below, as the pipeline resolves them once per table.
        "avro" => (true, ConverterKind::Avro(AvroSettings::new("http://127.0.0.1:9"))),
        m => return Err(format!("--child: unknown mode {m}").into()),
    };
    let mut registries = Vec::new();
    let key_conv = Converter::new(&kind, true, &mut registries)?;
    let value_conv = Converter::new(&kind, false, &mut registries)?;
    let ids = if key_conv.uses_registry() { SchemaIds { key: 1, value: 2 } } else { SchemaIds::default() };
    let binlog = PathBuf::from(binlog);
    // set-up, as the pipeline does it once: catalog from SHOW CREATE DATABASE/TABLE, schemas per table
    let mut catalog = Catalog::default();
    catalog
        .apply_ddl("", "CREATE DATABASE `perf` /*!40100 DEFAULT CHARACTER SET utf8mb4 COLLATE utf8mb4_general_ci */")?;
    catalog.apply_ddl("perf", TABLE_DDL)?;
    let id = TableId::new("perf", "events");
    let table = catalog.table(&id).ok_or("perf.events missing from the catalog")?.clone();
    let source_schema = envelope::source_schema();
    let opts = connect_schema::SchemaOptions::default();
    let key = connect_schema::key_schema(PREFIX, &table, &opts);
    let row = connect_schema::value_schema(PREFIX, &table, &opts);
    let topic = format!("{PREFIX}.{}.{}", id.db, id.table);
    let schemas = Arc::new(TableSchemas::new(topic, key, row, table.key_indexes(), &source_schema));
    let file_name: Arc<str> = Arc::from(binlog.file_name().and_then(|f| f.to_str()).unwrap_or("mysql-bin.000001"));
    let run_id = "0190a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b";
    let mut m = Mirror {
        encode,
        prefix: PREFIX.to_string(),
        file: file_name,
        tx_pos: 4,
        tx_events: 0,
        server_id: 1,
        changes: ChangeRecords::new(key_conv, value_conv, PREFIX, run_id, true),
        ids,
        scratch: Vec::new(),
        nulled: Vec::new(),
        records: 0,
        json_bytes: 0,
    };
    let ts: u32 = 1_704_067_200; // event timestamp: not in the rows event the file reader hands out
    let hwm_before = status_kb("self", "VmHWM:").unwrap_or(0);
    let (u0, s0) = rusage_cpu();
    let t0 = Instant::now();
    for_each_rows_event(&binlog, &ReadOptions::default(), |ev| {
        let tme = ev.table_map;
        let tid = TableId::new(tme.database_name(), tme.table_name());
        if tid != id {
            return Ok(());
        }
        let base_op = match ev.kind {
            RowsKind::Insert => Op::Create,
            RowsKind::Delete => Op::Delete,
            RowsKind::Update => Op::Update,
        };
        let pos = ev.pos;
        for (row_idx, item) in ev.rows.rows(tme).enumerate() {
            let (before, after) = item?;
            let (before_img, after_img) =
                decode_change(&table, &schemas, before.as_ref(), after.as_ref(), &mut m.scratch, &mut m.nulled)?;
            let source_v = SourceInfo {
                server_name: &m.prefix,
                ts_ms: ts as i64 * 1000,
                snapshot: "false",
                db: &tid.db,
                table: Some(&tid.table),
                server_id: m.server_id,
                gtid: None,
                file: &m.file,
                pos: pos as i64,
                row: row_idx as i32,
                thread: None,
                query: None,
            }
            .to_value();
            let offset = m.offset_after(m.tx_events, row_idx as u64 + 1);
            m.emit_change(&schemas, base_op, before_img, after_img, source_v, offset);
        }
        m.tx_events += 1;
        Ok(())
    })?;
    let wall = t0.elapsed().as_secs_f64();
    let (u1, s1) = rusage_cpu();
    let hwm = status_kb("self", "VmHWM:").unwrap_or(0);
    let r = json!({
        "records": m.records,
        "wall_s": wall,
        "cpu_user_s": u1 - u0,
        "cpu_sys_s": s1 - s0,
        "cpu_s": (u1 - u0) + (s1 - s0),
        "peak_rss_kb": hwm,
        "peak_rss_kb_before_work": hwm_before,
        "json_bytes": m.json_bytes,
        "binlog_bytes": std::fs::metadata(&binlog).map(|md| md.len()).unwrap_or(0),
    });
    println!("{r}");
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// mode 3: the release binary against MariaDB + tansu

fn run_kafka(svc: &Services, mode: &str, s: &Settings, sql_path: &Path, run: usize) -> Res<Json> {
    use rdkafka::config::ClientConfig;
    let bin = connector_bin();
    if !bin.exists() {
        return Err(format!("connector binary {} does not exist", bin.display()).into());
    }
    let consumer: rdkafka::consumer::BaseConsumer = ClientConfig::new()
        .set("bootstrap.servers", &svc.kafka)
        .set("group.id", "streaming-bench")
        .set("allow.auto.create.topics", "false")
        .create()?;
    {
        use rdkafka::consumer::Consumer;
        consumer
            .fetch_metadata(None, Duration::from_secs(10))
            .map_err(|e| format!("Kafka at {} does not answer: {e}", svc.kafka))?;
    }
    // fresh table (the oracle uses a fresh server per run)
    svc.sql_out(&format!("DROP DATABASE IF EXISTS perf;\n{TABLE_SQL}"))?;
    let prefix = format!("bench{}r{run}", unix_now());
    let topic = format!("{prefix}.perf.events");
    let dir = tempfile::Builder::new().prefix("streaming-bench-").tempdir()?;
    let converters = if mode == "kafka-avro" {
        let url =
            svc.registry.as_deref().ok_or("REGISTRY_URL is not set (mode kafka-avro needs the schema registry)")?;
        format!(
            "key.converter=io.confluent.connect.avro.AvroConverter\nvalue.converter=io.confluent.connect.avro.AvroConverter\n\
             key.converter.schema.registry.url={url}\nvalue.converter.schema.registry.url={url}\n"
        )
    } else {
        "key.converter=org.apache.kafka.connect.json.JsonConverter\nvalue.converter=org.apache.kafka.connect.json.JsonConverter\n\
         key.converter.schemas.enable=true\nvalue.converter.schemas.enable=true\n"
            .to_string()
    };
    let worker = format!(
        "bootstrap.servers={}\n{converters}offset.storage.file.filename={}\noffset.flush.interval.ms=60000\n",
        svc.kafka,
        dir.path().join("offsets.dat").display()
    );
    let mut worker = worker;
    let extra = std::env::var("BENCH_WORKER_EXTRA").unwrap_or_default();
    for line in extra.split(';').map(str::trim).filter(|l| !l.is_empty()) {
        worker.push_str(line);
        worker.push('\n');
    }
    std::fs::write(dir.path().join("worker.properties"), worker)?;
    let connector = json!({
        "name": format!("{prefix}-connector"),
        "config": {
            "connector.class": "io.debezium.connector.mysql.MySqlConnector",
            "tasks.max": "1",
            "database.hostname": svc.mysql_host,
            "database.port": svc.mysql_port.to_string(),
            "database.user": "debezium",
            "database.password": "dbz",
            "database.server.id": "184054",
            "topic.prefix": prefix,
            "database.include.list": "perf",
        }
    });
    std::fs::write(dir.path().join("connector.json"), serde_json::to_vec_pretty(&connector)?)?;
    let mut c = Connector::stream_from_latest(&bin, dir.path())?;
    let pid = c.child.id();
    std::thread::sleep(Duration::from_secs(2)); // as the oracle: 2 s idle after streaming started
    c.check_alive()?;
    let cpu0 = proc_cpu(pid)?;
    let expected = s.rows as i64;
    // t0: start the insert (client in its own thread so we can poll meanwhile)
    let t0 = Instant::now();
    let (itx, irx) = mpsc::channel();
    {
        let sql_path = sql_path.to_path_buf();
        let svc2 = Services {
            mysql_host: svc.mysql_host.clone(),
            mysql_port: svc.mysql_port,
            kafka: String::new(),
            registry: None,
        };
        std::thread::spawn(move || {
            let r = svc2.sql_file(&sql_path).map_err(|e| e.to_string());
            let _ = itx.send((r, t0.elapsed().as_secs_f64()));
        });
    }
    let mut insert_s = None;
    let mut first_s = None;
    let mut count = 0;
    let deadline = t0 + Duration::from_secs(600);
    let last_s = loop {
        if let Ok((r, d)) = irx.try_recv() {
            r.map_err(|e| format!("the insert failed: {e}"))?;
            insert_s = Some(d);
        }
        if let Some(n) = topic_count(&consumer, &topic) {
            if n > 0 && first_s.is_none() {
                first_s = Some(t0.elapsed().as_secs_f64());
            }
            count = n;
            if n >= expected {
                break t0.elapsed().as_secs_f64();
            }
        }
        c.check_alive()?;
        if Instant::now() > deadline {
            return Err(format!("only {count} of {expected} records in {topic} after 600 s:\n{}", c.tail()).into());
        }
        std::thread::sleep(Duration::from_millis(10));
    };
    let cpu_last = proc_cpu(pid)?;
    let insert_s = match insert_s {
        Some(d) => d,
        None => {
            let (r, d) = irx.recv()?;
            r.map_err(|e| format!("the insert failed: {e}"))?;
            d
        }
    };
    // just before stopping: whole-process CPU and peak RSS
    let cpu_total = proc_cpu(pid)?;
    let hwm = status_kb(&pid.to_string(), "VmHWM:").unwrap_or(0);
    c.stop()?;
    let final_count = topic_count(&consumer, &topic).unwrap_or(count);
    if final_count != expected {
        eprintln!("   WARNING: {final_count} records in {topic}, expected {expected}");
    }
    Ok(json!({
        "mode": mode,
        "records": expected,
        "records_in_topic": final_count,
        "topic": topic,
        "insert_s": insert_s,
        "wall_s": last_s,
        "first_record_s": first_s,
        "first_to_last_s": last_s - first_s.unwrap_or(0.0),
        "cpu_s": cpu_last - cpu0,
        "cpu_total_s": cpu_total,
        "peak_rss_kb": hwm,
        "worker_extra": extra,
    }))
}
