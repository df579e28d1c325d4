//! The Kafka client settings kmirror honours (see [`super::client_keys`]),
//! typed and validated per flow and side, with MM2's precedence:
//!
//! - the source side of `source->target` reads as MM2's consumer:
//!   `source->target.consumer.<key>`, else `<source>.consumer.<key>`;
//! - the target side writes as MM2's producer:
//!   `source->target.producer.<key>`, else `<target>.producer.<key>`;
//! - admin calls: `source->target.admin.<key>`, else `<alias>.admin.<key>`
//!   (kmirror makes a side's admin calls on that side's connection, so these
//!   only matter where they agree with it: see [`ClientSettings::differing_common_keys`]).
//!
//! In the Connect JSON form, `producer.override.*` wins over all of these
//! (Connect applies it last to the producer of a source connector's tasks);
//! see `connect.rs`. Security keys and `bootstrap.servers` follow their own
//! rule (cluster-level keys copied into each client, MM2's
//! `MirrorMakerConfig.clusterProps`), handled by [`super::mm2::ClusterConfig::client_config`].
//! Other cluster-level keys (`kafka-a.request.timeout.ms`) do not reach
//! MM2's clients, and do not reach kmirror's.
//!
//! Every value is checked as Kafka's `ConfigDef` checks it (a number, within
//! range), plus kmirror's own limits, with the file and line of the key.

use std::hash::{Hash, Hasher};
use std::time::Duration;

use super::error::{ConfigError, ConfigErrorKind, ConfigWarning, Location};
use super::mm2::ClientRole;
use super::properties::Properties;

/// Settings every Kafka client has (`CommonClientConfigs`).
const COMMON_KEYS: &[&str] = &[
    "client.id",
    "request.timeout.ms",
    "retry.backoff.ms",
    "retry.backoff.max.ms",
    "reconnect.backoff.ms",
    "reconnect.backoff.max.ms",
    "socket.connection.setup.timeout.ms",
    "socket.connection.setup.timeout.max.ms",
    "connections.max.idle.ms",
    "metadata.max.age.ms",
    "receive.buffer.bytes",
    "send.buffer.bytes",
];

/// Settings only a consumer has.
const CONSUMER_KEYS: &[&str] = &[
    "client.rack",
    "fetch.max.bytes",
    "max.partition.fetch.bytes",
    "fetch.min.bytes",
    "fetch.max.wait.ms",
];

/// Settings only a producer has.
const PRODUCER_KEYS: &[&str] = &[
    "max.request.size",
    "acks",
    "delivery.timeout.ms",
    "max.in.flight.requests.per.connection",
    "transaction.timeout.ms",
];

/// The honoured settings the `role` client has, as Kafka's clients define them.
fn keys_of(role: ClientRole) -> impl Iterator<Item = &'static str> {
    let own: &[&str] = match role {
        ClientRole::Consumer => CONSUMER_KEYS,
        ClientRole::Producer => PRODUCER_KEYS,
        ClientRole::Admin => &[],
    };
    COMMON_KEYS.iter().chain(own).copied()
}

/// Every honoured client key with a typed meaning here (the security keys and
/// `bootstrap.servers` aside): what `client_keys` calls honoured.
pub(crate) fn all_keys() -> impl Iterator<Item = &'static str> {
    COMMON_KEYS
        .iter()
        .chain(CONSUMER_KEYS)
        .chain(PRODUCER_KEYS)
        .copied()
}

/// `acks`: how many replicas must have a batch before the target answers.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub enum Acks {
    /// `all` / `-1`, the default: the batch is on every in-sync replica.
    #[default]
    All,
    /// `1`: the leader only. A leader lost right after answering loses the
    /// batch, while kmirror has already recorded it as copied.
    Leader,
}

/// The `max.request.size` of a producer, with the key that set it, so that
/// a batch refused for it names what to raise.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MaxRequestSize {
    /// Bytes.
    pub bytes: usize,
    /// The key as written, e.g. `kafka-b.producer.max.request.size`.
    pub key: String,
}

