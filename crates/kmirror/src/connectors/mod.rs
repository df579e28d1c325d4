//! Connectors: what the Kafka Connect-style REST API manages.
//!
//! The properties file given to `kmirror run` is one connector (named after
//! the file); more come from `POST /connectors` in the Connect JSON form of
//! MirrorSourceConnector, MirrorCheckpointConnector or
//! MirrorHeartbeatConnector. Every change is written to the state file first
//! ([`state`]) and then applied to the running engine, which restarts only
//! the flows whose config changed.
//!
//! kmirror runs one flow per ordered cluster pair, so connectors map onto
//! flows like this:
//! - a MirrorSourceConnector (and the properties file) runs every flow of its
//!   config as `kmirror run` does: replication, offset syncs, checkpoints and
//!   heartbeats as configured. Two of them replicating the same pair conflict
//!   (409);
//! - a MirrorHeartbeatConnector runs heartbeats for its pairs that no source
//!   connector runs;
//! - a MirrorCheckpointConnector starts nothing: kmirror translates offsets
//!   from the index its replication keeps, so checkpoints come from the source
//!   connector of the same pair (its `emit.checkpoints.*` settings). Its
//!   status shows that flow, or FAILED with the reason when there is none.

pub mod state;

use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, OnceLock};

use kmirror_engine::config::mm2::{ConnectorClass, Mm2Config};
use kmirror_engine::config::{is_secret_key, ConfigError};
use kmirror_engine::runtime::{FlowChange, FlowSpec, Replicator, ReplicatorHandle};
use serde_json::{Map, Value};
use tracing::{info, warn};

use self::state::{StateError, StateStore, StoredConnector, StoredFileConnector};

/// What secret values are replaced with in answers. Sent back in a `PUT`, it
/// means "keep the stored value".
pub const REDACTED: &str = "[redacted]";

/// Why a connector request failed. The REST layer answers each with its
/// HTTP status (see `rest::ApiError`).
#[derive(Debug, thiserror::Error)]
pub enum ConnectorError {
    /// Two connectors would run the same flow.
    #[error(
        "connectors {first} and {second} both replicate {flow}; kmirror runs one flow per cluster pair"
    )]
    SameFlow {
        first: String,
        second: String,
        flow: String,
    },
    #[error("config key {key}: expected a string value")]
    NotAString { key: String },
    #[error("the config's name ({given}) differs from the connector's ({name})")]
    NameMismatch { given: String, name: String },
    /// The config is not a valid MM2 config.
    #[error("{0}")]
    Config(#[from] ConfigError),
    /// `--allow-cluster-hosts` does not list a bootstrap server's host.
    #[error(
        "cluster {cluster}: bootstrap server {server} is not on an allowed host ({})",
        allowed.join(", ")
    )]
    HostNotAllowed {
        cluster: String,
        server: String,
        allowed: Vec<String>,
    },
    #[error("connector name is required")]
    NameRequired,
    #[error(
        "invalid connector name {name:?}: at most 249 characters, no control characters or '/'"
    )]
    InvalidName { name: String },
    #[error("connector {name} already exists")]
    AlreadyExists { name: String },
    #[error("connector {name} not found")]
    NotFound { name: String },
    /// The engine is not started yet.
    #[error("kmirror is starting")]
    Starting,
    /// The state could not be written.
    #[error(transparent)]
    State(#[from] StateError),
}

/// One connector.
#[derive(Debug, Clone)]
pub struct Connector {
    pub name: String,
    /// As Connect shows it: string values, with `connector.class` and `name`.
    pub config: BTreeMap<String, String>,
    pub class: ConnectorClass,
    pub mm2: Mm2Config,
    pub paused: bool,
    /// The properties file `run` was given.
    pub from_file: bool,
}

impl Connector {
    /// The config with secret values replaced by [`REDACTED`].
    pub fn redacted_config(&self) -> BTreeMap<String, String> {
        self.config
            .iter()
            .map(|(k, v)| {
                let value = if is_secret_key(k) {
                    REDACTED.to_string()
                } else {
                    v.clone()
                };
                (k.clone(), value)
            })
            .collect()
    }

    /// Whether this connector runs replication (and all else) for its pairs.
    fn is_primary(&self) -> bool {
        self.from_file || self.class == ConnectorClass::Source
    }
}

