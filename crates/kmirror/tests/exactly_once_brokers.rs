//! Exactly-once across broker failures on both sides: a Java producer writes
//! `payment-events` on kafka-a while `kmirror run` (the users' config, with
//! `kafka-b.exactly.once.source.support = enabled`) replicates it to a
//! three-broker kafka-b. A leader of the target is SIGKILLed and started
//! again (its leaderships and maybe the transaction coordinator move), then
//! the source broker is restarted. Kafka's Java consumer reads kafka-b in
//! read_committed: every record exactly once.

mod support;

use std::time::Duration;

use kmirror_testbed::{shared_cluster, KafkaCluster};
use support::{
    check_replay, read_committed_complete, two_region_config, unique_group_prefix, wait_until,
    Kmirror, Load, Replay,
};

const TOPIC: &str = "payment-events";
const REMOTE: &str = "kafka-a.payment-events";
const PARTITIONS: i32 = 3;
/// Records a second over all partitions.
const RATE: u32 = 600;

/// Waits until kafka-b's copy grew by a second of traffic.
fn wait_grown(b: &KafkaCluster, what: &str, timeout: Duration) {
    let from = b.end_offsets(REMOTE).iter().sum::<i64>();
    wait_until(what, timeout, || {
        b.end_offsets(REMOTE).iter().sum::<i64>() >= from + i64::from(RATE)
    });
}

#[test]
fn exactly_once_across_target_and_source_broker_restarts() {
    let a = shared_cluster("kafka-a");
    let b = KafkaCluster::builder("kafka-b3")
        .brokers(3)
        .fast_broker_fencing()
        .start();
    a.create_topic(TOPIC, PARTITIONS, 1, &[]);
    // The users' file asks for replication factor 3 everywhere: the source
    // has one broker, so its internal topics get 1 (where kmirror creates
    // them on kafka-a).
    let (_dir, config) = two_region_config(
        a,
        &b,
        "kafka-a->kafka-b.topics = payment-events\n\
         kafka-b->kafka-a.enabled = false\n\
         kafka-b.exactly.once.source.support = enabled\n",
    );
    let prefix = unique_group_prefix();
    let run = || {
        Kmirror::start_with_env(
            &["run", config.to_str().unwrap()],
            &[
                ("KMIRROR_GROUP_PREFIX", &prefix),
                (
                    "KMIRROR_LOG",
                    "info,kmirror_engine::runtime::flow::exactly_once=debug",
                ),
            ],
        )
    };
    let load = Load::start(a, TOPIC, PARTITIONS, RATE, RATE as usize * 900);
    let mut kmirror = run();
    wait_until("the remote topic", Duration::from_secs(60), || {
        b.list_topics().iter().any(|t| t == REMOTE)
    });
    wait_grown(&b, "kafka-b to grow", Duration::from_secs(60));

    // A target leader dies and comes back.
    let leader = b.leaders(REMOTE)[0].expect("a leader") as usize;
    b.kill_broker(leader);
    eprintln!("killed kafka-b broker {leader}");
    // Two seconds of traffic without it (the admin client that reads end
    // offsets may itself wait for the dead broker: the load is the clock).
    let sent = load.sent();
    wait_until(
        "traffic without the broker",
        Duration::from_secs(60),
        || load.sent() >= sent + 2 * RATE as usize,
    );
    b.start_broker(leader);
    eprintln!("kafka-b broker {leader} back");
    wait_grown(&b, "kafka-b to grow", Duration::from_secs(60));

    // The source broker restarts (controlled shutdown).
    a.stop_broker(0);
    eprintln!("stopped kafka-a");
    a.start_broker(0);
    eprintln!("kafka-a back");
    wait_grown(&b, "kafka-b to grow", Duration::from_secs(90));

    let report = load.finish();
    let counts = &report.per_partition;
    let target = read_committed_complete(&b, REMOTE, counts);
    for p in 0..PARTITIONS as usize {
        let replay = check_replay(&target[p], counts[p]).unwrap();
        eprintln!(
            "partition {p}: {} records, {} read, end offset {}",
            counts[p],
            target[p].len(),
            b.end_offsets(REMOTE)[p]
        );
        assert_eq!(
            replay,
            Replay {
                duplicates: 0,
                rewinds: 0
            },
            "partition {p}: read_committed sees each record once"
        );
    }
    for line in kmirror
        .log()
        .lines()
        .filter(|l| l.contains("transaction committed"))
        .take(400)
    {
        eprintln!("{line}");
    }
    let status = kmirror.terminate(Duration::from_secs(20));
    assert!(status.success(), "exit status {status}");
}
