//! The broker-side size limit of a topic, `max.message.bytes`: a produced
//! batch larger than it is refused (MESSAGE_TOO_LARGE). kmirror forwards the
//! source's batches as they are, so a remote topic whose limit is below its
//! source topic's refuses batches the source accepted, and their partition
//! pauses until the limit is raised. This module says which limit to raise
//! when that happens, and finds such topics ahead for `kmirror check`.

use std::fmt;

use kmirror_client::admin::{ConfigEntry, ConfigSource};
use kmirror_client::{ClientError, KafkaClient};

use super::config_sync::creation_configs;
use crate::config::mm2::FlowConfig;

/// The topic config that limits a batch's size.
pub const MAX_MESSAGE_BYTES: &str = "max.message.bytes";
/// The broker config a topic without its own `max.message.bytes` follows.
pub const BROKER_MESSAGE_MAX_BYTES: &str = "message.max.bytes";

/// A topic's `max.message.bytes` and where its value comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MessageSizeLimit {
    pub bytes: i64,
    /// Set on the topic itself, rather than the broker's
    /// `message.max.bytes`.
    pub set_on_topic: bool,
}

impl fmt::Display for MessageSizeLimit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.set_on_topic {
            write!(f, "{} bytes (set on the topic)", self.bytes)
        } else {
            write!(
                f,
                "{} bytes (the broker's {BROKER_MESSAGE_MAX_BYTES})",
                self.bytes
            )
        }
    }
}

impl MessageSizeLimit {
    /// The limit in a topic's described configs (DescribeConfigs gives the
    /// effective value, the broker's default when the topic sets none).
    pub fn from_topic_configs(entries: &[ConfigEntry]) -> Option<Self> {
        let entry = entries.iter().find(|e| e.name == MAX_MESSAGE_BYTES)?;
        Some(MessageSizeLimit {
            bytes: entry.value.as_deref()?.parse().ok()?,
            set_on_topic: entry.source == ConfigSource::DynamicTopic,
        })
    }
}

/// The `max.message.bytes` of `topic` on `client`'s cluster.
pub async fn topic_limit(
    client: &KafkaClient,
    topic: &str,
) -> Result<Option<MessageSizeLimit>, ClientError> {
    match client
        .admin()
        .describe_topic_configs(&[topic])
        .await?
        .into_values()
        .next()
    {
        Some(entries) => Ok(MessageSizeLimit::from_topic_configs(&entries?)),
        None => Ok(None),
    }
}

/// The `message.max.bytes` of a broker of `client`'s cluster: the limit of
/// a topic created there without its own.
pub async fn broker_limit(client: &KafkaClient) -> Result<Option<i64>, ClientError> {
    let Some(&broker) = client.metadata().brokers.keys().min() else {
        return Ok(None);
    };
    let entries = client.admin().describe_broker_configs(broker).await?;
    Ok(entries
        .iter()
        .find(|e| e.name == BROKER_MESSAGE_MAX_BYTES)
        .and_then(|e| e.value.as_deref()?.parse().ok()))
}

/// What to do about a batch of `batch_bytes` the remote topic refused as
/// too large, given its limit when it could be read.
pub fn too_large_hint(
    cluster: &str,
    remote_topic: &str,
    batch_bytes: u32,
    limit: Option<MessageSizeLimit>,
) -> String {
    let now = match limit {
        Some(limit) => format!(", now {limit},"),
        None => String::new(),
    };
    format!(
        "raise {MAX_MESSAGE_BYTES} of topic {remote_topic} on {cluster}{now} to at least the batch's {batch_bytes} bytes, \
         e.g. kafka-configs.sh --alter --entity-type topics --entity-name {remote_topic} --add-config {MAX_MESSAGE_BYTES}={batch_bytes}; \
         the partition resumes by itself"
    )
}

/// A remote topic whose limit is below its source topic's: batches the
/// source accepted may be refused by the target.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LimitBelowSource {
    pub source_topic: String,
    pub remote_topic: String,
    pub source: MessageSizeLimit,
    pub remote: MessageSizeLimit,
    /// False when the remote topic does not exist yet: `remote` is the
    /// limit it will be created with.
    pub remote_exists: bool,
}

impl LimitBelowSource {
    /// One line for `kmirror check`.
    pub fn describe(&self, flow: &FlowConfig) -> String {
        let (remote, will) = if self.remote_exists {
            (format!("{}: {}", flow.target, self.remote_topic), "has")
        } else {
            (
                format!("{}: {} (not created yet)", flow.target, self.remote_topic),
                "will have",
            )
        };
        format!(
            "{remote} {will} {MAX_MESSAGE_BYTES} {}, below {}: {}'s {}: a source batch larger than {} bytes would pause its partition; \
             raise {MAX_MESSAGE_BYTES} of {} on {} to {}",
            self.remote,
            flow.source,
            self.source_topic,
            self.source,
            self.remote.bytes,
            self.remote_topic,
            flow.target,
            self.source.bytes
        )
    }
}

