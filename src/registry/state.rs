//! The registry's in-memory state: a pure fold of the `_schemas` records, in log order.
//!
//! Invariant: the state after reading offsets `0..n` depends only on those records, so two
//! registries that have read the same prefix of the topic answer every read the same way, and a
//! restart (a replay from offset 0) rebuilds exactly what was served before.
//!
//! * A SCHEMA record sets (or, as a tombstone, removes) one subject version: `{id, schema, deleted}`.
//!   The latest record for a key wins, as Kafka's compaction keeps it.
//! * Ids: `schemas` maps each id still used by some stored version (live or soft-deleted) to the
//!   first schema text seen for it; `by_canonical` maps canonical forms to ids for reuse.
//!   `max_id` is the highest id ever seen in the log, also in versions later removed, so an id is
//!   never handed out twice (the limit: once compaction has removed every record of a permanently
//!   deleted highest id, a replay can no longer know it existed).
//! * Versions: `max_version` per subject is the highest version ever seen, so a new version always gets
//!   a fresh number (Confluent's `latest including soft-deleted + 1`).
//! * CONFIG records set the global (subject `null`) or a subject's compatibility level.
//! * DELETE_SUBJECT (Confluent's soft subject delete) marks versions up to the given one deleted;
//!   CLEAR_SUBJECT drops soft-deleted versions up to the given one. We write neither (we write one
//!   SCHEMA record per version instead) but read them so that a topic written by Confluent's registry
//!   replays. Unknown key types (NOOP, MODE, CONTEXT…) are ignored.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use super::compat::{self, Level};
use super::store::{Key, Record, SchemaValue};

/// One stored subject version.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Version {
    pub id: i32,
    pub schema: Arc<str>,
    pub deleted: bool,
}

#[derive(Debug, Clone)]
struct IdEntry {
    schema: Arc<str>,
    canonical: String,
    /// stored versions (live or soft-deleted) that use this id
    uses: usize,
}

/// Which version a request names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum VersionSel {
    Latest,
    Number(i32),
}

impl VersionSel {
    /// Confluent's rule: "latest" or -1, or 1..=2^31-1.
    pub fn parse(s: &str) -> Option<VersionSel> {
        if s.eq_ignore_ascii_case("latest") {
            return Some(VersionSel::Latest);
        }
        match s.parse::<i32>() {
            Ok(-1) => Some(VersionSel::Latest),
            Ok(n) if n >= 1 => Some(VersionSel::Number(n)),
            _ => None,
        }
    }
}

#[derive(Debug, Default)]
pub struct State {
    subjects: BTreeMap<String, BTreeMap<i32, Version>>,
    schemas: HashMap<i32, IdEntry>,
    by_canonical: HashMap<String, i32>,
    max_id: i32,
    max_version: HashMap<String, i32>,
    global_level: Option<Level>,
    subject_levels: HashMap<String, Level>,
    /// records whose id was already taken by a different schema (written by racing registries)
    pub conflicts: u64,
}

impl State {
    /// Apply one record of the topic.
    pub fn apply(&mut self, rec: Record) {
        match rec.key {
            Key::Schema { subject, version } => match rec.value.map(SchemaValue::from_json) {
                Some(Some(v)) => self.put_version(subject, version, v),
                Some(None) => {
                    tracing::warn!(%subject, version, "_schemas: unreadable SCHEMA value ignored");
                }
                None => self.remove_version(&subject, version),
            },
            Key::Config { subject } => {
                let level = rec.value.as_ref().and_then(|v| v.get("compatibilityLevel")).and_then(|l| l.as_str());
                let level = match level {
                    Some(l) => match l.parse::<Level>() {
                        Ok(l) => Some(l),
                        Err(()) => {
                            tracing::warn!(level = l, "_schemas: unknown compatibility level ignored");
                            return;
                        }
                    },
                    None => None,
                };
                match (subject, level) {
                    (None, l) => self.global_level = l,
                    (Some(s), Some(l)) => {
                        self.subject_levels.insert(s, l);
                    }
                    (Some(s), None) => {
                        self.subject_levels.remove(&s);
                    }
                }
            }
            Key::DeleteSubject { subject } => {
                let upto = rec.value.as_ref().and_then(|v| v.get("version")).and_then(|v| v.as_i64());
                if let (Some(upto), Some(versions)) = (upto, self.subjects.get_mut(&subject)) {
                    for (_, v) in versions.range_mut(..=clamp(upto)) {
                        v.deleted = true;
                    }
                }
            }
            Key::ClearSubject { subject } => {
                let upto = rec.value.as_ref().and_then(|v| v.get("version")).and_then(|v| v.as_i64());
                if let Some(upto) = upto {
                    let doomed: Vec<i32> = self
                        .subjects
                        .get(&subject)
                        .map(|vs| vs.range(..=clamp(upto)).filter(|(_, v)| v.deleted).map(|(n, _)| *n).collect())
                        .unwrap_or_default();
                    for n in doomed {
                        self.remove_version(&subject, n);
                    }
                }
            }
            Key::Other(kind) => tracing::debug!(keytype = %kind, "_schemas: record type ignored"),
        }
    }

