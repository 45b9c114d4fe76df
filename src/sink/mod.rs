pub mod kafka;
pub mod topics;
