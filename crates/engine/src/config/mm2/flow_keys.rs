//! MM2's connector-level keys in one table: each key's name, legacy aliases,
//! MM2's default, how its value is parsed, whether kmirror honours it, and a
//! line of documentation. A key is set at the top level or per flow as
//! `<source>-><target>.<key>`.
//!
//! Everything else reads keys from here: unknown-key detection and "did you
//! mean" (`config::keys`), the typing of each flow's settings
//! (`flow_settings.rs` through [`flow_value`]), [`FlowConfig::with_defaults`]
//! and the README's key table ([`flow_key_table_markdown`]), so that a
//! default is written once.
//!
//! Defaults and types are those of Apache Kafka's `MirrorConnectorConfig`,
//! `MirrorSourceConfig`, `MirrorCheckpointConfig`, `MirrorHeartbeatConfig`,
//! `MirrorClientConfig`, `DefaultTopicFilter`, `DefaultGroupFilter`,
//! `DefaultConfigPropertyFilter`, Connect's `ConnectorConfig` and
//! `SourceConnectorConfig` (Kafka 4.x), and `MirrorMakerConfig` for
//! `enabled` (dedicated mode puts `enabled=false` when it is absent). When
//! kmirror starts honouring a key, change its row's support.
//!
//! [`FlowConfig::with_defaults`]: super::FlowConfig::with_defaults

use std::fmt;

use super::exactly_once::{boundary_value, BOUNDARY_VALUES};
use super::values::{
    bool_value, defaults_from_value, long_value, non_empty_value, offset_lag_value,
    offset_syncs_location_value, one_of_value, policy_class_value, regex_list_value,
    replication_factor_value, task_count_value, topic_replication_factor_value, PolicyClass,
};
use super::{OffsetSyncsTopicLocation, Setting};
use crate::config::error::{ConfigError, ConfigErrorKind};
use crate::config::keys::Support;
use crate::filter::{ConfigPropertyFilter, DefaultsFrom, GroupFilter, PatternList, TopicFilter};
use crate::policy::{DEFAULT_POLICY_CLASS, DEFAULT_SEPARATOR};
use Parser::{
    Bool, Class, List, Millis, NonEmpty, OffsetLag, OneOf, RegexList, ReplicationFactor, Seconds,
    TaskCount, Text, TopicReplicationFactor,
};

/// The values of `use.defaults.from`.
pub(super) const DEFAULTS_FROM_VALUES: &str = "target, source";
/// The values of `offset-syncs.topic.location`.
pub(super) const OFFSET_SYNCS_LOCATION_VALUES: &str = "source, target";

/// How a key's value is parsed: Kafka's `ConfigDef` type with the range MM2
/// (or kmirror, where MM2 would run with nonsense) accepts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Parser {
    /// `true` or `false`, in any case.
    Bool,
    /// An `int` replication factor: -1 (the broker's default) or at least 1.
    ReplicationFactor,
    /// A `short` replication factor of an internal topic: -1 or at least 1.
    TopicReplicationFactor,
    /// An `int`, at least 1.
    TaskCount,
    /// A `long` number of seconds; negative turns the job off, 0 is refused
    /// while the job is enabled.
    Seconds,
    /// A `long`, 0 or more.
    OffsetLag,
    /// A `long` number of milliseconds.
    Millis,
    /// A comma-separated list of Java regexes, each matched against a whole name.
    RegexList,
    /// `DefaultReplicationPolicy` or `IdentityReplicationPolicy`, by full or
    /// simple class name.
    PolicyClass,
    /// A string that must not be empty.
    NonEmpty,
    /// One of the comma-separated values.
    OneOf(&'static str),
    /// A Java class name.
    Class,
    /// A comma-separated list of names or class names.
    List,
    /// Any string.
    Text,
}

