//! The binlog connection: connect as a replica, check the server is usable for CDC, and turn
//! the server's event stream into `SourceEvent`s with positions.
//!
//! Algorithm: open a normal client connection, verify `binlog_format=ROW` and
//! `binlog_row_image=FULL`, set `@mariadb_slave_capability=4` (so MariaDB sends its own GTID
//! events instead of rewriting them into fake `BEGIN` queries) and the heartbeat period, then
//! send COM_REGISTER_SLAVE + COM_BINLOG_DUMP at the requested file:pos. Every event's start
//! position is `log_pos - event_size` (the header's `log_pos` is the end of the event); the
//! first (fake) ROTATE names the file. MariaDB-only events (codes ≥ 160) are parsed from raw
//! bytes here: the MariaDB GTID event starts a transaction (there is no BEGIN).
//!
//! Failure: every error names the server (host:port) or the binlog file:pos it happened at.
//! Encrypted/compressed MariaDB events (164–171) stop the stream with an error rather than being
//! dropped. Connection-level errors are returned as `SourceError::Connection` (transient).

use futures_util::StreamExt;
use mysql_async::prelude::Queryable;
use mysql_async::{BinlogStream, BinlogStreamRequest, Conn, OptsBuilder};
use mysql_common::binlog::consts::RowsEventFlags;
use mysql_common::binlog::events::{Event, EventData, TableMapEvent};
use mysql_common::packets::{GnoInterval, Sid, Tag};

use crate::config::{ConfigEnum, SslMode};

/// Server error codes we translate into plain sentences.
const ER_ACCESS_DENIED: u16 = 1045;
const ER_SPECIFIC_ACCESS_DENIED: u16 = 1227;
const ER_MASTER_FATAL_READING_BINLOG: u16 = 1236;
const ER_DBACCESS_DENIED: u16 = 1044;
const ER_SERVER_SHUTDOWN: u16 = 1053;
const ER_QUERY_INTERRUPTED: u16 = 1317;
const ER_CONNECTION_KILLED: u16 = 1927;

/// MariaDB event type codes (not known to mysql_common).
const MARIADB_ANNOTATE_ROWS: u8 = 160;
const MARIADB_BINLOG_CHECKPOINT: u8 = 161;
const MARIADB_GTID: u8 = 162;
const MARIADB_GTID_LIST: u8 = 163;
const MARIADB_START_ENCRYPTION: u8 = 164;
const MARIADB_LAST_UNSUPPORTED: u8 = 171;

/// Errors of the binlog source.
#[derive(Debug, thiserror::Error)]
pub enum SourceError {
    #[error("cannot connect to MySQL at {addr}: {message}")]
    Connect { addr: String, message: String },
    /// TLS as `database.ssl.mode` asks cannot be had: the server offers none, or its certificate
    /// does not verify.
    #[error("cannot connect to MySQL at {addr}: {message}")]
    Tls { addr: String, message: String },
    #[error(
        "MySQL at {addr} rejected user '{user}': wrong user name or password (check database.user / database.password)"
    )]
    Auth { addr: String, user: String },
    #[error("MySQL at {addr}: binlog_format is {actual}, but change data capture needs binlog_format=ROW (set it in the server configuration)")]
    NotRowFormat { addr: String, actual: String },
    #[error("MySQL at {addr}: binlog_row_image is {actual}, but change data capture needs binlog_row_image=FULL")]
    NotFullRowImage { addr: String, actual: String },
    #[error("MySQL at {addr}: binary logging is disabled (log_bin=OFF); start the server with --log-bin")]
    BinlogDisabled { addr: String },
    #[error("MySQL user '{user}' lacks a privilege change data capture needs ({detail}); grant it with: GRANT SELECT, RELOAD, SHOW DATABASES, REPLICATION SLAVE, REPLICATION CLIENT ON *.* TO '{user}'")]
    Privilege { user: String, detail: String },
    #[error("binlog position {file}:{pos} is no longer available on the server ({detail}); it was purged or never existed. Restart with --binlog-pos latest (or earliest) to continue, accepting the gap, or take a new snapshot")]
    Purged { file: String, pos: u64, detail: String },
    #[error("{what} is at {file}:{pos}, but MySQL at {addr} no longer has binlog file {file} (it has: {available}): it was purged (binlog_expire_logs_seconds / expire_logs_days / PURGE BINARY LOGS) while the connector was not reading it, so the changes since then are lost to the connector. Set snapshot.mode=when_needed to take a new snapshot, or restart with --binlog-pos earliest (or latest) to continue from what the server still has, accepting the gap")]
    PositionPurged { what: String, file: String, pos: u64, addr: String, available: String },
    #[error("MySQL at {addr} has no binlog with GTID {gtid} ({detail}): it was purged or never existed. Restart with --binlog-pos latest (or earliest) to continue, accepting the gap")]
    GtidNotFound { addr: String, gtid: String, detail: String },
    #[error("GTID set {gtid} cannot be sent to the server: {detail}")]
    InvalidGtid { gtid: String, detail: String },
    #[error("binlog stream error at {file}:{pos}: {message}")]
    Stream { file: String, pos: u64, message: String },
    /// The connection broke, the server ended the stream or went silent: transient, the pipeline
    /// reconnects (`connect.keep.alive`).
    #[error("connection to the database server lost at binlog {file}:{pos}: {message}")]
    Lost { file: String, pos: u64, message: String },
    #[error(
        "unsupported binlog event type {code} at {file}:{pos} ({what}); the connector stops rather than skip data"
    )]
    Unsupported { code: u8, file: String, pos: u64, what: &'static str },
    #[error("query failed on MySQL at {addr}: {message}")]
    Query { addr: String, message: String },
}

