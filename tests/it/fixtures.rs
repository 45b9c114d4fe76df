//! Binlog decoding against recorded outputs, no server needed.
//!
//! * `fixtures_*`: every real binlog file of `shared/fixtures/binlogs/` (listed in its MANIFEST.md) is
//!   decoded with `cdc_connector::inspect` (library and, once, the binary) and compared with the file's
//!   `.expected.json`: per-table inserted/updated/deleted counts, the list of rows events (position,
//!   table, kind, row count) and every sampled row value.
//! * `oracle_stream_*`: `tests/data/mariadb-10.11-oracle-stream.binlog` is the binlog a private MariaDB
//!   10.11 wrote for the oracle workload (`shared/oracle/sql/00-setup.sql`, `RESET MASTER`,
//!   `10-seed.sql`, `20-stream.sql`; same server options as the oracle, it ends at the same position
//!   39000). Its `types.all_types` / `types.all_types_ddl` rows are decoded with `decode::decode_row_image`
//!   and compared field by field with Debezium's records for the same positions, kept in
//!   `tests/data/oracle-main-all_types.golden.jsonl` (the `before`/`after`/`op`/`source.pos`/`row` of
//!   `shared/oracle/golden/main.json.jsonl` seq 100-108 and 120-125).
//!
//! Value forms of `.expected.json` (written by mysql-binlog-connector-java / python-mysql-replication)
//! that `inspect` writes differently, normalised in `value_matches`:
//! * integers: the expected files always show the stored bits read as signed; `inspect` prints unsigned
//!   numbers where the table map's optional metadata marks a column UNSIGNED
//!   (`mysql-8.0.40_minimal-row-metadata.000001` column 4: expected -1064764973, we print 3230202323).
//! * strings/blobs: expected `{"utf8","hex","len"}`; we print text when the bytes are valid UTF-8 and the
//!   column is not of the binary charset, else base64 (`mariadb-10.5.15…` BLOB column `event`,
//!   `mysql-8.0.26_bit` BLOB `b`, `mysql-9.0.1_vector` BLOB `foo`): compared as text or as decoded bytes.
//! * BIT `{"bit": "<decimal>"}`, ENUM `{"enum_index"}`, SET `{"set_bits"}`: we print the plain number.
//! * DECIMAL `{"decimal"}`, DATE/DATETIME/TIMESTAMP/TIME `{"date"|"datetime"|"timestamp_utc"|"time"}`:
//!   we print the same text unwrapped.
//! * JSON `{"json": <parsed>}`: we print JSON text (Debezium's compact rendering); parsed and compared
//!   as JSON values (`mysql-9.0.1_json-opaque`: `{"e":9.00}` — an opaque DECIMAL(3,2) — equals 9.0).
//! * VECTOR `{"vector_f32": [...]}`: we print the array of numbers (float32 widened to double).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use base64::Engine as _;
use cdc_connector::connect::Value;
use cdc_connector::decode::{decode_row_image, DecodeError};
use cdc_connector::inspect::{for_each_rows_event, inspect_file, ReadOptions, RowChange, RowsKind};
use cdc_connector::schema::{Column, ColumnKind, Table, TableId};
use serde_json::Value as Json;

fn fixtures_dir() -> PathBuf {
    std::env::var_os("CDC_FIXTURES_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../shared/fixtures/binlogs"))
}

fn data_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data")
}

/// Binlog file names listed in MANIFEST.md's table.
fn manifest_files() -> Vec<String> {
    let text = std::fs::read_to_string(fixtures_dir().join("MANIFEST.md")).expect("MANIFEST.md");
    let mut files: Vec<String> =
        text.lines().filter(|l| l.starts_with("| `")).filter_map(|l| l.split('`').nth(1).map(str::to_owned)).collect();
    files.dedup();
    files
}

fn b64(s: &str) -> Option<Vec<u8>> {
    base64::engine::general_purpose::STANDARD.decode(s).ok()
}

fn hex(s: &str) -> Vec<u8> {
    (0..s.len() / 2).map(|i| u8::from_str_radix(&s[2 * i..2 * i + 2], 16).unwrap()).collect()
}

fn int_width(type_name: &str) -> u32 {
    match type_name {
        "TINY" => 8,
        "SHORT" => 16,
        "INT24" => 24,
        "LONG" => 32,
        _ => 64,
    }
}

