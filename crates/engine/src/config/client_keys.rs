//! The settings of Kafka's Java clients (`CommonClientConfigs`,
//! `ConsumerConfig`, `ProducerConfig`, `AdminClientConfig`, Kafka 4.x), as
//! they reach kmirror through `<alias>.consumer.*`, `<alias>.producer.*`,
//! `<alias>.admin.*`, their flow-level forms and Connect's
//! `producer.override.*` / `consumer.override.*`, and what kmirror's own
//! client makes of each.
//!
//! kmirror has one client per cluster side, not Java's three, and forwards
//! record batches as they are, so some client settings mean nothing here:
//! those are [`ClientKeySupport::NotApplicable`] with the reason an operator
//! is told once.

use super::properties::Properties;

/// What kmirror's client does with a Kafka client setting.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ClientKeySupport {
    /// Applied to kmirror's own client (see `docs/CLIENT-SETTINGS.md`).
    Honoured,
    /// Cannot apply to batch pass-through or to kmirror's client; the text
    /// says why.
    NotApplicable(&'static str),
    /// A Kafka client setting kmirror accepts and does not act on.
    NotHonoured,
}

const RECORDS_ARE_NOT_DESERIALIZED: &str =
    "batches are forwarded as they are: records are never deserialized or serialized";
const BATCHES_KEEP_THEIR_CODEC: &str =
    "batches keep the source's codec: kmirror never recompresses";
const BATCHES_ARE_NOT_REBUILT: &str =
    "batches are forwarded as the source wrote them: kmirror does not build batches";
const PARTITIONS_ARE_KEPT: &str = "a record goes to the same partition number it had on the source";
const NO_CONSUMER_GROUP: &str =
    "kmirror reads by partition and keeps its positions in MM2's offsets topic, not in a consumer group";
const TARGET_CHECKS_CRCS: &str =
    "the target broker checks every batch's CRC, and kmirror keeps a wrong CRC wrong";
const NO_JAVA_CLASSES: &str = "kmirror runs no Java classes, and records are never deserialized";
const ALWAYS_IDEMPOTENT: &str =
    "kmirror's producer is always idempotent: it is what makes retries free of duplicates";

/// Client settings that cannot apply, with the reason.
const NOT_APPLICABLE: &[(&str, &str)] = &[
    ("key.serializer", RECORDS_ARE_NOT_DESERIALIZED),
    ("value.serializer", RECORDS_ARE_NOT_DESERIALIZED),
    ("key.deserializer", RECORDS_ARE_NOT_DESERIALIZED),
    ("value.deserializer", RECORDS_ARE_NOT_DESERIALIZED),
    ("check.crcs", TARGET_CHECKS_CRCS),
    ("interceptor.classes", NO_JAVA_CLASSES),
    ("compression.type", BATCHES_KEEP_THEIR_CODEC),
    ("compression.gzip.level", BATCHES_KEEP_THEIR_CODEC),
    ("compression.lz4.level", BATCHES_KEEP_THEIR_CODEC),
    ("compression.zstd.level", BATCHES_KEEP_THEIR_CODEC),
    ("linger.ms", BATCHES_ARE_NOT_REBUILT),
    ("batch.size", BATCHES_ARE_NOT_REBUILT),
    ("buffer.memory", BATCHES_ARE_NOT_REBUILT),
    ("partitioner.class", PARTITIONS_ARE_KEPT),
    ("partitioner.ignore.keys", PARTITIONS_ARE_KEPT),
    (
        "partitioner.adaptive.partitioning.enable",
        PARTITIONS_ARE_KEPT,
    ),
    ("partitioner.availability.timeout.ms", PARTITIONS_ARE_KEPT),
    ("group.id", NO_CONSUMER_GROUP),
    ("group.instance.id", NO_CONSUMER_GROUP),
    ("group.protocol", NO_CONSUMER_GROUP),
    ("group.remote.assignor", NO_CONSUMER_GROUP),
    ("partition.assignment.strategy", NO_CONSUMER_GROUP),
    ("enable.auto.commit", NO_CONSUMER_GROUP),
    ("auto.commit.interval.ms", NO_CONSUMER_GROUP),
    ("max.poll.records", NO_CONSUMER_GROUP),
    ("max.poll.interval.ms", NO_CONSUMER_GROUP),
    ("enable.idempotence", ALWAYS_IDEMPOTENT),
];

