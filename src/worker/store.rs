//! Where a worker keeps its connectors' configurations and target states, so a restarted worker
//! runs the same connectors in the same states.
//!
//! * **`config.storage.topic`** (distributed Connect's config topic, one partition, compacted):
//!   the records Kafka Connect's `KafkaConfigBackingStore` writes, keys as UTF-8 strings and values
//!   as schemaless JSON: `connector-<name>` → `{"properties":{..}}`, `target-state-<name>` →
//!   `{"state":"STARTED|PAUSED","state.v2":"STARTED|PAUSED|STOPPED"}` (`state` says `PAUSED` for
//!   `STOPPED`, as Connect writes it for older workers), and the task records Connect keeps next
//!   to them: `task-<name>-0` → `{"properties":{..task config..}}` and `commit-<name>` →
//!   `{"tasks":N}` (0 while stopped). Deleting a connector writes tombstones for
//!   `connector-<name>` and `target-state-<name>`. Read back: the last record per key wins,
//!   `state.v2` over `state`, unknown keys (`session-key`, `tasks-fencing-*`, ...) ignored; so a
//!   Kafka Connect worker can take over the topic, and we can take over Connect's.
//! * **a JSON file** otherwise: `config.storage.file.filename` when the worker sets it, else
//!   `<offset.storage.file.filename>.connectors.json` next to the offsets file;
//!   `{"connectors":{"<name>":{"config":{..},"target_state":"STARTED"}}}`, rewritten atomically
//!   (temporary file, fsync, rename) with mode 0600 — it holds database passwords, like
//!   Connect's config topic.
//!
//! Every write is acknowledged (Kafka) or fsynced (file) before the REST call answers.

use std::collections::BTreeMap;
use std::path::PathBuf;

use serde_json::{json, Map, Value};

use super::entities::ConfigMap;
use crate::config::{ConfigError, WorkerConfig};
use crate::offsets::file::write_atomically;
use crate::sink::topics::{self, InternalProducer, KafkaClient, TopicSpec};

/// What a connector is asked to be (Connect's `TargetState`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TargetState {
    /// Running (`RUNNING` in the REST API).
    Started,
    /// Paused: no records are emitted; resumes where it stopped.
    Paused,
    /// Stopped: no task at all; its offsets may be changed.
    Stopped,
}

impl TargetState {
    /// Connect's stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            TargetState::Started => "STARTED",
            TargetState::Paused => "PAUSED",
            TargetState::Stopped => "STOPPED",
        }
    }

    /// A stored name (`STARTED`, `PAUSED`, `STOPPED`).
    pub fn parse(s: &str) -> Option<TargetState> {
        match s.trim().to_ascii_uppercase().as_str() {
            "STARTED" => Some(TargetState::Started),
            "PAUSED" => Some(TargetState::Paused),
            "STOPPED" => Some(TargetState::Stopped),
            _ => None,
        }
    }

    /// The `initial_state` of `POST /connectors` (`RUNNING`, `PAUSED`, `STOPPED`).
    pub fn from_initial_state(s: &str) -> Option<TargetState> {
        match s.trim().to_ascii_uppercase().as_str() {
            "RUNNING" => Some(TargetState::Started),
            "PAUSED" => Some(TargetState::Paused),
            "STOPPED" => Some(TargetState::Stopped),
            _ => None,
        }
    }
}

/// A stored connector.
#[derive(Debug, Clone, PartialEq)]
pub struct StoredConnector {
    pub config: ConfigMap,
    pub target: TargetState,
}

/// Errors of the config store (definite for the request that hit them; the worker keeps running).
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("connector config file {path} (config.storage.file.filename): {message}")]
    File { path: PathBuf, message: String },
    #[error("connector config topic {topic} (config.storage.topic): {message}")]
    Kafka { topic: String, message: String },
}

