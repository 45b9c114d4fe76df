//! The oracle's golden records (`../shared/oracle/golden/*.json.jsonl`) and the comparison of our
//! Kafka output with them. Only the fields `normalize.py` normalises are normalised.

use serde_json::value::RawValue;

use crate::services::{shared, Consumed};

/// One golden record with the verbatim JsonConverter bytes of its key and value.
#[derive(Debug, Clone)]
pub struct GoldenRecord {
    pub seq: u64,
    pub topic: String,
    pub key: Option<String>,
    pub value: Option<String>,
    /// (key, schema, Java toString value)
    pub headers: Vec<(String, String, String)>,
}

#[derive(serde::Deserialize)]
struct Line<'a> {
    seq: u64,
    topic: String,
    #[serde(borrow)]
    key: Option<&'a RawValue>,
    #[serde(borrow)]
    value: Option<&'a RawValue>,
    headers: Vec<Header>,
}

#[derive(serde::Deserialize)]
struct Header {
    key: String,
    schema: String,
    value: String,
}

pub fn load(run: &str) -> Vec<GoldenRecord> {
    load_path(&shared().join(format!("oracle/golden/{run}.json.jsonl")))
}

/// Records in the golden format from any file the oracle's harness wrote.
pub fn load_path(path: &std::path::Path) -> Vec<GoldenRecord> {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("read {}: {e}", path.display()));
    text.lines()
        .map(|l| {
            let line: Line = serde_json::from_str(l).expect("golden line");
            let raw = |r: Option<&RawValue>| r.map(|r| r.get().to_string()).filter(|s| s != "null");
            GoldenRecord {
                seq: line.seq,
                topic: line.topic,
                key: raw(line.key),
                value: raw(line.value),
                headers: line.headers.into_iter().map(|h| (h.key, h.schema, h.value)).collect(),
            }
        })
        .collect()
}

