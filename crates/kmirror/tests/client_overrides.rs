//! Kafka client overrides reach kmirror's clients, against real brokers:
//!
//! - `kafka-b.producer.max.request.size` below a source batch pauses its
//!   partition with a message naming the key and value (the batches before
//!   it are copied, none after it), and raising the limit resumes it; with
//!   tiny `kafka-a.consumer.*` fetch sizes, other overrides set, and a
//!   not-applicable setting listed once with its reason;
//! - the same through Connect's `producer.override.*` in connector JSON,
//!   with `acks=1` honoured after a warning naming the flow;
//! - `client.rack` on a three-rack source cluster with a rack-aware replica
//!   selector: kmirror reads from the follower in its rack (KIP-392), and
//!   from the leader again when that follower stops.

mod support;

use std::path::Path;
use std::time::Duration;

use kmirror_testbed::{shared_cluster, ConsumeOptions, KafkaCluster, ProduceOptions, TestRecord};
use support::{total_end_offset, wait_until, Kmirror};

const TIMEOUT: Duration = Duration::from_secs(90);

/// A unique topic name for this run.
fn topic(name: &str) -> String {
    format!("{name}-{}", std::process::id())
}

fn small_records(from: usize, count: usize) -> Vec<TestRecord> {
    (from..from + count)
        .map(|i| {
            TestRecord::new()
                .key(format!("k{i}"))
                .value(format!("v{i}"))
        })
        .collect()
}

/// One record of `bytes` pseudo-random hex characters (barely compressible),
/// so that its batch is larger than `bytes / 2` whatever the codec.
fn big_record(bytes: usize) -> TestRecord {
    let mut state: u64 = 0x9E37_79B9_7F4A_7C15;
    let value: String = (0..bytes)
        .map(|_| {
            state = state
                .wrapping_mul(6_364_136_223_846_793_005)
                .wrapping_add(1_442_695_040_888_963_407);
            char::from_digit(((state >> 33) % 16) as u32, 16).unwrap()
        })
        .collect();
    TestRecord::new().key("big").value(value)
}

/// Produces the records of each group in its own call, so that each group
/// is at least one batch of its own.
fn produce_groups(cluster: &KafkaCluster, topic: &str, groups: &[Vec<TestRecord>]) {
    for records in groups {
        cluster.produce(topic, &ProduceOptions::default(), records);
    }
}

fn values(cluster: &KafkaCluster, topic: &str, count: usize) -> Vec<String> {
    let mut options = ConsumeOptions::committed(count);
    options.idle_timeout = Duration::from_secs(5);
    let mut read = cluster.consume(topic, &options);
    read.sort_by_key(|r| r.offset);
    read.into_iter()
        .map(|r| String::from_utf8(r.value.unwrap()).unwrap())
        .collect()
}

fn base_config(a: &KafkaCluster, b: &KafkaCluster, topic: &str) -> String {
    format!(
        "clusters = kafka-a, kafka-b\n\
         kafka-a.bootstrap.servers = {}\n\
         kafka-b.bootstrap.servers = {}\n\
         kafka-a->kafka-b.enabled = true\n\
         kafka-a->kafka-b.topics = {topic}\n\
         emit.heartbeats.enabled = false\n\
         replication.factor = 1\n\
         checkpoints.topic.replication.factor = 1\n\
         heartbeats.topic.replication.factor = 1\n\
         offset-syncs.topic.replication.factor = 1\n",
        a.bootstrap(),
        b.bootstrap(),
    )
}

fn write(path: &Path, text: &str) {
    std::fs::write(path, text).unwrap();
}

