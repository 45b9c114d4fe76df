//! TLS to MySQL (`database.ssl.mode`, `database.ssl.truststore`, `database.ssl.keystore`) against
//! a MariaDB of the test's own started with a certificate from a CA made here (rcgen): the server
//! certificate names `localhost` only, so connecting to `127.0.0.1` is "a wrong host name".
//! Each mode is checked on a connection the connector opens (the server's `Ssl_version` says
//! whether it is TLS), then the whole connector — snapshot, binlog stream, restart — runs over TLS
//! with a user the server lets in over TLS only (`REQUIRE SSL`) and a client certificate.

use std::path::{Path, PathBuf};
use std::time::Duration;

use cdc_connector::config::SslMode;
use cdc_connector::source::binlog::{self, ConnectOptions};
use cdc_connector::source::tls::TlsOptions;
use mysql_async::prelude::Queryable;
use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, Issuer, KeyPair};

use crate::connector::Setup;
use crate::parity::wait_for_records;
use crate::services::{serial, services, unique, PrivateMariaDb};

/// A CA and a certificate it issued for `names`, as PEM files in `dir`.
struct Pki {
    ca: PathBuf,
    cert: PathBuf,
    key: PathBuf,
    /// Certificate and key in one file (`database.ssl.keystore`).
    bundle: PathBuf,
}

fn pki(dir: &Path, tag: &str, names: &[&str]) -> Pki {
    let ca_key = KeyPair::generate().unwrap();
    let mut ca_params = CertificateParams::new(Vec::<String>::new()).unwrap();
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca_params.distinguished_name.push(DnType::CommonName, format!("cdc-connector test CA {tag}"));
    let ca = ca_params.self_signed(&ca_key).unwrap();
    let key = KeyPair::generate().unwrap();
    let mut params = CertificateParams::new(names.iter().map(|s| s.to_string()).collect::<Vec<_>>()).unwrap();
    params.distinguished_name.push(DnType::CommonName, names.first().copied().unwrap_or("client"));
    let cert = params.signed_by(&key, &Issuer::new(ca_params, ca_key)).unwrap();
    let write = |name: &str, text: String| {
        let p = dir.join(format!("{tag}-{name}"));
        std::fs::write(&p, text).unwrap();
        p
    };
    Pki {
        ca: write("ca.pem", ca.pem()),
        cert: write("cert.pem", cert.pem()),
        key: write("key.pem", key.serialize_pem()),
        bundle: write("bundle.pem", format!("{}{}", cert.pem(), key.serialize_pem())),
    }
}

fn opts(host: &str, port: u16, user: &str, password: &str, tls: TlsOptions) -> ConnectOptions {
    ConnectOptions {
        host: host.into(),
        port,
        user: user.into(),
        password: password.into(),
        connect_timeout_ms: 10_000,
        tls,
        keep_alive_ms: None,
        initial_statements: Vec::new(),
        annotate_rows: false,
    }
}

/// Connect as the connector does; `Ok(true)` when the session is TLS.
fn session_tls(o: &ConnectOptions) -> Result<bool, String> {
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    rt.block_on(async {
        let mut conn = binlog::connect(o).await.map_err(|e| e.to_string())?;
        let row: Option<(String, String)> = conn.query_first("SHOW SESSION STATUS LIKE 'Ssl_version'").await.unwrap();
        let _ = conn.disconnect().await;
        Ok(row.is_some_and(|(_, v)| !v.is_empty()))
    })
}

/// A private MariaDB serving `server`'s certificate, trusting the CAs in `trusted` for client
/// certificates.
fn tls_server(server: &Pki, trusted: &Path) -> PrivateMariaDb {
    PrivateMariaDb::start(&format!(
        "--ssl-ca={} --ssl-cert={} --ssl-key={}",
        trusted.display(),
        server.cert.display(),
        server.key.display()
    ))
}

fn tls(mode: SslMode, ca: Option<&Path>, keystore: Option<&Path>) -> TlsOptions {
    TlsOptions::load(mode, ca, keystore).unwrap()
}

