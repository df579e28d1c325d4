//! What the running engine reports about itself: per flow and partition
//! state, positions and counters. Read by the REST API, metrics and
//! `kmirror status`; written by the flows. A partition's position and
//! counters are not copied here: the board keeps the partition's
//! [`PartitionPosition`], which its pipeline moves, and reads it.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use serde::{Deserialize, Serialize};

use super::error::EngineError;
use super::position::PartitionPosition;
use crate::metrics::{ErrorKind, Metrics};
use crate::model::now_ms;
use crate::model::TopicPartition;
use crate::policy::HEARTBEATS_TOPIC;

/// How a partition pipeline is doing.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[serde(tag = "state", rename_all = "lowercase")]
pub enum PartitionState {
    #[default]
    Running,
    /// Stopped on an error; retried with backoff until it clears.
    Paused { error: String, since_ms: i64 },
}

/// One source partition of a flow.
#[derive(Debug, Clone, Default, Serialize)]
pub struct PartitionStatus {
    pub topic: String,
    pub partition: i32,
    pub remote_topic: String,
    #[serde(flatten)]
    pub state: PartitionState,
    /// The source's high watermark as last seen.
    pub source_end_offset: i64,
    /// The next upstream offset to replicate: everything before it is on
    /// the target.
    pub replicated_offset: i64,
    pub records: u64,
    pub bytes: u64,
    pub batches: u64,
    /// Timestamp (ms) of the newest record replicated.
    pub last_record_timestamp_ms: i64,
    /// When (ms) the last batch was acknowledged by the target.
    pub last_forward_ms: i64,
    /// When (ms) the target was last seen holding everything the source
    /// had (lag 0); 0 if never.
    pub caught_up_ms: i64,
    /// When (ms) the partition last moved: started, forwarded, skipped or
    /// was seen caught up.
    pub last_progress_ms: i64,
    pub last_error: Option<String>,
}

/// How long a partition may have lag without moving before it counts as
/// stalled (a target that is down is retried for minutes before its
/// partitions pause).
pub const STALL_THRESHOLD_MS: i64 = 30_000;

impl PartitionStatus {
    /// Records on the source not yet on the target.
    pub fn lag_records(&self) -> i64 {
        (self.source_end_offset - self.replicated_offset).max(0)
    }

    /// How far behind the target is in time at `now_ms`: 0 when caught up;
    /// else the time since the target last held everything the source had,
    /// or since the newest replicated record was written, whichever is
    /// later. Every record not yet replicated was written after both, so
    /// this bounds the age of the oldest one (to within the polling of the
    /// source's end offsets).
    pub fn lag_seconds(&self, now_ms: i64) -> f64 {
        if self.lag_records() == 0 {
            return 0.0;
        }
        let since = self.caught_up_ms.max(self.last_record_timestamp_ms);
        if since <= 0 {
            return 0.0;
        }
        (now_ms - since).max(0) as f64 / 1000.0
    }

    pub fn is_paused(&self) -> bool {
        matches!(self.state, PartitionState::Paused { .. })
    }

    /// Lag, and no progress for [`STALL_THRESHOLD_MS`].
    pub fn is_stalled(&self, now_ms: i64) -> bool {
        self.lag_records() > 0 && now_ms - self.last_progress_ms > STALL_THRESHOLD_MS
    }
}

/// What a flow as a whole is doing.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum FlowState {
    Running,
    /// Stopped on request (its connector was paused); resumes from its
    /// committed position.
    Paused,
    /// Its task failed; restarted with backoff.
    Failed,
    Stopped,
}

impl FlowState {
    pub fn as_str(self) -> &'static str {
        match self {
            FlowState::Running => "running",
            FlowState::Paused => "paused",
            FlowState::Failed => "failed",
            FlowState::Stopped => "stopped",
        }
    }
}

