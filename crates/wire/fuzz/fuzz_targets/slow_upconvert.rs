//! `upconvert_legacy` on arbitrary bytes: as they come, and with the CRC of
//! every top-level legacy message fixed so the message bodies and the
//! codecs behind them are reached.

#![no_main]

use bytes::Bytes;
use kmirror_wire::{upconvert_legacy, verify_crc, BatchHeader, TimestampType};
use libfuzzer_sys::fuzz_target;

fn run(bytes: Bytes) {
    let Ok((batches, consumed)) = upconvert_legacy(&bytes) else {
        return;
    };
    assert!(consumed <= bytes.len());
    assert_eq!(batches.is_empty(), consumed == 0);
    for batch in batches {
        assert!(verify_crc(&batch));
        let header = BatchHeader::parse(&batch).unwrap();
        assert_eq!(header.total_len(), batch.len());
        assert_eq!(header.timestamp_type(), TimestampType::CreateTime);
        assert!(header.records_count > 0);
    }
}

fuzz_target!(|data: &[u8]| {
    run(Bytes::copy_from_slice(data));
    let mut bytes = data.to_vec();
    let mut at = 0usize;
    while at + 17 <= bytes.len() {
        let size = i32::from_be_bytes(bytes[at + 8..at + 12].try_into().unwrap());
        let Ok(size) = usize::try_from(size) else {
            break;
        };
        let end = at + 12 + size;
        if size < 5 || end > bytes.len() {
            break;
        }
        let crc = crc32fast::hash(&bytes[at + 16..end]);
        bytes[at + 12..at + 16].copy_from_slice(&crc.to_be_bytes());
        at = end;
    }
    run(Bytes::from(bytes));
});
