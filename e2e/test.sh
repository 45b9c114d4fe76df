#!/usr/bin/env bash
# The project's test command: builds the tests, starts the services (e2e/services.sh up), runs every test, and
# stops the services again on exit (also on failure or Ctrl-C). Extra arguments are passed to the test runner as
# a test-name filter, e.g. `e2e/test.sh offsets`.
#
# Integration tests share one MariaDB (and reset its binlog) and one broker, so they run one at a time
# (--test-threads=1). Unit tests run in parallel when plain `cargo test` is used.
# CDC_KEEP_SERVICES=1 leaves the services running afterwards (then stop them with `e2e/services.sh down`).
# CARGO_TEST_ARGS adds cargo options to every invocation.
#
# Everything is built in one feature resolution for the whole workspace (`--workspace`: the connector and the
# hudi-sink member crate), so no crate is compiled twice with different features: the binaries first (the
# integration tests run `hudi-sink` and `schema-registry` as processes), then the tests. services.sh is handed
# that schema-registry (REGISTRY_BIN) instead of building its own with the root package's features.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
export TZ=UTC
export PATH="${CARGO_HOME:-$HOME/.cargo}/bin:$PATH"

log() { echo "test: $*" >&2; }

# shellcheck disable=SC2206 # CARGO_TEST_ARGS is a list of options
cargo_args=(--release --locked --workspace ${CARGO_TEST_ARGS:-})

if cargo nextest --version >/dev/null 2>&1; then runner=nextest; else runner=cargo; fi
log "runner: $runner"

log "building binaries"
cargo build "${cargo_args[@]}" --bins
target_dir="${CARGO_TARGET_DIR:-$PWD/target}"
export REGISTRY_BIN="$target_dir/release/schema-registry" HUDI_SINK_BIN="$target_dir/release/hudi-sink"
log "building tests"
if [ "$runner" = nextest ]; then
  cargo nextest run "${cargo_args[@]}" --no-run
else
  cargo test "${cargo_args[@]}" --no-run
fi

stop_services() {
  if [ "${CDC_KEEP_SERVICES:-0}" = 1 ]; then
    log "CDC_KEEP_SERVICES=1: services left running"
  else
    e2e/services.sh down || log "WARNING: e2e/services.sh down failed"
  fi
}
trap stop_services EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

services_env="$(e2e/services.sh up)"
eval "$services_env"

failed=()
run() { # NAME CMD...: run one test invocation, remember a failure, go on with the next
  local name="$1"; shift
  log "running $name: $*"
  if ! "$@"; then failed+=("$name"); fi
}

if [ "$runner" = nextest ]; then
  # every test in its own process; one at a time because the integration tests share the services
  run tests cargo nextest run "${cargo_args[@]}" --no-fail-fast --no-tests=warn --test-threads 1 "$@"
else
  run unit-tests cargo test "${cargo_args[@]}" --no-fail-fast --lib --bins "$@"
  run integration-tests cargo test "${cargo_args[@]}" --no-fail-fast --test '*' "$@" -- --test-threads=1
fi
run doc-tests cargo test "${cargo_args[@]}" --doc "$@"

if [ ${#failed[@]} -gt 0 ]; then
  log "FAILED: ${failed[*]}"
  exit 1
fi
log "all tests passed"
