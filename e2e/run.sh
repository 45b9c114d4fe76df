#!/usr/bin/env bash
# One-machine run of the pipeline as it stands: starts the services (MariaDB on 127.0.0.1:3417, tansu on
# 127.0.0.1:19092, our schema registry on 127.0.0.1:18081), builds the release binaries, starts cdc-connector on connector-config/final-flights.json, then
# feeds final.flights with opensky-poller and keeps the connector running until Ctrl-C (which stops the connector,
# then the services).
#
# The poller replays the bundled recording (e2e/opensky-replay) by default, so nothing leaves this machine;
# OPENSKY_LIVE=1 polls the real OpenSky API instead (OPENSKY_BBOX, default Switzerland, sets the bounding box).
# A second run resumes from the stored offsets instead of starting over.
# Records go to the topics dbserver1.final.flights (and dbserver1 for schema changes); read them with any Kafka
# client at 127.0.0.1:19092. Extra arguments are passed to cdc-connector.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
export TZ=UTC
export PATH="${CARGO_HOME:-$HOME/.cargo}/bin:$PATH"

log() { echo "run: $*" >&2; }

log "building cdc-connector and opensky-poller (release)"
cargo build --release --locked --bin cdc-connector --bin opensky-poller

connector_pid=""
stop_all() {
  if [ -n "$connector_pid" ] && kill -0 "$connector_pid" 2>/dev/null; then
    kill -TERM "$connector_pid" 2>/dev/null || true
    wait "$connector_pid" 2>/dev/null || true
  fi
  e2e/services.sh down
}
# The run keeps its own MariaDB/tansu state apart from the tests' (.services), so test data never mixes in.
export CDC_SERVICES_DIR="${CDC_SERVICES_DIR:-$PWD/.services/run}"
trap stop_all EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
services_env="$(e2e/services.sh up)"
eval "$services_env"

# The product tables (schemas/*.sql, CREATE TABLE IF NOT EXISTS) exist before the connector reads the schemas.
mysql_root() { mariadb --no-defaults -h"$MYSQL_HOST" -P"$MYSQL_PORT" -u"$MYSQL_ROOT_USER" --protocol=TCP "$@"; }
mysql_root -e 'CREATE DATABASE IF NOT EXISTS `final`'
cat schemas/final.flights.sql schemas/final.flight_positions.sql | mysql_root final
mysql_args=(--mysql-host "$MYSQL_HOST" --mysql-port "$MYSQL_PORT" --mysql-user "$MYSQL_ROOT_USER" --database final)

offsets="$(sed -n 's/^offset.storage.file.filename=//p' connector-config/worker-local.properties)"
if [ -s "$offsets" ]; then pos=resume; else pos=latest; fi
log "starting cdc-connector (--binlog-pos $pos)"
connector_log="$CDC_SERVICES_DIR/cdc-connector.log"
target/release/cdc-connector \
  --worker connector-config/worker-local.properties \
  --connector connector-config/final-flights.json \
  --binlog-pos "$pos" "$@" 2> >(tee "$connector_log" >&2) &
connector_pid=$!
for _ in $(seq 1 300); do
  grep -q "binlog stream started" "$connector_log" 2>/dev/null && break
  kill -0 "$connector_pid" 2>/dev/null || { log "cdc-connector exited; see above"; exit 1; }
  sleep 0.2
done

if [ "${OPENSKY_LIVE:-0}" = 1 ]; then
  log "polling the live OpenSky API every 30 s (bbox ${OPENSKY_BBOX:-45.8389,5.9962,47.8229,10.5226})"
  target/release/opensky-poller "${mysql_args[@]}" --create-tables \
    --bbox "${OPENSKY_BBOX:-45.8389,5.9962,47.8229,10.5226}" &
else
  log "replaying the bundled OpenSky recording (e2e/opensky-replay; OPENSKY_LIVE=1 polls the live API)"
  target/release/opensky-poller "${mysql_args[@]}" --create-tables --replay e2e/opensky-replay --interval 1s
fi
log "cdc-connector is streaming final.flights to topic dbserver1.final.flights at $KAFKA_BOOTSTRAP as Avro; schemas at $REGISTRY_URL/subjects (Ctrl-C stops)"
wait "$connector_pid"
