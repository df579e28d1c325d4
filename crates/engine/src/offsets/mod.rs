//! Consumer group offsets across clusters, as pure maths (no I/O): the
//! exact translation index, its persisted form, and the checkpoint
//! translation built on it. The tasks that read and write them in Kafka
//! topics are the runtime's ([`crate::runtime::index_store`],
//! [`crate::runtime::checkpoints`]).

pub mod checkpoint;
pub mod index;
pub mod store;

pub use store::IndexRegistry;
