//! AvroConverter output end to end: cdc-connector with `io.confluent.connect.avro.AvroConverter`
//! against our `schema-registry`, compared with the real Debezium 3.6.3 + AvroConverter 7.0.16
//! (golden `main.avro.jsonl` / `main.avro-schemas.jsonl`: the snapshot, then the stream workload).
//!
//! * Schemas: per subject, the registered versions equal the schemas the golden records use, in
//!   order of first use (parsed JSON, ids not compared).
//! * Values: each record's key and value decode (schema fetched from our registry by the id in its
//!   header) to the golden datum, with only `ts_ms`/`ts_us`/`ts_ns` normalised; and the bytes after
//!   the 5-byte header equal the golden bytes once the golden timestamps are put in place of ours.
//!   The topic prefix has the golden's length (`dbserver1`, 9 characters) so that `source.name`
//!   encodes to the same number of bytes.
//! * An ALTER TABLE the registry refuses (BACKWARD, the default) stops the connector with the
//!   registry's message and the table, and nothing of that table is produced after it.
//! * Confluent's own clients agree: the Java `KafkaAvroDeserializer` and Python's
//!   `AvroDeserializer` (`e2e/avro-check/`) decode every record through our registry, to the same
//!   values.
//! * Debezium and cdc-connector share a registry: the real Debezium (the oracle, AvroConverter
//!   pointed at a fresh instance of our registry, `e2e/avro-check/debezium-registry.sh`) registers
//!   all its schemas; cdc-connector then runs the same workload against that registry and finds
//!   every schema it needs already there, under the same id, creating no new version.
//! * A registry that is down: the connector says so, retries, produces nothing unregistered and
//!   carries on once the registry is up.
//!
//! Each test runs its own registry process on a fresh `_schemas` topic.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use apache_avro::types::Value as Avro;
use serde_json::Value as Json;

use crate::connector::Setup;
use crate::parity::wait_for_records;
use crate::registry::{free_port, RegistryProc};
use crate::services::{read_topics, repo, serial, services, shared, unique, Consumed, Services};

/// A unique topic prefix as long as the golden's `dbserver1`.
fn prefix9() -> String {
    let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_nanos();
    format!("a{:08}", nanos % 100_000_000)
}

struct GoldenAvro {
    seq: u64,
    /// A record of the snapshot (`source.snapshot` other than "false").
    snapshot: bool,
    topic: String,
    key_id: Option<u32>,
    key: Option<Vec<u8>>,
    value_id: Option<u32>,
    value: Option<Vec<u8>>,
}

/// The golden records (snapshot, then streaming) and every golden schema by id.
fn golden() -> (Vec<GoldenAvro>, HashMap<u32, Json>) {
    golden_run(&shared().join("oracle/golden"), "main")
}

/// Golden run `run` in `dir`. Records whose value has no `source` (ExtractNewRecordState) count as
/// snapshot records while within the length of `main`'s snapshot (a snapshot has no delete for a
/// transform to drop).
fn golden_run(dir: &std::path::Path, run: &str) -> (Vec<GoldenAvro>, HashMap<u32, Json>) {
    let text = std::fs::read_to_string(dir.join(format!("{run}.avro.jsonl"))).expect("golden avro.jsonl");
    let lines: Vec<Json> = text.lines().map(|l| serde_json::from_str(l).expect("golden line")).collect();
    let hex = |v: &Json| {
        v.as_str()
            .map(|h| (0..h.len()).step_by(2).map(|i| u8::from_str_radix(&h[i..i + 2], 16).expect("hex")).collect())
    };
    let id = |v: &Json| v.as_u64().map(|i| i as u32);
    let main_snapshot = if run == "main" { usize::MAX } else { golden().0.iter().filter(|g| g.snapshot).count() };
    let records = lines
        .iter()
        .enumerate()
        .map(|(i, l)| GoldenAvro {
            seq: l["seq"].as_u64().expect("seq"),
            snapshot: match l["value"]["source"]["snapshot"].as_object() {
                Some(s) => s["string"] != "false",
                None => i < main_snapshot,
            },
            topic: l["topic"].as_str().expect("topic").to_string(),
            key_id: id(&l["key_schema_id"]),
            key: hex(&l["key_hex"]),
            value_id: id(&l["value_schema_id"]),
            value: hex(&l["value_hex"]),
        })
        .collect();
    let schemas = std::fs::read_to_string(dir.join(format!("{run}.avro-schemas.jsonl"))).expect("golden schemas");
    let by_id = schemas
        .lines()
        .map(|l| {
            let v: Json = serde_json::from_str(l).expect("schema line");
            (v["id"].as_u64().expect("id") as u32, v["schema"].clone())
        })
        .collect();
    (records, by_id)
}

