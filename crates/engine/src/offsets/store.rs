//! The translation indexes of every flow of this process, shared between the
//! data path (which records forwarded batches) and the checkpoint tasks
//! (which translate), and their persistence in a compacted topic on the
//! target, `kmirror-offset-index.<source>.internal`, in chunks of
//! [`CHUNK`] ranges keyed by topic, partition and chunk number, so that a
//! restart translates as far back as before.

use std::collections::{BTreeMap, HashMap};
use std::sync::Mutex;
use std::time::Duration;

use kmirror_client::{ClientError, KafkaClient};
use serde::{Deserialize, Serialize};

use super::index::{OffsetRange, PartitionIndex, DEFAULT_MAX_RANGES};
use crate::model::{Forwarded, TopicPartition};
use crate::records::{latest_by_key, read_partition, OutgoingRecord};
use crate::runtime::writer::RecordWriter;

/// Ranges per persisted chunk (a chunk's value stays far below 1 MB).
pub const CHUNK: u64 = 1000;

/// `kmirror-offset-index.<source>.internal`, on the target.
pub fn index_topic(source_alias: &str) -> String {
    format!("kmirror-offset-index.{source_alias}.internal")
}

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

    /// Loads `flow`'s persisted indexes from the index topic on `target`.
    pub async fn load(
        &self,
        flow: &str,
        target: &KafkaClient,
        source_alias: &str,
    ) -> Result<usize, ClientError> {
        self.load_matching(flow, target, source_alias, |_| true)
            .await
    }

    /// Loads the persisted indexes of the partitions of `flow` that
    /// `wanted` selects, replacing what is held for them: those another
    /// worker of the group wrote (a partition this worker takes over, or
    /// the partitions the checkpoints translate but other workers own).
    pub async fn load_matching(
        &self,
        flow: &str,
        target: &KafkaClient,
        source_alias: &str,
        wanted: impl Fn(&TopicPartition) -> bool,
    ) -> Result<usize, ClientError> {
        let topic = index_topic(source_alias);
        let records = read_partition(target, &topic, 0, Duration::from_secs(60)).await?;
        let mut chunks: BTreeMap<(String, i32), Vec<ChunkValue>> = BTreeMap::new();
        for (key, value) in latest_by_key(records) {
            let (Ok(key), Ok(value)) = (
                serde_json::from_slice::<ChunkKey>(&key),
                serde_json::from_slice::<ChunkValue>(&value),
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
        Ok(count)
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

    /// Writes what changed in `flow`'s indexes since the last call.
    pub async fn persist(
        &self,
        flow: &str,
        writer: &mut RecordWriter,
        source_alias: &str,
    ) -> Result<usize, ClientError> {
        let records = self.changed_chunks(flow);
        if records.is_empty() {
            return Ok(0);
        }
        let count = records.len();
        for batch in records.chunks(50) {
            writer.write(&index_topic(source_alias), 0, batch).await?;
        }
        Ok(count)
    }

    fn changed_chunks(&self, flow: &str) -> Vec<OutgoingRecord> {
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
