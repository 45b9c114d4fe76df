//! The offsets API of KIP-875 on a worker's connectors: `GET` shows the offset the worker's
//! offsets file or topic holds; `PATCH` (set, or `null` to clear, the offset of the partition
//! `{"server":"<topic.prefix>"}`) and `DELETE` (clear it: the next start takes a snapshot, as
//! `snapshot.mode` says for a connector without an offset) only while the connector is STOPPED,
//! so no pipeline holds the store. An offset is validated as Debezium's offset map (`file` and
//! `pos` required) before anything is written; writes are acknowledged (topic) or fsynced (file)
//! before the answer.

use serde_json::Value;

use super::entities::{ConnectorOffset, ConnectorOffsets, Message};
use super::{not_found, string_map, Worker, WorkerError};
use crate::offsets::{OffsetStorage, OffsetStore, SourceOffset};

impl Worker {
    /// The offsets store, opened for one request.
    async fn open_offsets(&self) -> Result<OffsetStore, WorkerError> {
        let storage = OffsetStorage::from_worker(&self.config).map_err(|e| WorkerError::Internal(e.to_string()))?;
        OffsetStore::open(&storage).await.map_err(|e| WorkerError::Internal(e.to_string()))
    }

    /// `topic.prefix` of connector `name` (404 when there is no such connector).
    fn prefix_of(&self, name: &str) -> Result<Option<String>, WorkerError> {
        let e = self.entry(name).ok_or_else(|| not_found(name))?;
        Ok(string_map(&e.config).get("topic.prefix").map(|p| p.trim().to_string()).filter(|p| !p.is_empty()))
    }

    /// `GET /connectors/{name}/offsets`.
    pub async fn offsets(&self, name: &str) -> Result<ConnectorOffsets, WorkerError> {
        let Some(prefix) = self.prefix_of(name)? else { return Ok(ConnectorOffsets { offsets: Vec::new() }) };
        let mut store = self.open_offsets().await?;
        let stored = store.get(name, &prefix).map_err(|e| WorkerError::Internal(e.to_string()));
        let _ = store.close().await;
        let offsets = match stored? {
            None => Vec::new(),
            Some(o) => {
                let offset: Value = serde_json::from_slice(&o.to_json()).unwrap_or(Value::Null);
                vec![ConnectorOffset { partition: serde_json::json!({ "server": prefix }), offset }]
            }
        };
        Ok(ConnectorOffsets { offsets })
    }

    /// `PATCH /connectors/{name}/offsets` with Connect's body `{"offsets":[{"partition":..,"offset":..}]}`.
    pub async fn alter_offsets(&self, name: &str, body: &Value) -> Result<Message, WorkerError> {
        let ops = self.ops.lock().await;
        self.check_stopped(&ops, name)?;
        let prefix = self.prefix_of(name)?.unwrap_or_default();
        let entries = match body.get("offsets") {
            Some(Value::Array(a)) if !a.is_empty() => a,
            _ => {
                return Err(WorkerError::BadRequest(
                    "Partitions / offsets need to be provided for an alter offsets request".into(),
                ))
            }
        };
        let mut writes: Vec<Option<SourceOffset>> = Vec::new();
        for entry in entries {
            let partition = entry.get("partition").and_then(Value::as_object);
            let server = partition.and_then(|p| p.get("server")).and_then(Value::as_str);
            match (partition, server) {
                (Some(p), Some(s)) if p.len() == 1 && s == prefix => {}
                _ => {
                    return Err(WorkerError::BadRequest(format!(
                        "Invalid partition {}: a MySQL connector's source partition is {{\"server\":\"<topic.prefix>\"}}, here {{\"server\":\"{prefix}\"}} (topic.prefix)",
                        entry.get("partition").map(Value::to_string).unwrap_or_else(|| "null".into())
                    )))
                }
            }
            match entry.get("offset") {
                None | Some(Value::Null) => writes.push(None),
                Some(v @ Value::Object(_)) => {
                    let offset = SourceOffset::from_json(v.to_string().as_bytes())
                        .map_err(|e| WorkerError::BadRequest(format!("Invalid offset for partition {{\"server\":\"{prefix}\"}}: {e}")))?;
                    writes.push(Some(offset));
                }
                Some(other) => {
                    return Err(WorkerError::BadRequest(format!(
                        "Invalid offset for partition {{\"server\":\"{prefix}\"}}: expected a JSON object or null, not {other}"
                    )))
                }
            }
        }
        let mut store = self.open_offsets().await?;
        for w in &writes {
            store.write(name, &prefix, w.as_ref()).map_err(|e| WorkerError::Internal(e.to_string()))?;
        }
        store.close().await.map_err(|e| WorkerError::Internal(e.to_string()))?;
        drop(ops);
        tracing::info!(connector = name, "offsets altered");
        Ok(Message { message: "The offsets for this connector have been altered successfully".into() })
    }

    /// `DELETE /connectors/{name}/offsets`.
    pub async fn reset_offsets(&self, name: &str) -> Result<Message, WorkerError> {
        let ops = self.ops.lock().await;
        self.check_stopped(&ops, name)?;
        if let Some(prefix) = self.prefix_of(name)? {
            let mut store = self.open_offsets().await?;
            store.write(name, &prefix, None).map_err(|e| WorkerError::Internal(e.to_string()))?;
            store.close().await.map_err(|e| WorkerError::Internal(e.to_string()))?;
        }
        drop(ops);
        tracing::info!(connector = name, "offsets reset");
        Ok(Message { message: "The offsets for this connector have been reset successfully".into() })
    }

    /// 404 for an unknown connector, 400 (Connect's message) unless it is STOPPED.
    fn check_stopped(&self, ops: &super::Ops, name: &str) -> Result<(), WorkerError> {
        let e = self.entry(name).ok_or_else(|| not_found(name))?;
        if e.target != super::TargetState::Stopped || e.task.is_some() || self.is_running(ops, name) {
            return Err(WorkerError::BadRequest(format!(
                "Connectors must be in the STOPPED state before their offsets can be modified. This can be done for the specified connector by issuing a 'PUT' request to the '/connectors/{name}/stop' endpoint"
            )));
        }
        Ok(())
    }
}
