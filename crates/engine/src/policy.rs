//! Remote topic naming and the cycle check, as MM2's `ReplicationPolicy`
//! implementations (`DefaultReplicationPolicy`, `IdentityReplicationPolicy` in
//! `connect/mirror-client`) define them. Pure functions; no I/O.
//!
//! ```
//! use kmirror_engine::policy::ReplicationPolicy;
//!
//! let policy = ReplicationPolicy::default();
//! assert_eq!(policy.format_remote_topic("kafka-a", "payment-events"), "kafka-a.payment-events");
//! assert_eq!(policy.topic_source("kafka-a.payment-events"), Some("kafka-a"));
//! // A topic that came from kafka-b must never go back to kafka-b.
//! assert!(policy.would_cycle("kafka-b.payment-events", "kafka-b"));
//! assert!(!policy.would_cycle("payment-events", "kafka-b"));
//! ```

use std::fmt;

/// The separator MM2 uses when `replication.policy.separator` is not set.
pub const DEFAULT_SEPARATOR: &str = ".";

/// Name of MM2's heartbeats topic (`ReplicationPolicy.heartbeatsTopic`).
pub const HEARTBEATS_TOPIC: &str = "heartbeats";

/// The topic `kmirror verify` writes canary records to on each cluster. Every
/// flow replicates it whatever its `topics` list says (as heartbeats are), so
/// that verify checks the path the data takes; except under a policy that
/// keeps names (identity), where the remote canary would be the local one.
pub const CANARY_TOPIC: &str = "kmirror-canary";

/// Fully qualified Java class name of MM2's default policy.
pub const DEFAULT_POLICY_CLASS: &str = "org.apache.kafka.connect.mirror.DefaultReplicationPolicy";

/// Fully qualified Java class name of MM2's identity policy.
pub const IDENTITY_POLICY_CLASS: &str = "org.apache.kafka.connect.mirror.IdentityReplicationPolicy";

/// How remote topics are named, and so how their origin is recognised.
#[derive(Clone, PartialEq, Eq)]
pub enum ReplicationPolicy {
    /// `DefaultReplicationPolicy`: remote topic = `<source alias><separator><topic>`.
    Default {
        /// `replication.policy.separator`, default `.`.
        separator: String,
        /// `replication.policy.internal.topic.separator.enabled`, default true:
        /// whether the checkpoints and offset-syncs topic names use `separator`
        /// (true) or always `.` (false, for MM2 deployments older than 3.1).
        internal_topic_separator_enabled: bool,
    },
    /// `IdentityReplicationPolicy`: remote topics keep their names (except
    /// heartbeats, which are named as by `Default`), so the origin of a topic
    /// cannot be seen in its name and cycles cannot be detected.
    Identity {
        /// As for `Default`; used for heartbeats and the internal topics.
        separator: String,
        /// As for `Default`.
        internal_topic_separator_enabled: bool,
        /// `source.cluster.alias` given to the policy: MM2 reports it as the
        /// source of every non-heartbeats topic. MM2's connectors always set it
        /// to the flow's source alias.
        source_cluster_alias: Option<String>,
    },
}

impl Default for ReplicationPolicy {
    fn default() -> Self {
        ReplicationPolicy::Default {
            separator: DEFAULT_SEPARATOR.to_owned(),
            internal_topic_separator_enabled: true,
        }
    }
}

impl fmt::Debug for ReplicationPolicy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ReplicationPolicy::Default {
                separator,
                internal_topic_separator_enabled,
            } => f
                .debug_struct("Default")
                .field("separator", separator)
                .field(
                    "internal_topic_separator_enabled",
                    internal_topic_separator_enabled,
                )
                .finish(),
            ReplicationPolicy::Identity {
                separator,
                internal_topic_separator_enabled,
                source_cluster_alias,
            } => f
                .debug_struct("Identity")
                .field("separator", separator)
                .field(
                    "internal_topic_separator_enabled",
                    internal_topic_separator_enabled,
                )
                .field("source_cluster_alias", source_cluster_alias)
                .finish(),
        }
    }
}

impl ReplicationPolicy {
    /// `DefaultReplicationPolicy` with the given separator.
    pub fn default_with_separator(separator: impl Into<String>) -> Self {
        ReplicationPolicy::Default {
            separator: separator.into(),
            internal_topic_separator_enabled: true,
        }
    }

    /// `IdentityReplicationPolicy` with the default separator and no source alias.
    pub fn identity() -> Self {
        ReplicationPolicy::Identity {
            separator: DEFAULT_SEPARATOR.to_owned(),
            internal_topic_separator_enabled: true,
            source_cluster_alias: None,
        }
    }

