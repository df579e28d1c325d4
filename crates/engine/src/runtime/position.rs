//! A replicated partition's position, held in one place.
//!
//! One [`PartitionPosition`] per source partition of a flow: the next
//! upstream offset whose batches are all on the target, and the live figures
//! that go with it (the source's end, counts, times). The partition's
//! pipeline is its only writer: it moves it once per acknowledgement, with
//! atomics, so an acknowledged batch takes no lock here. Everyone else reads
//! it: the progress commit (`runtime/flow/share.rs`) writes what it holds to
//! MM2's offsets topic, and the [`super::status::StatusBoard`], which keeps
//! the cell of every partition it shows, reads it for REST, metrics and lag.
//!
//! Readers see each figure as of some moment, not all figures of one moment
//! (a status may show a batch in `records` but not yet in `batches`); the
//! next read catches up. The position itself and the source's end are
//! sequentially consistent so that whichever of the pipeline and the end
//! offset poller moves last sees the partition caught up.

use std::sync::atomic::{AtomicBool, AtomicI64, AtomicU64, Ordering};

use super::status::PartitionStatus;
use crate::model::Forwarded;

/// A partition's position and the figures of its replication.
#[derive(Debug)]
pub struct PartitionPosition {
    /// The next upstream offset to replicate: everything before it is on
    /// the target.
    next: AtomicI64,
    /// Whether `next` moved (a batch acknowledged, or offsets skipped) since
    /// the current pipeline started: until then it only says where the
    /// pipeline resumed from, which needs no commit.
    moved: AtomicBool,
    /// The source's high watermark as last seen.
    source_end: AtomicI64,
    /// Whether a live fetch reports the source's end as it moves (an
    /// idempotent pipeline is forwarding): while it does and the partition
    /// is caught up, the end offset poll need not ask the source (see
    /// [`Self::end_needs_polling`]).
    end_from_fetch: AtomicBool,
    records: AtomicU64,
    bytes: AtomicU64,
    batches: AtomicU64,
    last_record_timestamp_ms: AtomicI64,
    last_forward_ms: AtomicI64,
    caught_up_ms: AtomicI64,
    last_progress_ms: AtomicI64,
}

impl PartitionPosition {
    /// A partition first seen at `now_ms`, at offset 0 until its pipeline
    /// says where it resumes.
    pub fn new(now_ms: i64) -> Self {
        PartitionPosition {
            next: AtomicI64::new(0),
            moved: AtomicBool::new(false),
            source_end: AtomicI64::new(0),
            end_from_fetch: AtomicBool::new(false),
            records: AtomicU64::new(0),
            bytes: AtomicU64::new(0),
            batches: AtomicU64::new(0),
            last_record_timestamp_ms: AtomicI64::new(0),
            last_forward_ms: AtomicI64::new(0),
            caught_up_ms: AtomicI64::new(0),
            last_progress_ms: AtomicI64::new(now_ms),
        }
    }

    /// A new pipeline takes the partition: nothing is acknowledged by it
    /// yet, so there is nothing to commit until it moves. The counters go
    /// on from the previous run.
    pub fn new_run(&self) {
        self.moved.store(false, Ordering::SeqCst);
    }

    /// The pipeline resumes from `offset` (the committed progress or the
    /// source's earliest offset).
    pub fn resume_at(&self, offset: i64) {
        self.next.store(offset, Ordering::SeqCst);
    }

    /// A batch is on the target. The pipeline records the batch in the
    /// offset index before calling this, so that a commit that sees the new
    /// position finds its mapping in the index.
    pub fn forwarded(&self, batch: &Forwarded, now_ms: i64) {
        self.records
            .fetch_add(batch.records.max(0) as u64, Ordering::Relaxed);
        self.bytes.fetch_add(batch.bytes as u64, Ordering::Relaxed);
        self.batches.fetch_add(1, Ordering::Relaxed);
        self.last_record_timestamp_ms
            .fetch_max(batch.max_timestamp, Ordering::Relaxed);
        self.last_forward_ms.store(now_ms, Ordering::Relaxed);
        self.moved_to(batch.upstream_next(), now_ms);
    }

