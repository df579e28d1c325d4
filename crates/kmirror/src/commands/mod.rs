//! One module per subcommand.

pub mod check;
pub mod offsets;
pub mod run;
