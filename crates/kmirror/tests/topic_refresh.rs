//! Topic discovery while running: with `refresh.topics.interval.seconds = 3`
//! and the flow's `topics = orders-.*`, `topics.exclude = orders-secret.*`,
//! a matching topic created after kmirror started is replicated within about
//! one refresh interval, an excluded one is never created on the target, and
//! a source topic that grows partitions gets its remote topic grown too.

mod support;

use std::time::{Duration, Instant};

use kmirror_testbed::{shared_cluster, ConsumeOptions, KafkaCluster, ProduceOptions, TestRecord};
use support::{total_end_offset, two_region_config, wait_until, Kmirror};

const REFRESH: Duration = Duration::from_secs(3);

fn records(topic: &str, partitions: std::ops::Range<i32>, per_partition: usize) -> Vec<TestRecord> {
    partitions
        .flat_map(|p| {
            (0..per_partition).map(move |i| {
                TestRecord::new()
                    .partition(p)
                    .key(format!("{p}-{i}"))
                    .value(format!("{topic}:{p}:{i}"))
            })
        })
        .collect()
}

fn exists(cluster: &KafkaCluster, topic: &str) -> bool {
    cluster.list_topics().iter().any(|t| t == topic)
}

/// Values per partition, in offset order.
fn values(cluster: &KafkaCluster, topic: &str, count: usize) -> Vec<(i32, String)> {
    let mut options = ConsumeOptions::committed(count);
    options.idle_timeout = Duration::from_secs(5);
    let mut read = cluster.consume(topic, &options);
    read.sort_by_key(|r| (r.partition, r.offset));
    read.into_iter()
        .map(|r| (r.partition, String::from_utf8(r.value.unwrap()).unwrap()))
        .collect()
}

#[test]
fn new_matching_topics_are_replicated_excluded_ones_never_and_partitions_grow() {
    let a = shared_cluster("kafka-a");
    let b = shared_cluster("kafka-b");
    a.create_topic("orders-eu", 1, 1, &[]);
    a.produce(
        "orders-eu",
        &ProduceOptions::default(),
        &records("orders-eu", 0..1, 5),
    );
    let (_dir, config) = two_region_config(
        a,
        b,
        "refresh.topics.interval.seconds = 3\n\
         kafka-a->kafka-b.topics = orders-.*\n\
         kafka-a->kafka-b.topics.exclude = orders-secret.*",
    );
    let mut kmirror = Kmirror::run(&config);
    // Running: the topic that existed at start is there.
    wait_until("kafka-a.orders-eu", Duration::from_secs(60), || {
        total_end_offset(b, "kafka-a.orders-eu") >= 5
    });

    // Created later: one matching the exclude list, then one matching.
    a.create_topic("orders-secret-keys", 1, 1, &[]);
    a.produce(
        "orders-secret-keys",
        &ProduceOptions::default(),
        &records("orders-secret-keys", 0..1, 10),
    );
    a.create_topic("orders-us", 2, 1, &[]);
    let created = Instant::now();
    // At most one interval until the next discovery; polled with a bound
    // of a few intervals.
    wait_until("kafka-a.orders-us to be created", REFRESH * 3, || {
        exists(b, "kafka-a.orders-us")
    });
    eprintln!(
        "kafka-a.orders-us created {:.2?} after orders-us (refresh interval {REFRESH:?})",
        created.elapsed()
    );
    a.produce(
        "orders-us",
        &ProduceOptions::default(),
        &records("orders-us", 0..2, 10),
    );
    let acked = Instant::now();
    wait_until("kafka-a.orders-us to fill", REFRESH * 3, || {
        total_end_offset(b, "kafka-a.orders-us") >= 20
    });
    eprintln!(
        "orders-us records on kafka-b {:.2?} after kafka-a acknowledged them",
        acked.elapsed()
    );
    assert_eq!(b.describe_topic("kafka-a.orders-us").partitions.len(), 2);
    assert_eq!(
        values(b, "kafka-a.orders-us", 20),
        values(a, "orders-us", 20),
        "orders-us mirrored record for record"
    );

    // Partitions grow: 2 -> 4, with records in the new ones.
    a.create_partitions("orders-us", 4);
    let grown = Instant::now();
    a.produce(
        "orders-us",
        &ProduceOptions::default(),
        &records("orders-us", 2..4, 10),
    );
    eprintln!(
        "records in the new partitions acknowledged {:.2?} after the growth",
        grown.elapsed()
    );
    wait_until(
        "kafka-a.orders-us to grow to 4 partitions and fill them",
        REFRESH * 4,
        || {
            exists(b, "kafka-a.orders-us")
                && b.end_offsets("kafka-a.orders-us").len() == 4
                && total_end_offset(b, "kafka-a.orders-us") >= 40
        },
    );
    eprintln!(
        "kafka-a.orders-us grown and its new partitions replicated {:.2?} after the source grew",
        grown.elapsed()
    );
    assert_eq!(
        values(b, "kafka-a.orders-us", 40),
        values(a, "orders-us", 40),
        "grown orders-us mirrored record for record"
    );

    // The excluded topic: never created, through at least two more
    // discoveries after the matching one was picked up.
    let watch_from = Instant::now();
    while watch_from.elapsed() < REFRESH * 2 {
        assert!(
            !exists(b, "kafka-a.orders-secret-keys"),
            "an excluded topic was replicated"
        );
        std::thread::sleep(Duration::from_millis(250));
    }
    assert!(
        !kmirror.log().contains("orders-secret-keys"),
        "{}",
        kmirror.log()
    );

    let status = kmirror.terminate(Duration::from_secs(10));
    assert!(status.success(), "exit status {status}");
}
