//! The translation indexes of every flow of this process, shared between the
//! data path (which records forwarded batches) and the checkpoint tasks
//! (which translate), and their persisted form: chunks of [`CHUNK`] ranges
//! keyed by topic, partition and chunk number, so that a restart translates
//! as far back as before. Reading and writing the chunks from and to the
//! index topic is the runtime's ([`crate::runtime::index_store`]); this
//! module only encodes and decodes them. An index holds mappings, not a
//! partition's position: that is the partition's
//! [`crate::runtime::position::PartitionPosition`].

use std::collections::{BTreeMap, HashMap};
use std::sync::Mutex;

use serde::{Deserialize, Serialize};

use super::index::{OffsetRange, PartitionIndex, DEFAULT_MAX_RANGES};
use crate::model::{Forwarded, TopicPartition};

/// Ranges per persisted chunk (a chunk's value stays far below 1 MB).
pub const CHUNK: u64 = 1000;

/// A persisted chunk as a record: key, and value (`None` deletes it).
pub type ChunkRecord = (Vec<u8>, Option<Vec<u8>>);

#[derive(Debug, Serialize, Deserialize, PartialEq, Eq, PartialOrd, Ord)]
struct ChunkKey {
    topic: String,
    partition: i32,
    chunk: u64,
}

#[derive(Debug, Serialize, Deserialize)]
struct ChunkValue {
    /// Number of the first range in `ranges`.
    first: u64,
    ranges: Vec<OffsetRange>,
}

#[derive(Debug, Default)]
struct Tracked {
    index: PartitionIndex,
    /// What storage holds: ranges numbered `[persisted_dropped, persisted_end)`.
    persisted_dropped: u64,
    persisted_end: u64,
}

/// Every flow's indexes, keyed by flow name (`source->target`).
#[derive(Debug, Default)]
pub struct IndexRegistry {
    flows: Mutex<HashMap<String, HashMap<TopicPartition, Tracked>>>,
}

impl IndexRegistry {
    /// Records a forwarded batch of `flow`.
    pub fn record(&self, flow: &str, tp: &TopicPartition, batch: &Forwarded) {
        let mut flows = self.flows.lock().unwrap();
        flows
            .entry(flow.to_string())
            .or_default()
            .entry(tp.clone())
            .or_insert_with(|| Tracked {
                index: PartitionIndex::new(DEFAULT_MAX_RANGES),
                ..Tracked::default()
            })
            .index
            .record(batch);
    }

    /// Upstream to downstream offset through `flow`'s index of `tp` (a
    /// source partition).
    pub fn upstream_to_downstream(
        &self,
        flow: &str,
        tp: &TopicPartition,
        upstream: i64,
    ) -> Option<i64> {
        let flows = self.flows.lock().unwrap();
        flows
            .get(flow)?
            .get(tp)?
            .index
            .upstream_to_downstream(upstream)
    }

    /// Like [`Self::upstream_to_downstream`], but only within what the index
    /// covers, where the answer is exact: `None` past its end.
    pub fn exact_downstream(&self, flow: &str, tp: &TopicPartition, upstream: i64) -> Option<i64> {
        let flows = self.flows.lock().unwrap();
        let index = &flows.get(flow)?.get(tp)?.index;
        (upstream <= index.upstream_end()?)
            .then(|| index.upstream_to_downstream(upstream))
            .flatten()
    }

    /// Downstream to upstream offset through `flow`'s index of `tp` (the
    /// source partition whose remote copy holds `downstream`).
    pub fn downstream_to_upstream(
        &self,
        flow: &str,
        tp: &TopicPartition,
        downstream: i64,
    ) -> Option<i64> {
        let flows = self.flows.lock().unwrap();
        flows
            .get(flow)?
            .get(tp)?
            .index
            .downstream_to_upstream(downstream)
    }

    /// The earliest upstream offset `flow` translates for `tp`.
    pub fn reach(&self, flow: &str, tp: &TopicPartition) -> Option<i64> {
        let flows = self.flows.lock().unwrap();
        flows.get(flow)?.get(tp)?.index.first_upstream()
    }

