//! One partition's pipeline: fetch from the source, forward to the target,
//! record progress; paused with backoff on errors.

use std::hash::{Hash, Hasher};
use std::sync::Arc;
use std::time::Duration;

use kmirror_client::admin::OffsetSpec;
use kmirror_client::produce::{init_producer_id, PartitionSender, SendConfig};
use kmirror_client::Backoff;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;
use tracing::{error, info, warn};

use super::authorization::{self, Side};
use super::flow::FlowContext;
use super::offset_sync::OffsetSyncState;
use super::resume::already_replicated;
use super::shutdown_budget;
use super::topic_limits::{too_large_hint, topic_limit};
use super::topics::ensure_remote_topic;
use super::writer::now_ms;
use crate::forward::fetcher::FetcherCommand;
use crate::forward::partition::{
    drain_in_flight, forward_partition_within, BatchLimit, ForwardError, Progress,
};
use crate::forward::TopicPartition;
use crate::metrics::ErrorKind;
use crate::records::offset_of;

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

/// The longest pause of a partition paused on an error before it retries.
const PAUSED_PARTITION_BACKOFF_MAX: Duration = Duration::from_secs(60);

/// Pauses of a partition paused on an error: from the flow's
/// `pause_backoff`, doubling up to a minute.
fn paused_partition_backoff(ctx: &FlowContext) -> Backoff {
    Backoff::new(ctx.tuning.pause_backoff, PAUSED_PARTITION_BACKOFF_MAX)
}

/// Runs one partition's pipeline, pausing on errors and retrying with
/// backoff until the flow stops or the partition is deselected.
pub(super) async fn run_pipeline(
    ctx: Arc<FlowContext>,
    tp: TopicPartition,
    start: Option<i64>,
    stop: CancellationToken,
) {
    let remote_topic = ctx.flow.remote_topic(&tp.topic);
    let fetcher = fetcher_for(&ctx, &tp);
    let mut backoff = paused_partition_backoff(&ctx);
    // Where to start: the recorded progress, else the source's earliest
    // offset; then the remote topic, which the worker that discovers
    // topics may not have created yet.
    let mut next = loop {
        let prepared = async {
            let next = match start {
                Some(offset) => offset,
                None => offset_of(&ctx.source, &tp.topic, tp.partition, OffsetSpec::Earliest)
                    .await
                    .map_err(|e| (ErrorKind::Fetch, e.to_string()))?,
            };
            ctx.prepare_remote_topic(&tp.topic)
                .await
                .map_err(|e| (ErrorKind::Discovery, e.to_string()))?;
            Ok::<_, (ErrorKind, String)>(next)
        };
        let outcome = tokio::select! {
            outcome = prepared => outcome,
            _ = stop.cancelled() => return,
        };
        match outcome {
            Ok(next) => break next,
            Err((kind, error)) => {
                warn!(flow = %ctx.name, %tp, error = %error, "cannot start the partition; retrying");
                ctx.status
                    .partition_paused(&ctx.name, &tp, kind, error, now_ms());
                tokio::select! {
                    _ = tokio::time::sleep(backoff.next_pause()) => {}
                    _ = stop.cancelled() => return,
                }
            }
        }
    };
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
        ctx.status
            .partition_started(&ctx.name, &tp, &remote_topic, next);
        skip_already_replicated(&ctx, &tp, &remote_topic, &mut next).await;
        let outcome = async {
            let identity = init_producer_id(&ctx.target)
                .await
                .map_err(ForwardError::Produce);
            let identity = match identity {
                Ok(identity) => identity,
                Err(error) => {
                    let described = describe_forward_error(&ctx, &tp, &remote_topic, &error).await;
                    return Err((ErrorKind::ProducerInit, described));
                }
            };
            let mut sender = PartitionSender::new(
                ctx.target.clone(),
                &remote_topic,
                tp.partition,
                identity,
                SendConfig {
                    lease: Some(ctx.lease.clone()),
                    ..SendConfig::for_client(&ctx.target)
                },
            );
            let (events_tx, events_rx) = mpsc::channel(ctx.tuning.partition_queue);
            fetcher
                .send(FetcherCommand::Add {
                    tp: tp.clone(),
                    offset: next,
                    events: events_tx,
                })
                .await
                .map_err(|_| (ErrorKind::Fetch, "fetcher stopped".to_string()))?;
            let forwarded = {
                let forwarding = forward_partition_within(events_rx, &mut sender, limit.as_ref(), |event| {
                    record_progress(&ctx, &tp, &mut next, &mut sync_state, event)
                });
                tokio::select! {
                    result = forwarding => Some(result),
                    _ = stop.cancelled() => None,
                }
            };
            match forwarded {
                Some(Ok(())) => return Ok(()),
                Some(Err(e)) => {
                    let described = describe_forward_error(&ctx, &tp, &remote_topic, &e).await;
                    return Err((forward_error_kind(&e), described));
                }
                None => {}
            }
            // Stopping: record what the target acknowledges of the batches
            // in flight, so that the final progress covers them and a
            // restart does not copy them again. Batches fetched but not sent
            // are left to the restart.
            let drain = drain_in_flight(&mut sender, |event| {
                record_progress(&ctx, &tp, &mut next, &mut sync_state, event)
            });
            let error = match tokio::time::timeout(STOP_DRAIN_TIMEOUT, drain).await {
                Ok(Ok(())) => None,
                Ok(Err(e)) => Some(e.to_string()),
                Err(_) => Some(format!("no acknowledgement within {STOP_DRAIN_TIMEOUT:?}")),
            };
            if let Some(error) = error {
                warn!(flow = %ctx.name, %tp, error, "in-flight batches unconfirmed at stop; a restart copies them again");
            }
            Ok(())
        }
        .await;
        let _ = fetcher
            .send(FetcherCommand::Remove { tp: tp.clone() })
            .await;
        let (kind, error) = match outcome {
            Ok(()) => return,
            Err(error) => error,
        };
        if stop.is_cancelled() {
            return;
        }
        error!(flow = %ctx.name, %tp, remote = %remote_topic, offset = next, error = %error, "partition paused");
        ctx.status
            .partition_paused(&ctx.name, &tp, kind, error.clone(), now_ms());
        tokio::select! {
            _ = tokio::time::sleep(backoff.next_pause()) => {}
            _ = stop.cancelled() => return,
        }
        // The remote topic may be what is missing; recreate it if so.
        if let Ok(meta) = ctx.source.topic_metadata(&tp.topic).await {
            if let Err(e) = ensure_remote_topic(&ctx.flow, &ctx.source, &ctx.target, &meta).await {
                warn!(flow = %ctx.name, %tp, error = %e, "cannot prepare remote topic");
            }
        }
        info!(flow = %ctx.name, %tp, offset = next, "partition resuming");
    }
}

