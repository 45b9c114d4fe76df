//! TODO: owned by the schema work.
