//! Typing each flow's settings as `MirrorMakerConfig` resolves them: the
//! `source->target.<key>` over the top-level `<key>` over MM2's default, for
//! every pair MM2 would run a herder for.

use std::collections::BTreeMap;

use super::exactly_once;
use super::flow_keys::{
    flow_value, BOOL, DEFAULTS_FROM, NON_EMPTY, OFFSET_LAG, OFFSET_SYNCS_LOCATION, POLICY_CLASS,
    REGEX_LIST, REPLICATION_FACTOR, TASK_COUNT, TOPIC_REPLICATION_FACTOR,
};
use super::values::{periodic, topic_replication_factor_value, PolicyClass};
use super::{Builder, ClientOverrides, ClusterAlias, FlowConfig, Setting};
use crate::config::client_settings;
use crate::config::error::{ConfigError, Location};
use crate::filter::{ConfigPropertyFilter, GroupFilter, TopicFilter};
use crate::policy::ReplicationPolicy;

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
                        match self.resolve_exactly_once(&flow) {
                            Ok(exactly_once) => flow.exactly_once = exactly_once,
                            Err(error) => self.errors.push(error),
                        }
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
            .unwrap_or_else(|| BOOL.default_of("emit.heartbeats.enabled"));
        enabled || heartbeats
    }

    /// The flow's exactly-once settings: `exactly.once.source.support` of
    /// the target (`<target>.exactly.once.source.support` over the top-level
    /// key; Connect's worker setting), then the connector's keys.
    fn resolve_exactly_once(
        &self,
        flow: &FlowConfig,
    ) -> Result<Option<exactly_once::ExactlyOnce>, ConfigError> {
        let (source, target) = (flow.source.as_str(), flow.target.as_str());
        let support_key = "exactly.once.source.support";
        let support = match self
            .setting_at(&format!("{target}.{support_key}"))
            .or_else(|| self.setting_at(support_key))
        {
            Some(setting) => exactly_once::support_value(&setting)?,
            None => exactly_once::ExactlyOnceSupport::Disabled,
        };
        let get = |key: &str| self.flow_setting(source, target, key);
        let timeout = flow.client_settings.producer.transaction_timeout;
        exactly_once::resolve(support, &get, timeout)
    }

    fn resolve_flow(
        &self,
        source: &ClusterAlias,
        target: &ClusterAlias,
    ) -> Result<FlowConfig, ConfigError> {
        // Each key's parser, MM2 default and legacy aliases come from the
        // key table (`flow_keys`), through `flow_value`.
        let get = |key: &str| self.flow_setting(source.as_str(), target.as_str(), key);
        let mut flow = FlowConfig::with_defaults(source.clone(), target.clone());
        flow.replication_enabled = flow_value(&get, "enabled", BOOL)?;

        flow.topics = TopicFilter {
            include: flow_value(&get, "topics", REGEX_LIST)?,
            exclude: flow_value(&get, "topics.exclude", REGEX_LIST)?,
        };
        flow.groups = GroupFilter {
            include: flow_value(&get, "groups", REGEX_LIST)?,
            exclude: flow_value(&get, "groups.exclude", REGEX_LIST)?,
        };
        flow.config_properties = ConfigPropertyFilter {
            exclude: flow_value(&get, "config.properties.exclude", REGEX_LIST)?,
            use_defaults_from: flow_value(&get, "use.defaults.from", DEFAULTS_FROM)?,
        };

        let separator = flow_value(&get, "replication.policy.separator", NON_EMPTY)?;
        let internal_topic_separator_enabled = flow_value(
            &get,
            "replication.policy.internal.topic.separator.enabled",
            BOOL,
        )?;
        flow.policy = match flow_value(&get, "replication.policy.class", POLICY_CLASS)? {
            PolicyClass::Default => ReplicationPolicy::Default {
                separator,
                internal_topic_separator_enabled,
            },
            PolicyClass::Identity => ReplicationPolicy::Identity {
                separator,
                internal_topic_separator_enabled,
                // MM2's connectors always pass `source.cluster.alias` to the policy.
                source_cluster_alias: Some(source.as_str().to_owned()),
            },
        };

        flow.replication_factor = flow_value(&get, "replication.factor", REPLICATION_FACTOR)?;
        flow.heartbeats_topic_replication_factor = flow_value(
            &get,
            "heartbeats.topic.replication.factor",
            TOPIC_REPLICATION_FACTOR,
        )?;
        flow.checkpoints_topic_replication_factor = flow_value(
            &get,
            "checkpoints.topic.replication.factor",
            TOPIC_REPLICATION_FACTOR,
        )?;
        flow.offset_syncs_topic_replication_factor = flow_value(
            &get,
            "offset-syncs.topic.replication.factor",
            TOPIC_REPLICATION_FACTOR,
        )?;
        flow.offset_syncs_topic_location =
            flow_value(&get, "offset-syncs.topic.location", OFFSET_SYNCS_LOCATION)?;
        flow.tasks_max = flow_value(&get, "tasks.max", TASK_COUNT)?;

        flow.refresh_topics = periodic(&get, "refresh.topics")?;
        flow.refresh_groups = periodic(&get, "refresh.groups")?;
        flow.emit_heartbeats = periodic(&get, "emit.heartbeats")?;
        flow.emit_checkpoints = periodic(&get, "emit.checkpoints")?;
        flow.sync_group_offsets = periodic(&get, "sync.group.offsets")?;
        flow.sync_topic_configs = periodic(&get, "sync.topic.configs")?;
        flow.sync_topic_acls = periodic(&get, "sync.topic.acls")?;

        flow.heartbeats_replication_enabled =
            flow_value(&get, "heartbeats.replication.enabled", BOOL)?;
        flow.emit_offset_syncs_enabled = flow_value(&get, "emit.offset-syncs.enabled", BOOL)?;
        flow.offset_lag_max = flow_value(&get, "offset.lag.max", OFFSET_LAG)?;
        // A Connect worker setting: `<target>.<key>` over the top-level key.
        let offset_storage_key = "offset.storage.replication.factor";
        let offset_storage = || {
            self.setting_at(&format!("{target}.{offset_storage_key}"))
                .or_else(|| self.setting_at(offset_storage_key))
        };
        if let Some(setting) = offset_storage() {
            flow.offset_storage_replication_factor = Some(
                topic_replication_factor_value(setting.value)
                    .map_err(|kind| setting.error(kind))?,
            );
        }
        Ok(flow)
    }
}
