//! Durable replication progress, in the topic and format Kafka Connect uses
//! for MirrorMaker 2's source offsets: `mm2-offsets.<source>.internal` on the
//! target cluster, key `["MirrorSourceConnector",{"cluster":..,"partition":..,"topic":..}]`,
//! value `{"offset":N}` where N is the last upstream offset replicated. An
//! operator can therefore move a flow between MM2 and kmirror either way
//! without re-copying.

use std::collections::{BTreeMap, HashMap};
use std::time::Duration;

use kmirror_client::admin::OffsetSpec;
use kmirror_client::{ClientError, KafkaClient};
use serde_json::{json, Value};
use tracing::warn;

use super::writer::RecordWriter;
use crate::model::TopicPartition;
use crate::records::{read_partition_to, KeyValue, OutgoingRecord};

/// Kafka Connect's default `offset.storage.partitions`.
pub const PROGRESS_TOPIC_PARTITIONS: i32 = 25;

/// How long loading the progress at start-up may take. It reads up to the
/// last stable offset, so a transaction left open by a crashed exactly-once
/// worker does not hold it up (each partition's own producer ends that
/// transaction, then reads its own record, see [`read_progress_of`]).
const LOAD_DEADLINE: Duration = Duration::from_secs(60);

/// The connector name MM2 keys its source offsets with.
const CONNECTOR: &str = "MirrorSourceConnector";

/// Progress of one flow.
#[derive(Debug)]
pub struct ProgressStore {
    topic: String,
    source_alias: String,
    partitions: i32,
    /// Next upstream offset to replicate, per source partition, as the
    /// offsets topic holds it (last read or written): where a partition
    /// resumes, and what a commit need not write again. The live position
    /// is the partition's [`super::position::PartitionPosition`].
    committed: HashMap<TopicPartition, i64>,
}

/// `mm2-offsets.<source>.internal`.
pub fn progress_topic(source_alias: &str) -> String {
    format!("mm2-offsets.{source_alias}.internal")
}

impl ProgressStore {
    /// A store for a progress topic that was just created.
    pub fn empty(source_alias: &str, partitions: i32) -> Self {
        ProgressStore {
            topic: progress_topic(source_alias),
            source_alias: source_alias.to_string(),
            partitions,
            committed: HashMap::new(),
        }
    }

    /// Loads every committed position of `source_alias`'s flow from the
    /// progress topic on the target (which must exist).
    pub async fn load(
        target: &KafkaClient,
        source_alias: &str,
        partitions: i32,
    ) -> Result<Self, ClientError> {
        let topic = progress_topic(source_alias);
        // One request for every partition's end first: partitions never
        // written (all of them on a fresh topic, most of them with a few
        // replicated topics) need no reading, which saves two round trips
        // each at start-up.
        let all: Vec<(&str, i32)> = (0..partitions).map(|p| (topic.as_str(), p)).collect();
        let ends = target
            .admin()
            .list_offsets(&all, OffsetSpec::Latest)
            .await
            .unwrap_or_default();
        // The others, all at once: a worker taking over partitions reads
        // them while those partitions wait.
        let reads = (0..partitions)
            .filter(|p| !matches!(ends.get(&(topic.clone(), *p)), Some(Ok(0))))
            .map(|p| read_partition_to(target, &topic, p, OffsetSpec::LatestStable, LOAD_DEADLINE));
        let mut records: Vec<KeyValue> = futures::future::try_join_all(reads)
            .await?
            .into_iter()
            .flatten()
            .collect();
        // Partitions are merged by time: with a partition count that changed
        // or another writer, the newest value of a key wins.
        records.sort_by_key(|r| r.timestamp);
        let mut committed = HashMap::new();
        for record in records {
            let Some(key) = record.key.as_deref() else {
                continue;
            };
            let Some(tp) = parse_key(key, source_alias) else {
                continue;
            };
            match record.value.as_deref().map(parse_value) {
                Some(Some(last_offset)) => {
                    committed.insert(tp, last_offset + 1);
                }
                Some(None) => warn!(%tp, "unreadable progress value ignored"),
                None => {
                    committed.remove(&tp);
                }
            }
        }
        Ok(ProgressStore {
            topic,
            source_alias: source_alias.to_string(),
            partitions,
            committed,
        })
    }

