//! Encoders: Connect schema + value → record bytes.
pub mod json;
