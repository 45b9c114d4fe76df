//! Transaction metadata (`provide.transaction.metadata=true`) on MariaDB.
//!
//! Debezium 3.6.3's MySQL connector emits none of it on MariaDB (the golden `txmeta` run has no
//! transaction topic and a null `transaction` in every record: it waits for a `BEGIN` query that
//! MariaDB never writes, its GTID event starting the transaction instead). So the expected output
//! here is Debezium's documented MySQL behaviour (`TransactionMonitor`, `TransactionContext`,
//! `BinlogOffsetContext`: a BEGIN record when a transaction starts, an END record with the event
//! count and the per-table counts at its commit, id = the GTID, and on every change the block
//! `{id, total_order, data_collection_order}`), with the transactions themselves taken from the
//! server's own listing (`SHOW BINLOG EVENTS`: its GTID and XID events), not from our decoder.
//! Apart from the `transaction` block every data record must still equal the golden `txmeta` run
//! (`skipped.operations=none`: with the TRUNCATE record, op `t`).

use std::collections::HashMap;
use std::time::Duration;

use serde_json::Value as Json;

use crate::connector::Setup;
use crate::golden;
use crate::parity::{streaming_golden_of, wait_for_records};
use crate::services::{read_topics, serial, services, shared, unique, Services};

/// One transaction as the server lists it: its GTID and the start positions of its rows events.
#[derive(Debug)]
struct ServerTx {
    gtid: String,
    rows_events: Vec<u64>,
}

/// `SHOW BINLOG EVENTS` from `file:pos`: every transaction that starts there or later.
fn server_transactions(svc: &Services, file: &str, pos: u64) -> Vec<ServerTx> {
    let out = std::process::Command::new("mariadb")
        .args(["--no-defaults", "-N", "-B", "--protocol=TCP", "-uroot"])
        .arg(format!("-h{}", svc.mysql_host))
        .arg(format!("-P{}", svc.mysql_port))
        .arg("-e")
        .arg(format!("SHOW BINLOG EVENTS IN '{file}' FROM {pos}"))
        .output()
        .expect("mariadb client");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let mut txs: Vec<ServerTx> = Vec::new();
    let mut open = false;
    for line in String::from_utf8_lossy(&out.stdout).lines() {
        let cols: Vec<&str> = line.split('\t').collect();
        let (event_pos, kind, info) = (cols[1].parse::<u64>().unwrap(), cols[2], cols[5]);
        match kind {
            "Gtid" => {
                // "BEGIN GTID 0-1-12" starts a transaction; "GTID 0-1-5" is a standalone statement.
                open = info.starts_with("BEGIN GTID ");
                if open {
                    txs.push(ServerTx { gtid: info["BEGIN GTID ".len()..].to_string(), rows_events: Vec::new() });
                }
            }
            "Xid" => open = false,
            "Query" if info.trim() == "COMMIT" => open = false,
            k if k.ends_with("_rows_v1") || k.ends_with("_rows") => {
                assert!(open, "rows event at {event_pos} outside a transaction");
                txs.last_mut().unwrap().rows_events.push(event_pos);
            }
            _ => {}
        }
    }
    txs
}

fn json(text: &str) -> Json {
    serde_json::from_str(text).expect("JSON")
}

