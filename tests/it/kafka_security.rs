//! Kafka security end to end (issue #8), with configs written the way Kafka Connect and MSK
//! users write them (Java property names, `sasl.jaas.config`, PEM stores).
//!
//! The broker: a tansu 0.6.0 of the test's own started with `--authentication` (SASL required on
//! every connection: SCRAM-SHA-256/512 against the users it stores, created with `tansu user
//! create` before authentication is switched on). tansu 0.6.0 takes `--cert`/`--key` but never
//! uses them (its TLS acceptor is built and dropped), so TLS is terminated by a proxy of this test
//! in front of it: tansu advertises the proxy's port, every client connection goes through it,
//! and the proxy requires a client certificate from the test's CA. Clients therefore speak
//! `SASL_SSL` with mutual TLS, as against MSK.
//!
//! MSK IAM: tansu cannot validate an MSK IAM token (it knows no AWS; its SASL check refuses
//! OAUTHBEARER), so that test proves the path up to the broker: the proxy records the
//! decrypted bytes clients send, and the OAUTHBEARER `SaslAuthenticate` request carrying our
//! token — a SigV4-presigned `kafka-cluster:Connect` URL for the configured credentials and
//! region — is found in them; the broker's refusal then stops the client with an authentication
//! error.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use base64::Engine as _;
use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, Issuer, KeyPair};
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::Message;

use crate::connector::Setup;
use crate::hudi::{read_table, SinkProc};
use crate::registry::{free_port, RegistryProc};
use crate::services::{serial, services, unique, Services};

const USER: &str = "cdc";
const PASSWORD: &str = "Scram-5d1e9a77-secret";
const WRONG: &str = "Scram-0b3c2f18-wrong";

/// A record's key and value.
type KeyValue = (Option<Vec<u8>>, Option<Vec<u8>>);

/// A tansu requiring SASL, behind a TLS proxy requiring client certificates.
struct SecureKafka {
    dir: tempfile::TempDir,
    tansu: Child,
    /// The proxy's (TLS) port: what clients use and tansu advertises.
    pub port: u16,
    /// Decrypted bytes clients sent through the proxy.
    pub sent: Arc<Mutex<Vec<u8>>>,
    _proxy: std::thread::JoinHandle<()>,
}

impl SecureKafka {
    fn start() -> SecureKafka {
        let dir = tempfile::tempdir().expect("tempdir");
        std::fs::write(dir.path().join(".env"), "").unwrap();
        let plain = free_port();
        let port = free_port();
        // a user first, while tansu still answers without authentication
        let mut open = tansu(dir.path(), plain, plain, false);
        wait_port(plain, &mut open);
        let out = Command::new("tansu")
            .args(["user", "create", "--broker", &format!("tcp://127.0.0.1:{plain}"), USER, PASSWORD])
            .args(["--mechanism", "scram512"])
            .env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .output()
            .expect("tansu user create");
        assert!(out.status.success(), "tansu user create: {}", String::from_utf8_lossy(&out.stderr));
        let _ = open.kill();
        let _ = open.wait();
        let mut tansu = tansu(dir.path(), plain, port, true);
        wait_port(plain, &mut tansu);

        let pki = Pki::new(dir.path());
        let sent = Arc::new(Mutex::new(Vec::new()));
        let proxy = tls_proxy(port, plain, &pki, sent.clone());
        SecureKafka { dir, tansu, port, sent, _proxy: proxy }
    }

    fn bootstrap(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    /// Client properties in Kafka's Java names: SASL_SSL, SCRAM-SHA-512, PEM trust and key stores.
    fn client_properties(&self, password: &str) -> Vec<(String, String)> {
        [
            ("security.protocol", "SASL_SSL".to_string()),
            ("sasl.mechanism", "SCRAM-SHA-512".to_string()),
            (
                "sasl.jaas.config",
                format!(
                    "org.apache.kafka.common.security.scram.ScramLoginModule required username=\"{USER}\" password=\"{password}\";"
                ),
            ),
            ("ssl.truststore.type", "PEM".to_string()),
            ("ssl.truststore.location", self.path("ca.pem").display().to_string()),
            ("ssl.keystore.type", "PEM".to_string()),
            ("ssl.keystore.location", self.path("client.pem").display().to_string()),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v))
        .collect()
    }

