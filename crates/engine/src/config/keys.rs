//! The keys MM2 knows, and which of them kmirror honours. Taken from Apache
//! Kafka's `MirrorMakerConfig`, `MirrorConnectorConfig`, `MirrorSourceConfig`,
//! `MirrorCheckpointConfig`, `MirrorHeartbeatConfig`, `MirrorClientConfig`,
//! the Connect `ConnectorConfig` / `SourceConnectorConfig` / `RestServerConfig`
//! and `DefaultConfigPropertyFilter` (trunk, Kafka 4.x). When kmirror starts
//! honouring a key, move it from `NOT_HONOURED_*` to `HONOURED_*`.

/// Whether kmirror acts on a key MM2 knows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Support {
    /// Parsed, typed and acted on (or planned in the engine's current scope).
    Honoured,
    /// Known to MM2; kmirror accepts it and reports it once at start.
    NotHonoured,
}

/// Connector-level keys kmirror types and honours: valid at the top level and
/// per flow as `source->target.<key>`.
pub(crate) const HONOURED_FLOW_KEYS: &[&str] = &[
    "enabled",
    "topics",
    "topics.exclude",
    "topics.blacklist",
    "groups",
    "groups.exclude",
    "groups.blacklist",
    "config.properties.exclude",
    "config.properties.blacklist",
    "replication.policy.class",
    "replication.policy.separator",
    "replication.policy.internal.topic.separator.enabled",
    "replication.factor",
    "heartbeats.topic.replication.factor",
    "checkpoints.topic.replication.factor",
    "offset-syncs.topic.replication.factor",
    "offset-syncs.topic.location",
    "tasks.max",
    "refresh.topics.enabled",
    "refresh.topics.interval.seconds",
    "refresh.groups.enabled",
    "refresh.groups.interval.seconds",
    "emit.heartbeats.enabled",
    "emit.heartbeats.interval.seconds",
    "emit.checkpoints.enabled",
    "emit.checkpoints.interval.seconds",
    "sync.group.offsets.enabled",
    "sync.group.offsets.interval.seconds",
    "sync.topic.configs.enabled",
    "sync.topic.configs.interval.seconds",
    "sync.topic.acls.enabled",
    "sync.topic.acls.interval.seconds",
    "heartbeats.replication.enabled",
    "offset.lag.max",
    "emit.offset-syncs.enabled",
];

/// Connector-level keys MM2 knows that kmirror does not act on yet.
pub(crate) const NOT_HONOURED_FLOW_KEYS: &[&str] = &[
    // Plug-in classes: kmirror has only the default filters.
    "topic.filter.class",
    "group.filter.class",
    "config.property.filter.class",
    "forwarding.admin.class",
    "use.defaults.from",
    // Java client and Connect runtime settings.
    "consumer.poll.timeout.ms",
    "admin.timeout.ms",
    "metric.reporters",
    "source.cluster.alias",
    "target.cluster.alias",
    "name",
    "connector.class",
    "tasks.max.enforce",
    "key.converter",
    "value.converter",
    "header.converter",
    "transforms",
    "predicates",
    "config.action.reload",
    "errors.retry.timeout",
    "errors.retry.delay.max.ms",
    "errors.tolerance",
    "errors.log.enable",
    "errors.log.include.messages",
    "exactly.once.support",
    "transaction.boundary",
    "transaction.boundary.interval.ms",
    "offsets.storage.topic",
];

/// Keys only meaningful at the top level of `mm2.properties`.
const HONOURED_TOP_LEVEL_KEYS: &[&str] = &[
    "clusters",
    "bootstrap.servers",
    "config.providers",
    // Connect's worker group settings, for the flows' worker groups
    // (`runtime::group_settings`).
    "group.id",
    "session.timeout.ms",
    "heartbeat.interval.ms",
    "rebalance.timeout.ms",
];

const NOT_HONOURED_TOP_LEVEL_KEYS: &[&str] = &[
    "dedicated.mode.enable.internal.rest",
    "listeners",
    "rest.advertised.host.name",
    "rest.advertised.port",
    "rest.advertised.listener",
    "access.control.allow.origin",
    "access.control.allow.methods",
    "response.http.headers.config",
    "ssl.client.auth",
    "admin.listeners",
    "rest.extension.classes",
];

