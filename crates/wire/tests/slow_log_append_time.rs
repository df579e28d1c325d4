//! `normalize_log_append_time` against batches from an independent encoder
//! and decoder (the `kafka-protocol` crate), for every codec.

mod common;

use bytes::{Bytes, BytesMut};
use common::{batch_spec, control_batch, fix_crc, BatchSpec, RecordSpec, CODECS};
use kafka_protocol::records::{
    Compression as KpCompression, Record, RecordBatchDecoder, RecordBatchEncoder,
    RecordEncodeOptions, TimestampType,
};
use kmirror_wire::{
    normalize_log_append_time, split_record_set, verify_crc, BatchHeader, RawBatch,
    TimestampType as WireTimestampType, WireError, BATCH_HEADER_LEN,
};
use proptest::prelude::*;

/// `bytes` with the LogAppendTime bit (and maybe the delete horizon bit)
/// set and `maxTimestamp` = `append_time`, CRC fixed: a batch as a
/// LogAppendTime broker hands it out.
fn as_log_append_time(bytes: &[u8], append_time: i64, delete_horizon: bool) -> RawBatch {
    let mut bytes = bytes.to_vec();
    bytes[22] |= 0x08;
    if delete_horizon {
        bytes[22] |= 0x40;
    }
    bytes[35..43].copy_from_slice(&append_time.to_be_bytes());
    fix_crc(&mut bytes);
    let split = split_record_set(&Bytes::from(bytes));
    assert_eq!(split.batches.len(), 1);
    split.batches.into_iter().next().unwrap()
}

fn check_normalized(spec: &BatchSpec, input: &RawBatch, append_time: i64) {
    let output = normalize_log_append_time(input).unwrap();
    assert!(verify_crc(&output), "CRC");
    let before = input.header;
    let after = BatchHeader::parse(&output).unwrap();
    assert_eq!(after.total_len(), output.len());
    assert_eq!(after.base_offset, before.base_offset);
    assert_eq!(after.partition_leader_epoch, before.partition_leader_epoch);
    assert_eq!(after.last_offset_delta, before.last_offset_delta);
    assert_eq!(after.records_count, before.records_count);
    assert_eq!(after.producer_id, before.producer_id);
    assert_eq!(after.producer_epoch, before.producer_epoch);
    assert_eq!(after.base_sequence, before.base_sequence);
    assert_eq!(after.is_transactional(), before.is_transactional());
    assert_eq!(after.compression(), before.compression());
    assert_eq!(after.timestamp_type(), WireTimestampType::CreateTime);
    assert!(!after.has_delete_horizon());
    assert_eq!(after.base_timestamp, append_time);
    assert_eq!(after.max_timestamp, append_time);
    if after.compression() == kmirror_wire::Compression::None {
        assert!(output.len() <= input.bytes.len());
    }

    let decoded = RecordBatchDecoder::decode(&mut output.clone()).unwrap();
    let expected = spec.records();
    assert_eq!(decoded.records.len(), expected.len());
    for (got, want) in decoded.records.iter().zip(&expected) {
        assert_eq!(got.offset, want.offset);
        assert_eq!(got.key, want.key);
        assert_eq!(got.value, want.value);
        assert_eq!(got.headers, want.headers);
        assert_eq!(got.timestamp, append_time);
        assert_eq!(got.timestamp_type, TimestampType::Creation);
        assert_eq!(got.producer_id, want.producer_id);
        assert_eq!(got.sequence, want.sequence);
        assert_eq!(got.transactional, want.transactional);
    }
}

