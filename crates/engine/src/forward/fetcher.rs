//! Fetching every assigned partition of one source cluster.
//!
//! A broker answers one request per connection at a time, so partitions are
//! grouped by leader into one fetch request per broker per round, the way the
//! Java consumer does it. A partition whose forwarding queue is full is left
//! out of the next round: backpressure without buffering unbounded data.
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

use std::collections::{BTreeMap, HashMap};
use std::time::Duration;

use futures::future::join_all;
use kafka_protocol::ResponseError;
use kmirror_client::fetch::{fetch_owned, FetchParams, PartitionData, PartitionFetch};
use kmirror_client::{ClientError, KafkaClient, Purpose};
use tokio::sync::mpsc;
use tracing::{debug, info, warn};

use super::budget::FetchBudget;
use crate::model::TopicPartition;

/// What the fetcher hands a partition's forwarder.
#[derive(Debug)]
pub enum FetchEvent {
    /// Batches to forward (maybe none) and where fetching continues.
    Data(PartitionData),
    /// Fetching this partition stopped on an error that retrying cannot fix
    /// (unusable bytes, authorization, ...). The partition was dropped from
    /// the fetcher; the owner decides when to add it back.
    Failed(ClientError),
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

/// How long a round may wait for data when some partitions were left out of
/// it (their queues were full): short, because a left-out partition that
/// drains cannot join before the round returns.
const MAX_WAIT_WITH_LEFT_OUT: Duration = Duration::from_millis(20);

/// Bytes to ask per partition when `partitions` share one request.
pub fn partition_max_bytes(partitions: usize) -> i32 {
    let share = ROUND_BUDGET / partitions.max(1).min(i32::MAX as usize) as i32;
    share.clamp(PARTITION_MIN_BYTES, PARTITION_MAX_BYTES)
}

struct Slot {
    next_offset: i64,
    events: mpsc::Sender<FetchEvent>,
    /// A reserved place in the partition's queue; present means "ready".
    permit: Option<mpsc::OwnedPermit<FetchEvent>>,
    /// The replica the leader said to read from, and until when.
    preferred: Option<(i32, tokio::time::Instant)>,
    /// The replica last logged as the one read from, so that renewing the
    /// same choice logs nothing.
    logged_replica: Option<i32>,
}

impl Slot {
    /// The broker to fetch from: the preferred replica while it holds and
    /// the cluster knows it, else the leader.
    fn broker(&self, leader: i32, brokers: &HashMap<i32, String>) -> i32 {
        match self.preferred {
            Some((replica, until))
                if tokio::time::Instant::now() < until && brokers.contains_key(&replica) =>
            {
                replica
            }
            _ => leader,
        }
    }

