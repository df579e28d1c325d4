//! A single-node cluster, shared by this file's tests: the Java clients
//! round-trip records, transactions and admin operations.

mod common;

use std::collections::HashMap;
use std::time::{SystemTime, UNIX_EPOCH};

use kmirror_testbed::{
    random_topic_name, shared_cluster, Compression, ConsumeOptions, ConsumedRecord, GenOptions,
    GroupOffset, Isolation, ProduceOptions, ProduceStep, TestRecord, TimestampType,
};

fn records_for(compression: Compression) -> Vec<TestRecord> {
    let tag = compression.as_str();
    // Recent: a timestamp older than the 7-day retention would have its
    // segment deleted under the test's feet.
    let an_hour_ago = i64::try_from(
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap()
            .as_millis(),
    )
    .unwrap()
        - 3_600_000;
    vec![
        TestRecord::new()
            .key(format!("key-{tag}"))
            .value(format!("value-{tag}")),
        // Null key, explicit partition and timestamp, headers with a null value
        // and a repeated key.
        TestRecord::new()
            .value(format!("no key ({tag})"))
            .partition(2)
            .timestamp(an_hour_ago)
            .header("trace", Some(b"abc"))
            .header("empty", None)
            .header("trace", Some(&[0, 255, 7])),
        // Null value (a tombstone) and binary key.
        TestRecord::new().key(vec![0u8, 1, 2, 254]).partition(1),
        // A value big enough for the codec to matter.
        TestRecord::new()
            .key("big")
            .value("kmirror ".repeat(2000).into_bytes()),
    ]
}

#[test]
fn records_round_trip_with_every_compression() {
    let _serial = common::serial();
    let cluster = shared_cluster("single");
    let topic = random_topic_name("round-trip");
    cluster.create_topic(&topic, 3, 1, &[]);

    let mut sent: HashMap<(i32, i64), TestRecord> = HashMap::new();
    for compression in Compression::ALL {
        let records = records_for(compression);
        let options = ProduceOptions {
            compression,
            linger_ms: Some(5),
            ..ProduceOptions::default()
        };
        let acks = cluster.produce(&topic, &options, &records);
        assert_eq!(acks.len(), records.len());
        for (ack, record) in acks.into_iter().zip(records) {
            assert!(
                sent.insert(ack, record).is_none(),
                "offset {ack:?} acked twice"
            );
        }
    }

    let read = cluster.consume(&topic, &ConsumeOptions::committed(sent.len()));
    assert_eq!(read.len(), sent.len(), "read back {read:#?}");
    for record in &read {
        let original = &sent[&(record.partition, record.offset)];
        assert!(
            record.matches(original),
            "read {record:?}\nsent {original:?}"
        );
        assert_eq!(record.timestamp_type, TimestampType::CreateTime);
    }
    let ends: i64 = cluster.end_offsets(&topic).iter().sum();
    assert_eq!(ends, i64::try_from(sent.len()).unwrap());
}

#[test]
fn read_committed_skips_aborted_transactions() {
    let _serial = common::serial();
    let cluster = shared_cluster("single");
    let topic = random_topic_name("txn");
    cluster.create_topic(&topic, 1, 1, &[]);

    let record = |v: &str| ProduceStep::Record(TestRecord::new().key(v).value(v));
    let steps = vec![
        ProduceStep::Begin,
        record("committed-1"),
        record("committed-2"),
        ProduceStep::Commit,
        ProduceStep::Begin,
        record("aborted-1"),
        record("aborted-2"),
        ProduceStep::Abort,
        ProduceStep::Begin,
        record("committed-3"),
        ProduceStep::Commit,
        record("outside"),
    ];
    let options = ProduceOptions {
        transactional_id: Some(random_topic_name("txn-producer")),
        compression: Compression::Zstd,
        ..ProduceOptions::default()
    };
    // A transactional producer may not write outside a transaction, so the
    // last record goes in a second, plain session.
    let (transactional, plain) = steps.split_at(steps.len() - 1);
    let acks = cluster.produce_steps(&topic, &options, transactional);
    assert_eq!(acks.len(), 5);
    let plain_acks = cluster.produce_steps(&topic, &ProduceOptions::default(), plain);
    assert_eq!(plain_acks.len(), 1);

    let values = |records: &[ConsumedRecord]| -> Vec<String> {
        records
            .iter()
            .map(|r| String::from_utf8(r.value.clone().unwrap()).unwrap())
            .collect()
    };
    let committed = cluster.consume(&topic, &ConsumeOptions::committed(4));
    assert_eq!(
        values(&committed),
        ["committed-1", "committed-2", "committed-3", "outside"]
    );
    let aborted_offsets: Vec<i64> = acks[2..4].iter().map(|a| a.1).collect();
    assert!(committed
        .iter()
        .all(|r| !aborted_offsets.contains(&r.offset)));

    let everything = cluster.consume(
        &topic,
        &ConsumeOptions {
            isolation: Isolation::ReadUncommitted,
            max_records: Some(6),
            ..ConsumeOptions::default()
        },
    );
    assert_eq!(
        values(&everything),
        [
            "committed-1",
            "committed-2",
            "aborted-1",
            "aborted-2",
            "committed-3",
            "outside"
        ]
    );
    // Three commit/abort markers take an offset each.
    assert_eq!(cluster.end_offsets(&topic), vec![9]);
    assert_eq!(cluster.last_stable_offsets(&topic), vec![9]);
}

