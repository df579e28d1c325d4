//! The records inside a RecordBatch v2: walking their framing, writing new
//! ones, and putting a whole batch together.
//!
//! Record layout (Kafka's `DefaultRecord`), every length a zigzag varint:
//!
//! ```text
//! length varint          bytes after this field
//! attributes int8        unused, 0
//! timestampDelta varlong from the batch's baseTimestamp
//! offsetDelta varint     from the batch's baseOffset
//! keyLength varint, key  negative: null
//! valueLength varint, value
//! headerCount varint, then per header: keyLength (>= 0), key, valueLength, value
//! ```

use bytes::{BufMut, Bytes};

use super::super::header::{
    BatchHeader, BATCH_HEADER_LEN, BATCH_LENGTH_PREFIX, CRC, CRC_START, MAGIC_V2, MAX_BATCH_LENGTH,
    MIN_BATCH_LENGTH,
};
use super::super::varint::{put_varint, put_varlong, varint_len, varlong_len, Cursor};

/// One record, as positions in the bytes it was read from.
#[derive(Debug, Clone, Copy)]
pub(super) struct RecordFrame<'a> {
    /// The attributes byte, kept as is.
    pub(super) attributes: u8,
    pub(super) timestamp_delta: i64,
    pub(super) offset_delta: i32,
    /// The record's body after `offsetDelta`: key, value and headers.
    pub(super) after_offset: &'a [u8],
}

/// Walks the (uncompressed) records section of a batch, checking each
/// record's framing the way Kafka's reader does: every field inside the
/// record's declared length, the fields filling it exactly, no negative
/// header count or header key length, and nothing after the last record.
/// Returns the number of records.
///
/// Nothing is allocated: `each` sees slices of `records`.
pub(super) fn for_each_record<'a>(
    records: &'a [u8],
    mut each: impl FnMut(RecordFrame<'a>),
) -> Result<usize, String> {
    let mut cursor = Cursor(records);
    let mut count = 0usize;
    while !cursor.is_empty() {
        let at = records.len() - cursor.rest().len();
        let frame = cursor
            .varint()
            .and_then(|len| usize::try_from(len).ok())
            .and_then(|len| cursor.take(len))
            .ok_or_else(|| format!("record {count} (byte {at} of the records) is truncated"))
            .and_then(|body| {
                parse_body(body).map_err(|what| format!("record {count} is malformed: {what}"))
            })?;
        each(frame);
        count += 1;
    }
    Ok(count)
}

fn parse_body(body: &[u8]) -> Result<RecordFrame<'_>, &'static str> {
    let mut cursor = Cursor(body);
    let attributes = cursor.u8().ok_or("no attributes")?;
    let timestamp_delta = cursor.varlong().ok_or("bad timestamp delta")?;
    let offset_delta = cursor.varint().ok_or("bad offset delta")?;
    let after_offset = cursor.rest();
    skip_nullable(&mut cursor).ok_or("bad key")?;
    skip_nullable(&mut cursor).ok_or("bad value")?;
    let headers = cursor.varint().ok_or("bad header count")?;
    if headers < 0 {
        return Err("negative header count");
    }
    // Each header takes at least two bytes, so a lying count runs out of
    // bytes long before it runs out of iterations.
    for _ in 0..headers {
        let key_len = cursor.varint().ok_or("bad header key length")?;
        let key_len = usize::try_from(key_len).map_err(|_| "negative header key length")?;
        cursor
            .take(key_len)
            .ok_or("header key runs past the record")?;
        skip_nullable(&mut cursor).ok_or("bad header value")?;
    }
    if !cursor.is_empty() {
        return Err("bytes left after the headers");
    }
    Ok(RecordFrame {
        attributes,
        timestamp_delta,
        offset_delta,
        after_offset,
    })
}

/// Skips a varint-length-prefixed field; any negative length is null, as
/// Kafka's reader has it.
fn skip_nullable(cursor: &mut Cursor<'_>) -> Option<()> {
    let len = cursor.varint()?;
    if let Ok(len) = usize::try_from(len) {
        cursor.take(len)?;
    }
    Some(())
}

/// Writes `frame` again with the given timestamp and offset deltas; key,
/// value and headers byte for byte.
pub(super) fn put_with_deltas(
    out: &mut Vec<u8>,
    frame: &RecordFrame<'_>,
    timestamp_delta: i64,
    offset_delta: i32,
) {
    let len =
        1 + varlong_len(timestamp_delta) + varint_len(offset_delta) + frame.after_offset.len();
    put_varint(out, len as i32);
    out.put_u8(frame.attributes);
    put_varlong(out, timestamp_delta);
    put_varint(out, offset_delta);
    out.put_slice(frame.after_offset);
}

