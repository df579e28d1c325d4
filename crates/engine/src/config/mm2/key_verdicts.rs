//! What kmirror tells the operator about each key of `mm2.properties`:
//! honoured, known but not honoured, ignored where it is written, or unknown
//! with the closest known key ("did you mean").
//!
//! A key is known when MM2 (`MirrorMakerConfig`, the `Mirror*Config`
//! connector configs), Kafka Connect (connector and worker configs), Kafka's
//! clients or kmirror knows it *where it is written*: the top level,
//! `<alias>.<key>` or `<source>-><target>.<key>`. Names that continue freely
//! (`transforms.<name>.*`, a converter's own settings, `config.providers.*`)
//! are accepted by their prefix; everything else is matched by exact name so
//! that a misspelling cannot hide behind a prefix.

use crate::config::client_keys::{client_key_support, known_client_keys, ClientKeySupport};
use crate::config::keys::{self, Support, SECURITY_KEYS};
use crate::config::suggest::closest;
use crate::config::worker_keys::{is_worker_key, known_worker_keys};

/// What to report about one key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Verdict {
    /// kmirror acts on it.
    Honoured,
    /// Known to MM2, Connect or Kafka's clients; kmirror does not act on it.
    NotHonoured,
    /// Known, but MM2 ignores it where it is written; the text says where it
    /// belongs.
    Misplaced(String),
    /// Nobody knows it. The suggestion is the closest known key, without the
    /// alias or flow prefix.
    Unknown { suggestion: Option<String> },
    /// A client setting that cannot apply to batch pass-through: listed
    /// apart, with the reason (`Mm2Config::not_applicable_client_keys`).
    NotApplicable,
}

/// Where a client setting is written, which decides whether it reaches a
/// client.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Scope {
    /// `consumer.*` and the like at the top level: MM2 dedicated mode drops
    /// them.
    TopLevel,
    /// `<source>-><target>.consumer.*`: the flow's clients.
    Flow,
    /// `<alias>.consumer.*`: the cluster's clients.
    Cluster,
}

/// The prefixes of a Kafka client's settings, as MM2 and Connect write them:
/// per client (`consumer.`, ...) and Connect's per-connector client
/// overrides (`consumer.override.`, ...).
const CLIENT_PREFIXES: &[&str] = &[
    "consumer.override.",
    "producer.override.",
    "admin.override.",
    "consumer.",
    "producer.",
    "admin.",
];

/// Connector settings whose names continue freely (a transform's or
/// predicate's own settings, topic creation groups).
const CONNECTOR_PREFIXES: &[&str] = &["transforms.", "predicates.", "topic.creation."];

/// A Kafka client setting given for one client (`consumer.fetch.max.bytes`)
/// or as a Connect client override (`producer.override.acks`), written at
/// `scope`: `None` when `key` has no client prefix. Connect's
/// `producer.override.*` in connector JSON arrives here as a flow's
/// `producer.*` (see `connect.rs`).
fn client_setting_verdict(key: &str, scope: Scope) -> Option<Verdict> {
    let (prefix, setting) = CLIENT_PREFIXES
        .iter()
        .find_map(|prefix| key.strip_prefix(prefix).map(|rest| (*prefix, rest)))?;
    let per_client = !prefix.ends_with("override.");
    let applied = per_client && scope != Scope::TopLevel;
    Some(match client_key_support(setting) {
        // Security settings of each client are honoured at cluster level
        // (the security issue); kmirror's connections are per cluster, and
        // MM2's connectors take connection settings per cluster too.
        Some(_) if keys::is_security_key(setting) => match scope {
            Scope::Flow => Verdict::NotHonoured,
            Scope::TopLevel | Scope::Cluster => Verdict::Honoured,
        },
        Some(ClientKeySupport::Honoured) if applied => Verdict::Honoured,
        Some(ClientKeySupport::NotApplicable(_)) if applied => Verdict::NotApplicable,
        // Connect applies it to sink connectors only: listed as not
        // applicable with that reason.
        Some(_) if prefix == "consumer.override." && scope == Scope::TopLevel => {
            Verdict::NotApplicable
        }
        Some(_) => Verdict::NotHonoured,
        None => Verdict::Unknown {
            suggestion: closest(setting, client_key_names()).map(|s| format!("{prefix}{s}")),
        },
    })
}

/// Known client setting names: Kafka's client settings and the security ones.
fn client_key_names() -> impl Iterator<Item = &'static str> {
    known_client_keys().chain(SECURITY_KEYS.iter().copied())
}

