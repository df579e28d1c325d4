//! Typed values of settings, with MM2's (Kafka `ConfigDef`'s) parsing rules
//! and errors naming the file, line and key.

use super::{Periodic, Setting};
use crate::config::error::{ConfigError, ConfigErrorKind};
use crate::filter::InvalidRegex;

pub(super) fn parse_bool(setting: Option<Setting<'_>>, default: bool) -> Result<bool, ConfigError> {
    let Some(setting) = setting else {
        return Ok(default);
    };
    let value = setting.value.trim();
    if value.eq_ignore_ascii_case("true") {
        Ok(true)
    } else if value.eq_ignore_ascii_case("false") {
        Ok(false)
    } else {
        Err(setting.error(ConfigErrorKind::BadBoolean {
            value: value.to_owned(),
        }))
    }
}

pub(super) fn parse_number<T: std::str::FromStr>(
    setting: Option<Setting<'_>>,
    default: T,
    expected: &'static str,
) -> Result<T, ConfigError> {
    let Some(setting) = setting else {
        return Ok(default);
    };
    let value = setting.value.trim();
    value.parse().map_err(|_| {
        setting.error(ConfigErrorKind::NotANumber {
            value: value.to_owned(),
            expected,
        })
    })
}

pub(super) fn parse_i16(setting: Option<Setting<'_>>, default: i16) -> Result<i16, ConfigError> {
    parse_number(setting, default, "16-bit integer")
}

pub(super) fn parse_i32(setting: Option<Setting<'_>>, default: i32) -> Result<i32, ConfigError> {
    parse_number(setting, default, "32-bit integer")
}

pub(super) fn parse_i64(setting: Option<Setting<'_>>, default: i64) -> Result<i64, ConfigError> {
    parse_number(setting, default, "64-bit integer")
}

/// Kafka takes -1 (the broker's default) or a positive replication factor.
pub(super) fn check_replication_factor(
    setting: Option<Setting<'_>>,
    value: i64,
) -> Result<i64, ConfigError> {
    match (value, setting) {
        (-1, _) | (1.., _) | (_, None) => Ok(value),
        (_, Some(setting)) => Err(setting.error(ConfigErrorKind::OutOfRange {
            value: setting.value.trim().to_owned(),
            reason: "a replication factor must be -1 (the broker default) or at least 1",
        })),
    }
}

pub(super) fn parse_patterns(
    setting: Option<Setting<'_>>,
    default: &str,
) -> Result<crate::filter::PatternList, ConfigError> {
    match setting {
        None => Ok(crate::filter::PatternList::parse(default).expect("MM2's defaults compile")),
        Some(setting) => crate::filter::PatternList::parse(setting.value).map_err(
            |InvalidRegex { regex, reason }| {
                setting.error(ConfigErrorKind::InvalidRegex { regex, reason })
            },
        ),
    }
}

pub(super) fn periodic<'a>(
    get: &impl Fn(&str) -> Option<Setting<'a>>,
    job: &str,
    enabled_default: bool,
    interval_default: i64,
) -> Result<Periodic, ConfigError> {
    let interval_key = format!("{job}.interval.seconds");
    let enabled = parse_bool(get(&format!("{job}.enabled")), enabled_default)?;
    let interval_seconds = parse_i64(get(&interval_key), interval_default)?;
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