/// Whether our plain JSON value `mine` is the expected value `exp` (see the module docs).
fn value_matches(mine: &Json, exp: &Json, type_name: &str) -> Result<(), String> {
    let fail = || Err(format!("{type_name}: got {mine}, expected {exp}"));
    match exp {
        Json::Null => {
            if mine.is_null() {
                Ok(())
            } else {
                fail()
            }
        }
        Json::Number(n) => {
            if let (Some(e), Some(m)) = (n.as_i64(), mine.as_i64()) {
                if e == m {
                    return Ok(());
                }
            }
            if let (Some(e), Some(m)) = (n.as_i64().filter(|e| *e < 0), mine.as_u64()) {
                // expected shows the bits as signed, we print the UNSIGNED value
                let w = int_width(type_name);
                let wrapped = if w == 64 { e as u64 } else { (e as i128).rem_euclid(1i128 << w) as u64 };
                return if wrapped == m { Ok(()) } else { fail() };
            }
            match (n.as_f64(), mine.as_f64()) {
                (Some(e), Some(m)) if e == m => Ok(()),
                _ => fail(),
            }
        }
        Json::Object(o) => {
            if let Some(s) = ["decimal", "date", "datetime", "timestamp_utc", "time"].iter().find_map(|k| o.get(*k)) {
                return if mine == s { Ok(()) } else { fail() };
            }
            if let Some(v) = ["bit", "enum_index", "set_bits"].iter().find_map(|k| o.get(*k)) {
                let want: u64 = match v {
                    Json::String(s) => s.parse().map_err(|_| format!("bad expected {v}"))?,
                    other => other.as_u64().ok_or_else(|| format!("bad expected {other}"))?,
                };
                return if mine.as_u64() == Some(want) { Ok(()) } else { fail() };
            }
            if let Some(j) = o.get("json") {
                let parsed: Json = mine
                    .as_str()
                    .and_then(|s| serde_json::from_str(s).ok())
                    .ok_or_else(|| format!("JSON column printed as {mine}, not JSON text"))?;
                return if json_eq(&parsed, j) { Ok(()) } else { fail() };
            }
            if let Some(v) = o.get("vector_f32") {
                return if json_eq(mine, v) { Ok(()) } else { fail() };
            }
            if let Some(len) = o.get("len").and_then(Json::as_u64) {
                let Some(s) = mine.as_str() else {
                    return fail();
                };
                let as_text = o.get("utf8").and_then(Json::as_str) == Some(s);
                let as_bytes = match (o.get("hex").and_then(Json::as_str), b64(s)) {
                    (Some(h), Some(bytes)) => bytes == hex(h),
                    _ => false,
                };
                let len_ok = if as_text { s.len() as u64 == len } else { as_bytes };
                return if (as_text || as_bytes) && len_ok { Ok(()) } else { fail() };
            }
            Err(format!("unknown expected value form {exp}"))
        }
        _ => {
            if mine == exp {
                Ok(())
            } else {
                fail()
            }
        }
    }
}

/// JSON equality with numbers compared as f64 (9.00 == 9.0).
fn json_eq(a: &Json, b: &Json) -> bool {
    match (a, b) {
        (Json::Number(x), Json::Number(y)) => x.as_f64() == y.as_f64(),
        (Json::Array(x), Json::Array(y)) => x.len() == y.len() && x.iter().zip(y).all(|(p, q)| json_eq(p, q)),
        (Json::Object(x), Json::Object(y)) => {
            x.len() == y.len() && x.iter().all(|(k, v)| y.get(k).is_some_and(|w| json_eq(v, w)))
        }
        _ => a == b,
    }
}

fn kind_of(type_name: &str) -> RowsKind {
    if type_name.contains("WRITE") {
        RowsKind::Insert
    } else if type_name.contains("UPDATE") {
        RowsKind::Update
    } else {
        RowsKind::Delete
    }
}

