//! Registry operations: what each REST call does to the state, independent of HTTP.
//!
//! Reads answer from the state the tailer has built. A read that would answer "not found" first
//! re-reads the topic to its end and tries again, so a schema registered through another registry on
//! the same topic is found as soon as it is in the log (a consumer handed an id by another registry
//! never sees a spurious 40403).
//!
//! Writes (register, delete, config) are serialised in this process by one lock and follow one recipe:
//! read the topic to its current end, decide on that state (compatibility, id, version), produce the
//! record(s), and answer once the tailer has applied them. Ids: a schema whose canonical form already
//! has an id (in any subject, live or soft-deleted) reuses it; otherwise `max id ever seen + 1`.
//! Versions: `max version ever seen in the subject + 1`.
//!
//! Limit (documented, not hidden): two registries on the same topic do not elect a leader. If writes
//! reach both within the same produce round trip, both may pick the same id or version. The log order
//! then decides (every registry folds the same log to the same state, so they still agree), and the
//! writer whose record lost answers 50001 "retry" instead of an id that names another schema. Run one
//! writing registry (others read-only behind it) where concurrent writers are common.

use std::sync::Arc;

use apache_avro::Schema;
use serde_json::{json, Value};

use super::compat::{self, Level, ParsedSchema};
use super::error::ApiError;
use super::state::{State, VersionSel};
use super::store::{KafkaStore, Key, SchemaValue, StoreError};

impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> ApiError {
        match e {
            StoreError::Timeout(_) => ApiError::timeout(e),
            other => ApiError::store(other),
        }
    }
}

/// Parse a `{"schema": "...", "schemaType"?, "references"?}` request body into a valid Avro schema.
pub fn parse_schema_request(body: &[u8]) -> Result<ParsedSchema, ApiError> {
    let v: Value = serde_json::from_slice(body).map_err(|e| ApiError::bad_request(format!("request body: {e}")))?;
    let Some(obj) = v.as_object() else {
        return Err(ApiError::bad_request("request body: expected a JSON object"));
    };
    match obj.get("schemaType") {
        None | Some(Value::Null) => {}
        Some(Value::String(t)) if t.eq_ignore_ascii_case("AVRO") => {}
        Some(t) => return Err(ApiError::invalid_schema(format!("schema type {t} is not supported (only AVRO)"))),
    }
    match obj.get("references") {
        None | Some(Value::Null) => {}
        Some(Value::Array(a)) if a.is_empty() => {}
        Some(_) => return Err(ApiError::invalid_schema("schema references are not supported by this registry")),
    }
    let text = match obj.get("schema") {
        Some(Value::String(s)) => s,
        Some(_) => return Err(ApiError::invalid_schema("\"schema\" must be a string holding the schema JSON")),
        None => return Err(ApiError::invalid_schema("the request has no \"schema\"")),
    };
    compat::parse(text).map_err(ApiError::invalid_schema)
}

/// `{"compatibility": LEVEL}` (Confluent also accepts `compatibilityLevel`).
pub fn parse_level_request(body: &[u8]) -> Result<Level, ApiError> {
    let v: Value = serde_json::from_slice(body).map_err(|e| ApiError::bad_request(format!("request body: {e}")))?;
    let l = v.get("compatibility").or_else(|| v.get("compatibilityLevel")).and_then(|l| l.as_str());
    match l {
        Some(l) => l.parse().map_err(|()| ApiError::invalid_compatibility_level(l)),
        None => Err(ApiError::invalid_compatibility_level("")),
    }
}

fn parse_version(v: &str) -> Result<VersionSel, ApiError> {
    VersionSel::parse(v).ok_or_else(|| ApiError::invalid_version(v))
}

fn parse_id(id: &str) -> Result<i32, ApiError> {
    id.parse::<i32>().map_err(|_| ApiError::schema_id_not_found(id))
}

/// The registry: state (through the store) plus the write lock.
pub struct Registry {
    store: KafkaStore,
    writes: tokio::sync::Mutex<()>,
}

/// A subject version as the API returns it.
fn version_json(subject: &str, version: i32, id: i32, schema: &str) -> Value {
    json!({"subject": subject, "version": version, "id": id, "schema": schema})
}

