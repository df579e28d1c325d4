//! The raw data path against real clusters: what the Java producer wrote to
//! cluster A, forwarded batch by batch by kmirror, is what the Java consumer
//! reads on cluster B; payloads travel byte for byte; leader changes on the
//! target lose and duplicate nothing.

mod support;

use std::time::Duration;

use kmirror_client::fetch::Isolation;
use kmirror_client::read::{read_at, ReadOptions};
use kmirror_client::KafkaClient;
use kmirror_testbed::{
    shared_cluster, Compression, ConsumeOptions, ConsumedRecord, KafkaCluster, ProduceOptions,
    ProduceStep, TestRecord,
};
use kmirror_wire::batch::RawBatch;

const BIG: usize = 1024 * 1024;
const TOPIC_LIMITS: [(&str, &str); 1] = [("max.message.bytes", "4194304")];

fn varied_records(tag: &str) -> Vec<TestRecord> {
    let mut records = vec![
        TestRecord::new().value(format!("{tag}-null-key")),
        TestRecord::new().key("k1").value(format!("{tag}-with-key")),
        TestRecord::new()
            .key("k2")
            .value(format!("{tag}-headers"))
            .header("trace-id", Some(b"abc"))
            .header("null-header", None)
            .header("trace-id", Some(b"repeated")),
        TestRecord::new().key("k3").value(Vec::new()),
        TestRecord::new().key("k4"),
        TestRecord::new()
            .key("explicit-ts")
            .value("old")
            .timestamp(1_600_000_000_123),
    ];
    let big: Vec<u8> = (0..BIG).map(|i| (i * 31 % 251) as u8).collect();
    records.push(TestRecord::new().key("big").value(big));
    records
}

fn produce_options(compression: Compression, transactional: Option<String>) -> ProduceOptions {
    ProduceOptions {
        compression,
        transactional_id: transactional,
        props: vec![("max.request.size".into(), "4194304".into())],
        ..ProduceOptions::default()
    }
}

fn consume_all(cluster: &KafkaCluster, topic: &str, count: usize) -> Vec<ConsumedRecord> {
    let mut options = ConsumeOptions::committed(count);
    options.props = vec![("max.partition.fetch.bytes".into(), "8388608".into())];
    options.idle_timeout = Duration::from_secs(10);
    let mut records = cluster.consume(topic, &options);
    records.sort_by_key(|r| (r.partition, r.offset));
    records
}

fn assert_same_records(a: &[ConsumedRecord], b: &[ConsumedRecord]) {
    assert_eq!(a.len(), b.len(), "record counts differ");
    for (x, y) in a.iter().zip(b) {
        assert_eq!(x.partition, y.partition);
        assert_eq!(x.key, y.key, "key at {}-{}", x.partition, x.offset);
        assert_eq!(x.value, y.value, "value at {}-{}", x.partition, x.offset);
        assert_eq!(
            x.headers, y.headers,
            "headers at {}-{}",
            x.partition, x.offset
        );
        assert_eq!(
            x.timestamp, y.timestamp,
            "timestamp at {}-{}",
            x.partition, x.offset
        );
    }
}

async fn raw_batches(client: &KafkaClient, topic: &str, partition: i32) -> Vec<RawBatch> {
    client
        .refresh_metadata(Some(&[topic.to_string()]))
        .await
        .unwrap();
    let options = ReadOptions {
        max_wait: Duration::from_millis(10),
        max_bytes: 8 * 1024 * 1024,
        isolation: Isolation::ReadUncommitted,
    };
    let mut offset = 0;
    let mut out = Vec::new();
    loop {
        let data = read_at(client, topic, partition, offset, options)
            .await
            .unwrap();
        out.extend(data.batches);
        if data.next_offset >= data.high_watermark || data.next_offset == offset {
            return out;
        }
        offset = data.next_offset;
    }
}