#[test]
fn admin_operations() {
    let _serial = common::serial();
    let cluster = shared_cluster("single");
    let topic = random_topic_name("admin");

    let created = cluster.create_topic(&topic, 2, 1, &[("cleanup.policy", "compact")]);
    assert_eq!(created.partitions.len(), 2);
    assert!(created.partitions.iter().all(|p| p.leader == Some(0)));
    assert!(cluster.list_topics().contains(&topic));
    assert!(!cluster.list_topics().iter().any(|t| t.starts_with("__")));

    let duplicate = cluster.try_create_topic(&topic, 1, 1, &[]).unwrap_err();
    assert_eq!(duplicate.error_class, "TopicExistsException");

    let config = cluster.topic_config(&topic);
    assert_eq!(
        config.overrides.get("cleanup.policy").map(String::as_str),
        Some("compact")
    );
    cluster.alter_topic_config(&topic, &[("retention.ms", "3600000")], &["cleanup.policy"]);
    let config = cluster.topic_config(&topic);
    assert_eq!(config.overrides.len(), 1, "{:?}", config.overrides);
    assert_eq!(config.values["retention.ms"], "3600000");
    assert_eq!(config.values["cleanup.policy"], "delete");

    cluster.create_partitions(&topic, 4);
    assert_eq!(cluster.leaders(&topic), vec![Some(0); 4]);
    let records: Vec<TestRecord> = (0..4)
        .map(|p| TestRecord::new().key("k").value("v").partition(p))
        .collect();
    cluster.produce(&topic, &ProduceOptions::default(), &records);
    assert_eq!(cluster.end_offsets(&topic), vec![1, 1, 1, 1]);
    assert_eq!(cluster.start_offsets(&topic), vec![0, 0, 0, 0]);

    let described = cluster.describe_cluster();
    assert_eq!(described.nodes, vec![0]);
    assert_eq!(described.cluster_id, cluster.cluster_id());

    cluster.delete_topic(&topic);
    assert!(!cluster.list_topics().contains(&topic));
}

#[test]
fn consumer_groups_commit_and_are_altered() {
    let _serial = common::serial();
    let cluster = shared_cluster("single");
    let topic = random_topic_name("groups");
    let group = random_topic_name("group");
    cluster.create_topic(&topic, 1, 1, &[]);
    let records: Vec<TestRecord> = (0..5)
        .map(|i| TestRecord::new().value(format!("v{i}")))
        .collect();
    cluster.produce(&topic, &ProduceOptions::default(), &records);

    let read = cluster.consume(
        &topic,
        &ConsumeOptions {
            group: Some(group.clone()),
            commit: true,
            max_records: Some(3),
            ..ConsumeOptions::default()
        },
    );
    assert_eq!(read.len(), 3);
    let committed = vec![GroupOffset {
        topic: topic.clone(),
        partition: 0,
        offset: 3,
    }];
    assert_eq!(cluster.group_offsets(&group), committed);
    assert!(cluster.list_groups().contains(&group));

    let moved = vec![GroupOffset {
        topic: topic.clone(),
        partition: 0,
        offset: 1,
    }];
    cluster.alter_group_offsets(&group, &moved);
    assert_eq!(cluster.group_offsets(&group), moved);
    // The group resumes where it was moved to.
    let resumed = cluster.consume(
        &topic,
        &ConsumeOptions {
            group: Some(group.clone()),
            max_records: Some(4),
            ..ConsumeOptions::default()
        },
    );
    assert_eq!(resumed.first().map(|r| r.offset), Some(1));
    assert_eq!(resumed.len(), 4);
}

#[test]
fn gen_spreads_a_bulk_load_over_partitions() {
    let _serial = common::serial();
    let cluster = shared_cluster("single");
    let topic = random_topic_name("gen");
    cluster.create_topic(&topic, 4, 1, &[]);
    let report = cluster.gen(
        &topic,
        &GenOptions {
            partitions_from_topic: true,
            compression: Compression::Lz4,
            ..GenOptions::new(2000, 200)
        },
    );
    assert_eq!(report.sent, 2000);
    assert!(report.bytes >= 2000 * 200);
    assert_eq!(cluster.end_offsets(&topic), vec![500; 4]);
}
