//! The Kafka Connect connector form of an MM2 config, translated into the
//! dedicated-mode properties [`super::mm2::Mm2Config`] reads.
//!
//! Two spellings occur in practice:
//! - MM2's own keys as strings (`clusters`, `kafka-a.bootstrap.servers`,
//!   `kafka-a->kafka-b.enabled`, ...), as in `examples/mm2-connector.json`;
//! - Connect's keys (`MirrorConnectorConfig`): `source.cluster.alias` (required
//!   in MM2), `target.cluster.alias` (default `target`), `enabled` (default
//!   true in Connect), `source.cluster.<client key>`, `target.cluster.<client key>`
//!   and `source.consumer.*`, `target.producer.*`, `source.admin.*`, ...
//!
//! Each translated key keeps the name and line it had in the JSON, so errors
//! point at what the user wrote.
//!
//! Client settings: Connect's `producer.override.<key>` (applied by Connect
//! to the producer of a source connector's tasks, over everything else)
//! becomes `<source>-><target>.producer.<key>` for each flow the connector
//! runs, winning over a `producer.<key>` or `<source>-><target>.producer.<key>`
//! it also sets; with Connect's keys, the connector-level `consumer.*`,
//! `producer.*` and `admin.*` are the flow's (`MirrorConnectorConfig`).

use serde_json::Value;

use super::error::{ConfigError, ConfigErrorKind, JsonProblem, JsonSyntaxError, Location};
use super::mm2::{ConnectorClass, ConnectorInfo};
use super::properties::Properties;

/// Connect's default for `target.cluster.alias` (`MirrorConnectorConfig`).
const TARGET_CLUSTER_ALIAS_DEFAULT: &str = "target";

/// A Connect JSON config as dedicated-mode properties.
pub(crate) struct TranslatedConnector {
    pub(crate) properties: Properties,
    pub(crate) connector: ConnectorInfo,
    /// `(source.cluster.alias, target.cluster.alias)` when the Connect keys were used.
    pub(crate) connect_aliases: Option<(String, String)>,
}

