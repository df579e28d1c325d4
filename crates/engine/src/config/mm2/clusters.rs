//! The clusters of `clusters`: aliases, how to reach each one, the
//! client overrides MM2 applies per cluster, and reading them from the
//! properties (`<alias>.<key>` over the top-level `<key>`).

use std::borrow::Borrow;
use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

use indexmap::IndexMap;

use super::Builder;
use crate::config::error::{ConfigError, ConfigErrorKind, Location};
use crate::config::is_secret_key;
use crate::config::keys;
use crate::filter::parse_list;

/// The name of a Kafka cluster in `clusters` (e.g. `kafka-a`). It prefixes
/// remote topic names, so it may only hold the characters of topic names.
#[derive(Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ClusterAlias(String);

impl ClusterAlias {
    /// Wraps an alias. [`Mm2Config`](super::Mm2Config) validates the aliases it reads; this does not.
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

    pub(super) fn insert(&mut self, key: impl Into<String>, value: &str, from_provider: bool) {
        let key = key.into();
        if from_provider {
            self.from_provider.insert(key.clone());
        } else {
            self.from_provider.remove(&key);
        }
        self.values.insert(key, value.trim().to_owned());
    }

    pub(super) fn insert_absent(&mut self, key: &str, value: &str, from_provider: bool) {
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
    pub(super) fn absorb(&mut self, key: &str, value: &str, from_provider: bool) -> bool {
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
    pub(super) fn empty(alias: ClusterAlias) -> Self {
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

impl Builder<'_> {
    pub(super) fn read_clusters(&mut self) -> Result<Vec<ClusterAlias>, ConfigError> {
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

    /// Security settings and bootstrap servers: `<alias>.<key>` over `<key>`.
    pub(super) fn resolve_connections(&self, clusters: &mut IndexMap<ClusterAlias, ClusterConfig>) {
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
}