/// One client's honoured settings; `None` keeps kmirror's default (which is
/// the Java client's, unless `docs/CLIENT-SETTINGS.md` says otherwise).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ClientSettings {
    /// `client.id`: sent in every request header (broker logs, quotas).
    pub client_id: Option<String>,
    /// `client.rack`: fetch from a replica in this rack (KIP-392).
    pub client_rack: Option<String>,
    /// `request.timeout.ms`.
    pub request_timeout: Option<Duration>,
    /// `retry.backoff.ms`.
    pub retry_backoff: Option<Duration>,
    /// `retry.backoff.max.ms`.
    pub retry_backoff_max: Option<Duration>,
    /// `reconnect.backoff.ms`.
    pub reconnect_backoff: Option<Duration>,
    /// `reconnect.backoff.max.ms`.
    pub reconnect_backoff_max: Option<Duration>,
    /// `socket.connection.setup.timeout.ms`: the connect timeout.
    pub connect_timeout: Option<Duration>,
    /// `socket.connection.setup.timeout.max.ms`.
    pub connect_timeout_max: Option<Duration>,
    /// `connections.max.idle.ms`; `Some(None)` for a negative value (never
    /// close idle connections).
    pub connections_max_idle: Option<Option<Duration>>,
    /// `metadata.max.age.ms`.
    pub metadata_max_age: Option<Duration>,
    /// `receive.buffer.bytes`; `Some(None)` for -1 (the OS default).
    pub receive_buffer_bytes: Option<Option<u32>>,
    /// `send.buffer.bytes`; `Some(None)` for -1 (the OS default).
    pub send_buffer_bytes: Option<Option<u32>>,
    /// `fetch.max.bytes`.
    pub fetch_max_bytes: Option<i32>,
    /// `max.partition.fetch.bytes`.
    pub max_partition_fetch_bytes: Option<i32>,
    /// `fetch.min.bytes`.
    pub fetch_min_bytes: Option<i32>,
    /// `fetch.max.wait.ms`.
    pub fetch_max_wait: Option<Duration>,
    /// `max.request.size`.
    pub max_request_size: Option<MaxRequestSize>,
    /// `acks`, with the key that set it when it is not `all`.
    pub acks: Acks,
    /// The key that set `acks`, for the warning when it is not `all`.
    pub acks_key: Option<String>,
    /// `delivery.timeout.ms`.
    pub delivery_timeout: Option<Duration>,
    /// `max.in.flight.requests.per.connection` (1 to 5).
    pub max_in_flight: Option<usize>,
    /// `transaction.timeout.ms`: with exactly-once, how long the target's
    /// coordinator lets a transaction stay open before aborting it.
    pub transaction_timeout: Option<Duration>,
}

impl ClientSettings {
    /// Feeds the settings that shape the client into `state`: two roles
    /// whose settings hash alike share one client. The keys as written do
    /// not count (the same value set twice is the same client).
    pub fn hash_values<H: Hasher>(&self, state: &mut H) {
        self.client_id.hash(state);
        self.client_rack.hash(state);
        self.request_timeout.hash(state);
        self.retry_backoff.hash(state);
        self.retry_backoff_max.hash(state);
        self.reconnect_backoff.hash(state);
        self.reconnect_backoff_max.hash(state);
        self.connect_timeout.hash(state);
        self.connect_timeout_max.hash(state);
        self.connections_max_idle.hash(state);
        self.metadata_max_age.hash(state);
        self.receive_buffer_bytes.hash(state);
        self.send_buffer_bytes.hash(state);
        self.fetch_max_bytes.hash(state);
        self.max_partition_fetch_bytes.hash(state);
        self.fetch_min_bytes.hash(state);
        self.fetch_max_wait.hash(state);
        self.max_request_size.as_ref().map(|m| m.bytes).hash(state);
        self.acks.hash(state);
        self.delivery_timeout.hash(state);
        self.transaction_timeout.hash(state);
        self.max_in_flight.hash(state);
    }

