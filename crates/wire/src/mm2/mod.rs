//! MM2's internal records, byte for byte as Apache Kafka's
//! `connect-mirror-client` (`Heartbeat`, `Checkpoint`) and `connect-mirror`
//! (`OffsetSync`) write them, so MM2's tooling and formatters keep working
//! on topics kmirror writes.
//!
//! Decoding is strict where Java is lenient: an unknown value version or
//! bytes after the last field are errors rather than silently read as
//! version 0, since a misread checkpoint moves a consumer group to the
//! wrong offset. Strings are length-checked against the input before any
//! allocation and are at most 32767 bytes.

mod checkpoint;
mod codec;
mod heartbeat;
mod offset_sync;

pub use checkpoint::Checkpoint;
pub use heartbeat::Heartbeat;
pub use offset_sync::OffsetSync;