/// Prefixes MM2 passes on to its Connect workers, connectors, custom policies
/// or clients, none of which kmirror has.
const NOT_HONOURED_TOP_LEVEL_PREFIXES: &[&str] = &[
    "offset.storage",
    "config.storage",
    "status.storage",
    "key.converter",
    "value.converter",
    "header.converter",
    "task",
    "worker",
    "replication.policy.",
    "transforms.",
    "predicates.",
    "errors.",
    "producer.override.",
    "consumer.override.",
    "admin.override.",
    "topic.creation.",
    "admin.listeners.",
    "exactly.once.",
    // MM2 dedicated mode drops top-level client prefixes (only
    // `<alias>.consumer.*` etc. reach its clients); kmirror keeps them but does
    // not apply them either.
    "consumer.",
    "producer.",
    "admin.",
];

/// Security settings of Kafka clients: `security.protocol`, `ssl.*`, `sasl.*`
/// (`MirrorClientConfig.CLIENT_CONFIG_DEF` with client SSL and SASL support).
pub(crate) fn is_security_key(key: &str) -> bool {
    key == "security.protocol" || key.starts_with("ssl.") || key.starts_with("sasl.")
}

/// `consumer.<security key>`, `producer.<...>` or `admin.<...>`: a per-client
/// security override, which kmirror honours.
pub(crate) fn is_role_security_override(key: &str) -> bool {
    ["consumer.", "producer.", "admin."]
        .iter()
        .filter_map(|prefix| key.strip_prefix(prefix))
        .any(is_security_key)
}

/// Whether MM2 knows `key` by its exact name (not only by a prefix).
pub(crate) fn is_exact_known_key(key: &str) -> bool {
    HONOURED_FLOW_KEYS.contains(&key)
        || NOT_HONOURED_FLOW_KEYS.contains(&key)
        || HONOURED_TOP_LEVEL_KEYS.contains(&key)
        || NOT_HONOURED_TOP_LEVEL_KEYS.contains(&key)
}

/// How a connector-level key (top level or `source->target.<key>`) is supported.
pub(crate) fn flow_key_support(key: &str) -> Option<Support> {
    if HONOURED_FLOW_KEYS.contains(&key) {
        Some(Support::Honoured)
    } else if NOT_HONOURED_FLOW_KEYS.contains(&key) {
        Some(Support::NotHonoured)
    } else {
        None
    }
}

/// How a top-level key (no alias or flow prefix) is supported, if MM2 knows it.
pub(crate) fn top_level_key_support(key: &str) -> Option<Support> {
    if let Some(support) = flow_key_support(key) {
        return Some(support);
    }
    // `config.providers.<alias>.*`: checked by `providers`.
    if HONOURED_TOP_LEVEL_KEYS.contains(&key) || key.starts_with("config.providers.") {
        return Some(Support::Honoured);
    }
    if is_security_key(key) {
        return Some(Support::Honoured);
    }
    if NOT_HONOURED_TOP_LEVEL_KEYS.contains(&key) {
        return Some(Support::NotHonoured);
    }
    if NOT_HONOURED_TOP_LEVEL_PREFIXES
        .iter()
        .any(|prefix| key.starts_with(prefix))
    {
        return Some(Support::NotHonoured);
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classification() {
        assert_eq!(top_level_key_support("topics"), Some(Support::Honoured));
        assert_eq!(top_level_key_support("clusters"), Some(Support::Honoured));
        assert_eq!(top_level_key_support("tasks.max"), Some(Support::Honoured));
        assert_eq!(
            top_level_key_support("session.timeout.ms"),
            Some(Support::Honoured)
        );
        assert_eq!(top_level_key_support("group.id"), Some(Support::Honoured));
        assert_eq!(
            top_level_key_support("sync.topic.acls.enabled"),
            Some(Support::Honoured)
        );
        assert_eq!(
            flow_key_support("sync.topic.acls.interval.seconds"),
            Some(Support::Honoured)
        );
        assert_eq!(
            top_level_key_support("ssl.truststore.location"),
            Some(Support::Honoured)
        );
        assert_eq!(
            top_level_key_support("offset.storage.replication.factor"),
            Some(Support::NotHonoured)
        );
        assert_eq!(
            top_level_key_support("replication.policy.custom"),
            Some(Support::NotHonoured)
        );
        assert_eq!(top_level_key_support("topicz"), None);
        assert_eq!(top_level_key_support("emit.heartbeat.enabled"), None);
        assert_eq!(flow_key_support("clusters"), None);
    }

    #[test]
    fn lists_do_not_overlap() {
        for key in HONOURED_FLOW_KEYS {
            assert!(!NOT_HONOURED_FLOW_KEYS.contains(key), "{key}");
        }
    }
}