/// Kafka client settings kmirror accepts without acting on them.
const NOT_HONOURED: &[&str] = &[
    "client.dns.lookup",
    "default.api.timeout.ms",
    "metrics.sample.window.ms",
    "metrics.num.samples",
    "metrics.recording.level",
    "metric.reporters",
    "auto.include.jmx.reporter",
    "enable.metrics.push",
    "security.providers",
    "metadata.recovery.strategy",
    "metadata.recovery.rebootstrap.trigger.ms",
    "bootstrap.controllers",
    "retries",
    "session.timeout.ms",
    "heartbeat.interval.ms",
    "auto.offset.reset",
    "exclude.internal.topics",
    "isolation.level",
    "allow.auto.create.topics",
    "max.block.ms",
    "metadata.max.idle.ms",
    "transactional.id",
    "internal.leave.group.on.close",
    "internal.throw.on.fetch.stable.offset.unsupported",
];

/// What kmirror does with the Kafka client setting `key` (prefix such as
/// `consumer.` already stripped), if it is one. Security keys and
/// `bootstrap.servers` are honoured.
pub(crate) fn client_key_support(key: &str) -> Option<ClientKeySupport> {
    if key == "bootstrap.servers"
        || super::keys::is_security_key(key)
        || super::client_settings::all_keys().any(|k| k == key)
    {
        return Some(ClientKeySupport::Honoured);
    }
    if let Some((_, reason)) = NOT_APPLICABLE.iter().find(|(k, _)| *k == key) {
        return Some(ClientKeySupport::NotApplicable(reason));
    }
    NOT_HONOURED
        .contains(&key)
        .then_some(ClientKeySupport::NotHonoured)
}

/// Every client setting name known here, for "did you mean" suggestions.
pub(crate) fn known_client_keys() -> impl Iterator<Item = &'static str> {
    super::client_settings::all_keys()
        .chain(NOT_APPLICABLE.iter().map(|(k, _)| *k))
        .chain(NOT_HONOURED.iter().copied())
        .chain(["bootstrap.servers", "security.protocol"])
}

/// Connect applies `consumer.override.*` to sink connectors only.
const CONSUMER_OVERRIDE_IN_SOURCE_CONNECTOR: &str =
    "Connect applies consumer.override.* to sink connectors only, and MM2's connectors are \
     source connectors: use source.consumer.* or consumer.*";

/// The client settings in `properties` that cannot apply, as written, with
/// the reason, in file order: `<scope>.<role>.<key>` for each scope (a
/// cluster alias or a flow `a->b`), and Connect's `consumer.override.*`.
pub(crate) fn not_applicable_in(
    properties: &Properties,
    scopes: &[String],
) -> Vec<(String, &'static str)> {
    let mut found = Vec::new();
    // By line: the JSON form's properties are not in file order.
    let mut entries: Vec<_> = properties.iter().collect();
    entries.sort_by_key(|(_, entry)| entry.line.unwrap_or(u32::MAX));
    for (key, entry) in entries {
        let written = entry.original_key.clone().unwrap_or_else(|| key.to_owned());
        let consumer_override = written.strip_prefix("consumer.override.");
        if consumer_override.is_some_and(|setting| client_key_support(setting).is_some()) {
            found.push((written, CONSUMER_OVERRIDE_IN_SOURCE_CONNECTOR));
            continue;
        }
        let reason = scopes
            .iter()
            .filter_map(|scope| key.strip_prefix(scope.as_str())?.strip_prefix('.'))
            .flat_map(|rest| {
                ["consumer.", "producer.", "admin."]
                    .iter()
                    .filter_map(move |prefix| rest.strip_prefix(prefix))
            })
            .find_map(|setting| match client_key_support(setting) {
                Some(ClientKeySupport::NotApplicable(reason)) => Some(reason),
                _ => None,
            });
        if let Some(reason) = reason {
            found.push((written, reason));
        }
    }
    found
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lists_do_not_overlap() {
        let mut seen = std::collections::BTreeSet::new();
        for key in
            known_client_keys().filter(|k| *k != "bootstrap.servers" && *k != "security.protocol")
        {
            assert!(seen.insert(key), "{key} is listed twice");
        }
    }

    #[test]
    fn classification() {
        assert_eq!(
            client_key_support("client.rack"),
            Some(ClientKeySupport::Honoured)
        );
        assert_eq!(
            client_key_support("ssl.truststore.location"),
            Some(ClientKeySupport::Honoured)
        );
        assert!(matches!(
            client_key_support("linger.ms"),
            Some(ClientKeySupport::NotApplicable(_))
        ));
        assert_eq!(
            client_key_support("metric.reporters"),
            Some(ClientKeySupport::NotHonoured)
        );
        assert_eq!(client_key_support("fetch.max.byte"), None);
    }
}
