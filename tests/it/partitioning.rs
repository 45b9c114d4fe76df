//! Records land on the partition Java's default partitioner would choose: murmur2 of the key
//! bytes, checked against kafka-python's independent murmur2 implementation.

use std::io::Write;
use std::process::{Command, Stdio};
use std::time::Duration;

use crate::connector::Setup;
use crate::parity::wait_for_records;
use crate::services::{serial, services, shared, unique};

/// Java's partition choice for each key, computed by kafka-python's murmur2.
pub fn java_partitions(keys: &[Vec<u8>], partitions: usize) -> Vec<usize> {
    let script = "import sys\nfrom kafka.partitioner.default import murmur2\nfor line in sys.stdin:\n    k = bytes.fromhex(line.strip())\n    print((murmur2(k) & 0x7fffffff) % int(sys.argv[1]))\n";
    let mut child = Command::new("python3")
        .arg("-c")
        .arg(script)
        .arg(partitions.to_string())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("python3");
    let input: String = keys.iter().map(|k| k.iter().map(|b| format!("{b:02x}")).collect::<String>() + "\n").collect();
    child.stdin.take().unwrap().write_all(input.as_bytes()).unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "kafka-python murmur2 failed (pip install kafka-python): {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap().lines().map(|l| l.parse().unwrap()).collect()
}

#[test]
fn keys_land_on_javas_murmur2_partition() {
    let _g = serial();
    let svc = services();
    svc.reset_with_seed();
    let prefix = unique("parts");
    let setup = Setup::new(&svc, &prefix, &[("topic.creation.default.partitions", "4")]);
    let running = setup.start("latest");
    svc.sql_file(&shared().join("oracle/sql/20-stream.sql"));
    let records = wait_for_records(&svc.kafka, &prefix, 59, Duration::from_secs(60));
    running.stop();
    let keyed: Vec<_> = records.iter().filter(|r| r.key.is_some() && r.topic != prefix).collect();
    assert!(keyed.len() >= 40, "only {} keyed records", keyed.len());
    let keys: Vec<Vec<u8>> = keyed.iter().map(|r| r.key.clone().unwrap()).collect();
    let expected = java_partitions(&keys, 4);
    let mut used = std::collections::HashSet::new();
    for (r, want) in keyed.iter().zip(expected) {
        assert_eq!(
            r.partition as usize,
            want,
            "record on {} with key {} is on the wrong partition",
            r.topic,
            String::from_utf8_lossy(r.key.as_ref().unwrap())
        );
        used.insert(r.partition);
    }
    assert!(used.len() > 1, "all records on one partition: the test would not notice a wrong partitioner");
}
