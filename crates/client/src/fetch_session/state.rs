//! What a fetch session wants and what the broker holds for it: pure state,
//! no I/O, so that the diff of KIP-227 is tested without a broker.
//!
//! The caller keeps the wanted set up to date with changes only (a partition
//! added, removed, or moved by something other than the session's own
//! answer), and every change marks its partition dirty. An incremental
//! request then looks at the dirty partitions alone: with 10,000 partitions
//! and a trickle on 100 of them, a request cycle costs work for the 100, not
//! for the 10,000. Only a full request (a session opening or starting over)
//! walks every partition, as it must name them all.
//!
//! The same diff as the Java consumer's `FetchSessionHandler`: a partition
//! is sent when the broker does not hold it or holds it with another fetch
//! offset or size, forgotten when the broker holds it and it is no longer
//! wanted, and left out otherwise.
//!
//! Topics are interned: a partition is keyed by a small topic index and its
//! number, hashed with FNV (SipHash showed in profiles at 10,000 partitions,
//! and these keys come from the session itself, not from a peer).

use std::collections::{HashMap, HashSet};
use std::hash::BuildHasherDefault;
use std::sync::Arc;

use fnv::FnvHasher;
use kafka_protocol::protocol::StrBytes;
use uuid::Uuid;

use crate::cluster::Metadata;

type Fast = BuildHasherDefault<FnvHasher>;
type FastMap<K, V> = HashMap<K, V, Fast>;
type FastSet<K> = HashSet<K, Fast>;

/// A partition of the session: its topic's index and its number.
pub(crate) type Key = (u32, i32);

/// Where a partition is fetched from and how much of it at most.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Position {
    pub offset: i64,
    pub max_bytes: i32,
}

/// One topic of the session, named once.
#[derive(Debug)]
pub(crate) struct Topic {
    pub name: Arc<str>,
    /// The name as the request encodes it, made once per topic.
    pub wire_name: StrBytes,
    /// The topic's id in the metadata last looked at, if it has one.
    pub id: Option<Uuid>,
    /// The id the broker's session holds the topic under (when the session
    /// names topics by id and holds a partition of it).
    pub sent_id: Option<Uuid>,
    wanted: usize,
    held: usize,
}

#[derive(Debug, Clone, Copy, Default)]
struct Entry {
    wanted: Option<Position>,
    held: Option<Position>,
}

/// What one request sends: the partitions named and the ones forgotten,
/// each sorted by topic index, then partition.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct Plan {
    pub full: bool,
    pub send: Vec<(Key, Position)>,
    pub forget: Vec<Key>,
}

/// The wanted set and the broker's view of it.
#[derive(Debug, Default)]
pub(crate) struct SessionState {
    topics: Vec<Topic>,
    by_name: HashMap<Arc<str>, u32>,
    /// The topic of every id known, for answers naming topics by id.
    by_id: FastMap<Uuid, u32>,
    parts: FastMap<Key, Entry>,
    /// Partitions whose wanted position may differ from the held one.
    dirty: FastSet<Key>,
    wanted: usize,
    /// The next request is full: it replaces whatever the broker holds.
    full: bool,
    /// The metadata the ids were looked up in (held, so that its address is
    /// not reused), and whether a topic joined since: ids are looked up
    /// again only then.
    ids_from: Option<Arc<Metadata>>,
    new_topics: bool,
    /// Every wanted topic had an id at the last look-up.
    all_ids: bool,
    /// A held topic's id differs from the one it was sent with (deleted and
    /// created again) at the last look-up.
    id_changed: bool,
    /// How the broker's session names topics, once it holds partitions.
    pub named_by_id: Option<bool>,
}

impl SessionState {
    pub fn new() -> Self {
        SessionState {
            full: true,
            ..SessionState::default()
        }
    }

    /// How many partitions are wanted.
    pub fn wanted_count(&self) -> usize {
        self.wanted
    }

    pub fn topic(&self, index: u32) -> &Topic {
        &self.topics[index as usize]
    }

    /// The index of a topic by name, if the session knows it.
    pub fn index_of(&self, name: &str) -> Option<u32> {
        self.by_name.get(name).copied()
    }

    /// The topic an answer naming it by id means.
    pub fn index_of_id(&self, id: &Uuid) -> Option<u32> {
        self.by_id.get(id).copied()
    }

    fn intern(&mut self, name: &Arc<str>) -> u32 {
        if let Some(index) = self.by_name.get(&**name) {
            return *index;
        }
        let index = self.topics.len() as u32;
        self.topics.push(Topic {
            name: name.clone(),
            wire_name: StrBytes::from_string(name.to_string()),
            id: None,
            sent_id: None,
            wanted: 0,
            held: 0,
        });
        self.by_name.insert(name.clone(), index);
        self.new_topics = true;
        index
    }

