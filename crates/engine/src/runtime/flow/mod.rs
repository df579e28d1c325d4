//! One replication flow, `source->target`: the worker's share of it.
//!
//! The flow's work is split into units ([`crate::group::Unit`]): one per source
//! partition, and the control unit (the flow's singletons, see
//! `emitters`). The workers running the flow form a group on the
//! target cluster ([`super::membership`]); this module runs the units the
//! group assigns to this worker: a pipeline per partition
//! (`pipeline`), durable progress and the offset index of its
//! partitions, and the offset syncs it decides on. A lone process is a
//! group of one and runs everything.
//!
//! - `startup`: internal topics, the progress and index to resume from,
//!   joining the group;
//! - `discovery`: the partitions the flow replicates, found every
//!   refresh;
//! - `pipeline`: fetchers and one pipeline per partition;
//! - `exactly_once`: a partition's pipeline in transactions;
//! - `emitters`: the control unit's singletons (heartbeats, checkpoints,
//!   ACL and config sync, discovery) and the offset-sync writer;
//! - `share`: the units this worker runs, changed per assignment.

mod discovery;
mod emitters;
mod exactly_once;
mod lookups;
mod pipeline;
mod share;
mod startup;

use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::Duration;

use kmirror_client::fetch::{FetchParams, Isolation};
use kmirror_client::lease::WriteLease;
use kmirror_client::KafkaClient;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;
use tracing::info;

use self::share::{group_status, Release, Share};
use self::startup::GroupMember;
use super::error::EngineError;
use super::membership::MembershipEvent;
use super::ownership::Ownership;
use super::progress::{ProgressStore, PROGRESS_TOPIC_PARTITIONS};
use super::status::{FlowMode, GroupStatus, StatusBoard};
use super::writer::RecordWriter;
use crate::config::mm2::FlowConfig;
use crate::forward::fetcher::FetcherCommand;
use crate::metrics::ErrorKind;
use crate::model::{FlowId, TopicPartition};
use crate::offsets::IndexRegistry;

/// Where the pipelines queue offset-sync pairs (upstream, downstream) of a
/// partition for the flow's offset-sync writer.
pub(super) type OffsetSyncSender = mpsc::Sender<(TopicPartition, Vec<(i64, i64)>)>;

/// How often progress is made durable. After a crash at most this much
/// acknowledged traffic (plus what was in flight) is copied again.
pub const PROGRESS_COMMIT_INTERVAL: Duration = Duration::from_secs(1);

/// Settings of the data path that MM2's properties do not cover.
#[derive(Debug, Clone)]
pub struct FlowTuning {
    pub fetch: FetchParams,
    pub progress_commit_interval: Duration,
    /// Queue of fetched chunks per partition (backpressure).
    pub partition_queue: usize,
    /// First pause before retrying a paused partition; doubles to a minute.
    pub pause_backoff: Duration,
    /// This worker in the flows' groups.
    pub worker: WorkerIdentity,
}

impl Default for FlowTuning {
    fn default() -> Self {
        FlowTuning {
            fetch: FetchParams {
                isolation: Isolation::ReadCommitted,
                ..FetchParams::default()
            },
            progress_commit_interval: PROGRESS_COMMIT_INTERVAL,
            partition_queue: 2,
            pause_backoff: Duration::from_secs(1),
            worker: WorkerIdentity::default(),
        }
    }
}

/// Who this process is in the groups of its flows.
#[derive(Debug, Clone)]
pub struct WorkerIdentity {
    /// `group.instance.id`, stable across restarts.
    pub worker_id: String,
    /// Where its REST API answers, for the group's view.
    pub rest_url: Option<String>,
    pub started_at_ms: i64,
    /// Replaces the `group.id` of the properties (`--group-prefix`).
    pub group_prefix: Option<String>,
}

impl Default for WorkerIdentity {
    fn default() -> Self {
        WorkerIdentity {
            worker_id: format!("kmirror-{}", std::process::id()),
            rest_url: None,
            started_at_ms: crate::model::now_ms(),
            group_prefix: None,
        }
    }
}

