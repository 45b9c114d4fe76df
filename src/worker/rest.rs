//! Kafka Connect's REST API over a [`Worker`]: the paths, status codes and JSON bodies of Connect
//! 3.x/4.x (`ConnectorsResource`, `ConnectorPluginsResource`, `RootResource`), so the Debezium
//! tutorial's `curl` commands, scripts, Terraform providers and UIs work unchanged. Wiring only:
//! each handler parses its request, calls the worker and renders the answer.
//!
//! Status codes as Connect answers them: 201 (+ `Location`) for a created connector, 200 for a
//! replaced config, 202 for pause/resume and for a restart with `includeTasks`/`onlyFailed`, 204
//! for stop, delete, a plain restart and a task restart; errors are `{"error_code":..,"message":..}`
//! with 404 (unknown connector, task or path), 409 (duplicate name), 400 (invalid config naming
//! each bad property, bad body, offsets changed while not STOPPED), 405 and 500. Paths also
//! answer with a trailing slash (`POST /connectors/` of the Debezium tutorial). Request bodies
//! are parsed by hand from bytes, so no input can panic a handler, and every error answer (also
//! one of axum's own, e.g. a path that is not UTF-8) is JSON; nothing logs a body.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post, put, MethodRouter};
use axum::{Json, Router};
use serde_json::{json, Map, Value};

use super::entities::{ConfigMap, ErrorMessage, PluginInfo, ServerInfo, WorkerStatus};
use super::store::TargetState;
use super::validate::{self, PLUGINS, PLUGIN_VERSION};
use super::{string_map, Restarted, Worker, WorkerError};

/// The Kafka Connect version whose API this worker answers (`GET /`): the one Debezium 3.6.3 was
/// checked against (`shared/oracle`).
pub const CONNECT_VERSION: &str = "4.3.0";

type W = State<Arc<Worker>>;

/// An error answer.
#[derive(Debug)]
pub struct ApiError(StatusCode, String);

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        (self.0, Json(ErrorMessage { error_code: self.0.as_u16(), message: self.1 })).into_response()
    }
}

impl From<WorkerError> for ApiError {
    fn from(e: WorkerError) -> Self {
        let status = match &e {
            WorkerError::NotFound(_) => StatusCode::NOT_FOUND,
            WorkerError::Conflict(_) => StatusCode::CONFLICT,
            WorkerError::BadRequest(_) => StatusCode::BAD_REQUEST,
            WorkerError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        };
        ApiError(status, e.to_string())
    }
}

fn bad_request(message: impl Into<String>) -> ApiError {
    ApiError(StatusCode::BAD_REQUEST, message.into())
}

type ApiResult = Result<Response, ApiError>;

/// The router of every endpoint.
pub fn router(worker: Arc<Worker>) -> Router {
    let routes: Vec<(&str, MethodRouter<Arc<Worker>>)> = vec![
        ("/connectors", get(list_connectors).post(create_connector)),
        ("/connectors/{name}", get(connector_info).delete(delete_connector)),
        ("/connectors/{name}/config", get(connector_config).put(put_config).patch(patch_config)),
        ("/connectors/{name}/status", get(connector_status)),
        ("/connectors/{name}/tasks", get(connector_tasks)),
        ("/connectors/{name}/tasks/{task}/status", get(task_status)),
        ("/connectors/{name}/tasks/{task}/restart", post(restart_task)),
        ("/connectors/{name}/pause", put(pause)),
        ("/connectors/{name}/resume", put(resume)),
        ("/connectors/{name}/stop", put(stop)),
        ("/connectors/{name}/restart", post(restart)),
        ("/connectors/{name}/offsets", get(get_offsets).patch(alter_offsets).delete(reset_offsets)),
        ("/connector-plugins", get(list_plugins)),
        ("/connector-plugins/{plugin}/config", get(plugin_config)),
        ("/connector-plugins/{plugin}/config/validate", put(validate_config)),
        ("/health", get(health)),
    ];
    let mut r = Router::new().route("/", get(root));
    for (path, m) in routes {
        r = r.route(path, m.clone()).route(&format!("{path}/"), m);
    }
    r.fallback(|| async { ApiError(StatusCode::NOT_FOUND, "HTTP 404 Not Found".into()) })
        .method_not_allowed_fallback(|| async {
            ApiError(StatusCode::METHOD_NOT_ALLOWED, "HTTP 405 Method Not Allowed".into())
        })
        .layer(axum::middleware::map_response(json_errors))
        .with_state(worker)
}

