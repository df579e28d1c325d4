//! Forwarding one partition: batches in, acknowledged offset mappings out.

use std::collections::VecDeque;

use kmirror_client::fetch::PartitionData;
use kmirror_client::produce::{Ack, PartitionSender};
use kmirror_client::{ClientError, ForwardableBatch, UnforwardableBatch};
use tokio::sync::mpsc;

use super::fetcher::FetchEvent;
use crate::model::Forwarded;

/// Upstream facts about a batch in flight, returned with its ack.
#[derive(Debug, Clone, Copy)]
pub struct BatchTag {
    upstream_base: i64,
    upstream_last: i64,
    dense: bool,
    bytes: u32,
    max_timestamp: i64,
    sent_ms: i64,
    rebuilt: bool,
}

impl BatchTag {
    /// The tag of the batch as it goes on the wire at `now_ms`.
    pub(crate) fn sending(&self, now_ms: i64) -> BatchTag {
        BatchTag {
            sent_ms: now_ms,
            ..*self
        }
    }

    /// The batch's size as fetched.
    pub(crate) fn bytes(&self) -> usize {
        self.bytes as usize
    }
}

/// What the forwarder reports as it goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Progress {
    /// A batch is on the target.
    Forwarded(Forwarded),
    /// Upstream offsets before `next` need nothing more (control batches,
    /// aborted transactions and empty batches were skipped up to here).
    /// Only sent when nothing is in flight, so it never runs ahead of data.
    SkippedTo { next: i64 },
    /// The source's high watermark, for lag.
    HighWatermark(i64),
}

/// Why a partition stopped forwarding.
#[derive(Debug, thiserror::Error)]
pub enum ForwardError {
    #[error("fetching failed: {0}")]
    Fetch(#[source] ClientError),
    #[error("the target refused a batch: {0}")]
    Produce(#[source] ClientError),
    /// The target refused a batch as larger than the remote topic's
    /// `max.message.bytes`.
    #[error(
        "the target refused the batch at offset {offset} ({bytes} bytes) as too large: {source}"
    )]
    BatchTooLarge {
        offset: i64,
        bytes: u32,
        #[source]
        source: ClientError,
    },
    #[error("the source batch at offset {offset} cannot be forwarded: {source}")]
    Unforwardable {
        offset: i64,
        #[source]
        source: ClientError,
    },
    /// kmirror forwards a batch whole, so a batch above the producer's
    /// `max.request.size` cannot go: the partition waits for the limit to
    /// be raised rather than skip the batch.
    #[error(
        "the source batch at offset {offset} is {bytes} bytes, more than {key} = {limit}; \
         raise {key} to at least {bytes} (kmirror forwards batches whole)"
    )]
    AboveRequestSize {
        offset: i64,
        bytes: usize,
        limit: usize,
        /// The setting as written, e.g. `kafka-b.producer.max.request.size`.
        key: String,
    },
}

/// The largest batch the target side may be sent (`max.request.size`), with
/// the key that set it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BatchLimit {
    pub bytes: usize,
    pub key: String,
}

impl BatchLimit {
    /// Whether a batch of `bytes` starting at upstream `offset` may go.
    fn check(&self, offset: i64, bytes: usize) -> Result<(), ForwardError> {
        if bytes <= self.bytes {
            return Ok(());
        }
        Err(ForwardError::AboveRequestSize {
            offset,
            bytes,
            limit: self.bytes,
            key: self.key.clone(),
        })
    }
}

/// The tag that describes `batch` upstream while it is in flight.
fn tag(batch: &ForwardableBatch) -> BatchTag {
    BatchTag {
        upstream_base: batch.upstream_base(),
        upstream_last: batch.upstream_last(),
        dense: batch.is_dense(),
        bytes: batch.fetched_len() as u32,
        max_timestamp: batch.max_timestamp(),
        // Set when the batch goes on the wire.
        sent_ms: 0,
        rebuilt: batch.was_rebuilt(),
    }
}

