//! Bad input: each mistake exits non-zero with one clear sentence naming the cause, and nothing
//! is written to Kafka or to the offsets file.

use std::time::Duration;

use crate::connector::{run_to_end, Setup};
use crate::services::{read_topics, serial, services, unique, Services};

fn run(setup: &Setup, extra_args: &[&str]) -> (i32, String) {
    let w = setup.worker();
    let c = setup.connector();
    let mut args = vec!["--worker", w.to_str().unwrap(), "--connector", c.to_str().unwrap()];
    args.extend_from_slice(extra_args);
    run_to_end(&args, Duration::from_secs(60))
}

fn assert_fails(svc: &Services, setup: &Setup, extra_args: &[&str], needles: &[&str]) {
    let (code, out) = run(setup, extra_args);
    assert_ne!(code, 0, "expected failure, got success:\n{out}");
    for n in needles {
        assert!(out.contains(n), "error output does not mention '{n}':\n{out}");
    }
    assert!(!out.contains("panicked"), "the connector panicked:\n{out}");
    assert!(!setup.offsets().exists(), "an offsets file was written:\n{out}");
    assert!(read_topics(&svc.kafka, &setup.prefix).is_empty(), "records were written to Kafka:\n{out}");
}

#[test]
fn wrong_password_is_named() {
    let _g = serial();
    let svc = services();
    let setup = Setup::new(&svc, &unique("badpw"), &[("database.password", "not-the-password")]);
    assert_fails(&svc, &setup, &["--binlog-pos", "latest"], &["wrong user name or password", "debezium"]);
    let (_, out) = run(&setup, &["--binlog-pos", "latest"]);
    assert!(!out.contains("not-the-password"), "the password was echoed:\n{out}");
}

#[test]
fn unreachable_host_is_named() {
    let _g = serial();
    let svc = services();
    // A loopback port nothing listens on.
    let setup = Setup::new(&svc, &unique("nohost"), &[("database.port", "1"), ("connect.timeout.ms", "3000")]);
    assert_fails(&svc, &setup, &["--binlog-pos", "latest"], &["cannot connect", "127.0.0.1:1"]);
}

#[test]
fn statement_binlog_format_is_refused() {
    let _g = serial();
    let svc = services();
    svc.sql("SET GLOBAL binlog_format = 'STATEMENT';");
    let setup = Setup::new(&svc, &unique("stmt"), &[]);
    let (code, out) = run(&setup, &["--binlog-pos", "latest"]);
    svc.sql("SET GLOBAL binlog_format = 'ROW';");
    assert_ne!(code, 0, "{out}");
    assert!(out.contains("binlog_format is STATEMENT"), "{out}");
    assert!(!setup.offsets().exists());
}

#[test]
fn minimal_row_image_is_refused() {
    let _g = serial();
    let svc = services();
    svc.sql("SET GLOBAL binlog_row_image = 'MINIMAL';");
    let setup = Setup::new(&svc, &unique("minimg"), &[]);
    let (code, out) = run(&setup, &["--binlog-pos", "latest"]);
    svc.sql("SET GLOBAL binlog_row_image = 'FULL';");
    assert_ne!(code, 0, "{out}");
    assert!(out.contains("binlog_row_image is MINIMAL"), "{out}");
    assert!(!setup.offsets().exists());
}

#[test]
fn missing_replication_privilege_is_named() {
    let _g = serial();
    let svc = services();
    svc.sql(
        "DROP USER IF EXISTS 'norepl'@'%'; CREATE USER 'norepl'@'%' IDENTIFIED BY 'pw';
         GRANT SELECT, RELOAD, SHOW DATABASES ON *.* TO 'norepl'@'%';",
    );
    let setup = Setup::new(&svc, &unique("norepl"), &[("database.user", "norepl"), ("database.password", "pw")]);
    assert_fails(&svc, &setup, &["--binlog-pos", "latest"], &["REPLICATION", "norepl"]);
}

#[test]
fn unknown_property_is_named() {
    let _g = serial();
    let svc = services();
    let setup = Setup::new(&svc, &unique("unknown"), &[("database.hostnmae", "typo")]);
    // Unknown properties are reported by name at start-up; with --check the connector stops there.
    let (code, out) = run(&setup, &["--binlog-pos", "latest", "--check"]);
    assert!(out.contains("database.hostnmae"), "{out}");
    assert_eq!(code, 0, "{out}");
}

