//! Cutting a fetch response's `records` bytes into whole batches.

use bytes::Bytes;

use super::header::{
    check_magic_and_length, read_i32, read_i64, BatchHeader, BATCH_HEADER_LEN, BATCH_LENGTH,
    BATCH_LENGTH_PREFIX, MAGIC,
};
use super::rewrite::{rewrite_header, ProducerStamp};
use crate::WireError;

/// One complete RecordBatch v2, sharing memory with the fetch response.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RawBatch {
    /// Its parsed header.
    pub header: BatchHeader,
    /// The whole batch, header included: `header.total_len()` bytes.
    pub bytes: Bytes,
}

impl RawBatch {
    /// Everything after the 61-byte header (the records, maybe compressed),
    /// without copying: the second segment of a forwarded batch.
    pub fn payload(&self) -> Bytes {
        self.bytes.slice(BATCH_HEADER_LEN..)
    }

    /// Whether `target` is this batch as kmirror forwarded it: the same
    /// records, counts, timestamps and codec, the payload byte for byte (only
    /// the producer fields and the CRC differ). A batch that had to be
    /// rebuilt (see [`crate::needs_rebuild`]) is never recognised this way.
    pub fn is_forwarded_as(&self, target: &RawBatch) -> bool {
        let (s, t) = (&self.header, &target.header);
        !super::slow::needs_rebuild(s)
            && s.records_count == t.records_count
            && s.last_offset_delta == t.last_offset_delta
            && s.base_timestamp == t.base_timestamp
            && s.max_timestamp == t.max_timestamp
            && s.compression() == t.compression()
            && self.bytes.get(BATCH_HEADER_LEN..) == target.bytes.get(BATCH_HEADER_LEN..)
    }

    /// The header to send in front of [`RawBatch::payload`]; see
    /// [`rewrite_header`].
    pub fn rewritten_header(
        &self,
        stamp: &ProducerStamp,
    ) -> Result<[u8; BATCH_HEADER_LEN], WireError> {
        rewrite_header(&self.bytes, stamp)
    }
}

/// A batch cut off by the end of the fetch response. Brokers stop a fetch
/// response at a byte limit, not at a batch boundary; this is normal, the
/// next fetch starts at this batch's offset.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PartialBatch {
    /// Where it starts in the input.
    pub position: usize,
    /// Bytes of it the input holds.
    pub available: usize,
    /// Its whole length, once the length field is among the bytes held.
    pub total_len: Option<usize>,
}

/// Why [`split_record_set`] stopped.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SplitEnd {
    /// The input ended exactly after the last complete batch.
    Complete,
    /// The input ended inside a batch.
    Truncated(PartialBatch),
    /// The bytes at `position` are not a batch we can pass through:
    /// [`WireError::OldMessageFormat`] or [`WireError::Corrupt`].
    Failed {
        /// Where the offending bytes start in the input.
        position: usize,
        /// What is wrong with them.
        error: WireError,
    },
}

/// The complete batches at the front of a record set, and why the walk
/// stopped.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SplitResult {
    /// Whole batches in input order, zero-copy slices of the input.
    pub batches: Vec<RawBatch>,
    /// What followed them.
    pub end: SplitEnd,
}

impl SplitResult {
    /// Bytes of the input covered by `batches`.
    pub fn consumed(&self) -> usize {
        self.batches.iter().map(|batch| batch.bytes.len()).sum()
    }

    /// The offset after the last complete batch, if there was one.
    pub fn next_offset(&self) -> Option<i64> {
        self.batches.last().map(|batch| batch.header.next_offset())
    }
}

/// Walks the `records` bytes of a fetch response partition and slices out
/// every complete batch, without copying and without looking inside.
///
/// The walk stops at the end of the input, at a partial trailing batch
/// ([`SplitEnd::Truncated`], not an error), or at the first bytes that are
/// not a forwardable batch ([`SplitEnd::Failed`]); batches before that
/// point are returned either way. Never panics; allocates only for the
/// batches actually present (each is at least 61 bytes).
pub fn split_record_set(bytes: &Bytes) -> SplitResult {
    let mut batches = Vec::new();
    let mut position = 0;
    let end = loop {
        let rest = &bytes[position..];
        if rest.is_empty() {
            break SplitEnd::Complete;
        }
        let partial = |total_len| {
            SplitEnd::Truncated(PartialBatch {
                position,
                available: rest.len(),
                total_len,
            })
        };
        if rest.len() < BATCH_LENGTH_PREFIX {
            break partial(None);
        }
        let base_offset = read_i64(rest, 0);
        let batch_length = read_i32(rest, BATCH_LENGTH);
        let Some(&magic) = rest.get(MAGIC) else {
            // Before the magic byte we cannot tell a batch from a legacy
            // message, so the length is not trusted yet.
            break partial(None);
        };
        if let Err(error) = check_magic_and_length(base_offset, magic as i8, batch_length) {
            break SplitEnd::Failed { position, error };
        }
        // Checked above: MIN_BATCH_LENGTH <= batch_length <= MAX_BATCH_LENGTH.
        let total_len = BATCH_LENGTH_PREFIX + batch_length as usize;
        if rest.len() < total_len {
            break partial(Some(total_len));
        }
        match BatchHeader::parse(rest) {
            Ok(header) => {
                batches.push(RawBatch {
                    header,
                    bytes: bytes.slice(position..position + total_len),
                });
                position += total_len;
            }
            Err(error) => break SplitEnd::Failed { position, error },
        }
    };
    SplitResult { batches, end }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::batch::{encode_key_values, OutgoingRecord};
    use crate::{rewritten_batch_contiguous, ProducerStamp};

    fn batch(values: &[&str]) -> RawBatch {
        let records: Vec<OutgoingRecord> = values
            .iter()
            .map(|v| (b"k".to_vec(), Some(v.as_bytes().to_vec())))
            .collect();
        encode_key_values(&records, 1_000).unwrap()
    }

    #[test]
    fn a_batch_is_recognised_after_its_producer_fields_change() {
        let source = batch(&["a", "b"]);
        let stamp = ProducerStamp {
            producer_id: 42,
            producer_epoch: 3,
            base_sequence: 17,
            transactional: false,
        };
        let forwarded = rewritten_batch_contiguous(&source.bytes, &stamp).unwrap();
        let target = split_record_set(&forwarded).batches.remove(0);
        assert_ne!(source.bytes, target.bytes);
        assert!(source.is_forwarded_as(&target));
        assert!(!source.is_forwarded_as(&batch(&["a", "c"])));
        assert!(!source.is_forwarded_as(&batch(&["a"])));
    }
}