/// Every error answer in Connect's JSON shape, also those axum's extractors produce (a path
/// that is not valid UTF-8, a body over the size limit): their text becomes the `message`.
async fn json_errors(resp: Response) -> Response {
    let status = resp.status();
    let is_json =
        resp.headers().get(header::CONTENT_TYPE).is_some_and(|v| v.as_bytes().starts_with(b"application/json"));
    if !(status.is_client_error() || status.is_server_error()) || is_json {
        return resp;
    }
    let body = axum::body::to_bytes(resp.into_body(), 64 * 1024).await.unwrap_or_default();
    let text = String::from_utf8_lossy(&body).trim().to_string();
    let message = match text.is_empty() {
        true => format!("HTTP {} {}", status.as_u16(), status.canonical_reason().unwrap_or_default()),
        false => text,
    };
    ApiError(status, message).into_response()
}

/// Serve the API on `listener` until `shutdown` resolves.
pub async fn serve(
    listener: tokio::net::TcpListener,
    worker: Arc<Worker>,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let app = router(worker).into_make_service_with_connect_info::<SocketAddr>();
    axum::serve(listener, app).with_graceful_shutdown(shutdown).await
}

// ---- request parsing ---------------------------------------------------------------------------

/// The body as JSON (`null` when empty).
fn json_body(body: &Bytes) -> Result<Value, ApiError> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(Value::Null);
    }
    serde_json::from_slice(body).map_err(|e| bad_request(format!("Cannot deserialize the request body: {e}")))
}

/// A connector config from a JSON object: strings, numbers and booleans become strings (as
/// Jackson reads `Map<String, String>`), `null` values are dropped.
fn config_from(v: &Value) -> Result<ConfigMap, ApiError> {
    let Value::Object(obj) = v else {
        return Err(bad_request("The connector config must be a JSON object of property names to string values"));
    };
    let mut out = Map::new();
    for (k, v) in obj {
        let s = match v {
            Value::String(s) => s.clone(),
            Value::Number(n) => n.to_string(),
            Value::Bool(b) => b.to_string(),
            Value::Null => continue,
            Value::Array(_) | Value::Object(_) => {
                return Err(bad_request(format!("Property `{k}` must be a string, number or boolean")))
            }
        };
        out.insert(k.clone(), Value::String(s));
    }
    Ok(out)
}

/// Connect's rule: a `name` in the config must equal the connector's name; absent, it is added.
fn put_name(name: &str, config: &mut ConfigMap) -> Result<(), ApiError> {
    match config.get("name").and_then(Value::as_str) {
        Some(included) if included != name => Err(bad_request(format!(
            "Connector name configuration ({included}) doesn't match connector name in the URL ({name})"
        ))),
        Some(_) => Ok(()),
        None => {
            config.insert("name".into(), Value::String(name.to_string()));
            Ok(())
        }
    }
}

/// Query parameters, percent-decoded, in order (repeated keys kept).
fn query_pairs(q: Option<&str>) -> Vec<(String, String)> {
    let decode = |s: &str| percent_encoding::percent_decode_str(&s.replace('+', " ")).decode_utf8_lossy().into_owned();
    q.unwrap_or_default()
        .split('&')
        .filter(|p| !p.is_empty())
        .map(|p| match p.split_once('=') {
            Some((k, v)) => (decode(k), decode(v)),
            None => (decode(p), String::new()),
        })
        .collect()
}

/// A boolean query parameter as JAX-RS reads it (`Boolean.valueOf`: only `true`, any case).
fn query_bool(pairs: &[(String, String)], key: &str, default: bool) -> bool {
    match pairs.iter().find(|(k, _)| k == key) {
        Some((_, v)) => v.eq_ignore_ascii_case("true"),
        None => default,
    }
}