/// What a flow runs. A pair whose replication is not enabled
/// (`x->y.enabled = false`) still emits heartbeats when
/// `emit.heartbeats.enabled`, as MM2 runs only its MirrorHeartbeatConnector
/// for such a pair: it is shown as "heartbeats only" everywhere (log, REST,
/// `kmirror status`, the live page, `kmirror check`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub enum FlowMode {
    #[default]
    #[serde(rename = "replication")]
    Replication,
    #[serde(rename = "heartbeats only")]
    HeartbeatsOnly,
}

impl FlowMode {
    /// The mode of a flow that replicates or not.
    pub fn new(replication_enabled: bool) -> Self {
        if replication_enabled {
            FlowMode::Replication
        } else {
            FlowMode::HeartbeatsOnly
        }
    }

    /// `replication` or `heartbeats only`, the words every view uses.
    pub fn as_str(self) -> &'static str {
        match self {
            FlowMode::Replication => "replication",
            FlowMode::HeartbeatsOnly => "heartbeats only",
        }
    }
}

/// One flow.
#[derive(Debug, Clone, Default, Serialize)]
pub struct FlowStatus {
    pub name: String,
    pub source: String,
    pub target: String,
    /// Replication, or heartbeats only.
    pub mode: FlowMode,
    pub running: bool,
    /// Paused on request (see [`FlowState::Paused`]).
    pub paused: bool,
    /// Whether its first topic discovery completed (or it replicates
    /// nothing): until then the flow is starting.
    pub discovered: bool,
    pub error: Option<String>,
    /// When (ms) this flow last wrote a heartbeat.
    pub last_heartbeat_ms: i64,
    pub partitions: Vec<PartitionStatus>,
    /// The flow's worker group, as of the last assignment.
    pub group: Option<GroupStatus>,
}

/// A flow's worker group: who runs what.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct GroupStatus {
    pub group_id: String,
    /// The generation of the last assignment; -1 while this worker has
    /// lost its membership.
    pub generation: i32,
    /// This worker.
    pub worker_id: String,
    pub members: Vec<GroupMemberStatus>,
}

/// One worker of a flow's group.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct GroupMemberStatus {
    pub worker_id: String,
    pub rest_url: Option<String>,
    /// Source partitions it runs (or will, once a hand-over completes).
    pub partitions: usize,
    /// Whether it runs the flow's singletons (heartbeats, checkpoints,
    /// topic discovery, config and ACL sync).
    pub control: bool,
    /// Refused: its configuration differs from the group's.
    pub refused: bool,
}

impl FlowStatus {
    pub fn state(&self) -> FlowState {
        if self.paused {
            FlowState::Paused
        } else if self.running {
            FlowState::Running
        } else if self.error.is_some() {
            FlowState::Failed
        } else {
            FlowState::Stopped
        }
    }

    /// Timestamp (ms) of the newest heartbeat this flow replicated from its
    /// source's heartbeats topics (`heartbeats`, `<alias>.heartbeats`).
    pub fn last_replicated_heartbeat_ms(&self) -> Option<i64> {
        self.partitions
            .iter()
            .filter(|p| is_heartbeats_topic_name(&p.topic) && p.last_record_timestamp_ms > 0)
            .map(|p| p.last_record_timestamp_ms)
            .max()
    }
}

/// A flow's sums over its partitions: what the REST history samples.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct FlowFigures {
    pub name: String,
    pub records: u64,
    pub bytes: u64,
    /// Records on the source not yet on the target, summed.
    pub lag_records: i64,
    /// The worst partition's lag in seconds.
    pub lag_seconds: f64,
    pub paused_partitions: usize,
}

impl FlowFigures {
    /// The sums of `flow`'s partitions at `now_ms`.
    pub fn of(flow: &FlowStatus, now_ms: i64) -> Self {
        let mut figures = FlowFigures {
            name: flow.name.clone(),
            ..FlowFigures::default()
        };
        for partition in &flow.partitions {
            figures.add(partition, partition.is_paused(), now_ms);
        }
        figures
    }

