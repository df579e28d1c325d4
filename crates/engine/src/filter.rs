//! Which topics, groups and topic configs a flow replicates: MM2's
//! `DefaultTopicFilter`, `DefaultGroupFilter`, `DefaultConfigPropertyFilter`
//! and `MirrorSourceConnector.shouldReplicateTopic`. Pure; no I/O.
//!
//! A filter setting is a comma-separated list of Java regexes (Kafka's
//! `ConfigDef` `LIST`: trimmed, split at commas with surrounding blanks). MM2
//! joins the list with `|` and requires the *whole* name to match (Java
//! `Matcher.matches`), so kmirror compiles `\A(?:re1|re2|...)\z`. An empty list
//! matches nothing. Java-only syntax the Rust `regex` crate lacks (lookaround,
//! backreferences, possessive quantifiers, atomic groups, `\Q...\E`) is
//! rejected with an error naming the regex.
//!
//! ```
//! use kmirror_engine::filter::TopicFilter;
//!
//! let filter = TopicFilter::new("payment-.*, user-actions", TopicFilter::DEFAULT_EXCLUDE).unwrap();
//! assert!(filter.should_replicate_topic("payment-events"));
//! assert!(!filter.should_replicate_topic("my-payment-events")); // whole name must match
//! assert!(!filter.should_replicate_topic("payment-events.replica")); // default exclusion
//! ```

use std::fmt;

use regex::Regex;

use crate::config::mm2::FlowConfig;

/// A regex in a filter list cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid regex \"{regex}\": {reason}")]
pub struct InvalidRegex {
    /// The regex as written in the list (trimmed).
    pub regex: String,
    /// Why it was rejected, one line.
    pub reason: String,
}

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
    regex: Option<Regex>,
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
        if patterns.is_empty() {
            return Ok(Self {
                patterns,
                regex: None,
            });
        }
        // Each alone first, so that an error names the culprit.
        for pattern in &patterns {
            compile_anchored(pattern)?;
        }
        let regex = compile_anchored(&patterns.join("|"))?;
        Ok(Self {
            patterns,
            regex: Some(regex),
        })
    }

    /// Whether `name` as a whole matches one of the regexes.
    pub fn matches(&self, name: &str) -> bool {
        self.regex
            .as_ref()
            .is_some_and(|regex| regex.is_match(name))
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

fn compile_anchored(pattern: &str) -> Result<Regex, InvalidRegex> {
    if let Some(feature) = java_only_feature(pattern) {
        return Err(InvalidRegex {
            regex: pattern.to_owned(),
            reason: format!(
                "uses Java-only regex syntax ({feature}) that kmirror does not support"
            ),
        });
    }
    Regex::new(&format!(r"\A(?:{pattern})\z")).map_err(|error| InvalidRegex {
        regex: pattern.to_owned(),
        reason: one_line_reason(&error),
    })
}

/// Names Java regex syntax that the `regex` crate rejects or reads otherwise,
/// for a clearer error than the crate's.
fn java_only_feature(pattern: &str) -> Option<&'static str> {
    const MARKERS: &[(&str, &str)] = &[
        ("(?=", "lookahead"),
        ("(?!", "negative lookahead"),
        ("(?<=", "lookbehind"),
        ("(?<!", "negative lookbehind"),
        ("(?>", "atomic group"),
        ("\\Q", "\\Q...\\E quoting"),
        ("*+", "possessive quantifier"),
        ("++", "possessive quantifier"),
        ("?+", "possessive quantifier"),
        ("}+", "possessive quantifier"),
    ];
    // Skip escaped characters so that `\*+` (a literal star, one or more) or
    // `[+]+` inside a class are not mistaken for possessive quantifiers.
    let bytes = pattern.as_bytes();
    let mut index = 0;
    let mut in_class = false;
    while index < bytes.len() {
        match bytes[index] {
            b'\\' => {
                if let Some(&next) = bytes.get(index + 1) {
                    if next == b'Q' {
                        return Some("\\Q...\\E quoting");
                    }
                    if next.is_ascii_digit() && next != b'0' && !in_class {
                        return Some("backreference");
                    }
                    if next == b'k' && bytes.get(index + 2) == Some(&b'<') {
                        return Some("named backreference");
                    }
                }
                index += 2;
                continue;
            }
            b'[' => in_class = true,
            b']' => in_class = false,
            _ if !in_class => {
                for (marker, feature) in MARKERS {
                    // Bytes, not `&pattern[index..]`: `index` may sit inside
                    // a multi-byte character (`café`).
                    if bytes[index..].starts_with(marker.as_bytes()) {
                        return Some(feature);
                    }
                }
            }
            _ => {}
        }
        index += 1;
    }
    None
}

fn one_line_reason(error: &regex::Error) -> String {
    let text = error.to_string();
    text.lines()
        .rev()
        .find_map(|line| line.trim().strip_prefix("error: "))
        .map(str::to_owned)
        .unwrap_or_else(|| text.lines().last().unwrap_or_default().trim().to_owned())
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
        self.include.matches(topic) && !self.exclude.matches(topic)
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
        self.include.matches(group) && !self.exclude.matches(group)
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
        !self.exclude.matches(name)
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
    fn non_ascii_patterns_do_not_panic() {
        assert!(java_only_feature("café(?=x)").is_some());
        assert!(java_only_feature("café.*|ü").is_none());
    }

    #[test]
    fn java_only_syntax_is_named() {
        for (regex, feature) in [
            ("foo(?=bar)", "lookahead"),
            ("(?!internal).*", "negative lookahead"),
            ("(?<=a)b", "lookbehind"),
            ("a*+", "possessive"),
            ("(?>ab)", "atomic"),
            ("(a)\\1", "backreference"),
            ("\\Qa.b\\E", "quoting"),
        ] {
            let error = PatternList::parse(&format!("ok, {regex}")).unwrap_err();
            assert_eq!(error.regex, regex);
            assert!(error.reason.contains(feature), "{regex}: {}", error.reason);
            assert!(
                error.to_string().contains(&format!("\"{regex}\"")),
                "{error}"
            );
        }
        // Escaped or in-class characters are not mistaken for those.
        assert!(PatternList::parse("a\\*+").unwrap().matches("a**"));
        assert!(PatternList::parse("[+]+").unwrap().matches("++"));
    }

    #[test]
    fn invalid_regex_reason_is_one_line() {
        let error = PatternList::parse("good, bad(").unwrap_err();
        assert_eq!(error.regex, "bad(");
        assert!(!error.reason.contains('\n'), "{}", error.reason);
        assert!(error.reason.contains("unclosed group"), "{}", error.reason);
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
