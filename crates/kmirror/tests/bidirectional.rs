//! The users' two-region deployment, end to end: `kmirror run` with their
//! mm2.properties (bootstrap addresses changed) replicates both ways at once,
//! byte for byte, never loops, emits MM2-format heartbeats and offset syncs,
//! and stops cleanly on SIGTERM.

mod support;

use std::time::Duration;

use kmirror_testbed::{
    shared_cluster, ConsumeOptions, ConsumedRecord, JavaCommand, KafkaCluster, ProduceOptions,
    TestRecord,
};
use support::{total_end_offset, two_region_config, wait_until, Kmirror};

const TOPICS: [(&str, i32); 2] = [("payment-events", 3), ("user-actions", 2)];
const PER_TOPIC: usize = 300;

fn records(region: &str, topic: &str) -> Vec<TestRecord> {
    (0..PER_TOPIC)
        .map(|i| {
            TestRecord::new()
                .key(format!("{region}-{topic}-{}", i % 37))
                .value(format!("{region}:{topic}:{i}"))
                .header("region", Some(region.as_bytes()))
        })
        .collect()
}

fn read_all(cluster: &KafkaCluster, topic: &str, count: usize) -> Vec<ConsumedRecord> {
    let mut options = ConsumeOptions::committed(count);
    options.idle_timeout = Duration::from_secs(5);
    let mut out = cluster.consume(topic, &options);
    out.sort_by_key(|r| (r.partition, r.offset));
    out
}

fn assert_mirrored(source: &[ConsumedRecord], target: &[ConsumedRecord]) {
    assert_eq!(source.len(), target.len());
    for (s, t) in source.iter().zip(target) {
        assert_eq!(
            (s.partition, &s.key, &s.value, &s.headers, s.timestamp),
            (t.partition, &t.key, &t.value, &t.headers, t.timestamp)
        );
    }
}

fn formatted(cluster: &KafkaCluster, topic: &str, formatter: &str, max: usize) -> String {
    let output = JavaCommand::new("org.apache.kafka.tools.consumer.ConsoleConsumer")
        .args([
            "--bootstrap-server",
            &cluster.bootstrap(),
            "--topic",
            topic,
            "--from-beginning",
            "--max-messages",
            &max.to_string(),
            "--timeout-ms",
            "10000",
            "--formatter",
            formatter,
        ])
        .timeout(Duration::from_secs(60))
        .run(b"");
    String::from_utf8_lossy(&output.stdout).to_string()
}

#[test]
fn two_regions_replicate_both_ways_without_loops() {
    let a = shared_cluster("kafka-a");
    let b = shared_cluster("kafka-b");
    for cluster in [a, b] {
        for (topic, partitions) in TOPICS {
            cluster.create_topic(topic, partitions, 1, &[]);
        }
    }
    // Short refresh so "three refresh intervals" is quick.
    let (_dir, config) = two_region_config(a, b, "refresh.topics.interval.seconds = 3");
    let mut kmirror = Kmirror::run(&config);

    for (region, cluster) in [("a", a), ("b", b)] {
        for (topic, _) in TOPICS {
            cluster.produce(topic, &ProduceOptions::default(), &records(region, topic));
        }
    }

    for (topic, _) in TOPICS {
        for (source, target, alias) in [(a, b, "kafka-a"), (b, a, "kafka-b")] {
            let remote = format!("{alias}.{topic}");
            wait_until(
                &format!("{remote} caught up"),
                Duration::from_secs(60),
                || total_end_offset(target, &remote) >= PER_TOPIC as i64,
            );
            assert_mirrored(
                &read_all(source, topic, PER_TOPIC),
                &read_all(target, &remote, PER_TOPIC),
            );
        }
    }

    // Heartbeats: written by each flow to its target, and replicated onward
    // exactly once.
    wait_until("replicated heartbeats", Duration::from_secs(60), || {
        total_end_offset(b, "kafka-a.heartbeats") > 0
            && total_end_offset(a, "kafka-b.heartbeats") > 0
    });
    let heartbeats = formatted(
        b,
        "heartbeats",
        "org.apache.kafka.connect.mirror.formatters.HeartbeatFormatter",
        3,
    );
    assert!(
        heartbeats.contains("sourceClusterAlias=kafka-a"),
        "{heartbeats}"
    );
    assert!(
        heartbeats.contains("targetClusterAlias=kafka-b"),
        "{heartbeats}"
    );
    let syncs = formatted(
        a,
        "mm2-offset-syncs.kafka-b.internal",
        "org.apache.kafka.connect.mirror.formatters.OffsetSyncFormatter",
        3,
    );
    assert!(
        syncs.contains("topicPartition=payment-events-")
            || syncs.contains("topicPartition=user-actions-"),
        "{syncs}"
    );

    // Three refresh intervals later: no topic carries two aliases, and the
    // record counts have not moved.
    let counts = |c: &KafkaCluster| -> Vec<(String, i64)> {
        let mut topics = c.list_topics();
        topics.sort();
        topics
            .into_iter()
            .filter(|t| !t.contains("heartbeats") && !t.ends_with(".internal"))
            .map(|t| {
                let n = total_end_offset(c, &t);
                (t, n)
            })
            .collect()
    };
    let before = (counts(a), counts(b));
    let started = std::time::Instant::now();
    while started.elapsed() < Duration::from_secs(10) {
        for cluster in [a, b] {
            for topic in cluster.list_topics() {
                let aliases = ["kafka-a.", "kafka-b."]
                    .iter()
                    .filter(|p| topic.contains(*p))
                    .count();
                assert!(
                    aliases <= 1
                        && !topic.starts_with("kafka-a.kafka-")
                        && !topic.starts_with("kafka-b.kafka-"),
                    "looping topic {topic} on {}",
                    cluster.name()
                );
            }
        }
        std::thread::sleep(Duration::from_millis(500));
    }
    assert_eq!(
        before,
        (counts(a), counts(b)),
        "record counts moved with no new traffic"
    );

    let status = kmirror.terminate(Duration::from_secs(10));
    assert!(
        status.success(),
        "exit status {status}; log:\n{}",
        kmirror.log()
    );
}