    /// Adds one partition's figures (`paused` is its state, which a
    /// status filled from its position alone does not carry).
    fn add(&mut self, partition: &PartitionStatus, paused: bool, now_ms: i64) {
        self.records += partition.records;
        self.bytes += partition.bytes;
        self.lag_records += partition.lag_records();
        self.lag_seconds = self.lag_seconds.max(partition.lag_seconds(now_ms));
        self.paused_partitions += usize::from(paused);
    }
}

/// `heartbeats`, or a remote heartbeats topic (`kafka-a.heartbeats`, with
/// any separator).
fn is_heartbeats_topic_name(topic: &str) -> bool {
    match topic.strip_suffix(HEARTBEATS_TOPIC) {
        Some("") => true,
        Some(prefix) => !prefix.ends_with(|c: char| c.is_ascii_alphanumeric()),
        None => false,
    }
}

/// Shared, lock-protected status of every flow. Also passes what it is told
/// on to the [`Metrics`], so that the flows report in one place.
#[derive(Debug, Default)]
pub struct StatusBoard {
    flows: Mutex<BTreeMap<String, FlowEntry>>,
    metrics: Arc<Metrics>,
}

#[derive(Debug, Default)]
struct FlowEntry {
    status: FlowStatus,
    partitions: BTreeMap<TopicPartition, PartitionEntry>,
}

/// What the board knows of a partition: what changes when it starts,
/// pauses or fails, and the cell its pipeline moves per acknowledgement.
#[derive(Debug)]
struct PartitionEntry {
    remote_topic: String,
    state: PartitionState,
    last_error: Option<String>,
    position: Arc<PartitionPosition>,
}

impl PartitionEntry {
    fn new() -> Self {
        PartitionEntry {
            remote_topic: String::new(),
            state: PartitionState::Running,
            last_error: None,
            position: Arc::new(PartitionPosition::new(now_ms())),
        }
    }

    fn status(&self, tp: &TopicPartition) -> PartitionStatus {
        let mut status = PartitionStatus {
            topic: tp.topic.to_string(),
            partition: tp.partition,
            remote_topic: self.remote_topic.clone(),
            state: self.state.clone(),
            last_error: self.last_error.clone(),
            ..PartitionStatus::default()
        };
        self.position.report(&mut status);
        status
    }
}

impl StatusBoard {
    /// A board that reports to `metrics`.
    pub fn with_metrics(metrics: Arc<Metrics>) -> Self {
        StatusBoard {
            flows: Mutex::default(),
            metrics,
        }
    }

    pub fn metrics(&self) -> &Arc<Metrics> {
        &self.metrics
    }

    pub fn flow_started(&self, name: &str, source: &str, target: &str, mode: FlowMode) {
        let mut flows = self.flows.lock().unwrap();
        let entry = flows.entry(name.to_string()).or_default();
        entry.status.name = name.to_string();
        entry.status.source = source.to_string();
        entry.status.target = target.to_string();
        entry.status.mode = mode;
        entry.status.running = true;
        entry.status.paused = false;
        entry.status.error = None;
    }

    /// A flow known but not started: paused on request, or waiting for its
    /// clusters.
    pub fn flow_registered(
        &self,
        name: &str,
        source: &str,
        target: &str,
        mode: FlowMode,
        paused: bool,
    ) {
        let mut flows = self.flows.lock().unwrap();
        let entry = flows.entry(name.to_string()).or_default();
        entry.status.name = name.to_string();
        entry.status.source = source.to_string();
        entry.status.target = target.to_string();
        entry.status.mode = mode;
        entry.status.running = false;
        entry.status.paused = paused;
        if paused {
            entry.status.error = None;
            // A paused flow moves nothing: its partitions' errors are moot.
            for partition in entry.partitions.values_mut() {
                partition.state = PartitionState::Running;
            }
        }
    }