impl SourceError {
    /// A failure of the connection rather than of the data or the configuration: worth a
    /// reconnect (the stored offset says where to go on).
    pub fn is_transient(&self) -> bool {
        match self {
            // Refused, timed out, reset — not a certificate the connector does not trust (`Tls`).
            SourceError::Lost { .. } | SourceError::Query { .. } | SourceError::Connect { .. } => true,
            _ => false,
        }
    }
}

/// How to reach the server.
#[derive(Debug, Clone)]
pub struct ConnectOptions {
    pub host: String,
    pub port: u16,
    pub user: String,
    pub password: String,
    pub connect_timeout_ms: u64,
    /// `database.ssl.*`.
    pub tls: super::tls::TlsOptions,
    /// Ask the server for the statement text of row events (MariaDB's annotate events;
    /// `include.query` on MariaDB). Only binlog dumps read it.
    pub annotate_rows: bool,
    /// `connect.keep.alive.interval.ms` when `connect.keep.alive` is on: the binlog connection is
    /// taken for dead when nothing — no event, no server heartbeat — arrives for this long.
    pub keep_alive_ms: Option<u64>,
    /// `database.initial.statements`: run on every connection that is not a binlog dump's
    /// ([`connect_jdbc`]), as Debezium runs them on its JDBC connections.
    pub initial_statements: Vec<String>,
}

impl ConnectOptions {
    pub fn addr(&self) -> String {
        format!("{}:{}", self.host, self.port)
    }
}

/// A binlog coordinate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BinlogPosition {
    pub file: String,
    pub pos: u64,
}

impl std::fmt::Display for BinlogPosition {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}:{}", self.file, self.pos)
    }
}

/// What we learned about the server at connect time.
#[derive(Debug, Clone)]
pub struct ServerInfo {
    pub version: String,
    pub is_mariadb: bool,
}

fn server_error_code(e: &mysql_async::Error) -> Option<(u16, String)> {
    match e {
        mysql_async::Error::Server(s) => Some((s.code, s.message.clone())),
        _ => None,
    }
}

/// Whether a connection error is the TLS handshake's (rustls' errors reach mysql_async as I/O
/// errors wrapping a `rustls::Error`).
fn is_tls_failure(e: &mysql_async::Error) -> bool {
    match e {
        mysql_async::Error::Io(mysql_async::IoError::Tls(_)) => true,
        mysql_async::Error::Io(mysql_async::IoError::Io(io)) => io.get_ref().is_some_and(|i| i.is::<rustls::Error>()),
        _ => false,
    }
}

/// Open a client connection (TLS as `database.ssl.mode` says).
pub async fn connect(opts: &ConnectOptions) -> Result<Conn, SourceError> {
    let ssl = opts.tls.ssl_opts();
    if ssl.is_some() {
        super::tls::install_crypto_provider();
    }
    match connect_with(opts, ssl).await {
        // `preferred`: the server offers no TLS, so a plain connection.
        Err(ConnectFailure::NoTls) if opts.tls.mode == SslMode::Preferred => {
            connect_with(opts, None).await.map_err(|f| f.into_error(opts))
        }
        other => other.map_err(|f| f.into_error(opts)),
    }
}

/// A connection that reads tables or runs user queries (snapshots, signals, heartbeat action
/// queries) — not the replication connection, which also does the start-up checks:
/// [`connect`], then `database.initial.statements`. A failing statement is named by its number
/// (our message does not repeat its text; the server's reason may quote the part it rejects).
pub async fn connect_jdbc(opts: &ConnectOptions) -> Result<Conn, SourceError> {
    let mut conn = connect(opts).await?;
    for (i, stmt) in opts.initial_statements.iter().enumerate() {
        if let Err(e) = conn.query_drop(stmt.as_str()).await {
            let _ = conn.disconnect().await;
            return Err(SourceError::Query {
                addr: opts.addr(),
                message: format!(
                    "statement {} of {} in database.initial.statements failed: {e}",
                    i + 1,
                    opts.initial_statements.len()
                ),
            });
        }
    }
    Ok(conn)
}

enum ConnectFailure {
    /// The server does not offer TLS (its handshake lacks CLIENT_SSL).
    NoTls,
    Other(SourceError),
}

impl ConnectFailure {
    fn into_error(self, opts: &ConnectOptions) -> SourceError {
        match self {
            ConnectFailure::NoTls => SourceError::Tls {
                addr: opts.addr(),
                message: format!(
                    "the server does not offer TLS, and database.ssl.mode={} requires it (configure ssl_cert/ssl_key on the server, or set database.ssl.mode=preferred)",
                    opts.tls.mode.as_str()
                ),
            },
            ConnectFailure::Other(e) => e,
        }
    }
}

async fn connect_with(opts: &ConnectOptions, ssl: Option<mysql_async::SslOpts>) -> Result<Conn, ConnectFailure> {
    let tls = ssl.is_some();
    let builder = OptsBuilder::default()
        .ip_or_hostname(opts.host.clone())
        .tcp_port(opts.port)
        .user(Some(opts.user.clone()))
        .pass(Some(opts.password.clone()))
        .prefer_socket(false)
        .stmt_cache_size(0)
        .ssl_opts(ssl);
    let fut = Conn::new(builder);
    let timeout = std::time::Duration::from_millis(opts.connect_timeout_ms.max(1));
    let fail = |message: String| ConnectFailure::Other(SourceError::Connect { addr: opts.addr(), message });
    match tokio::time::timeout(timeout, fut).await {
        Err(_) => Err(fail(format!("no answer within {} ms (connect.timeout.ms)", opts.connect_timeout_ms))),
        Ok(Ok(c)) => Ok(c),
        Ok(Err(mysql_async::Error::Driver(mysql_async::DriverError::NoClientSslFlagFromServer))) => {
            Err(ConnectFailure::NoTls)
        }
        Ok(Err(e)) => match server_error_code(&e) {
            Some((ER_ACCESS_DENIED, _)) => {
                Err(ConnectFailure::Other(SourceError::Auth { addr: opts.addr(), user: opts.user.clone() }))
            }
            _ if tls && is_tls_failure(&e) => Err(ConnectFailure::Other(SourceError::Tls {
                addr: opts.addr(),
                message: format!("TLS connection failed (database.ssl.mode={}): {e}", opts.tls.mode.as_str()),
            })),
            _ => Err(fail(e.to_string())),
        },
    }
}

