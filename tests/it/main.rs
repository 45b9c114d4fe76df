//! Integration tests. `fixtures` reads binlog files from disk and needs no server, `compose`
//! renders `docker/compose.yaml` with Debian's `docker-compose` (no Docker engine); the others
//! run against the services `e2e/services.sh up` starts (MariaDB with a ROW binlog, tansu) and
//! fail loudly when a service is missing. Run them all through `e2e/test.sh`.

mod avro;
mod bad_input;
mod blocking;
mod compose;
mod connector;
mod crash;
mod debezium_from_ours;
mod failmodes;
mod fake_mysql;
mod fixtures;
mod fuzzed;
mod golden;
mod gtid;
mod heartbeat;
mod history;
mod hudi;
mod include_query;
mod incremental;
mod kafka_security;
mod mdbtypes;
mod modes;
mod mysql_binlog;
mod offsets_topic;
mod one_command;
mod outages;
mod parity;
mod partitioning;
mod poller;
mod registry;
mod rest;
mod resume;
mod secrets;
mod services;
mod shapes;
mod snapshot;
mod tls;
mod transforms;
mod txmeta;
