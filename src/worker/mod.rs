//! worker: a Kafka Connect worker for this connector (`cdc-connector serve`): it hosts any number
//! of MySQL/MariaDB connectors, each one `pipeline::run` in its own tokio task with its own
//! shutdown handle, and manages them the way Connect's herder does, for the REST API (`rest`).
//!
//! **States.** Each connector has a *target state* (Connect's `TargetState`, persisted by
//! `store`): `STARTED` (shown as `RUNNING`), `PAUSED` or `STOPPED`. What runs follows it:
//!
//! ```text
//!            POST/PUT config              pause                    stop
//!   (none) ─────────────────▶ RUNNING ◀──────────▶ PAUSED ──────────────▶ STOPPED
//!                              │  ▲      resume                 ◀──────── (no task;
//!                              │  └──────────────────────────── resume    offsets may
//!                              ▼ pipeline error                           be changed)
//!                        task FAILED (trace) ── restart / tasks/0/restart ──▶ RUNNING
//! ```
//!
//! The connector instance is FAILED (with a trace) only when its stored config cannot run (a
//! worker restarted on a config that no longer parses); pipeline errors fail its one task
//! (`id` 0), as a Debezium task fails in Connect, while the connector stays RUNNING.
//!
//! **Pause = a clean stop, resume = a restart from the stored offset.** Connect pauses a source
//! task by no longer polling it; Debezium keeps its binlog connection. Here the pipeline is shut
//! down the same way SIGTERM stops the standalone binary: it stops reading, waits until Kafka
//! acknowledged every record it produced, commits the offset of the last one and closes. Resume
//! starts it again from that offset, so a paused connector emits nothing and loses nothing; the
//! cost is a reconnect (and the schema history replay) on resume. A snapshot interrupted by a
//! pause is taken again from the start on resume, as Debezium does after any restart.
//!
//! **Requests** that change connectors run one at a time (Connect's standalone herder is
//! `synchronized` too); each waits until the pipelines it stops have drained, so a `PATCH` of
//! offsets right after `stop` sees the final offset. Reads (status, config, lists) never wait for
//! them. Config changes are stored (`store`) before they take effect.
//!
//! **Secrets.** Connector configs hold `database.password`: `GET .../config` returns it as Connect
//! does, but nothing here logs a config or a value; log lines name connectors and states only.

pub mod build;
pub mod entities;
pub mod offsets;
pub mod rest;
pub mod store;
pub mod validate;

use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures_util::FutureExt;
use metrics_exporter_prometheus::PrometheusRecorder;
use serde_json::Value;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;
use tracing::{error, info, warn, Instrument};

use crate::config::{ConnectorConfig, SnapshotMode, WorkerConfig};
use crate::telemetry::Telemetry;
use entities::{
    ConfigMap, ConnectorInfo, ConnectorState, ConnectorStateInfo, ConnectorTaskId, TaskInfo, TaskState, SOURCE,
};
use store::{ConfigStorage, ConfigStore, StoreError, TargetState};

/// How long stopping a pipeline may take (draining Kafka is bounded by 30 s in the pipeline)
/// before its task is aborted.
const STOP_TIMEOUT: Duration = Duration::from_secs(90);

/// Errors of a worker request, by what the caller did wrong (the REST layer maps them to 404,
/// 409, 400 and 500 with Connect's messages).
#[derive(Debug, thiserror::Error)]
pub enum WorkerError {
    #[error("{0}")]
    NotFound(String),
    #[error("{0}")]
    Conflict(String),
    #[error("{0}")]
    BadRequest(String),
    #[error("{0}")]
    Internal(String),
}

impl From<StoreError> for WorkerError {
    fn from(e: StoreError) -> Self {
        WorkerError::Internal(e.to_string())
    }
}

fn not_found(name: &str) -> WorkerError {
    WorkerError::NotFound(format!("Connector {name} not found"))
}

/// A connector's task: `Some(trace)` once it failed.
#[derive(Default)]
struct TaskCell {
    failed: Mutex<Option<String>>,
}

impl TaskCell {
    fn failure(&self) -> Option<String> {
        self.failed.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }

    fn fail(&self, trace: String) {
        *self.failed.lock().unwrap_or_else(|p| p.into_inner()) = Some(trace);
    }
}