/// The flows the connectors run, and which connector each belongs to.
#[derive(Debug, Clone, Default)]
pub struct Plan {
    pub specs: Vec<FlowSpec>,
    /// Flow name → connector running it.
    pub owners: BTreeMap<String, String>,
    /// Connector → the flows its status shows.
    pub tasks: BTreeMap<String, Vec<String>>,
}

/// Works out the flows of a set of connectors (see the module doc).
pub fn plan(connectors: &BTreeMap<String, Connector>) -> Result<Plan, ConnectorError> {
    let mut plan = Plan::default();
    let mut specs: BTreeMap<String, FlowSpec> = BTreeMap::new();
    let mut replicating: BTreeMap<String, String> = BTreeMap::new();
    // Replication first: it owns its pairs.
    for connector in connectors.values().filter(|c| c.is_primary()) {
        for mut spec in Replicator::flow_specs(&connector.mm2) {
            if !spec.flow.replication_enabled {
                continue;
            }
            let name = spec.name();
            if let Some(other) = replicating.get(&name) {
                return Err(ConnectorError::SameFlow {
                    first: other.clone(),
                    second: connector.name.clone(),
                    flow: name,
                });
            }
            spec.paused = connector.paused;
            replicating.insert(name.clone(), connector.name.clone());
            plan.owners.insert(name.clone(), connector.name.clone());
            specs.insert(name, spec);
        }
    }
    // Then heartbeat-only pairs: of source connectors, then of heartbeat
    // connectors, first come (by name) first served.
    let heartbeat_sources = connectors.values().filter(|c| c.is_primary()).chain(
        connectors
            .values()
            .filter(|c| !c.from_file && c.class == ConnectorClass::Heartbeat),
    );
    for connector in heartbeat_sources {
        for mut spec in Replicator::flow_specs(&connector.mm2) {
            let name = spec.name();
            if specs.contains_key(&name) || spec.flow.emit_heartbeats.interval().is_none() {
                continue;
            }
            spec.flow.replication_enabled = false;
            spec.flow.emit_checkpoints.enabled = false;
            spec.paused = connector.paused;
            plan.owners.insert(name.clone(), connector.name.clone());
            specs.insert(name, spec);
        }
    }
    for connector in connectors.values() {
        let mut tasks: Vec<String> = plan
            .owners
            .iter()
            .filter(|(_, owner)| **owner == connector.name)
            .map(|(flow, _)| flow.clone())
            .collect();
        if !connector.from_file && connector.class == ConnectorClass::Checkpoint {
            tasks = connector
                .mm2
                .flows()
                .map(|f| f.name())
                .filter(|name| replicating.contains_key(name))
                .collect();
        }
        plan.tasks.insert(connector.name.clone(), tasks);
    }
    plan.specs = specs.into_values().collect();
    Ok(plan)
}

/// Parses a connector config given as a JSON object (Connect's form).
/// `name` is the connector's name; a `name` key in the config must match.
pub fn parse_connector(
    name: &str,
    config: &Map<String, Value>,
    allowed_hosts: Option<&[String]>,
) -> Result<Connector, ConnectorError> {
    validate_name(name)?;
    let mut strings = BTreeMap::new();
    for (key, value) in config {
        let text = match value {
            Value::String(s) => s.clone(),
            Value::Number(n) => n.to_string(),
            Value::Bool(b) => b.to_string(),
            Value::Null => continue,
            _ => return Err(ConnectorError::NotAString { key: key.clone() }),
        };
        strings.insert(key.clone(), text);
    }
    if let Some(given) = strings.get("name") {
        if given != name {
            return Err(ConnectorError::NameMismatch {
                given: given.clone(),
                name: name.to_string(),
            });
        }
    }
    strings.insert("name".to_string(), name.to_string());
    let document = serde_json::json!({ "name": name, "config": strings });
    let mm2 =
        Mm2Config::from_connect_json_named(&document.to_string(), &format!("connector {name}"))?;
    let class = mm2
        .connector()
        .map(|c| c.class)
        .unwrap_or(ConnectorClass::Source);
    if let Some(allowed) = allowed_hosts {
        for cluster in mm2.clusters() {
            for server in &cluster.bootstrap_servers {
                let host = host_of(server);
                if !allowed.iter().any(|a| a.eq_ignore_ascii_case(host)) {
                    return Err(ConnectorError::HostNotAllowed {
                        cluster: cluster.alias.to_string(),
                        server: server.clone(),
                        allowed: allowed.to_vec(),
                    });
                }
            }
        }
    }
    Ok(Connector {
        name: name.to_string(),
        config: strings,
        class,
        mm2,
        paused: false,
        from_file: false,
    })
}

