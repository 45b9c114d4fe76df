//! A stand-in for a MySQL server that serves a real MySQL binlog file.
//!
//! No MySQL server can run on the machines this project is built on (MariaDB only), yet the MySQL
//! binlog has things MariaDB's has not: MySQL GTIDs (`source.gtid`, offsets' `gtids`, transaction
//! ids), the session id in `BEGIN` (`source.thread`), ROWS_QUERY events. The binlog files in
//! `../shared/fixtures/binlogs` are real MySQL binlogs with independently decoded contents; this
//! server lets the whole connector read one as a replica does, so those paths are tested end to end.
//!
//! It speaks just enough of the protocol for that: the v10 handshake (any password; no TLS, so
//! `database.ssl.mode=preferred` goes on without it), text queries answered from a small table of
//! server variables, grants, `SHOW MASTER STATUS` / `SHOW BINARY LOGS`, and `COM_BINLOG_DUMP`,
//! which sends a rotate event, the file's format description event and then the file's events
//! from the requested position, and keeps the connection open at the end of the file (as a server
//! with nothing new to send). Queries it does not know get error 1064 and are listed in
//! [`FakeMysql::unknown_queries`], so a test sees what the connector asked that it could not
//! answer. Plain threads and blocking sockets: one thread per connection.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// What the server says about itself and which binlog file it has.
pub struct Spec {
    /// `SELECT VERSION()` (the fixture's server version, e.g. `5.7.40-log`).
    pub version: String,
    pub server_id: u32,
    /// The binlog file's name and bytes (magic number included).
    pub file_name: String,
    pub binlog: Vec<u8>,
    /// The file name `SHOW BINARY LOGS` and the dump's rotate event give (`file_name` unless a
    /// test plays a server that has the same transactions under another name: a failover).
    pub listed_name: Option<String>,
    /// Databases and their tables' `SHOW CREATE TABLE` text, for a start that reads the schema
    /// from the server (`SHOW DATABASES`, `SHOW FULL TABLES`, `SHOW CREATE TABLE`).
    pub schemas: Vec<(String, Vec<(String, String)>)>,
    /// `@@gtid_mode` and `Executed_Gtid_Set` of `SHOW MASTER STATUS`.
    pub gtid_mode: bool,
    pub gtid_executed: String,
}

impl Spec {
    fn listed(&self) -> &str {
        self.listed_name.as_deref().unwrap_or(&self.file_name)
    }
}

pub struct FakeMysql {
    pub port: u16,
    stop: Arc<AtomicBool>,
    unknown: Arc<Mutex<Vec<String>>>,
}

impl FakeMysql {
    /// Listen on 127.0.0.1 (a free port) and serve `spec` until dropped.
    pub fn start(spec: Spec) -> FakeMysql {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind the fake MySQL server");
        let port = listener.local_addr().unwrap().port();
        listener.set_nonblocking(true).unwrap();
        let stop = Arc::new(AtomicBool::new(false));
        let unknown = Arc::new(Mutex::new(Vec::new()));
        let spec = Arc::new(spec);
        let (stop2, unknown2) = (stop.clone(), unknown.clone());
        std::thread::spawn(move || {
            let ids = AtomicU32::new(100);
            while !stop2.load(Ordering::Relaxed) {
                match listener.accept() {
                    Ok((socket, _)) => {
                        let (spec, stop, unknown) = (spec.clone(), stop2.clone(), unknown2.clone());
                        let id = ids.fetch_add(1, Ordering::Relaxed);
                        std::thread::spawn(move || {
                            let _ = Session { statements: Vec::new(), socket, spec, stop, unknown, id }.serve();
                        });
                    }
                    Err(_) => std::thread::sleep(Duration::from_millis(20)),
                }
            }
        });
        FakeMysql { port, stop, unknown }
    }

    /// The queries the server could not answer so far.
    pub fn unknown_queries(&self) -> Vec<String> {
        self.unknown.lock().unwrap().clone()
    }
}

