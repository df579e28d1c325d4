//! The fixed 61-byte header of a RecordBatch v2, read without touching the
//! records behind it.

use crate::WireError;

/// Length of a RecordBatch v2 header: everything before the first record.
pub const BATCH_HEADER_LEN: usize = 61;

/// Bytes before and including `batchLength`; `batchLength` counts the rest.
pub const BATCH_LENGTH_PREFIX: usize = 12;

/// Smallest legal `batchLength`: the header after its first 12 bytes, with
/// no records (an empty batch, which compaction can leave behind).
pub const MIN_BATCH_LENGTH: i32 = (BATCH_HEADER_LEN - BATCH_LENGTH_PREFIX) as i32;

/// Largest `batchLength` we believe. Brokers cap batches at
/// `message.max.bytes` (1 MiB by default, rarely above a few hundred MiB);
/// a bigger claim is corruption, and believing it would make a caller wait
/// forever for bytes that never come.
pub const MAX_BATCH_LENGTH: i32 = 1 << 30;

// Field offsets, from the RecordBatch v2 layout (DESIGN.md section 3).
pub(crate) const BASE_OFFSET: usize = 0;
pub(crate) const BATCH_LENGTH: usize = 8;
pub(crate) const PARTITION_LEADER_EPOCH: usize = 12;
pub(crate) const MAGIC: usize = 16;
pub(crate) const CRC: usize = 17;
pub(crate) const ATTRIBUTES: usize = 21;
pub(crate) const LAST_OFFSET_DELTA: usize = 23;
pub(crate) const BASE_TIMESTAMP: usize = 27;
pub(crate) const MAX_TIMESTAMP: usize = 35;
pub(crate) const PRODUCER_ID: usize = 43;
pub(crate) const PRODUCER_EPOCH: usize = 51;
pub(crate) const BASE_SEQUENCE: usize = 53;
pub(crate) const RECORDS_COUNT: usize = 57;

/// The CRC covers the batch from the attributes to its end.
pub(crate) const CRC_START: usize = ATTRIBUTES;

pub(crate) const ATTR_COMPRESSION_MASK: i16 = 0b111;
pub(crate) const ATTR_LOG_APPEND_TIME: i16 = 1 << 3;
pub(crate) const ATTR_TRANSACTIONAL: i16 = 1 << 4;
pub(crate) const ATTR_CONTROL: i16 = 1 << 5;
pub(crate) const ATTR_DELETE_HORIZON: i16 = 1 << 6;

/// The only batch format this crate passes through.
pub const MAGIC_V2: i8 = 2;

/// Compression codec of a batch, attributes bits 0-2.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Compression {
    /// Records stored as is.
    None,
    /// gzip.
    Gzip,
    /// Snappy (xerial framing).
    Snappy,
    /// LZ4 frame.
    Lz4,
    /// Zstandard.
    Zstd,
    /// Codec ids 5-7, which no Kafka version defines.
    Unknown(u8),
}

/// What the batch timestamps mean, attributes bit 3.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TimestampType {
    /// Set by the producer.
    CreateTime,
    /// Set by the broker on append; records then all read as `max_timestamp`.
    LogAppendTime,
}

/// A RecordBatch v2 header, every field as stored.
///
/// Values built by [`BatchHeader::parse`] are sane: magic 2,
/// `batch_length` within [`MIN_BATCH_LENGTH`]..=[`MAX_BATCH_LENGTH`],
/// non-negative `base_offset`, `last_offset_delta` and `records_count`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct BatchHeader {
    /// Offset of the first record (0 in produce requests).
    pub base_offset: i64,
    /// Bytes after this field: the header's last 49 bytes plus the records.
    pub batch_length: i32,
    /// Leader epoch of the partition when the batch was appended.
    pub partition_leader_epoch: i32,
    /// Format version, always 2 here.
    pub magic: i8,
    /// CRC-32C of bytes 21..end, as stored (not checked by `parse`).
    pub crc: u32,
    /// Codec, timestamp type, transactional, control and delete-horizon bits.
    pub attributes: i16,
    /// Offset of the last record minus `base_offset`.
    pub last_offset_delta: i32,
    /// Timestamp of the first record (or the delete horizon, if bit 6 is set).
    pub base_timestamp: i64,
    /// Largest record timestamp (or the append time for LogAppendTime).
    pub max_timestamp: i64,
    /// Idempotent or transactional producer id, -1 if none.
    pub producer_id: i64,
    /// Its epoch, -1 if none.
    pub producer_epoch: i16,
    /// Sequence of the first record, -1 if none.
    pub base_sequence: i32,
    /// Number of records; an untrusted claim until the records are decoded.
    pub records_count: i32,
}