/// Compares one file's decoded rows with its `.expected.json`; returns the number of values compared.
fn check_file(name: &str, rows: &[RowChange], counts: &BTreeMap<String, [u64; 3]>) -> Result<usize, String> {
    let exp_path = fixtures_dir().join(format!("{name}.expected.json"));
    let exp: Json = serde_json::from_str(&std::fs::read_to_string(&exp_path).map_err(|e| e.to_string())?)
        .map_err(|e| e.to_string())?;

    // rows_per_table
    let mut want = BTreeMap::new();
    for (t, c) in exp["rows_per_table"].as_object().ok_or("rows_per_table")? {
        let n = |k: &str| c[k].as_u64().unwrap_or(u64::MAX);
        want.insert(t.clone(), [n("inserted"), n("updated"), n("deleted")]);
    }
    if &want != counts {
        return Err(format!("rows_per_table: got {counts:?}, expected {want:?}"));
    }

    // the rows events: (pos, table, kind, row count), in file order
    let mut events: Vec<(u64, String, RowsKind, Vec<&RowChange>)> = Vec::new();
    let mut last_index = usize::MAX;
    for r in rows {
        if r.event_index != last_index {
            events.push((r.pos, r.table.clone(), r.kind, Vec::new()));
            last_index = r.event_index;
        }
        events.last_mut().unwrap().3.push(r);
    }
    let index = exp["row_event_index"].as_array().ok_or("row_event_index")?;
    let got_index: Vec<_> = events.iter().map(|e| (e.0, e.1.clone(), e.2, e.3.len())).collect();
    let want_index: Vec<_> = index
        .iter()
        .map(|e| {
            let t = e["type"].as_str().unwrap_or("");
            (
                e["pos"].as_u64().unwrap_or(0),
                e["table"].as_str().unwrap_or("").to_owned(),
                kind_of(t),
                e["row_count"].as_u64().unwrap_or(0) as usize,
            )
        })
        .collect();
    if got_index != want_index {
        return Err(format!("rows events: got {got_index:?}, expected {want_index:?}"));
    }

    // sampled values
    let mut compared = 0;
    let mut cursor = 0;
    for s in exp["sample_row_events"].as_array().ok_or("sample_row_events")? {
        let (pos, table) = (s["pos"].as_u64().unwrap_or(0), s["table"].as_str().unwrap_or(""));
        let kind = kind_of(s["type"].as_str().unwrap_or(""));
        let ev = (cursor..events.len())
            .find(|i| events[*i].0 == pos && events[*i].1 == table && events[*i].2 == kind)
            .ok_or_else(|| format!("sample event @{pos} {table} not decoded"))?;
        cursor = ev + 1;
        let types: Vec<String> = exp["tables"][table]["column_type_names"]
            .as_array()
            .ok_or("column_type_names")?
            .iter()
            .map(|t| t.as_str().unwrap_or("").to_owned())
            .collect();
        let included: Vec<usize> = s["included_columns"]
            .as_array()
            .ok_or("included_columns")?
            .iter()
            .map(|c| c.as_u64().unwrap_or(0) as usize)
            .collect();
        let exp_rows = s["rows"].as_array().ok_or("rows")?;
        let mine = &events[ev].3;
        if s["rows_truncated"] != Json::Bool(true) && exp_rows.len() != mine.len() {
            return Err(format!("@{pos}: {} rows, expected {}", mine.len(), exp_rows.len()));
        }
        for (ri, (er, mr)) in exp_rows.iter().zip(mine.iter()).enumerate() {
            let pairs: Vec<(&Json, &Option<Vec<Json>>)> = match kind {
                RowsKind::Insert => vec![(er, &mr.after)],
                RowsKind::Delete => vec![(er, &mr.before)],
                RowsKind::Update => vec![(&er["before"], &mr.before), (&er["after"], &mr.after)],
            };
            for (evals, mvals) in pairs {
                let evals = evals.as_array().ok_or_else(|| format!("@{pos} row {ri}: expected image missing"))?;
                let mvals = mvals.as_ref().ok_or_else(|| format!("@{pos} row {ri}: image missing"))?;
                if mvals.len() != types.len() || evals.len() != included.len() {
                    return Err(format!("@{pos} row {ri}: {} values for {} columns", mvals.len(), types.len()));
                }
                for (c, ev) in included.iter().zip(evals) {
                    value_matches(&mvals[*c], ev, &types[*c]).map_err(|e| format!("@{pos} row {ri} col {c}: {e}"))?;
                    compared += 1;
                }
                for c in (0..types.len()).filter(|c| !included.contains(c)) {
                    if !mvals[c].is_null() || !mr.absent_columns.contains(&c) {
                        return Err(format!("@{pos} row {ri}: absent column {c} not reported as absent"));
                    }
                }
            }
        }
    }
    Ok(compared)
}

