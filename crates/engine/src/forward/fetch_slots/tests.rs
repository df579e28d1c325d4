//! The slots' changes to the brokers' sessions, without a broker.

use kmirror_client::cluster::{PartitionMetadata, TopicMetadata};

use super::*;

/// Metadata of topic `t` whose partition `i` is led by `leaders[i]` (-1:
/// none), brokers 1 to 3.
fn metadata(leaders: &[i32]) -> Metadata {
    let mut metadata = Metadata::default();
    for broker in 1..=3 {
        metadata
            .brokers
            .insert(broker, format!("127.0.0.1:{broker}"));
    }
    let partitions = leaders
        .iter()
        .enumerate()
        .map(|(partition, &leader)| PartitionMetadata {
            partition: partition as i32,
            leader,
            leader_epoch: 0,
            replicas: vec![],
            isr: vec![],
            error: None,
        })
        .collect();
    metadata.topics.insert(
        "t".to_string(),
        TopicMetadata {
            name: "t".to_string(),
            topic_id: [0; 16],
            is_internal: false,
            error: None,
            partitions,
        },
    );
    metadata
}

fn tp(partition: i32) -> TopicPartition {
    TopicPartition::new("t", partition)
}

fn want(broker: i32, partition: i32, offset: i64) -> Change {
    Change::Want {
        broker,
        tp: tp(partition),
        offset,
    }
}

fn unwant(broker: i32, partition: i32) -> Change {
    Change::Unwant {
        broker,
        tp: tp(partition),
    }
}

fn timeout() -> ClientError {
    ClientError::RequestTimeout {
        addr: "127.0.0.1:1".to_string(),
        api: kafka_protocol::messages::ApiKey::Fetch,
        timeout: std::time::Duration::from_secs(1),
    }
}

fn data(next_offset: i64) -> PartitionData {
    PartitionData {
        next_offset,
        ..PartitionData::default()
    }
}

#[test]
fn a_queued_event_is_two_words() {
    // See `FetchEvent`: what every partition's queue costs at rest.
    assert!(std::mem::size_of::<FetchEvent>() <= 16);
}

/// Slots `t-0` (leader 1) and `t-1` (leader 2) at offset 0, both with room
/// and placed, on a queue of `capacity`.
async fn placed(capacity: usize) -> (Slots, mpsc::Sender<FetchEvent>, mpsc::Receiver<FetchEvent>) {
    let mut slots = Slots::default();
    let (events, queue) = mpsc::channel(capacity);
    slots.add(tp(0), 0, events.clone());
    slots.add(tp(1), 0, events.clone());
    let mut unreserved = slots.unreserved();
    unreserved.sort();
    assert_eq!(unreserved, [tp(0), tp(1)]);
    for partition in [0, 1] {
        slots.reserved(
            &tp(partition),
            events.clone().reserve_owned().await.unwrap(),
        );
    }
    assert!(slots.unreserved().is_empty());
    assert!(slots.take_changes().is_empty(), "no broker known yet");
    assert!(!slots.place(&metadata(&[1, 2])));
    let mut changes = slots.take_changes();
    changes.sort_by_key(|c| format!("{c:?}"));
    assert_eq!(changes, [want(1, 0, 0), want(2, 1, 0)]);
    (slots, events, queue)
}

#[tokio::test]
async fn an_answer_without_news_changes_nothing() {
    let (mut slots, _events, mut queue) = placed(4).await;
    slots.deliver(&tp(0), 1, 0, data(0));
    assert!(queue.try_recv().is_err());
    assert!(slots.unreserved().is_empty());
    assert!(slots.take_changes().is_empty());
}

#[tokio::test]
async fn records_go_to_the_queue_and_the_partition_stays_wanted_while_it_has_room() {
    let (mut slots, events, mut queue) = placed(4).await;
    slots.deliver(&tp(0), 1, 0, data(5));
    assert!(matches!(queue.try_recv(), Ok(FetchEvent::Data(_))));
    assert_eq!(slots.unreserved(), [tp(0)]);
    assert_eq!(slots.get(&tp(0)).unwrap().next_offset, 5);
    slots.reserved(&tp(0), events.clone().reserve_owned().await.unwrap());
    assert_eq!(slots.take_changes(), [want(1, 0, 5)]);
    // Data from another broker or for another offset is not this slot's.
    slots.deliver(&tp(0), 2, 5, data(9));
    slots.deliver(&tp(0), 1, 0, data(9));
    assert!(queue.try_recv().is_err());
    assert_eq!(slots.get(&tp(0)).unwrap().next_offset, 5);
}

