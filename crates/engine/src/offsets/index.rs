//! Exact offset translation between an upstream partition and its remote
//! copy, from what the data path knows of every forwarded batch.
//!
//! Each forwarded batch maps upstream `[base, last]` to downstream offsets
//! starting at the produce response's base offset. Consecutive dense batches
//! (no offset gaps) that are contiguous on both sides merge into one range,
//! so a partition replicated without gaps costs one range however long it
//! runs; only gaps (compaction, dropped transaction markers and aborted
//! batches) add ranges. The number of ranges kept is bounded; the oldest are
//! dropped first, which bounds how far back translation reaches.

use serde::{Deserialize, Serialize};

use crate::model::Forwarded;

/// Ranges kept per partition by default: with one range per gap, this
/// reaches back over a hundred thousand gaps.
pub const DEFAULT_MAX_RANGES: usize = 100_000;

/// Upstream `[upstream_base, upstream_base + len)` is downstream
/// `[downstream_base, downstream_base + len)` when `dense`; otherwise the
/// range is one batch with gaps inside, `records` records long downstream,
/// spanning `len` upstream offsets.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct OffsetRange {
    #[serde(rename = "u")]
    pub upstream_base: i64,
    /// Upstream offsets covered (`last - base + 1`).
    #[serde(rename = "l")]
    pub len: i64,
    #[serde(rename = "d")]
    pub downstream_base: i64,
    /// Downstream records (equals `len` when dense).
    #[serde(rename = "n")]
    pub records: i64,
    #[serde(rename = "x")]
    pub dense: bool,
}

impl OffsetRange {
    fn upstream_end(&self) -> i64 {
        self.upstream_base + self.len
    }

    fn downstream_end(&self) -> i64 {
        self.downstream_base + self.records
    }
}

/// The translation index of one source partition.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct PartitionIndex {
    ranges: Vec<OffsetRange>,
    max_ranges: usize,
    /// Ranges dropped from the front so far: `ranges[i]` is range number
    /// `dropped + i` of the partition's history (stable chunk numbering for
    /// persistence).
    dropped: u64,
    /// The first range number changed since the last [`Self::take_changes`].
    dirty_from: Option<u64>,
}

/// What changed in an index since it was last persisted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IndexChanges {
    /// Ranges numbered below this are gone.
    pub dropped: u64,
    /// Ranges numbered from this on changed (or are new).
    pub dirty_from: u64,
    /// The number of the range after the last one.
    pub end: u64,
}

impl PartitionIndex {
    pub fn new(max_ranges: usize) -> Self {
        PartitionIndex {
            ranges: Vec::new(),
            max_ranges: max_ranges.max(1),
            dropped: 0,
            dirty_from: None,
        }
    }

    /// An index loaded from storage: `ranges` are range numbers
    /// `first_number..`, already persisted.
    pub fn restore(ranges: Vec<OffsetRange>, first_number: u64, max_ranges: usize) -> Self {
        let mut index = Self::new(max_ranges);
        index.ranges = ranges;
        index.dropped = first_number;
        index
    }

    /// The changes since the last call, if any.
    pub fn take_changes(&mut self) -> Option<IndexChanges> {
        let dirty_from = self.dirty_from.take()?;
        Some(IndexChanges {
            dropped: self.dropped,
            dirty_from: dirty_from.max(self.dropped),
            end: self.dropped + self.ranges.len() as u64,
        })
    }

    /// Ranges numbered `[from, to)` that are still held.
    pub fn numbered(&self, from: u64, to: u64) -> &[OffsetRange] {
        let start = from
            .saturating_sub(self.dropped)
            .min(self.ranges.len() as u64) as usize;
        let end = to
            .saturating_sub(self.dropped)
            .min(self.ranges.len() as u64) as usize;
        &self.ranges[start..end.max(start)]
    }

    fn mark_dirty(&mut self, position: usize) {
        let number = self.dropped + position as u64;
        self.dirty_from = Some(self.dirty_from.map_or(number, |d| d.min(number)));
    }

    pub fn ranges(&self) -> &[OffsetRange] {
        &self.ranges
    }

    /// The upstream offset right after the last range.
    pub fn upstream_end(&self) -> Option<i64> {
        self.ranges.last().map(|r| r.upstream_end())
    }

    /// The earliest upstream offset translation reaches.
    pub fn first_upstream(&self) -> Option<i64> {
        self.ranges.first().map(|r| r.upstream_base)
    }

