//! Fetching every assigned partition of one source cluster.
//!
//! Partitions are grouped by the broker they are read from (the leader, or
//! the replica it prefers), one request per broker at a time, the way the
//! Java consumer does it. Each broker is fetched on its own: the answer of
//! one broker is handed on and its next request sent at once, whatever the
//! others are doing, so records on one broker never wait for another
//! broker's empty long poll. Each broker's requests run in a fetch session
//! (KIP-227), so a request names only the partitions that moved.
//!
//! Each broker's session keeps the set of partitions it wants; the fetcher
//! hands it changes only ([`fetch_slots`](super::fetch_slots)), so a
//! request cycle costs work for the partitions that had records or changed,
//! not for every partition (measured at 10,000 partitions with a trickle on
//! 100: see docs/BENCHMARKS.md).
//!
//! A partition whose forwarding queue is full is left out of requests
//! (forgotten by the session) until its queue has room: backpressure
//! without buffering unbounded data.
//!
//! Memory: a fetch response is one buffer that every batch in it slices, so
//! it lives until the last of its batches is acknowledged by the target. The
//! bytes asked per partition shrink as partitions are added
//! ([`partition_max_bytes`]), which bounds a response to about
//! [`ROUND_BUDGET`] whatever the partition count, and the responses alive
//! at once are bounded by a [`FetchBudget`] of [`MEMORY_BUDGET`].
//!
//! With `client.rack` set, a leader with a rack-aware replica selector
//! names a replica in the client's rack to read from (KIP-392); the
//! partition is then fetched from that replica for `metadata.max.age.ms`, and
//! from the leader again at the first error there, as the Java consumer does.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::time::Duration;

use futures::future::{BoxFuture, FutureExt};
use futures::stream::{FuturesUnordered, StreamExt};
use kmirror_client::cluster::Metadata;
use kmirror_client::fetch::{FetchParams, FetchedPartition, PartitionData};
use kmirror_client::fetch_session::FetchSession;
use kmirror_client::{ClientError, ConnectionLane, KafkaClient};
use tokio::sync::mpsc;
use tracing::{debug, warn};

use super::budget::FetchBudget;
use super::fetch_slots::{Change, Slots};
use crate::model::TopicPartition;

/// What the fetcher hands a partition's forwarder.
///
/// Both variants are boxed: a tokio channel allocates its slots 32 at a
/// time whatever its capacity, so an unboxed event (about 180 bytes) cost
/// every partition's queue nearly 6 KiB at rest, 60 MiB with 10,000
/// partitions; boxed, a block is about 600 bytes, and the one allocation per
/// delivery is per fetched partition, not per record.
#[derive(Debug)]
pub enum FetchEvent {
    /// Batches to forward (maybe none) and where fetching continues.
    Data(Box<PartitionData>),
    /// Fetching this partition stopped on an error that retrying cannot fix
    /// (unusable bytes, authorization, ...). The partition was dropped from
    /// the fetcher; the owner decides when to add it back.
    Failed(Box<ClientError>),
}

/// Commands to a running fetcher.
#[derive(Debug)]
pub enum FetcherCommand {
    /// Start fetching `tp` at `offset`, delivering to `events`.
    Add {
        tp: TopicPartition,
        offset: i64,
        events: mpsc::Sender<FetchEvent>,
    },
    /// Stop fetching `tp`.
    Remove { tp: TopicPartition },
}

/// Where to start when the asked offset is no longer (or not yet) in the log.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ResetPolicy {
    /// MM2's consumers use `auto.offset.reset=earliest`.
    Earliest,
    Latest,
}

/// Fetched bytes alive at once per fetcher (soft; see [`FetchBudget`]).
pub const MEMORY_BUDGET: usize = 48 << 20;
/// How long a round waits for room in the budget before going anyway.
const MEMORY_WAIT: Duration = Duration::from_secs(1);

