//! Transactions against a real broker, read back by Kafka's Java consumer in
//! read_committed: committed batches are seen once, aborted ones never, a
//! second producer of the same transactional id fences the first. Kafka 3.x
//! speaks transaction protocol 1, Kafka 4.x protocol 2 (KIP-890), and the
//! same checks run on both (`KMIRROR_KAFKA_VERSION`).

use std::time::Duration;

use kmirror_client::produce::{PartitionSender, SendConfig};
use kmirror_client::records::{encode, OutgoingRecord};
use kmirror_client::transaction::{
    classify, TransactionProtocol, TransactionalProducer, TxnOutcome,
};
use kmirror_client::{ClientError, KafkaClient};
use kmirror_testbed::{consume, kafka_version, ConsumeOptions};

mod common;

use common::{topic_and_client, WAIT};

const TXN_TIMEOUT: Duration = Duration::from_secs(30);

fn values(values: &[&str]) -> Vec<OutgoingRecord> {
    values
        .iter()
        .map(|v| (b"k".to_vec(), Some(v.as_bytes().to_vec())))
        .collect()
}

/// Sends one batch of `records` and waits for its acknowledgement.
async fn send(
    sender: &mut PartitionSender<()>,
    records: &[OutgoingRecord],
) -> Result<i64, ClientError> {
    sender.send(&encode(records, 1_700_000_000_000), ()).await?;
    let ack = tokio::time::timeout(WAIT, sender.next_ack())
        .await
        .expect("acknowledged within the bound")
        .expect("a batch is in flight")?;
    Ok(ack.base_offset)
}

/// Reads the topic back with the Java consumer in read_committed.
async fn committed_values(bootstrap: &str, topic: &str, at_most: usize) -> Vec<String> {
    let (bootstrap, topic) = (bootstrap.to_string(), topic.to_string());
    tokio::task::spawn_blocking(move || {
        let options = ConsumeOptions {
            idle_timeout: Duration::from_secs(3),
            ..ConsumeOptions::committed(at_most)
        };
        consume(&bootstrap, &topic, &options)
            .into_iter()
            .map(|r| String::from_utf8(r.value.expect("a value")).unwrap())
            .collect()
    })
    .await
    .unwrap()
}

/// A transactional sender to partition 0 of `topic`.
fn sender_of(
    client: &KafkaClient,
    topic: &str,
    producer: &TransactionalProducer,
) -> PartitionSender<()> {
    PartitionSender::transactional(
        client.clone(),
        topic,
        0,
        producer,
        SendConfig::for_client(client),
    )
}

fn expected_protocol() -> TransactionProtocol {
    let major: u32 = kafka_version()
        .split('.')
        .next()
        .and_then(|m| m.parse().ok())
        .expect("a Kafka version like 4.1.2");
    if major >= 4 {
        TransactionProtocol::V2
    } else {
        TransactionProtocol::V1
    }
}