    /// Reads again the committed positions of `tps`, written by another
    /// worker that ran them before this one.
    pub async fn reload(
        &mut self,
        target: &KafkaClient,
        tps: &[TopicPartition],
    ) -> Result<(), ClientError> {
        let fresh = Self::load(target, &self.source_alias, self.partitions).await?;
        for tp in tps {
            match fresh.committed.get(tp) {
                Some(&offset) => self.committed.insert(tp.clone(), offset),
                None => self.committed.remove(tp),
            };
        }
        Ok(())
    }

    /// Where replication of `tp` resumes, if it ever made progress.
    /// Partitions of the progress topic: where each partition's record goes.
    pub fn partitions(&self) -> i32 {
        self.partitions
    }

    pub fn resume_offset(&self, tp: &TopicPartition) -> Option<i64> {
        self.committed.get(tp).copied()
    }

    /// Writes the positions that moved since the last commit. `next` is the
    /// next upstream offset to replicate per partition.
    pub async fn commit(
        &mut self,
        writer: &mut RecordWriter,
        next: &HashMap<TopicPartition, i64>,
    ) -> Result<usize, ClientError> {
        let mut by_partition: BTreeMap<i32, Vec<crate::records::OutgoingRecord>> = BTreeMap::new();
        let mut changed = Vec::new();
        for (tp, &offset) in next {
            if offset <= 0 || self.committed.get(tp) == Some(&offset) {
                continue;
            }
            let key = encode_key(&self.source_alias, tp);
            let partition = partition_for_key(&key, self.partitions);
            let value = encode_value(offset - 1);
            by_partition
                .entry(partition)
                .or_default()
                .push((key, Some(value)));
            changed.push((tp.clone(), offset));
        }
        for (partition, records) in by_partition {
            writer.write(&self.topic, partition, &records).await?;
        }
        let count = changed.len();
        self.committed.extend(changed);
        Ok(count)
    }
}

/// The Connect key of a source partition.
/// The progress record of `tp` resuming at `next`, with the partition of the
/// progress topic it goes to: what a transaction of `tp` writes with its
/// data (exactly-once).
pub fn progress_record(
    source_alias: &str,
    partitions: i32,
    tp: &TopicPartition,
    next: i64,
) -> (i32, OutgoingRecord) {
    let key = encode_key(source_alias, tp);
    let partition = partition_for_key(&key, partitions);
    (partition, (key, Some(encode_value(next - 1))))
}

/// The progress of `tp` alone, read from its partition of the progress topic
/// to the partition's end: it waits for the transactions open there to end,
/// so that a record committed after one of them is seen (exactly-once:
/// called after `tp`'s own producer fenced its predecessor and so ended its
/// transaction). `None` when `tp` has none.
pub async fn read_progress_of(
    target: &KafkaClient,
    source_alias: &str,
    partitions: i32,
    tp: &TopicPartition,
    deadline: Duration,
) -> Result<Option<i64>, ClientError> {
    let topic = progress_topic(source_alias);
    let key = encode_key(source_alias, tp);
    let partition = partition_for_key(&key, partitions);
    let records =
        read_partition_to(target, &topic, partition, OffsetSpec::Latest, deadline).await?;
    let mut next = None;
    for record in records {
        if record.key.as_deref() != Some(key.as_slice()) {
            continue;
        }
        next = match record.value.as_deref().map(parse_value) {
            Some(Some(last_offset)) => Some(last_offset + 1),
            Some(None) => {
                warn!(%tp, "unreadable progress value ignored");
                next
            }
            None => None,
        };
    }
    Ok(next)
}

