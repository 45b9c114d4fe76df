//! SQL column types → `ColumnKind` plus the attributes Debezium reports in `tableChanges`.
//!
//! The column parser (`column_def`) reads a column's type itself from the token stream (the words of the
//! type name, an optional parenthesised argument list, then `UNSIGNED`/`SIGNED`/`ZEROFILL`) and
//! hands it here as a [`TypeSpec`]. [`resolve`] maps the spelled name to a kind, a
//! `java.sql.Types` code and Debezium's `typeName` (the name as spelled, upper-cased, with
//! ` UNSIGNED`/` ZEROFILL` appended — so `INTEGER` stays `INTEGER` and `int(11) unsigned` becomes
//! `INT UNSIGNED`, as in the oracle). Lengths follow Debezium's MySQL grammar defaults: a
//! display width or precision is reported when written (`int(11)` → 11, `INT` → none), `DECIMAL`
//! without arguments is `(10,0)`, `BIT`/`CHAR`/`BINARY` without a length are 1, `ENUM` has length
//! 1 and `SET` has length `2n-1` (the longest comma-joined value list).
//!
//! MariaDB-only types are supported here although Debezium 3.6.3 rejects them: `UUID`, `INET4`,
//! `INET6` (reported with `jdbcType` 1111 = OTHER and no charset; their Connect schema is a
//! string, see `connect_schema`). An unknown type name is an error (the caller wraps it with the
//! statement text); nothing here panics.

use super::ColumnKind;

/// A column type as written: upper-cased words (`["DOUBLE", "PRECISION"]`), the raw arguments
/// between parentheses (numbers as written, strings unquoted), and the sign/zerofill suffixes.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct TypeSpec {
    pub words: Vec<String>,
    pub args: Vec<String>,
    pub unsigned: bool,
    pub zerofill: bool,
}

/// What a type resolves to.
#[derive(Debug, Clone, PartialEq)]
pub struct ResolvedType {
    pub kind: ColumnKind,
    pub type_name: String,
    pub jdbc_type: i32,
    pub length: Option<i32>,
    pub scale: Option<i32>,
    pub unsigned: bool,
    /// True when the column has a character set (CHAR/VARCHAR/TEXT/ENUM/SET).
    pub textual: bool,
    pub enum_values: Vec<String>,
    /// SERIAL implies NOT NULL AUTO_INCREMENT.
    pub serial: bool,
}

// java.sql.Types codes.
const BIT: i32 = -7;
const SMALLINT: i32 = 5;
const INTEGER: i32 = 4;
const BIGINT: i32 = -5;
const BOOLEAN: i32 = 16;
const NUMERIC: i32 = 2;
const DECIMAL: i32 = 3;
const FLOAT: i32 = 6;
const DOUBLE: i32 = 8;
const DATE: i32 = 91;
const TIME: i32 = 92;
const TIMESTAMP: i32 = 93;
const TIMESTAMP_WITH_TIMEZONE: i32 = 2014;
const CHAR: i32 = 1;
const NCHAR: i32 = -15;
const VARCHAR: i32 = 12;
const NVARCHAR: i32 = -9;
const BINARY: i32 = -2;
const VARBINARY: i32 = -3;
const BLOB: i32 = 2004;
const OTHER: i32 = 1111;

fn num_arg(args: &[String], i: usize) -> Option<i32> {
    args.get(i).and_then(|a| a.trim().parse::<i32>().ok())
}

