//! Encoders: Connect schema + value → record bytes.
pub mod avro;
pub mod converter;
pub mod json;
pub mod registry_client;
#[cfg(test)]
pub(crate) mod test_support;
