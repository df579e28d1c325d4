//! Forwarding one partition in transactions, for exactly-once delivery.
//!
//! [`TransactionalForwarder::next_transaction`] sends fetched batches into
//! one transaction of the partition's transactional producer until the
//! transaction's boundary, and returns once every batch of it was
//! acknowledged. The caller then writes the partition's progress into the
//! same transaction and commits it, and only then records the forwarded
//! batches (offset index, position, offset syncs): nothing of a transaction
//! counts before it commits. Batches fetched past the boundary wait here for
//! the next transaction.

use std::collections::VecDeque;
use std::time::Duration;

use kmirror_client::produce::PartitionSender;
use kmirror_client::transaction::TransactionalProducer;
use kmirror_client::ForwardableBatch;
use tokio::sync::mpsc;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use super::fetcher::FetchEvent;
use super::partition::{forwarded, intake, refused, BatchLimit, BatchTag, ForwardError};
use crate::model::Forwarded;

/// When a transaction ends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TransactionLimits {
    /// Batch bytes after which no batch joins the transaction.
    pub max_bytes: usize,
    /// How long after its first batch the transaction ends at the latest.
    pub max_duration: Duration,
    /// One poll per transaction (`transaction.boundary = poll`): at the
    /// head of the source log the transaction carries what was fetched
    /// when it began and ends once that is acknowledged; what arrives
    /// meanwhile waits for the next one, so that a steady stream commits
    /// every round trip. While the partition catches up (its fetches end
    /// before the source's last stable offset) the transaction goes on
    /// taking fetches up to `max_bytes` or `max_duration`: a backlog moves
    /// in a few large transactions, not one commit per fetch.
    /// Otherwise it takes what arrives until its time is up.
    pub ends_when_idle: bool,
}

/// One transaction's batches: all sent once [`TransactionalForwarder::fill`]
/// returns, all acknowledged once [`TransactionalForwarder::settle`] did,
/// none committed.
#[derive(Debug, Default)]
pub struct TransactionRound {
    /// The batches acknowledged so far, in upstream order.
    pub forwarded: Vec<Forwarded>,
    /// The upstream offset after the last batch sent in the transaction;
    /// `None` when no transaction began.
    pub sent_to: Option<i64>,
    /// Upstream offsets before this need nothing more once the forwarded
    /// batches count (control, aborted and empty batches skipped).
    pub skipped_to: Option<i64>,
    /// The source's high watermark, last seen.
    pub high_watermark: Option<i64>,
    /// No more transactions follow: the fetch events ended or a stop was
    /// asked for.
    pub finished: bool,
    /// A batch that cannot be forwarded, after the forwarded ones: the
    /// partition stops on it once this transaction is committed.
    pub error: Option<ForwardError>,
}

impl TransactionRound {
    /// Where the partition's progress stands once this round counts: past
    /// the batches sent and the offsets skipped. `None` when nothing moved.
    pub fn next_offset(&self) -> Option<i64> {
        self.sent_to.max(self.skipped_to)
    }
}

/// One partition's batches between transactions.
#[derive(Debug, Default)]
pub struct TransactionalForwarder {
    /// Fetched, not yet sent.
    queue: VecDeque<(ForwardableBatch, BatchTag)>,
    pending_skip: Option<i64>,
    events_open: bool,
    pending_error: Option<ForwardError>,
    /// The last fetch ended before the source's last stable offset: more
    /// is ready upstream.
    behind: bool,
}

impl TransactionalForwarder {
    pub fn new() -> Self {
        TransactionalForwarder {
            events_open: true,
            ..TransactionalForwarder::default()
        }
    }

