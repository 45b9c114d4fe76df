//! Sessions and locks of the snapshot protocol (see the module doc of `snapshot` for the order).
//!
//! * [`open_reader`]: a connection that will read rows: REPEATABLE READ, `time_zone = '+00:00'`
//!   (TIMESTAMP values arrive in UTC), `character_set_results = NULL` (text arrives as stored, decoded
//!   by column charset like binlog values) and a long `net_write_timeout` (the server may wait on us
//!   while Kafka is slow: rows are streamed, never buffered).
//! * [`lock`]: `FLUSH TABLES WITH READ LOCK`; when the user lacks RELOAD (e.g. RDS), `LOCK TABLES …
//!   READ` on the captured tables instead. Either way the lock is held by the control connection
//!   only, while the readers open their consistent snapshots, so it is released right after the
//!   binlog position and the schemas are read, in both cases (Debezium keeps table locks for the
//!   whole data read; reading from other sessions makes that unnecessary).
//! * Failure: missing privileges name the privilege and suggest `snapshot.locking.mode=none`; a lock
//!   that cannot be had within `lock_wait_timeout` says so.

use mysql_async::prelude::Queryable;
use mysql_async::Conn;

use super::schema::qualified;
use super::SnapshotError;
use crate::schema::TableId;
use crate::source::binlog::{self, BinlogPosition, ConnectOptions};

const ER_DBACCESS_DENIED: u16 = 1044;
const ER_SPECIFIC_ACCESS_DENIED: u16 = 1227;
const ER_TABLEACCESS_DENIED: u16 = 1142;
const ER_LOCK_WAIT_TIMEOUT: u16 = 1205;

/// Seconds to wait for a lock (Debezium's `snapshot.lock.timeout.ms` default, 10 s).
const LOCK_WAIT_TIMEOUT_S: u32 = 10;

/// Which lock the control connection holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lock {
    Global,
    Tables,
}

fn code(e: &mysql_async::Error) -> Option<u16> {
    match e {
        mysql_async::Error::Server(s) => Some(s.code),
        _ => None,
    }
}

fn failed(what: &str) -> impl FnOnce(mysql_async::Error) -> SnapshotError + '_ {
    move |e| SnapshotError::Query { what: what.to_string(), message: e.to_string() }
}

async fn connect(opts: &ConnectOptions) -> Result<Conn, SnapshotError> {
    binlog::connect_jdbc(opts).await.map_err(|e| SnapshotError::Connect(e.to_string()))
}

/// The control connection: lists tables, takes the lock, reads position and schemas, splits chunks.
pub async fn open_control(opts: &ConnectOptions) -> Result<Conn, SnapshotError> {
    let mut conn = connect(opts).await?;
    conn.query_drop(format!("SET SESSION lock_wait_timeout = {LOCK_WAIT_TIMEOUT_S}"))
        .await
        .map_err(failed("SET lock_wait_timeout"))?;
    Ok(conn)
}

/// A reader connection (see the module doc for its session settings).
pub async fn open_reader(opts: &ConnectOptions) -> Result<Conn, SnapshotError> {
    let mut conn = connect(opts).await?;
    for stmt in [
        "SET SESSION TRANSACTION ISOLATION LEVEL REPEATABLE READ",
        "SET SESSION time_zone = '+00:00'",
        "SET SESSION character_set_results = NULL",
        "SET SESSION net_write_timeout = 3600",
    ] {
        conn.query_drop(stmt).await.map_err(failed(stmt))?;
    }
    Ok(conn)
}

/// Open the reader's consistent snapshot.
pub async fn begin_snapshot(conn: &mut Conn) -> Result<(), SnapshotError> {
    conn.query_drop("START TRANSACTION WITH CONSISTENT SNAPSHOT")
        .await
        .map_err(failed("START TRANSACTION WITH CONSISTENT SNAPSHOT"))
}

/// The binlog position a MariaDB consistent snapshot corresponds to (`binlog_snapshot_file` /
/// `binlog_snapshot_position`, valid inside the transaction): exact without any lock.
pub async fn mariadb_snapshot_position(conn: &mut Conn) -> Result<BinlogPosition, SnapshotError> {
    let rows: Vec<(String, String)> = conn
        .query("SHOW STATUS LIKE 'binlog_snapshot_%'")
        .await
        .map_err(failed("SHOW STATUS LIKE 'binlog_snapshot_%'"))?;
    let get = |n: &str| rows.iter().find(|(k, _)| k.eq_ignore_ascii_case(n)).map(|(_, v)| v.clone());
    match (get("binlog_snapshot_file"), get("binlog_snapshot_position").and_then(|p| p.parse().ok())) {
        (Some(file), Some(pos)) if !file.is_empty() => Ok(BinlogPosition { file, pos }),
        _ => Err(SnapshotError::Query {
            what: "SHOW STATUS LIKE 'binlog_snapshot_%'".into(),
            message: "the server reported no snapshot binlog position".into(),
        }),
    }
}

/// Take the global read lock, or table read locks on `tables` when RELOAD is missing.
pub async fn lock(conn: &mut Conn, user: &str, tables: &[TableId]) -> Result<Lock, SnapshotError> {
    let timeout = |what: &str| SnapshotError::LockTimeout { what: what.to_string(), seconds: LOCK_WAIT_TIMEOUT_S };
    let global_err = match conn.query_drop("FLUSH TABLES WITH READ LOCK").await {
        Ok(()) => return Ok(Lock::Global),
        Err(e) => e,
    };
    match code(&global_err) {
        Some(ER_SPECIFIC_ACCESS_DENIED | ER_DBACCESS_DENIED) => {}
        Some(ER_LOCK_WAIT_TIMEOUT) => return Err(timeout("FLUSH TABLES WITH READ LOCK")),
        _ => return Err(failed("FLUSH TABLES WITH READ LOCK")(global_err)),
    }
    tracing::warn!(
        user,
        "no RELOAD privilege for FLUSH TABLES WITH READ LOCK ({global_err}); using table read locks on the captured tables"
    );
    if tables.is_empty() {
        return Ok(Lock::Tables);
    }
    let list: Vec<String> = tables.iter().map(|t| format!("{} READ", qualified(t))).collect();
    match conn.query_drop(format!("LOCK TABLES {}", list.join(", "))).await {
        Ok(()) => Ok(Lock::Tables),
        Err(e) => match code(&e) {
            Some(ER_SPECIFIC_ACCESS_DENIED | ER_DBACCESS_DENIED | ER_TABLEACCESS_DENIED) => {
                Err(SnapshotError::LockPrivilege { user: user.to_string(), detail: format!("{global_err}; {e}") })
            }
            Some(ER_LOCK_WAIT_TIMEOUT) => Err(timeout("LOCK TABLES")),
            _ => Err(failed("LOCK TABLES")(e)),
        },
    }
}

/// Release the lock.
pub async fn unlock(conn: &mut Conn) -> Result<(), SnapshotError> {
    conn.query_drop("UNLOCK TABLES").await.map_err(failed("UNLOCK TABLES"))
}
