//! Secrets through Kafka Connect config providers (`config.providers`, `${file:PATH:key}`): the
//! database password lives in a properties file, the connector config names it, and no log line of
//! a whole run — snapshot, streaming, a restart, and a start refused for a wrong password — holds
//! the password.

use std::time::Duration;

use crate::connector::Setup;
use crate::parity::wait_for_records;
use crate::services::{serial, services, unique};

const PASSWORD: &str = "Pw-7f3a9c1e-provided";
const WRONG: &str = "Wrong-2b8d4e60-provided";

#[test]
fn a_password_from_a_config_provider_never_reaches_the_logs() {
    let _g = serial();
    let svc = services();
    svc.sql(&format!(
        "DROP DATABASE IF EXISTS sec; CREATE DATABASE sec; CREATE TABLE sec.t (id INT PRIMARY KEY, v VARCHAR(20));
         INSERT INTO sec.t VALUES (1, 'one');
         DROP USER IF EXISTS 'cdc_secret'@'%'; DROP USER IF EXISTS 'cdc_secret'@'localhost';
         CREATE USER 'cdc_secret'@'%' IDENTIFIED BY '{PASSWORD}';
         CREATE USER 'cdc_secret'@'localhost' IDENTIFIED BY '{PASSWORD}';
         GRANT SELECT, RELOAD, SHOW DATABASES, REPLICATION SLAVE, REPLICATION CLIENT ON *.* TO 'cdc_secret'@'%';
         GRANT SELECT, RELOAD, SHOW DATABASES, REPLICATION SLAVE, REPLICATION CLIENT ON *.* TO 'cdc_secret'@'localhost';"
    ));
    let prefix = unique("provided");
    let topic = format!("{prefix}.sec.t");
    let secrets = tempfile::tempdir().unwrap();
    let file = secrets.path().join("db.properties");
    std::fs::write(&file, format!("db.password={PASSWORD}\n")).unwrap();
    let reference = format!("${{file:{}:db.password}}", file.display());
    let setup = Setup::new(
        &svc,
        &prefix,
        &[("database.user", "cdc_secret"), ("database.password", &reference), ("database.include.list", "sec")],
    );
    setup.add_worker_property("config.providers", "file");
    setup.add_worker_property(
        "config.providers.file.class",
        "org.apache.kafka.common.config.provider.FileConfigProvider",
    );
    assert!(!std::fs::read_to_string(setup.connector()).unwrap().contains(PASSWORD), "the config holds no password");

    let mut logs = String::new();
    let running = setup.start("");
    wait_for_records(&svc.kafka, &topic, 1, Duration::from_secs(60));
    svc.sql("INSERT INTO sec.t VALUES (2, 'two');");
    let got = wait_for_records(&svc.kafka, &topic, 2, Duration::from_secs(60));
    assert_eq!(got.len(), 2, "snapshot and streaming with the provided password");
    logs.push_str(&running.stop_with_log());
    let mut again = setup.start("");
    again.wait_for_log("binlog stream started", Duration::from_secs(30));
    svc.sql("INSERT INTO sec.t VALUES (3, 'three');");
    wait_for_records(&svc.kafka, &topic, 3, Duration::from_secs(60));
    logs.push_str(&again.stop_with_log());

    // A wrong password in the file: the start is refused, naming the user, not the password.
    std::fs::write(&file, format!("db.password={WRONG}\n")).unwrap();
    let (code, out) = setup.run_failing("resume");
    assert_ne!(code, 0, "{out}");
    assert!(out.contains("cdc_secret"), "names the user: {out}");
    logs.push_str(&out);

    assert!(logs.lines().count() > 10, "the runs logged: {logs}");
    for secret in [PASSWORD, WRONG] {
        let leaks: Vec<&str> = logs.lines().filter(|l| l.contains(secret)).collect();
        assert!(leaks.is_empty(), "log lines holding the password: {leaks:#?}");
    }
    svc.sql("DROP USER 'cdc_secret'@'%'; DROP USER 'cdc_secret'@'localhost';");
}
