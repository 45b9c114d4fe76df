//! The REST API: Confluent Schema Registry's paths, status codes and JSON shapes (the subset
//! Confluent's clients and Debezium's AvroConverter call), mapped onto [`Registry`] operations.
//!
//! Bodies are parsed as JSON whatever their content type (clients send
//! `application/vnd.schemaregistry.v1+json`); answers carry that content type. Every error, including
//! axum's own (unknown route, wrong method, undecodable path, body too large), leaves as a Confluent
//! JSON error body: a middleware rewrites any error response that is not one already. Handlers never
//! panic on request input: all parsing returns [`ApiError`]s.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Instant;

use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, Path, Query, Request, State};
use axum::http::{header, HeaderValue, Method, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;
use serde_json::{json, Value};

use super::error::{ApiError, CONTENT_TYPE};
use super::service::{parse_level_request, parse_schema_request, Registry};

type Reg = State<Arc<Registry>>;
type Q = Query<HashMap<String, String>>;
type Res = Result<Response, ApiError>;

/// Largest request body accepted (schemas of very wide tables stay far below this).
const BODY_LIMIT: usize = 16 * 1024 * 1024;

/// The application: every route, the JSON error fallbacks, request logging.
pub fn router(registry: Arc<Registry>) -> Router {
    Router::new()
        .route("/", get(|| async { ok(json!({})) }))
        .route("/subjects", get(list_subjects))
        .route("/subjects/{subject}", post(lookup).delete(delete_subject))
        .route("/subjects/{subject}/versions", get(list_versions).post(register))
        .route("/subjects/{subject}/versions/{version}", get(get_version).delete(delete_version))
        .route("/subjects/{subject}/versions/{version}/schema", get(get_version_schema))
        .route("/schemas/ids/{id}", get(get_schema))
        .route("/schemas/ids/{id}/schema", get(get_schema_raw))
        .route("/schemas/ids/{id}/versions", get(get_id_versions))
        .route("/schemas/ids/{id}/subjects", get(get_id_subjects))
        .route("/schemas/types", get(|| async { ok(json!(["AVRO"])) }))
        .route("/config", get(get_global_config).put(put_global_config).delete(delete_global_config))
        .route("/config/{subject}", get(get_subject_config).put(put_subject_config).delete(delete_subject_config))
        .route("/compatibility/subjects/{subject}/versions", post(test_all))
        .route("/compatibility/subjects/{subject}/versions/{version}", post(test_version))
        .route("/mode", get(mode))
        .route("/mode/{subject}", get(mode))
        .fallback(|| async { ApiError::http(StatusCode::NOT_FOUND) })
        .method_not_allowed_fallback(|| async { ApiError::http(StatusCode::METHOD_NOT_ALLOWED) })
        .layer(middleware::from_fn(json_errors))
        .layer(DefaultBodyLimit::max(BODY_LIMIT))
        .with_state(registry)
}

fn ok(v: Value) -> Response {
    raw(v.to_string())
}

fn raw(body: String) -> Response {
    let mut r = (StatusCode::OK, body).into_response();
    r.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static(CONTENT_TYPE));
    r
}

fn flag(q: &HashMap<String, String>, name: &str) -> bool {
    q.get(name).is_some_and(|v| v.eq_ignore_ascii_case("true"))
}

/// Logs every request (debug; warn on 5xx) and turns any error answer that is not already a
/// Confluent JSON error into one, keeping the status.
async fn json_errors(req: Request, next: Next) -> Response {
    let (method, path) = (req.method().clone(), req.uri().path().to_string());
    let t0 = Instant::now();
    let res = next.run(req).await;
    let status = res.status();
    let ms = t0.elapsed().as_secs_f64() * 1e3;
    if status.is_server_error() {
        tracing::warn!(%method, path, status = status.as_u16(), ms, "request failed");
    } else {
        tracing::debug!(%method, path, status = status.as_u16(), ms, "request");
    }
    let is_ours = res.headers().get(header::CONTENT_TYPE).is_some_and(|c| c == CONTENT_TYPE);
    if status.is_success() || is_ours || method == Method::HEAD {
        return res;
    }
    let body = axum::body::to_bytes(res.into_body(), 64 * 1024).await.unwrap_or_default();
    let text = String::from_utf8_lossy(&body).trim().to_string();
    let mut err = ApiError::http(status);
    if !text.is_empty() {
        err.message = text;
    }
    err.into_response()
}

// ---- subjects and versions -------------------------------------------------------------------------

async fn list_subjects(State(r): Reg, Query(q): Q) -> Res {
    Ok(ok(json!(r.subjects(flag(&q, "deleted"), q.get("subjectPrefix").map(String::as_str)))))
}

async fn register(State(r): Reg, Path(subject): Path<String>, body: Bytes) -> Res {
    let schema = parse_schema_request(&body)?;
    let id = r.register(&subject, &schema).await?;
    Ok(ok(json!({ "id": id })))
}

