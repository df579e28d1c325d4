//! What this worker runs of the flow: the units the group assigned it
//! (partition pipelines and the control unit), started and stopped as
//! assignments change, and its partitions' progress made durable: read
//! from each running partition's position, which its pipeline moves.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::Arc;

use kmirror_client::ClientError;
use tokio::sync::watch;
use tokio::task::{JoinHandle, JoinSet};
use tokio_util::sync::CancellationToken;
use tracing::{info, warn};

use super::emitters::start_control;
use super::pipeline::run_pipeline;
use super::FlowContext;
use crate::group::{units_digest, MemberAssignment, Unit};
use crate::model::{now_ms, TopicPartition};
use crate::runtime::error::EngineError;
use crate::runtime::membership::Membership;
use crate::runtime::position::PartitionPosition;
use crate::runtime::progress::ProgressStore;
use crate::runtime::status::{GroupMemberStatus, GroupStatus};
use crate::runtime::writer::RecordWriter;

/// The group as an assignment shows it, for the status.
pub(super) fn group_status(
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
pub(super) enum Release {
    /// Another worker runs them now: their status goes.
    HandedOver,
    /// The membership was lost: shown as paused until the next assignment
    /// says who runs them.
    MembershipLost,
    /// The flow stops: the status stays as it was.
    Shutdown,
}

/// A partition pipeline this worker runs.
struct RunningPartition {
    stop: CancellationToken,
    task: JoinHandle<()>,
    /// Moved by the pipeline; read here to commit progress.
    position: Arc<PartitionPosition>,
}

/// What this worker runs of the flow.
pub(super) struct Share {
    pipelines: BTreeMap<TopicPartition, RunningPartition>,
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
    /// Runs nothing yet; `progress` is where gained partitions resume from
    /// (`None` for a flow that only emits heartbeats).
    pub(super) fn new(progress: Option<ProgressStore>, progress_writer: RecordWriter) -> Self {
        Share {
            pipelines: BTreeMap::new(),
            control: None,
            progress,
            progress_writer,
            assigned_digest: watch::channel(0).0,
            assignments: 0,
            suspended: BTreeSet::new(),
        }
    }

    pub(super) fn units(&self) -> Vec<Unit> {
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
    pub(super) async fn apply(
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
                let position = ctx.status.partition_run(&ctx.name, &tp);
                let pipeline = run_pipeline(
                    ctx.clone(),
                    tp.clone(),
                    start,
                    position.clone(),
                    stop.clone(),
                );
                let task = tokio::spawn(pipeline);
                let running = RunningPartition {
                    stop,
                    task,
                    position,
                };
                self.pipelines.insert(tp, running);
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
        for tp in tps {
            if let Some(running) = self.pipelines.get(tp) {
                running.stop.cancel();
            }
        }
        for tp in tps {
            if let Some(running) = self.pipelines.get_mut(tp) {
                let _ = (&mut running.task).await;
            }
        }
        // Still listed, so that their final positions are committed.
        self.commit_progress(ctx).await;
        for tp in tps {
            self.pipelines.remove(tp);
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
        ctx.indexes.forget(&ctx.name, tps);
    }

    async fn stop_control(&mut self) {
        if let Some((stop, tasks)) = self.control.take() {
            stop.cancel();
            tasks.join_all().await;
        }
    }

    /// Stops everything at once.
    pub(super) async fn stop_everything(&mut self, ctx: &FlowContext, why: Release) {
        self.stop_control().await;
        let all: Vec<TopicPartition> = self.pipelines.keys().cloned().collect();
        self.stop_pipelines(ctx, &all, why).await;
        ctx.ownership.set(true);
    }

    pub(super) async fn commit_progress(&mut self, ctx: &FlowContext) {
        let Some(progress) = self.progress.as_mut() else {
            return;
        };
        // Positions first, then the index (which already holds every batch
        // the positions count), then the positions: a restart never resumes
        // from a position whose mapping the index does not know.
        // Idempotent: only the positions that moved since this wrote them.
        // At rest that is none, and the index has nothing new either (a
        // batch goes into the index before it moves its position), so a
        // round costs a look at each position, not a map of them all. With
        // exactly-once the transactions write the positions, not this.
        let written_here = ctx.flow.exactly_once.is_none();
        let positions: HashMap<TopicPartition, i64> = self
            .pipelines
            .iter()
            .filter_map(|(tp, running)| {
                let next = running.position.committable()?;
                let unchanged = written_here && progress.resume_offset(tp) == Some(next);
                (!unchanged).then(|| (tp.clone(), next))
            })
            .collect();
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
        // With exactly-once each transaction writes its partition's
        // progress; a write from here could land after a later
        // transaction's and move the partition back.
        if ctx.flow.exactly_once.is_some() {
            return;
        }
        if let Err(e) = progress.commit(writer, &positions).await {
            warn!(flow = %ctx.name, error = %e, "cannot write progress; will retry");
        }
    }
}
