//! The whole engine: one client per cluster, one supervised task per flow,
//! and the set of flows changed at run time.
//!
//! [`ReplicatorHandle::apply`] takes the flows that should exist and
//! reconciles: a new flow starts, a flow no longer wanted stops, a paused one
//! stops (after its in-flight batches are acknowledged and its progress is
//! written) and resumes from there, a flow whose config changed (its
//! [`FlowSpec`] differs) restarts, and every other flow keeps running
//! untouched.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use kmirror_client::admin::{CreateTopicOutcome, NewTopic, OffsetSpec};
use kmirror_client::{Backoff, KafkaClient};
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;
use tracing::{debug, error, info, warn};

use super::authorization;
use super::clients;
use super::error::EngineError;
use super::flow::{run_flow, FlowRun, FlowTuning, GroupConfig};
use super::group_settings;
use super::status::{FlowMode, FlowState, StatusBoard};
use super::ticker::Ticker;
use super::topics::effective_replication_factor;
use crate::config::client_settings::{Acks, ClientSettings};
use crate::config::mm2::{ClientRole, ClusterConfig, FlowConfig, Mm2Config};
use crate::filter::should_replicate_topic;
use crate::metrics::Metrics;
use crate::model::{now_ms, TopicPartition};
use crate::offsets::IndexRegistry;
use crate::policy::CANARY_TOPIC;

/// How often the source end offsets of known partitions are polled, so that
/// lag keeps rising while a partition or flow fetches nothing (paused, or
/// its target is down).
const END_OFFSET_POLL_INTERVAL: Duration = Duration::from_secs(2);

/// How long a stopping flow may take (its partitions drain, then progress
/// is written) before its task is aborted: its share of the stop budget.
const FLOW_STOP_TIMEOUT: Duration = super::shutdown_budget::FLOW_STOP;

/// Pauses before a failed flow starts again: 1 s doubling up to a minute.
const FLOW_RESTART_BACKOFF: Backoff = Backoff::new(Duration::from_secs(1), Duration::from_secs(60));

/// Retention of the canary topic: verify's records need minutes, not days.
const CANARY_RETENTION_MS: &str = "86400000";

/// A flow to run, with the clusters it connects.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FlowSpec {
    pub flow: FlowConfig,
    pub source: ClusterConfig,
    pub target: ClusterConfig,
    /// The flow's worker group.
    pub group: GroupConfig,
    /// Of the settings every worker of the flow's group must share.
    pub fingerprint: u64,
    /// Stopped on request; its position is kept.
    pub paused: bool,
    /// Topics other flows of this configuration create on this flow's
    /// source and this flow replicates (the `heartbeats` a flow into the
    /// source writes): the flow's discovery watches for them instead of
    /// waiting for its next refresh (see [`expected_source_topics`]).
    pub expected_source_topics: BTreeSet<String>,
}

impl FlowSpec {
    /// `source->target`.
    pub fn name(&self) -> String {
        self.flow.name()
    }

    /// Whether `other` runs the same thing (ignoring whether it is paused).
    fn same_config(&self, other: &FlowSpec) -> bool {
        self.flow == other.flow
            && self.source == other.source
            && self.target == other.target
            && self.group == other.group
            && self.fingerprint == other.fingerprint
    }
}

/// The topics flows of `all` create on `flow`'s source that `flow`
/// replicates: the heartbeats topic of every flow into that cluster that
/// emits heartbeats. Those flows may create it after `flow`'s first
/// discovery (in this process or another), and the next regular one may be
/// `refresh.topics.interval.seconds` away (600 s by default). The canary
/// topic needs no watching: each flow creates it on its source before its
/// first discovery.
pub fn expected_source_topics(flow: &FlowConfig, all: &[FlowConfig]) -> BTreeSet<String> {
    if !flow.replication_enabled {
        return BTreeSet::new();
    }
    all.iter()
        .filter(|other| other.target == flow.source && other.emit_heartbeats.interval().is_some())
        .map(|other| other.policy.heartbeats_topic().to_string())
        .filter(|topic| should_replicate_topic(topic, flow))
        .collect()
}

/// What [`ReplicatorHandle::apply`] changed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FlowChange {
    Added {
        flow: String,
        paused: bool,
    },
    Removed {
        flow: String,
    },
    /// Its config changed: stopped and started again.
    Replaced {
        flow: String,
    },
    Paused {
        flow: String,
    },
    Resumed {
        flow: String,
    },
}