/// Bytes a round asks of one broker, split among its partitions.
pub const ROUND_BUDGET: i32 = 12 << 20;
/// Per-partition bounds of that split: enough for a 1 MiB record batch (the
/// broker default `message.max.bytes`) and no more than a single partition
/// can use across a 30 ms round trip at a few hundred MB/s.
const PARTITION_MIN_BYTES: i32 = 1 << 20;
const PARTITION_MAX_BYTES: i32 = 8 << 20;

/// How long a request may wait for data when some partitions of the broker
/// were held back (their queues were full): short, because a partition that
/// drains cannot join before the request returns.
const MAX_WAIT_WITH_HELD_BACK: Duration = Duration::from_millis(20);
/// How long to wait before asking again for a partition without a leader.
const LEADERLESS_RETRY: Duration = Duration::from_millis(100);

/// Bytes to ask per partition when `partitions` share one request.
pub fn partition_max_bytes(partitions: usize) -> i32 {
    let share = ROUND_BUDGET / partitions.max(1).min(i32::MAX as usize) as i32;
    share.clamp(PARTITION_MIN_BYTES, PARTITION_MAX_BYTES)
}

/// What one broker's request came back with.
struct Answer {
    broker: i32,
    session: FetchSession,
    result: Result<Vec<FetchedPartition>, ClientError>,
    /// When the request was handed to the connection and when its answer
    /// came back (wall clock, µs), to tell the broker's time from the
    /// fetcher's own in latency traces.
    sent_us: i64,
    arrived_us: i64,
}

/// Work the fetcher waits on besides commands.
enum Done {
    /// Boxed: it carries the broker's fetch session.
    Answer(Box<Answer>),
    /// A broker whose request failed may be asked again.
    CooledDown(i32),
    /// A metadata refresh ended.
    Refreshed,
}

/// Room appeared in a partition's queue (`None`: the queue is gone).
type Room = (TopicPartition, u64, Option<mpsc::OwnedPermit<FetchEvent>>);

/// Fetches assigned partitions of one cluster until its command channel
/// closes.
#[derive(Debug)]
pub struct SourceFetcher {
    client: KafkaClient,
    /// Sockets of this fetcher alone: another fetcher's long poll on a
    /// shared socket would hold its requests up.
    lane: ConnectionLane,
    params: FetchParams,
    reset: ResetPolicy,
    budget: FetchBudget,
    /// `max.partition.fetch.bytes` when set: the bytes asked per partition,
    /// in place of the share of [`ROUND_BUDGET`].
    partition_max_bytes: Option<i32>,
}

/// One broker's fetch session and what changed while it was out.
struct BrokerSession {
    /// Absent while a request to the broker is out (the request has it).
    session: Option<FetchSession>,
    /// Changes made while the session was out, applied when it is back.
    pending: Vec<Change>,
    /// The bytes asked per partition (set before each request).
    share: i32,
}

impl Default for BrokerSession {
    fn default() -> Self {
        BrokerSession {
            session: Some(FetchSession::new()),
            pending: Vec::new(),
            share: 0,
        }
    }
}

impl BrokerSession {
    fn take(&mut self, change: Change) {
        let Some(session) = &mut self.session else {
            self.pending.push(change);
            return;
        };
        match change {
            Change::Want { tp, offset, .. } => {
                session.want(&tp.topic, tp.partition, offset, self.share)
            }
            Change::Unwant { tp, .. } => session.unwant(&tp.topic, tp.partition),
        }
    }

    /// The session is back from its request: the changes made meanwhile
    /// apply now, after what its answer moved.
    fn back(&mut self, session: FetchSession) {
        self.session = Some(session);
        for change in std::mem::take(&mut self.pending) {
            self.take(change);
        }
    }
}

/// The state of a running fetcher.
#[derive(Default)]
struct Brokers {
    /// Brokers with a request out or cooling down after a failure.
    busy: HashSet<i32>,
    sessions: HashMap<i32, BrokerSession>,
    refreshing: bool,
    /// The metadata the partitions were last placed with.
    placed_with: Option<Arc<Metadata>>,
}