    fn put_version(&mut self, subject: String, version: i32, v: SchemaValue) {
        self.remove_version(&subject, version);
        self.max_id = self.max_id.max(v.id);
        let mv = self.max_version.entry(subject.clone()).or_insert(0);
        *mv = (*mv).max(version);
        let canonical = compat::canonical(&v.schema);
        let schema: Arc<str> = match self.schemas.get_mut(&v.id) {
            Some(e) => {
                if e.canonical != canonical {
                    self.conflicts += 1;
                    tracing::warn!(
                        id = v.id, %subject, version,
                        "_schemas: id already names a different schema (concurrent writers?); the first one is kept for the id"
                    );
                }
                e.uses += 1;
                Arc::from(v.schema.as_str())
            }
            None => {
                let text: Arc<str> = Arc::from(v.schema.as_str());
                self.by_canonical.entry(canonical.clone()).or_insert(v.id);
                self.schemas.insert(v.id, IdEntry { schema: text.clone(), canonical, uses: 1 });
                text
            }
        };
        self.subjects.entry(subject).or_default().insert(version, Version { id: v.id, schema, deleted: v.deleted });
    }

    fn remove_version(&mut self, subject: &str, version: i32) {
        let Some(versions) = self.subjects.get_mut(subject) else { return };
        let Some(old) = versions.remove(&version) else { return };
        if versions.is_empty() {
            self.subjects.remove(subject);
        }
        if let Some(e) = self.schemas.get_mut(&old.id) {
            e.uses -= 1;
            if e.uses == 0 {
                let e = self.schemas.remove(&old.id).expect("entry present");
                if self.by_canonical.get(&e.canonical) == Some(&old.id) {
                    self.by_canonical.remove(&e.canonical);
                }
            }
        }
    }

    // ---- reads --------------------------------------------------------------------------------

    /// Subjects with a live version (or any version, with `deleted`), sorted.
    pub fn subjects(&self, deleted: bool) -> Vec<String> {
        self.subjects
            .iter()
            .filter(|(_, vs)| deleted || vs.values().any(|v| !v.deleted))
            .map(|(s, _)| s.clone())
            .collect()
    }

    /// All stored versions of a subject (live and soft-deleted), by number.
    pub fn versions(&self, subject: &str) -> Option<&BTreeMap<i32, Version>> {
        self.subjects.get(subject)
    }

    /// Live versions (or all, with `deleted`), oldest first.
    pub fn version_list(&self, subject: &str, deleted: bool) -> Vec<(i32, &Version)> {
        self.subjects
            .get(subject)
            .map(|vs| vs.iter().filter(|(_, v)| deleted || !v.deleted).map(|(n, v)| (*n, v)).collect())
            .unwrap_or_default()
    }

    /// The version `sel` names among live versions (or all, with `deleted`).
    pub fn version(&self, subject: &str, sel: VersionSel, deleted: bool) -> Option<(i32, &Version)> {
        let vs = self.subjects.get(subject)?;
        match sel {
            VersionSel::Latest => vs.iter().rev().find(|(_, v)| deleted || !v.deleted).map(|(n, v)| (*n, v)),
            VersionSel::Number(n) => vs.get(&n).filter(|v| deleted || !v.deleted).map(|v| (n, v)),
        }
    }

    /// The schema text an id names.
    pub fn schema_by_id(&self, id: i32) -> Option<&Arc<str>> {
        self.schemas.get(&id).map(|e| &e.schema)
    }

