//! Confluent Schema Registry error codes and JSON error bodies.
//!
//! Every failure the REST API reports is an [`ApiError`]: an HTTP status plus Confluent's numeric
//! `error_code` and a message, rendered as `{"error_code":..,"message":..}` with the registry's content
//! type. The codes are the ones Confluent's clients switch on (the Python and Java clients expose them
//! as `error_code`), so they are kept exactly: 404xx not found, 409 incompatible, 422xx invalid input,
//! 500xx storage trouble. Storage errors (Kafka unreachable, timeouts) are the only transient ones:
//! the client may retry the same request.

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};

/// Content type Confluent's registry speaks (and the clients send and accept).
pub const CONTENT_TYPE: &str = "application/vnd.schemaregistry.v1+json";

/// One REST API error: HTTP status, Confluent error code, message.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{status} ({code}): {message}")]
pub struct ApiError {
    pub status: StatusCode,
    pub code: i32,
    pub message: String,
}

impl ApiError {
    fn new(status: StatusCode, code: i32, message: impl Into<String>) -> ApiError {
        ApiError { status, code, message: message.into() }
    }

    /// 40401
    pub fn subject_not_found(subject: &str) -> ApiError {
        ApiError::new(StatusCode::NOT_FOUND, 40401, format!("Subject '{subject}' not found."))
    }

    /// 40402
    pub fn version_not_found(subject: &str, version: &str) -> ApiError {
        ApiError::new(StatusCode::NOT_FOUND, 40402, format!("Version {version} not found for subject '{subject}'."))
    }

    /// 40403, for an id.
    pub fn schema_id_not_found(id: &str) -> ApiError {
        ApiError::new(StatusCode::NOT_FOUND, 40403, format!("Schema {id} not found"))
    }

    /// 40403, for a lookup by schema text.
    pub fn schema_not_found() -> ApiError {
        ApiError::new(StatusCode::NOT_FOUND, 40403, "Schema not found")
    }

    /// 40404
    pub fn subject_soft_deleted(subject: &str) -> ApiError {
        ApiError::new(
            StatusCode::NOT_FOUND,
            40404,
            format!("Subject '{subject}' was soft deleted.Set permanent=true to delete permanently"),
        )
    }

    /// 40405
    pub fn subject_not_soft_deleted(subject: &str) -> ApiError {
        ApiError::new(
            StatusCode::NOT_FOUND,
            40405,
            format!("Subject '{subject}' was not deleted first before being permanently deleted"),
        )
    }

    /// 40406
    pub fn version_soft_deleted(subject: &str, version: i32) -> ApiError {
        ApiError::new(
            StatusCode::NOT_FOUND,
            40406,
            format!("Subject '{subject}' Version {version} was soft deleted.Set permanent=true to delete permanently"),
        )
    }

    /// 40407
    pub fn version_not_soft_deleted(subject: &str, version: i32) -> ApiError {
        ApiError::new(
            StatusCode::NOT_FOUND,
            40407,
            format!("Subject '{subject}' Version {version} was not deleted first before being permanently deleted"),
        )
    }

    /// 40408
    pub fn subject_level_config_not_found(subject: &str) -> ApiError {
        ApiError::new(
            StatusCode::NOT_FOUND,
            40408,
            format!("Subject '{subject}' does not have subject-level compatibility configured"),
        )
    }

    /// 409 (Confluent uses the HTTP status as the error code here).
    pub fn incompatible(subject: &str, details: &[String]) -> ApiError {
        ApiError::new(
            StatusCode::CONFLICT,
            409,
            format!(
                "Schema being registered is incompatible with an earlier schema for subject \"{subject}\", details: [{}]",
                details.join(", ")
            ),
        )
    }

    /// 42201
    pub fn invalid_schema(detail: impl std::fmt::Display) -> ApiError {
        ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, 42201, format!("Invalid schema: {detail}"))
    }

    /// 42202
    pub fn invalid_version(version: &str) -> ApiError {
        ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            42202,
            format!(
                "The specified version '{version}' is not a valid version id. Allowed values are between \
                 [1, 2^31-1] and the string \"latest\""
            ),
        )
    }

    /// 42203
    pub fn invalid_compatibility_level(level: &str) -> ApiError {
        ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            42203,
            format!(
                "Invalid compatibility level '{level}'. Valid values are none, backward, forward, full, \
                 backward_transitive, forward_transitive, and full_transitive"
            ),
        )
    }

    /// 400: the request body is not the JSON the endpoint takes.
    pub fn bad_request(detail: impl std::fmt::Display) -> ApiError {
        ApiError::new(StatusCode::BAD_REQUEST, 400, detail.to_string())
    }

    /// 500xx: the `_schemas` topic could not be read or written (transient: retry).
    pub fn store(detail: impl std::fmt::Display) -> ApiError {
        ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, 50001, format!("Error in the backend data store - {detail}"))
    }

    /// 50002: the `_schemas` topic did not answer in time (transient: retry).
    pub fn timeout(detail: impl std::fmt::Display) -> ApiError {
        ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, 50002, format!("Operation timed out - {detail}"))
    }

    /// Any other HTTP-level error (unknown route, wrong method, body too large…): the code is the status.
    pub fn http(status: StatusCode) -> ApiError {
        let reason = status.canonical_reason().unwrap_or("Error");
        ApiError::new(status, i32::from(status.as_u16()), format!("HTTP {} {reason}", status.as_u16()))
    }

    /// A "not found" answer that a re-read of the topic might change (another registry may just have written it).
    pub fn is_not_found(&self) -> bool {
        self.status == StatusCode::NOT_FOUND
    }

    /// The JSON body.
    pub fn body(&self) -> serde_json::Value {
        serde_json::json!({ "error_code": self.code, "message": self.message })
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let mut r = (self.status, self.body().to_string()).into_response();
        r.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static(CONTENT_TYPE));
        r
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bodies_carry_confluent_codes() {
        assert_eq!(ApiError::subject_not_found("s").body()["error_code"], 40401);
        assert_eq!(ApiError::incompatible("s", &[]).status, StatusCode::CONFLICT);
        assert_eq!(ApiError::incompatible("s", &[]).code, 409);
        let nf = ApiError::http(StatusCode::NOT_FOUND).body();
        assert_eq!(nf, serde_json::json!({"error_code": 404, "message": "HTTP 404 Not Found"}));
    }
}
