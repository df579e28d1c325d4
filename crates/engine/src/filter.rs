//! Which topics, groups and topic configs a flow replicates: MM2's
//! `DefaultTopicFilter`, `DefaultGroupFilter`, `DefaultConfigPropertyFilter`
//! and `MirrorSourceConnector.shouldReplicateTopic`. Pure; no I/O.
//!
//! A filter setting is a comma-separated list of Java regexes (Kafka's
//! `ConfigDef` `LIST`: trimmed, split at commas with surrounding blanks). MM2
//! joins the list with `|` and requires the *whole* name to match (Java
//! `Matcher.matches`); kmirror does the same with Java's syntax, lookaround
//! and backreferences included ([`crate::java_regex`]). An empty list
//! matches nothing.
//!
//! ```
//! use kmirror_engine::filter::TopicFilter;
//!
//! let filter = TopicFilter::new("payment-.*, user-actions", TopicFilter::DEFAULT_EXCLUDE).unwrap();
//! assert!(filter.should_replicate_topic("payment-events"));
//! assert!(!filter.should_replicate_topic("my-payment-events")); // whole name must match
//! assert!(!filter.should_replicate_topic("payment-events.replica")); // default exclusion
//! let filter = TopicFilter::new(r"(?!secret\.).*", "").unwrap();
//! assert!(!filter.should_replicate_topic("secret.keys")); // Java lookahead
//! ```

use std::fmt;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use tracing::warn;

use crate::config::mm2::FlowConfig;
pub use crate::java_regex::InvalidRegex;
use crate::java_regex::{GaveUp, WholeNameRegex};

/// Splits a Kafka `ConfigDef` `LIST` value: trimmed, empty means no entries,
/// otherwise split at commas and the blanks around them (empty entries kept,
/// as Java does).
pub fn parse_list(value: &str) -> Vec<String> {
    let trimmed = value.trim();
    if trimmed.is_empty() {
        return Vec::new();
    }
    trimmed
        .split(',')
        .map(|entry| entry.trim().to_owned())
        .collect()
}

/// A list of regexes matched against whole names, as MM2's
/// `MirrorUtils.compilePatternList` builds it.
#[derive(Clone)]
pub struct PatternList {
    patterns: Vec<String>,
    /// `None` for an empty list, which matches nothing.
    regex: Option<WholeNameRegex>,
    /// Whether a match already gave up (warned once, not per name).
    gave_up: Arc<AtomicBool>,
}

impl fmt::Debug for PatternList {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list().entries(&self.patterns).finish()
    }
}

impl PartialEq for PatternList {
    fn eq(&self, other: &Self) -> bool {
        self.patterns == other.patterns
    }
}

impl Eq for PatternList {}

impl PatternList {
    /// Parses and compiles a comma-separated list of Java regexes.
    pub fn parse(list: &str) -> Result<Self, InvalidRegex> {
        Self::from_patterns(parse_list(list))
    }

    /// Compiles already split regexes.
    pub fn from_patterns(patterns: Vec<String>) -> Result<Self, InvalidRegex> {
        let regex = if patterns.is_empty() {
            None
        } else {
            // Joined before compiling, as MM2 does: `(a, b)` is `(a|b)`
            // there, and a `\Q` quotes across the commas.
            let joined = patterns.join("|");
            let regex = WholeNameRegex::new(&joined).map_err(|joined_error| {
                // Name the entry at fault when one fails alone.
                patterns
                    .iter()
                    .find_map(|pattern| WholeNameRegex::new(pattern).err())
                    .unwrap_or(joined_error)
            })?;
            Some(regex)
        };
        Ok(Self {
            patterns,
            regex,
            gave_up: Arc::new(AtomicBool::new(false)),
        })
    }

    /// Whether `name` as a whole matches one of the regexes; `false` when
    /// the match gave up (see [`Self::matches_or`]).
    pub fn matches(&self, name: &str) -> bool {
        self.matches_or(name, false)
    }

