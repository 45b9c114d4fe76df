//! Registry client against a tiny in-process mock of Confluent's registration endpoint.

use super::*;
use crate::connect::{Field, SchemaType};
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::routing::post;
use axum::Router;
use serde_json::Value as J;

#[derive(Default)]
struct Mock {
    /// (subject, content type, request body) of every registration request.
    calls: Vec<(String, String, J)>,
    /// Schema text → id (like Confluent: one id per distinct schema, shared across subjects).
    ids: HashMap<String, u32>,
    /// Answer this many requests with 503 before behaving.
    fail_first: u32,
    /// The `Authorization` header of every request (empty when absent).
    auth: Vec<String>,
}

type Shared = Arc<Mutex<Mock>>;

async fn register(
    State(st): State<Shared>,
    Path(subject): Path<String>,
    headers: HeaderMap,
    body: String,
) -> (StatusCode, String) {
    let mut m = st.lock().unwrap();
    m.auth.push(headers.get("authorization").and_then(|v| v.to_str().ok()).unwrap_or("").to_owned());
    let ct = headers.get("content-type").and_then(|v| v.to_str().ok()).unwrap_or("").to_owned();
    let j: J = serde_json::from_str(&body).unwrap_or(J::Null);
    m.calls.push((subject.clone(), ct, j.clone()));
    if m.fail_first > 0 {
        m.fail_first -= 1;
        return (
            StatusCode::SERVICE_UNAVAILABLE,
            r#"{"error_code":50003,"message":"Error while forwarding the request to the leader"}"#.into(),
        );
    }
    if subject.ends_with("incompatible-value") {
        return (
            StatusCode::CONFLICT,
            r#"{"error_code":409,"message":"Schema being registered is incompatible with an earlier schema for subject \"x.incompatible-value\", details: [READER_FIELD_MISSING_DEFAULT_VALUE]"}"#.into(),
        );
    }
    if subject.ends_with("invalid-value") {
        return (StatusCode::UNPROCESSABLE_ENTITY, r#"{"error_code":42201,"message":"Invalid schema"}"#.into());
    }
    let schema = j["schema"].as_str().unwrap().to_owned();
    let next = m.ids.len() as u32 + 1;
    let id = *m.ids.entry(schema).or_insert(next);
    (StatusCode::OK, format!(r#"{{"id":{id}}}"#))
}

/// `POST /subjects/{subject}`: look a schema up without registering it.
async fn lookup(State(st): State<Shared>, Path(subject): Path<String>, body: String) -> (StatusCode, String) {
    let mut m = st.lock().unwrap();
    let j: J = serde_json::from_str(&body).unwrap_or(J::Null);
    m.calls.push((format!("lookup {subject}"), String::new(), j.clone()));
    match m.ids.get(j["schema"].as_str().unwrap_or("")) {
        Some(id) => (StatusCode::OK, format!(r#"{{"subject":"{subject}","id":{id},"version":1}}"#)),
        None => (StatusCode::NOT_FOUND, r#"{"error_code":40403,"message":"Schema not found"}"#.into()),
    }
}

fn app(st: Shared) -> Router {
    Router::new()
        .route("/subjects/{subject}/versions", post(register))
        .route("/subjects/{subject}", post(lookup))
        .with_state(st)
}

async fn serve_on(listener: tokio::net::TcpListener, st: Shared) {
    axum::serve(listener, app(st)).await.unwrap();
}

/// Starts a mock registry; returns its base URL and state.
async fn mock() -> (String, Shared) {
    let st: Shared = Arc::default();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(serve_on(listener, Arc::clone(&st)));
    (url, st)
}

/// A local port with nothing listening.
async fn dead_port() -> u16 {
    let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    l.local_addr().unwrap().port()
}

fn fast_retry(give_up_ms: Option<u64>) -> RetryPolicy {
    RetryPolicy {
        initial_backoff: Duration::from_millis(20),
        max_backoff: Duration::from_millis(100),
        give_up_after: give_up_ms.map(Duration::from_millis),
    }
}

fn key_schema(field: &str) -> Arc<Schema> {
    Schema::new(SchemaType::Struct(vec![Field::new(field, Schema::new(SchemaType::Int32).arc())]))
        .named("dbserver1.inventory.customers.Key")
        .arc()
}

/// Captures this thread's tracing output.
fn capture_logs() -> (Arc<Mutex<Vec<u8>>>, tracing::subscriber::DefaultGuard) {
    #[derive(Clone)]
    struct W(Arc<Mutex<Vec<u8>>>);
    impl std::io::Write for W {
        fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(b);
            Ok(b.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }
    let buf = Arc::new(Mutex::new(Vec::new()));
    let w = W(Arc::clone(&buf));
    let sub = tracing_subscriber::fmt().with_ansi(false).with_writer(move || w.clone()).finish();
    (buf, tracing::subscriber::set_default(sub))
}

fn logs(buf: &Arc<Mutex<Vec<u8>>>) -> String {
    String::from_utf8_lossy(&buf.lock().unwrap()).into_owned()
}

#[test]
fn subjects_urls_backoff() {
    assert_eq!(subject_name("dbserver1.inventory.customers", true), "dbserver1.inventory.customers-key");
    assert_eq!(subject_name("dbserver1", false), "dbserver1-value");
    assert!(RegistryClient::new("").is_err());
    assert!(RegistryClient::new("mock://x").is_err());
    let c = RegistryClient::new(" http://a:8081/ ,https://b").unwrap();
    assert_eq!(c.urls(), ["http://a:8081", "https://b"]);
    let p = RetryPolicy::default();
    let waits: Vec<u64> = (1..=10).map(|a| p.backoff(a).as_millis() as u64).collect();
    assert_eq!(waits, [200, 400, 800, 1600, 3200, 6400, 12800, 25600, 30000, 30000]);
    assert_eq!(p.backoff(1000), Duration::from_secs(30));
    assert_eq!(percent_encode("a.b-c_d~e f/g"), "a.b-c_d~e%20f%2Fg");
}

#[tokio::test]
async fn registers_once_then_serves_from_cache() {
    let (url, st) = mock().await;
    let client = RegistryClient::new(&url).unwrap();
    let key = key_schema("id");
    let subject = subject_name("dbserver1.inventory.customers", true);

    assert_eq!(client.cached_id(&subject, &key), None);
    let id = client.schema_id(&subject, &key).await.unwrap();
    assert_eq!(id, 1);
    for _ in 0..100 {
        assert_eq!(client.schema_id(&subject, &key).await.unwrap(), 1);
    }
    assert_eq!(client.cached_id(&subject, &key), Some(1));
    {
        let m = st.lock().unwrap();
        assert_eq!(m.calls.len(), 1, "one HTTP request for 101 lookups");
        let (s, ct, body) = &m.calls[0];
        assert_eq!(s, "dbserver1.inventory.customers-key");
        assert_eq!(ct, REGISTRY_CONTENT_TYPE);
        assert_eq!(body, &serde_json::json!({ "schema": avro_schema_json(&key) }));
    }

    // An identical schema in a new Arc: served from the text cache, no request.
    let again = key_schema("id");
    assert_eq!(client.schema_id(&subject, &again).await.unwrap(), 1);
    assert_eq!(client.cached_id(&subject, &again), Some(1));
    // The same schema under another subject, and a different schema: one request each.
    assert_eq!(client.schema_id("other-key", &key).await.unwrap(), 1);
    assert_eq!(client.schema_id(&subject, &key_schema("id2")).await.unwrap(), 2);
    assert_eq!(st.lock().unwrap().calls.len(), 3);
    assert_eq!(client.cached_schemas(), 4);
    // The cache keeps the Arcs alive (their addresses cannot be reused meanwhile).
    assert!(Arc::strong_count(&key) >= 2);
}

#[tokio::test]
async fn incompatible_schema_surfaces_registry_message() {
    let (url, st) = mock().await;
    let client = RegistryClient::new(&url).unwrap().with_retry(fast_retry(Some(2000)));
    let err = client.schema_id("dbserver1.x.incompatible-value", &key_schema("id")).await.unwrap_err();
    match &err {
        RegistryError::Incompatible { subject, error_code, message } => {
            assert_eq!(subject, "dbserver1.x.incompatible-value");
            assert_eq!(*error_code, 409);
            assert!(message.starts_with("Schema being registered is incompatible"), "{message}");
        }
        other => panic!("unexpected {other:?}"),
    }
    assert!(err.to_string().contains("READER_FIELD_MISSING_DEFAULT_VALUE"));
    assert_eq!(st.lock().unwrap().calls.len(), 1, "a 409 is not retried");
    assert_eq!(client.cached_schemas(), 0);

    let err = client.register_text("y.invalid-value", "{}").await.unwrap_err();
    assert_eq!(
        err,
        RegistryError::Rejected {
            subject: "y.invalid-value".into(),
            status: 422,
            error_code: 42201,
            message: "Invalid schema".into()
        }
    );
}

#[tokio::test]
async fn server_errors_are_retried_with_a_log_line() {
    let (buf, _guard) = capture_logs();
    let (url, st) = mock().await;
    st.lock().unwrap().fail_first = 2;
    let client = RegistryClient::new(&url).unwrap().with_retry(fast_retry(None));
    assert_eq!(client.schema_id("t-value", &key_schema("id")).await.unwrap(), 1);
    assert_eq!(st.lock().unwrap().calls.len(), 3);
    let text = logs(&buf);
    assert_eq!(text.matches("schema registry unavailable; retrying in").count(), 2, "{text}");
    assert!(text.contains("HTTP 503 (error code 50003)"), "{text}");
    assert!(text.contains("reachable again"), "{text}");
}

#[tokio::test]
async fn registry_down_gives_up_after_the_policy_limit() {
    let (buf, _guard) = capture_logs();
    let port = dead_port().await;
    let client = RegistryClient::new(&format!("http://127.0.0.1:{port}")).unwrap().with_retry(fast_retry(Some(300)));
    let started = Instant::now();
    let err = client.schema_id("t-value", &key_schema("id")).await.unwrap_err();
    let RegistryError::Unavailable { attempts, last_error, .. } = &err else { panic!("unexpected {err:?}") };
    assert!(*attempts >= 3, "{attempts} attempts");
    assert!(last_error.contains(&format!("127.0.0.1:{port}")), "{last_error}");
    assert!(started.elapsed() < Duration::from_secs(5));
    let text = logs(&buf);
    assert!(text.contains("WARN") && text.contains("retrying in"), "{text}");
    assert!(text.contains("giving up"), "{text}");
}

#[tokio::test]
async fn waits_for_a_registry_that_comes_up_later() {
    let (buf, _guard) = capture_logs();
    let port = dead_port().await;
    let st: Shared = Arc::default();
    let st2 = Arc::clone(&st);
    tokio::spawn(async move {
        tokio::time::sleep(Duration::from_millis(300)).await;
        let listener = tokio::net::TcpListener::bind(("127.0.0.1", port)).await.unwrap();
        serve_on(listener, st2).await;
    });
    let client = RegistryClient::new(&format!("http://127.0.0.1:{port}")).unwrap().with_retry(fast_retry(None));
    assert_eq!(client.schema_id("t-value", &key_schema("id")).await.unwrap(), 1);
    assert_eq!(st.lock().unwrap().calls.len(), 1);
    assert!(logs(&buf).contains("retrying in"));
}

#[tokio::test]
async fn fails_over_to_the_next_url() {
    let port = dead_port().await;
    let (url, st) = mock().await;
    let client =
        RegistryClient::new(&format!("http://127.0.0.1:{port},{url}")).unwrap().with_retry(fast_retry(Some(2000)));
    assert_eq!(client.schema_id("t-value", &key_schema("id")).await.unwrap(), 1);
    // Later requests stay on the URL that worked.
    assert_eq!(client.schema_id("t-key", &key_schema("k")).await.unwrap(), 2);
    assert_eq!(st.lock().unwrap().calls.len(), 2);
}

#[tokio::test]
async fn credentials_from_the_url_or_user_info_become_basic_auth_and_are_not_kept_in_urls() {
    let (url, st) = mock().await;
    let with_creds = url.replace("http://", "http://alice:s%3Acret@");
    let client = RegistryClient::new(&with_creds).unwrap();
    assert_eq!(client.urls(), std::slice::from_ref(&url), "no credentials in the stored (and logged) URL");
    assert!(!format!("{client:?}").contains("s:cret"), "Debug does not show the password");
    client.schema_id("a-key", &key_schema("id")).await.unwrap();
    let user_info = crate::config::Secret::new("bob:pw");
    let client = RegistryClient::new(&url).unwrap().with_basic_auth(&user_info);
    client.schema_id("b-key", &key_schema("id")).await.unwrap();
    let auth = st.lock().unwrap().auth.clone();
    use base64::Engine as _;
    let basic = |u: &str| format!("Basic {}", base64::engine::general_purpose::STANDARD.encode(u));
    assert_eq!(auth, [basic("alice:s:cret"), basic("bob:pw")]);
    let e = RegistryClient::new("http://alice:secret@[bad").unwrap_err().to_string();
    assert!(!e.contains("secret"), "{e}");
}

#[tokio::test]
async fn lookup_only_finds_registered_schemas_and_never_registers() {
    let (url, st) = mock().await;
    let registering = RegistryClient::new(&url).unwrap();
    let known = key_schema("id");
    let id = registering.schema_id("t-key", &known).await.unwrap();
    let client = RegistryClient::new(&url).unwrap().lookup_only(true);
    assert_eq!(client.schema_id("t-key", &known).await.unwrap(), id);
    let e = client.schema_id("t-key", &key_schema("other")).await.unwrap_err();
    let msg = e.to_string();
    assert!(matches!(e, RegistryError::Rejected { status: 404, error_code: 40403, .. }), "{msg}");
    assert!(msg.contains("auto.register.schemas=false"), "{msg}");
    let calls: Vec<String> = st.lock().unwrap().calls.iter().map(|c| c.0.clone()).collect();
    assert_eq!(calls, ["t-key", "lookup t-key", "lookup t-key"], "one registration (the first client), then lookups");
}