async fn variable(conn: &mut Conn, addr: &str, name: &str) -> Result<Option<String>, SourceError> {
    let row: Option<(String, String)> = conn
        .query_first(format!("SHOW GLOBAL VARIABLES LIKE '{name}'"))
        .await
        .map_err(|e| SourceError::Query { addr: addr.to_string(), message: e.to_string() })?;
    Ok(row.map(|(_, v)| v))
}

/// The binlog settings row-based CDC needs: `log_bin` on, `binlog_format=ROW`,
/// `binlog_row_image=FULL` (the first one missing is the error).
pub async fn check_binlog_settings(conn: &mut Conn, addr: &str) -> Result<(), SourceError> {
    if let Some(v) = variable(conn, addr, "log_bin").await? {
        if v.eq_ignore_ascii_case("OFF") {
            return Err(SourceError::BinlogDisabled { addr: addr.to_string() });
        }
    }
    let format = variable(conn, addr, "binlog_format").await?.unwrap_or_default();
    if !format.eq_ignore_ascii_case("ROW") {
        return Err(SourceError::NotRowFormat { addr: addr.to_string(), actual: format });
    }
    if let Some(image) = variable(conn, addr, "binlog_row_image").await? {
        if !image.eq_ignore_ascii_case("FULL") {
            return Err(SourceError::NotFullRowImage { addr: addr.to_string(), actual: image });
        }
    }
    Ok(())
}

/// The current user's grants (`SHOW GRANTS FOR CURRENT_USER()`), for privilege checks.
pub struct Grants(String);

impl Grants {
    /// Read them.
    pub async fn of(conn: &mut Conn, addr: &str) -> Result<Grants, SourceError> {
        let grants: Vec<String> = conn
            .query("SHOW GRANTS FOR CURRENT_USER()")
            .await
            .map_err(|e| SourceError::Query { addr: addr.to_string(), message: e.to_string() })?;
        Ok(Grants(grants.join("\n").to_ascii_uppercase()))
    }

    /// Whether `privilege` (upper case) is granted, or all privileges on `*.*` are.
    pub fn has(&self, privilege: &str) -> bool {
        self.0.contains("ALL PRIVILEGES ON *.*") || self.0.contains(privilege)
    }

    /// Reading the binlog as a replica (REPLICATION SLAVE, MySQL's REPLICATION REPLICA).
    pub fn can_dump(&self) -> bool {
        self.has("REPLICATION SLAVE") || self.has("REPLICATION REPLICA")
    }

    /// Reading the binlog position (REPLICATION CLIENT, MariaDB's BINLOG MONITOR, or SUPER).
    pub fn can_read_position(&self) -> bool {
        self.has("REPLICATION CLIENT") || self.has("BINLOG MONITOR") || self.has("SUPER")
    }
}

/// Verify the server is configured for row-based CDC and the user has the privileges it needs.
pub async fn check_server(conn: &mut Conn, opts: &ConnectOptions) -> Result<ServerInfo, SourceError> {
    let addr = opts.addr();
    let version: Option<String> = conn
        .query_first("SELECT VERSION()")
        .await
        .map_err(|e| SourceError::Query { addr: addr.clone(), message: e.to_string() })?;
    let version = version.unwrap_or_default();
    let is_mariadb = version.to_ascii_lowercase().contains("mariadb");
    check_binlog_settings(conn, &addr).await?;
    // Privileges: SHOW MASTER STATUS needs REPLICATION CLIENT (or BINLOG MONITOR on MariaDB);
    // the dump itself needs REPLICATION SLAVE, which we check in the grants.
    let grants = Grants::of(conn, &addr).await?;
    if !grants.can_dump() {
        return Err(SourceError::Privilege { user: opts.user.clone(), detail: "REPLICATION SLAVE".into() });
    }
    if !grants.can_read_position() {
        return Err(SourceError::Privilege { user: opts.user.clone(), detail: "REPLICATION CLIENT".into() });
    }
    Ok(ServerInfo { version, is_mariadb })
}

/// The current end of the binlog (`SHOW MASTER STATUS`, or `SHOW BINARY LOG STATUS` on MySQL ≥ 8.2).
pub async fn current_position(
    conn: &mut Conn,
    opts: &ConnectOptions,
    info: &ServerInfo,
) -> Result<BinlogPosition, SourceError> {
    Ok(current_position_and_gtids(conn, opts, info).await?.0)
}