#[test]
fn invalid_value_is_named() {
    let _g = serial();
    let svc = services();
    let setup = Setup::new(&svc, &unique("badval"), &[("database.port", "three-three-oh-six")]);
    assert_fails(&svc, &setup, &["--binlog-pos", "latest"], &["database.port", "three-three-oh-six"]);
}

#[test]
fn malformed_connector_json_is_named() {
    let _g = serial();
    let svc = services();
    let setup = Setup::new(&svc, &unique("badjson"), &[]);
    std::fs::write(setup.connector(), "{\"name\": \"x\", \"config\": {\"topic.prefix\": }").unwrap();
    assert_fails(&svc, &setup, &["--binlog-pos", "latest"], &["connector.json", "line 1"]);
}

#[test]
fn resume_without_offsets_says_how_to_start() {
    let _g = serial();
    let svc = services();
    let setup = Setup::new(&svc, &unique("noresume"), &[]);
    assert_fails(&svc, &setup, &["--binlog-pos", "resume"], &["no stored offset", "--binlog-pos latest"]);
}

/// `--check` reports every problem at once (issue #8): a user without replication privileges (but
/// allowed to list the server's replicas: MariaDB's SHOW SLAVE HOSTS needs REPLICATION MASTER
/// ADMIN; without it the server-id line is a WARN saying so), a
/// `database.server.id` a connected replica (another connector) already uses, and brokers that
/// are not there — each a FAIL line, exit status 1; what works is listed `ok`. The same
/// connector with a proper user, a free server id and the real Kafka is ready to start.
#[test]
fn check_reports_every_problem_at_once() {
    let _g = serial();
    let svc = services();
    svc.sql(
        "DROP USER IF EXISTS 'chk'@'%'; DROP USER IF EXISTS 'chk'@'localhost';
         CREATE USER 'chk'@'%' IDENTIFIED BY 'chk-pw'; CREATE USER 'chk'@'localhost' IDENTIFIED BY 'chk-pw';
         GRANT SELECT ON *.* TO 'chk'@'%'; GRANT SELECT ON *.* TO 'chk'@'localhost';
         GRANT REPLICATION MASTER ADMIN ON *.* TO 'chk'@'%'; GRANT REPLICATION MASTER ADMIN ON *.* TO 'chk'@'localhost';",
    );
    let busy = Setup::new(&svc, &unique("chkbusy"), &[("database.server.id", "184777")]);
    let running = busy.start("latest");
    let dead = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let nowhere = Services { kafka: format!("127.0.0.1:{dead}"), ..services() };
    let setup = Setup::new(
        &nowhere,
        &unique("chk"),
        &[("database.user", "chk"), ("database.password", "chk-pw"), ("database.server.id", "184777")],
    );
    let (code, out) = run(&setup, &["--check"]);
    assert_ne!(code, 0, "{out}");
    let line = |tag: &str, check: &str| {
        out.lines().find(|l| l.starts_with(tag) && l[4..].trim_start().starts_with(check)).map(str::to_string)
    };
    let kafka = line("FAIL", "kafka").unwrap_or_else(|| panic!("kafka FAIL:\n{out}"));
    assert!(kafka.contains(&format!("127.0.0.1:{dead}")), "{kafka}");
    let privileges = line("FAIL", "privileges").unwrap_or_else(|| panic!("privileges FAIL:\n{out}"));
    for p in ["REPLICATION SLAVE", "REPLICATION CLIENT", "RELOAD or LOCK TABLES"] {
        assert!(privileges.contains(p), "{privileges}");
    }
    let server_id = line("FAIL", "server id").unwrap_or_else(|| panic!("server id FAIL:\n{out}"));
    assert!(server_id.contains("184777"), "{server_id}");
    for ok in ["configuration", "database connection", "binlog", "gtid", "stored offset"] {
        assert!(line("ok", ok).is_some(), "ok {ok}:\n{out}");
    }
    assert!(!out.contains("chk-pw"), "{out}");
    running.stop();

    let ready = Setup::new(&svc, &unique("chkok"), &[("database.server.id", "184778")]);
    let (code, out) = run(&ready, &["--check"]);
    assert_eq!(code, 0, "{out}");
    assert!(!out.contains("FAIL"), "{out}");
    assert!(out.contains("is ready to start"), "{out}");
    svc.sql("DROP USER 'chk'@'%'; DROP USER 'chk'@'localhost';");
}
