//! `cdc-connector --check`: everything a start would trip over, found before it, in one report.
//!
//! The start itself stops at the first problem (a missing privilege, a purged position); an
//! operator fixing a new deployment wants them all at once. Each check runs on its own — one
//! failing does not hide the others (except that no server check runs without a connection) —
//! and the report lists every check with `ok`, `WARN` or `FAIL`; any `FAIL` makes the exit
//! status non-zero.

use std::fmt;
use std::time::Duration;

use mysql_async::prelude::Queryable;

use super::PipelineConfig;
use crate::config::SnapshotLockingMode;
use crate::offsets::OffsetStore;
use crate::source::binlog;

/// How a check came out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    Ok,
    /// Works, but not as well as it could (e.g. no GTIDs for fail-over).
    Warn,
    /// The connector would stop on it.
    Fail,
}

/// One line of the report.
#[derive(Debug, Clone)]
pub struct Finding {
    pub outcome: Outcome,
    pub check: &'static str,
    pub message: String,
}

impl fmt::Display for Finding {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let tag = match self.outcome {
            Outcome::Ok => "ok  ",
            Outcome::Warn => "WARN",
            Outcome::Fail => "FAIL",
        };
        write!(f, "{tag} {:<22} {}", self.check, self.message)
    }
}

/// Every finding about `cfg`'s database, Kafka and stored offset.
pub async fn run(cfg: &PipelineConfig) -> Vec<Finding> {
    let mut out = Vec::new();
    let mut add = |outcome, check, message: String| out.push(Finding { outcome, check, message });

    // Kafka: the producer's brokers answer and accept its login
    let (client, bootstrap) = (cfg.sink.client.clone(), cfg.sink.bootstrap_servers.clone());
    match tokio::task::spawn_blocking(move || client.probe(&bootstrap, Duration::from_secs(10))).await {
        Ok(Ok(())) => add(Outcome::Ok, "kafka", format!("{} answers", cfg.sink.bootstrap_servers)),
        Ok(Err(e)) => add(Outcome::Fail, "kafka", format!("{}: {e}", cfg.sink.bootstrap_servers)),
        Err(e) => add(Outcome::Fail, "kafka", e.to_string()),
    }

    let addr = cfg.db.addr();
    let mut conn = match binlog::connect(&cfg.db).await {
        Ok(c) => {
            add(Outcome::Ok, "database connection", format!("{addr} as {}", cfg.db.user));
            c
        }
        Err(e) => {
            add(Outcome::Fail, "database connection", e.to_string());
            return out;
        }
    };
    let version: String = conn.query_first("SELECT VERSION()").await.ok().flatten().unwrap_or_default();
    let is_mariadb = version.to_ascii_lowercase().contains("mariadb");

    // binlog settings, privileges: what the start checks (`binlog::check_server`), all reported
    match binlog::check_binlog_settings(&mut conn, &addr).await {
        Ok(()) => {
            add(Outcome::Ok, "binlog", format!("log_bin ON, binlog_format ROW, binlog_row_image FULL ({version})"))
        }
        Err(e) => add(Outcome::Fail, "binlog", e.to_string()),
    }
    let grants = match binlog::Grants::of(&mut conn, &addr).await {
        Ok(g) => g,
        Err(e) => {
            add(Outcome::Fail, "privileges", e.to_string());
            return out;
        }
    };
    let mut missing = Vec::new();
    if !grants.can_dump() {
        missing.push("REPLICATION SLAVE (reading the binlog)");
    }
    if !grants.can_read_position() {
        missing.push("REPLICATION CLIENT (or BINLOG MONITOR: the binlog position)");
    }
    if !grants.has("SELECT") {
        missing.push("SELECT (snapshots)");
    }
    let locks = !matches!(cfg.snapshot.locking_mode, SnapshotLockingMode::None);
    if locks && !(grants.has("RELOAD") || grants.has("LOCK TABLES")) {
        missing.push("RELOAD or LOCK TABLES (the snapshot's lock; or snapshot.locking.mode=none)");
    }
    if missing.is_empty() {
        add(Outcome::Ok, "privileges", format!("{} has what the connector needs", cfg.db.user));
    } else {
        add(Outcome::Fail, "privileges", format!("{} lacks {}", cfg.db.user, missing.join(", ")));
    }

    // server_id: unique among the server's replicas and not the server's own
    let own: Option<u64> = conn.query_first("SELECT @@GLOBAL.server_id").await.ok().flatten();
    let replicas: Result<Vec<mysql_async::Row>, _> =
        conn.query(if is_mariadb { "SHOW SLAVE HOSTS" } else { "SHOW REPLICAS" }).await;
    let ours = u64::from(cfg.server_id);
    match replicas {
        _ if own == Some(ours) => add(
            Outcome::Fail,
            "server id",
            format!("database.server.id={ours} is the server's own server_id: choose another"),
        ),
        Ok(rows) => {
            let taken = rows.iter().any(|r| r.get::<u64, _>(0) == Some(ours));
            if taken {
                add(
                    Outcome::Fail,
                    "server id",
                    format!(
                        "database.server.id={ours} is used by a replica connected now (SHOW {}): two replicas with \
                         one id disconnect each other",
                        if is_mariadb { "SLAVE HOSTS" } else { "REPLICAS" }
                    ),
                );
            } else {
                add(Outcome::Ok, "server id", format!("database.server.id={ours} is not in use"));
            }
        }
        Err(e) => add(Outcome::Warn, "server id", format!("cannot list the server's replicas: {e}")),
    }

    // GTIDs (fail-over to another server resumes by GTID)
    let get = |v: Result<Option<String>, mysql_async::Error>| v.ok().flatten().unwrap_or_default();
    if is_mariadb {
        let pos = get(conn.query_first("SELECT @@GLOBAL.gtid_binlog_pos").await);
        add(Outcome::Ok, "gtid", format!("MariaDB GTIDs (gtid_binlog_pos {pos})"));
    } else {
        let mode = get(conn.query_first("SELECT @@GLOBAL.gtid_mode").await);
        if mode.eq_ignore_ascii_case("ON") {
            add(Outcome::Ok, "gtid", "gtid_mode ON".into());
        } else if cfg.gtid_sources.is_some() {
            add(Outcome::Fail, "gtid", format!("gtid.source.* is set but gtid_mode is {mode}"));
        } else {
            add(Outcome::Warn, "gtid", format!("gtid_mode is {mode}: a fail-over to another server cannot resume"));
        }
    }

    // the stored offset's binlog file is still on the server (or a GTID resume is possible)
    let files: Vec<String> = conn
        .query::<mysql_async::Row, _>("SHOW BINARY LOGS")
        .await
        .map(|rows| rows.iter().filter_map(|r| r.get::<String, _>(0)).collect())
        .unwrap_or_default();
    match OffsetStore::open(&cfg.offsets).await.map(|s| s.get(&cfg.connector_name, &cfg.prefix)) {
        Ok(Ok(None)) => add(Outcome::Ok, "stored offset", "none: the first start follows snapshot.mode".into()),
        Ok(Ok(Some(o))) if files.contains(&o.file) => {
            add(Outcome::Ok, "stored offset", format!("{}:{} is on the server", o.file, o.pos))
        }
        Ok(Ok(Some(o))) if o.gtids.is_some() || o.extra.iter().any(|(k, _)| k == super::MARIADB_GTIDS_KEY) => add(
            Outcome::Warn,
            "stored offset",
            format!("{} is no longer on the server; the start resumes by GTID", o.file),
        ),
        Ok(Ok(Some(o))) => add(
            Outcome::Fail,
            "stored offset",
            format!(
                "{}:{} is no longer on the server (purged; oldest is {}): the start would stop — snapshot again \
                 (delete the offset, or snapshot.mode=when_needed) and keep binlogs longer",
                o.file,
                o.pos,
                files.first().map_or("none", String::as_str)
            ),
        ),
        Ok(Err(e)) => add(Outcome::Fail, "stored offset", e.to_string()),
        Err(e) => add(Outcome::Fail, "stored offset", e.to_string()),
    }
    let _ = conn.disconnect().await;
    out
}
