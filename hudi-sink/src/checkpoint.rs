//! checkpoint: the Kafka offsets a table's completed commits cover, stored next to the table.
//!
//! Layout: `<table base>/.hudi-sink/checkpoints/<seq>.json`, `seq` a 20-digit zero-padded counter,
//! so the newest checkpoint is the greatest name in one listing (S3 lists in key order). A
//! checkpoint is written with a conditional put (create only), after every commit of its batch
//! completed; the [`Checkpoint::KEEP`] newest are kept. The directory is hidden (leading dot)
//! from Hudi's file listing and is not under `.hoodie`, which belongs to Hudi.
//!
//! Content (JSON): `{"seq", "offsets": {"<topic>": {"<partition>": <next offset>}}, "instants":
//! [requested times of the commits of this batch], "records", "upserts", "deletes",
//! "newest_source_ts_ms", "written_at"}`. Offsets are Kafka's "next offset to read".

use std::collections::BTreeMap;
use std::sync::Arc;

use hudi::config::HudiConfigs;
use hudi::storage::Storage;
use serde::{Deserialize, Serialize};

const DIR: &str = ".hudi-sink/checkpoints";

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Checkpoint {
    pub seq: u64,
    /// topic → partition → next offset to read
    pub offsets: BTreeMap<String, BTreeMap<i32, i64>>,
    /// requested times of the commits this checkpoint follows
    pub instants: Vec<String>,
    pub records: u64,
    pub upserts: u64,
    pub deletes: u64,
    /// `source.ts_ms` of the newest event committed so far (freshness)
    pub newest_source_ts_ms: i64,
    /// wall clock when written, ms since the epoch
    pub written_at: i64,
}

impl Checkpoint {
    pub const KEEP: usize = 5;

    pub fn offset(&self, topic: &str, partition: i32) -> Option<i64> {
        self.offsets.get(topic)?.get(&partition).copied()
    }
}

#[derive(Debug, thiserror::Error)]
#[error("checkpoint store at {base}: {detail}")]
pub struct CheckpointError {
    pub base: String,
    pub detail: String,
}

/// The checkpoints of one table.
pub struct CheckpointStore {
    base: String,
    storage: Arc<Storage>,
}

impl CheckpointStore {
    /// `base` is the table's base path (local directory or `s3://…`), `options` the storage
    /// options (`aws_*`).
    pub fn new(base: &str, options: &BTreeMap<String, String>) -> Result<CheckpointStore, CheckpointError> {
        let configs = HudiConfigs::new([("hoodie.base.path", base_uri(base))]);
        let storage = Storage::new(Arc::new(options.clone().into_iter().collect()), Arc::new(configs))
            .map_err(|e| CheckpointError { base: base.to_owned(), detail: e.to_string() })?;
        Ok(CheckpointStore { base: base.to_owned(), storage })
    }

    fn err(&self, detail: impl std::fmt::Display) -> CheckpointError {
        CheckpointError { base: self.base.clone(), detail: detail.to_string() }
    }

    /// Whether a Hudi table exists at the base path (`.hoodie/hoodie.properties`).
    pub async fn table_exists(&self) -> Result<bool, CheckpointError> {
        self.storage.exists(".hoodie/hoodie.properties").await.map_err(|e| self.err(e))
    }

    async fn names(&self) -> Result<Vec<String>, CheckpointError> {
        let mut names: Vec<String> = match self.storage.list_files(Some(DIR)).await {
            Ok(files) => files.into_iter().map(|f| f.name).filter(|n| n.ends_with(".json")).collect(),
            Err(e) if is_not_found(&e.to_string()) => Vec::new(),
            Err(e) => return Err(self.err(e)),
        };
        names.sort();
        Ok(names)
    }

    /// The newest checkpoint, if any.
    pub async fn latest(&self) -> Result<Option<Checkpoint>, CheckpointError> {
        let names = self.names().await?;
        let Some(name) = names.last() else { return Ok(None) };
        let bytes = self.storage.get_file_data(&format!("{DIR}/{name}")).await.map_err(|e| self.err(e))?;
        serde_json::from_slice(&bytes).map(Some).map_err(|e| self.err(format!("{name}: {e}")))
    }

    /// Write `cp` (its `seq` must be new) and drop all but the newest [`Checkpoint::KEEP`].
    pub async fn write(&self, cp: &Checkpoint) -> Result<(), CheckpointError> {
        let name = format!("{:020}.json", cp.seq);
        let bytes = serde_json::to_vec_pretty(cp).expect("checkpoint JSON");
        self.storage
            .put_file_if_absent(&format!("{DIR}/{name}"), bytes)
            .await
            .map_err(|e| self.err(format!("{name}: {e}")))?;
        let names = self.names().await?;
        if names.len() > Checkpoint::KEEP {
            for old in &names[..names.len() - Checkpoint::KEEP] {
                if let Err(e) = self.storage.delete_file(&format!("{DIR}/{old}")).await {
                    tracing::warn!(table = %self.base, checkpoint = %old, error = %e, "could not delete an old checkpoint");
                }
            }
        }
        Ok(())
    }
}

fn is_not_found(msg: &str) -> bool {
    let m = msg.to_ascii_lowercase();
    m.contains("not found") || m.contains("no such file")
}

/// A local path as an absolute `file://` URI (hudi-rs resolves relative paths against the working
/// directory anyway; an absolute one makes logs unambiguous); URIs stay as they are.
pub fn base_uri(base: &str) -> String {
    if base.contains("://") {
        return base.to_owned();
    }
    let p = std::path::Path::new(base);
    let abs = if p.is_absolute() { p.to_path_buf() } else { std::env::current_dir().unwrap_or_default().join(p) };
    abs.to_string_lossy().into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn newest_checkpoint_wins_and_old_ones_go() {
        let dir = tempfile::tempdir().unwrap();
        let base = dir.path().join("db/t");
        let store = CheckpointStore::new(base.to_str().unwrap(), &BTreeMap::new()).unwrap();
        assert_eq!(store.latest().await.unwrap(), None);
        for seq in 1..=12u64 {
            let mut cp = Checkpoint { seq, ..Default::default() };
            cp.offsets.entry("p.db.t".into()).or_default().insert(0, seq as i64 * 10);
            store.write(&cp).await.unwrap();
        }
        let latest = store.latest().await.unwrap().unwrap();
        assert_eq!(latest.seq, 12);
        assert_eq!(latest.offset("p.db.t", 0), Some(120));
        assert_eq!(latest.offset("p.db.t", 1), None);
        assert_eq!(store.names().await.unwrap().len(), Checkpoint::KEEP);
        // a sequence number is never overwritten
        assert!(store.write(&Checkpoint { seq: 12, ..Default::default() }).await.is_err());
    }
}
