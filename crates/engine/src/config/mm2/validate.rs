//! Checks that MM2 does not make but that stop a mistake before kmirror
//! connects anywhere: bootstrap servers that are not `host:port`, a file with
//! nothing to replicate, and unknown keys in strict mode.

use super::flow_keys::{self, Parser};
use super::{Builder, ClusterAlias, Mm2Config};
use crate::config::error::{ConfigError, ConfigErrorKind, Location};
use crate::filter::parse_list;

impl Builder<'_> {
    /// Every bootstrap server the file sets is `host:port`: Kafka's clients
    /// refuse anything else at start (`ClientUtils.parseAndValidateAddresses`),
    /// and kmirror would otherwise only find out by failing to connect.
    pub(super) fn check_bootstrap_servers(&mut self, aliases: &[ClusterAlias]) {
        let keys = std::iter::once("bootstrap.servers".to_owned()).chain(
            aliases
                .iter()
                .map(|alias| format!("{alias}.bootstrap.servers")),
        );
        for key in keys {
            let Some(value) = self.raw.get(&key) else {
                continue;
            };
            for server in parse_list(value) {
                if server.is_empty() {
                    continue;
                }
                if let Some(reason) = bootstrap_server_problem(&server) {
                    let error =
                        self.error_at(&key, ConfigErrorKind::BadBootstrapServer { server, reason });
                    self.errors.push(error);
                    break;
                }
            }
        }
    }

    /// Checks the value of a connector-level key (`setting` of `key`) that
    /// only some flows may read: a flow's `enabled` decides whether the flow
    /// exists at all, so a bad boolean there would otherwise pass unnoticed
    /// (MM2 reads anything but `true` as false); an empty `topics` or
    /// `groups` list matches nothing; a negative interval turns its job off.
    pub(super) fn check_connector_value(&mut self, key: &str, setting: &str, value: &str) {
        let value = value.trim();
        let parser = flow_keys::find(setting).map(|row| row.parser);
        if let Some(parser @ Parser::Bool) = parser {
            if let Err(kind) = parser.check(value) {
                let error = self.error_at(key, kind);
                self.errors.push(error);
            }
        }
        if let (Some(Parser::Seconds), Some(job)) =
            (parser, setting.strip_suffix(".interval.seconds"))
        {
            // MM2's scheduler skips a job with a negative interval, without
            // a word; kmirror does the same but says so.
            if value.parse::<i64>().is_ok_and(|seconds| seconds < 0) {
                let message = format!(
                    "negative: turns {job} off, as in MM2 ({job}.enabled = false says so plainly)"
                );
                self.warn(key, message);
            }
        }
        let what = match setting {
            "topics" => "topic",
            "groups" => "consumer group",
            _ => return,
        };
        if value.is_empty() {
            let message = format!(
                "empty: matches no {what}; remove the key for MM2's default .* (every {what})"
            );
            self.warn(key, message);
        }
    }

    /// Connect's worker group timeouts, which kmirror's flows' groups use
    /// (`runtime::group_settings`): positive milliseconds; and `group.id`,
    /// which prefixes the groups' ids, must not be empty.
    pub(super) fn check_worker_group_settings(&mut self) {
        for key in [
            "session.timeout.ms",
            "heartbeat.interval.ms",
            "rebalance.timeout.ms",
        ] {
            let Some(value) = self.raw.get(key).map(str::trim) else {
                continue;
            };
            let kind = match value.parse::<i64>() {
                Ok(1..=MAX_INT) => continue,
                Ok(_) => ConfigErrorKind::OutOfRange {
                    value: value.to_owned(),
                    reason: "must be a positive number of milliseconds",
                },
                Err(_) => ConfigErrorKind::NotANumber {
                    value: value.to_owned(),
                    expected: "32-bit integer",
                },
            };
            let error = self.error_at(key, kind);
            self.errors.push(error);
        }
        if self
            .raw
            .get("group.id")
            .is_some_and(|id| id.trim().is_empty())
        {
            let error = self.error_at("group.id", ConfigErrorKind::Empty);
            self.errors.push(error);
        }
    }
}

/// Connect reads the group timeouts as Java ints.
const MAX_INT: i64 = i32::MAX as i64;

