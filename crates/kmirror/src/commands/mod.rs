//! One module per subcommand.

pub mod api_call;
pub mod check;
pub mod cluster;
pub mod offsets;
pub mod run;
pub mod size_limits;
pub mod status;
pub mod verify;
