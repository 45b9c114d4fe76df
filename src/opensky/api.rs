//! api: where response bodies come from — the OpenSky REST API or a recorded directory.
//!
//! [`Fetcher::fetch`] returns the raw body of one `GET {base}/states/all` (parsing is `state`'s
//! job) and classifies every failure by what the poll loop must do:
//!
//! | answer | error | loop does |
//! |---|---|---|
//! | 200 | — (`X-Rate-Limit-Remaining` returned) | parse and write |
//! | 429 | `RateLimited` (`X-Rate-Limit-Retry-After-Seconds`, if any) | wait at least that long |
//! | network error, timeout, truncated body, 5xx, 408 | `Transient` | exponential back-off |
//! | 401 | token refreshed once and the request repeated; a second 401 is `Unauthorized` | stop |
//! | other 4xx | `Definite` (the request itself is wrong: base URL, box) | stop |
//! | replay directory exhausted | `Exhausted` | stop normally |
//!
//! The bearer token is only put in the `Authorization` header; errors quote at most 200 bytes of a
//! response body. Replay serves the `*.json` files of a directory in file-name order, one per
//! poll, with no network at all.

use std::path::{Path, PathBuf};
use std::time::Duration;

use super::auth::{AuthError, TokenSource};
use super::config::{ApiConfig, Auth};

/// One successful response.
#[derive(Debug)]
pub struct Fetched {
    pub body: Vec<u8>,
    /// `X-Rate-Limit-Remaining`, when the API sent it.
    pub credits_remaining: Option<f64>,
    /// Whether the body came from the network (and so is worth recording).
    pub live: bool,
}

#[derive(Debug, thiserror::Error)]
pub enum FetchError {
    #[error("rate limited (HTTP 429), retry after {retry_after:?}")]
    RateLimited { retry_after: Option<Duration> },
    #[error("{0}")]
    Transient(String),
    #[error("{0}")]
    Unauthorized(String),
    #[error("{0}")]
    Definite(String),
    #[error("no more recorded responses")]
    Exhausted,
}

pub enum Fetcher {
    Http(HttpApi),
    Replay(Replay),
}

impl Fetcher {
    pub async fn fetch(&mut self) -> Result<Fetched, FetchError> {
        match self {
            Fetcher::Http(h) => h.fetch().await,
            Fetcher::Replay(r) => r.next(),
        }
    }
}

