//! A thin, cached client for a Confluent-compatible schema registry: what AvroConverter's
//! serializer does with `auto.register.schemas=true`, and nothing more.
//!
//! * **Subjects** follow Confluent's default `TopicNameStrategy`: `<topic>-key` and
//!   `<topic>-value` ([`subject_name`]).
//! * **Registration** is `POST /subjects/<subject>/versions` with `{"schema":"<Avro schema
//!   text>"}` (no `schemaType`, i.e. AVRO) and the registry's content type; the answer
//!   `{"id":N}` is the id written into every record's wire header. Registering a schema the
//!   subject already has returns its existing id, so this is also the lookup.
//! * **Caching** keeps the hot path free of HTTP: [`RegistryClient::schema_id`] first looks the
//!   schema up by `(subject, Arc identity)` — schemas are built once per table version and
//!   shared, so that is a pointer comparison and a short string compare — then by `(subject,
//!   schema text)` (a rebuilt but identical schema), and only then asks the registry. Cache
//!   entries hold a clone of the `Arc`, so an address cannot be reused by another schema while
//!   it is cached; both maps are emptied when they exceed [`RegistryClient::MAX_CACHED_SCHEMAS`].
//! * **Registry down**: connection failures, timeouts and HTTP 5xx/408/429 are retried with
//!   exponential back-off ([`RetryPolicy`]; forever by default), logging a warning on every
//!   retry that says what failed and when the next attempt is. With several URLs
//!   (`schema.registry.url` may be a comma-separated list, as in Confluent's client) each retry
//!   goes to the next one.
//! * **Credentials**: `basic.auth.user.info` ([`RegistryClient::with_basic_auth`]) or a
//!   `user:password@` part of a URL (Confluent's `basic.auth.credentials.source=URL`) become
//!   HTTP basic auth; URLs are stored and logged without them.
//! * **Lookup only** (`auto.register.schemas=false`, [`RegistryClient::lookup_only`]):
//!   `POST /subjects/<subject>` finds the schema's id without registering it; a schema the
//!   subject does not have is an error that says so.
//! * **Rejections are not retried**: HTTP 409 (the schema is incompatible with the subject's
//!   compatibility level — e.g. an `ALTER TABLE` that breaks BACKWARD) is
//!   [`RegistryError::Incompatible`] carrying the registry's own message, so the connector can
//!   stop with it before producing anything for that table; other 4xx (422 invalid schema,
//!   401/403, …) are [`RegistryError::Rejected`].

use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use thiserror::Error;

use crate::connect::Schema;
use crate::encode::avro::avro_schema_json;

/// Content type of Confluent's REST API (v1).
pub const REGISTRY_CONTENT_TYPE: &str = "application/vnd.schemaregistry.v1+json";

/// `TopicNameStrategy`: the subject of a topic's key or value schema.
pub fn subject_name(topic: &str, is_key: bool) -> String {
    format!("{topic}-{}", if is_key { "key" } else { "value" })
}

/// How long to keep trying while the registry is unreachable or failing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Wait before the first retry; doubled after every failed attempt.
    pub initial_backoff: Duration,
    /// Upper bound of the wait between two attempts.
    pub max_backoff: Duration,
    /// Give up (with [`RegistryError::Unavailable`]) once this much time has passed since the
    /// first attempt; `None` retries forever.
    pub give_up_after: Option<Duration>,
}

impl Default for RetryPolicy {
    /// 200 ms doubling up to 30 s, forever: records are never produced without a registered
    /// schema, so the connector waits for the registry rather than failing.
    fn default() -> Self {
        RetryPolicy {
            initial_backoff: Duration::from_millis(200),
            max_backoff: Duration::from_secs(30),
            give_up_after: None,
        }
    }
}

impl RetryPolicy {
    /// The wait after the `attempt`-th failure (1-based).
    pub fn backoff(&self, attempt: u32) -> Duration {
        let factor = 1u32.checked_shl(attempt.saturating_sub(1).min(31)).unwrap_or(u32::MAX);
        self.initial_backoff.saturating_mul(factor).min(self.max_backoff)
    }
}

