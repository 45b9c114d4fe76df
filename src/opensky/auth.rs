//! auth: OAuth2 client-credentials tokens for the OpenSky API.
//!
//! Algorithm: `POST token_url` with the form `grant_type=client_credentials&client_id=..&client_secret=..`;
//! the response's `access_token` is cached together with its `expires_in`. A cached token is
//! reused until `refresh_at = obtained + expires_in - margin`, where `margin` is a quarter of the
//! lifetime capped at 60 s (so a 30-minute token is refreshed a minute early, a short test token
//! a quarter of its life early): a request never goes out with a token about to expire.
//! [`TokenSource::invalidate`] drops the cache (the API answered 401).
//!
//! Failure: network errors and 5xx from the token endpoint are [`AuthError::Transient`] (the
//! poller backs off); 400/401/403 mean the credentials are wrong and are [`AuthError::Rejected`]
//! (the poller stops). The secret is only ever put into the request form; no error or log line
//! contains it, and response bodies quoted in errors are cut short.

use std::time::{Duration, Instant};

use serde::Deserialize;

use super::config::Secret;

#[derive(Debug, thiserror::Error)]
pub enum AuthError {
    #[error("token endpoint unreachable or failing: {0}")]
    Transient(String),
    #[error("token endpoint rejected the client credentials: {0}")]
    Rejected(String),
}

struct Token {
    value: String,
    refresh_at: Instant,
}

pub struct TokenSource {
    client: reqwest::Client,
    url: String,
    client_id: String,
    secret: Secret,
    cached: Option<Token>,
    /// Tokens obtained so far (for logs and tests).
    pub obtained: u64,
}

#[derive(Deserialize)]
struct TokenResponse {
    access_token: String,
    expires_in: Option<f64>,
}

/// Refresh margin for a token living `lifetime`.
pub fn refresh_margin(lifetime: Duration) -> Duration {
    (lifetime / 4).min(Duration::from_secs(60))
}

impl TokenSource {
    pub fn new(client: reqwest::Client, url: String, client_id: String, secret: Secret) -> TokenSource {
        TokenSource { client, url, client_id, secret, cached: None, obtained: 0 }
    }

    /// A valid token: the cached one, or a fresh one when none is cached or it is due for refresh.
    pub async fn token(&mut self) -> Result<String, AuthError> {
        if let Some(t) = &self.cached {
            if Instant::now() < t.refresh_at {
                return Ok(t.value.clone());
            }
        }
        let t = self.fetch().await?;
        let v = t.value.clone();
        self.cached = Some(t);
        Ok(v)
    }

    /// Forget the cached token (the API rejected it).
    pub fn invalidate(&mut self) {
        self.cached = None;
    }

    async fn fetch(&mut self) -> Result<Token, AuthError> {
        let started = Instant::now();
        let form = [
            ("grant_type", "client_credentials"),
            ("client_id", self.client_id.as_str()),
            ("client_secret", self.secret.expose()),
        ];
        let resp = self
            .client
            .post(&self.url)
            .form(&form)
            .send()
            .await
            .map_err(|e| AuthError::Transient(format!("POST {}: {}", self.url, super::api::error_chain(&e))))?;
        let status = resp.status();
        let body = resp
            .bytes()
            .await
            .map_err(|e| AuthError::Transient(format!("reading token response: {}", super::api::error_chain(&e))))?;
        let snippet = || String::from_utf8_lossy(&body[..body.len().min(200)]).replace(self.secret.expose(), "***");
        if matches!(status.as_u16(), 400 | 401 | 403) {
            return Err(AuthError::Rejected(format!("HTTP {status}: {}", snippet())));
        }
        if !status.is_success() {
            return Err(AuthError::Transient(format!("HTTP {status}: {}", snippet())));
        }
        let parsed: TokenResponse = serde_json::from_slice(&body)
            .map_err(|e| AuthError::Transient(format!("token response is not the expected JSON: {e}")))?;
        let lifetime = parsed
            .expires_in
            .filter(|s| s.is_finite() && *s > 0.0)
            .and_then(|s| Duration::try_from_secs_f64(s).ok())
            .unwrap_or(Duration::from_secs(300));
        self.obtained += 1;
        tracing::info!(expires_in_s = lifetime.as_secs_f64(), tokens_obtained = self.obtained, "obtained an API token");
        Ok(Token { value: parsed.access_token, refresh_at: started + lifetime - refresh_margin(lifetime) })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn margin() {
        assert_eq!(refresh_margin(Duration::from_secs(1800)), Duration::from_secs(60));
        assert_eq!(refresh_margin(Duration::from_secs(4)), Duration::from_secs(1));
    }
}
