//! Connector options that shape values and schemas — the handling modes (`decimal.handling.mode`,
//! `time.precision.mode`, `bigint.unsigned.handling.mode`, `binary.handling.mode`) and the column
//! options (`column.exclude.list`, `column.mask.with.N.chars`, `column.mask.hash.*`,
//! `column.truncate.to.N.chars`, `message.key.columns`, `column.propagate.source.type`) — against
//! the real Debezium 3.6.3 with the same settings on the oracle's workload (every MySQL type,
//! snapshot and streaming): golden files in tests/data/golden/ made by `tests/oracle/golden.sh
//! modes_string modes_double modes_iso modes_micro modes_nano columns` (configurations in
//! tests/oracle/conf/run-<run>.properties). Every record is compared (topic, key, schemas, values,
//! headers; snapshot then streaming), after the usual normalisation, as the `main` run is.

use crate::connector::Setup;
use crate::golden;
use crate::parity::snapshot_then_stream;
use crate::services::{repo, serial, services, unique};

fn check(run: &str, props: &[(&str, &str)]) {
    check_n(run, props, 127)
}

fn check_n(run: &str, props: &[(&str, &str)], records: usize) {
    let _g = serial();
    let svc = services();
    svc.reset_with_seed();
    let prefix = unique(run);
    let setup = Setup::new(&svc, &prefix, props);
    let golden = golden::load_path(&repo().join(format!("tests/data/golden/{run}.json.jsonl")));
    assert_eq!(golden.len(), records, "{run}: the golden run's record count");
    let ours = snapshot_then_stream(&svc, &setup, &prefix, &golden);
    let diffs = golden::compare(&golden, &ours, &prefix);
    assert!(diffs.is_empty(), "{run}: {} differences from Debezium:\n{}", diffs.len(), diffs.join("\n"));
    assert_eq!(ours.len(), golden.len(), "{run}: record count");
}

/// Decimals as text, binary as hex, Connect's own time types, BIGINT UNSIGNED as a decimal.
#[test]
fn string_hex_connect_precise_modes_match_debezium() {
    check(
        "modes_string",
        &[
            ("decimal.handling.mode", "string"),
            ("binary.handling.mode", "hex"),
            ("time.precision.mode", "connect"),
            ("bigint.unsigned.handling.mode", "precise"),
        ],
    );
}

/// Decimals as doubles, binary as base64.
#[test]
fn double_base64_modes_match_debezium() {
    check("modes_double", &[("decimal.handling.mode", "double"), ("binary.handling.mode", "base64")]);
}

/// Times as ISO-8601 text, binary as URL-safe base64.
#[test]
fn isostring_base64_url_safe_modes_match_debezium() {
    check("modes_iso", &[("time.precision.mode", "isostring"), ("binary.handling.mode", "base64-url-safe")]);
}

/// Every DATETIME in microseconds.
#[test]
fn microseconds_mode_matches_debezium() {
    check("modes_micro", &[("time.precision.mode", "microseconds")]);
}

/// TIME and DATETIME in nanoseconds (null beyond 64 bits).
#[test]
fn nanoseconds_mode_matches_debezium() {
    check("modes_nano", &[("time.precision.mode", "nanoseconds")]);
}

/// Excluded columns, masking, hashing (v1), truncation, custom message keys (a key change on
/// `products_on_hand.quantity` becomes delete + tombstone + create, as a primary-key change does)
/// and propagated source types.
#[test]
fn column_options_match_debezium() {
    check_n(
        "columns",
        &[
            ("column.exclude.list", "inventory.customers.email,types.all_types.c_blob"),
            ("column.mask.with.6.chars", "inventory.customers.last_name,types.all_types.c_varchar_latin1"),
            ("column.truncate.to.4.chars", "inventory.products.description,types.all_types.c_text"),
            ("column.mask.hash.SHA-256.with.salt.CzQMA0cB5K", "inventory.customers.first_name"),
            ("message.key.columns", "inventory.orders:purchaser;inventory.products_on_hand:quantity,product_id"),
            ("column.propagate.source.type", "inventory.products.weight,types.all_types.c_dec10_2"),
        ],
        129,
    );
}
