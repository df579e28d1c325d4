//! The fetcher's view of each partition it reads: where it continues, whether
//! its queue has room, which broker it is read from and whether a request
//! for it is out.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use kmirror_client::fetch::{FetchParams, PartitionData};
use kmirror_client::ClientError;
use tokio::sync::mpsc;
use tracing::{info, warn};

use super::fetcher::FetchEvent;
use crate::model::TopicPartition;

/// One partition being fetched.
#[derive(Debug)]
pub(super) struct Slot {
    pub next_offset: i64,
    pub events: mpsc::Sender<FetchEvent>,
    /// A reserved place in the partition's queue; present means "ready".
    permit: Option<mpsc::OwnedPermit<FetchEvent>>,
    /// Tells this slot from an earlier one of the same partition (removed
    /// and added again): a queue place or an answer meant for the earlier
    /// one must not reach it.
    pub generation: u64,
    /// The broker a request for this partition is out to.
    in_flight: Option<i32>,
    /// A wait for room in the queue is running.
    waiting: bool,
    /// The replica the leader said to read from, and until when.
    preferred: Option<(i32, tokio::time::Instant)>,
    /// The replica last logged as the one read from, so that renewing the
    /// same choice logs nothing.
    logged_replica: Option<i32>,
}

impl Slot {
    /// Ready for a request: room in its queue, no request out.
    pub fn ready(&self) -> bool {
        self.permit.is_some() && self.in_flight.is_none()
    }

    /// The broker a request for this partition is out to.
    pub fn in_flight(&self) -> Option<i32> {
        self.in_flight
    }

    /// The broker to fetch from: the preferred replica while it holds and
    /// the cluster knows it, else the leader.
    pub fn broker(&self, leader: i32, brokers: &HashMap<i32, String>) -> i32 {
        match self.preferred {
            Some((replica, until))
                if tokio::time::Instant::now() < until && brokers.contains_key(&replica) =>
            {
                replica
            }
            _ => leader,
        }
    }
}

/// Every partition of one fetcher.
///
/// Besides the slots, two sets name the ones that need a look, so that an
/// event (an answer, room in one queue) costs work for the partitions it
/// concerns, not a pass over all of them: with 10,000 partitions read in
/// long polls nearly all are in flight at any time.
#[derive(Debug, Default)]
pub(super) struct Slots {
    slots: BTreeMap<TopicPartition, Slot>,
    generations: u64,
    /// Slots with no request out.
    idle: BTreeSet<TopicPartition>,
    /// Slots with no place in their queue and no wait for one running.
    unreserved: BTreeSet<TopicPartition>,
}

impl Slots {
    pub fn is_empty(&self) -> bool {
        self.slots.is_empty()
    }

    pub fn get(&self, tp: &TopicPartition) -> Option<&Slot> {
        self.slots.get(tp)
    }

    pub fn get_mut(&mut self, tp: &TopicPartition) -> Option<&mut Slot> {
        self.slots.get_mut(tp)
    }

    /// The slots with no request out.
    pub fn idle(&self) -> impl Iterator<Item = (&TopicPartition, &Slot)> {
        self.idle
            .iter()
            .filter_map(|tp| self.slots.get_key_value(tp))
    }

    /// The slots with no place in their queue and no wait for one.
    pub fn unreserved(&self) -> Vec<TopicPartition> {
        self.unreserved.iter().cloned().collect()
    }

    /// A request for `tp` went out to `broker`.
    pub fn sent(&mut self, tp: &TopicPartition, broker: i32) -> Option<&Slot> {
        let slot = self.slots.get_mut(tp)?;
        slot.in_flight = Some(broker);
        self.idle.remove(tp);
        Some(slot)
    }

    /// The request for `tp` came back (answered or failed).
    pub fn answered(&mut self, tp: &TopicPartition) {
        if let Some(slot) = self.slots.get_mut(tp) {
            slot.in_flight = None;
            self.idle.insert(tp.clone());
        }
    }

    /// `tp` has a place in its queue.
    pub fn reserved(&mut self, tp: &TopicPartition, permit: mpsc::OwnedPermit<FetchEvent>) {
        if let Some(slot) = self.slots.get_mut(tp) {
            slot.permit = Some(permit);
            slot.waiting = false;
            self.unreserved.remove(tp);
        }
    }

    /// A wait for room in `tp`'s queue started.
    pub fn waiting(&mut self, tp: &TopicPartition) {
        if let Some(slot) = self.slots.get_mut(tp) {
            slot.waiting = true;
            self.unreserved.remove(tp);
        }
    }

    pub fn topics(&self) -> Vec<String> {
        let mut topics: Vec<String> = self.slots.keys().map(|tp| tp.topic.to_string()).collect();
        topics.dedup();
        topics
    }

    /// Starts (or restarts) `tp` at `offset`.
    pub fn add(&mut self, tp: TopicPartition, offset: i64, events: mpsc::Sender<FetchEvent>) {
        self.generations += 1;
        self.idle.insert(tp.clone());
        self.unreserved.insert(tp.clone());
        self.slots.insert(
            tp,
            Slot {
                next_offset: offset,
                events,
                permit: None,
                generation: self.generations,
                in_flight: None,
                waiting: false,
                preferred: None,
                logged_replica: None,
            },
        );
    }

    pub fn remove(&mut self, tp: &TopicPartition) {
        self.slots.remove(tp);
        self.idle.remove(tp);
        self.unreserved.remove(tp);
    }