/// [`current_position`] and, on MySQL, the GTID set executed at it: the `Executed_Gtid_Set`
/// column of the same `SHOW MASTER STATUS` row (None when empty — GTID mode off — or on
/// MariaDB), so that the two agree even while the server is written to (a snapshot without
/// locks reads them this way, as Debezium does).
pub async fn current_position_and_gtids(
    conn: &mut Conn,
    opts: &ConnectOptions,
    info: &ServerInfo,
) -> Result<(BinlogPosition, Option<crate::source::gtid::GtidSet>), SourceError> {
    let addr = opts.addr();
    let mysql_new = !info.is_mariadb && {
        let mut parts = info.version.split(|c: char| !c.is_ascii_digit());
        let major: u32 = parts.next().and_then(|s| s.parse().ok()).unwrap_or(0);
        let minor: u32 = parts.next().and_then(|s| s.parse().ok()).unwrap_or(0);
        (major, minor) >= (8, 2)
    };
    let stmt = if mysql_new { "SHOW BINARY LOG STATUS" } else { "SHOW MASTER STATUS" };
    let row: Option<mysql_async::Row> = conn.query_first(stmt).await.map_err(|e| match server_error_code(&e) {
        Some((ER_SPECIFIC_ACCESS_DENIED | ER_DBACCESS_DENIED, m)) => {
            SourceError::Privilege { user: opts.user.clone(), detail: format!("REPLICATION CLIENT: {m}") }
        }
        _ => SourceError::Query { addr: addr.clone(), message: e.to_string() },
    })?;
    let row = row.ok_or(SourceError::BinlogDisabled { addr: addr.clone() })?;
    let file: Option<String> = row.get(0);
    let pos: Option<u64> = row.get(1);
    let executed: Option<String> = if info.is_mariadb { None } else { row.get_opt(4).and_then(Result::ok) };
    match (file, pos) {
        (Some(file), Some(pos)) => Ok((BinlogPosition { file, pos }, executed_gtid_set(executed.as_deref()))),
        _ => Err(SourceError::Query { addr, message: format!("unexpected {stmt} result") }),
    }
}

/// MySQL's `Executed_Gtid_Set` column: None when empty (GTID mode off, or nothing executed yet —
/// Debezium does not tell the two apart either) or unreadable. MySQL breaks a long set over lines.
pub fn executed_gtid_set(text: Option<&str>) -> Option<crate::source::gtid::GtidSet> {
    let text: String = text?.split_whitespace().collect();
    if text.is_empty() {
        return None;
    }
    crate::source::gtid::GtidSet::parse(&text).ok()
}

/// The GTID position at binlog position `pos`: MariaDB's `BINLOG_GTID_POS(file, pos)` (None when
/// the server cannot tell, e.g. no transaction was ever logged), MySQL's `@@GLOBAL.gtid_executed`
/// when `pos` is the current end of the binlog (`at_end`; otherwise None: MySQL cannot tell the
/// set at an older position).
pub async fn gtids_at(
    conn: &mut Conn,
    opts: &ConnectOptions,
    mariadb: bool,
    pos: &BinlogPosition,
    at_end: bool,
) -> Result<Option<crate::source::gtid::GtidSet>, SourceError> {
    let q = |e: mysql_async::Error| SourceError::Query { addr: opts.addr(), message: e.to_string() };
    // NULL: unknown; '': no transaction yet (an empty set, known)
    let text: Option<Option<String>> = if mariadb {
        conn.exec_first("SELECT BINLOG_GTID_POS(?, ?)", (pos.file.as_str(), pos.pos)).await.map_err(q)?
    } else if at_end {
        let mode = variable(conn, &opts.addr(), "gtid_mode").await?.unwrap_or_default();
        if !mode.eq_ignore_ascii_case("ON") {
            return Ok(None);
        }
        conn.query_first("SELECT @@GLOBAL.gtid_executed").await.map_err(q)?
    } else {
        return Ok(None);
    };
    use crate::source::gtid::GtidSet;
    Ok(match text.flatten() {
        None => None,
        Some(t) if t.trim().is_empty() => {
            Some(if mariadb { GtidSet::MariaDb(Vec::new()) } else { GtidSet::MySql(Default::default()) })
        }
        Some(t) => GtidSet::parse(&t).ok(),
    })
}

/// The binlog files the server still has (`SHOW BINARY LOGS`), oldest first.
pub async fn binlog_files(conn: &mut Conn, opts: &ConnectOptions) -> Result<Vec<String>, SourceError> {
    let rows: Vec<mysql_async::Row> = conn
        .query("SHOW BINARY LOGS")
        .await
        .map_err(|e| SourceError::Query { addr: opts.addr(), message: e.to_string() })?;
    Ok(rows.iter().filter_map(|r| r.get(0)).collect())
}

/// The first binlog file the server still has (`SHOW BINARY LOGS`).
pub async fn earliest_position(conn: &mut Conn, opts: &ConnectOptions) -> Result<BinlogPosition, SourceError> {
    let file = binlog_files(conn, opts).await?.into_iter().next();
    file.map(|file| BinlogPosition { file, pos: 4 }).ok_or(SourceError::BinlogDisabled { addr: opts.addr() })
}

/// Fail with [`SourceError::PositionPurged`] when the server no longer has the binlog file of
/// `pos` (`what` names where the position came from, e.g. "the stored offset"). Checked before
/// the dump starts, so the error says what happened instead of the server's generic 1236.
pub async fn check_available(
    conn: &mut Conn,
    opts: &ConnectOptions,
    pos: &BinlogPosition,
    what: &str,
) -> Result<(), SourceError> {
    let files = binlog_files(conn, opts).await?;
    if files.contains(&pos.file) {
        return Ok(());
    }
    let available = match (files.first(), files.last()) {
        (Some(first), Some(last)) if files.len() > 1 => format!("{first} .. {last}"),
        (Some(only), _) => only.clone(),
        _ => "none".into(),
    };
    Err(SourceError::PositionPurged {
        what: what.to_string(),
        file: pos.file.clone(),
        pos: pos.pos,
        addr: opts.addr(),
        available,
    })
}

