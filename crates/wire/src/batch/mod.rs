//! Kafka RecordBatch v2: header parsing, record-set splitting, CRC checks,
//! the forwarding header rewrite and control-record decoding; and the
//! [`slow`] path for the batches that cannot be forwarded as they are.

mod control;
mod crc;
mod header;
mod rewrite;
pub mod slow;
mod split;
mod varint;

pub use control::{control_record_type, ControlType};
pub use crc::verify_crc;
pub use header::{
    BatchHeader, Compression, TimestampType, BATCH_HEADER_LEN, BATCH_LENGTH_PREFIX, MAGIC_V2,
    MAX_BATCH_LENGTH, MIN_BATCH_LENGTH,
};
pub use rewrite::{rewrite_header, rewritten_batch_contiguous, ProducerStamp};
pub use slow::{
    decode_key_values, decompression_limit, encode_key_values, needs_rebuild,
    normalize_log_append_time, rebuild_for_forwarding, upconvert_legacy, KeyValue, OutgoingRecord,
    MAX_DECOMPRESSED_LEN,
};
pub use split::{split_record_set, PartialBatch, RawBatch, SplitEnd, SplitResult};