fn ok<T: serde::Serialize>(body: T) -> ApiResult {
    Ok(Json(body).into_response())
}

fn status_only(status: StatusCode) -> ApiResult {
    Ok(status.into_response())
}

// ---- handlers ----------------------------------------------------------------------------------

async fn root(State(w): W) -> ApiResult {
    ok(ServerInfo {
        version: CONNECT_VERSION.into(),
        commit: format!("cdc-connector-{}", env!("CARGO_PKG_VERSION")),
        kafka_cluster_id: w.kafka_cluster_id(),
    })
}

async fn health() -> ApiResult {
    ok(WorkerStatus { status: "healthy", message: "Worker has completed startup and is ready to handle requests." })
}

async fn list_plugins(RawQuery(q): RawQuery) -> ApiResult {
    let connectors_only = query_bool(&query_pairs(q.as_deref()), "connectorsOnly", true);
    let mut plugins: Vec<PluginInfo> =
        PLUGINS.iter().map(|(class, _)| PluginInfo { class, kind: "source", version: PLUGIN_VERSION }).collect();
    if !connectors_only {
        for class in [crate::config::JSON_CONVERTER, crate::config::AVRO_CONVERTER] {
            plugins.push(PluginInfo { class, kind: "converter", version: PLUGIN_VERSION });
        }
    }
    ok(plugins)
}

async fn plugin_config(Path(plugin): Path<String>) -> ApiResult {
    match validate::plugin_class(&plugin) {
        Some(_) => ok(validate::definitions()),
        None => Err(ApiError(StatusCode::NOT_FOUND, format!("Unknown plugin {plugin}."))),
    }
}

async fn validate_config(Path(plugin): Path<String>, body: Bytes) -> ApiResult {
    let config = config_from(&json_body(&body)?)?;
    let mut props: BTreeMap<String, String> = string_map(&config);
    let Some(class) = validate::plugin_class(&plugin) else {
        return Err(bad_request(validate::unknown_class_message(&plugin)));
    };
    match props.get("connector.class") {
        Some(included) if validate::plugin_class(included) != Some(class) => {
            return Err(bad_request(format!("Included connector type {included} does not match request type {plugin}")))
        }
        Some(_) => {}
        None => {
            props.insert("connector.class".into(), class.into());
        }
    }
    ok(validate::config_infos(class, &props))
}

async fn list_connectors(State(w): W, RawQuery(q): RawQuery) -> ApiResult {
    let pairs = query_pairs(q.as_deref());
    let expand: Vec<&str> = pairs.iter().filter(|(k, _)| k == "expand").map(|(_, v)| v.as_str()).collect();
    if expand.is_empty() && !pairs.iter().any(|(k, _)| k == "expand") {
        return ok(w.connectors());
    }
    let mut out = Map::new();
    for name in w.connectors() {
        let mut one = Map::new();
        for e in &expand {
            let v = match *e {
                "status" => w.status(&name).ok().and_then(|s| serde_json::to_value(s).ok()),
                "info" => w.info(&name).ok().and_then(|s| serde_json::to_value(s).ok()),
                _ => None,
            };
            if let Some(v) = v {
                one.insert(e.to_string(), v);
            }
        }
        out.insert(name, Value::Object(one));
    }
    ok(Value::Object(out))
}

async fn create_connector(State(w): W, headers: HeaderMap, body: Bytes) -> ApiResult {
    let req = json_body(&body)?;
    let Value::Object(req) = req else {
        return Err(bad_request("The request body must be a JSON object {\"name\":..,\"config\":{..}}"));
    };
    let name = match req.get("name") {
        None | Some(Value::Null) => String::new(),
        Some(Value::String(s)) => s.trim().to_string(),
        Some(_) => return Err(bad_request("`name` must be a string")),
    };
    let mut config = match req.get("config") {
        None | Some(Value::Null) => return Err(bad_request("The request body has no `config` object")),
        Some(c) => config_from(c)?,
    };
    let initial = match req.get("initial_state") {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) => Some(
            TargetState::from_initial_state(s)
                .ok_or_else(|| bad_request(format!("initial_state must be RUNNING, PAUSED or STOPPED, not {s:?}")))?,
        ),
        Some(_) => return Err(bad_request("initial_state must be RUNNING, PAUSED or STOPPED")),
    };
    check_name(&name)?;
    put_name(&name, &mut config)?;
    let info = w.create(&name, config, initial).await?;
    Ok((StatusCode::CREATED, [(header::LOCATION, location(&headers, &name))], Json(info)).into_response())
}