pub(crate) fn properties_from_connect_json(
    json: &str,
    source_name: &str,
) -> Result<TranslatedConnector, ConfigError> {
    let json_error = |line: Option<u32>, key: &str, problem: JsonProblem| {
        ConfigError::new(
            Location::new(source_name, line),
            key,
            ConfigErrorKind::Json(problem),
        )
    };
    let document: Value = serde_json::from_str(json).map_err(|error| {
        let error = JsonSyntaxError::new(error);
        json_error(error.line(), "", JsonProblem::Invalid(error))
    })?;
    let Value::Object(top) = &document else {
        return Err(json_error(Some(1), "", JsonProblem::NotAnObject));
    };
    let config = match top.get("config") {
        Some(Value::Object(config)) => config,
        Some(_) => {
            return Err(json_error(
                find_key_line(json, "config"),
                "config",
                JsonProblem::NotAnObject,
            ))
        }
        // The bare config object, as `PUT /connectors/{name}/config` takes it.
        None => top,
    };

    // Values as Connect reads them: strings, with numbers and booleans
    // accepted as their text; null means unset.
    let mut entries: Vec<(String, String, Option<u32>)> = Vec::new();
    for (key, value) in config {
        let line = find_key_line(json, key);
        let text = match value {
            Value::String(text) => text.clone(),
            Value::Number(number) => number.to_string(),
            Value::Bool(flag) => flag.to_string(),
            Value::Null => continue,
            Value::Array(_) | Value::Object(_) => {
                return Err(json_error(line, key, JsonProblem::NotAString))
            }
        };
        entries.push((key.clone(), text, line));
    }
    let lookup = |key: &str| entries.iter().find(|(k, _, _)| k == key);
    // `producer.override.<key>` wins over the same key set any other way.
    let overridden: Vec<&str> = entries
        .iter()
        .filter_map(|(key, _, _)| key.strip_prefix(PRODUCER_OVERRIDE))
        .collect();
    let is_overridden = |key: &str| {
        key.rsplit_once(".producer.")
            .map(|(_, setting)| setting)
            .or_else(|| key.strip_prefix("producer."))
            .is_some_and(|setting| overridden.contains(&setting))
            && !key.starts_with(PRODUCER_OVERRIDE)
    };

    let name = match (top.get("name"), config.get("name")) {
        (Some(Value::String(name)), _) | (_, Some(Value::String(name))) => Some(name.clone()),
        _ => None,
    };
    let Some((_, class_name, class_line)) = lookup("connector.class") else {
        return Err(ConfigError::new(
            Location::new(source_name, None),
            "connector.class",
            ConfigErrorKind::Missing {
                what: "the connector class (e.g. org.apache.kafka.connect.mirror.MirrorSourceConnector)",
            },
        ));
    };
    let class = ConnectorClass::from_class_name(class_name.trim()).ok_or_else(|| {
        ConfigError::new(
            Location::new(source_name, *class_line),
            "connector.class",
            ConfigErrorKind::UnknownConnectorClass {
                class: class_name.trim().to_owned(),
            },
        )
    })?;

    let mut properties = Properties::new();
    let mut connect_aliases = None;
    if let Some((_, source_alias, source_line)) = lookup("source.cluster.alias") {
        let source_alias = source_alias.trim().to_owned();
        let (target_alias, target_line, target_key) = match lookup("target.cluster.alias") {
            Some((_, alias, line)) => (alias.trim().to_owned(), *line, "target.cluster.alias"),
            None => (
                TARGET_CLUSTER_ALIAS_DEFAULT.to_owned(),
                *source_line,
                "source.cluster.alias",
            ),
        };
        if lookup("clusters").is_none() {
            properties.insert_translated(
                "clusters",
                target_key,
                format!("{source_alias}, {target_alias}"),
                target_line,
            );
        }
        connect_aliases = Some((source_alias.clone(), target_alias.clone()));
        let flow_enabled_key = format!("{source_alias}->{target_alias}.enabled");
        if lookup(&flow_enabled_key).is_none() {
            match lookup("enabled") {
                Some((key, value, line)) => {
                    properties.insert_translated(&flow_enabled_key, key, value, *line)
                }
                // Connect runs an MM2 connector unless told `enabled=false`.
                None => properties.insert_translated(
                    &flow_enabled_key,
                    "source.cluster.alias",
                    "true",
                    *source_line,
                ),
            }
        }
        for (key, value, line) in &entries {
            match key.as_str() {
                "source.cluster.alias"
                | "target.cluster.alias"
                | "enabled"
                | "name"
                | "connector.class" => continue,
                _ => {}
            }
            if is_overridden(key) {
                continue;
            }
            let flow = format!("{source_alias}->{target_alias}");
            let translated = translate_connect_key(key, &source_alias, &target_alias)
                .or_else(|| translate_client_key(key, &flow));
            match translated {
                Some(translated) => properties.insert_translated(translated, key, value, *line),
                None => properties.insert(key, value, *line),
            }
        }
    } else if let Some((_, clusters, _)) = lookup("clusters") {
        let aliases = crate::filter::parse_list(clusters);
        for (key, value, line) in &entries {
            if key == "name" || key == "connector.class" || is_overridden(key) {
                continue;
            }
            match key.strip_prefix(PRODUCER_OVERRIDE) {
                // One connector runs every flow: the override is each one's.
                Some(setting) => {
                    for source in &aliases {
                        for target in aliases.iter().filter(|target| *target != source) {
                            properties.insert_translated(
                                format!("{source}->{target}.producer.{setting}"),
                                key,
                                value,
                                *line,
                            );
                        }
                    }
                }
                None => properties.insert(key, value, *line),
            }
        }
    } else {
        return Err(ConfigError::new(
            Location::new(source_name, None),
            "source.cluster.alias",
            ConfigErrorKind::Missing {
                what: "source.cluster.alias (or MM2's clusters and <source>-><target>.enabled)",
            },
        ));
    }
    Ok(TranslatedConnector {
        properties,
        connector: ConnectorInfo { name, class },
        connect_aliases,
    })
}