    /// Restores the partitions of `flow` that `wanted` selects from the
    /// latest value of every persisted chunk, replacing what is held for
    /// them. Returns how many partitions were restored.
    pub fn restore<K: AsRef<[u8]>, V: AsRef<[u8]>>(
        &self,
        flow: &str,
        latest_chunks: impl IntoIterator<Item = (K, V)>,
        wanted: impl Fn(&TopicPartition) -> bool,
    ) -> usize {
        let mut chunks: BTreeMap<(String, i32), Vec<ChunkValue>> = BTreeMap::new();
        for (key, value) in latest_chunks {
            let (Ok(key), Ok(value)) = (
                serde_json::from_slice::<ChunkKey>(key.as_ref()),
                serde_json::from_slice::<ChunkValue>(value.as_ref()),
            ) else {
                continue;
            };
            chunks
                .entry((key.topic, key.partition))
                .or_default()
                .push(value);
        }
        let mut loaded = HashMap::new();
        for ((topic, partition), mut values) in chunks {
            let tp = TopicPartition::new(&topic, partition);
            if !wanted(&tp) {
                continue;
            }
            values.sort_by_key(|v| v.first);
            // Keep the contiguous run that ends at the newest chunk.
            let mut ranges: Vec<OffsetRange> = Vec::new();
            let mut first = values.first().map_or(0, |v| v.first);
            for value in values {
                if value.first != first + ranges.len() as u64 {
                    ranges.clear();
                    first = value.first;
                }
                ranges.extend(value.ranges);
            }
            let end = first + ranges.len() as u64;
            loaded.insert(
                tp,
                Tracked {
                    index: PartitionIndex::restore(ranges, first, DEFAULT_MAX_RANGES),
                    persisted_dropped: first,
                    persisted_end: end,
                },
            );
        }
        let count = loaded.len();
        self.flows
            .lock()
            .unwrap()
            .entry(flow.to_string())
            .or_default()
            .extend(loaded);
        count
    }

    /// Drops what is held for `tps` of `flow` (after their persisted state
    /// was written, when another worker takes them over).
    pub fn forget(&self, flow: &str, tps: &[TopicPartition]) {
        if let Some(partitions) = self.flows.lock().unwrap().get_mut(flow) {
            for tp in tps {
                partitions.remove(tp);
            }
        }
    }

    /// The chunk records that bring the persisted form of `flow`'s indexes
    /// up to date, assumed written once returned.
    pub fn changed_chunks(&self, flow: &str) -> Vec<ChunkRecord> {
        let mut flows = self.flows.lock().unwrap();
        let Some(partitions) = flows.get_mut(flow) else {
            return Vec::new();
        };
        let mut records = Vec::new();
        for (tp, tracked) in partitions.iter_mut() {
            let Some(changes) = tracked.index.take_changes() else {
                continue;
            };
            let key = |chunk: u64| {
                serde_json::to_vec(&ChunkKey {
                    topic: tp.topic.to_string(),
                    partition: tp.partition,
                    chunk,
                })
                .expect("json")
            };
            // Chunks now entirely dropped, or entirely past the end.
            for chunk in tracked.persisted_dropped / CHUNK..changes.dropped / CHUNK {
                records.push((key(chunk), None));
            }
            let end_chunk = changes.end.div_ceil(CHUNK);
            for chunk in end_chunk..tracked.persisted_end.div_ceil(CHUNK) {
                records.push((key(chunk), None));
            }
            for chunk in changes.dirty_from / CHUNK..end_chunk {
                let from = (chunk * CHUNK).max(changes.dropped);
                let to = ((chunk + 1) * CHUNK).min(changes.end);
                let value = ChunkValue {
                    first: from,
                    ranges: tracked.index.numbered(from, to).to_vec(),
                };
                records.push((key(chunk), Some(serde_json::to_vec(&value).expect("json"))));
            }
            tracked.persisted_dropped = changes.dropped;
            tracked.persisted_end = changes.end;
        }
        records
    }
}
