pub mod binlog;