/// Clients are shared by every flow that names the same cluster the same
/// way with the same settings (alias, bootstrap servers, a fingerprint of
/// the security keys of the client's role and of its other client
/// settings).
type ClusterKey = (String, String, u64);

fn cluster_key(cluster: &ClusterConfig, role: ClientRole, settings: &ClientSettings) -> ClusterKey {
    (
        cluster.alias.to_string(),
        cluster.bootstrap_servers.join(","),
        clients::client_fingerprint(cluster, role, settings),
    )
}

/// One side of a flow: its cluster, the role kmirror plays there, and the
/// client settings of that role and of admin calls.
#[derive(Clone, Copy)]
struct Side<'a> {
    cluster: &'a ClusterConfig,
    role: ClientRole,
    settings: &'a ClientSettings,
    admin: &'a ClientSettings,
}

impl Side<'_> {
    fn key(&self) -> ClusterKey {
        cluster_key(self.cluster, self.role, self.settings)
    }
}

impl FlowSpec {
    fn source_side(&self) -> Side<'_> {
        Side {
            cluster: &self.source,
            role: ClientRole::Consumer,
            settings: &self.flow.client_settings.consumer,
            admin: &self.flow.client_settings.source_admin,
        }
    }

    fn target_side(&self) -> Side<'_> {
        Side {
            cluster: &self.target,
            role: ClientRole::Producer,
            settings: &self.flow.client_settings.producer,
            admin: &self.flow.client_settings.target_admin,
        }
    }
}

/// An engine with its clients, ready to run flows.
#[derive(Debug)]
pub struct Replicator {
    inner: Arc<Inner>,
    initial: Vec<FlowSpec>,
}

#[derive(Debug)]
struct Inner {
    clients: Mutex<BTreeMap<ClusterKey, KafkaClient>>,
    status: Arc<StatusBoard>,
    indexes: Arc<IndexRegistry>,
    tuning: FlowTuning,
    /// Serializes changes to the set of flows.
    flows: tokio::sync::Mutex<BTreeMap<String, FlowSlot>>,
    /// Cancelled when the whole engine stops; every flow's token is a child.
    shutdown: CancellationToken,
    tasks: TaskTracker,
}

#[derive(Debug)]
struct FlowSlot {
    spec: FlowSpec,
    running: Option<RunningFlow>,
}

#[derive(Debug)]
struct RunningFlow {
    stop: CancellationToken,
    task: JoinHandle<()>,
}

impl Replicator {
    /// An engine with no clusters and no flows yet.
    pub fn new(tuning: FlowTuning, metrics: Arc<Metrics>) -> Self {
        Replicator {
            inner: Arc::new(Inner {
                clients: Mutex::default(),
                status: Arc::new(StatusBoard::with_metrics(metrics)),
                indexes: Arc::new(IndexRegistry::default()),
                tuning,
                flows: tokio::sync::Mutex::default(),
                shutdown: CancellationToken::new(),
                tasks: TaskTracker::new(),
            }),
            initial: Vec::new(),
        }
    }

    /// The flows that run: enabled ones, plus heartbeat-only pairs as MM2
    /// runs them.
    pub fn flows_of(config: &Mm2Config) -> Vec<FlowConfig> {
        let mut flows: BTreeMap<String, FlowConfig> = BTreeMap::new();
        for flow in config.flows().chain(config.heartbeat_pairs()) {
            flows.entry(flow.name()).or_insert_with(|| flow.clone());
        }
        flows.into_values().collect()
    }

    /// [`Replicator::flows_of`] with their clusters, running.
    pub fn flow_specs(config: &Mm2Config) -> Vec<FlowSpec> {
        let group = group_settings::group_config(config);
        let flows = Self::flows_of(config);
        flows
            .iter()
            .cloned()
            .map(|flow| FlowSpec {
                expected_source_topics: expected_source_topics(&flow, &flows),
                group: group.clone(),
                fingerprint: group_settings::fingerprint(
                    config,
                    flow.source.as_str(),
                    flow.target.as_str(),
                ),
                source: config
                    .cluster(flow.source.as_str())
                    .expect("validated config knows every flow's clusters")
                    .clone(),
                target: config
                    .cluster(flow.target.as_str())
                    .expect("validated config knows every flow's clusters")
                    .clone(),
                flow,
                paused: false,
            })
            .collect()
    }

