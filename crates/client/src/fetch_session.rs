//! The client's half of a fetch session with one broker (KIP-227).
//!
//! Without a session every fetch names every partition, so a request for
//! thousands of partitions is large and the broker walks all of them each
//! time. In a session the broker keeps the partition list: after the first
//! (full) request, a request names only the partitions whose fetch offset
//! changed or that join, plus the ones to forget, and the answer names only
//! partitions with news. An idle partition then costs nothing per round.
//!
//! The session is plain state driven by the caller, one per broker, used by
//! one request at a time, as the Java consumer's `FetchSessionHandler`.
//!
//! Topics are named by id (Fetch v13+, KIP-516) whenever the broker speaks
//! it and the metadata has every topic's id, as the Java consumer does. Not
//! only for smaller requests: a broker keys a session's partitions by a hash
//! of the topic, and with names (`31 * partition + name.hashCode()`) the
//! partitions of topics named like `orders-0000` .. `orders-0999` land in
//! one dense run of its open-addressed table; every partition with news
//! then costs a walk of that run. Measured on Kafka 4.1 with 10,000
//! partitions: 25 s of broker time to answer 1,000 partitions with records
//! by name, 0.16 s by id; 9-19 s to open the session by name, 0.25-0.5 s
//! by id. Old brokers, or topics without an id, fall back to names.

use std::collections::{BTreeMap, HashMap};

use bytes::Bytes;
use kafka_protocol::ResponseError;
use kmirror_wire::RawBatch;
use uuid::Uuid;

use crate::cluster::Metadata;
use crate::connection::BrokerConnection;
use crate::error::{ClientError, Result};
use crate::fetch::{
    build_request, fetch_version, fetch_version_by_id, parse_partitions, send, FetchParams,
    FetchedPartition, PartitionFetch, SessionFields,
};

/// The first Fetch version with sessions.
const FIRST_SESSION_VERSION: i16 = 7;
/// The epoch of a full request that opens a session (closing the one named).
const INITIAL_EPOCH: i32 = 0;

/// What the broker holds for a partition of the session.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Held {
    offset: i64,
    max_bytes: i32,
}

/// A fetch session with one broker.
#[derive(Debug, Default)]
pub struct FetchSession {
    /// The session the broker gave, 0 for none.
    id: i32,
    /// The epoch of the next request; [`INITIAL_EPOCH`] makes it full.
    epoch: i32,
    /// The partitions the broker holds for the session, as last sent, by
    /// topic (looked up by `&str`, without allocating, on every request).
    held: HashMap<String, HashMap<i32, Held>>,
    /// The ids the held topics were sent with, when the session names
    /// topics by id (empty when it names them by name).
    ids: HashMap<String, Uuid>,
}

/// What one request sends: the partitions named and the ones forgotten.
#[derive(Debug, PartialEq, Eq)]
struct Plan {
    full: bool,
    send: Vec<PartitionFetch>,
    forget: Vec<(String, Vec<i32>)>,
}

impl FetchSession {
    pub fn new() -> Self {
        FetchSession::default()
    }

    /// Whether the session names its topics by id (Fetch v13+).
    pub fn names_topics_by_id(&self) -> bool {
        !self.ids.is_empty()
    }

    /// The session id the broker gave, 0 before it gave one.
    pub fn id(&self) -> i32 {
        self.id
    }

