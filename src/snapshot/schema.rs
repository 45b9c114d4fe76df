//! The tables a snapshot reads and the schema-change events it emits, in Debezium's order.
//!
//! Under the lock the connector records the schema as of the snapshot position, exactly as Debezium
//! 3.6.3 does (golden `main`, records 1–24, all with `snapshot: "true"`):
//! 1. `SET character_set_server=<cs>, collation_server=<coll>` (database `""`, no table changes);
//! 2. ``DROP TABLE IF EXISTS `db`.`t` `` for every captured table (one DROP table change each);
//! 3. per database with captured tables, in name order: ``DROP DATABASE IF EXISTS `db` ``,
//!    ``CREATE DATABASE `db` CHARSET <cs> COLLATE <coll>`` (from `information_schema.SCHEMATA`),
//!    ``USE `db` `` (no table changes), then the `SHOW CREATE TABLE` text of each of its tables (one
//!    CREATE table change, as the DDL parser builds it).
//!
//! Every statement is also applied to a fresh [`Catalog`], which becomes the schema streaming starts
//! with. Tables are ordered by database, then name (Debezium's order).

use mysql_async::prelude::Queryable;
use mysql_async::Conn;

use super::SnapshotError;
use crate::schema::{Catalog, ChangeType, SchemaChange, TableFilterFn, TableId};

/// One schema-change record of the snapshot.
#[derive(Debug, Clone)]
pub struct SchemaEvent {
    /// `databaseName` and `source.db` (`""` for the SET statement).
    pub database: String,
    /// `source.table`.
    pub table: Option<String>,
    pub ddl: String,
    /// `tableChanges`.
    pub changes: Vec<SchemaChange>,
}

/// `` `name` `` with backquotes doubled.
pub fn quote(name: &str) -> String {
    format!("`{}`", name.replace('`', "``"))
}

/// `` `db`.`table` ``.
pub fn qualified(id: &TableId) -> String {
    format!("{}.{}", quote(&id.db), quote(&id.table))
}

fn query_err(what: String) -> impl FnOnce(mysql_async::Error) -> SnapshotError {
    move |e| SnapshotError::Query { what, message: e.to_string() }
}

/// The captured base tables, ordered by database then name.
pub async fn captured_tables(
    conn: &mut Conn,
    db_filter: &TableFilterFn,
    table_filter: &TableFilterFn,
) -> Result<Vec<TableId>, SnapshotError> {
    let mut dbs: Vec<String> = conn.query("SHOW DATABASES").await.map_err(query_err("SHOW DATABASES".into()))?;
    dbs.sort();
    let mut out = Vec::new();
    for db in dbs.into_iter().filter(|db| db_filter(db, "")) {
        let sql = format!("SHOW FULL TABLES FROM {} WHERE Table_type = 'BASE TABLE'", quote(&db));
        let mut tables: Vec<(String, String)> = conn.query(&sql).await.map_err(query_err(sql))?;
        tables.sort();
        out.extend(tables.into_iter().filter(|(t, _)| table_filter(&db, t)).map(|(t, _)| TableId::new(&db, t)));
    }
    Ok(out)
}

/// Read the schema of `tables` (under the lock) into schema events and a catalog.
pub async fn read_schema(conn: &mut Conn, tables: &[TableId]) -> Result<(Vec<SchemaEvent>, Catalog), SnapshotError> {
    let mut catalog = Catalog::new();
    let mut events = Vec::new();
    let vars: Vec<(String, String)> = conn
        .query("SHOW VARIABLES WHERE Variable_name IN ('character_set_server', 'collation_server')")
        .await
        .map_err(query_err("SHOW VARIABLES".into()))?;
    let var = |n: &str| vars.iter().find(|(k, _)| k == n).map(|(_, v)| v.clone()).unwrap_or_default();
    let set = format!(
        "SET character_set_server={}, collation_server={}",
        var("character_set_server"),
        var("collation_server")
    );
    apply(&mut catalog, "", &set)?;
    events.push(SchemaEvent { database: String::new(), table: None, ddl: set, changes: Vec::new() });
    events.extend(tables.iter().map(drop_event));
    let mut i = 0;
    while i < tables.len() {
        let db = tables[i].db.clone();
        let plain = |ddl: String| SchemaEvent { database: db.clone(), table: None, ddl, changes: Vec::new() };
        events.push(plain(format!("DROP DATABASE IF EXISTS {}", quote(&db))));
        let sql = "SELECT DEFAULT_CHARACTER_SET_NAME, DEFAULT_COLLATION_NAME FROM information_schema.SCHEMATA WHERE SCHEMA_NAME = ?";
        let cs: Option<(String, String)> =
            conn.exec_first(sql, (db.as_str(),)).await.map_err(query_err(format!("the charset of database {db}")))?;
        let create = match cs {
            Some((cs, coll)) => format!("CREATE DATABASE {} CHARSET {cs} COLLATE {coll}", quote(&db)),
            None => format!("CREATE DATABASE {}", quote(&db)),
        };
        apply(&mut catalog, "", &create)?;
        events.push(plain(create));
        events.push(plain(format!("USE {}", quote(&db))));
        while i < tables.len() && tables[i].db == db {
            let id = &tables[i];
            let ddl = show_create_table(conn, id).await?;
            let changes = apply(&mut catalog, &db, &ddl)?;
            events.push(SchemaEvent { database: db.clone(), table: Some(id.table.clone()), ddl, changes });
            i += 1;
        }
    }
    Ok((events, catalog))
}

/// The schema events of a blocking snapshot of `tables` (under its lock): `DROP TABLE IF EXISTS`
/// of each, then the `SHOW CREATE TABLE` text of each, and a catalog of just these tables.
pub async fn read_table_schemas(
    conn: &mut Conn,
    tables: &[TableId],
) -> Result<(Vec<SchemaEvent>, Catalog), SnapshotError> {
    let mut catalog = Catalog::new();
    let mut events: Vec<SchemaEvent> = tables.iter().map(drop_event).collect();
    for id in tables {
        if catalog.database(&id.db).is_none() {
            apply(&mut catalog, "", &format!("CREATE DATABASE {}", quote(&id.db)))?;
        }
        let ddl = show_create_table(conn, id).await?;
        let changes = apply(&mut catalog, &id.db, &ddl)?;
        events.push(SchemaEvent { database: id.db.clone(), table: Some(id.table.clone()), ddl, changes });
    }
    Ok((events, catalog))
}

fn drop_event(id: &TableId) -> SchemaEvent {
    SchemaEvent {
        database: id.db.clone(),
        table: Some(id.table.clone()),
        ddl: format!("DROP TABLE IF EXISTS {}", qualified(id)),
        changes: vec![SchemaChange { kind: ChangeType::Drop, id: id.clone(), table: None, previous_id: None }],
    }
}

async fn show_create_table(conn: &mut Conn, id: &TableId) -> Result<String, SnapshotError> {
    let sql = format!("SHOW CREATE TABLE {}", qualified(id));
    let row: Option<(String, String)> = conn.query_first(&sql).await.map_err(query_err(sql))?;
    let (_, ddl) = row.ok_or_else(|| SnapshotError::Query {
        what: format!("SHOW CREATE TABLE {id}"),
        message: "no result (was the table dropped?)".into(),
    })?;
    Ok(ddl)
}

fn apply(catalog: &mut Catalog, db: &str, ddl: &str) -> Result<Vec<SchemaChange>, SnapshotError> {
    catalog.apply_ddl(db, ddl).map_err(|e| SnapshotError::Schema { database: db.to_string(), message: e.to_string() })
}