/// What went wrong talking to the registry.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum RegistryError {
    /// HTTP 409: the registry refused the schema as incompatible with the subject's earlier
    /// versions under its compatibility level. `message` is the registry's own text.
    #[error("schema registry rejected the new schema for subject `{subject}` as incompatible (error code {error_code}): {message}")]
    Incompatible { subject: String, error_code: i64, message: String },
    /// Another non-retryable answer (422 invalid schema, 401, 403, 404, …).
    #[error(
        "schema registry refused to register subject `{subject}` (HTTP {status}, error code {error_code}): {message}"
    )]
    Rejected { subject: String, status: u16, error_code: i64, message: String },
    /// Still failing when [`RetryPolicy::give_up_after`] ran out.
    #[error("schema registry unavailable for subject `{subject}` after {attempts} attempts over {elapsed:?}; last error: {last_error}")]
    Unavailable { subject: String, attempts: u32, elapsed: Duration, last_error: String },
    /// A 2xx answer without a usable `id`.
    #[error("unexpected schema registry response for subject `{subject}`: {detail}")]
    BadResponse { subject: String, detail: String },
    /// The configured URL list is empty or not http(s).
    #[error("invalid schema registry URL `{0}`")]
    InvalidUrl(String),
}

/// Cached schema registration against one registry (one or more equivalent URLs).
#[derive(Debug)]
pub struct RegistryClient {
    urls: Vec<String>,
    /// `(user, password)` for HTTP basic auth.
    auth: Option<(String, crate::config::Secret)>,
    lookup_only: bool,
    http: reqwest::Client,
    retry: RetryPolicy,
    /// Index into `urls` of the next request (advanced on retryable failures).
    next_url: AtomicUsize,
    cache: Mutex<IdCache>,
}

/// (subject, the schema `Arc` kept alive, id).
type PtrEntry = (Box<str>, Arc<Schema>, u32);

#[derive(Debug, Default)]
struct IdCache {
    /// `Arc::as_ptr` → [(subject, the Arc kept alive, id)]; usually one or two entries.
    by_ptr: HashMap<usize, Vec<PtrEntry>>,
    /// (subject, schema text) → id.
    by_text: HashMap<(String, String), u32>,
}

/// Outcome of one HTTP attempt.
enum Attempt {
    Done(u32),
    Retry(String),
    Fail(RegistryError),
}

impl RegistryClient {
    /// Once a cache map holds more entries than this, it is emptied before adding another.
    pub const MAX_CACHED_SCHEMAS: usize = 4096;

    /// A client for `urls`: one base URL or a comma-separated list (`schema.registry.url`).
    pub fn new(urls: &str) -> Result<RegistryClient, RegistryError> {
        let mut auth = None;
        let mut list = Vec::new();
        for raw in urls.split(',').map(str::trim).filter(|u| !u.is_empty()) {
            let mut url =
                reqwest::Url::parse(raw).map_err(|e| RegistryError::InvalidUrl(format!("{}: {e}", redact(raw))))?;
            if !matches!(url.scheme(), "http" | "https") || url.cannot_be_a_base() {
                return Err(RegistryError::InvalidUrl(redact(raw)));
            }
            if !url.username().is_empty() {
                let user = percent_decode(url.username());
                let password = percent_decode(url.password().unwrap_or(""));
                auth = Some((user, crate::config::Secret::new(password)));
                let _ = url.set_username("");
                let _ = url.set_password(None);
            }
            list.push(url.as_str().trim_end_matches('/').to_owned());
        }
        if list.is_empty() {
            return Err(RegistryError::InvalidUrl(redact(urls)));
        }
        let http = reqwest::Client::builder()
            .connect_timeout(Duration::from_secs(10))
            .timeout(Duration::from_secs(30))
            .build()
            .map_err(|e| RegistryError::InvalidUrl(format!("{}: {e}", redact(urls))))?;
        Ok(RegistryClient {
            urls: list,
            auth,
            lookup_only: false,
            http,
            retry: RetryPolicy::default(),
            next_url: AtomicUsize::new(0),
            cache: Mutex::new(IdCache::default()),
        })
    }

    /// HTTP basic auth with `user_info` (`user:password`, Confluent's `basic.auth.user.info`).
    pub fn with_basic_auth(mut self, user_info: &crate::config::Secret) -> RegistryClient {
        let (user, password) = user_info.expose().split_once(':').unwrap_or((user_info.expose(), ""));
        self.auth = Some((user.to_owned(), crate::config::Secret::new(password)));
        self
    }

    /// Only look schemas up (`auto.register.schemas=false`); never register.
    pub fn lookup_only(mut self, lookup_only: bool) -> RegistryClient {
        self.lookup_only = lookup_only;
        self
    }

