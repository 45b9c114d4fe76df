//! GTIDs on MariaDB, where Debezium's MySQL connector reads none (it ignores MariaDB's GTID
//! events): so the expected values come from the server itself (`SHOW BINLOG EVENTS`,
//! `@@gtid_binlog_pos`) and Debezium's documented MySQL behaviour (`source.gtid` is the
//! transaction's GTID; the offset carries the completed set; `gtid.source.*` filters sources).
//! `source.gtid` of every change and the final position are checked in `txmeta::…`; here:
//!
//! - a resume whose binlog file is gone (purged; after a failover the old server's files are gone
//!   the same way) goes on after the offset's GTIDs and loses nothing, where a resume by file and
//!   position can only stop;
//! - `gtid.source.excludes`: the row changes of another source (a MariaDB replication domain
//!   here) are skipped, its transactions still count in the offset's GTID position.

use std::time::Duration;

use serde_json::Value as Json;

use crate::connector::Setup;
use crate::parity::wait_for_records;
use crate::services::{after_ids as ids, read_topics, serial, services, unique};

/// Store `setup`'s offset again without our MariaDB GTID keys (as Debezium would have written it).
pub fn strip_gtids(setup: &Setup, from: &Setup) {
    let mut offset = from.stored().expect("offset");
    offset.extra.retain(|(k, _)| !k.starts_with("mariadb_gtid"));
    let mut store = cdc_connector::offsets::file::FileOffsetStore::open(setup.offsets()).unwrap();
    store.put(&setup.name, &setup.prefix, &offset);
    store.flush().unwrap();
}

#[test]
fn resume_by_gtid_when_the_offsets_binlog_file_is_gone() {
    let _g = serial();
    let svc = services();
    svc.sql(
        "DROP DATABASE IF EXISTS gt; RESET MASTER;
         CREATE DATABASE gt; CREATE TABLE gt.t (id INT PRIMARY KEY, v VARCHAR(20));
         INSERT INTO gt.t VALUES (1, 'one');",
    );
    let prefix = unique("gtres");
    let topic = format!("{prefix}.gt.t");
    let setup = Setup::new(&svc, &prefix, &[("database.include.list", "gt")]);
    let running = setup.start("");
    svc.sql("INSERT INTO gt.t VALUES (2, 'two'); INSERT INTO gt.t VALUES (3, 'three');");
    let got = wait_for_records(&svc.kafka, &topic, 3, Duration::from_secs(60));
    assert_eq!(ids(&got, &topic), [1, 2, 3]);
    std::thread::sleep(Duration::from_secs(1));
    running.stop();
    let stored = setup.stored().expect("offset");
    let first_file = stored.file.clone();
    let position = stored.extra.iter().find(|(k, _)| k == "mariadb_gtids").map(|(_, v)| v.clone());
    let open = stored.extra.iter().find(|(k, _)| k == "mariadb_gtid").map(|(_, v)| v.clone());
    // The offset names row 3 (Debezium's fields), and its GTID position says row 3's
    // transaction is complete: the server's position, no transaction open.
    let pos_now: String = svc.query("SELECT @@gtid_binlog_pos");
    assert_eq!((position, open), (Some(Json::from(pos_now)), None), "{stored:?}");
    assert_eq!(stored.row, Some(1), "{stored:?}");

    // While the connector is away: a new binlog file with rows 4 and 5, and the old one purged.
    svc.sql("FLUSH BINARY LOGS; INSERT INTO gt.t VALUES (4, 'four'); INSERT INTO gt.t VALUES (5, 'five');");
    let files: Vec<String> = svc.query_rows("SHOW BINARY LOGS").into_iter().map(|r| r[0].clone()).collect();
    let newest = files.last().unwrap().clone();
    svc.sql(&format!("PURGE BINARY LOGS TO '{newest}'"));
    let files: Vec<String> = svc.query_rows("SHOW BINARY LOGS").into_iter().map(|r| r[0].clone()).collect();
    assert!(!files.contains(&first_file), "{first_file} purged: {files:?}");

    // Without the GTID position the stored offset cannot be resumed: the connector says why.
    let plain = Setup::new(&svc, &unique("gtres_plain"), &[("database.include.list", "gt")]);
    strip_gtids(&plain, &setup);
    let (code, out) = plain.run_failing("resume");
    assert_ne!(code, 0, "{out}");
    assert!(out.contains(&format!("no longer has binlog file {first_file}")), "{out}");

    // With it: streaming goes on after the GTIDs, in the newest file.
    let mut running = setup.start("");
    running.wait_for_log("resuming after its GTIDs", Duration::from_secs(30));
    svc.sql("INSERT INTO gt.t VALUES (6, 'six');");
    wait_for_records(&svc.kafka, &topic, 6, Duration::from_secs(60));
    std::thread::sleep(Duration::from_secs(2));
    running.stop();
    let all = ids(&read_topics(&svc.kafka, &topic), &topic);
    // Nothing lost, nothing read twice.
    assert_eq!(all, [1, 2, 3, 4, 5, 6]);
    let last = setup.stored().expect("offset");
    assert_eq!(last.file, newest, "{last:?}");
    let pos_now: String = svc.query("SELECT @@gtid_binlog_pos");
    assert_eq!(last.extra, vec![("mariadb_gtids".to_string(), Json::from(pos_now))], "{last:?}");
}

#[test]
fn gtid_source_excludes_skip_the_rows_of_other_sources() {
    let _g = serial();
    let svc = services();
    svc.sql("DROP DATABASE IF EXISTS gs; CREATE DATABASE gs; CREATE TABLE gs.t (id INT PRIMARY KEY, v VARCHAR(20));");
    let prefix = unique("gtsrc");
    let topic = format!("{prefix}.gs.t");
    let setup = Setup::new(&svc, &prefix, &[("database.include.list", "gs"), ("gtid.source.excludes", "7-.*")]);
    let mut running = setup.start("");
    running.wait_for_log("binlog stream started", Duration::from_secs(60));
    svc.sql(
        "INSERT INTO gs.t VALUES (1, 'domain 0');
         SET SESSION gtid_domain_id = 7; INSERT INTO gs.t VALUES (2, 'domain 7'); SET SESSION gtid_domain_id = 0;
         INSERT INTO gs.t VALUES (3, 'domain 0');",
    );
    let got = wait_for_records(&svc.kafka, &topic, 2, Duration::from_secs(60));
    std::thread::sleep(Duration::from_secs(2));
    running.stop();
    let got = if got.len() >= 2 { read_topics(&svc.kafka, &topic) } else { got };
    assert_eq!(ids(&got, &topic), [1, 3], "domain 7's row is left out");
    // Its transaction still counts: the position names domain 7 as the server does.
    let pos_now: String = svc.query("SELECT @@gtid_binlog_pos");
    let domain7 =
        pos_now.split(',').find(|g| g.starts_with("7-")).expect("domain 7 in the server's position").to_string();
    let stored = setup.stored().expect("offset");
    let position =
        stored.extra.iter().find(|(k, _)| k == "mariadb_gtids").and_then(|(_, v)| v.as_str().map(String::from));
    assert!(position.as_deref().is_some_and(|p| p.split(',').any(|g| g == domain7)), "{stored:?} vs {pos_now}");
}
