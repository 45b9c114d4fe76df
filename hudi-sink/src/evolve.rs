//! evolve: schema changes of a source table, in a Hudi writer (hudi-rs 0.6.0-rc.1) that refuses
//! any write whose schema differs from the table's (`write/rewrite/validate.rs`).
//!
//! Every table has a **target column list**: the columns its Hudi schema has, stored in
//! `<table>/.hudi-sink/columns.json` when first set and at every change. Each change event is
//! projected onto it by column name ([`project`]):
//!
//! * an event with the target's columns, or with fewer (older events, or a dropped column: it stays
//!   in Hudi and reads as null from then on), or with narrower types that widen into the target's
//!   (int → long, float → double, a decimal of lower precision) is written as it is, projected;
//! * an event with **more** columns or **wider** types (ALTER TABLE ADD COLUMN, MODIFY to a wider
//!   type) is an evolution: the target becomes the new column list, and the table is **rebuilt from
//!   the start of its topic** (every older event projected onto the new columns, so older rows read
//!   the new columns as null). Steps, each safe to repeat after a crash: `columns.json` with
//!   `rebuild_pending: true` → delete every object of the table but that file (data, timeline,
//!   metadata table, checkpoints) → `rebuild_pending: false` → seek the topic to its beginning. A
//!   sink that starts and finds `rebuild_pending` wipes again and starts from the beginning. This
//!   needs the topic to hold the table's whole history (Debezium topics written since the table's
//!   first event, no retention cut), and readers see the table grow back while it rebuilds;
//! * anything else (a type that neither widens nor is widened, a record key change) stops the table
//!   with the reason.
//!
//! Data columns are nullable in Hudi whatever the source says: older rows read added columns as
//! null, and rows after a dropped column have none.

use std::collections::BTreeMap;
use std::sync::Arc;

use futures_util::TryStreamExt;
use object_store::ObjectStoreExt;
use serde::{Deserialize, Serialize};

use crate::decode::{Cell, Change, Column, Columns, Kind};

/// How the columns of an event relate to the table's target columns.
#[derive(Debug, PartialEq)]
pub enum Relation {
    /// The event projects onto the target (same columns, fewer, or narrower types).
    Fits,
    /// The target projects onto the event's columns: the table must evolve to them.
    Evolves,
    /// Neither: the table cannot take it.
    Incompatible(String),
}

/// Whether values of `from` can be stored as `to`.
fn widens(from: &Kind, to: &Kind) -> bool {
    match (from, to) {
        (a, b) if a == b => true,
        (Kind::Int32, Kind::Int64 | Kind::Float64) | (Kind::Float32, Kind::Float64) => true,
        (Kind::Decimal { precision: p1, scale: s1 }, Kind::Decimal { precision: p2, scale: s2 }) => {
            s1 == s2 && p1 <= p2
        }
        (Kind::Decimal { scale: s1, .. }, Kind::DecimalText { scale: s2 }) => s1 == s2,
        (Kind::Struct(a), Kind::Struct(b)) => fits(a, b).is_ok(),
        _ => false,
    }
}

/// `Ok` if every column of `from` exists in `to` with a kind it widens into.
fn fits(from: &[Column], to: &[Column]) -> Result<(), String> {
    for c in from {
        match to.iter().find(|t| t.name == c.name) {
            None => return Err(format!("column `{}` is not in the table", c.name)),
            Some(t) if !widens(&c.kind, &t.kind) => {
                return Err(format!("column `{}` is {:?} in the event but {:?} in the table", c.name, c.kind, t.kind))
            }
            Some(_) => {}
        }
    }
    Ok(())
}

pub fn relation(event: &Columns, target: &Columns) -> Relation {
    match fits(&event.fields, &target.fields) {
        Ok(()) => Relation::Fits,
        Err(why) => match fits(&target.fields, &event.fields) {
            Ok(()) => Relation::Evolves,
            Err(_) => Relation::Incompatible(format!(
                "schema change Hudi cannot take: {why} (a type that neither widens nor narrows, or a renamed column)"
            )),
        },
    }
}

/// `change` with its row rearranged to `target`'s columns (missing ones null).
pub fn project(change: &mut Change, target: &Arc<Columns>) {
    if Arc::ptr_eq(&change.columns, target) {
        return;
    }
    let row: Vec<Cell> = target
        .fields
        .iter()
        .map(|t| change.columns.index_of(&t.name).map_or(Cell::Null, |i| change.row[i].clone()))
        .collect();
    change.row = row;
    change.columns = target.clone();
}

/// `<table>/.hudi-sink/columns.json`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TargetFile {
    pub columns: Columns,
    /// set before the table's objects are deleted, cleared once they are
    pub rebuild_pending: bool,
}

const TARGET: &str = ".hudi-sink/columns.json";

/// The table's objects as one object store (local directory or S3).
pub struct TableObjects {
    store: Box<dyn object_store::ObjectStore>,
    prefix: object_store::path::Path,
    uri: String,
}

impl TableObjects {
    pub fn new(uri: &str, options: &BTreeMap<String, String>) -> Result<TableObjects, String> {
        let url = if uri.contains("://") {
            url::Url::parse(uri).map_err(|e| format!("{uri}: {e}"))?
        } else {
            url::Url::from_directory_path(uri).map_err(|()| format!("{uri}: not an absolute path"))?
        };
        let (store, prefix) = object_store::parse_url_opts(&url, options.iter()).map_err(|e| format!("{uri}: {e}"))?;
        Ok(TableObjects { store, prefix, uri: uri.to_owned() })
    }

