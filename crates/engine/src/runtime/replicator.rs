//! The whole engine: one client per cluster, one task per flow.

use std::collections::BTreeMap;
use std::sync::Arc;

use kmirror_client::{ClientConfig, ClientError, KafkaClient};
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;
use tracing::{error, info};

use super::flow::{run_flow, FlowTuning};
use super::status::StatusBoard;
use crate::config::mm2::{FlowConfig, Mm2Config};
use crate::offsets::IndexRegistry;

/// Why the engine could not start.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error("cluster {alias} ({bootstrap}) is unreachable: {source}")]
    Unreachable {
        alias: String,
        bootstrap: String,
        #[source]
        source: ClientError,
    },
}

/// A connected engine, ready to run its flows.
#[derive(Debug)]
pub struct Replicator {
    flows: Vec<FlowConfig>,
    clients: BTreeMap<String, KafkaClient>,
    status: Arc<StatusBoard>,
    indexes: Arc<IndexRegistry>,
    tuning: FlowTuning,
}

impl Replicator {
    /// The flows that run: enabled ones, plus heartbeat-only pairs as MM2
    /// runs them.
    pub fn flows_of(config: &Mm2Config) -> Vec<FlowConfig> {
        let mut flows: BTreeMap<String, FlowConfig> = BTreeMap::new();
        for flow in config.flows().chain(config.heartbeat_pairs()) {
            flows.entry(flow.name()).or_insert_with(|| flow.clone());
        }
        flows.into_values().collect()
    }

    /// Connects to every cluster a flow uses.
    pub async fn connect(config: &Mm2Config, tuning: FlowTuning) -> Result<Self, StartError> {
        let flows = Self::flows_of(config);
        let mut clients = BTreeMap::new();
        for flow in &flows {
            for alias in [&flow.source, &flow.target] {
                if clients.contains_key(alias.as_str()) {
                    continue;
                }
                let cluster = config
                    .cluster(alias.as_str())
                    .expect("validated config knows every flow's clusters");
                let bootstrap = cluster.bootstrap_servers.join(",");
                let mut client_config = ClientConfig::new(&bootstrap);
                client_config.connection.client_id = format!("kmirror-{alias}");
                let client = KafkaClient::connect(client_config)
                    .await
                    .map_err(|source| StartError::Unreachable {
                        alias: alias.to_string(),
                        bootstrap: bootstrap.clone(),
                        source,
                    })?;
                info!(cluster = %alias, bootstrap, "connected");
                clients.insert(alias.to_string(), client);
            }
        }
        Ok(Replicator {
            flows,
            clients,
            status: Arc::new(StatusBoard::default()),
            indexes: Arc::new(IndexRegistry::default()),
            tuning,
        })
    }

    pub fn status(&self) -> Arc<StatusBoard> {
        self.status.clone()
    }

    pub fn client(&self, alias: &str) -> Option<&KafkaClient> {
        self.clients.get(alias)
    }

    /// Runs every flow until `shutdown` is cancelled. A flow that fails is
    /// reported in the status and restarted after a pause.
    pub async fn run(self, shutdown: CancellationToken) {
        let mut tasks = JoinSet::new();
        for flow in self.flows {
            let source = self.clients[flow.source.as_str()].clone();
            let target = self.clients[flow.target.as_str()].clone();
            let status = self.status.clone();
            let indexes = self.indexes.clone();
            let tuning = self.tuning.clone();
            let shutdown = shutdown.clone();
            tasks.spawn(async move {
                let mut backoff = std::time::Duration::from_secs(1);
                loop {
                    let result = run_flow(
                        flow.clone(),
                        source.clone(),
                        target.clone(),
                        status.clone(),
                        indexes.clone(),
                        tuning.clone(),
                        shutdown.clone(),
                    )
                    .await;
                    match result {
                        Ok(()) => return,
                        Err(e) => {
                            error!(flow = %flow.name(), error = %e, "flow failed; restarting");
                        }
                    }
                    tokio::select! {
                        _ = shutdown.cancelled() => return,
                        _ = tokio::time::sleep(backoff) => {}
                    }
                    backoff = (backoff * 2).min(std::time::Duration::from_secs(60));
                }
            });
        }
        tasks.join_all().await;
    }
}
