//! A key or value converter as Kafka Connect runs it: `JsonConverter`, or Confluent's
//! `AvroConverter` with its schema registry.
//!
//! The split between the two steps matters for the hot path. [`Converter::schema_id`] is the
//! slow, async part (for Avro: register or look up `<topic>-key` / `<topic>-value` in the
//! registry, cached); the pipeline calls it once per table schema version, before the first
//! record of that version, so a registry refusal stops the connector before anything of the
//! table is produced. [`Converter::encode`] is synchronous and does no I/O: it writes one
//! record with the id resolved earlier.

use std::sync::Arc;

use crate::config::{AvroSettings, ConverterKind};
use crate::connect::{Schema, Value};
use crate::encode::avro::{AvroEncodeError, AvroEncoder};
use crate::encode::json::JsonEncoder;
use crate::encode::registry_client::{subject_name, RegistryClient, RegistryError};

/// A configured key or value converter.
#[derive(Debug)]
pub enum Converter {
    /// `org.apache.kafka.connect.json.JsonConverter`.
    Json(JsonEncoder),
    /// `io.confluent.connect.avro.AvroConverter`.
    Avro { registry: Arc<RegistryClient>, is_key: bool },
}

impl Converter {
    /// The converter for `kind`. Avro converters with the same registry settings share one
    /// client (and so one id cache): pass the clients made so far in `registries`.
    pub fn new(
        kind: &ConverterKind,
        is_key: bool,
        registries: &mut Vec<(AvroSettings, Arc<RegistryClient>)>,
    ) -> Result<Converter, RegistryError> {
        match kind {
            ConverterKind::Json { schemas_enable } => Ok(Converter::Json(JsonEncoder::new(*schemas_enable))),
            ConverterKind::Avro(settings) => {
                if let Some((_, client)) = registries.iter().find(|(s, _)| s == settings) {
                    return Ok(Converter::Avro { registry: client.clone(), is_key });
                }
                let mut client = RegistryClient::new(&settings.registry_url)?.lookup_only(!settings.auto_register);
                if let Some(user_info) = &settings.user_info {
                    client = client.with_basic_auth(user_info);
                }
                let client = Arc::new(client);
                registries.push((settings.clone(), client.clone()));
                Ok(Converter::Avro { registry: client, is_key })
            }
        }
    }

    /// Whether records need a registry id (Avro) — JSON ids are always 0.
    pub fn uses_registry(&self) -> bool {
        matches!(self, Converter::Avro { .. })
    }

    /// The id to write in records of `topic` with `schema`: registered (or looked up) under
    /// the topic's key or value subject on first use, cached afterwards. 0 for JSON.
    pub async fn schema_id(&self, topic: &str, schema: &Arc<Schema>) -> Result<u32, RegistryError> {
        match self {
            Converter::Json(_) => Ok(0),
            Converter::Avro { registry, is_key } => registry.schema_id(&subject_name(topic, *is_key), schema).await,
        }
    }

    /// Appends the encoded record to `out` (nothing on error). `schema_id` comes from
    /// [`schema_id`](Self::schema_id) for the same topic and schema.
    pub fn encode(
        &mut self,
        schema_id: u32,
        schema: &Arc<Schema>,
        value: &Value,
        out: &mut Vec<u8>,
    ) -> Result<(), AvroEncodeError> {
        match self {
            Converter::Json(enc) => {
                enc.encode(schema, value, out);
                Ok(())
            }
            Converter::Avro { .. } => AvroEncoder.encode(schema_id, schema, value, out),
        }
    }
}
