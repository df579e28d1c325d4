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

use std::sync::Arc;

use bytes::Bytes;
use kafka_protocol::messages::fetch_request::{FetchTopic, ForgottenTopic};
use kafka_protocol::messages::FetchRequest;
use kafka_protocol::messages::TopicName;
use kafka_protocol::ResponseError;
use kmirror_wire::RawBatch;
use uuid::Uuid;

use crate::cluster::Metadata;
use crate::connection::BrokerConnection;
use crate::error::{ClientError, Result};
use crate::fetch::{
    fetch_partition, fetch_version, fetch_version_by_id, parse_partitions, request_shell, send,
    FetchParams, FetchedPartition, PartitionFetch,
};

mod state;

use state::{Plan, Position, SessionState};

/// The first Fetch version with sessions.
const FIRST_SESSION_VERSION: i16 = 7;
/// The epoch of a full request that opens a session (closing the one named).
const INITIAL_EPOCH: i32 = 0;

/// A fetch session with one broker.
///
/// The caller says which partitions it wants ([`FetchSession::want`],
/// [`FetchSession::unwant`]) when that changes, and calls
/// [`FetchSession::fetch_wanted`]; a partition's position moves on by
/// itself with the session's own answers. [`FetchSession::fetch`] takes the
/// whole wanted set instead, for callers that have it at hand.
#[derive(Debug)]
pub struct FetchSession {
    /// The session the broker gave, 0 for none.
    id: i32,
    /// The epoch of the next request; [`INITIAL_EPOCH`] makes it full.
    epoch: i32,
    state: SessionState,
}

impl Default for FetchSession {
    fn default() -> Self {
        FetchSession::new()
    }
}

impl FetchSession {
    pub fn new() -> Self {
        FetchSession {
            id: 0,
            epoch: INITIAL_EPOCH,
            state: SessionState::new(),
        }
    }

    /// Whether the session names its topics by id (Fetch v13+).
    pub fn names_topics_by_id(&self) -> bool {
        self.state.named_by_id == Some(true)
    }

    /// The session id the broker gave, 0 before it gave one.
    pub fn id(&self) -> i32 {
        self.id
    }

    /// Wants `partition` of `topic` from `offset`, `max_bytes` at most:
    /// adds it, or moves it (an offset reset, a restart elsewhere). Not
    /// needed when the session's own answer moved it.
    pub fn want(&mut self, topic: &Arc<str>, partition: i32, offset: i64, max_bytes: i32) {
        self.state
            .want(topic, partition, Position { offset, max_bytes });
    }

    /// No longer wants `partition` of `topic`: the next request tells the
    /// broker to forget it.
    pub fn unwant(&mut self, topic: &str, partition: i32) {
        self.state.unwant(topic, partition);
    }

    /// How many partitions are wanted.
    pub fn wanted_count(&self) -> usize {
        self.state.wanted_count()
    }

    /// Every wanted partition (a walk of all of them: for rare events such
    /// as a failed request).
    pub fn wanted_partitions(&self) -> Vec<(Arc<str>, i32)> {
        self.state.wanted_partitions()
    }

    /// Sets the size of every wanted partition (a walk of all of them: call
    /// it when the size changes).
    pub fn set_max_bytes(&mut self, max_bytes: i32) {
        self.state.set_max_bytes(max_bytes);
    }

    /// Fetches `wanted` (every partition to read from this broker now, at
    /// its next offset) in the session: [`FetchSession::fetch_wanted`] after
    /// making `wanted` the wanted set, which walks every partition.
    pub async fn fetch(
        &mut self,
        conn: &BrokerConnection,
        params: &FetchParams,
        wanted: &[PartitionFetch],
        metadata: &Arc<Metadata>,
        own: impl FnOnce(Bytes) -> Bytes,
    ) -> Result<Vec<FetchedPartition>> {
        self.state.want_exactly(wanted.iter().map(|p| {
            (
                p.topic.as_str(),
                p.partition,
                Position {
                    offset: p.offset,
                    max_bytes: p.max_bytes,
                },
            )
        }));
        self.fetch_wanted(conn, params, metadata, own).await
    }