    /// Whether `name` as a whole matches one of the regexes, `when_gave_up`
    /// when a pathological regex reached the backtrack limit first (a
    /// warning is logged once per list): callers choose the answer that
    /// replicates less.
    pub fn matches_or(&self, name: &str, when_gave_up: bool) -> bool {
        let Some(regex) = &self.regex else {
            return false;
        };
        match regex.matches(name) {
            Ok(matched) => matched,
            Err(error @ GaveUp) => {
                if !self.gave_up.swap(true, Ordering::Relaxed) {
                    warn!(
                        patterns = ?self.patterns,
                        name,
                        matched = when_gave_up,
                        error = %error,
                        "a filter regex gave up on a name"
                    );
                }
                when_gave_up
            }
        }
    }

    /// The regexes as written.
    pub fn patterns(&self) -> &[String] {
        &self.patterns
    }

    /// Whether the list has no regex (and so matches nothing).
    pub fn is_empty(&self) -> bool {
        self.patterns.is_empty()
    }
}

/// `topics` / `topics.exclude`: which topics of the source a flow considers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TopicFilter {
    /// `topics`, default `.*`: everything.
    pub include: PatternList,
    /// `topics.exclude`, default `.*[\-\.]internal, .*\.replica, __.*`:
    /// Connect/MM2 internal topics, legacy MirrorMaker replica topics and
    /// Kafka's own topics. Exclusion wins over inclusion.
    pub exclude: PatternList,
}

impl TopicFilter {
    /// MM2's `topics` default.
    pub const DEFAULT_INCLUDE: &'static str = ".*";
    /// MM2's `topics.exclude` default (`DefaultTopicFilter.TOPICS_EXCLUDE_DEFAULT`).
    pub const DEFAULT_EXCLUDE: &'static str = r".*[\-\.]internal, .*\.replica, __.*";

    /// A filter from the two comma-separated regex lists.
    pub fn new(include: &str, exclude: &str) -> Result<Self, InvalidRegex> {
        Ok(Self {
            include: PatternList::parse(include)?,
            exclude: PatternList::parse(exclude)?,
        })
    }

    /// The name-based part of topic selection (`DefaultTopicFilter`).
    pub fn should_replicate_topic(&self, topic: &str) -> bool {
        self.include.matches(topic) && !self.exclude.matches_or(topic, true)
    }
}

impl Default for TopicFilter {
    fn default() -> Self {
        Self::new(Self::DEFAULT_INCLUDE, Self::DEFAULT_EXCLUDE)
            .expect("MM2's default topic filter compiles")
    }
}

/// `groups` / `groups.exclude`: which consumer groups' offsets a flow checkpoints.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GroupFilter {
    /// `groups`, default `.*`: every group.
    pub include: PatternList,
    /// `groups.exclude`, default `console-consumer-.*, connect-.*, __.*`: the
    /// console consumer's throw-away groups, Kafka Connect's own groups and
    /// internal ones. Exclusion wins over inclusion.
    pub exclude: PatternList,
}

impl GroupFilter {
    /// MM2's `groups` default.
    pub const DEFAULT_INCLUDE: &'static str = ".*";
    /// MM2's `groups.exclude` default (`DefaultGroupFilter.GROUPS_EXCLUDE_DEFAULT`).
    pub const DEFAULT_EXCLUDE: &'static str = "console-consumer-.*, connect-.*, __.*";

    /// A filter from the two comma-separated regex lists.
    pub fn new(include: &str, exclude: &str) -> Result<Self, InvalidRegex> {
        Ok(Self {
            include: PatternList::parse(include)?,
            exclude: PatternList::parse(exclude)?,
        })
    }

    /// Whether the group's offsets are checkpointed (`DefaultGroupFilter`).
    pub fn should_replicate_group(&self, group: &str) -> bool {
        self.include.matches(group) && !self.exclude.matches_or(group, true)
    }
}