/// `schema` with the golden prefix replaced.
fn with_prefix(schema: &Json, prefix: &str) -> Json {
    serde_json::from_str(&schema.to_string().replace("dbserver1", prefix)).expect("schema JSON")
}

/// Schema text by id from a registry, cached.
struct Registry<'a> {
    proc: &'a RegistryProc,
    cache: HashMap<u32, Json>,
}

impl Registry<'_> {
    fn schema(&mut self, id: u32) -> Json {
        if let Some(s) = self.cache.get(&id) {
            return s.clone();
        }
        let (status, v) = self.proc.call("GET", &format!("/schemas/ids/{id}"), None);
        assert_eq!(status, 200, "GET /schemas/ids/{id}: {v}");
        let s: Json = serde_json::from_str(v["schema"].as_str().expect("schema text")).expect("schema JSON");
        self.cache.insert(id, s.clone());
        s
    }
}

fn parse(schema: &Json) -> apache_avro::Schema {
    apache_avro::Schema::parse_str(&schema.to_string()).unwrap_or_else(|e| panic!("parse {schema}: {e}"))
}

/// (schema id, Avro binary after the header) of a Confluent-framed record.
fn frame(bytes: &[u8]) -> (u32, &[u8]) {
    assert!(bytes.len() >= 5 && bytes[0] == 0, "not Confluent wire format: {bytes:02x?}");
    (u32::from_be_bytes(bytes[1..5].try_into().unwrap()), &bytes[5..])
}

fn decode(schema: &apache_avro::Schema, mut body: &[u8]) -> Avro {
    let v = apache_avro::from_avro_datum(schema, &mut body, None).expect("decode Avro datum");
    assert!(body.is_empty(), "{} bytes left after the datum", body.len());
    v
}

fn is_ts(name: &str) -> bool {
    matches!(name, "ts_ms" | "ts_us" | "ts_ns")
}

/// `v` with the golden prefix replaced in every string (`source.name`).
fn substitute_prefix(v: &mut Avro, prefix: &str) {
    match v {
        Avro::String(s) => *s = s.replace("dbserver1", prefix),
        Avro::Record(fields) => fields.iter_mut().for_each(|(_, f)| substitute_prefix(f, prefix)),
        Avro::Union(_, b) => substitute_prefix(b, prefix),
        Avro::Array(items) => items.iter_mut().for_each(|i| substitute_prefix(i, prefix)),
        _ => {}
    }
}

/// A `source.gtid` that only one side has, in MariaDB's form (`0-1-61`): Debezium's MySQL connector
/// leaves it null on MariaDB, we fill it (checked against the server's binlog in `txmeta::…`).
fn mariadb_gtid_vs_null(a: &Avro, b: &Avro) -> bool {
    let is_mariadb_gtid = |v: &Avro| {
        matches!(v, Avro::Union(_, s) if matches!(&**s, Avro::String(t)
            if t.split('-').count() == 3 && t.split('-').all(|p| !p.is_empty() && p.bytes().all(|c| c.is_ascii_digit()))))
    };
    let is_null = |v: &Avro| matches!(v, Avro::Union(_, n) if matches!(&**n, Avro::Null));
    (is_mariadb_gtid(a) && is_null(b)) || (is_null(a) && is_mariadb_gtid(b))
}

