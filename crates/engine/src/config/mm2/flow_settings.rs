//! Typing each flow's settings as `MirrorMakerConfig` resolves them: the
//! `source->target.<key>` over the top-level `<key>` over MM2's default, for
//! every pair MM2 would run a herder for.

use std::collections::BTreeMap;

use super::flows::defaults;
use super::values::{
    check_replication_factor, parse_bool, parse_i16, parse_i32, parse_i64, parse_patterns, periodic,
};
use super::{
    Builder, ClientOverrides, ClusterAlias, FlowConfig, OffsetSyncsTopicLocation, Setting,
};
use crate::config::client_settings;
use crate::config::error::{ConfigError, ConfigErrorKind, Location};
use crate::filter::{ConfigPropertyFilter, DefaultsFrom, GroupFilter, TopicFilter};
use crate::policy::{ReplicationPolicy, DEFAULT_POLICY_CLASS, IDENTITY_POLICY_CLASS};

impl<'a> Builder<'a> {
    /// Every pair MM2 would run a herder for (`MirrorMakerConfig.clusterPairs`),
    /// with its settings typed; errors are collected.
    pub(super) fn resolve_pairs(
        &mut self,
        aliases: &[ClusterAlias],
        flow_client_overrides: &mut BTreeMap<(String, String), ClientOverrides>,
    ) -> Vec<FlowConfig> {
        let mut pairs = Vec::new();
        for source in aliases {
            for target in aliases {
                if source == target || !self.herder_exists(source, target) {
                    continue;
                }
                match self.resolve_flow(source, target) {
                    Ok(mut flow) => {
                        let pair = (source.as_str().to_owned(), target.as_str().to_owned());
                        if let Some(overrides) = flow_client_overrides.remove(&pair) {
                            flow.client_overrides = overrides;
                        }
                        let found = (&mut self.errors, &mut self.warnings);
                        client_settings::resolve_into(&mut flow, self.raw, self.source_name, found);
                        pairs.push(flow);
                    }
                    Err(error) => {
                        if !self.errors.contains(&error) {
                            self.errors.push(error);
                        }
                    }
                }
            }
        }
        pairs
    }