    /// Upstream offsets before `next` need nothing more (skipped batches,
    /// or batches found already on the target).
    pub fn skipped_to(&self, next: i64, now_ms: i64) {
        self.moved_to(next, now_ms);
    }

    fn moved_to(&self, next: i64, now_ms: i64) {
        self.next.fetch_max(next, Ordering::SeqCst);
        self.moved.store(true, Ordering::SeqCst);
        self.last_progress_ms.store(now_ms, Ordering::Relaxed);
        self.note_position(now_ms);
    }

    /// The source's high watermark as the partition's fetches report it.
    pub fn source_end(&self, end: i64, now_ms: i64) {
        self.source_end.store(end, Ordering::SeqCst);
        self.note_position(now_ms);
    }

    /// The source's end offset as polled from outside the pipeline (a
    /// paused partition fetches nothing, so its lag would otherwise freeze):
    /// never moves the end backwards.
    pub fn polled_end(&self, end: i64, now_ms: i64) {
        self.source_end.fetch_max(end, Ordering::SeqCst);
        self.note_position(now_ms);
    }

    /// Whether the pipeline's fetch reports the source's end from now on
    /// (`true` while an idempotent pipeline forwards), or not (paused,
    /// stopped, or a pipeline that does not report it).
    pub fn set_end_from_fetch(&self, live: bool) {
        self.end_from_fetch.store(live, Ordering::SeqCst);
    }

    /// Whether the end offset poll must ask the source for this partition:
    /// unless a live fetch reports its end and it is caught up to exactly
    /// that end. A fetch session answers for a partition only when it has
    /// news (records, a moved end), so a caught-up partition at rest learns
    /// of new records from its fetch; one with lag may be held back (its
    /// queue full) and one whose end was never reported (a fetch answer
    /// without records is not passed on) needs the poll, as does a paused
    /// partition, which fetches nothing.
    pub fn end_needs_polling(&self) -> bool {
        !self.end_from_fetch.load(Ordering::SeqCst)
            || self.next.load(Ordering::SeqCst) != self.source_end.load(Ordering::SeqCst)
    }

    /// The poll's round for a partition it does not ask about (see
    /// [`Self::end_needs_polling`]): as a poll answer that found the end
    /// unchanged would, notes that the target is still caught up at
    /// `now_ms`.
    pub fn end_unchanged(&self, now_ms: i64) {
        self.note_position(now_ms);
    }

    /// Caught up: the target holds everything the source had.
    fn note_position(&self, now_ms: i64) {
        if self.next.load(Ordering::SeqCst) >= self.source_end.load(Ordering::SeqCst) {
            self.caught_up_ms.store(now_ms, Ordering::Relaxed);
            self.last_progress_ms.store(now_ms, Ordering::Relaxed);
        }
    }

    /// The next upstream offset to replicate.
    pub fn next(&self) -> i64 {
        self.next.load(Ordering::SeqCst)
    }

    /// The position to make durable: `None` until the current pipeline
    /// moved it.
    pub fn committable(&self) -> Option<i64> {
        self.moved
            .load(Ordering::SeqCst)
            .then(|| self.next.load(Ordering::SeqCst))
    }

