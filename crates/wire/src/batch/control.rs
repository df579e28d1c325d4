//! Reading the one record of a control batch (transaction markers).

use super::header::{BatchHeader, Compression, BATCH_HEADER_LEN};

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

/// A reader over a byte slice for Kafka's zigzag varints.
struct Cursor<'a>(&'a [u8]);

impl<'a> Cursor<'a> {
    fn take(&mut self, len: usize) -> Option<&'a [u8]> {
        if len > self.0.len() {
            return None;
        }
        let (head, rest) = self.0.split_at(len);
        self.0 = rest;
        Some(head)
    }

    /// An unsigned LEB128 of at most `max_bytes` bytes.
    fn unsigned(&mut self, max_bytes: usize) -> Option<u64> {
        let mut value = 0u64;
        for index in 0..max_bytes {
            let byte = *self.take(1)?.first()?;
            value |= u64::from(byte & 0x7f) << (7 * index);
            if byte & 0x80 == 0 {
                return Some(value);
            }
        }
        None
    }

    fn varint(&mut self) -> Option<i32> {
        let raw = u32::try_from(self.unsigned(5)?).ok()?;
        Some(((raw >> 1) as i32) ^ -((raw & 1) as i32))
    }

    fn varlong(&mut self) -> Option<i64> {
        let raw = self.unsigned(10)?;
        Some(((raw >> 1) as i64) ^ -((raw & 1) as i64))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn varints_decode_zigzag() {
        assert_eq!(Cursor(&[0x00]).varint(), Some(0));
        assert_eq!(Cursor(&[0x01]).varint(), Some(-1));
        assert_eq!(Cursor(&[0x02]).varint(), Some(1));
        assert_eq!(Cursor(&[0x08]).varint(), Some(4));
        assert_eq!(Cursor(&[0xac, 0x02]).varint(), Some(150));
        assert_eq!(
            Cursor(&[0xfe, 0xff, 0xff, 0xff, 0x0f]).varint(),
            Some(i32::MAX)
        );
        assert_eq!(
            Cursor(&[0xff, 0xff, 0xff, 0xff, 0x0f]).varint(),
            Some(i32::MIN)
        );
        // Six bytes, or a fifth byte carrying bits beyond 32: not a varint.
        assert_eq!(Cursor(&[0x80, 0x80, 0x80, 0x80, 0x80, 0x00]).varint(), None);
        assert_eq!(Cursor(&[0xff, 0xff, 0xff, 0xff, 0x7f]).varint(), None);
        assert_eq!(Cursor(&[0x80]).varint(), None);
        assert_eq!(
            Cursor(&[0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01]).varlong(),
            Some(i64::MIN)
        );
    }
}
