//! Topic config sync, as MM2's `MirrorSourceConnector` does it: a remote
//! topic is created with its source topic's configs, and every
//! `sync.topic.configs.interval.seconds` (600 by default;
//! `sync.topic.configs.enabled`) the remote topics follow later changes on
//! the source, through IncrementalAlterConfigs.
//!
//! Which configs (MM2's `targetConfig` and `DefaultConfigPropertyFilter`):
//! never read-only, sensitive or static-broker ones, nor those
//! `config.properties.exclude` names (its default: throttles, timestamp
//! policy, unclean election, `min.insync.replicas`). With
//! `use.defaults.from = target` (the default) only configs the source sets
//! (not at Kafka's default) are copied, and one the source resets to its
//! default is removed from the remote topic, which then follows the
//! target's default; with `source` every config is copied. kmirror keeps
//! `compression.type = producer` on remote topics whatever the source says:
//! batches are forwarded as compressed upstream, and any other codec would
//! make the target broker recompress each one.
//!
//! Runs on the flow's control unit, so on one worker of the flow's group.

use std::collections::BTreeMap;
use std::sync::Arc;

use kmirror_client::admin::{ConfigEntry, ConfigOp, ConfigSource};
use kmirror_client::ClientError;
use tokio_util::sync::CancellationToken;
use tracing::{info, warn};

use super::flow::FlowContext;
use super::ticker::Ticker;
use crate::filter::{should_replicate_topic, ConfigPropertyFilter};
use crate::metrics::ErrorKind;

/// The codec config kmirror keeps at `producer` on remote topics.
const COMPRESSION_TYPE: &str = "compression.type";

/// Whether the source config `entry` is one to carry over at all.
fn carried(filter: &ConfigPropertyFilter, entry: &ConfigEntry) -> bool {
    !entry.read_only
        && !entry.is_sensitive
        && entry.source != ConfigSource::StaticBroker
        && entry.name != COMPRESSION_TYPE
        && filter.should_replicate_config(&entry.name)
}

/// The configs a new remote topic is created with (MM2's
/// `targetConfig(config, false)`).
pub fn creation_configs(
    filter: &ConfigPropertyFilter,
    source: &[ConfigEntry],
) -> BTreeMap<String, String> {
    source
        .iter()
        .filter(|e| carried(filter, e))
        .filter(|e| e.source != ConfigSource::Default || filter.should_replicate_source_default())
        .filter_map(|e| Some((e.name.clone(), e.value.clone()?)))
        .collect()
}

/// The changes that make the remote topic's configs (`target`, as
/// described) follow the source topic's (`source`): a SET for each carried
/// config whose value differs from the remote topic's own, a DELETE for
/// each the source leaves at its default (under `use.defaults.from =
/// target`) that the remote topic overrides, and `compression.type =
/// producer`. Nothing for what already matches.
pub fn sync_ops(
    filter: &ConfigPropertyFilter,
    source: &[ConfigEntry],
    target: &[ConfigEntry],
) -> Vec<(String, ConfigOp)> {
    let overrides: BTreeMap<&str, Option<&str>> = target
        .iter()
        .filter(|e| e.source == ConfigSource::DynamicTopic)
        .map(|e| (e.name.as_str(), e.value.as_deref()))
        .collect();
    let mut ops = Vec::new();
    for entry in source.iter().filter(|e| carried(filter, e)) {
        let own = overrides.get(entry.name.as_str()).copied();
        if entry.source == ConfigSource::Default && !filter.should_replicate_source_default() {
            if own.is_some() {
                ops.push((entry.name.clone(), ConfigOp::Delete));
            }
            continue;
        }
        let Some(value) = entry.value.as_deref() else {
            continue;
        };
        if own != Some(Some(value)) {
            ops.push((entry.name.clone(), ConfigOp::Set(value.to_string())));
        }
    }
    if overrides.get(COMPRESSION_TYPE).copied() != Some(Some("producer")) {
        ops.push((COMPRESSION_TYPE.into(), ConfigOp::Set("producer".into())));
    }
    ops
}