/// What is wrong with one `bootstrap.servers` entry, if anything. Accepts
/// what Kafka's clients accept, less a scheme prefix kmirror cannot connect
/// to: `host:port`, `[ipv6]:port`.
pub(crate) fn bootstrap_server_problem(server: &str) -> Option<&'static str> {
    if server.contains("://") {
        return Some("write host:port, without a listener name or scheme");
    }
    let Some((host, port)) = server.rsplit_once(':') else {
        return Some("no port; write host:port, e.g. 127.0.0.1:9092");
    };
    let host = host
        .strip_prefix('[')
        .and_then(|host| host.strip_suffix(']'))
        .unwrap_or(host);
    if host.is_empty() {
        return Some("no host; write host:port, e.g. 127.0.0.1:9092");
    }
    if !host
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '%' | '.' | '_' | ':'))
    {
        return Some("the host may only hold letters, digits, '-', '.', '_', ':' and '%'");
    }
    match port.parse::<u16>() {
        Ok(1..) => None,
        _ => Some("the port must be a number from 1 to 65535"),
    }
}

impl Mm2Config {
    /// Strict mode: an unknown key is an error. The error names the first
    /// one with its line and the closest known key, and lists the others.
    pub fn refuse_unknown_keys(&self) -> Result<(), ConfigError> {
        let Some(first) = self.unknown.first() else {
            return Ok(());
        };
        let others = self.unknown[1..]
            .iter()
            .map(|unknown| match unknown.location.line {
                Some(line) => format!("{} (line {line})", unknown.key),
                None => unknown.key.clone(),
            })
            .collect::<Vec<_>>()
            .join(", ");
        Err(ConfigError::new(
            first.location.clone(),
            first.key.clone(),
            ConfigErrorKind::UnknownKey {
                suggestion: first.suggestion.clone(),
                others,
            },
        ))
    }

    /// Refuses a config in which no flow replicates (into one of `targets`,
    /// when given as with `--clusters`). MM2 would still run: its herders
    /// emit heartbeats for every pair of clusters even when no
    /// `source->target.enabled` is true, and it replicates nothing. kmirror
    /// emits heartbeats only alongside replication, so such a file would
    /// run nothing at all; it is almost always a forgotten `enabled = true`
    /// (MM2 dedicated mode defaults it to false).
    pub fn check_something_to_replicate(
        &self,
        targets: Option<&[String]>,
    ) -> Result<(), ConfigError> {
        let wanted = |alias: &ClusterAlias| {
            targets.is_none_or(|targets| targets.iter().any(|t| t.trim() == alias.as_str()))
        };
        if self.flows().any(|flow| wanted(&flow.target)) {
            return Ok(());
        }
        let aliases: Vec<&ClusterAlias> = self.clusters.keys().collect();
        let candidates: Vec<String> = aliases
            .iter()
            .flat_map(|source| aliases.iter().map(move |target| (*source, *target)))
            .filter(|(source, target)| source != target && wanted(target))
            .map(|(source, target)| format!("{source}->{target}.enabled = true"))
            .take(2)
            .collect();
        let set = match candidates.as_slice() {
            [] => "declare at least two clusters in clusters".to_owned(),
            [one] => format!("set {one}"),
            [one, other, ..] => format!("set {one} or {other}"),
        };
        let reason = match targets {
            Some(targets) if self.flows().next().is_some() => format!(
                "no enabled flow goes into {} (--clusters); {set}",
                targets.join(", ")
            ),
            _ => format!(
                "no flow is enabled (MM2 defaults <source>-><target>.enabled to false); {set}"
            ),
        };
        // Point at an `enabled` line that turns a flow off, if there is one.
        let disabled = self.properties.iter().find(|(key, entry)| {
            key.ends_with(".enabled") && key.contains("->") && entry.value.trim() != "true"
        });
        let (location, key) = match disabled {
            Some((key, entry)) => (
                Location::new(self.source_name.clone(), entry.line),
                entry.original_key.clone().unwrap_or_else(|| key.to_owned()),
            ),
            None => (Location::new(self.source_name.clone(), None), String::new()),
        };
        Err(ConfigError::new(
            location,
            key,
            ConfigErrorKind::NothingToReplicate { reason },
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::bootstrap_server_problem;

    #[test]
    fn bootstrap_servers() {
        for good in [
            "127.0.0.1:9092",
            "kafka-a-1.example:9093",
            "[::1]:9092",
            "h_1:1",
        ] {
            assert_eq!(bootstrap_server_problem(good), None, "{good}");
        }
        for (bad, reason) in [
            ("127.0.0.1", "no port"),
            ("127.0.0.1:", "the port"),
            ("127.0.0.1:0", "the port"),
            ("127.0.0.1:65536", "the port"),
            ("127.0.0.1:90x2", "the port"),
            (":9092", "no host"),
            ("PLAINTEXT://h:9092", "scheme"),
            ("h st:9092", "the host"),
        ] {
            let problem = bootstrap_server_problem(bad).unwrap_or_else(|| panic!("{bad}"));
            assert!(problem.contains(reason), "{bad}: {problem}");
        }
    }
}
