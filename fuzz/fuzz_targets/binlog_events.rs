//! Any bytes as a binlog file: framed, checksummed, parsed by mysql_common and every row decoded
//! (`inspect::inspect_reader`, the path of `cdc-connector inspect` and of the fixture tests).
//! It may fail; it must not panic, hang or allocate beyond the input's size.
#![no_main]

use cdc_connector::inspect::{inspect_reader, ReadOptions};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    // Compressed transactions expand to at most 16 MiB here (libFuzzer's memory limit is 2 GiB).
    let opts = ReadOptions { max_payload_bytes: 16 << 20 };
    let _ = inspect_reader(data, "fuzz", &opts, |_| Ok(()));
});