/// The error of a paused partition, with the ACL to add when a cluster
/// refused kmirror's principal, or the limit to raise when the remote
/// topic refused a batch as too large.
async fn describe_forward_error(
    ctx: &FlowContext,
    tp: &TopicPartition,
    remote_topic: &str,
    error: &ForwardError,
) -> String {
    let hint = match error {
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
    };
    match hint {
        Some(hint) => format!("{error}; {hint}"),
        None => error.to_string(),
    }
}

fn forward_error_kind(error: &ForwardError) -> ErrorKind {
    match error {
        ForwardError::Fetch(_) => ErrorKind::Fetch,
        ForwardError::Produce(_) | ForwardError::BatchTooLarge { .. } => ErrorKind::Produce,
        ForwardError::Unforwardable { .. } | ForwardError::AboveRequestSize { .. } => {
            ErrorKind::Unforwardable
        }
    }
}

/// Moves `next` past the batches the target already holds from before a
/// crash or a pause (see [`super::resume`]), recording their mappings.
async fn skip_already_replicated(
    ctx: &FlowContext,
    tp: &TopicPartition,
    remote_topic: &str,
    next: &mut i64,
) {
    // Only where the index knows `next` exactly (not past its end).
    let Some(downstream) = ctx.indexes.exact_downstream(&ctx.name, tp, *next) else {
        return;
    };
    match already_replicated(
        &ctx.source,
        &ctx.target,
        tp,
        remote_topic,
        *next,
        downstream,
    )
    .await
    {
        Ok(batches) if !batches.is_empty() => {
            let from = *next;
            for batch in &batches {
                ctx.indexes.record(&ctx.name, tp, batch);
                *next = (*next).max(batch.upstream_next());
            }
            ctx.status.skipped_to(&ctx.name, tp, *next);
            ctx.positions.lock().unwrap().insert(tp.clone(), *next);
            info!(flow = %ctx.name, %tp, from, to = *next, batches = batches.len(), "already on the target; not copied again");
        }
        Ok(_) => {}
        Err(e) => {
            warn!(flow = %ctx.name, %tp, error = %e, "cannot compare with the target; resuming as recorded")
        }
    }
}

fn record_progress(
    ctx: &FlowContext,
    tp: &TopicPartition,
    next: &mut i64,
    sync_state: &mut OffsetSyncState,
    event: Progress,
) {
    match event {
        Progress::Forwarded(batch) => {
            *next = (*next).max(batch.upstream_next());
            ctx.status.forwarded(&ctx.name, tp, &batch, now_ms());
            ctx.indexes.record(&ctx.name, tp, &batch);
            let pairs = sync_state.update(&batch);
            if !pairs.is_empty() {
                // Dropped when the writer is far behind; the next batch that
                // needs a sync writes one.
                let _ = ctx.offset_syncs.try_send((tp.clone(), pairs));
            }
        }
        Progress::SkippedTo { next: skipped } => {
            *next = (*next).max(skipped);
            ctx.status.skipped_to(&ctx.name, tp, skipped);
        }
        Progress::HighWatermark(end) => {
            ctx.status.source_end_offset(&ctx.name, tp, end);
            return;
        }
    }
    ctx.positions.lock().unwrap().insert(tp.clone(), *next);
}