impl Brokers {
    /// Hands the slots' changes to the sessions they concern.
    fn take_changes(&mut self, slots: &mut Slots) {
        for change in slots.take_changes() {
            let broker = match &change {
                Change::Want { broker, .. } | Change::Unwant { broker, .. } => *broker,
            };
            self.sessions.entry(broker).or_default().take(change);
        }
    }
}

impl SourceFetcher {
    pub fn new(client: KafkaClient, params: FetchParams, reset: ResetPolicy) -> Self {
        SourceFetcher {
            lane: client.lane(),
            client,
            params,
            reset,
            budget: FetchBudget::new(MEMORY_BUDGET, MEMORY_WAIT),
            partition_max_bytes: None,
        }
    }

    /// Asks `bytes` per partition (`max.partition.fetch.bytes`) instead of
    /// a share of the round budget; `None` keeps the share.
    pub fn with_partition_max_bytes(mut self, bytes: Option<i32>) -> Self {
        self.partition_max_bytes = bytes;
        self
    }

    /// Runs until `commands` is closed.
    pub async fn run(self, mut commands: mpsc::Receiver<FetcherCommand>) {
        let mut slots = Slots::default();
        let mut brokers = Brokers::default();
        let mut work: FuturesUnordered<BoxFuture<'_, Done>> = FuturesUnordered::new();
        let mut rooms: FuturesUnordered<BoxFuture<'static, Room>> = FuturesUnordered::new();
        loop {
            // Apply every pending command; block for one when idle.
            loop {
                let command = if slots.is_empty() && work.is_empty() && rooms.is_empty() {
                    match commands.recv().await {
                        Some(c) => c,
                        None => return,
                    }
                } else {
                    match commands.try_recv() {
                        Ok(c) => c,
                        Err(mpsc::error::TryRecvError::Empty) => break,
                        Err(mpsc::error::TryRecvError::Disconnected) => return,
                    }
                };
                apply(&mut slots, command);
            }
            wait_for_room(&mut slots, &mut rooms);
            self.place(&mut slots, &mut brokers, &mut work);
            brokers.take_changes(&mut slots);
            self.send_requests(&slots, &mut brokers, &mut work);

            let mut answered = false;
            tokio::select! {
                Some(done) = work.next(), if !work.is_empty() => {
                    answered |= matches!(done, Done::Answer(_));
                    self.take_done(&mut slots, &mut brokers, &mut work, done).await;
                }
                Some(room) = rooms.next(), if !rooms.is_empty() => take_room(&mut slots, room),
                command = commands.recv() => match command {
                    Some(command) => apply(&mut slots, command),
                    None => return,
                },
            }
            // Everything else that is ready too, before the next look at
            // every partition.
            while let Some(Some(room)) = rooms.next().now_or_never() {
                take_room(&mut slots, room);
            }
            while let Some(Some(done)) = work.next().now_or_never() {
                answered |= matches!(done, Done::Answer(_));
                self.take_done(&mut slots, &mut brokers, &mut work, done)
                    .await;
            }
            if answered {
                // The partitions just handed data were woken on this
                // thread: let them put it on the target's wire before this
                // task encodes and writes its next fetch requests. Otherwise
                // every forwarded batch waits for that work first (measured
                // at 0.1 ms typically and over 1 ms at the 99th percentile
                // on a busy two-core machine). The next requests only wait
                // for batches that are ready now, which take microseconds.
                tokio::task::yield_now().await;
            }
        }
    }

