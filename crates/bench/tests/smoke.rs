//! CI smoke test of the benchmark harness: its quickest form (a few
//! thousand records, one scenario, kmirror and MM2) must run end to end and
//! both replicators must copy every record. How fast is not checked here;
//! that is what `scripts/bench.sh` is for.

use std::time::{Duration, Instant};

use kmirror_bench::compare::{self, CompareOptions, Scenario};
use kmirror_bench::replicator::ReplicatorKind;
use kmirror_testbed::Compression;

/// Processes whose parent is this one.
fn children() -> Vec<u32> {
    let me = std::process::id().to_string();
    std::fs::read_dir("/proc")
        .unwrap()
        .flatten()
        .filter_map(|e| e.file_name().to_str()?.parse::<u32>().ok())
        .filter(|pid| {
            std::fs::read_to_string(format!("/proc/{pid}/stat"))
                .ok()
                .and_then(|stat| {
                    let rest = &stat[stat.rfind(')')? + 1..];
                    rest.split_whitespace().nth(1).map(|ppid| ppid == me)
                })
                .unwrap_or(false)
        })
        .collect()
}

#[test]
fn harness_runs_both_replicators_and_they_copy_everything() {
    let started = Instant::now();
    let out = tempfile::tempdir().unwrap();
    let mut options = CompareOptions::quick();
    options.out = out.path().to_path_buf();
    options.scenarios = vec![Scenario::CatchUp];
    options.replicators = vec![ReplicatorKind::Kmirror, ReplicatorKind::Mm2Default];
    options.codecs = vec![Compression::Lz4];
    options.catchup_bytes = 4000 * options.record_size as u64;

    let report = compare::run(&options).expect("the harness runs");

    assert_eq!(report.measurements.len(), 2, "{:#?}", report.measurements);
    for m in &report.measurements {
        assert!(
            m.error.is_none() && m.complete,
            "{} did not replicate everything: {m:#?}",
            m.replicator.label()
        );
        assert_eq!(m.expected_records, 4000);
        assert!(m.replicated_records >= m.expected_records, "{m:#?}");
        assert!(m.peak_rss_mib > 0.0 && m.cpu_s > 0.0, "{m:#?}");
    }
    let markdown = std::fs::read_to_string(out.path().join("results-quick.md")).unwrap();
    assert!(markdown.contains("| lz4 | kmirror |"), "{markdown}");
    let json: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(out.path().join("results-quick.json")).unwrap(),
    )
    .unwrap();
    assert_eq!(json["measurements"].as_array().map(Vec::len), Some(2));

    // Replicators and clusters are gone with the harness's objects.
    let deadline = Instant::now() + Duration::from_secs(10);
    while !children().is_empty() && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(100));
    }
    assert_eq!(children(), Vec::<u32>::new(), "processes left behind");
    eprintln!("smoke run took {:.0?}", started.elapsed());
}
