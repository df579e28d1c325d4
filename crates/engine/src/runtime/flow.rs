//! One replication flow, `source->target`: the worker's share of it.
//!
//! The flow's work is split into units ([`Unit`]): one per source
//! partition, and the control unit (the flow's singletons, see
//! [`super::control`]). The workers running the flow form a group on the
//! target cluster ([`super::membership`]); this module runs the units the
//! group assigns to this worker: a pipeline per partition
//! ([`super::pipeline`]), durable progress and the offset index of its
//! partitions, and the offset syncs it decides on. A lone process is a
//! group of one and runs everything.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use kmirror_client::fetch::{FetchParams, Isolation};
use kmirror_client::lease::WriteLease;
use kmirror_client::{ClientError, KafkaClient};
use tokio::sync::{mpsc, watch, OnceCell};
use tokio::task::{JoinHandle, JoinSet};
use tokio_util::sync::CancellationToken;
use tracing::{info, warn};

use super::control::{flow_units, start_control};
use super::error::EngineError;
use super::index_store::index_topic;
use super::membership::{self, MemberSettings, Membership, MembershipEvent};
use super::ownership::Ownership;
use super::pipeline::run_pipeline;
use super::progress::{progress_topic, ProgressStore, PROGRESS_TOPIC_PARTITIONS};
use super::status::{FlowMode, GroupMemberStatus, GroupStatus, StatusBoard};
use super::syncs_writer::write_offset_syncs;
use super::topics::{ensure_compacted_topics, ensure_remote_topic, InternalTopic};
use super::writer::RecordWriter;
use crate::config::mm2::FlowConfig;
use crate::forward::fetcher::{FetcherCommand, ResetPolicy, SourceFetcher};
use crate::group::{units_digest, MemberAssignment, Unit};
use crate::metrics::ErrorKind;
use crate::model::now_ms;
use crate::model::FlowId;
use crate::model::TopicPartition;
use crate::offsets::IndexRegistry;

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
    /// Next upstream offset per partition, as acknowledged by the target.
    pub(super) positions: Mutex<HashMap<TopicPartition, i64>>,
    /// Offset-sync pairs (upstream, downstream) to write, per partition.
    pub(super) offset_syncs: mpsc::Sender<(TopicPartition, Vec<(i64, i64)>)>,
    /// Offset translation indexes of every flow (checkpoints translate
    /// through the opposite flow's index too).
    pub(super) indexes: Arc<IndexRegistry>,
    pub(super) ownership: Arc<Ownership>,
    /// Every write of the flow checks it (see [`super::membership`]).
    pub(super) lease: WriteLease,
    /// Topics other flows create on the source that this flow replicates:
    /// the discovery watches for them while they are missing.
    pub(super) expected_source_topics: BTreeSet<String>,
    /// Remote topics known to exist with the source's partitions.
    remote_topics: Mutex<HashMap<String, Arc<OnceCell<()>>>>,
    pub(super) shutdown: CancellationToken,
}

impl FlowContext {
    /// Makes sure the remote topic of `topic` exists, once per topic.
    pub(super) async fn prepare_remote_topic(&self, topic: &str) -> Result<(), ClientError> {
        self.remote_topic_cell(topic)
            .get_or_try_init(|| async {
                let metadata = self.source.topic_metadata(topic).await?;
                ensure_remote_topic(&self.flow, &self.source, &self.target, &metadata).await?;
                Ok::<_, ClientError>(())
            })
            .await?;
        Ok(())
    }

    /// The topic discovery prepared `topic`'s remote topic.
    pub(super) fn remote_topic_ready(&self, topic: &str) {
        let _ = self.remote_topic_cell(topic).set(());
    }

    fn remote_topic_cell(&self, topic: &str) -> Arc<OnceCell<()>> {
        self.remote_topics
            .lock()
            .unwrap()
            .entry(topic.to_string())
            .or_default()
            .clone()
    }
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

