#!/usr/bin/env bash
# The whole test suite: formatting, lints, unit and property tests, the
# integration tests against real Kafka clusters started by the test bed, and
# the end-to-end and failover tests again on the oldest and newest Kafka
# lines operators run. Fails on any failure. Java 17 and Maven must be on
# PATH (.ci/run installs them on a fresh machine); Kafka's jars are fetched
# on first use.
#
#   KMIRROR_KAFKA_VERSION    the version of the full run (default 4.1.2)
#   KMIRROR_MATRIX_VERSIONS  the versions of the core subset (default
#                            "3.9.1 4.3.1"; empty to skip, e.g. while iterating)
#   KMIRROR_TEST_THREADS     test threads per test binary (default 2)
set -euo pipefail
cd "$(dirname "$0")/.."

default_version="${KMIRROR_KAFKA_VERSION:-4.1.2}"
matrix_versions="${KMIRROR_MATRIX_VERSIONS-3.9.1 4.3.1}"
threads="${KMIRROR_TEST_THREADS:-2}"

# Every prerequisite up front, each named with how to get it: a missing one
# would otherwise fail one test twenty minutes in.
missing=()
for tool in cargo java mvn schemathesis; do
  command -v "$tool" >/dev/null 2>&1 || missing+=("$tool")
done
if ! command -v chromium >/dev/null 2>&1 && ! command -v chromium-browser >/dev/null 2>&1 \
  && ! command -v google-chrome >/dev/null 2>&1; then
  missing+=(chromium)
fi
if [ ${#missing[@]} -gt 0 ]; then
  echo "scripts/test.sh: missing on PATH: ${missing[*]}" >&2
  echo "  cargo: a Rust toolchain (https://rustup.rs)" >&2
  echo "  java, mvn: a JDK 17+ and Maven (apt-get install openjdk-17-jdk-headless maven)" >&2
  echo "  chromium: the live page test (apt-get install chromium)" >&2
  echo "  schemathesis: the REST API fuzzing test (python3 -m pip install schemathesis)" >&2
  echo "  .ci/run installs all of them on Debian or Ubuntu" >&2
  exit 1
fi

# Every version's jars first: a version Maven Central does not serve fails
# the run at once, not after twenty minutes of tests.
for version in "$default_version" $matrix_versions; do
  echo "== fetching Kafka $version (cached after the first run)"
  KMIRROR_KAFKA_VERSION="$version" bash testbed/kafka/fetch.sh >/dev/null
done

echo "== cargo fmt --check"
cargo fmt --all -- --check

echo "== cargo clippy"
cargo clippy --workspace --all-targets --locked -- -D warnings

echo "== cargo test (Kafka $default_version)"
# Integration tests start JVMs; two test threads keep a 2-core machine
# responsive while still overlapping JVM start-up.
KMIRROR_KAFKA_VERSION="$default_version" \
  cargo test --workspace --locked --no-fail-fast -- --test-threads="$threads"

# The core subset: both directions byte for byte without loops, and consumer
# groups failing over and back with exact offsets (MM2's own
# RemoteClusterUtils reads the checkpoints), and the transaction protocol of
# each version. scripts/versions.sh runs every
# integration test on each version and writes docs/VERSIONS.md.
for version in $matrix_versions; do
  echo "== end-to-end and failover tests (Kafka $version)"
  KMIRROR_KAFKA_VERSION="$version" \
    cargo test -p kmirror --locked --no-fail-fast \
    --test bidirectional --test failover -- --test-threads="$threads"
  # Transactions: protocol 1 on Kafka 3.x, protocol 2 (KIP-890) on 4.x,
  # from the client and end to end (SIGKILL, a frozen owner, a transaction
  # aborted on its timeout). Transaction sizing and rebuilt batches do not
  # depend on the protocol: they run at the default version only, which
  # keeps the whole run under 45 minutes.
  KMIRROR_KAFKA_VERSION="$version" \
    cargo test -p kmirror-client --locked --no-fail-fast \
    --test transactions -- --test-threads="$threads"
  KMIRROR_KAFKA_VERSION="$version" \
    cargo test -p kmirror --locked --no-fail-fast \
    --test exactly_once -- --test-threads="$threads" \
    --skip a_backlog_is_copied_in_few_large_transactions \
    --skip rebuilt_batches_exactly_once_across_repeated_sigkill
done
