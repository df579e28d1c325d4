//! `split_record_set` on real batches, truncated responses and garbage.

mod common;

use bytes::Bytes;
use common::{batch_spec, control_batch, legacy_message};
use kmirror_wire::{split_record_set, BatchHeader, PartialBatch, SplitEnd, WireError};
use proptest::prelude::*;

fn concat(batches: &[Bytes]) -> Bytes {
    Bytes::from(batches.concat())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn arbitrary_bytes_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..512)) {
        let bytes = Bytes::from(bytes);
        let split = split_record_set(&bytes);
        // Whatever came out is contiguous, whole and re-parses the same.
        let mut position = 0;
        for batch in &split.batches {
            prop_assert_eq!(batch.bytes.as_ptr(), bytes[position..].as_ptr());
            prop_assert_eq!(batch.bytes.len(), batch.header.total_len());
            prop_assert_eq!(BatchHeader::parse(&batch.bytes).unwrap(), batch.header);
            position += batch.bytes.len();
        }
        prop_assert_eq!(split.consumed(), position);
        match split.end {
            SplitEnd::Complete => prop_assert_eq!(position, bytes.len()),
            SplitEnd::Truncated(partial) => {
                prop_assert_eq!(partial.position, position);
                prop_assert_eq!(partial.available, bytes.len() - position);
            }
            SplitEnd::Failed { position: at, .. } => prop_assert_eq!(at, position),
        }
    }

    /// Plausible-looking garbage: a valid v2 prefix then random bytes, so
    /// the walk gets past the length and magic checks.
    #[test]
    fn garbage_behind_a_v2_prefix_never_panics(
        batch_length in 0i32..300,
        rest in prop::collection::vec(any::<u8>(), 0..400),
    ) {
        let mut bytes = vec![0u8; 8];
        bytes.extend_from_slice(&batch_length.to_be_bytes());
        bytes.extend_from_slice(&[0, 0, 0, 0, 2]);
        bytes.extend_from_slice(&rest);
        let _ = split_record_set(&Bytes::from(bytes));
    }

    #[test]
    fn a_truncated_response_yields_exactly_the_complete_batches(
        specs in prop::collection::vec(batch_spec(), 1..5),
        cut in any::<prop::sample::Index>(),
    ) {
        let batches: Vec<Bytes> = specs.iter().map(|spec| spec.encode()).collect();
        let all = concat(&batches);
        let cut = cut.index(all.len() + 1);
        let response = all.slice(..cut);

        let split = split_record_set(&response);

        let mut start = 0;
        let mut complete = 0;
        for batch in &batches {
            if start + batch.len() > cut {
                break;
            }
            start += batch.len();
            complete += 1;
        }
        prop_assert_eq!(split.batches.len(), complete);
        for (got, want) in split.batches.iter().zip(&batches) {
            prop_assert_eq!(&got.bytes, want);
            prop_assert_eq!(got.header, BatchHeader::parse(want).unwrap());
        }
        if start == cut {
            prop_assert_eq!(&split.end, &SplitEnd::Complete);
        } else {
            let available = cut - start;
            let total_len = (available > 16).then(|| batches[complete].len());
            prop_assert_eq!(
                &split.end,
                &SplitEnd::Truncated(PartialBatch { position: start, available, total_len })
            );
        }
        if complete > 0 {
            let last = BatchHeader::parse(&batches[complete - 1]).unwrap();
            prop_assert_eq!(split.next_offset(), Some(last.next_offset()));
        } else {
            prop_assert_eq!(split.next_offset(), None);
        }
    }
}

#[test]
fn empty_input_is_complete() {
    let split = split_record_set(&Bytes::new());
    assert!(split.batches.is_empty());
    assert_eq!(split.end, SplitEnd::Complete);
}

#[test]
fn stops_at_an_old_format_message_with_its_offset() {
    let marker = control_batch(100, 7, 1);
    let legacy = legacy_message(101);
    let response = Bytes::from([&marker[..], &legacy[..], &marker[..]].concat());
    let split = split_record_set(&response);
    assert_eq!(split.batches.len(), 1);
    assert_eq!(
        split.end,
        SplitEnd::Failed {
            position: marker.len(),
            error: WireError::OldMessageFormat {
                offset: 101,
                magic: 1
            }
        }
    );
    // Even when only its first 17 bytes arrived.
    let partial = Bytes::from(legacy[..17].to_vec());
    assert_eq!(
        split_record_set(&partial).end,
        SplitEnd::Failed {
            position: 0,
            error: WireError::OldMessageFormat {
                offset: 101,
                magic: 1
            }
        }
    );
}

#[test]
fn rejects_impossible_lengths() {
    let mut bytes = control_batch(5, 7, 0);
    for bad in [-1i32, 0, 48, i32::MAX] {
        bytes[8..12].copy_from_slice(&bad.to_be_bytes());
        let split = split_record_set(&Bytes::from(bytes.clone()));
        assert!(split.batches.is_empty());
        assert!(
            matches!(
                split.end,
                SplitEnd::Failed {
                    position: 0,
                    error: WireError::Corrupt { offset: 5, .. }
                }
            ),
            "batch length {bad}: {:?}",
            split.end
        );
    }
}

#[test]
fn an_empty_batch_is_a_batch() {
    // Compaction can leave a batch with no records to keep producer state.
    let mut empty = control_batch(40, 7, 0)[..61].to_vec();
    empty[8..12].copy_from_slice(&49i32.to_be_bytes());
    empty[21..23].copy_from_slice(&0i16.to_be_bytes());
    empty[57..61].copy_from_slice(&0i32.to_be_bytes());
    let split = split_record_set(&Bytes::from(empty));
    assert_eq!(split.batches.len(), 1);
    assert_eq!(split.batches[0].header.records_count, 0);
    assert_eq!(split.end, SplitEnd::Complete);
}