    /// Fetches `wanted` (every partition to read from this broker now, at
    /// its next offset) in the session; `metadata` gives the topics' ids.
    /// `own` is applied to the response body as in
    /// [`crate::fetch::fetch_owned`]. The batches come back ready for a
    /// sender ([`crate::ForwardableBatch`]).
    ///
    /// The answer names only partitions with news when the session is
    /// established; a partition not named has nothing new. On any error
    /// the next request is a full one that replaces the session.
    pub async fn fetch(
        &mut self,
        conn: &BrokerConnection,
        params: &FetchParams,
        wanted: &[PartitionFetch],
        metadata: &Metadata,
        own: impl FnOnce(Bytes) -> Bytes,
    ) -> Result<Vec<FetchedPartition>> {
        let by_name = fetch_version(conn)?;
        if by_name < FIRST_SESSION_VERSION {
            let fetched = crate::fetch::fetch_owned(conn, params, wanted, own).await?;
            return Ok(forwardable(fetched));
        }
        let by_id = fetch_version_by_id(conn)
            .and_then(|version| Some((version, topic_ids(metadata, wanted)?)));
        if self.naming_changes(by_id.as_ref().map(|(_, ids)| ids)) {
            self.start_over();
        }
        let plan = self.plan(wanted);
        let (version, ids) = match by_id {
            Some((version, mut ids)) => {
                // Topics only forgotten are named by the id they were sent
                // with.
                for (topic, _) in &plan.forget {
                    if let Some(id) = self.ids.get(topic) {
                        ids.entry(topic.clone()).or_insert(*id);
                    }
                }
                (version, Some(ids))
            }
            None => (by_name, None),
        };
        let request = build_request(
            params,
            &plan.send,
            SessionFields {
                id: self.id,
                epoch: if plan.full { INITIAL_EPOCH } else { self.epoch },
                forgotten: &plan.forget,
            },
            ids.as_ref(),
        );
        let response = match send(conn, params, &request, version, own).await {
            Ok(response) => response,
            Err(error) => {
                self.restart(&error);
                return Err(error);
            }
        };
        self.apply(plan, response.session_id);
        let names: Option<HashMap<Uuid, &str>> = ids.as_ref().map(|ids| {
            ids.iter()
                .map(|(topic, id)| (*id, topic.as_str()))
                .collect()
        });
        let fetched = parse_partitions(
            conn,
            params,
            response,
            names.as_ref(),
            |topic, partition| self.held(topic, partition).map(|h| h.offset),
        );
        self.keep_ids(ids);
        Ok(forwardable(fetched))
    }

    /// Whether the next request names topics differently from the session
    /// (by id instead of by name or back, or a topic under a new id: it was
    /// deleted and created again), which a broker refuses within a session.
    fn naming_changes(&self, ids: Option<&HashMap<String, Uuid>>) -> bool {
        let by_id_now = !self.ids.is_empty() || self.held.is_empty();
        match ids {
            None => !self.ids.is_empty(),
            Some(ids) => {
                !by_id_now
                    || ids
                        .iter()
                        .any(|(topic, id)| self.ids.get(topic).is_some_and(|held| held != id))
            }
        }
    }

    /// The next request is full and replaces the session.
    fn start_over(&mut self) {
        self.epoch = INITIAL_EPOCH;
        self.held.clear();
        self.ids.clear();
    }

    /// Keeps the ids of the topics the session now holds.
    fn keep_ids(&mut self, ids: Option<HashMap<String, Uuid>>) {
        match ids {
            Some(ids) => {
                for (topic, id) in ids {
                    if self.held.contains_key(&topic) {
                        self.ids.insert(topic, id);
                    }
                }
                let held = &self.held;
                self.ids.retain(|topic, _| held.contains_key(topic));
            }
            None => self.ids.clear(),
        }
    }

    fn held(&self, topic: &str, partition: i32) -> Option<&Held> {
        self.held.get(topic)?.get(&partition)
    }

    /// What the next request sends for `wanted`.
    fn plan(&self, wanted: &[PartitionFetch]) -> Plan {
        let full = self.id == 0 || self.epoch == INITIAL_EPOCH;
        if full {
            return Plan {
                full,
                send: wanted.to_vec(),
                forget: Vec::new(),
            };
        }
        let send = wanted
            .iter()
            .filter(|p| {
                self.held(&p.topic, p.partition)
                    != Some(&Held {
                        offset: p.offset,
                        max_bytes: p.max_bytes,
                    })
            })
            .cloned()
            .collect();
        let wanted_keys: std::collections::HashSet<(&str, i32)> = wanted
            .iter()
            .map(|p| (p.topic.as_str(), p.partition))
            .collect();
        let mut forget: BTreeMap<&str, Vec<i32>> = BTreeMap::new();
        for (topic, partitions) in &self.held {
            for partition in partitions.keys() {
                if !wanted_keys.contains(&(topic.as_str(), *partition)) {
                    forget.entry(topic).or_default().push(*partition);
                }
            }
        }
        Plan {
            full,
            send,
            forget: forget
                .into_iter()
                .map(|(topic, mut partitions)| {
                    partitions.sort_unstable();
                    (topic.to_string(), partitions)
                })
                .collect(),
        }
    }