    /// The flow's first topic discovery completed.
    pub fn flow_discovered(&self, name: &str) {
        if let Some(entry) = self.flows.lock().unwrap().get_mut(name) {
            entry.status.discovered = true;
        }
    }

    /// The flow's group after an assignment (or a loss of membership).
    pub fn group_changed(&self, name: &str, group: GroupStatus) {
        if let Some(entry) = self.flows.lock().unwrap().get_mut(name) {
            entry.status.group = Some(group);
        }
    }

    /// The flow is gone (removed or replaced): its status and series go.
    pub fn flow_removed(&self, name: &str) {
        self.flows.lock().unwrap().remove(name);
        self.metrics.flow_removed(name);
    }

    pub fn flow_failed(&self, name: &str, error: &EngineError) {
        if let Some(entry) = self.flows.lock().unwrap().get_mut(name) {
            entry.status.running = false;
            entry.status.error = Some(error.to_string());
        }
        self.metrics.error(name, ErrorKind::Flow);
    }

    /// An error that does not stop anything (counted in the metrics).
    pub fn error(&self, flow: &str, kind: ErrorKind) {
        self.metrics.error(flow, kind);
    }

    /// Checkpoints were written: `count` records, `latency_ms` after the
    /// source offsets were read.
    pub fn checkpoints_written(&self, flow: &str, count: usize, latency_ms: i64) {
        self.metrics.checkpoints_written(flow, count, latency_ms);
    }

    /// A topic ACL sync round applied `bindings` on the target.
    pub fn topic_acls_synced(&self, flow: &str, bindings: usize) {
        self.metrics.topic_acls_synced(flow, bindings);
    }

    pub fn flow_stopped(&self, name: &str) {
        if let Some(entry) = self.flows.lock().unwrap().get_mut(name) {
            entry.status.running = false;
        }
    }

    pub fn heartbeat_written(&self, name: &str, at_ms: i64) {
        if let Some(entry) = self.flows.lock().unwrap().get_mut(name) {
            entry.status.last_heartbeat_ms = at_ms;
        }
        self.metrics.heartbeat_written(name);
    }

    /// The position of `tp` for a pipeline about to run it: the cell the
    /// board shows, kept across runs for its counters, with nothing
    /// acknowledged by the new run yet. The pipeline is its only writer.
    pub fn partition_run(&self, flow: &str, tp: &TopicPartition) -> Arc<PartitionPosition> {
        self.with_partition(flow, tp, |p| {
            p.position.new_run();
            p.position.clone()
        })
    }

    /// A partition pipeline runs (again) towards `remote_topic`.
    pub fn partition_started(&self, flow: &str, tp: &TopicPartition, remote_topic: &str) {
        self.with_partition(flow, tp, |p| {
            p.remote_topic = remote_topic.to_string();
            p.state = PartitionState::Running;
        });
    }

    pub fn partition_paused(
        &self,
        flow: &str,
        tp: &TopicPartition,
        error: &EngineError,
        now_ms: i64,
    ) {
        self.metrics.error(flow, error.kind());
        let error = error.to_string();
        self.with_partition(flow, tp, |p| {
            p.last_error = Some(error.clone());
            p.state = PartitionState::Paused {
                error,
                since_ms: now_ms,
            };
        });
    }

    pub fn partition_removed(&self, flow: &str, tp: &TopicPartition) {
        if let Some(entry) = self.flows.lock().unwrap().get_mut(flow) {
            entry.partitions.remove(tp);
        }
        self.metrics.partition_removed(flow, tp);
    }

    /// The source's end offset as polled by the replicator, for partitions
    /// the flow already knows (a paused partition fetches nothing, so its
    /// lag would otherwise freeze). Never moves an end offset backwards.
    pub fn polled_end_offset(&self, flow: &str, tp: &TopicPartition, end: i64) {
        let flows = self.flows.lock().unwrap();
        if let Some(p) = flows.get(flow).and_then(|entry| entry.partitions.get(tp)) {
            p.position.polled_end(end, now_ms());
        }
    }