/// `host` of `host:port` (and of `[v6]:port`).
fn host_of(server: &str) -> &str {
    let server = server.trim();
    if let Some(rest) = server.strip_prefix('[') {
        return rest.split(']').next().unwrap_or(rest);
    }
    match server.rsplit_once(':') {
        Some((host, _)) => host,
        None => server,
    }
}

/// Connect refuses empty names and names with control characters; so do we,
/// and also `/` (it could not be addressed in a URL path).
fn validate_name(name: &str) -> Result<(), ConnectorError> {
    if name.trim().is_empty() {
        return Err(ConnectorError::NameRequired);
    }
    if name.chars().count() > 249 || name.chars().any(|c| c.is_control() || c == '/') {
        return Err(ConnectorError::InvalidName {
            name: name.to_string(),
        });
    }
    Ok(())
}

/// The properties file as a connector config.
fn file_config_map(mm2: &Mm2Config, name: &str) -> BTreeMap<String, String> {
    let mut config: BTreeMap<String, String> = mm2
        .properties()
        .iter()
        .map(|(k, e)| (k.to_string(), e.value.clone()))
        .collect();
    config
        .entry("connector.class".to_string())
        .or_insert_with(|| ConnectorClass::Source.java_class_name().to_string());
    config.insert("name".to_string(), name.to_string());
    config
}

/// The properties file `run` was given, as a connector.
#[derive(Debug, Clone)]
pub struct FileConnector {
    pub name: String,
    pub path: String,
    pub text: String,
    pub mm2: Mm2Config,
}

impl FileConnector {
    /// The connector's name: the JSON's `name`, else the file stem.
    pub fn new(path: &std::path::Path, text: String, mm2: Mm2Config) -> Self {
        let stem = path
            .file_stem()
            .map(|s| s.to_string_lossy().to_string())
            .filter(|s| !s.is_empty())
            .unwrap_or_else(|| "mm2".to_string());
        let name = mm2.connector().and_then(|c| c.name.clone()).unwrap_or(stem);
        FileConnector {
            name,
            path: path.display().to_string(),
            text,
            mm2,
        }
    }
}

/// The connectors, the engine they drive and the state file they live in.
#[derive(Debug)]
pub struct Registry {
    connectors: tokio::sync::Mutex<BTreeMap<String, Connector>>,
    /// The last plan applied, for status answers without the lock.
    current: std::sync::RwLock<Arc<(BTreeMap<String, Connector>, Plan)>>,
    file: Option<FileConnector>,
    store: Option<StateStore>,
    handle: OnceLock<ReplicatorHandle>,
    allowed_hosts: Option<Vec<String>>,
}

impl Registry {
    /// The file connector (unless the state says it was deleted or changed
    /// through the API while the file stayed the same) and the connectors the
    /// state file holds.
    pub fn load(
        file: Option<FileConnector>,
        store: Option<StateStore>,
        allowed_hosts: Option<Vec<String>>,
    ) -> Result<Self, ConnectorError> {
        let stored = match &store {
            Some(store) => store.load()?,
            None => Default::default(),
        };
        let mut connectors = BTreeMap::new();
        if let Some(file) = &file {
            let mut connector = Connector {
                name: file.name.clone(),
                config: file_config_map(&file.mm2, &file.name),
                class: ConnectorClass::Source,
                mm2: file.mm2.clone(),
                paused: false,
                from_file: true,
            };
            let mut deleted = false;
            match &stored.file {
                Some(saved) if saved.path == file.path && saved.text == file.text => {
                    deleted = saved.deleted;
                    connector.paused = saved.paused;
                    if let Some(config) = &saved.config {
                        match parse_connector(&file.name, &to_json_map(config), None) {
                            Ok(parsed) => {
                                connector.config = parsed.config;
                                connector.mm2 = parsed.mm2;
                            }
                            Err(e) => warn!(
                                connector = %file.name,
                                error = %e,
                                "the config saved through the API no longer parses; using the file"
                            ),
                        }
                    }
                }
                Some(_) => info!(
                    connector = %file.name,
                    file = %file.path,
                    "the config file changed since the API last changed its connector; the file wins"
                ),
                None => {}
            }
            if deleted {
                info!(connector = %file.name, "the config file's connector was deleted through the API; not running it");
            } else {
                connectors.insert(file.name.clone(), connector);
            }
        }
        for saved in stored.connectors {
            if file.as_ref().is_some_and(|f| f.name == saved.name) {
                warn!(connector = %saved.name, "a saved connector has the config file's name; ignored");
                continue;
            }
            match parse_connector(&saved.name, &to_json_map(&saved.config), None) {
                Ok(mut connector) => {
                    connector.paused = saved.paused;
                    connectors.insert(saved.name.clone(), connector);
                }
                Err(e) => {
                    warn!(connector = %saved.name, error = %e, "a saved connector no longer parses; skipped")
                }
            }
        }
        let plan = plan(&connectors)?;
        Ok(Registry {
            current: std::sync::RwLock::new(Arc::new((connectors.clone(), plan))),
            connectors: tokio::sync::Mutex::new(connectors),
            file,
            store,
            handle: OnceLock::new(),
            allowed_hosts,
        })
    }