    fn target_path(&self) -> object_store::path::Path {
        TARGET.split('/').fold(self.prefix.clone(), |p, part| p.join(part))
    }

    pub async fn load_target(&self) -> Result<Option<TargetFile>, String> {
        match self.store.get(&self.target_path()).await {
            Ok(r) => {
                let bytes = r.bytes().await.map_err(|e| format!("{}/{TARGET}: {e}", self.uri))?;
                serde_json::from_slice(&bytes).map(Some).map_err(|e| format!("{}/{TARGET}: {e}", self.uri))
            }
            Err(object_store::Error::NotFound { .. }) => Ok(None),
            Err(e) => Err(format!("{}/{TARGET}: {e}", self.uri)),
        }
    }

    pub async fn save_target(&self, t: &TargetFile) -> Result<(), String> {
        let bytes = serde_json::to_vec_pretty(t).expect("columns JSON");
        self.store
            .put(&self.target_path(), bytes.into())
            .await
            .map(|_| ())
            .map_err(|e| format!("{}/{TARGET}: {e}", self.uri))
    }

    /// Delete every object of the table except the target file; returns how many.
    pub async fn wipe(&self) -> Result<usize, String> {
        let keep = self.target_path();
        let objects: Vec<object_store::ObjectMeta> = self
            .store
            .list(Some(&self.prefix))
            .try_collect()
            .await
            .map_err(|e| format!("listing {}: {e}", self.uri))?;
        let mut n = 0;
        for o in objects.into_iter().filter(|o| o.location != keep) {
            match self.store.delete(&o.location).await {
                Ok(()) | Err(object_store::Error::NotFound { .. }) => n += 1,
                Err(e) => return Err(format!("deleting {}: {e}", o.location)),
            }
        }
        Ok(n)
    }
}

/// Every data column nullable (see the module documentation).
pub fn all_nullable(columns: &Columns) -> Columns {
    Columns { fields: columns.fields.iter().map(|c| Column { nullable: true, ..c.clone() }).collect() }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::decode::{Op, SourcePos};

    fn col(name: &str, kind: Kind) -> Column {
        Column { name: name.into(), kind, nullable: true }
    }

    #[test]
    fn added_columns_and_wider_types_evolve_older_events_fit() {
        let v1 = Columns { fields: vec![col("id", Kind::Int32), col("w", Kind::Float32)] };
        let v2 = Columns { fields: vec![col("id", Kind::Int32), col("w", Kind::Float64), col("sku", Kind::Utf8)] };
        assert_eq!(relation(&v2, &v1), Relation::Evolves);
        assert_eq!(relation(&v1, &v2), Relation::Fits);
        assert_eq!(relation(&v1, &v1), Relation::Fits);
        // a dropped column: the event fits the table
        let dropped = Columns { fields: vec![col("id", Kind::Int32)] };
        assert_eq!(relation(&dropped, &v1), Relation::Fits);
        let narrowed = Columns { fields: vec![col("id", Kind::Int32), col("w", Kind::Utf8)] };
        assert!(matches!(relation(&narrowed, &v1), Relation::Incompatible(m) if m.contains("`w`")));
    }

    #[test]
    fn projection_fills_missing_columns_with_null() {
        let v1 = Arc::new(Columns { fields: vec![col("id", Kind::Int32), col("w", Kind::Float32)] });
        let v2 =
            Arc::new(Columns { fields: vec![col("id", Kind::Int32), col("sku", Kind::Utf8), col("w", Kind::Float64)] });
        let mut c = Change {
            op: Op::Create,
            columns: v1,
            row: vec![Cell::Int(1), Cell::Float(0.5)],
            key_fields: Arc::new(vec!["id".into()]),
            source: SourcePos { file: "f.1".into(), pos: 4, row: 0, ts_ms: 0 },
            ts_ms: 0,
        };
        project(&mut c, &v2);
        assert_eq!(c.row, vec![Cell::Int(1), Cell::Null, Cell::Float(0.5)]);
        assert!(Arc::ptr_eq(&c.columns, &v2));
    }

    #[tokio::test]
    async fn wipe_keeps_only_the_target_file() {
        let dir = tempfile::tempdir().unwrap();
        let base = dir.path().join("db/t");
        std::fs::create_dir_all(base.join(".hoodie/timeline")).unwrap();
        std::fs::write(base.join(".hoodie/timeline/1.commit"), b"x").unwrap();
        std::fs::write(base.join("f1.parquet"), b"x").unwrap();
        let objects = TableObjects::new(base.to_str().unwrap(), &BTreeMap::new()).unwrap();
        let target = TargetFile { columns: Columns { fields: vec![col("id", Kind::Int64)] }, rebuild_pending: true };
        objects.save_target(&target).await.unwrap();
        assert_eq!(objects.wipe().await.unwrap(), 2);
        assert!(!base.join("f1.parquet").exists() && !base.join(".hoodie/timeline/1.commit").exists());
        assert_eq!(objects.load_target().await.unwrap(), Some(target));
    }
}