    /// Hands `data` fetched from `broker` to `tp`'s queue, when it is news
    /// for the slot the request was made for. The slot then needs room in
    /// its queue again before its next request.
    pub fn deliver(
        &mut self,
        tp: &TopicPartition,
        broker: i32,
        requested: i64,
        data: PartitionData,
    ) {
        let Some(slot) = self.slots.get_mut(tp) else {
            return;
        };
        if slot.in_flight != Some(broker) || slot.next_offset != requested {
            // An answer for an earlier slot of this partition.
            return;
        }
        if data.batches.is_empty()
            && data.unforwardable.is_none()
            && data.next_offset == slot.next_offset
        {
            // Nothing new; keep the permit for the next request.
            return;
        }
        // The permit was reserved before the request went out and is kept
        // while it is out, so the data always has its place.
        if let Some(permit) = slot.permit.take() {
            slot.next_offset = data.next_offset;
            permit.send(FetchEvent::Data(Box::new(data)));
            self.unreserved.insert(tp.clone());
        }
    }

    /// Stops fetching `tp` and tells its owner why.
    pub fn fail(&mut self, tp: &TopicPartition, error: ClientError) {
        self.idle.remove(tp);
        self.unreserved.remove(tp);
        if let Some(mut slot) = self.slots.remove(tp) {
            warn!(%tp, error = %error, "fetching stopped for partition");
            match slot.permit.take() {
                Some(permit) => {
                    permit.send(FetchEvent::Failed(Box::new(error)));
                }
                None => {
                    // The queue is full: the failure waits for room rather
                    // than being lost, so the owner always learns of it.
                    if let Err(mpsc::error::TrySendError::Full(event)) =
                        slot.events.try_send(FetchEvent::Failed(Box::new(error)))
                    {
                        let events = slot.events.clone();
                        tokio::spawn(async move {
                            let _ = events.send(event).await;
                        });
                    }
                }
            }
        }
    }

    /// Reads `tp` from `replica` from now on, as `leader` said, for
    /// `lifetime` (`metadata.max.age.ms`).
    pub fn prefer(
        &mut self,
        tp: &TopicPartition,
        leader: i32,
        replica: i32,
        lifetime: std::time::Duration,
        params: &FetchParams,
    ) {
        let Some(slot) = self.slots.get_mut(tp) else {
            return;
        };
        if replica == leader {
            slot.preferred = None;
            return;
        }
        slot.preferred = Some((replica, tokio::time::Instant::now() + lifetime));
        if slot.logged_replica != Some(replica) {
            let rack = params.rack.as_deref().unwrap_or("");
            info!(%tp, replica, leader, %rack, "fetching from the replica the leader chose for client.rack");
            slot.logged_replica = Some(replica);
        }
    }

    /// Back to the leader after a failure on the preferred replica
    /// `broker`; false when `broker` was not the preferred replica.
    pub fn fall_back(&mut self, tp: &TopicPartition, broker: i32, error: &ClientError) -> bool {
        let Some(slot) = self.slots.get_mut(tp) else {
            return false;
        };
        if slot.preferred.map(|(replica, _)| replica) != Some(broker) {
            return false;
        }
        info!(%tp, replica = broker, error = %error, "fetching from the leader again: the preferred replica failed");
        slot.preferred = None;
        slot.logged_replica = None;
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(tps: impl Iterator<Item = TopicPartition>) -> Vec<String> {
        tps.map(|tp| tp.to_string()).collect()
    }

    fn idle(slots: &Slots) -> Vec<String> {
        names(slots.idle().map(|(tp, _)| tp.clone()))
    }

    fn unreserved(slots: &Slots) -> Vec<String> {
        names(slots.unreserved().into_iter())
    }

    #[test]
    fn a_queued_event_is_two_words() {
        // See `FetchEvent`: what every partition's queue costs at rest.
        assert!(std::mem::size_of::<FetchEvent>() <= 16);
    }

    #[tokio::test]
    async fn only_the_slots_an_event_concerns_are_listed_for_a_look() {
        let mut slots = Slots::default();
        let (events, mut queue) = mpsc::channel(4);
        let a = TopicPartition::new("t", 0);
        let b = TopicPartition::new("t", 1);
        slots.add(a.clone(), 0, events.clone());
        slots.add(b.clone(), 0, events.clone());
        assert_eq!(idle(&slots), ["t-0", "t-1"]);
        assert_eq!(unreserved(&slots), ["t-0", "t-1"]);

        slots.reserved(&a, events.clone().reserve_owned().await.unwrap());
        slots.waiting(&b);
        assert!(unreserved(&slots).is_empty(), "reserved or waiting");
        assert!(slots.get(&a).unwrap().ready());

        slots.sent(&a, 7);
        assert_eq!(idle(&slots), ["t-1"]);
        assert_eq!(slots.get(&a).unwrap().in_flight(), Some(7));

        // Data for `a` uses its place: it needs a new one before it is
        // asked again.
        let data = PartitionData {
            next_offset: 5,
            ..PartitionData::default()
        };
        slots.deliver(&a, 7, 0, data);
        assert!(matches!(queue.try_recv(), Ok(FetchEvent::Data(_))));
        assert_eq!(unreserved(&slots), ["t-0"]);
        slots.answered(&a);
        assert_eq!(idle(&slots), ["t-0", "t-1"]);
        assert_eq!(slots.get(&a).unwrap().next_offset, 5);

        slots.remove(&a);
        slots.remove(&b);
        assert!(idle(&slots).is_empty());
        assert!(unreserved(&slots).is_empty());
    }
}