impl Drop for FakeMysql {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
    }
}

const CLIENT_LONG_PASSWORD: u32 = 1;
const CLIENT_FOUND_ROWS: u32 = 2;
const CLIENT_LONG_FLAG: u32 = 4;
const CLIENT_CONNECT_WITH_DB: u32 = 8;
const CLIENT_PROTOCOL_41: u32 = 0x200;
const CLIENT_TRANSACTIONS: u32 = 0x2000;
const CLIENT_SECURE_CONNECTION: u32 = 0x8000;
const CLIENT_MULTI_STATEMENTS: u32 = 0x1_0000;
const CLIENT_MULTI_RESULTS: u32 = 0x2_0000;
const CLIENT_PLUGIN_AUTH: u32 = 0x8_0000;
const CLIENT_PLUGIN_AUTH_LENENC: u32 = 0x20_0000;

/// A server UUID and its GTID intervals (half-open `[start, end)`), as COM_BINLOG_DUMP_GTID
/// sends them.
type Sid = ([u8; 16], Vec<(u64, u64)>);

/// The GTID set of a COM_BINLOG_DUMP_GTID request: flags (2), server id (4), name length (4),
/// name, position (8), data size (4), then the set: n_sids (8) × (sid (16), n_intervals (8) ×
/// (start (8), end (8))).
fn gtid_dump_set(p: &[u8]) -> Option<Vec<Sid>> {
    let u64_at = |i: usize| p.get(i..i + 8).map(|b| u64::from_le_bytes(b.try_into().unwrap()));
    let name_len = u32::from_le_bytes(p.get(7..11)?.try_into().ok()?) as usize;
    let mut at = 11 + name_len + 8 + 4;
    let n = u64_at(at)?;
    at += 8;
    let mut out = Vec::new();
    for _ in 0..n {
        let sid: [u8; 16] = p.get(at..at + 16)?.try_into().ok()?;
        let k = u64_at(at + 16)?;
        at += 24;
        let mut ints = Vec::new();
        for _ in 0..k {
            ints.push((u64_at(at)?, u64_at(at + 8)?));
            at += 16;
        }
        out.push((sid, ints));
    }
    Some(out)
}

/// A query's answer.
enum Answer {
    Ok,
    /// Column names, then rows of text values (None: NULL).
    Rows(Vec<&'static str>, Vec<Vec<Option<String>>>),
    Err(u16, String),
}

struct Session {
    /// Prepared statements: their SQL and number of `?`.
    statements: Vec<(String, usize)>,
    socket: TcpStream,
    spec: Arc<Spec>,
    stop: Arc<AtomicBool>,
    unknown: Arc<Mutex<Vec<String>>>,
    id: u32,
}

fn lenenc_int(out: &mut Vec<u8>, n: u64) {
    match n {
        0..=250 => out.push(n as u8),
        251..=0xffff => {
            out.push(0xfc);
            out.extend_from_slice(&(n as u16).to_le_bytes());
        }
        0x1_0000..=0xff_ffff => {
            out.push(0xfd);
            out.extend_from_slice(&(n as u32).to_le_bytes()[..3]);
        }
        _ => {
            out.push(0xfe);
            out.extend_from_slice(&n.to_le_bytes());
        }
    }
}

fn lenenc_str(out: &mut Vec<u8>, s: &[u8]) {
    lenenc_int(out, s.len() as u64);
    out.extend_from_slice(s);
}

/// MySQL's binlog checksum (CRC-32, the zlib polynomial).
fn crc32(data: &[u8]) -> u32 {
    cdc_connector::inspect::crc32(data)
}

impl Session {
    fn write_packet(&mut self, seq: u8, payload: &[u8]) -> std::io::Result<()> {
        let mut out = Vec::with_capacity(payload.len() + 4);
        out.extend_from_slice(&(payload.len() as u32).to_le_bytes()[..3]);
        out.push(seq);
        out.extend_from_slice(payload);
        self.socket.write_all(&out)
    }