    /// Whether the file's connector runs (the engine must reach its clusters
    /// at start).
    pub fn file_connector_active(&self) -> bool {
        match &self.file {
            Some(file) => self.snapshot().0.contains_key(&file.name),
            None => false,
        }
    }

    /// The flows to start with.
    pub fn initial_flows(&self) -> Vec<FlowSpec> {
        self.snapshot().1.specs.clone()
    }

    /// Connects the registry to the running engine.
    pub fn attach(&self, handle: ReplicatorHandle) {
        let _ = self.handle.set(handle);
    }

    /// The connectors and plan in force.
    pub fn snapshot(&self) -> Arc<(BTreeMap<String, Connector>, Plan)> {
        self.current.read().unwrap().clone()
    }

    pub fn get(&self, name: &str) -> Result<Connector, ConnectorError> {
        self.snapshot()
            .0
            .get(name)
            .cloned()
            .ok_or_else(|| not_found(name))
    }

    /// `POST /connectors`.
    pub async fn create(
        &self,
        name: &str,
        config: &Map<String, Value>,
    ) -> Result<Connector, ConnectorError> {
        let handle = self.handle()?;
        let connector = parse_connector(name, config, self.allowed_hosts.as_deref())?;
        let mut connectors = self.connectors.lock().await;
        if connectors.contains_key(name) {
            return Err(ConnectorError::AlreadyExists {
                name: name.to_string(),
            });
        }
        let mut next = connectors.clone();
        next.insert(name.to_string(), connector.clone());
        self.commit(&handle, &mut connectors, next, name, "created", &[])
            .await?;
        Ok(connector)
    }

    /// `PUT /connectors/{name}/config`: creates or replaces; says which.
    pub async fn put_config(
        &self,
        name: &str,
        config: &Map<String, Value>,
    ) -> Result<(Connector, bool), ConnectorError> {
        let handle = self.handle()?;
        let mut connectors = self.connectors.lock().await;
        let existing = connectors.get(name).cloned();
        // A redacted secret sent back means the stored one.
        let mut config = config.clone();
        if let Some(existing) = &existing {
            for (key, value) in config.iter_mut() {
                if value.as_str() == Some(REDACTED) {
                    if let Some(stored) = existing.config.get(key) {
                        *value = Value::String(stored.clone());
                    }
                }
            }
        }
        let mut connector = parse_connector(name, &config, self.allowed_hosts.as_deref())?;
        let created = existing.is_none();
        let mut changed_keys = Vec::new();
        if let Some(existing) = &existing {
            connector.paused = existing.paused;
            connector.from_file = existing.from_file;
            let keys: BTreeSet<&String> = existing
                .config
                .keys()
                .chain(connector.config.keys())
                .collect();
            changed_keys = keys
                .into_iter()
                .filter(|k| existing.config.get(*k) != connector.config.get(*k))
                .cloned()
                .collect();
        }
        let mut next = connectors.clone();
        next.insert(name.to_string(), connector.clone());
        let change = if created { "created" } else { "updated" };
        self.commit(&handle, &mut connectors, next, name, change, &changed_keys)
            .await?;
        Ok((connector, created))
    }

