#!/usr/bin/env bash
# The exactly-once soak in full: `kmirror run` SIGKILLed 20 times under load
# (600 records/s over 3 partitions), once with
# `kafka-b.exactly.once.source.support = enabled` and once without, on each
# Kafka version given; Kafka's Java consumer reads the target in
# read_committed and every record is counted. Results go to
# docs/SOAK-EXACTLY-ONCE.md. CI (scripts/test.sh) runs the same tests with 3
# kills on the default version.
#
#   scripts/soak-exactly-once.sh [VERSION...]   default: 3.9.1 4.1.2
#   KMIRROR_EOS_KILLS=N                          kills per run (default 20)
#
# About 3 minutes per version on 2 cores. Logs: target/soak/<version>.log.
set -uo pipefail
cd "$(dirname "$0")/.."

versions=("$@")
[ ${#versions[@]} -gt 0 ] || versions=(3.9.1 4.1.2)
kills="${KMIRROR_EOS_KILLS:-20}"
logs=target/soak
mkdir -p "$logs"

cargo build -p kmirror --tests --locked --quiet || exit 1
failed=0
out=docs/SOAK-EXACTLY-ONCE.md
{
  echo "# Exactly-once soak"
  echo
  echo "\`scripts/soak-exactly-once.sh\` at $(git rev-parse --short HEAD), $(date -u +%Y-%m-%d),"
  echo "$(nproc) CPUs ($(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)), load average before: $(cut -d' ' -f1-3 /proc/loadavg)."
  echo "Each run: a Java producer writes 600 records/s over 3 partitions of a"
  echo "topic on kafka-a; \`kmirror run\` (the users' config, one flow into"
  echo "kafka-b) is SIGKILLed $kills times, each time once kafka-b grew by half a"
  echo "second of traffic, and started again after a quarter second of traffic;"
  echo "kafka-b is then read by Kafka's Java consumer in read_committed"
  echo "(\`crates/kmirror/tests/exactly_once.rs\`)."
  echo
  echo "| Kafka | mode | kills | records | read | duplicates | lost | rewinds | offsets taken by markers and aborted batches | result |"
  echo "|---|---|---:|---:|---:|---:|---:|---:|---:|---|"
} >"$out"
for version in "${versions[@]}"; do
  echo "== Kafka $version"
  log="$logs/$version.log"
  KMIRROR_KAFKA_VERSION="$version" KMIRROR_EOS_KILLS="$kills" \
    cargo test -p kmirror --locked --test exactly_once -- --nocapture --test-threads=1 \
    >"$log" 2>&1 || failed=1
  python3 - "$log" "$version" "$kills" >>"$out" <<'PY'
import re, sys
log, version, kills = sys.argv[1], sys.argv[2], sys.argv[3]
text = open(log).read()
# Each test prints its partitions, then its summary line.
blocks = re.split(r"\n(?=test \S+ \.\.\. )", text)
for mode, test in (("exactly-once", "exactly_once_across_repeated_sigkill_under_load"),
                   ("idempotent only", "without_exactly_once_repeated_sigkill_loses_nothing")):
    # With --nocapture a test's own output follows its name: look for its
    # panic rather than the word after the name.
    if f"test {test} ..." not in text:
        result = "did not run"
    elif re.search(rf"thread '{test}' .*panicked", text):
        result = "FAILED"
    else:
        result = "ok"
    summary = "exactly-once:" if mode == "exactly-once" else "without exactly-once:"
    # Partition lines belonging to this test precede its summary line.
    at = text.find(summary)
    lines = re.findall(r"partition (\d+): (\d+) records sent, (\d+) read, (\d+) duplicates \((\d+) rewinds\), end offset (\d+)",
                       text[:at] if at >= 0 else "")[-3:]
    sent = sum(int(l[1]) for l in lines)
    read = sum(int(l[2]) for l in lines)
    dup = sum(int(l[3]) for l in lines)
    rew = sum(int(l[4]) for l in lines)
    ends = sum(int(l[5]) for l in lines)
    lost = sent + dup - read
    print(f"| {version} | {mode} | {kills} | {sent} | {read} | {dup} | {lost} | {rew} | {ends - read} | {result} |")
PY
done
echo >>"$out"
echo "A run fails when a record is lost, or, with exactly-once, when one is read twice." >>"$out"
cat "$out"
exit $failed
