//! Fetched batches made ready for a [`PartitionSender`](crate::produce::PartitionSender):
//! the one type the data path hands from fetch to produce.
//!
//! A fetch session answers with [`ForwardableBatch`]es: record sets already
//! split into whole batches, legacy formats up-converted (in
//! [`crate::fetch`]), the rare batch a target broker would refuse or read
//! differently rebuilt, each tagged with the upstream offsets it covers.
//! Everything else passes through untouched: a forwardable batch wraps the
//! same `Bytes` slice of the fetch response, nothing is copied or
//! decompressed. The only change still to come, the producer fields of the
//! header, is the sender's.

use bytes::Bytes;
use kmirror_wire::batch::{needs_rebuild, rebuild_for_forwarding, split_record_set, SplitEnd};
use kmirror_wire::{RawBatch, WireError};

use crate::error::ClientError;
use crate::fetch::{FetchedPartition, PartitionData};

/// A whole v2 batch ready to produce, with the upstream facts that describe
/// it. Built only by the client (from a fetch, from control-plane records
/// by [`crate::records::encode`], or from a source batch found on the
/// target by [`crate::landed`]), so a sender is never handed bytes that
/// were not checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ForwardableBatch {
    /// What goes on the wire behind a rewritten header: the fetched batch,
    /// or its rebuild.
    batch: RawBatch,
    upstream_base: i64,
    upstream_last: i64,
    dense: bool,
    fetched_len: usize,
    max_timestamp: i64,
    rebuilt: bool,
}

impl ForwardableBatch {
    /// Makes a fetched batch ready to send. Batches pass through untouched,
    /// except the two kinds a target broker would refuse or read
    /// differently (the wire crate's slow path, the only place records are
    /// decoded): LogAppendTime batches, whose records are rewritten to carry
    /// the source's append time as their create time (as MM2's
    /// consumer/producer round trip does), and batches with offset gaps
    /// (compacted sources), whose records are renumbered without gaps
    /// because brokers refuse a produced batch whose offset range is not its
    /// record count. The upstream range is kept either way.
    ///
    /// # Errors
    ///
    /// What the rebuild fails with (a corrupt batch, records beyond the
    /// decompression limit).
    pub(crate) fn prepare(fetched: RawBatch) -> Result<Self, WireError> {
        if !needs_rebuild(&fetched.header) {
            return Ok(ForwardableBatch::unchanged(fetched));
        }
        let rebuilt = rebuild(&fetched)?;
        Ok(ForwardableBatch {
            batch: rebuilt,
            rebuilt: true,
            ..ForwardableBatch::unchanged(fetched)
        })
    }

    /// `batch` as it is, described by its own header: a fetched batch that
    /// needs no rebuild, or one this process wrote (control-plane records).
    pub(crate) fn unchanged(batch: RawBatch) -> Self {
        let header = &batch.header;
        ForwardableBatch {
            upstream_base: header.base_offset,
            upstream_last: header.last_offset(),
            dense: header.is_dense(),
            fetched_len: batch.bytes.len(),
            max_timestamp: header.max_timestamp,
            rebuilt: false,
            batch,
        }
    }

    /// The first upstream offset the batch covers.
    pub fn upstream_base(&self) -> i64 {
        self.upstream_base
    }

    /// The last upstream offset the batch covers (compaction may have
    /// removed that record; the offset stays taken).
    pub fn upstream_last(&self) -> i64 {
        self.upstream_last
    }

    /// The upstream offset to read after this batch.
    pub fn next_offset(&self) -> i64 {
        self.upstream_last.saturating_add(1)
    }

    /// Whether the batch held one record per upstream offset of its range,
    /// so that upstream offsets inside it map one to one onto downstream
    /// ones.
    pub fn is_dense(&self) -> bool {
        self.dense
    }

    /// Records in the batch.
    pub fn records(&self) -> i32 {
        self.batch.header.records_count
    }

    /// The batch's largest record timestamp, as fetched.
    pub fn max_timestamp(&self) -> i64 {
        self.max_timestamp
    }

