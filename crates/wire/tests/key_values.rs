//! The control plane's record reader and writer against an independent
//! encoder and decoder (the `kafka-protocol` crate), for every codec, and
//! against arbitrary bytes.

mod common;

use bytes::Bytes;
use common::batch_spec;
use kafka_protocol::records::RecordBatchDecoder;
use kmirror_wire::batch::{decode_key_values, encode_key_values, OutgoingRecord};
use kmirror_wire::{split_record_set, RawBatch};
use proptest::prelude::*;

fn one_batch(bytes: Bytes) -> RawBatch {
    let split = split_record_set(&bytes);
    assert_eq!(split.batches.len(), 1);
    split.batches.into_iter().next().unwrap()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]

    /// Whatever another encoder wrote, with any codec, reads back with the
    /// same offsets, timestamps, keys and values.
    #[test]
    fn batches_of_another_encoder_read_back(spec in batch_spec()) {
        let batch = one_batch(spec.encode());
        let expected = spec.records();
        let read = decode_key_values(&[batch]).unwrap();
        prop_assert_eq!(read.len(), expected.len());
        for (got, want) in read.iter().zip(&expected) {
            prop_assert_eq!(got.offset, want.offset);
            prop_assert_eq!(got.timestamp, want.timestamp);
            prop_assert_eq!(&got.key, &want.key);
            prop_assert_eq!(&got.value, &want.value);
        }
    }

    /// What kmirror writes, the other decoder reads as written.
    #[test]
    fn written_batches_read_in_another_decoder(
        records in proptest::collection::vec(
            (proptest::collection::vec(any::<u8>(), 0..40),
             proptest::option::of(proptest::collection::vec(any::<u8>(), 0..200))),
            0..30),
        timestamp in 0i64..(1 << 42),
    ) {
        let records: Vec<OutgoingRecord> = records;
        let batch = encode_key_values(&records, timestamp).unwrap();
        let decoded = RecordBatchDecoder::decode(&mut batch.bytes.clone()).unwrap();
        prop_assert_eq!(decoded.records.len(), records.len());
        for (i, (got, (key, value))) in decoded.records.iter().zip(&records).enumerate() {
            prop_assert_eq!(got.offset, i as i64);
            prop_assert_eq!(got.timestamp, timestamp);
            prop_assert_eq!(got.key.as_deref(), Some(key.as_slice()));
            prop_assert_eq!(got.value.as_deref(), value.as_deref());
        }
    }

    /// Arbitrary bytes, framed as a batch or not, never panic the reader.
    #[test]
    fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..400)) {
        let bytes = Bytes::from(bytes);
        for batch in split_record_set(&bytes).batches {
            let _ = decode_key_values(&[batch]);
        }
    }

    /// A valid batch with any byte changed (CRC fixed or not) is read or
    /// refused, never a panic.
    #[test]
    fn corrupted_batches_never_panic(spec in batch_spec(), at in any::<prop::sample::Index>(), byte in any::<u8>()) {
        let mut bytes = spec.encode().to_vec();
        let i = at.index(bytes.len());
        bytes[i] = byte;
        for fix in [false, true] {
            let mut bytes = bytes.clone();
            if fix {
                common::fix_crc(&mut bytes);
            }
            for batch in split_record_set(&Bytes::from(bytes)).batches {
                let _ = decode_key_values(&[batch]);
            }
        }
    }
}