    /// Records a forwarded batch. Batches must arrive in upstream order;
    /// one without downstream offsets (a duplicate acknowledged without
    /// them) is ignored, and one that goes backwards (a replay after a
    /// restart) replaces what it overlaps.
    pub fn record(&mut self, batch: &Forwarded) {
        if batch.downstream_base < 0 || batch.records <= 0 {
            return;
        }
        self.push_range(OffsetRange {
            upstream_base: batch.upstream_base,
            len: batch.upstream_last - batch.upstream_base + 1,
            downstream_base: batch.downstream_base,
            records: batch.records as i64,
            dense: batch.dense
                && batch.upstream_last - batch.upstream_base + 1 == batch.records as i64,
        });
    }

    fn push_range(&mut self, range: OffsetRange) {
        // A replay (restart re-copy) supersedes the old mapping of the same
        // upstream offsets: consumers on the target may read either copy,
        // the later one is where a translated group should resume.
        while let Some(last) = self.ranges.last_mut() {
            let overlaps = last.upstream_end() > range.upstream_base
                || last.downstream_end() > range.downstream_base;
            if !overlaps {
                break;
            }
            if last.upstream_base >= range.upstream_base
                || last.downstream_base >= range.downstream_base
                || !last.dense
            {
                self.ranges.pop();
                self.mark_dirty(self.ranges.len());
                continue;
            }
            // A dense range that starts before the replay on both sides
            // keeps its part before it.
            let keep = (range.upstream_base - last.upstream_base)
                .min(range.downstream_base - last.downstream_base);
            last.len = keep;
            last.records = keep;
            self.mark_dirty(self.ranges.len() - 1);
            break;
        }
        if let Some(last) = self.ranges.last_mut() {
            if last.dense
                && range.dense
                && last.upstream_end() == range.upstream_base
                && last.downstream_end() == range.downstream_base
            {
                last.len += range.len;
                last.records += range.records;
                self.mark_dirty(self.ranges.len() - 1);
                return;
            }
        }
        self.ranges.push(range);
        self.mark_dirty(self.ranges.len() - 1);
        if self.ranges.len() > self.max_ranges {
            let excess = self.ranges.len() - self.max_ranges;
            self.ranges.drain(..excess);
            self.dropped += excess as u64;
        }
    }

    /// The downstream offset at which a consumer that would next read
    /// upstream offset `upstream` continues on the remote topic.
    ///
    /// Exact inside dense ranges; inside a gapped batch, the batch's first
    /// downstream offset (re-reading at most that batch). An offset between
    /// ranges (skipped markers or aborted records) maps to the start of the
    /// next range; one past everything replicated maps to the end of what was
    /// replicated. `None` when the index does not reach back that far.
    pub fn upstream_to_downstream(&self, upstream: i64) -> Option<i64> {
        let first = self.ranges.first()?;
        if upstream < first.upstream_base {
            return None;
        }
        // The last range starting at or before `upstream`.
        let i = self.ranges.partition_point(|r| r.upstream_base <= upstream) - 1;
        let range = &self.ranges[i];
        if upstream < range.upstream_end() {
            // Inside a gapped batch only its start is known downstream.
            return Some(if range.dense {
                range.downstream_base + (upstream - range.upstream_base)
            } else {
                range.downstream_base
            });
        }
        // Past this range: the next one's start, or the end of everything.
        Some(match self.ranges.get(i + 1) {
            Some(next) => next.downstream_base,
            None => range.downstream_end(),
        })
    }