    /// `PUT /connectors/{name}/pause` and `/resume`.
    pub async fn set_paused(&self, name: &str, paused: bool) -> Result<(), ConnectorError> {
        let handle = self.handle()?;
        let mut connectors = self.connectors.lock().await;
        let Some(existing) = connectors.get(name) else {
            return Err(not_found(name));
        };
        if existing.paused == paused {
            return Ok(());
        }
        let mut next = connectors.clone();
        next.get_mut(name).expect("checked above").paused = paused;
        let change = if paused { "paused" } else { "resumed" };
        self.commit(&handle, &mut connectors, next, name, change, &[])
            .await
    }

    /// `POST /connectors/{name}/restart`: the connector's running flows (or
    /// with `only_failed` its failed ones) stop and start again, keeping
    /// their progress. Returns the flows restarted.
    pub async fn restart(
        &self,
        name: &str,
        only_failed: bool,
    ) -> Result<Vec<String>, ConnectorError> {
        let flows = {
            let connectors = self.connectors.lock().await;
            if !connectors.contains_key(name) {
                return Err(not_found(name));
            }
            self.snapshot()
                .1
                .tasks
                .get(name)
                .cloned()
                .unwrap_or_default()
        };
        self.restart_flows(name, &flows, only_failed).await
    }

    /// Restarts some of connector `name`'s flows (its tasks).
    pub async fn restart_flows(
        &self,
        name: &str,
        flows: &[String],
        only_failed: bool,
    ) -> Result<Vec<String>, ConnectorError> {
        let restarted = self.handle()?.restart(flows, only_failed).await;
        info!(connector = %name, flows = %restarted.join(", "), "connector restarted");
        Ok(restarted)
    }

    /// `DELETE /connectors/{name}`.
    pub async fn delete(&self, name: &str) -> Result<(), ConnectorError> {
        let handle = self.handle()?;
        let mut connectors = self.connectors.lock().await;
        if !connectors.contains_key(name) {
            return Err(not_found(name));
        }
        let mut next = connectors.clone();
        next.remove(name);
        self.commit(&handle, &mut connectors, next, name, "deleted", &[])
            .await
    }

    fn handle(&self) -> Result<ReplicatorHandle, ConnectorError> {
        self.handle.get().cloned().ok_or(ConnectorError::Starting)
    }

    /// Plans `next`, saves it, applies it to the engine and makes it current.
    async fn commit(
        &self,
        handle: &ReplicatorHandle,
        connectors: &mut BTreeMap<String, Connector>,
        next: BTreeMap<String, Connector>,
        name: &str,
        change: &str,
        changed_keys: &[String],
    ) -> Result<(), ConnectorError> {
        let plan = plan(&next)?;
        if let Some(store) = &self.store {
            store.save(&self.stored_form(&next))?;
        }
        if next.contains_key(name) {
            let flows = plan.tasks.get(name).cloned().unwrap_or_default().join(", ");
            // Key names only: values may be secrets.
            info!(
                connector = %name,
                change,
                keys = %changed_keys.join(", "),
                flows = %flows,
                "connector config changed"
            );
        } else {
            // Gone from the new plan: the flows it ran are in the current one.
            let flows = self
                .snapshot()
                .1
                .tasks
                .get(name)
                .cloned()
                .unwrap_or_default()
                .join(", ");
            info!(connector = %name, flows = %flows, "connector {change}");
        }
        let changes = handle.apply(plan.specs.clone()).await;
        for change in &changes {
            match change {
                FlowChange::Added { flow, paused } => {
                    info!(connector = %name, flow = %flow, paused, "flow added by config change")
                }
                FlowChange::Removed { flow } => {
                    info!(connector = %name, flow = %flow, "flow removed by config change")
                }
                FlowChange::Replaced { flow } => {
                    info!(connector = %name, flow = %flow, "flow restarted by config change")
                }
                FlowChange::Paused { flow } => {
                    info!(connector = %name, flow = %flow, "flow paused")
                }
                FlowChange::Resumed { flow } => {
                    info!(connector = %name, flow = %flow, "flow resumed")
                }
            }
        }
        *connectors = next.clone();
        *self.current.write().unwrap() = Arc::new((next, plan));
        Ok(())
    }

