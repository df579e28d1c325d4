//! Message format 0 and 1 (Kafka before 0.11), read the way Kafka's Java
//! client reads it, and rewritten as RecordBatch v2.
//!
//! A legacy message on the log:
//!
//! ```text
//! offset int64, size int32          the log overhead (12 bytes)
//! crc uint32                        CRC-32 (IEEE) of magic..end
//! magic int8                        0 or 1
//! attributes int8                   bits 0-2 codec, bit 3 LogAppendTime (magic 1)
//! timestamp int64                   magic 1 only
//! key bytes, value bytes            int32 length, -1 for null
//! ```
//!
//! A compressed message (a "wrapper") carries in its value a compressed
//! run of inner messages in the same layout. Inner offsets are absolute
//! for magic 0; for magic 1 they are relative and the wrapper's offset is
//! that of the last inner message. A magic 1 wrapper marked LogAppendTime
//! gives every inner magic 1 message its own timestamp; otherwise inner
//! messages keep theirs, and magic 0 messages have none (-1).

use bytes::Bytes;

use super::super::header::{Compression, MAX_BATCH_LENGTH};
use super::super::varint::Cursor;
use super::codec::{self, DecompressError};
use super::records::{assemble, put_record, BatchFields};
use super::MAX_OUTPUT_PER_CALL;
use crate::WireError;

/// Offset and size fields before each message.
const LOG_OVERHEAD: usize = 12;
/// crc, magic, attributes, key length, value length: the smallest message.
const RECORD_OVERHEAD_V0: usize = 14;
/// Where the magic byte is, counted from the message's offset field; the
/// same place as in a v2 batch.
const MAGIC_AT: usize = 16;

const ATTR_CODEC: u8 = 0x07;
const ATTR_LOG_APPEND_TIME: u8 = 0x08;

/// Records of one uncompressed run are put in one v2 batch until their
/// legacy bytes reach this (a v2 batch of them is no larger): below the
/// 1 MiB a target topic accepts by default.
const MAX_GROUP_BYTES: usize = 1 << 20;

/// One legacy message, fields as slices of the bytes it was read from.
#[derive(Debug, Clone, Copy)]
struct Message<'a> {
    offset: i64,
    magic: i8,
    attributes: u8,
    /// -1 for magic 0.
    timestamp: i64,
    key: Option<&'a [u8]>,
    value: Option<&'a [u8]>,
    /// Log overhead included.
    total_len: usize,
}

enum Read<'a> {
    Message(Message<'a>),
    /// The bytes end inside the message (or before its magic byte).
    Partial,
    /// A RecordBatch v2 starts here.
    V2,
}

fn corrupt(offset: i64, reason: impl Into<String>) -> WireError {
    WireError::Corrupt {
        offset,
        reason: reason.into(),
    }
}

/// Reads the legacy message at the start of `bytes`, checking its CRC.
/// Bytes after the value inside the message's size are ignored, as Kafka
/// does.
fn read_message(bytes: &[u8]) -> Result<Read<'_>, WireError> {
    let mut cursor = Cursor(bytes);
    let (Some(offset), Some(size), Some(crc), Some(magic)) =
        (cursor.i64(), cursor.i32(), cursor.i32(), cursor.u8())
    else {
        return Ok(Read::Partial);
    };
    let magic = magic as i8;
    match magic {
        0 | 1 => {}
        2 => return Ok(Read::V2),
        other => return Err(corrupt(offset, format!("unknown magic {other}"))),
    }
    let size = usize::try_from(size)
        .ok()
        .filter(|size| (RECORD_OVERHEAD_V0..=MAX_BATCH_LENGTH as usize).contains(size))
        .ok_or_else(|| {
            corrupt(
                offset,
                format!("legacy message size {size} is out of range"),
            )
        })?;
    let Some(message) = bytes.get(LOG_OVERHEAD..LOG_OVERHEAD + size) else {
        return Ok(Read::Partial);
    };
    // After the crc: magic onwards.
    let covered = &message[4..];
    let computed = crc32fast::hash(covered);
    if computed != crc as u32 {
        return Err(corrupt(
            offset,
            format!(
                "legacy message CRC mismatch (stored {:08x}, computed {computed:08x})",
                crc as u32
            ),
        ));
    }
    let mut fields = Cursor(&covered[1..]);
    let truncated = || corrupt(offset, "legacy message fields run past its size");
    let attributes = fields.u8().ok_or_else(truncated)?;
    let timestamp = if magic == 1 {
        fields.i64().ok_or_else(truncated)?
    } else {
        -1
    };
    let key = sized(&mut fields).ok_or_else(truncated)?;
    let value = sized(&mut fields).ok_or_else(truncated)?;
    Ok(Read::Message(Message {
        offset,
        magic,
        attributes,
        timestamp,
        key,
        value,
        total_len: LOG_OVERHEAD + size,
    }))
}

