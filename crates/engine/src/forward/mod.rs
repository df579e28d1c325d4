//! The data path: fetch raw batches from the source, forward them to the
//! target with a new header and the payload untouched, and report exactly
//! which upstream offsets landed at which downstream offsets.
//!
//! - [`fetcher`]: one task per source cluster and flow, fetching every
//!   assigned partition from its leader, one request per broker per round,
//!   with backpressure from each partition's queue.
//! - [`budget`]: the bound on memory held by fetched data.
//! - [`partition`]: one task per partition, keeping up to five produce
//!   requests in flight and turning acknowledgements into [`crate::model::Forwarded`]
//!   offset mappings.

pub mod budget;
pub mod fetcher;
pub mod partition;
