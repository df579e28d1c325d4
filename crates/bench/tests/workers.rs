//! CI version of the workers benchmark scenario (issue 10): two kmirror
//! processes on the same properties file catch up a few thousand records
//! together. Both must copy part of them and the remote topic must hold
//! every record exactly once; how fast is not checked here
//! (`scripts/bench.sh --scenario workers` measures that). Under a minute on
//! two cores once kmirror is built, most of it the brokers' start and the
//! group's 3 s initial delay (twice: the second worker extends it).

use std::time::Instant;

use kmirror_bench::compare::{self, CompareOptions};

#[test]
fn two_workers_share_a_catch_up_and_copy_every_record_once() {
    let started = Instant::now();
    let out = tempfile::tempdir().unwrap();
    let mut options = CompareOptions::workers(true);
    options.out = out.path().to_path_buf();
    options.catchup_bytes = 4000 * options.record_size as u64;
    options.workers.counts = vec![2];
    options.workers.rebalances = false;

    let report = compare::run(&options).expect("the harness runs");

    let results = report.workers.as_ref().expect("the workers scenario ran");
    assert_eq!(results.catch_up.len(), 1, "{results:#?}");
    let run = &results.catch_up[0];
    assert!(run.error.is_none() && run.complete, "{run:#?}");
    assert_eq!(run.expected_records, 4000, "{run:#?}");
    assert_eq!(
        (
            run.replicated_records,
            run.missing_records,
            run.duplicate_records
        ),
        (4000, 0, 0),
        "{run:#?}"
    );
    assert_eq!(run.per_worker.len(), 2, "{run:#?}");
    for worker in &run.per_worker {
        assert!(
            worker.records > 0 && worker.partitions > 0,
            "{} copied nothing: {run:#?}",
            worker.worker_id
        );
    }
    assert_ne!(run.per_worker[0].worker_id, run.per_worker[1].worker_id);
    // What the workers say they copied is what arrived: no record counted
    // by both, none by neither.
    let copied: u64 = run.per_worker.iter().map(|w| w.records).sum();
    assert_eq!(copied, 4000, "{run:#?}");
    let markdown = std::fs::read_to_string(out.path().join("results-workers-quick.md")).unwrap();
    assert!(
        markdown.contains("## Several workers (issue 10)"),
        "{markdown}"
    );
    assert!(markdown.contains("| 2 | 1 | "), "{markdown}");
    eprintln!("workers smoke run took {:.0?}", started.elapsed());
}
