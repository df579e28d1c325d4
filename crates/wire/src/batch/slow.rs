//! The slow path: the only place this crate decodes records.
//!
//! Almost every fetched batch is forwarded with a new header and its
//! records untouched ([`rewrite_header`](super::rewrite_header)). Two kinds
//! of batch cannot be, because what a consumer of the target would read
//! from them differs from what a consumer of the source reads:
//!
//! - **LogAppendTime batches.** On a source topic with
//!   `message.timestamp.type=LogAppendTime` the broker stamps each batch
//!   with its append time T in `maxTimestamp` and sets attributes bit 3;
//!   Java consumers then see T for every record and ignore the records'
//!   own timestamp deltas. Forwarded to a CreateTime topic the bit is
//!   cleared, and consumers would see the producer's original create times
//!   instead. MirrorMaker 2 republishes such records with T as their create
//!   time; [`normalize_log_append_time`] does the same to the batch.
//! - **Message formats 0 and 1.** Logs written before Kafka 0.11 (or with
//!   an old `log.message.format.version`) hold legacy message sets, which a
//!   v2 producer cannot send. [`upconvert_legacy`] turns them into v2
//!   batches that keep every record's offset, key, value and timestamp.
//!
//! Both decompress (with the batch's own codec), rewrite the record
//! framing and compress again with the same codec. Every allocation is
//! bounded by the bytes actually present: record counts in headers are
//! never trusted, and decompression stops with
//! [`WireError::DecompressionLimit`] beyond
//! [`decompression_limit`]`(compressed_len)` = `min(64 MiB, max(1 MiB,
//! 256 x compressed_len))`. Neither function panics, whatever the input.

mod codec;
mod key_values;
mod legacy;
mod records;
mod xxh32;

use bytes::Bytes;

pub use key_values::{decode_key_values, encode_key_values, KeyValue, OutgoingRecord};

pub use codec::{
    decompression_limit, DECOMPRESSION_ALLOWANCE, MAX_COMPRESSION_RATIO, MAX_DECOMPRESSED_LEN,
};

use super::crc::verify_crc;
use super::header::{
    BatchHeader, Compression, TimestampType, ATTR_DELETE_HORIZON, ATTR_LOG_APPEND_TIME,
    BATCH_HEADER_LEN,
};
use super::split::RawBatch;
use crate::WireError;
use codec::DecompressError;
use records::{assemble, for_each_record, put_with_deltas, BatchFields};

/// [`upconvert_legacy`] stops taking further messages once the batches it
/// has built hold this many bytes (64 MiB); the caller calls again for the
/// rest.
pub const MAX_OUTPUT_PER_CALL: usize = MAX_DECOMPRESSED_LEN;

/// The batch `batch` (a LogAppendTime batch) as a CreateTime batch that
/// reads the same everywhere: every record's timestamp is the append time
/// T (`max_timestamp`), which Java consumers of the source saw.
///
/// The result has the same base offset, partition leader epoch,
/// `lastOffsetDelta`, record count, producer id, epoch and base sequence,
/// transactional bit and codec as `batch`; `baseTimestamp` and
/// `maxTimestamp` are T, every record's `timestampDelta` is 0, attributes
/// bit 3 (LogAppendTime) is cleared, and so is bit 6 (delete horizon),
/// because `baseTimestamp` no longer holds one. Records keep their
/// attributes, offset deltas, keys, values and headers byte for byte; the
/// CRC is computed afresh. Uncompressed records are rewritten in one pass;
/// compressed ones are decompressed, rewritten and compressed again with
/// the same codec.
///
/// A batch that is not LogAppendTime is returned as is (the same bytes,
/// not copied).
///
/// # Errors
///
/// [`WireError::ControlBatch`] for a control batch (never forwarded);
/// [`WireError::Corrupt`] if `batch.bytes` is not exactly one batch, its
/// CRC is wrong (a corrupt batch must not come out with a valid CRC), its
/// codec is unknown or its records do not parse as Kafka's reader parses
/// them, including a record count that disagrees with the header;
/// [`WireError::DecompressionLimit`] if its records decompress to more than
/// [`decompression_limit`] allows.
pub fn normalize_log_append_time(batch: &RawBatch) -> Result<Bytes, WireError> {
    rewrite_records(batch, |header| {
        (header.timestamp_type() == TimestampType::LogAppendTime).then_some(Renumber::Keep)
    })
}

