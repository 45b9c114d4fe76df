//! cdc-connector: a Debezium-compatible MySQL/MariaDB change-data-capture pipeline.
//!
//! The data path is a straight line of modules:
//!
//! `config` → `source` (binlog events, positions) → `schema` (table schemas, DDL) → `decode`
//! (binlog row → typed column values) → `envelope` (Connect-style key/value/source) → `record` (a row change → its 1–3 records) → `encode`
//! (Kafka Connect JsonConverter bytes; Confluent AvroConverter bytes + registry client) → `sink` (Kafka producer) → `offsets` (Connect-format store).
//! `history` records every DDL with its position (Debezium's schema history) and rebuilds the
//! `schema` catalog from it at start.
//!
//! `connect` holds the Kafka Connect schema/value model that sits in the middle: both of
//! Debezium's converters derive their bytes from it. `pipeline` is wiring only.
//!
//! `worker` hosts any number of pipelines behind Kafka Connect's REST API (`cdc-connector serve`).

pub mod columns;
pub mod config;
pub mod connect;
pub mod decode;
pub mod encode;
pub mod envelope;
pub mod history;
pub mod incremental;
pub mod inspect;
pub mod java_ser;
pub mod kafka_client;
pub mod logging;
pub mod metrics_http;
pub mod offsets;
pub mod opensky;
pub mod pipeline;
pub mod record;
pub mod registry;
pub mod schema;
pub mod sink;
pub mod snapshot;
pub mod source;
pub mod telemetry;
pub mod transforms;
pub mod worker;
