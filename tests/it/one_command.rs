//! The README's run command, end to end: `e2e/run.sh --replay` on its own services (a second
//! MariaDB, tansu and registry on free loopback ports, its own state directory and lakehouse)
//! replays the bundled OpenSky demo recording (`e2e/opensky-demo`) through poller → MariaDB → cdc-connector → tansu →
//! hudi-sink → Hudi, and serves the flights map.
//!
//! Checked: the Hudi `flights` table (through the map's JSON endpoint, which reads it with hudi-rs)
//! holds exactly the aircraft of the recording's last poll with the recording's values, and
//! equals MariaDB's `final.flights`; headless Chromium draws one marker per aircraft on the map page
//! (screenshot kept under `target/test-artifacts/`); `hudi-sink query` answers "how many aircraft
//! per country above 10,000 m" as the recording and MariaDB do; Ctrl-C (SIGINT to the script's process group) stops every process the run
//! started; a second run (`--for`, bounded, with no new input) resumes from the stored offset and
//! the sink's checkpoints instead of starting over, and leaves the table as it was.

use std::io::{BufRead, BufReader};
use std::net::TcpListener;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::Value as Json;

use crate::hudi::{read_table, sink_bin};
use crate::services::{repo, serial, Services};

/// The target directory holding this test binary (`<target>/release/deps/it-…`).
fn target_dir() -> PathBuf {
    let exe = std::env::current_exe().expect("test binary path");
    exe.ancestors().nth(3).expect("target dir").to_path_buf()
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0").expect("bind a free port").local_addr().expect("local addr").port()
}

/// Whether something accepts connections on the loopback port.
fn port_in_use(port: u16) -> bool {
    std::net::TcpStream::connect_timeout(&([127, 0, 0, 1], port).into(), Duration::from_millis(200)).is_ok()
}

struct Ports {
    mysql: u16,
    kafka: u16,
    registry: u16,
    map: u16,
    sink_metrics: u16,
    connector_metrics: u16,
}

impl Ports {
    fn all(&self) -> [u16; 6] {
        [self.mysql, self.kafka, self.registry, self.map, self.sink_metrics, self.connector_metrics]
    }
}

/// One `e2e/run.sh` process (its own process group, so a SIGINT reaches what it started the way
/// a terminal's Ctrl-C does).
struct Run {
    child: Child,
    lines: Arc<Mutex<Vec<String>>>,
}

impl Run {
    fn start(dir: &Path, ports: &Ports, args: &[&str], env: &[(&str, &str)]) -> Run {
        let mut cmd = Command::new("bash");
        cmd.envs(env.iter().copied());
        cmd.arg(repo().join("e2e/run.sh"))
            .args(args)
            .env("CDC_SERVICES_DIR", dir.join("services"))
            .env("LAKEHOUSE", dir.join("lakehouse"))
            .env("MYSQL_PORT", ports.mysql.to_string())
            .env("KAFKA_PORT", ports.kafka.to_string())
            .env("REGISTRY_PORT", ports.registry.to_string())
            .env("MAP_ADDR", format!("127.0.0.1:{}", ports.map))
            .env("SINK_METRICS_ADDR", format!("127.0.0.1:{}", ports.sink_metrics))
            .env("CONNECTOR_METRICS_ADDR", format!("127.0.0.1:{}", ports.connector_metrics))
            // the binaries e2e/test.sh built (with the tests' feature resolution) and no second build
            .env("RUN_NO_BUILD", "1")
            .env("CARGO_TARGET_DIR", target_dir())
            // the test services' settings must not leak into the run's own
            .env_remove("KAFKA_BOOTSTRAP")
            .env_remove("REGISTRY_URL")
            .env_remove("MYSQL_HOST")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .process_group(0);
        let mut child = cmd.spawn().expect("start e2e/run.sh");
        let lines = Arc::new(Mutex::new(Vec::new()));
        for (tag, stream) in [
            ("run.sh", Box::new(child.stderr.take().expect("stderr")) as Box<dyn std::io::Read + Send>),
            ("run.sh:out", Box::new(child.stdout.take().expect("stdout"))),
        ] {
            let l = lines.clone();
            std::thread::spawn(move || {
                for line in BufReader::new(stream).lines().map_while(Result::ok) {
                    eprintln!("[{tag}] {line}");
                    l.lock().unwrap().push(line);
                }
            });
        }
        Run { child, lines }
    }