/// A fetched batch checked against `limit`: queued with its tag, or the
/// error that stops the partition (a batch too large, or one the client
/// could not make forwardable).
fn admit(
    batch: Result<ForwardableBatch, UnforwardableBatch>,
    limit: Option<&BatchLimit>,
) -> Result<(ForwardableBatch, BatchTag), ForwardError> {
    let (offset, bytes) = match &batch {
        Ok(batch) => (batch.upstream_base(), batch.fetched_len()),
        Err(bad) => (bad.offset, bad.fetched_len),
    };
    if let Some(limit) = limit {
        limit.check(offset, bytes)?;
    }
    match batch {
        Ok(batch) => {
            let tag = tag(&batch);
            Ok((batch, tag))
        }
        Err(bad) => Err(ForwardError::Unforwardable {
            offset: bad.offset,
            source: bad.error,
        }),
    }
}

/// Queues the batches of a fetched chunk with their tags, and notes in
/// `pending_skip` where upstream stands once they are forwarded when the
/// chunk ends past its last batch (control or aborted batches dropped). An
/// `Err` is the first batch that cannot go (too large, or not made
/// forwardable); those before it are queued and `pending_skip` cleared.
pub(crate) fn intake(
    data: PartitionData,
    limit: Option<&BatchLimit>,
    queue: &mut VecDeque<(ForwardableBatch, BatchTag)>,
    pending_skip: &mut Option<i64>,
) -> Result<(), ForwardError> {
    let last_batch_next = data.batches.last().map(|b| b.next_offset());
    if last_batch_next.is_none_or(|n| n < data.next_offset) {
        *pending_skip = Some(data.next_offset);
    }
    // The client stopped at the first batch it could not make forwardable:
    // it comes last.
    let fetched = data.batches.into_iter().map(Ok);
    for batch in fetched.chain(data.unforwardable.map(Err)) {
        match admit(batch, limit) {
            Ok(batch) => queue.push_back(batch),
            Err(e) => {
                *pending_skip = None;
                return Err(e);
            }
        }
    }
    Ok(())
}

/// The error of a batch the target refused (the oldest in flight): one too
/// large for the remote topic says which batch and its size, so that the
/// pause can name the limit to raise.
pub(crate) fn refused(sender: &PartitionSender<BatchTag>, error: ClientError) -> ForwardError {
    match sender.oldest_tag() {
        Some(tag) if error.is_message_too_large() => ForwardError::BatchTooLarge {
            offset: tag.upstream_base,
            bytes: tag.bytes,
            source: error,
        },
        _ => ForwardError::Produce(error),
    }
}

/// Forwards everything `events` delivers through `sender`, calling
/// `on_progress` in upstream offset order. Returns when `events` closes and
/// everything sent was acknowledged, or on the first error (after which the
/// caller pauses the partition; nothing past the last reported progress was
/// acknowledged, so resuming from there loses nothing).
pub async fn forward_partition(
    events: mpsc::Receiver<FetchEvent>,
    sender: &mut PartitionSender<BatchTag>,
    on_progress: impl FnMut(Progress),
) -> Result<(), ForwardError> {
    forward_partition_within(events, sender, None, on_progress).await
}

