//! MM2's `topics` and `topics.exclude` are Java regexes: a file using
//! lookaround loads and selects topics as MM2 would. With
//! `topics = (?!secret\.).*` and `topics.exclude = .*(?<=\.tmp)`, `orders` is
//! replicated while `secret.x` and `orders.tmp` never reach the target.

mod support;

use std::time::Duration;

use kmirror_testbed::{shared_cluster, ProduceOptions, TestRecord};
use support::{total_end_offset, two_region_config, wait_until, Kmirror};

#[test]
fn lookaround_filters_select_topics_as_in_mm2() {
    let a = shared_cluster("kafka-a");
    let b = shared_cluster("kafka-b");
    // The excluded topics get their records first: by the time `orders` is
    // mirrored, the flow has seen and judged all three.
    for topic in ["secret.x", "orders.tmp", "orders"] {
        a.create_topic(topic, 1, 1, &[]);
        let records: Vec<TestRecord> = (0..5)
            .map(|i| TestRecord::new().value(format!("{topic}:{i}")))
            .collect();
        a.produce(topic, &ProduceOptions::default(), &records);
    }
    // Backslashes doubled, as in any properties file.
    let (_dir, config) = two_region_config(
        a,
        b,
        "kafka-a->kafka-b.topics = (?!secret\\\\.).*\n\
         kafka-a->kafka-b.topics.exclude = .*(?<=\\\\.tmp)",
    );
    let mut kmirror = Kmirror::run(&config);
    wait_until(
        "kafka-a.orders to be mirrored",
        Duration::from_secs(60),
        || total_end_offset(b, "kafka-a.orders") >= 5,
    );
    let topics = b.list_topics();
    for excluded in ["kafka-a.secret.x", "kafka-a.orders.tmp"] {
        assert!(
            !topics.iter().any(|t| t == excluded),
            "{excluded} was replicated: {topics:?}"
        );
    }
    let log = kmirror.log();
    assert!(!log.contains("secret.x"), "{log}");
    assert!(!log.contains("invalid regex"), "{log}");

    let status = kmirror.terminate(Duration::from_secs(10));
    assert!(status.success(), "exit status {status}");
}
