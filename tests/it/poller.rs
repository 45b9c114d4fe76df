//! `opensky-poller` end to end: the binary against a local stand-in of the OpenSky API (see
//! `poller/server.rs`) and the test MariaDB. The API replies are the bundled recording
//! `e2e/opensky-replay/`, so the HTTP path and `--replay` are held to the same expected tables.
//! Every test uses its own database, so none clashes with the Debezium-oracle `final` database.

mod server;

use std::io::{BufRead, BufReader, Read, Write};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use server::{OAuth, Reply, TestServer};

use crate::connector::Setup;
use crate::parity::wait_for_records;
use crate::services::{read_topics, repo, serial, services, unique, Services};

fn bin() -> &'static str {
    env!("CARGO_BIN_EXE_opensky-poller")
}

/// The bundled recording, one body per poll.
fn recording() -> Vec<String> {
    (1..=5).map(|i| std::fs::read_to_string(repo().join(format!("e2e/opensky-replay/{i:06}.json"))).unwrap()).collect()
}

/// `flights` after all five recorded polls (tab-separated, `mariadb -B -N`).
const FLIGHTS_AFTER_ALL: &str = "\
4b1805\tSWR8TK\tSwitzerland\t1767225939\t1767225939\t8.6011\t47.2245\t1219.2\t0\t231.4\t201.5\t-6.5\tNULL\t1371.6\t1023\t0\t0\t3
4b1a2c\tNULL\tSwitzerland\t1767225595\t1767225595\t8.5527\t47.4521\tNULL\t1\t0\t212.34\tNULL\tNULL\tNULL\t7000\t0\t0\tNULL";

/// `flight_positions` after all five recorded polls.
const POSITIONS_AFTER_ALL: &str = "\
3c6586\t1767225598\tNULL\tNULL\tNULL\t10972.8\t11277.6\t0\t236.02\tNULL\t0\tNULL\t2
4b1805\t1767225599\t1767225599\t8.7302\t47.5013\t3048\t3200.4\t0\t231.4\t187.12\t-6.5\t1023\t0
4b1805\t1767225629\t1767225629\t8.7195\t47.4417\t2880.36\t3032.76\t0\t231.4\t190.98\t-6.5\t1023\t0
4b1805\t1767225939\t1767225939\t8.6011\t47.2245\t1219.2\t1371.6\t0\t231.4\t201.5\t-6.5\t1023\t0
4b1a2c\t1767225595\t1767225595\t8.5527\t47.4521\tNULL\tNULL\t1\t0\t212.34\tNULL\t7000\t0
4ca7b4\t1767225628\t1767225627\t6.1089\t46.2381\t3962.4\t4023.36\t0\tNULL\t45\t7.8\t3716\t0";

