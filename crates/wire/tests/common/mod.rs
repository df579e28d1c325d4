//! Batch builders and proptest strategies shared by the integration tests.
//! Real batches come from the `kafka-protocol` crate's encoder, an
//! implementation independent of ours.

#![allow(dead_code)]

pub mod legacy;

use bytes::{Bytes, BytesMut};
use kafka_protocol::indexmap::IndexMap;
use kafka_protocol::protocol::StrBytes;
use kafka_protocol::records::{
    Compression, Record, RecordBatchEncoder, RecordEncodeOptions, TimestampType,
};
use proptest::prelude::*;

pub const CODECS: [Compression; 5] = [
    Compression::None,
    Compression::Gzip,
    Compression::Snappy,
    Compression::Lz4,
    Compression::Zstd,
];

pub fn codec() -> impl Strategy<Value = Compression> {
    prop::sample::select(CODECS.to_vec())
}

/// The batch-level fields every record of one batch shares.
#[derive(Debug, Clone)]
pub struct BatchSpec {
    pub base_offset: i64,
    pub partition_leader_epoch: i32,
    pub producer_id: i64,
    pub producer_epoch: i16,
    pub transactional: bool,
    pub compression: Compression,
    pub records: Vec<RecordSpec>,
}

#[derive(Debug, Clone)]
pub struct RecordSpec {
    /// Added to the previous record's offset (>= 1; > 1 makes a gap).
    pub offset_step: i64,
    pub timestamp: i64,
    pub key: Option<Vec<u8>>,
    pub value: Option<Vec<u8>>,
    pub headers: Vec<(String, Option<Vec<u8>>)>,
}

fn bytes_up_to(max: usize) -> impl Strategy<Value = Vec<u8>> {
    prop::collection::vec(any::<u8>(), 0..=max)
}

pub fn record_spec() -> impl Strategy<Value = RecordSpec> {
    (
        prop_oneof![4 => Just(1i64), 1 => 2i64..5],
        0i64..(1 << 42),
        prop::option::weighted(0.9, bytes_up_to(24)),
        prop::option::weighted(0.9, bytes_up_to(200)),
        prop::collection::vec(
            ("[a-z-]{0,8}", prop::option::weighted(0.8, bytes_up_to(16))),
            0..3,
        ),
    )
        .prop_map(|(offset_step, timestamp, key, value, headers)| RecordSpec {
            offset_step,
            timestamp,
            key,
            value,
            headers,
        })
}

pub fn batch_spec() -> impl Strategy<Value = BatchSpec> {
    (
        0i64..(1 << 40),
        0i32..1000,
        prop_oneof![Just(-1i64), 0i64..(1 << 40)],
        0i16..100,
        any::<bool>(),
        codec(),
        prop::collection::vec(record_spec(), 1..8),
    )
        .prop_map(
            |(
                base_offset,
                partition_leader_epoch,
                producer_id,
                producer_epoch,
                transactional,
                compression,
                records,
            )| BatchSpec {
                base_offset,
                partition_leader_epoch,
                producer_id,
                producer_epoch,
                transactional,
                compression,
                records,
            },
        )
}

impl BatchSpec {
    /// The records as kafka-protocol sees them, with absolute offsets.
    pub fn records(&self) -> Vec<Record> {
        let mut offset = self.base_offset;
        self.records
            .iter()
            .enumerate()
            .map(|(index, spec)| {
                if index > 0 {
                    offset += spec.offset_step;
                }
                let headers: IndexMap<StrBytes, Option<Bytes>> = spec
                    .headers
                    .iter()
                    .map(|(k, v)| (StrBytes::from_string(k.clone()), v.clone().map(Bytes::from)))
                    .collect();
                Record {
                    transactional: self.transactional,
                    control: false,
                    delete_horizon: false,
                    partition_leader_epoch: self.partition_leader_epoch,
                    producer_id: self.producer_id,
                    producer_epoch: self.producer_epoch,
                    timestamp_type: TimestampType::Creation,
                    offset,
                    // The encoder starts a new batch whenever offset minus
                    // sequence changes; keep it constant for one batch.
                    sequence: offset as i32,
                    timestamp: spec.timestamp,
                    key: spec.key.clone().map(Bytes::from),
                    value: spec.value.clone().map(Bytes::from),
                    headers,
                }
            })
            .collect()
    }