/// Connect's name rule: not empty, no control characters.
fn check_name(name: &str) -> Result<(), ApiError> {
    if name.is_empty() {
        return Err(bad_request(validate::invalid_config_message(&[(
            "name".into(),
            "missing required property `name`".into(),
        )])));
    }
    if name.chars().any(char::is_control) {
        return Err(bad_request(validate::invalid_config_message(&[(
            "name".into(),
            "invalid value for property `name`: it may not contain control characters".into(),
        )])));
    }
    Ok(())
}

/// Characters escaped in a path segment.
const SEGMENT: &percent_encoding::AsciiSet = &percent_encoding::CONTROLS
    .add(b' ')
    .add(b'"')
    .add(b'#')
    .add(b'%')
    .add(b'/')
    .add(b'<')
    .add(b'>')
    .add(b'?')
    .add(b'`')
    .add(b'{')
    .add(b'}');

/// `Location` of a created connector: absolute when the request named its host.
fn location(headers: &HeaderMap, name: &str) -> String {
    let path = format!("/connectors/{}", percent_encoding::utf8_percent_encode(name, SEGMENT));
    match headers.get(header::HOST).and_then(|h| h.to_str().ok()) {
        Some(host) if !host.is_empty() && !host.contains(['/', ' ']) => format!("http://{host}{path}"),
        _ => path,
    }
}

async fn connector_info(State(w): W, Path(name): Path<String>) -> ApiResult {
    ok(w.info(&name)?)
}

async fn delete_connector(State(w): W, Path(name): Path<String>) -> ApiResult {
    w.delete(&name).await?;
    status_only(StatusCode::NO_CONTENT)
}

async fn connector_config(State(w): W, Path(name): Path<String>) -> ApiResult {
    ok(w.config(&name)?)
}

async fn put_config(State(w): W, Path(name): Path<String>, headers: HeaderMap, body: Bytes) -> ApiResult {
    let mut config = config_from(&json_body(&body)?)?;
    check_name(&name)?;
    put_name(&name, &mut config)?;
    let (created, info) = w.put_config(&name, config).await?;
    if created {
        Ok((StatusCode::CREATED, [(header::LOCATION, location(&headers, &name))], Json(info)).into_response())
    } else {
        ok(info)
    }
}

async fn patch_config(State(w): W, Path(name): Path<String>, body: Bytes) -> ApiResult {
    let Value::Object(patch) = json_body(&body)? else {
        return Err(bad_request("The config patch must be a JSON object"));
    };
    if let Some(Value::String(n)) = patch.get("name") {
        if *n != name {
            return Err(bad_request(format!(
                "Connector name configuration ({n}) doesn't match connector name in the URL ({name})"
            )));
        }
    }
    // Values are checked like a full config (nulls stay: they remove a property).
    let mut checked = Map::new();
    for (k, v) in &patch {
        match v {
            Value::Null => checked.insert(k.clone(), Value::Null),
            v => checked.insert(k.clone(), config_from(&json!({ k: v }))?.remove(k).unwrap_or(Value::Null)),
        };
    }
    ok(w.patch_config(&name, &checked).await?)
}

async fn connector_status(State(w): W, Path(name): Path<String>) -> ApiResult {
    ok(w.status(&name)?)
}

async fn connector_tasks(State(w): W, Path(name): Path<String>) -> ApiResult {
    ok(w.tasks(&name)?)
}

/// A task id from the path: 404 for anything but a non-negative integer (as JAX-RS answers).
fn task_number(task: &str) -> Result<u32, ApiError> {
    task.parse().map_err(|_| ApiError(StatusCode::NOT_FOUND, "HTTP 404 Not Found".into()))
}

