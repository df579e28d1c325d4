//! The data path: fetch raw batches from the source, forward them to the
//! target with a new header and the payload untouched, and report exactly
//! which upstream offsets landed at which downstream offsets.
//!
//! - [`fetcher`]: one task per source cluster and flow, fetching every
//!   assigned partition from its leader, each broker on its own (one
//!   request out per broker, in a fetch session), with backpressure from
//!   each partition's queue.
//! - [`budget`]: the bound on memory held by fetched data.
//! - [`partition`]: one task per partition, keeping up to five produce
//!   requests in flight and turning acknowledgements into [`Forwarded`]
//!   offset mappings.

pub mod budget;
mod fetch_slots;
pub mod fetcher;
pub mod partition;

use std::fmt;
use std::sync::Arc;

/// A topic partition.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct TopicPartition {
    pub topic: Arc<str>,
    pub partition: i32,
}

impl TopicPartition {
    pub fn new(topic: &str, partition: i32) -> Self {
        TopicPartition {
            topic: topic.into(),
            partition,
        }
    }
}

impl fmt::Display for TopicPartition {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}-{}", self.topic, self.partition)
    }
}

/// One forwarded batch: upstream offsets `[upstream_base, upstream_last]`
/// landed at downstream offsets starting at `downstream_base`.
///
/// When `dense` (the source batch had no offset gaps), upstream offset
/// `upstream_base + i` is exactly downstream offset `downstream_base + i`.
/// Otherwise (a compacted source) only the batch as a whole maps: every
/// upstream offset inside it maps to `downstream_base`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Forwarded {
    pub upstream_base: i64,
    pub upstream_last: i64,
    /// -1 when the broker acknowledged a duplicate without its offset.
    pub downstream_base: i64,
    pub records: i32,
    pub dense: bool,
    /// Size of the batch on the wire.
    pub bytes: u32,
    /// The batch's largest record timestamp (ms), for record age.
    pub max_timestamp: i64,
    /// When (ms) the batch was handed to the producer: record age is
    /// measured then, replication latency at the acknowledgement.
    pub sent_ms: i64,
    /// Whether the batch's records were rewritten (LogAppendTime batches on
    /// the slow path) rather than forwarded byte for byte.
    pub rebuilt: bool,
}

impl Forwarded {
    /// The upstream offset to resume from after this batch.
    pub fn upstream_next(&self) -> i64 {
        self.upstream_last + 1
    }

    /// The downstream offset right after this batch's records.
    pub fn downstream_next(&self) -> Option<i64> {
        (self.downstream_base >= 0).then(|| self.downstream_base + self.records as i64)
    }
}