/// `source.cluster.x` → `<source>.x`, `source.consumer.x` → `<source>.consumer.x`,
/// and the same for `target`.
fn translate_connect_key(key: &str, source_alias: &str, target_alias: &str) -> Option<String> {
    for (side, alias) in [("source.", source_alias), ("target.", target_alias)] {
        let Some(rest) = key.strip_prefix(side) else {
            continue;
        };
        if let Some(setting) = rest.strip_prefix("cluster.") {
            return Some(format!("{alias}.{setting}"));
        }
        for client in ["consumer.", "producer.", "admin."] {
            if rest.starts_with(client) {
                return Some(format!("{alias}.{rest}"));
            }
        }
    }
    None
}

const PRODUCER_OVERRIDE: &str = "producer.override.";

/// A connector-level client key with Connect's keys: `producer.override.x`
/// and `producer.x` → `<flow>.producer.x`, `consumer.x` → `<flow>.consumer.x`,
/// `admin.x` → `<flow>.admin.x`. `consumer.override.*` and
/// `admin.override.*` stay as they are (Connect does not apply them to a
/// source connector's clients, or kmirror has no such client).
fn translate_client_key(key: &str, flow: &str) -> Option<String> {
    if let Some(setting) = key.strip_prefix(PRODUCER_OVERRIDE) {
        return Some(format!("{flow}.producer.{setting}"));
    }
    if key.starts_with("consumer.override.") || key.starts_with("admin.override.") {
        return None;
    }
    ["consumer.", "producer.", "admin."]
        .iter()
        .any(|role| key.starts_with(role))
        .then(|| format!("{flow}.{key}"))
}

/// The line of the first `"key":` in the JSON text, for error messages.
fn find_key_line(json: &str, key: &str) -> Option<u32> {
    let quoted = serde_json::to_string(key).ok()?;
    let mut search_from = 0;
    while let Some(offset) = json[search_from..].find(&quoted) {
        let start = search_from + offset;
        let after = &json[start + quoted.len()..];
        if after.trim_start().starts_with(':') {
            let line = json[..start].matches('\n').count() + 1;
            return u32::try_from(line).ok();
        }
        search_from = start + quoted.len();
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_lines() {
        let json = "{\n  \"name\": \"x\",\n  \"config\": {\n    \"tasks.max\": \"4\"\n  }\n}";
        assert_eq!(find_key_line(json, "name"), Some(2));
        assert_eq!(find_key_line(json, "tasks.max"), Some(4));
        assert_eq!(find_key_line(json, "missing"), None);
        // A value equal to a key is not a key.
        let json = "{\"a\": \"b\",\n \"b\": 1}";
        assert_eq!(find_key_line(json, "b"), Some(2));
    }

    #[test]
    fn connect_key_translation() {
        assert_eq!(
            translate_connect_key("source.cluster.bootstrap.servers", "a", "b").as_deref(),
            Some("a.bootstrap.servers")
        );
        assert_eq!(
            translate_connect_key("target.producer.linger.ms", "a", "b").as_deref(),
            Some("b.producer.linger.ms")
        );
        assert_eq!(translate_connect_key("topics", "a", "b"), None);
        assert_eq!(
            translate_client_key("producer.override.acks", "a->b").as_deref(),
            Some("a->b.producer.acks")
        );
        assert_eq!(
            translate_client_key("consumer.fetch.min.bytes", "a->b").as_deref(),
            Some("a->b.consumer.fetch.min.bytes")
        );
        assert_eq!(translate_client_key("consumer.override.x", "a->b"), None);
        assert_eq!(translate_client_key("tasks.max", "a->b"), None);
        assert_eq!(translate_connect_key("source.other", "a", "b"), None);
    }
}