/// One interpreted binlog event.
#[derive(Debug)]
pub enum SourceEvent {
    /// A transaction starts (MariaDB GTID event, MySQL GTID event or `BEGIN` query; `thread`:
    /// the id of the session that wrote it, which only the `BEGIN` query carries).
    Begin { pos: u64, ts: u32, gtid: Option<String>, standalone: bool, thread: Option<u32> },
    /// A statement (DDL or other non-transactional query).
    Query { pos: u64, end_pos: u64, ts: u32, server_id: u32, db: String, sql: String, thread: u32 },
    /// A TABLE_MAP event (the stream keeps the map; `table_id` identifies it).
    TableMap { table_id: u64 },
    /// A WRITE/UPDATE/DELETE rows event; decode with `BinlogSource::table_map`. `stmt_end`: the
    /// last rows event of its statement (`STMT_END_F`).
    Rows { pos: u64, end_pos: u64, ts: u32, server_id: u32, stmt_end: bool, event: Event },
    /// Transaction commit (XID, or a `COMMIT` query).
    Commit { pos: u64, end_pos: u64, ts: u32 },
    /// The server switched to another binlog file.
    Rotate { file: String, pos: u64 },
    /// The statement text of the rows events that follow (MariaDB's ANNOTATE_ROWS event, sent
    /// when the dump asked for it; MySQL's ROWS_QUERY event, written with
    /// `binlog_rows_query_log_events=ON`): `include.query`.
    RowsQuery { end_pos: u64, sql: String },
    /// Anything else (format description, heartbeats, checkpoints...).
    Other { end_pos: u64 },
}

/// A live binlog stream with position tracking.
pub struct BinlogSource {
    stream: BinlogStream,
    file: String,
    last_pos: u64,
    seen_fde: bool,
    /// Started after this GTID set (`addr`, set): until the server names a file, a refusal to
    /// send is about the set.
    gtid_start: Option<(String, String)>,
    /// `ConnectOptions::keep_alive_ms`.
    read_timeout: Option<std::time::Duration>,
    /// When the last event (or server heartbeat) arrived.
    last_event: tokio::time::Instant,
}

/// A MySQL GTID set as COM_BINLOG_DUMP_GTID's SID blocks: the text form's inclusive `a-b`
/// becomes the protocol's half-open `[a, b+1)`; a tag (MySQL 8.4 `uuid:tag:n`) is kept.
fn mysql_sids(set: &crate::source::gtid::MySqlIntervals) -> Result<Vec<Sid<'static>>, String> {
    let mut sids = Vec::with_capacity(set.len());
    for ((uuid, tag), intervals) in set {
        let parsed = uuid::Uuid::parse_str(uuid).map_err(|e| format!("server UUID '{uuid}': {e}"))?;
        let mut sid = Sid::new(*parsed.as_bytes());
        if let Some(tag) = tag {
            let tag = Tag::try_from(tag.clone()).map_err(|e| format!("GTID tag '{tag}': {e:?}"))?;
            sid = sid.with_tag(tag);
        }
        let gnos = intervals
            .iter()
            .map(|&(a, b)| GnoInterval::check_and_new(a, b.saturating_add(1)).map_err(|e| e.to_string()))
            .collect::<Result<Vec<_>, _>>()?;
        sids.push(sid.with_intervals(gnos));
    }
    Ok(sids)
}

impl BinlogSource {
    /// Request the binlog from `start` as replica `server_id`.
    pub async fn start(
        mut conn: Conn,
        opts: &ConnectOptions,
        server_id: u32,
        start: &BinlogPosition,
        heartbeat_ms: u64,
    ) -> Result<BinlogSource, SourceError> {
        prepare_dump(&mut conn, opts, heartbeat_ms).await?;
        let req = BinlogStreamRequest::new(server_id).with_filename(start.file.as_bytes()).with_pos(start.pos);
        let req = with_annotate(req, opts);
        let stream = conn
            .get_binlog_stream(req)
            .await
            .map_err(|e| classify_stream_error(e, &start.file, start.pos, &opts.user))?;
        Ok(BinlogSource {
            stream,
            file: start.file.clone(),
            last_pos: start.pos,
            seen_fde: false,
            gtid_start: None,
            read_timeout: read_timeout(opts),
            last_event: tokio::time::Instant::now(),
        })
    }

    /// Request the binlog after the MariaDB GTID position `gtids` (`d-s-n[,...]`, the last
    /// transactions already seen): MariaDB's replica protocol (`@slave_connect_state` with strict
    /// mode, then COM_BINLOG_DUMP with an empty file name). The first (fake) rotate names the
    /// file the server starts in.
    pub async fn start_at_mariadb_gtid(
        mut conn: Conn,
        opts: &ConnectOptions,
        server_id: u32,
        gtids: &str,
        heartbeat_ms: u64,
    ) -> Result<BinlogSource, SourceError> {
        prepare_dump(&mut conn, opts, heartbeat_ms).await?;
        let addr = opts.addr();
        let q = |e: mysql_async::Error| SourceError::Query { addr: addr.clone(), message: e.to_string() };
        // The set was parsed by `gtid::GtidSet` (digits, '-' and ',' only): safe to inline.
        conn.query_drop(format!("SET @slave_connect_state='{gtids}'")).await.map_err(q)?;
        conn.query_drop("SET @slave_gtid_strict_mode=1").await.map_err(q)?;
        conn.query_drop("SET @slave_gtid_ignore_duplicates=0").await.map_err(q)?;
        let req = with_annotate(BinlogStreamRequest::new(server_id).with_filename(b"").with_pos(4u64), opts);
        Self::start_gtid_stream(conn, opts, req, gtids).await
    }