    fn read_packet(&mut self) -> std::io::Result<(u8, Vec<u8>)> {
        let mut head = [0u8; 4];
        self.socket.read_exact(&mut head)?;
        let len = u32::from_le_bytes([head[0], head[1], head[2], 0]) as usize;
        let mut payload = vec![0u8; len];
        self.socket.read_exact(&mut payload)?;
        Ok((head[3], payload))
    }

    fn ok(&mut self, seq: u8) -> std::io::Result<()> {
        self.write_packet(seq, &[0x00, 0, 0, 0x02, 0x00, 0, 0])
    }

    fn eof(&mut self, seq: u8) -> std::io::Result<()> {
        self.write_packet(seq, &[0xfe, 0, 0, 0x02, 0x00])
    }

    fn error(&mut self, seq: u8, code: u16, message: &str) -> std::io::Result<()> {
        let mut p = vec![0xff];
        p.extend_from_slice(&code.to_le_bytes());
        p.extend_from_slice(b"#42000");
        p.extend_from_slice(message.as_bytes());
        self.write_packet(seq, &p)
    }

    fn serve(mut self) -> std::io::Result<()> {
        self.socket.set_nonblocking(false)?;
        self.socket.set_nodelay(true)?;
        let caps = CLIENT_LONG_PASSWORD
            | CLIENT_FOUND_ROWS
            | CLIENT_LONG_FLAG
            | CLIENT_CONNECT_WITH_DB
            | CLIENT_PROTOCOL_41
            | CLIENT_TRANSACTIONS
            | CLIENT_SECURE_CONNECTION
            | CLIENT_MULTI_STATEMENTS
            | CLIENT_MULTI_RESULTS
            | CLIENT_PLUGIN_AUTH
            | CLIENT_PLUGIN_AUTH_LENENC;
        let mut hs = vec![10u8];
        hs.extend_from_slice(self.spec.version.as_bytes());
        hs.push(0);
        hs.extend_from_slice(&self.id.to_le_bytes());
        hs.extend_from_slice(b"abcdefgh");
        hs.push(0);
        hs.extend_from_slice(&(caps as u16).to_le_bytes());
        hs.push(33); // utf8_general_ci
        hs.extend_from_slice(&0x0002u16.to_le_bytes());
        hs.extend_from_slice(&((caps >> 16) as u16).to_le_bytes());
        hs.push(21);
        hs.extend_from_slice(&[0u8; 10]);
        hs.extend_from_slice(b"ijklmnopqrst\0");
        hs.extend_from_slice(b"mysql_native_password\0");
        self.write_packet(0, &hs)?;
        let (seq, _response) = self.read_packet()?;
        self.ok(seq.wrapping_add(1))?;
        loop {
            let (seq, p) = match self.read_packet() {
                Ok(x) => x,
                Err(_) => return Ok(()),
            };
            let next = seq.wrapping_add(1);
            match p.first().copied() {
                Some(0x01) | None => return Ok(()),
                Some(0x03) => {
                    let sql = String::from_utf8_lossy(&p[1..]).trim().to_string();
                    let answer = self.answer(&sql);
                    if let Answer::Err(_, _) = &answer {
                        self.unknown.lock().unwrap().push(sql.clone());
                    }
                    self.respond(next, answer)?;
                }
                // COM_PING, COM_INIT_DB, COM_REGISTER_SLAVE
                Some(0x0e) | Some(0x02) | Some(0x15) => self.ok(next)?,
                Some(0x16) => {
                    let sql = String::from_utf8_lossy(&p[1..]).trim().to_string();
                    self.prepare(next, sql)?;
                }
                Some(0x17) => {
                    let id = u32::from_le_bytes(p[1..5].try_into().unwrap());
                    self.execute(next, id, &p)?;
                }
                Some(0x19) => {} // COM_STMT_CLOSE: no answer
                Some(0x12) => {
                    let pos = u32::from_le_bytes(p[1..5].try_into().unwrap()) as usize;
                    return self.dump(pos, &[]);
                }
                Some(0x1e) => {
                    let executed = gtid_dump_set(&p).unwrap_or_default();
                    return self.dump(4, &executed);
                }
                Some(other) => {
                    self.unknown.lock().unwrap().push(format!("command 0x{other:02x}"));
                    self.error(next, 1047, "unknown command")?;
                }
            }
        }
    }

