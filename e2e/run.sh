#!/usr/bin/env bash
# One-machine run: starts the services (MariaDB on 127.0.0.1:3417, tansu on 127.0.0.1:19092), builds
# cdc-connector (release) and runs it in the foreground on connector-config/final-flights.json, streaming
# from the current end of the binlog. Ctrl-C stops the connector, then the services.
# Extra arguments are passed to cdc-connector.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
export TZ=UTC
export PATH="${CARGO_HOME:-$HOME/.cargo}/bin:$PATH"

echo "run: building cdc-connector (release)" >&2
cargo build --release --locked --bin cdc-connector

trap 'e2e/services.sh down' EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
services_env="$(e2e/services.sh up)"
eval "$services_env"

echo "run: starting cdc-connector (Ctrl-C to stop)" >&2
target/release/cdc-connector \
  --worker connector-config/worker-local.properties \
  --connector connector-config/final-flights.json \
  --binlog-pos latest "$@"
