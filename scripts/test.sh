#!/usr/bin/env bash
# The whole test suite: formatting, lints, unit and property tests, and the
# integration tests against real Kafka clusters started by the test bed.
# Fails on the first failure. Java 17 and Maven must be on PATH (.ci/run
# installs them on a fresh machine); Kafka's jars are fetched on first use.
set -euo pipefail
cd "$(dirname "$0")/.."

echo "== fetching Kafka ${KMIRROR_KAFKA_VERSION:-4.1.2} (cached after the first run)"
bash testbed/kafka/fetch.sh >/dev/null

echo "== cargo fmt --check"
cargo fmt --all -- --check

echo "== cargo clippy"
cargo clippy --workspace --all-targets --locked -- -D warnings

echo "== cargo test"
# Integration tests start JVMs; two test threads keep a 2-core machine
# responsive while still overlapping JVM start-up.
cargo test --workspace --locked --no-fail-fast -- --test-threads="${KMIRROR_TEST_THREADS:-2}"
