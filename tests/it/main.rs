//! Integration tests against real services started by `e2e/services.sh up` (MariaDB with a ROW
//! binlog, tansu). Run them through `e2e/test.sh`; they fail loudly when a service is missing.

mod bad_input;
mod connector;
mod golden;
mod parity;
mod partitioning;
mod resume;
mod services;