impl Default for GroupFilter {
    fn default() -> Self {
        Self::new(Self::DEFAULT_INCLUDE, Self::DEFAULT_EXCLUDE)
            .expect("MM2's default group filter compiles")
    }
}

/// `config.properties.exclude`: topic configs never copied to remote topics.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigPropertyFilter {
    /// `config.properties.exclude`, default (`DefaultConfigPropertyFilter`):
    /// replication throttles, timestamp settings, unclean leader election and
    /// `min.insync.replicas`, which describe the source cluster's hardware and
    /// policies rather than the data, and could break the target's.
    pub exclude: PatternList,
    /// `use.defaults.from`, default `target`: where a config the source
    /// topic leaves at its default takes its value from on the remote topic.
    pub use_defaults_from: DefaultsFrom,
}

/// `use.defaults.from` (`DefaultConfigPropertyFilter`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum DefaultsFrom {
    /// Only configs set on the source (not at Kafka's default) are copied;
    /// one the source resets to its default is removed from the remote
    /// topic, which then follows the target's default.
    #[default]
    Target,
    /// Every config is copied, defaults included.
    Source,
}

impl ConfigPropertyFilter {
    /// MM2's `config.properties.exclude` default
    /// (`DefaultConfigPropertyFilter.CONFIG_PROPERTIES_EXCLUDE_DEFAULT`).
    pub const DEFAULT_EXCLUDE: &'static str = r"follower\.replication\.throttled\.replicas, leader\.replication\.throttled\.replicas, message\.timestamp\.difference\.max\.ms, message\.timestamp\.type, unclean\.leader\.election\.enable, min\.insync\.replicas";

    /// A filter from a comma-separated regex list.
    pub fn new(exclude: &str) -> Result<Self, InvalidRegex> {
        Ok(Self {
            exclude: PatternList::parse(exclude)?,
            use_defaults_from: DefaultsFrom::default(),
        })
    }

    /// Whether the topic config `name` is copied to the remote topic.
    pub fn should_replicate_config(&self, name: &str) -> bool {
        !self.exclude.matches_or(name, true)
    }

    /// Whether a config at its default on the source is copied as its value
    /// (`use.defaults.from = source`) rather than left to the target's
    /// default.
    pub fn should_replicate_source_default(&self) -> bool {
        self.use_defaults_from == DefaultsFrom::Source
    }
}

impl Default for ConfigPropertyFilter {
    fn default() -> Self {
        Self::new(Self::DEFAULT_EXCLUDE).expect("MM2's default config property filter compiles")
    }
}

/// Whether `flow` replicates the source topic `topic`
/// (`MirrorSourceConnector.shouldReplicateTopic`): it passes the topic filter,
/// or is a heartbeats topic while `heartbeats.replication.enabled`, or is the
/// local canary topic of `kmirror verify` ([`crate::policy::CANARY_TOPIC`]);
/// it is not internal; and its upstream chain does not contain the flow's
/// target.
pub fn should_replicate_topic(topic: &str, flow: &FlowConfig) -> bool {
    let policy = &flow.policy;
    (flow.topics.should_replicate_topic(topic)
        || (flow.heartbeats_replication_enabled && policy.is_heartbeats_topic(topic))
        || is_replicated_canary(topic, flow))
        && !policy.is_internal_topic(topic)
        && !policy.would_cycle(topic, flow.target.as_str())
}

/// The local canary topic, under a policy that renames remote topics.
fn is_replicated_canary(topic: &str, flow: &FlowConfig) -> bool {
    topic == crate::policy::CANARY_TOPIC && flow.remote_topic(topic) != topic
}