    fn said(&self, needle: &str) -> bool {
        self.lines.lock().unwrap().iter().any(|l| l.contains(needle))
    }

    fn alive(&mut self) -> bool {
        self.child.try_wait().expect("try_wait").is_none()
    }

    /// SIGINT to the process group (Ctrl-C), then wait for the script to end.
    fn ctrl_c(&mut self, within: Duration) -> std::process::ExitStatus {
        let pgid = i32::try_from(self.child.id()).expect("pid");
        // SAFETY: kill(2) on our own child's process group
        unsafe { libc::kill(-pgid, libc::SIGINT) };
        self.wait(within)
    }

    fn wait(&mut self, within: Duration) -> std::process::ExitStatus {
        let deadline = Instant::now() + within;
        loop {
            if let Some(s) = self.child.try_wait().expect("try_wait") {
                return s;
            }
            assert!(Instant::now() < deadline, "e2e/run.sh did not stop within {within:?}");
            std::thread::sleep(Duration::from_millis(200));
        }
    }
}

impl Drop for Run {
    fn drop(&mut self) {
        if self.alive() {
            let pgid = i32::try_from(self.child.id()).expect("pid");
            // SAFETY: kill(2) on our own child's process group
            unsafe { libc::kill(-pgid, libc::SIGTERM) };
            let _ = self.wait(Duration::from_secs(60));
        }
    }
}

fn get_json(url: &str) -> Option<Json> {
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime");
    rt.block_on(async {
        let r = reqwest::Client::new().get(url).timeout(Duration::from_secs(10)).send().await.ok()?;
        r.json::<Json>().await.ok()
    })
}

/// The state vectors of the recording's last poll: icao24 → the fields the table keeps.
fn last_poll() -> Vec<Json> {
    let dir = repo().join("e2e/opensky-demo");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .expect("read e2e/opensky-replay")
        .map(|e| e.expect("entry").path())
        .filter(|p| p.extension().is_some_and(|x| x == "json"))
        .collect();
    files.sort();
    let last = files.last().expect("a recorded poll");
    let v: Json = serde_json::from_slice(&std::fs::read(last).expect("read poll")).expect("poll JSON");
    let mut states = v["states"].as_array().cloned().unwrap_or_default();
    states.sort_by(|a, b| a[0].as_str().cmp(&b[0].as_str()));
    states
}

/// Whether the map's rows are the poll's state vectors (an independent source: the recording):
/// the same aircraft, sorted by icao24, with the recording's values.
fn matches_poll(body: &Json, expected: &[Json]) -> Result<(), String> {
    let flights = body["flights"].as_array().ok_or_else(|| format!("no flights in {body}"))?;
    let got: Vec<&str> = flights.iter().filter_map(|r| r["icao24"].as_str()).collect();
    let want: Vec<&str> = expected.iter().filter_map(|s| s[0].as_str()).collect();
    if got != want {
        return Err(format!("aircraft {got:?}"));
    }
    for (row, state) in flights.iter().zip(expected) {
        let callsign = state[1].as_str().map(str::trim).filter(|c| !c.is_empty());
        if row["callsign"].as_str() != callsign {
            return Err(format!("callsign of {}: {row}", state[0]));
        }
        for (field, idx) in [
            ("origin_country", 2),
            ("last_contact", 4),
            ("longitude", 5),
            ("latitude", 6),
            ("baro_altitude", 7),
            ("on_ground", 8),
            ("velocity", 9),
            ("true_track", 10),
        ] {
            if row[field] != state[idx] {
                return Err(format!(
                    "{field} of {}: {} in Hudi, {} in the recording",
                    state[0], row[field], state[idx]
                ));
            }
        }
    }
    Ok(())
}

/// A number as MariaDB's text and as JSON compare equal (both are the same double).
fn same_number(text: &str, json: &Json) -> bool {
    match (text, json) {
        ("NULL", Json::Null) => true,
        (t, Json::Number(n)) => t.parse::<f64>().ok() == n.as_f64(),
        (t, Json::Bool(b)) => t == if *b { "1" } else { "0" },
        (t, Json::String(s)) => t == s,
        _ => false,
    }
}