/// What the REST API reads about a connector.
#[derive(Clone)]
struct Entry {
    config: ConfigMap,
    target: TargetState,
    /// The connector itself failed (its config cannot run): the trace.
    failed: Option<String>,
    /// Its task, while it has one (not stopped, not failed itself).
    task: Option<Arc<TaskCell>>,
}

/// A pipeline running in a tokio task.
struct Running {
    shutdown: oneshot::Sender<()>,
    stopping: Arc<AtomicBool>,
    handle: JoinHandle<()>,
}

/// State changed only by requests, one at a time.
struct Ops {
    store: ConfigStore,
    running: HashMap<String, Running>,
    /// The worker is shutting down: nothing starts any more.
    closed: bool,
}

/// The worker.
pub struct Worker {
    config: WorkerConfig,
    worker_id: String,
    recorder: Arc<PrometheusRecorder>,
    storage: ConfigStorage,
    kafka_cluster_id: Option<String>,
    ops: tokio::sync::Mutex<Ops>,
    view: Mutex<BTreeMap<String, Entry>>,
}

/// Whether `restart` restarted something (for the 202 body) or only the connector instance.
pub enum Restarted {
    /// Plain `POST .../restart` (neither `includeTasks` nor `onlyFailed`): 204.
    ConnectorOnly,
    /// The state as the restart began, restarted parts `RESTARTING`: 202.
    Plan(ConnectorStateInfo),
}

impl Worker {
    /// Open the config store, start every stored connector in its target state.
    pub async fn start(
        config: WorkerConfig,
        worker_id: String,
        recorder: Arc<PrometheusRecorder>,
        kafka_cluster_id: Option<String>,
    ) -> Result<Arc<Worker>, String> {
        let storage = ConfigStorage::from_worker(&config).map_err(|e| e.to_string())?;
        // The offsets store must be valid for any connector to run: check it once, up front.
        crate::offsets::OffsetStorage::from_worker(&config).map_err(|e| e.to_string())?;
        let (store, stored) = ConfigStore::open(&storage).await.map_err(|e| e.to_string())?;
        info!(store = %storage.describe(), connectors = stored.len(), "connector configs loaded");
        let worker = Arc::new(Worker {
            config,
            worker_id,
            recorder,
            storage,
            kafka_cluster_id,
            ops: tokio::sync::Mutex::new(Ops { store, running: HashMap::new(), closed: false }),
            view: Mutex::new(BTreeMap::new()),
        });
        {
            let mut ops = worker.ops.lock().await;
            for (name, c) in stored {
                worker.set_entry(&name, Entry { config: c.config, target: c.target, failed: None, task: None });
                worker.apply(&mut ops, &name).await;
            }
        }
        Ok(worker)
    }

    /// Stop every pipeline (each drains and commits); target states stay as stored, so the next
    /// start resumes them.
    pub async fn shutdown(&self) {
        let mut ops = self.ops.lock().await;
        ops.closed = true;
        let names: Vec<String> = ops.running.keys().cloned().collect();
        let stops: Vec<_> = names.iter().filter_map(|n| ops.running.remove(n).map(|r| (n.clone(), r))).collect();
        for (_, r) in &stops {
            r.stopping.store(true, Ordering::SeqCst);
        }
        let waits = stops.into_iter().map(|(name, r)| {
            let _ = r.shutdown.send(());
            stop_wait(name, r.handle)
        });
        futures_util::future::join_all(waits).await;
    }

    /// `host:port` of this worker, as the status shows it.
    pub fn worker_id(&self) -> &str {
        &self.worker_id
    }

    /// The Kafka cluster id, when the brokers told it.
    pub fn kafka_cluster_id(&self) -> Option<String> {
        self.kafka_cluster_id.clone()
    }

    /// Where configs are kept (for the start-up log line).
    pub fn storage(&self) -> String {
        self.storage.describe()
    }

    /// Prometheus text of every connector's metrics.
    pub fn render_metrics(&self) -> String {
        self.recorder.handle().render()
    }

    fn entry(&self, name: &str) -> Option<Entry> {
        self.view.lock().unwrap_or_else(|p| p.into_inner()).get(name).cloned()
    }

    fn set_entry(&self, name: &str, e: Entry) {
        self.view.lock().unwrap_or_else(|p| p.into_inner()).insert(name.to_string(), e);
    }

    fn update_entry(&self, name: &str, f: impl FnOnce(&mut Entry)) {
        if let Some(e) = self.view.lock().unwrap_or_else(|p| p.into_inner()).get_mut(name) {
            f(e);
        }
    }

