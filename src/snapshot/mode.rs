//! `snapshot.mode`: what the connector does at start, given the stored offset.
//!
//! | mode | no stored offset (or an interrupted snapshot's) | stored offset of a finished snapshot / streaming |
//! |---|---|---|
//! | `initial` | snapshot schema + data, then stream | resume streaming |
//! | `initial_only` | snapshot schema + data, then stop | stop (nothing to do) |
//! | `no_data` (`schema_only`) | snapshot the schema, then stream | resume streaming |
//! | `when_needed` | snapshot, then stream | resume; snapshot again when the offset's binlog file is gone |
//! | `always` | snapshot, then stream | snapshot again, then stream |
//! | `never` | stream from the oldest binlog | resume streaming |
//! | `recovery` | error (nothing to recover) | rebuild the schema history from the server, resume streaming |
//!
//! An interrupted snapshot (offset still carrying `snapshot`) is taken again from the start, as
//! Debezium does. `recovery` is decided by the pipeline before [`decide`] (it needs no snapshot).
//! `configuration_based` and `custom` are rejected with an error naming `snapshot.mode`, and so
//! are the locking modes other than `minimal` and `none`. An explicit `--binlog-pos latest|earliest|FILE:POS` bypasses all of this (streaming
//! only); `--binlog-pos resume` is this table with "no stored offset" being an error.

use crate::config::{SnapshotConfig, SnapshotLockingMode, SnapshotMode};
use crate::offsets::SourceOffset;

use super::SnapshotError;

/// What to do at start.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decision {
    /// Resume streaming from the stored offset.
    Resume(SourceOffset),
    /// Take a snapshot (`data`: rows too, not only the schema); stream afterwards when `stream_after`.
    Snapshot { data: bool, stream_after: bool },
    /// No offset and `never`: stream from the oldest binlog file.
    StreamFromEarliest,
    /// Nothing to do (`initial_only` after a finished snapshot).
    Stop,
}

/// Reject the snapshot settings this version does not implement.
pub fn validate(config: &SnapshotConfig) -> Result<(), SnapshotError> {
    let unsupported = |property: &'static str, value: &str, why: &'static str| SnapshotError::NotSupported {
        property,
        value: value.to_string(),
        why,
    };
    match config.mode {
        SnapshotMode::ConfigurationBased | SnapshotMode::Custom => {
            return Err(unsupported(
                "snapshot.mode",
                &format!("{:?}", config.mode).to_ascii_lowercase(),
                "use initial, initial_only, no_data, when_needed, always or never",
            ))
        }
        _ => {}
    }
    match config.locking_mode {
        SnapshotLockingMode::Minimal | SnapshotLockingMode::None => Ok(()),
        other => Err(unsupported(
            "snapshot.locking.mode",
            &format!("{other:?}").to_ascii_lowercase(),
            "use minimal (the default) or none",
        )),
    }
}

/// Decide from the mode, the stored offset and (for `when_needed`) whether the offset's binlog file
/// is still on the server.
pub fn decide(mode: SnapshotMode, stored: Option<SourceOffset>, stored_file_available: bool) -> Decision {
    let snapshot = |data, stream_after| Decision::Snapshot { data, stream_after };
    let completed = stored.filter(|o| !o.in_snapshot() && o.snapshot_completed != Some(false));
    match (mode, completed) {
        (SnapshotMode::Always, _) => snapshot(true, true),
        (SnapshotMode::InitialOnly, None) => snapshot(true, false),
        (SnapshotMode::InitialOnly, Some(_)) => Decision::Stop,
        (SnapshotMode::NoData, None) => snapshot(false, true),
        (SnapshotMode::Never, None) => Decision::StreamFromEarliest,
        (SnapshotMode::WhenNeeded, Some(o)) if !stored_file_available => {
            tracing::warn!(file = %o.file, pos = o.pos, "the stored binlog position is no longer on the server; snapshot.mode=when_needed takes a new snapshot");
            snapshot(true, true)
        }
        (_, None) => snapshot(true, true),
        (_, Some(o)) => Decision::Resume(o),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn offset(snapshot: bool) -> SourceOffset {
        SourceOffset {
            file: "mysql-bin.000001".into(),
            pos: 4,
            snapshot: snapshot.then(|| "INITIAL".into()),
            ..SourceOffset::default()
        }
    }

    #[test]
    fn modes_without_offset() {
        use SnapshotMode as M;
        assert_eq!(decide(M::Initial, None, true), Decision::Snapshot { data: true, stream_after: true });
        assert_eq!(decide(M::InitialOnly, None, true), Decision::Snapshot { data: true, stream_after: false });
        assert_eq!(decide(M::NoData, None, true), Decision::Snapshot { data: false, stream_after: true });
        assert_eq!(decide(M::WhenNeeded, None, true), Decision::Snapshot { data: true, stream_after: true });
        assert_eq!(decide(M::Always, None, true), Decision::Snapshot { data: true, stream_after: true });
        assert_eq!(decide(M::Never, None, true), Decision::StreamFromEarliest);
    }

    #[test]
    fn modes_with_offset() {
        use SnapshotMode as M;
        let o = offset(false);
        assert_eq!(decide(M::Initial, Some(o.clone()), true), Decision::Resume(o.clone()));
        assert_eq!(decide(M::NoData, Some(o.clone()), true), Decision::Resume(o.clone()));
        assert_eq!(decide(M::Never, Some(o.clone()), true), Decision::Resume(o.clone()));
        assert_eq!(decide(M::InitialOnly, Some(o.clone()), true), Decision::Stop);
        assert_eq!(decide(M::Always, Some(o.clone()), true), Decision::Snapshot { data: true, stream_after: true });
        assert_eq!(decide(M::WhenNeeded, Some(o.clone()), true), Decision::Resume(o.clone()));
        assert_eq!(decide(M::WhenNeeded, Some(o), false), Decision::Snapshot { data: true, stream_after: true });
    }

    #[test]
    fn an_interrupted_snapshot_is_taken_again() {
        use SnapshotMode as M;
        assert_eq!(decide(M::Initial, Some(offset(true)), true), Decision::Snapshot { data: true, stream_after: true });
        assert_eq!(decide(M::NoData, Some(offset(true)), true), Decision::Snapshot { data: false, stream_after: true });
    }

    #[test]
    fn unsupported_settings_name_the_property() {
        let mut c = crate::config::SnapshotConfig {
            mode: SnapshotMode::Custom,
            locking_mode: SnapshotLockingMode::Minimal,
            fetch_size: None,
            include_collection_list: Default::default(),
            select_statement_overrides: Default::default(),
            max_threads: 1,
            delay_ms: 0,
        };
        let e = validate(&c).unwrap_err().to_string();
        assert!(e.contains("snapshot.mode=custom") && e.contains("not supported yet"), "{e}");
        c.mode = SnapshotMode::Initial;
        c.locking_mode = SnapshotLockingMode::Extended;
        let e = validate(&c).unwrap_err().to_string();
        assert!(e.contains("snapshot.locking.mode=extended"), "{e}");
    }
}