/// `ssl.*` and `sasl.*` client settings are judged by exact name:
/// `Some(verdict)` for them (not for the REST server's `ssl.client.auth`).
fn security_verdict(key: &str) -> Option<Verdict> {
    if !keys::is_security_key(key) || is_worker_key(key) {
        return None;
    }
    Some(if SECURITY_KEYS.contains(&key) {
        Verdict::Honoured
    } else {
        Verdict::Unknown {
            suggestion: closest(key, SECURITY_KEYS.iter().copied()).map(str::to_owned),
        }
    })
}

fn has_free_prefix(key: &str, prefixes: &[&str]) -> bool {
    prefixes
        .iter()
        .any(|prefix| key.len() > prefix.len() && key.starts_with(prefix))
}

/// A connector-level key: the top level or `<source>-><target>.<setting>`.
fn connector_support(setting: &str) -> Option<Support> {
    keys::flow_key_support(setting)
        .or_else(|| has_free_prefix(setting, CONNECTOR_PREFIXES).then_some(Support::NotHonoured))
}

fn from_support(support: Support) -> Verdict {
    match support {
        Support::Honoured => Verdict::Honoured,
        Support::NotHonoured => Verdict::NotHonoured,
    }
}

/// Connect worker settings kmirror acts on, at the top level or as
/// `<target alias>.<key>`: the replication factor of MM2's offsets topic
/// (`mm2-offsets.<source>.internal`, which kmirror creates) and
/// exactly-once delivery into that cluster.
const HONOURED_WORKER_KEYS: &[&str] = &[
    "offset.storage.replication.factor",
    "exactly.once.source.support",
];

/// A key without alias or flow prefix.
pub(super) fn top_level(key: &str) -> Verdict {
    if let Some(support) = keys::flow_key_support(key) {
        return from_support(support);
    }
    if keys::is_honoured_top_level_key(key) || key.starts_with("config.providers.") {
        return Verdict::Honoured;
    }
    if let Some(verdict) = security_verdict(key) {
        return verdict;
    }
    if HONOURED_WORKER_KEYS.contains(&key) {
        return Verdict::Honoured;
    }
    if keys::is_not_honoured_top_level_key(key)
        || is_worker_key(key)
        || has_free_prefix(key, CONNECTOR_PREFIXES)
    {
        return Verdict::NotHonoured;
    }
    if let Some(verdict) = client_setting_verdict(key, Scope::TopLevel) {
        return verdict;
    }
    if client_key_support(key).is_some() {
        return Verdict::NotHonoured;
    }
    let candidates = keys::known_top_level_keys()
        .chain(known_worker_keys())
        .chain(client_key_names());
    Verdict::Unknown {
        suggestion: closest(key, candidates).map(str::to_owned),
    }
}

/// `<source>-><target>.<setting>`.
pub(super) fn flow(setting: &str) -> Verdict {
    if let Some(support) = connector_support(setting) {
        return from_support(support);
    }
    if let Some(verdict) = client_setting_verdict(setting, Scope::Flow) {
        return verdict;
    }
    if setting == "bootstrap.servers" {
        return Verdict::NotHonoured;
    }
    if let Some(verdict) = security_verdict(setting) {
        // MM2 hands flow-level keys to the connector, which takes connection
        // settings only as `source.cluster.*` / `target.cluster.*`.
        return match verdict {
            Verdict::Honoured => Verdict::NotHonoured,
            other => other,
        };
    }
    if is_worker_key(setting) {
        return Verdict::Misplaced(format!(
            "a Kafka Connect worker setting: MM2 takes it as <alias>.{setting} (for the flows \
             into that cluster), not per flow"
        ));
    }
    Verdict::Unknown {
        suggestion: closest(setting, keys::known_flow_keys()).map(str::to_owned),
    }
}

