#!/usr/bin/env bash
# The local two-region demo: starts kafka-a and kafka-b on this machine,
# runs kmirror with examples/mm2-config.properties (local addresses), sends
# traffic both ways and shows it arriving on the other side.
# Pass --keep-running to leave kmirror running until Ctrl-C.
set -euo pipefail
cd "$(dirname "$0")/.."
bash testbed/kafka/fetch.sh >/dev/null
cargo build --release --locked -p kmirror --bin kmirror --example demo
exec target/release/examples/demo target/release/kmirror "$@"
