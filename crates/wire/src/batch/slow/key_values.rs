//! The control plane's records: key/value pairs of kmirror's and MM2's
//! internal topics (progress, offset index, checkpoints, offset syncs,
//! heartbeats), written as one uncompressed batch and read back from any
//! batch, compressed or not. Never used on the data path.
//!
//! They are built on the slow path's record framing so that the engine
//! needs no second record codec, and reading is as strict as Kafka's reader
//! and bounded by the bytes present, as everywhere in this crate.

use bytes::Bytes;

use super::super::header::BATCH_HEADER_LEN;
use super::super::split::{split_record_set, RawBatch};
use super::super::varint::Cursor;
use super::codec::{self, DecompressError};
use super::records::{assemble, for_each_record, put_record, BatchFields};
use crate::{Compression, WireError};

/// One record read back: its offset, timestamp, key and value (`None`:
/// null). Headers are not kept; internal topics have none.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyValue {
    pub offset: i64,
    pub timestamp: i64,
    pub key: Option<Bytes>,
    pub value: Option<Bytes>,
}

/// A record to write: its key, and its value (`None`: a tombstone).
pub type OutgoingRecord = (Vec<u8>, Option<Vec<u8>>);

/// Writes `records` as one uncompressed v2 batch with base offset 0, no
/// producer id, every record stamped `timestamp_ms`, ready for a producer
/// to send.
///
/// # Errors
///
/// [`WireError::Corrupt`] when the records cannot fit one batch (more than
/// `i32::MAX` of them, or a batch beyond Kafka's size limit).
pub fn encode_key_values(
    records: &[OutgoingRecord],
    timestamp_ms: i64,
) -> Result<RawBatch, WireError> {
    let corrupt = |reason: String| WireError::Corrupt { offset: 0, reason };
    let count = i32::try_from(records.len())
        .map_err(|_| corrupt(format!("{} records in one batch", records.len())))?;
    let fields = BatchFields {
        base_offset: 0,
        partition_leader_epoch: -1,
        attributes: 0,
        last_offset_delta: count.saturating_sub(1).max(0),
        base_timestamp: timestamp_ms,
        max_timestamp: timestamp_ms,
        producer_id: -1,
        producer_epoch: -1,
        base_sequence: -1,
        records_count: count,
    };
    let hint: usize = records
        .iter()
        .map(|(key, value)| key.len() + value.as_ref().map_or(0, Vec::len) + 16)
        .sum();
    let bytes = assemble(&fields, hint, |out| {
        for (delta, (key, value)) in records.iter().enumerate() {
            put_record(out, delta as i32, 0, Some(key), value.as_deref())?;
        }
        Ok(())
    })
    .map_err(corrupt)?;
    let mut split = split_record_set(&bytes);
    match (split.batches.len(), split.batches.pop()) {
        (1, Some(batch)) => Ok(batch),
        _ => Err(corrupt("the written batch does not read back".to_string())),
    }
}

/// The records of `batches`, in order; control batches are skipped.
///
/// # Errors
///
/// [`WireError::Corrupt`] for a batch whose bytes are not exactly one batch,
/// whose CRC is wrong, whose codec is unknown, whose records do not parse as Kafka's reader
/// parses them, or whose record count disagrees with its header;
/// [`WireError::DecompressionLimit`] for records that decompress beyond the
/// slow path's limit.
pub fn decode_key_values(batches: &[RawBatch]) -> Result<Vec<KeyValue>, WireError> {
    let mut out = Vec::new();
    for batch in batches {
        decode_batch(batch, &mut out)?;
    }
    Ok(out)
}

