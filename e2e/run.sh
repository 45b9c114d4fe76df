#!/usr/bin/env bash
# The whole pipeline on one machine, in one command:
#   MariaDB (final.flights) ← opensky-poller;  cdc-connector (Avro) → tansu + schema-registry → hudi-sink → ./lakehouse
#   and the live flights map (hudi-sink serve) over the Hudi table, on http://127.0.0.1:8088/.
#
# Usage: e2e/run.sh [--live | --replay] [--for SECONDS]
#   --live      poll the OpenSky API (fails when it does not answer)
#   --replay    replay the bundled recording e2e/opensky-demo (synthetic traffic; nothing leaves this machine)
#   (neither)   the live API when it answers within 10 s, otherwise the replay; the run says which
#   --for N     stop everything after N seconds (default: run until Ctrl-C)
#
# On a fresh Debian 12 machine it installs what is missing (MariaDB, protoc with apt; tansu with cargo install),
# builds the release binaries, and starts everything; Ctrl-C (or SIGTERM, or the end of --for) stops everything it
# started: the poller, then the connector and the sink (each commits what it acknowledged), the map, the services.
# A second run resumes: the connector from its stored offset and schema history, the sink from the checkpoints
# next to its tables, the poller's table from MariaDB's data; nothing starts over.
#
# Settings (environment): CDC_SERVICES_DIR (state of the services, offsets and logs; default .services/run),
# LAKEHOUSE (the Hudi tables; default ./lakehouse), MAP_ADDR (127.0.0.1:8088), SINK_METRICS_ADDR
# (127.0.0.1:9464), CONNECTOR_METRICS_ADDR (127.0.0.1:9404), OPENSKY_BBOX (lamin,lomin,lamax,lomax; default
# Switzerland), OPENSKY_BASE_URL, REPLAY_DIR (e2e/opensky-demo), and the ports of e2e/services.sh (MYSQL_PORT, KAFKA_PORT, REGISTRY_PORT).
# The connector reads connector-config/final-flights.json and connector-config/worker-local.properties, with
# the services' hosts and ports and the offsets file put in (a copy under $CDC_SERVICES_DIR/config). RUN_NO_BUILD=1
# skips the build and runs the binaries already in the target directory (the tests do: they built them).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
export TZ=UTC
export PATH="${CARGO_HOME:-$HOME/.cargo}/bin:$PATH"
# the AWS credential chain (hudi-rs's object store) must never reach for the cloud instance-metadata address
export AWS_EC2_METADATA_DISABLED=true AWS_METADATA_ENDPOINT=http://127.0.0.1:1

log() { echo "run: $*" >&2; }
die() { log "$*"; exit 1; }

mode=auto
run_for=0
while [ $# -gt 0 ]; do
  case "$1" in
    --live) mode=live ;;
    --replay) mode=replay ;;
    --for) [ $# -ge 2 ] || die "--for needs a number of seconds"; run_for="$2"; shift ;;
    --for=*) run_for="${1#--for=}" ;;
    -h|--help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
    *) die "unknown argument: $1 (see e2e/run.sh --help)" ;;
  esac
  shift
done
case "$run_for" in ''|*[!0-9]*) die "--for: expected whole seconds, got '$run_for'" ;; esac

export CDC_SERVICES_DIR="${CDC_SERVICES_DIR:-$PWD/.services/run}"
LAKEHOUSE="${LAKEHOUSE:-$PWD/lakehouse}"
MAP_ADDR="${MAP_ADDR:-127.0.0.1:8088}"
SINK_METRICS_ADDR="${SINK_METRICS_ADDR:-127.0.0.1:9464}"
CONNECTOR_METRICS_ADDR="${CONNECTOR_METRICS_ADDR:-127.0.0.1:9404}"
OPENSKY_BBOX="${OPENSKY_BBOX:-45.8389,5.9962,47.8229,10.5226}"
OPENSKY_BASE_URL="${OPENSKY_BASE_URL:-https://opensky-network.org/api}"
REPLAY_DIR="${REPLAY_DIR:-e2e/opensky-demo}"
mkdir -p "$CDC_SERVICES_DIR/config" "$LAKEHOUSE"
logs="$CDC_SERVICES_DIR/logs"
mkdir -p "$logs"