    /// Sends batches into one transaction of `producer` (enrolling
    /// `partitions` before the first) until `limits` say no more join it,
    /// taking acknowledgements as they come; the caller adds its progress
    /// record and [`settle`](Self::settle)s the rest before committing, so
    /// that the progress write overlaps the last batches' round trip.
    /// Returns without a transaction (`sent_to` is `None`) when only
    /// skipped offsets or a stop came. An `Err` leaves the transaction to
    /// be aborted: what it held is fetched again from the committed
    /// position, so the forwarder must not be reused.
    #[allow(clippy::too_many_arguments)]
    pub async fn fill(
        &mut self,
        events: &mut mpsc::Receiver<FetchEvent>,
        sender: &mut PartitionSender<BatchTag>,
        producer: &mut TransactionalProducer,
        partitions: &[(&str, i32)],
        limit: Option<&BatchLimit>,
        limits: &TransactionLimits,
        stop: &CancellationToken,
    ) -> Result<TransactionRound, ForwardError> {
        let mut round = TransactionRound::default();
        let mut started: Option<Instant> = None;
        let mut bytes = 0usize;
        let mut stopping = false;
        loop {
            let full = started
                .is_some_and(|at| bytes >= limits.max_bytes || at.elapsed() >= limits.max_duration);
            if !stopping && !full {
                if let Some((batch, tag)) = self.queue.front() {
                    if sender.has_room() {
                        if started.is_none() {
                            producer
                                .enrol(partitions)
                                .await
                                .map_err(ForwardError::Produce)?;
                            started = Some(Instant::now());
                        }
                        let tag = tag.sending(crate::model::now_ms());
                        bytes += tag.bytes();
                        round.sent_to = Some(tag.upstream_next());
                        sender
                            .send(batch, tag)
                            .await
                            .map_err(ForwardError::Produce)?;
                        self.queue.pop_front();
                        continue;
                    }
                }
            }
            let drained = self.queue.is_empty();
            let no_more = stopping
                || (drained && !self.events_open)
                || (started.is_some() && (full || (drained && self.ends_at_poll(limits))))
                || (started.is_none() && drained && self.pending_skip.is_some());
            if no_more {
                if drained {
                    round.skipped_to = self.pending_skip.take();
                    if !self.events_open {
                        round.finished = true;
                        round.error = self.pending_error.take();
                    }
                }
                round.finished |= stopping;
                return Ok(round);
            }
            let deadline = started.map(|at| at + limits.max_duration);
            tokio::select! {
                biased;
                _ = stop.cancelled(), if !stopping => stopping = true,
                ack = sender.next_ack(), if sender.in_flight() > 0 => match ack {
                    Some(Ok(ack)) => round.forwarded.push(forwarded(&ack)),
                    Some(Err(e)) => return Err(refused(sender, e)),
                    None => {}
                },
                event = events.recv(), if drained && self.events_open => {
                    self.take(event, &mut round, limit)?;
                    // A poll: with it, whatever else is ready now.
                    while self.events_open {
                        match events.try_recv() {
                            Ok(event) => self.take(Some(event), &mut round, limit)?,
                            Err(mpsc::error::TryRecvError::Empty) => break,
                            Err(mpsc::error::TryRecvError::Disconnected) => self.events_open = false,
                        }
                    }
                }
                _ = tokio::time::sleep_until(deadline.unwrap_or_else(Instant::now)), if deadline.is_some() => {}
            }
        }
    }

    /// Waits for the acknowledgement of every batch `round` sent.
    pub async fn settle(
        sender: &mut PartitionSender<BatchTag>,
        round: &mut TransactionRound,
    ) -> Result<(), ForwardError> {
        while sender.in_flight() > 0 {
            match sender.next_ack().await {
                Some(Ok(ack)) => round.forwarded.push(forwarded(&ack)),
                Some(Err(e)) => return Err(refused(sender, e)),
                None => break,
            }
        }
        Ok(())
    }

    /// The transaction ends with the fetches it began with: a poll
    /// boundary, with the partition at the head of the source log.
    fn ends_at_poll(&self, limits: &TransactionLimits) -> bool {
        limits.ends_when_idle && !self.behind
    }

    /// Takes one fetch event into the queue.
    fn take(
        &mut self,
        event: Option<FetchEvent>,
        round: &mut TransactionRound,
        limit: Option<&BatchLimit>,
    ) -> Result<(), ForwardError> {
        match event {
            None => self.events_open = false,
            // The transaction is aborted: what it sent is fetched again.
            Some(FetchEvent::Failed(e)) => return Err(ForwardError::Fetch(*e)),
            Some(FetchEvent::Data(data)) => {
                round.high_watermark = Some(data.high_watermark);
                self.behind = data.next_offset < data.last_stable_offset;
                if let Err(e) = intake(*data, limit, &mut self.queue, &mut self.pending_skip) {
                    self.pending_error = Some(e);
                    self.events_open = false;
                }
            }
        }
        Ok(())
    }
}
