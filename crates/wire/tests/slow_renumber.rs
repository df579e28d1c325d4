//! Batches with offset gaps (compacted sources) are renumbered so a broker
//! accepts them from a producer; everything a consumer reads stays.

use bytes::BytesMut;
use kafka_protocol::records::{
    Compression, Record, RecordBatchDecoder, RecordBatchEncoder, RecordEncodeOptions, TimestampType,
};
use kmirror_wire::{needs_rebuild, rebuild_for_forwarding, split_record_set, verify_crc};
use proptest::prelude::*;

fn codec() -> impl Strategy<Value = Compression> {
    prop_oneof![
        Just(Compression::None),
        Just(Compression::Gzip),
        Just(Compression::Snappy),
        Just(Compression::Lz4),
        Just(Compression::Zstd),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

    #[test]
    fn gapped_batches_are_renumbered_without_losing_anything(
        count in 1usize..30,
        trailing_gap in 0i32..50,
        compression in codec(),
        base in 0i64..1_000_000,
    ) {
        // kafka-protocol's encoder cuts batches at offset gaps, so the gap is
        // made the way the log cleaner leaves one when it removes a batch's
        // last records: lastOffsetDelta keeps the original range.
        let records: Vec<Record> = (0..count)
            .map(|i| {
                let record = Record {
                    transactional: false,
                    control: false,
                    delete_horizon: false,
                    partition_leader_epoch: 3,
                    producer_id: 77,
                    producer_epoch: 1,
                    timestamp_type: TimestampType::Creation,
                    offset: base + i as i64,
                    sequence: i as i32,
                    timestamp: 1_700_000_000_000 + i as i64 * 13,
                    key: Some(format!("key-{i}").into_bytes().into()),
                    value: (i % 3 != 0).then(|| vec![i as u8; i * 7].into()),
                    headers: Default::default(),
                };
                record
            })
            .collect();
        let mut buf = BytesMut::new();
        RecordBatchEncoder::encode(&mut buf, records.iter(), &RecordEncodeOptions { version: 2, compression }).unwrap();
        let last_offset_delta = (count as i32 - 1) + trailing_gap;
        buf[23..27].copy_from_slice(&last_offset_delta.to_be_bytes());
        let crc = crc32c::crc32c(&buf[21..]);
        buf[17..21].copy_from_slice(&crc.to_be_bytes());
        let bytes = buf.freeze();
        let split = split_record_set(&bytes);
        prop_assert_eq!(split.batches.len(), 1);
        let batch = &split.batches[0];
        prop_assert_eq!(needs_rebuild(&batch.header), trailing_gap > 0);

        let rebuilt = rebuild_for_forwarding(batch).unwrap();
        prop_assert!(verify_crc(&rebuilt));
        let header = &split_record_set(&rebuilt).batches[0].header;
        prop_assert!(header.is_dense());
        prop_assert_eq!(header.base_offset, base);
        prop_assert_eq!(header.records_count as usize, records.len());
        prop_assert_eq!(header.compression(), batch.header.compression());
        let decoded = RecordBatchDecoder::decode(&mut rebuilt.clone()).unwrap().records;
        for (i, (got, sent)) in decoded.iter().zip(&records).enumerate() {
            prop_assert_eq!(got.offset, base + i as i64);
            prop_assert_eq!(&got.key, &sent.key);
            prop_assert_eq!(&got.value, &sent.value);
            prop_assert_eq!(got.timestamp, sent.timestamp);
        }
    }
}