    /// Whether the records were rebuilt on the slow path (their payload
    /// then differs from the source's).
    pub fn was_rebuilt(&self) -> bool {
        self.rebuilt
    }

    /// Bytes of the batch as fetched (a rebuild may be a little larger or
    /// smaller): what limits such as `max.request.size` are checked
    /// against.
    pub fn fetched_len(&self) -> usize {
        self.fetched_len
    }

    /// The batch to send, header not yet rewritten.
    pub(crate) fn batch(&self) -> &RawBatch {
        &self.batch
    }

    /// Its bytes, for tests that check nothing was copied.
    #[cfg(test)]
    pub(crate) fn bytes(&self) -> &Bytes {
        &self.batch.bytes
    }
}

/// The rebuilt batch, which must again be exactly one batch.
fn rebuild(batch: &RawBatch) -> Result<RawBatch, WireError> {
    let bytes: Bytes = rebuild_for_forwarding(batch)?;
    let mut split = split_record_set(&bytes);
    match (split.batches.len(), split.end) {
        (1, SplitEnd::Complete) => Ok(split.batches.remove(0)),
        (_, SplitEnd::Failed { error, .. }) => Err(error),
        _ => Err(WireError::Corrupt {
            offset: batch.header.base_offset,
            reason: "rebuilt batch does not split into one batch".into(),
        }),
    }
}

/// A fetched batch that cannot be forwarded. The batches of the same answer
/// before it are forwardable; nothing after it was kept.
#[derive(Debug)]
pub struct UnforwardableBatch {
    /// Its first upstream offset.
    pub offset: i64,
    /// Its bytes as fetched.
    pub fetched_len: usize,
    /// Why ([`ClientError::Records`]).
    pub error: ClientError,
}

impl FetchedPartition<RawBatch> {
    /// The same answer with every usable batch made forwardable.
    pub(crate) fn into_forwardable(self) -> FetchedPartition {
        let FetchedPartition {
            topic,
            partition,
            requested_offset,
            result,
        } = self;
        let result = result.map(|data| data.into_forwardable(&topic, partition));
        FetchedPartition {
            topic,
            partition,
            requested_offset,
            result,
        }
    }
}

impl PartitionData<RawBatch> {
    /// The same answer with its batches made forwardable, up to the first
    /// that cannot be (reported in `unforwardable`). `next_offset` keeps
    /// covering every batch fetched: what to do with the partition after an
    /// unforwardable batch is the caller's decision.
    pub(crate) fn into_forwardable(self, topic: &str, partition: i32) -> PartitionData {
        let mut batches = Vec::with_capacity(self.batches.len());
        let mut unforwardable = None;
        for fetched in self.batches {
            let (offset, fetched_len) = (fetched.header.base_offset, fetched.bytes.len());
            match ForwardableBatch::prepare(fetched) {
                Ok(batch) => batches.push(batch),
                Err(source) => {
                    unforwardable = Some(UnforwardableBatch {
                        offset,
                        fetched_len,
                        error: ClientError::Records {
                            topic: topic.to_string(),
                            partition,
                            source,
                        },
                    });
                    break;
                }
            }
        }
        PartitionData {
            high_watermark: self.high_watermark,
            last_stable_offset: self.last_stable_offset,
            log_start_offset: self.log_start_offset,
            batches,
            unforwardable,
            next_offset: self.next_offset,
            dropped_batches: self.dropped_batches,
            preferred_read_replica: self.preferred_read_replica,
        }
    }
}

#[cfg(test)]
mod tests {
    use kmirror_wire::batch::{encode_key_values, split_record_set};

    use super::*;

    fn one_batch(bytes: Vec<u8>) -> RawBatch {
        let mut split = split_record_set(&Bytes::from(bytes));
        assert_eq!(split.batches.len(), 1);
        split.batches.remove(0)
    }

