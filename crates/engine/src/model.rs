//! The nouns every part of the engine shares: a flow's identity, a topic
//! partition, a forwarded batch's offset mapping, and the clock.
//!
//! They live here, below the data path, the offset maths and the runtime,
//! so that none of those has to import another to name what it works on.

use std::borrow::Borrow;
use std::fmt;
use std::ops::Deref;
use std::sync::Arc;

use crate::config::mm2::FlowConfig;

/// A flow, `source->target`, as MM2 names it: the key of a flow's status,
/// metrics, progress and offset index.
///
/// It dereferences to the name so that it can be passed wherever a flow name
/// is read (status, metrics, logs) without a copy.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct FlowId(Arc<str>);

impl FlowId {
    /// The flow from `source` to `target`.
    pub fn new(source: &str, target: &str) -> Self {
        FlowId(format!("{source}->{target}").into())
    }

    /// The flow of `flow`'s config.
    pub fn of(flow: &FlowConfig) -> Self {
        FlowId::new(flow.source.as_str(), flow.target.as_str())
    }

    /// The flow in the opposite direction, `target->source` (checkpoints
    /// translate through its index too).
    pub fn reversed_of(flow: &FlowConfig) -> Self {
        FlowId::new(flow.target.as_str(), flow.source.as_str())
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl Deref for FlowId {
    type Target = str;

    fn deref(&self) -> &str {
        &self.0
    }
}

impl Borrow<str> for FlowId {
    fn borrow(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for FlowId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

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

/// The clock: milliseconds since the Unix epoch, the unit of Kafka record
/// timestamps and of MM2's heartbeats and checkpoints. Every timestamp the
/// engine writes or compares comes from here.
pub fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

/// The wall clock in microseconds since the Unix epoch, for latency traces
/// that line up with record timestamps and other processes' clocks.
pub fn now_us() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_micros() as i64)
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_flow_is_named_source_arrow_target_and_reverses() {
        let flow = FlowId::new("kafka-a", "kafka-b");
        assert_eq!(flow.to_string(), "kafka-a->kafka-b");
        assert_eq!(&*flow, "kafka-a->kafka-b");
        let mut names = std::collections::HashMap::new();
        names.insert(flow.clone(), 1);
        assert_eq!(names.get("kafka-a->kafka-b"), Some(&1));
        assert_ne!(flow, FlowId::new("kafka-b", "kafka-a"));
    }
}