impl Registry {
    pub fn new(store: KafkaStore) -> Registry {
        Registry { store, writes: tokio::sync::Mutex::new(()) }
    }

    pub fn store(&self) -> &KafkaStore {
        &self.store
    }

    /// Answer from the state; on "not found", read the topic to its end and answer again.
    async fn read<T>(&self, f: impl Fn(&State) -> Result<T, ApiError>) -> Result<T, ApiError> {
        let first = f(&self.store.read());
        match first {
            Err(e) if e.is_not_found() => {
                self.store.sync().await?;
                f(&self.store.read())
            }
            other => other,
        }
    }

    // ---- schemas and subjects ---------------------------------------------------------------------

    /// POST /subjects/{s}/versions
    pub async fn register(&self, subject: &str, new: &ParsedSchema) -> Result<i32, ApiError> {
        let _w = self.writes.lock().await;
        self.store.sync().await?;
        let (id, version) = {
            let st = self.store.read();
            if let Some((_, v)) = st.find(subject, &new.canonical, false) {
                return Ok(v.id);
            }
            let level = st.effective_level(subject);
            let reasons = check_against(&st, subject, level, &new.schema);
            if !reasons.is_empty() {
                tracing::info!(subject, %level, reasons = ?reasons, "registration refused: incompatible");
                return Err(ApiError::incompatible(subject, &reasons));
            }
            let id = match st.id_of(&new.canonical) {
                Some(id) => id,
                None => st.max_id().checked_add(1).ok_or_else(|| ApiError::store("schema ids exhausted"))?,
            };
            let version =
                st.max_version(subject).checked_add(1).ok_or_else(|| ApiError::store("versions exhausted"))?;
            (id, version)
        };
        let value = SchemaValue { subject: subject.to_string(), version, id, schema: new.text.clone(), deleted: false };
        self.store.write(&Key::Schema { subject: subject.to_string(), version }, Some(&value.to_json())).await?;
        let st = self.store.read();
        let won = st.version(subject, VersionSel::Number(version), true).is_some_and(|(_, v)| v.id == id)
            && st.canonical_of(id) == Some(new.canonical.as_str());
        if !won {
            tracing::warn!(subject, version, id, "registration lost a race with another registry on the same topic");
            return Err(ApiError::store(
                "a concurrent registration through another registry took this id or version; retry",
            ));
        }
        tracing::info!(subject, version, id, topic = self.store.topic(), "registered schema");
        Ok(id)
    }

    /// POST /subjects/{s}: the version of `subject` holding this schema.
    pub async fn lookup(&self, subject: &str, schema: &ParsedSchema, deleted: bool) -> Result<Value, ApiError> {
        self.read(|st| {
            if st.version_list(subject, deleted).is_empty() {
                return Err(ApiError::subject_not_found(subject));
            }
            let (n, v) = st.find(subject, &schema.canonical, deleted).ok_or_else(ApiError::schema_not_found)?;
            Ok(version_json(subject, n, v.id, &v.schema))
        })
        .await
    }

    /// GET /schemas/ids/{id}
    pub async fn schema_by_id(&self, id: &str) -> Result<Arc<str>, ApiError> {
        let n = parse_id(id)?;
        self.read(|st| st.schema_by_id(n).cloned().ok_or_else(|| ApiError::schema_id_not_found(id))).await
    }

    /// GET /schemas/ids/{id}/versions: (subject, version) pairs using the id.
    pub async fn id_versions(
        &self,
        id: &str,
        subject: Option<&str>,
        deleted: bool,
    ) -> Result<Vec<(String, i32)>, ApiError> {
        let n = parse_id(id)?;
        self.read(|st| {
            if st.schema_by_id(n).is_none() {
                return Err(ApiError::schema_id_not_found(id));
            }
            Ok(st
                .uses_of(n)
                .into_iter()
                .filter(|(s, _, d)| (deleted || !d) && subject.is_none_or(|f| f == *s))
                .map(|(s, v, _)| (s.to_string(), v))
                .collect())
        })
        .await
    }