    /// Exactly one encoded batch.
    pub fn encode(&self) -> Bytes {
        let records = self.records();
        let mut buf = BytesMut::new();
        RecordBatchEncoder::encode(
            &mut buf,
            records.iter(),
            &RecordEncodeOptions {
                version: 2,
                compression: self.compression,
            },
        )
        .unwrap();
        let bytes = buf.freeze();
        let one = kmirror_wire::BatchHeader::parse(&bytes).unwrap();
        assert_eq!(one.total_len(), bytes.len(), "encoder made several batches");
        bytes
    }
}

/// Sets the stored CRC of `batch` to the CRC of its bytes.
pub fn fix_crc(batch: &mut [u8]) {
    let crc = crc32c::crc32c(&batch[21..]);
    batch[17..21].copy_from_slice(&crc.to_be_bytes());
}

/// A transaction marker as a broker writes it: an uncompressed control
/// batch with one record whose key is `version 0, type` and whose value is
/// `version 0, coordinator epoch`. Built byte by byte.
pub fn control_batch(base_offset: i64, producer_id: i64, control_type: i16) -> Vec<u8> {
    let mut record = vec![
        0x00, // attributes
        0x00, // timestamp delta 0
        0x00, // offset delta 0
        0x08, // key length 4
    ];
    record.extend_from_slice(&0i16.to_be_bytes());
    record.extend_from_slice(&control_type.to_be_bytes());
    record.push(0x0c); // value length 6
    record.extend_from_slice(&0i16.to_be_bytes());
    record.extend_from_slice(&5i32.to_be_bytes()); // coordinator epoch
    record.push(0x00); // no headers
    let mut records = vec![(record.len() as u8) << 1];
    records.extend_from_slice(&record);

    let mut batch = Vec::new();
    batch.extend_from_slice(&base_offset.to_be_bytes());
    batch.extend_from_slice(&((49 + records.len()) as i32).to_be_bytes());
    batch.extend_from_slice(&3i32.to_be_bytes()); // leader epoch
    batch.push(2);
    batch.extend_from_slice(&[0; 4]); // crc, fixed below
    batch.extend_from_slice(&0x30i16.to_be_bytes()); // transactional | control
    batch.extend_from_slice(&0i32.to_be_bytes()); // last offset delta
    batch.extend_from_slice(&1_700_000_000_000i64.to_be_bytes());
    batch.extend_from_slice(&1_700_000_000_000i64.to_be_bytes());
    batch.extend_from_slice(&producer_id.to_be_bytes());
    batch.extend_from_slice(&1i16.to_be_bytes());
    batch.extend_from_slice(&(-1i32).to_be_bytes()); // no sequence
    batch.extend_from_slice(&1i32.to_be_bytes()); // one record
    batch.extend_from_slice(&records);
    fix_crc(&mut batch);
    batch
}

/// A magic 1 message (MessageSet v1) as 0.10 brokers store it.
pub fn legacy_message(offset: i64) -> Vec<u8> {
    let mut body = vec![1u8, 0]; // magic 1, attributes
    body.extend_from_slice(&1_500_000_000_000i64.to_be_bytes());
    body.extend_from_slice(&(-1i32).to_be_bytes()); // null key
    body.extend_from_slice(&3i32.to_be_bytes());
    body.extend_from_slice(b"old");
    let crc = crc32c::crc32c(&body); // a CRC-32 in reality; nobody checks it here
    let mut message = Vec::new();
    message.extend_from_slice(&offset.to_be_bytes());
    message.extend_from_slice(&((4 + body.len()) as i32).to_be_bytes());
    message.extend_from_slice(&crc.to_be_bytes());
    message.extend_from_slice(&body);
    message
}