/// [`forward_partition`], stopping at the first batch larger than `limit`
/// (after forwarding everything before it).
pub async fn forward_partition_within(
    mut events: mpsc::Receiver<FetchEvent>,
    sender: &mut PartitionSender<BatchTag>,
    limit: Option<&BatchLimit>,
    mut on_progress: impl FnMut(Progress),
) -> Result<(), ForwardError> {
    // Each batch with the tag describing it upstream.
    let mut queue: VecDeque<(ForwardableBatch, BatchTag)> = VecDeque::new();
    // Where upstream stands once everything queued and in flight is acked.
    let mut pending_skip: Option<i64> = None;
    let mut events_open = true;
    // An unforwardable batch: reported once everything before it landed.
    let mut pending_error: Option<ForwardError> = None;
    loop {
        if let Some((batch, tag)) = queue.front() {
            if sender.has_room() {
                let tag = tag.sending(crate::model::now_ms());
                sender
                    .send(batch, tag)
                    .await
                    .map_err(ForwardError::Produce)?;
                queue.pop_front();
                continue;
            }
        }
        if queue.is_empty() && sender.in_flight() == 0 {
            if let Some(next) = pending_skip.take() {
                on_progress(Progress::SkippedTo { next });
            }
            if !events_open {
                return pending_error.map_or(Ok(()), Err);
            }
        }
        tokio::select! {
            biased;
            ack = sender.next_ack(), if sender.in_flight() > 0 => {
                match ack {
                    Some(Ok(ack)) => on_progress(Progress::Forwarded(forwarded(&ack))),
                    Some(Err(e)) => return Err(refused(sender, e)),
                    None => {}
                }
            }
            event = events.recv(), if queue.is_empty() && events_open => match event {
                None => events_open = false,
                Some(FetchEvent::Failed(e)) => {
                    // Let what is in flight land first, so progress is exact.
                    while let Some(ack) = sender.next_ack().await {
                        match ack {
                            Ok(ack) => on_progress(Progress::Forwarded(forwarded(&ack))),
                            Err(e) => return Err(refused(sender, e)),
                        }
                    }
                    return Err(ForwardError::Fetch(*e));
                }
                Some(FetchEvent::Data(data)) => {
                    on_progress(Progress::HighWatermark(data.high_watermark));
                    if let Err(e) = intake(*data, limit, &mut queue, &mut pending_skip) {
                        // Forward what came before it, then stop.
                        pending_error = Some(e);
                        events_open = false;
                    }
                }
            },
        }
    }
}

/// Waits for the acknowledgements of the batches `sender` has in flight,
/// sending nothing new, and reports them as progress: used when a partition
/// stops, so that what the target already has is recorded and not copied
/// again. Stops at the first error.
pub async fn drain_in_flight(
    sender: &mut PartitionSender<BatchTag>,
    mut on_progress: impl FnMut(Progress),
) -> Result<(), ForwardError> {
    while let Some(ack) = sender.next_ack().await {
        let ack = ack.map_err(|e| refused(sender, e))?;
        on_progress(Progress::Forwarded(forwarded(&ack)));
    }
    Ok(())
}

pub(crate) fn forwarded(ack: &Ack<BatchTag>) -> Forwarded {
    Forwarded {
        upstream_base: ack.tag.upstream_base,
        upstream_last: ack.tag.upstream_last,
        downstream_base: ack.base_offset,
        records: ack.records,
        dense: ack.tag.dense,
        bytes: ack.tag.bytes,
        max_timestamp: ack.tag.max_timestamp,
        sent_ms: ack.tag.sent_ms,
        rebuilt: ack.tag.rebuilt,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn unforwardable(offset: i64, fetched_len: usize) -> UnforwardableBatch {
        UnforwardableBatch {
            offset,
            fetched_len,
            // Any client error: the forwarder only carries it.
            error: ClientError::NoLeader {
                topic: "orders".into(),
                partition: 0,
            },
        }
    }

    #[test]
    fn a_batch_above_the_request_size_is_reported_so_even_when_unforwardable() {
        let limit = BatchLimit {
            bytes: 100,
            key: "kafka-b.producer.max.request.size".into(),
        };
        let too_large = admit(Err(unforwardable(5, 101)), Some(&limit));
        assert!(
            matches!(
                too_large,
                Err(ForwardError::AboveRequestSize {
                    offset: 5,
                    bytes: 101,
                    limit: 100,
                    ..
                })
            ),
            "{too_large:?}"
        );
        for limit in [Some(&limit), None] {
            let error = admit(Err(unforwardable(5, 100)), limit);
            assert!(
                matches!(
                    error,
                    Err(ForwardError::Unforwardable {
                        offset: 5,
                        source: ClientError::NoLeader { .. }
                    })
                ),
                "{error:?}"
            );
        }
    }
}
