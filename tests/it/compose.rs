//! `docker/compose.yaml` (README "Run with Docker Compose"), checked the way CI can without a Docker engine: Debian's
//! `docker-compose` (1.29) renders it with nothing in the environment but `PATH` and an empty env file, so the
//! file's own defaults must be enough; then the rendering is read: every service is there, every published port is
//! bound to 127.0.0.1, and our four services are started with flags their binaries accept. No YAML parser is a
//! dependency: `docker-compose config` prints block-style YAML, which is read line by line.

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;
use std::process::Command;

use crate::hudi::sink_bin;
use crate::services::repo;

/// The services of the production shape (the `confluent-registry` profile adds one more).
const SERVICES: &[&str] = &[
    "mysql",
    "kafka",
    "schema-registry",
    "minio",
    "minio-init",
    "opensky-poller",
    "cdc-connector",
    "hudi-sink",
    "flights-map",
];

/// `docker-compose --env-file EMPTY -f docker/compose.yaml ARGS`: its stdout; fails on a non-zero exit or a variable
/// the file uses without a default.
fn compose(args: &[&str]) -> String {
    let empty_env = tempfile::NamedTempFile::new().unwrap();
    let mut cmd = Command::new("docker-compose");
    cmd.env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .current_dir(repo())
        .arg("--env-file")
        .arg(empty_env.path())
        .args(["-f", "docker/compose.yaml"])
        .args(args);
    let out = match cmd.output() {
        Ok(out) => out,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => panic!(
            "docker-compose not found: install Debian's docker-compose package \
             (`apt-get install -y --no-install-recommends docker-compose`; .ci/run does)"
        ),
        Err(e) => panic!("running docker-compose: {e}"),
    };
    let stderr = String::from_utf8_lossy(&out.stderr);
    let what = format!("docker-compose -f docker/compose.yaml {}", args.join(" "));
    assert!(out.status.success(), "{what} failed ({}):\n{stderr}", out.status);
    assert!(!stderr.contains("is not set"), "{what}: the file uses a variable without a default:\n{stderr}");
    String::from_utf8(out.stdout).expect("docker-compose prints UTF-8")
}

/// The rendered services: name → the lines of its definition, relative to its keys' indentation.
fn services(config: &str) -> BTreeMap<String, Vec<String>> {
    let mut out: BTreeMap<String, Vec<String>> = BTreeMap::new();
    let (mut in_services, mut current) = (false, None::<String>);
    for line in config.lines().filter(|l| !l.trim().is_empty()) {
        let indent = line.len() - line.trim_start().len();
        if indent == 0 {
            in_services = line == "services:";
            current = None;
        } else if in_services && indent == 2 {
            let name = line.trim().strip_suffix(':').unwrap_or_else(|| panic!("service line {line:?}"));
            out.insert(name.to_owned(), Vec::new());
            current = Some(name.to_owned());
        } else if let Some(name) = &current {
            out.get_mut(name).unwrap().push(line[indent.min(4)..].to_owned());
        }
    }
    out
}

/// The items of the block sequence under `key:` in a service definition, each as its lines (the `- ` removed,
/// continuation lines trimmed); empty when the key is absent.
fn items(def: &[String], key: &str) -> Vec<Vec<String>> {
    let header = format!("{key}:");
    let Some(start) = def.iter().position(|l| *l == header) else { return Vec::new() };
    let mut items: Vec<Vec<String>> = Vec::new();
    let mut item_indent = None;
    for l in &def[start + 1..] {
        let indent = l.len() - l.trim_start().len();
        let ii = *item_indent.get_or_insert(indent);
        match l.trim_start().strip_prefix("- ") {
            Some(first) if indent == ii => items.push(vec![first.to_owned()]),
            _ if indent > ii && !items.is_empty() => items.last_mut().unwrap().push(l.trim().to_owned()),
            _ => break,
        }
    }
    items
}

fn unquote(s: &str) -> &str {
    s.trim_matches(|c| c == '\'' || c == '"')
}

#[test]
fn compose_file_validates_without_environment_and_has_every_service() {
    compose(&["config", "-q"]);
    let listed: BTreeSet<String> = compose(&["config", "--services"]).lines().map(str::to_owned).collect();
    for s in SERVICES {
        assert!(listed.contains(*s), "docker/compose.yaml has no service {s}; it has {listed:?}");
    }
    let volumes: BTreeSet<String> = compose(&["config", "--volumes"]).lines().map(str::to_owned).collect();
    for v in ["mysql-data", "kafka-data", "minio-data", "connector-offsets"] {
        assert!(volumes.contains(v), "docker/compose.yaml has no volume {v}; it has {volumes:?}");
    }
    // the rendered text is what the other checks read: make sure it is read as meant
    let rendered = services(&compose(&["config"]));
    assert_eq!(rendered.keys().cloned().collect::<BTreeSet<_>>(), listed, "services read from `config`");
}

