#!/usr/bin/env bash
# The local two-region demo: starts kafka-a and kafka-b on this machine,
# runs kmirror with examples/mm2-config.properties (local addresses), sends
# traffic both ways and shows it arriving on the other side, then stops
# everything.
#
#   scripts/demo.sh                  run the demo and stop
#   scripts/demo.sh --keep-running   leave kmirror and both clusters running
#                                    (live page http://127.0.0.1:8083/) until Ctrl-C
#
# The first run takes longer: it builds kmirror in release mode and fetches
# Kafka's jars from Maven Central into .cache/ (see README.md for the times);
# later runs start in about half a minute.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ ! -f .cache/kafka/4.1.2/libs.complete ] || [ ! -x target/release/kmirror ]; then
  echo "== first run: fetching Kafka's jars and building kmirror in release mode (a few minutes; see README.md)"
fi
bash testbed/kafka/fetch.sh >/dev/null
# kmirror-testbed is built too: `target/release/kmirror-testbed up` starts the
# same clusters for your own trials (testbed/README.md, "From a shell").
cargo build --release --locked -p kmirror --bin kmirror --example demo
cargo build --release --locked -p kmirror-testbed --bin kmirror-testbed
exec target/release/examples/demo target/release/kmirror "$@"