/// The header of `bytes`, which must be exactly one batch. Read from the
/// bytes, never from a header handed along with them.
fn whole_batch_header(bytes: &[u8]) -> Result<BatchHeader, WireError> {
    let header = BatchHeader::parse(bytes)?;
    if bytes.len() != header.total_len() {
        return Err(WireError::Corrupt {
            offset: header.base_offset,
            reason: format!(
                "{} bytes given for a batch of {} bytes",
                bytes.len(),
                header.total_len()
            ),
        });
    }
    Ok(header)
}

/// Whether [`rewrite_records`] keeps the records' offset deltas or numbers
/// them 0..n.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Renumber {
    Keep,
    Sequential,
}

/// The checks and the record rewrite both slow-path functions share:
/// `plan` looks at the (trusted, re-parsed) header and says whether the
/// batch needs rewriting and how its offset deltas come out; LogAppendTime
/// batches always get the append time as every record's timestamp.
fn rewrite_records(
    batch: &RawBatch,
    plan: impl FnOnce(&BatchHeader) -> Option<Renumber>,
) -> Result<Bytes, WireError> {
    let bytes = &batch.bytes;
    let header = whole_batch_header(bytes)?;
    let offset = header.base_offset;
    let corrupt = |reason: String| WireError::Corrupt { offset, reason };
    if header.is_control() {
        return Err(WireError::ControlBatch { offset });
    }
    let Some(renumber) = plan(&header) else {
        return Ok(bytes.clone());
    };
    if !verify_crc(bytes) {
        return Err(corrupt("CRC-32C mismatch".to_string()));
    }
    let log_append = header.timestamp_type() == TimestampType::LogAppendTime;
    let (base_timestamp, max_timestamp) = if log_append {
        (header.max_timestamp, header.max_timestamp)
    } else {
        (header.base_timestamp, header.max_timestamp)
    };
    let fields = BatchFields {
        base_offset: header.base_offset,
        partition_leader_epoch: header.partition_leader_epoch,
        attributes: header.attributes & !(ATTR_LOG_APPEND_TIME | ATTR_DELETE_HORIZON),
        last_offset_delta: match renumber {
            Renumber::Keep => header.last_offset_delta,
            Renumber::Sequential => header.records_count.saturating_sub(1).max(0),
        },
        base_timestamp,
        max_timestamp,
        producer_id: header.producer_id,
        producer_epoch: header.producer_epoch,
        base_sequence: header.base_sequence,
        records_count: header.records_count,
    };
    let payload = &bytes[BATCH_HEADER_LEN..];
    let rewrite = |records: &[u8], out: &mut Vec<u8>| -> Result<(), String> {
        let mut index = 0i32;
        let count = for_each_record(records, |frame| {
            let offset_delta = match renumber {
                Renumber::Keep => frame.offset_delta,
                Renumber::Sequential => index,
            };
            let timestamp_delta = if log_append { 0 } else { frame.timestamp_delta };
            put_with_deltas(out, &frame, timestamp_delta, offset_delta);
            index = index.saturating_add(1);
        })?;
        if i32::try_from(count) != Ok(header.records_count) {
            return Err(format!(
                "header counts {} records, the batch holds {count}",
                header.records_count
            ));
        }
        Ok(())
    };
    let codec = header.compression();
    if codec == Compression::None {
        // Deltas never grow here beyond what the batch length field can
        // describe: a zero or smaller sequential delta takes no more bytes.
        return assemble(&fields, payload.len(), |out| rewrite(payload, out)).map_err(corrupt);
    }
    let records = codec::decompress(codec, payload, false).map_err(|error| match error {
        DecompressError::TooLarge(limit) => WireError::DecompressionLimit { offset, limit },
        DecompressError::Malformed(reason) => corrupt(format!("{codec:?} records: {reason}")),
    })?;
    let mut rewritten = Vec::with_capacity(records.len());
    rewrite(&records, &mut rewritten).map_err(corrupt)?;
    drop(records);
    assemble(&fields, payload.len(), |out| {
        codec::compress(codec, &rewritten, out)
    })
    .map_err(corrupt)
}