/// A flow's worker group: its name and Kafka Connect's worker settings
/// `session.timeout.ms`, `heartbeat.interval.ms`, `rebalance.timeout.ms`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GroupConfig {
    /// `group.id`: the group of flow `s->t` is `<prefix>-s->t`.
    pub id_prefix: String,
    pub session: Duration,
    pub heartbeat: Duration,
    pub rebalance: Duration,
}

impl Default for GroupConfig {
    fn default() -> Self {
        // Connect's defaults, but a heartbeat every second (Connect: 3 s):
        // the other workers learn of a rebalance at their next heartbeat,
        // so this bounds how long a dead worker's partitions wait after
        // its session timeout.
        GroupConfig {
            id_prefix: DEFAULT_GROUP_PREFIX.to_string(),
            session: Duration::from_secs(10),
            heartbeat: Duration::from_secs(1),
            rebalance: Duration::from_secs(60),
        }
    }
}

/// The group id prefix without `group.id`.
pub const DEFAULT_GROUP_PREFIX: &str = "kmirror";

/// Everything the tasks of one flow share.
#[derive(Debug)]
pub(super) struct FlowContext {
    pub(super) flow: FlowConfig,
    pub(super) name: FlowId,
    pub(super) source: KafkaClient,
    pub(super) target: KafkaClient,
    pub(super) status: Arc<StatusBoard>,
    pub(super) tuning: FlowTuning,
    pub(super) fetchers: Vec<mpsc::Sender<FetcherCommand>>,
    /// Offset-sync pairs (upstream, downstream) to write, per partition.
    pub(super) offset_syncs: OffsetSyncSender,
    /// Offset translation indexes of every flow (checkpoints translate
    /// through the opposite flow's index too).
    pub(super) indexes: Arc<IndexRegistry>,
    pub(super) ownership: Arc<Ownership>,
    /// Every write of the flow checks it (see [`super::membership`]).
    pub(super) lease: WriteLease,
    /// Topics other flows create on the source that this flow replicates:
    /// the discovery watches for them while they are missing.
    pub(super) expected_source_topics: BTreeSet<String>,
    /// Start offsets, remote topics and producer ids, looked up in batches.
    lookups: lookups::FlowLookups,
    /// The flow's worker group, which also names its partitions'
    /// transactional ids (exactly-once).
    pub(super) group_id: String,
    /// Partitions of MM2's offsets topic, where each partition's progress
    /// record goes.
    pub(super) progress_partitions: i32,
    pub(super) shutdown: CancellationToken,
}

/// A flow to run and how its group behaves.
#[derive(Debug, Clone)]
pub struct FlowRun {
    pub flow: FlowConfig,
    pub source: KafkaClient,
    pub target: KafkaClient,
    pub group: GroupConfig,
    /// Workers whose flow settings differ are refused by the group.
    pub fingerprint: u64,
    /// Topics other flows create on the source that this flow replicates
    /// (see [`super::replicator::expected_source_topics`]).
    pub expected_source_topics: BTreeSet<String>,
}

/// Runs this worker's share of a flow until `shutdown` is cancelled;
/// returns after in-flight batches were acknowledged and progress was
/// written.
pub async fn run_flow(
    run: FlowRun,
    status: Arc<StatusBoard>,
    indexes: Arc<IndexRegistry>,
    tuning: FlowTuning,
    shutdown: CancellationToken,
) -> Result<(), EngineError> {
    let name = run.flow.name();
    status.flow_started(
        &name,
        run.flow.source.as_str(),
        run.flow.target.as_str(),
        FlowMode::new(run.flow.replication_enabled),
    );
    let result = run_flow_inner(run, status.clone(), indexes, tuning, shutdown).await;
    match &result {
        Ok(()) => status.flow_stopped(&name),
        Err(e) => status.flow_failed(&name, e),
    }
    result
}