/// An int32-length-prefixed field; any negative length is null.
fn sized<'a>(cursor: &mut Cursor<'a>) -> Option<Option<&'a [u8]>> {
    let len = cursor.i32()?;
    match usize::try_from(len) {
        Ok(len) => cursor.take(len).map(Some),
        Err(_) => Some(None),
    }
}

/// One record on its way into a v2 batch.
#[derive(Debug, Clone, Copy)]
struct Converted<'a> {
    offset: i64,
    timestamp: i64,
    key: Option<&'a [u8]>,
    value: Option<&'a [u8]>,
}

/// See [`super::upconvert_legacy`].
pub(super) fn upconvert(bytes: &Bytes) -> Result<(Vec<Bytes>, usize), WireError> {
    let mut batches = Vec::new();
    let mut produced = 0usize;
    let mut position = 0usize;
    let mut group: Vec<Converted<'_>> = Vec::new();
    let mut group_bytes = 0usize;

    loop {
        if produced + group_bytes >= MAX_OUTPUT_PER_CALL {
            break;
        }
        let rest = &bytes[position..];
        if rest.len() < MAGIC_AT + 1 {
            break;
        }
        let converted = match read_message(rest) {
            Ok(Read::Message(message)) => match message.attributes & ATTR_CODEC {
                0 => Ok(None),
                _ => convert_wrapper(&message).map(Some),
            }
            .map(|batch| (message, batch)),
            Ok(Read::Partial | Read::V2) => break,
            Err(error) => Err(error),
        };
        let (message, batch) = match converted {
            Ok(converted) => converted,
            // Report a bad message only when it comes first; otherwise
            // hand back what came before it, and the next call reports it.
            Err(error) if position == 0 => return Err(error),
            Err(_) => break,
        };
        match batch {
            None => {
                let record = Converted {
                    offset: message.offset,
                    timestamp: message.timestamp,
                    key: message.key,
                    value: message.value,
                };
                let out_of_order = match group.last() {
                    _ if record.offset < 0 => Some(format!("negative offset {}", record.offset)),
                    Some(last) if record.offset <= last.offset => Some(format!(
                        "offset {} follows offset {}",
                        record.offset, last.offset
                    )),
                    _ => None,
                };
                if let Some(reason) = out_of_order {
                    if position == 0 {
                        return Err(corrupt(record.offset, reason));
                    }
                    break;
                }
                if !fits_group(&group, &record, group_bytes, message.total_len) {
                    let batch = build_batch(&group, Compression::None)?;
                    produced += batch.len();
                    batches.push(batch);
                    group.clear();
                    group_bytes = 0;
                }
                group.push(record);
                group_bytes += message.total_len;
            }
            Some(batch) => {
                if !group.is_empty() {
                    let flushed = build_batch(&group, Compression::None)?;
                    produced += flushed.len();
                    batches.push(flushed);
                    group.clear();
                    group_bytes = 0;
                }
                produced += batch.len();
                batches.push(batch);
            }
        }
        position += message.total_len;
    }
    if !group.is_empty() {
        batches.push(build_batch(&group, Compression::None)?);
    }
    Ok((batches, position))
}

