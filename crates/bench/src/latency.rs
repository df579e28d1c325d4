//! End-to-end latency: a consumer on the target that notes, for every
//! record, the wall clock when it arrived minus the record's timestamp
//! (set by the producer on the source when it sent the record; both
//! replicators keep it). Producer, replicator and this consumer share the
//! machine's clock, so the difference is the true end-to-end delay.
//!
//! The consumer is kmirror's own raw fetch plus `kafka-protocol`'s record
//! decoder: light, and with no JVM adding pauses of its own. It long-polls
//! each leader on its own (`min_bytes` 1), so a record is seen as soon as
//! its broker makes it readable.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use anyhow::{Context as _, Result};
use kafka_protocol::records::RecordBatchDecoder;
use kmirror_client::fetch::{fetch, FetchParams, Isolation, PartitionFetch};
use kmirror_client::Purpose;
use serde::Serialize;

use crate::probe::Probe;

/// One consumed record: when it was produced, and how late it arrived (ms).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Sample {
    pub produced_ms: i64,
    pub latency_ms: i64,
}

/// Percentiles of a set of latencies.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct LatencyStats {
    pub count: usize,
    pub p50_ms: f64,
    pub p99_ms: f64,
    pub max_ms: f64,
    pub mean_ms: f64,
}

impl LatencyStats {
    /// Nearest-rank percentiles; `None` for no samples.
    pub fn of(latencies: &[i64]) -> Option<Self> {
        if latencies.is_empty() {
            return None;
        }
        let mut sorted = latencies.to_vec();
        sorted.sort_unstable();
        let rank = |q: f64| {
            let index = ((q * sorted.len() as f64).ceil() as usize).clamp(1, sorted.len()) - 1;
            sorted[index] as f64
        };
        Some(LatencyStats {
            count: sorted.len(),
            p50_ms: rank(0.50),
            p99_ms: rank(0.99),
            max_ms: *sorted.last().expect("not empty") as f64,
            mean_ms: sorted.iter().sum::<i64>() as f64 / sorted.len() as f64,
        })
    }
}

pub fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

/// Reads `topic` from each partition's current end until `expected` records
/// arrived, `stop` is set, or `deadline` passes; returns every record's
/// sample. `isolation` is how the records are read: read_committed for a
/// transactional target, where commit markers are skipped too.
///
/// The partitions of each leader are read by their own task with their own
/// long poll, so that a record on one broker is seen when it is readable
/// there, never after another broker's empty poll: the consumer itself adds
/// no multi-broker delay to what it measures.
pub async fn consume_latencies(
    probe: &Probe,
    topic: &str,
    expected: u64,
    isolation: Isolation,
    stop: Arc<AtomicBool>,
    deadline: tokio::time::Instant,
) -> Result<Vec<Sample>> {
    let ends = probe
        .end_offsets(topic)
        .await
        .with_context(|| format!("{topic} is not ready on the target"))?;
    let client = probe.client();
    let mut by_leader: BTreeMap<i32, BTreeMap<i32, i64>> = BTreeMap::new();
    for (partition, end) in ends.iter().enumerate() {
        let leader = client.leader(topic, partition as i32).await?;
        by_leader
            .entry(leader)
            .or_default()
            .insert(partition as i32, *end);
    }
    let arrived = Arc::new(AtomicU64::new(0));
    let readers = by_leader.into_iter().map(|(leader, next)| {
        let reader = LeaderReader {
            probe,
            topic,
            leader,
            expected,
            isolation,
            arrived: arrived.clone(),
            stop: stop.clone(),
            deadline,
        };
        reader.read(next)
    });
    let mut samples = Vec::with_capacity(expected as usize);
    for part in futures::future::try_join_all(readers).await? {
        samples.extend(part);
    }
    Ok(samples)
}

/// One leader's partitions of a latency read.
struct LeaderReader<'a> {
    probe: &'a Probe,
    topic: &'a str,
    leader: i32,
    expected: u64,
    isolation: Isolation,
    /// Records seen by every reader together.
    arrived: Arc<AtomicU64>,
    stop: Arc<AtomicBool>,
    deadline: tokio::time::Instant,
}

impl LeaderReader<'_> {
    async fn read(self, mut next: BTreeMap<i32, i64>) -> Result<Vec<Sample>> {
        let topic = self.topic;
        let params = FetchParams {
            max_wait: Duration::from_millis(200),
            min_bytes: 1,
            max_bytes: 64 * 1024 * 1024,
            isolation: self.isolation,
            rack: None,
        };
        let mut samples = Vec::new();
        while self.arrived.load(Ordering::Relaxed) < self.expected
            && !self.stop.load(Ordering::Relaxed)
            && tokio::time::Instant::now() < self.deadline
        {
            let conn = self
                .probe
                .client()
                .connection(self.leader, Purpose::Fetch)
                .await?;
            let partitions: Vec<PartitionFetch> = next
                .iter()
                .map(|(p, offset)| PartitionFetch {
                    topic: topic.to_string(),
                    partition: *p,
                    offset: *offset,
                    max_bytes: 8 * 1024 * 1024,
                })
                .collect();
            let fetched = fetch(&conn, &params, &partitions).await?;
            let arrived = now_ms();
            for partition in fetched {
                let data = partition
                    .result
                    .with_context(|| format!("fetch of {topic}-{}", partition.partition))?;
                for batch in data.batches {
                    let mut bytes = batch.bytes.clone();
                    let set = RecordBatchDecoder::decode(&mut bytes)
                        .map_err(|e| anyhow::anyhow!("undecodable batch in {topic}: {e}"))?;
                    for record in set.records {
                        // Commit markers are control records, not data.
                        if record.control || record.offset < partition.requested_offset {
                            continue;
                        }
                        samples.push(Sample {
                            produced_ms: record.timestamp,
                            latency_ms: arrived - record.timestamp,
                        });
                        self.arrived.fetch_add(1, Ordering::Relaxed);
                    }
                }
                next.insert(partition.partition, data.next_offset);
            }
        }
        Ok(samples)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nearest_rank_percentiles() {
        let latencies: Vec<i64> = (1..=100).collect();
        let stats = LatencyStats::of(&latencies).unwrap();
        assert_eq!(stats.count, 100);
        assert_eq!(stats.p50_ms, 50.0);
        assert_eq!(stats.p99_ms, 99.0);
        assert_eq!(stats.max_ms, 100.0);
        assert_eq!(LatencyStats::of(&[7]).unwrap().p99_ms, 7.0);
        assert!(LatencyStats::of(&[]).is_none());
    }
}
