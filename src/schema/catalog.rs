//! The catalog: databases (with their default charset) → tables, changed by DDL.
//!
//! `apply_ddl(default_db, sql)` parses a QUERY event's text (`ddl::parse`) and applies each
//! statement in order, returning one [`SchemaChange`] per table created, altered or dropped —
//! what Debezium puts in a schema change event's `tableChanges` (CREATE/ALTER carry the
//! resulting table; DROP carries none). Rules, following MySQL semantics and Debezium's output:
//! * a table's default charset is its explicit `CHARSET`, else its database's, else the server's
//!   (`SET character_set_server`, initially `utf8mb4`); a text column's charset is its explicit
//!   one, else the table default (resolved when the column is created or changed);
//! * `CREATE TABLE` over an existing table replaces it unless `IF NOT EXISTS` (then no change);
//! * `ALTER TABLE` applies its clauses in order on a copy and renumbers positions 1..n; adding an
//!   existing column or dropping/changing a missing one is a no-op (`IF [NOT] EXISTS`);
//!   `RENAME TO` reports ALTER under the new id (see [`SchemaChange::previous_id`]);
//! * `RENAME TABLE a TO b` is reported as ALTER of `b` with `previous_id` `a`;
//! * `DROP DATABASE` drops (and reports) every table of the database; `TRUNCATE` changes nothing.
//!
//! Failure: a parse error or a change to an unknown table returns the error and leaves the
//! catalog as it was before the failing statement (earlier statements of the same text stay
//! applied). Nothing panics.

use std::collections::BTreeMap;

use super::ddl::{self, AlterOp, ColumnPosition, DdlError, Statement};
use super::{Column, Table, TableId};

/// Debezium's `tableChanges[].type`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChangeType {
    Create,
    Alter,
    Drop,
}

impl ChangeType {
    pub fn as_str(self) -> &'static str {
        match self {
            ChangeType::Create => "CREATE",
            ChangeType::Alter => "ALTER",
            ChangeType::Drop => "DROP",
        }
    }
}

/// One entry of a schema change event's `tableChanges`.
#[derive(Debug, Clone, PartialEq)]
pub struct SchemaChange {
    pub kind: ChangeType,
    pub id: TableId,
    /// The table after the change (None for DROP).
    pub table: Option<Table>,
    /// For a rename, the id the table had before.
    pub previous_id: Option<TableId>,
}

/// A database: default charset and its tables.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Database {
    pub charset: Option<String>,
    pub tables: BTreeMap<String, Table>,
}

/// All known databases and tables.
#[derive(Debug, Clone, PartialEq)]
pub struct Catalog {
    databases: BTreeMap<String, Database>,
    server_charset: String,
}

impl Default for Catalog {
    fn default() -> Self {
        Catalog::new()
    }
}

impl Catalog {
    pub fn new() -> Catalog {
        Catalog { databases: BTreeMap::new(), server_charset: "utf8mb4".into() }
    }

    pub fn table(&self, id: &TableId) -> Option<&Table> {
        self.databases.get(&id.db)?.tables.get(&id.table)
    }

    /// Inserts (or replaces) a table, creating its database entry if needed.
    pub fn insert(&mut self, table: Table) {
        self.databases.entry(table.id.db.clone()).or_default().tables.insert(table.id.table.clone(), table);
    }

    pub fn remove(&mut self, id: &TableId) -> Option<Table> {
        self.databases.get_mut(&id.db)?.tables.remove(&id.table)
    }

    /// All tables, ordered by database then table name.
    pub fn tables(&self) -> impl Iterator<Item = &Table> {
        self.databases.values().flat_map(|d| d.tables.values())
    }

    pub fn database(&self, name: &str) -> Option<&Database> {
        self.databases.get(name)
    }

    /// Records a database's default charset (creating the entry).
    pub fn set_database_charset(&mut self, name: &str, charset: Option<String>) {
        self.databases.entry(name.to_string()).or_default().charset = charset;
    }

    pub fn server_charset(&self) -> &str {
        &self.server_charset
    }

    /// The charset new tables of `db` get when they do not name one.
    pub fn database_charset(&self, db: &str) -> String {
        self.databases.get(db).and_then(|d| d.charset.clone()).unwrap_or_else(|| self.server_charset.clone())
    }