/// The block `{id, total_order, data_collection_order}` removed from a JsonConverter value, so the
/// rest compares byte for byte with Debezium's (which has `"transaction":null`).
fn without_block(value: &str) -> String {
    let re = regex::Regex::new(r#""transaction":\{"id":"[^"]*","total_order":\d+,"data_collection_order":\d+\}"#)
        .expect("regex");
    re.replace(value, r#""transaction":null"#).into_owned()
}

#[test]
fn transaction_metadata_follows_debeziums_mysql_behaviour_on_mariadb() {
    let _g = serial();
    let svc = services();
    svc.reset_with_seed();
    let prefix = unique("txmeta");
    // The golden txmeta run's settings: transaction metadata, and truncates not skipped.
    let setup = Setup::new(&svc, &prefix, &[("provide.transaction.metadata", "true"), ("skipped.operations", "none")]);
    let start = svc.query_row("SHOW MASTER STATUS");
    let running = setup.start("latest");
    svc.sql_file(&shared().join("oracle/sql/20-stream.sql"));
    let golden = streaming_golden_of("txmeta");
    assert!(golden.iter().any(|g| g.value.as_deref().is_some_and(|v| v.contains(r#""op":"t""#))), "a truncate");
    let txs = server_transactions(&svc, &start[0], start[1].parse().unwrap());
    // BEGIN and END of every transaction, plus the data records.
    wait_for_records(&svc.kafka, &prefix, golden.len() + 2 * txs.len(), Duration::from_secs(60));
    std::thread::sleep(Duration::from_secs(2));
    running.stop();
    let all = read_topics(&svc.kafka, &prefix);
    let tx_topic = format!("{prefix}.transaction");
    let (tx_records, mut data): (Vec<_>, Vec<_>) = all.into_iter().partition(|c| c.topic == tx_topic);

    // Which transaction each golden data record belongs to, and its expected order values
    // (counted in delivery order; a tombstone is not an event).
    let tx_of_event: HashMap<u64, usize> =
        txs.iter().enumerate().flat_map(|(i, t)| t.rows_events.iter().map(move |&p| (p, i))).collect();
    let mut totals = vec![0u64; txs.len()];
    let mut per_table: Vec<Vec<(String, u64)>> = vec![Vec::new(); txs.len()];
    let mut expected_block: HashMap<u64, (String, u64, u64)> = HashMap::new();
    for g in &golden {
        let Some(v) = g.value.as_deref() else { continue };
        let v = json(v);
        let source = &v["payload"]["source"];
        if source["table"].is_null() || g.topic == "dbserver1" || v["payload"]["op"] == "t" {
            continue; // schema changes and TRUNCATE (a statement of its own) have no block
        }
        let pos = source["pos"].as_u64().unwrap();
        let i = *tx_of_event.get(&pos).unwrap_or_else(|| panic!("golden seq {}: rows event {pos} not listed", g.seq));
        totals[i] += 1;
        let table = format!("{}.{}", source["db"].as_str().unwrap(), source["table"].as_str().unwrap());
        let slot = match per_table[i].iter().position(|(t, _)| *t == table) {
            Some(s) => s,
            None => {
                per_table[i].push((table, 0));
                per_table[i].len() - 1
            }
        };
        per_table[i][slot].1 += 1;
        expected_block.insert(g.seq, (txs[i].gtid.clone(), totals[i], per_table[i][slot].1));
    }

    // Data records: the golden bytes once the block is taken out; the block as expected.
    for c in &mut data {
        if let Some(v) = c.value.as_mut() {
            *v = without_block(std::str::from_utf8(v).unwrap()).into_bytes();
        }
    }
    assert_eq!(data.len(), golden.len());
    let diffs = golden::compare(&golden, &data, &prefix);
    assert!(diffs.is_empty(), "{} differences besides the block:\n{}", diffs.len(), diffs.join("\n"));
    // The blocks themselves (records matched per topic, in order, as `golden::compare` does).
    let ours_with_blocks = read_topics(&svc.kafka, &prefix);
    let mut topics: Vec<&str> = golden.iter().map(|g| g.topic.as_str()).collect();
    topics.sort();
    topics.dedup();
    let mut blocks = 0;
    for topic in topics {
        let ours: Vec<_> = ours_with_blocks.iter().filter(|c| c.topic == topic.replace("dbserver1", &prefix)).collect();
        let theirs: Vec<_> = golden.iter().filter(|g| g.topic == topic).collect();
        for (o, g) in ours.iter().zip(theirs) {
            let payload = o.value.as_ref().map(|v| json(std::str::from_utf8(v).unwrap())["payload"].clone());
            let block = payload.as_ref().map(|p| p["transaction"].clone());
            match expected_block.get(&g.seq) {
                Some((id, total, dc)) => {
                    let want = serde_json::json!({"id": id, "total_order": total, "data_collection_order": dc});
                    assert_eq!(block.as_ref(), Some(&want), "golden seq {} ({topic})", g.seq);
                    // `source.gtid`: the server's GTID of the transaction (Debezium leaves it null
                    // on MariaDB; its MySQL connector fills it with the transaction's GTID).
                    let gtid = &payload.as_ref().expect("value")["source"]["gtid"];
                    assert_eq!(gtid.as_str(), Some(id.as_str()), "golden seq {} ({topic}) source.gtid", g.seq);
                    blocks += 1;
                }
                None => assert!(block.is_none_or(|b| b.is_null()), "golden seq {} ({topic}) has no block", g.seq),
            }
        }
    }
    assert_eq!(blocks, expected_block.len());

    // The transaction topic: BEGIN, END for every transaction, in order.
    let key_schema = r#"{"type":"struct","fields":[{"type":"string","optional":false,"field":"id"}],"optional":false,"name":"io.debezium.connector.common.TransactionMetadataKey","version":1}"#;
    let value_schema = r#"{"type":"struct","fields":[{"type":"string","optional":false,"field":"status"},{"type":"string","optional":false,"field":"id"},{"type":"int64","optional":true,"field":"event_count"},{"type":"array","items":{"type":"struct","fields":[{"type":"string","optional":false,"field":"data_collection"},{"type":"int64","optional":false,"field":"event_count"}],"optional":true,"name":"event.collection","version":1},"optional":true,"field":"data_collections"},{"type":"int64","optional":false,"field":"ts_ms"}],"optional":false,"name":"io.debezium.connector.common.TransactionMetadataValue","version":1}"#;
    assert_eq!(tx_records.len(), 2 * txs.len(), "a BEGIN and an END per transaction");
    for (i, t) in txs.iter().enumerate() {
        let (begin, end) = (&tx_records[2 * i], &tx_records[2 * i + 1]);
        for r in [begin, end] {
            assert!(r.headers.is_empty(), "transaction records carry no headers");
            let key = json(std::str::from_utf8(r.key.as_ref().unwrap()).unwrap());
            assert_eq!(key["schema"], json(key_schema));
            assert_eq!(key["payload"], serde_json::json!({"id": t.gtid}));
            assert_eq!(json(std::str::from_utf8(r.value.as_ref().unwrap()).unwrap())["schema"], json(value_schema));
        }
        let b = json(std::str::from_utf8(begin.value.as_ref().unwrap()).unwrap())["payload"].clone();
        assert_eq!((b["status"].as_str(), b["id"].as_str()), (Some("BEGIN"), Some(t.gtid.as_str())), "{b}");
        assert!(b["event_count"].is_null() && b["data_collections"].is_null(), "{b}");
        let e = json(std::str::from_utf8(end.value.as_ref().unwrap()).unwrap())["payload"].clone();
        assert_eq!((e["status"].as_str(), e["id"].as_str()), (Some("END"), Some(t.gtid.as_str())), "{e}");
        assert_eq!(e["event_count"].as_u64(), Some(totals[i]), "{e}");
        let mut got: Vec<(String, u64)> = e["data_collections"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| (c["data_collection"].as_str().unwrap().to_string(), c["event_count"].as_u64().unwrap()))
            .collect();
        got.sort();
        let mut want = per_table[i].clone();
        want.sort();
        assert_eq!(got, want, "END of {}", t.gtid);
        assert!(b["ts_ms"].as_i64().unwrap() <= e["ts_ms"].as_i64().unwrap());
    }
    // Multi-statement and multi-table transactions are part of the workload.
    assert!(totals.iter().any(|&n| n > 1) && per_table.iter().any(|t| t.len() > 1), "{totals:?}");
    // At the end no transaction is open: the committed offset carries none, and its MariaDB GTID
    // position is the server's (`mariadb_gtids`; Debezium's `gtids` stays unset on MariaDB).
    let last = setup.stored().expect("offset");
    let gtid_pos = svc.query("SELECT @@gtid_binlog_pos");
    assert!(last.transaction_id.is_none() && last.gtids.is_none(), "{last:?}");
    assert_eq!(last.extra, vec![("mariadb_gtids".to_string(), Json::from(gtid_pos))], "{last:?}");
}

/// A restart from an offset inside a transaction (Debezium's `transaction_id` and
/// `transaction_data_collection_order_<db.table>` keys) continues the transaction's counts and
/// repeats no BEGIN record: at the transaction's start (its GTID event, where MySQL's offsets
/// point too) and at a later statement of it (where MariaDB's point).
#[test]
fn a_restart_inside_a_transaction_continues_its_counts() {
    let _g = serial();
    let svc = services();
    svc.reset_with_seed();
    let start = svc.query_row("SHOW MASTER STATUS");
    let file = start[0].clone();
    svc.sql(
        "BEGIN;
         INSERT INTO inventory.customers VALUES (3001, 'T', 'One', 't1@x.org');
         INSERT INTO inventory.customers VALUES (3002, 'T', 'Two', 't2@x.org');
         INSERT INTO inventory.customers VALUES (3003, 'T', 'Three', 't3@x.org');
         COMMIT;",
    );
    let txs = server_transactions(&svc, &file, start[1].parse().unwrap());
    assert_eq!(txs.len(), 1, "{txs:?}");
    let gtid = txs[0].gtid.clone();
    let listing = svc.query_row(&format!("SHOW BINLOG EVENTS IN '{file}' FROM {} LIMIT 1", start[1]));
    assert_eq!(listing[2], "Gtid", "{listing:?}");
    let gtid_pos: u64 = listing[1].parse().unwrap();
    // The end of the first statement's rows event: where the second statement starts.
    let first_rows = svc.query_row(&format!("SHOW BINLOG EVENTS IN '{file}' FROM {}", txs[0].rows_events[0]));
    let second_statement: u64 = first_rows[4].parse().unwrap();
    let counts = |n: u64| vec![("transaction_data_collection_order_inventory.customers".to_string(), Json::from(n))];
    // (offset after the n-th row: pos, event, row; the ids expected after it)
    let cases =
        [((gtid_pos, None, 1u64), 1u64, vec![3002, 3003]), ((second_statement, Some(2u64), 1u64), 2, vec![3003])];
    for ((pos, event, row), done, ids) in cases {
        let prefix = unique("txresume");
        let setup = Setup::new(
            &svc,
            &prefix,
            &[("table.include.list", "inventory.customers"), ("provide.transaction.metadata", "true")],
        );
        let offset = cdc_connector::offsets::SourceOffset {
            file: file.clone(),
            pos,
            event,
            row: Some(row),
            server_id: Some(1),
            ts_sec: Some(0),
            transaction_id: Some(gtid.clone()),
            extra: counts(done),
            ..Default::default()
        };
        let mut store = cdc_connector::offsets::FileOffsetStore::open(setup.offsets()).unwrap();
        store.put(&setup.name, &prefix, &offset);
        store.flush().unwrap();
        let running = setup.start("resume");
        wait_for_records(&svc.kafka, &prefix, ids.len() + 1, Duration::from_secs(30));
        std::thread::sleep(Duration::from_secs(1));
        running.stop();
        let got = read_topics(&svc.kafka, &prefix);
        let value = |c: &crate::services::Consumed| json(std::str::from_utf8(c.value.as_ref().unwrap()).unwrap());
        let data: Vec<Json> = got.iter().filter(|c| c.topic.ends_with(".customers")).map(value).collect();
        let got_ids: Vec<u64> = data.iter().map(|v| v["payload"]["after"]["id"].as_u64().unwrap()).collect();
        assert_eq!(got_ids, ids, "resumed at {pos} (event {event:?}, row {row})");
        for (k, v) in data.iter().enumerate() {
            let n = done + 1 + k as u64;
            let want = serde_json::json!({"id": gtid, "total_order": n, "data_collection_order": n});
            assert_eq!(v["payload"]["transaction"], want, "resumed at {pos}");
        }
        let tx: Vec<Json> = got.iter().filter(|c| c.topic.ends_with(".transaction")).map(value).collect();
        assert_eq!(tx.len(), 1, "only the END record, the BEGIN was emitted before the restart: {tx:?}");
        let end = &tx[0]["payload"];
        assert_eq!((end["status"].as_str(), end["event_count"].as_u64()), (Some("END"), Some(3)), "{end}");
        assert_eq!(
            end["data_collections"],
            serde_json::json!([{"data_collection": "inventory.customers", "event_count": 3}])
        );
    }
}
