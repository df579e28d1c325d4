//! Consumer group offsets across clusters: the exact translation index,
//! its persistence, and the checkpoints built on it.

pub mod checkpoint;
pub mod index;
pub mod store;

pub use store::IndexRegistry;