    // ---- reads ------------------------------------------------------------------------------

    /// Connector names, sorted.
    pub fn connectors(&self) -> Vec<String> {
        self.view.lock().unwrap_or_else(|p| p.into_inner()).keys().cloned().collect()
    }

    /// `GET /connectors/{name}`.
    pub fn info(&self, name: &str) -> Result<ConnectorInfo, WorkerError> {
        let e = self.entry(name).ok_or_else(|| not_found(name))?;
        Ok(info_of(name, &e))
    }

    /// `GET /connectors/{name}/config`.
    pub fn config(&self, name: &str) -> Result<ConfigMap, WorkerError> {
        Ok(self.entry(name).ok_or_else(|| not_found(name))?.config)
    }

    /// `GET /connectors/{name}/tasks`.
    pub fn tasks(&self, name: &str) -> Result<Vec<TaskInfo>, WorkerError> {
        let e = self.entry(name).ok_or_else(|| not_found(name))?;
        Ok(match e.task {
            Some(_) => vec![TaskInfo { id: task_id(name), config: task_config(&e.config) }],
            None => Vec::new(),
        })
    }

    /// `GET /connectors/{name}/status`.
    pub fn status(&self, name: &str) -> Result<ConnectorStateInfo, WorkerError> {
        let e =
            self.entry(name).ok_or_else(|| WorkerError::NotFound(format!("No status found for connector {name}")))?;
        Ok(self.status_of(name, &e))
    }

    /// `GET /connectors/{name}/tasks/{task}/status`.
    pub fn task_status(&self, name: &str, task: u32) -> Result<TaskState, WorkerError> {
        let e = self.entry(name);
        let found = e.as_ref().filter(|e| e.task.is_some() && task == 0);
        match found {
            Some(e) => Ok(self.status_of(name, e).tasks.remove(0)),
            None => Err(WorkerError::NotFound(format!("No status found for task {name}-{task}"))),
        }
    }

    fn status_of(&self, name: &str, e: &Entry) -> ConnectorStateInfo {
        let (state, trace) = match &e.failed {
            Some(t) => ("FAILED", Some(t.clone())),
            None => (running_name(e.target), None),
        };
        let tasks = e
            .task
            .iter()
            .map(|cell| {
                let (state, trace) = match cell.failure() {
                    Some(t) => ("FAILED", Some(t)),
                    None => (running_name(e.target), None),
                };
                TaskState { id: 0, state: state.into(), worker_id: self.worker_id.clone(), trace }
            })
            .collect();
        ConnectorStateInfo {
            name: name.to_string(),
            connector: ConnectorState { state: state.into(), worker_id: self.worker_id.clone(), trace },
            tasks,
            kind: SOURCE,
        }
    }

    // ---- changes ----------------------------------------------------------------------------

    /// `POST /connectors`: a new connector (409 if the name is taken).
    pub async fn create(
        &self,
        name: &str,
        config: ConfigMap,
        initial: Option<TargetState>,
    ) -> Result<ConnectorInfo, WorkerError> {
        let mut ops = self.ops.lock().await;
        if self.entry(name).is_some() {
            return Err(WorkerError::Conflict(format!("Connector {name} already exists")));
        }
        self.check_config(name, &config)?;
        let target = initial.unwrap_or(TargetState::Started);
        ops.store.put_config(name, &config, Some(target), &task_config(&config)).await?;
        info!(connector = name, target = target.as_str(), "connector created");
        self.set_entry(name, Entry { config, target, failed: None, task: None });
        self.apply(&mut ops, name).await;
        self.info(name)
    }

    /// `PUT /connectors/{name}/config`: create, or replace the config and restart with it (the
    /// target state is kept). Returns whether it was created.
    pub async fn put_config(&self, name: &str, config: ConfigMap) -> Result<(bool, ConnectorInfo), WorkerError> {
        let mut ops = self.ops.lock().await;
        self.check_config(name, &config)?;
        let existing = self.entry(name);
        let created = existing.is_none();
        let target = existing.as_ref().map(|e| e.target);
        ops.store
            .put_config(name, &config, target.is_none().then_some(TargetState::Started), &task_config(&config))
            .await?;
        let target = target.unwrap_or(TargetState::Started);
        info!(connector = name, created, "connector config stored");
        self.set_entry(name, Entry { config, target, failed: None, task: None });
        self.apply(&mut ops, name).await;
        Ok((created, self.info(name)?))
    }