    let syncs_on_source = flow.offset_syncs_cluster() == &flow.source;
    let syncs_client = if syncs_on_source {
        source.clone()
    } else {
        target.clone()
    };
    // The flow's internal topics, created together (one request per
    // cluster) on a cold start.
    let progress_rf = flow
        .offset_storage_replication_factor
        .map_or(flow.replication_factor.max(1), i32::from);
    let mut on_target = Vec::new();
    let mut on_source = Vec::new();
    if flow.emit_heartbeats.enabled {
        on_target.push(InternalTopic {
            name: flow.policy.heartbeats_topic().to_string(),
            partitions: 1,
            replication_factor: flow.heartbeats_topic_replication_factor as i32,
        });
    }
    if flow.replication_enabled {
        if flow.emit_offset_syncs_enabled {
            let syncs = InternalTopic {
                name: flow.offset_syncs_topic(),
                partitions: 1,
                replication_factor: flow.offset_syncs_topic_replication_factor as i32,
            };
            if syncs_on_source {
                on_source.push(syncs);
            } else {
                on_target.push(syncs);
            }
        }
        on_target.push(InternalTopic {
            name: progress_topic(flow.source.as_str()),
            partitions: PROGRESS_TOPIC_PARTITIONS,
            replication_factor: progress_rf,
        });
        on_target.push(InternalTopic {
            name: index_topic(flow.source.as_str()),
            partitions: 1,
            replication_factor: progress_rf,
        });
    }
    // Each start-up step may wait on a slow or retrying cluster: a stop
    // asked for meanwhile ends the flow at once (`None`), not after it.
    let topics = async {
        tokio::try_join!(
            ensure_compacted_topics(&target, &on_target),
            ensure_compacted_topics(&source, &on_source),
        )
    };
    let Some(topics) = shutdown.run_until_cancelled(topics).await else {
        return Ok(());
    };
    let flow_failed = |source| EngineError::Flow {
        flow: name.clone(),
        source,
    };
    let (created, _) = topics.map_err(flow_failed)?;
    // A topic created just now holds nothing: reading it would only wait
    // for its partitions' leaders.
    let progress_ready = async {
        if !flow.replication_enabled {
            return Ok(None);
        }
        let progress = if created.contains(&progress_topic(flow.source.as_str())) {
            ProgressStore::empty(flow.source.as_str(), PROGRESS_TOPIC_PARTITIONS)
        } else {
            ProgressStore::load(&target, flow.source.as_str(), PROGRESS_TOPIC_PARTITIONS).await?
        };
        Ok::<_, ClientError>(Some(progress))
    };
    let index_ready = async {
        if flow.replication_enabled && !created.contains(&index_topic(flow.source.as_str())) {
            indexes.load(&name, &target, flow.source.as_str()).await?;
        }
        Ok(())
    };
    let loaded = async { tokio::try_join!(progress_ready, index_ready) };
    let Some(loaded) = shutdown.run_until_cancelled(loaded).await else {
        return Ok(());
    };
    let (progress, ()) = loaded.map_err(flow_failed)?;

    // The group of the flow's workers, on the target.
    let settings = MemberSettings {
        group_id: membership::group_id(
            tuning
                .worker
                .group_prefix
                .as_deref()
                .unwrap_or(&group.id_prefix),
            flow.source.as_str(),
            flow.target.as_str(),
        ),
        worker_id: tuning.worker.worker_id.clone(),
        rest_url: tuning.worker.rest_url.clone(),
        session_timeout: group.session,
        heartbeat_interval: group.heartbeat,
        rebalance_timeout: group.rebalance,
        config_fingerprint: fingerprint,
        started_at_ms: tuning.worker.started_at_ms,
    };
    let group_id = settings.group_id.clone();
    // Not a child of `shutdown`: the membership (and the write lease with
    // it) must outlive the final progress write.
    let member_stop = CancellationToken::new();
    let discover = {
        let flow = flow.clone();
        let source = source.clone();
        move || {
            let flow = flow.clone();
            let source = source.clone();
            async move { Ok(flow_units(&flow, &source).await?.into_iter().collect()) }
        }
    };
    let (mut membership, mut member_task) = membership::start(
        target.group(&settings.group_id),
        settings,
        discover,
        member_stop.clone(),
    );