    /// The settings every client has that are set here to another value
    /// than `other`'s: for admin settings, which kmirror cannot apply apart
    /// from the connection its admin calls share.
    pub fn differing_common_keys(&self, other: &ClientSettings) -> Vec<&'static str> {
        COMMON_KEYS
            .iter()
            .copied()
            .filter(|key| {
                let value = self.common_value(key);
                value.is_some() && value != other.common_value(key)
            })
            .collect()
    }

    /// The value of one of [`COMMON_KEYS`], for comparison, when set.
    fn common_value(&self, key: &str) -> Option<String> {
        match key {
            "client.id" => shown(&self.client_id),
            "request.timeout.ms" => shown(&self.request_timeout),
            "retry.backoff.ms" => shown(&self.retry_backoff),
            "retry.backoff.max.ms" => shown(&self.retry_backoff_max),
            "reconnect.backoff.ms" => shown(&self.reconnect_backoff),
            "reconnect.backoff.max.ms" => shown(&self.reconnect_backoff_max),
            "socket.connection.setup.timeout.ms" => shown(&self.connect_timeout),
            "socket.connection.setup.timeout.max.ms" => shown(&self.connect_timeout_max),
            "connections.max.idle.ms" => shown(&self.connections_max_idle),
            "metadata.max.age.ms" => shown(&self.metadata_max_age),
            "receive.buffer.bytes" => shown(&self.receive_buffer_bytes),
            "send.buffer.bytes" => shown(&self.send_buffer_bytes),
            other => unreachable!("{other} is not a common client setting"),
        }
    }
}

/// A setting's value for comparison, when set.
fn shown<T: std::fmt::Debug>(value: &Option<T>) -> Option<String> {
    value.as_ref().map(|value| format!("{value:?}"))
}

/// The client settings of one flow, by side.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FlowClientSettings {
    /// The source side (MM2's consumer).
    pub consumer: ClientSettings,
    /// The target side (MM2's producer).
    pub producer: ClientSettings,
    /// Admin settings of the source side.
    pub source_admin: ClientSettings,
    /// Admin settings of the target side.
    pub target_admin: ClientSettings,
}

/// A setting found in the properties.
struct Found<'a> {
    key: String,
    value: &'a str,
    location: Location,
}

impl Found<'_> {
    fn error(&self, kind: ConfigErrorKind) -> ConfigError {
        ConfigError::new(self.location.clone(), self.key.clone(), kind)
    }

    fn number<T: std::str::FromStr>(&self, expected: &'static str) -> Result<T, ConfigError> {
        let value = self.value.trim();
        value.parse().map_err(|_| {
            self.error(ConfigErrorKind::NotANumber {
                value: value.to_owned(),
                expected,
            })
        })
    }

    fn out_of_range(&self, reason: &'static str) -> ConfigError {
        self.error(ConfigErrorKind::OutOfRange {
            value: self.value.trim().to_owned(),
            reason,
        })
    }

    /// Milliseconds, at least `min`.
    fn millis(&self, min: i64, reason: &'static str) -> Result<Duration, ConfigError> {
        let ms: i64 = self.number("64-bit integer of milliseconds")?;
        if ms < min {
            return Err(self.out_of_range(reason));
        }
        Ok(Duration::from_millis(ms.unsigned_abs()))
    }

    /// A 32-bit integer of bytes, at least 0.
    fn bytes(&self) -> Result<i32, ConfigError> {
        let bytes: i32 = self.number("32-bit integer")?;
        if bytes < 0 {
            return Err(self.out_of_range("must be at least 0"));
        }
        Ok(bytes)
    }

    /// A socket buffer size: -1 for the operating system's default.
    fn buffer(&self) -> Result<Option<u32>, ConfigError> {
        let bytes: i32 = self.number("32-bit integer")?;
        match bytes {
            -1 => Ok(None),
            0.. => Ok(Some(bytes.unsigned_abs())),
            _ => Err(self.out_of_range("must be -1 (the OS default) or at least 0")),
        }
    }
}

/// Resolves and validates the client settings of the flow `source->target`;
/// warnings name keys set for a client that does not have them.
pub(crate) fn resolve_flow(
    raw: &Properties,
    source_name: &str,
    source: &str,
    target: &str,
) -> Result<(FlowClientSettings, Vec<ConfigWarning>), ConfigError> {
    let mut warnings = Vec::new();
    let flow = format!("{source}->{target}");
    let mut side = |alias: &str, role: ClientRole| {
        resolve_client(raw, source_name, &flow, alias, role, &mut warnings)
    };
    let settings = FlowClientSettings {
        consumer: side(source, ClientRole::Consumer)?,
        producer: side(target, ClientRole::Producer)?,
        source_admin: side(source, ClientRole::Admin)?,
        target_admin: side(target, ClientRole::Admin)?,
    };
    Ok((settings, warnings))
}

