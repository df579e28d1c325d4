//! Legacy (magic 0 and 1) message sets for tests, built field by field;
//! compression comes from the `kafka-protocol` crate's codecs. Checked
//! against Apache Kafka's own writer by `slow_legacy.rs`, which rebuilds the
//! Java-written fixtures byte for byte.

use bytes::{BufMut, BytesMut};
use kafka_protocol::compression::{Compressor, Gzip, Lz4, Snappy};
use proptest::prelude::*;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LegacyCodec {
    None,
    Gzip,
    Snappy,
    Lz4,
}

impl LegacyCodec {
    pub fn id(self) -> u8 {
        match self {
            LegacyCodec::None => 0,
            LegacyCodec::Gzip => 1,
            LegacyCodec::Snappy => 2,
            LegacyCodec::Lz4 => 3,
        }
    }

    pub fn wire(self) -> kmirror_wire::Compression {
        match self {
            LegacyCodec::None => kmirror_wire::Compression::None,
            LegacyCodec::Gzip => kmirror_wire::Compression::Gzip,
            LegacyCodec::Snappy => kmirror_wire::Compression::Snappy,
            LegacyCodec::Lz4 => kmirror_wire::Compression::Lz4,
        }
    }

    fn compress(self, data: &[u8]) -> Vec<u8> {
        let mut out = BytesMut::new();
        let fill = |buf: &mut BytesMut| -> anyhow::Result<()> {
            buf.put_slice(data);
            Ok(())
        };
        match self {
            LegacyCodec::None => out.put_slice(data),
            LegacyCodec::Gzip => Gzip::compress(&mut out, fill).unwrap(),
            LegacyCodec::Snappy => Snappy::compress(&mut out, fill).unwrap(),
            LegacyCodec::Lz4 => Lz4::compress(&mut out, fill).unwrap(),
        }
        out.to_vec()
    }
}

/// One record of a legacy message set: what a Java consumer reads.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LegacyRecord {
    pub offset: i64,
    /// -1 for magic 0.
    pub timestamp: i64,
    pub key: Option<Vec<u8>>,
    pub value: Option<Vec<u8>>,
}

/// One message with its log overhead.
pub fn message(
    offset: i64,
    magic: u8,
    attributes: u8,
    timestamp: i64,
    key: Option<&[u8]>,
    value: Option<&[u8]>,
) -> Vec<u8> {
    let mut body = vec![magic, attributes];
    if magic == 1 {
        body.extend_from_slice(&timestamp.to_be_bytes());
    }
    for field in [key, value] {
        match field {
            None => body.extend_from_slice(&(-1i32).to_be_bytes()),
            Some(bytes) => {
                body.extend_from_slice(&(bytes.len() as i32).to_be_bytes());
                body.extend_from_slice(bytes);
            }
        }
    }
    let mut out = Vec::new();
    out.extend_from_slice(&offset.to_be_bytes());
    out.extend_from_slice(&((4 + body.len()) as i32).to_be_bytes());
    out.extend_from_slice(&crc32fast::hash(&body).to_be_bytes());
    out.extend_from_slice(&body);
    out
}

/// Uncompressed messages, one per record.
pub fn uncompressed(magic: u8, records: &[LegacyRecord]) -> Vec<u8> {
    records
        .iter()
        .flat_map(|r| {
            message(
                r.offset,
                magic,
                0,
                r.timestamp,
                r.key.as_deref(),
                r.value.as_deref(),
            )
        })
        .collect()
}

/// One compressed wrapper holding `records` (offsets increasing), as a
/// broker stores it: inner offsets absolute for magic 0, relative to the
/// first for magic 1; the wrapper at the last offset, with the append
/// time (and the LogAppendTime bit) or else the largest timestamp. The
/// magic 0 lz4 frame gets a wrong descriptor checksum, as Kafka wrote it.
pub fn wrapper(
    magic: u8,
    codec: LegacyCodec,
    log_append_time: Option<i64>,
    records: &[LegacyRecord],
) -> Vec<u8> {
    let first = records[0].offset;
    let inner: Vec<u8> = records
        .iter()
        .flat_map(|r| {
            let offset = if magic == 1 {
                r.offset - first
            } else {
                r.offset
            };
            message(
                offset,
                magic,
                0,
                r.timestamp,
                r.key.as_deref(),
                r.value.as_deref(),
            )
        })
        .collect();
    let mut compressed = codec.compress(&inner);
    if magic == 0 && codec == LegacyCodec::Lz4 {
        compressed[6] ^= 0xa5;
    }
    let last = records.last().unwrap();
    let (attributes, timestamp) = match log_append_time {
        Some(time) => (codec.id() | 0x08, time),
        None => (
            codec.id(),
            records.iter().map(|r| r.timestamp).max().unwrap(),
        ),
    };
    let timestamp = if magic == 0 { -1 } else { timestamp };
    message(
        last.offset,
        magic,
        attributes,
        timestamp,
        None,
        Some(&compressed),
    )
}

/// What a consumer reads from `wrapper(magic, _, log_append_time, records)`.
pub fn read_back(
    magic: u8,
    log_append_time: Option<i64>,
    records: &[LegacyRecord],
) -> Vec<LegacyRecord> {
    records
        .iter()
        .map(|r| LegacyRecord {
            timestamp: match (magic, log_append_time) {
                (0, _) => -1,
                (_, Some(time)) => time,
                (_, None) => r.timestamp,
            },
            ..r.clone()
        })
        .collect()
}

fn field() -> impl Strategy<Value = Option<Vec<u8>>> {
    prop::option::weighted(0.85, prop::collection::vec(any::<u8>(), 0..120))
}

/// 1..12 records from `base`, offsets with occasional gaps (compaction).
pub fn legacy_records(magic: u8) -> impl Strategy<Value = Vec<LegacyRecord>> {
    (
        0i64..(1 << 40),
        prop::collection::vec(
            (
                prop_oneof![4 => Just(1i64), 1 => 2i64..100],
                0i64..(1 << 42),
                field(),
                field(),
            ),
            1..12,
        ),
    )
        .prop_map(move |(base, specs)| {
            let mut offset = base;
            specs
                .into_iter()
                .enumerate()
                .map(|(index, (step, timestamp, key, value))| {
                    if index > 0 {
                        offset += step;
                    }
                    LegacyRecord {
                        offset,
                        timestamp: if magic == 0 { -1 } else { timestamp },
                        key,
                        value,
                    }
                })
                .collect()
        })
}

pub fn legacy_codec() -> impl Strategy<Value = LegacyCodec> {
    prop::sample::select(vec![
        LegacyCodec::None,
        LegacyCodec::Gzip,
        LegacyCodec::Snappy,
        LegacyCodec::Lz4,
    ])
}
