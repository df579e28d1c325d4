//! CI's short version of the scale scenario (`scripts/bench.sh --scenario
//! scale` runs 10,000 partitions): 500 partitions on one flow, kmirror
//! alone. Every partition must replicate, the trickle must arrive, the
//! figures at rest must have been read (CPU, memory, socket bytes), and a
//! restarted process must copy every partition's new record, none twice.
//! How fast is not checked here; `docs/BENCHMARKS.md` has the full run.

use kmirror_bench::compare::scale::ScaleSize;
use kmirror_bench::compare::{self, CompareOptions};
use kmirror_bench::replicator::ReplicatorKind;

#[test]
fn every_partition_of_a_many_topic_flow_replicates_and_rest_figures_are_read() {
    let out = tempfile::tempdir().unwrap();
    let mut options = CompareOptions::scale(true);
    options.out = out.path().to_path_buf();
    options.replicators = vec![ReplicatorKind::Kmirror];
    options.scale = ScaleSize {
        topics: 50,
        partitions_per_topic: 10,
        trickle_topics: 5,
        idle_seconds: 5,
    };

    let report = compare::run(&options).expect("the harness runs");

    assert_eq!(report.measurements.len(), 1, "{:#?}", report.measurements);
    let m = &report.measurements[0];
    assert!(m.error.is_none() && m.complete, "{m:#?}");
    let scale = m.scale.as_ref().expect("scale figures");
    assert_eq!(scale.partitions, 500);
    assert_eq!(scale.replicating_partitions, 500, "{scale:#?}");
    assert!(
        scale.all_replicating_s.is_some() && scale.trickle_arrived,
        "{scale:#?}"
    );
    assert_eq!(scale.trickle_records, 25, "5 topics for 5 s");
    // 500 before the start, 25 of trickle, 500 more before the restart.
    assert_eq!(m.expected_records, 1025);
    assert_eq!(m.replicated_records, 1025, "{m:#?}");
    assert!(
        scale.restart_all_replicating_s.is_some(),
        "the restarted process copies every new record: {scale:#?}"
    );
    assert_eq!(scale.duplicate_records, 0, "{scale:#?}");
    assert!(scale.broker_floor_s.is_some_and(|s| s > 0.0), "{scale:#?}");
    // Read from the live process: kmirror fetches and heartbeats at rest,
    // so its sockets carried bytes both ways.
    assert!(
        scale.idle_rss_mib.is_some_and(|rss| rss > 0.0),
        "{scale:#?}"
    );
    assert!(scale.idle_cpu_pct.is_some(), "{scale:#?}");
    assert!(
        scale.idle_sent_bytes_per_s.is_some_and(|b| b > 0.0),
        "{scale:#?}"
    );
    assert!(
        scale.idle_received_bytes_per_s.is_some_and(|b| b > 0.0),
        "{scale:#?}"
    );
    let markdown = std::fs::read_to_string(out.path().join("results-scale-quick.md")).unwrap();
    assert!(
        markdown.contains("## Scale: 500 partitions on one flow"),
        "{markdown}"
    );
}