/// Whether `flow` checkpoints the consumer group `group`.
pub fn should_replicate_group(group: &str, flow: &FlowConfig) -> bool {
    flow.groups.should_replicate_group(group)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::mm2::{ClusterAlias, FlowConfig};
    use crate::policy::ReplicationPolicy;

    fn flow(source: &str, target: &str) -> FlowConfig {
        FlowConfig::with_defaults(ClusterAlias::new(source), ClusterAlias::new(target))
    }

    #[test]
    fn list_parsing_follows_configdef() {
        assert_eq!(parse_list(""), Vec::<String>::new());
        assert_eq!(parse_list("   "), Vec::<String>::new());
        assert_eq!(parse_list(" a , b,c "), ["a", "b", "c"]);
        assert_eq!(parse_list("a,,b"), ["a", "", "b"]);
        assert_eq!(parse_list("a,"), ["a", ""]);
    }

    #[test]
    fn the_canary_topic_is_replicated_whatever_the_topic_list() {
        let mut a_to_b = flow("kafka-a", "kafka-b");
        a_to_b.topics = TopicFilter::new("payment-events", TopicFilter::DEFAULT_EXCLUDE).unwrap();
        assert!(should_replicate_topic("kmirror-canary", &a_to_b));
        assert!(!should_replicate_topic("kafka-b.kmirror-canary", &a_to_b));
        assert!(!should_replicate_topic("other", &a_to_b));
    }

    #[test]
    fn whole_name_matching() {
        let list = PatternList::parse("payment-events, user-.*").unwrap();
        assert!(list.matches("payment-events"));
        assert!(list.matches("user-actions"));
        assert!(!list.matches("payment-events-2"));
        assert!(!list.matches("xpayment-events"));
        assert!(!list.matches("a-user-actions"));
        // `.` is a regex metacharacter, as in MM2.
        assert!(PatternList::parse("a.b").unwrap().matches("a-b"));
    }

    #[test]
    fn alternation_inside_an_entry_stays_anchored() {
        let list = PatternList::parse("a|b").unwrap();
        assert!(list.matches("a"));
        assert!(list.matches("b"));
        assert!(!list.matches("ab"));
    }

    #[test]
    fn empty_list_matches_nothing() {
        let list = PatternList::parse("").unwrap();
        assert!(list.is_empty());
        assert!(!list.matches(""));
        assert!(!list.matches("anything"));
        let filter = TopicFilter::new("", "").unwrap();
        assert!(!filter.should_replicate_topic("payment-events"));
        let filter = TopicFilter::new(".*", "").unwrap();
        assert!(filter.should_replicate_topic("x.internal"));
    }

    #[test]
    fn default_topic_filter() {
        let filter = TopicFilter::default();
        assert!(filter.should_replicate_topic("payment-events"));
        assert!(filter.should_replicate_topic("kafka-a.payment-events"));
        assert!(filter.should_replicate_topic("heartbeats"));
        for excluded in [
            "connect-offsets-internal",
            "mm2-offset-syncs.kafka-b.internal",
            "orders.replica",
            "__consumer_offsets",
            "__anything",
        ] {
            assert!(!filter.should_replicate_topic(excluded), "{excluded}");
        }
    }

    #[test]
    fn default_group_filter() {
        let filter = GroupFilter::default();
        assert!(filter.should_replicate_group("billing"));
        assert!(!filter.should_replicate_group("console-consumer-123"));
        assert!(!filter.should_replicate_group("connect-mm2"));
        assert!(!filter.should_replicate_group("__share"));
    }

    #[test]
    fn default_config_property_filter() {
        let filter = ConfigPropertyFilter::default();
        for excluded in [
            "follower.replication.throttled.replicas",
            "leader.replication.throttled.replicas",
            "message.timestamp.difference.max.ms",
            "message.timestamp.type",
            "unclean.leader.election.enable",
            "min.insync.replicas",
        ] {
            assert!(!filter.should_replicate_config(excluded), "{excluded}");
        }
        for kept in [
            "retention.ms",
            "cleanup.policy",
            "max.message.bytes",
            "min.insync.replicasX",
        ] {
            assert!(filter.should_replicate_config(kept), "{kept}");
        }
        let custom = ConfigPropertyFilter::new("retention\\..*").unwrap();
        assert!(!custom.should_replicate_config("retention.ms"));
        assert!(custom.should_replicate_config("min.insync.replicas"));
    }

    #[test]
    fn java_lookaround_and_backreferences_filter_topics() {
        let filter = TopicFilter::new(r"(?!internal\.).*", "").unwrap();
        assert!(filter.should_replicate_topic("orders"));
        assert!(!filter.should_replicate_topic("internal.audit"));
        let filter = TopicFilter::new(r".*(?<!\.tmp)", "").unwrap();
        assert!(filter.should_replicate_topic("orders"));
        assert!(!filter.should_replicate_topic("orders.tmp"));
        let filter = TopicFilter::new(".*", r"(\w+)\.\1").unwrap();
        assert!(filter.should_replicate_topic("eu.us"));
        assert!(!filter.should_replicate_topic("eu.eu"));
        let groups = GroupFilter::new(r"(?=billing-).*, audit", "").unwrap();
        assert!(groups.should_replicate_group("billing-eu"));
        assert!(groups.should_replicate_group("audit"));
        assert!(!groups.should_replicate_group("auditors"));
    }

    #[test]
    fn the_list_is_joined_before_compiling_as_in_mm2() {
        // MM2 compiles `(a|b)` from the two entries `(a` and `b)`.
        let list = PatternList::parse("(a, b)").unwrap();
        assert!(list.matches("a"));
        assert!(list.matches("b"));
        assert!(!list.matches("ab"));
        // A backreference in the second entry refers to the first entry's
        // group, which did not take part: no match, as in Java.
        let list = PatternList::parse(r"(a)\1, (b)\1").unwrap();
        assert!(list.matches("aa"));
        assert!(!list.matches("bb"));
    }

    #[test]
    fn an_error_names_the_entry_at_fault() {
        let error = PatternList::parse("ok, bad(, fine").unwrap_err();
        assert_eq!(error.regex, "bad(");
        assert!(!error.reason.contains('\n'), "{}", error.reason);
        assert_eq!(
            error.to_string(),
            "invalid regex \"bad(\": opening parenthesis without closing parenthesis"
        );
        let error = PatternList::parse(r"ok, \p{javaLowerCase}.*").unwrap_err();
        assert_eq!(error.regex, r"\p{javaLowerCase}.*");
        assert!(error.reason.contains("Java-only"), "{}", error.reason);
        // Unbalanced across entries and alone: the whole list is named.
        let error = PatternList::parse("(a, (b").unwrap_err();
        assert_eq!(error.regex, "(a");
    }

    #[test]
    fn a_regex_that_gives_up_replicates_less() {
        let pathological = r"(a*)*\1b";
        let long = "a".repeat(60);
        let include = TopicFilter::new(pathological, "").unwrap();
        assert!(!include.should_replicate_topic(&long));
        let exclude = TopicFilter::new(".*", pathological).unwrap();
        assert!(!exclude.should_replicate_topic(&long));
        assert!(exclude.should_replicate_topic("orders"));
        let configs = ConfigPropertyFilter::new(pathological).unwrap();
        assert!(!configs.should_replicate_config(&long));
    }

    #[test]
    fn escaped_or_in_class_characters_keep_their_meaning() {
        assert!(PatternList::parse("a\\*+").unwrap().matches("a**"));
        assert!(PatternList::parse("[+]+").unwrap().matches("++"));
        assert!(PatternList::parse("café.*|ü").unwrap().matches("cafés"));
    }

    #[test]
    fn topic_selection_for_a_flow() {
        let mut a_to_b = flow("kafka-a", "kafka-b");
        a_to_b.topics =
            TopicFilter::new("payment-events, user-actions", TopicFilter::DEFAULT_EXCLUDE).unwrap();
        assert!(should_replicate_topic("payment-events", &a_to_b));
        assert!(should_replicate_topic("user-actions", &a_to_b));
        assert!(!should_replicate_topic("orders", &a_to_b));
        // Heartbeats go even though the filter does not list them...
        assert!(should_replicate_topic("heartbeats", &a_to_b));
        assert!(should_replicate_topic("kafka-c.heartbeats", &a_to_b));
        // ...but never back to a cluster on their chain.
        assert!(!should_replicate_topic("kafka-b.heartbeats", &a_to_b));
        // Remote topics that came from the target are a cycle.
        a_to_b.topics = TopicFilter::default();
        assert!(!should_replicate_topic("kafka-b.payment-events", &a_to_b));
        assert!(should_replicate_topic("kafka-c.payment-events", &a_to_b));
        // Internal topics never, whatever the filter says.
        a_to_b.topics = TopicFilter::new(".*", "").unwrap();
        assert!(!should_replicate_topic("__consumer_offsets", &a_to_b));
        assert!(!should_replicate_topic(
            "kafka-a.checkpoints.internal",
            &a_to_b
        ));
        assert!(!should_replicate_topic(
            "mm2-offset-syncs.kafka-b.internal",
            &a_to_b
        ));
        assert!(!should_replicate_topic(".hidden", &a_to_b));

        a_to_b.topics = TopicFilter::new("payment-events", "").unwrap();
        a_to_b.heartbeats_replication_enabled = false;
        assert!(!should_replicate_topic("heartbeats", &a_to_b));
    }

    #[test]
    fn bidirectional_pair_never_produces_double_prefixes() {
        let a_to_b = flow("kafka-a", "kafka-b");
        let b_to_a = flow("kafka-b", "kafka-a");
        let policy = ReplicationPolicy::default();
        // Topics on each cluster after replication has run in both directions.
        let on_a = [
            "payment-events",
            "heartbeats",
            "kafka-b.payment-events",
            "kafka-b.heartbeats",
        ];
        let on_b = [
            "payment-events",
            "heartbeats",
            "kafka-a.payment-events",
            "kafka-a.heartbeats",
        ];
        let produced_on_b: Vec<String> = on_a
            .iter()
            .filter(|topic| should_replicate_topic(topic, &a_to_b))
            .map(|topic| policy.format_remote_topic("kafka-a", topic))
            .collect();
        let produced_on_a: Vec<String> = on_b
            .iter()
            .filter(|topic| should_replicate_topic(topic, &b_to_a))
            .map(|topic| policy.format_remote_topic("kafka-b", topic))
            .collect();
        assert_eq!(
            produced_on_b,
            ["kafka-a.payment-events", "kafka-a.heartbeats"]
        );
        assert_eq!(
            produced_on_a,
            ["kafka-b.payment-events", "kafka-b.heartbeats"]
        );
    }

    #[test]
    fn three_cluster_ring_never_loops() {
        // a -> b -> c -> a, default policy: follow every topic round the ring.
        let ring = [("a", "b"), ("b", "c"), ("c", "a")];
        let policy = ReplicationPolicy::default();
        let mut topics: Vec<(usize, String)> =
            vec![(0, "t".to_owned()), (0, "heartbeats".to_owned())];
        let mut produced = Vec::new();
        while let Some((cluster, topic)) = topics.pop() {
            let (source, target) = ring[cluster];
            let flow = flow(source, target);
            if should_replicate_topic(&topic, &flow) {
                let remote = policy.format_remote_topic(source, &topic);
                produced.push(format!("{target}:{remote}"));
                topics.push(((cluster + 1) % ring.len(), remote));
            }
        }
        produced.sort();
        assert_eq!(
            produced,
            ["b:a.heartbeats", "b:a.t", "c:b.a.heartbeats", "c:b.a.t"]
        );
    }
}
