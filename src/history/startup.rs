//! The catalog streaming starts with, and what start-up records in the history.
//!
//! | start | history configured | catalog | recorded |
//! |---|---|---|---|
//! | stored offset | yes | history replayed up to the offset (missing or empty history: error suggesting `snapshot.mode=recovery`) | nothing (statements read again are not recorded twice) |
//! | stored offset, `snapshot.mode=recovery` | yes | the server's current schema | that schema, at the stored offset |
//! | explicit position (`latest`, `earliest`, `FILE:POS`, GTID) | yes | the server's current schema | that schema, at the first position the stream reports |
//! | any | no | the server's current schema | nothing |
//!
//! The server's schema is read the way Debezium's snapshot reads it ([`read_server_schema`]):
//! `SET character_set_server=.., collation_server=..`; ``DROP TABLE IF EXISTS `db`.`t` `` for
//! every captured table; then for every captured database, in name order, ``DROP DATABASE IF
//! EXISTS``, ``CREATE DATABASE `db` CHARSET cs COLLATE coll``, ``USE `db` `` and the `SHOW CREATE
//! TABLE` text of each captured table (tables in name order). Every statement is applied to a
//! fresh catalog, which is the result.
//!
//! Replay applies, in history order, every record of this connector whose position is at or
//! before the resume offset ([`super::at_or_before`]); a statement that cannot be applied follows
//! the streaming rule ([`super::SchemaHistory::on_ddl_error`]).

use mysql_async::prelude::Queryable;
use mysql_async::Conn;

use super::{at_or_before, HistoryError, HistoryRecord, OnDdlError, SchemaHistory};
use crate::offsets::SourceOffset;
use crate::schema::{Catalog, ChangeType, SchemaChange, TableId};

/// One statement of a schema snapshot and the table changes it made.
#[derive(Debug, Clone)]
pub struct SchemaEvent {
    /// `databaseName` (`""` for the `SET` statement).
    pub database: String,
    /// The table the statement is about, if one.
    pub table: Option<String>,
    pub ddl: String,
    pub changes: Vec<SchemaChange>,
}

/// How streaming starts, as far as the schema is concerned.
#[derive(Debug, Clone)]
pub enum Start<'a> {
    /// From the stored offset.
    Resume { offset: &'a SourceOffset, recovery: bool },
    /// From an explicit position; `latest`: the current end of the binlog.
    Explicit { latest: bool },
}

/// Where messages say the stored offset lives, and whose it is.
pub struct OffsetOrigin<'a> {
    pub connector: &'a str,
    pub store: &'a str,
}

fn quote(name: &str) -> String {
    format!("`{}`", name.replace('`', "``"))
}

fn server_err(what: String) -> impl FnOnce(mysql_async::Error) -> HistoryError {
    move |e| HistoryError::Server(format!("{what}: {e}"))
}

/// The captured databases' and tables' current definitions as Debezium's snapshot statements,
/// and the catalog they build (module doc).
pub async fn read_server_schema(
    conn: &mut Conn,
    databases: &super::Filter,
    tables: &super::Filter,
) -> Result<(Vec<SchemaEvent>, Catalog), HistoryError> {
    let mut dbs: Vec<String> = conn.query("SHOW DATABASES").await.map_err(server_err("SHOW DATABASES".into()))?;
    dbs.retain(|db| databases(db, ""));
    dbs.sort();
    let mut captured: Vec<(String, Vec<String>)> = Vec::new();
    for db in dbs {
        let sql = format!("SHOW FULL TABLES FROM {} WHERE Table_type = 'BASE TABLE'", quote(&db));
        let rows: Vec<(String, String)> = conn.query(&sql).await.map_err(server_err(sql))?;
        let mut names: Vec<String> = rows.into_iter().map(|(t, _)| t).filter(|t| tables(&db, t)).collect();
        names.sort();
        captured.push((db, names));
    }
    let mut catalog = Catalog::new();
    let mut events = Vec::new();
    let vars: Vec<(String, String)> = conn
        .query("SHOW VARIABLES WHERE Variable_name IN ('character_set_server', 'collation_server')")
        .await
        .map_err(server_err("SHOW VARIABLES".into()))?;
    let var = |n: &str| vars.iter().find(|(k, _)| k == n).map(|(_, v)| v.clone()).unwrap_or_default();
    let set = format!(
        "SET character_set_server={}, collation_server={}",
        var("character_set_server"),
        var("collation_server")
    );
    apply(&mut catalog, &mut events, "", None, set)?;
    for (db, names) in &captured {
        for t in names {
            let id = TableId::new(db.as_str(), t.as_str());
            events.push(SchemaEvent {
                database: db.clone(),
                table: Some(t.clone()),
                ddl: format!("DROP TABLE IF EXISTS {}.{}", quote(db), quote(t)),
                changes: vec![SchemaChange { kind: ChangeType::Drop, id, table: None, previous_id: None }],
            });
        }
    }
    for (db, names) in &captured {
        events.push(SchemaEvent {
            database: db.clone(),
            table: None,
            ddl: format!("DROP DATABASE IF EXISTS {}", quote(db)),
            changes: Vec::new(),
        });
        let sql = "SELECT DEFAULT_CHARACTER_SET_NAME, DEFAULT_COLLATION_NAME FROM information_schema.SCHEMATA WHERE SCHEMA_NAME = ?";
        let cs: Option<(String, String)> =
            conn.exec_first(sql, (db.as_str(),)).await.map_err(server_err(format!("the charset of database {db}")))?;
        let create = match cs {
            Some((cs, coll)) => format!("CREATE DATABASE {} CHARSET {cs} COLLATE {coll}", quote(db)),
            None => format!("CREATE DATABASE {}", quote(db)),
        };
        apply(&mut catalog, &mut events, db, None, create)?;
        events.push(SchemaEvent {
            database: db.clone(),
            table: None,
            ddl: format!("USE {}", quote(db)),
            changes: Vec::new(),
        });
        for t in names {
            let sql = format!("SHOW CREATE TABLE {}.{}", quote(db), quote(t));
            let row: Option<(String, String)> = conn.query_first(&sql).await.map_err(server_err(sql.clone()))?;
            let (_, ddl) =
                row.ok_or_else(|| HistoryError::Server(format!("{sql}: no result (was the table dropped?)")))?;
            apply(&mut catalog, &mut events, db, Some(t), ddl)?;
        }
    }
    Ok((events, catalog))
}

