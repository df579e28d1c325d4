//! Exactly-once settings (KIP-618) as MM2 reads them:
//! - Connect's worker setting `exactly.once.source.support` (`disabled`,
//!   `preparing`, `enabled`), per target cluster as MM2 documents it
//!   (`<target>.exactly.once.source.support`), else the top-level key;
//! - the connector's `exactly.once.support` (`requested`, `required`),
//!   `transaction.boundary` (`poll`, `interval`; `connector` is refused, as
//!   Connect refuses it for MirrorSourceConnector, which defines no
//!   boundaries of its own) and `transaction.boundary.interval.ms`.

use std::time::Duration;

use super::flow_keys::{flow_value, TRANSACTION_BOUNDARY};
use super::values::{long_value, one_of_value};
use super::Setting;
use crate::config::error::{ConfigError, ConfigErrorKind};

/// The values of `exactly.once.source.support`.
const SUPPORT_VALUES: &str = "disabled, preparing, enabled";
/// The values of `transaction.boundary` kmirror takes.
pub(super) const BOUNDARY_VALUES: &str = "poll, interval, connector";
/// What a refused `transaction.boundary = connector` is told.
const BOUNDARY_ALLOWED: &str = "poll, interval (MirrorSourceConnector defines no transaction \
                                boundaries of its own, so Connect refuses `connector` too)";

/// How long a transaction of `transaction.boundary = poll` may last: it
/// ends once nothing more is ready to forward, and at the latest after this.
pub const POLL_TRANSACTION_MAX_DURATION: Duration = Duration::from_secs(1);
/// The most batch bytes one transaction carries, whatever the boundary:
/// the target's read_committed consumers wait for the whole transaction.
pub const TRANSACTION_MAX_BYTES: usize = 32 << 20;
/// `transaction.timeout.ms` of the Java producer.
pub const DEFAULT_TRANSACTION_TIMEOUT: Duration = Duration::from_secs(60);

/// Connect's `exactly.once.source.support`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExactlyOnceSupport {
    Disabled,
    /// The first step of turning it on in a running Connect cluster; kmirror
    /// writes as with `disabled`, since it has no older workers to fence.
    Preparing,
    Enabled,
}

/// When a transaction ends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TransactionBoundary {
    /// What was fetched when the transaction began, within
    /// [`POLL_TRANSACTION_MAX_DURATION`]: MM2's default, a transaction per
    /// poll.
    Poll,
    /// Every `transaction.boundary.interval.ms`.
    Interval(Duration),
}

/// A flow's exactly-once delivery: how it bounds transactions.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ExactlyOnce {
    pub boundary: TransactionBoundary,
    /// Batch bytes after which a transaction ends whatever the boundary.
    pub max_bytes: usize,
    /// `transaction.timeout.ms` of the target producer.
    pub timeout: Duration,
}

impl ExactlyOnce {
    /// How long a transaction may stay open at most.
    pub fn max_duration(&self) -> Duration {
        match self.boundary {
            TransactionBoundary::Poll => POLL_TRANSACTION_MAX_DURATION,
            TransactionBoundary::Interval(interval) => interval,
        }
    }

    /// Whether a transaction ends as soon as nothing more is ready.
    pub fn ends_when_idle(&self) -> bool {
        self.boundary == TransactionBoundary::Poll
    }
}

/// `transaction.boundary`, `connector` refused.
pub(super) fn boundary_value(text: &str) -> Result<&'static str, ConfigErrorKind> {
    match one_of_value(text, BOUNDARY_VALUES)? {
        "poll" => Ok("poll"),
        "interval" => Ok("interval"),
        other => Err(ConfigErrorKind::NotOneOf {
            value: other.to_owned(),
            allowed: BOUNDARY_ALLOWED,
        }),
    }
}

/// `exactly.once.source.support`, case as Connect takes it (any).
pub(super) fn support_value(setting: &Setting<'_>) -> Result<ExactlyOnceSupport, ConfigError> {
    match one_of_value(&setting.value.trim().to_ascii_lowercase(), SUPPORT_VALUES) {
        Ok("enabled") => Ok(ExactlyOnceSupport::Enabled),
        Ok("preparing") => Ok(ExactlyOnceSupport::Preparing),
        Ok(_) => Ok(ExactlyOnceSupport::Disabled),
        Err(kind) => Err(setting.error(kind)),
    }
}

/// The flow's exactly-once settings, `None` unless `support` is enabled.
/// `get` finds the flow's connector keys; `timeout` is the target
/// producer's `transaction.timeout.ms` if set.
pub(super) fn resolve<'a>(
    support: ExactlyOnceSupport,
    get: &impl Fn(&str) -> Option<Setting<'a>>,
    timeout: Option<Duration>,
) -> Result<Option<ExactlyOnce>, ConfigError> {
    // Checked whatever the support, as Connect validates connector configs.
    let boundary = flow_value(get, "transaction.boundary", TRANSACTION_BOUNDARY)?;
    let interval = match get("transaction.boundary.interval.ms") {
        None => None,
        Some(setting) => {
            let ms = long_value(setting.value).map_err(|kind| setting.error(kind))?;
            if ms <= 0 {
                return Err(setting.error(ConfigErrorKind::OutOfRange {
                    value: setting.value.trim().to_owned(),
                    reason: "must be at least 1",
                }));
            }
            Some(Duration::from_millis(ms.unsigned_abs()))
        }
    };
    if support != ExactlyOnceSupport::Enabled {
        return Ok(None);
    }
    let boundary = match boundary {
        "interval" => TransactionBoundary::Interval(
            // Connect's default: the worker's offset.flush.interval.ms.
            interval.unwrap_or(Duration::from_secs(60)),
        ),
        _ => TransactionBoundary::Poll,
    };
    Ok(Some(ExactlyOnce {
        boundary,
        max_bytes: TRANSACTION_MAX_BYTES,
        timeout: timeout.unwrap_or(DEFAULT_TRANSACTION_TIMEOUT),
    }))
}