#[test]
fn compose_publishes_ports_on_loopback_only() {
    let rendered = services(&compose(&["config"]));
    let mut publishing = BTreeSet::new();
    for (name, def) in &rendered {
        assert!(!def.iter().any(|l| l == "network_mode: host"), "service {name} uses the host's network");
        for item in items(def, "ports") {
            // short syntax `127.0.0.1:8081:8081/tcp`, or long syntax with `host_ip:`
            let loopback = match item.as_slice() {
                [short] if !short.contains(": ") => unquote(short).starts_with("127.0.0.1:"),
                long => long.iter().any(|l| l == "host_ip: 127.0.0.1"),
            };
            assert!(loopback, "service {name} publishes {item:?} beyond 127.0.0.1: write \"127.0.0.1:HOST:CONTAINER\"");
            publishing.insert(name.as_str());
        }
    }
    for s in ["mysql", "kafka", "schema-registry", "minio"] {
        assert!(publishing.contains(s), "service {s} publishes no port (the check above would be vacuous)");
    }
}

#[test]
fn compose_starts_our_binaries_with_flags_they_accept() {
    let rendered = services(&compose(&["config"]));
    let ours: BTreeMap<&String, &Vec<String>> =
        rendered.iter().filter(|(_, def)| def.iter().any(|l| l == "build:")).collect();
    assert_eq!(
        ours.keys().map(|s| s.as_str()).collect::<Vec<_>>(),
        ["cdc-connector", "flights-map", "hudi-sink", "opensky-poller", "schema-registry"],
        "services built from docker/Dockerfile"
    );
    for (name, def) in ours {
        let command: Vec<String> = items(def, "command").iter().map(|i| unquote(&i.join(" ")).to_owned()).collect();
        let (bin, args) = command.split_first().unwrap_or_else(|| panic!("service {name} has no command"));
        let path = match bin.as_str() {
            "cdc-connector" => PathBuf::from(env!("CARGO_BIN_EXE_cdc-connector")),
            "opensky-poller" => PathBuf::from(env!("CARGO_BIN_EXE_opensky-poller")),
            "schema-registry" => PathBuf::from(env!("CARGO_BIN_EXE_schema-registry")),
            "hudi-sink" => sink_bin(),
            other => panic!("service {name} runs {other}, not one of our binaries"),
        };
        let subcommand: Vec<&String> = args.iter().take_while(|a| !a.starts_with('-')).collect();
        let out = Command::new(&path).args(&subcommand).arg("--help").output().unwrap();
        assert!(out.status.success(), "{bin} {subcommand:?} --help failed");
        let help = String::from_utf8_lossy(&out.stdout);
        for flag in args.iter().filter(|a| a.starts_with("--")).map(|a| a.split('=').next().unwrap()) {
            // the flag as a whole word (`--topic` is not `--topics`)
            let named = help
                .match_indices(flag)
                .any(|(i, _)| !help[i + flag.len()..].starts_with(|c: char| c.is_ascii_alphanumeric() || c == '-'));
            assert!(named, "service {name}: `{bin} {subcommand:?}` has no flag {flag} (see its --help)");
        }
    }
}

/// The stack's connector files (docker/connector-config/) are read as they are: their `${env:…}` references resolve
/// through the worker's `EnvVarConfigProvider`, from the environment compose gives the container.
#[test]
fn compose_connector_files_resolve_their_env_references() {
    std::env::set_var("SCHEMA_REGISTRY_URL", "http://schema-registry:8081");
    std::env::set_var("DEBEZIUM_MYSQL_PASSWORD", "pw-from-the-environment");
    let dir = repo().join("docker/connector-config");
    let worker = cdc_connector::config::WorkerConfig::from_properties_file(dir.join("worker.properties")).unwrap();
    let connector =
        cdc_connector::config::ConnectorConfig::from_file_with(dir.join("final-flights.json"), &worker.providers)
            .unwrap();
    assert_eq!(connector.connection.password.expose(), "pw-from-the-environment");
    let converters = format!("{:?}", connector.converters(Some(&worker)));
    assert!(converters.contains("http://schema-registry:8081") && !converters.contains("${env:"), "{converters}");
}