    /// A result set's column count, column definitions and EOF; returns the last sequence id.
    fn result_header(&mut self, mut seq: u8, columns: &[&str]) -> std::io::Result<u8> {
        let mut count = Vec::new();
        lenenc_int(&mut count, columns.len() as u64);
        self.write_packet(seq, &count)?;
        for name in columns {
            seq = seq.wrapping_add(1);
            self.write_packet(seq, &Self::column_def(name))?;
        }
        seq = seq.wrapping_add(1);
        self.eof(seq)?;
        Ok(seq)
    }

    fn respond(&mut self, mut seq: u8, answer: Answer) -> std::io::Result<()> {
        match answer {
            Answer::Ok => self.ok(seq),
            Answer::Err(code, message) => self.error(seq, code, &message),
            Answer::Rows(columns, rows) => {
                seq = self.result_header(seq, &columns)?;
                for row in rows {
                    seq = seq.wrapping_add(1);
                    let mut r = Vec::new();
                    for v in row {
                        match v {
                            Some(s) => lenenc_str(&mut r, s.as_bytes()),
                            None => r.push(0xfb),
                        }
                    }
                    self.write_packet(seq, &r)?;
                }
                self.eof(seq.wrapping_add(1))
            }
        }
    }

    fn column_def(name: &str) -> Vec<u8> {
        let mut def = Vec::new();
        for part in [&b"def"[..], b"", b"", b"", name.as_bytes(), name.as_bytes()] {
            lenenc_str(&mut def, part);
        }
        def.push(0x0c);
        def.extend_from_slice(&33u16.to_le_bytes());
        def.extend_from_slice(&1024u32.to_le_bytes());
        def.push(0xfd); // VAR_STRING
        def.extend_from_slice(&0u16.to_le_bytes());
        def.push(0);
        def.extend_from_slice(&[0, 0]);
        def
    }

    /// COM_STMT_PREPARE: the statement's columns are those its answer has.
    fn prepare(&mut self, mut seq: u8, sql: String) -> std::io::Result<()> {
        let params = sql.matches('?').count();
        let columns = match self.answer(&sql.replace('?', "''")) {
            Answer::Rows(c, _) => c,
            Answer::Ok => Vec::new(),
            Answer::Err(code, message) => {
                self.unknown.lock().unwrap().push(sql.clone());
                return self.error(seq, code, &message);
            }
        };
        self.statements.push((sql, params));
        let id = self.statements.len() as u32;
        let mut p = vec![0u8];
        p.extend_from_slice(&id.to_le_bytes());
        p.extend_from_slice(&(columns.len() as u16).to_le_bytes());
        p.extend_from_slice(&(params as u16).to_le_bytes());
        p.push(0);
        p.extend_from_slice(&0u16.to_le_bytes());
        self.write_packet(seq, &p)?;
        for group in [vec!["?"; params], columns] {
            if group.is_empty() {
                continue;
            }
            for name in group {
                seq = seq.wrapping_add(1);
                self.write_packet(seq, &Self::column_def(name))?;
            }
            seq = seq.wrapping_add(1);
            self.eof(seq)?;
        }
        Ok(())
    }

