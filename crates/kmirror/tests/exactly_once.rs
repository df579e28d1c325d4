//! Repeated SIGKILL under load, with and without exactly-once: a Java
//! producer writes `payment-events` on kafka-a while `kmirror run` (the
//! users' config) replicates it to kafka-b, and kmirror is killed and
//! started again several times. Kafka's Java consumer then reads kafka-b in
//! read_committed and every record is counted per partition:
//!
//! - with `kafka-b.exactly.once.source.support = enabled`, each source
//!   record exactly once (no loss, no duplicate), and the target partitions
//!   hold transaction markers;
//! - without it, no loss, and the duplicates are counted (for the README).
//!
//! Kills per run: `KMIRROR_EOS_KILLS` (default 3 here;
//! `scripts/soak-exactly-once.sh` runs 20 and writes the counts to `docs/`).

mod support;

use std::time::Duration;

use kmirror_testbed::{shared_cluster, ConsumeOptions, KafkaCluster};
use support::{
    check_replay, read_load_with, two_region_config, unique_group_prefix, wait_until, Kmirror,
    Load, Replay,
};

const PARTITIONS: i32 = 3;
/// Records a second over all partitions.
const RATE: u32 = 600;

fn kills() -> usize {
    std::env::var("KMIRROR_EOS_KILLS")
        .ok()
        .map(|v| v.parse().expect("KMIRROR_EOS_KILLS is a number"))
        .unwrap_or(3)
}

/// Every record of `topic` in read_committed, the sequence numbers of each
/// partition in offset order.
fn read_committed(cluster: &KafkaCluster, topic: &str) -> Vec<Vec<u64>> {
    let options = ConsumeOptions {
        max_records: None,
        idle_timeout: Duration::from_secs(5),
        ..ConsumeOptions::committed(0)
    };
    read_load_with(cluster, topic, PARTITIONS, &options)
}

/// Runs the load into `topic`, kills kmirror `kills()` times while it
/// replicates the topic (alone) with `extra` settings, and returns per
/// partition the records sent, how kafka-b compares, and kafka-b's end
/// offsets.
fn soak(topic: &str, extra: &str) -> (Vec<u64>, Vec<Replay>, Vec<i64>) {
    let a = shared_cluster("kafka-a");
    let b = shared_cluster("kafka-b");
    a.create_topic(topic, PARTITIONS, 1, &[]);
    let remote = format!("kafka-a.{topic}");
    let remote = remote.as_str();
    let extra = format!("kafka-a->kafka-b.topics = {topic}\n{extra}");
    let (_dir, config) = two_region_config(a, b, &extra);
    // A restart is the same worker again: the same group, so the same
    // transactional ids, which fence the killed process's.
    let prefix = unique_group_prefix();
    let run = || {
        Kmirror::start_with_env(
            &["run", config.to_str().unwrap()],
            &[("KMIRROR_GROUP_PREFIX", &prefix)],
        )
    };
    let kills = kills();
    // Sends until stopped after the last restart (or 15 minutes): every kill lands under
    // load however slow the machine.
    let load = Load::start(a, topic, PARTITIONS, RATE, RATE as usize * 900);
    let mut kmirror = run();
    wait_until(
        "kmirror to create the remote topic",
        Duration::from_secs(60),
        || b.list_topics().iter().any(|t| t == remote),
    );
    for kill in 1..=kills {
        // Replicating: the target has grown by half a second of traffic
        // since this run started.
        let from = b.end_offsets(remote).iter().sum::<i64>();
        wait_until("kafka-b to grow", Duration::from_secs(60), || {
            b.end_offsets(remote).iter().sum::<i64>() >= from + i64::from(RATE / 2)
        });
        assert!(!load.is_done(), "the load stopped before kill {kill}");
        kmirror.kill();
        let sent = load.sent();
        wait_until(
            "traffic while kmirror is down",
            Duration::from_secs(60),
            || load.sent() >= sent + RATE as usize / 4 || load.is_done(),
        );
        kmirror = run();
    }
    // Another second of traffic with the last run, then stop.
    let sent = load.sent();
    wait_until(
        "traffic after the last restart",
        Duration::from_secs(60),
        || load.sent() >= sent + RATE as usize,
    );
    let report = load.finish();
    let counts = report.per_partition.clone();

    // Read until every sequence number arrived (a replay past the end would
    // still be arriving too), then compare.
    let mut target = read_committed(b, remote);
    wait_until(
        "kafka-b to hold every record",
        Duration::from_secs(120),
        || {
            let complete =
                (0..PARTITIONS as usize).all(|p| check_replay(&target[p], counts[p]).is_ok());
            if !complete {
                target = read_committed(b, remote);
            }
            complete
        },
    );
    let replays = (0..PARTITIONS as usize)
        .map(|p| {
            let replay = check_replay(&target[p], counts[p])
                .unwrap_or_else(|e| panic!("kafka-b partition {p}: {e}"));
            eprintln!(
                "partition {p}: {} records sent, {} read, {} duplicates ({} rewinds), end offset {}",
                counts[p],
                target[p].len(),
                replay.duplicates,
                replay.rewinds,
                b.end_offsets(remote)[p]
            );
            replay
        })
        .collect();
    let status = kmirror.terminate(Duration::from_secs(20));
    assert!(status.success(), "exit status {status}");
    (counts, replays, b.end_offsets(remote))
}

#[test]
fn exactly_once_across_repeated_sigkill_under_load() {
    let extra = "kafka-b.exactly.once.source.support = enabled\n";
    let (counts, replays, ends) = soak("payment-events", extra);
    eprintln!(
        "exactly-once: {} kills, {} records",
        kills(),
        counts.iter().sum::<u64>()
    );
    for (p, replay) in replays.iter().enumerate() {
        assert_eq!(
            *replay,
            Replay {
                duplicates: 0,
                rewinds: 0
            },
            "partition {p}: read_committed sees each record once"
        );
        // Commit markers (and aborted batches) take offsets: the partition
        // was written in transactions.
        let end = ends[p];
        assert!(
            end > counts[p] as i64,
            "partition {p}: end offset {end} for {} records: no transaction markers",
            counts[p]
        );
    }
}

/// The same soak without exactly-once: nothing lost; the duplicates are
/// counted (`scripts/soak-exactly-once.sh` writes them down for the README)
/// and each restart replays at most once.
#[test]
fn without_exactly_once_repeated_sigkill_loses_nothing() {
    let (counts, replays, _) = soak("user-actions", "");
    let duplicates: usize = replays.iter().map(|r| r.duplicates).sum();
    eprintln!(
        "without exactly-once: {} kills, {} records, {duplicates} duplicates",
        kills(),
        counts.iter().sum::<u64>()
    );
    for (p, replay) in replays.iter().enumerate() {
        assert!(
            replay.rewinds <= kills(),
            "partition {p}: {} rewinds for {} restarts",
            replay.rewinds,
            kills()
        );
    }
}
