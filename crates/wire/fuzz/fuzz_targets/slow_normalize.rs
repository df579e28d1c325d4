//! `normalize_log_append_time` on arbitrary bytes: as they come (mostly
//! refused by the header or CRC checks), and signed as one LogAppendTime
//! batch so that the record walk and the codecs see them.

#![no_main]

use bytes::Bytes;
use kmirror_wire::{
    normalize_log_append_time, split_record_set, verify_crc, BatchHeader, TimestampType,
};
use libfuzzer_sys::fuzz_target;

fn run(bytes: Bytes) {
    for batch in split_record_set(&bytes).batches {
        let Ok(output) = normalize_log_append_time(&batch) else {
            continue;
        };
        let header = BatchHeader::parse(&output).unwrap();
        assert_eq!(header.total_len(), output.len());
        assert_eq!(header.timestamp_type(), TimestampType::CreateTime);
        assert_eq!(header.base_offset, batch.header.base_offset);
        assert_eq!(header.last_offset_delta, batch.header.last_offset_delta);
        assert_eq!(header.records_count, batch.header.records_count);
        assert_eq!(header.compression(), batch.header.compression());
        if batch.header.timestamp_type() == TimestampType::LogAppendTime {
            // Signed afresh only because the input's CRC held.
            assert!(verify_crc(&output) && verify_crc(&batch.bytes));
            assert_eq!(header.base_timestamp, batch.header.max_timestamp);
            assert_eq!(header.max_timestamp, batch.header.max_timestamp);
        } else {
            // Passed through untouched, a wrong CRC included.
            assert_eq!(output, batch.bytes);
        }
    }
}

fuzz_target!(|data: &[u8]| {
    run(Bytes::copy_from_slice(data));
    if data.len() >= 61 {
        let mut bytes = data.to_vec();
        let batch_length = (bytes.len() - 12) as i32;
        bytes[8..12].copy_from_slice(&batch_length.to_be_bytes());
        bytes[16] = 2;
        bytes[0] &= 0x7f; // base offset >= 0
        bytes[23] &= 0x7f; // last offset delta >= 0
        bytes[57] &= 0x7f; // records count >= 0
        bytes[22] = (bytes[22] | 0x08) & !0x20; // LogAppendTime, not control
        let crc = crc32c::crc32c(&bytes[21..]);
        bytes[17..21].copy_from_slice(&crc.to_be_bytes());
        run(Bytes::from(bytes));
    }
});
