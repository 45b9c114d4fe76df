//! The catalog streaming starts with, and what start-up records in the history.
//!
//! | start | history configured | catalog | recorded |
//! |---|---|---|---|
//! | stored offset | yes | history replayed up to the offset (missing or empty history: error suggesting `snapshot.mode=recovery`) | nothing (statements read again are not recorded twice) |
//! | stored offset, `snapshot.mode=recovery` | yes | the server's current schema | that schema, at the stored offset |
//! | explicit position (`latest`, `earliest`, `FILE:POS`, GTID) | yes | the server's current schema | that schema, at the first position the stream reports |
//! | any | no | the server's current schema | nothing |
//!
//! The server's schema is read the way the snapshot reads it under its lock ([`read_server_schema`],
//! [`crate::snapshot::schema`]), statement by statement as Debezium records it.
//!
//! Replay applies, in history order, every record of this connector whose position is at or
//! before the resume offset ([`super::at_or_before`]); a statement that cannot be applied follows
//! the streaming rule ([`super::SchemaHistory::on_ddl_error`]).

use mysql_async::Conn;

use super::{at_or_before, HistoryError, HistoryRecord, OnDdlError, SchemaHistory};
use crate::offsets::SourceOffset;
use crate::schema::Catalog;

pub use crate::snapshot::schema::SchemaEvent;

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

/// The captured databases' and tables' current definitions as Debezium's snapshot statements,
/// and the catalog they build (module doc): the snapshot's own reading, without a lock.
pub async fn read_server_schema(
    conn: &mut Conn,
    databases: &super::Filter,
    tables: &super::Filter,
) -> Result<(Vec<SchemaEvent>, Catalog), HistoryError> {
    let server = |e: crate::snapshot::SnapshotError| HistoryError::Server(e.to_string());
    let captured = crate::snapshot::schema::captured_tables(conn, databases, tables).await.map_err(server)?;
    crate::snapshot::schema::read_schema(conn, &captured).await.map_err(server)
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
