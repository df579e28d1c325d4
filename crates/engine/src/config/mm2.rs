//! MM2 dedicated-mode configuration (`mm2.properties`), typed and validated,
//! with MM2's defaults and precedence.
//!
//! Precedence, as `MirrorMakerConfig` builds connector configs:
//! - a flow setting is `source->target.<key>` if set, else the top-level
//!   `<key>`, else MM2's default;
//! - a cluster's connection settings (`bootstrap.servers`, `security.protocol`,
//!   `ssl.*`, `sasl.*`) are `<alias>.<key>` if set, else the top-level `<key>`;
//!   per-client overrides are `<alias>.consumer.*`, `<alias>.producer.*`,
//!   `<alias>.admin.*` and win over both;
//! - a flow replicates only when its `enabled` resolves to true: MM2 dedicated
//!   mode defaults it to false (`MirrorMakerConfig.connectorBaseConfig` puts
//!   `enabled=false` if absent), so a flow runs only with `A->B.enabled = true`
//!   (or a top-level `enabled = true`, which MM2 also passes to every flow).
//!
//! ```
//! use kmirror_engine::config::mm2::Mm2Config;
//!
//! let config = Mm2Config::parse(
//!     "clusters = a, b\n\
//!      a.bootstrap.servers = a1:9092\n\
//!      b.bootstrap.servers = b1:9092\n\
//!      a->b.enabled = true\n\
//!      a->b.topics = orders.*\n",
//!     "mm2.properties",
//! ).unwrap();
//! let flow = config.flow("a", "b").unwrap();
//! assert!(flow.topics.should_replicate_topic("orders-eu"));
//! assert_eq!(flow.remote_topic("orders-eu"), "a.orders-eu");
//! assert!(config.flow("b", "a").is_none()); // not enabled
//! ```

use std::collections::BTreeSet;

use indexmap::IndexMap;

use super::client_keys;
use super::connect;
use super::error::{ConfigError, ConfigErrorKind, ConfigWarning, Location, UnknownKey};
use super::properties::Properties;
use super::providers;

mod clusters;
mod collect;
mod connectors;
mod exactly_once;
mod flow_checks;
pub(crate) mod flow_keys;
mod flow_settings;
mod flows;
mod key_verdicts;
mod targets;
mod validate;
mod values;

pub use clusters::{ClientOverrides, ClientProperties, ClientRole, ClusterAlias, ClusterConfig};
pub use connectors::{ConnectorClass, ConnectorInfo};
pub use exactly_once::{
    ExactlyOnce, ExactlyOnceSupport, TransactionBoundary, DEFAULT_TRANSACTION_TIMEOUT,
    POLL_TRANSACTION_MAX_DURATION, TRANSACTION_MAX_BYTES,
};
pub use flow_keys::flow_key_table_markdown;
pub use flows::{FlowConfig, OffsetSyncsTopicLocation, Periodic};

/// A validated MM2 configuration.
#[derive(Debug, Clone)]
pub struct Mm2Config {
    source_name: String,
    clusters: IndexMap<ClusterAlias, ClusterConfig>,
    /// Every ordered pair MM2 would run (replication enabled, or heartbeats on).
    pairs: Vec<FlowConfig>,
    top_level_client_overrides: ClientOverrides,
    connector: Option<ConnectorInfo>,
    unsupported: Vec<String>,
    unknown: Vec<UnknownKey>,
    warnings: Vec<ConfigWarning>,
    properties: Properties,
}

impl Mm2Config {
    /// Parses `mm2.properties` text; `source_name` (the file name) goes into errors.
    pub fn parse(text: &str, source_name: &str) -> Result<Self, ConfigError> {
        let properties = Properties::parse(text).map_err(|error| {
            ConfigError::new(
                Location::new(source_name, Some(error.line())),
                "",
                ConfigErrorKind::Properties(error),
            )
        })?;
        Self::from_properties(&properties, source_name)
    }

    /// Types and validates MM2 dedicated-mode properties.
    ///
    /// Config provider placeholders (`${file:path:key}`, `${env:NAME}`, ...)
    /// are resolved first with the providers `config.providers` declares, as
    /// MM2 does; the config keeps the properties as written (see
    /// [`Mm2Config::properties`]) and resolved values stay out of its errors,
    /// warnings and the `Debug` of its properties and client settings
    /// ([`ClientProperties`]). Typed values (numbers, booleans, filters,
    /// bootstrap servers) show in `Debug` as typed: they are not secrets.
    pub fn from_properties(raw: &Properties, source_name: &str) -> Result<Self, ConfigError> {
        Self::resolve_and_build(raw, source_name, None)
    }