/// Whether `record` may join `group` (which already holds `group_bytes`
/// of legacy messages) in one v2 batch.
fn fits_group(
    group: &[Converted<'_>],
    record: &Converted<'_>,
    group_bytes: usize,
    record_bytes: usize,
) -> bool {
    let Some(first) = group.first() else {
        return true;
    };
    group_bytes + record_bytes <= MAX_GROUP_BYTES
        && record
            .offset
            .checked_sub(first.offset)
            .is_some_and(|delta| i32::try_from(delta).is_ok())
        && record.timestamp.checked_sub(first.timestamp).is_some()
}

/// The inner messages of a compressed wrapper as one v2 batch in the same
/// codec.
fn convert_wrapper(wrapper: &Message<'_>) -> Result<Bytes, WireError> {
    let offset = wrapper.offset;
    let codec = match wrapper.attributes & ATTR_CODEC {
        1 => Compression::Gzip,
        2 => Compression::Snappy,
        3 => Compression::Lz4,
        other => {
            return Err(corrupt(
                offset,
                format!("legacy message with compression codec {other}"),
            ))
        }
    };
    let compressed = wrapper
        .value
        .ok_or_else(|| corrupt(offset, "compressed legacy message with a null value"))?;
    let inner =
        codec::decompress(codec, compressed, wrapper.magic == 0).map_err(|error| match error {
            DecompressError::TooLarge(limit) => WireError::DecompressionLimit { offset, limit },
            DecompressError::Malformed(reason) => corrupt(
                offset,
                format!("compressed legacy message ({codec:?}): {reason}"),
            ),
        })?;

    let mut messages = Vec::new();
    let mut rest = &inner[..];
    let inner_error = |error: WireError| match error {
        WireError::Corrupt { reason, .. } => corrupt(offset, format!("inner message: {reason}")),
        other => other,
    };
    while !rest.is_empty() {
        match read_message(rest).map_err(inner_error)? {
            Read::Message(message) => {
                if message.attributes & ATTR_CODEC != 0 {
                    return Err(corrupt(
                        offset,
                        "compressed message inside a compressed message",
                    ));
                }
                rest = &rest[message.total_len..];
                messages.push(message);
            }
            // Kafka's reader stops quietly at a partial inner message.
            Read::Partial => break,
            Read::V2 => return Err(corrupt(offset, "magic 2 inside a legacy message")),
        }
    }
    let Some(last) = messages.last() else {
        return Err(corrupt(
            offset,
            "compressed legacy message with no inner messages",
        ));
    };

    // Magic 1 wrappers carry relative inner offsets; the wrapper's offset
    // is the last one's absolute offset (or 0 in some librdkafka produce
    // requests, which Kafka reads as base 0).
    let base = if wrapper.magic == 1 {
        if offset == 0 {
            0
        } else if offset < last.offset {
            return Err(corrupt(
                offset,
                format!(
                    "wrapper offset {offset} is below its last inner offset {}",
                    last.offset
                ),
            ));
        } else {
            offset - last.offset
        }
    } else {
        0
    };
    let log_append_time = wrapper.magic == 1 && wrapper.attributes & ATTR_LOG_APPEND_TIME != 0;
    let mut records = Vec::with_capacity(messages.len());
    for message in &messages {
        let absolute = base
            .checked_add(message.offset)
            .ok_or_else(|| corrupt(offset, "inner offset overflows"))?;
        let timestamp = match message.magic {
            1 if log_append_time => wrapper.timestamp,
            1 => message.timestamp,
            _ => -1,
        };
        if let Some(previous) = records.last().map(|record: &Converted<'_>| record.offset) {
            if absolute <= previous {
                return Err(corrupt(
                    offset,
                    format!("inner offset {absolute} follows {previous}"),
                ));
            }
        }
        records.push(Converted {
            offset: absolute,
            timestamp,
            key: message.key,
            value: message.value,
        });
    }
    build_batch(&records, codec)
}

/// A v2 batch of `records` (non-empty, offsets increasing), CreateTime,
/// without producer id, compressed with `codec`.
fn build_batch(records: &[Converted<'_>], codec: Compression) -> Result<Bytes, WireError> {
    let (Some(first), Some(last)) = (records.first(), records.last()) else {
        return Err(corrupt(-1, "no records to convert"));
    };
    let corrupt_here = |reason: String| corrupt(first.offset, reason);
    if first.offset < 0 {
        return Err(corrupt_here(format!("negative offset {}", first.offset)));
    }
    let last_offset_delta = i32::try_from(last.offset - first.offset)
        .map_err(|_| corrupt_here("offsets span more than a v2 batch can hold".to_string()))?;
    let records_count = i32::try_from(records.len())
        .map_err(|_| corrupt_here("too many records for one batch".to_string()))?;

    // Check every delta before writing anything.
    let mut max_timestamp = -1i64;
    for record in records {
        record
            .timestamp
            .checked_sub(first.timestamp)
            .ok_or_else(|| corrupt_here("timestamps too far apart".to_string()))?;
        max_timestamp = max_timestamp.max(record.timestamp);
    }
    let write = |out: &mut Vec<u8>| -> Result<(), String> {
        for record in records {
            // Offsets increase within the slice and timestamps were checked
            // above, so neither subtraction overflows.
            put_record(
                out,
                (record.offset - first.offset) as i32,
                record.timestamp - first.timestamp,
                record.key,
                record.value,
            )?;
        }
        Ok(())
    };
    let fields = BatchFields {
        base_offset: first.offset,
        partition_leader_epoch: -1,
        attributes: codec_id(codec),
        last_offset_delta,
        base_timestamp: first.timestamp,
        max_timestamp,
        producer_id: -1,
        producer_epoch: -1,
        base_sequence: -1,
        records_count,
    };
    let legacy_bytes: usize = records
        .iter()
        .map(|record| record.key.map_or(0, <[u8]>::len) + record.value.map_or(0, <[u8]>::len) + 16)
        .sum();
    if codec == Compression::None {
        assemble(&fields, legacy_bytes, write).map_err(corrupt_here)
    } else {
        let mut uncompressed = Vec::with_capacity(legacy_bytes);
        write(&mut uncompressed).map_err(corrupt_here)?;
        assemble(&fields, uncompressed.len() / 2, |out| {
            codec::compress(codec, &uncompressed, out)
        })
        .map_err(corrupt_here)
    }
}

fn codec_id(codec: Compression) -> i16 {
    match codec {
        Compression::None => 0,
        Compression::Gzip => 1,
        Compression::Snappy => 2,
        Compression::Lz4 => 3,
        Compression::Zstd => 4,
        Compression::Unknown(id) => i16::from(id),
    }
}
