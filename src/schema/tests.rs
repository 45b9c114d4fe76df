//! Golden tests: replay Debezium's recorded DDL history into a fresh [`Catalog`] and compare
//! (1) every `tableChanges` entry with the schema change events of `main.json.jsonl` and with
//! the history file `main.schema-history.jsonl`, and (2) every data record's key schema and
//! `before` schema with what `connect_schema` builds from the catalog as of the record's
//! `source.pos`. Comparison is on compact JSON text, so field order counts. The golden directory
//! is `$ORACLE_GOLDEN_DIR`, else `../shared/oracle/golden` next to the crate, else
//! `/work/shared/oracle/golden`.

use std::path::PathBuf;

use base64::Engine;
use serde_json::{json, Map, Value as Json};

use super::connect_schema::{key_schema, value_schema, SchemaOptions};
use super::ddl::{parse, AlterOp, DdlError, Statement};
use super::table_changes::{change_schema, history_json, table_change_value};
use super::{Catalog, ColumnKind, TableId};
use crate::connect::{Schema, SchemaType, Value};

fn golden_dir() -> PathBuf {
    let candidates = [
        std::env::var("ORACLE_GOLDEN_DIR").ok().map(PathBuf::from),
        Some(PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../shared/oracle/golden")),
        Some(PathBuf::from("/work/shared/oracle/golden")),
    ];
    candidates
        .into_iter()
        .flatten()
        .find(|p| p.join("main.json.jsonl").exists())
        .expect("oracle golden directory not found")
}

/// Runs whose schema history Debezium completed (mdbtypes_skip died mid-snapshot).
const RUNS: &[&str] = &["main", "txmeta", "heartbeat", "mdbtypes_exclude", "mdbtypes_excludeskip"];

fn read_jsonl(name: &str) -> Vec<Json> {
    let text = std::fs::read_to_string(golden_dir().join(name)).expect("golden file");
    text.lines().filter(|l| !l.trim().is_empty()).map(|l| serde_json::from_str(l).expect("json line")).collect()
}

/// A Connect schema in JsonConverter's layout (`field` last when given).
fn schema_json(schema: &Schema, field: Option<&str>) -> Json {
    let mut m = Map::new();
    m.insert("type".into(), json!(schema.ty.json_name()));
    match &schema.ty {
        SchemaType::Struct(fields) => {
            m.insert(
                "fields".into(),
                Json::Array(fields.iter().map(|f| schema_json(&f.schema, Some(&f.name))).collect()),
            );
        }
        SchemaType::Array(items) => {
            m.insert("items".into(), schema_json(items, None));
        }
        _ => {}
    }
    m.insert("optional".into(), json!(schema.optional));
    if let Some(n) = &schema.name {
        m.insert("name".into(), json!(n));
    }
    if let Some(v) = schema.version {
        m.insert("version".into(), json!(v));
    }
    if let Some(d) = &schema.doc {
        m.insert("doc".into(), json!(d));
    }
    if !schema.parameters.is_empty() {
        let p: Map<String, Json> = schema.parameters.iter().map(|(k, v)| (k.clone(), json!(v))).collect();
        m.insert("parameters".into(), Json::Object(p));
    }
    if let Some(d) = &schema.default {
        m.insert("default".into(), value_json(schema, d));
    }
    if let Some(f) = field {
        m.insert("field".into(), json!(f));
    }
    Json::Object(m)
}

/// A Connect value as JsonConverter writes it (bytes as base64).
fn value_json(schema: &Schema, v: &Value) -> Json {
    match (v, &schema.ty) {
        (Value::Null, _) => Json::Null,
        (Value::Boolean(b), _) => json!(b),
        (Value::Int(i), _) => json!(i),
        (Value::Float32(f), _) => json!(f64::from(*f)),
        (Value::Float64(f), _) => json!(f),
        (Value::String(s), _) => json!(s),
        (Value::Bytes(b), _) => json!(base64::engine::general_purpose::STANDARD.encode(b)),
        (Value::Array(items), SchemaType::Array(item)) => {
            Json::Array(items.iter().map(|x| value_json(item, x)).collect())
        }
        (Value::Struct(vals), SchemaType::Struct(fields)) => {
            Json::Object(fields.iter().zip(vals).map(|(f, x)| (f.name.clone(), value_json(&f.schema, x))).collect())
        }
        _ => panic!("value {v:?} does not fit schema {schema:?}"),
    }
}

fn compact(v: &Json) -> String {
    serde_json::to_string(v).unwrap()
}

/// Catalog states after each history record: (position.pos, catalog).
fn replay_history(run: &str) -> Vec<(i64, Catalog)> {
    let mut catalog = Catalog::new();
    let mut states = Vec::new();
    for rec in read_jsonl(&format!("{run}.schema-history.jsonl")) {
        let db = rec["databaseName"].as_str().unwrap();
        let ddl = rec["ddl"].as_str().unwrap();
        catalog.apply_ddl(db, ddl).unwrap_or_else(|e| panic!("{e}"));
        states.push((rec["position"]["pos"].as_i64().unwrap(), catalog.clone()));
    }
    states
}

#[test]
fn table_changes_match_schema_change_events_and_history() {
    assert_eq!(read_jsonl("main.schema-history.jsonl").len(), 28);
    for run in RUNS {
        check_table_changes(run);
    }
}

/// Replays a run's history file and, separately, its schema change events (they differ when
/// `store.only.captured.tables.ddl` is set), comparing each `tableChanges` with ours.
fn check_table_changes(run: &str) {
    let history = read_jsonl(&format!("{run}.schema-history.jsonl"));
    let mut catalog = Catalog::new();
    for rec in &history {
        let (db, ddl) = (rec["databaseName"].as_str().unwrap(), rec["ddl"].as_str().unwrap());
        let changes = catalog.apply_ddl(db, ddl).unwrap_or_else(|e| panic!("{e}"));
        let ours: Vec<Json> = changes.iter().map(history_json).collect();
        assert_eq!(compact(&json!(ours)), compact(&rec["tableChanges"]), "{run}: history tableChanges of {ddl}");
    }
    let change = change_schema();
    let mut catalog = Catalog::new();
    for event in read_jsonl(&format!("{run}.json.jsonl")).into_iter().filter(|r| r["topic"] == "dbserver1") {
        let payload = &event["value"]["payload"];
        let (db, ddl) = (payload["databaseName"].as_str().unwrap(), payload["ddl"].as_str().unwrap());
        let changes = catalog.apply_ddl(db, ddl).unwrap_or_else(|e| panic!("{e}"));
        let ours: Vec<Json> = changes.iter().map(|c| value_json(&change, &table_change_value(c))).collect();
        assert_eq!(compact(&json!(ours)), compact(&payload["tableChanges"]), "{run}: event tableChanges of {ddl}");
    }
}

#[test]
fn schema_change_event_schemas_match() {
    let events: Vec<Json> = read_jsonl("main.json.jsonl").into_iter().filter(|r| r["topic"] == "dbserver1").collect();
    let ev = &events[0];
    let key = super::table_changes::schema_change_key_schema();
    assert_eq!(compact(&schema_json(&key, None)), compact(&ev["key"]["schema"]));
    // The value schema: rebuild with the golden source schema's JSON spliced in.
    let golden = &ev["value"]["schema"];
    let source = Schema::new(SchemaType::Struct(vec![])).named("io.debezium.connector.mysql.Source").arc();
    let ours = schema_json(&super::table_changes::schema_change_value_schema(source), None);
    let mut ours_fields = ours["fields"].as_array().unwrap().clone();
    ours_fields[0] = golden["fields"][0].clone();
    let mut ours = ours.as_object().unwrap().clone();
    ours.insert("fields".into(), Json::Array(ours_fields));
    assert_eq!(compact(&Json::Object(ours)), compact(golden));
}

#[test]
fn data_record_schemas_match_catalog_at_their_position() {
    assert!(check_data_records("main") >= 90);
    for run in RUNS {
        assert!(check_data_records(run) > 0, "{run}");
    }
}

/// Checks every data record of a run; returns how many were checked.
fn check_data_records(run: &str) -> usize {
    let states = replay_history(run);
    let opts = SchemaOptions::default();
    let mut checked = 0;
    for rec in read_jsonl(&format!("{run}.json.jsonl")) {
        // Heartbeats, and TRUNCATE records (op `t`, null key) have no table schema to check.
        if rec["topic"].as_str().unwrap().starts_with("__debezium-heartbeat") || rec["key"].is_null() {
            continue;
        }
        let topic = rec["topic"].as_str().unwrap();
        if topic == "dbserver1" || rec["value"].is_null() {
            continue;
        }
        let parts: Vec<&str> = topic.splitn(3, '.').collect();
        let id = TableId::new(parts[1], parts[2]);
        let pos = rec["value"]["payload"]["source"]["pos"].as_i64().unwrap();
        let catalog = &states.iter().rev().find(|(p, _)| *p <= pos).expect("a catalog state").1;
        let table = catalog.table(&id).unwrap_or_else(|| panic!("{id} unknown at {pos}"));
        let key = key_schema("dbserver1", table, &opts).expect("key");
        assert_eq!(
            compact(&schema_json(&key, None)),
            compact(&rec["key"]["schema"]),
            "key of {topic} seq {}",
            rec["seq"]
        );
        let value = value_schema("dbserver1", table, &opts);
        let before = &rec["value"]["schema"]["fields"][0];
        assert_eq!(
            compact(&schema_json(&value, Some("before"))),
            compact(before),
            "value of {topic} seq {}",
            rec["seq"]
        );
        checked += 1;
    }
    checked
}

/// Every prefix of every golden DDL (and some MariaDB statements) parses or fails cleanly.
#[test]
fn no_panic_on_truncated_or_odd_input() {
    let mut stmts: Vec<String> =
        read_jsonl("main.schema-history.jsonl").iter().map(|r| r["ddl"].as_str().unwrap().to_string()).collect();
    stmts.extend(
        [
            "ALTER TABLE p ADD COLUMN IF NOT EXISTS (a INT, b VARCHAR(3) CHARSET latin1) , CHANGE COLUMN IF EXISTS x y INT FIRST",
            "CREATE TABLE t (a INT DEFAULT -'x', b DATETIME DEFAULT '99999-99-99', c TIME DEFAULT '99999999999999:00:00.1é')",
            "CREATE TABLE t (d DECIMAL(65,30) DEFAULT 123456789012345678901234567890123456789.5, e BIT(64) DEFAULT b'2')",
            "RENAME TABLE a TO , b",
            "ALTER TABLE `x`.",
            "/*!40101 CREATE TABLE z (a INT) */",
        ]
        .map(String::from),
    );
    let base = cat(&["CREATE TABLE p (x INT, PRIMARY KEY (x))"]);
    for sql in &stmts {
        for (i, _) in sql.char_indices() {
            let mut c = base.clone();
            if let Ok(changes) = c.apply_ddl("d", &sql[..i]) {
                for t in changes.iter().filter_map(|ch| ch.table.as_ref()) {
                    let _ = key_schema("p", t, &SchemaOptions::default());
                    let _ = value_schema("p", t, &SchemaOptions::default());
                }
            }
        }
    }
}

#[test]
fn mariadb_uuid_inet_tables_parse() {
    let show = "CREATE TABLE `mdb_types` (\n  `id` int(11) NOT NULL,\n  `c_uuid` uuid DEFAULT NULL,\n  `c_inet4` inet4 DEFAULT NULL,\n  `c_inet6` inet6 DEFAULT NULL,\n  PRIMARY KEY (`id`)\n) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_general_ci";
    let ddl = "CREATE TABLE mdb_types_ddl (\n  id INT NOT NULL PRIMARY KEY,\n  c_uuid UUID,\n  c_inet4 INET4,\n  c_inet6 INET6\n)";
    let mut catalog = Catalog::new();
    catalog.apply_ddl("extra", "CREATE DATABASE extra").unwrap();
    for sql in [show, ddl] {
        let changes = catalog.apply_ddl("extra", sql).unwrap();
        let t = changes[0].table.as_ref().unwrap();
        let kinds: Vec<ColumnKind> = t.columns.iter().map(|c| c.kind).collect();
        assert_eq!(kinds, vec![ColumnKind::Int, ColumnKind::Uuid, ColumnKind::Inet4, ColumnKind::Inet6]);
        let names: Vec<&str> = t.columns.iter().map(|c| c.type_name.as_str()).collect();
        assert_eq!(names, vec!["INT", "UUID", "INET4", "INET6"]);
        let v = schema_json(&value_schema("dbserver1", t, &SchemaOptions::default()), Some("after"));
        let f = &v["fields"];
        assert_eq!(
            compact(&f[1]),
            r#"{"type":"string","optional":true,"name":"io.debezium.data.Uuid","version":1,"field":"c_uuid"}"#
        );
        assert_eq!(compact(&f[2]), r#"{"type":"string","optional":true,"field":"c_inet4"}"#);
        assert_eq!(compact(&f[3]), r#"{"type":"string","optional":true,"field":"c_inet6"}"#);
        assert!(t.columns[1].charset.is_none());
    }
}

fn cat(stmts: &[&str]) -> Catalog {
    let mut c = Catalog::new();
    for s in stmts {
        c.apply_ddl("d", s).unwrap_or_else(|e| panic!("{e}"));
    }
    c
}

fn names(c: &Catalog, t: &str) -> Vec<String> {
    c.table(&TableId::new("d", t)).unwrap().columns.iter().map(|c| format!("{}{}", c.position, c.name)).collect()
}

#[test]
fn alter_table_clauses() {
    let c = cat(&[
        "CREATE DATABASE d CHARACTER SET latin1",
        "CREATE TABLE t (a INT, b VARCHAR(3), c INT)",
        "ALTER TABLE t ADD COLUMN x INT FIRST, ADD y INT AFTER a, DROP COLUMN c, CHANGE b bb TEXT CHARACTER SET utf8mb4, RENAME COLUMN a TO aa, ADD PRIMARY KEY (aa)",
    ]);
    assert_eq!(names(&c, "t"), ["1x", "2aa", "3y", "4bb"]);
    let t = c.table(&TableId::new("d", "t")).unwrap();
    assert_eq!(t.primary_key, ["aa"]);
    assert!(!t.column("aa").unwrap().optional);
    assert_eq!(t.default_charset.as_deref(), Some("latin1"));
    assert_eq!(t.column("bb").unwrap().charset.as_deref(), Some("utf8mb4"));
    let c = cat(&[
        "CREATE TABLE t (a INT PRIMARY KEY, b CHAR(2))",
        "ALTER ONLINE TABLE t ADD COLUMN IF NOT EXISTS a INT, ADD COLUMN IF NOT EXISTS c INT, ENGINE=InnoDB, ALGORITHM=INPLACE",
        "ALTER TABLE t ADD (d INT, e INT), DROP COLUMN IF EXISTS zz, MODIFY b CHAR(4) NOT NULL DEFAULT 'x' AFTER e",
        "ALTER TABLE t CONVERT TO CHARACTER SET latin1 COLLATE latin1_swedish_ci",
        "ALTER TABLE t DROP PRIMARY KEY, RENAME TO t2",
    ]);
    assert!(c.table(&TableId::new("d", "t")).is_none());
    assert_eq!(names(&c, "t2"), ["1a", "2c", "3d", "4e", "5b"]);
    let t2 = c.table(&TableId::new("d", "t2")).unwrap();
    assert!(t2.primary_key.is_empty());
    assert_eq!(t2.column("b").unwrap().charset.as_deref(), Some("latin1"));
    assert_eq!(t2.column("b").unwrap().default_expression.as_deref(), Some("x"));
}

#[test]
fn mariadb_syntax_and_other_statements() {
    let mut c = cat(&[
        "CREATE TABLE p (a INT NOT NULL, b INT AS (a+1) PERSISTENT, v VARCHAR(10) COMPRESSED CHARSET latin1, w VARCHAR(3) BINARY, PRIMARY KEY (a)) ENGINE=InnoDB PARTITION BY HASH(a) PARTITIONS 4",
        "CREATE TABLE sv (a INT) WITH SYSTEM VERSIONING",
        "CREATE TABLE IF NOT EXISTS d.l LIKE p",
        "CREATE TABLE l2 (LIKE p)",
        "RENAME TABLE l TO l3, l2 TO other.l4",
        "DROP TABLE IF EXISTS sv, nothere",
        "TRUNCATE TABLE p",
    ]);
    let p = c.table(&TableId::new("d", "p")).unwrap().clone();
    // `generated` is Debezium's "value assigned by the server" (AUTO_INCREMENT): a GENERATED/
    // PERSISTENT column shows false (oracle run `shapes`).
    assert!(!p.column("b").unwrap().generated);
    assert_eq!(p.column("v").unwrap().charset.as_deref(), Some("latin1"));
    assert_eq!(c.table(&TableId::new("d", "l3")).unwrap().columns, p.columns);
    assert!(c.table(&TableId::new("other", "l4")).is_some());
    assert!(c.table(&TableId::new("d", "sv")).is_none());
    for ignored in [
        "GRANT ALL ON *.* TO 'u'@'%'",
        "CREATE USER 'u'@'%' IDENTIFIED BY 'x'",
        "XA START 'x'",
        "BEGIN",
        "FLUSH TABLES",
        "CREATE TRIGGER tr BEFORE INSERT ON p FOR EACH ROW SET NEW.a = 1",
        "CREATE OR REPLACE VIEW v AS SELECT 1",
        "ALTER DATABASE d CHARACTER SET utf8mb4",
        "ANALYZE TABLE p",
        "SET NAMES utf8mb4",
        "DROP INDEX i ON p",
    ] {
        assert_eq!(c.apply_ddl("d", ignored).unwrap(), vec![], "{ignored}");
    }
    assert_eq!(c.database_charset("d"), "utf8mb4");
    let err = c.apply_ddl("d", "ALTER TABLE missing ADD c INT").unwrap_err();
    assert!(matches!(err, DdlError::UnknownTable { .. }));
    let err = c.apply_ddl("d", "CREATE TABLE bad (a FOOTYPE)").unwrap_err();
    assert!(matches!(&err, DdlError::Parse { statement, .. } if statement.contains("FOOTYPE")), "{err}");
    assert!(c.apply_ddl("d", "CREATE TABLE x (a INT DEFAULT 'unterminated)").is_err());
    assert!(
        matches!(parse("d", "USE e; CREATE TABLE t (a INT)").unwrap()[1], Statement::CreateTable(ref ct) if ct.id == TableId::new("e", "t"))
    );
    let ops = match &parse("d", "ALTER TABLE t ALTER COLUMN a SET DEFAULT 5").unwrap()[0] {
        Statement::AlterTable { ops, .. } => ops.clone(),
        other => panic!("{other:?}"),
    };
    assert_eq!(ops, vec![AlterOp::SetDefault { column: "a".into(), default: Some("5".into()) }]);
}

#[test]
fn defaults_render_like_debezium() {
    let c = cat(&[
        "CREATE TABLE t (id INT PRIMARY KEY, d DECIMAL(5,2) NOT NULL DEFAULT -1.5, dt DATETIME NOT NULL DEFAULT '2020-01-02 03:04:05', ts TIMESTAMP NOT NULL DEFAULT current_timestamp() ON UPDATE current_timestamp(), e ENUM('a','b') NOT NULL DEFAULT 'b', dd DATE DEFAULT '1970-01-02', b BIT(1) DEFAULT b'1')",
    ]);
    let t = c.table(&TableId::new("d", "t")).unwrap();
    let v = schema_json(&value_schema("p", t, &SchemaOptions::default()), None);
    let defaults: Vec<Json> =
        v["fields"].as_array().unwrap().iter().map(|f| f.get("default").cloned().unwrap_or(Json::Null)).collect();
    // -1.50 unscaled = -150 = 0xff6a.
    assert_eq!(compact(&json!(defaults)), r#"[null,"/2o=",1577934245000,"1970-01-01T00:00:00Z","b",1,true]"#);
}

/// Debezium's keys for tables without a primary key (oracle run `shapes`): the first unique index
/// whose columns are all NOT NULL, in CREATE TABLE, `ALTER … ADD UNIQUE` and `CREATE UNIQUE
/// INDEX`; nullable unique indexes give no key; a primary key added later replaces it; dropping
/// the index keeps it.
#[test]
fn unique_indexes_key_tables_without_a_primary_key() {
    let c = cat(&[
        "CREATE TABLE u (a INT NOT NULL, b INT NOT NULL, c INT, d INT NOT NULL, UNIQUE KEY u_c (c), UNIQUE KEY u_ab (a, b), UNIQUE KEY u_d (d))",
        "CREATE TABLE n (code VARCHAR(8), UNIQUE KEY uk (code))",
        "CREATE TABLE k (x INT NOT NULL, y INT, CONSTRAINT kx UNIQUE (x))",
        "CREATE TABLE later (a INT, b INT)",
        "ALTER TABLE later MODIFY a INT NOT NULL, ADD UNIQUE KEY ua (a)",
        "CREATE TABLE idx (x INT NOT NULL, y INT)",
        "CREATE UNIQUE INDEX ux ON idx (x)",
        "ALTER TABLE idx ADD INDEX iy (y), DROP INDEX ux",
        "CREATE TABLE pk (x INT NOT NULL, id INT NOT NULL, UNIQUE KEY ux (x))",
        "ALTER TABLE pk ADD PRIMARY KEY (id)",
        "CREATE TABLE has_pk (id INT PRIMARY KEY, x INT NOT NULL)",
        "CREATE UNIQUE INDEX ux ON has_pk (x)",
    ]);
    let key = |t: &str| c.table(&TableId::new("d", t)).unwrap().primary_key.clone();
    assert_eq!(key("u"), ["a", "b"]);
    assert!(key("n").is_empty());
    assert_eq!(key("k"), ["x"]);
    assert_eq!(key("later"), ["a"]);
    assert_eq!(key("idx"), ["x"]);
    assert_eq!(key("pk"), ["id"]);
    assert_eq!(key("has_pk"), ["id"]);
    let stmts = crate::schema::ddl::parse("d", "DROP INDEX ix ON t").unwrap();
    assert_eq!(stmts, vec![crate::schema::ddl::Statement::Index { id: TableId::new("d", "t"), unique: None }]);
}