/// Whether a fetched batch must go through [`rebuild_for_forwarding`]
/// before a broker accepts it from a producer and its consumers read what
/// the source's consumers read: LogAppendTime batches (see
/// [`normalize_log_append_time`]) and batches with offset gaps, which
/// compaction leaves (a broker refuses a produced batch whose offset range
/// is not its record count: "Inconsistent batch offset range").
pub fn needs_rebuild(header: &BatchHeader) -> bool {
    header.timestamp_type() == TimestampType::LogAppendTime || !header.is_dense()
}

/// The batch as one a producer may send and that reads the same on the
/// target: the records numbered 0..n (`lastOffsetDelta = n - 1`), and, for
/// a LogAppendTime batch, every record stamped with the append time as
/// [`normalize_log_append_time`] does. Keys, values, headers and record
/// attributes stay byte for byte; the codec stays. A batch that needs
/// neither is returned as is.
///
/// # Errors
///
/// As [`normalize_log_append_time`].
pub fn rebuild_for_forwarding(batch: &RawBatch) -> Result<Bytes, WireError> {
    rewrite_records(batch, |header| {
        needs_rebuild(header).then_some(Renumber::Sequential)
    })
}

/// Converts the legacy (magic 0 and 1) messages at the start of `bytes`
/// into RecordBatch v2, returning the batches and how many input bytes they
/// came from.
///
/// Every record keeps its offset (batches may have gaps in their offsets,
/// as compaction leaves them), key and value, and the timestamp a Java
/// consumer of the source sees: its own for magic 1, the wrapper's for a
/// compressed magic 1 message marked LogAppendTime, none (-1) for magic 0,
/// as Kafka's own up-conversion has it. Legacy messages have no headers.
/// The batches are CreateTime, without producer id, epoch or sequence
/// (-1), partition leader epoch -1.
///
/// A compressed legacy message becomes one batch in the same codec (gzip,
/// snappy or lz4; the lz4 of magic 0, whose frame checksum byte Kafka
/// wrote wrongly, is read as Kafka reads it and written correctly). A run
/// of uncompressed messages becomes one uncompressed batch per up to 1 MiB
/// of messages.
///
/// The walk stops, without error, at the end of `bytes`, at a partial
/// message, at a v2 batch (for [`split_record_set`](super::split_record_set)),
/// once the batches built hold [`MAX_OUTPUT_PER_CALL`] bytes, or at a
/// message that cannot be converted if some came before it (the next call
/// reports it). The consumed count covers exactly the messages converted.
///
/// # Errors
///
/// When the first message cannot be converted: [`WireError::Corrupt`] for
/// an unknown magic, a size out of range, a CRC-32 mismatch (outer or
/// inner), fields running past the message, a codec legacy formats do not
/// have, an undecodable compressed value or one without inner messages,
/// nested compression, or offsets that do not increase;
/// [`WireError::DecompressionLimit`] for a compressed value beyond
/// [`decompression_limit`].
pub fn upconvert_legacy(bytes: &Bytes) -> Result<(Vec<Bytes>, usize), WireError> {
    legacy::upconvert(bytes)
}