fn append_time() -> impl Strategy<Value = i64> {
    prop_oneof![Just(-1i64), 0i64..(1 << 42), Just(i64::MAX)]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn every_record_reads_the_append_time(
        spec in batch_spec(),
        append_time in append_time(),
        delete_horizon in any::<bool>(),
    ) {
        let input = as_log_append_time(&spec.encode(), append_time, delete_horizon);
        check_normalized(&spec, &input, append_time);
    }

    #[test]
    fn normalizing_twice_changes_nothing_more(spec in batch_spec(), append_time in append_time()) {
        let input = as_log_append_time(&spec.encode(), append_time, false);
        let once = normalize_log_append_time(&input).unwrap();
        let split = split_record_set(&once);
        let again = normalize_log_append_time(&split.batches[0]).unwrap();
        // Already CreateTime: the same bytes, not even copied.
        prop_assert_eq!(again.as_ptr(), once.as_ptr());
    }

    #[test]
    fn a_corrupt_batch_is_refused_not_resigned(
        spec in batch_spec(),
        flip_at in any::<prop::sample::Index>(),
        flip_bit in 0u8..8,
    ) {
        let input = as_log_append_time(&spec.encode(), 1_700_000_000_000, false);
        let mut bytes = input.bytes.to_vec();
        // Anywhere in the records, which only the CRC protects.
        let at = BATCH_HEADER_LEN + flip_at.index(bytes.len() - BATCH_HEADER_LEN);
        bytes[at] ^= 1 << flip_bit;
        let corrupt = RawBatch { header: input.header, bytes: Bytes::from(bytes) };
        prop_assert!(
            matches!(normalize_log_append_time(&corrupt), Err(WireError::Corrupt { .. })),
            "accepted a batch with a wrong CRC"
        );
    }

    #[test]
    fn arbitrary_records_with_a_valid_crc_never_panic(
        codec in 0i16..8,
        records in prop::collection::vec(any::<u8>(), 0..600),
        count in prop_oneof![0i32..20, any::<i32>()],
    ) {
        let mut bytes = vec![0u8; BATCH_HEADER_LEN];
        bytes[8..12].copy_from_slice(&((49 + records.len()) as i32).to_be_bytes());
        bytes[16] = 2;
        bytes[21..23].copy_from_slice(&(codec | 0x08).to_be_bytes());
        bytes[57..61].copy_from_slice(&count.max(0).to_be_bytes());
        bytes.extend_from_slice(&records);
        check_never_panics(bytes);
    }

    #[test]
    fn mutated_batches_with_a_valid_crc_never_panic(
        spec in batch_spec(),
        flips in prop::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..4),
    ) {
        let mut bytes = spec.encode().to_vec();
        for (at, value) in flips {
            let at = BATCH_HEADER_LEN + at.index(bytes.len() - BATCH_HEADER_LEN);
            bytes[at] = value;
        }
        bytes[22] |= 0x08;
        check_never_panics(bytes);
    }
}

/// Signs `bytes` and normalizes whatever batch it is; anything that comes
/// out must be a valid batch kafka-protocol reads.
fn check_never_panics(mut bytes: Vec<u8>) {
    fix_crc(&mut bytes);
    let bytes = Bytes::from(bytes);
    for batch in split_record_set(&bytes).batches {
        if let Ok(output) = normalize_log_append_time(&batch) {
            assert!(verify_crc(&output));
            let header = BatchHeader::parse(&output).unwrap();
            assert_eq!(header.records_count, batch.header.records_count);
            assert_eq!(header.timestamp_type(), WireTimestampType::CreateTime);
        }
    }
}

#[test]
fn every_codec_with_many_records_and_large_values() {
    for compression in CODECS {
        let spec = BatchSpec {
            base_offset: 1 << 33,
            partition_leader_epoch: 3,
            producer_id: 4000,
            producer_epoch: 2,
            transactional: true,
            compression,
            records: (0..300)
                .map(|i| RecordSpec {
                    offset_step: 1 + i64::from(i % 7 == 0),
                    timestamp: 1_600_000_000_000 - i64::from(i) * 1_000_000,
                    key: (i % 5 != 0).then(|| format!("key-{i}").into_bytes()),
                    value: (i % 11 != 0).then(|| vec![(i % 256) as u8; 500 + i as usize * 3]),
                    headers: vec![("h".into(), Some(vec![1, 2, 3])), ("n".into(), None)],
                })
                .collect(),
        };
        let input = as_log_append_time(&spec.encode(), 1_700_000_000_000, true);
        check_normalized(&spec, &input, 1_700_000_000_000);
    }
}