    /// Request the binlog after the MySQL GTID set `set` (the transactions already seen):
    /// COM_BINLOG_DUMP_GTID, which makes the server start at the first file holding a transaction
    /// outside the set. The first (fake) rotate names that file.
    pub async fn start_at_mysql_gtid(
        mut conn: Conn,
        opts: &ConnectOptions,
        server_id: u32,
        set: &crate::source::gtid::MySqlIntervals,
        heartbeat_ms: u64,
    ) -> Result<BinlogSource, SourceError> {
        prepare_dump(&mut conn, opts, heartbeat_ms).await?;
        let gtids = crate::source::gtid::GtidSet::MySql(set.clone()).to_string();
        let sids = mysql_sids(set).map_err(|detail| SourceError::InvalidGtid { gtid: gtids.clone(), detail })?;
        let req = BinlogStreamRequest::new(server_id).with_gtid().with_filename(b"").with_pos(4u64).with_gtid_set(sids);
        Self::start_gtid_stream(conn, opts, req, &gtids).await
    }

    /// Send a GTID dump request; the server names the file in its first (fake) rotate. A GTID it
    /// no longer has is `GtidNotFound`.
    async fn start_gtid_stream(
        conn: Conn,
        opts: &ConnectOptions,
        req: BinlogStreamRequest<'_>,
        gtids: &str,
    ) -> Result<BinlogSource, SourceError> {
        let stream = conn.get_binlog_stream(req).await.map_err(|e| match server_error_code(&e) {
            Some((ER_MASTER_FATAL_READING_BINLOG, m)) => {
                SourceError::GtidNotFound { addr: opts.addr(), gtid: gtids.to_string(), detail: m }
            }
            _ => classify_stream_error(e, "", 4, &opts.user),
        })?;
        let gtid_start = Some((opts.addr(), gtids.to_string()));
        Ok(BinlogSource {
            stream,
            file: String::new(),
            last_pos: 4,
            seen_fde: false,
            gtid_start,
            read_timeout: read_timeout(opts),
            last_event: tokio::time::Instant::now(),
        })
    }

    /// The file currently being read.
    pub fn file(&self) -> &str {
        &self.file
    }

    /// The table map registered for `table_id`.
    pub fn table_map(&self, table_id: u64) -> Option<&TableMapEvent<'static>> {
        self.stream.get_tme(table_id)
    }

    /// The next event, or `None` when the server ended the stream.
    pub async fn next(&mut self, user: &str) -> Result<Option<SourceEvent>, SourceError> {
        let next = match self.read_timeout {
            None => self.stream.next().await,
            // Measured from the last event received, not from this call: the pipeline's loop
            // drops and re-makes this future at every tick.
            Some(limit) => match tokio::time::timeout_at(self.last_event + limit, self.stream.next()).await {
                Ok(next) => {
                    self.last_event = tokio::time::Instant::now();
                    next
                }
                Err(_) => {
                    return Err(SourceError::Lost {
                        file: self.file.clone(),
                        pos: self.last_pos,
                        message: format!(
                            "no event and no heartbeat from the server within {} ms (connect.keep.alive.interval.ms): the connection is half-dead or the server is frozen",
                            limit.as_millis()
                        ),
                    })
                }
            },
        };
        let event = match next {
            None => return Ok(None),
            Some(Err(e)) => {
                return Err(match (&self.gtid_start, server_error_code(&e)) {
                    (Some((addr, gtid)), Some((ER_MASTER_FATAL_READING_BINLOG, m))) if self.file.is_empty() => {
                        SourceError::GtidNotFound { addr: addr.clone(), gtid: gtid.clone(), detail: m }
                    }
                    _ => classify_stream_error(e, &self.file, self.last_pos, user),
                })
            }
            Some(Ok(ev)) => ev,
        };
        let header = event.header();
        let end_pos = header.log_pos() as u64;
        let size = header.event_size() as u64;
        // Events expanded from a compressed transaction payload carry log_pos 0.
        let pos = if end_pos >= size { end_pos - size } else { self.last_pos };
        if end_pos != 0 {
            self.last_pos = end_pos;
        }
        let code = header.event_type_raw();
        let ts = header.timestamp();
        let at = |msg: String| SourceError::Stream { file: self.file.clone(), pos, message: msg };
        match code {
            MARIADB_GTID => {
                let gtid = parse_mariadb_gtid(event.data(), header.server_id())
                    .ok_or_else(|| at("malformed MariaDB GTID event".into()))?;
                return Ok(Some(SourceEvent::Begin { pos, ts, gtid: Some(gtid.0), standalone: gtid.1, thread: None }));
            }
            MARIADB_ANNOTATE_ROWS => {
                let sql = String::from_utf8_lossy(event.data()).into_owned();
                return Ok(Some(SourceEvent::RowsQuery { end_pos, sql }));
            }
            MARIADB_BINLOG_CHECKPOINT | MARIADB_GTID_LIST => return Ok(Some(SourceEvent::Other { end_pos })),
            c if (MARIADB_START_ENCRYPTION..=MARIADB_LAST_UNSUPPORTED).contains(&c) => {
                return Err(SourceError::Unsupported {
                    code: c,
                    file: self.file.clone(),
                    pos,
                    what: "MariaDB encrypted or compressed binlog event",
                })
            }
            _ => {}
        }
        let data = event.read_data().map_err(|e| at(format!("cannot parse event type {code}: {e}")))?;
        let out = match data {
            Some(EventData::RotateEvent(r)) => {
                let raw = r.name_raw();
                // Before the format description event arrives the reader does not know the
                // checksum algorithm, so the first (fake) rotate's name may still carry the 4
                // checksum bytes (not when the server writes no checksums).
                let raw = if !self.seen_fde && raw.len() > 4 {
                    let (name, tail) = raw.split_at(raw.len() - 4);
                    let is_requested = name == self.file.as_bytes();
                    let looks_binary = tail.iter().any(|b| !b.is_ascii_graphic());
                    // Started by GTID, no file was requested: binlog names end in digits.
                    let unrequested_tail = self.file.is_empty() && !tail.iter().all(u8::is_ascii_digit);
                    if is_requested || looks_binary || unrequested_tail {
                        name
                    } else {
                        raw
                    }
                } else {
                    raw
                };
                self.file = String::from_utf8_lossy(raw).into_owned();
                self.last_pos = r.position();
                SourceEvent::Rotate { file: self.file.clone(), pos: r.position() }
            }
            Some(EventData::FormatDescriptionEvent(_)) => {
                self.seen_fde = true;
                SourceEvent::Other { end_pos }
            }
            Some(EventData::QueryEvent(q)) => {
                let sql = q.query();
                let trimmed = sql.trim();
                if trimmed.eq_ignore_ascii_case("BEGIN") {
                    SourceEvent::Begin { pos, ts, gtid: None, standalone: false, thread: Some(q.thread_id()) }
                } else if trimmed.eq_ignore_ascii_case("COMMIT") {
                    SourceEvent::Commit { pos, end_pos, ts }
                } else {
                    SourceEvent::Query {
                        pos,
                        end_pos,
                        ts,
                        server_id: header.server_id(),
                        db: q.schema().into_owned(),
                        sql: sql.into_owned(),
                        thread: q.thread_id(),
                    }
                }
            }
            Some(EventData::RowsQueryEvent(q)) => SourceEvent::RowsQuery { end_pos, sql: q.query().into_owned() },
            Some(EventData::XidEvent(_)) => SourceEvent::Commit { pos, end_pos, ts },
            Some(EventData::TableMapEvent(t)) => SourceEvent::TableMap { table_id: t.table_id() },
            Some(EventData::RowsEvent(r)) => {
                if matches!(r, mysql_common::binlog::events::RowsEventData::PartialUpdateRowsEvent(_)) {
                    return Err(at("partial JSON update (binlog_row_value_options=PARTIAL_JSON) is not supported; set binlog_row_value_options='' on the server".into()));
                }
                let stmt_end = r.flags().contains(RowsEventFlags::STMT_END);
                drop(r);
                SourceEvent::Rows { pos, end_pos, ts, server_id: header.server_id(), stmt_end, event }
            }
            Some(EventData::GtidEvent(g)) => {
                let gtid = format_mysql_gtid(&g);
                SourceEvent::Begin { pos, ts, gtid: Some(gtid), standalone: false, thread: None }
            }
            _ => SourceEvent::Other { end_pos },
        };
        Ok(Some(out))
    }

    /// Close the replica connection.
    /// Say goodbye to the server; a connection that is already dead (or a frozen server) gets
    /// two seconds.
    pub async fn close(self) {
        let _ = tokio::time::timeout(std::time::Duration::from_secs(2), self.stream.close()).await;
    }
}