#[test]
fn fixtures_all_binlogs_match_expected() {
    let files = manifest_files();
    assert_eq!(files.len(), 19, "MANIFEST.md lists 19 binlog files: {files:?}");
    let mut failures = Vec::new();
    let mut total_values = 0;
    for name in &files {
        let path = fixtures_dir().join(name);
        let mut rows = Vec::new();
        let res = inspect_file(&path, &ReadOptions::default(), |r| {
            rows.push(r);
            Ok(())
        });
        match res {
            Err(e) => failures.push(format!("{name}: {e}")),
            Ok(counts) => match check_file(name, &rows, &counts) {
                Ok(n) => total_values += n,
                Err(e) => failures.push(format!("{name}: {e}")),
            },
        }
    }
    assert!(failures.is_empty(), "{} of {} files differ:\n{}", failures.len(), files.len(), failures.join("\n"));
    assert!(total_values > 300, "only {total_values} values compared");
}

#[test]
fn fixtures_binary_prints_the_library_rows() {
    let name = "mysql-8.0.28_compressed-update.mysql-bin.compressed";
    let path = fixtures_dir().join(name);
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_cdc-connector"))
        .arg("inspect")
        .arg(&path)
        .arg(fixtures_dir().join("mysql-8.0.40_minimal-row-metadata.000001"))
        .output()
        .expect("run cdc-connector");
    assert!(out.status.success(), "stderr: {}", String::from_utf8_lossy(&out.stderr));
    let mut want = Vec::new();
    for f in [name, "mysql-8.0.40_minimal-row-metadata.000001"] {
        inspect_file(&fixtures_dir().join(f), &ReadOptions::default(), |r| {
            want.push(r.to_json());
            Ok(())
        })
        .unwrap();
    }
    let got: Vec<Json> =
        String::from_utf8(out.stdout).unwrap().lines().map(|l| serde_json::from_str(l).expect("JSON line")).collect();
    assert_eq!(got, want);
    assert_eq!(got.len(), 2);
    assert_eq!(got[0]["op"], "u");
    assert_eq!(got[0]["pos"], 236);
    assert_eq!(got[1]["absent_columns"], serde_json::json!([1, 3]));
}

#[test]
fn fixtures_truncated_file_is_an_error_not_a_panic() {
    let src = std::fs::read(fixtures_dir().join("mysql-8.0.32_compressed-insert.000001")).unwrap();
    let dir = tempfile::tempdir().unwrap();
    // every truncation point: inside the magic, inside headers, inside bodies
    for cut in [2usize, 10, 30, 150, 300, src.len() - 1] {
        let p = dir.path().join(format!("cut{cut}"));
        std::fs::write(&p, &src[..cut]).unwrap();
        let err = inspect_file(&p, &ReadOptions::default(), |_| Ok(())).unwrap_err().to_string();
        assert!(err.contains(&p.display().to_string()), "{err}");
    }
    // the binary exits non-zero with file:pos
    let p = dir.path().join("cut300");
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_cdc-connector")).arg("inspect").arg(&p).output().unwrap();
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains(&format!("{}:", p.display())) && stderr.contains("truncated"), "{stderr}");
    // a corrupted byte fails the CRC32
    let mut bad = src.clone();
    bad[200] ^= 0xFF;
    let p = dir.path().join("corrupt");
    std::fs::write(&p, &bad).unwrap();
    let err = inspect_file(&p, &ReadOptions::default(), |_| Ok(())).unwrap_err().to_string();
    assert!(err.contains("checksum mismatch") || err.contains(&p.display().to_string()), "{err}");
}

#[test]
fn fixtures_payload_limit_is_enforced() {
    let p = fixtures_dir().join("mysql-8.0.28_compressed-update.mysql-bin.compressed");
    let err = inspect_file(&p, &ReadOptions { max_payload_bytes: 500 }, |_| Ok(())).unwrap_err().to_string();
    assert!(err.contains(":236:") && err.contains("limit of 500 bytes"), "{err}");
}

// ---------------------------------------------------------------- Part B: decode vs the oracle

fn col(name: &str, kind: ColumnKind) -> Column {
    Column {
        name: name.into(),
        position: 0,
        kind,
        type_name: String::new(),
        type_expression: String::new(),
        jdbc_type: 0,
        length: None,
        scale: None,
        unsigned: false,
        charset: None,
        optional: true,
        auto_increment: false,
        generated: false,
        comment: None,
        default_expression: None,
        enum_values: Vec::new(),
    }
}