/// Writes a record with no headers, as Kafka's up-conversion of a legacy
/// message does.
pub(super) fn put_record(
    out: &mut Vec<u8>,
    offset_delta: i32,
    timestamp_delta: i64,
    key: Option<&[u8]>,
    value: Option<&[u8]>,
) -> Result<(), String> {
    let field = |field: Option<&[u8]>| -> Result<(i32, usize), String> {
        match field {
            None => Ok((-1, varint_len(-1))),
            Some(bytes) => {
                let len = i32::try_from(bytes.len())
                    .map_err(|_| format!("a field of {} bytes", bytes.len()))?;
                Ok((len, varint_len(len) + bytes.len()))
            }
        }
    };
    let (key_len, key_size) = field(key)?;
    let (value_len, value_size) = field(value)?;
    let body =
        1 + varlong_len(timestamp_delta) + varint_len(offset_delta) + key_size + value_size + 1;
    let body = i32::try_from(body).map_err(|_| format!("a record of {body} bytes"))?;
    put_varint(out, body);
    out.put_u8(0);
    put_varlong(out, timestamp_delta);
    put_varint(out, offset_delta);
    put_varint(out, key_len);
    out.put_slice(key.unwrap_or_default());
    put_varint(out, value_len);
    out.put_slice(value.unwrap_or_default());
    put_varint(out, 0);
    Ok(())
}

/// The header fields of a batch being built; magic, length and CRC are
/// filled in by [`assemble`].
#[derive(Debug, Clone, Copy)]
pub(super) struct BatchFields {
    pub(super) base_offset: i64,
    pub(super) partition_leader_epoch: i32,
    pub(super) attributes: i16,
    pub(super) last_offset_delta: i32,
    pub(super) base_timestamp: i64,
    pub(super) max_timestamp: i64,
    pub(super) producer_id: i64,
    pub(super) producer_epoch: i16,
    pub(super) base_sequence: i32,
    pub(super) records_count: i32,
}

/// A whole v2 batch: the header from `fields`, the records section that
/// `write_records` appends (already compressed if the attributes say so),
/// the length, and the CRC-32C over everything from the attributes on.
/// `capacity_hint` sizes the first allocation of the records section.
pub(super) fn assemble(
    fields: &BatchFields,
    capacity_hint: usize,
    write_records: impl FnOnce(&mut Vec<u8>) -> Result<(), String>,
) -> Result<Bytes, String> {
    let mut out = Vec::with_capacity(BATCH_HEADER_LEN.saturating_add(capacity_hint));
    out.resize(BATCH_HEADER_LEN, 0);
    write_records(&mut out)?;
    let batch_length = i32::try_from(out.len() - BATCH_LENGTH_PREFIX)
        .ok()
        .filter(|len| (MIN_BATCH_LENGTH..=MAX_BATCH_LENGTH).contains(len))
        .ok_or_else(|| format!("a batch of {} bytes is too large", out.len()))?;
    let header = BatchHeader {
        base_offset: fields.base_offset,
        batch_length,
        partition_leader_epoch: fields.partition_leader_epoch,
        magic: MAGIC_V2,
        crc: 0,
        attributes: fields.attributes,
        last_offset_delta: fields.last_offset_delta,
        base_timestamp: fields.base_timestamp,
        max_timestamp: fields.max_timestamp,
        producer_id: fields.producer_id,
        producer_epoch: fields.producer_epoch,
        base_sequence: fields.base_sequence,
        records_count: fields.records_count,
    };
    out[..BATCH_HEADER_LEN].copy_from_slice(&header.to_bytes());
    let crc = crc32c::crc32c(&out[CRC_START..]);
    out[CRC..CRC + 4].copy_from_slice(&crc.to_be_bytes());
    Ok(Bytes::from(out))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_written_record_walks_back() {
        let mut out = Vec::new();
        put_record(&mut out, 7, -3, None, Some(b"value")).unwrap();
        put_record(&mut out, 8, 1 << 40, Some(b""), None).unwrap();
        let mut seen = Vec::new();
        let count = for_each_record(&out, |frame| {
            seen.push((
                frame.timestamp_delta,
                frame.offset_delta,
                frame.after_offset.to_vec(),
            ))
        })
        .unwrap();
        assert_eq!(count, 2);
        // Null key, value "value", no headers.
        assert_eq!(
            seen[0],
            (-3, 7, [&[0x01, 0x0a][..], b"value", &[0x00]].concat())
        );
        assert_eq!(seen[1].0, 1 << 40);
        assert_eq!(seen[1].1, 8);
    }

    #[test]
    fn framing_errors_are_reported_not_panicked() {
        // Length 3 but only 2 bytes follow.
        assert!(for_each_record(&[0x06, 0x00, 0x00], |_| {}).is_err());
        // Negative length.
        assert!(for_each_record(&[0x01], |_| {}).is_err());
        // A record whose fields do not fill its length.
        let mut out = Vec::new();
        put_record(&mut out, 0, 0, None, None).unwrap();
        out[0] += 2; // length + 1
        out.push(0);
        assert!(for_each_record(&out, |_| {}).is_err());
        // A header count far beyond the bytes.
        let body = [0x00, 0x00, 0x00, 0x01, 0x01, 0xfe, 0xff, 0xff, 0xff, 0x0f];
        let mut record = vec![(body.len() as u8) << 1];
        record.extend_from_slice(&body);
        assert!(for_each_record(&record, |_| {}).is_err());
    }
}
