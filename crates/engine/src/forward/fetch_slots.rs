//! The fetcher's view of each partition it reads: where it continues,
//! whether its queue has room, and which broker's fetch session wants it.
//!
//! A partition with a place in its queue and a known broker is wanted by
//! that broker's session, and stays so across requests: an answer without
//! news for it costs nothing. Every event (an answer's records, a queue
//! filling or draining, a leader moving) is a [`Change`] to one broker's
//! wanted set, which the fetcher hands to that session. So a request cycle
//! costs work for the partitions it concerns, not for every partition: with
//! 10,000 partitions in long polls and a trickle on a few, nearly all stay
//! untouched. Only a metadata change walks every partition (their brokers
//! may have moved).

use std::collections::{HashMap, HashSet};
use std::hash::BuildHasherDefault;

use fnv::FnvHasher;
use kmirror_client::cluster::{leader_of, Metadata};
use kmirror_client::fetch::{FetchParams, PartitionData};
use kmirror_client::ClientError;
use tokio::sync::mpsc;
use tokio::time::Instant;
use tracing::{info, warn};

use super::fetcher::FetchEvent;
use crate::model::TopicPartition;

/// Keys hashed with FNV: they are the fetcher's own, and SipHash showed in
/// profiles at 10,000 partitions.
type Fast = BuildHasherDefault<FnvHasher>;

/// A change to one broker's wanted set.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Change {
    /// Want `tp` from `offset` (adds it, or moves it).
    Want {
        broker: i32,
        tp: TopicPartition,
        offset: i64,
    },
    /// No longer want `tp`.
    Unwant { broker: i32, tp: TopicPartition },
}

/// One partition being fetched.
#[derive(Debug)]
pub(super) struct Slot {
    pub next_offset: i64,
    pub events: mpsc::Sender<FetchEvent>,
    /// A reserved place in the partition's queue; present means "ready".
    permit: Option<mpsc::OwnedPermit<FetchEvent>>,
    /// Tells this slot from an earlier one of the same partition (removed
    /// and added again): a queue place meant for the earlier one must not
    /// reach it.
    pub generation: u64,
    /// The broker whose session wants this partition.
    member: Option<i32>,
    /// The broker it was read from when its queue filled (while held back).
    held_back_at: Option<i32>,
    /// The replica the leader said to read from, and until when.
    preferred: Option<(i32, Instant)>,
    /// The replica last logged as the one read from, so that renewing the
    /// same choice logs nothing.
    logged_replica: Option<i32>,
}

impl Slot {
    /// The broker whose session wants this partition.
    pub fn member(&self) -> Option<i32> {
        self.member
    }

    /// The broker to fetch from: the preferred replica while it holds and
    /// the cluster knows it, else the leader.
    fn broker(&self, leader: i32, brokers: &HashMap<i32, String>, now: Instant) -> i32 {
        match self.preferred {
            Some((replica, until)) if now < until && brokers.contains_key(&replica) => replica,
            _ => leader,
        }
    }
}

/// Every partition of one fetcher.
#[derive(Debug, Default)]
pub(super) struct Slots {
    slots: HashMap<TopicPartition, Slot, Fast>,
    generations: u64,
    /// Slots with no place in their queue and no wait for one running.
    unreserved: HashSet<TopicPartition, Fast>,
    /// Slots with a place in their queue that no session wants yet: their
    /// broker is to be found (or has no leader now).
    unplaced: HashSet<TopicPartition, Fast>,
    /// Per broker, how many of its partitions wait for room in their queue.
    held_back: HashMap<i32, usize>,
    /// The earliest end of a preferred replica's term.
    next_expiry: Option<Instant>,
    /// Changes for the brokers' sessions, in order.
    changes: Vec<Change>,
}

impl Slots {
    pub fn is_empty(&self) -> bool {
        self.slots.is_empty()
    }

    pub fn get(&self, tp: &TopicPartition) -> Option<&Slot> {
        self.slots.get(tp)
    }