/// Resolves a written type. `Err` carries a short reason (unknown type, bad argument).
pub fn resolve(spec: &TypeSpec) -> Result<ResolvedType, String> {
    use ColumnKind as K;
    let words: Vec<&str> = spec.words.iter().map(|s| s.as_str()).collect();
    // Normalise multi-word spellings to one base name; `spelled` is what Debezium reports.
    let (base, spelled): (&str, String) = match words.as_slice() {
        ["DOUBLE", "PRECISION"] => ("DOUBLE", "DOUBLE PRECISION".into()),
        ["CHARACTER", "VARYING"] | ["CHAR", "VARYING"] => ("VARCHAR", "VARCHAR".into()),
        ["NATIONAL", "CHAR", "VARYING"]
        | ["NATIONAL", "CHARACTER", "VARYING"]
        | ["NATIONAL", "VARCHAR"]
        | ["NCHAR", "VARCHAR"]
        | ["NCHAR", "VARYING"]
        | ["NVARCHAR"] => ("NVARCHAR", "NVARCHAR".into()),
        ["NATIONAL", "CHAR"] | ["NATIONAL", "CHARACTER"] | ["NCHAR"] => ("NCHAR", "NCHAR".into()),
        ["LONG", "VARBINARY"] => ("MEDIUMBLOB", "MEDIUMBLOB".into()),
        ["LONG", "VARCHAR"] | ["LONG"] => ("MEDIUMTEXT", "MEDIUMTEXT".into()),
        [one] => (one, one.to_string()),
        _ => return Err(format!("unknown column type {}", spec.words.join(" "))),
    };
    let a0 = num_arg(&spec.args, 0);
    let a1 = num_arg(&spec.args, 1);
    let mut r = ResolvedType {
        kind: K::Int,
        type_name: spelled,
        jdbc_type: INTEGER,
        length: None,
        scale: None,
        unsigned: spec.unsigned,
        textual: false,
        enum_values: Vec::new(),
        serial: false,
    };
    let integer = |r: &mut ResolvedType, kind: ColumnKind, jdbc: i32| {
        r.kind = kind;
        r.jdbc_type = jdbc;
        r.length = a0;
    };
    match base {
        "TINYINT" | "INT1" => integer(&mut r, K::TinyInt, SMALLINT),
        "SMALLINT" | "INT2" => integer(&mut r, K::SmallInt, SMALLINT),
        "MEDIUMINT" | "INT3" | "MIDDLEINT" => integer(&mut r, K::MediumInt, INTEGER),
        "INT" | "INTEGER" | "INT4" => integer(&mut r, K::Int, INTEGER),
        "BIGINT" | "INT8" => integer(&mut r, K::BigInt, BIGINT),
        "SERIAL" => {
            r.kind = K::BigInt;
            r.jdbc_type = BIGINT;
            r.type_name = "BIGINT".into();
            r.unsigned = true;
            r.serial = true;
        }
        "BIT" => {
            r.kind = K::Bit;
            r.jdbc_type = BIT;
            r.length = Some(a0.unwrap_or(1));
        }
        "BOOL" | "BOOLEAN" => {
            r.kind = K::Bool;
            r.jdbc_type = BOOLEAN;
        }
        "DECIMAL" | "DEC" | "NUMERIC" | "FIXED" => {
            r.kind = K::Decimal;
            r.jdbc_type = if base == "NUMERIC" { NUMERIC } else { DECIMAL };
            if spec.args.is_empty() {
                r.length = Some(10);
                r.scale = Some(0);
            } else {
                r.length = a0;
                r.scale = a1;
            }
        }
        "FLOAT" | "FLOAT4" => {
            r.jdbc_type = FLOAT;
            r.length = a0;
            r.scale = a1;
            // FLOAT(p) with 25 <= p <= 53 is a DOUBLE in MySQL.
            r.kind = if spec.args.len() == 1 && a0.unwrap_or(0) > 24 { K::Double } else { K::Float };
        }
        "DOUBLE" | "REAL" | "FLOAT8" => {
            r.kind = K::Double;
            r.jdbc_type = DOUBLE;
            r.length = a0;
            r.scale = a1;
        }
        "DATE" => {
            r.kind = K::Date;
            r.jdbc_type = DATE;
        }
        "TIME" => {
            r.kind = K::Time;
            r.jdbc_type = TIME;
            r.length = a0;
        }
        "DATETIME" => {
            r.kind = K::DateTime;
            r.jdbc_type = TIMESTAMP;
            r.length = a0;
        }
        "TIMESTAMP" => {
            r.kind = K::Timestamp;
            r.jdbc_type = TIMESTAMP_WITH_TIMEZONE;
            r.length = a0;
        }
        "YEAR" => {
            r.kind = K::Year;
            r.jdbc_type = INTEGER;
            r.length = a0;
        }
        "CHAR" | "CHARACTER" | "NCHAR" => {
            r.kind = K::Char;
            r.jdbc_type = if base == "NCHAR" { NCHAR } else { CHAR };
            r.type_name = if base == "NCHAR" { "NCHAR".into() } else { "CHAR".into() };
            r.length = Some(a0.unwrap_or(1));
            r.textual = true;
        }
        "VARCHAR" | "NVARCHAR" | "VARCHAR2" => {
            r.kind = K::VarChar;
            r.jdbc_type = if base == "NVARCHAR" { NVARCHAR } else { VARCHAR };
            r.length = a0;
            r.textual = true;
        }
        "BINARY" => {
            r.kind = K::Binary;
            r.jdbc_type = BINARY;
            r.length = Some(a0.unwrap_or(1));
        }
        "VARBINARY" => {
            r.kind = K::VarBinary;
            r.jdbc_type = VARBINARY;
            r.length = a0;
        }
        "TINYBLOB" | "BLOB" | "MEDIUMBLOB" | "LONGBLOB" => {
            r.kind = match base {
                "TINYBLOB" => K::TinyBlob,
                "BLOB" => K::Blob,
                "MEDIUMBLOB" => K::MediumBlob,
                _ => K::LongBlob,
            };
            r.jdbc_type = BLOB;
            r.length = a0;
        }
        "TINYTEXT" | "TEXT" | "MEDIUMTEXT" | "LONGTEXT" => {
            r.kind = match base {
                "TINYTEXT" => K::TinyText,
                "TEXT" => K::Text,
                "MEDIUMTEXT" => K::MediumText,
                _ => K::LongText,
            };
            r.jdbc_type = VARCHAR;
            r.length = a0;
            r.textual = true;
        }
        "ENUM" | "SET" => {
            r.kind = if base == "ENUM" { K::Enum } else { K::Set };
            r.jdbc_type = CHAR;
            r.textual = true;
            r.enum_values = spec.args.clone();
            let n = spec.args.len() as i32;
            r.length = Some(if base == "ENUM" { 1 } else { (2 * n - 1).max(0) });
        }
        "JSON" => {
            r.kind = K::Json;
            r.jdbc_type = OTHER;
        }
        "GEOMETRY" | "POINT" | "LINESTRING" | "POLYGON" | "MULTIPOINT" | "MULTILINESTRING" | "MULTIPOLYGON"
        | "GEOMETRYCOLLECTION" | "GEOMCOLLECTION" => {
            r.kind = match base {
                "GEOMETRY" => K::Geometry,
                "POINT" => K::Point,
                "LINESTRING" => K::LineString,
                "POLYGON" => K::Polygon,
                "MULTIPOINT" => K::MultiPoint,
                "MULTILINESTRING" => K::MultiLineString,
                "MULTIPOLYGON" => K::MultiPolygon,
                _ => K::GeometryCollection,
            };
            r.jdbc_type = OTHER;
        }
        "UUID" => {
            r.kind = K::Uuid;
            r.jdbc_type = OTHER;
        }
        "INET4" => {
            r.kind = K::Inet4;
            r.jdbc_type = OTHER;
        }
        "INET6" => {
            r.kind = K::Inet6;
            r.jdbc_type = OTHER;
        }
        "VECTOR" => {
            r.kind = K::Vector;
            r.jdbc_type = OTHER;
            r.length = a0;
        }
        other => return Err(format!("unknown column type {other}")),
    }
    if r.unsigned && !r.serial {
        r.type_name.push_str(" UNSIGNED");
    }
    if r.serial {
        r.type_name.push_str(" UNSIGNED");
    }
    if spec.zerofill {
        r.type_name.push_str(" ZEROFILL");
    }
    Ok(r)
}

/// Is `word` (upper-cased) the first word of a type name this module knows? Used by the parser
/// to decide how many words belong to the type.
pub fn is_type_continuation(first: &str, next: &str) -> bool {
    matches!(
        (first, next),
        ("DOUBLE", "PRECISION")
            | ("CHARACTER", "VARYING")
            | ("CHAR", "VARYING")
            | ("NATIONAL", "CHAR")
            | ("NATIONAL", "CHARACTER")
            | ("NATIONAL", "VARCHAR")
            | ("NCHAR", "VARCHAR")
            | ("NCHAR", "VARYING")
            | ("LONG", "VARBINARY")
            | ("LONG", "VARCHAR")
    )
}