    fn stored_form(&self, connectors: &BTreeMap<String, Connector>) -> state::StoredState {
        let file = self.file.as_ref().map(|file| {
            let current = connectors.get(&file.name);
            let original = file_config_map(&file.mm2, &file.name);
            StoredFileConnector {
                name: file.name.clone(),
                path: file.path.clone(),
                text: file.text.clone(),
                deleted: current.is_none(),
                paused: current.is_some_and(|c| c.paused),
                config: current
                    .filter(|c| c.config != original)
                    .map(|c| c.config.clone()),
            }
        });
        state::StoredState {
            version: state::STATE_VERSION,
            connectors: connectors
                .values()
                .filter(|c| !c.from_file)
                .map(|c| StoredConnector {
                    name: c.name.clone(),
                    config: c.config.clone(),
                    paused: c.paused,
                })
                .collect(),
            file,
        }
    }
}

fn not_found(name: &str) -> ConnectorError {
    ConnectorError::NotFound {
        name: name.to_string(),
    }
}

fn to_json_map(config: &BTreeMap<String, String>) -> Map<String, Value> {
    config
        .iter()
        .map(|(k, v)| (k.clone(), Value::String(v.clone())))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(pairs: &[(&str, &str)]) -> Map<String, Value> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), Value::String(v.to_string())))
            .collect()
    }

    fn source(name: &str, pairs: &[(&str, &str)]) -> Connector {
        let mut all = vec![
            (
                "connector.class",
                "org.apache.kafka.connect.mirror.MirrorSourceConnector",
            ),
            ("clusters", "a, b"),
            ("a.bootstrap.servers", "127.0.0.1:1"),
            ("b.bootstrap.servers", "127.0.0.1:2"),
        ];
        all.extend_from_slice(pairs);
        parse_connector(name, &config(&all), None).unwrap()
    }

    #[test]
    fn unknown_class_and_bad_values_are_invalid() {
        let e = parse_connector("x", &config(&[("connector.class", "Nope")]), None).unwrap_err();
        assert!(matches!(&e, ConnectorError::Config(_)), "{e:?}");
        assert!(e.to_string().contains("unknown connector class"), "{e}");
        let mut bad = config(&[("connector.class", "MirrorSourceConnector")]);
        bad.insert("tasks.max".into(), serde_json::json!([1]));
        let e = parse_connector("x", &bad, None).unwrap_err();
        assert!(
            matches!(&e, ConnectorError::NotAString { key } if key == "tasks.max"),
            "{e:?}"
        );
        assert_eq!(
            e.to_string(),
            "config key tasks.max: expected a string value"
        );
        let e = parse_connector("", &bad, None).unwrap_err();
        assert!(matches!(e, ConnectorError::NameRequired), "{e:?}");
    }

    #[test]
    fn two_source_connectors_on_one_pair_conflict() {
        let mut connectors = BTreeMap::new();
        connectors.insert("one".into(), source("one", &[("a->b.enabled", "true")]));
        connectors.insert("two".into(), source("two", &[("b->a.enabled", "true")]));
        let plan = plan(&connectors).unwrap();
        assert_eq!(plan.owners["a->b"], "one");
        assert_eq!(plan.owners["b->a"], "two");
        assert!(plan.specs.iter().all(|s| s.flow.replication_enabled));
        connectors.insert("three".into(), source("three", &[("a->b.enabled", "true")]));
        let e = super::plan(&connectors).unwrap_err();
        assert!(
            matches!(&e, ConnectorError::SameFlow { flow, .. } if flow == "a->b"),
            "{e:?}"
        );
    }

    #[test]
    fn allowed_hosts_are_enforced() {
        let allowed = vec!["127.0.0.1".to_string()];
        let mut pairs = config(&[
            ("connector.class", "MirrorSourceConnector"),
            ("clusters", "a, b"),
            ("a.bootstrap.servers", "127.0.0.1:1"),
            ("b.bootstrap.servers", "10.1.2.3:9092"),
            ("a->b.enabled", "true"),
        ]);
        let e = parse_connector("x", &pairs, Some(&allowed)).unwrap_err();
        assert!(matches!(&e, ConnectorError::HostNotAllowed { .. }), "{e:?}");
        assert!(e.to_string().contains("10.1.2.3:9092"), "{e:?}");
        pairs.insert("b.bootstrap.servers".into(), "127.0.0.1:2".into());
        parse_connector("x", &pairs, Some(&allowed)).unwrap();
    }

    #[test]
    fn secrets_are_redacted() {
        let connector = source("x", &[("a.sasl.jaas.config", "secret stuff")]);
        assert_eq!(connector.redacted_config()["a.sasl.jaas.config"], REDACTED);
        assert_eq!(connector.redacted_config()["clusters"], "a, b");
    }
}