/// Sets `flow.client_settings` from `raw`; an error or warning not already
/// in `found` (a cluster's key serves several flows) is added to it.
pub(crate) fn resolve_into(
    flow: &mut super::mm2::FlowConfig,
    raw: &Properties,
    source_name: &str,
    found: (&mut Vec<ConfigError>, &mut Vec<ConfigWarning>),
) {
    let (errors, warnings) = found;
    match resolve_flow(raw, source_name, flow.source.as_str(), flow.target.as_str()) {
        Ok((settings, new_warnings)) => {
            flow.client_settings = settings;
            for warning in new_warnings {
                if !warnings.contains(&warning) {
                    warnings.push(warning);
                }
            }
        }
        Err(error) if !errors.contains(&error) => errors.push(error),
        Err(_) => {}
    }
}

/// The settings of the `role` client of cluster `alias` in flow `flow`.
fn resolve_client(
    raw: &Properties,
    source_name: &str,
    flow: &str,
    alias: &str,
    role: ClientRole,
    warnings: &mut Vec<ConfigWarning>,
) -> Result<ClientSettings, ConfigError> {
    let prefix = role.prefix();
    let find = |key: &str| {
        [
            format!("{flow}.{prefix}{key}"),
            format!("{alias}.{prefix}{key}"),
        ]
        .into_iter()
        .find_map(|candidate| {
            raw.entry(&candidate).map(|entry| Found {
                key: entry.original_key.clone().unwrap_or(candidate),
                value: entry.value.as_str(),
                location: Location::new(source_name, entry.line),
            })
        })
    };

    // A setting of another kind of client: Kafka's clients log "supplied
    // but isn't a known config" for it; say which client has it.
    for (key, owner) in CONSUMER_KEYS
        .iter()
        .map(|k| (*k, ClientRole::Consumer))
        .chain(PRODUCER_KEYS.iter().map(|k| (*k, ClientRole::Producer)))
    {
        if owner == role {
            continue;
        }
        if let Some(found) = find(key) {
            let warning = ConfigWarning {
                location: found.location.clone(),
                key: found.key.clone(),
                message: format!(
                    "a {} setting: kmirror's {} client does not use it (set {alias}.{}{key} or \
                     {flow}.{}{key})",
                    owner.prefix().trim_end_matches('.'),
                    prefix.trim_end_matches('.'),
                    owner.prefix(),
                    owner.prefix(),
                ),
            };
            if !warnings.contains(&warning) {
                warnings.push(warning);
            }
        }
    }

    let mut settings = ClientSettings::default();
    for key in keys_of(role) {
        let Some(found) = find(key) else { continue };
        apply(&mut settings, key, &found)?;
    }
    if let (Some(min), Some(max)) = (settings.retry_backoff, settings.retry_backoff_max) {
        // The Java clients use the smaller as both in that case.
        if min > max {
            settings.retry_backoff = Some(max);
        }
    }
    Ok(settings)
}

