//! query: SQL over the lake (`hudi-sink query "<SQL>"`), with DataFusion over hudi-rs snapshot reads.
//!
//! Every Hudi table under the base path (`<base>/<db>/<table>` with a `.hoodie/hoodie.properties`)
//! is visible as `<db>.<table>` (one DataFusion schema per database), so the SQL names tables the
//! way MySQL does: `SELECT origin_country, count(*) FROM "final".flights WHERE baro_altitude > 10000
//! GROUP BY origin_country`. Each table is a snapshot of its latest completed commit, read with
//! hudi-rs when the query first names it (a query reads only the tables it uses) and held in memory
//! for the query; `SHOW TABLES` lists them without reading any. The result prints as a text table,
//! CSV or JSON lines.
//!
//! Why not hudi-rs's own DataFusion provider (`hudi`'s `datafusion` feature): it pins a second
//! Arrow/DataFusion tree and changes hudi-core's features, which costs the build about 50 minutes
//! on the project's 2-core machines; reading the snapshot with the hudi-core the sink already links
//! gives the same rows for the lake sizes this tool is for (it is no replacement for a query engine
//! over a production lake: Athena, Spark or Trino read the same tables).

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use async_trait::async_trait;
use clap::Parser;
use datafusion::arrow::record_batch::RecordBatch;
use datafusion::catalog::{MemTable, SchemaProvider, TableProvider};
use datafusion::error::DataFusionError;
use datafusion::logical_expr::TableType;
use datafusion::prelude::{SessionConfig, SessionContext};
use hudi::config::HudiConfigs;
use hudi::storage::Storage;
use hudi::table::Table;
use tokio::sync::Mutex;

use crate::checkpoint::base_uri;
use crate::config::StorageArgs;

/// Run SQL over the Hudi tables under a base path.
#[derive(Debug, Clone, Parser)]
pub struct QueryArgs {
    /// The SQL. Tables are `<db>.<table>` (e.g. `"final".flights`: quote a database name that is
    /// an SQL keyword); `SHOW TABLES` lists them.
    pub sql: String,
    /// Base path of the tables (as given to `hudi-sink run`): a directory or `s3://bucket/prefix`.
    #[arg(long, default_value = "./lakehouse")]
    pub base_path: String,
    /// Output format.
    #[arg(long, value_enum, default_value = "table")]
    pub format: Format,
    #[command(flatten)]
    pub storage: StorageArgs,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    /// An aligned text table.
    Table,
    /// CSV with a header line.
    Csv,
    /// One JSON object per row.
    Json,
}

/// A table found under the base path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Found {
    pub db: String,
    pub table: String,
    pub uri: String,
}

/// The Hudi tables at `<base>/<db>/<table>`, sorted by name. A base path that does not exist has
/// none.
pub async fn discover(base: &str, options: &BTreeMap<String, String>) -> Result<Vec<Found>, String> {
    let base = base_uri(base.trim_end_matches('/'));
    let configs = HudiConfigs::new([("hoodie.base.path", base.clone())]);
    let storage = Storage::new(Arc::new(options.clone().into_iter().collect()), Arc::new(configs))
        .map_err(|e| format!("{base}: {e}"))?;
    let mut found = Vec::new();
    let dbs = match storage.list_dirs(None).await {
        Ok(d) => d,
        Err(e) if e.to_string().to_ascii_lowercase().contains("not found") => Vec::new(),
        Err(e) => return Err(format!("listing {base}: {e}")),
    };
    for db in dbs {
        let tables = storage.list_dirs(Some(&db)).await.map_err(|e| format!("listing {base}/{db}: {e}"))?;
        for table in tables {
            let props = format!("{db}/{table}/.hoodie/hoodie.properties");
            if storage.exists(&props).await.map_err(|e| format!("{base}/{props}: {e}"))? {
                found.push(Found { uri: format!("{base}/{db}/{table}"), db: db.clone(), table });
            }
        }
    }
    found.sort_by(|a, b| (&a.db, &a.table).cmp(&(&b.db, &b.table)));
    Ok(found)
}

/// One database's tables; a table is read (snapshot) the first time the planner asks for it.
#[derive(Debug)]
struct LakeSchema {
    /// table name → base URI
    tables: BTreeMap<String, String>,
    options: Arc<BTreeMap<String, String>>,
    read: Mutex<HashMap<String, Arc<dyn TableProvider>>>,
}