/// Copies the `ts_*` values of `from` into `into` (same shape), wherever they are, and a MariaDB
/// `gtid` where the other side has null (`mariadb_gtid_vs_null`).
fn take_ts(into: &mut Avro, from: &Avro) {
    match (into, from) {
        (Avro::Record(a), Avro::Record(b)) => {
            for ((name, x), (_, y)) in a.iter_mut().zip(b.iter()) {
                if is_ts(name) || (name == "gtid" && mariadb_gtid_vs_null(x, y)) {
                    *x = y.clone();
                } else {
                    take_ts(x, y);
                }
            }
        }
        (Avro::Union(i, a), Avro::Union(j, b)) if i == j => take_ts(a, b),
        _ => {}
    }
}

/// Compare one record side (key or value) with the golden; returns a difference or None.
fn compare_side(
    what: &str,
    ours: Option<&[u8]>,
    golden: Option<&[u8]>,
    golden_id: Option<u32>,
    golden_schemas: &HashMap<u32, Json>,
    registry: &mut Registry,
    prefix: &str,
) -> Option<String> {
    let (ours, golden) = match (ours, golden) {
        (None, None) => return None,
        (Some(o), Some(g)) => (o, g),
        (o, g) => return Some(format!("{what}: ours {:?}, golden {:?}", o.map(<[u8]>::len), g.map(<[u8]>::len))),
    };
    let (our_id, our_body) = frame(ours);
    let (_, golden_body) = frame(golden);
    let our_schema = registry.schema(our_id);
    let golden_schema = with_prefix(&golden_schemas[&golden_id.expect("golden id")], prefix);
    if our_schema != golden_schema {
        return Some(format!("{what}: schema differs\n  golden: {golden_schema}\n  ours:   {our_schema}"));
    }
    let schema = parse(&our_schema);
    let ours_datum = decode(&schema, our_body);
    // Our bytes are exactly the Avro encoding of what they decode to.
    let reencoded = apache_avro::to_avro_datum(&schema, ours_datum.clone()).expect("re-encode ours");
    if reencoded != our_body {
        return Some(format!("{what}: our bytes are not the canonical encoding of their datum"));
    }
    let mut golden_datum = decode(&schema, golden_body);
    assert_eq!(
        apache_avro::to_avro_datum(&schema, golden_datum.clone()).expect("re-encode golden"),
        golden_body,
        "the golden bytes are the canonical encoding of their datum"
    );
    // The prefix has the golden's length, so this moves no byte.
    substitute_prefix(&mut golden_datum, prefix);
    let mut with_golden_ts = ours_datum.clone();
    take_ts(&mut with_golden_ts, &golden_datum);
    if with_golden_ts != golden_datum {
        let (g, o) = (format!("{golden_datum:?}"), format!("{ours_datum:?}"));
        let at = g.bytes().zip(o.bytes()).position(|(a, b)| a != b).unwrap_or(0);
        let ctx = |s: &str| s.get(at.saturating_sub(200)..(at + 200).min(s.len())).unwrap_or("").to_string();
        return Some(format!("{what}: datum differs\n  golden: …{}…\n  ours:   …{}…", ctx(&g), ctx(&o)));
    }
    // Our bytes are the golden bytes with our timestamps (prefix, MariaDB GTID) in place of the golden's.
    let golden_with_our_ts = {
        let mut g = golden_datum.clone();
        take_ts(&mut g, &ours_datum);
        apache_avro::to_avro_datum(&schema, g).expect("encode")
    };
    if golden_with_our_ts != our_body {
        return Some(format!("{what}: bytes differ outside the timestamps"));
    }
    None
}

/// A connector set-up with AvroConverter for keys and values at connector level.
fn avro_setup(svc: &Services, prefix: &str, registry_url: &str) -> Setup {
    let conv = "io.confluent.connect.avro.AvroConverter";
    Setup::new(
        svc,
        prefix,
        &[
            ("key.converter", conv),
            ("key.converter.schema.registry.url", registry_url),
            ("value.converter", conv),
            ("value.converter.schema.registry.url", registry_url),
        ],
    )
}