/// Sets the field of `key` from `found`, checked.
fn apply(settings: &mut ClientSettings, key: &str, found: &Found<'_>) -> Result<(), ConfigError> {
    const AT_LEAST_0: &str = "must be at least 0";
    const AT_LEAST_1: &str = "must be at least 1 (0 would time out at once)";
    match key {
        "client.id" => settings.client_id = Some(found.value.trim().to_owned()),
        "client.rack" => {
            let rack = found.value.trim();
            settings.client_rack = (!rack.is_empty()).then(|| rack.to_owned());
        }
        "request.timeout.ms" => settings.request_timeout = Some(found.millis(1, AT_LEAST_1)?),
        "retry.backoff.ms" => settings.retry_backoff = Some(found.millis(0, AT_LEAST_0)?),
        "retry.backoff.max.ms" => settings.retry_backoff_max = Some(found.millis(0, AT_LEAST_0)?),
        "reconnect.backoff.ms" => settings.reconnect_backoff = Some(found.millis(0, AT_LEAST_0)?),
        "reconnect.backoff.max.ms" => {
            settings.reconnect_backoff_max = Some(found.millis(0, AT_LEAST_0)?)
        }
        "socket.connection.setup.timeout.ms" => {
            settings.connect_timeout = Some(found.millis(1, AT_LEAST_1)?)
        }
        "socket.connection.setup.timeout.max.ms" => {
            settings.connect_timeout_max = Some(found.millis(1, AT_LEAST_1)?)
        }
        "connections.max.idle.ms" => {
            let ms: i64 = found.number("64-bit integer of milliseconds")?;
            settings.connections_max_idle =
                Some((ms >= 0).then(|| Duration::from_millis(ms.unsigned_abs())));
        }
        "metadata.max.age.ms" => settings.metadata_max_age = Some(found.millis(1, AT_LEAST_1)?),
        "receive.buffer.bytes" => settings.receive_buffer_bytes = Some(found.buffer()?),
        "send.buffer.bytes" => settings.send_buffer_bytes = Some(found.buffer()?),
        "fetch.max.bytes" => settings.fetch_max_bytes = Some(found.bytes()?),
        "max.partition.fetch.bytes" => settings.max_partition_fetch_bytes = Some(found.bytes()?),
        "fetch.min.bytes" => settings.fetch_min_bytes = Some(found.bytes()?),
        "fetch.max.wait.ms" => {
            // An int in Kafka's ConfigDef.
            let ms: i64 = found.number("32-bit integer of milliseconds")?;
            if !(0..=i64::from(i32::MAX)).contains(&ms) {
                return Err(found.out_of_range("must be from 0 to 2147483647"));
            }
            settings.fetch_max_wait = Some(Duration::from_millis(ms.unsigned_abs()));
        }
        "max.request.size" => {
            settings.max_request_size = Some(MaxRequestSize {
                bytes: found.bytes()?.unsigned_abs() as usize,
                key: found.key.clone(),
            })
        }
        "acks" => {
            settings.acks = match found.value.trim() {
                "all" | "-1" => Acks::All,
                "1" => Acks::Leader,
                _ => {
                    return Err(found.error(ConfigErrorKind::NotOneOf {
                        value: found.value.trim().to_owned(),
                        allowed: "all, -1, 1 (with acks=0 the target answers nothing, and kmirror \
                                  needs each batch's offset on the target)",
                    }))
                }
            };
            settings.acks_key = Some(found.key.clone());
        }
        "delivery.timeout.ms" => settings.delivery_timeout = Some(found.millis(1, AT_LEAST_1)?),
        "transaction.timeout.ms" => {
            settings.transaction_timeout = Some(found.millis(1, AT_LEAST_1)?)
        }
        "max.in.flight.requests.per.connection" => {
            let count: i32 = found.number("32-bit integer")?;
            settings.max_in_flight =
                Some(match count {
                    1..=5 => count.unsigned_abs() as usize,
                    ..=0 => return Err(found.out_of_range("must be at least 1")),
                    _ => return Err(found.out_of_range(
                        "must be at most 5: kmirror's producer is idempotent, and a broker keeps \
                         an idempotent producer's batches in order only with up to 5 in flight",
                    )),
                });
        }
        other => unreachable!("{other} is not a typed client setting"),
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::client_keys::{client_key_support, ClientKeySupport};

    fn flow(text: &str) -> Result<(FlowClientSettings, Vec<ConfigWarning>), ConfigError> {
        let raw = Properties::parse(text).unwrap();
        resolve_flow(&raw, "mm2.properties", "a", "b")
    }

    #[test]
    fn every_typed_key_is_an_honoured_client_key() {
        for key in all_keys() {
            assert_eq!(
                client_key_support(key),
                Some(ClientKeySupport::Honoured),
                "{key}"
            );
        }
    }

    #[test]
    fn flow_keys_win_over_alias_keys_and_sides_take_their_role() {
        let (settings, warnings) = flow(
            "a.consumer.fetch.max.bytes = 1000\n\
             a->b.consumer.fetch.max.bytes = 2000\n\
             a.consumer.client.id = reader\n\
             b.producer.request.timeout.ms = 5000\n\
             a->b.producer.acks = 1\n\
             b.producer.client.id = writer\n\
             b.consumer.client.id = not-this-flow\n\
             a.producer.client.id = not-this-flow-either\n",
        )
        .unwrap();
        assert!(warnings.is_empty(), "{warnings:?}");
        assert_eq!(settings.consumer.fetch_max_bytes, Some(2000));
        assert_eq!(settings.consumer.client_id.as_deref(), Some("reader"));
        assert_eq!(settings.producer.client_id.as_deref(), Some("writer"));
        assert_eq!(
            settings.producer.request_timeout,
            Some(Duration::from_secs(5))
        );
        assert_eq!(settings.producer.acks, Acks::Leader);
        assert_eq!(
            settings.producer.acks_key.as_deref(),
            Some("a->b.producer.acks")
        );
        assert_eq!(settings.consumer.request_timeout, None);
        assert_eq!(settings.source_admin, ClientSettings::default());
    }

    #[test]
    fn cluster_level_keys_do_not_reach_clients() {
        let (settings, _) =
            flow("a.request.timeout.ms = 5000\nrequest.timeout.ms = 6000\n").unwrap();
        assert_eq!(settings.consumer, ClientSettings::default());
    }

    #[test]
    fn values_are_checked_with_file_and_line() {
        let cases = [
            (
                "\nb.producer.max.request.size = big\n",
                "mm2.properties:2: b.producer.max.request.size: \"big\" is not a number (expected a 32-bit integer)",
            ),
            (
                "a.consumer.fetch.max.bytes = -5\n",
                "mm2.properties:1: a.consumer.fetch.max.bytes: -5 is out of range: must be at least 0",
            ),
            (
                "a->b.producer.max.in.flight.requests.per.connection = 6\n",
                "mm2.properties:1: a->b.producer.max.in.flight.requests.per.connection: 6 is out of range: must be at most 5",
            ),
            (
                "b.producer.acks = 0\n",
                "mm2.properties:1: b.producer.acks: \"0\" is not one of: all, -1, 1",
            ),
            (
                "a.consumer.request.timeout.ms = 0\n",
                "mm2.properties:1: a.consumer.request.timeout.ms: 0 is out of range: must be at least 1",
            ),
            (
                "a.consumer.receive.buffer.bytes = -2\n",
                "mm2.properties:1: a.consumer.receive.buffer.bytes: -2 is out of range",
            ),
            (
                "a.consumer.fetch.max.wait.ms = 99999999999\n",
                "mm2.properties:1: a.consumer.fetch.max.wait.ms: 99999999999 is out of range",
            ),
        ];
        for (text, expected) in cases {
            let error = flow(text).unwrap_err().to_string();
            assert!(error.starts_with(expected), "{error}\nexpected {expected}");
        }
    }

    #[test]
    fn special_values() {
        let (settings, _) = flow(
            "a.consumer.receive.buffer.bytes = -1\n\
             a.consumer.send.buffer.bytes = 65536\n\
             a.consumer.connections.max.idle.ms = -1\n\
             a.consumer.client.rack = \n\
             a.consumer.retry.backoff.ms = 5000\n\
             a.consumer.retry.backoff.max.ms = 1000\n",
        )
        .unwrap();
        let consumer = settings.consumer;
        assert_eq!(consumer.receive_buffer_bytes, Some(None));
        assert_eq!(consumer.send_buffer_bytes, Some(Some(65536)));
        assert_eq!(consumer.connections_max_idle, Some(None));
        assert_eq!(consumer.client_rack, None);
        assert_eq!(consumer.retry_backoff, Some(Duration::from_secs(1)));
    }

    #[test]
    fn a_key_of_another_client_is_reported() {
        let (settings, warnings) = flow("b.producer.fetch.max.bytes = 100\n").unwrap();
        assert_eq!(settings.producer, ClientSettings::default());
        assert_eq!(warnings.len(), 1);
        assert!(
            warnings[0].to_string().contains(
                "b.producer.fetch.max.bytes: a consumer setting: kmirror's producer client does not use it"
            ),
            "{}",
            warnings[0]
        );
    }

    #[test]
    fn admin_settings_that_differ_are_named() {
        let (settings, _) = flow(
            "b.admin.request.timeout.ms = 1000\nb.producer.client.id = w\nb.admin.client.id = w\n\
             b.producer.retry.backoff.ms = 10\n",
        )
        .unwrap();
        assert_eq!(
            settings
                .target_admin
                .differing_common_keys(&settings.producer),
            vec!["request.timeout.ms"]
        );
    }

    const BASE: &str = "clusters = a, b\na.bootstrap.servers = 127.0.0.1:1\n\
                        b.bootstrap.servers = 127.0.0.1:2\na->b.enabled = true\n";

    fn config(extra: &str) -> crate::config::mm2::Mm2Config {
        crate::config::mm2::Mm2Config::parse(&format!("{BASE}{extra}"), "mm2.properties").unwrap()
    }

    #[test]
    fn honoured_and_not_applicable_keys_are_not_called_not_honoured() {
        let config = config(
            "a.consumer.fetch.max.bytes = 1000\n\
             a->b.producer.acks = all\n\
             b.producer.linger.ms = 5\n\
             a->b.producer.compression.type = zstd\n\
             b.producer.metric.reporters = x\n",
        );
        assert_eq!(
            config.unsupported_keys(),
            vec!["b.producer.metric.reporters"]
        );
        assert_eq!(
            config.not_applicable_client_keys(),
            vec![
                (
                    "b.producer.linger.ms".to_owned(),
                    "batches are forwarded as the source wrote them: kmirror does not build batches"
                ),
                (
                    "a->b.producer.compression.type".to_owned(),
                    "batches keep the source's codec: kmirror never recompresses"
                ),
            ]
        );
    }

    #[test]
    fn an_invalid_override_fails_the_config_with_its_line() {
        let error = crate::config::mm2::Mm2Config::parse(
            &format!("{BASE}b.producer.max.in.flight.requests.per.connection = 10\n"),
            "mm2.properties",
        )
        .unwrap_err();
        assert_eq!(error.location.line, Some(5));
        assert_eq!(
            error.key,
            "b.producer.max.in.flight.requests.per.connection"
        );
    }

    #[test]
    fn connector_json_producer_overrides_win() {
        let json = r#"{
  "name": "m",
  "config": {
    "connector.class": "MirrorSourceConnector",
    "source.cluster.alias": "a",
    "target.cluster.alias": "b",
    "source.cluster.bootstrap.servers": "127.0.0.1:1",
    "target.cluster.bootstrap.servers": "127.0.0.1:2",
    "target.producer.max.request.size": "1000",
    "producer.max.request.size": "2000",
    "producer.override.max.request.size": "3000",
    "producer.override.client.id": "writer",
    "producer.override.linger.ms": "10",
    "consumer.fetch.min.bytes": "512",
    "consumer.override.fetch.min.bytes": "1024"
  }
}"#;
        let config = crate::config::mm2::Mm2Config::from_connect_json(json).unwrap();
        let settings = &config.flow("a", "b").unwrap().client_settings;
        assert_eq!(
            settings.producer.max_request_size,
            Some(MaxRequestSize {
                bytes: 3000,
                key: "producer.override.max.request.size".to_owned()
            })
        );
        assert_eq!(settings.producer.client_id.as_deref(), Some("writer"));
        assert_eq!(settings.consumer.fetch_min_bytes, Some(512));
        let not_applicable = config.not_applicable_client_keys();
        let keys: Vec<&str> = not_applicable.iter().map(|(key, _)| key.as_str()).collect();
        assert_eq!(
            keys,
            vec![
                "producer.override.linger.ms",
                "consumer.override.fetch.min.bytes"
            ]
        );
        assert_eq!(
            not_applicable[1].1,
            "Connect applies consumer.override.* to sink connectors only, and MM2's connectors \
             are source connectors: use source.consumer.* or consumer.*"
        );
        assert!(
            config.unsupported_keys().is_empty(),
            "{:?}",
            config.unsupported_keys()
        );

        // A bad value names the JSON key and line.
        let bad = json.replace("\"3000\"", "\"-1\"");
        let error = crate::config::mm2::Mm2Config::from_connect_json(&bad).unwrap_err();
        assert_eq!(error.key, "producer.override.max.request.size");
        assert_eq!(error.location.line, Some(11));
    }

    #[test]
    fn dedicated_connector_json_overrides_apply_to_every_flow() {
        let json = r#"{"connector.class": "MirrorSourceConnector",
            "clusters": "a, b",
            "a.bootstrap.servers": "127.0.0.1:1",
            "b.bootstrap.servers": "127.0.0.1:2",
            "a->b.enabled": "true",
            "b->a.enabled": "true",
            "a->b.producer.acks": "all",
            "producer.override.acks": "1"}"#;
        let config = crate::config::mm2::Mm2Config::from_connect_json(json).unwrap();
        for (source, target) in [("a", "b"), ("b", "a")] {
            let producer = &config
                .flow(source, target)
                .unwrap()
                .client_settings
                .producer;
            assert_eq!(producer.acks, Acks::Leader, "{source}->{target}");
        }
    }
}