impl LakeSchema {
    async fn load(&self, name: &str, uri: &str) -> Result<Arc<dyn TableProvider>, DataFusionError> {
        let fail =
            |what: &str, e: &dyn std::fmt::Display| DataFusionError::External(format!("{what} {uri}: {e}").into());
        let t = Table::new_with_options(uri, self.options.iter().map(|(k, v)| (k.clone(), v.clone())))
            .await
            .map_err(|e| fail("opening", &e))?;
        let batches = t.read(&hudi::config::read_options::ReadOptions::new()).await.map_err(|e| fail("reading", &e))?;
        let schema = match batches.first() {
            Some(b) => b.schema(),
            None => Arc::new(t.get_schema_with_meta_fields().await.map_err(|e| fail("reading the schema of", &e))?),
        };
        tracing::debug!(table = name, rows = batches.iter().map(RecordBatch::num_rows).sum::<usize>(), "read");
        Ok(Arc::new(MemTable::try_new(schema, vec![batches])?))
    }
}

#[async_trait]
impl SchemaProvider for LakeSchema {
    fn table_names(&self) -> Vec<String> {
        self.tables.keys().cloned().collect()
    }

    async fn table(&self, name: &str) -> Result<Option<Arc<dyn TableProvider>>, DataFusionError> {
        let Some(uri) = self.tables.get(name) else { return Ok(None) };
        // held across the read, so that two lookups of one table read it once
        let mut read = self.read.lock().await;
        if let Some(t) = read.get(name) {
            return Ok(Some(t.clone()));
        }
        let t = self.load(name, uri).await?;
        read.insert(name.to_owned(), t.clone());
        Ok(Some(t))
    }

    async fn table_type(&self, name: &str) -> Result<Option<TableType>, DataFusionError> {
        Ok(self.tables.contains_key(name).then_some(TableType::Base))
    }

    fn table_exist(&self, name: &str) -> bool {
        self.tables.contains_key(name)
    }
}

/// A session that sees every table under `base` as `<db>.<table>`.
pub async fn session(base: &str, options: &BTreeMap<String, String>) -> Result<SessionContext, String> {
    let found = discover(base, options).await?;
    if found.is_empty() {
        return Err(format!("no Hudi tables under {base} (expected <base>/<db>/<table>/.hoodie)"));
    }
    let ctx = SessionContext::new_with_config(SessionConfig::new().with_information_schema(true));
    let catalog = ctx.catalog("datafusion").ok_or("DataFusion's default catalog is missing")?;
    let options = Arc::new(options.clone());
    let mut dbs: BTreeMap<String, BTreeMap<String, String>> = BTreeMap::new();
    for t in found {
        dbs.entry(t.db).or_default().insert(t.table, t.uri);
    }
    for (db, tables) in dbs {
        let schema = LakeSchema { tables, options: options.clone(), read: Mutex::new(HashMap::new()) };
        catalog.register_schema(&db, Arc::new(schema)).map_err(|e| format!("schema {db}: {e}"))?;
    }
    Ok(ctx)
}

/// Run `sql` over the tables under `base`.
pub async fn run_sql(base: &str, options: &BTreeMap<String, String>, sql: &str) -> Result<Vec<RecordBatch>, String> {
    let ctx = session(base, options).await?;
    let df = ctx.sql(sql).await.map_err(|e| e.to_string())?;
    df.collect().await.map_err(|e| e.to_string())
}