    /// The partitions of `flow` whose source end offset the poll must ask
    /// for (see [`PartitionPosition::end_needs_polling`]); the others are
    /// noted caught up at `now_ms`, as an unchanged answer would. A walk of
    /// atomics with no copy of the statuses: at rest, with every partition
    /// fetched and caught up, it returns nothing, whatever the partition
    /// count.
    pub fn partitions_to_poll(&self, flow: &str, now_ms: i64) -> Vec<(String, i32)> {
        let flows = self.flows.lock().unwrap();
        let Some(entry) = flows.get(flow) else {
            return Vec::new();
        };
        let mut wanted = Vec::new();
        for (tp, partition) in &entry.partitions {
            if partition.position.end_needs_polling() {
                wanted.push((tp.topic.to_string(), tp.partition));
            } else {
                partition.position.end_unchanged(now_ms);
            }
        }
        wanted
    }

    /// Every flow's sums, as [`FlowFigures::of`] computes them from a
    /// snapshot, read from the partitions' cells without copying their
    /// statuses (the REST history samples these every 2 s).
    pub fn figures(&self, now_ms: i64) -> Vec<FlowFigures> {
        let flows = self.flows.lock().unwrap();
        // One status reused for every partition: only its figures are
        // filled, so no name is copied.
        let mut scratch = PartitionStatus::default();
        flows
            .values()
            .map(|entry| {
                let mut figures = FlowFigures {
                    name: entry.status.name.clone(),
                    ..FlowFigures::default()
                };
                for partition in entry.partitions.values() {
                    partition.position.report(&mut scratch);
                    let paused = matches!(partition.state, PartitionState::Paused { .. });
                    figures.add(&scratch, paused, now_ms);
                }
                figures
            })
            .collect()
    }

    /// A copy of every flow's status.
    pub fn snapshot(&self) -> Vec<FlowStatus> {
        self.flows
            .lock()
            .unwrap()
            .values()
            .map(|entry| {
                let mut status = entry.status.clone();
                status.partitions = entry
                    .partitions
                    .iter()
                    .map(|(tp, partition)| partition.status(tp))
                    .collect();
                status
            })
            .collect()
    }

