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

use std::borrow::Borrow;
use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::time::Duration;

use indexmap::IndexMap;

use super::client_keys;
use super::client_settings::{self, FlowClientSettings};
use super::connect;
use super::error::{ConfigError, ConfigErrorKind, ConfigWarning, Location, UnknownKey};
use super::is_secret_key;
use super::keys;
use super::properties::Properties;
use super::providers;
use crate::filter::{parse_list, ConfigPropertyFilter, DefaultsFrom, GroupFilter, TopicFilter};
use crate::policy::{ReplicationPolicy, DEFAULT_POLICY_CLASS, IDENTITY_POLICY_CLASS};

mod collect;
mod key_verdicts;
mod targets;
mod validate;
mod values;

use values::{
    check_replication_factor, parse_bool, parse_i16, parse_i32, parse_i64, parse_patterns, periodic,
};

/// The name of a Kafka cluster in `clusters` (e.g. `kafka-a`). It prefixes
/// remote topic names, so it may only hold the characters of topic names.
#[derive(Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ClusterAlias(String);

impl ClusterAlias {
    /// Wraps an alias. [`Mm2Config`] validates the aliases it reads; this does not.
    pub fn new(alias: impl Into<String>) -> Self {
        Self(alias.into())
    }

    /// The alias.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for ClusterAlias {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&self.0, f)
    }
}

impl fmt::Display for ClusterAlias {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl Borrow<str> for ClusterAlias {
    fn borrow(&self) -> &str {
        &self.0
    }
}

impl AsRef<str> for ClusterAlias {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

/// The three Kafka clients MM2 configures per cluster.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ClientRole {
    /// Reads from the cluster (`consumer.*`).
    Consumer,
    /// Writes to the cluster (`producer.*`).
    Producer,
    /// Creates topics, reads and writes configs, groups and ACLs (`admin.*`).
    Admin,
}

impl ClientRole {
    /// The key prefix of this client's overrides, e.g. `consumer.`.
    pub fn prefix(self) -> &'static str {
        match self {
            ClientRole::Consumer => "consumer.",
            ClientRole::Producer => "producer.",
            ClientRole::Admin => "admin.",
        }
    }

    const ALL: [ClientRole; 3] = [
        ClientRole::Consumer,
        ClientRole::Producer,
        ClientRole::Admin,
    ];
}

/// Kafka client properties (`key = value`, values trimmed as Kafka's
/// `ConfigDef` trims them). `Debug` redacts secrets and every value that came
/// from a config provider.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct ClientProperties {
    values: BTreeMap<String, String>,
    /// Keys whose value took text from a config provider (`${env:...}`, ...).
    from_provider: BTreeSet<String>,
}

impl fmt::Debug for ClientProperties {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut map = f.debug_map();
        for (key, value) in &self.values {
            if is_secret_key(key) || self.from_provider.contains(key) {
                map.entry(key, &"[redacted]");
            } else {
                map.entry(key, value);
            }
        }
        map.finish()
    }
}

impl ClientProperties {
    /// The value of `key`.
    pub fn get(&self, key: &str) -> Option<&str> {
        self.values.get(key).map(String::as_str)
    }

    /// All properties, sorted by key. Values of secret keys and values from
    /// config providers are included: never log them.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &str)> {
        self.values.iter().map(|(k, v)| (k.as_str(), v.as_str()))
    }

    /// Whether the value of `key` took text from a config provider, and so
    /// must never be shown, whatever the key.
    pub fn is_from_provider(&self, key: &str) -> bool {
        self.from_provider.contains(key)
    }

    /// Number of properties.
    pub fn len(&self) -> usize {
        self.values.len()
    }

    /// Whether there is none.
    pub fn is_empty(&self) -> bool {
        self.values.is_empty()
    }

    fn insert(&mut self, key: impl Into<String>, value: &str, from_provider: bool) {
        let key = key.into();
        if from_provider {
            self.from_provider.insert(key.clone());
        } else {
            self.from_provider.remove(&key);
        }
        self.values.insert(key, value.trim().to_owned());
    }

    fn insert_absent(&mut self, key: &str, value: &str, from_provider: bool) {
        if !self.values.contains_key(key) {
            self.insert(key, value, from_provider);
        }
    }
}

/// Per-client overrides: `consumer.*`, `producer.*`, `admin.*` (prefix stripped).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ClientOverrides {
    /// `consumer.*`.
    pub consumer: ClientProperties,
    /// `producer.*`.
    pub producer: ClientProperties,
    /// `admin.*`.
    pub admin: ClientProperties,
}

impl ClientOverrides {
    /// The overrides of one client.
    pub fn for_role(&self, role: ClientRole) -> &ClientProperties {
        match role {
            ClientRole::Consumer => &self.consumer,
            ClientRole::Producer => &self.producer,
            ClientRole::Admin => &self.admin,
        }
    }

