//! Pure (no I/O) Kafka byte formats kmirror needs on its hot path and in its
//! control plane.
//!
//! - [`batch`]: RecordBatch v2 headers, cutting a fetch response's
//!   `records` bytes into whole batches, CRC checks, the header rewrite
//!   that turns a fetched batch into one our producer can send, and
//!   control-record (transaction marker) decoding.
//! - [`batch::slow`]: the slow path for the batches that cannot pass
//!   through unchanged, [`normalize_log_append_time`] and
//!   [`upconvert_legacy`].
//! - [`mm2`]: MM2's heartbeat, checkpoint and offset-sync records, byte
//!   for byte as Apache Kafka writes them.
//!
//! # Why batch headers are parsed by hand
//!
//! kmirror forwards batches without decompressing them: only the 61-byte
//! header changes, the (often compressed) records behind it travel byte for
//! byte. The `kafka-protocol` crate's batch decoder does not fit that path:
//! it decodes (and decompresses) every record, fails on the partial batch
//! a fetch response usually ends with, and sizes allocations from the
//! untrusted record count. [`split_record_set`] instead reads only the
//! fixed header fields, slices whole batches out of the response as
//! zero-copy [`bytes::Bytes`], reports a partial trailing batch as
//! [`SplitEnd::Truncated`] and legacy (magic 0/1) message sets as
//! [`WireError::OldMessageFormat`], and allocates nothing based on what
//! the bytes claim. It never panics, whatever the input.
//!
//! # Why the CRC update never reads the payload
//!
//! The batch CRC (CRC-32C) covers bytes 21..end, so rewriting the producer
//! fields changes it. Recomputing it would scan the whole payload, the one
//! thing the hot path must not touch. CRC-32C is affine over GF(2): for two
//! messages of equal length that differ only in their first 40 bytes, the
//! difference of their CRCs is the CRC difference of those 40 bytes shifted
//! through the length of the unchanged rest, which `crc32c_combine`
//! computes in O(log n) from the length alone. [`rewrite_header`] therefore
//! derives the new CRC from the old CRC and the header bytes only. A side
//! effect we want: a batch whose CRC was already wrong stays wrong by the
//! same bits, so the target broker rejects it and corruption is never
//! laundered into a valid-looking batch.
//!
//! # The slow path, and the only place records are decoded
//!
//! Two kinds of source batch cannot be forwarded byte for byte without
//! changing what consumers of the target read, so [`batch::slow`]
//! decompresses them, rewrites the records and compresses them again with
//! the same codec:
//!
//! - batches from a `LogAppendTime` topic, which consumers read with the
//!   broker's append time for every record; a CreateTime target would show
//!   the producers' create times instead. [`normalize_log_append_time`]
//!   makes the append time every record's create time, as MirrorMaker 2
//!   does when it republishes them;
//! - message sets in the pre-0.11 formats (magic 0 and 1), which a v2
//!   producer cannot send. [`upconvert_legacy`] turns them into v2 batches
//!   keeping offsets, keys, values and timestamps.
//!
//! That module is the only code in this crate that looks inside a batch's
//! records (besides the one key of a control record). It bounds every
//! allocation by the bytes actually present, never by a count the bytes
//! claim, refuses decompression beyond [`decompression_limit`], checks
//! CRCs before re-signing anything, and never panics.
//!
//! # Example
//!
//! ```
//! use bytes::{Bytes, BytesMut};
//! use kafka_protocol::records::{
//!     Compression, Record, RecordBatchEncoder, RecordEncodeOptions, TimestampType,
//! };
//! use kmirror_wire::{rewrite_header, split_record_set, verify_crc, ProducerStamp, SplitEnd};
//!
//! // A fetch response's `records`: one lz4 batch at offset 41 and the first
//! // bytes of the next one.
//! let record = Record {
//!     transactional: false,
//!     control: false,
//!     delete_horizon: false,
//!     partition_leader_epoch: 7,
//!     producer_id: 4000,
//!     producer_epoch: 0,
//!     timestamp_type: TimestampType::Creation,
//!     offset: 41,
//!     sequence: 41,
//!     timestamp: 1_700_000_000_000,
//!     key: Some(Bytes::from_static(b"order-17")),
//!     value: Some(Bytes::from_static(b"{\"amount\":12}")),
//!     headers: Default::default(),
//! };
//! let options = RecordEncodeOptions { version: 2, compression: Compression::Lz4 };
//! let mut fetched = BytesMut::new();
//! RecordBatchEncoder::encode(&mut fetched, [&record], &options).unwrap();
//! let one_batch = fetched.len();
//! fetched.extend_from_within(..20);
//! let fetched = fetched.freeze();
//!
//! let split = split_record_set(&fetched);
//! assert_eq!(split.batches.len(), 1);
//! assert!(matches!(split.end, SplitEnd::Truncated(partial) if partial.position == one_batch));
//! let batch = &split.batches[0];
//! assert_eq!(batch.header.base_offset, 41);
//! assert_eq!(split.next_offset(), Some(42));
//!
//! // Forward it under our producer id: a new header, the same payload.
//! let stamp = ProducerStamp {
//!     producer_id: 9001,
//!     producer_epoch: 2,
//!     base_sequence: 0,
//!     transactional: false,
//! };
//! let header = rewrite_header(&batch.bytes, &stamp).unwrap();
//! let payload = batch.payload(); // a zero-copy slice of `fetched`
//! let sent = [&header[..], &payload[..]].concat();
//! assert!(verify_crc(&sent));
//! ```

pub mod batch;
mod error;
pub mod mm2;

pub use batch::{
    control_record_type, decompression_limit, needs_rebuild, normalize_log_append_time,
    rebuild_for_forwarding, rewrite_header, rewritten_batch_contiguous, split_record_set,
    upconvert_legacy, verify_crc, BatchHeader, Compression, ControlType, PartialBatch,
    ProducerStamp, RawBatch, SplitEnd, SplitResult, TimestampType, BATCH_HEADER_LEN,
    MAX_DECOMPRESSED_LEN,
};
pub use error::WireError;
pub use mm2::{Checkpoint, Heartbeat, OffsetSync};
