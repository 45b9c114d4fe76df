//! Snapshot benchmark: the oracle's perf step (b) — `perf.snap`, 1,000,000 rows present before
//! start (`../shared/oracle/perf.sh`, PERF.md) — through cdc-connector's snapshot with
//! `snapshot.max.threads` 1 and 4, in two modes that match Debezium's two handlers:
//!
//! * `count`: the locked protocol, the row reads (PK chunks, one connection per thread), the
//!   Connect values, markers, key, source block and envelope of every record, without encoding
//!   (≈ Debezium's "count" handler, which receives the `SourceRecord`s and counts them);
//! * `json`: the same plus the JsonConverter encoding (schemas enabled) of key and value and the
//!   header list, exactly as `pipeline.rs` builds each snapshot record (≈ the "json" handler).
//!
//! Kafka is left out on purpose: Debezium's numbers are without it too, and the local broker
//! (tansu) takes a few thousand records/s, which would measure the broker. Each run is a fresh
//! child process (this binary, `--child MODE THREADS`), so CPU (user+sys of the whole process,
//! all threads) and peak RSS (VmHWM) belong to that run alone; the time runs from the start of
//! the snapshot (connections, lock, schema) to the last record, Debezium's "engine start → last".
//!
//! Run: `eval "$(e2e/services.sh up)"` then `cargo bench --bench snapshot`.
//! Knobs: `BENCH_SNAPSHOT_ROWS` (default 1000000), `BENCH_REPEAT` (default 3),
//! `BENCH_THREADS` (default `1,4`), `BENCH_MODES` (default `count,json`), `BENCH_NO_SAVE=1`.
//! Output: `benchmarks/results/snapshot.json` and `benchmarks/results/snapshot.md`.

use std::collections::BTreeMap;
use std::hint::black_box;
use std::path::PathBuf;
use std::process::{Command, ExitCode, Stdio};
use std::sync::Arc;
use std::time::Instant;

use cdc_connector::config::{ConverterKind, SnapshotConfig, SnapshotLockingMode, SnapshotMode};
use cdc_connector::connect::Value;
use cdc_connector::encode::converter::Converter;
use cdc_connector::envelope::{self, envelope_value, Op, ProcessingTime, SourceInfo, TableSchemas};
use cdc_connector::record::{Change, ChangeRecords, SchemaIds};
use cdc_connector::schema::{connect_schema, TableId};
use cdc_connector::snapshot::{Snapshot, SnapshotItem, SnapshotOptions};
use cdc_connector::source::binlog::{self, ConnectOptions};
use cdc_connector::telemetry::Telemetry;
use serde_json::{json, Value as Json};

mod common;

use common::{env_parse, machine, median, rusage_cpu, services, status_kb, unix_now, Res, Services};

const PREFIX: &str = "dbserver1";

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let result = if args.first().map(String::as_str) == Some("--child") {
        child(&args[1..])
    } else if args.iter().any(|a| a == "--list") || !args.iter().any(|a| a == "--bench") {
        eprintln!("snapshot bench: not measuring (run it with `cargo bench --bench snapshot`)");
        Ok(())
    } else {
        parent()
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("snapshot bench: ERROR: {e}");
            ExitCode::FAILURE
        }
    }
}

fn list(name: &str, default: &str) -> Vec<String> {
    std::env::var(name)
        .unwrap_or_else(|_| default.into())
        .split(',')
        .map(|s| s.trim().to_string())
        .filter(|s| !s.is_empty())
        .collect()
}

/// perf.sh `perf_table_sql snap` and its snapshot load, unless the table already holds `rows` rows.
fn ensure_table(svc: &Services, rows: u64) -> Res<()> {
    let have = svc.sql_out("SELECT COUNT(*) FROM perf.snap").ok().and_then(|s| s.trim().parse::<u64>().ok());
    if have == Some(rows) {
        return Ok(());
    }
    eprintln!("loading {rows} rows into perf.snap");
    svc.sql_out(
        "CREATE DATABASE IF NOT EXISTS perf; DROP TABLE IF EXISTS perf.snap;
         CREATE TABLE perf.snap (id BIGINT NOT NULL PRIMARY KEY, a INT NOT NULL, b INT, name VARCHAR(64) NOT NULL,
                                 score DOUBLE, created DATETIME NOT NULL);",
    )?;
    svc.sql_out(&format!(
        "INSERT INTO perf.snap SELECT seq, seq % 1000, seq * 7 % 100000, CONCAT('name-', seq), seq / 7.0, \
         '2024-01-01 00:00:00' + INTERVAL seq SECOND FROM perf.seq_1_to_{rows}; ANALYZE TABLE perf.snap;"
    ))?;
    Ok(())
}

