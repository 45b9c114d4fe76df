//! query: SQL over the lake (`hudi-sink query "<SQL>"`), with DataFusion and hudi-rs's table
//! provider (`hudi`'s `datafusion` feature).
//!
//! Every Hudi table under the base path (`<base>/<db>/<table>` with a `.hoodie/hoodie.properties`)
//! is registered as `<db>.<table>` (one DataFusion schema per database), so the SQL names tables
//! the way MySQL does: `SELECT origin_country, count(*) FROM final.flights WHERE baro_altitude >
//! 10000 GROUP BY origin_country`. The read is a snapshot of each table's latest completed commit.
//! The result prints as a text table, CSV or JSON lines.

use std::collections::BTreeMap;
use std::sync::Arc;

use clap::Parser;
use datafusion::arrow::record_batch::RecordBatch;
use datafusion::catalog::{MemorySchemaProvider, SchemaProvider};
use datafusion::prelude::SessionContext;
use hudi::config::HudiConfigs;
use hudi::storage::Storage;
use hudi::HudiDataSource;

use crate::checkpoint::base_uri;
use crate::config::StorageArgs;

/// Run SQL over the Hudi tables under a base path.
#[derive(Debug, Clone, Parser)]
pub struct QueryArgs {
    /// The SQL; tables are `<db>.<table>` (e.g. `final.flights`).
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

/// The Hudi tables at `<base>/<db>/<table>`, sorted by name.
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

/// Register every table under `base` with a new session and run `sql`.
pub async fn run_sql(base: &str, options: &BTreeMap<String, String>, sql: &str) -> Result<Vec<RecordBatch>, String> {
    let tables = discover(base, options).await?;
    if tables.is_empty() {
        return Err(format!("no Hudi tables under {base} (expected <base>/<db>/<table>/.hoodie)"));
    }
    let ctx = SessionContext::new();
    let catalog = ctx.catalog("datafusion").ok_or("DataFusion's default catalog is missing")?;
    let mut schemas: BTreeMap<String, Arc<MemorySchemaProvider>> = BTreeMap::new();
    for t in &tables {
        let schema = schemas.entry(t.db.clone()).or_insert_with(|| Arc::new(MemorySchemaProvider::new())).clone();
        let source = HudiDataSource::new_with_options(&t.uri, options.iter().map(|(k, v)| (k.as_str(), v.clone())))
            .await
            .map_err(|e| format!("opening {}: {e}", t.uri))?;
        schema.register_table(t.table.clone(), Arc::new(source)).map_err(|e| format!("{}.{}: {e}", t.db, t.table))?;
    }
    for (db, schema) in schemas {
        catalog.register_schema(&db, schema).map_err(|e| format!("schema {db}: {e}"))?;
    }
    let df = ctx.sql(sql).await.map_err(|e| format!("{e}"))?;
    df.collect().await.map_err(|e| format!("{e}"))
}

/// Write `batches` to `out` in `format`.
pub fn print(batches: &[RecordBatch], format: Format, out: &mut impl std::io::Write) -> Result<(), String> {
    use datafusion::arrow::util::pretty::pretty_format_batches;
    match format {
        Format::Table => {
            let text = pretty_format_batches(batches).map_err(|e| e.to_string())?;
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