#[test]
fn max_request_size_below_a_batch_pauses_its_partition_and_raising_it_resumes() {
    let a = shared_cluster("kafka-a");
    let b = shared_cluster("kafka-b");
    let topic = topic("sized");
    let remote = format!("kafka-a.{topic}");
    a.create_topic(&topic, 1, 1, &[]);
    produce_groups(
        a,
        &topic,
        &[
            small_records(0, 40),
            vec![big_record(30_000)],
            small_records(40, 10),
        ],
    );

    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("mm2.properties");
    let overrides = "kafka-a.consumer.max.partition.fetch.bytes = 512\n\
                     kafka-a.consumer.fetch.max.bytes = 1024\n\
                     kafka-a.consumer.fetch.max.wait.ms = 100\n\
                     kafka-a.consumer.client.id = reader-a\n\
                     kafka-a.consumer.receive.buffer.bytes = 65536\n\
                     kafka-a->kafka-b.producer.client.id = writer-b\n\
                     kafka-b.producer.max.in.flight.requests.per.connection = 1\n\
                     kafka-b.producer.send.buffer.bytes = 65536\n\
                     kafka-b.producer.linger.ms = 5\n";
    let base = base_config(a, b, &topic);
    write(
        &path,
        &format!("{base}{overrides}kafka-b.producer.max.request.size = 10000\n"),
    );

    let mut kmirror = Kmirror::run(&path);
    let message = "more than kafka-b.producer.max.request.size = 10000; raise kafka-b.producer.max.request.size";
    wait_until("the partition paused for its large batch", TIMEOUT, || {
        kmirror.log().contains(message)
    });
    // Every batch before the large one is on the target, none after it.
    wait_until("the 40 records before the large batch", TIMEOUT, || {
        total_end_offset(b, &remote) == 40
    });
    let log = kmirror.log();
    assert_eq!(
        log.lines()
            .filter(|l| l.contains("kafka-b.producer.linger.ms")
                && l.contains("not applicable to batch pass-through"))
            .count(),
        1,
        "linger.ms listed once as not applicable:\n{log}"
    );
    assert!(
        !log.lines()
            .any(|l| l.contains("not honoured") && l.contains("max.partition.fetch.bytes")),
        "an honoured override is called not honoured:\n{log}"
    );
    // Paused again after its retry: still nothing past the large batch.
    wait_until("the partition paused a second time", TIMEOUT, || {
        kmirror.log().matches(message).count() >= 2
    });
    assert_eq!(
        total_end_offset(b, &remote),
        40,
        "nothing passes the large batch"
    );
    assert!(kmirror.terminate(Duration::from_secs(20)).success());

    write(
        &path,
        &format!("{base}{overrides}kafka-b.producer.max.request.size = 1048576\n"),
    );
    let _kmirror = Kmirror::run(&path);
    wait_until("every record after raising the limit", TIMEOUT, || {
        total_end_offset(b, &remote) == 51
    });
    assert_eq!(values(b, &remote, 51), values(a, &topic, 51));
}

#[test]
fn connector_json_producer_override_reaches_the_producer() {
    let a = shared_cluster("kafka-a");
    let b = shared_cluster("kafka-b");
    let topic = topic("json-sized");
    a.create_topic(&topic, 1, 1, &[]);
    produce_groups(a, &topic, &[small_records(0, 5), vec![big_record(30_000)]]);

    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("connector.json");
    let json = serde_json::json!({
        "name": "mirror-source",
        "config": {
            "connector.class": "org.apache.kafka.connect.mirror.MirrorSourceConnector",
            "source.cluster.alias": "kafka-a",
            "target.cluster.alias": "kafka-b",
            "source.cluster.bootstrap.servers": a.bootstrap(),
            "target.cluster.bootstrap.servers": b.bootstrap(),
            "topics": topic,
            "emit.heartbeats.enabled": "false",
            "replication.factor": "1",
            "offset-syncs.topic.replication.factor": "1",
            "target.producer.max.request.size": "2000000",
            "producer.override.max.request.size": "10000",
            "producer.override.acks": "1"
        }
    });
    write(&path, &serde_json::to_string_pretty(&json).unwrap());

    let kmirror = Kmirror::run(&path);
    wait_until("the partition paused for its large batch", TIMEOUT, || {
        kmirror
            .log()
            .contains("more than producer.override.max.request.size = 10000")
    });
    // Written with acks=1, after a warning naming the flow and the key.
    wait_until("the 5 records before the large batch", TIMEOUT, || {
        total_end_offset(b, &format!("kafka-a.{topic}")) == 5
    });
    let log = kmirror.log();
    let warnings: Vec<&str> = log
        .lines()
        .filter(|l| l.contains("WARN") && l.contains("acks=1"))
        .collect();
    assert_eq!(warnings.len(), 1, "one acks warning:\n{log}");
    assert!(
        warnings[0].contains("flow=kafka-a->kafka-b")
            && warnings[0].contains("producer.override.acks"),
        "{}",
        warnings[0]
    );
}