/// `types.all_types` as in `10-seed.sql` (`ddl` = true: the `all_types_ddl` variant whose schema came
/// from the DDL text, where BOOLEAN is boolean and JSON is `io.debezium.data.Json`).
fn all_types_table(ddl: bool) -> Table {
    use ColumnKind as K;
    let u = |mut c: Column| {
        c.unsigned = true;
        c
    };
    let len = |mut c: Column, n: i32| {
        c.length = Some(n);
        c
    };
    let dec = |name: &str, p: i32, s: i32| {
        let mut c = col(name, K::Decimal);
        c.length = Some(p);
        c.scale = Some(s);
        c
    };
    let text = |name: &str, k: ColumnKind, cs: &str| {
        let mut c = col(name, k);
        c.charset = Some(cs.into());
        c
    };
    let labels = |name: &str, k: ColumnKind, l: &[&str]| {
        let mut c = text(name, k, "utf8mb4");
        c.enum_values = l.iter().map(|s| s.to_string()).collect();
        c
    };
    let mut id = col("id", K::Int);
    id.optional = false;
    let mut columns = vec![
        id,
        col("c_tinyint", K::TinyInt),
        u(col("c_tinyint_u", K::TinyInt)),
        col("c_smallint", K::SmallInt),
        u(col("c_smallint_u", K::SmallInt)),
        col("c_mediumint", K::MediumInt),
        u(col("c_mediumint_u", K::MediumInt)),
        col("c_int", K::Int),
        u(col("c_int_u", K::Int)),
        col("c_bigint", K::BigInt),
        u(col("c_bigint_u", K::BigInt)),
        len(col("c_bit1", K::Bit), 1),
        len(col("c_bit17", K::Bit), 17),
        len(col("c_bit64", K::Bit), 64),
        if ddl { col("c_bool", K::Bool) } else { len(col("c_bool", K::TinyInt), 1) },
        dec("c_dec10_2", 10, 2),
        dec("c_dec30_10", 30, 10),
        dec("c_dec65_30", 65, 30),
        col("c_float", K::Float),
        col("c_double", K::Double),
        col("c_date", K::Date),
        col("c_time", K::Time),
        len(col("c_time6", K::Time), 6),
        col("c_datetime", K::DateTime),
        len(col("c_datetime3", K::DateTime), 3),
        len(col("c_datetime6", K::DateTime), 6),
        col("c_timestamp", K::Timestamp),
        len(col("c_timestamp6", K::Timestamp), 6),
        len(col("c_year", K::Year), 4),
        len(text("c_char", K::Char, "utf8mb4"), 10),
        len(text("c_varchar", K::VarChar, "utf8mb4"), 255),
        len(text("c_varchar_latin1", K::VarChar, "latin1"), 255),
        len(col("c_binary", K::Binary), 4),
        len(col("c_varbinary", K::VarBinary), 16),
        col("c_tinyblob", K::TinyBlob),
        col("c_blob", K::Blob),
        col("c_mediumblob", K::MediumBlob),
        col("c_longblob", K::LongBlob),
        text("c_tinytext", K::TinyText, "utf8mb4"),
        text("c_text", K::Text, "utf8mb4"),
        text("c_mediumtext", K::MediumText, "utf8mb4"),
        text("c_longtext", K::LongText, "utf8mb4"),
        labels("c_enum", K::Enum, &["small", "medium", "large"]),
        labels("c_set", K::Set, &["a", "b", "c", "d"]),
        text("c_json", if ddl { K::Json } else { K::LongText }, "utf8mb4"),
        col("c_geometry", K::Geometry),
        col("c_point", K::Point),
        col("c_linestring", K::LineString),
        col("c_polygon", K::Polygon),
    ];
    for (i, c) in columns.iter_mut().enumerate() {
        c.position = i as u32 + 1;
    }
    Table {
        id: TableId::new("types", if ddl { "all_types_ddl" } else { "all_types" }),
        columns,
        primary_key: vec!["id".into()],
        default_charset: Some("utf8mb4".into()),
        comment: None,
    }
}