/// Subject → registered schemas, in version order.
fn registered(r: &RegistryProc, prefix: &str) -> HashMap<String, Vec<Json>> {
    let (status, subjects) = r.call("GET", "/subjects", None);
    assert_eq!(status, 200);
    let mut out = HashMap::new();
    for s in subjects.as_array().expect("subjects").iter().filter_map(Json::as_str) {
        if !(s.starts_with(&format!("{prefix}-")) || s.starts_with(&format!("{prefix}."))) {
            continue;
        }
        let (_, versions) = r.call("GET", &format!("/subjects/{s}/versions"), None);
        let schemas = versions
            .as_array()
            .expect("versions")
            .iter()
            .map(|v| {
                let (_, body) = r.call("GET", &format!("/subjects/{s}/versions/{v}"), None);
                serde_json::from_str(body["schema"].as_str().expect("schema")).expect("schema JSON")
            })
            .collect();
        out.insert(s.to_string(), schemas);
    }
    out
}

#[test]
fn avro_records_and_schemas_match_debezium_golden() {
    check_avro_run(&shared().join("oracle/golden"), "main", &[], true);
}

/// ExtractNewRecordState with AvroConverter: the flattened value schemas registered as Debezium
/// registers them, a delete as a Kafka null (tombstone) — against the project oracle run `unwrap`
/// (tests/oracle/golden.sh).
#[test]
fn avro_unwrap_matches_debezium_golden() {
    let props = [("transforms", "unwrap"), ("transforms.unwrap.type", "io.debezium.transforms.ExtractNewRecordState")];
    check_avro_run(&repo().join("tests/data/golden"), "unwrap", &props, false);
}