    /// A `client.properties` file of `props`.
    fn write_properties(&self, name: &str, props: &[(String, String)]) -> PathBuf {
        let text: String = props.iter().map(|(k, v)| format!("{k}={v}\n")).collect();
        let p = self.path(name);
        std::fs::write(&p, text).unwrap();
        p
    }

    /// Every record of `topic`, read with the project's own translation of `props`.
    fn read(&self, props: &Path, topic: &str) -> Vec<KeyValue> {
        let settings =
            cdc_connector::kafka_client::from_command_line(&[props.to_path_buf()], &[], &self.bootstrap()).unwrap();
        let consumer: BaseConsumer = settings
            .client_config(&self.bootstrap())
            .set("group.id", format!("it-sec-{}", std::process::id()))
            .set("enable.auto.commit", "false")
            .set("auto.offset.reset", "earliest")
            .create()
            .expect("consumer");
        let md = consumer.fetch_metadata(Some(topic), Duration::from_secs(30)).expect("metadata");
        let mut out = Vec::new();
        for p in md.topics().iter().flat_map(|t| t.partitions()) {
            let (lo, hi) = consumer.fetch_watermarks(topic, p.id(), Duration::from_secs(30)).expect("watermarks");
            let mut tpl = rdkafka::TopicPartitionList::new();
            tpl.add_partition_offset(topic, p.id(), rdkafka::Offset::Offset(lo)).unwrap();
            consumer.assign(&tpl).unwrap();
            let deadline = Instant::now() + Duration::from_secs(60);
            let mut next = lo;
            while next < hi {
                assert!(Instant::now() < deadline, "timed out reading {topic}");
                if let Some(Ok(m)) = consumer.poll(Duration::from_millis(500)) {
                    next = m.offset() + 1;
                    out.push((m.key().map(<[u8]>::to_vec), m.payload().map(<[u8]>::to_vec)));
                }
            }
        }
        out
    }
}

impl Drop for SecureKafka {
    fn drop(&mut self) {
        let _ = self.tansu.kill();
        let _ = self.tansu.wait();
    }
}

/// tansu on `listen`, advertising `advertised`, its sqlite database in `dir` (a clean environment
/// and an empty `.env`, as `e2e/services.sh` starts it).
fn tansu(dir: &Path, listen: u16, advertised: u16, authentication: bool) -> Child {
    let mut c = Command::new("tansu");
    c.current_dir(dir)
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("HOME", std::env::var("HOME").unwrap_or_default())
        .env("RUST_LOG", "warn")
        .args(["broker", "--silent", "--storage-engine", "sqlite://tansu.db"])
        .args(["--listener-url", &format!("tcp://127.0.0.1:{listen}")])
        .args(["--advertised-listener-url", &format!("tcp://127.0.0.1:{advertised}")])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(dir.join(format!("tansu-{authentication}.log"))).unwrap());
    if authentication {
        c.arg("--authentication");
    }
    c.spawn().expect("start tansu (e2e/services.sh install tansu)")
}