async fn run_flow_inner(
    run: FlowRun,
    status: Arc<StatusBoard>,
    indexes: Arc<IndexRegistry>,
    tuning: FlowTuning,
    shutdown: CancellationToken,
) -> Result<(), EngineError> {
    let FlowRun {
        flow,
        source,
        target,
        group,
        fingerprint,
        expected_source_topics,
    } = run;
    let name = FlowId::of(&flow);
    let flow_failed = |source| EngineError::Flow {
        flow: name.clone(),
        source,
    };
    let prepared = startup::prepare(&flow, &name, &source, &target, &indexes, &shutdown).await;
    let Some(progress) = prepared.map_err(flow_failed)? else {
        return Ok(());
    };
    let mut member = startup::join_group(&flow, &source, &target, &group, fingerprint, &tuning);

    // Stops the flow's tasks when the flow ends, also when it fails.
    let flow_stop = shutdown.child_token();
    let (fetcher_tasks, fetchers) = pipeline::start_fetchers(&flow, &source, &tuning, &flow_stop);
    let (offset_syncs, background) =
        emitters::start_offset_syncs(&flow, &source, &target, &member.membership.lease);
    let ctx = Arc::new(FlowContext {
        name: name.clone(),
        flow: flow.clone(),
        source: source.clone(),
        target: target.clone(),
        status,
        tuning: tuning.clone(),
        fetchers,
        offset_syncs,
        indexes,
        ownership: Arc::default(),
        lease: member.membership.lease.clone(),
        expected_source_topics,
        lookups: lookups::FlowLookups::new(&flow, &source, &target),
        group_id: member.group_id.clone(),
        progress_partitions: progress
            .as_ref()
            .map_or(PROGRESS_TOPIC_PARTITIONS, ProgressStore::partitions),
        shutdown: flow_stop.clone(),
    });
    let mut share = Share::new(
        progress,
        RecordWriter::new(target.clone()).with_lease(ctx.lease.clone()),
    );
    match FlowMode::new(flow.replication_enabled) {
        FlowMode::Replication => info!(flow = %name, "flow started"),
        FlowMode::HeartbeatsOnly => info!(flow = %name, "flow started: heartbeats only"),
    }
    let (outcome, member_done) = serve(&ctx, &mut share, &mut member, &shutdown).await;

    // Shutdown: fetchers stop, pipelines drain what is in flight, then the
    // final positions are written, and only then does the membership end
    // (a static member does not leave: a restart within the session
    // timeout gets the same work back).
    flow_stop.cancel();
    fetcher_tasks.join_all().await;
    share.stop_everything(&ctx, Release::Shutdown).await;
    drop(ctx);
    background.join_all().await;
    let GroupMember {
        membership,
        task: member_task,
        stop: member_stop,
        ..
    } = member;
    member_stop.cancel();
    // Its pending events would never be taken.
    drop(membership);
    if !member_done {
        let _ = member_task.await;
    }
    info!(flow = %name, "flow stopped");
    outcome
}

/// Runs what the group assigns this worker, committing progress every
/// interval, until `shutdown` or the membership ends; says whether the
/// membership task ended.
async fn serve(
    ctx: &Arc<FlowContext>,
    share: &mut Share,
    member: &mut GroupMember,
    shutdown: &CancellationToken,
) -> (Result<(), EngineError>, bool) {
    let name = &ctx.name;
    let worker_id = &ctx.tuning.worker.worker_id;
    let mut commit_tick = tokio::time::interval(ctx.tuning.progress_commit_interval);
    commit_tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = shutdown.cancelled() => return (Ok(()), false),
            Some(event) = member.membership.events.recv() => match event {
                MembershipEvent::Assigned(assignment, generation) => {
                    if let Err(source) = share.apply(ctx, &member.membership, &assignment).await {
                        return (Err(EngineError::Flow { flow: name.clone(), source }), false);
                    }
                    ctx.status.group_changed(name, group_status(&member.group_id, generation, worker_id, &assignment));
                    member.membership.applied(generation, share.units());
                }
                MembershipEvent::Lost => {
                    ctx.status.error(name, ErrorKind::Membership);
                    share.stop_everything(ctx, Release::MembershipLost).await;
                    ctx.status.group_changed(name, GroupStatus {
                        group_id: member.group_id.clone(),
                        generation: -1,
                        worker_id: worker_id.clone(),
                        members: Vec::new(),
                    });
                    member.membership.applied(-1, Vec::new());
                }
            },
            ended = &mut member.task => {
                let outcome = match ended {
                    Ok(Ok(())) => Ok(()),
                    Ok(Err(source)) => Err(EngineError::Membership { flow: name.clone(), source }),
                    Err(e) => panic!("the membership task of {name} panicked: {e}"),
                };
                return (outcome, true);
            }
            _ = commit_tick.tick() => share.commit_progress(ctx).await,
        }
    }
}