/// Every codec, every record shape, a committed and an aborted transaction.
#[test]
fn java_records_arrive_identical_for_every_codec() {
    let a = shared_cluster("kafka-a");
    let b = shared_cluster("kafka-b");
    let rt = support::runtime();
    for compression in Compression::ALL {
        let topic = kmirror_testbed::random_topic_name(&format!("fwd-{}", compression.as_str()));
        let remote = format!("kafka-a.{topic}");
        a.create_topic(&topic, 2, 1, &TOPIC_LIMITS);
        b.create_topic(
            &remote,
            2,
            1,
            &[TOPIC_LIMITS[0], ("compression.type", "producer")],
        );

        let plain = varied_records("plain");
        a.produce(&topic, &produce_options(compression, None), &plain);
        let mut steps = vec![ProduceStep::Begin];
        steps.extend(
            varied_records("committed")
                .into_iter()
                .take(3)
                .map(ProduceStep::from),
        );
        steps.push(ProduceStep::Commit);
        steps.push(ProduceStep::Begin);
        steps.extend((0..3).map(|i| {
            ProduceStep::from(TestRecord::new().key("gone").value(format!("aborted-{i}")))
        }));
        steps.push(ProduceStep::Abort);
        steps.push(ProduceStep::Begin);
        steps.push(ProduceStep::from(
            TestRecord::new().key("after").value("after-abort"),
        ));
        steps.push(ProduceStep::Commit);
        a.produce_steps(
            &topic,
            &produce_options(compression, Some(format!("txn-{topic}"))),
            &steps,
        );
        let expected = plain.len() + 3 + 1;

        rt.block_on(async {
            let source = support::client(&a.bootstrap()).await;
            let target = support::client(&b.bootstrap()).await;
            support::forward_topic(&source, &target, &topic, &remote, 2, Duration::from_secs(60)).await;

            // The payload after the 61-byte header is byte-identical.
            for p in 0..2 {
                let upstream: Vec<RawBatch> = raw_batches(&source, &topic, p)
                    .await
                    .into_iter()
                    .filter(|b| !b.header.is_control())
                    .collect();
                let downstream = raw_batches(&target, &remote, p).await;
                // Every downstream batch carries an upstream payload byte
                // for byte, in the same order; only the (at most three)
                // batches of the aborted transaction are missing.
                let mut cursor = upstream.iter();
                for d in &downstream {
                    assert!(
                        cursor.any(|u| u.payload() == d.payload() && u.header.records_count == d.header.records_count),
                        "{compression:?}: downstream batch at {} has no identical upstream payload in order",
                        d.header.base_offset
                    );
                }
                let missing = upstream.len() - downstream.len();
                assert!(missing <= 3, "{compression:?}: {missing} batches missing");
                for d in &downstream {
                    assert_eq!(d.header.compression(), upstream[0].header.compression());
                }
            }
        });

        let on_a = consume_all(a, &topic, expected);
        let on_b = consume_all(b, &remote, expected);
        assert_eq!(on_a.len(), expected, "{compression:?}: source count");
        assert_same_records(&on_a, &on_b);
        assert!(
            on_b.iter().all(|r| !r
                .value
                .as_deref()
                .unwrap_or_default()
                .starts_with(b"aborted")),
            "{compression:?}: aborted records reached the target"
        );
    }
}

/// A LogAppendTime source topic: consumers on the target see the source
/// broker's append time, as consumers on the source do, for every codec.
#[test]
fn log_append_time_survives_forwarding() {
    let a = shared_cluster("kafka-a");
    let b = shared_cluster("kafka-b");
    let rt = support::runtime();
    for compression in Compression::ALL {
        let topic = kmirror_testbed::random_topic_name(&format!("lat-{}", compression.as_str()));
        let remote = format!("kafka-a.{topic}");
        a.create_topic(&topic, 1, 1, &[("message.timestamp.type", "LogAppendTime")]);
        b.create_topic(&remote, 1, 1, &[("compression.type", "producer")]);
        let records: Vec<TestRecord> = (0..50)
            .map(|i| {
                TestRecord::new()
                    .key(format!("k{i}"))
                    .value(format!("v{i}"))
                    .header("h", Some(b"x"))
                    .timestamp(1_700_000_000_000 + i)
            })
            .collect();
        a.produce(&topic, &produce_options(compression, None), &records);
        rt.block_on(async {
            let source = support::client(&a.bootstrap()).await;
            let target = support::client(&b.bootstrap()).await;
            support::forward_topic(
                &source,
                &target,
                &topic,
                &remote,
                1,
                Duration::from_secs(60),
            )
            .await;
        });
        let on_a = consume_all(a, &topic, 50);
        let on_b = consume_all(b, &remote, 50);
        assert_eq!(on_a.len(), 50);
        // The producer's own timestamps were replaced by the broker's.
        assert!(
            on_a.iter().all(|r| r.timestamp > 1_700_000_100_000),
            "{compression:?}"
        );
        assert_same_records(&on_a, &on_b);
    }
}