impl Parser {
    /// Checks `text` as this parser would type it.
    pub(crate) fn check(self, text: &str) -> Result<(), ConfigErrorKind> {
        match self {
            Parser::Bool => bool_value(text).map(drop),
            Parser::ReplicationFactor => replication_factor_value(text).map(drop),
            Parser::TopicReplicationFactor => topic_replication_factor_value(text).map(drop),
            Parser::TaskCount => task_count_value(text).map(drop),
            Parser::Seconds | Parser::Millis => long_value(text).map(drop),
            Parser::OffsetLag => offset_lag_value(text).map(drop),
            Parser::RegexList => regex_list_value(text).map(drop),
            Parser::PolicyClass => policy_class_value(text).map(drop),
            Parser::NonEmpty | Parser::Class => non_empty_value(text).map(drop),
            Parser::OneOf(allowed) => one_of_value(text, allowed).map(drop),
            Parser::List | Parser::Text => Ok(()),
        }
    }
}

impl fmt::Display for Parser {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Parser::Bool => f.write_str("boolean"),
            Parser::ReplicationFactor | Parser::TopicReplicationFactor => {
                f.write_str("replication factor (-1: the broker's)")
            }
            Parser::TaskCount => f.write_str("integer ≥ 1"),
            Parser::Seconds => f.write_str("seconds (negative: off)"),
            Parser::OffsetLag => f.write_str("integer ≥ 0"),
            Parser::Millis => f.write_str("milliseconds"),
            Parser::RegexList => f.write_str("regex list"),
            Parser::PolicyClass => f.write_str("policy class"),
            Parser::NonEmpty => f.write_str("non-empty string"),
            Parser::OneOf(allowed) => write!(f, "one of {allowed}"),
            Parser::Class => f.write_str("class"),
            Parser::List => f.write_str("list"),
            Parser::Text => f.write_str("string"),
        }
    }
}

/// One connector-level key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct FlowKey {
    /// The name MM2 documents.
    pub(crate) name: &'static str,
    /// Deprecated names MM2 still takes when `name` is set nowhere (Kafka's
    /// `ConfigUtils.translateDeprecatedConfigs`).
    pub(crate) aliases: &'static [&'static str],
    /// MM2's default as MM2 writes it; `None` when there is none.
    pub(crate) default: Option<&'static str>,
    /// How a value is parsed.
    pub(crate) parser: Parser,
    /// Whether kmirror acts on it.
    pub(crate) support: Support,
    /// What it does, one line.
    pub(crate) doc: &'static str,
}

impl FlowKey {
    const fn honoured(
        name: &'static str,
        parser: Parser,
        default: &'static str,
        doc: &'static str,
    ) -> Self {
        Self {
            name,
            aliases: &[],
            default: Some(default),
            parser,
            support: Support::Honoured,
            doc,
        }
    }

    const fn not_honoured(
        name: &'static str,
        parser: Parser,
        default: Option<&'static str>,
        doc: &'static str,
    ) -> Self {
        Self {
            name,
            aliases: &[],
            default,
            parser,
            support: Support::NotHonoured,
            doc,
        }
    }

    const fn alias(self, aliases: &'static [&'static str]) -> Self {
        Self { aliases, ..self }
    }

    /// The name and the aliases.
    pub(crate) fn names(&self) -> impl Iterator<Item = &'static str> {
        std::iter::once(self.name).chain(self.aliases.iter().copied())
    }
}

const JMX_REPORTER: &str = "org.apache.kafka.common.metrics.JmxReporter";