impl BatchHeader {
    /// Reads the header at the start of `bytes` (which may hold more: the
    /// records, or further batches). Only the first 61 bytes are read.
    ///
    /// A legacy message set (magic 0 or 1) yields
    /// [`WireError::OldMessageFormat`] as soon as its magic byte is there,
    /// even if fewer than 61 bytes are.
    pub fn parse(bytes: &[u8]) -> Result<Self, WireError> {
        if bytes.len() <= MAGIC {
            return Err(WireError::TooShort {
                what: "record batch header",
                needed: BATCH_HEADER_LEN,
                available: bytes.len(),
            });
        }
        let base_offset = read_i64(bytes, BASE_OFFSET);
        let batch_length = read_i32(bytes, BATCH_LENGTH);
        let magic = bytes[MAGIC] as i8;
        check_magic_and_length(base_offset, magic, batch_length)?;
        if bytes.len() < BATCH_HEADER_LEN {
            return Err(WireError::TooShort {
                what: "record batch header",
                needed: BATCH_HEADER_LEN,
                available: bytes.len(),
            });
        }
        let header = BatchHeader {
            base_offset,
            batch_length,
            partition_leader_epoch: read_i32(bytes, PARTITION_LEADER_EPOCH),
            magic,
            crc: read_i32(bytes, CRC) as u32,
            attributes: read_i16(bytes, ATTRIBUTES),
            last_offset_delta: read_i32(bytes, LAST_OFFSET_DELTA),
            base_timestamp: read_i64(bytes, BASE_TIMESTAMP),
            max_timestamp: read_i64(bytes, MAX_TIMESTAMP),
            producer_id: read_i64(bytes, PRODUCER_ID),
            producer_epoch: read_i16(bytes, PRODUCER_EPOCH),
            base_sequence: read_i32(bytes, BASE_SEQUENCE),
            records_count: read_i32(bytes, RECORDS_COUNT),
        };
        header.check_counts()?;
        Ok(header)
    }

    /// The header as the 61 bytes it was parsed from (the CRC field is
    /// written as stored, not recomputed).
    pub fn to_bytes(&self) -> [u8; BATCH_HEADER_LEN] {
        let mut out = [0u8; BATCH_HEADER_LEN];
        let mut put = |at: usize, field: &[u8]| out[at..at + field.len()].copy_from_slice(field);
        put(BASE_OFFSET, &self.base_offset.to_be_bytes());
        put(BATCH_LENGTH, &self.batch_length.to_be_bytes());
        put(
            PARTITION_LEADER_EPOCH,
            &self.partition_leader_epoch.to_be_bytes(),
        );
        put(MAGIC, &self.magic.to_be_bytes());
        put(CRC, &self.crc.to_be_bytes());
        put(ATTRIBUTES, &self.attributes.to_be_bytes());
        put(LAST_OFFSET_DELTA, &self.last_offset_delta.to_be_bytes());
        put(BASE_TIMESTAMP, &self.base_timestamp.to_be_bytes());
        put(MAX_TIMESTAMP, &self.max_timestamp.to_be_bytes());
        put(PRODUCER_ID, &self.producer_id.to_be_bytes());
        put(PRODUCER_EPOCH, &self.producer_epoch.to_be_bytes());
        put(BASE_SEQUENCE, &self.base_sequence.to_be_bytes());
        put(RECORDS_COUNT, &self.records_count.to_be_bytes());
        out
    }

    fn check_counts(&self) -> Result<(), WireError> {
        let reason = if self.base_offset < 0 {
            format!("negative base offset {}", self.base_offset)
        } else if self.last_offset_delta < 0 {
            format!("negative last offset delta {}", self.last_offset_delta)
        } else if self.records_count < 0 {
            format!("negative records count {}", self.records_count)
        } else {
            return Ok(());
        };
        Err(WireError::Corrupt {
            offset: self.base_offset,
            reason,
        })
    }

