//! The settings of a flow's worker group that come from the properties
//! file: Kafka Connect's worker timeouts, and the fingerprint of what every
//! worker of a group must agree on.

use std::hash::{Hash, Hasher};
use std::time::Duration;

use tracing::warn;

use super::flow::GroupConfig;
use crate::config::mm2::Mm2Config;

/// Keys that may differ between the workers of one group: how each worker
/// reaches and authenticates to the clusters (key store paths, passwords,
/// per-host listener addresses are per machine) and the group timeouts.
fn is_per_worker(key: &str) -> bool {
    // The name may follow any prefix: `kafka-a.`, `kafka-a.consumer.`,
    // `kafka-a->kafka-b.`, `target.cluster.` ...
    let names = std::iter::once(key).chain(key.match_indices('.').map(|(i, _)| &key[i + 1..]));
    let client_setting = names.into_iter().any(|name| {
        name.starts_with("ssl.")
            || name.starts_with("sasl.")
            || name == "security.protocol"
            || name == "bootstrap.servers"
    });
    client_setting
        || key.starts_with("config.providers")
        || matches!(
            key,
            "session.timeout.ms" | "heartbeat.interval.ms" | "rebalance.timeout.ms" | "group.id"
        )
}

/// Whether `key` is a setting of another flow than `source->target`
/// (`kafka-b->kafka-a.enabled` for the flow `kafka-a->kafka-b`).
fn is_other_flows(key: &str, source: &str, target: &str) -> bool {
    match key.split_once("->") {
        Some((from, rest)) => !(from == source && rest.starts_with(&format!("{target}."))),
        None => false,
    }
}

/// A hash of every setting of `config` that all workers of the flow
/// `source->target`'s group must share (topics, groups, policies,
/// intervals, ...). Settings of other flows are left out: changing one flow
/// leaves the others running.
pub fn fingerprint(config: &Mm2Config, source: &str, target: &str) -> u64 {
    let mut settings: Vec<(&str, &str)> = config
        .properties()
        .iter()
        .filter(|(key, _)| !is_per_worker(key) && !is_other_flows(key, source, target))
        .map(|(key, entry)| (key, entry.value.as_str()))
        .collect();
    settings.sort();
    let mut hasher = std::collections::hash_map::DefaultHasher::new();
    settings.hash(&mut hasher);
    hasher.finish()
}

/// `group.id` (the prefix of the flows' group ids), and
/// `session.timeout.ms`, `heartbeat.interval.ms` and `rebalance.timeout.ms`
/// as Connect reads them from a worker's config, with Connect's defaults
/// but for the heartbeat (see [`GroupConfig::default`]).
pub fn group_config(config: &Mm2Config) -> GroupConfig {
    let defaults = GroupConfig::default();
    let read = |key: &str, default: Duration| match config.properties().get(key) {
        None => default,
        Some(value) => match value.trim().parse::<u64>() {
            Ok(ms) if ms > 0 => Duration::from_millis(ms),
            _ => {
                warn!(
                    key,
                    value, "not a positive number of milliseconds; using the default"
                );
                default
            }
        },
    };
    let session = read("session.timeout.ms", defaults.session);
    let heartbeat = read("heartbeat.interval.ms", defaults.heartbeat).min(session / 3);
    let rebalance = read("rebalance.timeout.ms", defaults.rebalance);
    let id_prefix = config
        .properties()
        .get("group.id")
        .map(str::trim)
        .filter(|prefix| !prefix.is_empty())
        .unwrap_or(defaults.id_prefix.as_str())
        .to_string();
    GroupConfig {
        id_prefix,
        session,
        heartbeat,
        rebalance,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Mm2Config {
        Mm2Config::parse(
            &format!(
                "clusters = a, b\na.bootstrap.servers = a:9092\nb.bootstrap.servers = b:9092\na->b.enabled = true\n{text}"
            ),
            "mm2.properties",
        )
        .unwrap()
    }

    fn fingerprint(config: &Mm2Config) -> u64 {
        super::fingerprint(config, "a", "b")
    }

    #[test]
    fn per_worker_settings_do_not_change_the_fingerprint() {
        let base = fingerprint(&parse(""));
        for per_worker in [
            "a.ssl.keystore.location = /etc/w1.jks",
            "a.consumer.sasl.jaas.config = x",
            "b.producer.ssl.key.password = y",
            "a.bootstrap.servers = a2:9092",
            "session.timeout.ms = 6000",
            "security.protocol = SSL",
            "b->a.enabled = true",
            "b->a.topics = other",
        ] {
            assert_eq!(fingerprint(&parse(per_worker)), base, "{per_worker}");
        }
        for shared in [
            "a->b.topics = payments.*",
            "replication.policy.class = org.apache.kafka.connect.mirror.IdentityReplicationPolicy",
            "a->b.groups = g1",
            "tasks.max = 4",
        ] {
            assert_ne!(fingerprint(&parse(shared)), base, "{shared}");
        }
    }

    #[test]
    fn group_settings_follow_connect() {
        assert_eq!(group_config(&parse("")), GroupConfig::default());
        let t = group_config(&parse(
            "session.timeout.ms = 6000\nheartbeat.interval.ms = 500\nrebalance.timeout.ms = 20000",
        ));
        assert_eq!(t.session, Duration::from_secs(6));
        assert_eq!(t.heartbeat, Duration::from_millis(500));
        assert_eq!(t.rebalance, Duration::from_secs(20));
        // A heartbeat interval that would let the session lapse is lowered.
        let t = group_config(&parse(
            "session.timeout.ms = 6000\nheartbeat.interval.ms = 3000",
        ));
        assert_eq!(t.heartbeat, Duration::from_secs(2));
        assert_eq!(group_config(&parse("")).heartbeat, Duration::from_secs(1));
        // A value Connect would refuse stops the config (with file and line).
        let text = "clusters = a, b\na.bootstrap.servers = a:9092\nb.bootstrap.servers = b:9092\n\
                    a->b.enabled = true\nsession.timeout.ms = soon\n";
        let error = Mm2Config::parse(text, "mm2.properties").unwrap_err();
        assert!(error
            .to_string()
            .starts_with("mm2.properties:5: session.timeout.ms"));
        assert_eq!(group_config(&parse("")).id_prefix, "kmirror");
        assert_eq!(
            group_config(&parse("group.id = team-a")).id_prefix,
            "team-a"
        );
    }
}