/// `<alias>.<setting>`: connection, security, client and worker settings.
pub(super) fn cluster(setting: &str) -> Verdict {
    if setting == "bootstrap.servers" || HONOURED_WORKER_KEYS.contains(&setting) {
        return Verdict::Honoured;
    }
    if let Some(verdict) = security_verdict(setting) {
        return verdict;
    }
    if let Some(verdict) = client_setting_verdict(setting, Scope::Cluster) {
        return verdict;
    }
    if keys::flow_key_support(setting).is_some() {
        return Verdict::Misplaced(format!(
            "MM2 ignores flow settings at cluster level; set \"{setting}\" at the top level or \
             as <source>-><target>.{setting}"
        ));
    }
    if is_worker_key(setting) || client_key_support(setting).is_some() {
        return Verdict::NotHonoured;
    }
    let candidates = std::iter::once("bootstrap.servers")
        .chain(known_worker_keys())
        .chain(client_key_names());
    Verdict::Unknown {
        suggestion: closest(setting, candidates).map(str::to_owned),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn suggestion(verdict: Verdict) -> Option<String> {
        match verdict {
            Verdict::Unknown { suggestion } => suggestion,
            other => panic!("{other:?} is not unknown"),
        }
    }

    #[test]
    fn top_level_keys() {
        assert_eq!(top_level("tasks.max"), Verdict::Honoured);
        assert_eq!(top_level("clusters"), Verdict::Honoured);
        assert_eq!(top_level("config.providers.file.class"), Verdict::Honoured);
        assert_eq!(top_level("ssl.truststore.location"), Verdict::Honoured);
        assert_eq!(top_level("sync.topic.acls.enabled"), Verdict::Honoured);
        assert_eq!(
            top_level("offset.storage.replication.factor"),
            Verdict::Honoured
        );
        for key in [
            "offset.storage.topic",
            "offset.flush.interval.ms",
            "task.shutdown.graceful.timeout.ms",
            "worker.sync.timeout.ms",
            "key.converter.schemas.enable",
            "transforms.x.type",
            "listeners",
            "ssl.client.auth",
            "producer.batch.size",
            "producer.override.acks",
            "metadata.max.age.ms",
            "topic.filter.class",
        ] {
            assert_eq!(top_level(key), Verdict::NotHonoured, "{key}");
        }
        // MM2 dedicated mode drops top-level client keys.
        assert_eq!(top_level("consumer.fetch.max.bytes"), Verdict::NotHonoured);
        assert_eq!(
            top_level("consumer.override.fetch.min.bytes"),
            Verdict::NotApplicable
        );
        assert_eq!(
            suggestion(top_level("tasks.maks")).as_deref(),
            Some("tasks.max")
        );
        assert_eq!(suggestion(top_level("topicz")).as_deref(), Some("topics"));
        assert_eq!(
            suggestion(top_level("task.shutdown.graceful.timeout")).as_deref(),
            Some("task.shutdown.graceful.timeout.ms")
        );
        assert_eq!(
            suggestion(top_level("offset.storage.replication.factr")).as_deref(),
            Some("offset.storage.replication.factor")
        );
        assert_eq!(
            suggestion(top_level("ssl.truststore.locaton")).as_deref(),
            Some("ssl.truststore.location")
        );
        assert_eq!(
            suggestion(top_level("replication.policy.seperator")).as_deref(),
            Some("replication.policy.separator")
        );
        assert_eq!(
            suggestion(top_level("consumer.fetch.max.byte")).as_deref(),
            Some("consumer.fetch.max.bytes")
        );
        assert_eq!(
            suggestion(top_level("producer.override.ack")).as_deref(),
            Some("producer.override.acks")
        );
        assert_eq!(suggestion(top_level("completely.different")), None);
    }

    #[test]
    fn flow_keys() {
        assert_eq!(flow("topics"), Verdict::Honoured);
        assert_eq!(flow("consumer.ssl.keystore.location"), Verdict::NotHonoured);
        assert_eq!(flow("producer.linger.ms"), Verdict::NotApplicable);
        assert_eq!(flow("producer.acks"), Verdict::Honoured);
        assert_eq!(flow("consumer.client.rack"), Verdict::Honoured);
        assert_eq!(flow("producer.metric.reporters"), Verdict::NotHonoured);
        assert_eq!(flow("transforms.x.type"), Verdict::NotHonoured);
        assert!(matches!(
            flow("offset.flush.interval.ms"),
            Verdict::Misplaced(_)
        ));
        assert_eq!(suggestion(flow("topicz")).as_deref(), Some("topics"));
        assert_eq!(
            suggestion(flow("emit.heartbeat.enabled")).as_deref(),
            Some("emit.heartbeats.enabled")
        );
    }

    #[test]
    fn cluster_keys() {
        assert_eq!(cluster("bootstrap.servers"), Verdict::Honoured);
        assert_eq!(cluster("sasl.jaas.config"), Verdict::Honoured);
        assert_eq!(cluster("consumer.security.protocol"), Verdict::Honoured);
        assert_eq!(cluster("client.id"), Verdict::NotHonoured);
        assert_eq!(cluster("consumer.fetch.max.bytes"), Verdict::Honoured);
        assert_eq!(cluster("producer.compression.type"), Verdict::NotApplicable);
        assert_eq!(
            cluster("consumer.override.fetch.min.bytes"),
            Verdict::NotHonoured
        );
        assert_eq!(cluster("offset.flush.interval.ms"), Verdict::NotHonoured);
        assert_eq!(cluster("ssl.client.auth"), Verdict::NotHonoured);
        assert!(matches!(cluster("topics"), Verdict::Misplaced(_)));
        assert_eq!(
            suggestion(cluster("bootstrap.server")).as_deref(),
            Some("bootstrap.servers")
        );
        assert_eq!(
            suggestion(cluster("consumer.max.pol.records")).as_deref(),
            Some("consumer.max.poll.records")
        );
    }
}
