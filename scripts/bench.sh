#!/usr/bin/env bash
# kmirror's benchmarks (docs/BENCHMARKS.md).
#
#   scripts/bench.sh [--quick] [options]   kmirror vs MirrorMaker 2 (issue 4):
#       starts two local Kafka clusters, runs every scenario for kmirror,
#       MM2 default and MM2 tuned, twice each alternating, and writes
#       docs/bench-results/results.{md,json} (results-quick.* with --quick).
#       A full run takes about half an hour on two cores.
#   scripts/bench.sh --scenario sasl-ssl  the SASL_SSL scenario alone (issue 9):
#       kmirror and MM2 tuned over SASL_SSL, kmirror over PLAINTEXT, on two
#       secured clusters; writes docs/bench-results/results-sasl-ssl.*.
#       About three minutes on two cores.
#   scripts/bench.sh --scenario workers   kmirror with 1, 2 and 3 worker
#       processes on one flow, then a worker joining, one stopped (SIGTERM)
#       and one killed (SIGKILL) while copying (issue 10); writes
#       docs/bench-results/results-workers.*. About five minutes
#       (--rounds 10: about nine).
#   scripts/bench.sh --scenario latency-3b  steady latency on two three-broker
#       clusters at 10 and 5,000 records/s, kmirror and MM2 tuned, each as
#       overhead over the source read in the same run (issue 12); writes
#       docs/bench-results/results-latency-3b.*. About fourteen minutes.
#   scripts/bench.sh --scenario scale  1,000 topics of 10 partitions on one
#       flow: time until every partition replicates, then CPU, memory and
#       wire bytes at rest with a trickle, then a restart, kmirror and MM2
#       tuned (issue 12); writes docs/bench-results/results-scale.*. About
#       eight minutes.
#   scripts/bench.sh --scenario exactly-once  catch-up (512 MiB lz4) and
#       latency at 5,000 records/s, kmirror and MM2 tuned with and without
#       exactly.once.source.support = enabled (issue 13); writes
#       docs/bench-results/results-exactly-once.*. About fifteen minutes.
#   scripts/bench.sh raw-forward [options] the raw data path alone (issue 2).
#
# Options: scripts/bench.sh --help, scripts/bench.sh raw-forward --help.
# Kafka's jars (brokers, tools, connect-mirror) come from Maven Central on
# first use. Every JVM and kmirror process ends with this script.
set -euo pipefail
cd "$(dirname "$0")/.."

bash testbed/kafka/fetch.sh >/dev/null
cargo build --release --locked -p kmirror --bin kmirror -p kmirror-bench --bin kmirror-bench

if [[ "${1:-}" == "raw-forward" ]]; then
  shift
  exec target/release/kmirror-bench raw-forward "$@"
fi
exec target/release/kmirror-bench compare --kmirror-bin target/release/kmirror "$@"