    fn resolve_and_build(
        raw: &Properties,
        source_name: &str,
        connect_aliases: Option<(String, String)>,
    ) -> Result<Self, ConfigError> {
        let resolved = providers::resolve(raw, source_name)?;
        let mut config = Builder::new(&resolved.properties, source_name, connect_aliases)
            .build()
            .map_err(|error| resolved.redact_error(error))?;
        let mut warnings = resolved.warnings.clone();
        warnings.append(&mut config.warnings);
        config.warnings = warnings
            .into_iter()
            .map(|warning| resolved.redact_warning(warning))
            .collect();
        config.properties = raw.clone();
        Ok(config)
    }

    /// Reads the Kafka Connect connector form (`{"name": ..., "config": {...}}`
    /// or the bare config object) of `MirrorSourceConnector`,
    /// `MirrorCheckpointConnector` or `MirrorHeartbeatConnector`. The config may
    /// use MM2's dedicated-mode keys (`clusters`, `A->B.enabled`, ...) or the
    /// Connect keys `source.cluster.alias` / `target.cluster.alias` with
    /// `source.cluster.*` / `target.cluster.*` / `source.consumer.*` / ...
    pub fn from_connect_json(json: &str) -> Result<Self, ConfigError> {
        Self::from_connect_json_named(json, "connector JSON")
    }

    /// [`Mm2Config::from_connect_json`] with the name of the source for errors.
    pub fn from_connect_json_named(json: &str, source_name: &str) -> Result<Self, ConfigError> {
        let translated = connect::properties_from_connect_json(json, source_name)?;
        let mut config = Self::resolve_and_build(
            &translated.properties,
            source_name,
            translated.connect_aliases.clone(),
        )?;
        config.connector = Some(translated.connector);
        Ok(config)
    }

    /// The file (or source) this config was read from.
    pub fn source_name(&self) -> &str {
        &self.source_name
    }

    /// The declared clusters, in `clusters` order.
    pub fn clusters(&self) -> impl Iterator<Item = &ClusterConfig> {
        self.clusters.values()
    }

    /// One cluster.
    pub fn cluster(&self, alias: &str) -> Option<&ClusterConfig> {
        self.clusters.get(alias)
    }

    /// The flows that replicate (`enabled` true), in `clusters` order.
    pub fn flows(&self) -> impl Iterator<Item = &FlowConfig> {
        self.pairs.iter().filter(|flow| flow.replication_enabled)
    }

    /// The enabled flow `source->target`.
    pub fn flow(&self, source: &str, target: &str) -> Option<&FlowConfig> {
        self.flows()
            .find(|flow| flow.source.as_str() == source && flow.target.as_str() == target)
    }

    /// Every pair MM2 would run a herder for: enabled flows, and pairs that
    /// only emit heartbeats.
    pub fn pairs(&self) -> &[FlowConfig] {
        &self.pairs
    }

    /// Pairs that emit heartbeats to their target: MM2 emits them for every
    /// pair with `emit.heartbeats.enabled`, replicating or not, so that
    /// `source.heartbeats` arrives downstream of each flow. kmirror limits them
    /// to clusters that take part in an enabled flow (MM2 would need every
    /// declared cluster reachable).
    pub fn heartbeat_pairs(&self) -> impl Iterator<Item = &FlowConfig> {
        let in_use: BTreeSet<&ClusterAlias> = self
            .flows()
            .flat_map(|flow| [&flow.source, &flow.target])
            .collect();
        self.pairs.iter().filter(move |flow| {
            flow.emit_heartbeats.interval().is_some()
                && in_use.contains(&flow.source)
                && in_use.contains(&flow.target)
        })
    }

    /// Top-level `consumer.*`, `producer.*`, `admin.*`. MM2 dedicated mode does
    /// not pass these to its clients (only `<alias>.consumer.*` etc.), and
    /// neither does kmirror; they are kept for reporting.
    pub fn top_level_client_overrides(&self) -> &ClientOverrides {
        &self.top_level_client_overrides
    }

    /// The connector, when read from the Connect JSON form.
    pub fn connector(&self) -> Option<&ConnectorInfo> {
        self.connector.as_ref()
    }

    /// Keys the file sets that MM2, Connect or Kafka's clients know and
    /// kmirror does not honour yet, as written, in file order. The caller
    /// logs them once at start.
    pub fn unsupported_keys(&self) -> Vec<String> {
        self.unsupported.clone()
    }

    /// Client settings the file sets that cannot apply to batch
    /// pass-through, as written, with the reason (see `client_keys`). The
    /// caller lists them once at start.
    pub fn not_applicable_client_keys(&self) -> Vec<(String, &'static str)> {
        let scopes: Vec<String> = self
            .clusters
            .keys()
            .map(ClusterAlias::to_string)
            .chain(self.pairs.iter().map(FlowConfig::name))
            .collect();
        client_keys::not_applicable_in(&self.properties, &scopes)
    }

