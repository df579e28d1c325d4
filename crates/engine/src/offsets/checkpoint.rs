//! Checkpoint maths (MM2's `MirrorCheckpointTask` without its I/O): the
//! translated position on the target of a source group's committed offsets,
//! and the rule that keeps checkpoints from going backwards. The task that
//! reads the groups and writes `<source>.checkpoints.internal` is
//! [`crate::runtime::checkpoints`].
//!
//! Two kinds of source topics are checkpointed:
//! - topics this flow replicates (`payment-events` on A, mirrored as
//!   `kafka-a.payment-events` on B): upstream offsets translate forward
//!   through this flow's index;
//! - remote topics that came from the target (`kafka-b.x` on A, for flow
//!   A->B): a group that failed over to A and consumed there fails back to
//!   `x` on B, translated backwards through the opposite flow's index.

use std::collections::BTreeMap;

use kmirror_client::mm2::Checkpoint;

use super::store::IndexRegistry;
use crate::config::mm2::FlowConfig;
use crate::filter::should_replicate_topic;
use crate::model::{FlowId, TopicPartition};

/// Where a source group's committed offset lands on the target.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Translated {
    pub group: String,
    /// The topic on the target.
    pub topic: String,
    pub partition: i32,
    pub upstream_offset: i64,
    pub downstream_offset: i64,
    pub metadata: String,
}

impl From<Checkpoint> for Translated {
    /// A checkpoint as read back from `<source>.checkpoints.internal`.
    fn from(c: Checkpoint) -> Self {
        Translated {
            group: c.consumer_group_id,
            topic: c.topic,
            partition: c.partition,
            upstream_offset: c.upstream_offset,
            downstream_offset: c.downstream_offset,
            metadata: c.metadata,
        }
    }
}

/// Translates the committed offsets of `group` on the source that `flow`
/// can translate, through `indexes`: forward through the flow's own index
/// for topics it replicates, backwards through the opposite flow's index
/// for remote topics that came from the target. Sorted by topic and
/// partition.
pub fn translate_offsets(
    flow: &FlowConfig,
    indexes: &IndexRegistry,
    group: &str,
    committed: impl IntoIterator<Item = Committed>,
) -> Vec<Translated> {
    let forward = FlowId::of(flow);
    let backward = FlowId::reversed_of(flow);
    let mut out = Vec::new();
    for Committed {
        topic,
        partition,
        offset,
        metadata,
    } in committed
    {
        if offset < 0 {
            continue;
        }
        let came_from_target = flow.policy.topic_source(&topic) == Some(flow.target.as_str());
        let translated = if came_from_target {
            let original = flow.policy.original_topic(&topic).to_string();
            let upstream_tp = TopicPartition::new(&original, partition);
            indexes
                .downstream_to_upstream(&backward, &upstream_tp, offset)
                .map(|d| (original, d))
        } else if should_replicate_topic(&topic, flow) {
            let tp = TopicPartition::new(&topic, partition);
            indexes
                .upstream_to_downstream(&forward, &tp, offset)
                .map(|d| (flow.remote_topic(&topic), d))
        } else {
            None
        };
        if let Some((target_topic, downstream)) = translated {
            out.push(Translated {
                group: group.to_string(),
                topic: target_topic,
                partition,
                upstream_offset: offset,
                downstream_offset: downstream,
                metadata,
            });
        }
    }
    out.sort_by(|a, b| (&a.topic, a.partition).cmp(&(&b.topic, b.partition)));
    out
}

/// A group's committed offset of one partition on the source.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Committed {
    pub topic: String,
    pub partition: i32,
    pub offset: i64,
    pub metadata: String,
}

/// A checkpoint's identity: group, topic on the target, partition.
pub type CheckpointKey = (String, String, i32);

