//! Splitting arbitrary fetch responses, then forwarding what came out.

#![no_main]

use bytes::Bytes;
use kmirror_wire::{
    rewritten_batch_contiguous, split_record_set, verify_crc, BatchHeader, ProducerStamp, SplitEnd,
};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let bytes = Bytes::copy_from_slice(data);
    let split = split_record_set(&bytes);
    let mut position = 0;
    for batch in &split.batches {
        assert_eq!(batch.bytes.len(), batch.header.total_len());
        assert_eq!(BatchHeader::parse(&batch.bytes), Ok(batch.header));
        position += batch.bytes.len();
        if batch.header.is_control() {
            continue;
        }
        let stamp = ProducerStamp {
            producer_id: 42,
            producer_epoch: 1,
            base_sequence: 7,
            transactional: data.first() == Some(&0),
        };
        let rewritten = rewritten_batch_contiguous(&batch.bytes, &stamp).unwrap();
        // The rewrite neither fixes nor breaks a CRC.
        assert_eq!(verify_crc(&rewritten), verify_crc(&batch.bytes));
        assert_eq!(&rewritten[61..], &batch.bytes[61..]);
    }
    match split.end {
        SplitEnd::Complete => assert_eq!(position, data.len()),
        SplitEnd::Truncated(partial) => assert_eq!(partial.position, position),
        SplitEnd::Failed { position: at, .. } => assert_eq!(at, position),
    }
});
