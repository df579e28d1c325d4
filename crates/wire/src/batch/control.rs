//! Reading the one record of a control batch (transaction markers).

use super::header::{BatchHeader, Compression, BATCH_HEADER_LEN};
use super::varint::Cursor;

/// What a control batch marks, from its record's key.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ControlType {
    /// The producer's open transaction was aborted.
    Abort,
    /// The producer's open transaction was committed.
    Commit,
    /// Any other control record (leader change, KRaft snapshots, ...).
    Other(i16),
}

/// The type of the control record in `batch` (one whole control batch),
/// or `None` if `batch` is not a readable control batch.
///
/// Control batches are written uncompressed by the broker and hold one
/// record whose key is `version: INT16, type: INT16`. The record's varint
/// framing is walked by hand, bounded by the batch's own bytes.
pub fn control_record_type(batch: &[u8]) -> Option<ControlType> {
    let header = BatchHeader::parse(batch).ok()?;
    if !header.is_control() || header.compression() != Compression::None || header.records_count < 1
    {
        return None;
    }
    let mut records = Cursor(batch.get(BATCH_HEADER_LEN..header.total_len())?);
    let record_len = usize::try_from(records.varint()?).ok()?;
    let mut record = Cursor(records.take(record_len)?);
    let _attributes = record.take(1)?;
    let _timestamp_delta = record.varlong()?;
    let _offset_delta = record.varint()?;
    let key_len = usize::try_from(record.varint()?).ok()?;
    let key = record.take(key_len)?;
    // Kafka reads the type whatever the key version, as long as it is there.
    let &[_version_hi, _version_lo, type_hi, type_lo, ..] = key else {
        return None;
    };
    Some(match i16::from_be_bytes([type_hi, type_lo]) {
        0 => ControlType::Abort,
        1 => ControlType::Commit,
        other => ControlType::Other(other),
    })
}
