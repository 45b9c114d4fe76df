//! Table schemas as of the binlog position being read.
//!
//! `Table`/`Column` are the connector's model of a MySQL table, built from `SHOW CREATE TABLE`
//! output at start-up and changed by DDL statements read from QUERY events (`ddl`). A `Catalog`
//! holds the tables of every captured database. From a `Table` we derive the Connect schemas of
//! keys and row values (`connect_schema`) and Debezium's `tableChanges` JSON (`table_changes`).

pub mod catalog;
mod column_def;
pub mod connect_schema;
pub mod ddl;
pub mod table_changes;
#[cfg(test)]
mod tests;
pub mod types;

pub use catalog::{Catalog, ChangeType, SchemaChange};
pub use ddl::DdlError;

/// Decides which tables (`db`, `table`) are captured (from the connector's include/exclude lists);
/// called with an empty table name to ask about a database.
pub type TableFilterFn = std::sync::Arc<dyn Fn(&str, &str) -> bool + Send + Sync>;

/// `db.table`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct TableId {
    pub db: String,
    pub table: String,
}

impl TableId {
    pub fn new(db: impl Into<String>, table: impl Into<String>) -> TableId {
        TableId { db: db.into(), table: table.into() }
    }
}

impl std::fmt::Display for TableId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}.{}", self.db, self.table)
    }
}

/// What kind of MySQL/MariaDB column this is; decides decoding and the Connect schema.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ColumnKind {
    TinyInt,
    SmallInt,
    MediumInt,
    Int,
    BigInt,
    /// BIT(n); `Column::length` is n.
    Bit,
    /// BOOLEAN/BOOL as written in DDL (SHOW CREATE TABLE says tinyint(1) instead).
    Bool,
    Decimal,
    Float,
    Double,
    Date,
    Time,
    DateTime,
    Timestamp,
    Year,
    Char,
    VarChar,
    Binary,
    VarBinary,
    TinyBlob,
    Blob,
    MediumBlob,
    LongBlob,
    TinyText,
    Text,
    MediumText,
    LongText,
    Enum,
    Set,
    /// JSON as written in DDL (MariaDB stores it as LONGTEXT; SHOW CREATE TABLE says longtext).
    Json,
    Geometry,
    Point,
    LineString,
    Polygon,
    MultiPoint,
    MultiLineString,
    MultiPolygon,
    GeometryCollection,
    /// MariaDB UUID.
    Uuid,
    /// MariaDB INET4.
    Inet4,
    /// MariaDB INET6.
    Inet6,
    /// MySQL 9 VECTOR.
    Vector,
}

/// One column of a table.
#[derive(Debug, Clone, PartialEq)]
pub struct Column {
    pub name: String,
    /// 1-based ordinal position.
    pub position: u32,
    pub kind: ColumnKind,
    /// Debezium's `typeName` (e.g. `INT`, `VARCHAR`, `INT UNSIGNED`, `TINYINT`).
    pub type_name: String,
    /// Debezium's `typeExpression`.
    pub type_expression: String,
    /// `java.sql.Types` code Debezium reports as `jdbcType`.
    pub jdbc_type: i32,
    /// Length / precision / fractional-second precision, as Debezium reports `length`.
    pub length: Option<i32>,
    /// Decimal scale.
    pub scale: Option<i32>,
    pub unsigned: bool,
    /// Character set for text columns (e.g. `utf8mb4`, `latin1`); None for non-text columns.
    pub charset: Option<String>,
    /// Nullable.
    pub optional: bool,
    pub auto_increment: bool,
    /// Debezium's `generated` flag (true for AUTO_INCREMENT columns, as Debezium reports it).
    pub generated: bool,
    pub comment: Option<String>,
    /// Debezium's `defaultValueExpression` (the literal, unquoted), if any.
    pub default_expression: Option<String>,
    /// ENUM/SET member labels in order.
    pub enum_values: Vec<String>,
}

/// A table: ordered columns plus key information.
#[derive(Debug, Clone, PartialEq)]
pub struct Table {
    pub id: TableId,
    pub columns: Vec<Column>,
    /// Primary key column names in key order (empty if none).
    pub primary_key: Vec<String>,
    pub default_charset: Option<String>,
    pub comment: Option<String>,
}

impl Table {
    pub fn column(&self, name: &str) -> Option<&Column> {
        self.columns.iter().find(|c| c.name.eq_ignore_ascii_case(name))
    }
    /// Indexes (into `columns`) of the primary-key columns, in key order.
    pub fn key_indexes(&self) -> Vec<usize> {
        self.primary_key
            .iter()
            .filter_map(|k| self.columns.iter().position(|c| c.name.eq_ignore_ascii_case(k)))
            .collect()
    }
}
