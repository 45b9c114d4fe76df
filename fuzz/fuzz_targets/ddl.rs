//! Any text as the statement of a QUERY event: parsed and applied to a catalog that already holds
//! tables (`Catalog::apply_ddl`), then the Debezium key and value schemas of every table built, as
//! the connector does after a DDL. It may fail; it must not panic.
#![no_main]

use cdc_connector::schema::connect_schema::{key_schema, value_schema, SchemaOptions};
use cdc_connector::schema::Catalog;
use libfuzzer_sys::fuzz_target;

const SETUP: &str = "CREATE TABLE t (id INT PRIMARY KEY, v VARCHAR(20) DEFAULT 'x', d DECIMAL(10,2), \
    ts TIMESTAMP(3) DEFAULT CURRENT_TIMESTAMP(3), e ENUM('a','b'), j JSON, u BIGINT UNSIGNED UNIQUE NOT NULL);
    CREATE TABLE other.k (a INT NOT NULL, b CHAR(3) NOT NULL, UNIQUE KEY (a, b))";

fuzz_target!(|data: &[u8]| {
    let Ok(sql) = std::str::from_utf8(data) else { return };
    let mut catalog = Catalog::new();
    for stmt in SETUP.split(";\n") {
        catalog.apply_ddl("db", stmt).expect("the set-up DDL applies");
    }
    if catalog.apply_ddl("db", sql).is_ok() {
        let opts = SchemaOptions::default();
        for table in catalog.tables() {
            let _ = key_schema("fuzz", table, &opts);
            let _ = value_schema("fuzz", table, &opts);
        }
    }
});
