//! A local stand-in for the OpenSky API (127.0.0.1, port 0): `GET /api/states/all` serves a
//! scripted list of replies, `POST /token` issues OAuth2 client-credentials tokens. Every request
//! is recorded with its arrival time so tests can check pacing and headers.

use std::collections::VecDeque;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::body::Body;
use axum::extract::{Form, RawQuery, State};
use axum::http::HeaderMap;
use axum::response::Response;
use axum::routing::{get, post};

/// One scripted answer of `/api/states/all`.
#[derive(Debug, Clone)]
pub enum Reply {
    /// 200 with this body (and `X-Rate-Limit-Remaining` when given).
    Ok(String, Option<u32>),
    /// A status with headers and an empty body.
    Status(u16, Vec<(&'static str, String)>),
    /// 200 whose body stops after `cut` bytes although Content-Length promised more.
    CutConnection(String, usize),
}

#[derive(Debug, Clone)]
pub struct Request {
    pub at: Instant,
    pub query: String,
    pub authorization: Option<String>,
    pub status: u16,
}

#[derive(Default)]
pub struct Script {
    pub replies: VecDeque<Reply>,
    pub requests: Vec<Request>,
    /// When set, the API demands a bearer token issued by `/token` and not yet expired.
    pub oauth: Option<OAuth>,
    /// Answer 401 to every API request (token endpoint still works).
    pub always_401: bool,
}

pub struct OAuth {
    pub client_id: String,
    pub secret: String,
    pub expires_in: u64,
    pub issued: Vec<(String, Instant)>,
    pub token_requests: u32,
}

pub struct TestServer {
    pub addr: SocketAddr,
    pub script: Arc<Mutex<Script>>,
    _rt: tokio::runtime::Runtime,
}

impl TestServer {
    pub fn start(replies: Vec<Reply>) -> TestServer {
        let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(1).enable_all().build().unwrap();
        let script = Arc::new(Mutex::new(Script { replies: replies.into(), ..Default::default() }));
        let app = axum::Router::new()
            .route("/api/states/all", get(states))
            .route("/token", post(token))
            .with_state(script.clone());
        let listener = rt.block_on(tokio::net::TcpListener::bind("127.0.0.1:0")).unwrap();
        let addr = listener.local_addr().unwrap();
        rt.spawn(async move { axum::serve(listener, app).await.unwrap() });
        TestServer { addr, script, _rt: rt }
    }

    pub fn base_url(&self) -> String {
        format!("http://{}/api", self.addr)
    }
    pub fn token_url(&self) -> String {
        format!("http://{}/token", self.addr)
    }
    pub fn requests(&self) -> Vec<Request> {
        self.script.lock().unwrap().requests.clone()
    }
    pub fn push(&self, r: Reply) {
        self.script.lock().unwrap().replies.push_back(r);
    }
}

fn status(code: u16) -> Response {
    Response::builder().status(code).body(Body::empty()).unwrap()
}

async fn states(State(script): State<Arc<Mutex<Script>>>, RawQuery(q): RawQuery, headers: HeaderMap) -> Response {
    let authorization = headers.get("authorization").and_then(|v| v.to_str().ok()).map(str::to_string);
    let mut s = script.lock().unwrap();
    let now = Instant::now();
    let mut unauthorized = s.always_401;
    if let Some(o) = &s.oauth {
        let ok = authorization.as_deref().and_then(|a| a.strip_prefix("Bearer ")).is_some_and(|t| {
            o.issued.iter().any(|(tok, at)| tok == t && now < *at + Duration::from_secs(o.expires_in))
        });
        unauthorized |= !ok;
    }
    let reply = if unauthorized {
        Reply::Status(401, vec![])
    } else {
        s.replies.pop_front().unwrap_or(Reply::Status(503, vec![]))
    };
    let code = match &reply {
        Reply::Ok(..) | Reply::CutConnection(..) => 200,
        Reply::Status(c, _) => *c,
    };
    s.requests.push(Request { at: now, query: q.unwrap_or_default(), authorization, status: code });
    drop(s);
    match reply {
        Reply::Ok(body, remaining) => {
            let mut b = Response::builder().header("content-type", "application/json");
            if let Some(r) = remaining {
                b = b.header("x-rate-limit-remaining", r.to_string());
            }
            b.body(Body::from(body)).unwrap()
        }
        Reply::Status(code, headers) => {
            let mut r = status(code);
            for (k, v) in headers {
                r.headers_mut().insert(k, v.parse().unwrap());
            }
            r
        }
        Reply::CutConnection(body, cut) => {
            let len = body.len();
            let first = body.as_bytes()[..cut].to_vec();
            // The first part is flushed, then (a moment later) the connection is cut mid-body.
            let stream = futures_util::stream::unfold(0u8, move |step| {
                let first = first.clone();
                async move {
                    match step {
                        0 => Some((Ok(first), 1)),
                        1 => {
                            tokio::time::sleep(Duration::from_millis(200)).await;
                            Some((Err(std::io::Error::new(std::io::ErrorKind::ConnectionReset, "cut by the test")), 2))
                        }
                        _ => None,
                    }
                }
            });
            Response::builder()
                .header("content-type", "application/json")
                .header("content-length", len.to_string())
                .body(Body::from_stream(stream))
                .unwrap()
        }
    }
}

async fn token(State(script): State<Arc<Mutex<Script>>>, Form(form): Form<Vec<(String, String)>>) -> Response {
    let field = |k: &str| form.iter().find(|(n, _)| n == k).map(|(_, v)| v.clone()).unwrap_or_default();
    let mut s = script.lock().unwrap();
    let Some(o) = s.oauth.as_mut() else { return status(404) };
    o.token_requests += 1;
    if field("grant_type") != "client_credentials"
        || field("client_id") != o.client_id
        || field("client_secret") != o.secret
    {
        return Response::builder().status(401).body(Body::from(r#"{"error":"invalid_client"}"#)).unwrap();
    }
    let tok = format!("tok-{}", o.token_requests);
    o.issued.push((tok.clone(), Instant::now()));
    let body = serde_json::json!({"access_token": tok, "expires_in": o.expires_in, "token_type": "Bearer"}).to_string();
    Response::builder().header("content-type", "application/json").body(Body::from(body)).unwrap()
}