    /// COM_STMT_EXECUTE: the parameters (strings and integers) go into the SQL as literals and
    /// the answer comes back as a binary result set.
    fn execute(&mut self, mut seq: u8, id: u32, p: &[u8]) -> std::io::Result<()> {
        let Some((sql, params)) = self.statements.get(id as usize - 1).cloned() else {
            return self.error(seq, 1243, "unknown prepared statement");
        };
        let mut values = Vec::new();
        if params > 0 {
            let mut at = 10 + params.div_ceil(8);
            let types: Vec<u8> = if p[at] == 1 {
                at += 1;
                let t = (0..params).map(|i| p[at + 2 * i]).collect();
                at += 2 * params;
                t
            } else {
                vec![0xfd; params]
            };
            for t in types {
                let v = match t {
                    0x08 => {
                        let n = u64::from_le_bytes(p[at..at + 8].try_into().unwrap());
                        at += 8;
                        n.to_string()
                    }
                    0x03 => {
                        let n = u32::from_le_bytes(p[at..at + 4].try_into().unwrap());
                        at += 4;
                        n.to_string()
                    }
                    _ => {
                        let (len, skip) = match p[at] {
                            0xfc => (u16::from_le_bytes(p[at + 1..at + 3].try_into().unwrap()) as usize, 3),
                            n => (n as usize, 1),
                        };
                        let v = format!("'{}'", String::from_utf8_lossy(&p[at + skip..at + skip + len]));
                        at += skip + len;
                        v
                    }
                };
                values.push(v);
            }
        }
        let mut filled = String::new();
        let mut vals = values.into_iter();
        for c in sql.chars() {
            match c {
                '?' => filled.push_str(&vals.next().unwrap_or_default()),
                c => filled.push(c),
            }
        }
        match self.answer(&filled) {
            Answer::Rows(columns, rows) => {
                seq = self.result_header(seq, &columns)?;
                for row in rows {
                    seq = seq.wrapping_add(1);
                    let mut r = vec![0u8];
                    let mut nulls = vec![0u8; (columns.len() + 7 + 2) / 8];
                    let mut body = Vec::new();
                    for (i, v) in row.iter().enumerate() {
                        match v {
                            Some(s) => lenenc_str(&mut body, s.as_bytes()),
                            None => nulls[(i + 2) / 8] |= 1 << ((i + 2) % 8),
                        }
                    }
                    r.extend_from_slice(&nulls);
                    r.extend_from_slice(&body);
                    self.write_packet(seq, &r)?;
                }
                self.eof(seq.wrapping_add(1))
            }
            other => self.respond(seq, other),
        }
    }

    fn variable(&self, name: &str) -> Option<String> {
        let name = name.trim().trim_start_matches("@@").to_ascii_lowercase();
        let name = name.trim_start_matches("global.").trim_start_matches("session.");
        let spec = &self.spec;
        Some(match name {
            "version" => spec.version.clone(),
            "server_id" => spec.server_id.to_string(),
            "log_bin" => "ON".into(),
            "binlog_format" => "ROW".into(),
            "binlog_row_image" => "FULL".into(),
            "binlog_checksum" => "CRC32".into(),
            "gtid_mode" => if spec.gtid_mode { "ON" } else { "OFF" }.into(),
            "enforce_gtid_consistency" => if spec.gtid_mode { "ON" } else { "OFF" }.into(),
            "gtid_executed" => spec.gtid_executed.clone(),
            "max_allowed_packet" => "67108864".into(),
            "wait_timeout" => "28800".into(),
            "socket" => return None,
            "character_set_server" | "character_set_database" => "utf8mb4".into(),
            "collation_server" => "utf8mb4_general_ci".into(),
            "time_zone" | "system_time_zone" => "UTC".into(),
            "binlog_rows_query_log_events" => "OFF".into(),
            "binlog_row_value_options" => String::new(),
            _ => return None,
        })
    }

