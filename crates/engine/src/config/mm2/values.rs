//! Typed values of settings, with MM2's (Kafka `ConfigDef`'s) parsing rules
//! and errors naming the file, line and key.
//!
//! The `*_value` functions type a value's text; the flow key table
//! (`flow_keys`) names them as each key's parser, so that a user's value and
//! MM2's default go through the same rule.

use super::{Periodic, Setting};
use crate::config::error::{ConfigError, ConfigErrorKind};
use crate::filter::{DefaultsFrom, InvalidRegex, PatternList};
use crate::policy::{DEFAULT_POLICY_CLASS, IDENTITY_POLICY_CLASS};

use super::flow_keys::{self, BOOL, SECONDS};
use super::OffsetSyncsTopicLocation;

/// `true` or `false` in any case (Kafka `ConfigDef` BOOLEAN).
pub(super) fn bool_value(text: &str) -> Result<bool, ConfigErrorKind> {
    let value = text.trim();
    if value.eq_ignore_ascii_case("true") {
        Ok(true)
    } else if value.eq_ignore_ascii_case("false") {
        Ok(false)
    } else {
        Err(ConfigErrorKind::BadBoolean {
            value: value.to_owned(),
        })
    }
}

fn number_value<T: std::str::FromStr>(
    text: &str,
    expected: &'static str,
) -> Result<T, ConfigErrorKind> {
    let value = text.trim();
    value.parse().map_err(|_| ConfigErrorKind::NotANumber {
        value: value.to_owned(),
        expected,
    })
}

/// A `long` (Kafka `ConfigDef` LONG).
pub(super) fn long_value(text: &str) -> Result<i64, ConfigErrorKind> {
    number_value(text, "64-bit integer")
}

/// Kafka takes -1 (the broker's default) or a positive replication factor.
fn replication_factor_range(text: &str, value: i64) -> Result<(), ConfigErrorKind> {
    match value {
        -1 | 1.. => Ok(()),
        _ => Err(ConfigErrorKind::OutOfRange {
            value: text.trim().to_owned(),
            reason: "a replication factor must be -1 (the broker default) or at least 1",
        }),
    }
}

/// `replication.factor`: an `int`, -1 or at least 1.
pub(super) fn replication_factor_value(text: &str) -> Result<i32, ConfigErrorKind> {
    let value: i32 = number_value(text, "32-bit integer")?;
    replication_factor_range(text, value.into())?;
    Ok(value)
}

/// An internal topic's replication factor: a `short`, -1 or at least 1.
pub(super) fn topic_replication_factor_value(text: &str) -> Result<i16, ConfigErrorKind> {
    let value: i16 = number_value(text, "16-bit integer")?;
    replication_factor_range(text, value.into())?;
    Ok(value)
}

/// `tasks.max`: an `int`, at least 1.
pub(super) fn task_count_value(text: &str) -> Result<u32, ConfigErrorKind> {
    let value: i32 = number_value(text, "32-bit integer")?;
    match u32::try_from(value) {
        Ok(value) if value >= 1 => Ok(value),
        _ => Err(ConfigErrorKind::OutOfRange {
            value: text.trim().to_owned(),
            reason: "must be at least 1",
        }),
    }
}

/// `offset.lag.max`: a `long`, 0 or more.
pub(super) fn offset_lag_value(text: &str) -> Result<i64, ConfigErrorKind> {
    let value = long_value(text)?;
    if value < 0 {
        // MM2 takes any long and treats a negative one as 0.
        return Err(ConfigErrorKind::OutOfRange {
            value: text.trim().to_owned(),
            reason: "must be 0 or more (0 writes an offset sync for every batch)",
        });
    }
    Ok(value)
}

/// A comma-separated list of Java regexes (Kafka `ConfigDef` LIST).
pub(super) fn regex_list_value(text: &str) -> Result<PatternList, ConfigErrorKind> {
    PatternList::parse(text)
        .map_err(|InvalidRegex { regex, reason }| ConfigErrorKind::InvalidRegex { regex, reason })
}

/// The replication policies kmirror implements.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum PolicyClass {
    Default,
    Identity,
}

/// `replication.policy.class`, by full or simple class name.
pub(super) fn policy_class_value(text: &str) -> Result<PolicyClass, ConfigErrorKind> {
    match text.trim() {
        DEFAULT_POLICY_CLASS | "DefaultReplicationPolicy" => Ok(PolicyClass::Default),
        IDENTITY_POLICY_CLASS | "IdentityReplicationPolicy" => Ok(PolicyClass::Identity),
        other => Err(ConfigErrorKind::UnsupportedReplicationPolicy {
            class: other.to_owned(),
        }),
    }
}

/// A string that must not be empty (Kafka `ConfigDef` STRING, trimmed).
pub(super) fn non_empty_value(text: &str) -> Result<String, ConfigErrorKind> {
    let value = text.trim();
    if value.is_empty() {
        return Err(ConfigErrorKind::Empty);
    }
    Ok(value.to_owned())
}

/// One of `allowed` (`"a, b"`), as `ConfigDef.ValidString.in`.
pub(super) fn one_of_value<'t>(
    text: &'t str,
    allowed: &'static str,
) -> Result<&'t str, ConfigErrorKind> {
    let value = text.trim();
    if allowed.split(", ").any(|candidate| candidate == value) {
        Ok(value)
    } else {
        Err(ConfigErrorKind::NotOneOf {
            value: value.to_owned(),
            allowed,
        })
    }
}

/// `use.defaults.from`.
pub(super) fn defaults_from_value(text: &str) -> Result<DefaultsFrom, ConfigErrorKind> {
    match one_of_value(text, flow_keys::DEFAULTS_FROM_VALUES)? {
        "source" => Ok(DefaultsFrom::Source),
        _ => Ok(DefaultsFrom::Target),
    }
}

/// `offset-syncs.topic.location`.
pub(super) fn offset_syncs_location_value(
    text: &str,
) -> Result<OffsetSyncsTopicLocation, ConfigErrorKind> {
    match one_of_value(text, flow_keys::OFFSET_SYNCS_LOCATION_VALUES)? {
        "target" => Ok(OffsetSyncsTopicLocation::Target),
        _ => Ok(OffsetSyncsTopicLocation::Source),
    }
}

/// `<job>.enabled` and `<job>.interval.seconds`, defaults from the key table.
pub(super) fn periodic<'a>(
    get: &impl Fn(&str) -> Option<Setting<'a>>,
    job: &str,
) -> Result<Periodic, ConfigError> {
    let enabled_key = format!("{job}.enabled");
    let interval_key = format!("{job}.interval.seconds");
    let enabled = flow_keys::flow_value(get, &enabled_key, BOOL)?;
    let interval_seconds = flow_keys::flow_value(get, &interval_key, SECONDS)?;
    if enabled && interval_seconds == 0 {
        let setting = get(&interval_key).expect("the default is not zero");
        return Err(setting.error(ConfigErrorKind::OutOfRange {
            value: setting.value.trim().to_owned(),
            reason: "an interval must be positive (a negative one disables the job, as in MM2)",
        }));
    }
    Ok(Periodic {
        enabled,
        interval_seconds,
    })
}

/// MM2's defaults of a periodic job, from the key table.
pub(super) fn periodic_default(job: &str) -> Periodic {
    Periodic {
        enabled: BOOL.default_of(&format!("{job}.enabled")),
        interval_seconds: SECONDS.default_of(&format!("{job}.interval.seconds")),
    }
}