    /// Back to the leader after a failure on the preferred replica `broker`;
    /// false when `broker` was not the preferred replica.
    fn fall_back(&mut self, tp: &TopicPartition, broker: i32, error: &ClientError) -> bool {
        if self.preferred.map(|(replica, _)| replica) != Some(broker) {
            return false;
        }
        info!(%tp, replica = broker, error = %error, "fetching from the leader again: the preferred replica failed");
        self.preferred = None;
        self.logged_replica = None;
        true
    }
}

/// Fetches assigned partitions of one cluster until its command channel
/// closes.
#[derive(Debug)]
pub struct SourceFetcher {
    client: KafkaClient,
    params: FetchParams,
    reset: ResetPolicy,
    budget: FetchBudget,
    /// `max.partition.fetch.bytes` when set: the bytes asked per partition,
    /// in place of the share of [`ROUND_BUDGET`].
    partition_max_bytes: Option<i32>,
}

impl SourceFetcher {
    pub fn new(client: KafkaClient, params: FetchParams, reset: ResetPolicy) -> Self {
        SourceFetcher {
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
        let mut slots: BTreeMap<TopicPartition, Slot> = BTreeMap::new();
        loop {
            // Apply every pending command; block for one when idle.
            loop {
                let command = if slots.is_empty() {
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
            if !self.reserve_ready(&mut slots, &mut commands).await {
                return;
            }
            self.fetch_round(&mut slots).await;
        }
    }

    /// Makes sure at least one partition has room in its queue, waiting for
    /// one (or a command) when none has. False when commands closed.
    async fn reserve_ready(
        &self,
        slots: &mut BTreeMap<TopicPartition, Slot>,
        commands: &mut mpsc::Receiver<FetcherCommand>,
    ) -> bool {
        let mut closed = Vec::new();
        for (tp, slot) in slots.iter_mut() {
            if slot.permit.is_none() {
                match slot.events.clone().try_reserve_owned() {
                    Ok(permit) => slot.permit = Some(permit),
                    Err(mpsc::error::TrySendError::Closed(_)) => closed.push(tp.clone()),
                    Err(mpsc::error::TrySendError::Full(_)) => {}
                }
            }
        }
        for tp in closed {
            slots.remove(&tp);
        }
        if slots.values().any(|s| s.permit.is_some()) || slots.is_empty() {
            return true;
        }
        let waits = slots.iter().map(|(tp, slot)| {
            let tp = tp.clone();
            let events = slot.events.clone();
            Box::pin(async move { (tp, events.reserve_owned().await.ok()) })
        });
        tokio::select! {
            ((tp, permit), _, _) = futures::future::select_all(waits) => {
                match permit {
                    Some(permit) => {
                        if let Some(slot) = slots.get_mut(&tp) {
                            slot.permit = Some(permit);
                        }
                    }
                    None => {
                        slots.remove(&tp);
                    }
                }
                true
            }
            command = commands.recv() => match command {
                Some(command) => {
                    apply(slots, command);
                    true
                }
                None => false,
            },
        }
    }

    async fn fetch_round(&self, slots: &mut BTreeMap<TopicPartition, Slot>) {
        let metadata = self.client.metadata();
        // By the broker asked: the leader, or the replica it prefers.
        let mut by_broker: HashMap<i32, Vec<PartitionFetch>> = HashMap::new();
        let mut leaderless = false;
        let mut left_out = false;
        for (tp, slot) in slots.iter() {
            if slot.permit.is_none() {
                left_out = true;
                continue;
            }
            match kmirror_client::cluster::leader_of(&metadata, &tp.topic, tp.partition) {
                Ok(leader) => by_broker
                    .entry(slot.broker(leader, &metadata.brokers))
                    .or_default()
                    .push(PartitionFetch {
                        topic: tp.topic.to_string(),
                        partition: tp.partition,
                        offset: slot.next_offset,
                        max_bytes: 0, // set below, once the count per broker is known
                    }),
                Err(_) => leaderless = true,
            }
        }
        if leaderless || by_broker.is_empty() {
            let topics: Vec<String> = {
                let mut t: Vec<String> = slots.keys().map(|tp| tp.topic.to_string()).collect();
                t.dedup();
                t
            };
            if let Err(e) = self.client.refresh_metadata(Some(&topics)).await {
                warn!(error = %e, "metadata refresh failed");
            }
            if by_broker.is_empty() {
                tokio::time::sleep(Duration::from_millis(100)).await;
                return;
            }
        }

        let params = FetchParams {
            max_wait: if left_out {
                self.params.max_wait.min(MAX_WAIT_WITH_LEFT_OUT)
            } else {
                self.params.max_wait
            },
            ..self.params.clone()
        };
        let params = &params;
        let rounds = by_broker
            .into_iter()
            .map(|(broker, mut partitions)| async move {
                let max_bytes = self
                    .partition_max_bytes
                    .unwrap_or_else(|| partition_max_bytes(partitions.len()));
                for p in &mut partitions {
                    p.max_bytes = max_bytes;
                }
                let most = (max_bytes as i64 * partitions.len() as i64)
                    .min(params.max_bytes as i64)
                    .max(0) as usize;
                let result = async {
                    let conn = self.client.connection(broker, Purpose::Fetch).await?;
                    let reservation = self.budget.reserve(most).await;
                    fetch_owned(&conn, params, &partitions, |body| reservation.attach(body)).await
                }
                .await;
                (broker, partitions, result)
            });
        let mut refresh = false;
        for (broker, partitions, result) in join_all(rounds).await {
            let fetched = match result {
                Ok(fetched) => fetched,
                Err(e) => {
                    debug!(broker, error = %e, "fetch failed");
                    refresh |= e.needs_metadata_refresh();
                    // Partitions read from a preferred replica go back to
                    // their leader; only the others fail.
                    let partitions: Vec<&PartitionFetch> = partitions
                        .iter()
                        .filter(|p| {
                            let tp = TopicPartition::new(&p.topic, p.partition);
                            !slots
                                .get_mut(&tp)
                                .is_some_and(|slot| slot.fall_back(&tp, broker, &e))
                        })
                        .collect();
                    if !e.is_retriable() {
                        for p in partitions {
                            let tp = TopicPartition::new(&p.topic, p.partition);
                            fail(
                                slots,
                                &tp,
                                ClientError::Broker {
                                    api: kafka_protocol::messages::ApiKey::Fetch,
                                    context: format!("{tp} (broker {broker})"),
                                    error: e
                                        .broker_error()
                                        .unwrap_or(ResponseError::UnknownServerError),
                                    message: Some(e.to_string()),
                                },
                            );
                        }
                    }
                    continue;
                }
            };
            for partition in fetched {
                let tp = TopicPartition::new(&partition.topic, partition.partition);
                if let Err(e) = &partition.result {
                    if slots
                        .get_mut(&tp)
                        .is_some_and(|slot| slot.fall_back(&tp, broker, e))
                    {
                        continue;
                    }
                }
                match partition.result {
                    Ok(data) => {
                        if let Some(replica) = data.preferred_read_replica {
                            self.prefer(slots, &tp, broker, replica);
                        }
                        deliver(slots, &tp, data)
                    }
                    Err(e) if e.broker_error() == Some(ResponseError::OffsetOutOfRange) => {
                        self.reset_offset(slots, &tp).await;
                    }
                    Err(e) if e.is_retriable() => {
                        debug!(%tp, error = %e, "fetch of partition failed, retrying");
                        refresh |= e.needs_metadata_refresh();
                    }
                    Err(e) => fail(slots, &tp, e),
                }
            }
        }
        if refresh {
            tokio::time::sleep(self.client.config().retry_backoff).await;
            let _ = self.client.refresh_metadata(None).await;
        }
    }

    /// Fetches `tp` from `replica` from now on, as `broker` (its leader) said.
    fn prefer(
        &self,
        slots: &mut BTreeMap<TopicPartition, Slot>,
        tp: &TopicPartition,
        broker: i32,
        replica: i32,
    ) {
        let Some(slot) = slots.get_mut(tp) else {
            return;
        };
        if replica == broker {
            slot.preferred = None;
            return;
        }
        let lifetime = self.client.config().metadata_max_age;
        slot.preferred = Some((replica, tokio::time::Instant::now() + lifetime));
        if slot.logged_replica != Some(replica) {
            let rack = self.params.rack.as_deref().unwrap_or("");
            info!(%tp, replica, leader = broker, %rack, "fetching from the replica the leader chose for client.rack");
            slot.logged_replica = Some(replica);
        }
    }

    async fn reset_offset(&self, slots: &mut BTreeMap<TopicPartition, Slot>, tp: &TopicPartition) {
        let spec = match self.reset {
            ResetPolicy::Earliest => kmirror_client::admin::OffsetSpec::Earliest,
            ResetPolicy::Latest => kmirror_client::admin::OffsetSpec::Latest,
        };
        match crate::records::offset_of(&self.client, &tp.topic, tp.partition, spec).await {
            Ok(offset) => {
                if let Some(slot) = slots.get_mut(tp) {
                    warn!(%tp, from = slot.next_offset, to = offset, "offset out of range on the source (retention removed records not yet replicated); resetting");
                    slot.next_offset = offset;
                }
            }
            Err(e) => warn!(%tp, error = %e, "cannot look up offsets after out-of-range"),
        }
    }
}

fn apply(slots: &mut BTreeMap<TopicPartition, Slot>, command: FetcherCommand) {
    match command {
        FetcherCommand::Add { tp, offset, events } => {
            slots.insert(
                tp,
                Slot {
                    next_offset: offset,
                    events,
                    permit: None,
                    preferred: None,
                    logged_replica: None,
                },
            );
        }
        FetcherCommand::Remove { tp } => {
            slots.remove(&tp);
        }
    }
}

fn deliver(slots: &mut BTreeMap<TopicPartition, Slot>, tp: &TopicPartition, data: PartitionData) {
    let Some(slot) = slots.get_mut(tp) else {
        return;
    };
    if data.batches.is_empty() && data.next_offset == slot.next_offset {
        // Nothing new; keep the permit for the next round.
        return;
    }
    slot.next_offset = data.next_offset;
    if let Some(permit) = slot.permit.take() {
        permit.send(FetchEvent::Data(data));
    }
}

fn fail(slots: &mut BTreeMap<TopicPartition, Slot>, tp: &TopicPartition, error: ClientError) {
    if let Some(mut slot) = slots.remove(tp) {
        warn!(%tp, error = %error, "fetching stopped for partition");
        match slot.permit.take() {
            Some(permit) => {
                permit.send(FetchEvent::Failed(error));
            }
            None => {
                let _ = slot.events.try_send(FetchEvent::Failed(error));
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