    fn answer(&self, sql: &str) -> Answer {
        let lower = sql.to_ascii_lowercase();
        let quoted = |s: &str| s.split('\'').nth(1).map(str::to_string);
        if lower.starts_with("set ") || lower == "commit" || lower == "rollback" {
            return Answer::Ok;
        }
        if lower == "select version()" {
            return Answer::Rows(vec!["VERSION()"], vec![vec![Some(self.spec.version.clone())]]);
        }
        if let Some(list) = lower.strip_prefix("select @@") {
            let names: Vec<String> = format!("@@{list}").split(',').map(|n| n.trim().to_string()).collect();
            let values = names.iter().map(|n| self.variable(n)).collect();
            let columns = names.iter().map(|_| "value").collect();
            return Answer::Rows(columns, vec![values]);
        }
        if lower.starts_with("show global variables like") || lower.starts_with("show variables like") {
            let name = quoted(sql).unwrap_or_default();
            let rows = self.variable(&name).map(|v| vec![Some(name.clone()), Some(v)]).into_iter().collect();
            return Answer::Rows(vec!["Variable_name", "Value"], rows);
        }
        if lower.starts_with("show variables where variable_name in")
            || lower.starts_with("show global variables where")
        {
            let names: Vec<&str> = sql.split('\'').skip(1).step_by(2).collect();
            let rows = names.iter().filter_map(|n| Some(vec![Some(n.to_string()), Some(self.variable(n)?)])).collect();
            return Answer::Rows(vec!["Variable_name", "Value"], rows);
        }
        if lower == "show master status" || lower == "show binary log status" {
            let row = vec![
                Some(self.spec.listed().to_string()),
                Some(self.spec.binlog.len().to_string()),
                Some(String::new()),
                Some(String::new()),
                Some(self.spec.gtid_executed.clone()),
            ];
            return Answer::Rows(
                vec!["File", "Position", "Binlog_Do_DB", "Binlog_Ignore_DB", "Executed_Gtid_Set"],
                vec![row],
            );
        }
        if lower == "show binary logs" || lower == "show master logs" {
            let row = vec![Some(self.spec.listed().to_string()), Some(self.spec.binlog.len().to_string())];
            return Answer::Rows(vec!["Log_name", "File_size"], vec![row]);
        }
        if lower.starts_with("show grants") {
            let grant =
                "GRANT SELECT, RELOAD, SHOW DATABASES, REPLICATION SLAVE, REPLICATION CLIENT ON *.* TO 'debezium'@'%'";
            return Answer::Rows(vec!["Grants for debezium@%"], vec![vec![Some(grant.into())]]);
        }
        if lower == "show databases" {
            let rows = self.spec.schemas.iter().map(|(db, _)| vec![Some(db.clone())]).collect();
            return Answer::Rows(vec!["Database"], rows);
        }
        if let Some(rest) = lower.strip_prefix("show full tables from ") {
            let db = rest.split('`').nth(1).unwrap_or_default();
            let rows = self
                .spec
                .schemas
                .iter()
                .filter(|(d, _)| d.eq_ignore_ascii_case(db))
                .flat_map(|(_, tables)| {
                    tables.iter().map(|(t, _)| vec![Some(t.clone()), Some("BASE TABLE".to_string())])
                })
                .collect();
            return Answer::Rows(vec!["Tables_in_db", "Table_type"], rows);
        }
        if lower.starts_with("show create table ") {
            let names: Vec<&str> = sql.split('`').skip(1).step_by(2).collect();
            let (db, table) = (names.first().copied().unwrap_or_default(), names.get(1).copied().unwrap_or_default());
            let ddl = self.spec.schemas.iter().filter(|(d, _)| d == db).flat_map(|(_, t)| t).find(|(t, _)| t == table);
            return match ddl {
                Some((t, ddl)) => {
                    Answer::Rows(vec!["Table", "Create Table"], vec![vec![Some(t.clone()), Some(ddl.clone())]])
                }
                None => Answer::Err(1146, format!("Table '{db}.{table}' doesn't exist")),
            };
        }
        if lower
            .starts_with("select default_character_set_name, default_collation_name from information_schema.schemata")
        {
            let db = quoted(sql).unwrap_or_default();
            let known = self.spec.schemas.iter().any(|(d, _)| *d == db);
            let rows =
                if known { vec![vec![Some("utf8mb4".into()), Some("utf8mb4_general_ci".into())]] } else { vec![] };
            return Answer::Rows(vec!["DEFAULT_CHARACTER_SET_NAME", "DEFAULT_COLLATION_NAME"], rows);
        }
        if lower == "select connection_id()" {
            return Answer::Rows(vec!["CONNECTION_ID()"], vec![vec![Some(self.id.to_string())]]);
        }
        Answer::Err(1064, format!("the fake MySQL server cannot answer: {sql}"))
    }

