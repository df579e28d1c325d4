//! When to write an offset sync, following MirrorMaker 2's rules
//! (`OffsetSyncWriter.PartitionState.update`) applied to each forwarded
//! batch's first and last record, so that readers using MM2's algorithm
//! (`OffsetSyncStore`) get the same answers as from MM2, at least.

use crate::model::Forwarded;

/// One partition's offset-sync state.
#[derive(Debug, Clone)]
pub struct OffsetSyncState {
    max_offset_lag: i64,
    previous_upstream: i64,
    previous_downstream: i64,
    last_sync_downstream: i64,
}

impl OffsetSyncState {
    pub fn new(max_offset_lag: i64) -> Self {
        OffsetSyncState {
            max_offset_lag,
            previous_upstream: -1,
            previous_downstream: -1,
            last_sync_downstream: -1,
        }
    }

    /// The (upstream, downstream) pairs to write for this batch, if any:
    /// where MM2, looking at every record, would have written one.
    pub fn update(&mut self, batch: &Forwarded) -> Vec<(i64, i64)> {
        if batch.downstream_base < 0 || batch.records <= 0 {
            return Vec::new();
        }
        let mut syncs = Vec::new();
        if self.observe(batch.upstream_base, batch.downstream_base) {
            syncs.push((batch.upstream_base, batch.downstream_base));
        }
        let downstream_last = batch.downstream_base + batch.records as i64 - 1;
        if batch.dense {
            // Offsets advance one by one inside the batch: the record at
            // which the last sync becomes too stale is known exactly.
            loop {
                let stale_at = self.last_sync_downstream + self.max_offset_lag + 2;
                if stale_at > downstream_last || stale_at <= batch.downstream_base {
                    break;
                }
                let upstream = batch.upstream_base + (stale_at - batch.downstream_base);
                self.last_sync_downstream = stale_at;
                syncs.push((upstream, stale_at));
            }
        }
        // A gapped batch maps only as a whole; its last record stands for it.
        self.previous_upstream = batch.upstream_last;
        self.previous_downstream = downstream_last;
        syncs
    }

    fn observe(&mut self, upstream: i64, downstream: i64) -> bool {
        let first = self.previous_upstream == -1 && self.previous_downstream == -1;
        let too_stale = self.last_sync_downstream + 1 < downstream - self.max_offset_lag;
        let skipped = upstream - self.previous_upstream != 1;
        let truncated = downstream < self.previous_downstream;
        let sync = first || too_stale || skipped || truncated;
        if sync {
            self.last_sync_downstream = downstream;
        }
        self.previous_upstream = upstream;
        self.previous_downstream = downstream;
        sync
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn batch(up: i64, records: i32, down: i64, dense: bool) -> Forwarded {
        Forwarded {
            upstream_base: up,
            upstream_last: up + records as i64 - 1,
            downstream_base: down,
            records,
            dense,
            bytes: 100,
            max_timestamp: 0,
            sent_ms: 0,
            rebuilt: false,
        }
    }

    #[test]
    fn first_batch_syncs_then_every_offset_lag_max() {
        let mut state = OffsetSyncState::new(100);
        assert_eq!(state.update(&batch(0, 10, 0, true)), vec![(0, 0)]);
        // Contiguous and within lag: nothing.
        assert!(state.update(&batch(10, 10, 10, true)).is_empty());
        let mut syncs = Vec::new();
        for i in 2..30 {
            syncs.extend(state.update(&batch(i * 10, 10, i * 10, true)));
        }
        assert!(!syncs.is_empty());
        // Never more than offset.lag.max + 1 records between syncs.
        let mut last = 0;
        for (up, down) in &syncs {
            assert_eq!(up, down);
            assert!(down - last <= 102, "{last} -> {down}");
            last = *down;
        }
    }

    #[test]
    fn upstream_gap_forces_a_sync() {
        let mut state = OffsetSyncState::new(100);
        state.update(&batch(0, 10, 0, true));
        // Upstream jumps (compaction or aborted transaction) while
        // downstream is contiguous.
        assert_eq!(state.update(&batch(20, 5, 10, true)), vec![(20, 10)]);
    }

    #[test]
    fn unknown_downstream_offsets_write_nothing() {
        let mut state = OffsetSyncState::new(100);
        assert!(state.update(&batch(0, 10, -1, true)).is_empty());
    }
}
