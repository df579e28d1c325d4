//! One partition's pipeline: fetch from the source, forward to the target,
//! record progress; paused with backoff on errors. The pipeline owns the
//! partition's position ([`PartitionPosition`]): it moves it once per
//! acknowledgement, and everything else reads it.

use std::hash::{Hash, Hasher};
use std::sync::Arc;
use std::time::Duration;

use kmirror_client::produce::{PartitionSender, SendConfig};
use kmirror_client::{Backoff, KafkaClient};
use tokio::sync::mpsc;
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;
use tracing::{error, info, warn};

use super::exactly_once::{forward_exactly_once, Partition};
use super::{FlowContext, FlowTuning};
use crate::config::mm2::FlowConfig;
use crate::forward::fetcher::{FetchEvent, FetcherCommand, ResetPolicy, SourceFetcher};
use crate::forward::partition::{
    drain_in_flight, forward_partition_within, BatchLimit, ForwardError, Progress,
};
use crate::model::now_ms;
use crate::model::TopicPartition;
use crate::runtime::authorization::{self, Side};
use crate::runtime::client_settings;
use crate::runtime::error::{EngineError, ForwardStage};
use crate::runtime::offset_sync::OffsetSyncState;
use crate::runtime::position::PartitionPosition;
use crate::runtime::resume::already_replicated;
use crate::runtime::shutdown_budget;
use crate::runtime::topic_limits::{too_large_hint, topic_limit};
use crate::runtime::topics::ensure_remote_topic;

/// How long a stopping partition waits for the acknowledgements of its
/// in-flight batches: its share of the stop budget.
const STOP_DRAIN_TIMEOUT: Duration = shutdown_budget::PARTITION_DRAIN;

fn fetcher_for(ctx: &FlowContext, tp: &TopicPartition) -> mpsc::Sender<FetcherCommand> {
    // A stable hash spreads partitions over tasks and keeps each on its
    // task when others come and go.
    let mut hasher = std::collections::hash_map::DefaultHasher::new();
    tp.hash(&mut hasher);
    let index = (hasher.finish() % ctx.fetchers.len() as u64) as usize;
    ctx.fetchers[index].clone()
}

/// Starts one fetcher per task, as MM2 runs one consumer per task; they
/// stop with `stop`.
pub(super) fn start_fetchers(
    flow: &FlowConfig,
    source: &KafkaClient,
    tuning: &FlowTuning,
    stop: &CancellationToken,
) -> (JoinSet<()>, Vec<mpsc::Sender<FetcherCommand>>) {
    let mut tasks = JoinSet::new();
    let mut fetchers = Vec::new();
    for _ in 0..flow.tasks_max.max(1) {
        let (tx, rx) = mpsc::channel(64);
        let consumer = &flow.client_settings.consumer;
        let params = client_settings::fetch_params(&tuning.fetch, consumer);
        let fetcher = SourceFetcher::new(source.clone(), params, ResetPolicy::Earliest)
            .with_partition_max_bytes(consumer.max_partition_fetch_bytes);
        let stop = stop.clone();
        tasks.spawn(async move {
            tokio::select! {
                _ = fetcher.run(rx) => {}
                _ = stop.cancelled() => {}
            }
        });
        fetchers.push(tx);
    }
    (tasks, fetchers)
}

/// The longest pause of a partition paused on an error before it retries.
const PAUSED_PARTITION_BACKOFF_MAX: Duration = Duration::from_secs(60);

/// Pauses of a partition paused on an error: from the flow's
/// `pause_backoff`, doubling up to a minute.
fn paused_partition_backoff(ctx: &FlowContext) -> Backoff {
    Backoff::new(ctx.tuning.pause_backoff, PAUSED_PARTITION_BACKOFF_MAX)
}