    /// The Java class MM2 would name for this policy.
    pub fn java_class_name(&self) -> &'static str {
        match self {
            ReplicationPolicy::Default { .. } => DEFAULT_POLICY_CLASS,
            ReplicationPolicy::Identity { .. } => IDENTITY_POLICY_CLASS,
        }
    }

    /// Whether this is the identity policy (no renaming, no cycle detection).
    pub fn is_identity(&self) -> bool {
        matches!(self, ReplicationPolicy::Identity { .. })
    }

    /// `replication.policy.separator`.
    pub fn separator(&self) -> &str {
        match self {
            ReplicationPolicy::Default { separator, .. }
            | ReplicationPolicy::Identity { separator, .. } => separator,
        }
    }

    fn internal_separator(&self) -> &str {
        let enabled = match self {
            ReplicationPolicy::Default {
                internal_topic_separator_enabled,
                ..
            }
            | ReplicationPolicy::Identity {
                internal_topic_separator_enabled,
                ..
            } => *internal_topic_separator_enabled,
        };
        if enabled {
            self.separator()
        } else {
            DEFAULT_SEPARATOR
        }
    }

    /// Name on the target of `topic` replicated from `source_alias`.
    pub fn format_remote_topic(&self, source_alias: &str, topic: &str) -> String {
        match self {
            ReplicationPolicy::Identity { .. } if !looks_like_heartbeats(topic) => topic.to_owned(),
            _ => format!("{source_alias}{}{topic}", self.separator()),
        }
    }

    /// Alias of the cluster `topic` was replicated from, or `None` for a topic
    /// that is not a remote topic.
    ///
    /// As MM2's `topicSource`: the first token when the name, split at the
    /// separator with trailing empty tokens dropped (Java `String.split`), has
    /// two or more tokens. Under the identity policy, a non-heartbeats topic's
    /// source is the configured `source_cluster_alias`.
    pub fn topic_source<'a>(&'a self, topic: &'a str) -> Option<&'a str> {
        match self {
            ReplicationPolicy::Identity {
                source_cluster_alias,
                ..
            } if !looks_like_heartbeats(topic) => source_cluster_alias.as_deref(),
            _ => split_source(topic, self.separator()).map(|(source, _)| source),
        }
    }

    /// Name of `topic` on the cluster it was replicated from (one hop up), or
    /// `None` for a topic that is not a remote topic. Under the identity policy a
    /// non-heartbeats topic is its own upstream.
    pub fn upstream_topic<'a>(&self, topic: &'a str) -> Option<&'a str> {
        match self {
            ReplicationPolicy::Identity { .. } if !looks_like_heartbeats(topic) => Some(topic),
            _ => split_source(topic, self.separator()).map(|(_, upstream)| upstream),
        }
    }

    /// Name of `topic` on the cluster where it was first written, following the
    /// upstream chain over any number of hops.
    pub fn original_topic<'a>(&self, topic: &'a str) -> &'a str {
        let mut current = topic;
        loop {
            match self.upstream_topic(current) {
                Some(upstream) if upstream != current => current = upstream,
                _ => return current,
            }
        }
    }

    /// `heartbeats`.
    pub fn heartbeats_topic(&self) -> &'static str {
        HEARTBEATS_TOPIC
    }

    /// Checkpoints topic on the target for groups of the cluster `cluster_alias`
    /// (the flow's source): `<alias>.checkpoints.internal`.
    pub fn checkpoints_topic(&self, cluster_alias: &str) -> String {
        let sep = self.internal_separator();
        format!("{cluster_alias}{sep}checkpoints{sep}internal")
    }

    /// Offset-syncs topic named after `cluster_alias`, the cluster at the other
    /// end of the flow from where the topic lives (the target when it lives on
    /// the source, MM2's default): `mm2-offset-syncs.<alias>.internal`.
    pub fn offset_syncs_topic(&self, cluster_alias: &str) -> String {
        let sep = self.internal_separator();
        format!("mm2-offset-syncs{sep}{cluster_alias}{sep}internal")
    }

    /// Whether `topic` is a heartbeats topic: its original topic is `heartbeats`
    /// (so `heartbeats`, `kafka-a.heartbeats`, `kafka-b.kafka-a.heartbeats`).
    pub fn is_heartbeats_topic(&self, topic: &str) -> bool {
        self.original_topic(topic) == HEARTBEATS_TOPIC
    }

    /// Whether `topic` is a checkpoints topic (ends `.checkpoints.internal`).
    pub fn is_checkpoints_topic(&self, topic: &str) -> bool {
        let sep = self.internal_separator();
        topic.ends_with(&format!("{sep}checkpoints{sep}internal"))
    }

    /// Whether `topic` is one of MM2's internal topics (ends `.internal`).
    pub fn is_mm2_internal_topic(&self, topic: &str) -> bool {
        topic.ends_with(&format!("{}internal", self.internal_separator()))
    }

    /// Whether `topic` is internal and so never replicated: Kafka's own
    /// (`__consumer_offsets`, `__transaction_state`, names starting `.`),
    /// Connect's (ending `-internal` or `.internal`) and MM2's.
    pub fn is_internal_topic(&self, topic: &str) -> bool {
        let kafka_internal = topic.starts_with("__") || topic.starts_with('.');
        let connect_internal = topic.ends_with("-internal") || topic.ends_with(".internal");
        self.is_mm2_internal_topic(topic) || kafka_internal || connect_internal
    }

    /// Whether remote topics from `alias` can be recognised as such:
    /// [`ReplicationPolicy::topic_source`] of `<alias><separator><topic>` is
    /// `alias` only when the separator first occurs right after the alias, so
    /// an alias must neither contain the separator nor end with a part of it
    /// (alias `a_` with separator `__`: `a___t` has source `a`).
    pub fn recognises_alias(&self, alias: &str) -> bool {
        let separator = self.separator();
        !alias.is_empty() && format!("{alias}{separator}").find(separator) == Some(alias.len())
    }

    /// Whether replicating `topic` to `target_alias` would bring it back to a
    /// cluster it has already been on: walks the upstream chain and answers true
    /// when any hop's source is `target_alias` (MM2's `isCycle`).
    ///
    /// Under the identity policy only heartbeats topics can be recognised; any
    /// other topic answers false, which is why MM2 loops with it in
    /// active-active setups and why kmirror's config refuses that combination.
    pub fn would_cycle(&self, topic: &str, target_alias: &str) -> bool {
        let mut current = topic;
        loop {
            match self.topic_source(current) {
                None => return false,
                Some(source) if source == target_alias => return true,
                Some(_) => match self.upstream_topic(current) {
                    Some(upstream) if upstream != current => current = upstream,
                    _ => return false,
                },
            }
        }
    }
}