    /// Codec of the records.
    pub fn compression(&self) -> Compression {
        match (self.attributes & ATTR_COMPRESSION_MASK) as u8 {
            0 => Compression::None,
            1 => Compression::Gzip,
            2 => Compression::Snappy,
            3 => Compression::Lz4,
            4 => Compression::Zstd,
            other => Compression::Unknown(other),
        }
    }

    /// Meaning of the timestamps.
    pub fn timestamp_type(&self) -> TimestampType {
        if self.attributes & ATTR_LOG_APPEND_TIME != 0 {
            TimestampType::LogAppendTime
        } else {
            TimestampType::CreateTime
        }
    }

    /// Part of a transaction (commit or abort comes in a later control batch).
    pub fn is_transactional(&self) -> bool {
        self.attributes & ATTR_TRANSACTIONAL != 0
    }

    /// A control batch (transaction marker and the like), never forwarded.
    pub fn is_control(&self) -> bool {
        self.attributes & ATTR_CONTROL != 0
    }

    /// Set by compaction once tombstones in the batch may be dropped.
    pub fn has_delete_horizon(&self) -> bool {
        self.attributes & ATTR_DELETE_HORIZON != 0
    }

    /// Offset of the last record the batch ever held (compaction may have
    /// removed it, the offset stays taken).
    pub fn last_offset(&self) -> i64 {
        self.base_offset
            .saturating_add(i64::from(self.last_offset_delta))
    }

    /// The offset to fetch after this batch.
    pub fn next_offset(&self) -> i64 {
        self.last_offset().saturating_add(1)
    }

    /// Bytes the whole batch takes: `12 + batch_length`.
    pub fn total_len(&self) -> usize {
        // `parse` guarantees batch_length >= MIN_BATCH_LENGTH > 0.
        BATCH_LENGTH_PREFIX + usize::try_from(self.batch_length).unwrap_or(0)
    }

    /// Whether the batch holds one record per offset of
    /// `[base_offset, last_offset]` (`records_count == last_offset_delta + 1`).
    ///
    /// Only then do upstream offsets inside the batch map one to one onto
    /// the downstream offsets the target assigns; a compacted batch (gaps)
    /// is also one the target broker recompresses instead of appending as is.
    pub fn is_dense(&self) -> bool {
        i64::from(self.records_count) == i64::from(self.last_offset_delta) + 1
    }
}

/// Checks what can be checked from the first 17 bytes of a batch.
pub(crate) fn check_magic_and_length(
    base_offset: i64,
    magic: i8,
    batch_length: i32,
) -> Result<(), WireError> {
    match magic {
        MAGIC_V2 => {}
        0 | 1 => {
            return Err(WireError::OldMessageFormat {
                offset: base_offset,
                magic,
            })
        }
        other => {
            return Err(WireError::Corrupt {
                offset: base_offset,
                reason: format!("unknown magic {other}"),
            })
        }
    }
    if batch_length < MIN_BATCH_LENGTH {
        return Err(WireError::Corrupt {
            offset: base_offset,
            reason: format!("batch length {batch_length} is below the minimum {MIN_BATCH_LENGTH}"),
        });
    }
    if batch_length > MAX_BATCH_LENGTH {
        return Err(WireError::Corrupt {
            offset: base_offset,
            reason: format!("batch length {batch_length} is above the maximum {MAX_BATCH_LENGTH}"),
        });
    }
    Ok(())
}

// Readers for fixed positions; callers have checked the length.
pub(crate) fn read_i16(bytes: &[u8], at: usize) -> i16 {
    i16::from_be_bytes([bytes[at], bytes[at + 1]])
}

pub(crate) fn read_i32(bytes: &[u8], at: usize) -> i32 {
    let mut b = [0u8; 4];
    b.copy_from_slice(&bytes[at..at + 4]);
    i32::from_be_bytes(b)
}

