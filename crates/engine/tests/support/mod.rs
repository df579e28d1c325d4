//! Helpers for engine tests against real clusters.
#![allow(dead_code)]

use std::collections::HashMap;
use std::time::Duration;

use kmirror_client::admin::OffsetSpec;
use kmirror_client::fetch::FetchParams;
use kmirror_client::produce::{init_producer_id, PartitionSender, SendConfig};
use kmirror_client::{ClientConfig, KafkaClient};
use kmirror_engine::forward::fetcher::{FetcherCommand, ResetPolicy, SourceFetcher};
use kmirror_engine::forward::partition::{forward_partition, Progress};
use kmirror_engine::model::{Forwarded, TopicPartition};
use tokio::sync::mpsc;

/// A multi-threaded runtime for a synchronous test.
pub fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap()
}

/// Connects a client, bounded.
pub async fn client(bootstrap: &str) -> KafkaClient {
    tokio::time::timeout(
        Duration::from_secs(30),
        KafkaClient::connect(ClientConfig::new(bootstrap)),
    )
    .await
    .expect("connect timed out")
    .expect("connect failed")
}

/// Forwards `topic` on `source` to `remote_topic` on `target`, partition p to
/// partition p, from the start until every partition reached the source's
/// last stable offset as it was when called. Returns each partition's
/// forwarded batches in order.
pub async fn forward_topic(
    source: &KafkaClient,
    target: &KafkaClient,
    topic: &str,
    remote_topic: &str,
    partitions: i32,
    deadline: Duration,
) -> HashMap<i32, Vec<Forwarded>> {
    tokio::time::timeout(
        deadline,
        forward_topic_inner(source, target, topic, remote_topic, partitions),
    )
    .await
    .expect("forwarding did not catch up in time")
}

async fn forward_topic_inner(
    source: &KafkaClient,
    target: &KafkaClient,
    topic: &str,
    remote_topic: &str,
    partitions: i32,
) -> HashMap<i32, Vec<Forwarded>> {
    source
        .refresh_metadata(Some(&[topic.to_string()]))
        .await
        .unwrap();
    target
        .refresh_metadata(Some(&[remote_topic.to_string()]))
        .await
        .unwrap();
    let (commands, commands_rx) = mpsc::channel(16);
    let fetcher = SourceFetcher::new(
        source.clone(),
        FetchParams::default(),
        ResetPolicy::Earliest,
    );
    let fetch_task = tokio::spawn(fetcher.run(commands_rx));
    let identity = init_producer_id(target).await.unwrap();
    let mut tasks = Vec::new();
    for p in 0..partitions {
        let start = source
            .admin()
            .offset_of(topic, p, OffsetSpec::Earliest)
            .await
            .unwrap();
        let end = source
            .admin()
            .offset_of(topic, p, OffsetSpec::LatestStable)
            .await
            .unwrap();
        let (events_tx, events_rx) = mpsc::channel(2);
        commands
            .send(FetcherCommand::Add {
                tp: TopicPartition::new(topic, p),
                offset: start,
                events: events_tx,
            })
            .await
            .unwrap();
        let target = target.clone();
        let remote_topic = remote_topic.to_string();
        let commands = commands.clone();
        let topic = topic.to_string();
        tasks.push(tokio::spawn(async move {
            let mut sender = PartitionSender::new(target, &remote_topic, p, identity, SendConfig::default());
            let batches = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
            let collected = batches.clone();
            let (done_tx, mut done_rx) = mpsc::channel::<()>(1);
            let mut next = start;
            if next >= end {
                return (p, Vec::new());
            }
            let forwarding = forward_partition(events_rx, &mut sender, |event| {
                match event {
                    Progress::Forwarded(batch) => {
                        next = batch.upstream_next();
                        collected.lock().unwrap().push(batch);
                    }
                    Progress::SkippedTo { next: n } => next = next.max(n),
                    Progress::HighWatermark(_) => {}
                }
                if next >= end {
                    let _ = done_tx.try_send(());
                }
            });
            tokio::pin!(forwarding);
            tokio::select! {
                result = &mut forwarding => panic!("forwarding of partition {p} ended early: {result:?}"),
                _ = done_rx.recv() => {}
            }
            // Stop fetching; let the forwarder finish what it holds.
            commands
                .send(FetcherCommand::Remove { tp: TopicPartition::new(&topic, p) })
                .await
                .unwrap();
            forwarding.await.expect("forwarding failed while draining");
            let batches = batches.lock().unwrap().clone();
            (p, batches)
        }));
    }
    drop(commands);
    let mut out = HashMap::new();
    for task in tasks {
        let (p, batches) = task.await.unwrap();
        out.insert(p, batches);
    }
    fetch_task.abort();
    out
}