    /// Fetches the wanted partitions in the session; `metadata` gives the
    /// topics' ids (looked up again only when it is another `Arc` than last
    /// time). `own` is applied to the response body as in
    /// [`crate::fetch::fetch_owned`]. The batches come back ready for a
    /// sender ([`crate::ForwardableBatch`]).
    ///
    /// The answer names only partitions with news when the session is
    /// established; a partition not named has nothing new. A partition
    /// answered with records is then wanted from the answer's next offset.
    /// On any error the next request is a full one that replaces the
    /// session.
    pub async fn fetch_wanted(
        &mut self,
        conn: &BrokerConnection,
        params: &FetchParams,
        metadata: &Arc<Metadata>,
        own: impl FnOnce(Bytes) -> Bytes,
    ) -> Result<Vec<FetchedPartition>> {
        let by_name = fetch_version(conn)?;
        if by_name < FIRST_SESSION_VERSION {
            let wanted = self.wanted_fetches();
            let fetched = crate::fetch::fetch_owned(conn, params, &wanted, own).await?;
            return Ok(self.moved_on(forwardable(fetched)));
        }
        let by_id_version = fetch_version_by_id(conn);
        self.state.look_up_ids(metadata);
        let (by_id, naming_changes) = self.state.naming(by_id_version.is_some());
        if naming_changes || self.id == 0 || self.epoch == INITIAL_EPOCH {
            self.epoch = INITIAL_EPOCH;
            self.state.start_over();
        }
        let plan = self.state.plan();
        let version = match by_id_version {
            Some(version) if by_id => version,
            _ => by_name,
        };
        let request = self.request(params, &plan, by_id);
        let response = match send(conn, params, &request, version, own).await {
            Ok(response) => response,
            Err(error) => {
                self.restart(&error);
                return Err(error);
            }
        };
        self.apply(&plan, by_id, response.session_id);
        let state = &self.state;
        let fetched = parse_partitions(
            conn,
            params,
            response,
            |name: &TopicName, id: &Uuid| {
                if by_id {
                    let index = state.index_of_id(id)?;
                    Some(state.topic(index).name.to_string())
                } else {
                    Some(name.0.to_string())
                }
            },
            |topic, partition| {
                let index = state.index_of(topic)?;
                state.held((index, partition)).map(|at| at.offset)
            },
        );
        Ok(self.moved_on(forwardable(fetched)))
    }

    /// The partitions of an answer with records move on in the wanted set.
    fn moved_on(&mut self, fetched: Vec<FetchedPartition>) -> Vec<FetchedPartition> {
        for p in &fetched {
            if let (Ok(data), Some(index)) = (&p.result, self.state.index_of(&p.topic)) {
                self.state
                    .answered((index, p.partition), p.requested_offset, data.next_offset);
            }
        }
        fetched
    }

    /// Every wanted partition as a request names it (for brokers without
    /// sessions, where every request is full).
    fn wanted_fetches(&self) -> Vec<PartitionFetch> {
        self.state
            .plan_full()
            .send
            .into_iter()
            .map(|((topic, partition), at)| PartitionFetch {
                topic: self.state.topic(topic).name.to_string(),
                partition,
                offset: at.offset,
                max_bytes: at.max_bytes,
            })
            .collect()
    }

    /// The request of `plan`, naming topics by id or by name.
    fn request(&self, params: &FetchParams, plan: &Plan, by_id: bool) -> FetchRequest {
        let topic_of = |index: u32, id: Option<Uuid>| {
            let topic = self.state.topic(index);
            (
                TopicName(topic.wire_name.clone()),
                if by_id {
                    id.unwrap_or(Uuid::nil())
                } else {
                    Uuid::nil()
                },
            )
        };
        let mut topics: Vec<FetchTopic> = Vec::new();
        let mut last: Option<u32> = None;
        for ((index, partition), at) in &plan.send {
            if last != Some(*index) {
                last = Some(*index);
                let (name, id) = topic_of(*index, self.state.topic(*index).id);
                topics.push(FetchTopic::default().with_topic(name).with_topic_id(id));
            }
            if let Some(topic) = topics.last_mut() {
                topic
                    .partitions
                    .push(fetch_partition(*partition, at.offset, at.max_bytes));
            }
        }
        let mut forgotten: Vec<ForgottenTopic> = Vec::new();
        let mut last: Option<u32> = None;
        for (index, partition) in &plan.forget {
            if last != Some(*index) {
                last = Some(*index);
                // A topic only forgotten is named by the id it was sent with.
                let (name, id) = topic_of(*index, self.state.topic(*index).sent_id);
                forgotten.push(ForgottenTopic::default().with_topic(name).with_topic_id(id));
            }
            if let Some(topic) = forgotten.last_mut() {
                topic.partitions.push(*partition);
            }
        }
        let epoch = if plan.full { INITIAL_EPOCH } else { self.epoch };
        request_shell(params, self.id, epoch)
            .with_topics(topics)
            .with_forgotten_topics_data(forgotten)
    }