    fn for_role_mut(&mut self, role: ClientRole) -> &mut ClientProperties {
        match role {
            ClientRole::Consumer => &mut self.consumer,
            ClientRole::Producer => &mut self.producer,
            ClientRole::Admin => &mut self.admin,
        }
    }

    /// Files `key` (without alias or flow prefix) if it is a client override.
    fn absorb(&mut self, key: &str, value: &str, from_provider: bool) -> bool {
        for role in ClientRole::ALL {
            if let Some(rest) = key.strip_prefix(role.prefix()) {
                self.for_role_mut(role).insert(rest, value, from_provider);
                return true;
            }
        }
        false
    }

    /// Whether no override is set.
    pub fn is_empty(&self) -> bool {
        self.consumer.is_empty() && self.producer.is_empty() && self.admin.is_empty()
    }
}

/// How to reach one cluster and how to configure clients for it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClusterConfig {
    /// The alias from `clusters`.
    pub alias: ClusterAlias,
    /// `<alias>.bootstrap.servers`, else the top-level `bootstrap.servers`.
    /// No default: required for every cluster an enabled flow uses; empty for a
    /// declared cluster that no enabled flow uses and that has none.
    pub bootstrap_servers: Vec<String>,
    /// `security.protocol`, `ssl.*`, `sasl.*`: `<alias>.<key>` over the
    /// top-level `<key>`. Default: none (PLAINTEXT). Per client,
    /// `<alias>.consumer.*` / `.producer.*` / `.admin.*` win (see
    /// [`ClusterConfig::client_config`]).
    pub security: ClientProperties,
    /// `<alias>.consumer.*`, `<alias>.producer.*`, `<alias>.admin.*`.
    pub client_overrides: ClientOverrides,
    /// Every other `<alias>.*` key (MM2 hands them to the Connect worker of
    /// flows targeting this cluster); kept, not honoured.
    pub other: ClientProperties,
}

impl ClusterConfig {
    fn empty(alias: ClusterAlias) -> Self {
        Self {
            alias,
            bootstrap_servers: Vec::new(),
            security: ClientProperties::default(),
            client_overrides: ClientOverrides::default(),
            other: ClientProperties::default(),
        }
    }

    /// The properties MM2 would give the `role` client of this cluster
    /// (`MirrorMakerConfig.clusterProps`): bootstrap servers and security
    /// settings, overridden by `<alias>.<role>.*`.
    pub fn client_config(&self, role: ClientRole) -> ClientProperties {
        let mut properties = self.client_overrides.for_role(role).clone();
        if !self.bootstrap_servers.is_empty() {
            properties.insert_absent(
                "bootstrap.servers",
                &self.bootstrap_servers.join(","),
                false,
            );
        }
        for (key, value) in self.security.iter() {
            properties.insert_absent(key, value, self.security.is_from_provider(key));
        }
        properties
    }
}

/// Where the offset-syncs topic of a flow lives (`offset-syncs.topic.location`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OffsetSyncsTopicLocation {
    /// On the source cluster, named after the target: MM2's default.
    Source,
    /// On the target cluster, named after the source (for sources kmirror may not write to).
    Target,
}

/// A periodic job: `<job>.enabled` and `<job>.interval.seconds`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Periodic {
    /// `<job>.enabled`.
    pub enabled: bool,
    /// `<job>.interval.seconds`. As in MM2, a negative value disables the job;
    /// zero is refused.
    pub interval_seconds: i64,
}

impl Periodic {
    /// The interval to run at, or `None` when the job is disabled.
    pub fn interval(&self) -> Option<Duration> {
        if self.enabled && self.interval_seconds > 0 {
            Some(Duration::from_secs(self.interval_seconds.unsigned_abs()))
        } else {
            None
        }
    }
}

