//! The data path: fetch raw batches from the source, forward them to the
//! target with a new header and the payload untouched, and report exactly
//! which upstream offsets landed at which downstream offsets.
//!
//! - [`fetcher`]: one task per source cluster and flow, fetching every
//!   assigned partition from its leader, each broker on its own (one
//!   request out per broker, in a fetch session), with backpressure from
//!   each partition's queue.
//! - [`budget`]: the bound on memory held by fetched data.
//! - [`partition`]: one task per partition, keeping up to five produce
//!   requests in flight and turning acknowledgements into [`crate::model::Forwarded`]
//!   offset mappings.
//! - [`transaction`]: the same in transactions of the target, for
//!   exactly-once delivery.

pub mod budget;
mod fetch_slots;
pub mod fetcher;
pub mod partition;
pub mod transaction;