/// Every connector-level key MM2 knows, honoured ones first.
pub(crate) const FLOW_KEYS: &[FlowKey] = &[
    FlowKey::honoured(
        "enabled",
        Bool,
        "false",
        "Replicate source->target (MM2 dedicated mode's default is false).",
    ),
    FlowKey::honoured(
        "topics",
        RegexList,
        TopicFilter::DEFAULT_INCLUDE,
        "Topics to replicate, names or regexes.",
    ),
    FlowKey::honoured(
        "topics.exclude",
        RegexList,
        TopicFilter::DEFAULT_EXCLUDE,
        "Topics never replicated; wins over `topics`.",
    )
    .alias(&["topics.blacklist"]),
    FlowKey::honoured(
        "groups",
        RegexList,
        GroupFilter::DEFAULT_INCLUDE,
        "Consumer groups whose offsets are checkpointed, names or regexes.",
    ),
    FlowKey::honoured(
        "groups.exclude",
        RegexList,
        GroupFilter::DEFAULT_EXCLUDE,
        "Consumer groups never checkpointed; wins over `groups`.",
    )
    .alias(&["groups.blacklist"]),
    FlowKey::honoured(
        "config.properties.exclude",
        RegexList,
        ConfigPropertyFilter::DEFAULT_EXCLUDE,
        "Topic configs not copied to remote topics.",
    )
    .alias(&["config.properties.blacklist"]),
    FlowKey::honoured(
        "replication.policy.class",
        Parser::PolicyClass,
        DEFAULT_POLICY_CLASS,
        "How remote topics are named: Default (source alias prefix) or Identity.",
    ),
    FlowKey::honoured(
        "replication.policy.separator",
        NonEmpty,
        DEFAULT_SEPARATOR,
        "Separator between the source alias and the topic name.",
    ),
    FlowKey::honoured(
        "replication.policy.internal.topic.separator.enabled",
        Bool,
        "true",
        "Internal topic names use the separator (false: always `.`, MM2 before 3.1).",
    ),
    FlowKey::honoured(
        "replication.factor",
        ReplicationFactor,
        "2",
        "Replication factor of remote topics.",
    ),
    FlowKey::honoured(
        "heartbeats.topic.replication.factor",
        TopicReplicationFactor,
        "3",
        "Replication factor of the heartbeats topic.",
    ),
    FlowKey::honoured(
        "checkpoints.topic.replication.factor",
        TopicReplicationFactor,
        "3",
        "Replication factor of the checkpoints topic.",
    ),
    FlowKey::honoured(
        "offset-syncs.topic.replication.factor",
        TopicReplicationFactor,
        "3",
        "Replication factor of the offset-syncs topic.",
    ),
    FlowKey::honoured(
        "offset-syncs.topic.location",
        OneOf(OFFSET_SYNCS_LOCATION_VALUES),
        "source",
        "Cluster holding the offset-syncs topic.",
    ),
    FlowKey::honoured(
        "tasks.max",
        TaskCount,
        "1",
        "Fetchers per flow (MM2's tasks).",
    ),
    FlowKey::honoured(
        "refresh.topics.enabled",
        Bool,
        "true",
        "Look for new topics and partitions periodically.",
    ),
    FlowKey::honoured(
        "refresh.topics.interval.seconds",
        Seconds,
        "600",
        "How often to look for new topics and partitions.",
    ),
    FlowKey::honoured(
        "refresh.groups.enabled",
        Bool,
        "true",
        "Look for new consumer groups periodically.",
    ),
    FlowKey::honoured(
        "refresh.groups.interval.seconds",
        Seconds,
        "600",
        "How often to look for new consumer groups.",
    ),
    FlowKey::honoured(
        "emit.heartbeats.enabled",
        Bool,
        "true",
        "Write heartbeats to the target.",
    ),
    FlowKey::honoured(
        "emit.heartbeats.interval.seconds",
        Seconds,
        "1",
        "How often to write a heartbeat.",
    ),
    FlowKey::honoured(
        "emit.checkpoints.enabled",
        Bool,
        "true",
        "Write consumer group checkpoints to the target.",
    ),
    FlowKey::honoured(
        "emit.checkpoints.interval.seconds",
        Seconds,
        "60",
        "How often to write checkpoints.",
    ),
    FlowKey::honoured(
        "sync.group.offsets.enabled",
        Bool,
        "false",
        "Commit translated offsets to the target's idle consumer groups.",
    ),
    FlowKey::honoured(
        "sync.group.offsets.interval.seconds",
        Seconds,
        "60",
        "How often to commit translated group offsets.",
    ),
    FlowKey::honoured(
        "sync.topic.configs.enabled",
        Bool,
        "true",
        "Remote topics follow their source topic's configs.",
    ),
    FlowKey::honoured(
        "sync.topic.configs.interval.seconds",
        Seconds,
        "600",
        "How often to sync topic configs.",
    ),
    FlowKey::honoured(
        "sync.topic.acls.enabled",
        Bool,
        "true",
        "Remote topics get the source topic's literal ALLOW ACLs (WRITE left out).",
    ),
    FlowKey::honoured(
        "sync.topic.acls.interval.seconds",
        Seconds,
        "600",
        "How often to sync topic ACLs.",
    ),
    FlowKey::honoured(
        "heartbeats.replication.enabled",
        Bool,
        "true",
        "Replicate heartbeats topics whatever `topics` says.",
    ),
    FlowKey::honoured(
        "offset.lag.max",
        OffsetLag,
        "100",
        "How far a remote partition may run ahead of its last offset sync.",
    ),
    FlowKey::honoured(
        "emit.offset-syncs.enabled",
        Bool,
        "true",
        "Write offset syncs (checkpoints need them).",
    ),
    FlowKey::honoured(
        "use.defaults.from",
        OneOf(DEFAULTS_FROM_VALUES),
        "target",
        "Whose defaults a synced topic config at its default follows.",
    ),
    // Plug-in classes: kmirror has only the default filters.
    FlowKey::honoured(
        "exactly.once.support",
        OneOf("requested, required"),
        "requested",
        "Whether the connector must deliver exactly once; kmirror can, so `required` is met \
         (with `exactly.once.source.support = enabled`).",
    ),
    FlowKey::honoured(
        "transaction.boundary",
        OneOf(BOUNDARY_VALUES),
        "poll",
        "With exactly-once: `poll` makes a transaction of what one poll fetched (within 1 s), \
         `interval` every `transaction.boundary.interval.ms`; both within 32 MiB. `connector` is \
         refused, as Connect refuses it for MM2.",
    ),
    FlowKey::honoured(
        "transaction.boundary.interval.ms",
        Millis,
        "60000",
        "With `transaction.boundary = interval`: how long a transaction lasts (Connect's default \
         is the worker's `offset.flush.interval.ms`, 60000).",
    ),
    FlowKey::not_honoured(
        "topic.filter.class",
        Class,
        Some("org.apache.kafka.connect.mirror.DefaultTopicFilter"),
        "TopicFilter plug-in (kmirror: `topics`, `topics.exclude`).",
    ),
    FlowKey::not_honoured(
        "group.filter.class",
        Class,
        Some("org.apache.kafka.connect.mirror.DefaultGroupFilter"),
        "GroupFilter plug-in (kmirror: `groups`, `groups.exclude`).",
    ),
    FlowKey::not_honoured(
        "config.property.filter.class",
        Class,
        Some("org.apache.kafka.connect.mirror.DefaultConfigPropertyFilter"),
        "ConfigPropertyFilter plug-in (kmirror: `config.properties.exclude`).",
    ),
    FlowKey::not_honoured(
        "forwarding.admin.class",
        Class,
        Some("org.apache.kafka.clients.admin.ForwardingAdmin"),
        "Admin plug-in that manages remote topics and ACLs.",
    ),
    // Java client and Connect runtime settings.
    FlowKey::not_honoured(
        "consumer.poll.timeout.ms",
        Millis,
        Some("1000"),
        "Poll timeout of MM2's source consumers.",
    ),
    FlowKey::not_honoured(
        "admin.timeout.ms",
        Millis,
        Some("60000"),
        "Timeout of MM2's administrative tasks.",
    ),
    FlowKey::not_honoured(
        "metric.reporters",
        List,
        Some(JMX_REPORTER),
        "Java metrics reporters (kmirror: Prometheus on /metrics).",
    ),
    FlowKey::not_honoured(
        "source.cluster.alias",
        Text,
        None,
        "Source alias of a connector (kmirror reads it in connector JSON).",
    ),
    FlowKey::not_honoured(
        "target.cluster.alias",
        Text,
        Some("target"),
        "Target alias of a connector (kmirror reads it in connector JSON).",
    ),
    FlowKey::not_honoured("name", Text, None, "Connect connector name."),
    FlowKey::not_honoured("connector.class", Class, None, "Connect connector class."),
    FlowKey::not_honoured(
        "tasks.max.enforce",
        Bool,
        Some("true"),
        "Connect fails connectors with more tasks than `tasks.max`.",
    ),
    FlowKey::not_honoured(
        "key.converter",
        Class,
        None,
        "Connect key converter (batches pass through unconverted).",
    ),
    FlowKey::not_honoured(
        "value.converter",
        Class,
        None,
        "Connect value converter (batches pass through unconverted).",
    ),
    FlowKey::not_honoured(
        "header.converter",
        Class,
        None,
        "Connect header converter (batches pass through unconverted).",
    ),
    FlowKey::not_honoured(
        "transforms",
        List,
        Some(""),
        "Connect single message transforms.",
    ),
    FlowKey::not_honoured(
        "predicates",
        List,
        Some(""),
        "Predicates of Connect transforms.",
    ),
    FlowKey::not_honoured(
        "config.action.reload",
        OneOf("none, restart"),
        Some("restart"),
        "What Connect does when a config provider's value changes.",
    ),
    FlowKey::not_honoured(
        "errors.retry.timeout",
        Millis,
        Some("0"),
        "Connect's retry time for failed conversions and transforms.",
    ),
    FlowKey::not_honoured(
        "errors.retry.delay.max.ms",
        Millis,
        Some("60000"),
        "Connect's longest delay between retries.",
    ),
    FlowKey::not_honoured(
        "errors.tolerance",
        OneOf("none, all"),
        Some("none"),
        "Whether Connect skips records that fail conversion.",
    ),
    FlowKey::not_honoured(
        "errors.log.enable",
        Bool,
        Some("false"),
        "Connect logs failed records.",
    ),
    FlowKey::not_honoured(
        "errors.log.include.messages",
        Bool,
        Some("false"),
        "Connect's error log includes the records.",
    ),
    FlowKey::not_honoured(
        "offsets.storage.topic",
        Text,
        None,
        "A connector's own Connect offsets topic.",
    ),
];