/// One ordered pair of clusters, `source->target`, with every setting resolved.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FlowConfig {
    /// Cluster topics are read from.
    pub source: ClusterAlias,
    /// Cluster remote topics, heartbeats and checkpoints are written to.
    pub target: ClusterAlias,
    /// `enabled`, default false in MM2 dedicated mode, so that listing
    /// clusters never starts copying data by itself: whether topics and groups
    /// are replicated. A pair that is not enabled may still emit heartbeats, as
    /// in MM2, so each flow's target can see the other side is alive.
    pub replication_enabled: bool,
    /// `topics` (default `.*`: mirror everything) and `topics.exclude`
    /// (default `.*[\-\.]internal, .*\.replica, __.*`: Connect/MM2 internal
    /// topics, legacy MirrorMaker replicas, Kafka's own; legacy key
    /// `topics.blacklist`). Exclusion wins.
    pub topics: TopicFilter,
    /// `groups` (default `.*`) and `groups.exclude` (default
    /// `console-consumer-.*, connect-.*, __.*`: throw-away console groups and
    /// Connect's own; legacy key `groups.blacklist`). Exclusion wins.
    pub groups: GroupFilter,
    /// `config.properties.exclude` (legacy `config.properties.blacklist`),
    /// default MM2's list of topic configs that describe the source cluster
    /// (throttles, timestamp policy, unclean election, `min.insync.replicas`)
    /// rather than the data.
    pub config_properties: ConfigPropertyFilter,
    /// `replication.policy.class` (default `DefaultReplicationPolicy`, which
    /// prefixes the source alias so cycles can be seen),
    /// `replication.policy.separator` (default `.`) and
    /// `replication.policy.internal.topic.separator.enabled` (default true;
    /// false keeps the `.`-separated internal topic names of MM2 before 3.1).
    pub policy: ReplicationPolicy,
    /// `replication.factor` of remote topics, default 2
    /// (`MirrorSourceConfig.REPLICATION_FACTOR_DEFAULT`, a floor that survives
    /// one broker loss on small clusters); -1 means the broker's default.
    pub replication_factor: i32,
    /// `heartbeats.topic.replication.factor`, default 3 (Kafka's usual
    /// production factor for internal topics).
    pub heartbeats_topic_replication_factor: i16,
    /// `checkpoints.topic.replication.factor`, default 3 (as above; losing
    /// checkpoints loses failover positions).
    pub checkpoints_topic_replication_factor: i16,
    /// `offset-syncs.topic.replication.factor`, default 3 (as above).
    pub offset_syncs_topic_replication_factor: i16,
    /// `offset-syncs.topic.location`, default `source` (MM2 keeps offset syncs
    /// next to the data they describe); `target` for read-only sources.
    pub offset_syncs_topic_location: OffsetSyncsTopicLocation,
    /// `tasks.max`, default 1 (Connect's default): bounds how many partition
    /// pipelines work at once.
    pub tasks_max: u32,
    /// `refresh.topics.enabled` (true) / `refresh.topics.interval.seconds`
    /// (600): how often new source topics and partitions are looked for; ten
    /// minutes keeps metadata load low.
    pub refresh_topics: Periodic,
    /// `refresh.groups.enabled` (true) / `refresh.groups.interval.seconds`
    /// (600): how often new consumer groups are looked for.
    pub refresh_groups: Periodic,
    /// `emit.heartbeats.enabled` (true) / `emit.heartbeats.interval.seconds`
    /// (1): a heartbeat a second lets the far side measure liveness and lag.
    pub emit_heartbeats: Periodic,
    /// `emit.checkpoints.enabled` (true) / `emit.checkpoints.interval.seconds`
    /// (60): how stale a failover position may be.
    pub emit_checkpoints: Periodic,
    /// `sync.group.offsets.enabled` (false: writing to groups on the target is
    /// opt-in) / `sync.group.offsets.interval.seconds` (60).
    pub sync_group_offsets: Periodic,
    /// `sync.topic.configs.enabled` (true) / `sync.topic.configs.interval.seconds`
    /// (600): remote topics follow their source's configs.
    pub sync_topic_configs: Periodic,
    /// `sync.topic.acls.enabled` (true) / `sync.topic.acls.interval.seconds`
    /// (600): remote topics get the source's literal ALLOW topic ACLs, WRITE
    /// left out and ALL made READ (see [`crate::runtime::acl_sync`]).
    pub sync_topic_acls: Periodic,
    /// `heartbeats.replication.enabled`, default true: replicate heartbeats
    /// topics even when `topics` does not list them, so monitoring works with
    /// any filter.
    pub heartbeats_replication_enabled: bool,
    /// `emit.offset-syncs.enabled`, default true: checkpoints need offset syncs.
    pub emit_offset_syncs_enabled: bool,
    /// `offset.lag.max`, default 100: how far a remote partition may get ahead
    /// of the last offset sync before a new one is written (fewer writes,
    /// coarser MM2-style translation).
    pub offset_lag_max: i64,
    /// `offset.storage.replication.factor` (a Connect worker setting:
    /// `<target>.offset.storage.replication.factor`, else the top-level key)
    /// of MM2's offsets topic `mm2-offsets.<source>.internal`, which holds
    /// this flow's progress. Unset: the flow's `replication.factor` (Connect
    /// itself defaults to 3).
    pub offset_storage_replication_factor: Option<i16>,
    /// `source->target.consumer.*`, `.producer.*`, `.admin.*` (MM2 applies
    /// them to the connector's own clients), as written.
    pub client_overrides: ClientOverrides,
    /// The honoured client settings of the flow's two sides, typed (see
    /// [`super::client_settings`]).
    pub client_settings: FlowClientSettings,
}

