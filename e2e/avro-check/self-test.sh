#!/usr/bin/env bash
# Validates the two Avro checkers (AvroCheck.java via run.sh, py_check.py) on records whose decoding is known,
# without our connector:
#   1. produce_sample.py writes the oracle's 128 golden Avro records (all 22 schemas of the main run, 9 tombstones,
#      1 null key) with Confluent's Python AvroSerializer through REGISTRY_URL into fresh topics
#      (prefix avrocheck-selftest-<epoch>-<pid>.), 2 partitions each, and the expected decoding
#   2. both checkers read that prefix; compare.py: each equals the expected records, and Java equals Python
#   3. negative: a topic holding a non-Avro key, an unknown schema id and a truncated payload: both checkers must
#      exit 1 and report exactly those 3 failures
#
# Usage: e2e/avro-check/self-test.sh [OUT_DIR]    (default /tmp/avro-check-selftest)
# Environment: KAFKA_BOOTSTRAP, REGISTRY_URL (as `eval "$(e2e/services.sh env)"` exports them), and run.sh's
# ORACLE_WORK / CDC_ORACLE_DIR / AVRO_CHECK_BUILD. Exit 0 when every step passed.
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
OUT="${1:-/tmp/avro-check-selftest}"
: "${KAFKA_BOOTSTRAP:?set KAFKA_BOOTSTRAP (eval \"\$(e2e/services.sh env)\")}"
: "${REGISTRY_URL:?set REGISTRY_URL (eval \"\$(e2e/services.sh env)\")}"
PREFIX="avrocheck-selftest-$(date +%s)-$$."
BAD_TOPIC="${PREFIX}bad"

log() { echo "[self-test $(date +%H:%M:%S)] $*" >&2; }
now() { date +%s.%N; }
since() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.1f", b - a }'; }
FAILED=()
TIMINGS=()
step() { # NAME CMD...: run, time, remember a failure
  local name="$1" t0 rc=0; shift
  t0="$(now)"
  "$@" || rc=$?
  TIMINGS+=("$name $(since "$t0")s")
  if [ $rc = 0 ]; then log "$name: ok"; else log "$name: FAILED (exit $rc)"; FAILED+=("$name"); fi
}
expect_exit() { # CODE CMD...: CMD must exit with CODE
  local want="$1" rc=0; shift
  "$@" || rc=$?
  [ "$rc" = "$want" ] || { log "expected exit $want, got $rc: $*"; return 1; }
}

mkdir -p "$OUT"
rm -f "$OUT"/*.jsonl
log "topic prefix $PREFIX on $KAFKA_BOOTSTRAP, registry $REGISTRY_URL, output in $OUT"

step produce python3 "$HERE/produce_sample.py" "$KAFKA_BOOTSTRAP" "$REGISTRY_URL" "${PREFIX}golden." \
  "$OUT/expected.jsonl"
step java-check "$HERE/run.sh" "$KAFKA_BOOTSTRAP" "$REGISTRY_URL" "${PREFIX}golden." "$OUT/java.jsonl" 120
step python-check python3 "$HERE/py_check.py" "$KAFKA_BOOTSTRAP" "$REGISTRY_URL" "${PREFIX}golden." \
  "$OUT/python.jsonl" 120
step compare-expected python3 "$HERE/compare.py" "$OUT/expected.jsonl" "$OUT/java.jsonl" "$OUT/python.jsonl"
step compare-java-python python3 "$HERE/compare.py" "$OUT/java.jsonl" "$OUT/python.jsonl"

# negative case: records that must not decode
write_bad_topic() {
  python3 - "$KAFKA_BOOTSTRAP" "$BAD_TOPIC" "$OUT/expected.jsonl" <<'PY'
import json, struct, sys
from confluent_kafka import Producer
from confluent_kafka.admin import AdminClient, NewTopic
bootstrap, topic, expected = sys.argv[1:]
# a key schema id that exists in the registry: the one of the first record the sample wrote
key_id = next(r["key_schema_id"] for r in map(json.loads, open(expected)) if r.get("key_schema_id") is not None)
admin = AdminClient({"bootstrap.servers": bootstrap})
admin.create_topics([NewTopic(topic, num_partitions=1, replication_factor=1)])[topic].result()
p = Producer({"bootstrap.servers": bootstrap})
p.produce(topic, key=b'{"not":"avro"}', value=None)                                  # no magic byte
p.produce(topic, key=None, value=b"\x00" + struct.pack(">i", 2**31 - 7) + b"\x02")    # unknown schema id
p.produce(topic, key=b"\x00" + struct.pack(">i", key_id) + b"\x7f", value=None)       # truncated payload
if p.flush(30):
    sys.exit("records not delivered")
PY
}
bad_check() { # CHECKER-OUTPUT: 3 failures, 3 records
  python3 - "$1" <<'PY'
import json, sys
s = json.loads(open(sys.argv[1]).read().splitlines()[-1])["summary"]
ok = s["records"] == 3 and s["failures"] == 3 and s["decoded"] == 0
print(f"  {sys.argv[1]}: records {s['records']}, failures {s['failures']}: {list(s['failure_reasons'])}",
      file=sys.stderr)
sys.exit(0 if ok else 1)
PY
}
step bad-topic write_bad_topic
step java-rejects expect_exit 1 "$HERE/run.sh" "$KAFKA_BOOTSTRAP" "$REGISTRY_URL" "$BAD_TOPIC" "$OUT/java-bad.jsonl" 60
step java-reasons bad_check "$OUT/java-bad.jsonl"
step python-rejects expect_exit 1 python3 "$HERE/py_check.py" "$KAFKA_BOOTSTRAP" "$REGISTRY_URL" "$BAD_TOPIC" \
  "$OUT/python-bad.jsonl" 60
step python-reasons bad_check "$OUT/python-bad.jsonl"

log "timings: ${TIMINGS[*]}"
if [ ${#FAILED[@]} -gt 0 ]; then
  log "FAILED: ${FAILED[*]}"
  exit 1
fi
log "all passed"