/// Our value against JsonConverter's JSON of Debezium's value.
fn connect_matches(mine: &Value, golden: &Json) -> bool {
    match (mine, golden) {
        (Value::Null, Json::Null) => true,
        (Value::Boolean(a), Json::Bool(b)) => a == b,
        (Value::Int(a), g) => g.as_i64() == Some(*a),
        (Value::Float32(a), g) => g.as_f64().map(|g| g as f32) == Some(*a),
        (Value::Float64(a), g) => g.as_f64() == Some(*a),
        (Value::String(a), Json::String(b)) => a == b,
        (Value::Bytes(a), Json::String(b)) => b64(b).as_deref() == Some(a.as_slice()),
        (Value::Struct(fs), Json::Object(o)) => {
            fs.len() == o.len() && fs.iter().zip(o.values()).all(|(f, g)| connect_matches(f, g))
        }
        (Value::Array(xs), Json::Array(gs)) => {
            xs.len() == gs.len() && xs.iter().zip(gs).all(|(x, g)| connect_matches(x, g))
        }
        _ => false,
    }
}

type Decoded = BTreeMap<(String, u64, usize), (RowsKind, Option<Vec<Value>>, Option<Vec<Value>>)>;

fn decode_oracle_binlog() -> Result<Decoded, String> {
    let tables = [all_types_table(false), all_types_table(true)];
    let mut out = Decoded::new();
    let path = data_dir().join("mariadb-10.11-oracle-stream.binlog");
    for_each_rows_event(&path, &ReadOptions::default(), |ev| {
        let name = format!("{}.{}", ev.table_map.database_name(), ev.table_map.table_name());
        let Some(table) = tables.iter().find(|t| t.id.to_string() == name) else {
            return Ok(());
        };
        let before_bits: Option<Vec<bool>> = ev.rows.columns_before_image().map(|b| b.iter().map(|x| *x).collect());
        let after_bits: Option<Vec<bool>> = ev.rows.columns_after_image().map(|b| b.iter().map(|x| *x).collect());
        let mut buf = Vec::new();
        for (i, row) in ev.rows.rows(ev.table_map).enumerate() {
            let (b, a) = row?;
            let mut img = |r: Option<_>, bits: &Option<Vec<bool>>| -> Result<Option<Vec<Value>>, DecodeError> {
                match r {
                    None => Ok(None),
                    Some(r) => {
                        decode_row_image(table, &r, bits.as_deref(), &mut buf)?;
                        Ok(Some(buf.clone()))
                    }
                }
            };
            let before = img(b, &before_bits)?;
            let after = img(a, &after_bits)?;
            out.insert((name.clone(), ev.pos, i), (ev.kind, before, after));
        }
        Ok(())
    })
    .map_err(|e| e.to_string())?;
    Ok(out)
}

#[test]
fn fixtures_oracle_stream_all_types_match_debezium() {
    let decoded = decode_oracle_binlog().unwrap();
    let golden = std::fs::read_to_string(data_dir().join("oracle-main-all_types.golden.jsonl")).unwrap();
    let golden: Vec<Json> = golden.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    assert_eq!(golden.len(), 15);
    // the binlog also holds the seed inserts (ids 1-6, loaded before the oracle's snapshot): they decode
    // to the same values as their stream copies 101-106 (`INSERT … SELECT id + 100, …`)
    let by_id = |table: &str, id: i64| {
        decoded
            .iter()
            .filter(|((t, ..), (k, ..))| t == table && *k == RowsKind::Insert)
            .map(|(_, (_, _, a))| a.as_ref().unwrap())
            .find(|a| a[0] == Value::Int(id))
            .unwrap_or_else(|| panic!("{table} id {id} not decoded"))
            .clone()
    };
    for id in 1..=6 {
        let (seed, stream) = (by_id("types.all_types", id), by_id("types.all_types", id + 100));
        assert_eq!(seed[1..], stream[1..], "seed row {id} vs stream row {}", id + 100);
    }
    assert_eq!(decoded.len(), 6 + 15, "decoded rows: {:?}", decoded.keys().collect::<Vec<_>>());
    let mut mismatches = Vec::new();
    let mut compared = 0;
    for g in &golden {
        let key =
            (g["table"].as_str().unwrap().to_owned(), g["pos"].as_u64().unwrap(), g["row"].as_u64().unwrap() as usize);
        let Some((kind, before, after)) = decoded.get(&key) else {
            mismatches.push(format!("seq {}: no decoded row at {key:?}", g["seq"]));
            continue;
        };
        assert_eq!(kind.op(), g["op"].as_str().unwrap(), "seq {}", g["seq"]);
        for (label, mine, gold) in [("before", before, &g["before"]), ("after", after, &g["after"])] {
            match (mine, gold) {
                (None, Json::Null) => {}
                (Some(vals), Json::Object(fields)) => {
                    assert_eq!(vals.len(), fields.len(), "seq {} {label}: column count", g["seq"]);
                    for (v, (name, gv)) in vals.iter().zip(fields) {
                        compared += 1;
                        if !connect_matches(v, gv) {
                            mismatches.push(format!("seq {} {label}.{name}: ours {v:?}, Debezium {gv}", g["seq"]));
                        }
                    }
                }
                _ => mismatches.push(format!("seq {} {label}: ours {mine:?}, Debezium {gold}", g["seq"])),
            }
        }
    }
    assert!(mismatches.is_empty(), "{} mismatches:\n{}", mismatches.len(), mismatches.join("\n"));
    assert_eq!(compared, 49 * (6 + 2 * 2 + 1) + 49 * 6);
}