fn parent() -> Res<()> {
    let repo = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let rows: u64 = env_parse("BENCH_SNAPSHOT_ROWS", 1_000_000)?;
    let repeat: usize = env_parse("BENCH_REPEAT", 3)?;
    let threads = list("BENCH_THREADS", "1,4");
    let modes = list("BENCH_MODES", "count,json");
    if let Some(m) = modes.iter().find(|m| !matches!(m.as_str(), "count" | "json")) {
        return Err(format!("BENCH_MODES: unknown mode '{m}' (count, json)").into());
    }
    let svc = services(false)?;
    ensure_table(&svc, rows)?;
    let mut runs = Vec::new();
    for mode in &modes {
        for t in &threads {
            for i in 1..=repeat {
                eprintln!("== {mode}, {t} thread(s), run {i}/{repeat}");
                let out = Command::new(std::env::current_exe()?)
                    .args(["--child", mode, t])
                    .stderr(Stdio::inherit())
                    .output()?;
                if !out.status.success() {
                    return Err(format!("child run {mode}/{t} failed ({})", out.status).into());
                }
                let text = String::from_utf8_lossy(&out.stdout);
                let mut r: Json = serde_json::from_str(text.lines().last().ok_or("child printed nothing")?)?;
                if r["records"].as_u64() != Some(rows) {
                    return Err(format!("{mode}/{t}: {} records, expected {rows}", r["records"]).into());
                }
                r["mode"] = json!(mode);
                r["threads"] = json!(t.parse::<u64>()?);
                eprintln!("   {r}");
                runs.push(r);
            }
        }
    }
    let summary = summarize(&runs);
    let md = markdown(&summary, rows);
    if std::env::var("BENCH_NO_SAVE").is_ok_and(|v| v == "1") {
        println!("{md}");
        return Ok(());
    }
    let dir = repo.join("benchmarks/results");
    std::fs::create_dir_all(&dir)?;
    let doc = json!({
        "workload": "oracle perf (b): perf.snap, rows present before start, snapshot.mode=initial",
        "rows": rows,
        "unix_time": unix_now(),
        "machine": machine(),
        "summary": summary,
        "runs": runs,
    });
    std::fs::write(dir.join("snapshot.json"), serde_json::to_string_pretty(&doc)? + "\n")?;
    std::fs::write(dir.join("snapshot.md"), &md)?;
    println!("\n{md}");
    eprintln!("wrote {}", dir.join("snapshot.json").display());
    Ok(())
}

/// Medians per (mode, threads).
fn summarize(runs: &[Json]) -> BTreeMap<String, Json> {
    let mut by: BTreeMap<String, Vec<&Json>> = BTreeMap::new();
    for r in runs {
        by.entry(format!("{}-{}", r["mode"].as_str().unwrap_or("?"), r["threads"])).or_default().push(r);
    }
    by.into_iter()
        .map(|(k, rs)| {
            let f = |key: &str| median(rs.iter().filter_map(|r| r[key].as_f64()).collect());
            let records = rs[0]["records"].as_f64().unwrap_or(0.0);
            let v = json!({
                "mode": rs[0]["mode"],
                "threads": rs[0]["threads"],
                "runs": rs.len(),
                "records": records,
                "wall_s": f("wall_s"),
                "rows_per_s": (records / f("wall_s")).round(),
                "cpu_s": f("cpu_s"),
                "cpu_us_per_row": f("cpu_s") / records * 1e6,
                "peak_rss_mb": f("peak_rss_kb") / 1024.0,
                "first_to_last_s": f("first_to_last_s"),
            });
            (k, v)
        })
        .collect()
}

fn markdown(summary: &BTreeMap<String, Json>, rows: u64) -> String {
    let mut s = format!(
        "Snapshot benchmark, {rows} rows of perf.snap (medians; `cargo bench --bench snapshot`, see benchmarks/RESULTS.md)\n\n\
         | mode | threads | runs | start → last s | **rows/s** | first → last s | CPU s | CPU µs/row | peak RSS MB |\n\
         |---|---|---|---|---|---|---|---|---|\n"
    );
    for m in summary.values() {
        s.push_str(&format!(
            "| {} | {} | {} | {:.2} | **{:.0}** | {:.2} | {:.2} | {:.2} | {:.1} |\n",
            m["mode"].as_str().unwrap_or("?"),
            m["threads"],
            m["runs"],
            m["wall_s"].as_f64().unwrap_or(f64::NAN),
            m["rows_per_s"].as_f64().unwrap_or(f64::NAN),
            m["first_to_last_s"].as_f64().unwrap_or(f64::NAN),
            m["cpu_s"].as_f64().unwrap_or(f64::NAN),
            m["cpu_us_per_row"].as_f64().unwrap_or(f64::NAN),
            m["peak_rss_mb"].as_f64().unwrap_or(f64::NAN),
        ));
    }
    s
}