/// Keeps checkpoints from going backwards: a new one is emitted when the
/// upstream offset moved; one whose downstream offset would go back is
/// dropped unless the source group itself rewound.
pub fn monotonic(
    emitted: &mut BTreeMap<CheckpointKey, Translated>,
    translated: Vec<Translated>,
) -> Vec<Translated> {
    let mut fresh = Vec::new();
    for t in translated {
        let key = (t.group.clone(), t.topic.clone(), t.partition);
        let emit = match emitted.get(&key) {
            None => true,
            Some(last) if t.upstream_offset < last.upstream_offset => true,
            Some(last) => {
                t.upstream_offset != last.upstream_offset
                    && t.downstream_offset >= last.downstream_offset
                    || t.downstream_offset > last.downstream_offset
            }
        };
        if emit {
            emitted.insert(key, t.clone());
            fresh.push(t);
        }
    }
    fresh
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Forwarded;

    fn t(upstream: i64, downstream: i64) -> Translated {
        Translated {
            group: "g".into(),
            topic: "kafka-a.t".into(),
            partition: 0,
            upstream_offset: upstream,
            downstream_offset: downstream,
            metadata: String::new(),
        }
    }

    #[test]
    fn checkpoints_never_go_backwards_unless_the_group_rewinds() {
        let mut emitted = BTreeMap::new();
        assert_eq!(monotonic(&mut emitted, vec![t(10, 10)]).len(), 1);
        // Same position: nothing new.
        assert!(monotonic(&mut emitted, vec![t(10, 10)]).is_empty());
        // Forward.
        assert_eq!(monotonic(&mut emitted, vec![t(20, 20)]).len(), 1);
        // Upstream forward but downstream back (should not happen): dropped.
        assert!(monotonic(&mut emitted, vec![t(25, 15)]).is_empty());
        // The group rewound on the source: follow it.
        assert_eq!(monotonic(&mut emitted, vec![t(5, 5)]), vec![t(5, 5)]);
    }

    fn batch(upstream_base: i64, downstream_base: i64) -> Forwarded {
        Forwarded {
            upstream_base,
            upstream_last: upstream_base + 9,
            downstream_base,
            records: 10,
            dense: true,
            bytes: 0,
            max_timestamp: 0,
            sent_ms: 0,
            rebuilt: false,
        }
    }

    fn committed(topic: &str, offset: i64) -> Committed {
        Committed {
            topic: topic.into(),
            partition: 0,
            offset,
            metadata: "m".into(),
        }
    }

    #[test]
    fn offsets_translate_forward_and_back_through_the_two_indexes() {
        let config = crate::config::mm2::Mm2Config::parse(
            "clusters = kafka-a, kafka-b\n\
             kafka-a.bootstrap.servers = a:9092\n\
             kafka-b.bootstrap.servers = b:9092\n\
             kafka-a->kafka-b.enabled = true\n\
             kafka-a->kafka-b.topics = t, kafka-b.x\n",
            "mm2.properties",
        )
        .unwrap();
        let flow = config.flow("kafka-a", "kafka-b").unwrap();
        let indexes = IndexRegistry::default();
        // t-0 on A landed at 100.. on B; x-0 on B landed at 50.. on A.
        indexes.record(
            "kafka-a->kafka-b",
            &TopicPartition::new("t", 0),
            &batch(0, 100),
        );
        indexes.record(
            "kafka-b->kafka-a",
            &TopicPartition::new("x", 0),
            &batch(0, 50),
        );
        let translated = translate_offsets(
            flow,
            &indexes,
            "g",
            [
                committed("t", 5),
                committed("kafka-b.x", 55),
                // Not replicated, and no committed offset: skipped.
                committed("other", 3),
                committed("t", -1),
            ],
        );
        let found: Vec<(&str, i64, i64)> = translated
            .iter()
            .map(|t| (t.topic.as_str(), t.upstream_offset, t.downstream_offset))
            .collect();
        assert_eq!(found, vec![("kafka-a.t", 5, 105), ("x", 55, 5)]);
        assert!(translated
            .iter()
            .all(|t| t.group == "g" && t.metadata == "m"));
    }
}