    /// Records what the broker now holds after `plan` was answered with
    /// `session_id`.
    fn apply(&mut self, plan: &Plan, by_id: bool, session_id: i32) {
        self.state.apply(plan, by_id, session_id != 0);
        if session_id == 0 {
            // The broker keeps no session (its cache is full, or sessions
            // are off): every request stays full, asking for one each time.
            self.id = 0;
            self.epoch = INITIAL_EPOCH;
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
        self.state.restart();
    }
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

    /// A session that opened session 42 holding a-0@5.
    fn established() -> FetchSession {
        let mut session = FetchSession::new();
        session.want(&Arc::from("a"), 0, 5, 1 << 20);
        let plan = session.state.plan();
        assert!(plan.full);
        session.apply(&plan, false, 42);
        session
    }

    #[test]
    fn the_first_request_opens_a_session_and_epochs_count_from_one() {
        let mut session = established();
        assert_eq!(session.id(), 42);
        assert_eq!(session.epoch, 1);
        let plan = session.state.plan();
        assert!(!plan.full && plan.send.is_empty());
        session.apply(&plan, false, 42);
        assert_eq!(session.epoch, 2);
    }

    #[test]
    fn an_error_makes_the_next_request_full_and_names_the_old_session() {
        let mut session = established();
        session.restart(&ClientError::RequestTimeout {
            addr: "127.0.0.1:9092".to_string(),
            api: kafka_protocol::messages::ApiKey::Fetch,
            timeout: std::time::Duration::from_secs(1),
        });
        assert!(session.state.plan().full);
        assert_eq!(session.id(), 42, "the full request closes session 42");
        assert_eq!(session.epoch, INITIAL_EPOCH);
        let request = session.request(&FetchParams::default(), &session.state.plan(), false);
        assert_eq!((request.session_id, request.session_epoch), (42, 0));
    }

    #[test]
    fn a_session_the_broker_lost_is_not_named_again() {
        let mut session = established();
        session.restart(&ClientError::Broker {
            api: kafka_protocol::messages::ApiKey::Fetch,
            context: "broker 1".to_string(),
            error: ResponseError::FetchSessionIdNotFound,
            message: None,
        });
        assert_eq!(session.id(), 0);
        assert!(session.state.plan().full);
    }

    #[test]
    fn no_session_from_the_broker_keeps_requests_full() {
        let mut session = established();
        let plan = session.state.plan();
        session.apply(&plan, false, 0);
        assert_eq!((session.id(), session.epoch), (0, INITIAL_EPOCH));
        assert!(session.state.plan().full);
    }

    #[test]
    fn epochs_wrap_to_one() {
        let mut session = established();
        session.epoch = i32::MAX;
        let plan = session.state.plan();
        session.apply(&plan, false, 42);
        assert_eq!(session.epoch, 1);
    }

    #[test]
    fn an_incremental_request_names_changes_grouped_by_topic() {
        let mut session = established();
        let b: Arc<str> = Arc::from("b");
        session.want(&b, 1, 3, 1 << 20);
        session.want(&b, 0, 2, 1 << 20);
        session.unwant("a", 0);
        let plan = session.state.plan();
        let request = session.request(&FetchParams::default(), &plan, false);
        assert_eq!((request.session_id, request.session_epoch), (42, 1));
        let topics: Vec<(String, Vec<(i32, i64)>)> = request
            .topics
            .iter()
            .map(|t| {
                (
                    t.topic.0.to_string(),
                    t.partitions
                        .iter()
                        .map(|p| (p.partition, p.fetch_offset))
                        .collect(),
                )
            })
            .collect();
        assert_eq!(topics, vec![("b".to_string(), vec![(0, 2), (1, 3)])]);
        let forgotten: Vec<(String, Vec<i32>)> = request
            .forgotten_topics_data
            .iter()
            .map(|t| (t.topic.0.to_string(), t.partitions.clone()))
            .collect();
        assert_eq!(forgotten, vec![("a".to_string(), vec![0])]);
    }
}