    // Stops the flow's tasks when the flow ends, also when it fails.
    let flow_stop = shutdown.child_token();
    // One fetcher per task, as MM2 runs one consumer per task.
    let mut fetcher_tasks = JoinSet::new();
    let mut fetchers = Vec::new();
    for _ in 0..flow.tasks_max.max(1) {
        let (tx, rx) = mpsc::channel(64);
        let consumer = &flow.client_settings.consumer;
        let params = super::client_settings::fetch_params(&tuning.fetch, consumer);
        let fetcher = SourceFetcher::new(source.clone(), params, ResetPolicy::Earliest)
            .with_partition_max_bytes(consumer.max_partition_fetch_bytes);
        let stop = flow_stop.clone();
        fetcher_tasks.spawn(async move {
            tokio::select! {
                _ = fetcher.run(rx) => {}
                _ = stop.cancelled() => {}
            }
        });
        fetchers.push(tx);
    }

    let mut background = JoinSet::new();
    let (sync_tx, sync_rx) = mpsc::channel(4096);
    if flow.replication_enabled && flow.emit_offset_syncs_enabled {
        background.spawn(write_offset_syncs(
            flow.clone(),
            RecordWriter::new(syncs_client).with_lease(membership.lease.clone()),
            sync_rx,
        ));
    }

    let ctx = Arc::new(FlowContext {
        name: name.clone(),
        flow: flow.clone(),
        source: source.clone(),
        target: target.clone(),
        status,
        tuning: tuning.clone(),
        fetchers,
        positions: Mutex::new(HashMap::new()),
        offset_syncs: sync_tx,
        indexes,
        ownership: Arc::default(),
        lease: membership.lease.clone(),
        expected_source_topics,
        remote_topics: Mutex::default(),
        shutdown: flow_stop.clone(),
    });

    let mut share = Share {
        pipelines: BTreeMap::new(),
        control: None,
        progress,
        progress_writer: RecordWriter::new(target.clone()).with_lease(ctx.lease.clone()),
        assigned_digest: watch::channel(0).0,
        assignments: 0,
        suspended: BTreeSet::new(),
    };
    let mut commit_tick = tokio::time::interval(tuning.progress_commit_interval);
    commit_tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);

    let mut member_done = false;
    match FlowMode::new(flow.replication_enabled) {
        FlowMode::Replication => info!(flow = %name, "flow started"),
        FlowMode::HeartbeatsOnly => info!(flow = %name, "flow started: heartbeats only"),
    }
    let outcome = loop {
        tokio::select! {
            _ = shutdown.cancelled() => break Ok(()),
            Some(event) = membership.events.recv() => match event {
                MembershipEvent::Assigned(assignment, generation) => {
                    if let Err(e) = share.apply(&ctx, &membership, &assignment).await {
                        break Err(flow_failed(e));
                    }
                    ctx.status.group_changed(&name, group_status(&group_id, generation, &tuning.worker.worker_id, &assignment));
                    membership.applied(generation, share.units());
                }
                MembershipEvent::Lost => {
                    ctx.status.error(&name, ErrorKind::Membership);
                    share.stop_everything(&ctx, Release::MembershipLost).await;
                    ctx.status.group_changed(&name, GroupStatus {
                        group_id: group_id.clone(),
                        generation: -1,
                        worker_id: tuning.worker.worker_id.clone(),
                        members: Vec::new(),
                    });
                    membership.applied(-1, Vec::new());
                }
            },
            ended = &mut member_task, if !member_done => {
                member_done = true;
                break match ended {
                    Ok(Ok(())) => Ok(()),
                    Ok(Err(source)) => Err(EngineError::Membership { flow: name.clone(), source }),
                    Err(e) => panic!("the membership task of {name} panicked: {e}"),
                };
            }
            _ = commit_tick.tick() => share.commit_progress(&ctx).await,
        }
    };

    // Shutdown: fetchers stop, pipelines drain what is in flight, then the
    // final positions are written, and only then does the membership end
    // (a static member does not leave: a restart within the session
    // timeout gets the same work back).
    flow_stop.cancel();
    fetcher_tasks.join_all().await;
    share.stop_everything(&ctx, Release::Shutdown).await;
    drop(ctx);
    background.join_all().await;
    member_stop.cancel();
    // Its pending events would never be taken.
    drop(membership);
    if !member_done {
        let _ = member_task.await;
    }
    info!(flow = %name, "flow stopped");
    outcome
}