/// Runs one partition's pipeline, pausing on errors and retrying with
/// backoff until the flow stops or the partition is deselected. It moves
/// `position` (see [`crate::runtime::position`]) and nothing else does.
pub(super) async fn run_pipeline(
    ctx: Arc<FlowContext>,
    tp: TopicPartition,
    start: Option<i64>,
    position: Arc<PartitionPosition>,
    stop: CancellationToken,
) {
    let remote_topic = ctx.flow.remote_topic(&tp.topic);
    let fetcher = fetcher_for(&ctx, &tp);
    let mut backoff = paused_partition_backoff(&ctx);
    // Where to start: the recorded progress, else the source's earliest
    // offset; then the remote topic, which the worker that discovers
    // topics may not have created yet.
    // Steps that run once or on errors are boxed (`Box::pin`): a task's
    // allocation is its largest state, and with them inline every
    // partition's task carried their size while it forwards (about
    // 7.5 KiB each, 75 MiB with 10,000 partitions).
    let resume_at = loop {
        let prepared = Box::pin(async {
            let next = match start {
                Some(offset) => offset,
                None => ctx.lookups.earliest_offset(&tp).await.map_err(|source| {
                    EngineError::StartOffset {
                        flow: ctx.name.clone(),
                        tp: tp.clone(),
                        source,
                    }
                })?,
            };
            ctx.lookups
                .prepare_remote_topic(&tp.topic)
                .await
                .map_err(|source| EngineError::RemoteTopic {
                    flow: ctx.name.clone(),
                    tp: tp.clone(),
                    source,
                })?;
            Ok::<_, EngineError>(next)
        });
        let outcome = tokio::select! {
            outcome = prepared => outcome,
            _ = stop.cancelled() => return,
        };
        match outcome {
            Ok(next) => break next,
            Err(error) => {
                warn!(flow = %ctx.name, %tp, error = %error, "cannot start the partition; retrying");
                ctx.status
                    .partition_paused(&ctx.name, &tp, &error, now_ms());
                tokio::select! {
                    _ = tokio::time::sleep(backoff.next_pause()) => {}
                    _ = stop.cancelled() => return,
                }
            }
        }
    };
    position.resume_at(resume_at);
    let mut backoff = paused_partition_backoff(&ctx);
    let mut sync_state = OffsetSyncState::new(ctx.flow.offset_lag_max);
    let limit = ctx
        .flow
        .client_settings
        .producer
        .max_request_size
        .as_ref()
        .map(|max| BatchLimit {
            bytes: max.bytes,
            key: max.key.clone(),
        });
    loop {
        ctx.status.partition_started(&ctx.name, &tp, &remote_topic);
        let outcome = if let Some(settings) = &ctx.flow.exactly_once {
            let part = Partition {
                ctx: &ctx,
                tp: &tp,
                remote_topic: &remote_topic,
                position: &position,
                fetcher: &fetcher,
                limit: limit.as_ref(),
            };
            Box::pin(forward_exactly_once(part, settings, &mut sync_state, &stop)).await
        } else {
            Box::pin(skip_already_replicated(&ctx, &tp, &remote_topic, &position)).await;
            // Its fetch reports the source's end while it forwards: the end
            // offset poll can leave the partition alone while it is caught up.
            position.set_end_from_fetch(true);
            let outcome = Box::pin(forward_idempotently(
                &ctx,
                &tp,
                &remote_topic,
                &position,
                &fetcher,
                limit.as_ref(),
                &mut sync_state,
                &stop,
            ))
            .await;
            position.set_end_from_fetch(false);
            outcome
        };
        let _ = fetcher
            .send(FetcherCommand::Remove { tp: tp.clone() })
            .await;
        let error = match outcome {
            Ok(()) => return,
            Err(error) => error,
        };
        if stop.is_cancelled() {
            return;
        }
        if let EngineError::Fenced { .. } = error {
            // A newer owner writes the partition: never again from here.
            error!(flow = %ctx.name, %tp, error = %error, "partition stopped");
            ctx.status
                .partition_paused(&ctx.name, &tp, &error, now_ms());
            return;
        }
        error!(flow = %ctx.name, %tp, remote = %remote_topic, offset = position.next(), error = %error, "partition paused");
        ctx.status
            .partition_paused(&ctx.name, &tp, &error, now_ms());
        tokio::select! {
            _ = tokio::time::sleep(backoff.next_pause()) => {}
            _ = stop.cancelled() => return,
        }
        // The remote topic may be what is missing; recreate it if so.
        if let Ok(meta) = Box::pin(ctx.source.topic_metadata(&tp.topic)).await {
            match Box::pin(ensure_remote_topic(
                &ctx.flow,
                &ctx.source,
                &ctx.target,
                &meta,
            ))
            .await
            {
                // The topic exists: the target was still bringing up the
                // partitions of a topic created a moment ago (thousands at
                // once take it a while). Try again soon rather than after
                // ever longer pauses.
                Ok(_) if target_topic_missing(&error) => {
                    backoff = paused_partition_backoff(&ctx);
                }
                Ok(_) => {}
                Err(e) => {
                    warn!(flow = %ctx.name, %tp, error = %e, "cannot prepare remote topic")
                }
            }
        }
        info!(flow = %ctx.name, %tp, offset = position.next(), "partition resuming");
    }
}

