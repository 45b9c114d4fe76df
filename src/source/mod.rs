pub mod binlog;
pub mod gtid;