/// The group as an assignment shows it, for the status.
fn group_status(
    group_id: &str,
    generation: i32,
    worker_id: &str,
    assignment: &MemberAssignment,
) -> GroupStatus {
    let members = assignment
        .members
        .iter()
        .map(|member| {
            let owned = assignment
                .owners
                .iter()
                .filter(|(_, owner)| **owner == member.worker_id);
            let mut status = GroupMemberStatus {
                worker_id: member.worker_id.clone(),
                rest_url: member.rest_url.clone(),
                refused: member.refused,
                ..GroupMemberStatus::default()
            };
            for (unit, _) in owned {
                match unit {
                    Unit::Control => status.control = true,
                    Unit::Partition(_) => status.partitions += 1,
                }
            }
            status
        })
        .collect();
    GroupStatus {
        group_id: group_id.to_string(),
        generation,
        worker_id: worker_id.to_string(),
        members,
    }
}

/// Why partitions stop, for their status.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Release {
    /// Another worker runs them now: their status goes.
    HandedOver,
    /// The membership was lost: shown as paused until the next assignment
    /// says who runs them.
    MembershipLost,
    /// The flow stops: the status stays as it was.
    Shutdown,
}

/// What this worker runs of the flow.
struct Share {
    pipelines: BTreeMap<TopicPartition, (CancellationToken, JoinHandle<()>)>,
    control: Option<(CancellationToken, JoinSet<()>)>,
    /// `None` for a flow that only emits heartbeats.
    progress: Option<ProgressStore>,
    progress_writer: RecordWriter,
    /// Digest of every unit of the last assignment, for the discovery.
    assigned_digest: watch::Sender<u64>,
    assignments: u64,
    /// Partitions stopped when the membership was lost, shown as paused
    /// until the next assignment says who runs them.
    suspended: BTreeSet<TopicPartition>,
}

impl Share {
    fn units(&self) -> Vec<Unit> {
        let mut units: Vec<Unit> = self
            .pipelines
            .keys()
            .map(|tp| Unit::Partition(tp.clone()))
            .collect();
        if self.control.is_some() {
            units.push(Unit::Control);
        }
        units
    }