pub(crate) fn read_i64(bytes: &[u8], at: usize) -> i64 {
    let mut b = [0u8; 8];
    b.copy_from_slice(&bytes[at..at + 8]);
    i64::from_be_bytes(b)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A header written out field by field, as the DESIGN.md table lays it out.
    const GOLDEN: [u8; BATCH_HEADER_LEN] = [
        0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x04, 0x12, // baseOffset 1042
        0x00, 0x00, 0x00, 0x31, // batchLength 49 (empty batch)
        0x00, 0x00, 0x00, 0x07, // partitionLeaderEpoch 7
        0x02, // magic
        0xde, 0xad, 0xbe, 0xef, // crc
        0x00, 0x1b, // attributes: lz4 (3) | LogAppendTime (8) | transactional (16)
        0x00, 0x00, 0x00, 0x04, // lastOffsetDelta 4
        0x00, 0x00, 0x01, 0x8b, 0xcf, 0xe5, 0x68, 0x00, // baseTimestamp
        0x00, 0x00, 0x01, 0x8b, 0xcf, 0xe5, 0x68, 0x7b, // maxTimestamp
        0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x0f, 0xa0, // producerId 4000
        0x00, 0x03, // producerEpoch 3
        0x00, 0x00, 0x00, 0x64, // baseSequence 100
        0x00, 0x00, 0x00, 0x05, // recordsCount 5
    ];

    #[test]
    fn parses_every_field_at_its_offset() {
        let header = BatchHeader::parse(&GOLDEN).unwrap();
        assert_eq!(
            header,
            BatchHeader {
                base_offset: 1042,
                batch_length: 49,
                partition_leader_epoch: 7,
                magic: 2,
                crc: 0xdead_beef,
                attributes: 0x1b,
                last_offset_delta: 4,
                base_timestamp: 1_700_000_000_000,
                max_timestamp: 1_700_000_000_123,
                producer_id: 4000,
                producer_epoch: 3,
                base_sequence: 100,
                records_count: 5,
            }
        );
        assert_eq!(header.compression(), Compression::Lz4);
        assert_eq!(header.timestamp_type(), TimestampType::LogAppendTime);
        assert!(header.is_transactional());
        assert!(!header.is_control());
        assert!(!header.has_delete_horizon());
        assert_eq!(header.last_offset(), 1046);
        assert_eq!(header.next_offset(), 1047);
        assert_eq!(header.total_len(), 61);
        assert!(header.is_dense());
        assert_eq!(header.to_bytes(), GOLDEN);
    }

    #[test]
    fn rejects_what_cannot_be_a_v2_header() {
        let with = |at: usize, bytes: &[u8]| {
            let mut header = GOLDEN;
            header[at..at + bytes.len()].copy_from_slice(bytes);
            BatchHeader::parse(&header)
        };
        assert_eq!(
            with(MAGIC, &[1]),
            Err(WireError::OldMessageFormat {
                offset: 1042,
                magic: 1
            })
        );
        assert!(matches!(
            with(MAGIC, &[3]),
            Err(WireError::Corrupt { offset: 1042, .. })
        ));
        assert!(matches!(
            with(BATCH_LENGTH, &48i32.to_be_bytes()),
            Err(WireError::Corrupt { .. })
        ));
        assert!(matches!(
            with(BATCH_LENGTH, &(MAX_BATCH_LENGTH + 1).to_be_bytes()),
            Err(WireError::Corrupt { .. })
        ));
        assert!(matches!(
            with(RECORDS_COUNT, &(-1i32).to_be_bytes()),
            Err(WireError::Corrupt { .. })
        ));
        assert!(matches!(
            with(LAST_OFFSET_DELTA, &(-1i32).to_be_bytes()),
            Err(WireError::Corrupt { .. })
        ));
        assert!(matches!(
            with(BASE_OFFSET, &(-1i64).to_be_bytes()),
            Err(WireError::Corrupt { offset: -1, .. })
        ));
        assert_eq!(
            BatchHeader::parse(&GOLDEN[..60]),
            Err(WireError::TooShort {
                what: "record batch header",
                needed: 61,
                available: 60
            })
        );
        // A legacy message is recognised from its first 17 bytes.
        let mut legacy = GOLDEN[..17].to_vec();
        legacy[MAGIC] = 0;
        assert_eq!(
            BatchHeader::parse(&legacy),
            Err(WireError::OldMessageFormat {
                offset: 1042,
                magic: 0
            })
        );
    }

    #[test]
    fn sparse_batches_are_not_dense() {
        let mut header = BatchHeader::parse(&GOLDEN).unwrap();
        header.records_count = 3;
        assert!(!header.is_dense());
    }

    #[test]
    fn offsets_saturate_instead_of_overflowing() {
        let mut header = BatchHeader::parse(&GOLDEN).unwrap();
        header.base_offset = i64::MAX - 1;
        assert_eq!(header.last_offset(), i64::MAX);
        assert_eq!(header.next_offset(), i64::MAX);
    }
}