/// Replace the values of `ts_ms`/`ts_us`/`ts_ns` members (processing and event times) with a
/// marker, as `normalize.py` does. Text-level, so every other byte is still compared exactly.
pub fn normalize_ts(s: &str) -> String {
    let re = regex::Regex::new(r#""(ts_ms|ts_us|ts_ns)":-?\d+"#).expect("regex");
    re.replace_all(s, r#""$1":"<ts>""#).into_owned()
}

/// Our `source.gtid` on MariaDB (`"gtid":"0-1-61"`) as Debezium's MySQL connector writes it there:
/// null, since it ignores MariaDB's GTID events. Applied to our records only, text-level; what we
/// put there instead is checked against the server's binlog (`txmeta::…`).
pub fn mariadb_gtid_as_debezium(s: &str) -> String {
    let re = regex::Regex::new(r#""gtid":"\d+-\d+-\d+""#).expect("regex");
    re.replace_all(s, r#""gtid":null"#).into_owned()
}

/// Java `Struct.toString()` of a header value written by SimpleHeaderConverter as JSON.
pub fn header_java_string(bytes: &[u8]) -> String {
    match serde_json::from_slice::<serde_json::Value>(bytes) {
        Ok(serde_json::Value::Object(m)) => {
            let parts: Vec<String> = m
                .iter()
                .map(|(k, v)| match v {
                    serde_json::Value::String(s) => format!("{k}={s}"),
                    other => format!("{k}={other}"),
                })
                .collect();
            format!("Struct{{{}}}", parts.join(","))
        }
        _ => String::from_utf8_lossy(bytes).into_owned(),
    }
}

/// Compare our records with golden ones, topic by topic, in order. Returns a list of differences.
pub fn compare(golden: &[GoldenRecord], ours: &[Consumed], prefix: &str) -> Vec<String> {
    let mut diffs = Vec::new();
    let sub = |s: &str| s.replace("dbserver1", prefix);
    let mut topics: Vec<String> = golden.iter().map(|g| sub(&g.topic)).collect();
    topics.extend(ours.iter().map(|c| c.topic.clone()));
    topics.sort();
    topics.dedup();
    for topic in topics {
        let g: Vec<&GoldenRecord> = golden.iter().filter(|g| sub(&g.topic) == topic).collect();
        let o: Vec<&Consumed> = ours.iter().filter(|c| c.topic == topic).collect();
        if g.len() != o.len() {
            diffs.push(format!("{topic}: golden has {} records, ours {}", g.len(), o.len()));
        }
        for (i, (g, o)) in g.iter().zip(o.iter()).enumerate() {
            let ok = |b: &Option<Vec<u8>>| {
                b.as_ref().map(|b| normalize_ts(&mariadb_gtid_as_debezium(&String::from_utf8_lossy(b))))
            };
            let gk = g.key.as_deref().map(|k| normalize_ts(&sub(k)));
            let gv = g.value.as_deref().map(|v| normalize_ts(&sub(v)));
            if gk != ok(&o.key) {
                diffs.push(format!(
                    "{topic}[{i}] (golden seq {}): key differs\n  golden: {:?}\n  ours:   {:?}",
                    g.seq,
                    gk,
                    ok(&o.key)
                ));
            }
            if gv != ok(&o.value) {
                diffs.push(format!(
                    "{topic}[{i}] (golden seq {}): value differs\n{}",
                    g.seq,
                    first_difference(gv.as_deref().unwrap_or("null"), ok(&o.value).as_deref().unwrap_or("null"))
                ));
            }
            let gh: Vec<(String, String)> = g
                .headers
                .iter()
                .map(|(k, _, v)| (k.clone(), if k == "__debezium.context.runId" { "<runId>".into() } else { sub(v) }))
                .collect();
            let oh: Vec<(String, String)> = o
                .headers
                .iter()
                .map(|(k, v)| {
                    let v = if k == "__debezium.context.runId" {
                        "<runId>".to_string()
                    } else if k.ends_with("key") && k.starts_with("__debezium.") {
                        header_java_string(v)
                    } else {
                        String::from_utf8_lossy(v).into_owned()
                    };
                    (k.clone(), v)
                })
                .collect();
            if gh != oh {
                diffs.push(format!(
                    "{topic}[{i}] (golden seq {}): headers differ\n  golden: {gh:?}\n  ours:   {oh:?}",
                    g.seq
                ));
            }
        }
    }
    diffs
}

/// Compare records of the real Debezium (the harness's output, topic prefix `prefix`) with
/// golden ones, in delivery order: same topics, keys, values and headers. Returns the differences;
/// when the counts differ, the extra and missing records are named by golden seq.
pub fn compare_in_order(expected: &[GoldenRecord], got: &[GoldenRecord], prefix: &str) -> Vec<String> {
    let sub = |s: &str| s.replace("dbserver1", prefix);
    let norm = |g: &GoldenRecord, golden: bool| {
        let text = |s: &Option<String>| {
            s.as_deref().map(|s| normalize_ts(&if golden { sub(s) } else { s.to_string() })).unwrap_or_default()
        };
        let headers: Vec<String> = g
            .headers
            .iter()
            .map(|(k, _, v)| {
                let v = if k == "__debezium.context.runId" { "<runId>".to_string() } else { v.clone() };
                format!("{k}={}", if golden { sub(&v) } else { v })
            })
            .collect();
        let topic = if golden { sub(&g.topic) } else { g.topic.clone() };
        (topic, text(&g.key), text(&g.value), headers.join(";"))
    };
    let want: Vec<_> = expected.iter().map(|g| norm(g, true)).collect();
    let have: Vec<_> = got.iter().map(|g| norm(g, false)).collect();
    let mut diffs = Vec::new();
    if want.len() != have.len() {
        let missing: Vec<u64> =
            expected.iter().zip(&want).filter(|(_, w)| !have.contains(w)).map(|(g, _)| g.seq).collect();
        let extra: Vec<String> = got
            .iter()
            .zip(&have)
            .filter(|(_, h)| !want.contains(h))
            .map(|(g, h)| format!("#{} {} key {}", g.seq, h.0, h.1))
            .collect();
        diffs.push(format!(
            "expected {} records, got {}; golden records missing (seq): {missing:?}; records not among the expected: {extra:?}",
            want.len(),
            have.len()
        ));
    }
    for (i, (w, h)) in want.iter().zip(&have).enumerate() {
        let seq = expected[i].seq;
        if w.0 != h.0 {
            diffs.push(format!("record {i} (golden seq {seq}): topic {} vs {}", w.0, h.0));
            continue;
        }
        if w.1 != h.1 {
            diffs.push(format!(
                "record {i} (golden seq {seq}, {}): key differs\n  golden: {}\n  got:    {}",
                w.0, w.1, h.1
            ));
        }
        if w.2 != h.2 {
            diffs.push(format!(
                "record {i} (golden seq {seq}, {}): value differs\n{}",
                w.0,
                first_difference(&w.2, &h.2)
            ));
        }
        if w.3 != h.3 {
            diffs.push(format!("record {i} (golden seq {seq}): headers differ\n  golden: {}\n  got:    {}", w.3, h.3));
        }
    }
    diffs
}

fn first_difference(a: &str, b: &str) -> String {
    let idx = a.bytes().zip(b.bytes()).position(|(x, y)| x != y).unwrap_or(a.len().min(b.len()));
    let from = idx.saturating_sub(120);
    let ctx = |s: &str| s.get(from..(idx + 120).min(s.len())).unwrap_or("").to_string();
    format!("  at byte {idx}\n  golden: …{}…\n  ours:   …{}…", ctx(a), ctx(b))
}