/// Syncs the configs of every remote topic of the flow every
/// `sync.topic.configs.interval`, until `stop`.
pub(super) async fn run_config_sync(ctx: Arc<FlowContext>, stop: CancellationToken) {
    let Some(every) = ctx.flow.sync_topic_configs.interval() else {
        return;
    };
    let mut ticker = Ticker::new(every, &stop);
    while ticker.tick().await {
        if let Err(e) = sync_once(&ctx).await {
            warn!(flow = %ctx.name, error = %e, "cannot sync topic configs; retrying at the next interval");
            ctx.status.error(&ctx.name, ErrorKind::Discovery);
        }
    }
}

/// One sync of the remote topics that exist, of the source topics the
/// flow's discovery last saw (MM2: the topics being replicated).
async fn sync_once(ctx: &FlowContext) -> Result<(), ClientError> {
    let mut topics: Vec<String> = ctx
        .source
        .metadata()
        .topics
        .values()
        .filter(|t| t.error.is_none() && should_replicate_topic(&t.name, &ctx.flow))
        .map(|t| t.name.clone())
        .collect();
    if topics.is_empty() {
        return Ok(());
    }
    topics.sort();
    let remotes: Vec<String> = topics.iter().map(|t| ctx.flow.remote_topic(t)).collect();
    let target_metadata = ctx.target.refresh_metadata(Some(&remotes)).await?;
    let (topics, remotes): (Vec<String>, Vec<String>) = topics
        .into_iter()
        .zip(remotes)
        .filter(|(_, remote)| {
            target_metadata
                .topics
                .get(remote)
                .is_some_and(|t| t.error.is_none())
        })
        .unzip();
    if topics.is_empty() {
        return Ok(());
    }
    let (source_admin, target_admin) = (ctx.source.admin(), ctx.target.admin());
    let (source_configs, target_configs) = tokio::try_join!(
        source_admin.describe_topic_configs(&topics),
        target_admin.describe_topic_configs(&remotes),
    )?;
    for (topic, remote) in topics.iter().zip(&remotes) {
        let (Some(Ok(source)), Some(Ok(target))) =
            (source_configs.get(topic), target_configs.get(remote))
        else {
            // Deleted meanwhile, or not describable: the next sync sees.
            continue;
        };
        let ops = sync_ops(&ctx.flow.config_properties, source, target);
        if ops.is_empty() {
            continue;
        }
        let changed: Vec<&str> = ops.iter().map(|(name, _)| name.as_str()).collect();
        match ctx
            .target
            .admin()
            .incremental_alter_topic_configs(remote, &ops)
            .await
        {
            Ok(()) => info!(
                flow = %ctx.name,
                topic = %remote,
                configs = %changed.join(", "),
                "remote topic configs synced"
            ),
            Err(e) => {
                warn!(flow = %ctx.name, topic = %remote, error = %e, "cannot sync the remote topic's configs");
                ctx.status.error(&ctx.name, ErrorKind::Discovery);
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::filter::DefaultsFrom;
    use crate::runtime::test_configs::entry;

    fn source_topic() -> Vec<ConfigEntry> {
        vec![
            entry("retention.ms", "3600000", ConfigSource::DynamicTopic),
            entry("cleanup.policy", "delete", ConfigSource::Default),
            entry("segment.bytes", "1073741824", ConfigSource::Default),
            entry("max.message.bytes", "2000000", ConfigSource::DynamicBroker),
            entry("log.dirs", "/x", ConfigSource::StaticBroker),
            entry("min.insync.replicas", "2", ConfigSource::DynamicTopic),
            entry("compression.type", "zstd", ConfigSource::DynamicTopic),
            ConfigEntry {
                read_only: true,
                ..entry("message.format.version", "3.0", ConfigSource::DynamicTopic)
            },
        ]
    }

    #[test]
    fn a_new_remote_topic_gets_what_the_source_sets_unless_excluded() {
        let filter = ConfigPropertyFilter::default();
        let configs = creation_configs(&filter, &source_topic());
        assert_eq!(
            configs.keys().map(String::as_str).collect::<Vec<_>>(),
            ["max.message.bytes", "retention.ms"]
        );
        let filter = ConfigPropertyFilter {
            use_defaults_from: DefaultsFrom::Source,
            ..ConfigPropertyFilter::default()
        };
        let configs = creation_configs(&filter, &source_topic());
        assert!(configs.contains_key("cleanup.policy"));
        assert!(configs.contains_key("segment.bytes"));
        assert!(!configs.contains_key("log.dirs"));
        assert!(!configs.contains_key("min.insync.replicas"));
    }

    #[test]
    fn the_remote_topic_follows_changes_and_drops_what_the_source_reset() {
        let filter = ConfigPropertyFilter::default();
        let target = vec![
            // Was copied when the source set it; the source reset it since.
            entry("cleanup.policy", "compact", ConfigSource::DynamicTopic),
            // Stale.
            entry("retention.ms", "60000", ConfigSource::DynamicTopic),
            entry("max.message.bytes", "2000000", ConfigSource::DynamicTopic),
            entry("compression.type", "producer", ConfigSource::DynamicTopic),
            // The target's own, excluded: left alone.
            entry("min.insync.replicas", "1", ConfigSource::DynamicTopic),
        ];
        let ops = sync_ops(&filter, &source_topic(), &target);
        assert_eq!(
            ops,
            vec![
                ("retention.ms".to_string(), ConfigOp::Set("3600000".into())),
                ("cleanup.policy".to_string(), ConfigOp::Delete),
            ]
        );
        // In sync: nothing to do.
        let synced = vec![
            entry("retention.ms", "3600000", ConfigSource::DynamicTopic),
            entry("max.message.bytes", "2000000", ConfigSource::DynamicTopic),
            entry("compression.type", "producer", ConfigSource::DynamicTopic),
            entry("cleanup.policy", "delete", ConfigSource::Default),
        ];
        assert_eq!(sync_ops(&filter, &source_topic(), &synced), vec![]);
    }

    #[test]
    fn with_defaults_from_the_source_defaults_are_set_too() {
        let filter = ConfigPropertyFilter {
            use_defaults_from: DefaultsFrom::Source,
            ..ConfigPropertyFilter::default()
        };
        let target = vec![
            entry("retention.ms", "3600000", ConfigSource::DynamicTopic),
            entry("max.message.bytes", "2000000", ConfigSource::DynamicTopic),
            entry("cleanup.policy", "compact", ConfigSource::DynamicTopic),
        ];
        let ops = sync_ops(&filter, &source_topic(), &target);
        assert_eq!(
            ops,
            vec![
                ("cleanup.policy".to_string(), ConfigOp::Set("delete".into())),
                (
                    "segment.bytes".to_string(),
                    ConfigOp::Set("1073741824".into())
                ),
                (
                    "compression.type".to_string(),
                    ConfigOp::Set("producer".into())
                ),
            ]
        );
    }

    #[test]
    fn use_defaults_from_is_read_per_flow_and_checked() {
        use crate::config::mm2::Mm2Config;
        let base = "clusters = a, b\na.bootstrap.servers = 127.0.0.1:1\n\
                    b.bootstrap.servers = 127.0.0.1:2\na->b.enabled = true\n";
        let config = Mm2Config::parse(base, "mm2.properties").unwrap();
        let flow = config.flow("a", "b").unwrap();
        assert_eq!(
            flow.config_properties.use_defaults_from,
            DefaultsFrom::Target
        );
        let text = format!("{base}a->b.use.defaults.from = source\n");
        let config = Mm2Config::parse(&text, "mm2.properties").unwrap();
        let flow = config.flow("a", "b").unwrap();
        assert_eq!(
            flow.config_properties.use_defaults_from,
            DefaultsFrom::Source
        );
        assert!(!config
            .unsupported_keys()
            .iter()
            .any(|k| k.contains("use.defaults.from")));
        let text = format!("{base}use.defaults.from = nowhere\n");
        let error = Mm2Config::parse(&text, "mm2.properties").unwrap_err();
        assert!(
            error
                .to_string()
                .contains("\"nowhere\" is not one of: target, source"),
            "{error}"
        );
    }
}
