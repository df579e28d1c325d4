//! SIGKILL under load, then restart: a Java producer keeps writing to
//! `payment-events` on kafka-a while `kmirror run` (the users' config)
//! replicates it to kafka-b; kmirror is killed mid-way and started again.
//! Every record produced must end up on kafka-b, in order per partition, and
//! the records copied twice are counted per partition and held to the bound
//! the design gives.

mod support;

use std::time::{Duration, Instant};

use kmirror_testbed::shared_cluster;
use support::{
    check_replay, read_load, total_end_offset, two_region_config, wait_until, Kmirror, Load, Replay,
};

const TOPIC: &str = "payment-events";
const REMOTE: &str = "kafka-a.payment-events";
const PARTITIONS: i32 = 3;
/// Records a second over all partitions (200 per partition).
const RATE: u32 = 600;
/// About 40 s of traffic: enough for the kill to land mid-load even when a
/// loaded machine makes start-up and catching up slow.
const TOTAL: usize = 24_000;

/// The duplicate bound, from the design:
///
/// - kmirror's position per partition is the next upstream offset whose
///   batch the target acknowledged (exact, never ahead of the data), and it
///   is written to `mm2-offsets.kafka-a.internal` every
///   `PROGRESS_COMMIT_INTERVAL` (1 s), each write one acknowledged produce.
/// - A restart resumes from the last position written, so what is copied
///   twice is (1) what the target acknowledged after the snapshot of the
///   last completed progress write, which is at most the commit interval plus
///   that write's latency old (1 s + slack, we allow 1 s of slack on this
///   2-core machine), plus (2) batches in flight at the kill: written by the
///   broker but not yet acknowledged, at most 5 per partition.
/// - In steady state (checked: kmirror caught up twice before the kill),
///   what the target acknowledged in a window is what the producer sent in
///   it, shifted by the replication lag, which is about the same at the
///   last snapshot as at the kill (measured then: sent minus on kafka-b).
///   So for partition p:
///   `duplicates(p) <= sent(p, in the 2 s before the kill) + lag(p) + 5 batches`,
///   where a batch of this producer (`linger.ms=0`, one record per partition
///   every few ms) holds a few records; we allow 10 records a batch.
///
/// MM2, for comparison, commits source offsets every 60 s
/// (`offset.flush.interval.ms`) and replays up to a minute.
const COMMIT_WINDOW: Duration = Duration::from_secs(2);
const IN_FLIGHT_RECORDS: u64 = 5 * 10;

#[test]
fn sigkill_under_load_then_restart_loses_nothing_and_bounds_duplicates() {
    let a = shared_cluster("kafka-a");
    let b = shared_cluster("kafka-b");
    a.create_topic(TOPIC, PARTITIONS, 1, &[]);
    let (_dir, config) = two_region_config(a, b, "");

    let before_load = Instant::now();
    let load = Load::start(a, TOPIC, PARTITIONS, RATE, TOTAL);
    let mut kmirror = Kmirror::run(&config);

    // Replicating under load, and caught up: the target reaches what had
    // been sent at a mark, twice, the second mark taken after at least two
    // seconds of steady replication, so no catch-up burst falls in the
    // window the bound counts.
    let started = Instant::now();
    wait_until("the load to run 2 s", Duration::from_secs(60), || {
        load.sent() >= 2 * RATE as usize
    });
    let first_mark = load.sent() as i64;
    wait_until("kafka-b to catch up", Duration::from_secs(60), || {
        total_end_offset(b, REMOTE) >= first_mark
    });
    let caught_up_at = load.sent();
    wait_until("2 s of steady replication", Duration::from_secs(60), || {
        load.sent() >= caught_up_at + 2 * RATE as usize || load.is_done()
    });
    let second_mark = load.sent() as i64;
    wait_until("kafka-b to catch up again", Duration::from_secs(60), || {
        total_end_offset(b, REMOTE) >= second_mark
    });
    assert!(
        !load.is_done(),
        "the load ended before the kill; raise TOTAL"
    );

    kmirror.kill();
    let killed_at = Instant::now();
    let target_at_kill = b.end_offsets(REMOTE);
    let sent_at_kill = load.sent();
    eprintln!(
        "killed kmirror {:.1?} after start, {sent_at_kill} records sent, kafka-b at {}",
        started.elapsed(),
        total_end_offset(b, REMOTE)
    );

    // Down for about two seconds of traffic, then back.
    wait_until(
        "traffic while kmirror is down",
        Duration::from_secs(60),
        || load.sent() >= sent_at_kill + 2 * RATE as usize || load.is_done(),
    );
    let mut kmirror = Kmirror::run(&config);
    wait_until("the load to finish", Duration::from_secs(120), || {
        load.is_done()
    });
    let report = load.finish();
    assert_eq!(report.total(), TOTAL as u64, "every record acknowledged");
    for line in kmirror.log().lines() {
        if line.contains("not copied again") {
            eprintln!("kmirror: {line}");
        }
    }

    // Every partition of kafka-b at least as long as kafka-a's, then read.
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
    let source = read_load(a, TOPIC, PARTITIONS);
    let mut target = read_load(b, REMOTE, PARTITIONS);
    // Anything replayed past the source's end would still be arriving;
    // wait until every sequence number is there.
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

    let mut measured = Vec::new();
    for p in 0..PARTITIONS as usize {
        let count = report.per_partition[p];
        assert_eq!(
            source[p],
            (0..count).collect::<Vec<_>>(),
            "kafka-a partition {p} holds the producer's records in order"
        );
        let Replay {
            duplicates,
            rewinds,
        } = check_replay(&target[p], count)
            .unwrap_or_else(|e| panic!("kafka-b partition {p}: {e}"));
        let window = report.sent_between(p as i32, killed_at - COMMIT_WINDOW, killed_at);
        let sent_before_kill = report.sent_between(p as i32, before_load, killed_at);
        let lag = sent_before_kill.saturating_sub(target_at_kill[p] as u64);
        let bound = window + lag + IN_FLIGHT_RECORDS;
        eprintln!(
            "partition {p}: {count} records, {duplicates} duplicates ({rewinds} rewind), \
             bound {bound} ({window} sent in the {COMMIT_WINDOW:?} before the kill + {lag} lag \
             + {IN_FLIGHT_RECORDS} in flight)"
        );
        measured.push((p, duplicates as u64, rewinds, bound));
    }
    for (p, duplicates, rewinds, bound) in measured {
        assert!(
            rewinds <= 1,
            "partition {p}: {rewinds} rewinds for one restart"
        );
        assert!(
            duplicates <= bound,
            "partition {p}: {duplicates} duplicates, bound {bound}"
        );
    }

    let status = kmirror.terminate(Duration::from_secs(10));
    assert!(status.success(), "exit status {status}");
}

#[test]
fn replay_check_accepts_replays_and_rejects_gaps() {
    let ok = |duplicates, rewinds| {
        Ok(Replay {
            duplicates,
            rewinds,
        })
    };
    assert_eq!(check_replay(&[0, 1, 2], 3), ok(0, 0));
    assert_eq!(check_replay(&[0, 1, 2, 3, 2, 3, 4], 5), ok(2, 1));
    assert!(check_replay(&[0, 2], 3).is_err(), "gap");
    assert!(check_replay(&[0, 1], 3).is_err(), "missing tail");
    assert!(check_replay(&[1, 2], 3).is_err(), "missing head");
    assert!(
        check_replay(&[0, 1, 2, 0, 2], 3).is_err(),
        "gap in a replay"
    );
    assert!(check_replay(&[0, 1, 5], 3).is_err(), "never produced");
}