    /// `PATCH /connectors/{name}/config`: `null` removes a property, anything else sets it.
    pub async fn patch_config(
        &self,
        name: &str,
        patch: &serde_json::Map<String, Value>,
    ) -> Result<ConnectorInfo, WorkerError> {
        let mut config = self.config(name)?;
        for (k, v) in patch {
            match v {
                Value::Null => {
                    config.remove(k);
                }
                v => {
                    config.insert(k.clone(), v.clone());
                }
            }
        }
        Ok(self.put_config(name, config).await?.1)
    }

    /// `DELETE /connectors/{name}`: stop it and forget its config (its offsets stay, as in
    /// Connect: a new connector with the same name resumes from them).
    pub async fn delete(&self, name: &str) -> Result<(), WorkerError> {
        let mut ops = self.ops.lock().await;
        self.entry(name).ok_or_else(|| not_found(name))?;
        self.stop_running(&mut ops, name).await;
        ops.store.remove(name).await?;
        self.view.lock().unwrap_or_else(|p| p.into_inner()).remove(name);
        info!(connector = name, "connector deleted");
        Ok(())
    }

    /// `PUT /connectors/{name}/pause`: drain and stop the pipeline, keep the task (PAUSED).
    pub async fn pause(&self, name: &str) -> Result<(), WorkerError> {
        self.set_target(name, TargetState::Paused).await
    }

    /// `PUT /connectors/{name}/resume`: start a paused or stopped connector again (a failed task
    /// stays failed until restarted, as in Connect).
    pub async fn resume(&self, name: &str) -> Result<(), WorkerError> {
        self.set_target(name, TargetState::Started).await
    }

    /// `PUT /connectors/{name}/stop`: drain and stop the pipeline, no task (STOPPED).
    pub async fn stop(&self, name: &str) -> Result<(), WorkerError> {
        self.set_target(name, TargetState::Stopped).await
    }

    async fn set_target(&self, name: &str, target: TargetState) -> Result<(), WorkerError> {
        let mut ops = self.ops.lock().await;
        let e = self.entry(name).ok_or_else(|| WorkerError::NotFound(format!("Unknown connector {name}")))?;
        if e.target != target {
            ops.store.put_target(name, target, &task_config(&e.config)).await?;
        }
        info!(connector = name, target = target.as_str(), "connector target state");
        self.update_entry(name, |e| e.target = target);
        match target {
            TargetState::Paused => {
                self.stop_running(&mut ops, name).await;
                // From STOPPED: the task comes back, paused.
                if self.entry(name).is_some_and(|e| e.task.is_none() && e.failed.is_none()) {
                    self.apply(&mut ops, name).await;
                }
            }
            TargetState::Stopped => {
                self.stop_running(&mut ops, name).await;
                self.update_entry(name, |e| e.task = None);
            }
            TargetState::Started => {
                let Some(e) = self.entry(name) else { return Ok(()) };
                let task_failed = e.task.as_ref().is_some_and(|t| t.failure().is_some());
                if e.failed.is_none() && !task_failed && !ops.running.contains_key(name) {
                    self.apply(&mut ops, name).await;
                }
            }
        }
        Ok(())
    }

    /// `POST /connectors/{name}/restart`. The connector instance has no state of its own here:
    /// restarting it re-reads its config (which revives a FAILED connector); its task is
    /// restarted with `includeTasks` (only a FAILED one with `onlyFailed`).
    pub async fn restart(&self, name: &str, include_tasks: bool, only_failed: bool) -> Result<Restarted, WorkerError> {
        let mut ops = self.ops.lock().await;
        let e = self.entry(name).ok_or_else(|| match include_tasks || only_failed {
            true => WorkerError::NotFound(format!("Unknown connector: {name}")),
            false => not_found(name),
        })?;
        let connector_failed = e.failed.is_some();
        let task_failed = e.task.as_ref().is_some_and(|t| t.failure().is_some());
        let restart_connector = !only_failed || connector_failed;
        let restart_task = include_tasks && e.task.is_some() && (!only_failed || task_failed);
        let mut plan = self.status_of(name, &e);
        if restart_connector {
            plan.connector.state = "RESTARTING".into();
        }
        if restart_task {
            for t in &mut plan.tasks {
                t.state = "RESTARTING".into();
            }
        }
        info!(connector = name, restart_connector, restart_task, "restarting");
        if restart_task || (restart_connector && connector_failed) {
            self.apply(&mut ops, name).await;
        }
        Ok(if !include_tasks && !only_failed { Restarted::ConnectorOnly } else { Restarted::Plan(plan) })
    }