fn wait_port(port: u16, child: &mut Child) {
    let deadline = Instant::now() + Duration::from_secs(30);
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        if let Ok(Some(st)) = child.try_wait() {
            panic!("tansu exited: {st}");
        }
        assert!(Instant::now() < deadline, "tansu not listening on {port}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// The test's CA, the proxy's certificate (localhost and 127.0.0.1) and a client certificate,
/// written as `ca.pem` and `client.pem` (certificate + key, a Java PEM keystore).
struct Pki {
    ca: rcgen::Certificate,
    server: rcgen::Certificate,
    server_key: KeyPair,
}

impl Pki {
    fn new(dir: &Path) -> Pki {
        let ca_key = KeyPair::generate().unwrap();
        let mut ca_params = CertificateParams::new(Vec::<String>::new()).unwrap();
        ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        ca_params.distinguished_name.push(DnType::CommonName, "cdc-connector Kafka test CA");
        let ca = ca_params.self_signed(&ca_key).unwrap();
        let issuer = Issuer::new(ca_params, ca_key);
        let leaf = |names: Vec<String>, cn: &str| {
            let key = KeyPair::generate().unwrap();
            let mut p = CertificateParams::new(names).unwrap();
            p.distinguished_name.push(DnType::CommonName, cn);
            (p.signed_by(&key, &issuer).unwrap(), key)
        };
        let (server, server_key) = leaf(vec!["localhost".into(), "127.0.0.1".into()], "localhost");
        let (client, client_key) = leaf(Vec::new(), "cdc-connector client");
        std::fs::write(dir.join("ca.pem"), ca.pem()).unwrap();
        std::fs::write(dir.join("client.pem"), format!("{}{}", client_key.serialize_pem(), client.pem())).unwrap();
        Pki { ca, server, server_key }
    }
}

/// Accept TLS (client certificate required) on `port`, forward the plaintext to `upstream`,
/// keep a copy of what clients sent in `sent`.
fn tls_proxy(port: u16, upstream: u16, pki: &Pki, sent: Arc<Mutex<Vec<u8>>>) -> std::thread::JoinHandle<()> {
    use tokio_rustls::rustls;
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut roots = rustls::RootCertStore::empty();
    roots.add(pki.ca.der().clone()).unwrap();
    let verifier =
        rustls::server::WebPkiClientVerifier::builder_with_provider(Arc::new(roots), provider.clone()).build().unwrap();
    let key = rustls::pki_types::PrivateKeyDer::Pkcs8(pki.server_key.serialize_der().into());
    let config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_client_cert_verifier(verifier)
        .with_single_cert(vec![pki.server.der().clone()], key)
        .unwrap();
    let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(config));
    let listener = std::net::TcpListener::bind(("127.0.0.1", port)).expect("proxy port");
    listener.set_nonblocking(true).unwrap();
    std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        rt.block_on(async move {
            let listener = tokio::net::TcpListener::from_std(listener).unwrap();
            loop {
                let Ok((tcp, _)) = listener.accept().await else { continue };
                let acceptor = acceptor.clone();
                let sent = sent.clone();
                tokio::spawn(async move {
                    let Ok(tls) = acceptor.accept(tcp).await else { return };
                    let Ok(up) = tokio::net::TcpStream::connect(("127.0.0.1", upstream)).await else { return };
                    let (mut cr, mut cw) = tokio::io::split(tls);
                    let (mut ur, mut uw) = up.into_split();
                    let to_broker = async {
                        use tokio::io::{AsyncReadExt, AsyncWriteExt};
                        let mut buf = vec![0u8; 16 * 1024];
                        loop {
                            let n = match cr.read(&mut buf).await {
                                Ok(0) | Err(_) => break,
                                Ok(n) => n,
                            };
                            sent.lock().unwrap().extend_from_slice(&buf[..n]);
                            if uw.write_all(&buf[..n]).await.is_err() {
                                break;
                            }
                        }
                        let _ = uw.shutdown().await;
                    };
                    let to_client = async {
                        let _ = tokio::io::copy(&mut ur, &mut cw).await;
                        let _ = tokio::io::AsyncWriteExt::shutdown(&mut cw).await;
                    };
                    tokio::join!(to_broker, to_client);
                });
            }
        });
    })
}

/// `props` at the worker's top level and again with `prefix` (Connect configs repeat them
/// for each client, as MSK's guides show).
fn add_prefixed(setup: &Setup, prefix: &str, props: &[(String, String)]) {
    for (k, v) in props {
        setup.add_worker_property(&format!("{prefix}{k}"), v);
    }
}