    async fn take_done<'a>(
        &'a self,
        slots: &mut Slots,
        brokers: &mut Brokers,
        work: &mut FuturesUnordered<BoxFuture<'a, Done>>,
        done: Done,
    ) {
        match done {
            Done::Answer(answer) => {
                let broker = answer.broker;
                match self.take_answer(slots, brokers, *answer).await {
                    Some(rest) => work.push(Box::pin(async move {
                        tokio::time::sleep(rest).await;
                        Done::CooledDown(broker)
                    })),
                    None => {
                        brokers.busy.remove(&broker);
                    }
                }
            }
            Done::CooledDown(broker) => {
                brokers.busy.remove(&broker);
            }
            Done::Refreshed => brokers.refreshing = false,
        }
    }

    /// Finds the broker of every partition that needs one; after a metadata
    /// change (or the end of a preferred replica's term) checks every
    /// partition's broker first.
    fn place<'a>(
        &'a self,
        slots: &mut Slots,
        brokers: &mut Brokers,
        work: &mut FuturesUnordered<BoxFuture<'a, Done>>,
    ) {
        let metadata = self.client.metadata();
        let changed = !brokers
            .placed_with
            .as_ref()
            .is_some_and(|placed| Arc::ptr_eq(placed, &metadata));
        let expired = slots
            .next_expiry()
            .is_some_and(|at| at <= tokio::time::Instant::now());
        if changed || expired {
            slots.place_again(&metadata);
            brokers.placed_with = Some(metadata.clone());
        }
        let leaderless = slots.place(&metadata);
        if leaderless && !brokers.refreshing {
            brokers.refreshing = true;
            let topics = slots.topics();
            work.push(Box::pin(async move {
                tokio::time::sleep(LEADERLESS_RETRY).await;
                if let Err(e) = self.client.refresh_metadata(Some(&topics)).await {
                    warn!(error = %e, "metadata refresh failed");
                }
                Done::Refreshed
            }));
        }
    }

    /// Sends a request to every idle broker whose session wants partitions.
    fn send_requests<'a>(
        &'a self,
        slots: &Slots,
        brokers: &mut Brokers,
        work: &mut FuturesUnordered<BoxFuture<'a, Done>>,
    ) {
        for (broker, held) in &mut brokers.sessions {
            if brokers.busy.contains(broker) {
                continue;
            }
            let Some(session) = held.session.as_mut() else {
                continue;
            };
            let wanted = session.wanted_count();
            if wanted == 0 {
                continue;
            }
            let share = self
                .partition_max_bytes
                .unwrap_or_else(|| partition_max_bytes(wanted));
            if share != held.share {
                session.set_max_bytes(share);
                held.share = share;
            }
            let Some(session) = held.session.take() else {
                continue;
            };
            brokers.busy.insert(*broker);
            // A partition held back cannot join a request already out: keep
            // the wait short so that it joins soon after its queue drains.
            let max_wait = if slots.held_back(*broker) {
                self.params.max_wait.min(MAX_WAIT_WITH_HELD_BACK)
            } else {
                self.params.max_wait
            };
            work.push(Box::pin(self.request(*broker, session, share, max_wait)));
        }
    }

    /// One request to `broker` in its session.
    async fn request(
        &self,
        broker: i32,
        mut session: FetchSession,
        max_bytes: i32,
        max_wait: Duration,
    ) -> Done {
        let wanted = session.wanted_count();
        let params = FetchParams {
            max_wait,
            ..self.params.clone()
        };
        let most = (max_bytes as i64 * wanted as i64)
            .min(params.max_bytes as i64)
            .max(0) as usize;
        let started = std::time::Instant::now();
        let sent_us = crate::model::now_us();
        let result = async {
            let conn = self.lane.connection(broker).await?;
            let reservation = self.budget.reserve(most).await;
            let metadata = self.client.metadata();
            session
                .fetch_wanted(&conn, &params, &metadata, |body| reservation.attach(body))
                .await
        }
        .await;
        let arrived_us = crate::model::now_us();
        // What a request cost, to tell a slow broker from a slow kmirror
        // (`KMIRROR_LOG=kmirror_engine::forward::fetcher=trace`).
        tracing::trace!(
            broker,
            partitions = wanted,
            max_wait_ms = max_wait.as_millis() as u64,
            took_ms = started.elapsed().as_millis() as u64,
            answered = result.as_ref().map(Vec::len).unwrap_or(0),
            ok = result.is_ok(),
            "fetch: answered"
        );
        Done::Answer(Box::new(Answer {
            broker,
            session,
            result,
            sent_us,
            arrived_us,
        }))
    }

    /// Hands an answer to its partitions. Returns how long the broker must
    /// rest before its next request, when the request failed.
    async fn take_answer(
        &self,
        slots: &mut Slots,
        brokers: &mut Brokers,
        answer: Answer,
    ) -> Option<Duration> {
        let Answer {
            broker,
            session,
            result,
            sent_us,
            arrived_us,
        } = answer;
        brokers.sessions.entry(broker).or_default().back(session);
        let (refresh, rest) = match result {
            Ok(fetched) => {
                let refresh = self
                    .take_partitions(slots, broker, fetched, (sent_us, arrived_us))
                    .await;
                (refresh, refresh)
            }
            // The session was lost or is out of step: the next request,
            // a full one, may go at once.
            Err(e) if e.is_fetch_session_error() => {
                debug!(broker, error = %e, "fetch session restarts");
                (false, false)
            }
            Err(e) => {
                // The partitions the session wants from this broker (a walk
                // of them all, on a failed request only).
                let asked: Vec<TopicPartition> = brokers
                    .sessions
                    .get(&broker)
                    .and_then(|held| held.session.as_ref())
                    .map(|session| session.wanted_partitions())
                    .unwrap_or_default()
                    .into_iter()
                    .map(|(topic, partition)| TopicPartition { topic, partition })
                    .filter(|tp| slots.get(tp).and_then(|slot| slot.member()) == Some(broker))
                    .collect();
                (self.take_failure(slots, broker, &asked, e), true)
            }
        };
        brokers.take_changes(slots);
        if refresh {
            // For the next request's partitions to go to their current
            // leaders.
            if let Err(e) = self.client.refresh_metadata(None).await {
                debug!(error = %e, "metadata refresh failed");
            }
        }
        rest.then_some(self.client.config().retry_backoff)
    }

    /// A failed request: partitions read from a preferred replica go back to
    /// their leader; the others stop when retrying cannot help. True when
    /// metadata should be refreshed.
    fn take_failure(
        &self,
        slots: &mut Slots,
        broker: i32,
        asked: &[TopicPartition],
        e: ClientError,
    ) -> bool {
        debug!(broker, error = %e, "fetch failed");
        let refresh = e.needs_metadata_refresh();
        let failing: Vec<&TopicPartition> = asked
            .iter()
            .filter(|tp| !slots.fall_back(tp, broker, &e))
            .collect();
        if e.is_retriable() {
            return refresh;
        }
        for tp in failing {
            slots.fail(
                tp,
                ClientError::fetch_stopped(format!("{tp} (broker {broker})"), &e),
            );
        }
        refresh
    }

    /// The partitions of a broker's answer. True when metadata should be
    /// refreshed.
    async fn take_partitions(
        &self,
        slots: &mut Slots,
        broker: i32,
        fetched: Vec<FetchedPartition>,
        (sent_us, arrived_us): (i64, i64),
    ) -> bool {
        let mut refresh = false;
        for partition in fetched {
            let tp = TopicPartition::new(&partition.topic, partition.partition);
            if slots.get(&tp).and_then(|slot| slot.member()) != Some(broker) {
                continue;
            }
            if let Err(e) = &partition.result {
                if slots.fall_back(&tp, broker, e) {
                    continue;
                }
            }
            match partition.result {
                Ok(data) => {
                    if let Some(replica) = data.preferred_read_replica {
                        let lifetime = self.client.config().metadata_max_age;
                        slots.prefer(&tp, broker, replica, lifetime, &self.params);
                    }
                    if let Some(newest) = data.batches.last() {
                        // A batch's path through kmirror, first step
                        // (`KMIRROR_LOG=kmirror_latency=trace`).
                        tracing::trace!(
                            target: "kmirror_latency",
                            %tp,
                            broker,
                            batches = data.batches.len(),
                            base = data.batches[0].upstream_base(),
                            newest_ts = newest.max_timestamp(),
                            sent_us,
                            arrived_us,
                            handed_us = crate::model::now_us(),
                            "fetched"
                        );
                    }
                    slots.deliver(&tp, broker, partition.requested_offset, data)
                }
                Err(e) if e.is_offset_out_of_range() => {
                    self.reset_offset(slots, &tp).await;
                }
                Err(e) if e.is_retriable() => {
                    debug!(%tp, error = %e, "fetch of partition failed, retrying");
                    refresh |= e.needs_metadata_refresh();
                }
                Err(e) => slots.fail(&tp, e),
            }
        }
        refresh
    }

    async fn reset_offset(&self, slots: &mut Slots, tp: &TopicPartition) {
        let spec = match self.reset {
            ResetPolicy::Earliest => kmirror_client::admin::OffsetSpec::Earliest,
            ResetPolicy::Latest => kmirror_client::admin::OffsetSpec::Latest,
        };
        match self
            .client
            .admin()
            .offset_of(&tp.topic, tp.partition, spec)
            .await
        {
            Ok(offset) => {
                if let Some(slot) = slots.get(tp) {
                    warn!(%tp, from = slot.next_offset, to = offset, "offset out of range on the source (retention removed records not yet replicated); resetting");
                    slots.set_offset(tp, offset);
                }
            }
            Err(e) => warn!(%tp, error = %e, "cannot look up offsets after out-of-range"),
        }
    }
}