/// Where the configs are kept, from the worker properties.
#[derive(Debug, Clone)]
pub enum ConfigStorage {
    File(PathBuf),
    Kafka { client: KafkaClient, topic: String, replication_factor: i16 },
}

impl ConfigStorage {
    /// Module doc: the config topic, else the config file, else a file next to the offsets file.
    pub fn from_worker(worker: &WorkerConfig) -> Result<ConfigStorage, ConfigError> {
        const RF: &str = "config.storage.replication.factor";
        if let Some(topic) = worker.raw.get("config.storage.topic").map(str::trim).filter(|t| !t.is_empty()) {
            let replication_factor = match worker.raw.get(RF).map(str::trim) {
                None | Some("") => 3,
                Some(v) => match v.parse::<i16>() {
                    Ok(n) if n > 0 || n == -1 => n,
                    _ => {
                        return Err(ConfigError::invalid(
                            RF,
                            v,
                            "expected a positive number (or -1 for the broker default)",
                        ))
                    }
                },
            };
            let client = KafkaClient {
                bootstrap_servers: worker.bootstrap_servers.clone(),
                settings: worker.internal_client()?,
            };
            return Ok(ConfigStorage::Kafka { client, topic: topic.to_string(), replication_factor });
        }
        if let Some(f) = worker.raw.get("config.storage.file.filename").map(str::trim).filter(|f| !f.is_empty()) {
            return Ok(ConfigStorage::File(PathBuf::from(f)));
        }
        if let Some(offsets) = &worker.offset_storage_file_filename {
            let mut name = offsets.as_os_str().to_owned();
            name.push(".connectors.json");
            return Ok(ConfigStorage::File(PathBuf::from(name)));
        }
        Err(ConfigError::Missing {
            property:
                "config.storage.topic (or config.storage.file.filename), where the worker keeps connector configs"
                    .into(),
        })
    }

    /// For messages.
    pub fn describe(&self) -> String {
        match self {
            ConfigStorage::File(p) => format!("file {}", p.display()),
            ConfigStorage::Kafka { topic, .. } => format!("topic {topic} (config.storage.topic)"),
        }
    }
}

/// The open store.
pub enum ConfigStore {
    File { path: PathBuf, connectors: BTreeMap<String, StoredConnector> },
    Kafka(Box<KafkaConfigStore>),
}

/// The config topic and what it holds.
pub struct KafkaConfigStore {
    topic: String,
    producer: InternalProducer,
    connectors: BTreeMap<String, StoredConnector>,
}

impl ConfigStore {
    /// Open (the topic: create it when missing, read it to its end) and return what it holds.
    pub async fn open(storage: &ConfigStorage) -> Result<(ConfigStore, BTreeMap<String, StoredConnector>), StoreError> {
        match storage {
            ConfigStorage::File(path) => {
                let connectors = read_file(path)?;
                Ok((ConfigStore::File { path: path.clone(), connectors: connectors.clone() }, connectors))
            }
            ConfigStorage::Kafka { client, topic, replication_factor } => {
                let err = |e: topics::TopicError| StoreError::Kafka { topic: topic.clone(), message: e.to_string() };
                let spec = TopicSpec {
                    partitions: 1,
                    replication_factor: i32::from(*replication_factor),
                    configs: &[("cleanup.policy", "compact")],
                };
                if client.create(topic, &spec).await.map_err(err)? {
                    tracing::info!(topic = %topic, "created the connector config topic (config.storage.topic)");
                }
                let records = client.read_all(topic).await.map_err(err)?.unwrap_or_default();
                let connectors = replay(records.iter().map(|r| (r.key.as_deref(), r.value.as_deref())));
                let producer = client.producer(topic).map_err(err)?;
                let store = KafkaConfigStore { topic: topic.clone(), producer, connectors: connectors.clone() };
                Ok((ConfigStore::Kafka(Box::new(store)), connectors))
            }
        }
    }

    fn connectors(&mut self) -> &mut BTreeMap<String, StoredConnector> {
        match self {
            ConfigStore::File { connectors, .. } => connectors,
            ConfigStore::Kafka(k) => &mut k.connectors,
        }
    }

