//! The flow's singletons, run by the one worker of the group that owns the
//! flow's control unit: heartbeats, checkpoints with group offset sync,
//! topic ACL and config sync, and topic discovery (see [`super::discovery`]).

use std::sync::Arc;

use kmirror_client::lease::WriteLease;
use kmirror_client::mm2::Heartbeat;
use kmirror_client::KafkaClient;
use tokio::sync::{mpsc, watch};
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;
use tracing::{error, warn};

use super::discovery::run_discovery;
use super::{FlowContext, OffsetSyncSender};
use crate::config::mm2::FlowConfig;
use crate::metrics::ErrorKind;
use crate::model::now_ms;
use crate::runtime::acl_sync::run_acl_sync;
use crate::runtime::checkpoints::run_checkpoints;
use crate::runtime::config_sync::run_config_sync;
use crate::runtime::membership::UnitsNotifier;
use crate::runtime::status::StatusBoard;
use crate::runtime::syncs_writer::{write_offset_syncs, SYNC_QUEUE};
use crate::runtime::ticker::Ticker;
use crate::runtime::topics::ensure_compacted_topic;
use crate::runtime::writer::RecordWriter;

/// Starts the flow's singletons; they stop with `stop`.
pub(super) fn start_control(
    ctx: &Arc<FlowContext>,
    assigned_digest: watch::Receiver<u64>,
    notifier: UnitsNotifier,
    stop: CancellationToken,
) -> JoinSet<()> {
    let flow = &ctx.flow;
    let mut tasks = JoinSet::new();
    if flow.emit_heartbeats.enabled {
        tasks.spawn(emit_heartbeats(
            flow.clone(),
            RecordWriter::new(ctx.target.clone()).with_lease(ctx.lease.clone()),
            ctx.status.clone(),
            stop.clone(),
        ));
    }
    if !flow.replication_enabled {
        return tasks;
    }
    if flow.emit_checkpoints.enabled {
        tasks.spawn(run_checkpoints(
            flow.clone(),
            ctx.source.clone(),
            ctx.target.clone(),
            ctx.indexes.clone(),
            ctx.status.clone(),
            ctx.ownership.clone(),
            ctx.lease.clone(),
            stop.clone(),
        ));
    }
    if flow.sync_topic_acls.interval().is_some() {
        tasks.spawn(run_acl_sync(
            flow.clone(),
            ctx.source.clone(),
            ctx.target.clone(),
            ctx.status.clone(),
            stop.clone(),
        ));
    }
    if flow.sync_topic_configs.interval().is_some() {
        tasks.spawn(run_config_sync(ctx.clone(), stop.clone()));
    }
    tasks.spawn(run_discovery(ctx.clone(), assigned_digest, notifier, stop));
    tasks
}

/// Starts the writer of the flow's offset syncs when it emits them: the
/// sender the pipelines queue (partition, upstream/downstream pairs) on,
/// and the writer's task, which ends once every sender is dropped.
pub(super) fn start_offset_syncs(
    flow: &FlowConfig,
    source: &KafkaClient,
    target: &KafkaClient,
    lease: &WriteLease,
) -> (OffsetSyncSender, JoinSet<()>) {
    let mut tasks = JoinSet::new();
    let (sender, receiver) = mpsc::channel(SYNC_QUEUE);
    if flow.replication_enabled && flow.emit_offset_syncs_enabled {
        let client = if flow.offset_syncs_cluster() == &flow.source {
            source.clone()
        } else {
            target.clone()
        };
        tasks.spawn(write_offset_syncs(
            flow.clone(),
            RecordWriter::new(client).with_lease(lease.clone()),
            receiver,
        ));
    }
    (sender, tasks)
}

/// Writes a heartbeat to the target every interval.
async fn emit_heartbeats(
    flow: FlowConfig,
    mut writer: RecordWriter,
    status: Arc<StatusBoard>,
    shutdown: CancellationToken,
) {
    let Some(every) = flow.emit_heartbeats.interval() else {
        return;
    };
    let topic = flow.policy.heartbeats_topic().to_string();
    let mut ticker = Ticker::new(every, &shutdown);
    while ticker.tick().await {
        let at = now_ms();
        let heartbeat = Heartbeat {
            source_cluster_alias: flow.source.to_string(),
            target_cluster_alias: flow.target.to_string(),
            timestamp_ms: at,
        };
        let key = match heartbeat.encode_key() {
            Ok(key) => key,
            Err(e) => {
                error!(flow = %flow.name(), error = %e, "heartbeat not encodable");
                return;
            }
        };
        match writer
            .write(&topic, 0, &[(key, Some(heartbeat.encode_value()))])
            .await
        {
            Ok(()) => status.heartbeat_written(&flow.name(), at),
            Err(e) if e.is_missing_topic() => {
                status.error(&flow.name(), ErrorKind::Heartbeat);
                let _ = ensure_compacted_topic(
                    writer.client(),
                    &topic,
                    1,
                    flow.heartbeats_topic_replication_factor as i32,
                )
                .await;
            }
            Err(e) => {
                warn!(flow = %flow.name(), error = %e, "cannot write heartbeat");
                status.error(&flow.name(), ErrorKind::Heartbeat);
            }
        }
    }
}