    pub fn with_retry(mut self, retry: RetryPolicy) -> RegistryClient {
        self.retry = retry;
        self
    }

    pub fn urls(&self) -> &[String] {
        &self.urls
    }

    /// The id of `schema` under `subject` if it is cached by `Arc` identity (no I/O, no
    /// allocation).
    pub fn cached_id(&self, subject: &str, schema: &Arc<Schema>) -> Option<u32> {
        let cache = self.cache.lock().unwrap_or_else(|e| e.into_inner());
        cache
            .by_ptr
            .get(&(Arc::as_ptr(schema) as usize))?
            .iter()
            .find(|(s, _, _)| &**s == subject)
            .map(|(_, _, id)| *id)
    }

    /// Number of (subject, schema `Arc`) pairs cached.
    pub fn cached_schemas(&self) -> usize {
        let cache = self.cache.lock().unwrap_or_else(|e| e.into_inner());
        cache.by_ptr.values().map(Vec::len).sum()
    }

    /// The registry id of `schema` (rendered with [`avro_schema_json`]) under `subject`,
    /// registering it if needed. Cached: only the first call per schema does HTTP.
    pub async fn schema_id(&self, subject: &str, schema: &Arc<Schema>) -> Result<u32, RegistryError> {
        if let Some(id) = self.cached_id(subject, schema) {
            return Ok(id);
        }
        let text = avro_schema_json(schema);
        let id = self.register_text(subject, &text).await?;
        let mut cache = self.cache.lock().unwrap_or_else(|e| e.into_inner());
        if cache.by_ptr.len() >= Self::MAX_CACHED_SCHEMAS {
            cache.by_ptr.clear();
        }
        let entries = cache.by_ptr.entry(Arc::as_ptr(schema) as usize).or_default();
        if !entries.iter().any(|(s, _, _)| &**s == subject) {
            entries.push((subject.into(), Arc::clone(schema), id));
        }
        Ok(id)
    }

    /// Registers an Avro schema given as text under `subject` and returns its id; cached by
    /// (subject, text).
    pub async fn register_text(&self, subject: &str, schema_json: &str) -> Result<u32, RegistryError> {
        {
            let cache = self.cache.lock().unwrap_or_else(|e| e.into_inner());
            // Lookup without allocating a key tuple would need raw_entry; the text path only
            // runs on an Arc-cache miss, so one allocation here is fine.
            if let Some(id) = cache.by_text.get(&(subject.to_owned(), schema_json.to_owned())) {
                return Ok(*id);
            }
        }
        let id = self.register_uncached(subject, schema_json).await?;
        let mut cache = self.cache.lock().unwrap_or_else(|e| e.into_inner());
        if cache.by_text.len() >= Self::MAX_CACHED_SCHEMAS {
            cache.by_text.clear();
        }
        cache.by_text.insert((subject.to_owned(), schema_json.to_owned()), id);
        Ok(id)
    }

    /// The HTTP registration with retries.
    async fn register_uncached(&self, subject: &str, schema_json: &str) -> Result<u32, RegistryError> {
        let body = serde_json::to_vec(&serde_json::json!({ "schema": schema_json })).expect("JSON of a string");
        let path = if self.lookup_only {
            format!("/subjects/{}", percent_encode(subject))
        } else {
            format!("/subjects/{}/versions", percent_encode(subject))
        };
        let started = Instant::now();
        let mut attempts = 0u32;
        loop {
            let idx = self.next_url.load(Ordering::Relaxed) % self.urls.len();
            let base = &self.urls[idx];
            attempts += 1;
            let last_error = match self.attempt(base, &path, &body, subject).await {
                Attempt::Done(id) => {
                    if attempts > 1 {
                        tracing::info!(registry = %base, subject, attempts, "schema registry reachable again; schema registered");
                    }
                    return Ok(id);
                }
                Attempt::Fail(e) => return Err(e),
                Attempt::Retry(err) => err,
            };
            // Next attempt goes to the next URL (if there are several).
            let _ =
                self.next_url.compare_exchange(idx, (idx + 1) % self.urls.len(), Ordering::Relaxed, Ordering::Relaxed);
            let delay = self.retry.backoff(attempts);
            let elapsed = started.elapsed();
            if self.retry.give_up_after.is_some_and(|limit| elapsed + delay > limit) {
                tracing::error!(registry = %base, subject, attempts, error = %last_error, "schema registry unavailable; giving up");
                return Err(RegistryError::Unavailable { subject: subject.to_owned(), attempts, elapsed, last_error });
            }
            tracing::warn!(
                registry = %base,
                subject,
                attempt = attempts,
                error = %last_error,
                "schema registry unavailable; retrying in {delay:?}"
            );
            tokio::time::sleep(delay).await;
        }
    }