/// Apply one statement of the server's schema to `catalog` and keep it as an event.
fn apply(
    catalog: &mut Catalog,
    events: &mut Vec<SchemaEvent>,
    db: &str,
    table: Option<&str>,
    ddl: String,
) -> Result<(), HistoryError> {
    let changes = catalog
        .apply_ddl(db, &ddl)
        .map_err(|e| HistoryError::Server(format!("cannot apply the definition of {db}: {e}")))?;
    events.push(SchemaEvent { database: db.to_string(), table: table.map(str::to_string), ddl, changes });
    Ok(())
}

/// The catalog streaming starts with (module doc); may record the server's schema or leave it
/// to [`SchemaHistory::stream_position`].
pub async fn startup_catalog(
    conn: &mut Conn,
    history: &mut SchemaHistory,
    start: Start<'_>,
    origin: OffsetOrigin<'_>,
) -> Result<Catalog, HistoryError> {
    let (databases, tables) = (history.databases.clone(), history.tables.clone());
    if !history.is_enabled() {
        if matches!(start, Start::Resume { .. }) {
            tracing::warn!("no schema history is configured (schema.history.internal.kafka.topic or schema.history.internal.file.filename): table schemas are read from the server now, so changes recorded before a later ALTER TABLE decode with the new schema");
        }
        return Ok(read_server_schema(conn, &databases, &tables).await?.1);
    }
    match start {
        Start::Resume { offset, recovery: true } => {
            let (events, catalog) = read_server_schema(conn, &databases, &tables).await?;
            let mut position = offset.clone();
            position.snapshot = Some("INITIAL".into());
            history.record_snapshot(&position, &events).await?;
            tracing::warn!(history = %history.describe(), file = %offset.file, pos = offset.pos, "snapshot.mode=recovery: rebuilt the schema history from the server's current table definitions at the stored offset; set snapshot.mode back to its previous value");
            Ok(catalog)
        }
        Start::Resume { offset, recovery: false } => {
            let missing = |state| HistoryError::Missing {
                what: history.describe(),
                state,
                connector: origin.connector.to_string(),
                position: format!("{}:{}", offset.file, offset.pos),
                offsets: origin.store.to_string(),
            };
            let records = match history.read().await? {
                None => return Err(missing("does not exist")),
                Some(r) if r.is_empty() => return Err(missing("is empty")),
                Some(r) => r,
            };
            let (catalog, applied) = replay(history, &records, offset)?;
            tracing::info!(history = %history.describe(), records = records.len(), applied, file = %offset.file, pos = offset.pos, "schema history replayed up to the stored offset");
            Ok(catalog)
        }
        Start::Explicit { latest } => {
            let (events, catalog) = read_server_schema(conn, &databases, &tables).await?;
            // A start from an older position cannot know its time: 0 keeps the records before
            // any later event even for readers comparing timestamps (Debezium across servers).
            let ts_sec = if latest { super::now_ms() / 1000 } else { 0 };
            history.pending_startup = Some((events, ts_sec));
            Ok(catalog)
        }
    }
}

/// Apply the records at or before `upto`; remember the later ones (re-read from the binlog).
/// Returns the catalog and how many records were applied.
fn replay(
    history: &mut SchemaHistory,
    records: &[HistoryRecord],
    upto: &SourceOffset,
) -> Result<(Catalog, usize), HistoryError> {
    let mut catalog = Catalog::new();
    let mut applied = 0;
    for r in records {
        let Some(ddl) = r.ddl.as_deref() else { continue };
        if !at_or_before(&r.position, upto) {
            history.ahead.push((r.position.clone(), ddl.to_string()));
            continue;
        }
        let db = r.database_name.as_deref().unwrap_or("");
        match catalog.apply_ddl(db, ddl) {
            Ok(_) => applied += 1,
            Err(e) => match history.on_ddl_error(&e, db) {
                OnDdlError::Skip { why } => {
                    tracing::warn!(file = %r.position.file, pos = r.position.pos, error = %e, "skipping a schema history statement: {why}")
                }
                OnDdlError::Fail => {
                    return Err(HistoryError::Replay {
                        what: history.describe(),
                        position: format!("{}:{}", r.position.file, r.position.pos),
                        message: e.to_string(),
                    })
                }
            },
        }
    }
    Ok((catalog, applied))
}