    /// Connects to every cluster a flow of `config` uses; the engine will
    /// run those flows.
    pub async fn connect(config: &Mm2Config, tuning: FlowTuning) -> Result<Self, EngineError> {
        let mut replicator = Self::new(tuning, Arc::new(Metrics::default()));
        replicator.connect_clusters(config).await?;
        replicator.initial = Self::flow_specs(config);
        Ok(replicator)
    }

    /// Connects to every cluster a flow of `config` uses, failing on the
    /// first that cannot be reached (clusters of flows added later are
    /// connected by their flows, which retry).
    pub async fn connect_clusters(&self, config: &Mm2Config) -> Result<(), EngineError> {
        for spec in Self::flow_specs(config) {
            self.inner.client_for(spec.source_side()).await?;
            self.inner.client_for(spec.target_side()).await?;
        }
        Ok(())
    }

    /// The flows [`Replicator::start`] starts with.
    pub fn set_initial_flows(&mut self, flows: Vec<FlowSpec>) {
        self.initial = flows;
    }

    pub fn status(&self) -> Arc<StatusBoard> {
        self.inner.status.clone()
    }

    pub fn metrics(&self) -> Arc<Metrics> {
        self.inner.status.metrics().clone()
    }

    /// The connected client of the cluster `alias` (any, if two configs
    /// name different clusters alike).
    pub fn client(&self, alias: &str) -> Option<KafkaClient> {
        self.inner.client_by_alias(alias)
    }

    /// Starts the initial flows; the engine runs until `shutdown` is
    /// cancelled.
    pub async fn start(self, shutdown: CancellationToken) -> ReplicatorHandle {
        let inner = self.inner;
        {
            let engine = inner.shutdown.clone();
            tokio::spawn(async move {
                shutdown.cancelled().await;
                engine.cancel();
            });
        }
        inner.tasks.spawn(poll_end_offsets(inner.clone()));
        let handle = ReplicatorHandle { inner };
        handle.apply(self.initial).await;
        handle
    }

    /// Runs every flow until `shutdown` is cancelled. A flow that fails is
    /// reported in the status and restarted after a pause.
    pub async fn run(self, shutdown: CancellationToken) {
        let handle = self.start(shutdown.clone()).await;
        shutdown.cancelled().await;
        handle.stopped().await;
    }
}

/// Controls a running engine; cheap to clone.
#[derive(Debug, Clone)]
pub struct ReplicatorHandle {
    inner: Arc<Inner>,
}

impl ReplicatorHandle {
    pub fn status(&self) -> Arc<StatusBoard> {
        self.inner.status.clone()
    }

