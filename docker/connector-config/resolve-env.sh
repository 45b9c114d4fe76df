#!/bin/sh
# resolve-env.sh CMD [ARG...]: copies every *.json and *.properties file of this script's directory to
# /tmp/cdc-connector/ with each `${env:NAME}` (Kafka Connect's EnvVarConfigProvider syntax) replaced by the value of
# the environment variable NAME, escaped for the file's format (JSON string / Java properties value), then runs CMD.
# An unset variable stops the container with its name; values are never printed. The copies are readable only by
# this user (they hold passwords). A stop-gap until cdc-connector resolves config providers itself (issue #8).
set -eu
src="$(dirname "$0")"
out=/tmp/cdc-connector
umask 077
mkdir -p "$out"
for f in "$src"/*.json "$src"/*.properties; do
  [ -e "$f" ] || continue
  # perl-base is part of every Debian image
  perl -pe '
    BEGIN { $json = ($ARGV[0] =~ /\.json$/) }
    next if !$json && /^\s*[#!]/;  # a properties comment stays as it is
    s{\$\{env:([A-Za-z_][A-Za-z0-9_]*)\}}{
      defined $ENV{$1} or die "resolve-env.sh: environment variable $1 (used in $ARGV) is not set\n";
      my $v = $ENV{$1};
      if ($json) { $v =~ s/(["\\])/\\$1/g; $v =~ s/([\x00-\x1f])/sprintf("\\u%04x", ord $1)/ge }
      else { $v =~ s/\\/\\\\/g; $v =~ s/\n/\\n/g }
      $v
    }ge;
  ' "$f" >"$out/$(basename "$f")"
done
exec "$@"