#[test]
fn client_rack_fetches_from_the_follower_in_the_same_rack() {
    let source = KafkaCluster::builder("kafka-racks")
        .brokers(3)
        .racks(&["rack-0", "rack-1", "rack-2"])
        .broker_prop(
            "replica.selector.class",
            "org.apache.kafka.common.replica.RackAwareReplicaSelector",
        )
        .start();
    let b = shared_cluster("kafka-b");
    let topic = topic("racked");
    source.create_topic(&topic, 1, 3, &[]);
    let description = source.wait_until_in_sync(&topic, TIMEOUT);
    let leader = description.partitions[0].leader.expect("a leader");
    let follower = description.partitions[0]
        .replicas
        .iter()
        .copied()
        .find(|&r| r != leader)
        .expect("a follower");
    source.produce(&topic, &ProduceOptions::default(), &small_records(0, 100));

    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("mm2.properties");
    let config = format!(
        "clusters = kafka-racks, kafka-b\n\
         kafka-racks.bootstrap.servers = {}\n\
         kafka-b.bootstrap.servers = {}\n\
         kafka-racks->kafka-b.enabled = true\n\
         kafka-racks->kafka-b.topics = {topic}\n\
         emit.heartbeats.enabled = false\n\
         replication.factor = 1\n\
         checkpoints.topic.replication.factor = 1\n\
         offset-syncs.topic.replication.factor = 3\n\
         kafka-racks.consumer.client.rack = rack-{follower}\n",
        source.bootstrap(),
        b.bootstrap(),
    );
    write(&path, &config);

    let kmirror = Kmirror::run(&path);
    let remote = format!("kafka-racks.{topic}");
    let chosen = format!("replica={follower} leader={leader} rack=rack-{follower}");
    wait_until(
        "kmirror fetching from the follower in its rack",
        TIMEOUT,
        || {
            kmirror.log().lines().any(|l| {
                l.contains("fetching from the replica the leader chose for client.rack")
                    && l.contains(&chosen)
            })
        },
    );
    wait_until("the first 100 records", TIMEOUT, || {
        total_end_offset(b, &remote) == 100
    });
    // Records produced while kmirror reads from the follower arrive too,
    // and it never had to fall back to the leader.
    source.produce(&topic, &ProduceOptions::default(), &small_records(100, 50));
    wait_until("the next 50 records", TIMEOUT, || {
        total_end_offset(b, &remote) == 150
    });
    assert_eq!(values(b, &remote, 150), values(&source, &topic, 150));
    let log = kmirror.log();
    assert!(
        !log.contains("fetching from the leader again"),
        "fell back to the leader:\n{log}"
    );

    // The follower goes away: kmirror reads from the leader again, as the
    // Java consumer does, and nothing is lost.
    source.stop_broker(usize::try_from(follower).unwrap());
    source.produce(&topic, &ProduceOptions::default(), &small_records(150, 50));
    wait_until("the fall-back to the leader", TIMEOUT, || {
        kmirror.log().lines().any(|l| {
            l.contains("fetching from the leader again: the preferred replica failed")
                && l.contains(&format!("replica={follower}"))
        })
    });
    wait_until("the records produced without the follower", TIMEOUT, || {
        total_end_offset(b, &remote) == 200
    });
    assert_eq!(values(b, &remote, 200), values(&source, &topic, 200));
}