async fn lookup(State(r): Reg, Path(subject): Path<String>, Query(q): Q, body: Bytes) -> Res {
    let schema = parse_schema_request(&body)?;
    Ok(ok(r.lookup(&subject, &schema, flag(&q, "deleted")).await?))
}

async fn list_versions(State(r): Reg, Path(subject): Path<String>, Query(q): Q) -> Res {
    Ok(ok(json!(r.versions(&subject, flag(&q, "deleted")).await?)))
}

async fn get_version(State(r): Reg, Path((subject, version)): Path<(String, String)>, Query(q): Q) -> Res {
    Ok(ok(r.version(&subject, &version, flag(&q, "deleted")).await?))
}

async fn get_version_schema(State(r): Reg, Path((subject, version)): Path<(String, String)>, Query(q): Q) -> Res {
    let v = r.version(&subject, &version, flag(&q, "deleted")).await?;
    Ok(raw(v["schema"].as_str().unwrap_or_default().to_string()))
}

async fn delete_subject(State(r): Reg, Path(subject): Path<String>, Query(q): Q) -> Res {
    Ok(ok(json!(r.delete_subject(&subject, flag(&q, "permanent")).await?)))
}

async fn delete_version(State(r): Reg, Path((subject, version)): Path<(String, String)>, Query(q): Q) -> Res {
    Ok(ok(json!(r.delete_version(&subject, &version, flag(&q, "permanent")).await?)))
}

// ---- schemas by id ---------------------------------------------------------------------------------

async fn get_schema(State(r): Reg, Path(id): Path<String>) -> Res {
    // `?subject=` names the context in Confluent's registry; ids are global here, so it changes nothing.
    Ok(ok(json!({ "schema": &*r.schema_by_id(&id).await? })))
}

async fn get_schema_raw(State(r): Reg, Path(id): Path<String>) -> Res {
    Ok(raw(r.schema_by_id(&id).await?.to_string()))
}

async fn get_id_versions(State(r): Reg, Path(id): Path<String>, Query(q): Q) -> Res {
    let v = r.id_versions(&id, q.get("subject").map(String::as_str), flag(&q, "deleted")).await?;
    Ok(ok(Value::Array(v.into_iter().map(|(s, n)| json!({"subject": s, "version": n})).collect())))
}

async fn get_id_subjects(State(r): Reg, Path(id): Path<String>, Query(q): Q) -> Res {
    let v = r.id_versions(&id, q.get("subject").map(String::as_str), flag(&q, "deleted")).await?;
    let mut subjects: Vec<String> = v.into_iter().map(|(s, _)| s).collect();
    subjects.dedup();
    Ok(ok(json!(subjects)))
}

// ---- config, compatibility, mode ---------------------------------------------------------------------

async fn get_global_config(State(r): Reg) -> Res {
    Ok(ok(json!({ "compatibilityLevel": r.global_level().as_str() })))
}

async fn put_global_config(State(r): Reg, body: Bytes) -> Res {
    let level = r.set_level(None, parse_level_request(&body)?).await?;
    Ok(ok(json!({ "compatibility": level.as_str() })))
}

async fn delete_global_config(State(r): Reg) -> Res {
    Ok(ok(json!({ "compatibilityLevel": r.delete_level(None).await?.as_str() })))
}

async fn get_subject_config(State(r): Reg, Path(subject): Path<String>, Query(q): Q) -> Res {
    let level = r.subject_level(&subject, flag(&q, "defaultToGlobal")).await?;
    Ok(ok(json!({ "compatibilityLevel": level.as_str() })))
}

async fn put_subject_config(State(r): Reg, Path(subject): Path<String>, body: Bytes) -> Res {
    let level = r.set_level(Some(&subject), parse_level_request(&body)?).await?;
    Ok(ok(json!({ "compatibility": level.as_str() })))
}

async fn delete_subject_config(State(r): Reg, Path(subject): Path<String>) -> Res {
    Ok(ok(json!({ "compatibilityLevel": r.delete_level(Some(&subject)).await?.as_str() })))
}

fn compat_answer(compatible: bool, reasons: Vec<String>, verbose: bool) -> Response {
    if verbose {
        ok(json!({ "is_compatible": compatible, "messages": reasons }))
    } else {
        ok(json!({ "is_compatible": compatible }))
    }
}

async fn test_version(
    State(r): Reg,
    Path((subject, version)): Path<(String, String)>,
    Query(q): Q,
    body: Bytes,
) -> Res {
    let schema = parse_schema_request(&body)?;
    let (c, reasons) = r.test_compatibility(&subject, Some(&version), &schema).await?;
    Ok(compat_answer(c, reasons, flag(&q, "verbose")))
}

async fn test_all(State(r): Reg, Path(subject): Path<String>, Query(q): Q, body: Bytes) -> Res {
    let schema = parse_schema_request(&body)?;
    let (c, reasons) = r.test_compatibility(&subject, None, &schema).await?;
    Ok(compat_answer(c, reasons, flag(&q, "verbose")))
}

async fn mode() -> Response {
    ok(json!({ "mode": "READWRITE" }))
}
