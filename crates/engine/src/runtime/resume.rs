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
//! cause a duplicate, never a skipped record. The comparison itself is the
//! client's ([`kmirror_client::landed`]), which reads both sides.

use kmirror_client::landed::already_landed;
use kmirror_client::{ClientError, KafkaClient};

use crate::model::{Forwarded, TopicPartition};

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
    let landed = already_landed(
        source,
        &tp.topic,
        target,
        remote_topic,
        tp.partition,
        upstream,
        downstream,
    )
    .await?;
    Ok(landed
        .into_iter()
        .map(|landed| Forwarded {
            upstream_base: landed.batch.upstream_base(),
            upstream_last: landed.batch.upstream_last(),
            downstream_base: landed.downstream_base,
            records: landed.batch.records(),
            dense: landed.batch.is_dense(),
            bytes: landed.batch.fetched_len() as u32,
            max_timestamp: landed.batch.max_timestamp(),
            sent_ms: 0,
            rebuilt: false,
        })
        .collect())
}