    /// Parses and applies the text of one QUERY event whose default database is `default_db`.
    pub fn apply_ddl(&mut self, default_db: &str, sql: &str) -> Result<Vec<SchemaChange>, DdlError> {
        let mut changes = Vec::new();
        for stmt in ddl::parse(default_db, sql)? {
            self.apply_statement(stmt, sql, &mut changes)?;
        }
        Ok(changes)
    }

    fn unknown(id: &TableId, sql: &str) -> DdlError {
        DdlError::UnknownTable { table: id.to_string(), statement: sql.to_string() }
    }

    /// Applies one parsed statement; `sql` is only used in errors.
    pub fn apply_statement(
        &mut self,
        stmt: Statement,
        sql: &str,
        changes: &mut Vec<SchemaChange>,
    ) -> Result<(), DdlError> {
        match stmt {
            Statement::Ignored | Statement::Use { .. } | Statement::Truncate(_) => {}
            Statement::Index { id, unique } => {
                // A unique index gives a keyless table its key (Debezium's rule); other index
                // statements change no column.
                let Some(cols) = unique else { return Ok(()) };
                let Some(table) = self.table(&id) else { return Ok(()) };
                if !table.primary_key.is_empty() || !ddl::unique_key_usable(&table.columns, &cols) {
                    return Ok(());
                }
                let mut table = table.clone();
                alter(&mut table, AlterOp::AddUniqueKey(cols));
                self.insert(table.clone());
                changes.push(SchemaChange { kind: ChangeType::Alter, id, table: Some(table), previous_id: None });
            }
            Statement::SetServerCharset(cs) => self.server_charset = cs,
            Statement::CreateDatabase { name, if_not_exists, charset } => {
                if !(if_not_exists && self.databases.contains_key(&name)) {
                    let db = self.databases.entry(name).or_default();
                    db.charset = charset.or(db.charset.take());
                }
            }
            Statement::AlterDatabase { name, charset } => {
                if charset.is_some() {
                    self.databases.entry(name).or_default().charset = charset;
                }
            }
            Statement::DropDatabase { name } => {
                if let Some(db) = self.databases.remove(&name) {
                    for t in db.tables.into_values() {
                        changes.push(SchemaChange { kind: ChangeType::Drop, id: t.id, table: None, previous_id: None });
                    }
                }
            }
            Statement::CreateTable(ct) => {
                if ct.if_not_exists && self.table(&ct.id).is_some() {
                    return Ok(());
                }
                let default_charset = ct.charset.clone().unwrap_or_else(|| self.database_charset(&ct.id.db));
                let mut table = Table {
                    id: ct.id.clone(),
                    columns: ct.columns,
                    primary_key: ct.primary_key,
                    default_charset: Some(default_charset.clone()),
                    comment: ct.comment,
                };
                for c in table.columns.iter_mut() {
                    resolve_charset(c, &default_charset);
                }
                renumber(&mut table.columns);
                self.databases.entry(ct.id.db.clone()).or_default();
                self.insert(table.clone());
                changes.push(SchemaChange {
                    kind: ChangeType::Create,
                    id: ct.id,
                    table: Some(table),
                    previous_id: None,
                });
            }
            Statement::CreateTableLike { id, like, if_not_exists } => {
                if if_not_exists && self.table(&id).is_some() {
                    return Ok(());
                }
                let mut table = self.table(&like).cloned().ok_or_else(|| Self::unknown(&like, sql))?;
                table.id = id.clone();
                self.insert(table.clone());
                changes.push(SchemaChange { kind: ChangeType::Create, id, table: Some(table), previous_id: None });
            }
            Statement::AlterTable { id, ops } => {
                let mut table = self.table(&id).cloned().ok_or_else(|| Self::unknown(&id, sql))?;
                for op in ops {
                    alter(&mut table, op);
                }
                renumber(&mut table.columns);
                let previous_id = (table.id != id).then(|| id.clone());
                if previous_id.is_some() {
                    self.remove(&id);
                }
                self.insert(table.clone());
                changes.push(SchemaChange {
                    kind: ChangeType::Alter,
                    id: table.id.clone(),
                    table: Some(table),
                    previous_id,
                });
            }
            Statement::DropTables { ids, if_exists } => {
                for id in ids {
                    // Debezium reports a DROP even for a table it did not know (`IF EXISTS`).
                    let known = self.remove(&id).is_some();
                    if known || if_exists {
                        changes.push(SchemaChange { kind: ChangeType::Drop, id, table: None, previous_id: None });
                    }
                }
            }
            Statement::RenameTables(pairs) => {
                for (from, to) in pairs {
                    let mut table = self.remove(&from).ok_or_else(|| Self::unknown(&from, sql))?;
                    table.id = to.clone();
                    self.insert(table.clone());
                    changes.push(SchemaChange {
                        kind: ChangeType::Alter,
                        id: to,
                        table: Some(table),
                        previous_id: Some(from),
                    });
                }
            }
        }
        Ok(())
    }
}