    /// Fills the position and figures of `status` from the cell.
    pub fn report(&self, status: &mut PartitionStatus) {
        status.replicated_offset = self.next.load(Ordering::SeqCst);
        status.source_end_offset = self.source_end.load(Ordering::SeqCst);
        status.records = self.records.load(Ordering::Relaxed);
        status.bytes = self.bytes.load(Ordering::Relaxed);
        status.batches = self.batches.load(Ordering::Relaxed);
        status.last_record_timestamp_ms = self.last_record_timestamp_ms.load(Ordering::Relaxed);
        status.last_forward_ms = self.last_forward_ms.load(Ordering::Relaxed);
        status.caught_up_ms = self.caught_up_ms.load(Ordering::Relaxed);
        status.last_progress_ms = self.last_progress_ms.load(Ordering::Relaxed);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reported(position: &PartitionPosition) -> PartitionStatus {
        let mut status = PartitionStatus::default();
        position.report(&mut status);
        status
    }

    fn batch(base: i64, last: i64, max_timestamp: i64) -> Forwarded {
        Forwarded {
            upstream_base: base,
            upstream_last: last,
            downstream_base: base + 100,
            records: (last - base + 1) as i32,
            dense: true,
            bytes: 64,
            max_timestamp,
            sent_ms: max_timestamp,
            rebuilt: false,
        }
    }

    #[test]
    fn a_resumed_position_is_committed_only_once_it_moves() {
        let position = PartitionPosition::new(1_000);
        position.resume_at(40);
        assert_eq!(position.next(), 40);
        assert_eq!(position.committable(), None);
        position.forwarded(&batch(40, 49, 900), 2_000);
        assert_eq!(position.committable(), Some(50));
        // A batch acknowledged out of order never moves it back.
        position.forwarded(&batch(30, 39, 800), 2_100);
        assert_eq!(position.committable(), Some(50));
        position.skipped_to(55, 2_200);
        assert_eq!(position.committable(), Some(55));
        // The next pipeline commits nothing until it moves in turn.
        position.new_run();
        position.resume_at(55);
        assert_eq!(position.committable(), None);
        let status = reported(&position);
        assert_eq!((status.records, status.batches, status.bytes), (20, 2, 128));
        assert_eq!(status.last_record_timestamp_ms, 900);
        assert_eq!(status.last_forward_ms, 2_100);
        assert_eq!(status.last_progress_ms, 2_200);
    }

    #[test]
    fn the_end_is_polled_unless_a_live_fetch_reports_it_and_the_partition_is_caught_up() {
        let position = PartitionPosition::new(1_000);
        position.resume_at(10);
        // No fetch reports the end: paused, stopped, or not started.
        assert!(position.end_needs_polling());
        position.set_end_from_fetch(true);
        // Its fetch has not reported an end that covers the position yet.
        assert!(position.end_needs_polling());
        position.polled_end(10, 1_500);
        assert!(!position.end_needs_polling());
        // Lag: its fetch may be held back, so the poll keeps the end moving.
        position.source_end(12, 2_000);
        assert!(position.end_needs_polling());
        position.forwarded(&batch(10, 11, 1_900), 2_100);
        assert!(!position.end_needs_polling());
        // Left alone, it is still noted caught up on each round.
        position.end_unchanged(4_000);
        let status = reported(&position);
        assert_eq!(
            (status.caught_up_ms, status.last_progress_ms),
            (4_000, 4_000)
        );
        position.set_end_from_fetch(false);
        assert!(position.end_needs_polling());
    }

    #[test]
    fn caught_up_when_the_position_reaches_the_source_end() {
        let position = PartitionPosition::new(1_000);
        position.source_end(10, 1_500);
        assert_eq!(reported(&position).caught_up_ms, 0);
        position.forwarded(&batch(0, 9, 1_200), 2_000);
        assert_eq!(reported(&position).caught_up_ms, 2_000);
        // A fetch's end offset is taken as is; a polled one never moves
        // the end backwards.
        position.source_end(12, 2_500);
        position.polled_end(11, 3_000);
        let status = reported(&position);
        assert_eq!(status.source_end_offset, 12);
        assert_eq!(status.caught_up_ms, 2_000);
        position.polled_end(10, 3_500);
        position.skipped_to(12, 4_000);
        assert_eq!(reported(&position).caught_up_ms, 4_000);
    }
}