    /// The setting of exactly `key`.
    fn setting_at(&self, key: &str) -> Option<Setting<'a>> {
        let raw = self.raw;
        raw.entry(key).map(|entry| Setting {
            key: entry.original_key.clone().unwrap_or_else(|| key.to_owned()),
            value: entry.value.as_str(),
            location: Location::new(self.source_name, entry.line),
        })
    }

    /// A setting of the flow `source->target`: the flow key, else the top-level key.
    pub(super) fn flow_setting(
        &self,
        source: &str,
        target: &str,
        key: &str,
    ) -> Option<Setting<'a>> {
        let flow_key = format!("{source}->{target}.{key}");
        let raw = self.raw;
        let found = [flow_key.as_str(), key].into_iter().find_map(|candidate| {
            raw.entry(candidate).map(|entry| Setting {
                key: entry
                    .original_key
                    .clone()
                    .unwrap_or_else(|| candidate.to_owned()),
                value: entry.value.as_str(),
                location: Location::new(self.source_name, entry.line),
            })
        });
        found
    }

    /// MM2 creates a herder for `source->target` when `source->target.enabled`
    /// is true or heartbeats are on for the pair (Java `Boolean.parseBoolean`).
    fn herder_exists(&self, source: &ClusterAlias, target: &ClusterAlias) -> bool {
        let java_true = |value: &str| value.trim().eq_ignore_ascii_case("true");
        let enabled = self
            .raw
            .get(&format!("{source}->{target}.enabled"))
            .is_some_and(java_true);
        let heartbeats = self
            .raw
            .get(&format!("{source}->{target}.emit.heartbeats.enabled"))
            .or_else(|| self.raw.get("emit.heartbeats.enabled"))
            .map(java_true)
            .unwrap_or(true);
        enabled || heartbeats
    }

    fn resolve_flow(
        &self,
        source: &ClusterAlias,
        target: &ClusterAlias,
    ) -> Result<FlowConfig, ConfigError> {
        let get = |key: &str| self.flow_setting(source.as_str(), target.as_str(), key);
        // A deprecated alias counts only when the current key is set nowhere
        // (Kafka's `ConfigUtils.translateDeprecatedConfigs` on the merged config).
        let get_with_legacy = |key: &str, legacy: &str| get(key).or_else(|| get(legacy));

        let mut flow = FlowConfig::with_defaults(source.clone(), target.clone());
        flow.replication_enabled = parse_bool(get("enabled"), false)?;

        let topics_include = get("topics");
        let topics_exclude = get_with_legacy("topics.exclude", "topics.blacklist");
        flow.topics = TopicFilter {
            include: parse_patterns(topics_include, TopicFilter::DEFAULT_INCLUDE)?,
            exclude: parse_patterns(topics_exclude, TopicFilter::DEFAULT_EXCLUDE)?,
        };
        flow.groups = GroupFilter {
            include: parse_patterns(get("groups"), GroupFilter::DEFAULT_INCLUDE)?,
            exclude: parse_patterns(
                get_with_legacy("groups.exclude", "groups.blacklist"),
                GroupFilter::DEFAULT_EXCLUDE,
            )?,
        };
        flow.config_properties = ConfigPropertyFilter {
            exclude: parse_patterns(
                get_with_legacy("config.properties.exclude", "config.properties.blacklist"),
                ConfigPropertyFilter::DEFAULT_EXCLUDE,
            )?,
            use_defaults_from: match get("use.defaults.from") {
                None => DefaultsFrom::Target,
                Some(setting) => match setting.value.trim() {
                    "target" => DefaultsFrom::Target,
                    "source" => DefaultsFrom::Source,
                    other => {
                        return Err(setting.error(ConfigErrorKind::NotOneOf {
                            value: other.to_owned(),
                            allowed: "target, source",
                        }))
                    }
                },
            },
        };

        let separator = match get("replication.policy.separator") {
            Some(setting) => {
                let value = setting.value.trim();
                if value.is_empty() {
                    return Err(setting.error(ConfigErrorKind::Empty));
                }
                value.to_owned()
            }
            None => crate::policy::DEFAULT_SEPARATOR.to_owned(),
        };
        let internal_topic_separator_enabled = parse_bool(
            get("replication.policy.internal.topic.separator.enabled"),
            true,
        )?;
        flow.policy = match get("replication.policy.class") {
            None => ReplicationPolicy::Default {
                separator,
                internal_topic_separator_enabled,
            },
            Some(setting) => match setting.value.trim() {
                DEFAULT_POLICY_CLASS | "DefaultReplicationPolicy" => ReplicationPolicy::Default {
                    separator,
                    internal_topic_separator_enabled,
                },
                IDENTITY_POLICY_CLASS | "IdentityReplicationPolicy" => {
                    ReplicationPolicy::Identity {
                        separator,
                        internal_topic_separator_enabled,
                        // MM2's connectors always pass `source.cluster.alias` to the policy.
                        source_cluster_alias: Some(source.as_str().to_owned()),
                    }
                }
                other => {
                    return Err(
                        setting.error(ConfigErrorKind::UnsupportedReplicationPolicy {
                            class: other.to_owned(),
                        }),
                    )
                }
            },
        };

        flow.replication_factor = check_replication_factor(
            get("replication.factor"),
            parse_i32(get("replication.factor"), defaults::REPLICATION_FACTOR)?.into(),
        )? as i32;
        for (key, field) in [
            (
                "heartbeats.topic.replication.factor",
                &mut flow.heartbeats_topic_replication_factor,
            ),
            (
                "checkpoints.topic.replication.factor",
                &mut flow.checkpoints_topic_replication_factor,
            ),
            (
                "offset-syncs.topic.replication.factor",
                &mut flow.offset_syncs_topic_replication_factor,
            ),
        ] {
            let value = parse_i16(get(key), defaults::INTERNAL_TOPIC_REPLICATION_FACTOR)?;
            *field = check_replication_factor(get(key), value.into())? as i16;
        }

        flow.offset_syncs_topic_location = match get("offset-syncs.topic.location") {
            None => OffsetSyncsTopicLocation::Source,
            Some(setting) => match setting.value.trim() {
                "source" => OffsetSyncsTopicLocation::Source,
                "target" => OffsetSyncsTopicLocation::Target,
                other => {
                    return Err(setting.error(ConfigErrorKind::NotOneOf {
                        value: other.to_owned(),
                        allowed: "source, target",
                    }))
                }
            },
        };

        let tasks_max = parse_i32(get("tasks.max"), defaults::TASKS_MAX)?;
        flow.tasks_max = match u32::try_from(tasks_max) {
            Ok(value) if value >= 1 => value,
            _ => {
                let setting = get("tasks.max").expect("the default is valid");
                return Err(setting.error(ConfigErrorKind::OutOfRange {
                    value: setting.value.trim().to_owned(),
                    reason: "must be at least 1",
                }));
            }
        };

        flow.refresh_topics = periodic(
            &get,
            "refresh.topics",
            true,
            defaults::REFRESH_TOPICS_SECONDS,
        )?;
        flow.refresh_groups = periodic(
            &get,
            "refresh.groups",
            true,
            defaults::REFRESH_GROUPS_SECONDS,
        )?;
        flow.emit_heartbeats = periodic(
            &get,
            "emit.heartbeats",
            true,
            defaults::EMIT_HEARTBEATS_SECONDS,
        )?;
        flow.emit_checkpoints = periodic(
            &get,
            "emit.checkpoints",
            true,
            defaults::EMIT_CHECKPOINTS_SECONDS,
        )?;
        flow.sync_group_offsets = periodic(
            &get,
            "sync.group.offsets",
            false,
            defaults::SYNC_GROUP_OFFSETS_SECONDS,
        )?;
        flow.sync_topic_configs = periodic(
            &get,
            "sync.topic.configs",
            true,
            defaults::SYNC_TOPIC_CONFIGS_SECONDS,
        )?;
        flow.sync_topic_acls = periodic(
            &get,
            "sync.topic.acls",
            true,
            defaults::SYNC_TOPIC_ACLS_SECONDS,
        )?;

        flow.heartbeats_replication_enabled =
            parse_bool(get("heartbeats.replication.enabled"), true)?;
        flow.emit_offset_syncs_enabled = parse_bool(get("emit.offset-syncs.enabled"), true)?;
        flow.offset_lag_max = parse_i64(get("offset.lag.max"), defaults::OFFSET_LAG_MAX)?;
        if flow.offset_lag_max < 0 {
            let setting = get("offset.lag.max").expect("the default is not negative");
            // MM2 takes any long and treats a negative one as 0.
            return Err(setting.error(ConfigErrorKind::OutOfRange {
                value: setting.value.trim().to_owned(),
                reason: "must be 0 or more (0 writes an offset sync for every batch)",
            }));
        }
        // A Connect worker setting: `<target>.<key>` over the top-level key.
        let offset_storage_key = "offset.storage.replication.factor";
        let offset_storage = || {
            self.setting_at(&format!("{target}.{offset_storage_key}"))
                .or_else(|| self.setting_at(offset_storage_key))
        };
        if offset_storage().is_some() {
            let value = parse_i16(offset_storage(), 0)?;
            flow.offset_storage_replication_factor =
                Some(check_replication_factor(offset_storage(), value.into())? as i16);
        }
        Ok(flow)
    }
}