    /// The changes for the sessions since the last call, in order.
    pub fn take_changes(&mut self) -> Vec<Change> {
        std::mem::take(&mut self.changes)
    }

    /// The slots with no place in their queue and no wait for one.
    pub fn unreserved(&self) -> Vec<TopicPartition> {
        self.unreserved.iter().cloned().collect()
    }

    /// Whether partitions read from `broker` wait for room in their queue.
    pub fn held_back(&self, broker: i32) -> bool {
        self.held_back.get(&broker).is_some_and(|n| *n > 0)
    }

    /// When a preferred replica's term ends, if one does.
    pub fn next_expiry(&self) -> Option<Instant> {
        self.next_expiry
    }

    pub fn topics(&self) -> Vec<String> {
        let topics: HashSet<&str> = self.slots.keys().map(|tp| &*tp.topic).collect();
        topics.into_iter().map(str::to_string).collect()
    }

    /// `tp` has a place in its queue: it is wanted again, from where it is.
    pub fn reserved(&mut self, tp: &TopicPartition, permit: mpsc::OwnedPermit<FetchEvent>) {
        let Some(slot) = self.slots.get_mut(tp) else {
            return;
        };
        slot.permit = Some(permit);
        self.unreserved.remove(tp);
        if let Some(broker) = slot.held_back_at.take() {
            count_down(&mut self.held_back, broker);
        }
        match slot.member {
            // Its answer moved it on; the session knows that already.
            Some(broker) => self.changes.push(Change::Want {
                broker,
                tp: tp.clone(),
                offset: slot.next_offset,
            }),
            None => {
                self.unplaced.insert(tp.clone());
            }
        }
    }

    /// A wait for room in `tp`'s queue started: its session no longer wants
    /// it until there is room.
    pub fn waiting(&mut self, tp: &TopicPartition) {
        let Some(slot) = self.slots.get_mut(tp) else {
            return;
        };
        self.unreserved.remove(tp);
        self.unplaced.remove(tp);
        if let Some(broker) = slot.member.take() {
            self.changes.push(Change::Unwant {
                broker,
                tp: tp.clone(),
            });
            slot.held_back_at = Some(broker);
            *self.held_back.entry(broker).or_default() += 1;
        }
    }

    /// Starts (or restarts) `tp` at `offset`.
    pub fn add(&mut self, tp: TopicPartition, offset: i64, events: mpsc::Sender<FetchEvent>) {
        self.remove(&tp);
        self.generations += 1;
        self.unreserved.insert(tp.clone());
        self.slots.insert(
            tp,
            Slot {
                next_offset: offset,
                events,
                permit: None,
                generation: self.generations,
                member: None,
                held_back_at: None,
                preferred: None,
                logged_replica: None,
            },
        );
    }

    pub fn remove(&mut self, tp: &TopicPartition) {
        if let Some(slot) = self.slots.remove(tp) {
            self.retire(tp, &slot);
        }
    }

    /// Forgets `slot` of `tp` in the sets and sessions.
    fn retire(&mut self, tp: &TopicPartition, slot: &Slot) {
        self.unreserved.remove(tp);
        self.unplaced.remove(tp);
        if let Some(broker) = slot.member {
            self.changes.push(Change::Unwant {
                broker,
                tp: tp.clone(),
            });
        }
        if let Some(broker) = slot.held_back_at {
            count_down(&mut self.held_back, broker);
        }
    }

    /// Finds a broker for every partition that has room and none: the
    /// leader, or the replica the leader prefers. True when a partition has
    /// no leader in `metadata`.
    pub fn place(&mut self, metadata: &Metadata) -> bool {
        let now = Instant::now();
        let mut leaderless = false;
        let unplaced: Vec<TopicPartition> = self.unplaced.iter().cloned().collect();
        for tp in unplaced {
            let Some(slot) = self.slots.get_mut(&tp) else {
                self.unplaced.remove(&tp);
                continue;
            };
            let Ok(leader) = leader_of(metadata, &tp.topic, tp.partition) else {
                leaderless = true;
                continue;
            };
            let broker = slot.broker(leader, &metadata.brokers, now);
            slot.member = Some(broker);
            self.changes.push(Change::Want {
                broker,
                offset: slot.next_offset,
                tp: tp.clone(),
            });
            self.unplaced.remove(&tp);
        }
        leaderless
    }

