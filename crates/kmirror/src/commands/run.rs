//! `kmirror run`: replicate until told to stop, serving the REST API,
//! metrics and the live page meanwhile.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use clap::Args;
use kmirror_engine::metrics::Metrics;
use kmirror_engine::runtime::{shutdown_budget, FlowTuning, Replicator};
use tokio_util::sync::CancellationToken;
use tracing::{info, warn};

use crate::connectors::state::StateStore;
use crate::connectors::{FileConnector, Registry};
use crate::history::History;
use crate::rest::guard::{RestGuard, RestGuardArgs};
use crate::rest::peers::Peers;
use crate::rest::{self, AppState, Phase};
use crate::{config_file, logging, worker, EXIT_CONFIG, EXIT_FAILURE};

/// How long the engine's stop may take before the process exits anyway;
/// in-flight batches not acknowledged by then are copied again on restart.
/// With the REST API's and the runtime's shares after it, the whole stop
/// fits in [`shutdown_budget::PROCESS_STOP`].
const SHUTDOWN_GRACE: Duration = shutdown_budget::ENGINE_STOP;

#[derive(Debug, Args)]
pub struct RunArgs {
    /// The MM2 properties file (or Connect connector JSON). It runs as one
    /// connector named after the file; without it, only the connectors of
    /// the state directory (created through the REST API) run.
    config: Option<PathBuf>,
    /// Address of the REST API, metrics and live page.
    #[arg(long, env = "KMIRROR_REST_LISTEN", default_value = "127.0.0.1:8083")]
    rest_listen: String,
    /// Serve no REST API (no metrics, no live page, no connector changes).
    #[arg(long)]
    no_rest: bool,
    /// Where connectors created or changed through the API, and their paused
    /// state, are kept across restarts.
    #[arg(long, env = "KMIRROR_STATE_DIR", default_value = "kmirror-state")]
    state_dir: PathBuf,
    /// Add a `partition` label to the data-path metrics (more series).
    #[arg(long)]
    metrics_per_partition: bool,
    /// Comma-separated hosts that connectors created through the API may
    /// name in their bootstrap servers (default: any). The properties file
    /// is not restricted.
    #[arg(long, value_delimiter = ',')]
    allow_cluster_hosts: Option<Vec<String>>,
    /// Only the flows into these clusters (comma-separated aliases), as
    /// MM2's `--clusters`: run one kmirror per region, next to its cluster.
    #[arg(long, value_delimiter = ',')]
    clusters: Option<Vec<String>>,
    /// Refuse keys that neither MM2, Kafka Connect, Kafka's clients nor
    /// kmirror knows (exit 2) instead of warning about them.
    #[arg(long)]
    strict: bool,
    /// This process's identity in the groups of its flows
    /// (`group.instance.id`): a restart with the same id within the session
    /// timeout keeps its share of the work. Default: the host name and the
    /// REST port.
    #[arg(long, env = "KMIRROR_WORKER_ID")]
    worker_id: Option<String>,
    /// The prefix of the flows' group ids in place of the properties'
    /// `group.id` (default `kmirror`): the workers of one replication share
    /// it; two independent replications between the same clusters need
    /// different ones.
    #[arg(long, env = "KMIRROR_GROUP_PREFIX")]
    group_prefix: Option<String>,
    /// TLS and credentials for the REST API.
    #[command(flatten)]
    guard: RestGuardArgs,
}

