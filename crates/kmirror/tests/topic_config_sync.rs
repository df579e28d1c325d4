//! Topic config sync over time, as MM2 does it: with
//! `sync.topic.configs.interval.seconds = 1`, a `retention.ms` or
//! `cleanup.policy` change on the source topic reaches its remote topic, a
//! property `config.properties.exclude` names does not, and one the source
//! resets to its default is removed from the remote topic (MM2's default
//! `use.defaults.from = target`).

mod support;

use std::time::Duration;

use kmirror_testbed::{shared_cluster, KafkaCluster, ProduceOptions, TestRecord};
use support::{two_region_config, wait_until, Kmirror};

const TOPIC: &str = "cfgsync-orders";
const REMOTE: &str = "kafka-a.cfgsync-orders";
const BOUND: Duration = Duration::from_secs(30);

fn remote_override(b: &KafkaCluster, name: &str) -> Option<String> {
    if !b.list_topics().iter().any(|t| t == REMOTE) {
        return None;
    }
    b.topic_config(REMOTE).overrides.get(name).cloned()
}

#[test]
fn source_config_changes_reach_the_remote_topic_except_excluded_ones() {
    let a = shared_cluster("kafka-a");
    let b = shared_cluster("kafka-b");
    a.create_topic(TOPIC, 1, 1, &[("retention.ms", "3600000")]);
    a.produce(
        TOPIC,
        &ProduceOptions::default(),
        &[TestRecord::new().key("k").value("v")],
    );
    let (_dir, config) = two_region_config(
        a,
        b,
        "sync.topic.configs.interval.seconds = 1\n\
         kafka-a->kafka-b.topics = cfgsync-.*\n\
         kafka-a->kafka-b.config.properties.exclude = segment\\.ms\n",
    );
    let mut kmirror = Kmirror::run(&config);

    // Created with the source's own config.
    wait_until("the remote topic with retention.ms", BOUND, || {
        remote_override(b, "retention.ms").as_deref() == Some("3600000")
    });
    let before = b.topic_config(REMOTE).values["segment.ms"].clone();

    // Changed on the source: the remote topic follows, but for the
    // excluded property.
    a.alter_topic_config(
        TOPIC,
        &[
            ("retention.ms", "7200000"),
            ("cleanup.policy", "compact"),
            ("segment.ms", "600000"),
        ],
        &[],
    );
    wait_until(
        "retention.ms and cleanup.policy on the remote topic",
        BOUND,
        || {
            remote_override(b, "retention.ms").as_deref() == Some("7200000")
                && remote_override(b, "cleanup.policy").as_deref() == Some("compact")
        },
    );
    let remote = b.topic_config(REMOTE);
    assert_eq!(remote.values["segment.ms"], before, "excluded: {remote:?}");
    assert!(!remote.overrides.contains_key("segment.ms"), "{remote:?}");
    // Batches keep the source's codec: the remote topic keeps its own.
    assert_eq!(
        remote.overrides.get("compression.type").map(String::as_str),
        Some("producer")
    );

    // Reset to the default on the source: the remote topic follows its
    // own cluster's default again.
    a.alter_topic_config(TOPIC, &[], &["cleanup.policy"]);
    wait_until(
        "cleanup.policy removed from the remote topic",
        BOUND,
        || remote_override(b, "cleanup.policy").is_none(),
    );
    assert_eq!(
        remote_override(b, "retention.ms").as_deref(),
        Some("7200000")
    );
    assert!(
        kmirror.log().contains("remote topic configs synced"),
        "{}",
        kmirror.log()
    );
    let status = kmirror.terminate(Duration::from_secs(20));
    assert!(status.success(), "exit status {status}");
}