/// Snapshot then stream workload with AvroConverter and `props`, compared with golden Avro run
/// `run` in `dir`: every record's bytes and decoded datum, and the registered versions per
/// subject; `deserializers`: also Confluent's Java and Python deserializers read every record.
fn check_avro_run(dir: &std::path::Path, run: &str, props: &[(&str, &str)], deserializers: bool) {
    let _g = serial();
    let svc = services();
    svc.reset_with_seed();
    let registry = RegistryProc::start(&unique("_schemas_it_avro"));
    let prefix = prefix9();
    // The products ALTER (weight FLOAT NULL -> DOUBLE NOT NULL) is not BACKWARD compatible; the
    // golden run used a registry that does not check. Allow it for that subject only.
    let (status, v) = registry.call(
        "PUT",
        &format!("/config/{prefix}.inventory.products-value"),
        Some(r#"{"compatibility":"NONE"}"#),
    );
    assert_eq!(status, 200, "{v}");
    let setup = avro_setup(&svc, &prefix, &registry.url());
    for (k, v) in props {
        setup.set_connector_property(k, Some(v));
    }
    let (golden, golden_schemas) = golden_run(dir, run);
    // Snapshot (snapshot.mode=initial), then the stream workload.
    // The workload goes into the binlog after the snapshot's position whenever it runs; waiting
    // for the end of the snapshot keeps the two apart in time as in the golden run.
    let mut running = setup.start("");
    running.wait_for_log("snapshot complete", Duration::from_secs(90));
    svc.sql_file(&shared().join("oracle/sql/20-stream.sql"));
    let ours = wait_for_records(&svc.kafka, &prefix, golden.len(), Duration::from_secs(90));
    std::thread::sleep(Duration::from_secs(2));
    running.stop();
    let ours = if ours.len() >= golden.len() { read_topics(&svc.kafka, &prefix) } else { ours };
    assert_eq!(ours.len(), golden.len(), "record count");

    let mut reg = Registry { proc: &registry, cache: HashMap::new() };
    let mut diffs = Vec::new();
    let mut topics: Vec<String> = golden.iter().map(|g| g.topic.replace("dbserver1", &prefix)).collect();
    topics.sort();
    topics.dedup();
    for topic in &topics {
        let g: Vec<&GoldenAvro> = golden.iter().filter(|g| &g.topic.replace("dbserver1", &prefix) == topic).collect();
        let o: Vec<&Consumed> = ours.iter().filter(|c| &c.topic == topic).collect();
        if g.len() != o.len() {
            diffs.push(format!("{topic}: golden has {} records, ours {}", g.len(), o.len()));
            continue;
        }
        for (i, (g, o)) in g.iter().zip(&o).enumerate() {
            let at = format!("{topic}[{i}] (golden seq {})", g.seq);
            let key =
                compare_side("key", o.key.as_deref(), g.key.as_deref(), g.key_id, &golden_schemas, &mut reg, &prefix);
            let value = compare_side(
                "value",
                o.value.as_deref(),
                g.value.as_deref(),
                g.value_id,
                &golden_schemas,
                &mut reg,
                &prefix,
            );
            diffs.extend(key.into_iter().chain(value).map(|d| format!("{at}: {d}")));
        }
    }
    assert!(diffs.is_empty(), "{} differences from Debezium's Avro output:\n{}", diffs.len(), diffs.join("\n"));

    // Per subject, the registered versions are the golden schemas the records use, in order of
    // first use.
    let mut expected: HashMap<String, Vec<Json>> = HashMap::new();
    for g in &golden {
        let topic = g.topic.replace("dbserver1", &prefix);
        for (suffix, id) in [("key", g.key_id), ("value", g.value_id)] {
            let Some(id) = id else { continue };
            let schema = with_prefix(&golden_schemas[&id], &prefix);
            let list = expected.entry(format!("{topic}-{suffix}")).or_default();
            if !list.contains(&schema) {
                list.push(schema);
            }
        }
    }
    let got = registered(&registry, &prefix);
    let mut subjects: Vec<&String> = expected.keys().chain(got.keys()).collect();
    subjects.sort();
    subjects.dedup();
    for s in subjects {
        assert_eq!(got.get(s), expected.get(s), "registered versions of subject {s}");
    }

    if !deserializers {
        return;
    }
    // Confluent's Java and Python deserializers read every record through our registry.
    let dir = tempfile::tempdir().expect("tempdir");
    let java = dir.path().join("java.jsonl");
    let python = dir.path().join("python.jsonl");
    let checker = |cmd: &mut std::process::Command, out: &std::path::Path| {
        let res = cmd.output().expect("run the checker");
        let text = std::fs::read_to_string(out).unwrap_or_default();
        let summary: Json = text.lines().last().and_then(|l| serde_json::from_str(l).ok()).unwrap_or(Json::Null);
        assert!(
            res.status.success(),
            "{cmd:?} failed: {summary}\n{}",
            String::from_utf8_lossy(&res.stderr).lines().rev().take(30).collect::<Vec<_>>().join("\n")
        );
        let s = &summary["summary"];
        assert_eq!(s["records"].as_u64(), Some(golden.len() as u64), "records read: {summary}");
        assert_eq!(s["failures"].as_u64(), Some(0), "decode failures: {summary}");
    };
    checker(
        std::process::Command::new(repo().join("e2e/avro-check/run.sh"))
            .args([&svc.kafka, &registry.url(), &prefix])
            .arg(&java),
        &java,
    );
    checker(
        std::process::Command::new("python3")
            .arg(repo().join("e2e/avro-check/py_check.py"))
            .args([&svc.kafka, &registry.url(), &prefix])
            .arg(&python),
        &python,
    );
    let same = std::process::Command::new("python3")
        .arg(repo().join("e2e/avro-check/compare.py"))
        .args([&java, &python])
        .output()
        .expect("compare.py");
    assert!(same.status.success(), "Java and Python decode differently:\n{}", String::from_utf8_lossy(&same.stdout));
}

#[test]
fn avro_debezium_and_cdc_connector_share_registry_ids() {
    let _g = serial();
    let svc = services();
    let out = tempfile::tempdir().expect("tempdir");
    // Debezium first, on its own MariaDB, into a fresh registry that it leaves running.
    let dbz = std::process::Command::new(repo().join("e2e/avro-check/debezium-registry.sh"))
        .args(["--keep-registry", "--out"])
        .arg(out.path())
        .env("KAFKA_BOOTSTRAP", &svc.kafka)
        .env("REGISTRY_BIN", env!("CARGO_BIN_EXE_schema-registry"))
        .env("DBZ_REGISTRY_PORT", free_port().to_string())
        .output()
        .expect("run debezium-registry.sh");
    let info: Json = std::fs::read_to_string(out.path().join("registry.json"))
        .ok()
        .and_then(|t| serde_json::from_str(&t).ok())
        .unwrap_or(Json::Null);
    let _stop = KillOnDrop(info["pid"].as_u64());
    assert!(
        dbz.status.success(),
        "Debezium against our registry failed:\n{}\n{}",
        String::from_utf8_lossy(&dbz.stdout),
        String::from_utf8_lossy(&dbz.stderr)
    );
    let url = info["url"].as_str().expect("registry url").to_string();
    let before = out.path().join("registry-dump.jsonl");
    // Then cdc-connector, same workload and prefix, against the same registry.
    svc.reset_with_seed();
    // The topics may hold records of earlier runs (tansu cannot delete topics): count from here.
    let (golden, _) = golden();
    let last_topic = golden.last().expect("golden").topic.clone();
    let topic_count = |t: &str| read_topics(&svc.kafka, t).iter().filter(|c| c.topic == t).count();
    let baseline = topic_count(&last_topic);
    let expected_last = golden.iter().filter(|g| !g.snapshot && g.topic == last_topic).count();
    let setup = avro_setup(&svc, "dbserver1", &url);
    let running = setup.start("latest");
    svc.sql_file(&shared().join("oracle/sql/20-stream.sql"));
    // Wait until the last table of the workload has been produced.
    let deadline = Instant::now() + Duration::from_secs(90);
    while topic_count(&last_topic) < baseline + expected_last {
        assert!(Instant::now() < deadline, "cdc-connector did not produce the workload within 90 s");
        std::thread::sleep(Duration::from_millis(500));
    }
    running.stop();
    // Every topic's newest record (ours) carries the id Debezium's schema got under that subject.
    let dump: Vec<Json> = std::fs::read_to_string(&before)
        .expect("registry dump")
        .lines()
        .map(|l| serde_json::from_str(l).expect("dump line"))
        .collect();
    let ids_of = |subject: &str| -> Vec<u64> {
        dump.iter().filter(|d| d["subject"] == subject).filter_map(|d| d["id"].as_u64()).collect()
    };
    let mut topics: Vec<&str> = golden.iter().map(|g| g.topic.as_str()).collect();
    topics.sort();
    topics.dedup();
    let ours = read_topics(&svc.kafka, "dbserver1");
    for topic in topics {
        let newest = ours.iter().rev().find(|c| c.topic == topic && c.value.is_some()).expect("a record of the topic");
        for (suffix, bytes) in [("key", &newest.key), ("value", &newest.value)] {
            let Some(bytes) = bytes else { continue };
            let (id, _) = frame(bytes);
            let subject = format!("{topic}-{suffix}");
            assert!(
                ids_of(&subject).contains(&u64::from(id)),
                "{subject}: our id {id}, Debezium's {:?}",
                ids_of(&subject)
            );
        }
    }
    let after = out.path().join("after.jsonl");
    let dump = std::process::Command::new("python3")
        .arg(repo().join("e2e/avro-check/registry_dump.py"))
        .args(["dump", &url])
        .arg(&after)
        .output()
        .expect("registry_dump.py dump");
    assert!(dump.status.success(), "{}", String::from_utf8_lossy(&dump.stderr));
    let cmp = std::process::Command::new("python3")
        .arg(repo().join("e2e/avro-check/registry_dump.py"))
        .arg("compare")
        .args([&before, &after])
        .output()
        .expect("registry_dump.py compare");
    assert!(
        cmp.status.success(),
        "cdc-connector registered something Debezium had not (new id or version):\n{}{}",
        String::from_utf8_lossy(&cmp.stdout),
        String::from_utf8_lossy(&cmp.stderr)
    );
}

/// Kills a process by pid when dropped (the registry `debezium-registry.sh --keep-registry` left).
struct KillOnDrop(Option<u64>);

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        if let Some(pid) = self.0 {
            let _ = std::process::Command::new("kill").arg(pid.to_string()).status();
        }
    }
}