    /// COM_BINLOG_DUMP from `pos` of the file (COM_BINLOG_DUMP_GTID: from its start, leaving out
    /// the transactions whose GTID is in `executed`, as a MySQL server does): a rotate event, the
    /// format description event, the events from `pos` on; then the connection stays open until
    /// the client goes.
    fn dump(mut self, pos: usize, executed: &[Sid]) -> std::io::Result<()> {
        let spec = self.spec.clone();
        let mut seq = 1u8;
        // The rotate event a server sends first: artificial (flags 0x20), log_pos 0.
        let mut body = (pos.max(4) as u64).to_le_bytes().to_vec();
        body.extend_from_slice(spec.listed().as_bytes());
        let size = 19 + body.len() + 4;
        let mut ev = Vec::with_capacity(size);
        ev.extend_from_slice(&0u32.to_le_bytes());
        ev.push(4);
        ev.extend_from_slice(&spec.server_id.to_le_bytes());
        ev.extend_from_slice(&(size as u32).to_le_bytes());
        ev.extend_from_slice(&0u32.to_le_bytes());
        ev.extend_from_slice(&0x20u16.to_le_bytes());
        ev.extend_from_slice(&body);
        let sum = crc32(&ev);
        ev.extend_from_slice(&sum.to_le_bytes());
        let mut send = |s: &mut Self, ev: &[u8]| -> std::io::Result<()> {
            let mut p = Vec::with_capacity(ev.len() + 1);
            p.push(0);
            p.extend_from_slice(ev);
            s.write_packet(seq, &p)?;
            seq = seq.wrapping_add(1);
            Ok(())
        };
        send(&mut self, &ev)?;
        let data = &spec.binlog;
        let mut at = 4usize;
        let mut skipping = false;
        while at + 19 <= data.len() {
            let size = u32::from_le_bytes(data[at + 9..at + 13].try_into().unwrap()) as usize;
            if size < 19 || at + size > data.len() {
                break;
            }
            // GTID_LOG_EVENT / ANONYMOUS_GTID_LOG_EVENT start a transaction: leave it out when
            // the client has it (body: flags, sid, gno).
            match data[at + 4] {
                33 => {
                    let body = &data[at + 19..];
                    let sid: [u8; 16] = body[1..17].try_into().unwrap();
                    let gno = u64::from_le_bytes(body[17..25].try_into().unwrap());
                    skipping = executed
                        .iter()
                        .any(|(s, ints)| *s == sid && ints.iter().any(|&(lo, hi)| lo <= gno && gno < hi));
                }
                34 => skipping = false,
                _ => {}
            }
            // The format description event always; the others from the requested position.
            if at == 4 || (at >= pos && !skipping) {
                send(&mut self, &data[at..at + size])?;
            }
            at += size;
        }
        // At the end of the file: nothing more to send until the client goes.
        self.socket.set_read_timeout(Some(Duration::from_millis(200)))?;
        let mut buf = [0u8; 256];
        while !self.stop.load(Ordering::Relaxed) {
            match self.socket.read(&mut buf) {
                Ok(0) => return Ok(()),
                Ok(_) => {}
                Err(e) if matches!(e.kind(), std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut) => {}
                Err(e) => return Err(e),
            }
        }
        Ok(())
    }
}