    /// Makes the running flows those of `desired` (see the module doc).
    /// Returns once stopped flows have stopped and new ones are started.
    pub async fn apply(&self, desired: Vec<FlowSpec>) -> Vec<FlowChange> {
        let inner = &self.inner;
        let mut flows = inner.flows.lock().await;
        if inner.shutdown.is_cancelled() {
            return Vec::new();
        }
        let mut desired: BTreeMap<String, FlowSpec> = desired
            .into_iter()
            .map(|spec| (spec.name(), spec))
            .collect();
        let mut changes = Vec::new();

        let gone: Vec<String> = flows
            .keys()
            .filter(|name| !desired.contains_key(*name))
            .cloned()
            .collect();
        for name in gone {
            if let Some(mut slot) = flows.remove(&name) {
                stop_flow(&name, &mut slot).await;
            }
            inner.status.flow_removed(&name);
            info!(flow = %name, "flow removed");
            changes.push(FlowChange::Removed { flow: name });
        }

        for (name, spec) in std::mem::take(&mut desired) {
            match flows.get_mut(&name) {
                None => {
                    let mut slot = FlowSlot {
                        spec: spec.clone(),
                        running: None,
                    };
                    if spec.paused {
                        register_paused(inner, &spec);
                    } else {
                        slot.running = Some(inner.spawn_flow(spec.clone()));
                    }
                    match FlowMode::new(spec.flow.replication_enabled) {
                        FlowMode::Replication => {
                            info!(flow = %name, paused = spec.paused, "flow added")
                        }
                        // MM2 runs only the MirrorHeartbeatConnector of
                        // such a pair.
                        FlowMode::HeartbeatsOnly => info!(
                            flow = %name,
                            paused = spec.paused,
                            "flow added: heartbeats only (replication of {name} is not enabled)"
                        ),
                    }
                    flows.insert(name.clone(), slot);
                    changes.push(FlowChange::Added {
                        flow: name,
                        paused: spec.paused,
                    });
                }
                Some(slot) if slot.spec == spec => {}
                Some(slot) if slot.spec.same_config(&spec) => {
                    if spec.paused {
                        stop_flow(&name, slot).await;
                        register_paused(inner, &spec);
                        info!(flow = %name, "flow paused");
                        changes.push(FlowChange::Paused { flow: name });
                    } else {
                        slot.running = Some(inner.spawn_flow(spec.clone()));
                        info!(flow = %name, "flow resumed");
                        changes.push(FlowChange::Resumed { flow: name });
                    }
                    slot.spec = spec;
                }
                Some(slot) => {
                    stop_flow(&name, slot).await;
                    // Its partitions may differ now: start from a clean slate.
                    inner.status.flow_removed(&name);
                    if spec.paused {
                        register_paused(inner, &spec);
                    } else {
                        slot.running = Some(inner.spawn_flow(spec.clone()));
                    }
                    info!(flow = %name, paused = spec.paused, "flow config changed; restarted");
                    slot.spec = spec;
                    changes.push(FlowChange::Replaced { flow: name });
                }
            }
        }

        // Clients no flow uses any more are closed (dropped).
        let used: std::collections::BTreeSet<ClusterKey> = flows
            .values()
            .flat_map(|slot| [slot.spec.source_side().key(), slot.spec.target_side().key()])
            .collect();
        inner
            .clients
            .lock()
            .unwrap()
            .retain(|key, _| used.contains(key));
        changes
    }

    /// Stops and starts again each named flow that is not paused (Kafka
    /// Connect's restart), or with `only_failed` only those that failed.
    /// Progress is kept: a restarted flow resumes where it stood, and a
    /// failed one retries now instead of after its backoff. Returns the
    /// flows restarted.
    pub async fn restart(&self, names: &[String], only_failed: bool) -> Vec<String> {
        let inner = &self.inner;
        let mut flows = inner.flows.lock().await;
        if inner.shutdown.is_cancelled() {
            return Vec::new();
        }
        let board = inner.status.snapshot();
        let failed = |name: &str| {
            board
                .iter()
                .any(|f| f.name == name && f.state() == FlowState::Failed)
        };
        let mut restarted = Vec::new();
        for name in names {
            let Some(slot) = flows.get_mut(name) else {
                continue;
            };
            if slot.spec.paused || (only_failed && !failed(name)) {
                continue;
            }
            stop_flow(name, slot).await;
            slot.running = Some(inner.spawn_flow(slot.spec.clone()));
            info!(flow = %name, "flow restarted");
            restarted.push(name.clone());
        }
        restarted
    }

    /// Waits until every flow stopped after the shutdown token was cancelled.
    pub async fn stopped(&self) {
        self.inner.shutdown.cancelled().await;
        // Nothing new starts once shut down (apply checks under the lock).
        drop(self.inner.flows.lock().await);
        self.inner.tasks.close();
        self.inner.tasks.wait().await;
    }
}

fn register_paused(inner: &Inner, spec: &FlowSpec) {
    inner.status.flow_registered(
        &spec.name(),
        spec.flow.source.as_str(),
        spec.flow.target.as_str(),
        FlowMode::new(spec.flow.replication_enabled),
        true,
    );
}

async fn stop_flow(name: &str, slot: &mut FlowSlot) {
    let Some(running) = slot.running.take() else {
        return;
    };
    running.stop.cancel();
    let abort = running.task.abort_handle();
    if tokio::time::timeout(FLOW_STOP_TIMEOUT, running.task)
        .await
        .is_err()
    {
        warn!(flow = %name, timeout = ?FLOW_STOP_TIMEOUT, "flow did not stop in time; aborted");
        abort.abort();
    }
}

impl Inner {
    fn client_by_alias(&self, alias: &str) -> Option<KafkaClient> {
        self.clients
            .lock()
            .unwrap()
            .iter()
            .find(|((a, _, _), _)| a == alias)
            .map(|(_, client)| client.clone())
    }