#[test]
fn run_sh_replays_into_hudi_serves_the_map_and_resumes() {
    // not a user of the shared services, but heavy: keep it away from the timing-sensitive tests
    let _g = serial();
    let tmp = tempfile::Builder::new().prefix("one-command-").tempdir().expect("temp dir");
    let ports = Ports {
        mysql: free_port(),
        kafka: free_port(),
        registry: free_port(),
        map: free_port(),
        sink_metrics: free_port(),
        connector_metrics: free_port(),
    };
    let run_svc = Services {
        mysql_host: "127.0.0.1".into(),
        mysql_port: ports.mysql,
        root_user: "root".into(),
        root_password: String::new(),
        kafka: format!("127.0.0.1:{}", ports.kafka),
    };
    let api = format!("http://127.0.0.1:{}/api/flights", ports.map);

    // --- first run: until the table holds the last poll, then Ctrl-C
    let mut run = Run::start(tmp.path(), &ports, &["--replay"], &[]);
    let expected = last_poll();
    let want_icao: Vec<&str> = expected.iter().map(|s| s[0].as_str().expect("icao24")).collect();
    // the replay ends with the last poll's aircraft (earlier ones deleted as stale) and their values
    let deadline = Instant::now() + Duration::from_secs(300);
    let mut last_mismatch = String::from("no answer from the map's JSON endpoint");
    let body = loop {
        assert!(run.alive(), "e2e/run.sh exited early");
        if let Some(body) = get_json(&api) {
            match matches_poll(&body, &expected) {
                Ok(()) => break body,
                Err(e) => last_mismatch = e,
            }
        }
        assert!(
            Instant::now() < deadline,
            "the map's JSON never showed the last poll's aircraft {want_icao:?}: {last_mismatch}"
        );
        std::thread::sleep(Duration::from_secs(1));
    };
    assert!(run.said("REPLAYING the bundled recording"), "the run says it replays");
    assert_eq!(body["table"], "final.flights");
    assert!(body["newest_event_ms"].as_i64().is_some_and(|t| t > 0), "freshness comes from source.ts_ms: {body}");
    let flights = body["flights"].as_array().expect("flights");
    // … and every column equals MariaDB's row
    // the table's columns are the state vector's fields
    let columns = cdc_connector::opensky::state::FIELDS;
    let mysql = run_svc.query_rows(&format!("SELECT {} FROM `final`.flights ORDER BY icao24", columns.join(",")));
    assert_eq!(mysql.len(), flights.len());
    for (m, row) in mysql.iter().zip(flights) {
        for (c, text) in columns.iter().zip(m) {
            assert!(same_number(text, &row[*c]), "{c}: MariaDB {text}, Hudi {} ({row})", row[*c]);
        }
    }

    // the map page draws one marker per aircraft with a position (headless Chromium)
    let artifacts = repo().join("target/test-artifacts");
    std::fs::create_dir_all(&artifacts).expect("artifact dir");
    let with_position = flights.iter().filter(|f| f["longitude"].is_number() && f["latitude"].is_number()).count();
    let out = Command::new("python3")
        .arg(repo().join("tests/it/py/map_check.py"))
        .arg(format!("http://127.0.0.1:{}/", ports.map))
        .arg(with_position.to_string())
        .arg(&artifacts)
        .output()
        .expect("run tests/it/py/map_check.py");
    assert!(
        out.status.success(),
        "map check failed:\n{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(artifacts.join("flights-map.png").exists(), "the screenshot is kept");

    // SQL over the lake: aircraft per country above 10,000 m, and the highest of them
    let sql = "SELECT origin_country, count(*) AS aircraft, max(baro_altitude) AS highest FROM \"final\".flights \
               WHERE baro_altitude > 10000 GROUP BY origin_country ORDER BY origin_country";
    let out = Command::new(sink_bin())
        .args(["query", "--format", "csv", "--base-path"])
        .arg(tmp.path().join("lakehouse"))
        .arg(sql)
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .output()
        .expect("hudi-sink query");
    assert!(out.status.success(), "hudi-sink query: {}", String::from_utf8_lossy(&out.stderr));
    let csv = String::from_utf8_lossy(&out.stdout).into_owned();
    let mut lines = csv.lines();
    assert_eq!(lines.next(), Some("origin_country,aircraft,highest"), "{csv}");
    let lake: Vec<(String, u64, f64)> = lines
        .map(|l| {
            // country names have no commas in the recording; the last two fields are numbers
            let mut f = l.rsplitn(3, ',');
            let highest = f.next().and_then(|x| x.parse().ok()).unwrap_or_else(|| panic!("{l}"));
            let n = f.next().and_then(|x| x.parse().ok()).unwrap_or_else(|| panic!("{l}"));
            (f.next().unwrap_or_else(|| panic!("{l}")).to_owned(), n, highest)
        })
        .collect();
    // the answer from the recording itself …
    let mut want: std::collections::BTreeMap<String, (u64, f64)> = Default::default();
    for s in expected.iter().filter(|s| s[7].as_f64().is_some_and(|a| a > 10000.0)) {
        let e = want.entry(s[2].as_str().expect("origin_country").to_owned()).or_insert((0, f64::MIN));
        e.0 += 1;
        e.1 = e.1.max(s[7].as_f64().expect("baro_altitude"));
    }
    let want: Vec<(String, u64, f64)> = want.into_iter().map(|(c, (n, h))| (c, n, h)).collect();
    assert!(want.len() > 1, "the recording has aircraft above 10,000 m in several countries");
    assert_eq!(lake, want, "hudi-sink query against the recording's last poll");
    // … and from MariaDB
    let mysql: Vec<(String, u64, f64)> = run_svc
        .query_rows(&sql.replace("\"final\"", "`final`"))
        .into_iter()
        .map(|r| (r[0].clone(), r[1].parse().expect("count"), r[2].parse().expect("max")))
        .collect();
    assert_eq!(lake, mysql, "hudi-sink query against MariaDB");

    // Ctrl-C stops everything the run started
    let status = run.ctrl_c(Duration::from_secs(120));
    assert!(!status.success() || status.code() == Some(0), "{status:?}");
    for p in ports.all() {
        assert!(!port_in_use(p), "port {p} still answers after Ctrl-C");
    }
    assert!(run.said("stopped; state kept"), "the run says it stopped");

    // a second, bounded run resumes instead of starting over
    let logs = tmp.path().join("services/logs");
    let connector_log_before = std::fs::read_to_string(logs.join("cdc-connector.log")).unwrap_or_default();
    let sink_log_before = std::fs::read_to_string(logs.join("hudi-sink.log")).unwrap_or_default();
    // no new input this time (a "live" API that refuses connections): nothing may change
    let mut run2 = Run::start(
        tmp.path(),
        &ports,
        &["--live", "--for", "20"],
        &[("OPENSKY_BASE_URL", "http://127.0.0.1:9/unreachable")],
    );
    let status = run2.wait(Duration::from_secs(300));
    assert!(status.success(), "second run: {status:?}");
    assert!(run2.said("resuming from its stored offset"), "the second run resumes the connector");
    let connector_log = std::fs::read_to_string(logs.join("cdc-connector.log")).expect("connector log");
    let second = &connector_log[connector_log_before.len()..];
    assert!(second.contains("binlog stream started"), "second run's connector log:\n{second}");
    assert!(!second.contains("snapshot position read"), "the second run took a snapshot again:\n{second}");
    let sink_log = std::fs::read_to_string(logs.join("hudi-sink.log")).expect("sink log");
    let second = &sink_log[sink_log_before.len()..];
    // `checkpoint=Some(N)` (text logs) or `"checkpoint":"Some(N)"` (JSON logs)
    assert!(
        second.lines().any(|l| l.contains("table assigned") && l.contains("Some(")),
        "the second run's sink did not resume from a checkpoint:\n{second}"
    );
    assert!(get_json(&api).is_none(), "the map stopped with the run");
    for p in ports.all() {
        assert!(!port_in_use(p), "port {p} still answers after the bounded run");
    }
    // the table is still the last poll
    let table = read_table(&tmp.path().join("lakehouse/final/flights").to_string_lossy()).expect("hudi-sink read");
    let icao: Vec<&str> = table.iter().map(|r| r["icao24"].as_str().expect("icao24")).collect();
    assert_eq!(icao, want_icao, "the table after the second run");
}
