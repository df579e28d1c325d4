//! The running engine: flows with their tasks, and the status they report.

pub mod acl_sync;
pub mod authorization;
mod client_settings;
pub mod clients;
pub mod config_sync;
mod control;
pub mod flow;
pub mod group_settings;
pub mod membership;
pub mod offset_sync;
pub mod ownership;
mod pipeline;
pub mod progress;
pub mod replicator;
pub mod resume;
pub mod shutdown_budget;
pub mod status;
mod syncs_writer;
#[cfg(test)]
mod test_configs;
pub(crate) mod ticker;
pub mod topic_limits;
pub mod topics;
pub mod writer;

pub use flow::{run_flow, FlowError, FlowRun, FlowTuning, GroupConfig, WorkerIdentity};
pub use replicator::{FlowChange, FlowSpec, Replicator, ReplicatorHandle, StartError};
pub use status::{FlowMode, FlowState, FlowStatus, PartitionStatus, StatusBoard};