    fn cached_client(&self, key: &ClusterKey) -> Option<KafkaClient> {
        self.clients.lock().unwrap().get(key).cloned()
    }

    /// The client of `cluster` for `role`: the source side of a flow reads
    /// as MM2's consumer, the target side writes as its producer.
    async fn client_for(&self, side: Side<'_>) -> Result<KafkaClient, EngineError> {
        let Side {
            cluster,
            role,
            settings,
            admin,
        } = side;
        let key = side.key();
        if let Some(client) = self.cached_client(&key) {
            return Ok(client);
        }
        let alias = cluster.alias.to_string();
        let (client_config, ignored) =
            clients::client_config_with(cluster, role, settings, format!("kmirror-{alias}"))
                .map_err(|source| EngineError::Security {
                    alias: alias.clone(),
                    source,
                })?;
        let admin_differs = clients::admin_settings_differ(cluster, role, admin, settings);
        if !admin_differs.is_empty() {
            warn!(
                cluster = %alias,
                keys = %admin_differs.join(", "),
                "admin settings differ from {alias}.{}*; kmirror makes its admin calls on the {} connection with the latter",
                role.prefix(),
                role.prefix().trim_end_matches('.'),
            );
        }
        for setting in ignored {
            warn!(cluster = %alias, key = %setting.key, reason = setting.reason, "security setting has no effect in kmirror");
        }
        let bootstrap = cluster.bootstrap_servers.join(",");
        let protocol = client_config.connection.security.protocol();
        let client = KafkaClient::connect(client_config)
            .await
            .map_err(|source| {
                if source.is_security_refusal() {
                    EngineError::Refused {
                        alias: alias.clone(),
                        bootstrap: bootstrap.clone(),
                        source,
                    }
                } else {
                    EngineError::Unreachable {
                        alias: alias.clone(),
                        bootstrap: bootstrap.clone(),
                        source,
                    }
                }
            })?;
        info!(cluster = %alias, bootstrap, %protocol, "connected");
        // Another flow may have connected meanwhile: keep one client.
        Ok(self
            .clients
            .lock()
            .unwrap()
            .entry(key)
            .or_insert(client)
            .clone())
    }

    fn spawn_flow(self: &Arc<Self>, spec: FlowSpec) -> RunningFlow {
        let stop = self.shutdown.child_token();
        let task = self
            .tasks
            .spawn(supervise_flow(self.clone(), spec, stop.clone()));
        RunningFlow { stop, task }
    }
}

/// Runs a flow, connecting its clusters first, and restarts it with backoff
/// when it fails, until `stop`.
async fn supervise_flow(inner: Arc<Inner>, spec: FlowSpec, stop: CancellationToken) {
    let name = spec.name();
    let producer = &spec.flow.client_settings.producer;
    if producer.acks == Acks::Leader {
        warn!(
            flow = %name,
            key = producer.acks_key.as_deref().unwrap_or("acks"),
            "acks=1: the target's leader alone confirms each batch, so a batch is lost if that broker fails before a follower copies it, while kmirror already counts it as replicated; kmirror's no-loss promise needs acks=all"
        );
    }
    let mut backoff = FLOW_RESTART_BACKOFF;
    loop {
        let clients = async {
            let source = inner.client_for(spec.source_side()).await?;
            let target = inner.client_for(spec.target_side()).await?;
            Ok::<_, EngineError>((source, target))
        };
        let clients = tokio::select! {
            _ = stop.cancelled() => return,
            clients = clients => clients,
        };
        match clients {
            Ok((source, target)) => {
                if stop
                    .run_until_cancelled(ensure_canary_topic(&source, &spec.flow))
                    .await
                    .is_none()
                {
                    return;
                }
                let principals = (
                    source.config().connection.security.principal(),
                    target.config().connection.security.principal(),
                );
                let run = FlowRun {
                    flow: spec.flow.clone(),
                    source,
                    target,
                    group: spec.group.clone(),
                    fingerprint: spec.fingerprint,
                    expected_source_topics: spec.expected_source_topics.clone(),
                };
                let result = run_flow(
                    run,
                    inner.status.clone(),
                    inner.indexes.clone(),
                    inner.tuning.clone(),
                    stop.clone(),
                )
                .await;
                match result {
                    Ok(()) => return,
                    Err(e) => {
                        let hint = e.flow_client_error().and_then(|e| {
                            authorization::flow_failure_hint(
                                e,
                                spec.flow.source.as_str(),
                                principals.0.as_deref(),
                                spec.flow.target.as_str(),
                                principals.1.as_deref(),
                            )
                        });
                        match hint {
                            Some(hint) => {
                                error!(flow = %name, error = %e, hint, "flow failed; restarting")
                            }
                            None => error!(flow = %name, error = %e, "flow failed; restarting"),
                        }
                    }
                }
            }
            Err(e) => {
                inner.status.flow_registered(
                    &name,
                    spec.flow.source.as_str(),
                    spec.flow.target.as_str(),
                    FlowMode::new(spec.flow.replication_enabled),
                    false,
                );
                inner.status.flow_failed(&name, &e);
                error!(flow = %name, error = %e, "cannot connect the flow's clusters; retrying");
            }
        }
        tokio::select! {
            _ = stop.cancelled() => return,
            _ = tokio::time::sleep(backoff.next_pause()) => {}
        }
    }
}

