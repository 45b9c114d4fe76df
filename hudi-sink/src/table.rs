//! table: one Hudi copy-on-write table per source table, through hudi-rs.
//!
//! Created on the first write with the record key fields, the optional partition field, the
//! ordering field [`crate::convert::ORDERING_FIELD`], timeline instants in UTC, and hudi-rs's
//! defaults otherwise (table version 9, metadata table with record index, event-time merge).
//! Writes: one `upsert` of the batch's upsert rows, then one `delete_keys` of its deleted keys
//! (an empty partition path = any partition: the record index finds the row). Either may make no
//! commit (nothing to write, unknown keys). A crash inside a write leaves a pending instant,
//! which hudi-rs rolls back when the next write starts.
//!
//! hudi-rs opens the metadata table without the storage options given in code, so for S3 the same
//! settings must also be in the process environment as `AWS_*` (hudi-rs copies those into every
//! table it opens); [`crate::config::RunArgs::storage_options`] reads them from there.

use std::collections::BTreeMap;

use arrow::record_batch::RecordBatch;
use hudi::config::table::TableTypeValue;
use hudi::table::Table;
use hudi::HoodieKey;

use crate::checkpoint::base_uri;
use crate::convert::ORDERING_FIELD;

/// Hudi write options the sink sets unless `--hudi-option` says otherwise: compact the metadata
/// table every 5 delta commits (measured: keeps update batches fast as metadata log files pile up).
pub const DEFAULT_HUDI_OPTIONS: [(&str, &str); 1] = [("hoodie.metadata.compact.max.delta.commits", "5")];

pub struct HudiTable {
    name: String,
    uri: String,
    storage_options: BTreeMap<String, String>,
    hudi_options: BTreeMap<String, String>,
    table: Option<Table>,
}

/// What one write did.
#[derive(Debug, Default, Clone)]
pub struct WriteOutcome {
    pub instants: Vec<String>,
    pub inserts: usize,
    pub updates: usize,
    pub deletes: usize,
}

impl HudiTable {
    pub fn new(
        name: &str,
        base: &str,
        storage_options: &BTreeMap<String, String>,
        extra_options: &[(String, String)],
    ) -> HudiTable {
        let mut hudi_options: BTreeMap<String, String> =
            DEFAULT_HUDI_OPTIONS.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        hudi_options.extend(extra_options.iter().cloned());
        HudiTable {
            name: name.to_owned(),
            uri: base_uri(base),
            storage_options: storage_options.clone(),
            hudi_options,
            table: None,
        }
    }

    pub fn uri(&self) -> &str {
        &self.uri
    }

    fn options(&self) -> Vec<(String, String)> {
        self.storage_options.iter().chain(self.hudi_options.iter()).map(|(k, v)| (k.clone(), v.clone())).collect()
    }

    /// Open the table if it exists (`Ok(false)` if not).
    pub async fn open_existing(&mut self) -> Result<bool, String> {
        if self.table.is_some() {
            return Ok(true);
        }
        let store =
            crate::checkpoint::CheckpointStore::new(&self.uri, &self.storage_options).map_err(|e| e.to_string())?;
        if !store.table_exists().await.map_err(|e| e.to_string())? {
            return Ok(false);
        }
        let t = Table::new_with_options(&self.uri, self.options())
            .await
            .map_err(|e| format!("opening {}: {e}", self.uri))?;
        self.table = Some(t);
        Ok(true)
    }

    async fn open_or_create(&mut self, key_fields: &[String], partition: Option<&str>) -> Result<&mut Table, String> {
        if !self.open_existing().await? {
            let mut b = Table::create(self.uri.clone())
                .with_table_name(self.name.clone())
                .with_table_type(TableTypeValue::CopyOnWrite)
                .with_record_key_fields(key_fields.iter().cloned())
                .with_ordering_fields([ORDERING_FIELD])
                .with_option("hoodie.table.timeline.timezone", "UTC");
            if let Some(p) = partition {
                b = b.with_partition_fields([p]);
            }
            for (k, v) in &self.storage_options {
                b = b.with_storage_option(k, v.clone());
            }
            b.create().await.map_err(|e| format!("creating {}: {e}", self.uri))?;
            tracing::info!(table = %self.name, uri = %self.uri, key = ?key_fields, partition, "created Hudi table");
            let t = Table::new_with_options(&self.uri, self.options())
                .await
                .map_err(|e| format!("opening {}: {e}", self.uri))?;
            self.table = Some(t);
        }
        Ok(self.table.as_mut().expect("opened"))
    }

