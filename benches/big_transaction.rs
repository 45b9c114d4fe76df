//! One big transaction through the connector, its memory measured (issue #8, "bounded memory").
//!
//! A single `INSERT … SELECT` from MariaDB's sequence engine writes `BENCH_TX_MB` MiB of rows
//! (`BENCH_ROW_KB` KiB of text each) in one transaction; the release `cdc-connector` streams it
//! into tansu while a sampler reads its resident set every 20 ms. Nothing in the pipeline holds a
//! transaction: rows events are decoded one at a time and records go to the producer, whose queue
//! is bounded by the in-flight gate (idempotent producer, the default: at most one ProduceRequest
//! per partition queued) or, with `producer.enable.idempotence=false`, by
//! `max.queue.size.in.bytes` (→ librdkafka's `queue.buffering.max.kbytes`). The point is that peak
//! RSS does not grow with the transaction.
//!
//! Run: `eval "$(e2e/services.sh up)"` then `cargo bench --bench big_transaction`.
//! Knobs: `BENCH_TX_MB` (1024), `BENCH_ROW_KB` (16), `BENCH_CASES` (`gate,queue-bytes,no-budget`:
//! the default producer; idempotence off with `max.queue.size.in.bytes` = `BENCH_QUEUE_MB` (64);
//! idempotence off without a budget, librdkafka's own 1 GiB / 100,000-message queue limits),
//! `CDC_CONNECTOR_BIN` (default: the binary cargo built for this bench), `BENCH_NO_SAVE=1`.
//! Output: `benchmarks/results/big_transaction.json` and `.md` (also printed).

use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{mpsc, Arc};
use std::time::{Duration, Instant};

use serde_json::{json, Value as Json};

mod common;

use common::{connector_bin, env_parse, machine, services, status_kb, topic_count, unix_now, Connector, Res, Services};

fn main() -> ExitCode {
    match run() {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("big_transaction bench: {e}");
            ExitCode::FAILURE
        }
    }
}

fn run() -> Res<()> {
    let tx_mb: u64 = env_parse("BENCH_TX_MB", 1024)?;
    let row_kb: u64 = env_parse("BENCH_ROW_KB", 16)?;
    let queue_mb: u64 = env_parse("BENCH_QUEUE_MB", 64)?;
    let cases = std::env::var("BENCH_CASES").unwrap_or_else(|_| "gate,queue-bytes,no-budget".into());
    let svc = services(true)?;
    let mut runs = Vec::new();
    for case in cases.split(',').map(str::trim).filter(|c| !c.is_empty()) {
        eprintln!("== {case}: one {tx_mb} MiB transaction of {row_kb} KiB rows");
        let r = run_case(&svc, case, tx_mb, row_kb, queue_mb)?;
        eprintln!("   {r}");
        runs.push(r);
    }
    let md = table(&runs);
    println!("{md}");
    if std::env::var("BENCH_NO_SAVE").is_err() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("benchmarks/results");
        std::fs::create_dir_all(&dir)?;
        let out = json!({"bench": "big_transaction", "unix_time": unix_now(), "machine": machine(), "runs": runs});
        std::fs::write(dir.join("big_transaction.json"), serde_json::to_vec_pretty(&out)?)?;
        std::fs::write(dir.join("big_transaction.md"), md)?;
    }
    Ok(())
}

