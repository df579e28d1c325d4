//! What the running engine reports about itself: per flow and partition
//! state, positions and counters. Read by the REST API, metrics and
//! `kmirror status`; written by the flows.

use std::collections::BTreeMap;
use std::sync::Mutex;

use serde::Serialize;

use crate::forward::{Forwarded, TopicPartition};

/// How a partition pipeline is doing.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "state", rename_all = "lowercase")]
pub enum PartitionState {
    Running,
    /// Stopped on an error; retried with backoff until it clears.
    Paused {
        error: String,
        since_ms: i64,
    },
}

/// One source partition of a flow.
#[derive(Debug, Clone, Serialize)]
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
    pub last_error: Option<String>,
}

impl PartitionStatus {
    /// Records on the source not yet on the target.
    pub fn lag_records(&self) -> i64 {
        (self.source_end_offset - self.replicated_offset).max(0)
    }
}

/// One flow.
#[derive(Debug, Clone, Default, Serialize)]
pub struct FlowStatus {
    pub name: String,
    pub source: String,
    pub target: String,
    pub running: bool,
    pub error: Option<String>,
    /// When (ms) this flow last wrote a heartbeat.
    pub last_heartbeat_ms: i64,
    pub partitions: Vec<PartitionStatus>,
}

/// Shared, lock-protected status of every flow.
#[derive(Debug, Default)]
pub struct StatusBoard {
    flows: Mutex<BTreeMap<String, FlowEntry>>,
}

#[derive(Debug, Default)]
struct FlowEntry {
    status: FlowStatus,
    partitions: BTreeMap<TopicPartition, PartitionStatus>,
}

impl StatusBoard {
    pub fn flow_started(&self, name: &str, source: &str, target: &str) {
        let mut flows = self.flows.lock().unwrap();
        let entry = flows.entry(name.to_string()).or_default();
        entry.status.name = name.to_string();
        entry.status.source = source.to_string();
        entry.status.target = target.to_string();
        entry.status.running = true;
        entry.status.error = None;
    }

    pub fn flow_failed(&self, name: &str, error: String) {
        if let Some(entry) = self.flows.lock().unwrap().get_mut(name) {
            entry.status.running = false;
            entry.status.error = Some(error);
        }
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
    }

    /// Registers a partition pipeline (or resets it to running).
    pub fn partition_started(
        &self,
        flow: &str,
        tp: &TopicPartition,
        remote_topic: &str,
        offset: i64,
    ) {
        self.with_partition(flow, tp, |p| {
            p.remote_topic = remote_topic.to_string();
            p.state = PartitionState::Running;
            p.replicated_offset = p.replicated_offset.max(offset);
        });
    }

    pub fn partition_paused(&self, flow: &str, tp: &TopicPartition, error: String, now_ms: i64) {
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
    }

    pub fn forwarded(&self, flow: &str, tp: &TopicPartition, batch: &Forwarded, now_ms: i64) {
        self.with_partition(flow, tp, |p| {
            p.replicated_offset = p.replicated_offset.max(batch.upstream_next());
            p.records += batch.records.max(0) as u64;
            p.bytes += batch.bytes as u64;
            p.batches += 1;
            p.last_record_timestamp_ms = p.last_record_timestamp_ms.max(batch.max_timestamp);
            p.last_forward_ms = now_ms;
        });
    }

    pub fn skipped_to(&self, flow: &str, tp: &TopicPartition, next: i64) {
        self.with_partition(flow, tp, |p| {
            p.replicated_offset = p.replicated_offset.max(next);
        });
    }

    pub fn source_end_offset(&self, flow: &str, tp: &TopicPartition, end: i64) {
        self.with_partition(flow, tp, |p| p.source_end_offset = end);
    }

    /// A copy of every flow's status.
    pub fn snapshot(&self) -> Vec<FlowStatus> {
        self.flows
            .lock()
            .unwrap()
            .values()
            .map(|entry| {
                let mut status = entry.status.clone();
                status.partitions = entry.partitions.values().cloned().collect();
                status
            })
            .collect()
    }

    fn with_partition(
        &self,
        flow: &str,
        tp: &TopicPartition,
        f: impl FnOnce(&mut PartitionStatus),
    ) {
        let mut flows = self.flows.lock().unwrap();
        let entry = flows.entry(flow.to_string()).or_default();
        let status = entry
            .partitions
            .entry(tp.clone())
            .or_insert_with(|| PartitionStatus {
                topic: tp.topic.to_string(),
                partition: tp.partition,
                remote_topic: String::new(),
                state: PartitionState::Running,
                source_end_offset: 0,
                replicated_offset: 0,
                records: 0,
                bytes: 0,
                batches: 0,
                last_record_timestamp_ms: 0,
                last_forward_ms: 0,
                last_error: None,
            });
        f(status);
    }
}