#[test]
fn fixtures_decode_errors_name_the_column() {
    // a schema that disagrees with the binlog (c_tinyint declared as DATE) must fail, naming the column
    let mut table = all_types_table(false);
    table.columns[1].kind = ColumnKind::Date;
    let path = data_dir().join("mariadb-10.11-oracle-stream.binlog");
    let mut errors = Vec::new();
    for_each_rows_event(&path, &ReadOptions::default(), |ev| {
        if ev.table_map.table_name() != "all_types" {
            return Ok(());
        }
        let mut buf = Vec::new();
        for row in ev.rows.rows(ev.table_map) {
            let (b, a) = row?;
            for r in [b, a].into_iter().flatten() {
                if let Err(e) = cdc_connector::decode::decode_row(&table, &r, &mut buf) {
                    errors.push(e.to_string());
                }
            }
        }
        Ok(())
    })
    .unwrap();
    assert!(!errors.is_empty());
    assert!(errors[0].contains("`c_tinyint`") && errors[0].contains("Date"), "{}", errors[0]);
}

#[test]
fn fixtures_corrupted_and_truncated_files_never_panic() {
    // binlog_checksum=NONE, so corrupted bytes reach the parsers instead of failing the CRC
    let src = std::fs::read(fixtures_dir().join("mysql-5.7.20_checksum-none.mysql-bin.checksum-none")).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("f");
    let mut seed: u64 = 0x9E37_79B9_7F4A_7C15;
    let mut next = || {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed
    };
    let (mut ok, mut failed, mut caught) = (0, 0, 0);
    for i in 0..400 {
        let mut bytes = src.clone();
        if i % 2 == 0 {
            bytes.truncate(4 + (next() as usize % (src.len() - 4)));
        } else {
            for _ in 0..3 {
                let at = 4 + (next() as usize % (src.len() - 4));
                bytes[at] = next() as u8;
            }
        }
        std::fs::write(&p, &bytes).unwrap();
        let res = std::panic::catch_unwind(|| inspect_file(&p, &ReadOptions::default(), |_| Ok(())));
        match res {
            Err(_) => panic!("inspect panicked on corrupted input (iteration {i})"),
            Ok(Ok(_)) => ok += 1,
            Ok(Err(e)) => {
                failed += 1;
                let e = e.to_string();
                assert!(e.starts_with(&format!("{}:", p.display())), "{e}");
                if e.contains("panicked") {
                    caught += 1;
                }
            }
        }
    }
    assert!(failed > 100, "ok {ok}, failed {failed}");
    eprintln!("corruption sweep: {ok} decoded, {failed} rejected ({caught} via a caught mysql_common panic)");
}

#[test]
fn fixtures_partial_json_update_stops_with_its_position() {
    // no fixture holds a PARTIAL_UPDATE_ROWS_EVENT (39): turn the UPDATE_ROWS_V2 event at 1355 into one
    // (type byte + CRC32) and check that reading stops there with a clear error
    let name = "mysql-8.2.0_int-types-update.binlog.000001";
    let mut bytes = std::fs::read(fixtures_dir().join(name)).unwrap();
    let at = 1355;
    assert_eq!(bytes[at + 4], 31);
    let size = u32::from_le_bytes(bytes[at + 9..at + 13].try_into().unwrap()) as usize;
    bytes[at + 4] = 39;
    let crc = cdc_connector::inspect::crc32(&bytes[at..at + size - 4]);
    bytes[at + size - 4..at + size].copy_from_slice(&crc.to_le_bytes());
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join(name);
    std::fs::write(&p, &bytes).unwrap();
    let mut rows = 0;
    let err = inspect_file(&p, &ReadOptions::default(), |_| {
        rows += 1;
        Ok(())
    })
    .unwrap_err()
    .to_string();
    assert_eq!(rows, 1, "the insert before it is still decoded");
    assert!(err.starts_with(&format!("{}:1355: partial JSON update", p.display())), "{err}");
    assert!(err.contains("test.int_table"), "{err}");
}