fn run_case(svc: &Services, case: &str, tx_mb: u64, row_kb: u64, queue_mb: u64) -> Res<Json> {
    let rows = tx_mb * 1024 / row_kb;
    let extra_worker = match case {
        "gate" => String::new(),
        "queue-bytes" | "no-budget" => "producer.enable.idempotence=false\n".to_string(),
        other => return Err(format!("unknown case {other} (gate, queue-bytes, no-budget)").into()),
    };
    let consumer: rdkafka::consumer::BaseConsumer =
        rdkafka::ClientConfig::new().set("bootstrap.servers", &svc.kafka).set("group.id", "big-tx-bench").create()?;
    svc.sql_out(
        "DROP DATABASE IF EXISTS bigtx; CREATE DATABASE bigtx;
         CREATE TABLE bigtx.t (id BIGINT NOT NULL PRIMARY KEY, payload LONGTEXT NOT NULL);",
    )?;
    let prefix = format!("bigtx{}{}", unix_now(), case.replace('-', ""));
    let topic = format!("{prefix}.bigtx.t");
    let dir = tempfile::Builder::new().prefix("big-tx-bench-").tempdir()?;
    let worker = format!(
        "bootstrap.servers={}\nkey.converter=org.apache.kafka.connect.json.JsonConverter\n\
         value.converter=org.apache.kafka.connect.json.JsonConverter\noffset.storage.file.filename={}\n\
         offset.flush.interval.ms=10000\n{extra_worker}",
        svc.kafka,
        dir.path().join("offsets.dat").display()
    );
    std::fs::write(dir.path().join("worker.properties"), worker)?;
    let mut config = json!({
        "connector.class": "io.debezium.connector.mysql.MySqlConnector",
        "database.hostname": svc.mysql_host,
        "database.port": svc.mysql_port.to_string(),
        "database.user": "debezium",
        "database.password": "dbz",
        "database.server.id": "184060",
        "topic.prefix": prefix,
        "database.include.list": "bigtx",
    });
    if case == "queue-bytes" {
        config["max.queue.size.in.bytes"] = json!((queue_mb * 1024 * 1024).to_string());
    }
    let connector = json!({"name": format!("{prefix}-connector"), "config": config});
    std::fs::write(dir.path().join("connector.json"), serde_json::to_vec_pretty(&connector)?)?;
    let mut c = Connector::stream_from_latest(&connector_bin(), dir.path())?;
    let pid = c.child.id().to_string();
    let rss_start = status_kb(&pid, "VmRSS:").unwrap_or(0);

    // RSS sampler
    let (stop, max_rss) = (Arc::new(AtomicBool::new(false)), Arc::new(AtomicU64::new(0)));
    let sampler = {
        let (stop, max_rss, pid) = (stop.clone(), max_rss.clone(), pid.clone());
        std::thread::spawn(move || {
            while !stop.load(Ordering::Relaxed) {
                if let Some(kb) = status_kb(&pid, "VmRSS:") {
                    max_rss.fetch_max(kb, Ordering::Relaxed);
                }
                std::thread::sleep(Duration::from_millis(20));
            }
        })
    };

    let t0 = Instant::now();
    let (itx, irx) = mpsc::channel();
    {
        let svc2 = Services {
            mysql_host: svc.mysql_host.clone(),
            mysql_port: svc.mysql_port,
            kafka: String::new(),
            registry: None,
        };
        let row_bytes = row_kb * 1024;
        std::thread::spawn(move || {
            let sql = format!(
                "SET SESSION max_statement_time = 0; USE bigtx; INSERT INTO t \
                 SELECT seq, REPEAT(CHAR(65 + seq % 26), {row_bytes}) FROM seq_1_to_{rows};"
            );
            let r = svc2.sql_out(&sql).map(|_| ()).map_err(|e| e.to_string());
            let _ = itx.send((r, t0.elapsed().as_secs_f64()));
        });
    }
    let mut insert_s = None;
    let deadline = t0 + Duration::from_secs(3600);
    let mut count = 0;
    let wall_s = loop {
        if let Ok((r, d)) = irx.try_recv() {
            r.map_err(|e| format!("the insert failed: {e}"))?;
            insert_s = Some(d);
        }
        if let Some(n) = topic_count(&consumer, &topic) {
            count = n;
            if n >= rows as i64 {
                break t0.elapsed().as_secs_f64();
            }
        }
        c.check_alive()?;
        if Instant::now() > deadline {
            return Err(format!("only {count} of {rows} records after an hour:\n{}", c.tail()).into());
        }
        std::thread::sleep(Duration::from_millis(200));
    };
    let insert_s = match insert_s {
        Some(d) => d,
        None => irx.recv()?.1,
    };
    stop.store(true, Ordering::Relaxed);
    let _ = sampler.join();
    let hwm = status_kb(&pid, "VmHWM:").unwrap_or(0);
    c.stop()?;
    let binlog_mb = tx_mb as f64 * 1.0;
    Ok(json!({
        "case": case,
        "transaction_mib": tx_mb,
        "rows": rows,
        "row_kib": row_kb,
        "max_queue_size_in_bytes": if case == "queue-bytes" { json!(queue_mb * 1024 * 1024) } else { Json::Null },
        "insert_s": insert_s,
        "wall_s": wall_s,
        "mib_per_s": binlog_mb / wall_s,
        "rss_start_kib": rss_start,
        "rss_max_sampled_kib": max_rss.load(Ordering::Relaxed),
        "peak_rss_kib": hwm,
    }))
}

fn table(runs: &[Json]) -> String {
    let mut md = String::from(
        "| case | transaction | rows | queue budget | insert (s) | all in Kafka (s) | MiB/s | RSS at start | peak RSS |\n\
         |---|---|---|---|---|---|---|---|---|\n",
    );
    for r in runs {
        let mib = |k: &str| r[k].as_u64().map_or("-".into(), |kb| format!("{:.0} MiB", kb as f64 / 1024.0));
        md.push_str(&format!(
            "| {} | {} MiB | {} × {} KiB | {} | {:.1} | {:.1} | {:.1} | {} | {} |\n",
            r["case"].as_str().unwrap_or(""),
            r["transaction_mib"],
            r["rows"],
            r["row_kib"],
            match (r["case"].as_str(), r["max_queue_size_in_bytes"].as_u64()) {
                (_, Some(b)) => format!("{} MiB", b >> 20),
                (Some("gate"), None) => "- (in-flight gate)".to_string(),
                _ => "none (librdkafka's 1 GiB)".to_string(),
            },
            r["insert_s"].as_f64().unwrap_or(0.0),
            r["wall_s"].as_f64().unwrap_or(0.0),
            r["mib_per_s"].as_f64().unwrap_or(0.0),
            mib("rss_start_kib"),
            mib("peak_rss_kib"),
        ));
    }
    md
}