    /// After a metadata change or the end of a preferred replica's term:
    /// every partition whose broker changed moves to the new one's session
    /// (a walk of every partition, at such events only).
    pub fn place_again(&mut self, metadata: &Metadata) {
        let now = Instant::now();
        self.next_expiry = None;
        for (tp, slot) in &mut self.slots {
            if let Some((_, until)) = slot.preferred {
                if until > now {
                    self.next_expiry = Some(self.next_expiry.map_or(until, |e| e.min(until)));
                }
            }
            let Some(member) = slot.member else {
                continue;
            };
            let broker = leader_of(metadata, &tp.topic, tp.partition)
                .ok()
                .map(|leader| slot.broker(leader, &metadata.brokers, now));
            if broker == Some(member) {
                continue;
            }
            self.changes.push(Change::Unwant {
                broker: member,
                tp: tp.clone(),
            });
            slot.member = None;
            self.unplaced.insert(tp.clone());
        }
    }

    /// Moves `tp` to `offset` (an offset reset).
    pub fn set_offset(&mut self, tp: &TopicPartition, offset: i64) {
        let Some(slot) = self.slots.get_mut(tp) else {
            return;
        };
        slot.next_offset = offset;
        if let Some(broker) = slot.member {
            self.changes.push(Change::Want {
                broker,
                tp: tp.clone(),
                offset,
            });
        }
    }

    /// Hands `data` fetched from `broker` at `requested` to `tp`'s queue,
    /// when it is news for the slot as it is now. The slot then needs room
    /// in its queue again: [`Slots::reserved`] keeps it wanted,
    /// [`Slots::waiting`] holds it back.
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
        if slot.member != Some(broker) || slot.next_offset != requested {
            // An answer for an earlier position or slot of this partition.
            return;
        }
        if data.batches.is_empty()
            && data.unforwardable.is_none()
            && data.next_offset == slot.next_offset
        {
            // Nothing new; keep the permit for the next request.
            return;
        }
        // A wanted partition holds a place in its queue, so the data always
        // has its place.
        if let Some(permit) = slot.permit.take() {
            slot.next_offset = data.next_offset;
            permit.send(FetchEvent::Data(Box::new(data)));
            self.unreserved.insert(tp.clone());
        }
    }

    /// Stops fetching `tp` and tells its owner why.
    pub fn fail(&mut self, tp: &TopicPartition, error: ClientError) {
        let Some(mut slot) = self.slots.remove(tp) else {
            return;
        };
        self.retire(tp, &slot);
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
        let until = Instant::now() + lifetime;
        slot.preferred = Some((replica, until));
        self.next_expiry = Some(self.next_expiry.map_or(until, |e| e.min(until)));
        if slot.logged_replica != Some(replica) {
            let rack = params.rack.as_deref().unwrap_or("");
            info!(%tp, replica, leader, %rack, "fetching from the replica the leader chose for client.rack");
            slot.logged_replica = Some(replica);
        }
        if slot.member.is_some_and(|member| member != replica) {
            self.unplace(tp);
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
        self.unplace(tp);
        true
    }

    /// Takes `tp` out of its session, to be placed again.
    fn unplace(&mut self, tp: &TopicPartition) {
        let Some(slot) = self.slots.get_mut(tp) else {
            return;
        };
        if let Some(broker) = slot.member.take() {
            self.changes.push(Change::Unwant {
                broker,
                tp: tp.clone(),
            });
        }
        if slot.permit.is_some() {
            self.unplaced.insert(tp.clone());
        }
    }
}

fn count_down(counts: &mut HashMap<i32, usize>, broker: i32) {
    if let Some(n) = counts.get_mut(&broker) {
        *n = n.saturating_sub(1);
        if *n == 0 {
            counts.remove(&broker);
        }
    }
}

#[cfg(test)]
mod tests;