/// MariaDB's BINLOG_SEND_ANNOTATE_ROWS_EVENT (0x02 of COM_BINLOG_DUMP's flags, which
/// mysql_common names after MySQL's GTID-dump flag of the same value) when `opts` asks for it.
fn with_annotate<'a>(req: BinlogStreamRequest<'a>, opts: &ConnectOptions) -> BinlogStreamRequest<'a> {
    if opts.annotate_rows {
        req.with_flags(mysql_common::packets::BinlogDumpFlags::BINLOG_THROUGH_POSITION)
    } else {
        req
    }
}

/// The binlog read timeout of `opts` (none without `connect.keep.alive`).
fn read_timeout(opts: &ConnectOptions) -> Option<std::time::Duration> {
    opts.keep_alive_ms.map(|ms| std::time::Duration::from_millis(ms.max(300)))
}

/// Session settings every binlog dump needs (see the module doc).
async fn prepare_dump(conn: &mut Conn, opts: &ConnectOptions, heartbeat_ms: u64) -> Result<(), SourceError> {
    let addr = opts.addr();
    let q = |e: mysql_async::Error| SourceError::Query { addr: addr.clone(), message: e.to_string() };
    conn.query_drop("SET @mariadb_slave_capability=4").await.map_err(q)?;
    // The server's heartbeats on an idle stream come three times per read timeout, so only a
    // dead connection or a frozen server stays silent for a whole one.
    let period_ms = match read_timeout(opts) {
        Some(t) => heartbeat_ms.min(t.as_millis() as u64 / 3).max(100),
        None => heartbeat_ms.max(1),
    };
    conn.query_drop(format!("SET @master_heartbeat_period={}", period_ms * 1_000_000)).await.map_err(q)?;
    // MySQL ≥ 8.0.26 reads the source_ spelling; unknown user variables are harmless on MariaDB.
    conn.query_drop("SET @source_binlog_checksum='ALL'").await.map_err(q)?;
    Ok(())
}

/// A MySQL GTID event's GTID as MySQL writes it: `uuid:gno`, or `uuid:tag:gno` for a tagged one
/// (MySQL 8.4+, GTID_TAGGED_LOG_EVENT).
pub fn format_mysql_gtid(g: &mysql_common::binlog::events::GtidEvent) -> String {
    let sid = g.sid();
    let hex: String = sid.iter().map(|b| format!("{b:02x}")).collect();
    let uuid = format!("{}-{}-{}-{}-{}", &hex[0..8], &hex[8..12], &hex[12..16], &hex[16..20], &hex[20..32]);
    match g.tag() {
        Some(tag) => format!("{uuid}:{}:{}", tag.as_str(), g.gno()),
        None => format!("{uuid}:{}", g.gno()),
    }
}