    /// Keys that neither MM2, Kafka Connect, Kafka's clients nor kmirror
    /// knows where they are written, in file order, each with the closest
    /// known key. They are among [`Mm2Config::warnings`] too;
    /// [`Mm2Config::refuse_unknown_keys`] makes them an error.
    pub fn unknown_keys(&self) -> &[UnknownKey] {
        &self.unknown
    }

    /// Unknown keys (with "did you mean"), keys MM2 ignores where they are
    /// written, and keys set twice. Not errors: MM2 passes unknown keys on
    /// (strict mode refuses them, see [`Mm2Config::refuse_unknown_keys`]).
    pub fn warnings(&self) -> &[ConfigWarning] {
        &self.warnings
    }

    /// The raw properties this config was built from, as written: config
    /// provider placeholders are not resolved here (Connect's REST API shows
    /// connector configs the same way).
    pub fn properties(&self) -> &Properties {
        &self.properties
    }
}

/// A setting found for a flow or at the top level.
struct Setting<'a> {
    key: String,
    value: &'a str,
    location: Location,
}

impl Setting<'_> {
    fn error(&self, kind: ConfigErrorKind) -> ConfigError {
        ConfigError::new(self.location.clone(), self.key.clone(), kind)
    }
}

struct Builder<'a> {
    raw: &'a Properties,
    source_name: &'a str,
    errors: Vec<ConfigError>,
    warnings: Vec<ConfigWarning>,
    unsupported: Vec<String>,
    unknown: Vec<UnknownKey>,
    /// `(source, target)` aliases when the config came from Connect's
    /// `source.cluster.alias` / `target.cluster.alias`, to name keys as written.
    connect_aliases: Option<(String, String)>,
}

impl<'a> Builder<'a> {
    fn new(
        raw: &'a Properties,
        source_name: &'a str,
        connect_aliases: Option<(String, String)>,
    ) -> Self {
        Self {
            raw,
            source_name,
            errors: Vec::new(),
            warnings: Vec::new(),
            unsupported: Vec::new(),
            unknown: Vec::new(),
            connect_aliases,
        }
    }

    /// The key that sets `alias`'s bootstrap servers, as the user would write it.
    fn bootstrap_key(&self, alias: &ClusterAlias) -> String {
        match &self.connect_aliases {
            Some((source, _)) if source == alias.as_str() => {
                "source.cluster.bootstrap.servers".to_owned()
            }
            Some((_, target)) if target == alias.as_str() => {
                "target.cluster.bootstrap.servers".to_owned()
            }
            _ => format!("{alias}.bootstrap.servers"),
        }
    }

    fn location(&self, key: &str) -> Location {
        Location::new(self.source_name, self.raw.line(key))
    }

    /// Whether the value of `key` took text from a config provider.
    fn is_from_provider(&self, key: &str) -> bool {
        self.raw.entry(key).is_some_and(|entry| entry.from_provider)
    }

    fn display_key(&self, key: &str) -> String {
        self.raw
            .entry(key)
            .and_then(|entry| entry.original_key.clone())
            .unwrap_or_else(|| key.to_owned())
    }

    fn error_at(&self, key: &str, kind: ConfigErrorKind) -> ConfigError {
        ConfigError::new(self.location(key), self.display_key(key), kind)
    }

    fn warn(&mut self, key: &str, message: impl Into<String>) {
        self.warnings.push(ConfigWarning {
            location: self.location(key),
            key: self.display_key(key),
            message: message.into(),
        });
    }

    fn not_honoured(&mut self, key: &str) {
        let key = self.display_key(key);
        if !self.unsupported.contains(&key) {
            self.unsupported.push(key);
        }
    }

    /// The first error in file order.
    fn first_error(&mut self) -> Option<ConfigError> {
        self.errors
            .iter()
            .min_by_key(|error| error.location.line.unwrap_or(u32::MAX))
            .cloned()
    }

    fn build(mut self) -> Result<Mm2Config, ConfigError> {
        let aliases = self.read_clusters()?;
        let mut collected = self.collect_keys(&aliases);
        self.resolve_connections(&mut collected.clusters);
        self.check_bootstrap_servers(&aliases);
        self.check_worker_group_settings();
        let pairs = self.resolve_pairs(&aliases, &mut collected.flow_client_overrides);
        if let Some(error) = self.first_error() {
            return Err(error);
        }

        self.check_bootstrap(&collected.clusters, &pairs);
        self.check_cycles(&pairs);
        if let Some(error) = self.first_error() {
            return Err(error);
        }

        Ok(Mm2Config {
            source_name: self.source_name.to_owned(),
            clusters: collected.clusters,
            pairs,
            top_level_client_overrides: collected.top_level_client_overrides,
            connector: None,
            unsupported: self.unsupported,
            unknown: self.unknown,
            warnings: self.warnings,
            properties: self.raw.clone(),
        })
    }
}
