//! `kmirror run`: replicate until told to stop.

use std::path::PathBuf;
use std::time::Duration;

use clap::Args;
use kmirror_engine::runtime::{FlowTuning, Replicator};
use tokio_util::sync::CancellationToken;
use tracing::{error, info, warn};

use crate::{config_file, EXIT_CONFIG, EXIT_FAILURE};

/// How long shutdown may take before the process exits anyway; in-flight
/// batches not acknowledged by then are copied again on restart.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(8);

#[derive(Debug, Args)]
pub struct RunArgs {
    /// The MM2 properties file (or Connect connector JSON).
    config: PathBuf,
}

pub async fn run(args: RunArgs) -> u8 {
    let config = match config_file::load(&args.config) {
        Ok(config) => config,
        Err(e) => {
            eprintln!("kmirror: {e}");
            return EXIT_CONFIG;
        }
    };
    config_file::report(&config);
    let replicator = match Replicator::connect(&config, FlowTuning::default()).await {
        Ok(replicator) => replicator,
        Err(e) => {
            error!("{e}");
            eprintln!("kmirror: {e}");
            return EXIT_FAILURE;
        }
    };
    let shutdown = CancellationToken::new();
    let engine = tokio::spawn(replicator.run(shutdown.clone()));
    wait_for_signal().await;
    info!("stopping: finishing in-flight batches and writing progress");
    shutdown.cancel();
    match tokio::time::timeout(SHUTDOWN_GRACE, engine).await {
        Ok(_) => info!("stopped"),
        Err(_) => warn!(grace = ?SHUTDOWN_GRACE, "shutdown took too long; exiting anyway"),
    }
    0
}

async fn wait_for_signal() {
    let ctrl_c = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        let mut term =
            match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
                Ok(term) => term,
                Err(_) => {
                    let _ = ctrl_c.await;
                    return;
                }
            };
        tokio::select! {
            _ = ctrl_c => {}
            _ = term.recv() => {}
        }
    }
    #[cfg(not(unix))]
    {
        let _ = ctrl_c.await;
    }
}