/// The topics of `flow` (source names) whose remote topic's limit is, or
/// will be once kmirror creates it, below the source topic's. A remote
/// topic kmirror creates gets the source's `max.message.bytes` when it
/// copies it (see [`creation_configs`]), else the target broker's
/// `message.max.bytes`.
pub async fn limits_below_source(
    flow: &FlowConfig,
    source: &KafkaClient,
    target: &KafkaClient,
    topics: &[String],
) -> Result<Vec<LimitBelowSource>, ClientError> {
    if topics.is_empty() {
        return Ok(Vec::new());
    }
    let remotes: Vec<String> = topics.iter().map(|t| flow.remote_topic(t)).collect();
    let source_configs = source.admin().describe_topic_configs(topics).await?;
    let target_metadata = target.refresh_metadata(Some(&remotes)).await?;
    let existing: Vec<&String> = remotes
        .iter()
        .filter(|r| {
            target_metadata
                .topics
                .get(*r)
                .is_some_and(|t| t.error.is_none())
        })
        .collect();
    let remote_configs = target.admin().describe_topic_configs(&existing).await?;
    let mut target_default: Option<Option<i64>> = None;
    let mut found = Vec::new();
    for (topic, remote_topic) in topics.iter().zip(&remotes) {
        let Some(Ok(entries)) = source_configs.get(topic) else {
            continue;
        };
        let Some(source_limit) = MessageSizeLimit::from_topic_configs(entries) else {
            continue;
        };
        let (remote_limit, remote_exists) = match remote_configs.get(remote_topic) {
            Some(Ok(entries)) => (MessageSizeLimit::from_topic_configs(entries), true),
            Some(Err(_)) => (None, true),
            None => {
                // Created with the source's value when kmirror copies it,
                // else with the target broker's default.
                let copied = creation_configs(&flow.config_properties, entries)
                    .get(MAX_MESSAGE_BYTES)
                    .and_then(|v| v.parse().ok());
                let limit = match copied {
                    Some(bytes) => Some(MessageSizeLimit {
                        bytes,
                        set_on_topic: true,
                    }),
                    None => {
                        if target_default.is_none() {
                            target_default = Some(broker_limit(target).await?);
                        }
                        target_default.flatten().map(|bytes| MessageSizeLimit {
                            bytes,
                            set_on_topic: false,
                        })
                    }
                };
                (limit, false)
            }
        };
        if let Some(remote_limit) = remote_limit {
            if remote_limit.bytes < source_limit.bytes {
                found.push(LimitBelowSource {
                    source_topic: topic.clone(),
                    remote_topic: remote_topic.clone(),
                    source: source_limit,
                    remote: remote_limit,
                    remote_exists,
                });
            }
        }
    }
    Ok(found)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::runtime::test_configs::entry;

    #[test]
    fn the_limit_says_whether_the_topic_sets_it() {
        let own = [entry(MAX_MESSAGE_BYTES, "1000", ConfigSource::DynamicTopic)];
        let limit = MessageSizeLimit::from_topic_configs(&own).unwrap();
        assert_eq!(limit.bytes, 1000);
        assert_eq!(limit.to_string(), "1000 bytes (set on the topic)");
        let inherited = [
            entry("retention.ms", "1", ConfigSource::DynamicTopic),
            entry(MAX_MESSAGE_BYTES, "1048588", ConfigSource::Default),
        ];
        let limit = MessageSizeLimit::from_topic_configs(&inherited).unwrap();
        assert_eq!(
            limit.to_string(),
            "1048588 bytes (the broker's message.max.bytes)"
        );
        assert_eq!(MessageSizeLimit::from_topic_configs(&inherited[..1]), None);
    }

    #[test]
    fn the_hint_names_the_setting_the_topic_and_both_sizes() {
        let hint = too_large_hint(
            "kafka-b",
            "kafka-a.orders",
            5123,
            Some(MessageSizeLimit {
                bytes: 1000,
                set_on_topic: true,
            }),
        );
        assert!(hint.starts_with(
            "raise max.message.bytes of topic kafka-a.orders on kafka-b, now 1000 bytes (set on the topic), to at least the batch's 5123 bytes"
        ), "{hint}");
    }
}