fn is_text(c: &Column) -> bool {
    use super::ColumnKind as K;
    matches!(c.kind, K::Char | K::VarChar | K::TinyText | K::Text | K::MediumText | K::LongText | K::Enum | K::Set)
}

/// Text columns without an explicit charset take the table default.
fn resolve_charset(c: &mut Column, table_default: &str) {
    if is_text(c) && c.charset.is_none() {
        c.charset = Some(table_default.to_string());
    }
}

fn renumber(columns: &mut [Column]) {
    for (i, c) in columns.iter_mut().enumerate() {
        c.position = i as u32 + 1;
    }
}

fn index_of(table: &Table, name: &str) -> Option<usize> {
    table.columns.iter().position(|c| c.name.eq_ignore_ascii_case(name))
}

fn place(table: &mut Table, column: Column, position: &ColumnPosition, default_index: usize) {
    let at = match position {
        ColumnPosition::Default => default_index,
        ColumnPosition::First => 0,
        ColumnPosition::After(name) => index_of(table, name).map(|i| i + 1).unwrap_or(default_index),
    };
    table.columns.insert(at.min(table.columns.len()), column);
}

fn rename_in_key(table: &mut Table, from: &str, to: &str) {
    for k in table.primary_key.iter_mut() {
        if k.eq_ignore_ascii_case(from) {
            *k = to.to_string();
        }
    }
}

/// Applies one ALTER clause to `table` (positions are renumbered by the caller).
fn alter(table: &mut Table, op: AlterOp) {
    let default_charset = table.default_charset.clone().unwrap_or_else(|| "utf8mb4".into());
    match op {
        AlterOp::AddColumn { mut column, position } => {
            if index_of(table, &column.name).is_some() {
                return;
            }
            resolve_charset(&mut column, &default_charset);
            let end = table.columns.len();
            place(table, column, &position, end);
        }
        AlterOp::ChangeColumn { old_name, mut column, position } => {
            let Some(i) = index_of(table, &old_name) else { return };
            resolve_charset(&mut column, &default_charset);
            if table.primary_key.iter().any(|k| k.eq_ignore_ascii_case(&old_name)) {
                column.optional = false;
            }
            let new_name = column.name.clone();
            table.columns.remove(i);
            place(table, column, &position, i);
            rename_in_key(table, &old_name, &new_name);
        }
        AlterOp::DropColumn(name) => {
            if let Some(i) = index_of(table, &name) {
                table.columns.remove(i);
                table.primary_key.retain(|k| !k.eq_ignore_ascii_case(&name));
            }
        }
        AlterOp::RenameColumn { from, to } => {
            if let Some(i) = index_of(table, &from) {
                table.columns[i].name = to.clone();
                rename_in_key(table, &from, &to);
            }
        }
        AlterOp::SetDefault { column, default } => {
            if let Some(i) = index_of(table, &column) {
                table.columns[i].default_expression = default;
            }
        }
        AlterOp::AddPrimaryKey(cols) => {
            ddl::mark_pk_not_null(&mut table.columns, &cols);
            table.primary_key = cols
                .iter()
                .map(|k| index_of(table, k).map(|i| table.columns[i].name.clone()).unwrap_or_else(|| k.clone()))
                .collect();
        }
        AlterOp::AddUniqueKey(cols) => {
            if table.primary_key.is_empty() && ddl::unique_key_usable(&table.columns, &cols) {
                table.primary_key = cols
                    .iter()
                    .map(|k| index_of(table, k).map(|i| table.columns[i].name.clone()).unwrap_or_else(|| k.clone()))
                    .collect();
            }
        }
        AlterOp::DropPrimaryKey => table.primary_key.clear(),
        AlterOp::RenameTable(id) => table.id = id,
        AlterOp::DefaultCharset(cs) => table.default_charset = Some(cs),
        AlterOp::ConvertCharset(cs) => {
            for c in table.columns.iter_mut().filter(|c| is_text(c)) {
                c.charset = Some(cs.clone());
            }
            table.default_charset = Some(cs);
        }
        AlterOp::Comment(c) => table.comment = Some(c),
    }
}