/// The row of `key`, by name or alias.
pub(crate) fn find(key: &str) -> Option<&'static FlowKey> {
    FLOW_KEYS
        .iter()
        .find(|row| row.names().any(|name| name == key))
}

/// Every name and alias with `support`, in table order.
pub(crate) fn names_with(support: Support) -> impl Iterator<Item = &'static str> {
    FLOW_KEYS
        .iter()
        .filter(move |row| row.support == support)
        .flat_map(FlowKey::names)
}

/// A parser that types a value as `T`, tied to the table's [`Parser`] so
/// that a key is always read with the parser its row names.
#[derive(Debug)]
pub(crate) struct Typed<T> {
    parser: Parser,
    parse: fn(&str) -> Result<T, ConfigErrorKind>,
}

impl<T> Clone for Typed<T> {
    fn clone(&self) -> Self {
        *self
    }
}

impl<T> Copy for Typed<T> {}

pub(crate) const BOOL: Typed<bool> = Typed {
    parser: Bool,
    parse: bool_value,
};
pub(crate) const REPLICATION_FACTOR: Typed<i32> = Typed {
    parser: ReplicationFactor,
    parse: replication_factor_value,
};
pub(crate) const TOPIC_REPLICATION_FACTOR: Typed<i16> = Typed {
    parser: TopicReplicationFactor,
    parse: topic_replication_factor_value,
};
pub(crate) const TASK_COUNT: Typed<u32> = Typed {
    parser: TaskCount,
    parse: task_count_value,
};
pub(crate) const SECONDS: Typed<i64> = Typed {
    parser: Seconds,
    parse: long_value,
};
pub(crate) const OFFSET_LAG: Typed<i64> = Typed {
    parser: OffsetLag,
    parse: offset_lag_value,
};
pub(crate) const REGEX_LIST: Typed<PatternList> = Typed {
    parser: RegexList,
    parse: regex_list_value,
};
pub(super) const POLICY_CLASS: Typed<PolicyClass> = Typed {
    parser: Parser::PolicyClass,
    parse: policy_class_value,
};
pub(crate) const NON_EMPTY: Typed<String> = Typed {
    parser: NonEmpty,
    parse: non_empty_value,
};
pub(crate) const DEFAULTS_FROM: Typed<DefaultsFrom> = Typed {
    parser: OneOf(DEFAULTS_FROM_VALUES),
    parse: defaults_from_value,
};
pub(super) const TRANSACTION_BOUNDARY: Typed<&'static str> = Typed {
    parser: OneOf(BOUNDARY_VALUES),
    parse: boundary_value,
};
pub(crate) const OFFSET_SYNCS_LOCATION: Typed<OffsetSyncsTopicLocation> = Typed {
    parser: OneOf(OFFSET_SYNCS_LOCATION_VALUES),
    parse: offset_syncs_location_value,
};

