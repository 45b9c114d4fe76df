//! `io.debezium.storage.file.history.FileSchemaHistory` (`schema.history.internal.file.filename`):
//! one compact JSON record per line, appended. Reading skips empty lines; a line that is not a
//! record stops the connector with the file and line number. Each append is `fsync`ed before it
//! counts as written, so an offset committed after it never outlives it.

use std::io::Write;
use std::path::{Path, PathBuf};

use super::record::HistoryRecord;
use super::HistoryError;

/// The history file.
#[derive(Debug, Clone)]
pub struct FileHistory {
    path: PathBuf,
}

impl FileHistory {
    pub fn new(path: impl AsRef<Path>) -> FileHistory {
        FileHistory { path: path.as_ref().to_path_buf() }
    }

    /// `history file <path> (schema.history.internal.file.filename)`, for messages.
    pub fn describe(&self) -> String {
        format!("history file {} (schema.history.internal.file.filename)", self.path.display())
    }

    fn io(&self, source: std::io::Error) -> HistoryError {
        HistoryError::Io { path: self.path.clone(), source }
    }

    /// Every record in file order; `None` when the file does not exist.
    pub fn read(&self) -> Result<Option<Vec<HistoryRecord>>, HistoryError> {
        let text = match std::fs::read(&self.path) {
            Ok(b) => b,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(self.io(e)),
        };
        let mut out = Vec::new();
        for (n, line) in text.split(|b| *b == b'\n').enumerate() {
            if line.iter().all(u8::is_ascii_whitespace) {
                continue;
            }
            let rec = HistoryRecord::parse(line).map_err(|message| HistoryError::Corrupt {
                location: format!("{} line {}", self.describe(), n + 1),
                message,
            })?;
            out.push(rec);
        }
        Ok(Some(out))
    }

    /// Append records and `fsync` (the file and its directory are created when missing).
    pub fn append(&self, records: &[HistoryRecord]) -> Result<(), HistoryError> {
        let mut text = String::new();
        for r in records {
            text.push_str(&r.to_compact());
            text.push('\n');
        }
        if let Some(dir) = self.path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(|e| self.io(e))?;
        }
        let mut f = std::fs::OpenOptions::new().create(true).append(true).open(&self.path).map_err(|e| self.io(e))?;
        f.write_all(text.as_bytes()).map_err(|e| self.io(e))?;
        f.sync_data().map_err(|e| self.io(e))
    }
}
