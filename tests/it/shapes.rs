//! Table shapes against the real Debezium 3.6.3 (project oracle run `shapes`, workload
//! tests/oracle/sql/run-shapes-{seed,stream}.sql, golden files made by `tests/oracle/golden.sh
//! shapes`): tables without a primary key (null keys, tombstones with a null key), tables keyed by
//! their first unique index whose columns are all NOT NULL (nullable unique indexes give no key),
//! keys gained later by `ALTER … ADD UNIQUE`, `ADD PRIMARY KEY` and `CREATE UNIQUE INDEX`, and
//! generated columns (STORED and VIRTUAL), with `datatype.propagate.source.type` for two source
//! types. Every record is compared, snapshot then streaming, as for the `main` run.

use crate::connector::Setup;
use crate::golden;
use crate::parity::snapshot_then_stream_sql;
use crate::services::{repo, serial, services, unique};

#[test]
fn keyless_unique_keyed_and_generated_columns_match_debezium() {
    let _g = serial();
    let svc = services();
    svc.sql("DROP DATABASE IF EXISTS shapes; RESET MASTER;");
    svc.sql_file(&repo().join("tests/oracle/sql/run-shapes-seed.sql"));
    let prefix = unique("shapes");
    let setup = Setup::new(
        &svc,
        &prefix,
        &[("database.include.list", "shapes"), ("datatype.propagate.source.type", r".+\.DECIMAL,.+\.VARCHAR")],
    );
    let golden = golden::load_path(&repo().join("tests/data/golden/shapes.json.jsonl"));
    assert_eq!(golden.len(), 78, "the golden run's record count");
    let stream = repo().join("tests/oracle/sql/run-shapes-stream.sql");
    let ours = snapshot_then_stream_sql(&svc, &setup, &prefix, &golden, &stream);
    let diffs = golden::compare(&golden, &ours, &prefix);
    assert!(diffs.is_empty(), "{} differences from Debezium:\n{}", diffs.len(), diffs.join("\n"));
    assert_eq!(ours.len(), golden.len(), "record count");
}
