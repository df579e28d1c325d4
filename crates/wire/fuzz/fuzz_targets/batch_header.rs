//! Header parsing, CRC checks and control-record decoding on arbitrary bytes.

#![no_main]

use kmirror_wire::{control_record_type, verify_crc, BatchHeader};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(header) = BatchHeader::parse(data) {
        assert_eq!(&header.to_bytes()[..], &data[..61]);
        let _ = (
            header.last_offset(),
            header.next_offset(),
            header.is_dense(),
        );
    }
    let _ = verify_crc(data);
    let _ = control_record_type(data);
});