    /// (subject, version, deleted) of every stored version that uses `id`.
    pub fn uses_of(&self, id: i32) -> Vec<(&str, i32, bool)> {
        let mut out = Vec::new();
        for (s, vs) in &self.subjects {
            for (n, v) in vs {
                if v.id == id {
                    out.push((s.as_str(), *n, v.deleted));
                }
            }
        }
        out
    }

    /// The id already assigned to a schema with this canonical form, if any.
    pub fn id_of(&self, canonical: &str) -> Option<i32> {
        self.by_canonical.get(canonical).copied()
    }

    /// Canonical form of the schema an id names.
    pub fn canonical_of(&self, id: i32) -> Option<&str> {
        self.schemas.get(&id).map(|e| e.canonical.as_str())
    }

    /// The version of `subject` (live, or any with `deleted`) whose schema has this canonical form.
    pub fn find(&self, subject: &str, canonical: &str, deleted: bool) -> Option<(i32, &Version)> {
        let vs = self.subjects.get(subject)?;
        vs.iter()
            .filter(|(_, v)| deleted || !v.deleted)
            .find(|(_, v)| self.canonical_of(v.id) == Some(canonical))
            .map(|(n, v)| (*n, v))
    }

    pub fn max_id(&self) -> i32 {
        self.max_id
    }

    pub fn max_version(&self, subject: &str) -> i32 {
        self.max_version.get(subject).copied().unwrap_or(0)
    }

    pub fn global_level(&self) -> Option<Level> {
        self.global_level
    }

    pub fn subject_level(&self, subject: &str) -> Option<Level> {
        self.subject_levels.get(subject).copied()
    }

    /// Subject level, else global level, else BACKWARD.
    pub fn effective_level(&self, subject: &str) -> Level {
        self.subject_level(subject).or(self.global_level).unwrap_or_default()
    }
}

fn clamp(v: i64) -> i32 {
    v.clamp(i64::from(i32::MIN), i64::from(i32::MAX)) as i32
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn schema_rec(subject: &str, version: i32, id: i32, schema: &str, deleted: bool) -> Record {
        Record {
            key: Key::Schema { subject: subject.into(), version },
            value: Some(
                json!({"subject": subject, "version": version, "id": id, "schema": schema, "deleted": deleted}),
            ),
        }
    }

    #[test]
    fn fold_of_records() {
        let mut s = State::default();
        s.apply(schema_rec("a", 1, 1, r#""string""#, false));
        s.apply(schema_rec("b", 1, 1, r#"{"type":"string"}"#, false));
        s.apply(schema_rec("a", 2, 2, r#""int""#, false));
        assert_eq!(s.subjects(false), vec!["a", "b"]);
        assert_eq!(s.version("a", VersionSel::Latest, false).unwrap().0, 2);
        assert_eq!(s.id_of(&compat::canonical(r#""string""#)), Some(1));
        // soft delete, then tombstone
        s.apply(schema_rec("a", 2, 2, r#""int""#, true));
        assert_eq!(s.version("a", VersionSel::Latest, false).unwrap().0, 1);
        s.apply(Record { key: Key::Schema { subject: "a".into(), version: 2 }, value: None });
        assert!(s.schema_by_id(2).is_none());
        assert_eq!(s.max_id(), 2, "ids of removed versions are never reused");
        assert_eq!(s.max_version("a"), 2);
        // config
        s.apply(Record { key: Key::Config { subject: None }, value: Some(json!({"compatibilityLevel": "FULL"})) });
        s.apply(Record {
            key: Key::Config { subject: Some("b".into()) },
            value: Some(json!({"compatibilityLevel": "NONE"})),
        });
        assert_eq!(s.effective_level("a"), Level::Full);
        assert_eq!(s.effective_level("b"), Level::None);
        s.apply(Record { key: Key::Config { subject: Some("b".into()) }, value: None });
        assert_eq!(s.effective_level("b"), Level::Full);
        // Confluent's soft subject delete
        s.apply(Record {
            key: Key::DeleteSubject { subject: "b".into() },
            value: Some(json!({"subject":"b","version":1})),
        });
        assert!(s.subjects(false) == vec!["a"]);
        assert_eq!(VersionSel::parse("-1"), Some(VersionSel::Latest));
        assert_eq!(VersionSel::parse("0"), None);
        assert_eq!(VersionSel::parse("x"), None);
    }
}