    /// Store a connector's config; `target` when given (a new connector), else its current one.
    /// `task_config` is what its one task runs with (Connect's task record).
    pub async fn put_config(
        &mut self,
        name: &str,
        config: &ConfigMap,
        target: Option<TargetState>,
        task_config: &ConfigMap,
    ) -> Result<(), StoreError> {
        let effective =
            target.or_else(|| self.connectors().get(name).map(|c| c.target)).unwrap_or(TargetState::Started);
        self.connectors().insert(name.to_string(), StoredConnector { config: config.clone(), target: effective });
        match self {
            ConfigStore::File { path, connectors } => write_file(path, connectors),
            ConfigStore::Kafka(k) => {
                let mut records = Vec::new();
                if let Some(t) = target {
                    records.push((format!("target-state-{name}"), Some(target_value(t))));
                }
                records.push((format!("connector-{name}"), Some(json!({ "properties": config }))));
                records.extend(task_records(name, effective, task_config));
                k.send(records).await
            }
        }
    }

    /// Store a connector's target state.
    pub async fn put_target(
        &mut self,
        name: &str,
        target: TargetState,
        task_config: &ConfigMap,
    ) -> Result<(), StoreError> {
        if let Some(c) = self.connectors().get_mut(name) {
            c.target = target;
        }
        match self {
            ConfigStore::File { path, connectors } => write_file(path, connectors),
            ConfigStore::Kafka(k) => {
                let mut records = vec![(format!("target-state-{name}"), Some(target_value(target)))];
                records.extend(task_records(name, target, task_config));
                k.send(records).await
            }
        }
    }

    /// Forget a connector.
    pub async fn remove(&mut self, name: &str) -> Result<(), StoreError> {
        self.connectors().remove(name);
        match self {
            ConfigStore::File { path, connectors } => write_file(path, connectors),
            ConfigStore::Kafka(k) => {
                k.send(vec![(format!("connector-{name}"), None), (format!("target-state-{name}"), None)]).await
            }
        }
    }
}

impl KafkaConfigStore {
    /// Send `records` in order and wait until Kafka acknowledged each.
    async fn send(&mut self, records: Vec<(String, Option<Value>)>) -> Result<(), StoreError> {
        let err = |e: topics::TopicError| StoreError::Kafka { topic: self.topic.clone(), message: e.to_string() };
        let mut deliveries = Vec::with_capacity(records.len());
        for (key, value) in &records {
            let bytes = value.as_ref().map(|v| v.to_string().into_bytes());
            deliveries.push(
                topics::send(&self.producer, &self.topic, 0, Some(key.as_bytes()), bytes.as_deref()).map_err(err)?,
            );
        }
        for d in deliveries {
            topics::delivered(&self.topic, d).await.map_err(err)?;
        }
        Ok(())
    }
}

/// `{"state":..,"state.v2":..}` as Connect writes it.
fn target_value(t: TargetState) -> Value {
    let v1 = if t == TargetState::Stopped { TargetState::Paused } else { t };
    json!({ "state": v1.as_str(), "state.v2": t.as_str() })
}

/// The task records Connect keeps for a connector in state `target`: none while stopped.
fn task_records(name: &str, target: TargetState, task_config: &ConfigMap) -> Vec<(String, Option<Value>)> {
    if target == TargetState::Stopped {
        return vec![(format!("commit-{name}"), Some(json!({ "tasks": 0 })))];
    }
    vec![
        (format!("task-{name}-0"), Some(json!({ "properties": task_config }))),
        (format!("commit-{name}"), Some(json!({ "tasks": 1 }))),
    ]
}

