//! A sender waits out "unknown topic or partition" longer on a topic its
//! own client created a moment ago (the brokers are still bringing it up),
//! as long as the sender has not written there yet,
//! than on one it did not (deleted, most likely): see
//! `kmirror_client::new_topics`. At 10,000 partitions the short patience
//! paused 8,000 partitions of a fresh flow while the target made their logs.

mod common;

use std::time::Duration;

use common::{topic_and_client, WAIT};
use kmirror_client::admin::NewTopic;
use kmirror_client::produce::{init_producer_id, PartitionSender, SendConfig};
use kmirror_client::records::encode;
use kmirror_client::{ClientConfig, ClientError, KafkaClient};

const SHORT: Duration = Duration::from_millis(200);
const LONG: Duration = Duration::from_secs(6);

/// A sender to `topic`'s partition 0 through `client`, with a short
/// missing-topic patience and a long delivery timeout.
async fn sender(client: &KafkaClient, topic: &str) -> PartitionSender<()> {
    let identity = init_producer_id(client).await.expect("producer id");
    let config = SendConfig {
        retry_backoff: Duration::from_millis(10),
        retry_backoff_max: Duration::from_millis(100),
        missing_topic_timeout: SHORT,
        delivery_timeout: LONG,
        ..SendConfig::for_client(client)
    };
    PartitionSender::new(client.clone(), topic, 0, identity, config)
}

/// Sends one batch and waits for its outcome.
async fn send_one(sender: &mut PartitionSender<()>) -> Result<(), ClientError> {
    let batch = encode(&[(b"k".to_vec(), Some(b"v".to_vec()))], 1_700_000_000_000);
    sender.send(&batch, ()).await.expect("queued");
    tokio::time::timeout(WAIT, sender.next_ack())
        .await
        .expect("an outcome within the bound")
        .expect("a batch in flight")
        .map(|_| ())
}

/// Sends one batch, which must fail on the missing topic; when the sender
/// gave up.
async fn give_up_at(sender: &mut PartitionSender<()>) -> tokio::time::Instant {
    match send_one(sender).await {
        Err(e @ ClientError::RetriesExhausted { .. }) if e.is_missing_topic() => {
            tokio::time::Instant::now()
        }
        other => panic!("expected to give up on a missing topic, got {other:?}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_topic_created_by_the_same_client_gets_the_delivery_timeout_until_written() {
    let (_, bootstrap, creator) = topic_and_client("patience-other", 1).await;
    let other = KafkaClient::connect(ClientConfig::new(&bootstrap))
        .await
        .expect("connect");
    // Created through `creator`, then deleted through `other`: to the
    // creator it is a topic created a moment ago, to the other a missing one.
    let topic = kmirror_testbed::random_topic_name("patience");
    let created = tokio::time::Instant::now();
    for (name, outcome) in creator
        .admin()
        .create_topics(&[NewTopic::new(topic.as_str(), 1, 1)], false)
        .await
        .expect("create")
    {
        outcome.unwrap_or_else(|e| panic!("create {name}: {e}"));
    }
    // A sender of the creator that wrote before the deletion.
    let mut wrote_before = sender(&creator, &topic).await;
    send_one(&mut wrote_before).await.expect("written");
    for (name, outcome) in other
        .admin()
        .delete_topics(&[&topic])
        .await
        .expect("delete")
    {
        outcome.unwrap_or_else(|e| panic!("delete {name}: {e}"));
    }
    let deadline = tokio::time::Instant::now() + WAIT;
    while other
        .refresh_metadata(Some(std::slice::from_ref(&topic)))
        .await
        .expect("metadata")
        .topics
        .get(&topic)
        .is_some_and(|t| t.error.is_none())
    {
        assert!(
            tokio::time::Instant::now() < deadline,
            "{topic} still listed"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }

    let started = tokio::time::Instant::now();
    let not_ours = give_up_at(&mut sender(&other, &topic).await).await - started;
    assert!(
        not_ours < LONG,
        "a topic this client did not create gives up after missing.topic patience \
         ({SHORT:?}), not the delivery timeout: took {not_ours:?}"
    );
    let started = tokio::time::Instant::now();
    let after_a_write = give_up_at(&mut wrote_before).await - started;
    assert!(
        after_a_write < LONG,
        "a sender whose batch landed on the new topic takes its disappearance for a \
         deletion: took {after_a_write:?}"
    );
    // A sender that has not written yet waits until the delivery timeout
    // has passed since the creation; past that a missing topic is a missing
    // topic again.
    let ours = give_up_at(&mut sender(&creator, &topic).await).await - created;
    assert!(
        ours >= LONG,
        "a topic this client just created is waited for until the delivery timeout \
         ({LONG:?}) after its creation: gave up {ours:?} after it"
    );
}