async fn task_status(State(w): W, Path((name, task)): Path<(String, String)>) -> ApiResult {
    ok(w.task_status(&name, task_number(&task)?)?)
}

async fn restart_task(State(w): W, Path((name, task)): Path<(String, String)>) -> ApiResult {
    w.restart_task(&name, task_number(&task)?).await?;
    status_only(StatusCode::NO_CONTENT)
}

async fn pause(State(w): W, Path(name): Path<String>) -> ApiResult {
    w.pause(&name).await?;
    status_only(StatusCode::ACCEPTED)
}

async fn resume(State(w): W, Path(name): Path<String>) -> ApiResult {
    w.resume(&name).await?;
    status_only(StatusCode::ACCEPTED)
}

async fn stop(State(w): W, Path(name): Path<String>) -> ApiResult {
    w.stop(&name).await?;
    status_only(StatusCode::NO_CONTENT)
}

async fn restart(State(w): W, Path(name): Path<String>, RawQuery(q): RawQuery) -> ApiResult {
    let pairs = query_pairs(q.as_deref());
    let include_tasks = query_bool(&pairs, "includeTasks", false);
    let only_failed = query_bool(&pairs, "onlyFailed", false);
    match w.restart(&name, include_tasks, only_failed).await? {
        Restarted::ConnectorOnly => status_only(StatusCode::NO_CONTENT),
        Restarted::Plan(state) => Ok((StatusCode::ACCEPTED, Json(state)).into_response()),
    }
}

async fn get_offsets(State(w): W, Path(name): Path<String>) -> ApiResult {
    ok(w.offsets(&name).await?)
}

async fn alter_offsets(State(w): W, Path(name): Path<String>, body: Bytes) -> ApiResult {
    let body = json_body(&body)?;
    ok(w.alter_offsets(&name, &body).await?)
}

async fn reset_offsets(State(w): W, Path(name): Path<String>) -> ApiResult {
    ok(w.reset_offsets(&name).await?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn query_parsing_is_total() {
        let p = query_pairs(Some("expand=status&expand=info&includeTasks=TRUE&onlyFailed&x=%zz&=&&a+b=c%20d"));
        assert_eq!(p[0], ("expand".into(), "status".into()));
        assert_eq!(p[1], ("expand".into(), "info".into()));
        assert!(query_bool(&p, "includeTasks", false));
        assert!(!query_bool(&p, "onlyFailed", true), "an empty value is false, as Boolean.valueOf(\"\")");
        assert!(query_bool(&p, "missing", true));
        assert!(p.contains(&("a b".into(), "c d".into())));
        assert!(query_pairs(None).is_empty());
    }

    #[test]
    fn configs_are_string_maps() {
        let c = config_from(&json!({"a": "x", "b": 5, "c": true, "d": null})).unwrap();
        assert_eq!(Value::Object(c), json!({"a": "x", "b": "5", "c": "true"}));
        assert_eq!(config_from(&json!({"a": [1]})).err().unwrap().0, StatusCode::BAD_REQUEST);
        assert_eq!(config_from(&json!("x")).err().unwrap().0, StatusCode::BAD_REQUEST);
        let mut c = config_from(&json!({"name": "other"})).unwrap();
        assert!(put_name("mine", &mut c).is_err());
        let mut c = Map::new();
        put_name("mine", &mut c).unwrap();
        assert_eq!(c["name"], "mine");
        assert!(json_body(&Bytes::from_static(b"{")).is_err());
        assert_eq!(json_body(&Bytes::from_static(b" \n")).unwrap(), Value::Null);
    }

    #[test]
    fn location_is_encoded() {
        let mut h = HeaderMap::new();
        assert_eq!(location(&h, "a b/c"), "/connectors/a%20b%2Fc");
        h.insert(header::HOST, "localhost:8083".parse().unwrap());
        assert_eq!(location(&h, "inventory-connector"), "http://localhost:8083/connectors/inventory-connector");
    }
}
