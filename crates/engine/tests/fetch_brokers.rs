//! Each broker is fetched on its own: a record on one broker is handed on
//! while the other brokers still hold their long polls open, instead of
//! waiting for every broker's poll to end.

mod support;

use std::collections::HashMap;
use std::time::Duration;

use kmirror_client::fetch::FetchParams;
use kmirror_engine::forward::fetcher::{FetchEvent, FetcherCommand, ResetPolicy, SourceFetcher};
use kmirror_engine::model::TopicPartition;
use kmirror_testbed::{KafkaCluster, ProduceOptions, TestRecord};
use tokio::sync::mpsc;

/// The long poll: far longer than the bound below, so that a fetcher that
/// waits for every broker's poll misses the bound by a wide margin.
const LONG_POLL: Duration = Duration::from_secs(40);
/// How long a record may take to arrive: generous for a loaded machine, and
/// a quarter of the long poll.
const ARRIVAL: Duration = Duration::from_secs(10);

#[test]
fn a_record_on_one_broker_does_not_wait_for_the_others_long_polls() {
    let cluster = KafkaCluster::builder("kafka-f3").brokers(3).start();
    let topic = kmirror_testbed::random_topic_name("per-broker");
    cluster.create_topic(&topic, 6, 1, &[]);
    cluster.wait_until_in_sync(&topic, Duration::from_secs(30));
    let leaders: Vec<i32> = cluster
        .leaders(&topic)
        .into_iter()
        .map(|l| l.expect("every partition has a leader"))
        .collect();
    let mut by_broker: HashMap<i32, Vec<i32>> = HashMap::new();
    for (partition, leader) in leaders.iter().enumerate() {
        by_broker.entry(*leader).or_default().push(partition as i32);
    }
    assert!(
        by_broker.len() >= 2,
        "the topic's leaders spread over several brokers: {leaders:?}"
    );
    // One partition on each of two different brokers.
    let mut brokers: Vec<i32> = by_broker.keys().copied().collect();
    brokers.sort_unstable();
    let first = by_broker[&brokers[0]][0];
    let second = by_broker[&brokers[1]][0];

    let rt = support::runtime();
    rt.block_on(async {
        let source = support::client(&cluster.bootstrap()).await;
        source.refresh_metadata(Some(std::slice::from_ref(&topic))).await.unwrap();
        let params = FetchParams {
            max_wait: LONG_POLL,
            ..FetchParams::default()
        };
        let (commands, commands_rx) = mpsc::channel(16);
        let fetcher = tokio::spawn(
            SourceFetcher::new(source.clone(), params, ResetPolicy::Earliest).run(commands_rx),
        );
        let mut queues = HashMap::new();
        for partition in 0..leaders.len() as i32 {
            let (events, queue) = mpsc::channel(4);
            commands
                .send(FetcherCommand::Add {
                    tp: TopicPartition::new(&topic, partition),
                    offset: 0,
                    events,
                })
                .await
                .unwrap();
            queues.insert(partition, queue);
        }
        // Each record is produced while every broker holds a long poll open
        // (the first round's polls start as the partitions are added).
        for (round, partition) in [first, second, first].into_iter().enumerate() {
            let record = TestRecord::new()
                .partition(partition)
                .value(format!("round {round}"));
            tokio::task::block_in_place(|| {
                cluster.produce(&topic, &ProduceOptions::default(), &[record])
            });
            let queue = queues.get_mut(&partition).unwrap();
            let event = tokio::time::timeout(ARRIVAL, queue.recv())
                .await
                .unwrap_or_else(|_| {
                    panic!("round {round}: the record on partition {partition} (broker {}) was not handed on within {ARRIVAL:?} while the other brokers' polls of {LONG_POLL:?} were open", leaders[partition as usize])
                })
                .expect("queue open");
            match event {
                FetchEvent::Data(data) => {
                    let records: i32 = data.batches.iter().map(|b| b.records()).sum();
                    assert_eq!(records, 1, "round {round}: one record arrived");
                }
                FetchEvent::Failed(e) => panic!("round {round}: fetch failed: {e}"),
            }
        }
        drop(commands);
        fetcher.abort();
    });
}