    /// Wants `partition` of `topic` at `at` (adds it, or moves it).
    pub fn want(&mut self, topic: &Arc<str>, partition: i32, at: Position) {
        let index = self.intern(topic);
        let entry = self.parts.entry((index, partition)).or_default();
        if entry.wanted == Some(at) {
            return;
        }
        if entry.wanted.is_none() {
            self.wanted += 1;
            let topic = &mut self.topics[index as usize];
            topic.wanted += 1;
            if topic.wanted == 1 && topic.id.is_none() {
                // A topic without an id joins: look it up.
                self.new_topics = true;
            }
        }
        entry.wanted = Some(at);
        self.dirty.insert((index, partition));
    }

    /// No longer wants `partition` of `topic`.
    pub fn unwant(&mut self, topic: &str, partition: i32) {
        let Some(index) = self.index_of(topic) else {
            return;
        };
        self.unwant_key((index, partition));
    }

    fn unwant_key(&mut self, key: Key) {
        let Some(entry) = self.parts.get_mut(&key) else {
            return;
        };
        if entry.wanted.take().is_none() {
            return;
        }
        self.wanted -= 1;
        let topic = &mut self.topics[key.0 as usize];
        topic.wanted -= 1;
        if topic.wanted == 0 && topic.id.is_none() {
            // The last topic without an id may have left.
            self.new_topics = true;
        }
        if entry.held.is_none() {
            self.parts.remove(&key);
            self.dirty.remove(&key);
        } else {
            self.dirty.insert(key);
        }
    }