/// Adds the partition to its fetcher at its position; the fetched chunks
/// arrive on the returned queue.
pub(super) async fn start_fetching(
    ctx: &FlowContext,
    tp: &TopicPartition,
    position: &PartitionPosition,
    fetcher: &mpsc::Sender<FetcherCommand>,
) -> Result<mpsc::Receiver<FetchEvent>, EngineError> {
    let (events_tx, events_rx) = mpsc::channel(ctx.tuning.partition_queue);
    fetcher
        .send(FetcherCommand::Add {
            tp: tp.clone(),
            offset: position.next(),
            events: events_tx,
        })
        .await
        .map_err(|_| EngineError::FetcherStopped {
            flow: ctx.name.clone(),
            tp: tp.clone(),
        })?;
    Ok(events_rx)
}

/// Forwards the partition with the flow's idempotent producer until `stop`
/// or an error; on `stop`, waits for what is in flight and records it.
#[allow(clippy::too_many_arguments)]
async fn forward_idempotently(
    ctx: &FlowContext,
    tp: &TopicPartition,
    remote_topic: &str,
    position: &PartitionPosition,
    fetcher: &mpsc::Sender<FetcherCommand>,
    limit: Option<&BatchLimit>,
    sync_state: &mut OffsetSyncState,
    stop: &CancellationToken,
) -> Result<(), EngineError> {
    let identity = ctx
        .lookups
        .producer_id(tp)
        .await
        .map_err(ForwardError::Produce);
    let identity = match identity {
        Ok(identity) => identity,
        Err(source) => {
            let stage = ForwardStage::ProducerInit;
            let offset = position.next();
            return Err(
                Box::pin(forward_failed(ctx, tp, remote_topic, offset, stage, source)).await,
            );
        }
    };
    let mut sender = PartitionSender::new(
        ctx.target.clone(),
        remote_topic,
        tp.partition,
        identity,
        SendConfig {
            lease: Some(ctx.lease.for_this_term()),
            ..SendConfig::for_client(&ctx.target)
        },
    );
    let events_rx = start_fetching(ctx, tp, position, fetcher).await?;
    let forwarded = {
        let forwarding = forward_partition_within(events_rx, &mut sender, limit, |event| {
            record_progress(ctx, tp, position, sync_state, event)
        });
        tokio::select! {
            result = forwarding => Some(result),
            _ = stop.cancelled() => None,
        }
    };
    match forwarded {
        Some(Ok(())) => return Ok(()),
        Some(Err(source)) => {
            let stage = ForwardStage::Forwarding;
            let offset = position.next();
            return Err(
                Box::pin(forward_failed(ctx, tp, remote_topic, offset, stage, source)).await,
            );
        }
        None => {}
    }
    // Stopping: record what the target acknowledges of the batches
    // in flight, so that the final progress covers them and a
    // restart does not copy them again. Batches fetched but not sent
    // are left to the restart.
    let drain = drain_in_flight(&mut sender, |event| {
        record_progress(ctx, tp, position, sync_state, event)
    });
    let error = match tokio::time::timeout(STOP_DRAIN_TIMEOUT, Box::pin(drain)).await {
        Ok(Ok(())) => None,
        Ok(Err(source)) => Some(EngineError::Unconfirmed {
            flow: ctx.name.clone(),
            tp: tp.clone(),
            offset: position.next(),
            source,
        }),
        Err(_) => Some(EngineError::UnconfirmedInTime {
            flow: ctx.name.clone(),
            tp: tp.clone(),
            offset: position.next(),
            waited: STOP_DRAIN_TIMEOUT,
        }),
    };
    if let Some(error) = error {
        warn!(flow = %ctx.name, %tp, error = %error, "in-flight batches unconfirmed at stop; a restart copies them again");
    }
    Ok(())
}

