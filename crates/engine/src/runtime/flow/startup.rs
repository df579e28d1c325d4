//! A flow's start-up: its internal topics, the progress and offset index
//! it resumes from, and its place in the group of the flow's workers.

use std::sync::Arc;

use kmirror_client::{ClientError, KafkaClient};
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use super::discovery::flow_units;
use super::{FlowTuning, GroupConfig};
use crate::config::mm2::FlowConfig;
use crate::model::FlowId;
use crate::offsets::IndexRegistry;
use crate::runtime::index_store::index_topic;
use crate::runtime::membership::{self, MemberSettings, Membership, MembershipError};
use crate::runtime::progress::{progress_topic, ProgressStore, PROGRESS_TOPIC_PARTITIONS};
use crate::runtime::topics::{ensure_compacted_topics, InternalTopic};

/// Creates the flow's internal topics and reads the progress and offset
/// index it resumes from: the progress store (`None` for a flow that only
/// emits heartbeats). `Ok(None)` when `shutdown` came first.
pub(super) async fn prepare(
    flow: &FlowConfig,
    name: &FlowId,
    source: &KafkaClient,
    target: &KafkaClient,
    indexes: &IndexRegistry,
    shutdown: &CancellationToken,
) -> Result<Option<Option<ProgressStore>>, ClientError> {
    let (on_source, on_target) = internal_topics(flow);
    // Each start-up step may wait on a slow or retrying cluster: a stop
    // asked for meanwhile ends the flow at once (`None`), not after it.
    let topics = async {
        tokio::try_join!(
            ensure_compacted_topics(target, &on_target),
            ensure_compacted_topics(source, &on_source),
        )
    };
    let Some(topics) = shutdown.run_until_cancelled(topics).await else {
        return Ok(None);
    };
    let (created, _) = topics?;
    // A topic created just now holds nothing: reading it would only wait
    // for its partitions' leaders.
    let progress_ready = async {
        if !flow.replication_enabled {
            return Ok(None);
        }
        let progress = if created.contains(&progress_topic(flow.source.as_str())) {
            ProgressStore::empty(flow.source.as_str(), PROGRESS_TOPIC_PARTITIONS)
        } else {
            ProgressStore::load(target, flow.source.as_str(), PROGRESS_TOPIC_PARTITIONS).await?
        };
        Ok::<_, ClientError>(Some(progress))
    };
    let index_ready = async {
        if flow.replication_enabled && !created.contains(&index_topic(flow.source.as_str())) {
            indexes.load(name, target, flow.source.as_str()).await?;
        }
        Ok(())
    };
    let loaded = async { tokio::try_join!(progress_ready, index_ready) };
    let Some(loaded) = shutdown.run_until_cancelled(loaded).await else {
        return Ok(None);
    };
    let (progress, ()) = loaded?;
    Ok(Some(progress))
}

/// The flow's internal topics, created together (one request per cluster)
/// on a cold start: those on the source, those on the target.
fn internal_topics(flow: &FlowConfig) -> (Vec<InternalTopic>, Vec<InternalTopic>) {
    let syncs_on_source = flow.offset_syncs_cluster() == &flow.source;
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
    (on_source, on_target)
}

/// This worker in the group of the flow's workers, on the target.
pub(super) struct GroupMember {
    pub(super) membership: Membership,
    pub(super) task: JoinHandle<Result<(), MembershipError>>,
    /// Ends the membership. Not a child of the flow's shutdown: the
    /// membership (and the write lease with it) must outlive the final
    /// progress write.
    pub(super) stop: CancellationToken,
    pub(super) group_id: String,
}

/// Joins the flow's group; its units are those the discovery finds.
pub(super) fn join_group(
    flow: &FlowConfig,
    source: &KafkaClient,
    target: &KafkaClient,
    group: &GroupConfig,
    fingerprint: u64,
    tuning: &FlowTuning,
) -> GroupMember {
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
    let stop = CancellationToken::new();
    let discover = {
        let flow = Arc::new(flow.clone());
        let source = source.clone();
        move || {
            let flow = flow.clone();
            let source = source.clone();
            async move { Ok(flow_units(&flow, &source).await?.into_iter().collect()) }
        }
    };
    let (membership, task) = membership::start(
        target.group(&settings.group_id),
        settings,
        discover,
        stop.clone(),
    );
    GroupMember {
        membership,
        task,
        stop,
        group_id,
    }
}