#[test]
fn each_ssl_mode_behaves_as_named() {
    let _g = serial();
    let dir = tempfile::tempdir().unwrap();
    let server = pki(dir.path(), "server", &["localhost"]);
    let other = pki(dir.path(), "other", &["localhost"]);
    let db = tls_server(&server, &server.ca);
    let port = db.port;
    let plain =
        |mode, ca: Option<&Path>, host: &str| session_tls(&opts(host, port, "debezium", "dbz", tls(mode, ca, None)));

    assert_eq!(plain(SslMode::Disabled, None, "127.0.0.1"), Ok(false), "disabled: plain TCP");
    assert_eq!(plain(SslMode::Preferred, None, "127.0.0.1"), Ok(true), "preferred: TLS when offered");
    assert_eq!(plain(SslMode::Required, None, "127.0.0.1"), Ok(true), "required: TLS, certificate not checked");
    assert_eq!(
        plain(SslMode::VerifyCa, Some(&server.ca), "127.0.0.1"),
        Ok(true),
        "verify_ca: the CA checked, not the name (the certificate names localhost only)"
    );
    let e = plain(SslMode::VerifyCa, Some(&other.ca), "127.0.0.1").unwrap_err();
    assert!(e.contains("database.ssl.mode=verify_ca") && e.contains("UnknownIssuer"), "another CA: {e}");
    let e = plain(SslMode::VerifyCa, None, "127.0.0.1").unwrap_err();
    assert!(e.contains("UnknownIssuer"), "no truststore: the public roots do not know the test CA: {e}");
    let e = plain(SslMode::VerifyIdentity, Some(&server.ca), "127.0.0.1").unwrap_err();
    assert!(
        e.contains("database.ssl.mode=verify_identity") && e.contains("not valid for name"),
        "verify_identity with a host name the certificate does not hold: {e}"
    );
    assert_eq!(plain(SslMode::VerifyIdentity, Some(&server.ca), "localhost"), Ok(true), "verify_identity: right name");

    // Nothing listening: a connection error, not a TLS one.
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let e = session_tls(&opts("127.0.0.1", closed, "debezium", "dbz", tls(SslMode::Required, None, None))).unwrap_err();
    assert!(e.contains("refused") && !e.contains("TLS"), "{e}");

    // The shared MariaDB has no TLS.
    let shared = services();
    let on_shared = |mode| {
        session_tls(&opts(&shared.mysql_host, shared.mysql_port, "debezium", "dbz", tls(mode, Some(&server.ca), None)))
    };
    assert_eq!(on_shared(SslMode::Preferred), Ok(false), "preferred: plain when TLS is not offered");
    assert_eq!(on_shared(SslMode::Disabled), Ok(false));
    for mode in [SslMode::Required, SslMode::VerifyCa, SslMode::VerifyIdentity] {
        let e = on_shared(mode).unwrap_err();
        assert!(e.contains("does not offer TLS"), "{mode:?} against a server without TLS: {e}");
    }
}

#[test]
fn the_connector_snapshots_and_streams_over_verified_tls_with_a_client_certificate() {
    let _g = serial();
    let dir = tempfile::tempdir().unwrap();
    let server = pki(dir.path(), "server", &["localhost"]);
    let client = pki(dir.path(), "client", &["cdc-connector"]);
    // The server trusts both CAs: its own for its certificate, the client's for the connector's.
    let cas = dir.path().join("server-trusts.pem");
    let both = std::fs::read_to_string(&server.ca).unwrap() + &std::fs::read_to_string(&client.ca).unwrap();
    std::fs::write(&cas, both).unwrap();
    let db = tls_server(&server, &cas);
    let svc = db.services();
    svc.sql(
        "CREATE DATABASE tlsdb; CREATE TABLE tlsdb.t (id INT PRIMARY KEY, v VARCHAR(20));
         INSERT INTO tlsdb.t VALUES (1, 'one'), (2, 'two');
         CREATE USER 'cdc_tls'@'%' IDENTIFIED BY 'tls-pw' REQUIRE X509;
         CREATE USER 'cdc_tls'@'localhost' IDENTIFIED BY 'tls-pw' REQUIRE X509;
         GRANT SELECT, RELOAD, SHOW DATABASES, REPLICATION SLAVE, REPLICATION CLIENT ON *.* TO 'cdc_tls'@'%';
         GRANT SELECT, RELOAD, SHOW DATABASES, REPLICATION SLAVE, REPLICATION CLIENT ON *.* TO 'cdc_tls'@'localhost';",
    );
    // REQUIRE X509: without a client certificate the server refuses the user, even over TLS.
    let no_cert = opts("localhost", db.port, "cdc_tls", "tls-pw", tls(SslMode::VerifyIdentity, Some(&server.ca), None));
    assert!(session_tls(&no_cert).is_err(), "no client certificate, no login");

    let prefix = unique("tls");
    let topic = format!("{prefix}.tlsdb.t");
    let port = db.port.to_string();
    let (ca, bundle) = (server.ca.display().to_string(), client.bundle.display().to_string());
    let setup = Setup::new(
        &svc,
        &prefix,
        &[
            ("database.hostname", "localhost"),
            ("database.port", &port),
            ("database.user", "cdc_tls"),
            ("database.password", "tls-pw"),
            ("database.include.list", "tlsdb"),
            ("database.ssl.mode", "verify_identity"),
            ("database.ssl.truststore", &ca),
            ("database.ssl.keystore", &bundle),
        ],
    );
    let mut running = setup.start("");
    running.wait_for_log("binlog stream started", Duration::from_secs(60));
    svc.sql("INSERT INTO tlsdb.t VALUES (3, 'three');");
    let got = wait_for_records(&svc.kafka, &topic, 3, Duration::from_secs(60));
    assert_eq!(got.len(), 3, "two snapshot rows and one streamed insert over TLS");
    running.stop();
    let mut again = setup.start("");
    again.wait_for_log("binlog stream started", Duration::from_secs(60));
    svc.sql("UPDATE tlsdb.t SET v = 'drei' WHERE id = 3;");
    let got = wait_for_records(&svc.kafka, &topic, 4, Duration::from_secs(60));
    assert_eq!(got.len(), 4, "resumed over TLS: the update and nothing twice");
    again.stop();

    // The same connector with verify_identity against 127.0.0.1 (not a name of the certificate)
    // does not start, and says why.
    setup.set_connector_property("database.hostname", Some("127.0.0.1"));
    let (code, out) = setup.run_failing("resume");
    assert_ne!(code, 0, "{out}");
    assert!(out.contains("verify_identity") && out.contains("not valid for name"), "{out}");
}
