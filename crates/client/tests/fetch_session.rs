//! Fetch sessions (KIP-227) against a real broker: after the first full
//! request the broker keeps the partition list, answers only partitions with
//! news, and forgets what it is told to forget.

use std::time::Duration;

use kmirror_client::cluster::Metadata;
use kmirror_client::fetch::{FetchParams, FetchedPartition, PartitionFetch};
use kmirror_client::fetch_session::FetchSession;
use kmirror_client::Purpose;
use kmirror_testbed::{shared_cluster, ProduceOptions, TestRecord};

mod common;

use common::topic_and_client;

const PARTITIONS: i32 = 4;

fn wanted(topic: &str, offsets: &[i64]) -> Vec<PartitionFetch> {
    offsets
        .iter()
        .enumerate()
        .map(|(partition, &offset)| PartitionFetch {
            topic: topic.to_string(),
            partition: partition as i32,
            offset,
            max_bytes: 1 << 20,
        })
        .collect()
}

fn partitions_named(answer: &[FetchedPartition]) -> Vec<i32> {
    let mut named: Vec<i32> = answer.iter().map(|p| p.partition).collect();
    named.sort_unstable();
    named
}

fn records_of(answer: &[FetchedPartition], partition: i32) -> i64 {
    answer
        .iter()
        .filter(|p| p.partition == partition)
        .map(|p| {
            let data = p.result.as_ref().expect("partition fetched");
            data.batches
                .iter()
                .map(|b| i64::from(b.records()))
                .sum::<i64>()
        })
        .sum()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_session_naming_topics_by_id_names_only_partitions_with_news() {
    a_session_names_only_partitions_with_news(true).await;
}

/// Without topic ids in the metadata (as from a broker before KIP-516) the
/// session names topics by name, with the same answers.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_session_naming_topics_by_name_names_only_partitions_with_news() {
    a_session_names_only_partitions_with_news(false).await;
}

async fn a_session_names_only_partitions_with_news(by_id: bool) {
    let (topic, _bootstrap, client) = topic_and_client("fetch-session", PARTITIONS).await;
    client
        .refresh_metadata(Some(std::slice::from_ref(&topic)))
        .await
        .unwrap();
    let broker = *client.metadata().brokers.keys().next().unwrap();
    let metadata = if by_id {
        client.metadata()
    } else {
        std::sync::Arc::new(Metadata::default())
    };
    let conn = client.connection(broker, Purpose::Fetch).await.unwrap();
    let params = FetchParams {
        max_wait: Duration::from_millis(200),
        ..FetchParams::default()
    };
    // The first request is full: every partition answers, a session opens.
    // (A partition of a topic this new may answer with an error first, which
    // a session reports again until it clears: start once all answer.)
    let mut session = FetchSession::new();
    for attempt in 1.. {
        session = FetchSession::new();
        let answer = session
            .fetch(&conn, &params, &wanted(&topic, &[0; 4]), &metadata, |b| b)
            .await
            .unwrap();
        assert_eq!(partitions_named(&answer), vec![0, 1, 2, 3]);
        if answer.iter().all(|p| p.result.is_ok()) {
            break;
        }
        assert!(
            attempt < 100,
            "the new topic's partitions never became readable"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let id = session.id();
    assert_ne!(id, 0, "the broker opened a fetch session");
    assert_eq!(session.names_topics_by_id(), by_id);

    // Nothing new: the incremental answer names no partition.
    let answer = session
        .fetch(&conn, &params, &wanted(&topic, &[0; 4]), &metadata, |b| b)
        .await
        .unwrap();
    assert_eq!(partitions_named(&answer), Vec::<i32>::new());
    assert_eq!(session.id(), id, "the same session goes on");

    // Three records on partition 2: only it answers, with them.
    let records: Vec<TestRecord> = (0..3)
        .map(|i| TestRecord::new().partition(2).value(format!("v{i}")))
        .collect();
    {
        let topic = topic.clone();
        tokio::task::spawn_blocking(move || {
            shared_cluster("kafka-a").produce(&topic, &ProduceOptions::default(), &records)
        })
        .await
        .unwrap();
    }
    let answer = session
        .fetch(&conn, &params, &wanted(&topic, &[0; 4]), &metadata, |b| b)
        .await
        .unwrap();
    assert_eq!(partitions_named(&answer), vec![2]);
    assert_eq!(records_of(&answer, 2), 3);

    // Partition 2 moves on to offset 3; partition 3 is forgotten. A record on
    // partition 3 then goes unanswered, one on partition 0 is answered.
    let records = vec![
        TestRecord::new().partition(3).value("forgotten"),
        TestRecord::new().partition(0).value("kept"),
    ];
    {
        let topic = topic.clone();
        tokio::task::spawn_blocking(move || {
            shared_cluster("kafka-a").produce(&topic, &ProduceOptions::default(), &records)
        })
        .await
        .unwrap();
    }
    let mut three = wanted(&topic, &[0, 0, 3, 0]);
    three.truncate(3);
    let answer = session
        .fetch(&conn, &params, &three, &metadata, |b| b)
        .await
        .unwrap();
    assert_eq!(partitions_named(&answer), vec![0]);
    assert_eq!(records_of(&answer, 0), 1);
}
