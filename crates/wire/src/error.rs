//! The one error type of this crate.

/// Everything that can be wrong with bytes handed to this crate.
///
/// Each variant carries enough context (the Kafka offset of the batch, or
/// the MM2 record and field) for a log line to say what failed without the
/// caller adding anything.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum WireError {
    /// Fewer bytes than a fixed-size structure needs.
    #[error("{what} needs {needed} bytes, only {available} available")]
    TooShort {
        /// What was being read, e.g. "record batch header".
        what: &'static str,
        /// Bytes the structure needs.
        needed: usize,
        /// Bytes there were.
        available: usize,
    },

    /// A message set in the pre-0.11 format (magic 0 or 1). Pass-through
    /// is impossible; convert it with
    /// [`upconvert_legacy`](crate::upconvert_legacy).
    #[error("old message format (magic {magic}) at offset {offset}")]
    OldMessageFormat {
        /// Offset field of the legacy message.
        offset: i64,
        /// Its magic byte, 0 or 1.
        magic: i8,
    },

    /// Bytes that cannot be a record batch.
    #[error("corrupt record batch at offset {offset}: {reason}")]
    Corrupt {
        /// The batch's base offset as read (may itself be garbage).
        offset: i64,
        /// What is wrong, for humans.
        reason: String,
    },

    /// Compressed records that would decompress to more than the slow path
    /// accepts (see [`decompression_limit`](crate::decompression_limit)):
    /// a decompression bomb, or a batch far more repetitive than any
    /// producer's batch size allows for.
    #[error("records of the batch at offset {offset} decompress to more than {limit} bytes")]
    DecompressionLimit {
        /// Base offset of the batch (or offset of the legacy message).
        offset: i64,
        /// The limit that was reached.
        limit: usize,
    },

    /// A transaction marker or other control batch was handed to the
    /// forwarding rewrite. Control batches are never forwarded: stamped
    /// with our producer id they would commit or abort our transactions.
    #[error("control batch at offset {offset} must not be forwarded")]
    ControlBatch {
        /// Base offset of the control batch.
        offset: i64,
    },

    /// An MM2 record ended before one of its fields.
    #[error("{record} {field} is truncated")]
    Mm2Truncated {
        /// "heartbeat", "checkpoint" or "offset sync".
        record: &'static str,
        /// The field being read.
        field: &'static str,
    },

    /// An MM2 string field that Kafka's STRING type would not accept.
    #[error("{record} {field} is not a valid string: {reason}")]
    Mm2InvalidString {
        /// "heartbeat", "checkpoint" or "offset sync".
        record: &'static str,
        /// The field being read.
        field: &'static str,
        /// Negative length, bad UTF-8, ...
        reason: &'static str,
    },

    /// An MM2 value whose version this crate does not know.
    #[error("{record} version {version} is not supported")]
    Mm2UnsupportedVersion {
        /// "heartbeat" or "checkpoint" (offset syncs carry no version).
        record: &'static str,
        /// The version read.
        version: i16,
    },

    /// An MM2 key or value with bytes after its last field.
    #[error("{record} {part} has {extra} trailing bytes")]
    Mm2TrailingBytes {
        /// "heartbeat", "checkpoint" or "offset sync".
        record: &'static str,
        /// "key" or "value".
        part: &'static str,
        /// How many bytes were left over.
        extra: usize,
    },

    /// A string too long for Kafka's STRING type (int16 length).
    #[error("{record} {field} is {len} bytes, more than a kafka string holds (32767)")]
    Mm2StringTooLong {
        /// "heartbeat", "checkpoint" or "offset sync".
        record: &'static str,
        /// The field being written.
        field: &'static str,
        /// Its length in bytes.
        len: usize,
    },
}
