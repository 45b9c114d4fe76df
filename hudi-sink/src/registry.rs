//! registry: writer schemas by id from a Confluent-compatible schema registry
//! (`GET /schemas/ids/{id}`), cached by id for the life of the process (an id never changes its
//! schema).
//!
//! Failures split by what the caller must do: an id the registry does not know (HTTP 404) is
//! [`RegistryError::UnknownId`], definite — the record cannot be decoded; connection errors,
//! timeouts and 5xx are retried with back-off (200 ms doubling to 5 s) for up to
//! [`SchemaCache::RETRY_FOR`], then [`RegistryError::Unavailable`].

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// A writer schema: the parsed Avro schema and its JSON text (the text keeps the
/// `connect.*` properties that the type mapping reads).
#[derive(Debug)]
pub struct WriterSchema {
    pub id: u32,
    pub avro: apache_avro::Schema,
    pub json: serde_json::Value,
}

#[derive(Debug, thiserror::Error)]
pub enum RegistryError {
    #[error("schema id {id} is not known to the schema registry at {url}")]
    UnknownId { id: u32, url: String },
    #[error("schema registry at {url} unavailable for schema id {id}: {detail}")]
    Unavailable { id: u32, url: String, detail: String },
    #[error("schema id {id} from {url} is not a usable Avro schema: {detail}")]
    BadSchema { id: u32, url: String, detail: String },
    #[error("no schema registry URL configured (--schema-registry-url) but topic data is Avro (schema id {id})")]
    NotConfigured { id: u32 },
}

pub struct SchemaCache {
    url: Option<String>,
    http: reqwest::Client,
    cache: Mutex<HashMap<u32, Arc<WriterSchema>>>,
}

impl SchemaCache {
    pub const RETRY_FOR: Duration = Duration::from_secs(60);

    pub fn new(url: Option<&str>) -> SchemaCache {
        let http = reqwest::Client::builder()
            .connect_timeout(Duration::from_secs(5))
            .timeout(Duration::from_secs(15))
            .build()
            .expect("HTTP client");
        SchemaCache {
            url: url.map(|u| u.split(',').next().unwrap_or(u).trim().trim_end_matches('/').to_owned()),
            http,
            cache: Mutex::new(HashMap::new()),
        }
    }

    pub async fn get(&self, id: u32) -> Result<Arc<WriterSchema>, RegistryError> {
        if let Some(s) = self.cache.lock().unwrap_or_else(|e| e.into_inner()).get(&id) {
            return Ok(s.clone());
        }
        let base = self.url.as_deref().ok_or(RegistryError::NotConfigured { id })?;
        let url = format!("{base}/schemas/ids/{id}");
        let started = Instant::now();
        let mut delay = Duration::from_millis(200);
        let text = loop {
            let last = match self.http.get(&url).send().await {
                Ok(resp) if resp.status().is_success() => match resp.text().await {
                    Ok(t) => break t,
                    Err(e) => e.to_string(),
                },
                Ok(resp) if resp.status().as_u16() == 404 => {
                    return Err(RegistryError::UnknownId { id, url: base.to_owned() })
                }
                Ok(resp) if resp.status().is_client_error() => {
                    let status = resp.status();
                    let body = resp.text().await.unwrap_or_default();
                    return Err(RegistryError::BadSchema {
                        id,
                        url: base.to_owned(),
                        detail: format!("HTTP {status}: {body}"),
                    });
                }
                Ok(resp) => format!("HTTP {}", resp.status()),
                Err(e) => e.to_string(),
            };
            if started.elapsed() + delay > Self::RETRY_FOR {
                return Err(RegistryError::Unavailable { id, url: base.to_owned(), detail: last });
            }
            tracing::warn!(registry = base, id, error = %last, "schema registry unavailable; retrying in {delay:?}");
            tokio::time::sleep(delay).await;
            delay = (delay * 2).min(Duration::from_secs(5));
        };
        let bad = |detail: String| RegistryError::BadSchema { id, url: base.to_owned(), detail };
        let body: serde_json::Value = serde_json::from_str(&text).map_err(|e| bad(e.to_string()))?;
        let schema_text =
            body.get("schema").and_then(|s| s.as_str()).ok_or_else(|| bad(format!("no `schema` in {text}")))?;
        if body.get("schemaType").and_then(|t| t.as_str()).is_some_and(|t| t != "AVRO") {
            return Err(bad(format!("schema type {} is not AVRO", body["schemaType"])));
        }
        let json: serde_json::Value = serde_json::from_str(schema_text).map_err(|e| bad(e.to_string()))?;
        let avro = apache_avro::Schema::parse_str(schema_text).map_err(|e| bad(e.to_string()))?;
        let schema = Arc::new(WriterSchema { id, avro, json });
        self.cache.lock().unwrap_or_else(|e| e.into_inner()).insert(id, schema.clone());
        Ok(schema)
    }
}