    fn with_partition<T>(
        &self,
        flow: &str,
        tp: &TopicPartition,
        f: impl FnOnce(&mut PartitionEntry) -> T,
    ) -> T {
        let mut flows = self.flows.lock().unwrap();
        let entry = flows.entry(flow.to_string()).or_default();
        f(entry
            .partitions
            .entry(tp.clone())
            .or_insert_with(PartitionEntry::new))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn partition(end: i64, replicated: i64) -> PartitionStatus {
        PartitionStatus {
            topic: "t".into(),
            partition: 0,
            remote_topic: "a.t".into(),
            state: PartitionState::Running,
            source_end_offset: end,
            replicated_offset: replicated,
            records: 0,
            bytes: 0,
            batches: 0,
            last_record_timestamp_ms: 1_000,
            last_forward_ms: 1_000,
            caught_up_ms: 5_000,
            last_progress_ms: 5_000,
            last_error: None,
        }
    }

    #[test]
    fn lag_in_seconds_counts_from_the_last_time_the_target_was_complete() {
        assert_eq!(partition(10, 10).lag_seconds(60_000), 0.0);
        assert_eq!(partition(12, 10).lag_seconds(15_000), 10.0);
        assert!(!partition(12, 10).is_stalled(5_000 + STALL_THRESHOLD_MS));
        assert!(partition(12, 10).is_stalled(5_001 + STALL_THRESHOLD_MS));
        assert!(!partition(10, 10).is_stalled(i64::MAX / 2));
    }

    #[test]
    fn heartbeats_topics_are_recognised_by_name() {
        for topic in ["heartbeats", "kafka-a.heartbeats", "kafka-a_heartbeats"] {
            assert!(is_heartbeats_topic_name(topic), "{topic}");
        }
        for topic in ["myheartbeats", "heartbeats-x", "orders"] {
            assert!(!is_heartbeats_topic_name(topic), "{topic}");
        }
    }

    #[test]
    fn the_poll_asks_only_for_partitions_a_live_fetch_does_not_cover() {
        let board = StatusBoard::default();
        board.flow_started("a->b", "a", "b", FlowMode::Replication);
        let tp = |p| TopicPartition::new("t", p);
        // 0: fetched and caught up; 1: fetched with lag; 2: not fetched.
        for p in 0..3 {
            let position = board.partition_run("a->b", &tp(p));
            position.resume_at(5);
            position.source_end(if p == 1 { 7 } else { 5 }, 1_000);
            position.set_end_from_fetch(p != 2);
        }
        let polled = board.partitions_to_poll("a->b", 9_000);
        assert_eq!(polled, [("t".to_string(), 1), ("t".to_string(), 2)]);
        assert!(board.partitions_to_poll("c->d", 9_000).is_empty());
        let caught_up: Vec<i64> = board.snapshot()[0]
            .partitions
            .iter()
            .map(|p| p.caught_up_ms)
            .collect();
        // Left alone, partition 0 counts as seen caught up by this round.
        assert_eq!(caught_up, [9_000, 0, 1_000]);
    }

    #[test]
    fn the_figures_are_the_sums_of_the_snapshot() {
        let board = StatusBoard::default();
        board.flow_started("a->b", "a", "b", FlowMode::Replication);
        board.flow_started("c->d", "c", "d", FlowMode::Replication);
        for p in 0..4 {
            let tp = TopicPartition::new("t", p);
            let position = board.partition_run("a->b", &tp);
            position.resume_at(10);
            position.source_end(10 + i64::from(p) * 3, 1_000 + i64::from(p));
            position.forwarded(
                &crate::model::Forwarded {
                    upstream_base: 10,
                    upstream_last: 10 + i64::from(p),
                    downstream_base: 0,
                    records: p + 1,
                    dense: true,
                    bytes: 100 * (p as u32 + 1),
                    max_timestamp: 500 * i64::from(p),
                    sent_ms: 0,
                    rebuilt: false,
                },
                2_000,
            );
            if p == 3 {
                let error = EngineError::FetcherStopped {
                    flow: crate::model::FlowId::new("a", "b"),
                    tp: tp.clone(),
                };
                board.partition_paused("a->b", &tp, &error, 3_000);
            }
        }
        let now = 20_000;
        let from_snapshot: Vec<FlowFigures> = board
            .snapshot()
            .iter()
            .map(|flow| FlowFigures::of(flow, now))
            .collect();
        assert_eq!(board.figures(now), from_snapshot);
        let ab = &from_snapshot[0];
        assert_eq!((ab.records, ab.bytes, ab.paused_partitions), (10, 1_000, 1));
        assert_eq!(ab.lag_records, 1 + 3 + 5);
        assert!(ab.lag_seconds > 0.0);
        assert_eq!(from_snapshot[1].name, "c->d");
    }

    #[test]
    fn a_removed_flow_leaves_the_board() {
        let board = StatusBoard::default();
        board.flow_started("a->b", "a", "b", FlowMode::Replication);
        board
            .partition_run("a->b", &TopicPartition::new("t", 0))
            .source_end(5, 1_000);
        board.flow_registered("a->b", "a", "b", FlowMode::Replication, true);
        assert_eq!(board.snapshot()[0].state(), FlowState::Paused);
        board.flow_removed("a->b");
        assert!(board.snapshot().is_empty());
    }
}
