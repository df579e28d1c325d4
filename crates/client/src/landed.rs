//! Which batches of a source partition already sit on its target partition,
//! as a pass-through replicator leaves them.
//!
//! A replicator that forwards payloads byte for byte and is the only writer
//! of the target partition leaves every forwarded batch there with the same
//! payload, record count and timestamps; only the producer fields and the
//! CRC differ. After a crash, the position last recorded can be behind what
//! the target holds, so the source batches from that position are compared
//! with the target's batches from the offset it maps to: each pair that
//! matches exactly landed. The walk stops at the first batch that does not
//! match (or was rebuilt on the slow path, whose payload differs), so a
//! mismatch can only make the caller copy a batch again, never skip one.

use std::time::Duration;

use kmirror_wire::RawBatch;

use crate::admin::OffsetSpec;
use crate::cluster::KafkaClient;
use crate::error::Result;
use crate::fetch::Isolation;
use crate::forwardable::ForwardableBatch;
use crate::read::{read_at, ReadOptions};

/// How much of each side one comparison round reads.
const READ_BYTES: i32 = 8 * 1024 * 1024;

/// A source batch found on the target.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LandedBatch {
    /// The source batch (never a rebuilt one).
    pub batch: ForwardableBatch,
    /// The target offset of its first record.
    pub downstream_base: i64,
}

/// The batches of `source_topic`-`partition` on `source`, from `upstream`
/// on, that are already on `target_topic`-`partition` of `target` from
/// `downstream` on, in order. The target is read up to its end when the
/// call starts.
pub async fn already_landed(
    source: &KafkaClient,
    source_topic: &str,
    target: &KafkaClient,
    target_topic: &str,
    partition: i32,
    upstream: i64,
    downstream: i64,
) -> Result<Vec<LandedBatch>> {
    let target_end = target
        .admin()
        .offset_of(target_topic, partition, OffsetSpec::Latest)
        .await?;
    let mut landed = Vec::new();
    let mut up = upstream;
    let mut down = downstream;
    while down < target_end {
        let source_batches = read(
            source,
            source_topic,
            partition,
            up,
            Isolation::ReadCommitted,
        )
        .await?;
        let target_batches = read(
            target,
            target_topic,
            partition,
            down,
            Isolation::ReadUncommitted,
        )
        .await?;
        if source_batches.is_empty() || target_batches.is_empty() {
            break;
        }
        let before = landed.len();
        let from = down;
        let mut targets = target_batches
            .iter()
            .filter(|t| t.header.base_offset >= from)
            .peekable();
        for s in source_batches {
            let Some(t) = targets.peek() else { break };
            // A transactional batch (written in exactly-once mode) may
            // belong to an aborted transaction, which read_committed
            // consumers never see: it does not count as landed.
            if t.header.base_offset != down || t.header.is_transactional() || !s.is_forwarded_as(t)
            {
                return Ok(landed);
            }
            up = s.header.next_offset();
            down += i64::from(s.header.records_count);
            landed.push(LandedBatch {
                downstream_base: t.header.base_offset,
                batch: ForwardableBatch::unchanged(s),
            });
            targets.next();
        }
        if landed.len() == before {
            break;
        }
    }
    Ok(landed)
}

async fn read(
    client: &KafkaClient,
    topic: &str,
    partition: i32,
    offset: i64,
    isolation: Isolation,
) -> Result<Vec<RawBatch>> {
    let options = ReadOptions {
        max_wait: Duration::from_millis(10),
        max_bytes: READ_BYTES,
        isolation,
    };
    Ok(read_at(client, topic, partition, offset, options)
        .await?
        .batches)
}