/// Write `batches` to `out` in `format`.
pub fn print(batches: &[RecordBatch], format: Format, out: &mut impl std::io::Write) -> Result<(), String> {
    match format {
        Format::Table => {
            let text = datafusion::arrow::util::pretty::pretty_format_batches(batches).map_err(|e| e.to_string())?;
            writeln!(out, "{text}").map_err(|e| e.to_string())
        }
        Format::Csv => {
            let mut w = datafusion::arrow::csv::WriterBuilder::new().with_header(true).build(out);
            for b in batches {
                w.write(b).map_err(|e| e.to_string())?;
            }
            Ok(())
        }
        Format::Json => {
            for row in crate::dump::rows_in_order(batches) {
                writeln!(out, "{}", serde_json::Value::Object(row)).map_err(|e| e.to_string())?;
            }
            Ok(())
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;
    use crate::convert::to_record_batch;
    use crate::decode::{Cell, Change, Column, Columns, Kind, Op, SourcePos};
    use crate::table::HudiTable;

    fn change(cols: &Arc<Columns>, id: i64, country: &str, alt: Option<f64>) -> Change {
        Change {
            op: Op::Create,
            columns: cols.clone(),
            row: vec![Cell::Int(id), Cell::Str(country.into()), alt.map_or(Cell::Null, Cell::Float)],
            key_fields: Arc::new(vec!["id".into()]),
            source: SourcePos { file: "mysql-bin.000001".into(), pos: 4 + id, row: 0, ts_ms: 0 },
            ts_ms: 0,
        }
    }

    /// Tables are found as `<db>.<table>`, a query reads them through hudi-rs, aggregates work, a
    /// database named after an SQL keyword is reachable quoted, and the three formats print.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn sql_over_tables_under_a_base_path() {
        let dir = tempfile::tempdir().unwrap();
        let base = dir.path().to_string_lossy().into_owned();
        let cols = Arc::new(Columns {
            fields: vec![
                Column { name: "id".into(), kind: Kind::Int32, nullable: false },
                Column { name: "country".into(), kind: Kind::Utf8, nullable: true },
                Column { name: "alt".into(), kind: Kind::Float64, nullable: true },
            ],
        });
        let key = vec!["id".to_string()];
        let rows = [
            (1, "Germany", Some(11000.0)),
            (2, "Germany", Some(500.0)),
            (3, "France", Some(10500.0)),
            (4, "France", None),
        ];
        let changes: Vec<Change> = rows.iter().map(|&(id, c, a)| change(&cols, id, c, a)).collect();
        let mut t = HudiTable::new("flights", &format!("{base}/final/flights"), &BTreeMap::new(), &[]);
        t.write(&key, None, Some(to_record_batch(&cols, &changes, None).unwrap()), vec![]).await.unwrap();
        let mut t = HudiTable::new("other", &format!("{base}/inventory/other"), &BTreeMap::new(), &[]);
        t.write(&key, None, Some(to_record_batch(&cols, &changes[..1], None).unwrap()), vec![]).await.unwrap();
        std::fs::create_dir_all(dir.path().join("final/not_a_table")).unwrap();

        let found = discover(&base, &BTreeMap::new()).await.unwrap();
        let names: Vec<String> = found.iter().map(|f| format!("{}.{}", f.db, f.table)).collect();
        assert_eq!(names, ["final.flights", "inventory.other"]);

        let sql =
            r#"SELECT country, count(*) AS n FROM "final".flights WHERE alt > 10000 GROUP BY country ORDER BY country"#;
        let out = run_sql(&base, &BTreeMap::new(), sql).await.unwrap();
        let mut csv = Vec::new();
        print(&out, Format::Csv, &mut csv).unwrap();
        assert_eq!(String::from_utf8(csv).unwrap(), "country,n\nFrance,1\nGermany,1\n");
        let mut json = Vec::new();
        print(&out, Format::Json, &mut json).unwrap();
        assert_eq!(
            String::from_utf8(json).unwrap(),
            "{\"country\":\"France\",\"n\":1}\n{\"country\":\"Germany\",\"n\":1}\n"
        );
        let mut table = Vec::new();
        print(&out, Format::Table, &mut table).unwrap();
        let table = String::from_utf8(table).unwrap();
        assert!(table.contains("| France  | 1 |"), "{table}");

        let out = run_sql(&base, &BTreeMap::new(), "SELECT sum(id), max(alt), count(alt) FROM inventory.other")
            .await
            .unwrap();
        let row = &crate::dump::rows_in_order(&out)[0];
        assert_eq!(
            row.values().cloned().collect::<Vec<_>>(),
            [serde_json::json!(1), serde_json::json!(11000.0), serde_json::json!(1)]
        );

        let out = run_sql(&base, &BTreeMap::new(), "SHOW TABLES").await.unwrap();
        let shown: Vec<String> = crate::dump::rows_in_order(&out)
            .into_iter()
            .filter(|r| r["table_schema"] != "information_schema")
            .map(|r| format!("{}.{}", r["table_schema"].as_str().unwrap(), r["table_name"].as_str().unwrap()))
            .collect();
        assert_eq!(shown.len(), 2, "{shown:?}");

        let e = run_sql(&base, &BTreeMap::new(), "SELECT * FROM nope.flights").await.unwrap_err();
        assert!(e.contains("nope"), "{e}");
        let empty = tempfile::tempdir().unwrap();
        let e = run_sql(&empty.path().to_string_lossy(), &BTreeMap::new(), "SELECT 1").await.unwrap_err();
        assert!(e.contains("no Hudi tables"), "{e}");
    }
}