/// The live API.
pub struct HttpApi {
    client: reqwest::Client,
    url: String,
    query: Vec<(&'static str, String)>,
    tokens: Option<TokenSource>,
}

impl HttpApi {
    pub fn new(cfg: &ApiConfig, timeout: Duration) -> Result<HttpApi, String> {
        let client = reqwest::Client::builder()
            .timeout(timeout)
            .connect_timeout(timeout.min(Duration::from_secs(10)))
            .user_agent(concat!("opensky-poller/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| format!("HTTP client: {e}"))?;
        let mut query = vec![("extended", "1".to_string())];
        if let Some(b) = &cfg.bbox {
            query.extend([
                ("lamin", b.lamin.to_string()),
                ("lomin", b.lomin.to_string()),
                ("lamax", b.lamax.to_string()),
                ("lomax", b.lomax.to_string()),
            ]);
        }
        let tokens = match &cfg.auth {
            Auth::Anonymous => None,
            Auth::ClientCredentials { client_id, secret, token_url } => {
                Some(TokenSource::new(client.clone(), token_url.clone(), client_id.clone(), secret.clone()))
            }
        };
        let url = format!("{}/states/all", cfg.base_url.trim_end_matches('/'));
        Ok(HttpApi { client, url, query, tokens })
    }

    async fn fetch(&mut self) -> Result<Fetched, FetchError> {
        let mut refreshed = false;
        loop {
            let mut req = self.client.get(&self.url).query(&self.query);
            if let Some(t) = &mut self.tokens {
                let token = t.token().await.map_err(|e| match e {
                    AuthError::Transient(m) => FetchError::Transient(format!("token: {m}")),
                    AuthError::Rejected(m) => FetchError::Unauthorized(format!(
                        "the OpenSky token endpoint rejected --client-id and its secret ({m}); check the credentials"
                    )),
                })?;
                req = req.bearer_auth(token);
            }
            let resp = req
                .send()
                .await
                .map_err(|e| FetchError::Transient(format!("GET {}: {}", self.url, error_chain(&e))))?;
            let status = resp.status().as_u16();
            let header = |name: &str| -> Option<f64> {
                resp.headers()
                    .get(name)?
                    .to_str()
                    .ok()?
                    .trim()
                    .parse::<f64>()
                    .ok()
                    .filter(|v| v.is_finite() && *v >= 0.0)
            };
            let credits_remaining = header("x-rate-limit-remaining");
            match status {
                200 => {
                    let body = resp
                        .bytes()
                        .await
                        .map_err(|e| FetchError::Transient(format!("reading response body: {}", error_chain(&e))))?;
                    return Ok(Fetched { body: body.to_vec(), credits_remaining, live: true });
                }
                429 => {
                    let retry_after = header("x-rate-limit-retry-after-seconds")
                        .and_then(|s| Duration::try_from_secs_f64(s).ok());
                    return Err(FetchError::RateLimited { retry_after });
                }
                401 => match &mut self.tokens {
                    Some(t) if !refreshed => {
                        t.invalidate();
                        refreshed = true;
                        tracing::warn!("API answered 401: refreshing the token once");
                        continue;
                    }
                    Some(_) => {
                        return Err(FetchError::Unauthorized(
                            "the OpenSky API answered 401 Unauthorized twice, with a freshly obtained token the second time: \
                             the account is not allowed to use this API; stopping"
                                .into(),
                        ))
                    }
                    None => {
                        return Err(FetchError::Unauthorized(
                            "the OpenSky API answered 401 Unauthorized to an anonymous request; stopping".into(),
                        ))
                    }
                },
                408 | 500..=599 => return Err(FetchError::Transient(format!("HTTP {status} from {}", self.url))),
                _ => {
                    let body = resp.bytes().await.unwrap_or_default();
                    let snippet = String::from_utf8_lossy(&body[..body.len().min(200)]).into_owned();
                    return Err(FetchError::Definite(format!("HTTP {status} from {}: {snippet}", self.url)));
                }
            }
        }
    }
}

/// Recorded responses, served in file-name order.
pub struct Replay {
    files: Vec<PathBuf>,
    next: usize,
}

impl Replay {
    pub fn open(dir: &Path) -> Result<Replay, String> {
        let rd = std::fs::read_dir(dir).map_err(|e| format!("--replay {}: {e}", dir.display()))?;
        let mut files: Vec<PathBuf> = rd
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.extension().is_some_and(|x| x == "json"))
            .collect();
        files.sort();
        if files.is_empty() {
            return Err(format!("--replay {}: no *.json files", dir.display()));
        }
        Ok(Replay { files, next: 0 })
    }

    fn next(&mut self) -> Result<Fetched, FetchError> {
        let Some(path) = self.files.get(self.next) else { return Err(FetchError::Exhausted) };
        self.next += 1;
        let body = std::fs::read(path).map_err(|e| FetchError::Transient(format!("{}: {e}", path.display())))?;
        tracing::info!(file = %path.display(), "replaying recorded response");
        Ok(Fetched { body, credits_remaining: None, live: false })
    }
}

/// Save one raw response as `DIR/NNNNNN.json`, numbered after the files already there.
pub fn record(dir: &Path, body: &[u8]) -> std::io::Result<PathBuf> {
    std::fs::create_dir_all(dir)?;
    let n = std::fs::read_dir(dir)?
        .filter_map(Result::ok)
        .filter(|e| e.path().extension().is_some_and(|x| x == "json"))
        .count();
    let path = dir.join(format!("{:06}.json", n + 1));
    let tmp = dir.join(format!(".{:06}.json.tmp", n + 1));
    std::fs::write(&tmp, body)?;
    std::fs::rename(&tmp, &path)?;
    Ok(path)
}

/// An error with its sources, e.g. `error sending request: connection refused`.
pub fn error_chain(e: &dyn std::error::Error) -> String {
    let mut s = e.to_string();
    let mut cur = e.source();
    while let Some(c) = cur {
        let t = c.to_string();
        if !s.contains(&t) {
            s.push_str(": ");
            s.push_str(&t);
        }
        cur = c.source();
    }
    s
}