impl<T> Typed<T> {
    /// The row named `name` (not an alias). Reading a key that is not in
    /// the table, or with another parser than its row's, is a programming
    /// error that every flow resolution would hit.
    fn row(self, name: &str) -> &'static FlowKey {
        let row = FLOW_KEYS
            .iter()
            .find(|row| row.name == name)
            .unwrap_or_else(|| panic!("{name} is not in the flow key table"));
        assert_eq!(
            row.parser, self.parser,
            "{name} is read with its row's parser"
        );
        row
    }

    /// MM2's default of `name`, typed.
    pub(crate) fn default_of(self, name: &str) -> T {
        let row = self.row(name);
        let text = row
            .default
            .unwrap_or_else(|| panic!("{name} has no default in the flow key table"));
        (self.parse)(text)
            .unwrap_or_else(|kind| panic!("MM2's default of {name} does not parse: {kind}"))
    }
}

/// The value of the flow key `name` for one flow: as `get` finds it under
/// the name, else under an alias (an alias counts only when the name is set
/// nowhere, as Kafka's `ConfigUtils.translateDeprecatedConfigs` on the merged
/// config), else MM2's default.
pub(super) fn flow_value<'a, T>(
    get: &impl Fn(&str) -> Option<Setting<'a>>,
    name: &str,
    typed: Typed<T>,
) -> Result<T, ConfigError> {
    let row = typed.row(name);
    match row.names().find_map(get) {
        None => Ok(typed.default_of(name)),
        Some(setting) => (typed.parse)(setting.value).map_err(|kind| setting.error(kind)),
    }
}