    /// `count` records at upstream offsets `base..base + count`.
    fn stored(base: i64, count: usize) -> RawBatch {
        let records: Vec<_> = (0..count)
            .map(|i| (format!("k{i}").into_bytes(), Some(vec![i as u8; 100])))
            .collect();
        let batch = encode_key_values(&records, 1_700_000_000_000).unwrap();
        let mut bytes = batch.bytes.to_vec();
        // The base offset is outside the CRC.
        bytes[..8].copy_from_slice(&base.to_be_bytes());
        one_batch(bytes)
    }

    /// `batch` as compaction leaves it when it removes the last `gap`
    /// records: the offset range stays, the records go.
    fn with_gap(batch: &RawBatch, gap: i32) -> RawBatch {
        let mut bytes = batch.bytes.to_vec();
        let delta = batch.header.last_offset_delta + gap;
        bytes[23..27].copy_from_slice(&delta.to_be_bytes());
        let crc = crc32c::crc32c(&bytes[21..]);
        bytes[17..21].copy_from_slice(&crc.to_be_bytes());
        one_batch(bytes)
    }

    #[test]
    fn a_batch_that_needs_no_rebuild_is_the_fetched_slice_itself() {
        let fetched = stored(100, 3);
        let (start, len) = (fetched.bytes.as_ptr(), fetched.bytes.len());
        let batch = ForwardableBatch::prepare(fetched).unwrap();
        // Zero-copy: the same bytes, not a copy of them.
        assert_eq!(batch.bytes().as_ptr(), start);
        assert_eq!(batch.bytes().len(), len);
        assert!(!batch.was_rebuilt());
        assert_eq!(
            (
                batch.upstream_base(),
                batch.upstream_last(),
                batch.next_offset()
            ),
            (100, 102, 103)
        );
        assert_eq!((batch.records(), batch.is_dense()), (3, true));
        assert_eq!(batch.fetched_len(), len);
        assert_eq!(batch.max_timestamp(), 1_700_000_000_000);
    }

    #[test]
    fn a_compacted_batch_is_rebuilt_and_keeps_its_upstream_range() {
        let fetched = with_gap(&stored(100, 3), 4);
        let len = fetched.bytes.len();
        let batch = ForwardableBatch::prepare(fetched).unwrap();
        assert!(batch.was_rebuilt());
        // Described upstream as fetched: offsets 100..=106, three records.
        assert_eq!((batch.upstream_base(), batch.upstream_last()), (100, 106));
        assert_eq!((batch.records(), batch.is_dense()), (3, false));
        assert_eq!(batch.fetched_len(), len);
        // Sent without gaps, or the target broker refuses it.
        let sent = &batch.batch().header;
        assert!(sent.is_dense());
        assert_eq!((sent.base_offset, sent.last_offset_delta), (100, 2));
    }

    #[test]
    fn an_answer_stops_at_its_first_unforwardable_batch() {
        let good = stored(0, 3);
        // A batch that must be rebuilt but whose CRC is wrong.
        let mut broken = with_gap(&stored(3, 2), 3).bytes.to_vec();
        let last = broken.len() - 1;
        broken[last] ^= 0xff;
        let broken = one_batch(broken);
        let broken_len = broken.bytes.len();
        let after = stored(8, 1);
        let data = PartitionData {
            high_watermark: 9,
            batches: vec![good, broken, after],
            next_offset: 9,
            ..PartitionData::<RawBatch>::default()
        };
        let data = data.into_forwardable("orders", 2);
        let kept: Vec<i64> = data.batches.iter().map(|b| b.upstream_base()).collect();
        assert_eq!(kept, [0]);
        let bad = data.unforwardable.expect("the broken batch is reported");
        assert_eq!((bad.offset, bad.fetched_len), (3, broken_len));
        assert!(
            matches!(
                &bad.error,
                ClientError::Records { topic, partition: 2, .. } if topic == "orders"
            ),
            "{:?}",
            bad.error
        );
        // Where fetching continues is the fetch's, whatever was kept.
        assert_eq!((data.next_offset, data.high_watermark), (9, 9));
    }
}