pub async fn run(args: RunArgs) -> u8 {
    // Before anything that may wait on a cluster: SIGINT and SIGTERM stop
    // kmirror at any point of the start-up, not only once it replicates.
    let shutdown = match stop_on_signal() {
        Ok(shutdown) => shutdown,
        Err(e) => {
            logging::fatal(&format_args!("cannot listen for SIGINT and SIGTERM: {e}"));
            return EXIT_FAILURE;
        }
    };
    // Then: a guard that cannot be set up must stop kmirror before it
    // connects anywhere or serves anything.
    let guard = if args.no_rest {
        RestGuard::default()
    } else {
        match args.guard.load() {
            Ok(guard) => guard,
            Err(e) => {
                logging::fatal(&e);
                return EXIT_CONFIG;
            }
        }
    };
    let file = match &args.config {
        Some(path) => match config_file::load_with_text(path).and_then(|(config, text)| {
            Ok((
                config_file::only_targets(config, args.clusters.as_deref(), args.strict)?,
                text,
            ))
        }) {
            Ok((config, text)) => {
                config_file::report(&config);
                Some(FileConnector::new(path, text, config))
            }
            Err(e) => {
                logging::fatal(&e);
                return EXIT_CONFIG;
            }
        },
        None => None,
    };
    let store = match StateStore::open(&args.state_dir) {
        Ok(store) => store,
        Err(e) => {
            logging::fatal(&e);
            return EXIT_FAILURE;
        }
    };
    let registry = match Registry::load(file.clone(), Some(store), args.allow_cluster_hosts.clone())
    {
        Ok(registry) => Arc::new(registry),
        Err(e) => {
            logging::fatal(&e);
            return EXIT_CONFIG;
        }
    };
    // No file and no stored connector: only the API can bring work.
    if file.is_none() && registry.snapshot().0.is_empty() {
        if args.no_rest {
            logging::fatal(&format_args!(
                "nothing to run: no properties file, no connector in {}, and --no-rest leaves no way to create one",
                args.state_dir.display()
            ));
            return EXIT_CONFIG;
        }
        info!(
            state_dir = %args.state_dir.display(),
            "no connector to run yet: give a properties file, or create one through the REST API (POST /connectors)"
        );
    }

    let metrics = Arc::new(Metrics::new(args.metrics_per_partition));
    // The REST listener first: the worker's identity names its address.
    let bound = if args.no_rest {
        None
    } else {
        match rest::bind(&args.rest_listen).await {
            Ok(bound) => Some(bound),
            Err(e) => {
                logging::fatal(&e);
                return if e.is_config_error() {
                    EXIT_CONFIG
                } else {
                    EXIT_FAILURE
                };
            }
        }
    };
    let listen = bound.as_ref().map_or_else(
        || args.rest_listen.clone(),
        |(_, address)| address.to_string(),
    );
    let mut worker = worker::identity(args.worker_id.as_deref(), &listen, guard.tls.is_some());
    worker.group_prefix = args.group_prefix.clone();
    let worker_id = worker.worker_id.clone();
    let tuning = FlowTuning {
        worker,
        ..FlowTuning::default()
    };
    let mut replicator = Replicator::new(tuning, metrics.clone());
    let history = Arc::new(History::default());
    let stop_rest = CancellationToken::new();
    let mut rest_task = None;
    let mut app = None;
    if let Some((listener, address)) = bound {
        for warning in guard.exposure_warnings(address) {
            warn!(address = %address, "{warning}");
        }
        let mut state = AppState::new(
            replicator.status(),
            metrics,
            history.clone(),
            registry.clone(),
            worker_id,
        );
        match Peers::new(&guard.chain) {
            Ok(peers) => state = state.with_peers(peers),
            Err(e) => {
                warn!(error = %e, "connector changes made here will not reach the other workers")
            }
        }
        let state = Arc::new(state);
        rest_task = Some(tokio::spawn(rest::serve(
            listener,
            guard,
            state.clone(),
            stop_rest.clone(),
        )));
        app = Some(state);
    }

    if let (true, Some(file)) = (registry.file_connector_active(), &file) {
        let connected = shutdown
            .run_until_cancelled(replicator.connect_clusters(&file.mm2))
            .await;
        match connected {
            None => {
                info!("stopped before replication started");
                stop_rest.cancel();
                if let Some(task) = rest_task {
                    let _ = tokio::time::timeout(shutdown_budget::REST_STOP, task).await;
                }
                return 0;
            }
            Some(Err(e)) => {
                logging::fatal(&e);
                return if e.is_config_error() {
                    EXIT_CONFIG
                } else {
                    EXIT_FAILURE
                };
            }
            Some(Ok(())) => {}
        }
    }
    replicator.set_initial_flows(registry.initial_flows());
    let status = replicator.status();
    let handle = replicator.start(shutdown.clone()).await;
    registry.attach(handle.clone());
    tokio::spawn(history.run_sampler(status, shutdown.clone()));
    tokio::spawn(release_freed_memory(shutdown.clone()));
    if let Some(app) = &app {
        app.set_phase(Phase::Running);
    }
    let engine = tokio::spawn(async move { handle.stopped().await });

    shutdown.cancelled().await;
    info!("stopping: finishing in-flight batches and writing progress");
    if let Some(app) = &app {
        app.set_phase(Phase::Stopping);
    }
    shutdown.cancel();
    match tokio::time::timeout(SHUTDOWN_GRACE, engine).await {
        Ok(_) => info!("stopped"),
        Err(_) => warn!(grace = ?SHUTDOWN_GRACE, "shutdown took too long; exiting anyway"),
    }
    stop_rest.cancel();
    if let Some(task) = rest_task {
        let _ = tokio::time::timeout(shutdown_budget::REST_STOP, task).await;
    }
    0
}

/// How often the allocator's free memory goes back to the kernel (see
/// `kmirror_client::alloc::release_freed_memory`): often enough that a
/// process at rest does not keep its peak memory.
const RELEASE_FREED_MEMORY_EVERY: Duration = Duration::from_secs(10);

/// Gives the allocator's free memory back every
/// [`RELEASE_FREED_MEMORY_EVERY`] until `shutdown`.
async fn release_freed_memory(shutdown: CancellationToken) {
    let mut tick = tokio::time::interval(RELEASE_FREED_MEMORY_EVERY);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    // The first tick is immediate: nothing to give back yet.
    tick.tick().await;
    loop {
        tokio::select! {
            _ = shutdown.cancelled() => return,
            _ = tick.tick() => {}
        }
        let _ = tokio::task::spawn_blocking(kmirror_client::alloc::release_freed_memory).await;
    }
}

/// A token cancelled at the first SIGINT or SIGTERM. The handlers are in
/// place when this returns (a signal that comes before the first poll of
/// the task is not lost), so nothing after it can be killed mid-write by
/// the default action. A stop asked for by a signal exits 0, before
/// replication started as after: it is what the operator wanted (a JVM
/// daemon such as MM2 exits 130/143 instead; see the README).
fn stop_on_signal() -> std::io::Result<CancellationToken> {
    use tokio::signal::unix::{signal, SignalKind};
    let mut interrupt = signal(SignalKind::interrupt())?;
    let mut terminate = signal(SignalKind::terminate())?;
    let shutdown = CancellationToken::new();
    let token = shutdown.clone();
    tokio::spawn(async move {
        let name = tokio::select! {
            _ = interrupt.recv() => "SIGINT",
            _ = terminate.recv() => "SIGTERM",
        };
        info!(signal = name, "stop requested");
        token.cancel();
    });
    Ok(shutdown)
}
