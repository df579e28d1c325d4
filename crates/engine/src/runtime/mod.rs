//! The running engine: flows with their tasks, and the status they report.

pub mod acl_sync;
pub mod authorization;
pub mod clients;
pub mod flow;
pub mod offset_sync;
pub mod progress;
pub mod replicator;
pub mod resume;
pub mod status;
pub(crate) mod ticker;
pub mod topics;
pub mod writer;

pub use flow::{run_flow, FlowTuning};
pub use replicator::{FlowChange, FlowSpec, Replicator, ReplicatorHandle, StartError};
pub use status::{FlowState, FlowStatus, PartitionStatus, StatusBoard};
