//! Inputs the fuzz targets (`fuzz/`, run by `fuzz/run.sh` in CI) once crashed on, kept as
//! regression tests: each is run through the same entry point as its target and must come back
//! as an error, not a panic. `tests/data/fuzz/<target>/` holds them, named as libFuzzer named
//! them (the `ddl` target has found nothing so far).

use std::path::PathBuf;

use cdc_connector::inspect::{inspect_reader, ReadOptions};

fn inputs(target: &str) -> Vec<(PathBuf, Vec<u8>)> {
    let dir = crate::services::repo().join("tests/data/fuzz").join(target);
    let mut out: Vec<(PathBuf, Vec<u8>)> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.unwrap().path())
        .filter(|p| p.is_file())
        .map(|p| {
            let bytes = std::fs::read(&p).unwrap();
            (p, bytes)
        })
        .collect();
    out.sort();
    out
}

#[test]
fn binlog_inputs_that_crashed_the_decoder_are_errors() {
    let found = inputs("binlog_events");
    assert!(!found.is_empty());
    for (path, bytes) in found {
        let opts = ReadOptions { max_payload_bytes: 16 << 20 };
        let got = inspect_reader(&bytes[..], "fuzzed", &opts, |_| Ok(()));
        let e = got.expect_err(&format!("{} decodes as a binlog", path.display()));
        assert!(e.to_string().starts_with("fuzzed:"), "the error names file:pos: {e}");
        eprintln!("{}: {e}", path.display());
    }
}