/// `IdentityReplicationPolicy.looksLikeHeartbeat`: any name ending `heartbeats`.
fn looks_like_heartbeats(topic: &str) -> bool {
    topic.ends_with(HEARTBEATS_TOPIC)
}

/// Splits a remote topic into its source alias and upstream name, or `None`
/// when it is not remote. Follows Java's `String.split(quote(separator))`:
/// trailing empty tokens do not count, a leading empty token does.
fn split_source<'a>(topic: &'a str, separator: &str) -> Option<(&'a str, &'a str)> {
    if separator.is_empty() {
        // Config validation rejects an empty separator; without one no name is remote.
        return None;
    }
    let (source, upstream) = topic.split_once(separator)?;
    // At least one non-empty token must follow the source for Java's split to
    // return two or more parts.
    if upstream.split(separator).any(|token| !token.is_empty()) {
        Some((source, upstream))
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn default() -> ReplicationPolicy {
        ReplicationPolicy::default()
    }

    #[test]
    fn default_naming() {
        let p = default();
        assert_eq!(
            p.format_remote_topic("kafka-a", "payment-events"),
            "kafka-a.payment-events"
        );
        assert_eq!(p.topic_source("kafka-a.payment-events"), Some("kafka-a"));
        assert_eq!(
            p.upstream_topic("kafka-a.payment-events"),
            Some("payment-events")
        );
        assert_eq!(p.topic_source("payment-events"), None);
        assert_eq!(p.upstream_topic("payment-events"), None);
        assert_eq!(
            p.original_topic("kafka-b.kafka-a.payment-events"),
            "payment-events"
        );
        assert_eq!(p.original_topic("payment-events"), "payment-events");
        assert_eq!(p.upstream_topic("kafka-b.kafka-a.x"), Some("kafka-a.x"));
    }

    #[test]
    fn java_split_edge_cases() {
        let p = default();
        // Trailing empty tokens are dropped: not remote.
        assert_eq!(p.topic_source("a."), None);
        assert_eq!(p.topic_source("a.."), None);
        assert_eq!(p.topic_source("."), None);
        assert_eq!(p.topic_source(""), None);
        // A leading empty token counts: the source is "".
        assert_eq!(p.topic_source(".a"), Some(""));
        assert_eq!(p.upstream_topic(".a"), Some("a"));
        // Empty tokens in the middle are kept.
        assert_eq!(p.topic_source("a..b"), Some("a"));
        assert_eq!(p.upstream_topic("a..b"), Some(".b"));
        assert_eq!(p.upstream_topic("a.b."), Some("b."));
    }

    #[test]
    fn custom_separator() {
        let p = ReplicationPolicy::default_with_separator("__");
        assert_eq!(p.format_remote_topic("a", "t.x"), "a__t.x");
        assert_eq!(p.topic_source("a__t.x"), Some("a"));
        assert_eq!(p.upstream_topic("a__t.x"), Some("t.x"));
        assert_eq!(p.topic_source("a.t"), None);
        assert_eq!(p.checkpoints_topic("a"), "a__checkpoints__internal");
        assert_eq!(p.offset_syncs_topic("b"), "mm2-offset-syncs__b__internal");
        assert!(p.is_checkpoints_topic("a__checkpoints__internal"));
        assert!(p.is_mm2_internal_topic("x__internal"));

        let legacy = ReplicationPolicy::Default {
            separator: "__".to_owned(),
            internal_topic_separator_enabled: false,
        };
        assert_eq!(legacy.checkpoints_topic("a"), "a.checkpoints.internal");
        assert_eq!(
            legacy.offset_syncs_topic("b"),
            "mm2-offset-syncs.b.internal"
        );
        assert_eq!(legacy.format_remote_topic("a", "t"), "a__t");
    }

    #[test]
    fn recognisable_aliases() {
        let dot = default();
        assert!(dot.recognises_alias("kafka-a"));
        assert!(!dot.recognises_alias("us.west"));
        assert!(!dot.recognises_alias(""));
        let double = ReplicationPolicy::default_with_separator("__");
        assert!(double.recognises_alias("a_b"));
        assert!(!double.recognises_alias("a_"));
        assert!(!double.recognises_alias("a__b"));
        assert_eq!(double.topic_source("a___t"), Some("a"));
    }

    #[test]
    fn internal_topic_names() {
        let p = default();
        assert_eq!(p.heartbeats_topic(), "heartbeats");
        assert_eq!(
            p.checkpoints_topic("kafka-a"),
            "kafka-a.checkpoints.internal"
        );
        assert_eq!(
            p.offset_syncs_topic("kafka-b"),
            "mm2-offset-syncs.kafka-b.internal"
        );
        for internal in [
            "__consumer_offsets",
            "__transaction_state",
            ".hidden",
            "connect-offsets-internal",
            "mm2-offset-syncs.kafka-b.internal",
            "kafka-a.checkpoints.internal",
            "mm2-configs.kafka-a.internal",
        ] {
            assert!(p.is_internal_topic(internal), "{internal}");
        }
        for external in [
            "payment-events",
            "heartbeats",
            "kafka-a.heartbeats",
            "internal",
            "x_internal",
        ] {
            assert!(!p.is_internal_topic(external), "{external}");
        }
        assert!(p.is_checkpoints_topic("kafka-a.checkpoints.internal"));
        assert!(!p.is_checkpoints_topic("kafka-a.checkpoints"));
    }

    #[test]
    fn heartbeats_topics() {
        let p = default();
        assert!(p.is_heartbeats_topic("heartbeats"));
        assert!(p.is_heartbeats_topic("kafka-a.heartbeats"));
        assert!(p.is_heartbeats_topic("kafka-b.kafka-a.heartbeats"));
        assert!(!p.is_heartbeats_topic("my-heartbeats"));
        assert!(!p.is_heartbeats_topic("heartbeats.x"));
        // Heartbeats are replicated downstream but never back to a cluster on their chain.
        assert_eq!(
            p.format_remote_topic("kafka-a", "heartbeats"),
            "kafka-a.heartbeats"
        );
        assert!(!p.would_cycle("heartbeats", "kafka-b"));
        assert!(p.would_cycle("kafka-b.heartbeats", "kafka-b"));
        assert!(!p.would_cycle("kafka-b.heartbeats", "kafka-c"));
        assert!(p.would_cycle("kafka-c.kafka-b.heartbeats", "kafka-b"));
    }

    #[test]
    fn two_cluster_cycle() {
        let p = default();
        // On kafka-a, flow kafka-a->kafka-b: own topics go, kafka-b's come not back.
        assert!(!p.would_cycle("payment-events", "kafka-b"));
        assert!(p.would_cycle("kafka-b.payment-events", "kafka-b"));
        // So `kafka-a.kafka-b.payment-events` is never produced on kafka-b.
        let remote = p.format_remote_topic("kafka-a", "payment-events");
        assert_eq!(remote, "kafka-a.payment-events");
        assert!(p.would_cycle(&remote, "kafka-a"));
    }

    #[test]
    fn three_cluster_chain() {
        let p = default();
        // a -> b -> c: c gets b.a.t, which must not go back to a or b.
        let on_b = p.format_remote_topic("a", "t");
        assert!(!p.would_cycle(&on_b, "c"));
        let on_c = p.format_remote_topic("b", &on_b);
        assert_eq!(on_c, "b.a.t");
        assert!(p.would_cycle(&on_c, "a"));
        assert!(p.would_cycle(&on_c, "b"));
        assert!(!p.would_cycle(&on_c, "d"));
        assert_eq!(p.original_topic(&on_c), "t");
    }

    #[test]
    fn identity_policy() {
        let p = ReplicationPolicy::identity();
        assert_eq!(
            p.format_remote_topic("kafka-a", "payment-events"),
            "payment-events"
        );
        assert_eq!(
            p.format_remote_topic("kafka-a", "heartbeats"),
            "kafka-a.heartbeats"
        );
        assert_eq!(p.topic_source("payment-events"), None);
        assert_eq!(p.upstream_topic("payment-events"), Some("payment-events"));
        assert_eq!(p.original_topic("payment-events"), "payment-events");
        assert_eq!(p.topic_source("kafka-a.heartbeats"), Some("kafka-a"));
        assert!(p.is_heartbeats_topic("kafka-a.heartbeats"));
        // Identity cannot see cycles for ordinary topics...
        assert!(!p.would_cycle("payment-events", "kafka-a"));
        // ...but heartbeats keep MM2's default naming and so their check.
        assert!(p.would_cycle("kafka-b.heartbeats", "kafka-b"));

        let with_alias = ReplicationPolicy::Identity {
            separator: ".".to_owned(),
            internal_topic_separator_enabled: true,
            source_cluster_alias: Some("kafka-a".to_owned()),
        };
        assert_eq!(with_alias.topic_source("payment-events"), Some("kafka-a"));
        assert!(with_alias.would_cycle("payment-events", "kafka-a"));
        assert!(!with_alias.would_cycle("payment-events", "kafka-b"));
    }

    proptest! {
        #[test]
        fn remote_topic_round_trip(
            alias in "[a-zA-Z0-9_-]{1,12}",
            topic in "[a-zA-Z0-9_-]{1,30}",
            separator in prop_oneof![Just(".".to_owned()), Just("_".to_owned()), Just("__".to_owned()), Just("-".to_owned())],
        ) {
            // As in MM2, an alias must not even end with part of the separator:
            // alias `_` with separator `__` gives `___t`, whose source is "".
            prop_assume!(!alias.chars().any(|c| separator.contains(c)) && !topic.contains(&separator));
            let p = ReplicationPolicy::default_with_separator(separator);
            let remote = p.format_remote_topic(&alias, &topic);
            prop_assert_eq!(p.topic_source(&remote), Some(alias.as_str()));
            prop_assert_eq!(p.upstream_topic(&remote), Some(topic.as_str()));
            prop_assert_eq!(p.original_topic(&remote), topic.as_str());
            prop_assert!(p.would_cycle(&remote, &alias));
            prop_assert!(p.recognises_alias(&alias));
        }

        #[test]
        fn multi_hop_round_trip(
            aliases in proptest::collection::vec("[a-z0-9-]{1,8}", 1..5),
            topic in "[a-zA-Z0-9-]{1,20}",
            other in "[A-Z]{1,8}",
        ) {
            let p = ReplicationPolicy::default();
            let mut name = topic.clone();
            for alias in &aliases {
                name = p.format_remote_topic(alias, &name);
            }
            prop_assert_eq!(p.original_topic(&name), topic.as_str());
            for alias in &aliases {
                prop_assert!(p.would_cycle(&name, alias));
            }
            // Upper-case aliases never occur in the chain.
            prop_assert!(!p.would_cycle(&name, &other));
        }

        #[test]
        fn arbitrary_names_never_panic(topic in "\\PC*", separator in "\\PC{0,3}", target in "\\PC{0,5}") {
            let p = ReplicationPolicy::default_with_separator(separator);
            let _ = p.would_cycle(&topic, &target);
            let _ = p.original_topic(&topic);
            let _ = p.is_internal_topic(&topic);
            let _ = p.is_heartbeats_topic(&topic);
        }
    }
}