    /// GET /subjects
    pub fn subjects(&self, deleted: bool, prefix: Option<&str>) -> Vec<String> {
        let mut s = self.store.read().subjects(deleted);
        if let Some(p) = prefix {
            s.retain(|x| x.starts_with(p));
        }
        s
    }

    /// GET /subjects/{s}/versions
    pub async fn versions(&self, subject: &str, deleted: bool) -> Result<Vec<i32>, ApiError> {
        self.read(|st| {
            let v: Vec<i32> = st.version_list(subject, deleted).into_iter().map(|(n, _)| n).collect();
            if v.is_empty() {
                Err(ApiError::subject_not_found(subject))
            } else {
                Ok(v)
            }
        })
        .await
    }

    /// GET /subjects/{s}/versions/{v}
    pub async fn version(&self, subject: &str, version: &str, deleted: bool) -> Result<Value, ApiError> {
        let sel = parse_version(version)?;
        self.read(|st| {
            if st.version_list(subject, deleted).is_empty() {
                return Err(ApiError::subject_not_found(subject));
            }
            let (n, v) =
                st.version(subject, sel, deleted).ok_or_else(|| ApiError::version_not_found(subject, version))?;
            Ok(version_json(subject, n, v.id, &v.schema))
        })
        .await
    }

    /// DELETE /subjects/{s}: soft-delete every live version, or (permanent) remove soft-deleted ones.
    pub async fn delete_subject(&self, subject: &str, permanent: bool) -> Result<Vec<i32>, ApiError> {
        let _w = self.writes.lock().await;
        self.store.sync().await?;
        let todo: Vec<(i32, i32, String)> = {
            let st = self.store.read();
            let all = st.version_list(subject, true);
            if all.is_empty() {
                return Err(ApiError::subject_not_found(subject));
            }
            let live: Vec<_> = all.iter().filter(|(_, v)| !v.deleted).collect();
            match (permanent, live.is_empty()) {
                (false, true) => return Err(ApiError::subject_soft_deleted(subject)),
                (true, false) => return Err(ApiError::subject_not_soft_deleted(subject)),
                (false, false) => live.iter().map(|(n, v)| (*n, v.id, v.schema.to_string())).collect(),
                (true, true) => all.iter().map(|(n, v)| (*n, v.id, v.schema.to_string())).collect(),
            }
        };
        for (version, id, schema) in &todo {
            let key = Key::Schema { subject: subject.to_string(), version: *version };
            if permanent {
                self.store.write(&key, None).await?;
            } else {
                let v = SchemaValue {
                    subject: subject.to_string(),
                    version: *version,
                    id: *id,
                    schema: schema.clone(),
                    deleted: true,
                };
                self.store.write(&key, Some(&v.to_json())).await?;
            }
        }
        tracing::info!(subject, permanent, versions = ?todo.iter().map(|t| t.0).collect::<Vec<_>>(), "deleted subject");
        Ok(todo.into_iter().map(|t| t.0).collect())
    }

    /// DELETE /subjects/{s}/versions/{v}
    pub async fn delete_version(&self, subject: &str, version: &str, permanent: bool) -> Result<i32, ApiError> {
        let sel = parse_version(version)?;
        let _w = self.writes.lock().await;
        self.store.sync().await?;
        let (n, id, schema) = {
            let st = self.store.read();
            if st.version_list(subject, true).is_empty() {
                return Err(ApiError::subject_not_found(subject));
            }
            // "latest" names the latest live version for a soft delete; a number names any stored version
            let any = permanent || matches!(sel, VersionSel::Number(_));
            let (n, v) = st.version(subject, sel, any).ok_or_else(|| ApiError::version_not_found(subject, version))?;
            match (permanent, v.deleted) {
                (false, true) => return Err(ApiError::version_soft_deleted(subject, n)),
                (true, false) => return Err(ApiError::version_not_soft_deleted(subject, n)),
                _ => (n, v.id, v.schema.to_string()),
            }
        };
        let key = Key::Schema { subject: subject.to_string(), version: n };
        if permanent {
            self.store.write(&key, None).await?;
        } else {
            let v = SchemaValue { subject: subject.to_string(), version: n, id, schema, deleted: true };
            self.store.write(&key, Some(&v.to_json())).await?;
        }
        tracing::info!(subject, version = n, permanent, "deleted version");
        Ok(n)
    }