fn child(args: &[String]) -> Res<()> {
    let [mode, threads] = args else { return Err("usage: --child count|json THREADS".into()) };
    let encode = mode == "json";
    let threads: u32 = threads.parse()?;
    let host = std::env::var("MYSQL_HOST").map_err(|_| "MYSQL_HOST is not set")?;
    let port: u16 = std::env::var("MYSQL_PORT").map_err(|_| "MYSQL_PORT is not set")?.parse()?;
    let db = ConnectOptions {
        host,
        port,
        user: "root".into(),
        password: String::new(),
        connect_timeout_ms: 30_000,
        tls: Default::default(),
        keep_alive_ms: None,
        initial_statements: Vec::new(),
        annotate_rows: false,
    };
    // Two runtime threads, as the connector binary runs.
    let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build()?;
    rt.block_on(async move {
        let kind = ConverterKind::Json { schemas_enable: true };
        let mut registries = Vec::new();
        let key_conv = Converter::new(&kind, true, &mut registries)?;
        let value_conv = Converter::new(&kind, false, &mut registries)?;
        let run_id = "0190a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b";
        let mut records = ChangeRecords::new(key_conv, value_conv, PREFIX, run_id, true);
        let hwm_before = status_kb("self", "VmHWM:").unwrap_or(0);
        let (u0, s0) = rusage_cpu();
        let t0 = Instant::now();
        let mut conn = binlog::connect(&db).await?;
        let server = binlog::check_server(&mut conn, &db).await?;
        drop(conn);
        let opts = SnapshotOptions {
            db,
            server,
            config: SnapshotConfig {
                mode: SnapshotMode::Initial,
                locking_mode: SnapshotLockingMode::Minimal,
                fetch_size: None,
                include_collection_list: Default::default(),
                select_statement_overrides: Default::default(),
                max_threads: threads,
                delay_ms: 0,
            },
            table_filter: Arc::new(|db: &str, t: &str| db == "perf" && t == "snap"),
            db_filter: Arc::new(|db: &str, _: &str| db == "perf"),
            data: true,
            telemetry: Arc::new(Telemetry::new(PREFIX)),
            scope: Default::default(),
        };
        let (mut snap, catalog) = Snapshot::begin(&opts).await?;
        let pos = snap.position().cloned().ok_or("the snapshot read no binlog position")?;
        let id = TableId::new("perf", "snap");
        let table = catalog.table(&id).ok_or("perf.snap is not in the snapshot's catalog")?;
        let source_schema = envelope::source_schema();
        let o = connect_schema::SchemaOptions::default();
        let schemas = TableSchemas::new(
            format!("{PREFIX}.perf.snap"),
            connect_schema::key_schema(PREFIX, table, &o),
            connect_schema::value_schema(PREFIX, table, &o),
            table.key_indexes(),
            &source_schema,
        );
        let (mut n, mut bytes, mut schema_events) = (0u64, 0u64, 0u64);
        let mut first: Option<Instant> = None;
        while let Some(item) = snap.next().await? {
            let row = match item {
                SnapshotItem::Schema(_) => {
                    schema_events += 1;
                    continue;
                }
                SnapshotItem::Row(row) => row,
            };
            first.get_or_insert_with(Instant::now);
            // `Streamer::emit_snapshot_row` without the Kafka send.
            let source = SourceInfo {
                server_name: PREFIX,
                ts_ms: row.ts_ms,
                snapshot: row.marker.as_str(),
                db: &row.table.id.db,
                table: Some(&row.table.id.table),
                server_id: 0,
                gtid: None,
                file: &pos.file,
                pos: pos.pos as i64,
                row: 0,
                thread: None,
                query: None,
            }
            .to_value();
            let key = schemas.key_value(&row.values);
            let after = (key, Some(Value::Struct(row.values)));
            if encode {
                let change = Change {
                    schemas: &schemas,
                    ids: SchemaIds::default(),
                    op: Op::Read,
                    before: (None, None),
                    after,
                    tx: None,
                };
                let k = records.encode_change(change, source, ProcessingTime::now())?;
                bytes += records.encoded_len() as u64;
                for i in 0..k {
                    black_box(records.get(i).headers.as_slice().len());
                }
                n += k as u64;
            } else {
                black_box(envelope_value(None, after.1, source, Value::Null, Op::Read, ProcessingTime::now()));
                black_box(after.0);
                n += 1;
            }
        }
        let wall = t0.elapsed().as_secs_f64();
        let first_to_last = first.map_or(0.0, |f| f.elapsed().as_secs_f64());
        let (u1, s1) = rusage_cpu();
        let r = json!({
            "records": n,
            "schema_events": schema_events,
            "wall_s": wall,
            "first_to_last_s": first_to_last,
            "cpu_user_s": u1 - u0,
            "cpu_sys_s": s1 - s0,
            "cpu_s": (u1 - u0) + (s1 - s0),
            "peak_rss_kb": status_kb("self", "VmHWM:").unwrap_or(0),
            "peak_rss_kb_before_work": hwm_before,
            "json_bytes": bytes,
        });
        println!("{r}");
        Ok::<(), common::BoxError>(())
    })
}