    /// Wants exactly `wanted` (topic, partition, position): a walk of every
    /// partition, for callers that hand the whole set each time.
    pub fn want_exactly<'a>(&mut self, wanted: impl IntoIterator<Item = (&'a str, i32, Position)>) {
        let mut keep: FastSet<Key> = FastSet::default();
        for (topic, partition, at) in wanted {
            let index = match self.index_of(topic) {
                Some(index) => index,
                None => self.intern(&Arc::from(topic)),
            };
            let name = self.topics[index as usize].name.clone();
            self.want(&name, partition, at);
            keep.insert((index, partition));
        }
        let gone: Vec<Key> = self
            .parts
            .iter()
            .filter(|(key, entry)| entry.wanted.is_some() && !keep.contains(key))
            .map(|(key, _)| *key)
            .collect();
        for key in gone {
            self.unwant_key(key);
        }
    }

    /// Sets every wanted partition's size (a walk of every partition: for
    /// when the share of a request's bytes per partition changes).
    pub fn set_max_bytes(&mut self, max_bytes: i32) {
        for (key, entry) in &mut self.parts {
            if let Some(at) = &mut entry.wanted {
                if at.max_bytes != max_bytes {
                    at.max_bytes = max_bytes;
                    self.dirty.insert(*key);
                }
            }
        }
    }

    /// Every wanted partition, by topic name.
    pub fn wanted_partitions(&self) -> Vec<(Arc<str>, i32)> {
        self.parts
            .iter()
            .filter(|(_, entry)| entry.wanted.is_some())
            .map(|((topic, partition), _)| (self.topics[*topic as usize].name.clone(), *partition))
            .collect()
    }

    /// The position the broker holds for a partition, as last sent.
    pub fn held(&self, key: Key) -> Option<Position> {
        self.parts.get(&key)?.held
    }

    /// Looks the topics' ids up in `metadata` when it is another than last
    /// time or topics joined (once per metadata change, not per request).
    pub fn look_up_ids(&mut self, metadata: &Arc<Metadata>) {
        let same = self
            .ids_from
            .as_ref()
            .is_some_and(|from| Arc::ptr_eq(from, metadata));
        if same && !self.new_topics {
            return;
        }
        self.ids_from = Some(metadata.clone());
        self.new_topics = false;
        self.all_ids = true;
        self.id_changed = false;
        for topic in &mut self.topics {
            topic.id = metadata
                .topics
                .get(&*topic.name)
                .map(|t| Uuid::from_bytes(t.topic_id))
                .filter(|id| !id.is_nil());
            if topic.id.is_none() && topic.wanted > 0 {
                self.all_ids = false;
            }
            // Only a topic still wanted: one only forgotten is named by the
            // id it was sent with.
            if topic.wanted > 0
                && topic.held > 0
                && topic.sent_id.is_some()
                && topic.sent_id != topic.id
            {
                self.id_changed = true;
            }
        }
        self.index_ids();
    }

    /// Rebuilds the table from ids to topics (at a metadata change or when
    /// topics were renumbered, never per request).
    fn index_ids(&mut self) {
        self.by_id.clear();
        for (index, topic) in self.topics.iter().enumerate() {
            if let Some(id) = topic.id {
                self.by_id.insert(id, index as u32);
            }
        }
        // Topics only forgotten are still answered by the id they were sent
        // with.
        for (index, topic) in self.topics.iter().enumerate() {
            if let Some(id) = topic.sent_id {
                self.by_id.entry(id).or_insert(index as u32);
            }
        }
    }

    /// Whether the next request may name topics by id (`by_id_possible`:
    /// the broker speaks it) and whether that is a change the broker's
    /// session does not allow (by id instead of by name or back, or a topic
    /// under a new id), in which case the session starts over.
    pub fn naming(&self, by_id_possible: bool) -> (bool, bool) {
        let by_id = by_id_possible && self.all_ids;
        let changes = match self.named_by_id {
            None => false,
            Some(held) => held != by_id || (by_id && self.id_changed),
        };
        (by_id, changes)
    }

    /// The next request is full and replaces the broker's session.
    pub fn start_over(&mut self) {
        self.full = true;
    }

    /// What the next request sends.
    pub fn plan(&self) -> Plan {
        if self.full {
            return self.plan_full();
        }
        self.plan_incremental()
    }

    /// Every wanted partition, as a full request sends them.
    pub fn plan_full(&self) -> Plan {
        let mut send: Vec<(Key, Position)> = self
            .parts
            .iter()
            .filter_map(|(key, entry)| Some((*key, entry.wanted?)))
            .collect();
        send.sort_unstable_by_key(|(key, _)| *key);
        Plan {
            full: true,
            send,
            forget: Vec::new(),
        }
    }

    fn plan_incremental(&self) -> Plan {
        let mut send = Vec::new();
        let mut forget = Vec::new();
        for key in &self.dirty {
            let Some(entry) = self.parts.get(key) else {
                continue;
            };
            match (entry.wanted, entry.held) {
                (Some(wanted), held) if held != Some(wanted) => send.push((*key, wanted)),
                (None, Some(_)) => forget.push(*key),
                _ => {}
            }
        }
        send.sort_unstable_by_key(|(key, _)| *key);
        forget.sort_unstable();
        Plan {
            full: false,
            send,
            forget,
        }
    }

    /// Records what the broker holds once `plan` was answered; `by_id`: how
    /// the request named topics. `kept`: whether the broker keeps a session
    /// (a session id other than 0); without one every request stays full.
    pub fn apply(&mut self, plan: &Plan, by_id: bool, kept: bool) {
        if plan.full {
            for topic in &mut self.topics {
                topic.held = 0;
                topic.sent_id = None;
            }
            self.parts.retain(|_, entry| {
                entry.held = entry.wanted;
                entry.wanted.is_some()
            });
            for (topic, _) in self.parts.keys() {
                self.topics[*topic as usize].held += 1;
            }
            self.dirty.clear();
            self.forget_unused_topics();
        } else {
            for (key, at) in &plan.send {
                if let Some(entry) = self.parts.get_mut(key) {
                    if entry.held.is_none() {
                        self.topics[key.0 as usize].held += 1;
                    }
                    entry.held = Some(*at);
                }
                self.dirty.remove(key);
            }
            for key in &plan.forget {
                if let Some(entry) = self.parts.get_mut(key) {
                    if entry.held.take().is_some() {
                        self.topics[key.0 as usize].held -= 1;
                    }
                    if entry.wanted.is_none() {
                        self.parts.remove(key);
                    }
                }
                self.dirty.remove(key);
            }
        }
        // Only the topics this request named (all of them when full).
        let named: Vec<u32> = if plan.full {
            (0..self.topics.len() as u32).collect()
        } else {
            let mut named: Vec<u32> = plan.send.iter().map(|((t, _), _)| *t).collect();
            named.extend(plan.forget.iter().map(|(t, _)| *t));
            named.dedup();
            named
        };
        for index in named {
            let topic = &mut self.topics[index as usize];
            topic.sent_id = if by_id && topic.held > 0 {
                topic.id
            } else {
                None
            };
        }
        self.named_by_id = (kept && !self.parts.is_empty()).then_some(by_id);
        self.full = !kept;
        if plan.full {
            // The session's ids are those of the topics it holds now.
            self.id_changed = false;
        }
    }

    /// Drops topics with no partition wanted or held (a full request walks
    /// every partition anyway): topics seen once do not pile up.
    fn forget_unused_topics(&mut self) {
        if self.topics.iter().all(|t| t.wanted > 0 || t.held > 0) {
            return;
        }
        let mut renumber = vec![u32::MAX; self.topics.len()];
        let old = std::mem::take(&mut self.topics);
        self.by_name.clear();
        for (index, topic) in old.into_iter().enumerate() {
            if topic.wanted > 0 || topic.held > 0 {
                renumber[index] = self.topics.len() as u32;
                self.by_name
                    .insert(topic.name.clone(), self.topics.len() as u32);
                self.topics.push(topic);
            }
        }
        let parts = std::mem::take(&mut self.parts);
        self.parts = parts
            .into_iter()
            .map(|((topic, partition), entry)| ((renumber[topic as usize], partition), entry))
            .collect();
        self.index_ids();
    }

    /// The partition moved on to `next` in the session's own answer, from
    /// `requested`: when it is still wanted at `requested`, it is now
    /// wanted at `next`, so the caller need not say so.
    pub fn answered(&mut self, key: Key, requested: i64, next: i64) {
        if next == requested {
            return;
        }
        if let Some(entry) = self.parts.get_mut(&key) {
            if let Some(at) = &mut entry.wanted {
                if at.offset == requested {
                    at.offset = next;
                    self.dirty.insert(key);
                }
            }
        }
    }

    /// After a failed request the broker's view is unknown: the next
    /// request is full.
    pub fn restart(&mut self) {
        self.full = true;
        self.named_by_id = None;
    }
}

#[cfg(test)]
mod tests;