/// Creates the canary topic `kmirror verify` writes to on the flow's source,
/// so that the flow's first discovery sees it. Best effort: a source kmirror
/// may not create topics on only loses `verify`.
async fn ensure_canary_topic(source: &KafkaClient, flow: &FlowConfig) {
    if !flow.replication_enabled
        || flow.remote_topic(CANARY_TOPIC) == CANARY_TOPIC
        || source.metadata().topics.contains_key(CANARY_TOPIC)
    {
        return;
    }
    let rf = effective_replication_factor(source, flow.replication_factor, CANARY_TOPIC);
    let topic = NewTopic::new(CANARY_TOPIC, 1, rf)
        .with_config("cleanup.policy", "delete")
        .with_config("retention.ms", CANARY_RETENTION_MS);
    match source.admin().create_topics(&[topic], false).await {
        Ok(results) => {
            for (_, result) in results {
                match result {
                    Ok(CreateTopicOutcome::Created) => {
                        info!(topic = CANARY_TOPIC, cluster = %flow.source, "topic created")
                    }
                    Ok(CreateTopicOutcome::AlreadyExists) => {}
                    Err(e) => {
                        debug!(cluster = %flow.source, error = %e, "cannot create the canary topic")
                    }
                }
            }
            let _ = source
                .refresh_metadata(Some(&[CANARY_TOPIC.to_string()]))
                .await;
        }
        Err(e) => debug!(cluster = %flow.source, error = %e, "cannot create the canary topic"),
    }
}

/// Polls the source end offsets of the partitions that need it (see
/// [`StatusBoard::partitions_to_poll`](super::StatusBoard::partitions_to_poll):
/// paused ones, ones with lag, ones whose fetch does not report the end),
/// every [`END_OFFSET_POLL_INTERVAL`], until the engine stops. At rest, with
/// every partition fetched and caught up, a round asks nothing.
async fn poll_end_offsets(inner: Arc<Inner>) {
    let mut ticker = Ticker::new(END_OFFSET_POLL_INTERVAL, &inner.shutdown);
    while ticker.tick().await {
        let sources: Vec<(String, ClusterKey)> = match inner.flows.try_lock() {
            Ok(flows) => flows
                .iter()
                .map(|(name, slot)| (name.clone(), slot.spec.source_side().key()))
                .collect(),
            // A change is being applied; poll next time.
            Err(_) => continue,
        };
        for (name, source) in sources {
            let Some(client) = inner.cached_client(&source) else {
                continue;
            };
            let partitions = inner.status.partitions_to_poll(&name, now_ms());
            if partitions.is_empty() {
                continue;
            }
            let admin = client.admin();
            let answers = tokio::select! {
                _ = inner.shutdown.cancelled() => return,
                answers = tokio::time::timeout(
                    END_OFFSET_POLL_INTERVAL * 2,
                    admin.list_offsets(&partitions, OffsetSpec::Latest),
                ) => answers,
            };
            let Ok(Ok(answers)) = answers else {
                continue;
            };
            for ((topic, partition), end) in answers {
                if let Ok(end) = end {
                    inner.status.polled_end_offset(
                        &name,
                        &TopicPartition::new(&topic, partition),
                        end,
                    );
                }
            }
        }
    }
}