/// The connectors a sequence of config-topic records leaves (module doc).
pub fn replay<'a>(
    records: impl Iterator<Item = (Option<&'a [u8]>, Option<&'a [u8]>)>,
) -> BTreeMap<String, StoredConnector> {
    let mut configs: BTreeMap<String, ConfigMap> = BTreeMap::new();
    let mut targets: BTreeMap<String, TargetState> = BTreeMap::new();
    for (key, value) in records {
        let Some(key) = key.and_then(|k| std::str::from_utf8(k).ok()) else { continue };
        let value: Option<Value> = value.and_then(|v| serde_json::from_slice(v).ok());
        if let Some(name) = key.strip_prefix("target-state-") {
            let state = value.as_ref().and_then(|v| {
                let v2 = v.get("state.v2").and_then(Value::as_str).and_then(TargetState::parse);
                v2.or_else(|| v.get("state").and_then(Value::as_str).and_then(TargetState::parse))
            });
            match state {
                Some(s) => targets.insert(name.to_string(), s),
                None => targets.remove(name),
            };
        } else if let Some(name) = key.strip_prefix("connector-") {
            match value.as_ref().and_then(|v| v.get("properties")).and_then(Value::as_object) {
                Some(props) => configs.insert(name.to_string(), string_values(props)),
                None => configs.remove(name),
            };
        }
    }
    configs
        .into_iter()
        .map(|(name, config)| {
            let target = targets.get(&name).copied().unwrap_or(TargetState::Started);
            (name, StoredConnector { config, target })
        })
        .collect()
}

/// A JSON object with every value as a string (Connect stores strings; nulls dropped).
fn string_values(props: &Map<String, Value>) -> ConfigMap {
    props
        .iter()
        .filter_map(|(k, v)| match v {
            Value::String(s) => Some((k.clone(), Value::String(s.clone()))),
            Value::Null => None,
            other => Some((k.clone(), Value::String(other.to_string()))),
        })
        .collect()
}

fn file_err(path: &std::path::Path, message: impl std::fmt::Display) -> StoreError {
    StoreError::File { path: path.to_path_buf(), message: message.to_string() }
}

fn read_file(path: &std::path::Path) -> Result<BTreeMap<String, StoredConnector>, StoreError> {
    let bytes = match std::fs::read(path) {
        Ok(b) => b,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(BTreeMap::new()),
        Err(e) => return Err(file_err(path, e)),
    };
    let v: Value = serde_json::from_slice(&bytes).map_err(|e| file_err(path, format!("not valid JSON: {e}")))?;
    let Some(connectors) = v.get("connectors").and_then(Value::as_object) else {
        return Err(file_err(path, "expected {\"connectors\":{..}}"));
    };
    let mut out = BTreeMap::new();
    for (name, c) in connectors {
        let Some(config) = c.get("config").and_then(Value::as_object) else {
            return Err(file_err(path, format!("connector {name:?} has no \"config\" object")));
        };
        let target = match c.get("target_state").and_then(Value::as_str) {
            None => TargetState::Started,
            Some(s) => TargetState::parse(s)
                .ok_or_else(|| file_err(path, format!("connector {name:?}: unknown target_state {s:?}")))?,
        };
        out.insert(name.clone(), StoredConnector { config: string_values(config), target });
    }
    Ok(out)
}

