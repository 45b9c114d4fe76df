pub mod binlog;
pub mod gtid;
pub mod restart;
pub mod tls;