# --- what a fresh machine lacks: protoc for hudi-rs's build (MariaDB and tansu: services.sh installs them) ---
missing=()
command -v protoc >/dev/null 2>&1 || missing+=(protobuf-compiler)
[ -f /usr/include/google/protobuf/empty.proto ] || missing+=(libprotobuf-dev)
# librdkafka is built against the system OpenSSL (Kafka SSL/SASL)
[ -f /usr/include/openssl/ssl.h ] || missing+=(libssl-dev)
command -v pkg-config >/dev/null 2>&1 || missing+=(pkg-config)
command -v curl >/dev/null 2>&1 || missing+=(curl)
if [ ${#missing[@]} -gt 0 ]; then
  [ "$(id -u)" = 0 ] || die "missing ${missing[*]}: install them with apt (root needed)"
  log "installing ${missing[*]} (apt)"
  DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "${missing[@]}" \
    || { apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "${missing[@]}"; }
fi
e2e/services.sh install mariadb
e2e/services.sh install tansu

# one feature resolution for the whole workspace, as e2e/test.sh builds (no crate compiled twice)
bin="${CARGO_TARGET_DIR:-$PWD/target}/release"
if [ "${RUN_NO_BUILD:-0}" = 1 ]; then
  log "RUN_NO_BUILD=1: using the binaries in $bin"
else
  log "building the release binaries (cargo build --release --workspace --bins)"
  cargo build --release --locked --workspace --bins
fi
export REGISTRY_BIN="$bin/schema-registry"

pids=()
stop_all() {
  trap - EXIT INT TERM
  log "stopping"
  # one after the other: the poller (no more changes), the connector (waits for Kafka's acks, commits its offset),
  # the sink (flushes what it read, commits, writes the checkpoint), the map
  local p
  for p in "${pids[@]}"; do
    kill -TERM "$p" 2>/dev/null || true
    wait "$p" 2>/dev/null || true
  done
  e2e/services.sh down || log "WARNING: e2e/services.sh down failed"
  log "stopped; state kept in $CDC_SERVICES_DIR and $LAKEHOUSE (a second run resumes from it)"
}
trap stop_all EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

for svc in mysql kafka registry; do
  eval "$(e2e/services.sh up "$svc")"
done

# The product tables (schemas/*.sql, CREATE TABLE IF NOT EXISTS) exist before the connector reads the schemas.
mysql_root() { mariadb --no-defaults -h"$MYSQL_HOST" -P"$MYSQL_PORT" -u"$MYSQL_ROOT_USER" --protocol=TCP "$@"; }
mysql_root -e 'CREATE DATABASE IF NOT EXISTS `final`'
cat schemas/final.flights.sql schemas/final.flight_positions.sql | mysql_root final

# The connector's configs with this run's services and offsets file.
worker="$CDC_SERVICES_DIR/config/worker.properties"
connector="$CDC_SERVICES_DIR/config/final-flights.json"
sed -e "s#^bootstrap.servers=.*#bootstrap.servers=$KAFKA_BOOTSTRAP#" \
    -e "s#schema.registry.url=.*#schema.registry.url=$REGISTRY_URL#" \
    -e "s#^offset.storage.file.filename=.*#offset.storage.file.filename=$CDC_SERVICES_DIR/offsets.dat#" \
    connector-config/worker-local.properties > "$worker"
sed -e "s#\"database.port\": \"[0-9]*\"#\"database.port\": \"$MYSQL_PORT\"#" \
    -e "s#\"database.hostname\": \"[^\"]*\"#\"database.hostname\": \"$MYSQL_HOST\"#" \
    -e "s#\"schema.history.internal.kafka.bootstrap.servers\": \"[^\"]*\"#\"schema.history.internal.kafka.bootstrap.servers\": \"$KAFKA_BOOTSTRAP\"#" \
    connector-config/final-flights.json > "$connector"

if [ -s "$CDC_SERVICES_DIR/offsets.dat" ]; then how="resuming from its stored offset"; else how="snapshot, then binlog"; fi
log "starting cdc-connector ($how; log $logs/cdc-connector.log)"
touch "$logs/cdc-connector.log"
started_at=$(wc -l < "$logs/cdc-connector.log")
"$bin/cdc-connector" --worker "$worker" --connector "$connector" --metrics-addr "$CONNECTOR_METRICS_ADDR" \
  >>"$logs/cdc-connector.log" 2>&1 &
pids+=($!)
connector_pid=$!
for _ in $(seq 1 600); do
  tail -n +"$((started_at + 1))" "$logs/cdc-connector.log" | grep -q "binlog stream started" && break
  kill -0 "$connector_pid" 2>/dev/null || { tail -n 20 "$logs/cdc-connector.log" >&2; die "cdc-connector exited (log above)"; }
  sleep 0.2
done

log "starting hudi-sink into $LAKEHOUSE (log $logs/hudi-sink.log)"
"$bin/hudi-sink" run --topics '^dbserver1\.final\..*' --bootstrap-servers "$KAFKA_BOOTSTRAP" \
  --schema-registry-url "$REGISTRY_URL" --group-id hudi-sink-run --base-path "$LAKEHOUSE" \
  --metrics-addr "$SINK_METRICS_ADDR" --max-batch-interval 1s >>"$logs/hudi-sink.log" 2>&1 &
pids+=($!)

log "starting the flights map on http://$MAP_ADDR/ (log $logs/flights-map.log)"
"$bin/hudi-sink" serve --base-path "$LAKEHOUSE" --table final.flights --addr "$MAP_ADDR" --bbox "$OPENSKY_BBOX" \
  >>"$logs/flights-map.log" 2>&1 &
pids+=($!)

if [ "$mode" = auto ]; then
  IFS=, read -r lamin lomin lamax lomax <<<"$OPENSKY_BBOX"
  if curl -fsS -m 10 -o /dev/null \
      "$OPENSKY_BASE_URL/states/all?lamin=$lamin&lomin=$lomin&lamax=$lamax&lomax=$lomax" 2>/dev/null; then
    mode=live
  else
    log "the OpenSky API at $OPENSKY_BASE_URL did not answer: replaying the bundled recording instead"
    mode=replay
  fi
fi
poller_args=(--mysql-host "$MYSQL_HOST" --mysql-port "$MYSQL_PORT" --mysql-user "$MYSQL_ROOT_USER" --database final
  --create-tables)
if [ "$mode" = live ]; then
  log "opensky-poller: polling the LIVE OpenSky API every 30 s, bbox $OPENSKY_BBOX (log $logs/opensky-poller.log)"
  poller_args+=(--base-url "$OPENSKY_BASE_URL" --bbox "$OPENSKY_BBOX")
else
  log "opensky-poller: REPLAYING the bundled recording $REPLAY_DIR, one poll a second (log $logs/opensky-poller.log)"
  poller_args+=(--replay "$REPLAY_DIR" --interval 1s)
fi
"$bin/opensky-poller" "${poller_args[@]}" >>"$logs/opensky-poller.log" 2>&1 &
pids=("$!" "${pids[@]}")

cat >&2 <<EOF
run: everything is up. Where to look:
run:   flights map       http://$MAP_ADDR/   (rows as JSON: http://$MAP_ADDR/api/flights)
run:   the Hudi table    $bin/hudi-sink read $LAKEHOUSE/final/flights   (JSON lines)
run:   SQL over the lake $bin/hudi-sink query --base-path $LAKEHOUSE 'SELECT origin_country, count(*) FROM "final".flights GROUP BY 1'
run:   Kafka             $KAFKA_BOOTSTRAP, topic dbserver1.final.flights (Avro; schemas at $REGISTRY_URL/subjects)
run:   metrics           http://$CONNECTOR_METRICS_ADDR/metrics (connector), http://$SINK_METRICS_ADDR/metrics (sink)
run:   logs              $logs/
run: Ctrl-C stops everything; a second run resumes.
EOF

if [ "$run_for" -gt 0 ]; then
  log "running for $run_for s (--for)"
  end=$((SECONDS + run_for))
  while [ $SECONDS -lt "$end" ]; do sleep 1; done
else
  # until Ctrl-C, or until the connector or the sink stops on its own (a replay's poller ends by itself)
  while kill -0 "$connector_pid" 2>/dev/null && kill -0 "${pids[2]}" 2>/dev/null; do sleep 1; done
  die "cdc-connector or hudi-sink stopped on its own; see $logs/"
fi