/// MM2 defaults, in one place (`Mirror*Config.*_DEFAULT`).
mod defaults {
    pub const REPLICATION_FACTOR: i32 = 2;
    pub const INTERNAL_TOPIC_REPLICATION_FACTOR: i16 = 3;
    pub const TASKS_MAX: i32 = 1;
    pub const REFRESH_TOPICS_SECONDS: i64 = 600;
    pub const REFRESH_GROUPS_SECONDS: i64 = 600;
    pub const EMIT_HEARTBEATS_SECONDS: i64 = 1;
    pub const EMIT_CHECKPOINTS_SECONDS: i64 = 60;
    pub const SYNC_GROUP_OFFSETS_SECONDS: i64 = 60;
    pub const SYNC_TOPIC_CONFIGS_SECONDS: i64 = 600;
    pub const SYNC_TOPIC_ACLS_SECONDS: i64 = 600;
    pub const OFFSET_LAG_MAX: i64 = 100;
}

impl FlowConfig {
    /// A flow with every MM2 default, replication enabled.
    pub fn with_defaults(source: ClusterAlias, target: ClusterAlias) -> Self {
        let policy = ReplicationPolicy::default();
        Self {
            source,
            target,
            replication_enabled: true,
            topics: TopicFilter::default(),
            groups: GroupFilter::default(),
            config_properties: ConfigPropertyFilter::default(),
            policy,
            replication_factor: defaults::REPLICATION_FACTOR,
            heartbeats_topic_replication_factor: defaults::INTERNAL_TOPIC_REPLICATION_FACTOR,
            checkpoints_topic_replication_factor: defaults::INTERNAL_TOPIC_REPLICATION_FACTOR,
            offset_syncs_topic_replication_factor: defaults::INTERNAL_TOPIC_REPLICATION_FACTOR,
            offset_syncs_topic_location: OffsetSyncsTopicLocation::Source,
            tasks_max: 1,
            refresh_topics: Periodic {
                enabled: true,
                interval_seconds: defaults::REFRESH_TOPICS_SECONDS,
            },
            refresh_groups: Periodic {
                enabled: true,
                interval_seconds: defaults::REFRESH_GROUPS_SECONDS,
            },
            emit_heartbeats: Periodic {
                enabled: true,
                interval_seconds: defaults::EMIT_HEARTBEATS_SECONDS,
            },
            emit_checkpoints: Periodic {
                enabled: true,
                interval_seconds: defaults::EMIT_CHECKPOINTS_SECONDS,
            },
            sync_group_offsets: Periodic {
                enabled: false,
                interval_seconds: defaults::SYNC_GROUP_OFFSETS_SECONDS,
            },
            sync_topic_configs: Periodic {
                enabled: true,
                interval_seconds: defaults::SYNC_TOPIC_CONFIGS_SECONDS,
            },
            sync_topic_acls: Periodic {
                enabled: true,
                interval_seconds: defaults::SYNC_TOPIC_ACLS_SECONDS,
            },
            heartbeats_replication_enabled: true,
            emit_offset_syncs_enabled: true,
            offset_lag_max: defaults::OFFSET_LAG_MAX,
            offset_storage_replication_factor: None,
            client_overrides: ClientOverrides::default(),
            client_settings: FlowClientSettings::default(),
        }
    }

    /// `source->target`, as MM2 names the flow.
    pub fn name(&self) -> String {
        format!("{}->{}", self.source, self.target)
    }

    /// Name on the target of the source topic `topic`.
    pub fn remote_topic(&self, topic: &str) -> String {
        self.policy.format_remote_topic(self.source.as_str(), topic)
    }

    /// The checkpoints topic on the target: `<source>.checkpoints.internal`.
    pub fn checkpoints_topic(&self) -> String {
        self.policy.checkpoints_topic(self.source.as_str())
    }

    /// The cluster holding this flow's offset-syncs topic.
    pub fn offset_syncs_cluster(&self) -> &ClusterAlias {
        match self.offset_syncs_topic_location {
            OffsetSyncsTopicLocation::Source => &self.source,
            OffsetSyncsTopicLocation::Target => &self.target,
        }
    }

    /// The offset-syncs topic, named after the cluster at the other end:
    /// `mm2-offset-syncs.<target>.internal` on the source by default.
    pub fn offset_syncs_topic(&self) -> String {
        let other = match self.offset_syncs_topic_location {
            OffsetSyncsTopicLocation::Source => &self.target,
            OffsetSyncsTopicLocation::Target => &self.source,
        };
        self.policy.offset_syncs_topic(other.as_str())
    }
}

/// Which MM2 connector a Connect JSON config was for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConnectorClass {
    /// `org.apache.kafka.connect.mirror.MirrorSourceConnector`: topics, offset syncs.
    Source,
    /// `org.apache.kafka.connect.mirror.MirrorCheckpointConnector`: checkpoints, group offsets.
    Checkpoint,
    /// `org.apache.kafka.connect.mirror.MirrorHeartbeatConnector`: heartbeats.
    Heartbeat,
}

