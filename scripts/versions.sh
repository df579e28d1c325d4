#!/usr/bin/env bash
# The Kafka version matrix in full: every test of the workspace (unit,
# property and integration tests against real brokers) on each version, one
# version after the other, with a summary per test binary written to
# docs/VERSIONS.md. CI (scripts/test.sh) runs the full suite on the default
# version and only the end-to-end and failover tests on the others.
#
#   scripts/versions.sh [VERSION...]   default: 3.9.1 4.1.2 4.3.1
#
# Takes about 20 minutes per version on 2 cores. Logs go to
# target/versions/<version>.log.
set -uo pipefail
cd "$(dirname "$0")/.."

versions=("$@")
[ ${#versions[@]} -gt 0 ] || versions=(3.9.1 4.1.2 4.3.1)
logs=target/versions
mkdir -p "$logs"

cargo build --workspace --all-targets --locked --quiet || exit 1
failed=0
for version in "${versions[@]}"; do
  echo "== Kafka $version"
  if ! KMIRROR_KAFKA_VERSION="$version" bash testbed/kafka/fetch.sh >/dev/null; then
    echo "Kafka $version: jars not served" >"$logs/$version.log"
    failed=1
    continue
  fi
  started=$(date +%s)
  KMIRROR_KAFKA_VERSION="$version" cargo test --workspace --locked --no-fail-fast \
    -- --test-threads="${KMIRROR_TEST_THREADS:-2}" >"$logs/$version.log" 2>&1 || failed=1
  echo "$(($(date +%s) - started))" >"$logs/$version.seconds"
done

python3 scripts/versions_report.py "$logs" "$(git rev-parse --short HEAD)" "${versions[@]}" \
  >docs/VERSIONS.md
cat docs/VERSIONS.md
exit $failed
