//! A target leader dies mid-forward: idempotent resends to the new leader
//! lose nothing and duplicate nothing.

mod support;

use std::collections::HashSet;
use std::time::Duration;

use kmirror_testbed::{shared_cluster, ConsumeOptions, GenOptions, KafkaCluster};

#[test]
fn killing_the_target_leader_loses_and_duplicates_nothing() {
    let a = shared_cluster("kafka-a");
    let b = KafkaCluster::builder("kafka-b3")
        .brokers(3)
        .fast_broker_fencing()
        .start();
    let topic = kmirror_testbed::random_topic_name("leader-change");
    let remote = format!("kafka-a.{topic}");
    a.create_topic(&topic, 1, 1, &[]);
    b.create_topic(
        &remote,
        1,
        3,
        &[
            ("compression.type", "producer"),
            ("min.insync.replicas", "2"),
        ],
    );
    b.wait_until_in_sync(&remote, Duration::from_secs(30));

    // Many small batches so the kill lands while batches are in flight.
    let mut load = GenOptions::new(40_000, 200);
    load.batch_size = Some(2048);
    load.linger_ms = Some(0);
    let sent = a.gen(&topic, &load).sent;
    assert_eq!(sent, 40_000);

    // Broker i of the test bed has node id i.
    let leader_index = b.leaders(&remote)[0].expect("remote partition has a leader") as usize;

    let forwarded = forward_killing(a, &b, &topic, &remote, || b.kill_broker(leader_index));
    let batches = &forwarded[&0];
    let records: i64 = batches.iter().map(|f| f.records as i64).sum();
    assert_eq!(records, 40_000, "acknowledged records");

    let (on_b, options) = consume_each_once(&b, &remote);
    let on_a = a.consume(&topic, &options);
    let keys_a: Vec<_> = on_a.iter().map(|r| &r.key).collect();
    let keys_b: Vec<_> = on_b.iter().map(|r| &r.key).collect();
    assert_eq!(keys_a, keys_b, "order differs");
}

/// The source leader dies while its partition is being fetched: the fetcher
/// moves the partition to the new leader and the copy has every record once,
/// in order.
#[test]
fn killing_the_source_leader_loses_and_duplicates_nothing() {
    let a = KafkaCluster::builder("kafka-a3")
        .brokers(3)
        .fast_broker_fencing()
        .start();
    let b = shared_cluster("kafka-b");
    let topic = kmirror_testbed::random_topic_name("source-leader-change");
    let remote = format!("kafka-a.{topic}");
    a.create_topic(&topic, 1, 3, &[("min.insync.replicas", "2")]);
    a.wait_until_in_sync(&topic, Duration::from_secs(30));
    b.create_topic(&remote, 1, 1, &[("compression.type", "producer")]);

    let mut load = GenOptions::new(40_000, 200);
    load.batch_size = Some(2048);
    load.linger_ms = Some(0);
    assert_eq!(a.gen(&topic, &load).sent, 40_000);
    // Every record is on all three replicas before the kill.
    a.wait_until_in_sync(&topic, Duration::from_secs(30));
    let leader_index = a.leaders(&topic)[0].expect("source partition has a leader") as usize;

    let forwarded = forward_killing(&a, b, &topic, &remote, || a.kill_broker(leader_index));
    let batches = &forwarded[&0];
    let mut next = 0;
    for batch in batches {
        assert_eq!(
            batch.upstream_base, next,
            "upstream offsets forwarded in order, once each"
        );
        next = batch.upstream_next();
    }
    assert_eq!(next, 40_000, "every upstream offset forwarded");

    consume_each_once(b, &remote);
}

/// Forwards partition 0 of `topic` on `source` to `remote` on `target`,
/// calls `kill` once some batches have landed, and returns what was
/// forwarded.
fn forward_killing(
    source: &KafkaCluster,
    target: &KafkaCluster,
    topic: &str,
    remote: &str,
    kill: impl FnOnce(),
) -> std::collections::HashMap<i32, Vec<kmirror_engine::model::Forwarded>> {
    let rt = support::runtime();
    rt.block_on(async {
        let source = support::client(&source.bootstrap()).await;
        let target = support::client(&target.bootstrap()).await;
        let forward = support::forward_topic(&source, &target, topic, remote, 1, Duration::from_secs(120));
        tokio::pin!(forward);
        // Let some batches land, then kill.
        let kill_after = tokio::time::sleep(Duration::from_millis(300));
        tokio::select! {
            batches = &mut forward => panic!("finished before the kill ({} batches); make the load bigger", batches[&0].len()),
            _ = kill_after => {}
        }
        tokio::task::block_in_place(kill);
        forward.await
    })
}

/// The 40,000 records on `target`'s `remote`, each once; with the options
/// they were read with.
fn consume_each_once(
    target: &KafkaCluster,
    remote: &str,
) -> (Vec<kmirror_testbed::ConsumedRecord>, ConsumeOptions) {
    let mut options = ConsumeOptions::committed(40_000);
    options.idle_timeout = Duration::from_secs(15);
    let on_target = target.consume(remote, &options);
    assert_eq!(
        on_target.len(),
        40_000,
        "records on the target (loss or duplicates)"
    );
    let distinct: HashSet<&Option<Vec<u8>>> = on_target.iter().map(|r| &r.key).collect();
    assert_eq!(distinct.len(), 40_000, "duplicate keys on the target");
    (on_target, options)
}