#[test]
fn sasl_ssl_scram_with_client_certificates_from_connector_to_hudi() {
    let _g = serial();
    let kafka = SecureKafka::start();
    let svc = Services { kafka: kafka.bootstrap(), ..services() };
    svc.sql(
        "DROP DATABASE IF EXISTS ksec; CREATE DATABASE ksec;
         CREATE TABLE ksec.t (id INT PRIMARY KEY, v VARCHAR(40));
         INSERT INTO ksec.t VALUES (1, 'one'), (2, 'two');",
    );
    let client = kafka.client_properties(PASSWORD);
    let client_file = kafka.write_properties("client.properties", &client);

    let registry =
        RegistryProc::start_against(&kafka.bootstrap(), "_schemas", &["--kafka-config", client_file.to_str().unwrap()])
            .wait_ready();

    let prefix = unique("ksec");
    let history = format!("{prefix}-history");
    let offsets = format!("{prefix}-offsets");
    let setup = Setup::new(&svc, &prefix, &[("database.include.list", "ksec")]);
    for side in ["key", "value"] {
        setup.set_connector_property(&format!("{side}.converter"), Some("io.confluent.connect.avro.AvroConverter"));
        setup.set_connector_property(&format!("{side}.converter.schema.registry.url"), Some(&registry.url()));
    }
    setup.use_offsets_topic(&offsets);
    add_prefixed(&setup, "", &client);
    add_prefixed(&setup, "producer.", &client);
    setup.use_kafka_history(&kafka.bootstrap(), &history);
    for (k, v) in &client {
        setup.set_connector_property(&format!("schema.history.internal.producer.{k}"), Some(v));
        setup.set_connector_property(&format!("schema.history.internal.consumer.{k}"), Some(v));
    }

    let mut logs = String::new();
    let running = setup.start("");
    svc.sql("INSERT INTO ksec.t VALUES (3, 'three'); UPDATE ksec.t SET v = 'uno' WHERE id = 1; DELETE FROM ksec.t WHERE id = 2;");

    let lake = tempfile::tempdir().unwrap();
    let sink_args: Vec<String> = [
        "--bootstrap-servers",
        &kafka.bootstrap(),
        "--topics",
        &format!("^{}\\.ksec\\..*", prefix.replace('.', "\\.")),
        "--schema-registry-url",
        &registry.url(),
        "--base-path",
        lake.path().to_str().unwrap(),
        "--max-batch-interval",
        "500ms",
        "--group-id",
        &format!("{prefix}-hudi"),
        "--kafka-config",
        client_file.to_str().unwrap(),
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    let mut sink = SinkProc::start("hudi-sink", &sink_args);
    let table = lake.path().join("ksec/t").display().to_string();
    let expect =
        |rows: &[(i64, &str)]| -> Vec<(i64, String)> { rows.iter().map(|(i, v)| (*i, v.to_string())).collect() };
    wait_for_rows(&mut sink, &table, &expect(&[(1, "uno"), (3, "three")]));

    // stop, change, resume from the offsets and history topics (both over SASL_SSL)
    logs.push_str(&running.stop_with_log());
    svc.sql("INSERT INTO ksec.t VALUES (4, 'four');");
    let running = setup.start("resume");
    wait_for_rows(&mut sink, &table, &expect(&[(1, "uno"), (3, "three"), (4, "four")]));
    logs.push_str(&running.stop_with_log());

    assert!(!kafka.read(&client_file, &offsets).is_empty(), "offsets committed to {offsets}");
    let history_records = kafka.read(&client_file, &history);
    assert!(
        history_records
            .iter()
            .any(|(_, v)| v.as_deref().is_some_and(|v| String::from_utf8_lossy(v).contains("CREATE TABLE"))),
        "schema history in {history}"
    );
    let changes = kafka.read(&client_file, &format!("{prefix}.ksec.t"));
    assert_eq!(changes.len(), 2 + 1 + 1 + 2 + 1, "2 snapshot reads, insert, update, delete + tombstone, insert");

    // a wrong password: refused by the broker, the start fails naming the cause
    let wrong = kafka.write_properties("wrong.properties", &kafka.client_properties(WRONG));
    let (status, wrong_log) = RegistryProc::start_against(
        &kafka.bootstrap(),
        "_schemas",
        &["--kafka-config", wrong.to_str().unwrap(), "--startup-timeout-ms", "3000", "--timeout-ms", "3000"],
    )
    .run_to_exit(Duration::from_secs(60));
    assert!(!status.success(), "{wrong_log}");
    assert!(wrong_log.to_lowercase().contains("authenticat"), "names the authentication failure: {wrong_log}");

    let sink_lines = sink.lines.clone();
    sink.stop();
    logs.push_str(&registry.log_text());
    logs.push_str(&wrong_log);
    logs.push_str(&sink_lines.lock().unwrap().join("\n"));
    assert!(logs.lines().count() > 10, "{logs}");
    for secret in [PASSWORD, WRONG] {
        let leaks: Vec<&str> = logs.lines().filter(|l| l.contains(secret)).collect();
        assert!(leaks.is_empty(), "log lines holding the password: {leaks:#?}");
    }
}

/// Wait until the Hudi table holds exactly `want` (`id`, `v`).
fn wait_for_rows(sink: &mut SinkProc, table: &str, want: &[(i64, String)]) {
    let deadline = Instant::now() + Duration::from_secs(120);
    let mut last = String::new();
    loop {
        sink.assert_running();
        if let Ok(rows) = read_table(table) {
            let got: Vec<(i64, String)> = rows
                .iter()
                .map(|r| (r["id"].as_i64().unwrap_or(-1), r["v"].as_str().unwrap_or_default().to_string()))
                .collect();
            if got == want {
                return;
            }
            last = format!("{got:?}");
        }
        assert!(Instant::now() < deadline, "{table}: want {want:?}, last read {last}");
        std::thread::sleep(Duration::from_millis(500));
    }
}

#[test]
fn msk_iam_tokens_reach_the_broker_over_oauthbearer() {
    let _g = serial();
    let kafka = SecureKafka::start();
    let props: Vec<(String, String)> = [
        ("security.protocol", "SASL_SSL".to_string()),
        ("sasl.mechanism", "AWS_MSK_IAM".to_string()),
        ("sasl.jaas.config", "software.amazon.msk.auth.iam.IAMLoginModule required;".to_string()),
        ("sasl.client.callback.handler.class", "software.amazon.msk.auth.iam.IAMClientCallbackHandler".to_string()),
        ("ssl.truststore.location", kafka.path("ca.pem").display().to_string()),
        ("ssl.keystore.location", kafka.path("client.pem").display().to_string()),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v))
    .collect();
    let file = kafka.write_properties("iam.properties", &props);
    let secret = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY";
    let (status, log) = RegistryProc::start_against(
        &kafka.bootstrap(),
        "_schemas",
        &["--kafka-config", file.to_str().unwrap(), "--startup-timeout-ms", "3000", "--timeout-ms", "3000"],
    )
    // the standard AWS chain finds the environment's credentials; nothing else is consulted
    .env("AWS_ACCESS_KEY_ID", "AKIDEXAMPLEMSKTEST")
    .env("AWS_SECRET_ACCESS_KEY", secret)
    .env("AWS_REGION", "eu-west-1")
    .env("AWS_EC2_METADATA_DISABLED", "true")
    .env("AWS_CONFIG_FILE", "/nonexistent/aws-config")
    .env("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent/aws-credentials")
    .run_to_exit(Duration::from_secs(60));
    assert!(!status.success(), "tansu cannot accept an MSK IAM token: {log}");

    // the OAUTHBEARER client message (RFC 7628: n,,<01>auth=Bearer <token><01><01>) went through TLS
    let sent = kafka.sent.lock().unwrap().clone();
    let marker = b"auth=Bearer ";
    let at = sent.windows(marker.len()).position(|w| w == marker).expect("an OAUTHBEARER SaslAuthenticate request");
    let token: Vec<u8> = sent[at + marker.len()..].iter().copied().take_while(|&b| b != 1).collect();
    let url = base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(&token).expect("base64url token");
    let url = String::from_utf8(url).unwrap();
    assert!(url.starts_with("https://kafka.eu-west-1.amazonaws.com/?Action=kafka-cluster%3AConnect&"), "{url}");
    assert!(url.contains("X-Amz-Credential=AKIDEXAMPLEMSKTEST%2F"), "{url}");
    assert!(url.contains("%2Feu-west-1%2Fkafka-cluster%2Faws4_request"), "{url}");
    assert!(url.contains("&X-Amz-Signature="), "{url}");
    assert!(!url.contains(secret) && !log.contains(secret), "the secret key is never sent or logged");
    assert!(log.to_lowercase().contains("authenticat"), "the broker's refusal is reported: {log}");
}
