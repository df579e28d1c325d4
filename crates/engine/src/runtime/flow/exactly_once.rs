//! One partition forwarded exactly once (`exactly.once.source.support =
//! enabled`): through a transactional producer whose `transactional.id` is
//! the partition's own, `<group id>-<topic>-<partition>` (the flow's group
//! id is `<group.id or kmirror>-<source>-><target>`). Whoever runs the
//! partition next, after a crash, a restart or a move to another worker,
//! takes the same id and so fences this one and aborts what it left open.
//!
//! Each transaction holds data batches and the partition's progress record
//! in MM2's offsets topic; the partition counts them (offset index,
//! position, offset syncs, metrics) only once the transaction committed. A
//! partition that starts again reads its progress after fencing its
//! predecessor, so it resumes exactly after the last committed transaction.

use std::time::Duration;

use kmirror_client::produce::{PartitionSender, SendConfig};
use kmirror_client::transaction::{classify, TransactionalProducer, TxnOutcome};
use kmirror_client::ClientError;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;
use tracing::{debug, warn};

use super::pipeline::{forward_failed, record_progress, start_fetching};
use super::FlowContext;
use crate::config::mm2::ExactlyOnce;
use crate::forward::fetcher::FetcherCommand;
use crate::forward::partition::{BatchLimit, BatchTag, ForwardError, Progress};
use crate::forward::transaction::{TransactionLimits, TransactionRound, TransactionalForwarder};
use crate::model::{now_ms, TopicPartition};
use crate::records::OutgoingRecord;
use crate::runtime::error::{EngineError, ForwardStage};
use crate::runtime::offset_sync::OffsetSyncState;
use crate::runtime::position::PartitionPosition;
use crate::runtime::progress::{progress_record, progress_topic, read_progress_of};
use crate::runtime::shutdown_budget;

/// How long a stopping partition may take to commit its last transaction.
const STOP_COMMIT_TIMEOUT: Duration = shutdown_budget::PARTITION_DRAIN;

/// The `transactional.id` of a partition of the flow whose group is
/// `group_id`.
pub(super) fn transactional_id(group_id: &str, tp: &TopicPartition) -> String {
    format!("{group_id}-{}-{}", tp.topic, tp.partition)
}

/// What a partition's pipeline needs to forward in transactions.
pub(super) struct Partition<'a> {
    pub(super) ctx: &'a FlowContext,
    pub(super) tp: &'a TopicPartition,
    pub(super) remote_topic: &'a str,
    pub(super) position: &'a PartitionPosition,
    pub(super) fetcher: &'a mpsc::Sender<FetcherCommand>,
    pub(super) limit: Option<&'a BatchLimit>,
}