#[test]
fn create_time_batches_come_back_as_they_are() {
    let spec = BatchSpec {
        base_offset: 10,
        partition_leader_epoch: 0,
        producer_id: -1,
        producer_epoch: -1,
        transactional: false,
        compression: KpCompression::Lz4,
        records: vec![RecordSpec {
            offset_step: 1,
            timestamp: 5,
            key: None,
            value: Some(b"v".to_vec()),
            headers: vec![],
        }],
    };
    let encoded = spec.encode();
    let batch = split_record_set(&encoded).batches.remove(0);
    let output = normalize_log_append_time(&batch).unwrap();
    assert_eq!(output.as_ptr(), encoded.as_ptr());
    assert_eq!(output.len(), encoded.len());
}

#[test]
fn control_batches_are_refused() {
    let mut marker = control_batch(77, 4000, 0);
    marker[22] |= 0x08;
    fix_crc(&mut marker);
    let batch = split_record_set(&Bytes::from(marker)).batches.remove(0);
    assert_eq!(
        normalize_log_append_time(&batch),
        Err(WireError::ControlBatch { offset: 77 })
    );
}

#[test]
fn a_record_count_that_lies_is_refused() {
    for compression in CODECS {
        let spec = BatchSpec {
            base_offset: 0,
            partition_leader_epoch: 0,
            producer_id: -1,
            producer_epoch: -1,
            transactional: false,
            compression,
            records: (0..3)
                .map(|i| RecordSpec {
                    offset_step: 1,
                    timestamp: i,
                    key: None,
                    value: Some(vec![7; 10]),
                    headers: vec![],
                })
                .collect(),
        };
        for count in [0i32, 2, 4, i32::MAX] {
            let mut bytes = spec.encode().to_vec();
            bytes[57..61].copy_from_slice(&count.to_be_bytes());
            let input = as_log_append_time(&bytes, 9, false);
            assert!(
                matches!(
                    normalize_log_append_time(&input),
                    Err(WireError::Corrupt { .. })
                ),
                "{compression:?} count {count}"
            );
        }
    }
}

#[test]
fn a_decompression_bomb_is_refused() {
    // 4 MiB of zeros compresses to a few KiB with gzip and zstd (lz4 and
    // snappy cannot beat about 255:1 and 21:1, within the 256:1 believed).
    for compression in [KpCompression::Gzip, KpCompression::Zstd] {
        let record = Record {
            transactional: false,
            control: false,
            delete_horizon: false,
            partition_leader_epoch: 0,
            producer_id: -1,
            producer_epoch: -1,
            timestamp_type: TimestampType::Creation,
            offset: 0,
            sequence: 0,
            timestamp: 0,
            key: None,
            value: Some(Bytes::from(vec![0u8; 4 << 20])),
            headers: Default::default(),
        };
        let mut encoded = BytesMut::new();
        RecordBatchEncoder::encode(
            &mut encoded,
            [&record],
            &RecordEncodeOptions {
                version: 2,
                compression,
            },
        )
        .unwrap();
        let compressed_len = encoded.len() - BATCH_HEADER_LEN;
        let input = as_log_append_time(&encoded, 1, false);
        let limit = kmirror_wire::decompression_limit(compressed_len);
        assert!(limit < 4 << 20, "{compression:?}: {compressed_len} bytes");
        let result = normalize_log_append_time(&input).map(|bytes| bytes.len());
        assert_eq!(
            result,
            Err(WireError::DecompressionLimit { offset: 0, limit }),
            "{compression:?}"
        );
    }
}

#[test]
fn a_header_that_disagrees_with_the_bytes_is_not_trusted() {
    let spec = BatchSpec {
        base_offset: 5,
        partition_leader_epoch: 0,
        producer_id: -1,
        producer_epoch: -1,
        transactional: false,
        compression: KpCompression::None,
        records: vec![RecordSpec {
            offset_step: 1,
            timestamp: 5,
            key: None,
            value: None,
            headers: vec![],
        }],
    };
    let mut input = as_log_append_time(&spec.encode(), 42, false);
    input.header.records_count = 1000;
    input.header.max_timestamp = 0;
    let output = normalize_log_append_time(&input).unwrap();
    let header = BatchHeader::parse(&output).unwrap();
    assert_eq!(header.records_count, 1);
    assert_eq!(header.max_timestamp, 42);
    // Truncated bytes are refused whatever the header says.
    input.bytes.truncate(input.bytes.len() - 1);
    assert!(normalize_log_append_time(&input).is_err());
}
