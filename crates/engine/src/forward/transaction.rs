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
    /// One poll per transaction (`transaction.boundary = poll`): the
    /// transaction carries what was fetched when it began and ends once
    /// that is acknowledged; what arrives meanwhile waits for the next one.
    /// Otherwise it takes what arrives until its time is up.
    pub ends_when_idle: bool,
}

/// What one call forwarded, every batch acknowledged, none committed.
#[derive(Debug, Default)]
pub struct TransactionRound {
    /// The batches sent in the transaction, in upstream order.
    pub forwarded: Vec<Forwarded>,
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

/// One partition's batches between transactions.
#[derive(Debug, Default)]
pub struct TransactionalForwarder {
    /// Fetched, not yet sent.
    queue: VecDeque<(ForwardableBatch, BatchTag)>,
    pending_skip: Option<i64>,
    events_open: bool,
    pending_error: Option<ForwardError>,
}

impl TransactionalForwarder {
    pub fn new() -> Self {
        TransactionalForwarder {
            events_open: true,
            ..TransactionalForwarder::default()
        }
    }

    /// Forwards batches into one transaction of `producer` (enrolling
    /// `partitions` before the first) until `limits` say it ends, and waits
    /// for their acknowledgements. Returns without a transaction when only
    /// skipped offsets or a stop came. An `Err` leaves the transaction to
    /// be aborted: what it held is fetched again from the committed
    /// position, so the forwarder must not be reused.
    #[allow(clippy::too_many_arguments)]
    pub async fn next_transaction(
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
                        sender
                            .send(batch, tag)
                            .await
                            .map_err(ForwardError::Produce)?;
                        self.queue.pop_front();
                        continue;
                    }
                }
            }
            if sender.in_flight() == 0 {
                if self.queue.is_empty() {
                    if let Some(next) = self.pending_skip.take() {
                        round.skipped_to = Some(next);
                    }
                }
                if stopping {
                    round.finished = true;
                    return Ok(round);
                }
                if full {
                    return Ok(round);
                }
                if self.queue.is_empty() {
                    if !self.events_open {
                        round.finished = true;
                        round.error = self.pending_error.take();
                        return Ok(round);
                    }
                    if started.is_none() && round.skipped_to.is_some() {
                        return Ok(round);
                    }
                    if started.is_some() && limits.ends_when_idle {
                        return Ok(round);
                    }
                }
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
                event = events.recv(), if self.queue.is_empty() && self.events_open && !stopping
                    && !(started.is_some() && limits.ends_when_idle) => {
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
                _ = tokio::time::sleep_until(deadline.unwrap_or_else(Instant::now)), if deadline.is_some() && !full => {}
            }
        }
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
                if let Err(e) = intake(*data, limit, &mut self.queue, &mut self.pending_skip) {
                    self.pending_error = Some(e);
                    self.events_open = false;
                }
            }
        }
        Ok(())
    }
}
