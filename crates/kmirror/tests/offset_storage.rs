//! `offset.storage.replication.factor`, a Connect worker setting MM2 takes
//! per target cluster, is honoured for MM2's offsets topic
//! (`mm2-offsets.<source>.internal`), which kmirror creates on the target.
//! Its own binary: it needs a target of two brokers.

mod support;

use std::time::Duration;

use kmirror_testbed::{random_topic_name, shared_cluster, KafkaCluster};
use support::{wait_until, Kmirror};

#[test]
fn the_offsets_topic_gets_the_configured_replication_factor() {
    let a = shared_cluster("kafka-a");
    let b = KafkaCluster::builder("kafka-b2").brokers(2).start();
    let topic = random_topic_name("offset-storage");
    a.create_topic(&topic, 1, 1, &[]);
    // Every other topic gets one replica: only the offsets topic has two,
    // which it could only get from the setting (kmirror used to create it
    // with the flow's `replication.factor`).
    let config = format!(
        "clusters = kafka-a, kafka-b\n\
         kafka-a.bootstrap.servers = {}\n\
         kafka-b.bootstrap.servers = {}\n\
         kafka-a->kafka-b.enabled = true\n\
         kafka-a->kafka-b.topics = {topic}\n\
         replication.factor = 1\n\
         heartbeats.topic.replication.factor = 1\n\
         checkpoints.topic.replication.factor = 1\n\
         offset-syncs.topic.replication.factor = 1\n\
         offset.storage.replication.factor = 1\n\
         kafka-b.offset.storage.replication.factor = 2\n",
        a.bootstrap(),
        b.bootstrap()
    );
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("mm2.properties");
    std::fs::write(&path, config).unwrap();
    let mut kmirror = Kmirror::start(&["run", path.to_str().unwrap(), "--strict"]);
    let offsets = "mm2-offsets.kafka-a.internal";
    wait_until(
        "kmirror creates the offsets topic",
        Duration::from_secs(90),
        || b.list_topics().iter().any(|t| t == offsets),
    );
    let description = b.describe_topic(offsets);
    assert!(!description.partitions.is_empty());
    for partition in &description.partitions {
        assert_eq!(partition.replicas.len(), 2, "{partition:?}");
    }
    let remote = format!("kafka-a.{topic}");
    wait_until("the remote topic exists", Duration::from_secs(60), || {
        b.list_topics().contains(&remote)
    });
    assert_eq!(b.describe_topic(&remote).partitions[0].replicas.len(), 1);
    let log = kmirror.log();
    assert!(!log.contains("not honoured"), "{log}");
    kmirror.terminate(Duration::from_secs(15));
}