#[tokio::test]
async fn a_full_queue_holds_the_partition_back_until_it_has_room() {
    let (mut slots, events, mut queue) = placed(2).await;
    // Both places are taken by the permits; t-0's records use its place.
    slots.deliver(&tp(0), 1, 0, data(5));
    slots.waiting(&tp(0));
    assert_eq!(slots.take_changes(), [unwant(1, 0)]);
    assert!(slots.held_back(1));
    assert!(!slots.held_back(2));
    assert!(slots.unreserved().is_empty(), "waiting");
    // Room again: placed again, from where it went on.
    assert!(matches!(queue.try_recv(), Ok(FetchEvent::Data(_))));
    slots.reserved(&tp(0), events.clone().reserve_owned().await.unwrap());
    assert!(!slots.held_back(1));
    assert!(slots.take_changes().is_empty());
    slots.place(&metadata(&[1, 2]));
    assert_eq!(slots.take_changes(), [want(1, 0, 5)]);
}

#[tokio::test]
async fn a_moved_leader_moves_the_partition_to_its_session() {
    let (mut slots, _events, _queue) = placed(4).await;
    slots.place_again(&metadata(&[1, 3]));
    assert_eq!(slots.take_changes(), [unwant(2, 1)]);
    assert!(!slots.place(&metadata(&[1, 3])));
    assert_eq!(slots.take_changes(), [want(3, 1, 0)]);
    // Without a leader it waits, unwanted, for one.
    slots.place_again(&metadata(&[-1, 3]));
    assert_eq!(slots.take_changes(), [unwant(1, 0)]);
    assert!(slots.place(&metadata(&[-1, 3])));
    assert!(slots.take_changes().is_empty());
    assert!(!slots.place(&metadata(&[2, 3])));
    assert_eq!(slots.take_changes(), [want(2, 0, 0)]);
}

#[tokio::test]
async fn a_preferred_replica_takes_the_partition_until_it_fails() {
    let (mut slots, _events, _queue) = placed(4).await;
    let params = FetchParams::default();
    let lifetime = std::time::Duration::from_secs(300);
    slots.prefer(&tp(0), 1, 3, lifetime, &params);
    assert_eq!(slots.take_changes(), [unwant(1, 0)]);
    slots.place(&metadata(&[1, 2]));
    assert_eq!(slots.take_changes(), [want(3, 0, 0)]);
    assert!(slots.next_expiry().is_some());
    let error = timeout();
    assert!(!slots.fall_back(&tp(0), 2, &error), "2 is not its replica");
    assert!(slots.fall_back(&tp(0), 3, &error));
    slots.place(&metadata(&[1, 2]));
    assert_eq!(slots.take_changes(), [unwant(3, 0), want(1, 0, 0)]);
}

#[tokio::test]
async fn removing_or_failing_a_partition_unwants_it_and_an_offset_reset_moves_it() {
    let (mut slots, _events, mut queue) = placed(4).await;
    slots.set_offset(&tp(1), 42);
    assert_eq!(slots.take_changes(), [want(2, 1, 42)]);
    slots.remove(&tp(0));
    assert_eq!(slots.take_changes(), [unwant(1, 0)]);
    slots.fail(&tp(1), timeout());
    assert_eq!(slots.take_changes(), [unwant(2, 1)]);
    assert!(matches!(queue.try_recv(), Ok(FetchEvent::Failed(_))));
    assert!(slots.is_empty());
}

#[tokio::test]
async fn adding_a_partition_again_replaces_its_slot() {
    let (mut slots, events, _queue) = placed(4).await;
    let before = slots.get(&tp(0)).unwrap().generation;
    slots.add(tp(0), 7, events.clone());
    assert_eq!(slots.take_changes(), [unwant(1, 0)]);
    assert!(slots.get(&tp(0)).unwrap().generation > before);
    assert_eq!(slots.unreserved(), [tp(0)]);
}
