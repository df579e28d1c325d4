//! Resuming a partition without copying again what already landed.
//!
//! Progress is written every second, so after a crash the last written
//! position can be behind what the target already holds: up to a second of
//! acknowledged batches plus those in flight. Before forwarding, the
//! pipeline compares the source batches from its resume position with the
//! target's batches after the downstream offset that position maps to (from
//! the persisted offset index). Only kmirror writes a remote partition and it
//! forwards payloads byte for byte, so a batch that already landed sits
//! there with the same payload, record count and timestamps: each such pair
//! is skipped and recorded as forwarded. The walk stops at the first batch
//! that does not match exactly (or was rebuilt on the slow path, whose
//! payload differs), and forwarding resumes from there: a mismatch can only
//! cause a duplicate, never a skipped record.

use std::time::Duration;

use kmirror_client::admin::OffsetSpec;
use kmirror_client::fetch::Isolation;
use kmirror_client::read::{read_at, ReadOptions};
use kmirror_client::{ClientError, KafkaClient};
use kmirror_wire::batch::RawBatch;

use crate::model::{Forwarded, TopicPartition};
use crate::records::offset_of;

/// How much of each side one comparison round reads.
const READ_BYTES: i32 = 8 * 1024 * 1024;

/// Batches of `source`'s `tp` from `upstream` on that are already on the
/// target at `downstream` onwards, in order, as forwarded mappings.
pub async fn already_replicated(
    source: &KafkaClient,
    target: &KafkaClient,
    tp: &TopicPartition,
    remote_topic: &str,
    upstream: i64,
    downstream: i64,
) -> Result<Vec<Forwarded>, ClientError> {
    let target_end = offset_of(target, remote_topic, tp.partition, OffsetSpec::Latest).await?;
    let mut matched = Vec::new();
    let mut up = upstream;
    let mut down = downstream;
    while down < target_end {
        let source_batches = read(
            source,
            &tp.topic,
            tp.partition,
            up,
            Isolation::ReadCommitted,
        )
        .await?;
        let target_batches = read(
            target,
            remote_topic,
            tp.partition,
            down,
            Isolation::ReadUncommitted,
        )
        .await?;
        if source_batches.is_empty() || target_batches.is_empty() {
            break;
        }
        let before = matched.len();
        let from = down;
        let mut targets = target_batches
            .iter()
            .filter(|t| t.header.base_offset >= from)
            .peekable();
        for s in &source_batches {
            let Some(t) = targets.peek() else { break };
            if t.header.base_offset != down || !s.is_forwarded_as(t) {
                return Ok(matched);
            }
            matched.push(Forwarded {
                upstream_base: s.header.base_offset,
                upstream_last: s.header.last_offset(),
                downstream_base: t.header.base_offset,
                records: s.header.records_count,
                dense: s.header.is_dense(),
                bytes: s.bytes.len() as u32,
                max_timestamp: s.header.max_timestamp,
                sent_ms: 0,
                rebuilt: false,
            });
            up = s.header.next_offset();
            down += s.header.records_count as i64;
            targets.next();
        }
        if matched.len() == before {
            break;
        }
    }
    Ok(matched)
}

async fn read(
    client: &KafkaClient,
    topic: &str,
    partition: i32,
    offset: i64,
    isolation: Isolation,
) -> Result<Vec<RawBatch>, ClientError> {
    let options = ReadOptions {
        max_wait: Duration::from_millis(10),
        max_bytes: READ_BYTES,
        isolation,
    };
    Ok(read_at(client, topic, partition, offset, options)
        .await?
        .batches)
}