/// Forwards the partition in transactions until `stop` or an error. The
/// caller removes the partition from the fetcher afterwards; a
/// transaction left open on an error is aborted by the next producer of
/// the id (the restart after the pause).
pub(super) async fn forward_exactly_once(
    part: Partition<'_>,
    settings: &ExactlyOnce,
    sync_state: &mut OffsetSyncState,
    stop: &CancellationToken,
) -> Result<(), EngineError> {
    let Partition {
        ctx, tp, position, ..
    } = part;
    let transactional_id = transactional_id(&ctx.group_id, tp);
    let failed = |stage, source| {
        let offset = position.next();
        Box::pin(forward_failed(
            ctx,
            tp,
            part.remote_topic,
            offset,
            stage,
            source,
        ))
    };
    // Fenced: a newer producer of the id exists, or the target's
    // coordinator aborted the open transaction on its timeout (protocol 1
    // answers PRODUCER_FENCED then too). A worker whose lease lapsed stops
    // the partition for good: another owner may have it. One that still
    // holds it was given to nobody else, so the transaction timed out: the
    // partition pauses and starts again from its last commit.
    let fenced = |error: ClientError| {
        Box::pin(async {
            if ctx.lease.check().is_err() {
                return EngineError::Fenced {
                    flow: ctx.name.clone(),
                    tp: tp.clone(),
                    transactional_id: transactional_id.clone(),
                };
            }
            warn!(flow = %ctx.name, %tp, transactional_id, transaction_timeout = ?settings.timeout, "transaction fenced while this worker owns the partition: the target aborted it (open longer than transaction.timeout.ms); starting again from the last commit");
            failed(ForwardStage::Forwarding, ForwardError::Produce(error)).await
        })
    };
    // A worker whose group membership lapsed must not fence the owner the
    // group chose meanwhile.
    if let Err(e) = ctx.lease.check() {
        return Err(failed(ForwardStage::ProducerInit, ForwardError::Produce(e)).await);
    }
    let init = TransactionalProducer::init(&ctx.target, &transactional_id, settings.timeout);
    let mut producer = match Box::pin(init).await {
        Ok(producer) => producer,
        Err(e) if classify(&e) == TxnOutcome::Fenced => return Err(fenced(e).await),
        Err(e) => return Err(failed(ForwardStage::ProducerInit, ForwardError::Produce(e)).await),
    };

    // No earlier producer of the id can commit any more: the progress read
    // now is where the last committed transaction left the partition.
    let source_alias = ctx.flow.source.as_str();
    let read_deadline = settings.timeout + Duration::from_secs(10);
    let committed = read_progress_of(
        &ctx.target,
        source_alias,
        ctx.progress_partitions,
        tp,
        read_deadline,
    );
    match Box::pin(committed).await {
        Ok(Some(next)) => position.resume_at(next),
        Ok(None) => {}
        Err(source) => {
            return Err(EngineError::CommittedProgress {
                flow: ctx.name.clone(),
                tp: tp.clone(),
                source,
            })
        }
    }
    debug!(flow = %ctx.name, %tp, transactional_id, offset = position.next(), protocol = ?producer.protocol(), "forwarding in transactions");

    let config = SendConfig {
        lease: Some(ctx.lease.for_this_term()),
        ..SendConfig::for_client(&ctx.target)
    };
    let progress_topic = progress_topic(source_alias);
    let (progress_partition, _) =
        progress_record(source_alias, ctx.progress_partitions, tp, position.next());
    let mut data: PartitionSender<BatchTag> = PartitionSender::transactional(
        ctx.target.clone(),
        part.remote_topic,
        tp.partition,
        &producer,
        config.clone(),
    );
    let mut progress: PartitionSender<()> = PartitionSender::transactional(
        ctx.target.clone(),
        &progress_topic,
        progress_partition,
        &producer,
        config,
    );
    let enrolled = [
        (part.remote_topic, tp.partition),
        (progress_topic.as_str(), progress_partition),
    ];
    let mut events = start_fetching(ctx, tp, position, part.fetcher).await?;

    let limits = TransactionLimits {
        max_bytes: settings.max_bytes,
        max_duration: settings.max_duration(),
        ends_when_idle: settings.ends_when_idle(),
    };
    let mut forwarder = TransactionalForwarder::new();
    loop {
        let round = forwarder
            .fill(
                &mut events,
                &mut data,
                &mut producer,
                &enrolled,
                part.limit,
                &limits,
                stop,
            )
            .await;
        let mut round = match round {
            Ok(round) => round,
            Err(ForwardError::Produce(e)) if classify(&e) == TxnOutcome::Fenced => {
                return Err(fenced(e).await)
            }
            Err(source) => return Err(failed(ForwardStage::Forwarding, source).await),
        };
        if let Some(end) = round.high_watermark {
            position.source_end(end, now_ms());
        }
        if round.sent_to.is_some() {
            let commit_started = tokio::time::Instant::now();
            let commit = commit(ctx, tp, &mut producer, &mut data, &mut progress, &mut round);
            let committed = if stop.is_cancelled() {
                match tokio::time::timeout(STOP_COMMIT_TIMEOUT, commit).await {
                    Ok(committed) => committed,
                    // Left open: the next owner's producer aborts it.
                    Err(_) => return Ok(()),
                }
            } else {
                commit.await
            };
            match committed {
                Ok(()) => {}
                Err(ForwardError::Produce(e)) if classify(&e) == TxnOutcome::Fenced => {
                    return Err(fenced(e).await)
                }
                Err(source) => return Err(failed(ForwardStage::Forwarding, source).await),
            }
            let took = commit_started.elapsed();
            ctx.status
                .metrics()
                .transaction_committed(ctx.name.as_str(), took);
            debug!(flow = %ctx.name, %tp, batches = round.forwarded.len(), ?took, "transaction committed");
            // Protocol 2 bumps the epoch at every end.
            data.adopt(producer.identity());
            progress.adopt(producer.identity());
            for batch in round.forwarded.drain(..) {
                record_progress(ctx, tp, position, sync_state, Progress::Forwarded(batch));
            }
        }
        if let Some(next) = round.skipped_to {
            record_progress(ctx, tp, position, sync_state, Progress::SkippedTo { next });
        }
        if round.finished {
            return match round.error {
                None => Ok(()),
                Some(source) => Err(failed(ForwardStage::Forwarding, source).await),
            };
        }
    }
}

/// Writes the partition's progress into the open transaction, past what
/// `round` sent and skipped, while the last data batches are still on
/// their way; then waits for every acknowledgement and commits.
async fn commit(
    ctx: &FlowContext,
    tp: &TopicPartition,
    producer: &mut TransactionalProducer,
    data: &mut PartitionSender<BatchTag>,
    progress: &mut PartitionSender<()>,
    round: &mut TransactionRound,
) -> Result<(), ForwardError> {
    let next = round.next_offset().expect("a transaction sent batches");
    let (_, record): (i32, OutgoingRecord) =
        progress_record(ctx.flow.source.as_str(), ctx.progress_partitions, tp, next);
    progress
        .send(&kmirror_client::records::encode(&[record], now_ms()), ())
        .await
        .map_err(ForwardError::Produce)?;
    TransactionalForwarder::settle(data, round).await?;
    match progress.next_ack().await {
        Some(Ok(_)) => {}
        Some(Err(e)) => return Err(ForwardError::Produce(e)),
        None => unreachable!("a batch was just sent"),
    }
    producer.end(true).await.map_err(ForwardError::Produce)
}