fn take_room(slots: &mut Slots, (tp, generation, permit): Room) {
    let Some(slot) = slots.get(&tp) else {
        return;
    };
    if slot.generation != generation {
        // A place for an earlier slot of this partition.
        return;
    }
    match permit {
        Some(permit) => slots.reserved(&tp, permit),
        None => slots.remove(&tp),
    }
}

fn apply(slots: &mut Slots, command: FetcherCommand) {
    match command {
        FetcherCommand::Add { tp, offset, events } => slots.add(tp, offset, events),
        FetcherCommand::Remove { tp } => slots.remove(&tp),
    }
}

/// Takes a place in every queue that has room, and starts a wait for room
/// for every partition whose queue is full.
fn wait_for_room(slots: &mut Slots, rooms: &mut FuturesUnordered<BoxFuture<'static, Room>>) {
    for tp in slots.unreserved() {
        let Some(slot) = slots.get(&tp) else {
            continue;
        };
        let generation = slot.generation;
        match slot.events.clone().try_reserve_owned() {
            Ok(permit) => slots.reserved(&tp, permit),
            Err(mpsc::error::TrySendError::Closed(_)) => slots.remove(&tp),
            Err(mpsc::error::TrySendError::Full(events)) => {
                slots.waiting(&tp);
                rooms.push(Box::pin(async move {
                    (tp, generation, events.reserve_owned().await.ok())
                }));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_round_budget_is_split_within_bounds() {
        assert_eq!(partition_max_bytes(1), PARTITION_MAX_BYTES);
        assert_eq!(partition_max_bytes(0), PARTITION_MAX_BYTES);
        assert_eq!(partition_max_bytes(12), 1 << 20);
        assert_eq!(partition_max_bytes(1000), PARTITION_MIN_BYTES);
        for n in 1..200 {
            let share = partition_max_bytes(n) as i64;
            assert!(share * n as i64 <= ROUND_BUDGET as i64 || share == PARTITION_MIN_BYTES as i64);
        }
    }
}
