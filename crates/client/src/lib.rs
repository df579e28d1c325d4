//! kmirror's Kafka client layer, built on the `kafka-protocol` crate's
//! message codecs.
//!
//! - [`connection`]: one socket, correlation ids, pipelining, timeouts.
//! - [`cluster`]: bootstrap, metadata and leaders, connection pool, retries.
//! - [`fetch`]: raw fetch of record batches as `Bytes`, never decoded.
//! - [`forwardable`]: fetched batches made ready to produce, the only
//!   batches a sender takes.
//! - [`produce`]: idempotent raw produce of rewritten batches.
//! - [`produce_batcher`]: one produce request for many partitions.
//! - [`admin`]: the admin, group and offset calls the engine needs.
//! - [`acls`]: describing and creating ACLs.
//! - [`read`], [`records`], [`landed`]: the control plane's reads of one
//!   partition, its key/value records, and which source batches already
//!   sit on a target.
//! - [`group`]: classic group membership (JoinGroup, SyncGroup, Heartbeat,
//!   LeaveGroup) for workers sharing one replication.
//! - [`lease`]: the write lease a group member holds while it owns work.
//! - [`security`]: TLS (rustls) and SASL from Kafka's client security keys.
//!
//! The layer knows nothing about replication.

pub mod acls;
pub mod admin;
pub mod alloc;
pub mod backoff;
pub mod cluster;
pub mod connection;
pub mod error;
pub mod fetch;
pub mod fetch_session;
pub mod forwardable;
pub mod group;
pub mod landed;
pub mod lease;
mod metadata_refresh;
mod new_topics;
mod plain_frames;
pub mod produce;
pub mod produce_batcher;
pub mod produce_request;
pub mod read;
pub mod records;
pub mod recv_pool;
pub mod security;
pub mod transaction;
pub mod transport;
pub mod versions;

pub use alloc::LazyHugeAlloc;
pub use backoff::Backoff;
pub use cluster::{ClientConfig, ConnectionLane, KafkaClient, Purpose};
pub use error::{ClientError, Result};
pub use forwardable::{ForwardableBatch, UnforwardableBatch};
/// MM2's heartbeat, checkpoint and offset-sync records, for the engine's
/// control plane.
pub use kmirror_wire::mm2;
