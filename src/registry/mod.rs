//! schema-registry: a Confluent Schema Registry–compatible server (the REST API subset Confluent's
//! clients and Debezium's AvroConverter use), storing its state in the compacted Kafka topic
//! `_schemas` in Confluent's own record format.
//!
//! Modules, in the order a request meets them:
//! * `api` — axum routes: paths, status codes, JSON shapes, JSON errors for everything;
//! * `service` — what each call does: read from the state, or decide and write through the topic;
//! * `compat` — schema validation, canonical form, compatibility levels (apache-avro's checker);
//! * `state` — the in-memory state, a pure fold of the topic's records;
//! * `store` — the topic: record format, replay at start-up, produce on change, read-your-writes;
//! * `error` — Confluent's error codes and bodies.
//!
//! Invariants: every state change is a record in the topic, and the state is a function of the
//! records read so far, so restarts and other registries on the same topic reach the same state.
//! Ids are global, never reused, and the same canonical schema keeps its id across subjects.

pub mod api;
pub mod compat;
pub mod error;
pub mod service;
pub mod state;
pub mod store;

pub use service::Registry;
pub use store::{KafkaStore, StoreConfig};