    // ---- compatibility -----------------------------------------------------------------------------

    /// GET /config
    pub fn global_level(&self) -> Level {
        self.store.read().global_level().unwrap_or_default()
    }

    /// GET /config/{s}
    pub async fn subject_level(&self, subject: &str, default_to_global: bool) -> Result<Level, ApiError> {
        self.read(|st| match st.subject_level(subject) {
            Some(l) => Ok(l),
            None if default_to_global => Ok(st.global_level().unwrap_or_default()),
            None => Err(ApiError::subject_level_config_not_found(subject)),
        })
        .await
    }

    /// PUT /config, PUT /config/{s}
    pub async fn set_level(&self, subject: Option<&str>, level: Level) -> Result<Level, ApiError> {
        let _w = self.writes.lock().await;
        let key = Key::Config { subject: subject.map(str::to_string) };
        self.store.write(&key, Some(&json!({"compatibilityLevel": level.as_str()}))).await?;
        tracing::info!(subject = subject.unwrap_or("(global)"), %level, "compatibility level set");
        Ok(level)
    }

    /// DELETE /config, DELETE /config/{s}: back to the default; returns the level it had.
    pub async fn delete_level(&self, subject: Option<&str>) -> Result<Level, ApiError> {
        let _w = self.writes.lock().await;
        self.store.sync().await?;
        let old = {
            let st = self.store.read();
            match subject {
                None => st.global_level().unwrap_or_default(),
                Some(s) => st.subject_level(s).ok_or_else(|| ApiError::subject_level_config_not_found(s))?,
            }
        };
        self.store.write(&Key::Config { subject: subject.map(str::to_string) }, None).await?;
        Ok(old)
    }

    /// POST /compatibility/subjects/{s}/versions/{v} (`version` Some) or `.../versions` (None: the
    /// versions the subject's level compares with). Returns (compatible, reasons).
    pub async fn test_compatibility(
        &self,
        subject: &str,
        version: Option<&str>,
        new: &ParsedSchema,
    ) -> Result<(bool, Vec<String>), ApiError> {
        let reasons = match version {
            None => {
                self.store.sync().await?;
                let st = self.store.read();
                check_against(&st, subject, st.effective_level(subject), &new.schema)
            }
            Some(v) => {
                let sel = parse_version(v)?;
                let (level, old) = self
                    .read(|st| {
                        let level = st.effective_level(subject);
                        if st.version_list(subject, false).is_empty() {
                            return match sel {
                                VersionSel::Latest => Ok((level, None)),
                                VersionSel::Number(_) => Err(ApiError::subject_not_found(subject)),
                            };
                        }
                        let (_, old) =
                            st.version(subject, sel, false).ok_or_else(|| ApiError::version_not_found(subject, v))?;
                        Ok((level, Some(old.schema.clone())))
                    })
                    .await?;
                match old {
                    None => Vec::new(),
                    Some(old) => match compat::parse(&old) {
                        Ok(old) => compat::check_pair(level, &new.schema, &old.schema),
                        Err(e) => vec![format!("the stored schema does not parse: {e}")],
                    },
                }
            }
        };
        Ok((reasons.is_empty(), reasons))
    }
}

/// Check `new` against the live versions of `subject` that `level` compares with.
fn check_against(st: &State, subject: &str, level: Level, new: &Schema) -> Vec<String> {
    if level == Level::None {
        return Vec::new();
    }
    let live = st.version_list(subject, false);
    let relevant = if level.transitive() { &live[..] } else { &live[live.len().saturating_sub(1)..] };
    let mut olds = Vec::with_capacity(relevant.len());
    for (n, v) in relevant {
        match compat::parse(&v.schema) {
            Ok(p) => olds.push(p.schema),
            Err(e) => tracing::warn!(subject, version = n, error = %e, "stored schema does not parse; not compared"),
        }
    }
    let refs: Vec<&Schema> = olds.iter().collect();
    compat::check(level, new, &refs)
}