impl ConnectorClass {
    /// The fully qualified Java class name.
    pub fn java_class_name(self) -> &'static str {
        match self {
            ConnectorClass::Source => "org.apache.kafka.connect.mirror.MirrorSourceConnector",
            ConnectorClass::Checkpoint => {
                "org.apache.kafka.connect.mirror.MirrorCheckpointConnector"
            }
            ConnectorClass::Heartbeat => "org.apache.kafka.connect.mirror.MirrorHeartbeatConnector",
        }
    }

    /// Parses a class name as Connect accepts it: fully qualified, simple
    /// (`MirrorSourceConnector`) or alias (`MirrorSource`).
    pub fn from_class_name(name: &str) -> Option<Self> {
        let simple = name
            .strip_prefix("org.apache.kafka.connect.mirror.")
            .unwrap_or(name);
        let simple = simple.strip_suffix("Connector").unwrap_or(simple);
        match simple {
            "MirrorSource" => Some(ConnectorClass::Source),
            "MirrorCheckpoint" => Some(ConnectorClass::Checkpoint),
            "MirrorHeartbeat" => Some(ConnectorClass::Heartbeat),
            _ => None,
        }
    }
}

/// The connector a config came from, for the Connect JSON form.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConnectorInfo {
    /// `name`.
    pub name: Option<String>,
    /// `connector.class`.
    pub class: ConnectorClass,
}

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
            let line = match &error {
                super::properties::PropertiesError::MalformedUnicodeEscape { line } => *line,
            };
            ConfigError::new(
                Location::new(source_name, Some(line)),
                "",
                ConfigErrorKind::Properties("malformed \\uxxxx escape".to_owned()),
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

    /// Security settings and bootstrap servers: `<alias>.<key>` over `<key>`.
    fn resolve_connections(&self, clusters: &mut IndexMap<ClusterAlias, ClusterConfig>) {
        let raw = self.raw;
        for cluster in clusters.values_mut() {
            for (key, entry) in raw.iter() {
                if keys::is_security_key(key) {
                    cluster
                        .security
                        .insert_absent(key, &entry.value, entry.from_provider);
                }
            }
            let alias_key = format!("{}.bootstrap.servers", cluster.alias);
            let value = raw
                .get(&alias_key)
                .or_else(|| raw.get("bootstrap.servers"))
                .unwrap_or("");
            cluster.bootstrap_servers = parse_list(value)
                .into_iter()
                .filter(|server| !server.is_empty())
                .collect();
        }
    }

    /// Every pair MM2 would run a herder for (`MirrorMakerConfig.clusterPairs`),
    /// with its settings typed; errors are collected.
    fn resolve_pairs(
        &mut self,
        aliases: &[ClusterAlias],
        flow_client_overrides: &mut BTreeMap<(String, String), ClientOverrides>,
    ) -> Vec<FlowConfig> {
        let mut pairs = Vec::new();
        for source in aliases {
            for target in aliases {
                if source == target || !self.herder_exists(source, target) {
                    continue;
                }
                match self.resolve_flow(source, target) {
                    Ok(mut flow) => {
                        let pair = (source.as_str().to_owned(), target.as_str().to_owned());
                        if let Some(overrides) = flow_client_overrides.remove(&pair) {
                            flow.client_overrides = overrides;
                        }
                        let found = (&mut self.errors, &mut self.warnings);
                        client_settings::resolve_into(&mut flow, self.raw, self.source_name, found);
                        pairs.push(flow);
                    }
                    Err(error) => {
                        if !self.errors.contains(&error) {
                            self.errors.push(error);
                        }
                    }
                }
            }
        }
        pairs
    }

    fn read_clusters(&mut self) -> Result<Vec<ClusterAlias>, ConfigError> {
        let Some(value) = self.raw.get("clusters") else {
            return Err(ConfigError::new(
                Location::new(self.source_name, None),
                "clusters",
                ConfigErrorKind::NoClusters,
            ));
        };
        let mut aliases: Vec<ClusterAlias> = Vec::new();
        for alias in parse_list(value) {
            let invalid = |reason: &str| {
                self.error_at(
                    "clusters",
                    ConfigErrorKind::InvalidClusterAlias {
                        alias: alias.clone(),
                        reason: reason.to_owned(),
                    },
                )
            };
            if alias.is_empty() {
                return Err(invalid("empty entry in the list"));
            }
            if !alias
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'))
            {
                return Err(invalid(
                    "may only contain ASCII letters, digits, '.', '_' and '-' (it becomes part of topic names)",
                ));
            }
            if alias.contains("->") {
                return Err(invalid("must not contain \"->\""));
            }
            let alias = ClusterAlias::new(alias);
            if aliases.contains(&alias) {
                // MM2 keeps the aliases in a set; a repeat is a slip (a
                // third cluster meant?) worth stopping for.
                return Err(self.error_at(
                    "clusters",
                    ConfigErrorKind::RepeatedClusterAlias {
                        alias: alias.to_string(),
                    },
                ));
            }
            aliases.push(alias);
        }
        if aliases.is_empty() {
            return Err(self.error_at("clusters", ConfigErrorKind::NoClusters));
        }
        Ok(aliases)
    }

    /// The setting of exactly `key`.
    fn setting_at(&self, key: &str) -> Option<Setting<'a>> {
        let raw = self.raw;
        raw.entry(key).map(|entry| Setting {
            key: entry.original_key.clone().unwrap_or_else(|| key.to_owned()),
            value: entry.value.as_str(),
            location: Location::new(self.source_name, entry.line),
        })
    }

    /// A setting of the flow `source->target`: the flow key, else the top-level key.
    fn flow_setting(&self, source: &str, target: &str, key: &str) -> Option<Setting<'a>> {
        let flow_key = format!("{source}->{target}.{key}");
        let raw = self.raw;
        let found = [flow_key.as_str(), key].into_iter().find_map(|candidate| {
            raw.entry(candidate).map(|entry| Setting {
                key: entry
                    .original_key
                    .clone()
                    .unwrap_or_else(|| candidate.to_owned()),
                value: entry.value.as_str(),
                location: Location::new(self.source_name, entry.line),
            })
        });
        found
    }

    /// MM2 creates a herder for `source->target` when `source->target.enabled`
    /// is true or heartbeats are on for the pair (Java `Boolean.parseBoolean`).
    fn herder_exists(&self, source: &ClusterAlias, target: &ClusterAlias) -> bool {
        let java_true = |value: &str| value.trim().eq_ignore_ascii_case("true");
        let enabled = self
            .raw
            .get(&format!("{source}->{target}.enabled"))
            .is_some_and(java_true);
        let heartbeats = self
            .raw
            .get(&format!("{source}->{target}.emit.heartbeats.enabled"))
            .or_else(|| self.raw.get("emit.heartbeats.enabled"))
            .map(java_true)
            .unwrap_or(true);
        enabled || heartbeats
    }

    fn resolve_flow(
        &self,
        source: &ClusterAlias,
        target: &ClusterAlias,
    ) -> Result<FlowConfig, ConfigError> {
        let get = |key: &str| self.flow_setting(source.as_str(), target.as_str(), key);
        // A deprecated alias counts only when the current key is set nowhere
        // (Kafka's `ConfigUtils.translateDeprecatedConfigs` on the merged config).
        let get_with_legacy = |key: &str, legacy: &str| get(key).or_else(|| get(legacy));

        let mut flow = FlowConfig::with_defaults(source.clone(), target.clone());
        flow.replication_enabled = parse_bool(get("enabled"), false)?;

        let topics_include = get("topics");
        let topics_exclude = get_with_legacy("topics.exclude", "topics.blacklist");
        flow.topics = TopicFilter {
            include: parse_patterns(topics_include, TopicFilter::DEFAULT_INCLUDE)?,
            exclude: parse_patterns(topics_exclude, TopicFilter::DEFAULT_EXCLUDE)?,
        };
        flow.groups = GroupFilter {
            include: parse_patterns(get("groups"), GroupFilter::DEFAULT_INCLUDE)?,
            exclude: parse_patterns(
                get_with_legacy("groups.exclude", "groups.blacklist"),
                GroupFilter::DEFAULT_EXCLUDE,
            )?,
        };
        flow.config_properties = ConfigPropertyFilter {
            exclude: parse_patterns(
                get_with_legacy("config.properties.exclude", "config.properties.blacklist"),
                ConfigPropertyFilter::DEFAULT_EXCLUDE,
            )?,
            use_defaults_from: match get("use.defaults.from") {
                None => DefaultsFrom::Target,
                Some(setting) => match setting.value.trim() {
                    "target" => DefaultsFrom::Target,
                    "source" => DefaultsFrom::Source,
                    other => {
                        return Err(setting.error(ConfigErrorKind::NotOneOf {
                            value: other.to_owned(),
                            allowed: "target, source",
                        }))
                    }
                },
            },
        };

        let separator = match get("replication.policy.separator") {
            Some(setting) => {
                let value = setting.value.trim();
                if value.is_empty() {
                    return Err(setting.error(ConfigErrorKind::Empty));
                }
                value.to_owned()
            }
            None => crate::policy::DEFAULT_SEPARATOR.to_owned(),
        };
        let internal_topic_separator_enabled = parse_bool(
            get("replication.policy.internal.topic.separator.enabled"),
            true,
        )?;
        flow.policy = match get("replication.policy.class") {
            None => ReplicationPolicy::Default {
                separator,
                internal_topic_separator_enabled,
            },
            Some(setting) => match setting.value.trim() {
                DEFAULT_POLICY_CLASS | "DefaultReplicationPolicy" => ReplicationPolicy::Default {
                    separator,
                    internal_topic_separator_enabled,
                },
                IDENTITY_POLICY_CLASS | "IdentityReplicationPolicy" => {
                    ReplicationPolicy::Identity {
                        separator,
                        internal_topic_separator_enabled,
                        // MM2's connectors always pass `source.cluster.alias` to the policy.
                        source_cluster_alias: Some(source.as_str().to_owned()),
                    }
                }
                other => {
                    return Err(
                        setting.error(ConfigErrorKind::UnsupportedReplicationPolicy {
                            class: other.to_owned(),
                        }),
                    )
                }
            },
        };

        flow.replication_factor = check_replication_factor(
            get("replication.factor"),
            parse_i32(get("replication.factor"), defaults::REPLICATION_FACTOR)?.into(),
        )? as i32;
        for (key, field) in [
            (
                "heartbeats.topic.replication.factor",
                &mut flow.heartbeats_topic_replication_factor,
            ),
            (
                "checkpoints.topic.replication.factor",
                &mut flow.checkpoints_topic_replication_factor,
            ),
            (
                "offset-syncs.topic.replication.factor",
                &mut flow.offset_syncs_topic_replication_factor,
            ),
        ] {
            let value = parse_i16(get(key), defaults::INTERNAL_TOPIC_REPLICATION_FACTOR)?;
            *field = check_replication_factor(get(key), value.into())? as i16;
        }

        flow.offset_syncs_topic_location = match get("offset-syncs.topic.location") {
            None => OffsetSyncsTopicLocation::Source,
            Some(setting) => match setting.value.trim() {
                "source" => OffsetSyncsTopicLocation::Source,
                "target" => OffsetSyncsTopicLocation::Target,
                other => {
                    return Err(setting.error(ConfigErrorKind::NotOneOf {
                        value: other.to_owned(),
                        allowed: "source, target",
                    }))
                }
            },
        };

        let tasks_max = parse_i32(get("tasks.max"), defaults::TASKS_MAX)?;
        flow.tasks_max = match u32::try_from(tasks_max) {
            Ok(value) if value >= 1 => value,
            _ => {
                let setting = get("tasks.max").expect("the default is valid");
                return Err(setting.error(ConfigErrorKind::OutOfRange {
                    value: setting.value.trim().to_owned(),
                    reason: "must be at least 1",
                }));
            }
        };

        flow.refresh_topics = periodic(
            &get,
            "refresh.topics",
            true,
            defaults::REFRESH_TOPICS_SECONDS,
        )?;
        flow.refresh_groups = periodic(
            &get,
            "refresh.groups",
            true,
            defaults::REFRESH_GROUPS_SECONDS,
        )?;
        flow.emit_heartbeats = periodic(
            &get,
            "emit.heartbeats",
            true,
            defaults::EMIT_HEARTBEATS_SECONDS,
        )?;
        flow.emit_checkpoints = periodic(
            &get,
            "emit.checkpoints",
            true,
            defaults::EMIT_CHECKPOINTS_SECONDS,
        )?;
        flow.sync_group_offsets = periodic(
            &get,
            "sync.group.offsets",
            false,
            defaults::SYNC_GROUP_OFFSETS_SECONDS,
        )?;
        flow.sync_topic_configs = periodic(
            &get,
            "sync.topic.configs",
            true,
            defaults::SYNC_TOPIC_CONFIGS_SECONDS,
        )?;
        flow.sync_topic_acls = periodic(
            &get,
            "sync.topic.acls",
            true,
            defaults::SYNC_TOPIC_ACLS_SECONDS,
        )?;

        flow.heartbeats_replication_enabled =
            parse_bool(get("heartbeats.replication.enabled"), true)?;
        flow.emit_offset_syncs_enabled = parse_bool(get("emit.offset-syncs.enabled"), true)?;
        flow.offset_lag_max = parse_i64(get("offset.lag.max"), defaults::OFFSET_LAG_MAX)?;
        if flow.offset_lag_max < 0 {
            let setting = get("offset.lag.max").expect("the default is not negative");
            // MM2 takes any long and treats a negative one as 0.
            return Err(setting.error(ConfigErrorKind::OutOfRange {
                value: setting.value.trim().to_owned(),
                reason: "must be 0 or more (0 writes an offset sync for every batch)",
            }));
        }
        // A Connect worker setting: `<target>.<key>` over the top-level key.
        let offset_storage_key = "offset.storage.replication.factor";
        let offset_storage = || {
            self.setting_at(&format!("{target}.{offset_storage_key}"))
                .or_else(|| self.setting_at(offset_storage_key))
        };
        if offset_storage().is_some() {
            let value = parse_i16(offset_storage(), 0)?;
            flow.offset_storage_replication_factor =
                Some(check_replication_factor(offset_storage(), value.into())? as i16);
        }
        Ok(flow)
    }

    /// Every cluster an enabled flow uses needs bootstrap servers.
    fn check_bootstrap(
        &mut self,
        clusters: &IndexMap<ClusterAlias, ClusterConfig>,
        pairs: &[FlowConfig],
    ) {
        for flow in pairs.iter().filter(|flow| flow.replication_enabled) {
            for alias in [&flow.source, &flow.target] {
                let missing = clusters
                    .get(alias)
                    .is_none_or(|cluster| cluster.bootstrap_servers.is_empty());
                if !missing {
                    continue;
                }
                let bootstrap_key = self.bootstrap_key(alias);
                let misspelled = self
                    .unknown
                    .iter()
                    .find(|unknown| unknown.suggestion.as_deref() == Some(bootstrap_key.as_str()));
                if let Some(unknown) = misspelled {
                    // The operator did set it, under a misspelled key: say that.
                    let error = ConfigError::new(
                        unknown.location.clone(),
                        unknown.key.clone(),
                        ConfigErrorKind::MisspelledBootstrap {
                            suggestion: bootstrap_key,
                            cluster_and_flow: format!(
                                "cluster \"{alias}\", used by enabled flow {},",
                                flow.name()
                            ),
                        },
                    );
                    if !self.errors.contains(&error) {
                        self.errors.push(error);
                    }
                    continue;
                }
                let enabled = self
                    .flow_setting(flow.source.as_str(), flow.target.as_str(), "enabled")
                    .map(|setting| setting.location)
                    .unwrap_or_else(|| Location::new(self.source_name, None));
                let error = ConfigError::new(
                    enabled,
                    self.bootstrap_key(alias),
                    ConfigErrorKind::MissingBootstrap {
                        alias: alias.to_string(),
                        flow: flow.name(),
                    },
                );
                if !self.errors.contains(&error) {
                    self.errors.push(error);
                }
            }
        }
    }

    /// Refuses identity naming on any replication cycle (MM2 loops forever
    /// there, KAFKA-21593), and aliases containing the separator on a cycle
    /// (their remote topics cannot be recognised, so the cycle check fails).
    fn check_cycles(&mut self, pairs: &[FlowConfig]) {
        let enabled: Vec<&FlowConfig> = pairs
            .iter()
            .filter(|flow| flow.replication_enabled)
            .collect();
        for flow in &enabled {
            // A path back from the target to the source closes a cycle through this flow.
            let Some(path_back) = find_path(&enabled, &flow.target, &flow.source) else {
                continue;
            };
            let mut cycle: Vec<&FlowConfig> = vec![flow];
            cycle.extend(path_back.iter().copied());
            let identity = cycle.iter().find(|hop| hop.policy.is_identity());
            if let Some(identity_flow) = identity {
                let setting = self
                    .flow_setting(
                        identity_flow.source.as_str(),
                        identity_flow.target.as_str(),
                        "replication.policy.class",
                    )
                    .expect("identity is never the default");
                let kind = if cycle.len() == 2 {
                    ConfigErrorKind::IdentityOnBidirectionalPair {
                        cycle: format!("{} and {}", cycle[0].name(), cycle[1].name()),
                    }
                } else {
                    let mut names: Vec<&str> =
                        cycle.iter().map(|hop| hop.source.as_str()).collect();
                    names.push(flow.source.as_str());
                    ConfigErrorKind::IdentityOnCycle {
                        cycle: names.join("->"),
                    }
                };
                let error = setting.error(kind);
                if !self.errors.contains(&error) {
                    self.errors.push(error);
                }
                continue;
            }
            for hop in &cycle {
                let separator = hop.policy.separator();
                for alias in [&hop.source, &hop.target] {
                    if !hop.policy.recognises_alias(alias.as_str()) {
                        let error = self.error_at(
                            "clusters",
                            ConfigErrorKind::AliasContainsSeparator {
                                alias: alias.to_string(),
                                separator: separator.to_owned(),
                            },
                        );
                        if !self.errors.contains(&error) {
                            self.errors.push(error);
                        }
                    }
                }
            }
        }
    }
}

/// Flows leading from `from` to `to` over enabled flows, shortest first.
fn find_path<'f>(
    flows: &[&'f FlowConfig],
    from: &ClusterAlias,
    to: &ClusterAlias,
) -> Option<Vec<&'f FlowConfig>> {
    let mut previous: BTreeMap<&ClusterAlias, &'f FlowConfig> = BTreeMap::new();
    let mut queue = std::collections::VecDeque::from([from]);
    let mut seen = BTreeSet::from([from]);
    while let Some(cluster) = queue.pop_front() {
        if cluster == to {
            let mut path = Vec::new();
            let mut at = to;
            while at != from {
                let hop = previous[at];
                path.push(hop);
                at = &hop.source;
            }
            path.reverse();
            return Some(path);
        }
        for flow in flows.iter().filter(|flow| &flow.source == cluster) {
            if seen.insert(&flow.target) {
                previous.insert(&flow.target, flow);
                queue.push_back(&flow.target);
            }
        }
    }
    None
}