/// The GTIDs of a binlog file's GTID events (`GTID_LOG_EVENT`, `GTID_TAGGED_LOG_EVENT`), in file
/// order, as the connector puts them into `source.gtid` (`binlog::format_mysql_gtid`).
fn mysql_gtids_of(path: &Path) -> Vec<String> {
    use mysql_common::binlog::consts::BinlogVersion;
    use mysql_common::binlog::events::EventData;
    use mysql_common::binlog::EventStreamReader;
    let bytes = std::fs::read(path).expect("fixture");
    assert_eq!(&bytes[..4], b"\xfebin", "{}: not a binlog file", path.display());
    let mut reader = EventStreamReader::new(BinlogVersion::Version4);
    let (mut at, mut out) = (4usize, Vec::new());
    while at + 19 <= bytes.len() {
        let size = u32::from_le_bytes(bytes[at + 9..at + 13].try_into().unwrap()) as usize;
        let event = reader.read(&bytes[at..at + size]).expect("event").expect("an event");
        if matches!(event.header().event_type_raw(), 33 | 42) {
            if let Ok(Some(EventData::GtidEvent(g))) = event.read_data() {
                out.push(cdc_connector::source::binlog::format_mysql_gtid(&g));
            }
        }
        at += size;
    }
    out
}

/// MySQL GTIDs, which only the fixtures have (no MySQL server runs here): the GTID of every GTID
/// event of each fixture that has them equals what the independent decoders recorded in its
/// `.expected.json` (count, first three, last — mysql-binlog-connector-java and
/// python-mysql-replication), and the completed set the connector keeps for offsets
/// (`GtidSet::add`, transaction by transaction) ends up holding exactly those GTIDs. The tagged
/// fixture (MySQL 9.6, `uuid:tag:gno`), whose GTID neither independent decoder could print, is
/// read as a tagged GTID that the GTID-set parser takes back.
#[test]
fn fixtures_mysql_gtids_match_the_independent_decoders() {
    use cdc_connector::source::gtid::GtidSet;
    let mut checked = 0;
    for file in manifest_files() {
        let expected: Json = serde_json::from_str(
            &std::fs::read_to_string(fixtures_dir().join(format!("{file}.expected.json"))).unwrap(),
        )
        .unwrap();
        let ours = mysql_gtids_of(&fixtures_dir().join(&file));
        let want = &expected["gtids"];
        if file.contains("gtid-tagged") {
            assert_eq!(ours.len(), 1, "{file}: one tagged GTID event");
            let parts: Vec<&str> = ours[0].split(':').collect();
            assert_eq!(parts.len(), 3, "{file}: {} is uuid:tag:gno", ours[0]);
            let set = GtidSet::parse(&ours[0]).unwrap_or_else(|e| panic!("{file}: {} does not parse: {e}", ours[0]));
            assert!(set.to_string().contains(parts[1]), "{file}: {set} lost the tag of {}", ours[0]);
            checked += 1;
            continue;
        }
        let count = want["count"].as_u64().unwrap_or(0) as usize;
        assert_eq!(ours.len(), count, "{file}: GTID events");
        if count == 0 {
            continue;
        }
        let first: Vec<String> =
            want["first"].as_array().unwrap().iter().map(|v| v.as_str().unwrap().to_string()).collect();
        assert_eq!(ours[..first.len()], first[..], "{file}: first GTIDs");
        assert_eq!(ours.last().map(String::as_str), want["last"].as_str(), "{file}: last GTID");
        let mut set = GtidSet::parse(&ours[0]).unwrap();
        for g in &ours[1..] {
            assert!(set.add(g), "{file}: {g} was already in {set}");
        }
        // The same GTIDs as one set text, merged by the parser instead.
        let all = GtidSet::parse(&ours.join(",")).unwrap();
        assert_eq!(GtidSet::parse(&set.to_string()).unwrap(), all, "{file}: completed set {set}");
        assert!(ours.iter().all(|g| set.contains(&GtidSet::parse(g).unwrap())), "{file}: {set}");
        checked += 1;
    }
    assert!(checked >= 7, "fixtures with MySQL GTIDs checked: {checked}");
}