/// Rows of a query as `mariadb -B -N` prints them.
fn query(svc: &Services, sql: &str) -> String {
    let mut c = Command::new("mariadb");
    c.arg("--no-defaults")
        .args(["-h", &svc.mysql_host, "-P", &svc.mysql_port.to_string(), "-u", &svc.root_user])
        .args(["--protocol=TCP", "-B", "-N", "-e", sql]);
    if !svc.root_password.is_empty() {
        c.arg(format!("-p{}", svc.root_password));
    }
    let out = c.output().expect("mariadb client");
    assert!(out.status.success(), "{sql}: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout).unwrap().trim_end().to_string()
}

fn flights(svc: &Services, db: &str) -> String {
    query(svc, &format!("SELECT * FROM `{db}`.flights ORDER BY icao24"))
}
fn positions(svc: &Services, db: &str) -> String {
    query(svc, &format!("SELECT * FROM `{db}`.flight_positions ORDER BY icao24, last_contact"))
}

/// The poller command with the database flags and fast test pacing.
pub(crate) fn poller(svc: &Services, db: &str, args: &[&str]) -> Command {
    let mut c = Command::new(bin());
    c.args(["--mysql-host", &svc.mysql_host, "--mysql-port", &svc.mysql_port.to_string()])
        .args(["--mysql-user", &svc.root_user, "--database", db, "--create-tables"])
        .args(["--min-interval-ms", "0"])
        .args(args)
        .env("OPENSKY_POLLER_MYSQL_PASSWORD", &svc.root_password)
        .env("RUST_LOG", "debug,mysql_async=warn,hyper=warn,reqwest=warn,h2=warn,rustls=warn")
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
    c
}

/// Run to the end (bounded): exit code and stderr.
pub(crate) fn run(mut cmd: Command, timeout: Duration) -> (i32, String) {
    let mut child = cmd.spawn().expect("spawn opensky-poller");
    let mut stderr = child.stderr.take().unwrap();
    let reader = std::thread::spawn(move || {
        let mut s = String::new();
        let _ = stderr.read_to_string(&mut s);
        s
    });
    let deadline = Instant::now() + timeout;
    let status = loop {
        if let Some(st) = child.try_wait().unwrap() {
            break st;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!("opensky-poller did not finish within {timeout:?}:\n{}", reader.join().unwrap());
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    let log = reader.join().unwrap();
    eprintln!("[poller exit {:?}]\n{log}", status.code());
    (status.code().unwrap_or(-1), log)
}

fn drop_db(svc: &Services, db: &str) {
    svc.sql(&format!("DROP DATABASE IF EXISTS `{db}`"));
}

#[test]
fn poller_help_names_the_options() {
    let out = Command::new(bin()).arg("--help").output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success());
    for flag in [
        "--interval",
        "--bbox",
        "--stale-after",
        "--once",
        "--record",
        "--replay",
        "--client-id",
        "--client-secret-file",
        "--create-tables",
        "--metrics-addr",
        "--database",
    ] {
        assert!(text.contains(flag), "--help does not mention {flag}");
    }
    assert!(!text.contains("--min-interval-ms"), "test-only flags stay hidden");
}

#[test]
fn poller_http_polls_end_in_expected_tables() {
    let _g = serial();
    let svc = services();
    let db = unique("sky_http");
    let server = TestServer::start(recording().into_iter().map(|b| Reply::Ok(b, Some(399))).collect());
    let (code, log) = run(
        poller(
            &svc,
            &db,
            &[
                "--base-url",
                &server.base_url(),
                "--polls",
                "5",
                "--interval",
                "10ms",
                "--bbox",
                "45.8389,5.9962,47.8229,10.5226",
            ],
        ),
        Duration::from_secs(60),
    );
    assert_eq!(code, 0, "{log}");
    let reqs = server.requests();
    assert_eq!(reqs.len(), 5);
    for r in &reqs {
        assert!(
            r.query.contains("lamin=45.8389") && r.query.contains("lomax=10.5226") && r.query.contains("extended=1"),
            "{}",
            r.query
        );
        assert!(r.authorization.is_none(), "anonymous requests carry no credentials");
    }
    assert_eq!(flights(&svc, &db), FLIGHTS_AFTER_ALL);
    assert_eq!(positions(&svc, &db), POSITIONS_AFTER_ALL);
    assert!(
        log.contains(r#""inserted":0,"updated":0,"deleted":0,"unchanged":3,"positions":0"#),
        "the repeated response writes nothing"
    );
    drop_db(&svc, &db);
}

#[test]
fn poller_replay_of_the_bundled_recording_gives_the_same_tables() {
    let _g = serial();
    let svc = services();
    let db = unique("sky_replay");
    let dir = repo().join("e2e/opensky-replay");
    // The base URL points nowhere: a replay must not touch the network.
    let (code, log) = run(
        poller(
            &svc,
            &db,
            &["--replay", dir.to_str().unwrap(), "--interval", "0s", "--base-url", "http://127.0.0.1:9/none"],
        ),
        Duration::from_secs(60),
    );
    assert_eq!(code, 0, "{log}");
    assert!(log.contains("replay finished"));
    assert_eq!(flights(&svc, &db), FLIGHTS_AFTER_ALL);
    assert_eq!(positions(&svc, &db), POSITIONS_AFTER_ALL);
    // Recording what a server sends gives files a replay serves the same way.
    let rec = tempfile::tempdir().unwrap();
    let server = TestServer::start(recording().into_iter().take(2).map(|b| Reply::Ok(b, None)).collect());
    let db2 = unique("sky_rec");
    let (code, log) = run(
        poller(
            &svc,
            &db2,
            &[
                "--base-url",
                &server.base_url(),
                "--polls",
                "2",
                "--interval",
                "0s",
                "--record",
                rec.path().to_str().unwrap(),
            ],
        ),
        Duration::from_secs(60),
    );
    assert_eq!(code, 0, "{log}");
    assert_eq!(std::fs::read_to_string(rec.path().join("000002.json")).unwrap(), recording()[1]);
    drop_db(&svc, &db);
    drop_db(&svc, &db2);
}

#[test]
fn poller_honours_429_and_backs_off_on_500() {
    let _g = serial();
    let svc = services();
    let db = unique("sky_limits");
    let rec = recording();
    let server = TestServer::start(vec![
        Reply::Status(429, vec![("x-rate-limit-retry-after-seconds", "2".into())]),
        Reply::Status(500, vec![]),
        Reply::Status(502, vec![]),
        Reply::Status(503, vec![]),
        Reply::Ok(rec[0].clone(), Some(12)),
    ]);
    let (code, log) = run(
        poller(
            &svc,
            &db,
            &["--base-url", &server.base_url(), "--polls", "5", "--interval", "50ms", "--backoff-base-ms", "400"],
        ),
        Duration::from_secs(60),
    );
    assert_eq!(code, 0, "{log}");
    let reqs = server.requests();
    assert_eq!(reqs.iter().map(|r| r.status).collect::<Vec<_>>(), [429, 500, 502, 503, 200]);
    let gap = |i: usize| reqs[i + 1].at - reqs[i].at;
    assert!(gap(0) >= Duration::from_secs(2), "the request after a 429 came after {:?}, not 2 s", gap(0));
    // Equal jitter: the k-th back-off lies in [base·2^(k-1)/2, base·2^(k-1)].
    for (i, min) in [(1, 200), (2, 400), (3, 800)] {
        assert!(gap(i) >= Duration::from_millis(min), "back-off {i} was {:?}, expected at least {min} ms", gap(i));
    }
    assert!(log.contains("rate limited") && log.contains("HTTP 500"), "{log}");
    assert_eq!(query(&svc, &format!("SELECT COUNT(*) FROM `{db}`.flights")), "3");
    drop_db(&svc, &db);
}

#[test]
fn poller_rejects_bad_responses_and_writes_nothing() {
    let _g = serial();
    let svc = services();
    let db = unique("sky_bad");
    let rec = recording();
    let server = TestServer::start(vec![Reply::Ok(rec[0].clone(), None)]);
    let once = |extra: &[&str]| {
        let mut args = vec!["--base-url".to_string(), server.base_url(), "--once".into()];
        args.extend(extra.iter().map(|s| s.to_string()));
        run(poller(&svc, &db, &args.iter().map(String::as_str).collect::<Vec<_>>()), Duration::from_secs(60))
    };
    let (code, log) = once(&[]);
    assert_eq!(code, 0, "{log}");
    let (f0, p0) = (flights(&svc, &db), positions(&svc, &db));
    // Poll 2 of the recording, spoiled in different ways; the third vector is the one spoiled
    // by the wrong type, so a partial write would show.
    let wrong_type = rec[1].replacen(
        "4ca7b4\",\"RYR4UD  \",\"Ireland\",1767225627,1767225628,6.1089",
        "4ca7b4\",\"RYR4UD  \",\"Ireland\",1767225627,1767225628,\"east\"",
        1,
    );
    assert_ne!(wrong_type, rec[1]);
    let cases: Vec<(Reply, &str)> = vec![
        (Reply::Ok("<html><body>Bad Gateway</body></html>".into(), None), "not valid JSON"),
        (Reply::Ok(rec[1][..rec[1].len() / 2].to_string(), None), "not valid JSON"),
        (Reply::Ok(wrong_type, None), "longitude"),
        (Reply::Ok(rec[1].replace("\"time\":1767225630", "\"time\":\"soon\""), None), "time"),
        (Reply::CutConnection(rec[1].clone(), rec[1].len() / 2), "reading response body"),
    ];
    for (reply, reason) in cases {
        server.push(reply.clone());
        let (code, log) = once(&[]);
        assert_ne!(code, 0, "a rejected poll exits non-zero under --once ({reply:?})");
        let line = log
            .lines()
            .find(|l| l.contains(reason))
            .unwrap_or_else(|| panic!("no reason '{reason}' logged for {reply:?}:\n{log}"));
        assert!(line.starts_with('{'), "logs are JSON lines when stderr is not a terminal: {line}");
        assert_eq!(flights(&svc, &db), f0, "flights changed after {reply:?}");
        assert_eq!(positions(&svc, &db), p0, "flight_positions changed after {reply:?}");
    }
    drop_db(&svc, &db);
}

fn oauth(server: &TestServer, expires_in: u64) {
    server.script.lock().unwrap().oauth = Some(OAuth {
        client_id: "pipeline-client".into(),
        secret: "s3cr3t-do-not-log".into(),
        expires_in,
        issued: vec![],
        token_requests: 0,
    });
}

#[test]
fn poller_obtains_reuses_and_refreshes_tokens() {
    let _g = serial();
    let svc = services();
    let db = unique("sky_oauth");
    let body = recording()[0].clone();
    let server = TestServer::start((0..7).map(|_| Reply::Ok(body.clone(), None)).collect());
    oauth(&server, 4);
    let mut cmd = poller(
        &svc,
        &db,
        &[
            "--base-url",
            &server.base_url(),
            "--token-url",
            &server.token_url(),
            "--client-id",
            "pipeline-client",
            "--polls",
            "7",
            "--interval",
            "1s",
        ],
    );
    cmd.env("OPENSKY_CLIENT_SECRET", "s3cr3t-do-not-log");
    let (code, log) = run(cmd, Duration::from_secs(60));
    assert_eq!(code, 0, "{log}");
    let reqs = server.requests();
    assert_eq!(reqs.len(), 7, "no request was refused and repeated");
    assert!(reqs
        .iter()
        .all(|r| r.status == 200 && r.authorization.as_deref().is_some_and(|a| a.starts_with("Bearer tok-"))));
    let tokens = server.script.lock().unwrap().oauth.as_ref().unwrap().token_requests;
    // 7 polls over ~6 s with 4-s tokens refreshed 1 s early: a token serves about 3 polls.
    assert!((2..=4).contains(&tokens), "{tokens} token requests for 7 polls");
    let distinct: std::collections::BTreeSet<_> = reqs.iter().map(|r| r.authorization.clone()).collect();
    assert_eq!(distinct.len() as u32, tokens, "every obtained token was used");
    assert!(!log.contains("s3cr3t"), "the secret appears in the log");
    drop_db(&svc, &db);
}

#[test]
fn poller_stops_after_a_second_401() {
    let _g = serial();
    let svc = services();
    let db = unique("sky_401");
    let server = TestServer::start(vec![]);
    oauth(&server, 1800);
    server.script.lock().unwrap().always_401 = true;
    let secret = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(secret.path(), "s3cr3t-do-not-log\n").unwrap();
    let (code, log) = run(
        poller(
            &svc,
            &db,
            &[
                "--base-url",
                &server.base_url(),
                "--token-url",
                &server.token_url(),
                "--client-id",
                "pipeline-client",
                "--client-secret-file",
                secret.path().to_str().unwrap(),
                "--interval",
                "0s",
            ],
        ),
        Duration::from_secs(60),
    );
    assert_ne!(code, 0);
    assert!(log.contains("401 Unauthorized twice"), "{log}");
    assert_eq!(server.requests().len(), 2, "one refresh, then stop");
    assert_eq!(server.script.lock().unwrap().oauth.as_ref().unwrap().token_requests, 2);
    assert!(!log.contains("s3cr3t"), "the secret appears in the log");
    // A wrong secret is refused by the token endpoint: stop with a clear message, no API call.
    std::fs::write(secret.path(), "wrong").unwrap();
    let (code, log) = run(
        poller(
            &svc,
            &db,
            &[
                "--base-url",
                &server.base_url(),
                "--token-url",
                &server.token_url(),
                "--client-id",
                "pipeline-client",
                "--client-secret-file",
                secret.path().to_str().unwrap(),
            ],
        ),
        Duration::from_secs(60),
    );
    assert_ne!(code, 0);
    assert!(log.contains("rejected --client-id"), "{log}");
    assert!(!log.contains("wrong\""), "{log}");
}

/// GET a path from a local address with a plain HTTP/1.0 request.
pub(crate) fn http_get(addr: &str, path: &str) -> String {
    let mut s = std::net::TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    write!(s, "GET {path} HTTP/1.0\r\nHost: {addr}\r\n\r\n").unwrap();
    let mut out = String::new();
    s.read_to_string(&mut out).unwrap();
    out
}

pub(crate) fn metric(text: &str, name: &str) -> Option<f64> {
    text.lines()
        .find(|l| l.starts_with(name) && l[name.len()..].starts_with(' '))
        .and_then(|l| l.rsplit(' ').next()?.parse().ok())
}

#[test]
fn poller_serves_prometheus_metrics() {
    let _g = serial();
    let svc = services();
    let db = unique("sky_metrics");
    let rec = recording();
    let server = TestServer::start(vec![
        Reply::Ok(rec[0].clone(), Some(397)),
        Reply::Ok(rec[1].clone(), Some(396)),
        Reply::Status(500, vec![]),
    ]);
    let mut cmd = poller(
        &svc,
        &db,
        &[
            "--base-url",
            &server.base_url(),
            "--interval",
            "300ms",
            "--backoff-base-ms",
            "60000",
            "--metrics-addr",
            "127.0.0.1:0",
        ],
    );
    let mut child: Child = cmd.spawn().unwrap();
    let (tx, rx) = mpsc::channel();
    let stderr = child.stderr.take().unwrap();
    std::thread::spawn(move || {
        for l in BufReader::new(stderr).lines().map_while(Result::ok) {
            eprintln!("[poller] {l}");
            let _ = tx.send(l);
        }
    });
    let deadline = Instant::now() + Duration::from_secs(30);
    let mut addr = None;
    while addr.is_none() && Instant::now() < deadline {
        if let Ok(l) = rx.recv_timeout(Duration::from_millis(100)) {
            let v: serde_json::Value = serde_json::from_str(&l).unwrap_or_default();
            addr = v.pointer("/fields/metrics_addr").and_then(|a| a.as_str()).map(str::to_string);
        }
    }
    let addr = addr.expect("the poller logs the metrics address");
    while server.requests().len() < 3 && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(50));
    }
    // The third poll's outcome is counted just after its request: scrape until it shows.
    let mut text = http_get(&addr, "/metrics");
    while !text.contains("outcome=\"transient_error\"} 1") && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(100));
        text = http_get(&addr, "/metrics");
    }
    let _ = child.kill();
    let _ = child.wait();
    assert!(text.starts_with("HTTP/1.0 200") || text.starts_with("HTTP/1.1 200"), "{text}");
    assert_eq!(metric(&text, "opensky_poller_polls_total{outcome=\"ok\"}"), Some(2.0), "{text}");
    assert_eq!(metric(&text, "opensky_poller_polls_total{outcome=\"transient_error\"}"), Some(1.0), "{text}");
    assert_eq!(metric(&text, "opensky_poller_states_received_total"), Some(6.0), "{text}");
    assert_eq!(metric(&text, "opensky_poller_rows_inserted_total"), Some(4.0), "{text}");
    assert_eq!(metric(&text, "opensky_poller_rows_updated_total"), Some(1.0), "{text}");
    assert_eq!(metric(&text, "opensky_poller_rows_deleted_total"), Some(0.0), "{text}");
    assert_eq!(metric(&text, "opensky_poller_api_credits_remaining"), Some(396.0), "{text}");
    let last = metric(&text, "opensky_poller_last_success_timestamp_seconds").expect("last success time");
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs_f64();
    assert!((now - last).abs() < 60.0, "last success {last}, now {now}");
    drop_db(&svc, &db);
}