fn write_file(path: &std::path::Path, connectors: &BTreeMap<String, StoredConnector>) -> Result<(), StoreError> {
    let mut all = Map::new();
    for (name, c) in connectors {
        all.insert(name.clone(), json!({ "config": c.config, "target_state": c.target.as_str() }));
    }
    let text = serde_json::to_vec_pretty(&json!({ "connectors": all })).map_err(|e| file_err(path, e))?;
    write_atomically(path, &text, Some(0o600)).map_err(|e| file_err(path, e))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cfg(pairs: &[(&str, &str)]) -> ConfigMap {
        pairs.iter().map(|(k, v)| (k.to_string(), Value::String(v.to_string()))).collect()
    }

    type Record = (Option<Vec<u8>>, Option<Vec<u8>>);

    #[test]
    fn replay_follows_connects_records() {
        let recs: Vec<Record> = vec![
            (Some(b"connector-a".to_vec()), Some(br#"{"properties":{"name":"a","tasks.max":"1"}}"#.to_vec())),
            (Some(b"task-a-0".to_vec()), Some(br#"{"properties":{"name":"a"}}"#.to_vec())),
            (Some(b"commit-a".to_vec()), Some(br#"{"tasks":1}"#.to_vec())),
            (Some(b"connector-b".to_vec()), Some(br#"{"properties":{"name":"b"}}"#.to_vec())),
            (Some(b"target-state-b".to_vec()), Some(br#"{"state":"PAUSED","state.v2":"STOPPED"}"#.to_vec())),
            (Some(b"connector-c".to_vec()), Some(br#"{"properties":{"name":"c"}}"#.to_vec())),
            (Some(b"target-state-c".to_vec()), Some(br#"{"state":"PAUSED"}"#.to_vec())),
            (Some(b"connector-d".to_vec()), Some(br#"{"properties":{"name":"d"}}"#.to_vec())),
            (Some(b"connector-d".to_vec()), None),
            (Some(b"target-state-d".to_vec()), None),
            (
                Some(b"session-key".to_vec()),
                Some(br#"{"key":"x","algorithm":"HmacSHA256","creation-timestamp":1}"#.to_vec()),
            ),
            (None, Some(b"garbage".to_vec())),
            (Some(b"connector-e".to_vec()), Some(b"not json".to_vec())),
        ];
        let got = replay(recs.iter().map(|(k, v)| (k.as_deref(), v.as_deref())));
        assert_eq!(got.keys().collect::<Vec<_>>(), ["a", "b", "c"]);
        assert_eq!(got["a"].target, TargetState::Started);
        assert_eq!(got["a"].config, cfg(&[("name", "a"), ("tasks.max", "1")]));
        assert_eq!(got["b"].target, TargetState::Stopped);
        assert_eq!(got["c"].target, TargetState::Paused);
    }

    #[test]
    fn target_values_are_connects() {
        assert_eq!(target_value(TargetState::Stopped).to_string(), r#"{"state":"PAUSED","state.v2":"STOPPED"}"#);
        assert_eq!(target_value(TargetState::Started).to_string(), r#"{"state":"STARTED","state.v2":"STARTED"}"#);
    }

    #[tokio::test]
    async fn file_store_round_trips_and_is_private() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("offsets.dat.connectors.json");
        let storage = ConfigStorage::File(path.clone());
        let (mut store, loaded) = ConfigStore::open(&storage).await.unwrap();
        assert!(loaded.is_empty());
        let a = cfg(&[("name", "a"), ("database.password", "secret")]);
        store.put_config("a", &a, Some(TargetState::Paused), &a).await.unwrap();
        store.put_config("b", &cfg(&[("name", "b")]), None, &a).await.unwrap();
        store.put_target("b", TargetState::Stopped, &a).await.unwrap();
        store.put_config("a", &cfg(&[("name", "a"), ("x", "1")]), None, &a).await.unwrap();
        let (_, loaded) = ConfigStore::open(&storage).await.unwrap();
        assert_eq!(loaded["a"].target, TargetState::Paused, "a config update keeps the target state");
        assert_eq!(loaded["a"].config, cfg(&[("name", "a"), ("x", "1")]));
        assert_eq!(loaded["b"].target, TargetState::Stopped);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            assert_eq!(std::fs::metadata(&path).unwrap().permissions().mode() & 0o777, 0o600);
        }
        store.remove("a").await.unwrap();
        let (_, loaded) = ConfigStore::open(&storage).await.unwrap();
        assert_eq!(loaded.keys().collect::<Vec<_>>(), ["b"]);
        std::fs::write(&path, b"{").unwrap();
        assert!(ConfigStore::open(&storage).await.err().unwrap().to_string().contains("not valid JSON"));
    }
}
