#!/usr/bin/env bash
# Resolves Apache Kafka's jars (broker, tools, MirrorMaker 2, log4j backend)
# from Maven Central into <repo>/.cache/kafka/<version>/libs and prints that
# directory. Idempotent: a marker written last makes a second call instant,
# and an interrupted run (no marker) starts over from a clean folder.
#
#   KMIRROR_KAFKA_VERSION  Kafka version to fetch (default 4.1.2)
#   KMIRROR_CACHE_DIR      cache root (default <repo>/.cache)
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd "$here/../.." && pwd)"
version="${KMIRROR_KAFKA_VERSION:-4.1.2}"
cache="${KMIRROR_CACHE_DIR:-$repo/.cache}"
dest="$cache/kafka/$version"
libs="$dest/libs"
marker="$dest/libs.complete"

if [[ -f "$marker" ]]; then
  echo "$libs"
  exit 0
fi

for tool in mvn java; do
  if ! command -v "$tool" >/dev/null 2>&1; then
    echo "fetch.sh: '$tool' not found on PATH; the Kafka test bed needs a JDK (17+) and Maven" >&2
    exit 1
  fi
done

mkdir -p "$dest"
# Two processes (say, two test binaries) may race on a cold cache; serialize.
exec 9>"$dest/.fetch.lock"
if command -v flock >/dev/null 2>&1; then
  flock 9
fi
if [[ -f "$marker" ]]; then
  echo "$libs"
  exit 0
fi

rm -rf "$libs" "$libs.tmp"
echo "fetch.sh: resolving Kafka $version jars from Maven Central into $libs" >&2
# Maven's output (colour codes even with -q) is kept for failures only.
if ! mvn -q -B -f "$here/pom.xml" \
  -Dkafka.version="$version" \
  dependency:copy-dependencies \
  -DincludeScope=runtime \
  -DoutputDirectory="$libs.tmp" >"$dest/mvn.log" 2>&1; then
  cat "$dest/mvn.log" >&2
  echo "fetch.sh: Maven could not resolve Kafka $version (is Maven Central reachable? does that version exist?)" >&2
  exit 1
fi
if ! ls "$libs.tmp"/kafka_2.13-"$version".jar >/dev/null 2>&1; then
  echo "fetch.sh: Maven finished but kafka_2.13-$version.jar is missing from $libs.tmp" >&2
  exit 1
fi
mv "$libs.tmp" "$libs"
date -u +%Y-%m-%dT%H:%M:%SZ >"$marker"
echo "$libs"
