//! The forwarding rewrite against real batches from an independent encoder
//! and decoder (the `kafka-protocol` crate), for every codec.

mod common;

use bytes::Bytes;
use common::{batch_spec, control_batch, fix_crc, BatchSpec, CODECS};
use kafka_protocol::records::{RecordBatchDecoder, TimestampType};
use kmirror_wire::{
    rewrite_header, rewritten_batch_contiguous, split_record_set, verify_crc, BatchHeader,
    ProducerStamp, TimestampType as WireTimestampType, WireError, BATCH_HEADER_LEN,
};
use proptest::prelude::*;

fn stamp() -> impl Strategy<Value = ProducerStamp> {
    (
        0i64..i64::MAX,
        0i16..i16::MAX,
        0i32..i32::MAX,
        any::<bool>(),
    )
        .prop_map(
            |(producer_id, producer_epoch, base_sequence, transactional)| ProducerStamp {
                producer_id,
                producer_epoch,
                base_sequence,
                transactional,
            },
        )
}

/// Checks a rewritten batch against the batch it came from, decoding both
/// with kafka-protocol (which also checks the CRC).
fn assert_forwarded(spec: &BatchSpec, original: &Bytes, stamp: &ProducerStamp) {
    let header = rewrite_header(original, stamp).unwrap();
    let rewritten = rewritten_batch_contiguous(original, stamp).unwrap();
    assert_eq!(&rewritten[..BATCH_HEADER_LEN], &header[..]);
    assert_eq!(
        &rewritten[BATCH_HEADER_LEN..],
        &original[BATCH_HEADER_LEN..]
    );

    // The combined CRC is the CRC of the bytes.
    let stored = u32::from_be_bytes(header[17..21].try_into().unwrap());
    assert_eq!(stored, crc32c::crc32c(&rewritten[21..]));
    assert!(verify_crc(&rewritten));

    let before = BatchHeader::parse(original).unwrap();
    let after = BatchHeader::parse(&rewritten).unwrap();
    assert_eq!(after.base_offset, 0);
    assert_eq!(after.partition_leader_epoch, -1);
    assert_eq!(after.producer_id, stamp.producer_id);
    assert_eq!(after.producer_epoch, stamp.producer_epoch);
    assert_eq!(after.base_sequence, stamp.base_sequence);
    assert_eq!(after.is_transactional(), stamp.transactional);
    assert_eq!(after.timestamp_type(), WireTimestampType::CreateTime);
    assert!(!after.has_delete_horizon());
    assert_eq!(after.compression(), before.compression());
    assert_eq!(after.batch_length, before.batch_length);
    assert_eq!(after.last_offset_delta, before.last_offset_delta);
    assert_eq!(after.base_timestamp, before.base_timestamp);
    assert_eq!(after.max_timestamp, before.max_timestamp);
    assert_eq!(after.records_count, before.records_count);

    let decoded = RecordBatchDecoder::decode(&mut rewritten.clone()).unwrap();
    let expected = spec.records();
    assert_eq!(decoded.records.len(), expected.len());
    for (got, want) in decoded.records.iter().zip(&expected) {
        let offset_delta = want.offset - spec.base_offset;
        assert_eq!(got.key, want.key);
        assert_eq!(got.value, want.value);
        assert_eq!(got.headers, want.headers);
        assert_eq!(got.timestamp, want.timestamp);
        assert_eq!(got.timestamp_type, TimestampType::Creation);
        assert_eq!(got.offset, offset_delta);
        assert_eq!(got.producer_id, stamp.producer_id);
        assert_eq!(got.producer_epoch, stamp.producer_epoch);
        assert_eq!(
            got.sequence,
            stamp.base_sequence.wrapping_add(offset_delta as i32)
        );
        assert_eq!(got.transactional, stamp.transactional);
        assert_eq!(got.partition_leader_epoch, -1);
        assert!(!got.control);
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn rewrite_keeps_records_and_fixes_crc(spec in batch_spec(), stamp in stamp()) {
        let original = spec.encode();
        prop_assert!(verify_crc(&original));
        assert_forwarded(&spec, &original, &stamp);
    }

    #[test]
    fn rewrite_clears_log_append_time_and_delete_horizon(spec in batch_spec(), stamp in stamp()) {
        let mut original = spec.encode().to_vec();
        original[22] |= 0x48; // LogAppendTime | delete horizon
        fix_crc(&mut original);
        let original = Bytes::from(original);
        let parsed = BatchHeader::parse(&original).unwrap();
        prop_assert_eq!(parsed.timestamp_type(), WireTimestampType::LogAppendTime);
        prop_assert!(parsed.has_delete_horizon());
        assert_forwarded(&spec, &original, &stamp);
    }

    #[test]
    fn a_corrupt_source_stays_corrupt(
        spec in batch_spec(),
        stamp in stamp(),
        flip_at in any::<prop::sample::Index>(),
        flip_bit in 0u8..8,
    ) {
        let mut original = spec.encode().to_vec();
        // Anywhere the CRC covers, payload or header.
        let at = 21 + flip_at.index(original.len() - 21);
        original[at] ^= 1 << flip_bit;
        prop_assert!(!verify_crc(&original));
        match rewritten_batch_contiguous(&original, &stamp) {
            Ok(rewritten) => {
                prop_assert!(!verify_crc(&rewritten));
                prop_assert!(RecordBatchDecoder::decode(&mut rewritten.clone()).is_err());
            }
            // A flip in a header field can make the header itself invalid
            // (a negative count, say): refused, which is just as good.
            Err(error) => prop_assert!(at < BATCH_HEADER_LEN, "{error}"),
        }
    }

    #[test]
    fn rewrite_through_split_sends_two_segments(spec in batch_spec(), stamp in stamp()) {
        let original = spec.encode();
        let split = split_record_set(&original);
        prop_assert_eq!(split.batches.len(), 1);
        let batch = &split.batches[0];
        let header = batch.rewritten_header(&stamp).unwrap();
        let payload = batch.payload();
        // Zero copy: the payload points into the fetched buffer.
        prop_assert_eq!(payload.as_ptr(), original[BATCH_HEADER_LEN..].as_ptr());
        let sent = [&header[..], &payload[..]].concat();
        prop_assert!(verify_crc(&sent));
    }
}

#[test]
fn every_codec_round_trips_a_fixed_batch() {
    let stamp = ProducerStamp {
        producer_id: 77,
        producer_epoch: 1,
        base_sequence: 1000,
        transactional: true,
    };
    for compression in CODECS {
        let spec = BatchSpec {
            base_offset: 5_000_000,
            partition_leader_epoch: 12,
            producer_id: 4000,
            producer_epoch: 0,
            transactional: false,
            compression,
            records: (0..20)
                .map(|i| common::RecordSpec {
                    offset_step: 1,
                    timestamp: 1_700_000_000_000 + i,
                    key: Some(format!("key-{i}").into_bytes()),
                    value: Some(vec![b'v'; 100]),
                    headers: vec![("trace".into(), Some(vec![i as u8]))],
                })
                .collect(),
        };
        let original = spec.encode();
        assert_eq!(
            BatchHeader::parse(&original).unwrap().compression(),
            match compression {
                kafka_protocol::records::Compression::None => kmirror_wire::Compression::None,
                kafka_protocol::records::Compression::Gzip => kmirror_wire::Compression::Gzip,
                kafka_protocol::records::Compression::Snappy => kmirror_wire::Compression::Snappy,
                kafka_protocol::records::Compression::Lz4 => kmirror_wire::Compression::Lz4,
                kafka_protocol::records::Compression::Zstd => kmirror_wire::Compression::Zstd,
            }
        );
        assert_forwarded(&spec, &original, &stamp);
    }
}

#[test]
fn rewrite_refuses_control_batches() {
    let marker = control_batch(900, 4000, 1);
    let stamp = ProducerStamp {
        producer_id: 1,
        producer_epoch: 0,
        base_sequence: 0,
        transactional: true,
    };
    assert_eq!(
        rewrite_header(&marker, &stamp),
        Err(WireError::ControlBatch { offset: 900 })
    );
}

#[test]
fn rewrite_refuses_a_slice_that_is_not_one_whole_batch() {
    let spec = BatchSpec {
        base_offset: 10,
        partition_leader_epoch: 0,
        producer_id: -1,
        producer_epoch: -1,
        transactional: false,
        compression: kafka_protocol::records::Compression::None,
        records: vec![common::RecordSpec {
            offset_step: 1,
            timestamp: 0,
            key: None,
            value: Some(b"x".to_vec()),
            headers: vec![],
        }],
    };
    let batch = spec.encode();
    let stamp = ProducerStamp {
        producer_id: 1,
        producer_epoch: 0,
        base_sequence: 0,
        transactional: false,
    };
    let short = &batch[..batch.len() - 1];
    assert!(matches!(
        rewrite_header(short, &stamp),
        Err(WireError::Corrupt { offset: 10, .. })
    ));
    let long = [&batch[..], &[0u8][..]].concat();
    assert!(matches!(
        rewrite_header(&long, &stamp),
        Err(WireError::Corrupt { offset: 10, .. })
    ));
    assert!(matches!(
        rewrite_header(&batch[..40], &stamp),
        Err(WireError::TooShort { .. })
    ));
}