    /// Records what the broker now holds after `plan` was answered with
    /// `session_id`.
    fn apply(&mut self, plan: Plan, session_id: i32) {
        if plan.full {
            self.held.clear();
        }
        for (topic, partitions) in plan.forget {
            if let Some(held) = self.held.get_mut(&topic) {
                for partition in partitions {
                    held.remove(&partition);
                }
                if held.is_empty() {
                    self.held.remove(&topic);
                }
            }
        }
        for p in plan.send {
            self.held.entry(p.topic).or_default().insert(
                p.partition,
                Held {
                    offset: p.offset,
                    max_bytes: p.max_bytes,
                },
            );
        }
        if session_id == 0 {
            // The broker keeps no session (its cache is full, or sessions
            // are off): every request stays full, asking for one each time.
            self.id = 0;
            self.epoch = INITIAL_EPOCH;
            self.held.clear();
        } else {
            self.id = session_id;
            // Epochs run 1..=i32::MAX and wrap to 1, as in Kafka.
            self.epoch = if plan.full || self.epoch == i32::MAX {
                1
            } else {
                self.epoch + 1
            };
        }
    }

    /// After a failed request the broker's view of the session is unknown:
    /// the next request is full. It names the old session so that the
    /// broker frees it, unless the broker said it no longer has it.
    fn restart(&mut self, error: &ClientError) {
        if error.broker_error() == Some(ResponseError::FetchSessionIdNotFound) {
            self.id = 0;
        }
        self.epoch = INITIAL_EPOCH;
        self.held.clear();
        self.ids.clear();
    }
}

/// The id of every topic in `wanted`, or `None` when the metadata lacks one
/// (a broker without topic ids, or a topic not yet seen).
fn topic_ids(metadata: &Metadata, wanted: &[PartitionFetch]) -> Option<HashMap<String, Uuid>> {
    let mut ids = HashMap::new();
    let mut previous: Option<&str> = None;
    for p in wanted {
        // `wanted` comes sorted by topic: one lookup per topic.
        if previous == Some(p.topic.as_str()) || ids.contains_key(&p.topic) {
            continue;
        }
        previous = Some(p.topic.as_str());
        let id = Uuid::from_bytes(metadata.topics.get(&p.topic)?.topic_id);
        if id.is_nil() {
            return None;
        }
        ids.insert(p.topic.clone(), id);
    }
    Some(ids)
}

