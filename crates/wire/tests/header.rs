//! `BatchHeader` parse/serialize round trips and control-record decoding.

mod common;

use common::{batch_spec, control_batch};
use kmirror_wire::{
    control_record_type, BatchHeader, Compression, ControlType, TimestampType, WireError,
};
use proptest::prelude::*;

fn valid_header() -> impl Strategy<Value = BatchHeader> {
    (
        (
            0i64..=i64::MAX,
            49i32..=(1 << 30),
            any::<i32>(),
            any::<u32>(),
            any::<i16>(),
        ),
        (0i32..=i32::MAX, any::<i64>(), any::<i64>()),
        (any::<i64>(), any::<i16>(), any::<i32>(), 0i32..=i32::MAX),
    )
        .prop_map(
            |(
                (base_offset, batch_length, partition_leader_epoch, crc, attributes),
                (last_offset_delta, base_timestamp, max_timestamp),
                (producer_id, producer_epoch, base_sequence, records_count),
            )| BatchHeader {
                base_offset,
                batch_length,
                partition_leader_epoch,
                magic: 2,
                crc,
                attributes,
                last_offset_delta,
                base_timestamp,
                max_timestamp,
                producer_id,
                producer_epoch,
                base_sequence,
                records_count,
            },
        )
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(1024))]

    #[test]
    fn header_round_trips(header in valid_header(), tail in prop::collection::vec(any::<u8>(), 0..16)) {
        let mut bytes = header.to_bytes().to_vec();
        bytes.extend_from_slice(&tail);
        prop_assert_eq!(BatchHeader::parse(&bytes), Ok(header));
        let compression = header.compression();
        match header.attributes & 7 {
            0 => prop_assert_eq!(compression, Compression::None),
            4 => prop_assert_eq!(compression, Compression::Zstd),
            n @ 5..=7 => prop_assert_eq!(compression, Compression::Unknown(n as u8)),
            _ => {}
        }
        prop_assert_eq!(
            header.timestamp_type() == TimestampType::LogAppendTime,
            header.attributes & 8 != 0
        );
        prop_assert_eq!(header.is_transactional(), header.attributes & 16 != 0);
        prop_assert_eq!(header.is_control(), header.attributes & 32 != 0);
        prop_assert_eq!(header.total_len(), 12 + header.batch_length as usize);
        prop_assert!(header.next_offset() > header.base_offset || header.base_offset == i64::MAX);
    }

    #[test]
    fn parse_never_panics(bytes in prop::collection::vec(any::<u8>(), 0..80)) {
        if let Ok(header) = BatchHeader::parse(&bytes) {
            prop_assert_eq!(&header.to_bytes()[..], &bytes[..61]);
        }
        let _ = control_record_type(&bytes);
    }

    #[test]
    fn parse_agrees_with_kafka_protocol(spec in batch_spec()) {
        let batch = spec.encode();
        let header = BatchHeader::parse(&batch).unwrap();
        let records = spec.records();
        let first = &records[0];
        let last = records.last().unwrap();
        prop_assert_eq!(header.base_offset, first.offset);
        prop_assert_eq!(header.last_offset(), last.offset);
        prop_assert_eq!(header.records_count as usize, records.len());
        prop_assert_eq!(header.is_dense(), last.offset - first.offset + 1 == records.len() as i64);
        prop_assert_eq!(header.base_timestamp, records.iter().map(|r| r.timestamp).min().unwrap());
        prop_assert_eq!(header.max_timestamp, records.iter().map(|r| r.timestamp).max().unwrap());
        prop_assert_eq!(header.producer_id, spec.producer_id);
        prop_assert_eq!(header.producer_epoch, spec.producer_epoch);
        prop_assert_eq!(header.partition_leader_epoch, spec.partition_leader_epoch);
        prop_assert_eq!(header.is_transactional(), spec.transactional);
        prop_assert!(!header.is_control());
        prop_assert_eq!(header.total_len(), batch.len());
        prop_assert_eq!(control_record_type(&batch), None);
    }

    #[test]
    fn control_decoding_never_panics_on_damaged_markers(
        control_type in any::<i16>(),
        cut in 0usize..100,
        flip_at in any::<prop::sample::Index>(),
        flip in any::<u8>(),
    ) {
        let mut marker = control_batch(1, 2, control_type);
        let at = 61 + flip_at.index(marker.len() - 61);
        marker[at] ^= flip;
        let _ = control_record_type(&marker);
        let _ = control_record_type(&marker[..cut.min(marker.len())]);
    }
}

#[test]
fn reads_transaction_markers() {
    assert_eq!(
        control_record_type(&control_batch(10, 4000, 0)),
        Some(ControlType::Abort)
    );
    assert_eq!(
        control_record_type(&control_batch(10, 4000, 1)),
        Some(ControlType::Commit)
    );
    assert_eq!(
        control_record_type(&control_batch(10, 4000, 2)),
        Some(ControlType::Other(2))
    );
    let marker = control_batch(10, 4000, 1);
    let header = BatchHeader::parse(&marker).unwrap();
    assert!(header.is_control() && header.is_transactional());
    assert!(kmirror_wire::verify_crc(&marker));
}

#[test]
fn reads_markers_encoded_by_kafka_protocol() {
    use bytes::{Bytes, BytesMut};
    use kafka_protocol::records::{
        Compression as KpCompression, Record, RecordBatchEncoder, RecordEncodeOptions,
        TimestampType as KpTimestampType,
    };
    for (key, want) in [
        ([0u8, 0, 0, 0], ControlType::Abort),
        ([0, 0, 0, 1], ControlType::Commit),
    ] {
        let marker = Record {
            transactional: true,
            control: true,
            delete_horizon: false,
            partition_leader_epoch: 0,
            producer_id: 4000,
            producer_epoch: 2,
            timestamp_type: KpTimestampType::Creation,
            offset: 77,
            sequence: -1,
            timestamp: 1_700_000_000_000,
            key: Some(Bytes::copy_from_slice(&key)),
            value: Some(Bytes::from_static(&[0, 0, 0, 0, 0, 5])),
            headers: Default::default(),
        };
        let mut buf = BytesMut::new();
        RecordBatchEncoder::encode(
            &mut buf,
            [&marker],
            &RecordEncodeOptions {
                version: 2,
                compression: KpCompression::None,
            },
        )
        .unwrap();
        assert_eq!(control_record_type(&buf), Some(want));
    }
}

#[test]
fn not_a_marker() {
    // Truncated: the record framing runs past the batch.
    let marker = control_batch(10, 4000, 1);
    assert_eq!(control_record_type(&marker[..marker.len() - 1]), None);
    // Control bit cleared.
    let mut data = marker.clone();
    data[22] &= !0x20;
    assert_eq!(control_record_type(&data), None);
    // Key shorter than version + type.
    let mut short_key = marker.clone();
    short_key[65] = 0x02; // key length 1
    assert_eq!(control_record_type(&short_key), None);
    assert!(matches!(
        BatchHeader::parse(&marker[..5]),
        Err(WireError::TooShort { .. })
    ));
}
