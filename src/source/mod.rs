pub mod binlog;
pub mod gtid;
pub mod restart;