    /// `POST /connectors/{name}/tasks/{task}/restart`.
    pub async fn restart_task(&self, name: &str, task: u32) -> Result<(), WorkerError> {
        let mut ops = self.ops.lock().await;
        let e = self.entry(name).ok_or_else(|| not_found(name))?;
        if e.task.is_none() || task != 0 {
            return Err(WorkerError::NotFound(format!("Task {name}-{task} not found")));
        }
        info!(connector = name, task, "restarting task");
        self.apply(&mut ops, name).await;
        Ok(())
    }

    /// A config that cannot run is refused (400, every bad property named), as is a
    /// `database.server.id` another connector of this worker already uses on the same server.
    fn check_config(&self, name: &str, config: &ConfigMap) -> Result<(), WorkerError> {
        let props = string_map(config);
        let mut errors = validate::property_errors(&props);
        if errors.is_empty() {
            if let Some((other, addr)) = self.server_id_user(name, &props) {
                let id = props.get("database.server.id").map(|s| s.trim()).unwrap_or_default();
                errors.push((
                    "database.server.id".into(),
                    format!("database.server.id {id} is already used by connector '{other}' of this worker on {addr}: the server disconnects a replica when another one connects with its server id"),
                ));
            }
        }
        if errors.is_empty() {
            Ok(())
        } else {
            Err(WorkerError::BadRequest(validate::invalid_config_message(&errors)))
        }
    }

    /// Another connector reading the same server with the same `database.server.id`.
    fn server_id_user(&self, name: &str, props: &BTreeMap<String, String>) -> Option<(String, String)> {
        let key = |p: &BTreeMap<String, String>| {
            let get = |k: &str| p.get(k).map(|v| v.trim().to_ascii_lowercase());
            let port = get("database.port").unwrap_or_else(|| "3306".into());
            Some((get("database.hostname")?, port, get("database.server.id")?))
        };
        let mine = key(props)?;
        let view = self.view.lock().unwrap_or_else(|p| p.into_inner());
        view.iter()
            .filter(|(n, _)| n.as_str() != name)
            .find(|(_, e)| key(&string_map(&e.config)).as_ref() == Some(&mine))
            .map(|(n, _)| (n.clone(), format!("{}:{}", mine.0, mine.1)))
    }

    /// Bring connector `name` in line with its entry: stop what runs, then (unless stopped)
    /// give it a fresh task and, when started, run its pipeline. A config that cannot run makes
    /// the connector FAILED.
    async fn apply(&self, ops: &mut Ops, name: &str) {
        self.stop_running(ops, name).await;
        let Some(e) = self.entry(name) else { return };
        let resolved = self.config.providers.resolve(string_map(&e.config));
        let connector = match resolved.and_then(ConnectorConfig::from_map) {
            Ok(c) => c,
            Err(err) => {
                error!(connector = name, error = %err, "connector config cannot run");
                self.update_entry(name, |e| {
                    e.failed = Some(trace_of(&err));
                    e.task = None;
                });
                return;
            }
        };
        if e.target == TargetState::Stopped {
            self.update_entry(name, |e| {
                e.failed = None;
                e.task = None;
            });
            return;
        }
        let cell = Arc::new(TaskCell::default());
        self.update_entry(name, |e| {
            e.failed = None;
            e.task = Some(cell.clone());
        });
        if e.target != TargetState::Started || ops.closed {
            return;
        }
        for w in build::warnings(&connector, &string_map(&e.config)) {
            warn!(connector = name, "{w}");
        }
        let telemetry = Arc::new(Telemetry::shared(self.recorder.clone(), &connector.topic_prefix, name));
        let cfg = match build::pipeline_config(&self.config, &connector, telemetry) {
            Ok(c) => c,
            Err(err) => {
                cell.fail(trace_of(&err));
                return;
            }
        };
        let initial_only = connector.snapshot.mode == SnapshotMode::InitialOnly;
        let (tx, rx) = oneshot::channel::<()>();
        let stopping = Arc::new(AtomicBool::new(false));
        let requested = stopping.clone();
        let span = tracing::info_span!("connector", name = %name);
        let task_name = name.to_string();
        let handle = tokio::spawn(
            async move {
                info!("connector task started");
                let run = crate::pipeline::run(cfg, None, async move {
                    let _ = rx.await;
                });
                match std::panic::AssertUnwindSafe(run).catch_unwind().await {
                    Ok(Ok(())) if requested.load(Ordering::SeqCst) => info!("connector task stopped"),
                    Ok(Ok(())) if initial_only => info!("snapshot.mode=initial_only: snapshot complete, task idle"),
                    Ok(Ok(())) => {
                        let why = "the database server ended the binlog stream (it shut down, or another replica connected with this database.server.id); restart the task to reconnect";
                        error!(connector = %task_name, "{why}");
                        cell.fail(why.to_string());
                    }
                    Ok(Err(e)) => {
                        error!(error = %e, "connector task failed");
                        cell.fail(trace_of(&e));
                    }
                    Err(panic) => {
                        let what = panic
                            .downcast_ref::<&str>()
                            .map(|s| s.to_string())
                            .or_else(|| panic.downcast_ref::<String>().cloned())
                            .unwrap_or_else(|| "unknown panic".into());
                        error!(panic = %what, "connector task panicked");
                        cell.fail(format!("the connector task panicked: {what}"));
                    }
                }
            }
            .instrument(span),
        );
        ops.running.insert(name.to_string(), Running { shutdown: tx, stopping, handle });
    }