#[test]
fn avro_incompatible_alter_stops_the_connector_before_producing() {
    let _g = serial();
    let svc = services();
    svc.reset_with_seed();
    let registry = RegistryProc::start(&unique("_schemas_it_avro409"));
    let prefix = prefix9();
    let setup = avro_setup(&svc, &prefix, &registry.url());
    let mut running = setup.start("latest");
    svc.sql_file(&shared().join("oracle/sql/20-stream.sql"));
    // The products ALTER makes `weight` non-optional: BACKWARD (the default) refuses it.
    let deadline = Instant::now() + Duration::from_secs(90);
    let status = loop {
        if let Ok(Some(st)) = running.child.try_wait() {
            break st;
        }
        assert!(Instant::now() < deadline, "the connector did not stop on the incompatible schema");
        std::thread::sleep(Duration::from_millis(200));
    };
    while let Ok(l) = running.log.recv_timeout(Duration::from_millis(500)) {
        running.lines.push(l);
    }
    let log = running.lines.join("\n");
    assert!(!status.success(), "exit status {status}");
    let table = "inventory.products";
    assert!(
        log.contains(table) && log.contains("incompatible") && log.contains(&format!("{prefix}.{table}-value")),
        "the error names the table, the subject and the registry's verdict:\n{log}"
    );
    // The registry's own message (Confluent's wording for 409) is passed on.
    assert!(log.contains("409"), "registry error code in the message:\n{log}");
    // Nothing of products after the ALTER: its records are exactly the golden ones before it.
    let (golden, _) = golden();
    let golden_products: Vec<&GoldenAvro> = golden
        .iter()
        .filter(|g| !g.snapshot && g.topic == "dbserver1.inventory.products" && g.value_id == Some(12))
        .collect();
    let ours: Vec<Consumed> =
        read_topics(&svc.kafka, &prefix).into_iter().filter(|c| c.topic == format!("{prefix}.{table}")).collect();
    assert_eq!(ours.len(), golden_products.len(), "products records before the ALTER only");
    let (_, versions) = registry.call("GET", &format!("/subjects/{prefix}.{table}-value/versions"), None);
    assert_eq!(versions, serde_json::json!([1]), "the refused schema was not registered");
}

#[test]
fn avro_registry_down_is_retried_and_nothing_unregistered_is_produced() {
    let _g = serial();
    let svc = services();
    svc.reset_with_seed();
    let port = free_port();
    let prefix = prefix9();
    let setup = avro_setup(&svc, &prefix, &format!("http://127.0.0.1:{port}"));
    let mut running = setup.start("latest");
    svc.sql("INSERT INTO inventory.customers VALUES (default, 'Down', 'Registry', 'down@example.com');");
    running.wait_for_log("schema registry", Duration::from_secs(30));
    running.wait_for_log("retrying", Duration::from_secs(30));
    assert!(read_topics(&svc.kafka, &prefix).is_empty(), "nothing is produced while the registry is down");
    let registry = RegistryProc::start_on(&unique("_schemas_it_avro_down"), port);
    let got = wait_for_records(&svc.kafka, &prefix, 1, Duration::from_secs(60));
    running.stop();
    assert_eq!(got.len(), 1, "the record is produced once the registry is up");
    let (id, _) = frame(got[0].value.as_deref().expect("value"));
    let (status, _) = registry.call("GET", &format!("/schemas/ids/{id}"), None);
    assert_eq!(status, 200, "the record's schema id is registered");
}
