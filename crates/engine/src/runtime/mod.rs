//! The running engine: flows with their tasks, and the status they report.

pub mod acl_sync;
pub mod authorization;
pub mod checkpoints;
mod client_settings;
pub mod clients;
pub mod coalesce;
pub mod config_sync;
pub mod error;
pub mod flow;
pub mod group_settings;
pub mod index_store;
pub mod membership;
pub mod offset_sync;
pub mod ownership;
pub mod position;
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

pub use error::EngineError;
pub use flow::{run_flow, FlowRun, FlowTuning, GroupConfig, WorkerIdentity};
pub use replicator::{FlowChange, FlowSpec, Replicator, ReplicatorHandle};
pub use status::{FlowFigures, FlowMode, FlowState, FlowStatus, PartitionStatus, StatusBoard};