    /// Stop `name`'s pipeline, if one runs, and wait until it drained.
    async fn stop_running(&self, ops: &mut Ops, name: &str) {
        if let Some(r) = ops.running.remove(name) {
            r.stopping.store(true, Ordering::SeqCst);
            let _ = r.shutdown.send(());
            stop_wait(name.to_string(), r.handle).await;
        }
    }

    /// Whether `name`'s pipeline is running (for the offsets API's STOPPED check).
    fn is_running(&self, ops: &Ops, name: &str) -> bool {
        ops.running.get(name).is_some_and(|r| !r.handle.is_finished())
    }
}

/// Wait for a stopping pipeline; abort it after [`STOP_TIMEOUT`].
async fn stop_wait(name: String, mut handle: JoinHandle<()>) {
    match tokio::time::timeout(STOP_TIMEOUT, &mut handle).await {
        Ok(_) => {}
        Err(_) => {
            warn!(connector = %name, "the connector task did not stop within {STOP_TIMEOUT:?}; aborting it");
            handle.abort();
            let _ = handle.await;
        }
    }
}

fn running_name(t: TargetState) -> &'static str {
    match t {
        TargetState::Started => "RUNNING",
        TargetState::Paused => "PAUSED",
        TargetState::Stopped => "STOPPED",
    }
}

fn task_id(name: &str) -> ConnectorTaskId {
    ConnectorTaskId { connector: name.to_string(), task: 0 }
}

fn info_of(name: &str, e: &Entry) -> ConnectorInfo {
    ConnectorInfo {
        name: name.to_string(),
        config: e.config.clone(),
        tasks: e.task.iter().map(|_| task_id(name)).collect(),
        kind: SOURCE,
    }
}

/// The config of the connector's one task: its config plus `task.class`, as Connect adds it.
pub fn task_config(config: &ConfigMap) -> ConfigMap {
    let class = config.get("connector.class").and_then(Value::as_str).and_then(validate::plugin_class);
    let task_class = match class {
        Some("io.debezium.connector.mariadb.MariaDbConnector") => "io.debezium.connector.mariadb.MariaDbConnectorTask",
        _ => "io.debezium.connector.mysql.MySqlConnectorTask",
    };
    let mut out = config.clone();
    out.insert("task.class".into(), Value::String(task_class.into()));
    out
}

/// A config map as the property map `config` parses (values are strings by construction).
pub fn string_map(config: &ConfigMap) -> BTreeMap<String, String> {
    config
        .iter()
        .map(|(k, v)| {
            let s = match v {
                Value::String(s) => s.clone(),
                other => other.to_string(),
            };
            (k.clone(), s)
        })
        .collect()
}

/// Connect's `trace` for an error: its message, then each cause on a `Caused by:` line.
pub fn trace_of(e: &dyn std::error::Error) -> String {
    let mut out = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        out.push_str("\nCaused by: ");
        out.push_str(&s.to_string());
        source = s.source();
    }
    out
}
