//! The header rewrite that turns a fetched batch into one we can produce.

use bytes::{BufMut, Bytes, BytesMut};

use super::crc::crc_after_header_change;
use super::header::{
    BatchHeader, ATTRIBUTES, ATTR_DELETE_HORIZON, ATTR_LOG_APPEND_TIME, ATTR_TRANSACTIONAL,
    BASE_OFFSET, BASE_SEQUENCE, BATCH_HEADER_LEN, CRC, CRC_START, MIN_BATCH_LENGTH,
    PARTITION_LEADER_EPOCH, PRODUCER_EPOCH, PRODUCER_ID,
};
use crate::WireError;

/// The producer identity a forwarded batch is written under: our own
/// idempotent (or transactional) producer on the target cluster.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ProducerStamp {
    /// Producer id from InitProducerId on the target.
    pub producer_id: i64,
    /// Its epoch.
    pub producer_epoch: i16,
    /// Sequence of the batch's first record; the next batch of the same
    /// partition starts at this plus `records_count`.
    pub base_sequence: i32,
    /// Whether the batch is written inside our transaction.
    pub transactional: bool,
}

/// The 61-byte header that replaces the header of `batch` (exactly one
/// whole batch, e.g. [`RawBatch::bytes`](super::RawBatch)) when forwarding
/// it: base offset 0, partition leader epoch -1, attributes with
/// LogAppendTime (bit 3) and delete horizon (bit 6) cleared and
/// transactional (bit 4) from `stamp`, producer id, epoch and base sequence
/// from `stamp`, every other byte as it was, and the CRC updated.
///
/// Only the header is read. The new CRC comes from the old CRC and the
/// changed header bytes alone, so the records are neither copied nor
/// scanned, and a batch whose CRC was wrong keeps a wrong CRC: the target
/// broker rejects it instead of us laundering the corruption.
///
/// The caller sends `[header, batch.slice(61..)]` as two segments.
/// Clearing the LogAppendTime bit makes records read with the timestamps
/// their producer gave them rather than the source broker's append time;
/// to keep the append time, pass the batch through
/// [`normalize_log_append_time`](super::normalize_log_append_time) first.
pub fn rewrite_header(
    batch: &[u8],
    stamp: &ProducerStamp,
) -> Result<[u8; BATCH_HEADER_LEN], WireError> {
    let header = BatchHeader::parse(batch)?;
    if batch.len() != header.total_len() {
        return Err(WireError::Corrupt {
            offset: header.base_offset,
            reason: format!(
                "{} bytes given for a batch of {} bytes",
                batch.len(),
                header.total_len()
            ),
        });
    }
    if header.is_control() {
        return Err(WireError::ControlBatch {
            offset: header.base_offset,
        });
    }

    let mut new = [0u8; BATCH_HEADER_LEN];
    new.copy_from_slice(&batch[..BATCH_HEADER_LEN]);
    put(&mut new, BASE_OFFSET, &0i64.to_be_bytes());
    put(&mut new, PARTITION_LEADER_EPOCH, &(-1i32).to_be_bytes());
    let mut attributes =
        header.attributes & !(ATTR_LOG_APPEND_TIME | ATTR_DELETE_HORIZON | ATTR_TRANSACTIONAL);
    if stamp.transactional {
        attributes |= ATTR_TRANSACTIONAL;
    }
    put(&mut new, ATTRIBUTES, &attributes.to_be_bytes());
    put(&mut new, PRODUCER_ID, &stamp.producer_id.to_be_bytes());
    put(
        &mut new,
        PRODUCER_EPOCH,
        &stamp.producer_epoch.to_be_bytes(),
    );
    put(&mut new, BASE_SEQUENCE, &stamp.base_sequence.to_be_bytes());

    let crc = crc_after_header_change(
        header.crc,
        covered_head(&batch[..BATCH_HEADER_LEN]),
        covered_head(&new),
        // parse() bounds batch_length to MIN_BATCH_LENGTH..=MAX_BATCH_LENGTH.
        (header.batch_length - MIN_BATCH_LENGTH) as u32,
    );
    put(&mut new, CRC, &crc.to_be_bytes());
    Ok(new)
}

/// The rewritten batch as one buffer: header and payload copied together.
/// For tests and slow paths; the hot path sends the two segments.
pub fn rewritten_batch_contiguous(batch: &[u8], stamp: &ProducerStamp) -> Result<Bytes, WireError> {
    let header = rewrite_header(batch, stamp)?;
    let mut out = BytesMut::with_capacity(batch.len());
    out.put_slice(&header);
    out.put_slice(&batch[BATCH_HEADER_LEN..]);
    Ok(out.freeze())
}

fn put(header: &mut [u8; BATCH_HEADER_LEN], at: usize, field: &[u8]) {
    header[at..at + field.len()].copy_from_slice(field);
}

fn covered_head(header: &[u8]) -> &[u8; BATCH_HEADER_LEN - CRC_START] {
    header[CRC_START..BATCH_HEADER_LEN]
        .try_into()
        .expect("a header slice is 61 bytes")
}
