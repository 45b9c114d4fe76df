//! failpoint: the crash-test hook. `HUDI_SINK_FAILPOINT=<name>:<n>` aborts the process (no
//! clean-up, like SIGKILL) the `n`-th time the point `name` is reached; unset, every point is a
//! no-op. Points, in the order a batch reaches them:
//!
//! * `during-upsert`: inside hudi-rs's upsert, as soon as a new data file (`*.parquet` outside
//!   `.hoodie`) appears under a local table, i.e. between writing files and completing the commit
//!   (a background thread watches the directory; if the commit completes first, nothing happens);
//! * `after-upsert`: between the upsert commit and the delete commit of a batch;
//! * `after-commit`: all commits of a batch completed, its checkpoint not written;
//! * `after-checkpoint`: checkpoint written, group offsets not committed.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

/// Whether this visit of `name` is the armed one.
fn hit(name: &str) -> bool {
    static HITS: AtomicU64 = AtomicU64::new(0);
    let Ok(spec) = std::env::var("HUDI_SINK_FAILPOINT") else { return false };
    let Some((point, n)) = spec.split_once(':') else { return false };
    point == name && HITS.fetch_add(1, Ordering::SeqCst) + 1 == n.parse().unwrap_or(1)
}

fn abort(name: &str) -> ! {
    tracing::error!(failpoint = name, "HUDI_SINK_FAILPOINT: aborting");
    std::process::abort();
}

/// Abort here if `name` is armed for this visit.
pub fn point(name: &str) {
    if hit(name) {
        abort(name);
    }
}

/// Watches a local table directory while a write runs (`during-upsert`); dropping it stops the
/// watch.
pub struct Watch(Option<Arc<AtomicBool>>);

impl Drop for Watch {
    fn drop(&mut self) {
        if let Some(done) = &self.0 {
            done.store(true, Ordering::SeqCst);
        }
    }
}

/// Arm `during-upsert` for the write that is about to start on the table at `uri`.
pub fn during_write(uri: &str) -> Watch {
    if !hit("during-upsert") || uri.contains("://") {
        return Watch(None);
    }
    let dir = PathBuf::from(uri);
    let before = data_files(&dir);
    let done = Arc::new(AtomicBool::new(false));
    let stop = done.clone();
    std::thread::spawn(move || {
        while !stop.load(Ordering::SeqCst) {
            if data_files(&dir).iter().any(|f| !before.contains(f)) {
                abort("during-upsert");
            }
            std::thread::sleep(Duration::from_millis(1));
        }
        tracing::warn!("HUDI_SINK_FAILPOINT during-upsert: the commit completed before a new data file was seen");
    });
    Watch(Some(done))
}

/// The `*.parquet` files under `dir`, outside `.hoodie`.
fn data_files(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&d) else { continue };
        for e in entries.flatten() {
            let p = e.path();
            let name = e.file_name();
            if p.is_dir() {
                if name != ".hoodie" && name != ".hudi-sink" {
                    stack.push(p);
                }
            } else if name.to_string_lossy().ends_with(".parquet") {
                out.push(p);
            }
        }
    }
    out
}