/// Enrols the partition, sends `batches`, ends the transaction, and checks
/// the epoch rule of the producer's protocol.
async fn one_transaction(
    producer: &mut TransactionalProducer,
    sender: &mut PartitionSender<()>,
    topic: &str,
    commit: bool,
    batches: &[Vec<OutgoingRecord>],
) {
    let before = producer.identity();
    producer.enrol(&[(topic, 0)]).await.expect("enrol");
    assert!(producer.in_transaction());
    for records in batches {
        send(sender, records).await.expect("sent");
    }
    producer.end(commit).await.expect("end");
    assert!(!producer.in_transaction());
    let after = producer.identity();
    // Protocol 2 bumps the epoch at every end; protocol 1 keeps it.
    match producer.protocol() {
        TransactionProtocol::V2 => assert!(
            after.producer_epoch > before.producer_epoch || after.producer_id != before.producer_id,
            "{before:?} -> {after:?}"
        ),
        TransactionProtocol::V1 => assert_eq!(after, before),
    }
    sender.adopt(after);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn committed_transactions_are_read_and_aborted_ones_are_not() {
    let (topic, bootstrap, client) = topic_and_client("txn-commit", 1).await;
    let txn_id = format!("kmirror-test-{topic}");
    let mut producer = TransactionalProducer::init(&client, &txn_id, TXN_TIMEOUT)
        .await
        .expect("init");
    assert_eq!(
        producer.protocol(),
        expected_protocol(),
        "Kafka {}",
        kafka_version()
    );
    let mut sender = sender_of(&client, &topic, &producer);

    let (p, s) = (&mut producer, &mut sender);
    one_transaction(
        p,
        s,
        &topic,
        true,
        &[values(&["c1", "c2"]), values(&["c3"])],
    )
    .await;
    one_transaction(p, s, &topic, false, &[values(&["a1", "a2"])]).await;
    one_transaction(p, s, &topic, true, &[values(&["c4"])]).await;
    // An end with nothing enrolled does nothing (and does not fail).
    producer.end(true).await.expect("empty end");

    let seen = committed_values(&bootstrap, &topic, 10).await;
    assert_eq!(seen, ["c1", "c2", "c3", "c4"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_new_producer_of_the_same_id_fences_the_old_one_and_aborts_its_transaction() {
    let (topic, bootstrap, client) = topic_and_client("txn-fence", 1).await;
    let txn_id = format!("kmirror-test-{topic}");
    let mut old = TransactionalProducer::init(&client, &txn_id, TXN_TIMEOUT)
        .await
        .expect("init old");
    let mut old_sender = sender_of(&client, &topic, &old);
    old.enrol(&[(&topic, 0)]).await.expect("enrol");
    send(&mut old_sender, &values(&["zombie-1"]))
        .await
        .expect("sent before the new owner came");

    // The new owner: its InitProducerId aborts the old transaction.
    let mut new = tokio::time::timeout(
        WAIT,
        TransactionalProducer::init(&client, &txn_id, TXN_TIMEOUT),
    )
    .await
    .expect("init within the bound")
    .expect("init new");
    assert_eq!(new.identity().producer_id, old.identity().producer_id);
    assert!(new.identity().producer_epoch > old.identity().producer_epoch);

    // The old one can neither write nor commit, and cannot come back.
    let write = send(&mut old_sender, &values(&["zombie-2"])).await;
    let error = write.expect_err("a fenced producer's write is refused");
    assert_ne!(classify(&error), TxnOutcome::Fatal, "{error}");
    let commit = old
        .end(true)
        .await
        .expect_err("a fenced producer cannot commit");
    assert_eq!(classify(&commit), TxnOutcome::Fenced, "{commit}");
    let recover = old
        .recover()
        .await
        .expect_err("a fenced producer cannot recover");
    assert_eq!(classify(&recover), TxnOutcome::Fenced, "{recover}");

    let mut new_sender = sender_of(&client, &topic, &new);
    new.enrol(&[(&topic, 0)]).await.expect("enrol");
    send(&mut new_sender, &values(&["owner-1"]))
        .await
        .expect("sent");
    new.end(true).await.expect("commit");

    let seen = committed_values(&bootstrap, &topic, 10).await;
    assert_eq!(seen, ["owner-1"]);
}

/// After a transaction outlives `transaction.timeout.ms` the coordinator
/// aborts it and bumps the epoch: the producer's writes fail as abortable,
/// the producer is got back (see below), its next transaction commits, and
/// the timed-out data is never read.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_transaction_past_its_timeout_is_aborted_and_the_producer_recovers() {
    let (topic, bootstrap, client) = topic_and_client("txn-timeout", 1).await;
    let txn_id = format!("kmirror-test-{topic}");
    let timeout = Duration::from_secs(1);
    let mut producer = TransactionalProducer::init(&client, &txn_id, timeout)
        .await
        .expect("init");
    let mut sender = sender_of(&client, &topic, &producer);
    producer.enrol(&[(&topic, 0)]).await.expect("enrol");
    send(&mut sender, &values(&["late"])).await.expect("sent");
    // The coordinator checks for expired transactions every
    // `transaction.abort.timed.out.transaction.cleanup.interval.ms`
    // (10 s by default): poll until it has aborted ours.
    let deadline = tokio::time::Instant::now() + WAIT;
    let error = loop {
        assert!(tokio::time::Instant::now() < deadline, "never aborted");
        // A write at the old epoch fails once the coordinator bumped it.
        match send(&mut sender, &values(&["late-again"])).await {
            Ok(_) => tokio::time::sleep(Duration::from_millis(500)).await,
            Err(error) => break error,
        }
    };
    assert_eq!(classify(&error), TxnOutcome::Abortable, "{error}");
    sender.abandon();
    // Protocol 2 lets the producer back with its last epoch (KIP-360).
    // Protocol 1 fences that epoch when it aborts on a timeout: the
    // producer is told it is fenced, and a new InitProducerId takes the id
    // back.
    match (producer.protocol(), producer.recover().await) {
        (TransactionProtocol::V2, Ok(())) => {}
        (TransactionProtocol::V1, Err(fenced)) if classify(&fenced) == TxnOutcome::Fenced => {
            producer = TransactionalProducer::init(&client, &txn_id, timeout)
                .await
                .expect("a new producer of the id");
        }
        (protocol, other) => panic!("recovery with protocol {protocol:?}: {other:?}"),
    }
    sender.adopt(producer.identity());
    producer.enrol(&[(&topic, 0)]).await.expect("enrol again");
    send(&mut sender, &values(&["redone"])).await.expect("sent");
    producer.end(true).await.expect("commit");

    let seen = committed_values(&bootstrap, &topic, 10).await;
    assert_eq!(seen, ["redone"]);
}