fn decode_batch(batch: &RawBatch, out: &mut Vec<KeyValue>) -> Result<(), WireError> {
    let bytes = &batch.bytes;
    let header = super::whole_batch_header(bytes)?;
    let offset = header.base_offset;
    let corrupt = |reason: String| WireError::Corrupt { offset, reason };
    if header.is_control() {
        return Ok(());
    }
    // As Kafka's consumer does by default (`check.crcs`).
    if !crate::verify_crc(bytes) {
        return Err(corrupt("CRC-32C mismatch".to_string()));
    }
    let payload = bytes.slice(BATCH_HEADER_LEN..);
    let codec = header.compression();
    let records = if codec == Compression::None {
        payload
    } else {
        Bytes::from(
            codec::decompress(codec, &payload, false).map_err(|error| match error {
                DecompressError::TooLarge(limit) => WireError::DecompressionLimit { offset, limit },
                DecompressError::Malformed(reason) => {
                    corrupt(format!("{codec:?} records: {reason}"))
                }
            })?,
        )
    };
    let mut malformed = None;
    let count = for_each_record(&records, |frame| {
        if malformed.is_some() {
            return;
        }
        match key_and_value(&records, frame.after_offset) {
            Some((key, value)) => out.push(KeyValue {
                offset: header.base_offset + i64::from(frame.offset_delta),
                timestamp: header.base_timestamp.saturating_add(frame.timestamp_delta),
                key,
                value,
            }),
            None => malformed = Some(out.len()),
        }
    })
    .map_err(corrupt)?;
    if let Some(index) = malformed {
        return Err(corrupt(format!(
            "record {index}'s key or value is truncated"
        )));
    }
    if i32::try_from(count) != Ok(header.records_count) {
        return Err(corrupt(format!(
            "header counts {} records, the batch holds {count}",
            header.records_count
        )));
    }
    Ok(())
}

/// The key and value of a record body (after its offset delta), as slices
/// of `records` (no copy). `None` when a length runs past the body.
#[allow(clippy::type_complexity)]
fn key_and_value(records: &Bytes, body: &[u8]) -> Option<(Option<Bytes>, Option<Bytes>)> {
    let mut cursor = Cursor(body);
    let mut field = || -> Option<Option<Bytes>> {
        let len = cursor.varint()?;
        if len < 0 {
            return Some(None);
        }
        let slice = cursor.take(usize::try_from(len).ok()?)?;
        Some(Some(records.slice_ref(slice)))
    };
    let key = field()?;
    let value = field()?;
    Some((key, value))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn written_records_read_back() {
        let records: Vec<OutgoingRecord> = vec![
            (b"k1".to_vec(), Some(b"v1".to_vec())),
            (b"k2".to_vec(), None),
            (Vec::new(), Some(Vec::new())),
        ];
        let batch = encode_key_values(&records, 1_700_000_000_000).unwrap();
        assert_eq!(batch.header.records_count, 3);
        assert!(crate::verify_crc(&batch.bytes));
        let read = decode_key_values(&[batch]).unwrap();
        assert_eq!(
            read,
            vec![
                KeyValue {
                    offset: 0,
                    timestamp: 1_700_000_000_000,
                    key: Some(Bytes::from_static(b"k1")),
                    value: Some(Bytes::from_static(b"v1")),
                },
                KeyValue {
                    offset: 1,
                    timestamp: 1_700_000_000_000,
                    key: Some(Bytes::from_static(b"k2")),
                    value: None,
                },
                KeyValue {
                    offset: 2,
                    timestamp: 1_700_000_000_000,
                    key: Some(Bytes::new()),
                    value: Some(Bytes::new()),
                },
            ]
        );
    }

    #[test]
    fn a_changed_byte_is_refused() {
        let batch = encode_key_values(&[(b"k".to_vec(), Some(b"v".to_vec()))], 1).unwrap();
        let mut bytes = batch.bytes.to_vec();
        let last = bytes.len() - 1;
        bytes[last] ^= 1;
        let changed = RawBatch {
            header: batch.header,
            bytes: Bytes::from(bytes),
        };
        assert!(matches!(
            decode_key_values(&[changed]),
            Err(WireError::Corrupt { .. })
        ));
    }

    #[test]
    fn an_empty_list_is_an_empty_batch() {
        let batch = encode_key_values(&[], 5).unwrap();
        assert_eq!(batch.header.records_count, 0);
        assert!(decode_key_values(&[batch]).unwrap().is_empty());
    }
}
