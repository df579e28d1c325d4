//! The settings of Kafka Connect's distributed worker (`WorkerConfig`,
//! `DistributedConfig`, `RestServerConfig`, Kafka 4.x), which MM2 hands to
//! the Connect worker of each flow, so that kmirror can tell them from
//! misspellings.
//!
//! Where MM2 takes them (`MirrorMakerConfig.workerConfig`): every
//! `<target alias>.<key>` goes to the workers of the flows into that cluster;
//! at the top level only keys starting with `offset.storage`,
//! `config.storage`, `status.storage`, `key.converter`, `value.converter`,
//! `header.converter`, `task`, `worker` or `replication.policy` reach them
//! (MM2 ignores a top-level `offset.flush.interval.ms`, for one).

/// Worker settings by exact name. The worker's Kafka client settings
/// (`client.id`, `metadata.max.age.ms`, ...) and security settings are
/// judged as client settings (`client_keys`, `keys::SECURITY_KEYS`).
const WORKER_KEYS: &[&str] = &[
    // WorkerConfig.
    "key.converter",
    "value.converter",
    "header.converter",
    "task.shutdown.graceful.timeout.ms",
    "offset.flush.interval.ms",
    "offset.flush.timeout.ms",
    "plugin.path",
    "plugin.discovery",
    "connector.client.config.override.policy",
    "topic.tracking.enable",
    "topic.tracking.allow.reset",
    "topic.creation.enable",
    // DistributedConfig.
    "group.id",
    "session.timeout.ms",
    "heartbeat.interval.ms",
    "rebalance.timeout.ms",
    "worker.sync.timeout.ms",
    "worker.unsync.backoff.ms",
    "offset.storage.topic",
    "offset.storage.partitions",
    "offset.storage.replication.factor",
    "config.storage.topic",
    "config.storage.replication.factor",
    "status.storage.topic",
    "status.storage.partitions",
    "status.storage.replication.factor",
    "connect.protocol",
    "scheduled.rebalance.max.delay.ms",
    "inter.worker.key.generation.algorithm",
    "inter.worker.key.size",
    "inter.worker.key.ttl.ms",
    "inter.worker.signature.algorithm",
    "inter.worker.verification.algorithms",
    "exactly.once.source.support",
    // RestServerConfig.
    "listeners",
    "rest.advertised.host.name",
    "rest.advertised.port",
    "rest.advertised.listener",
    "access.control.allow.origin",
    "access.control.allow.methods",
    "admin.listeners",
    "rest.extension.classes",
    "response.http.headers.config",
    "ssl.client.auth",
];

/// Worker settings whose names continue freely after the prefix: a
/// converter's own settings and the REST listeners' TLS settings.
const WORKER_KEY_PREFIXES: &[&str] = &[
    "key.converter.",
    "value.converter.",
    "header.converter.",
    "listeners.https.",
    "admin.listeners.https.",
];

/// Whether `key` is a Connect worker setting.
pub(crate) fn is_worker_key(key: &str) -> bool {
    WORKER_KEYS.contains(&key)
        || WORKER_KEY_PREFIXES
            .iter()
            .any(|prefix| key.len() > prefix.len() && key.starts_with(prefix))
}

/// Every worker setting name, for "did you mean" suggestions.
pub(crate) fn known_worker_keys() -> impl Iterator<Item = &'static str> {
    WORKER_KEYS.iter().copied()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn worker_keys() {
        assert!(is_worker_key("offset.flush.interval.ms"));
        assert!(is_worker_key("key.converter.schemas.enable"));
        assert!(is_worker_key("task.shutdown.graceful.timeout.ms"));
        assert!(!is_worker_key("task.shutdown.graceful.timeout"));
        assert!(!is_worker_key("key.converter."));
        assert!(!is_worker_key("tasks.maks"));
    }
}