/// mysql_common's row iterator reads, per row, one image per present column set; an event whose
/// images name no column at all (no server writes one, a damaged file can) yields empty rows
/// forever without consuming its data — found by the `binlog_events` fuzz target as a hang.
/// Refused here, before iterating.
pub fn check_row_images(rows: &mysql_common::binlog::events::RowsEventData<'_>) -> Result<(), String> {
    let before = rows.columns_before_image().map_or(0, |b| b.count_ones());
    let after = rows.columns_after_image().map_or(0, |b| b.count_ones());
    if before + after == 0 && !rows.rows_data().is_empty() {
        return Err("its row images name no column (a damaged rows event)".into());
    }
    Ok(())
}

/// MariaDB GTID event body: seq_no u64, domain_id u32, flags u8, … → (`domain-server-seq`, standalone).
fn parse_mariadb_gtid(data: &[u8], server_id: u32) -> Option<(String, bool)> {
    if data.len() < 13 {
        return None;
    }
    let seq = u64::from_le_bytes(data[0..8].try_into().ok()?);
    let domain = u32::from_le_bytes(data[8..12].try_into().ok()?);
    let flags = data[12];
    Some((format!("{domain}-{server_id}-{seq}"), flags & 1 != 0))
}

/// Whether `e` says the connection went away (server shutdown, killed connection, network),
/// not that the request or the data was wrong.
pub fn connection_lost(e: &mysql_async::Error) -> bool {
    match server_error_code(e) {
        Some((ER_SERVER_SHUTDOWN | ER_CONNECTION_KILLED | ER_QUERY_INTERRUPTED, _)) => true,
        Some(_) => false,
        None => match e {
            mysql_async::Error::Io(mysql_async::IoError::Io(io)) => io.kind() != std::io::ErrorKind::InvalidData,
            mysql_async::Error::Io(_) | mysql_async::Error::Driver(mysql_async::DriverError::ConnectionClosed) => true,
            _ => false,
        },
    }
}

fn classify_stream_error(e: mysql_async::Error, file: &str, pos: u64, user: &str) -> SourceError {
    match server_error_code(&e) {
        Some((ER_MASTER_FATAL_READING_BINLOG, m)) => SourceError::Purged { file: file.to_string(), pos, detail: m },
        Some((ER_SPECIFIC_ACCESS_DENIED | ER_ACCESS_DENIED | ER_DBACCESS_DENIED, m)) => {
            SourceError::Privilege { user: user.to_string(), detail: m }
        }
        // The server went away (shutdown, killed connection) or the network did; bytes that do
        // not parse (`InvalidData`) are the data's problem, not the connection's.
        Some((_, m)) if connection_lost(&e) => SourceError::Lost { file: file.to_string(), pos, message: m },
        _ if connection_lost(&e) => SourceError::Lost { file: file.to_string(), pos, message: e.to_string() },
        _ => SourceError::Stream { file: file.to_string(), pos, message: e.to_string() },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mariadb_gtid_parses() {
        let mut d = 61u64.to_le_bytes().to_vec();
        d.extend(0u32.to_le_bytes());
        d.push(0);
        assert_eq!(parse_mariadb_gtid(&d, 1), Some(("0-1-61".to_string(), false)));
        assert_eq!(parse_mariadb_gtid(&d[..5], 1), None);
    }

    /// `SHOW MASTER STATUS`'s `Executed_Gtid_Set` as MySQL prints it: a long set broken into lines
    /// after its commas; empty with GTID mode off.
    #[test]
    fn executed_gtid_set_column() {
        let one_line = "3E11FA47-71CA-11E1-9E33-C80AA9429562:1-5,58cf6502-63db-11ed-8079-0242ac110002:53-62";
        let printed = "3E11FA47-71CA-11E1-9E33-C80AA9429562:1-5,\n58cf6502-63db-11ed-8079-0242ac110002:53-62";
        let want = crate::source::gtid::GtidSet::parse(one_line).unwrap();
        assert_eq!(executed_gtid_set(Some(printed)), Some(want.clone()));
        assert_eq!(executed_gtid_set(Some(one_line)), Some(want));
        assert_eq!(executed_gtid_set(Some("")), None);
        assert_eq!(executed_gtid_set(None), None);
        assert_eq!(executed_gtid_set(Some("not a set")), None);
    }

    /// COM_BINLOG_DUMP_GTID carries half-open `[start, end)` intervals per server UUID (MySQL's
    /// replication protocol docs); the text form's `1-5` is `[1, 6)`.
    #[test]
    fn mysql_gtid_set_becomes_dump_sids() {
        let set = match crate::source::gtid::GtidSet::parse(
            "3E11FA47-71CA-11E1-9E33-C80AA9429562:1-5:11,3e11fa47-71ca-11e1-9e33-c80aa9429563:tag_1:7",
        )
        .unwrap()
        {
            crate::source::gtid::GtidSet::MySql(m) => m,
            other => panic!("parsed as {other:?}"),
        };
        let sids = mysql_sids(&set).unwrap();
        assert_eq!(sids.len(), 2);
        let first = &sids[0];
        assert_eq!(
            first.uuid(),
            [0x3e, 0x11, 0xfa, 0x47, 0x71, 0xca, 0x11, 0xe1, 0x9e, 0x33, 0xc8, 0x0a, 0xa9, 0x42, 0x95, 0x62]
        );
        assert!(first.tag().is_none());
        let iv: Vec<(u64, u64)> = first.intervals().iter().map(|i| (i.start(), i.end())).collect();
        assert_eq!(iv, [(1, 6), (11, 12)]);
        let second = &sids[1];
        assert_eq!(second.tag().map(|t| t.to_string()).as_deref(), Some("tag_1"));
        assert_eq!(second.intervals().iter().map(|i| (i.start(), i.end())).collect::<Vec<_>>(), [(7, 8)]);
    }
}
