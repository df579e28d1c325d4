//! A partition sender is used from `select!` loops (the engine's forwarder
//! and its stop path drop `next_ack` and `send` whenever something else is
//! ready), so dropping either at any await must lose no batch and forget no
//! attempt still out. Before this was so, a drop while a resend looked up
//! the leader lost the whole window (and a drop inside `send` its batch):
//! batches already handed to a request could land unacknowledged, and the
//! partition's next sender (after a pause, or after a worker lost its group
//! membership and stopped its share) copied them again. That is the likely
//! source of the duplicates seen once in the 10,000-partition benchmark
//! (docs/BENCHMARKS.md).

mod common;

use std::time::Duration;

use common::{topic_and_client, WAIT};
use kmirror_client::admin::NewTopic;
use kmirror_client::produce::{init_producer_id, PartitionSender, SendConfig};
use kmirror_client::records::{encode, read_key_values_range};

/// Batches sent, one record each.
const BATCHES: usize = 40;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dropping_send_and_next_ack_at_any_point_loses_and_duplicates_nothing() {
    // A client of the shared cluster; the topic written is created only
    // once the sender is already resending, as the target of a new flow
    // creates its remote topics while the first batches go out.
    let (_, _, client) = topic_and_client("produce-cancel-other", 1).await;
    let topic = kmirror_testbed::random_topic_name("produce-cancel");
    let identity = init_producer_id(&client).await.expect("producer id");
    let config = SendConfig {
        retry_backoff: Duration::from_millis(2),
        retry_backoff_max: Duration::from_millis(20),
        missing_topic_timeout: WAIT,
        delivery_timeout: WAIT,
        ..SendConfig::for_client(&client)
    };
    let mut sender: PartitionSender<usize> =
        PartitionSender::new(client.clone(), &topic, 0, identity, config);

    let creator = {
        let (client, topic) = (client.clone(), topic.clone());
        tokio::spawn(async move {
            tokio::time::sleep(Duration::from_millis(400)).await;
            let created = client
                .admin()
                .create_topics(&[NewTopic::new(topic.as_str(), 1, 1)], false)
                .await
                .expect("create topic");
            for (name, outcome) in created {
                outcome.unwrap_or_else(|e| panic!("create {name}: {e}"));
            }
        })
    };

    // Every call gets a few milliseconds, then is dropped wherever it is:
    // over the run that cuts sends and acks at each of their awaits.
    let cut = |round: usize| Duration::from_micros(200 + (round as u64 * 3_967) % 40_000);
    let deadline = tokio::time::Instant::now() + WAIT;
    let mut sent = 0;
    let mut acked: Vec<(usize, i64)> = Vec::new();
    let mut round = 0;
    while acked.len() < BATCHES {
        assert!(
            tokio::time::Instant::now() < deadline,
            "{} of {BATCHES} batches acknowledged within {WAIT:?}",
            acked.len()
        );
        round += 1;
        if sent < BATCHES && sender.has_room() {
            let batch = encode(
                &[(
                    format!("key {sent}").into_bytes(),
                    Some(format!("record {sent}").into_bytes()),
                )],
                1_700_000_000_000 + sent as i64,
            );
            // A send cut short still counts as sent: its batch must be in
            // the window, and go out with the next resend.
            let _ = tokio::time::timeout(cut(round), sender.send(&batch, sent)).await;
            sent += 1;
            continue;
        }
        assert!(
            sender.in_flight() > 0,
            "the sender forgot batches: {sent} sent, {} acknowledged, none in flight",
            acked.len()
        );
        match tokio::time::timeout(cut(round), sender.next_ack()).await {
            Err(_) => {}
            Ok(Some(Ok(ack))) => acked.push((ack.tag, ack.base_offset)),
            Ok(Some(Err(e))) => panic!("the sender gave up: {e}"),
            Ok(None) => panic!("nothing in flight with {} acknowledged", acked.len()),
        }
    }
    creator.await.expect("topic creator");

    // In order, each once, at consecutive offsets.
    let expected: Vec<(usize, i64)> = (0..BATCHES).map(|i| (i, i as i64)).collect();
    assert_eq!(acked, expected);
    let records = read_key_values_range(&client, &topic, 0, 0, i64::MAX, WAIT)
        .await
        .expect("read back");
    let values: Vec<String> = records
        .iter()
        .map(|r| String::from_utf8(r.value.clone().expect("a value").to_vec()).unwrap())
        .collect();
    let sent_values: Vec<String> = (0..BATCHES).map(|i| format!("record {i}")).collect();
    assert_eq!(values, sent_values, "the partition holds each record once");
}
