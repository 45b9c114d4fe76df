#!/usr/bin/env bash
# Run the fuzz targets (fuzz/fuzz_targets/) for a bounded time each, seeded with real inputs: the binlog files of
# ../shared/fixtures/binlogs/ for `binlog_events`, and every SQL statement of the oracle's and the project's workloads
# (and schemas/) for `ddl`. Exit non-zero, printing the input, if a target crashes; the crash file stays in
# $FUZZ_DIR/artifacts/<target>/ — fix the bug and keep the input as a regression test (tests/it/fuzzed.rs).
#
# Settings: FUZZ_NEW_FINDS (fail: exit non-zero on a crash, the default; warn: report it and exit 0 — CI's setting
# while the targets are young, so that a find the fuzzer makes by chance does not block an unrelated change; the
# regression inputs in tests/data/fuzz/ fail the tests either way), FUZZ_SECONDS (60 per target), FUZZ_TARGETS ("binlog_events ddl"), FUZZ_DIR (work directory: corpora and
# artifacts; default ${TMPDIR:-/tmp}/cdc-fuzz), CARGO_TARGET_DIR (default <repo>/target/fuzz).
# Needs cargo-fuzz (`cargo install cargo-fuzz`). The machine's stable toolchain builds the sanitizer-instrumented
# targets with RUSTC_BOOTSTRAP=1 (it ships the AddressSanitizer runtime; no nightly is installed here or in CI).
set -euo pipefail

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
SHARED="$REPO/../shared"
SECONDS_EACH="${FUZZ_SECONDS:-60}"
TARGETS="${FUZZ_TARGETS:-binlog_events ddl}"
WORK="${FUZZ_DIR:-${TMPDIR:-/tmp}/cdc-fuzz}"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$REPO/target}/fuzz"
export RUSTC_BOOTSTRAP=1
log() { echo "fuzz: $*" >&2; }

command -v cargo-fuzz >/dev/null 2>&1 || { log "cargo-fuzz not found: cargo install cargo-fuzz --locked"; exit 1; }
mkdir -p "$WORK"

seed() { # TARGET DIR: fill DIR with the target's seed inputs
  local target="$1" dir="$2"
  mkdir -p "$dir"
  case "$target" in
    binlog_events)
      find "$SHARED/fixtures/binlogs" -type f ! -name '*.json' ! -name '*.md' -exec cp {} "$dir/" \;
      ;;
    ddl)
      # one statement per file (split on ';' at line ends; comments dropped)
      python3 - "$dir" "$SHARED/oracle/sql" "$REPO/tests/oracle/sql" "$REPO/schemas" <<'PY'
import hashlib, pathlib, re, sys
out = pathlib.Path(sys.argv[1])
for d in sys.argv[2:]:
    for f in sorted(pathlib.Path(d).glob('*.sql')):
        text = re.sub(r'(?m)^\s*--.*$', '', f.read_text(errors='replace'))
        for stmt in re.split(r';\s*\n', text):
            stmt = stmt.strip()
            if stmt:
                (out / hashlib.sha1(stmt.encode()).hexdigest()).write_text(stmt)
PY
      ;;
  esac
}

cd "$REPO"
log "building the targets (optimised, AddressSanitizer; debug assertions and overflow checks in our crate)"
cargo fuzz build --fuzz-dir fuzz -O >&2
rc=0
for target in $TARGETS; do
  corpus="$WORK/corpus/$target"
  artifacts="$WORK/artifacts/$target"
  seed "$target" "$corpus"
  mkdir -p "$artifacts"
  log "$target: ${SECONDS_EACH}s from $(find "$corpus" -type f | wc -l) seeds"
  if ! cargo fuzz run --fuzz-dir fuzz -O "$target" "$corpus" -- \
      -max_total_time="$SECONDS_EACH" -timeout=10 -rss_limit_mb=2048 -artifact_prefix="$artifacts/" \
      -print_final_stats=1 >"$WORK/$target.log" 2>&1; then
    if [ "${FUZZ_NEW_FINDS:-fail}" = fail ]; then rc=1; fi
    log "$target FOUND A CRASH (FUZZ_NEW_FINDS=${FUZZ_NEW_FINDS:-fail}); the end of its log ($WORK/$target.log):"
    tail -60 "$WORK/$target.log" >&2
    for f in "$artifacts"/*; do
      [ -f "$f" ] && log "input $f (base64): $(base64 -w0 "$f")"
    done
  else
    log "$target: $(grep -E '^stat::number_of_executed_units' "$WORK/$target.log" | awk '{print $2}') runs, no crash"
  fi
done
exit $rc
