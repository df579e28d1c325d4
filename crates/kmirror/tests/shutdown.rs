//! SIGTERM under steady traffic: `kmirror run` finishes or abandons its
//! in-flight batches, writes its progress and exits 0 within 10 s; a restart
//! copies again nothing the target had acknowledged before the signal.

mod support;

use std::time::{Duration, Instant};

use kmirror_testbed::shared_cluster;
use support::{
    check_replay, read_load, total_end_offset, two_region_config, wait_until, Kmirror, Load,
};

const TOPIC: &str = "payment-events";
const REMOTE: &str = "kafka-a.payment-events";
const PARTITIONS: i32 = 3;
/// Records a second over all partitions.
const RATE: u32 = 600;
const TOTAL: usize = 6_000;
/// The limit for a graceful stop.
const EXIT_LIMIT: Duration = Duration::from_secs(10);
/// What a graceful stop may copy again: progress is written after the
/// pipelines stop, so only batches the target wrote but whose
/// acknowledgement never came back (at most 5 in flight per partition, a
/// few records each for this producer; we allow 10) can be copied twice.
const IN_FLIGHT_RECORDS: usize = 5 * 10;

#[test]
fn sigterm_under_traffic_exits_promptly_and_restart_copies_nothing_twice() {
    let a = shared_cluster("kafka-a");
    let b = shared_cluster("kafka-b");
    a.create_topic(TOPIC, PARTITIONS, 1, &[]);
    let (_dir, config) = two_region_config(a, b, "");

    let load = Load::start(a, TOPIC, PARTITIONS, RATE, TOTAL);
    let mut kmirror = Kmirror::run(&config);
    wait_until("the load to run 2 s", Duration::from_secs(60), || {
        load.sent() >= 2 * RATE as usize
    });
    let mark = load.sent() as i64;
    wait_until("kafka-b to catch up", Duration::from_secs(60), || {
        total_end_offset(b, REMOTE) >= mark
    });
    assert!(
        !load.is_done(),
        "the load ended before SIGTERM; raise TOTAL"
    );

    let signalled = Instant::now();
    let status = kmirror.terminate(EXIT_LIMIT);
    let exit_time = signalled.elapsed();
    let sent_at_stop = load.sent();
    eprintln!("SIGTERM: exit {status} after {exit_time:.2?}, {sent_at_stop} records sent");
    assert!(
        status.success(),
        "exit status {status}; log:\n{}",
        kmirror.log()
    );
    assert!(exit_time < EXIT_LIMIT);
    let log = kmirror.log();
    assert!(
        log.contains("stopped") && !log.contains("shutdown took too long"),
        "no clean stop in the log:\n{log}"
    );

    wait_until(
        "traffic while kmirror is down",
        Duration::from_secs(60),
        || load.sent() >= sent_at_stop + RATE as usize,
    );
    let mut kmirror = Kmirror::run(&config);
    wait_until("the load to finish", Duration::from_secs(120), || {
        load.is_done()
    });
    let report = load.finish();
    assert_eq!(report.total(), TOTAL as u64);

    let source_ends = a.end_offsets(TOPIC);
    wait_until(
        "kafka-b to hold every record",
        Duration::from_secs(120),
        || {
            b.end_offsets(REMOTE)
                .iter()
                .zip(&source_ends)
                .all(|(b, a)| b >= a)
        },
    );
    let mut target = read_load(b, REMOTE, PARTITIONS);
    wait_until(
        "kafka-b to hold every sequence number",
        Duration::from_secs(60),
        || {
            let complete = (0..PARTITIONS as usize)
                .all(|p| check_replay(&target[p], report.per_partition[p]).is_ok());
            if !complete {
                target = read_load(b, REMOTE, PARTITIONS);
            }
            complete
        },
    );
    let mut replays = Vec::new();
    for (p, (seqs, &count)) in target.iter().zip(&report.per_partition).enumerate() {
        let replay =
            check_replay(seqs, count).unwrap_or_else(|e| panic!("kafka-b partition {p}: {e}"));
        eprintln!(
            "partition {p}: {count} records, {} duplicates after SIGTERM and restart",
            replay.duplicates
        );
        replays.push(replay);
    }
    for (p, replay) in replays.iter().enumerate() {
        assert!(
            replay.duplicates <= IN_FLIGHT_RECORDS,
            "partition {p}: {} duplicates after a graceful stop",
            replay.duplicates
        );
    }

    let status = kmirror.terminate(EXIT_LIMIT);
    assert!(status.success(), "exit status {status}");
}