/// Whether the target refused a batch for want of its topic or partition.
fn target_topic_missing(error: &EngineError) -> bool {
    matches!(
        error,
        EngineError::Forward {
            source: ForwardError::Produce(e),
            ..
        } if e.is_missing_topic()
    )
}

/// The error a partition pauses on when forwarding failed at `offset`,
/// with the fix when one is known (see [`forward_error_hint`]).
pub(super) async fn forward_failed(
    ctx: &FlowContext,
    tp: &TopicPartition,
    remote_topic: &str,
    offset: i64,
    stage: ForwardStage,
    source: ForwardError,
) -> EngineError {
    let hint = forward_error_hint(ctx, tp, remote_topic, &source).await;
    EngineError::Forward {
        flow: ctx.name.clone(),
        tp: tp.clone(),
        offset,
        stage,
        source,
        hint,
    }
}

/// What fixes a paused partition: the ACL to add when a cluster refused
/// kmirror's principal, or the limit to raise when the remote topic refused
/// a batch as too large.
async fn forward_error_hint(
    ctx: &FlowContext,
    tp: &TopicPartition,
    remote_topic: &str,
    error: &ForwardError,
) -> Option<String> {
    match error {
        ForwardError::Fetch(e) => authorization::missing_acl(
            e,
            Side::Source,
            ctx.flow.source.as_str(),
            &tp.topic,
            ctx.source
                .config()
                .connection
                .security
                .principal()
                .as_deref(),
        ),
        ForwardError::Produce(e) => authorization::missing_acl(
            e,
            Side::Target,
            ctx.flow.target.as_str(),
            remote_topic,
            ctx.target
                .config()
                .connection
                .security
                .principal()
                .as_deref(),
        ),
        ForwardError::BatchTooLarge { bytes, .. } => {
            let limit = topic_limit(&ctx.target, remote_topic).await.ok().flatten();
            Some(too_large_hint(
                ctx.flow.target.as_str(),
                remote_topic,
                *bytes,
                limit,
            ))
        }
        ForwardError::Unforwardable { .. } | ForwardError::AboveRequestSize { .. } => None,
    }
}

/// Moves the position past the batches the target already holds from
/// before a crash or a pause (see [`crate::runtime::resume`]), recording
/// their mappings.
async fn skip_already_replicated(
    ctx: &FlowContext,
    tp: &TopicPartition,
    remote_topic: &str,
    position: &PartitionPosition,
) {
    let from = position.next();
    // Only where the index knows `from` exactly (not past its end).
    let Some(downstream) = ctx.indexes.exact_downstream(&ctx.name, tp, from) else {
        return;
    };
    match already_replicated(&ctx.source, &ctx.target, tp, remote_topic, from, downstream).await {
        Ok(batches) if !batches.is_empty() => {
            let mut next = from;
            for batch in &batches {
                ctx.indexes.record(&ctx.name, tp, batch);
                next = next.max(batch.upstream_next());
            }
            position.skipped_to(next, now_ms());
            info!(flow = %ctx.name, %tp, from, to = next, batches = batches.len(), "already on the target; not copied again");
        }
        Ok(_) => {}
        Err(e) => {
            warn!(flow = %ctx.name, %tp, error = %e, "cannot compare with the target; resuming as recorded")
        }
    }
}

/// Records what the forwarder reports. A forwarded batch goes into the
/// offset index before it moves the position, so that the progress commit,
/// which reads positions and then writes the index, never makes durable a
/// position whose mapping the index lacks.
pub(super) fn record_progress(
    ctx: &FlowContext,
    tp: &TopicPartition,
    position: &PartitionPosition,
    sync_state: &mut OffsetSyncState,
    event: Progress,
) {
    match event {
        Progress::Forwarded(batch) => {
            let now = now_ms();
            ctx.indexes.record(&ctx.name, tp, &batch);
            position.forwarded(&batch, now);
            ctx.status.metrics().forwarded(&ctx.name, tp, &batch, now);
            let pairs = sync_state.update(&batch);
            if !pairs.is_empty() {
                // Dropped when the writer is far behind; the next batch that
                // needs a sync writes one.
                let _ = ctx.offset_syncs.try_send((tp.clone(), pairs));
            }
        }
        Progress::SkippedTo { next } => position.skipped_to(next, now_ms()),
        Progress::HighWatermark(end) => position.source_end(end, now_ms()),
    }
}
