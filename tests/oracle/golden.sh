#!/usr/bin/env bash
# Record the real Debezium's output for the project's own oracle runs: the configurations in conf/run-<run>.properties
# here (SMTs and connector options the shared oracle has no run for), on the shared oracle's workload and harness.
# The shared oracle (../shared/oracle, read-only) is copied to a scratch folder with these run files added, and its
# `run.sh golden` writes the golden files of each run into tests/data/golden/ (GOLDEN_OUT), in its own format.
#
# Usage: tests/oracle/golden.sh RUN...     e.g. tests/oracle/golden.sh unwrap unwrap_rewrite route
# Environment: CDC_ORACLE_DIR (default ../shared/oracle next to the repository), ORACLE_COPY (scratch, default
# /tmp/cdc-oracle-copy), WORK (the oracle's jar cache and private MariaDB, default /tmp/oracle; port 3407).
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd "$here/../.." && pwd)"
src="${CDC_ORACLE_DIR:-$repo/../shared/oracle}"
[ -x "$src/run.sh" ] || { echo "golden.sh: no oracle at $src (set CDC_ORACLE_DIR)" >&2; exit 2; }
[ $# -gt 0 ] || { echo "usage: $0 RUN... (runs: $(cd "$here/conf" && ls run-*.properties | sed 's/run-//;s/.properties//' | tr '\n' ' '))" >&2; exit 2; }
copy="${ORACLE_COPY:-/tmp/cdc-oracle-copy}"
rm -rf "$copy" && mkdir -p "$copy"
cp -r "$src/run.sh" "$src/perf.sh" "$src/jars.txt" "$src/conf" "$src/sql" "$src/src" "$copy/"
cp "$here"/conf/run-*.properties "$copy/conf/"
cp "$here"/sql/run-*.sql "$copy/sql/"
mkdir -p "$repo/tests/data/golden"
GOLDEN_OUT="$repo/tests/data/golden" "$copy/run.sh" golden "$@"
