//! `GET /status`: every flow, topic and partition with its state, source end
//! offset, replicated offset, lag in records and seconds and last error;
//! per flow the current rates and latency (from the history sampler) and
//! heartbeat ages. `kmirror status` and the live page read this.

use std::collections::BTreeMap;
use std::sync::Arc;

use axum::extract::State;
use axum::http::Method;
use axum::Json;
use kmirror_engine::model::now_ms;
use kmirror_engine::runtime::status::{GroupStatus, PartitionState};
use kmirror_engine::runtime::{FlowMode, FlowStatus};
use serde::{Deserialize, Serialize};

use super::routes::Route;
use super::AppState;

pub fn routes() -> Vec<Route> {
    vec![Route::new(Method::GET, "/status", status)]
}

/// The whole instance.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct InstanceView {
    /// `starting`, `running` or `stopping`.
    pub phase: String,
    pub worker_id: String,
    pub version: String,
    pub uptime_seconds: f64,
    pub time_ms: i64,
    pub flows: Vec<FlowView>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct FlowView {
    pub name: String,
    pub source: String,
    pub target: String,
    /// The connector running it.
    pub connector: Option<String>,
    /// `running`, `paused`, `failed` or `stopped`.
    pub state: String,
    /// `replication`, or `heartbeats only` for a pair whose replication is
    /// not enabled (it has no topics, lag or rates).
    #[serde(default)]
    pub mode: FlowMode,
    pub error: Option<String>,
    pub records_per_second: f64,
    pub bytes_per_second: f64,
    pub replicated_records: u64,
    pub replicated_bytes: u64,
    pub source_end_offset_total: i64,
    pub replicated_offset_total: i64,
    pub lag_records: i64,
    pub lag_seconds: f64,
    /// Mean replication latency over the last sample interval.
    pub latency_mean_ms: Option<f64>,
    pub latency_max_ms: Option<f64>,
    /// Age of the newest heartbeat this flow replicated from its source.
    pub heartbeat_age_seconds: Option<f64>,
    /// Time since this flow last wrote a heartbeat to its target.
    pub heartbeat_emit_age_seconds: Option<f64>,
    pub paused_partitions: usize,
    pub topics: Vec<TopicView>,
    /// The flow's worker group: its members and what each runs. This
    /// worker's own partitions are in `topics`.
    #[serde(default)]
    pub group: Option<GroupStatus>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct TopicView {
    pub topic: String,
    pub remote_topic: String,
    pub lag_records: i64,
    pub lag_seconds: f64,
    pub partitions: Vec<PartitionView>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct PartitionView {
    pub partition: i32,
    /// `running` or `paused` (stopped on an error, retried with backoff).
    pub state: String,
    pub paused_since_ms: Option<i64>,
    pub source_end_offset: i64,
    pub replicated_offset: i64,
    pub lag_records: i64,
    pub lag_seconds: f64,
    pub records: u64,
    pub bytes: u64,
    pub last_record_timestamp_ms: i64,
    pub last_forward_ms: i64,
    pub last_error: Option<String>,
}

async fn status(State(state): State<Arc<AppState>>) -> Json<InstanceView> {
    Json(instance_view(&state))
}

pub fn instance_view(state: &AppState) -> InstanceView {
    let now = now_ms();
    let latest = state.history.latest();
    let owners = state.registry.snapshot().1.owners.clone();
    let flows = state
        .status
        .snapshot()
        .into_iter()
        .map(|flow| {
            let sample = latest.as_ref().and_then(|s| s.flows.get(&flow.name));
            flow_view(&flow, owners.get(&flow.name).cloned(), sample, now)
        })
        .collect();
    InstanceView {
        phase: state.phase().as_str().to_string(),
        worker_id: state.worker_id().to_string(),
        version: env!("CARGO_PKG_VERSION").to_string(),
        uptime_seconds: state.started.elapsed().as_secs_f64(),
        time_ms: now,
        flows,
    }
}

fn flow_view(
    flow: &FlowStatus,
    connector: Option<String>,
    sample: Option<&crate::history::FlowSample>,
    now: i64,
) -> FlowView {
    let mut topics: BTreeMap<&str, TopicView> = BTreeMap::new();
    for p in &flow.partitions {
        let lag_seconds = p.lag_seconds(now);
        let topic = topics.entry(&p.topic).or_insert_with(|| TopicView {
            topic: p.topic.clone(),
            remote_topic: p.remote_topic.clone(),
            lag_records: 0,
            lag_seconds: 0.0,
            partitions: Vec::new(),
        });
        topic.lag_records += p.lag_records();
        topic.lag_seconds = topic.lag_seconds.max(lag_seconds);
        let (state, paused_since_ms) = match &p.state {
            PartitionState::Running => ("running", None),
            PartitionState::Paused { since_ms, .. } => ("paused", Some(*since_ms)),
        };
        topic.partitions.push(PartitionView {
            partition: p.partition,
            state: state.to_string(),
            paused_since_ms,
            source_end_offset: p.source_end_offset,
            replicated_offset: p.replicated_offset,
            lag_records: p.lag_records(),
            lag_seconds,
            records: p.records,
            bytes: p.bytes,
            last_record_timestamp_ms: p.last_record_timestamp_ms,
            last_forward_ms: p.last_forward_ms,
            last_error: p.last_error.clone(),
        });
    }
    let topics: Vec<TopicView> = topics.into_values().collect();
    FlowView {
        name: flow.name.clone(),
        source: flow.source.clone(),
        target: flow.target.clone(),
        connector,
        state: flow.state().as_str().to_string(),
        mode: flow.mode,
        error: flow.error.clone(),
        records_per_second: sample.map_or(0.0, |s| s.records_per_second),
        bytes_per_second: sample.map_or(0.0, |s| s.bytes_per_second),
        replicated_records: flow.partitions.iter().map(|p| p.records).sum(),
        replicated_bytes: flow.partitions.iter().map(|p| p.bytes).sum(),
        source_end_offset_total: flow.partitions.iter().map(|p| p.source_end_offset).sum(),
        replicated_offset_total: flow.partitions.iter().map(|p| p.replicated_offset).sum(),
        lag_records: topics.iter().map(|t| t.lag_records).sum(),
        lag_seconds: topics.iter().map(|t| t.lag_seconds).fold(0.0, f64::max),
        latency_mean_ms: sample.and_then(|s| s.latency_mean_ms),
        latency_max_ms: sample.and_then(|s| s.latency_max_ms),
        heartbeat_age_seconds: flow
            .last_replicated_heartbeat_ms()
            .map(|at| (now - at).max(0) as f64 / 1000.0),
        heartbeat_emit_age_seconds: (flow.last_heartbeat_ms > 0)
            .then(|| (now - flow.last_heartbeat_ms).max(0) as f64 / 1000.0),
        paused_partitions: flow.partitions.iter().filter(|p| p.is_paused()).count(),
        topics,
        group: flow.group.clone(),
    }
}
