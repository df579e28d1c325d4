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
//!
//! And with two workers in a group: the one frozen (SIGSTOP) past the
//! session timeout is fenced by the transactions of the worker that takes
//! its partitions over, and nothing is read twice after it wakes up.
//!
//! The tests run one at a time: the freeze measures timeouts that a
//! neighbour's load on this 2-core machine would distort.

mod support;

use std::time::Duration;

use kmirror_testbed::shared_cluster;
use support::{
    check_replay, read_committed_complete, two_region_config, unique_group_prefix, wait_until,
    Kmirror, Load, Replay,
};

const PARTITIONS: i32 = 3;

static ONE_AT_A_TIME: std::sync::Mutex<()> = std::sync::Mutex::new(());

fn serial() -> std::sync::MutexGuard<'static, ()> {
    ONE_AT_A_TIME
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}
/// Records a second over all partitions.
const RATE: u32 = 600;

fn kills() -> usize {
    std::env::var("KMIRROR_EOS_KILLS")
        .ok()
        .map(|v| v.parse().expect("KMIRROR_EOS_KILLS is a number"))
        .unwrap_or(3)
}

/// The transactions kafka-a->kafka-b committed, from kmirror's metrics,
/// and the metrics text.
fn transactions_committed(kmirror: &Kmirror) -> (u64, String) {
    let metrics = kmirror.rest_get_text("/metrics");
    let committed = metrics
        .lines()
        .find(|l| l.starts_with("kmirror_transactions_committed_total{flow=\"kafka-a->kafka-b\"}"))
        .and_then(|l| l.rsplit(' ').next()?.parse().ok())
        .unwrap_or_else(|| panic!("no transactions counted in:\n{metrics}"));
    (committed, metrics)
}

/// Up to `max` records of `topic` read by Kafka's Java consumer in
/// read_committed, stopping after 3 s without a new one.
fn read_committed_up_to(
    cluster: &kmirror_testbed::KafkaCluster,
    topic: &str,
    max: usize,
) -> Vec<kmirror_testbed::ConsumedRecord> {
    let options = kmirror_testbed::ConsumeOptions {
        idle_timeout: Duration::from_secs(3),
        ..kmirror_testbed::ConsumeOptions::committed(max)
    };
    cluster.consume(topic, &options)
}

/// Runs the load into `topic`, kills kmirror `kills()` times while it
/// replicates the topic (alone) with `extra` settings, and returns per
/// partition the records sent, how kafka-b compares, and kafka-b's end
/// offsets.
fn soak(
    topic: &str,
    topic_configs: &[(&str, &str)],
    extra: &str,
) -> (Vec<u64>, Vec<Replay>, Vec<i64>, String) {
    let a = shared_cluster("kafka-a");
    let b = shared_cluster("kafka-b");
    a.create_topic(topic, PARTITIONS, 1, topic_configs);
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

    let target = read_committed_complete(b, remote, &counts);
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
    let metrics = kmirror.rest_get_text("/metrics");
    let status = kmirror.terminate(Duration::from_secs(20));
    assert!(status.success(), "exit status {status}");
    (counts, replays, b.end_offsets(remote), metrics)
}

const EXACTLY_ONCE: &str = "kafka-b.exactly.once.source.support = enabled\n";

#[test]
fn exactly_once_across_repeated_sigkill_under_load() {
    let _serial = serial();
    let (counts, replays, ends, _) = soak("payment-events", &[], EXACTLY_ONCE);
    assert_each_record_once_in_transactions(&counts, &replays, &ends);
}

