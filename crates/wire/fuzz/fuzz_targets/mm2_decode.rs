//! MM2 record decoding on arbitrary key/value pairs; whatever decodes must
//! encode back to the same bytes (the formats have one encoding).

#![no_main]

use kmirror_wire::{Checkpoint, Heartbeat, OffsetSync};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some((&split, rest)) = data.split_first() else {
        return;
    };
    let (key, value) = rest.split_at(usize::from(split).min(rest.len()));
    if let Ok(heartbeat) = Heartbeat::decode(key, value) {
        assert_eq!(heartbeat.encode_key().unwrap(), key);
        assert_eq!(heartbeat.encode_value(), value);
    }
    if let Ok(checkpoint) = Checkpoint::decode(key, value) {
        assert_eq!(checkpoint.encode_key().unwrap(), key);
        assert_eq!(checkpoint.encode_value().unwrap(), value);
    }
    if let Ok(sync) = OffsetSync::decode(key, value) {
        assert_eq!(sync.encode_key().unwrap(), key);
        assert_eq!(sync.encode_value(), value);
    }
});