/// The batches of every partition of an answer made forwardable.
fn forwardable(fetched: Vec<FetchedPartition<RawBatch>>) -> Vec<FetchedPartition> {
    fetched
        .into_iter()
        .map(FetchedPartition::into_forwardable)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(topic: &str, partition: i32, offset: i64) -> PartitionFetch {
        PartitionFetch {
            topic: topic.to_string(),
            partition,
            offset,
            max_bytes: 1 << 20,
        }
    }

    fn ids(pairs: &[(&str, u128)]) -> HashMap<String, Uuid> {
        pairs
            .iter()
            .map(|(topic, id)| (topic.to_string(), Uuid::from_u128(*id)))
            .collect()
    }

    /// A session that has sent `p(topic, 0, 0)`, by id when `id` is given.
    fn holding(topic: &str, id: Option<u128>) -> FetchSession {
        let mut session = FetchSession::new();
        let plan = session.plan(&[p(topic, 0, 0)]);
        session.apply(plan, 7);
        session.keep_ids(id.map(|id| ids(&[(topic, id)])));
        session
    }

    #[test]
    fn a_session_keeps_one_way_of_naming_topics() {
        let fresh = FetchSession::new();
        assert!(!fresh.naming_changes(None));
        assert!(!fresh.naming_changes(Some(&ids(&[("t", 1)]))));

        let by_name = holding("t", None);
        assert!(!by_name.names_topics_by_id());
        assert!(!by_name.naming_changes(None));
        assert!(by_name.naming_changes(Some(&ids(&[("t", 1)]))));

        let by_id = holding("t", Some(1));
        assert!(by_id.names_topics_by_id());
        assert!(!by_id.naming_changes(Some(&ids(&[("t", 1), ("u", 2)]))));
        assert!(by_id.naming_changes(None), "ids no longer known");
        assert!(
            by_id.naming_changes(Some(&ids(&[("t", 3)]))),
            "the topic was deleted and created again"
        );
    }

    #[test]
    fn a_forgotten_topic_keeps_its_id_only_while_held() {
        let mut session = holding("t", Some(1));
        // `t` forgotten, `u` joins.
        let plan = session.plan(&[p("u", 0, 0)]);
        assert_eq!(plan.forget, vec![("t".to_string(), vec![0])]);
        session.apply(plan, 7);
        session.keep_ids(Some(ids(&[("u", 2), ("t", 1)])));
        assert_eq!(session.ids, ids(&[("u", 2)]));
    }

    fn established(wanted: &[PartitionFetch]) -> FetchSession {
        let mut session = FetchSession::new();
        let plan = session.plan(wanted);
        assert!(plan.full);
        session.apply(plan, 42);
        session
    }

    #[test]
    fn the_first_request_is_full_and_opens_a_session() {
        let wanted = vec![p("a", 0, 5), p("a", 1, 7)];
        let session = established(&wanted);
        assert_eq!(session.id(), 42);
        assert_eq!(session.epoch, 1);
        assert_eq!(session.held.values().map(HashMap::len).sum::<usize>(), 2);
    }

    #[test]
    fn an_established_session_sends_only_changes_and_forgets_the_rest() {
        let mut session = established(&[p("a", 0, 5), p("a", 1, 7), p("b", 0, 1)]);
        // a-0 advanced, a-1 unchanged, b-0 no longer wanted, c-3 joins.
        let plan = session.plan(&[p("a", 0, 9), p("a", 1, 7), p("c", 3, 0)]);
        assert_eq!(
            plan,
            Plan {
                full: false,
                send: vec![p("a", 0, 9), p("c", 3, 0)],
                forget: vec![("b".to_string(), vec![0])],
            }
        );
        session.apply(plan, 42);
        assert_eq!(session.epoch, 2);
        let mut held: Vec<_> = session
            .held
            .iter()
            .flat_map(|(t, partitions)| {
                partitions
                    .iter()
                    .map(move |(p, h)| (t.clone(), *p, h.offset))
            })
            .collect();
        held.sort();
        assert_eq!(
            held,
            vec![
                ("a".to_string(), 0, 9),
                ("a".to_string(), 1, 7),
                ("c".to_string(), 3, 0)
            ]
        );
        // Nothing changed: an empty incremental request.
        let plan = session.plan(&[p("a", 0, 9), p("a", 1, 7), p("c", 3, 0)]);
        assert!(!plan.full && plan.send.is_empty() && plan.forget.is_empty());
    }

    #[test]
    fn a_changed_partition_size_is_sent_again() {
        let session = established(&[p("a", 0, 5)]);
        let mut bigger = p("a", 0, 5);
        bigger.max_bytes *= 2;
        assert_eq!(session.plan(&[bigger.clone()]).send, vec![bigger]);
    }

    #[test]
    fn no_session_from_the_broker_keeps_requests_full() {
        let mut session = FetchSession::new();
        let plan = session.plan(&[p("a", 0, 5)]);
        session.apply(plan, 0);
        let plan = session.plan(&[p("a", 0, 5)]);
        assert!(plan.full);
        assert_eq!(plan.send.len(), 1);
    }

    #[test]
    fn an_error_makes_the_next_request_full_and_names_the_old_session() {
        let mut session = established(&[p("a", 0, 5)]);
        session.restart(&ClientError::RequestTimeout {
            addr: "127.0.0.1:9092".to_string(),
            api: kafka_protocol::messages::ApiKey::Fetch,
            timeout: std::time::Duration::from_secs(1),
        });
        let plan = session.plan(&[p("a", 0, 5)]);
        assert!(plan.full);
        assert_eq!(session.id(), 42, "the full request closes session 42");
        assert_eq!(session.epoch, INITIAL_EPOCH);
    }

    #[test]
    fn a_session_the_broker_lost_is_not_named_again() {
        let mut session = established(&[p("a", 0, 5)]);
        session.restart(&ClientError::Broker {
            api: kafka_protocol::messages::ApiKey::Fetch,
            context: "broker 1".to_string(),
            error: ResponseError::FetchSessionIdNotFound,
            message: None,
        });
        assert_eq!(session.id(), 0);
        assert!(session.plan(&[p("a", 0, 5)]).full);
    }

    #[test]
    fn epochs_wrap_to_one() {
        let mut session = established(&[p("a", 0, 5)]);
        session.epoch = i32::MAX;
        let plan = session.plan(&[p("a", 0, 5)]);
        session.apply(plan, 42);
        assert_eq!(session.epoch, 1);
    }
}
