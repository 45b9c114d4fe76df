//! The JSON bodies of Kafka Connect's REST API (`org.apache.kafka.connect.runtime.rest.entities`),
//! field names and order as Connect's Jackson mapping writes them. A field Connect leaves out
//! when empty (`trace`) is left out here too.

use serde::Serialize;
use serde_json::{Map, Value};

/// A connector's configuration: property → string value, in the order it was submitted.
pub type ConfigMap = Map<String, Value>;

/// The only plugin type this worker runs.
pub const SOURCE: &str = "source";

/// `GET /`.
#[derive(Debug, Clone, Serialize)]
pub struct ServerInfo {
    pub version: String,
    pub commit: String,
    pub kafka_cluster_id: Option<String>,
}

/// `GET /health`.
#[derive(Debug, Clone, Serialize)]
pub struct WorkerStatus {
    pub status: &'static str,
    pub message: &'static str,
}

/// `{"connector": .., "task": ..}`: one task of a connector.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct ConnectorTaskId {
    pub connector: String,
    pub task: u32,
}

/// `GET /connectors/{name}`, and the body of a create or config update.
#[derive(Debug, Clone, Serialize)]
pub struct ConnectorInfo {
    pub name: String,
    pub config: ConfigMap,
    pub tasks: Vec<ConnectorTaskId>,
    #[serde(rename = "type")]
    pub kind: &'static str,
}

/// The state of the connector instance in [`ConnectorStateInfo`].
#[derive(Debug, Clone, Serialize)]
pub struct ConnectorState {
    pub state: String,
    pub worker_id: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub trace: Option<String>,
}

/// `GET /connectors/{name}/tasks/{id}/status`, and each task of [`ConnectorStateInfo`].
#[derive(Debug, Clone, Serialize)]
pub struct TaskState {
    pub id: u32,
    pub state: String,
    pub worker_id: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub trace: Option<String>,
}

/// `GET /connectors/{name}/status` (and the body of a `restart` with `includeTasks`/`onlyFailed`).
#[derive(Debug, Clone, Serialize)]
pub struct ConnectorStateInfo {
    pub name: String,
    pub connector: ConnectorState,
    pub tasks: Vec<TaskState>,
    #[serde(rename = "type")]
    pub kind: &'static str,
}

/// One element of `GET /connectors/{name}/tasks`.
#[derive(Debug, Clone, Serialize)]
pub struct TaskInfo {
    pub id: ConnectorTaskId,
    pub config: ConfigMap,
}

/// One element of `GET /connector-plugins`.
#[derive(Debug, Clone, Serialize)]
pub struct PluginInfo {
    pub class: &'static str,
    #[serde(rename = "type")]
    pub kind: &'static str,
    pub version: &'static str,
}

/// `GET /connectors/{name}/offsets`, and the body of `PATCH` on it (KIP-875).
#[derive(Debug, Clone, Serialize)]
pub struct ConnectorOffsets {
    pub offsets: Vec<ConnectorOffset>,
}

/// One source partition and its offset (`null` in a `PATCH`: reset that partition).
#[derive(Debug, Clone, Serialize)]
pub struct ConnectorOffset {
    pub partition: Value,
    pub offset: Value,
}

/// The body of a successful `PATCH`/`DELETE /connectors/{name}/offsets`.
#[derive(Debug, Clone, Serialize)]
pub struct Message {
    pub message: String,
}

/// Every error body: `{"error_code": <HTTP status>, "message": ..}`.
#[derive(Debug, Clone, Serialize)]
pub struct ErrorMessage {
    pub error_code: u16,
    pub message: String,
}

/// `PUT /connector-plugins/{plugin}/config/validate`.
#[derive(Debug, Clone, Serialize)]
pub struct ConfigInfos {
    pub name: String,
    pub error_count: usize,
    pub groups: Vec<String>,
    pub configs: Vec<ConfigInfo>,
}

/// One property of [`ConfigInfos`]: its definition and the submitted value.
#[derive(Debug, Clone, Serialize)]
pub struct ConfigInfo {
    pub definition: ConfigKeyInfo,
    pub value: ConfigValueInfo,
}

/// A property's definition (Connect's `ConfigDef.ConfigKey`); also each element of
/// `GET /connector-plugins/{plugin}/config`.
#[derive(Debug, Clone, Serialize)]
pub struct ConfigKeyInfo {
    pub name: String,
    #[serde(rename = "type")]
    pub kind: &'static str,
    pub required: bool,
    pub default_value: Option<String>,
    pub importance: &'static str,
    pub documentation: String,
    pub group: Option<&'static str>,
    pub order: i32,
    pub width: &'static str,
    pub display_name: String,
    pub dependents: Vec<String>,
}

/// A property's submitted value and what is wrong with it.
#[derive(Debug, Clone, Serialize)]
pub struct ConfigValueInfo {
    pub name: String,
    pub value: Option<String>,
    pub recommended_values: Vec<String>,
    pub errors: Vec<String>,
    pub visible: bool,
}