    /// Upsert `rows` (if any), then delete `keys` (if any).
    pub async fn write(
        &mut self,
        key_fields: &[String],
        partition: Option<&str>,
        rows: Option<RecordBatch>,
        keys: Vec<String>,
    ) -> Result<WriteOutcome, String> {
        let mut out = WriteOutcome::default();
        let rows = rows.filter(|r| r.num_rows() > 0);
        // nothing to write, or only deletes for a table that does not exist yet
        if rows.is_none() && (keys.is_empty() || !self.open_existing().await?) {
            return Ok(out);
        }
        let uri = self.uri.clone();
        let table = self.open_or_create(key_fields, partition).await?;
        if let Some(rows) = rows {
            let watch = crate::failpoint::during_write(&uri);
            let r = table.upsert([rows]).await.map_err(|e| format!("upsert into {uri}: {e}"))?;
            drop(watch);
            out.instants.extend(r.requested_time);
            out.inserts += r.num_inserts;
            out.updates += r.num_updates;
            crate::failpoint::point("after-upsert");
        }
        if !keys.is_empty() {
            let keys = keys.into_iter().map(|record_key| HoodieKey { record_key, partition_path: String::new() });
            let r = table.delete_keys(keys).await.map_err(|e| format!("delete from {uri}: {e}"))?;
            out.instants.extend(r.requested_time);
            out.deletes += r.num_deletes;
        }
        Ok(out)
    }
}

/// Read a whole table (snapshot query), for `hudi-sink read` and tests.
pub async fn read_table(uri: &str, storage_options: &BTreeMap<String, String>) -> Result<Vec<RecordBatch>, String> {
    let t = Table::new_with_options(&base_uri(uri), storage_options.iter().map(|(k, v)| (k.clone(), v.clone())))
        .await
        .map_err(|e| format!("opening {uri}: {e}"))?;
    t.read(&hudi::config::read_options::ReadOptions::new()).await.map_err(|e| format!("reading {uri}: {e}"))
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;
    use crate::convert::to_record_batch;
    use crate::decode::{Cell, Change, Column, Columns, Kind, Op, SourcePos};

    fn change(cols: &Arc<Columns>, id: i64, v: &str, pos: i64) -> Change {
        Change {
            op: Op::Update,
            columns: cols.clone(),
            row: vec![Cell::Int(id), Cell::Str(v.into())],
            key_fields: Arc::new(vec!["id".into()]),
            source: SourcePos { file: "mysql-bin.000001".into(), pos, row: 0, ts_ms: 0 },
            ts_ms: 0,
        }
    }

    /// What exactly-once relies on: a replayed older event never overwrites a newer row (the
    /// ordering field), deletes are by key, and an unknown key is no error.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn replayed_older_events_do_not_win_and_deletes_are_by_key() {
        let dir = tempfile::tempdir().unwrap();
        let uri = dir.path().join("db/t").to_string_lossy().into_owned();
        let cols = Arc::new(Columns {
            fields: vec![
                Column { name: "id".into(), kind: Kind::Int32, nullable: true },
                Column { name: "v".into(), kind: Kind::Utf8, nullable: true },
            ],
        });
        let key = vec!["id".to_string()];
        let mut t = HudiTable::new("t", &uri, &BTreeMap::new(), &[]);
        let rows = |changes: &[Change]| Some(to_record_batch(&cols, changes, None).unwrap());
        let w =
            t.write(&key, None, rows(&[change(&cols, 1, "a", 100), change(&cols, 2, "b", 200)]), vec![]).await.unwrap();
        assert_eq!((w.inserts, w.instants.len()), (2, 1));
        // newer value for 1, then a replay of an older event for 1 and 2, and a delete of 2 + an unknown key
        t.write(&key, None, rows(&[change(&cols, 1, "a2", 300)]), vec![]).await.unwrap();
        t.write(&key, None, rows(&[change(&cols, 1, "stale", 150), change(&cols, 2, "b", 200)]), vec![]).await.unwrap();
        let w = t.write(&key, None, None, vec!["2".into(), "99".into()]).await.unwrap();
        assert_eq!(w.deletes, 1);
        let batches = read_table(&uri, &BTreeMap::new()).await.unwrap();
        let rows = crate::dump::rows(&batches);
        assert_eq!(rows.len(), 1);
        assert_eq!((&rows[0]["id"], &rows[0]["v"]), (&serde_json::json!(1), &serde_json::json!("a2")));
        // a table that does not exist yet takes deletes without being created
        let mut empty = HudiTable::new("e", &format!("{uri}-none"), &BTreeMap::new(), &[]);
        assert!(empty.write(&key, None, None, vec!["1".into()]).await.unwrap().instants.is_empty());
        assert!(!dir.path().join("db/t-none/.hoodie").exists());
    }
}
