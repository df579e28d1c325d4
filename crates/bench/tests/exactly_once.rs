//! CI version of the exactly-once benchmark scenario (issue 13): a few
//! thousand records copied by kmirror and MM2 tuned, each with and without
//! `exactly.once.source.support = enabled`, then a short latency run of
//! each. Every run must deliver every record to a read_committed reader
//! (counted up to the target's last stable offsets); how fast is not
//! checked here (`scripts/bench.sh --scenario exactly-once` measures that).

use std::time::Instant;

use kmirror_bench::compare::{self, CompareOptions};
use kmirror_bench::replicator::ReplicatorKind;

#[test]
fn kmirror_and_mm2_copy_everything_with_and_without_exactly_once() {
    let started = Instant::now();
    let out = tempfile::tempdir().unwrap();
    let mut options = CompareOptions::exactly_once(true);
    options.out = out.path().to_path_buf();
    options.catchup_bytes = 4000 * options.record_size as u64;
    options.latency_rate = 500;
    options.latency_seconds = 3;
    options.latency_warmup_seconds = 1;

    let report = compare::run(&options).expect("the harness runs");

    let runs: Vec<(&str, ReplicatorKind)> = report
        .measurements
        .iter()
        .map(|m| (m.scenario.as_str(), m.replicator))
        .collect();
    use ReplicatorKind::{Kmirror, Mm2Tuned};
    assert_eq!(
        runs,
        [
            ("exactly-once/catch-up/lz4/idempotent", Kmirror),
            ("exactly-once/catch-up/lz4/eos", Kmirror),
            ("exactly-once/catch-up/lz4/eos", Mm2Tuned),
            ("exactly-once/catch-up/lz4/idempotent", Mm2Tuned),
            ("exactly-once/latency/idempotent", Kmirror),
            ("exactly-once/latency/eos", Kmirror),
            ("exactly-once/latency/eos", Mm2Tuned),
        ],
        "{:#?}",
        report.measurements
    );
    for m in &report.measurements {
        assert!(
            m.error.is_none() && m.complete,
            "{} ({}) did not replicate everything: {m:#?}",
            m.replicator.label(),
            m.scenario
        );
        assert!(m.replicated_records >= m.expected_records, "{m:#?}");
        if m.scenario.contains("/latency/") {
            assert!(m.latency.is_some() && m.source_latency.is_some(), "{m:#?}");
        } else {
            assert_eq!(m.expected_records, 4000);
        }
    }
    let goals: Vec<&str> = report.goals.iter().map(|g| g.goal.as_str()).collect();
    for goal in [
        "catch-up MB/s exactly-once vs kmirror idempotent, lz4",
        "catch-up MB/s exactly-once vs MM2 tuned exactly-once, lz4",
    ] {
        assert!(goals.contains(&goal), "{goal:?} missing in {goals:?}");
    }
    let markdown =
        std::fs::read_to_string(out.path().join("results-exactly-once-quick.md")).unwrap();
    assert!(
        markdown.contains("| exactly-once | kmirror |")
            && markdown.contains("| exactly-once | MM2 tuned |")
            && markdown.contains("| idempotent | kmirror |"),
        "{markdown}"
    );
    eprintln!("exactly-once smoke run took {:.0?}", started.elapsed());
}
