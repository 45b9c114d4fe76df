//! Kafka Connect JsonConverter encoding.