/// Rebuilt batches across the same kills: the source topic keeps
/// LogAppendTime, so kmirror rebuilds every batch with the source's append
/// times instead of passing it through; each record still arrives once.
#[test]
fn rebuilt_batches_exactly_once_across_repeated_sigkill() {
    let _serial = serial();
    let configs = [("message.timestamp.type", "LogAppendTime")];
    let (counts, replays, ends, metrics) = soak("audit-events", &configs, EXACTLY_ONCE);
    assert_each_record_once_in_transactions(&counts, &replays, &ends);
    // The last run rebuilt what it copied.
    let rebuilt = metrics
        .lines()
        .find(|l| l.starts_with("kmirror_forwarded_batches_total") && l.contains("rebuilt"))
        .and_then(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
        .unwrap_or(0.0);
    assert!(rebuilt > 0.0, "no rebuilt batches counted:\n{metrics}");
}

/// Each partition of a soak's target read once in read_committed, and
/// written in transactions (its end offset counts commit markers).
fn assert_each_record_once_in_transactions(counts: &[u64], replays: &[Replay], ends: &[i64]) {
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
    let _serial = serial();
    let (counts, replays, _, _) = soak("user-actions", &[], "");
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

/// Two workers share a 12-partition topic in exactly-once mode; one is
/// frozen (SIGSTOP) past the session timeout while the other takes its
/// partitions over, whose transactional producers fence the frozen one's;
/// then it is woken (SIGCONT). Read in read_committed, every record is
/// there exactly once.
#[test]
fn a_frozen_owner_is_fenced_and_nothing_is_read_twice() {
    use support::{
        lapses, more_traffic, start_sharing_pair, wait_shared, FLOW, RATE as WORKER_RATE, SESSION,
        UNITS, UNTIL_STOPPED,
    };
    const WORKER_PARTITIONS: i32 = support::PARTITIONS;
    let _serial = serial();
    let a = shared_cluster("kafka-a");
    let b = shared_cluster("kafka-b");
    let topic = "eos-freeze-events";
    let remote = "kafka-a.eos-freeze-events";
    a.create_topic(topic, WORKER_PARTITIONS, 1, &[]);
    let (_dir, config) = two_region_config(
        a,
        b,
        &format!(
            "kafka-a->kafka-b.topics = {topic}\n\
             kafka-b->kafka-a.enabled = false\n\
             session.timeout.ms = {}\n\
             kafka-b.exactly.once.source.support = enabled\n",
            SESSION.as_millis()
        ),
    );
    let prefix = unique_group_prefix();
    let load = Load::start(a, topic, WORKER_PARTITIONS, WORKER_RATE, UNTIL_STOPPED);
    let (pair, generation, counts) = start_sharing_pair(&config, &prefix);
    eprintln!("shared: generation {generation}, units {counts:?}");
    let (frozen, other) = (&pair[0], &pair[1]);
    wait_until("the remote topic", Duration::from_secs(60), || {
        b.list_topics().iter().any(|t| t == remote)
    });
    let from = b.end_offsets(remote).iter().sum::<i64>();
    wait_until("kafka-b to grow", Duration::from_secs(60), || {
        b.end_offsets(remote).iter().sum::<i64>() >= from + i64::from(WORKER_RATE)
    });

    let log_lines_at_freeze = frozen.log().lines().count();
    frozen.send_signal("STOP");
    let frozen_at = std::time::Instant::now();
    let (takeover, _, took) =
        wait_shared(&[other], FLOW, UNITS, generation, Duration::from_secs(60));
    eprintln!("takeover: generation {takeover} after {took:.2?}");
    // Frozen past the session timeout and then some, the scenario itself:
    // no condition to poll for.
    let frozen_for = SESSION + Duration::from_secs(4);
    std::thread::sleep(frozen_for.saturating_sub(frozen_at.elapsed()));
    frozen.send_signal("CONT");
    wait_until(
        "the frozen worker to notice it lost its membership",
        Duration::from_secs(30),
        || {
            lapses(&frozen.log(), FLOW)
                .iter()
                .any(|(line, _)| *line >= log_lines_at_freeze)
        },
    );
    let (rejoined, counts, _) = wait_shared(
        &[frozen, other],
        FLOW,
        UNITS,
        takeover,
        Duration::from_secs(60),
    );
    eprintln!("rejoined: generation {rejoined}, units {counts:?}");
    more_traffic(&load, 3);
    let report = load.finish();

    let counts = &report.per_partition;
    let target = read_committed_complete(b, remote, counts);
    for p in 0..WORKER_PARTITIONS as usize {
        let replay = check_replay(&target[p], counts[p]).unwrap();
        assert_eq!(
            replay,
            Replay {
                duplicates: 0,
                rewinds: 0
            },
            "partition {p}: {} records sent, read_committed sees each once",
            counts[p]
        );
    }
    eprintln!(
        "freeze: {} records, each read once; frozen worker's log after the freeze:\n{}",
        report.total(),
        frozen
            .log()
            .lines()
            .skip(log_lines_at_freeze)
            .filter(|l| l.contains("WARN") || l.contains("ERROR") || l.contains("fenced"))
            .take(20)
            .collect::<Vec<_>>()
            .join("\n")
    );
}

/// Commit markers take offsets on the target, between the records of
/// successive transactions: a group's committed offsets still translate
/// exactly (to the target offset of the first record it has not read), in
/// kmirror's checkpoints, the group offsets it syncs, `kmirror offsets
/// translate` and MM2's own `RemoteClusterUtils`.
#[test]
fn group_offsets_translate_exactly_across_commit_markers() {
    use support::{
        consume_group, group_offsets, kmirror_translate, mm2_translate, produce_sequence_to,
    };
    let _serial = serial();
    let a = shared_cluster("kafka-a");
    let b = shared_cluster("kafka-b");
    let topic = "eos-ledger";
    let remote = "kafka-a.eos-ledger";
    a.create_topic(topic, 2, 1, &[]);
    let (_dir, config) = two_region_config(
        a,
        b,
        &format!(
            "kafka-a->kafka-b.topics = {topic}\n\
             kafka-b->kafka-a.enabled = false\n\
             kafka-b.exactly.once.source.support = enabled\n\
             emit.checkpoints.interval.seconds = 1\n\
             refresh.groups.interval.seconds = 1\n\
             sync.group.offsets.enabled = true\n\
             sync.group.offsets.interval.seconds = 1\n"
        ),
    );
    let mut kmirror = Kmirror::run(&config);
    // Ten rounds, each replicated in transactions of its own before the
    // next: markers sit between the rounds' records on kafka-b.
    for round in 0..10 {
        produce_sequence_to(a, topic, round * 100, 100);
        let want = (round + 1) * 100;
        wait_until("the round on kafka-b", Duration::from_secs(60), || {
            b.list_topics().iter().any(|t| t == remote)
                && read_committed_up_to(b, remote, want).len() >= want
        });
    }
    let ends: i64 = b.end_offsets(remote).iter().sum();
    assert!(
        ends > 1000,
        "end offsets {ends} for 1000 records: no markers"
    );

    assert_eq!(consume_group(a, topic, "ledger", 300).len(), 300);
    // Where the group stands on kafka-b: the offset there of the first
    // record it has not read on kafka-a.
    let on_a = read_committed_up_to(a, topic, 1000);
    let on_b = read_committed_up_to(b, remote, 1000);
    let expected: std::collections::BTreeSet<String> = group_offsets(a, "ledger")
        .iter()
        .map(|line| {
            let fields: Vec<&str> = line.split(' ').collect();
            let (p, offset): (i32, i64) = (fields[1].parse().unwrap(), fields[2].parse().unwrap());
            let next = on_a
                .iter()
                .find(|r| r.partition == p && r.offset == offset)
                .expect("the group has records left in each partition");
            let there = on_b
                .iter()
                .find(|r| r.partition == p && r.value == next.value)
                .expect("the record is on kafka-b");
            format!("{remote} {p} {}", there.offset)
        })
        .collect();
    assert!(
        expected
            .iter()
            .zip(group_offsets(a, "ledger"))
            .any(|(b, a)| { b.rsplit(' ').next() != a.rsplit(' ').next() }),
        "markers shift the offsets: {expected:?}"
    );
    wait_until("ledger synced on kafka-b", Duration::from_secs(60), || {
        group_offsets(b, "ledger") == expected
    });
    let (ok, ours, stderr) = kmirror_translate(&config, "ledger", "kafka-a", "kafka-b", &[]);
    assert!(ok, "{stderr}");
    assert_eq!(ours, expected, "kmirror offsets translate");
    assert_eq!(
        mm2_translate(b, "kafka-a", "ledger"),
        expected,
        "MM2's RemoteClusterUtils"
    );
    // The transactions are counted, with their commit latency.
    let (committed, metrics) = transactions_committed(&kmirror);
    assert!(committed >= 10, "{committed} transactions for ten rounds");
    assert!(metrics
        .contains("kmirror_transaction_commit_latency_seconds_count{flow=\"kafka-a->kafka-b\"}"));
    let status = kmirror.terminate(Duration::from_secs(20));
    assert!(status.success(), "exit status {status}");
}

/// A backlog is copied in a few large transactions, not one per poll:
/// 8 MiB waiting in one partition, fetched 64 KiB at a time (128 fetches at
/// least), commits in a handful of transactions, each record once.
#[test]
fn a_backlog_is_copied_in_few_large_transactions() {
    use kmirror_testbed::GenOptions;
    let _serial = serial();
    let a = shared_cluster("kafka-a");
    let b = shared_cluster("kafka-b");
    let topic = "eos-backlog";
    let remote = "kafka-a.eos-backlog";
    a.create_topic(topic, 1, 1, &[]);
    const RECORDS: usize = 8192;
    let gen = GenOptions {
        batch_size: Some(16 * 1024),
        ..GenOptions::new(RECORDS as u64, 1024)
    };
    assert_eq!(a.gen(topic, &gen).sent, RECORDS as u64);
    let (_dir, config) = two_region_config(
        a,
        b,
        &format!(
            "kafka-a->kafka-b.topics = {topic}\n\
             kafka-b->kafka-a.enabled = false\n\
             kafka-b.exactly.once.source.support = enabled\n\
             kafka-a.consumer.max.partition.fetch.bytes = 65536\n"
        ),
    );
    let mut kmirror = Kmirror::run(&config);
    let mut read = 0;
    wait_until("the backlog on kafka-b", Duration::from_secs(120), || {
        if !b.list_topics().iter().any(|t| t == remote) {
            return false;
        }
        read = read_committed_up_to(b, remote, RECORDS + 1).len();
        read >= RECORDS
    });
    assert_eq!(read, RECORDS, "records read in read_committed");
    let (committed, _) = transactions_committed(&kmirror);
    // One transaction per poll made 72 here; a large one lasts a second at
    // most (5 measured, the flow's heartbeat transactions included).
    assert!(
        (1..=32).contains(&committed),
        "{committed} transactions for 128 fetches of backlog"
    );
    let status = kmirror.terminate(Duration::from_secs(20));
    assert!(status.success(), "exit status {status}");
}

/// A transaction that outlives `transaction.timeout.ms`: a lone kmirror
/// whose transactions last a second (`transaction.boundary = interval`)
/// is frozen (SIGSTOP) for 15 s, longer than the 2 s transaction timeout
/// plus the coordinator's 10 s check for timed-out transactions, and
/// shorter than its 45 s group session. The target's coordinator aborts the
/// open transaction. Woken, kmirror finds its producer fenced while it
/// still owns the partition: the partition pauses and starts over from its
/// last commit (before, it stopped for good). Read in read_committed: every
/// record once, none lost.
#[test]
fn a_transaction_outliving_its_timeout_is_aborted_and_redone() {
    let _serial = serial();
    let a = shared_cluster("kafka-a");
    let b = shared_cluster("kafka-b");
    let topic = "eos-timed-out";
    let remote = "kafka-a.eos-timed-out";
    a.create_topic(topic, 1, 1, &[]);
    let (_dir, config) = two_region_config(
        a,
        b,
        &format!(
            "kafka-a->kafka-b.topics = {topic}\n\
             kafka-b->kafka-a.enabled = false\n\
             kafka-b.exactly.once.source.support = enabled\n\
             kafka-b.producer.transaction.timeout.ms = 2000\n\
             transaction.boundary = interval\n\
             transaction.boundary.interval.ms = 1000\n\
             session.timeout.ms = 45000\n"
        ),
    );
    let mut kmirror = Kmirror::start_with_env(
        &["run", config.to_str().unwrap()],
        &[(
            "KMIRROR_LOG",
            "info,kmirror_client=debug,kmirror_engine::runtime::flow::exactly_once=debug",
        )],
    );
    let load = Load::start(a, topic, 1, 200, 200 * 600);
    let grown = |from: i64| {
        wait_until("kafka-b to grow", Duration::from_secs(60), || {
            b.list_topics().iter().any(|t| t == remote)
                && b.end_offsets(remote).iter().sum::<i64>() >= from + 200
        });
    };
    grown(0);
    kmirror.send_signal("STOP");
    std::thread::sleep(Duration::from_secs(15)); // the frozen time itself
    kmirror.send_signal("CONT");
    let restarted = |log: &str| {
        log.lines().any(|l| {
            // Fenced (EndTxn) or refused as an old epoch (produce).
            l.contains("eos-timed-out-0")
                && (l.contains("transaction fenced while this worker owns the partition")
                    || l.contains("partition paused"))
        })
    };
    wait_until(
        "the partition to start over after the abort",
        Duration::from_secs(60),
        || restarted(&kmirror.log()),
    );
    for line in kmirror
        .log()
        .lines()
        .filter(|l| l.contains("eos-timed-out-0") && (l.contains("WARN") || l.contains("ERROR")))
    {
        eprintln!("{line}");
    }
    grown(b.end_offsets(remote).iter().sum::<i64>());
    let report = load.finish();
    let target = read_committed_complete(b, remote, &report.per_partition);
    let replay = check_replay(&target[0], report.per_partition[0]).unwrap();
    assert_eq!(
        replay,
        Replay {
            duplicates: 0,
            rewinds: 0
        },
        "read_committed sees each record once"
    );
    assert!(
        !kmirror.log().contains("partition stopped"),
        "a lone worker's partition never stops for good:\n{}",
        kmirror.log()
    );
    let status = kmirror.terminate(Duration::from_secs(20));
    assert!(status.success(), "exit status {status}");
}
