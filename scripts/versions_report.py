"""Writes docs/VERSIONS.md from the logs of scripts/versions.sh: per Kafka
version and test binary, how many tests passed and failed, and the names of
the failed ones."""

import re
import sys
from pathlib import Path

RUNNING = re.compile(r"^\s*Running (?:unittests )?(\S+)")
RESULT = re.compile(r"^test result: \w+\. (\d+) passed; (\d+) failed")
FAILED = re.compile(r"^test (\S+) \.\.\. FAILED")


def binaries(log: str):
    """(test binary, passed, failed, [failed test names]) in log order."""
    current, failed_names, rows = None, [], []
    for line in log.splitlines():
        if m := RUNNING.match(line):
            current, failed_names = m.group(1), []
        elif m := FAILED.match(line):
            failed_names.append(m.group(1))
        elif (m := RESULT.match(line)) and current:
            rows.append((current, int(m.group(1)), int(m.group(2)), failed_names))
            current = None
    return rows


def main() -> None:
    logs, commit, versions = Path(sys.argv[1]), sys.argv[2], sys.argv[3:]
    print("# Kafka versions\n")
    print(
        "Written by `scripts/versions.sh`: the whole test suite (unit, property and "
        "integration tests against real brokers started by the test bed) on each "
        f"Kafka version, one after the other, at commit {commit}. CI runs the full "
        "suite on 4.1.2 and the end-to-end and failover tests on 3.9.1 and 4.3.1.\n"
    )
    print("| Kafka | tests passed | tests failed | minutes | failed tests |")
    print("|---|---|---|---|---|")
    details = []
    for version in versions:
        log_path = logs / f"{version}.log"
        if not log_path.exists():
            print(f"| {version} | – | – | – | not run |")
            continue
        rows = binaries(log_path.read_text(errors="replace"))
        seconds_path = logs / f"{version}.seconds"
        minutes = (
            f"{int(seconds_path.read_text()) / 60:.1f}" if seconds_path.exists() else "–"
        )
        passed = sum(r[1] for r in rows)
        failed = sum(r[2] for r in rows)
        names = [f"{r[0]}: {n}" for r in rows for n in r[3]]
        print(f"| {version} | {passed} | {failed} | {minutes} | {'; '.join(names) or 'none'} |")
        details.append((version, rows))
    for version, rows in details:
        print(f"\n## Kafka {version}\n")
        print("| test binary | passed | failed |")
        print("|---|---|---|")
        for name, passed, failed, _ in rows:
            print(f"| `{name}` | {passed} | {failed} |")


if __name__ == "__main__":
    main()