    async fn attempt(&self, base: &str, path: &str, body: &[u8], subject: &str) -> Attempt {
        let url = format!("{base}{path}");
        let mut req = self.http.post(&url);
        if let Some((user, password)) = &self.auth {
            req = req.basic_auth(user, Some(password.expose()));
        }
        let resp = req
            .header(reqwest::header::CONTENT_TYPE, REGISTRY_CONTENT_TYPE)
            .header(
                reqwest::header::ACCEPT,
                "application/vnd.schemaregistry.v1+json, application/vnd.schemaregistry+json, application/json",
            )
            .body(body.to_vec())
            .send()
            .await;
        let resp = match resp {
            Ok(r) => r,
            Err(e) => return Attempt::Retry(format!("POST {url}: {}", error_chain(&e))),
        };
        let status = resp.status();
        let text = match resp.text().await {
            Ok(t) => t,
            Err(e) => return Attempt::Retry(format!("POST {url}: reading the response: {}", error_chain(&e))),
        };
        if status.is_success() {
            let id = serde_json::from_str::<serde_json::Value>(&text)
                .ok()
                .and_then(|j| j.get("id").and_then(serde_json::Value::as_u64))
                .and_then(|id| u32::try_from(id).ok());
            return match id {
                Some(id) => Attempt::Done(id),
                None => Attempt::Fail(RegistryError::BadResponse {
                    subject: subject.to_owned(),
                    detail: format!("HTTP {status}: {text}"),
                }),
            };
        }
        // Confluent's error body: {"error_code":40901,"message":"…"}.
        let (error_code, message) = match serde_json::from_str::<serde_json::Value>(&text) {
            Ok(j) if j.get("message").is_some() => (
                j.get("error_code").and_then(serde_json::Value::as_i64).unwrap_or(i64::from(status.as_u16())),
                j["message"].as_str().map(str::to_owned).unwrap_or_else(|| j["message"].to_string()),
            ),
            _ => (i64::from(status.as_u16()), text.trim().to_owned()),
        };
        let code = status.as_u16();
        if status.is_server_error() || code == 408 || code == 429 {
            return Attempt::Retry(format!("POST {url}: HTTP {code} (error code {error_code}): {message}"));
        }
        let subject = subject.to_owned();
        Attempt::Fail(if code == 409 {
            RegistryError::Incompatible { subject, error_code, message }
        } else if code == 404 && self.lookup_only {
            RegistryError::Rejected {
                subject,
                status: code,
                error_code,
                message: format!(
                    "{message} (auto.register.schemas=false: register the schema first, or allow the converter to)"
                ),
            }
        } else {
            RegistryError::Rejected { subject, status: code, error_code, message }
        })
    }
}

/// `url` without a `user:password@` part, for messages.
fn redact(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(scheme_end), Some(at)) if at > scheme_end => format!("{}***@{}", &url[..scheme_end + 3], &url[at + 1..]),
        _ => url.to_owned(),
    }
}

/// Decodes `%XX` escapes of a URL's user or password part.
fn percent_decode(s: &str) -> String {
    percent_encoding::percent_decode_str(s).decode_utf8_lossy().into_owned()
}

/// `e` and its sources, `: `-separated (reqwest's Display hides the cause, e.g. "connection
/// refused").
fn error_chain(e: &dyn std::error::Error) -> String {
    let mut s = e.to_string();
    let mut cur = e.source();
    while let Some(c) = cur {
        s.push_str(": ");
        s.push_str(&c.to_string());
        cur = c.source();
    }
    s
}

/// RFC 3986 unreserved characters stay as they are; everything else is percent-encoded.
const PATH_SEGMENT: &percent_encoding::AsciiSet =
    &percent_encoding::NON_ALPHANUMERIC.remove(b'-').remove(b'.').remove(b'_').remove(b'~');

/// A subject as a URL path segment (Kafka topic names never need escaping, but be safe).
fn percent_encode(s: &str) -> String {
    percent_encoding::utf8_percent_encode(s, PATH_SEGMENT).to_string()
}

#[cfg(test)]
mod tests;