/// The README's table of flow keys, in markdown: one row per key, honoured
/// keys first. `crates/engine/tests/readme_key_table.rs` keeps README.md's
/// copy equal to it.
pub fn flow_key_table_markdown() -> String {
    let mut table = String::from("| key | value | MM2 default | kmirror | what it does |\n");
    table.push_str("|---|---|---|---|---|\n");
    for row in FLOW_KEYS {
        let mut key = format!("`{}`", row.name);
        for alias in row.aliases {
            key.push_str(&format!(" (legacy `{alias}`)"));
        }
        let default = match row.default {
            None => "none".to_owned(),
            Some("") => "empty".to_owned(),
            Some(text) => format!("`{text}`"),
        };
        let support = match row.support {
            Support::Honoured => "honoured",
            Support::NotHonoured => "not honoured",
        };
        let cells = [
            key,
            row.parser.to_string(),
            default,
            support.to_owned(),
            row.doc.to_owned(),
        ];
        let cells: Vec<String> = cells.iter().map(|cell| cell.replace('|', "\\|")).collect();
        table.push_str(&format!("| {} |\n", cells.join(" | ")));
    }
    table
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use super::*;

    #[test]
    fn every_default_parses_with_its_own_parser() {
        for row in FLOW_KEYS {
            if let Some(default) = row.default {
                if let Err(kind) = row.parser.check(default) {
                    panic!("{}: default {default:?}: {kind}", row.name);
                }
            }
        }
    }

    #[test]
    fn honoured_keys_have_a_default() {
        // A flow reads every honoured key, with MM2's default when unset.
        for row in FLOW_KEYS {
            if row.support == Support::Honoured {
                assert!(row.default.is_some(), "{}", row.name);
            }
        }
    }

    #[test]
    fn no_name_is_in_two_rows() {
        let mut seen = BTreeSet::new();
        for name in FLOW_KEYS.iter().flat_map(FlowKey::names) {
            assert!(seen.insert(name), "{name} is in two rows");
        }
        let honoured: BTreeSet<_> = names_with(Support::Honoured).collect();
        let not_honoured: BTreeSet<_> = names_with(Support::NotHonoured).collect();
        assert!(honoured.is_disjoint(&not_honoured));
    }

    #[test]
    fn aliases_find_their_row() {
        let mut aliases = 0;
        for row in FLOW_KEYS {
            for alias in row.aliases {
                assert_eq!(find(alias).map(|found| found.name), Some(row.name));
                assert_ne!(*alias, row.name);
                aliases += 1;
            }
        }
        assert_eq!(find("topics.blacklist").unwrap().name, "topics.exclude");
        assert_eq!(aliases, 3);
    }

    #[test]
    fn honoured_rows_come_first() {
        // "Did you mean" breaks ties by order: honoured keys win.
        let first_not_honoured = FLOW_KEYS
            .iter()
            .position(|row| row.support == Support::NotHonoured)
            .unwrap();
        assert!(FLOW_KEYS[first_not_honoured..]
            .iter()
            .all(|row| row.support == Support::NotHonoured));
    }

    #[test]
    fn the_rendered_table_has_every_key() {
        let table = flow_key_table_markdown();
        let lines: Vec<&str> = table.lines().collect();
        assert_eq!(lines.len(), FLOW_KEYS.len() + 2);
        for row in FLOW_KEYS {
            let line = lines
                .iter()
                .find(|line| line.starts_with(&format!("| `{}` ", row.name)))
                .unwrap_or_else(|| panic!("{} is not in the table", row.name));
            let support = if row.support == Support::Honoured {
                "| honoured |"
            } else {
                "| not honoured |"
            };
            assert!(line.contains(support), "{line}");
        }
        assert!(table.contains(
            "| `topics.exclude` (legacy `topics.blacklist`) | regex list | \
             `.*[\\-\\.]internal, .*\\.replica, __.*` | honoured |"
        ));
    }

    #[test]
    fn parsers_refuse_what_mm2_refuses() {
        assert!(Bool.check("TRUE").is_ok());
        assert!(Bool.check("yes").is_err());
        assert!(ReplicationFactor.check("-1").is_ok());
        assert!(ReplicationFactor.check("0").is_err());
        assert!(TopicReplicationFactor.check("40000").is_err());
        assert!(TaskCount.check("0").is_err());
        assert!(OffsetLag.check("-1").is_err());
        assert!(Seconds.check("-1").is_ok());
        assert!(RegexList.check("(").is_err());
        assert!(Parser::PolicyClass
            .check("IdentityReplicationPolicy")
            .is_ok());
        assert!(Parser::PolicyClass.check("com.example.Mine").is_err());
        assert!(NonEmpty.check(" ").is_err());
        assert!(OneOf("source, target").check("target").is_ok());
        assert!(OneOf("source, target").check("sauce").is_err());
    }

    #[test]
    fn typed_defaults_are_mm2_defaults() {
        assert!(!BOOL.default_of("enabled"));
        assert_eq!(REPLICATION_FACTOR.default_of("replication.factor"), 2);
        assert_eq!(
            TOPIC_REPLICATION_FACTOR.default_of("checkpoints.topic.replication.factor"),
            3
        );
        assert_eq!(TASK_COUNT.default_of("tasks.max"), 1);
        assert_eq!(SECONDS.default_of("emit.checkpoints.interval.seconds"), 60);
        assert_eq!(OFFSET_LAG.default_of("offset.lag.max"), 100);
        assert_eq!(NON_EMPTY.default_of("replication.policy.separator"), ".");
        assert_eq!(
            OFFSET_SYNCS_LOCATION.default_of("offset-syncs.topic.location"),
            OffsetSyncsTopicLocation::Source
        );
        assert_eq!(
            DEFAULTS_FROM.default_of("use.defaults.from"),
            DefaultsFrom::Target
        );
        assert_eq!(
            REGEX_LIST.default_of("topics"),
            PatternList::parse(".*").unwrap()
        );
    }

    #[test]
    #[should_panic(expected = "read with its row's parser")]
    fn reading_with_another_parser_panics() {
        SECONDS.default_of("tasks.max");
    }
}