pub fn encode_key(source_alias: &str, tp: &TopicPartition) -> Vec<u8> {
    let key = json!([CONNECTOR, {"cluster": source_alias, "partition": tp.partition, "topic": &*tp.topic}]);
    serde_json::to_vec(&key).expect("json values serialize")
}

fn encode_value(last_offset: i64) -> Vec<u8> {
    serde_json::to_vec(&json!({ "offset": last_offset })).expect("json values serialize")
}

fn parse_key(key: &[u8], source_alias: &str) -> Option<TopicPartition> {
    let value: Value = serde_json::from_slice(key).ok()?;
    let array = value.as_array()?;
    if array.len() != 2 || array[0].as_str()? != CONNECTOR {
        return None;
    }
    let partition = array[1].as_object()?;
    if partition.get("cluster")?.as_str()? != source_alias {
        return None;
    }
    let topic = partition.get("topic")?.as_str()?;
    let p = i32::try_from(partition.get("partition")?.as_i64()?).ok()?;
    Some(TopicPartition::new(topic, p))
}

fn parse_value(value: &[u8]) -> Option<i64> {
    let value: Value = serde_json::from_slice(value).ok()?;
    value.as_object()?.get("offset")?.as_i64()
}

/// The partition Kafka's default partitioner picks for a key: positive
/// murmur2 modulo the partition count, as Connect's offset store writes.
pub fn partition_for_key(key: &[u8], partitions: i32) -> i32 {
    ((murmur2(key) & 0x7fff_ffff) % partitions as u32) as i32
}

/// Kafka's murmur2 (`org.apache.kafka.common.utils.Utils.murmur2`).
pub fn murmur2(data: &[u8]) -> u32 {
    const SEED: u32 = 0x9747_b28c;
    const M: u32 = 0x5bd1_e995;
    const R: u32 = 24;
    let mut h = SEED ^ data.len() as u32;
    let mut chunks = data.chunks_exact(4);
    for chunk in &mut chunks {
        let mut k = u32::from_le_bytes([chunk[0], chunk[1], chunk[2], chunk[3]]);
        k = k.wrapping_mul(M);
        k ^= k >> R;
        k = k.wrapping_mul(M);
        h = h.wrapping_mul(M);
        h ^= k;
    }
    let rest = chunks.remainder();
    if rest.len() >= 3 {
        h ^= (rest[2] as u32) << 16;
    }
    if rest.len() >= 2 {
        h ^= (rest[1] as u32) << 8;
    }
    if !rest.is_empty() {
        h ^= rest[0] as u32;
        h = h.wrapping_mul(M);
    }
    h ^= h >> 13;
    h = h.wrapping_mul(M);
    h ^= h >> 15;
    h
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_and_values_round_trip() {
        let tp = TopicPartition::new("payment-events", 3);
        let key = encode_key("kafka-a", &tp);
        assert_eq!(
            String::from_utf8(key.clone()).unwrap(),
            r#"["MirrorSourceConnector",{"cluster":"kafka-a","partition":3,"topic":"payment-events"}]"#
        );
        assert_eq!(parse_key(&key, "kafka-a"), Some(tp));
        assert_eq!(parse_key(&key, "kafka-b"), None);
        assert_eq!(parse_value(&encode_value(41)), Some(41));
        assert_eq!(parse_value(b"{\"offset\":\"x\"}"), None);
        assert_eq!(parse_key(b"not json", "kafka-a"), None);
    }

    #[test]
    fn murmur2_matches_kafka() {
        // Values from Kafka's UtilsTest.testMurmur2.
        let cases: [(&[u8], i32); 6] = [
            (b"21", -973932308),
            (b"foobar", -790332482),
            (b"a-little-bit-long-string", -985981536),
            (b"a-little-bit-longer-string", -1486304829),
            (
                b"lkjh234lh9fiuh90y23oiuhsafujhadof229phr9h19h89h8",
                -58897971,
            ),
            (b"abc", 479470107),
        ];
        for (input, expected) in cases {
            assert_eq!(murmur2(input) as i32, expected, "{input:?}");
        }
    }
}