    /// The upstream offset a consumer that would next read downstream offset
    /// `downstream` continues at on the source (failback). Same rules,
    /// mirrored.
    pub fn downstream_to_upstream(&self, downstream: i64) -> Option<i64> {
        let first = self.ranges.first()?;
        if downstream < first.downstream_base {
            return None;
        }
        let i = self
            .ranges
            .partition_point(|r| r.downstream_base <= downstream)
            - 1;
        let range = &self.ranges[i];
        if downstream < range.downstream_end() {
            return Some(if range.dense {
                range.upstream_base + (downstream - range.downstream_base)
            } else {
                range.upstream_base
            });
        }
        Some(match self.ranges.get(i + 1) {
            Some(next) => next.upstream_base,
            None => range.upstream_end(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn batch(up: i64, last: i64, down: i64, records: i32, dense: bool) -> Forwarded {
        Forwarded {
            upstream_base: up,
            upstream_last: last,
            downstream_base: down,
            records,
            dense,
            bytes: 0,
            max_timestamp: 0,
            sent_ms: 0,
            rebuilt: false,
        }
    }

    #[test]
    fn contiguous_dense_batches_merge_into_one_range() {
        let mut index = PartitionIndex::new(10);
        for i in 0..1000 {
            index.record(&batch(i * 10, i * 10 + 9, 500 + i * 10, 10, true));
        }
        assert_eq!(index.ranges().len(), 1);
        assert_eq!(index.upstream_to_downstream(0), Some(500));
        assert_eq!(index.upstream_to_downstream(1234), Some(1734));
        assert_eq!(index.upstream_to_downstream(10_000), Some(10_500));
        assert_eq!(index.downstream_to_upstream(1734), Some(1234));
        assert_eq!(index.upstream_to_downstream(-1), None);
    }

    #[test]
    fn skipped_markers_map_to_the_next_batch() {
        let mut index = PartitionIndex::new(10);
        // Offsets 10 and 11 were a commit marker and an aborted record.
        index.record(&batch(0, 9, 0, 10, true));
        index.record(&batch(12, 21, 10, 10, true));
        assert_eq!(index.upstream_to_downstream(10), Some(10));
        assert_eq!(index.upstream_to_downstream(11), Some(10));
        assert_eq!(index.upstream_to_downstream(12), Some(10));
        assert_eq!(index.upstream_to_downstream(15), Some(13));
        assert_eq!(index.downstream_to_upstream(10), Some(12));
        assert_eq!(index.downstream_to_upstream(20), Some(22));
    }

    #[test]
    fn gapped_batches_rewind_to_their_start() {
        let mut index = PartitionIndex::new(10);
        // A compacted batch: upstream 100..=199 holds 7 records.
        index.record(&batch(100, 199, 40, 7, false));
        assert_eq!(index.upstream_to_downstream(100), Some(40));
        assert_eq!(index.upstream_to_downstream(150), Some(40));
        assert_eq!(index.upstream_to_downstream(200), Some(47));
        assert_eq!(index.downstream_to_upstream(43), Some(100));
        assert_eq!(index.downstream_to_upstream(47), Some(200));
    }

    #[test]
    fn replays_after_a_restart_supersede_the_old_mapping() {
        let mut index = PartitionIndex::new(10);
        index.record(&batch(0, 9, 0, 10, true));
        index.record(&batch(10, 19, 10, 10, true));
        // Crash, restart from upstream 10: the replay lands at 20.
        index.record(&batch(10, 19, 20, 10, true));
        assert_eq!(index.upstream_to_downstream(5), Some(5));
        assert_eq!(index.upstream_to_downstream(15), Some(25));
        assert_eq!(index.upstream_to_downstream(20), Some(30));
    }

    #[test]
    fn bounded_ranges_drop_the_oldest() {
        let mut index = PartitionIndex::new(3);
        for i in 0..10 {
            index.record(&batch(i * 20, i * 20 + 9, i * 10, 10, true));
        }
        assert_eq!(index.ranges().len(), 3);
        assert_eq!(index.first_upstream(), Some(140));
        assert_eq!(index.upstream_to_downstream(100), None);
    }

    proptest! {
        /// For dense traffic with random gaps, translating every replicated
        /// upstream offset is exact and round-trips.
        #[test]
        fn dense_translation_is_exact(batches in proptest::collection::vec((1i64..50, 0i64..5), 1..200)) {
            let mut index = PartitionIndex::new(DEFAULT_MAX_RANGES);
            let mut up = 0;
            let mut down = 0;
            let mut pairs = Vec::new();
            for (len, gap) in batches {
                up += gap;
                index.record(&batch(up, up + len - 1, down, len as i32, true));
                for i in 0..len {
                    pairs.push((up + i, down + i));
                }
                up += len;
                down += len;
            }
            for (u, d) in pairs {
                prop_assert_eq!(index.upstream_to_downstream(u), Some(d));
                prop_assert_eq!(index.downstream_to_upstream(d), Some(u));
            }
            prop_assert_eq!(index.upstream_to_downstream(up), Some(down));
        }

        /// Translation never goes backwards as the upstream offset grows.
        #[test]
        fn translation_is_monotonic(batches in proptest::collection::vec((1i64..50, 0i64..5, any::<bool>()), 1..100)) {
            let mut index = PartitionIndex::new(DEFAULT_MAX_RANGES);
            let mut up = 0;
            let mut down = 0;
            for (len, gap, dense) in batches {
                up += gap;
                let records = if dense { len } else { (len / 2).max(1) };
                index.record(&batch(up, up + len - 1, down, records as i32, dense));
                up += len;
                down += records;
            }
            let mut previous = i64::MIN;
            for u in index.first_upstream().unwrap()..=up {
                let d = index.upstream_to_downstream(u).unwrap();
                prop_assert!(d >= previous);
                previous = d;
            }
        }
    }
}
