//! A three-node cluster keeps serving while a broker is killed, restarted
//! and stopped gracefully.

mod common;

use std::time::Duration;

use kmirror_testbed::{
    random_topic_name, ConsumeOptions, KafkaCluster, ProduceOptions, TestRecord,
};

fn batch(tag: &str, count: usize) -> Vec<TestRecord> {
    (0..count)
        .map(|i| {
            TestRecord::new()
                .key(format!("{tag}-{i}"))
                .value(format!("{tag} value {i}"))
        })
        .collect()
}

#[test]
fn three_brokers_survive_a_killed_and_a_stopped_broker() {
    let _serial = common::serial();
    let cluster = KafkaCluster::builder("triple").brokers(3).start();
    assert_eq!(cluster.broker_count(), 3);
    assert_eq!(cluster.bootstrap().split(',').count(), 3);
    assert_eq!(cluster.describe_cluster().nodes, vec![0, 1, 2]);

    let topic = random_topic_name("replicated");
    // Replication factor and min.insync.replicas come from the cluster's
    // defaults (3 and 2).
    cluster.create_topic(&topic, 3, 3, &[]);
    let description = cluster.wait_until_in_sync(&topic, Duration::from_secs(30));
    assert!(description.partitions.iter().all(|p| p.replicas.len() == 3));
    assert_eq!(
        cluster.topic_config(&topic).values["min.insync.replicas"],
        "2"
    );
    let mut sent = cluster
        .produce(&topic, &ProduceOptions::default(), &batch("before", 30))
        .len();

    // Kill the leader of partition 0: leadership moves once the controller
    // fences it, and acks=all still succeeds with two in-sync replicas.
    let victim = usize::try_from(cluster.leaders(&topic)[0].unwrap()).unwrap();
    let victim_pid = cluster.broker_pid(victim).unwrap();
    cluster.kill_broker(victim);
    assert!(!cluster.is_broker_running(victim));
    assert!(!common::pid_alive(victim_pid));
    sent += cluster
        .produce(&topic, &ProduceOptions::default(), &batch("degraded", 30))
        .len();
    common::wait_for(
        "leaders off the killed broker",
        Duration::from_secs(30),
        || {
            cluster
                .leaders(&topic)
                .iter()
                .all(|l| l.is_some() && *l != Some(i32::try_from(victim).unwrap()))
        },
    );

    cluster.start_broker(victim);
    assert!(cluster.is_broker_running(victim));
    cluster.wait_until_in_sync(&topic, Duration::from_secs(60));
    sent += cluster
        .produce(&topic, &ProduceOptions::default(), &batch("restarted", 30))
        .len();

    // A graceful stop hands leadership over at once.
    let stopped = (victim + 1) % 3;
    cluster.stop_broker(stopped);
    sent += cluster
        .produce(&topic, &ProduceOptions::default(), &batch("stopped", 30))
        .len();
    cluster.start_broker(stopped);
    cluster.wait_until_in_sync(&topic, Duration::from_secs(60));

    let read = cluster.consume(&topic, &ConsumeOptions::committed(sent));
    assert_eq!(read.len(), sent);
    let ends: i64 = cluster.end_offsets(&topic).iter().sum();
    assert_eq!(ends, i64::try_from(sent).unwrap());
}