    /// Runs exactly the units of `assignment`: what was lost stops first
    /// (in-flight batches acknowledged, progress written), then what was
    /// gained starts from the progress its previous owner wrote.
    async fn apply(
        &mut self,
        ctx: &Arc<FlowContext>,
        membership: &Membership,
        assignment: &MemberAssignment,
    ) -> Result<(), ClientError> {
        let wanted: BTreeSet<Unit> = assignment.units.iter().cloned().collect();
        // Every unit of the flow, whoever runs it.
        let all: Vec<&Unit> = assignment.owners.keys().collect();
        self.assigned_digest.send_replace(units_digest(
            &assignment.owners.keys().cloned().collect::<Vec<_>>(),
        ));

        let lost: Vec<TopicPartition> = self
            .pipelines
            .keys()
            .filter(|tp| !wanted.contains(&Unit::Partition((*tp).clone())))
            .cloned()
            .collect();
        if !lost.is_empty() {
            info!(flow = %ctx.name, partitions = lost.len(), "handing partitions over to other workers");
            self.stop_pipelines(ctx, &lost, Release::HandedOver).await;
        }
        for tp in std::mem::take(&mut self.suspended) {
            if !wanted.contains(&Unit::Partition(tp.clone())) {
                ctx.status.partition_removed(&ctx.name, &tp);
            }
        }
        match (self.control.is_some(), wanted.contains(&Unit::Control)) {
            (true, false) => self.stop_control().await,
            (false, true) => {
                let stop = ctx.shutdown.child_token();
                let tasks = start_control(
                    ctx,
                    self.assigned_digest.subscribe(),
                    membership.notifier(),
                    stop.clone(),
                );
                self.control = Some((stop, tasks));
            }
            _ => {}
        }

        let gained: Vec<TopicPartition> = wanted
            .iter()
            .filter_map(|unit| match unit {
                Unit::Partition(tp) if !self.pipelines.contains_key(tp) => Some(tp.clone()),
                _ => None,
            })
            .collect();
        if let (false, Some(progress)) = (gained.is_empty(), self.progress.as_mut()) {
            // Another worker may have run them since this process read
            // the progress and the index at start; a lone worker's first
            // assignment starts from what it just read.
            if self.assignments > 0 || assignment.members.len() > 1 {
                progress.reload(&ctx.target, &gained).await?;
                let gained_set: BTreeSet<&TopicPartition> = gained.iter().collect();
                ctx.indexes
                    .load_matching(&ctx.name, &ctx.target, ctx.flow.source.as_str(), |tp| {
                        gained_set.contains(tp)
                    })
                    .await?;
            }
            for tp in gained {
                let start = progress.resume_offset(&tp);
                let stop = ctx.shutdown.child_token();
                let task = tokio::spawn(run_pipeline(ctx.clone(), tp.clone(), start, stop.clone()));
                self.pipelines.insert(tp, (stop, task));
            }
        }
        let mine: BTreeSet<TopicPartition> = self.pipelines.keys().cloned().collect();
        let others_own_some = all
            .iter()
            .any(|unit| matches!(unit, Unit::Partition(tp) if !mine.contains(tp)));
        ctx.ownership.set(others_own_some);
        if self.assignments == 0 {
            ctx.status.flow_discovered(&ctx.name);
        }
        self.assignments += 1;
        Ok(())
    }

    /// Stops `tps` after their in-flight batches, writes their final
    /// progress and index, and forgets them.
    async fn stop_pipelines(&mut self, ctx: &FlowContext, tps: &[TopicPartition], why: Release) {
        let mut stopping = Vec::new();
        for tp in tps {
            if let Some((stop, task)) = self.pipelines.remove(tp) {
                stop.cancel();
                stopping.push(task);
            }
        }
        for task in stopping {
            let _ = task.await;
        }
        self.commit_progress(ctx).await;
        let mut positions = ctx.positions.lock().unwrap();
        for tp in tps {
            positions.remove(tp);
            if why == Release::HandedOver {
                ctx.status.partition_removed(&ctx.name, tp);
            } else if why == Release::MembershipLost {
                let error = EngineError::MembershipLost {
                    flow: ctx.name.clone(),
                    tp: tp.clone(),
                };
                ctx.status.partition_paused(&ctx.name, tp, &error, now_ms());
                self.suspended.insert(tp.clone());
            }
        }
        drop(positions);
        ctx.indexes.forget(&ctx.name, tps);
    }

    async fn stop_control(&mut self) {
        if let Some((stop, tasks)) = self.control.take() {
            stop.cancel();
            tasks.join_all().await;
        }
    }

    /// Stops everything at once.
    async fn stop_everything(&mut self, ctx: &FlowContext, why: Release) {
        self.stop_control().await;
        let all: Vec<TopicPartition> = self.pipelines.keys().cloned().collect();
        self.stop_pipelines(ctx, &all, why).await;
        ctx.ownership.set(true);
    }

    async fn commit_progress(&mut self, ctx: &FlowContext) {
        let Some(progress) = self.progress.as_mut() else {
            return;
        };
        // Positions first, then the index (which already holds every batch
        // the positions count), then the positions: a restart never resumes
        // from a position whose mapping the index does not know.
        let positions = ctx.positions.lock().unwrap().clone();
        if positions.is_empty() {
            return;
        }
        let writer = &mut self.progress_writer;
        if let Err(e) = ctx
            .indexes
            .persist(&ctx.name, writer, ctx.flow.source.as_str())
            .await
        {
            warn!(flow = %ctx.name, error = %e, "cannot write the offset index; will retry");
        }
        if let Err(e) = progress.commit(writer, &positions).await {
            warn!(flow = %ctx.name, error = %e, "cannot write progress; will retry");
        }
    }
}