#[test]
fn poller_binlog_flows_through_cdc_connector() {
    let _g = serial();
    let svc = services();
    let db = unique("sky_cdc");
    svc.sql(&format!(
        "CREATE DATABASE `{db}`; USE `{db}`; {} {}",
        std::fs::read_to_string(repo().join("schemas/final.flights.sql")).unwrap(),
        std::fs::read_to_string(repo().join("schemas/final.flight_positions.sql")).unwrap()
    ));
    let prefix = unique("sky");
    let setup = Setup::new(&svc, &prefix, &[("database.include.list", db.as_str())]);
    let running = setup.start("latest");
    let server = TestServer::start(recording().into_iter().map(|b| Reply::Ok(b, None)).collect());
    for _ in 0..5 {
        let (code, log) =
            run(poller(&svc, &db, &["--base-url", &server.base_url(), "--once"]), Duration::from_secs(60));
        assert_eq!(code, 0, "{log}");
    }
    // flights: 8 change events + 2 tombstones; flight_positions: 6 creates.
    let records = wait_for_records(&svc.kafka, &prefix, 16, Duration::from_secs(60));
    std::thread::sleep(Duration::from_secs(1));
    running.stop();
    let records = if records.len() >= 16 { read_topics(&svc.kafka, &prefix) } else { records };
    let topic = format!("{prefix}.{db}.flights");
    let ops: Vec<(String, String)> = records
        .iter()
        .filter(|r| r.topic == topic)
        .filter_map(|r| {
            let v: serde_json::Value = serde_json::from_slice(r.value.as_ref()?).ok()?;
            let p = v.get("payload")?;
            let row = if p["op"] == "d" { &p["before"] } else { &p["after"] };
            Some((p["op"].as_str()?.to_string(), row["icao24"].as_str()?.to_string()))
        })
        .collect();
    let want: Vec<(String, String)> = [
        ("c", "3c6586"),
        ("c", "4b1805"),
        ("c", "4b1a2c"),
        ("c", "4ca7b4"),
        ("u", "4b1805"), // one transaction: inserts, then updates, then deletes
        ("u", "4b1805"),
        ("d", "3c6586"),
        ("d", "4ca7b4"),
    ]
    .iter()
    .map(|(o, i)| (o.to_string(), i.to_string()))
    .collect();
    assert_eq!(ops, want, "change events on {topic}");
    let history = records.iter().filter(|r| r.topic == format!("{prefix}.{db}.flight_positions")).count();
    assert_eq!(history, 6, "history rows streamed once each");
    drop_db(&svc, &db);
}
