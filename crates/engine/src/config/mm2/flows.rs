//! One flow, `source->target`, with every setting typed and MM2's defaults.

use std::time::Duration;

use super::flow_keys::{
    BOOL, DEFAULTS_FROM, NON_EMPTY, OFFSET_LAG, OFFSET_SYNCS_LOCATION, REGEX_LIST,
    REPLICATION_FACTOR, TASK_COUNT, TOPIC_REPLICATION_FACTOR,
};
use super::values::periodic_default;
use super::{ClientOverrides, ClusterAlias, ExactlyOnce};
use crate::config::client_settings::FlowClientSettings;
use crate::filter::{ConfigPropertyFilter, GroupFilter, TopicFilter};
use crate::policy::ReplicationPolicy;

/// Where the offset-syncs topic of a flow lives (`offset-syncs.topic.location`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OffsetSyncsTopicLocation {
    /// On the source cluster, named after the target: MM2's default.
    Source,
    /// On the target cluster, named after the source (for sources kmirror may not write to).
    Target,
}

/// A periodic job: `<job>.enabled` and `<job>.interval.seconds`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Periodic {
    /// `<job>.enabled`.
    pub enabled: bool,
    /// `<job>.interval.seconds`. As in MM2, a negative value disables the job;
    /// zero is refused.
    pub interval_seconds: i64,
}

impl Periodic {
    /// The interval to run at, or `None` when the job is disabled.
    pub fn interval(&self) -> Option<Duration> {
        if self.enabled && self.interval_seconds > 0 {
            Some(Duration::from_secs(self.interval_seconds.unsigned_abs()))
        } else {
            None
        }
    }
}

/// One ordered pair of clusters, `source->target`, with every setting resolved.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FlowConfig {
    /// Cluster topics are read from.
    pub source: ClusterAlias,
    /// Cluster remote topics, heartbeats and checkpoints are written to.
    pub target: ClusterAlias,
    /// `enabled`, default false in MM2 dedicated mode, so that listing
    /// clusters never starts copying data by itself: whether topics and groups
    /// are replicated. A pair that is not enabled may still emit heartbeats, as
    /// in MM2, so each flow's target can see the other side is alive.
    pub replication_enabled: bool,
    /// `topics` (default `.*`: mirror everything) and `topics.exclude`
    /// (default `.*[\-\.]internal, .*\.replica, __.*`: Connect/MM2 internal
    /// topics, legacy MirrorMaker replicas, Kafka's own; legacy key
    /// `topics.blacklist`). Exclusion wins.
    pub topics: TopicFilter,
    /// `groups` (default `.*`) and `groups.exclude` (default
    /// `console-consumer-.*, connect-.*, __.*`: throw-away console groups and
    /// Connect's own; legacy key `groups.blacklist`). Exclusion wins.
    pub groups: GroupFilter,
    /// `config.properties.exclude` (legacy `config.properties.blacklist`),
    /// default MM2's list of topic configs that describe the source cluster
    /// (throttles, timestamp policy, unclean election, `min.insync.replicas`)
    /// rather than the data.
    pub config_properties: ConfigPropertyFilter,
    /// `replication.policy.class` (default `DefaultReplicationPolicy`, which
    /// prefixes the source alias so cycles can be seen),
    /// `replication.policy.separator` (default `.`) and
    /// `replication.policy.internal.topic.separator.enabled` (default true;
    /// false keeps the `.`-separated internal topic names of MM2 before 3.1).
    pub policy: ReplicationPolicy,
    /// `replication.factor` of remote topics, default 2
    /// (`MirrorSourceConfig.REPLICATION_FACTOR_DEFAULT`, a floor that survives
    /// one broker loss on small clusters); -1 means the broker's default.
    pub replication_factor: i32,
    /// `heartbeats.topic.replication.factor`, default 3 (Kafka's usual
    /// production factor for internal topics).
    pub heartbeats_topic_replication_factor: i16,
    /// `checkpoints.topic.replication.factor`, default 3 (as above; losing
    /// checkpoints loses failover positions).
    pub checkpoints_topic_replication_factor: i16,
    /// `offset-syncs.topic.replication.factor`, default 3 (as above).
    pub offset_syncs_topic_replication_factor: i16,
    /// `offset-syncs.topic.location`, default `source` (MM2 keeps offset syncs
    /// next to the data they describe); `target` for read-only sources.
    pub offset_syncs_topic_location: OffsetSyncsTopicLocation,
    /// `tasks.max`, default 1 (Connect's default): bounds how many partition
    /// pipelines work at once.
    pub tasks_max: u32,
    /// `refresh.topics.enabled` (true) / `refresh.topics.interval.seconds`
    /// (600): how often new source topics and partitions are looked for; ten
    /// minutes keeps metadata load low.
    pub refresh_topics: Periodic,
    /// `refresh.groups.enabled` (true) / `refresh.groups.interval.seconds`
    /// (600): how often new consumer groups are looked for.
    pub refresh_groups: Periodic,
    /// `emit.heartbeats.enabled` (true) / `emit.heartbeats.interval.seconds`
    /// (1): a heartbeat a second lets the far side measure liveness and lag.
    pub emit_heartbeats: Periodic,
    /// `emit.checkpoints.enabled` (true) / `emit.checkpoints.interval.seconds`
    /// (60): how stale a failover position may be.
    pub emit_checkpoints: Periodic,
    /// `sync.group.offsets.enabled` (false: writing to groups on the target is
    /// opt-in) / `sync.group.offsets.interval.seconds` (60).
    pub sync_group_offsets: Periodic,
    /// `sync.topic.configs.enabled` (true) / `sync.topic.configs.interval.seconds`
    /// (600): remote topics follow their source's configs.
    pub sync_topic_configs: Periodic,
    /// `sync.topic.acls.enabled` (true) / `sync.topic.acls.interval.seconds`
    /// (600): remote topics get the source's literal ALLOW topic ACLs, WRITE
    /// left out and ALL made READ (see [`crate::runtime::acl_sync`]).
    pub sync_topic_acls: Periodic,
    /// `heartbeats.replication.enabled`, default true: replicate heartbeats
    /// topics even when `topics` does not list them, so monitoring works with
    /// any filter.
    pub heartbeats_replication_enabled: bool,
    /// `emit.offset-syncs.enabled`, default true: checkpoints need offset syncs.
    pub emit_offset_syncs_enabled: bool,
    /// `offset.lag.max`, default 100: how far a remote partition may get ahead
    /// of the last offset sync before a new one is written (fewer writes,
    /// coarser MM2-style translation).
    pub offset_lag_max: i64,
    /// `offset.storage.replication.factor` (a Connect worker setting:
    /// `<target>.offset.storage.replication.factor`, else the top-level key)
    /// of MM2's offsets topic `mm2-offsets.<source>.internal`, which holds
    /// this flow's progress. Unset: the flow's `replication.factor` (Connect
    /// itself defaults to 3).
    pub offset_storage_replication_factor: Option<i16>,
    /// `source->target.consumer.*`, `.producer.*`, `.admin.*` (MM2 applies
    /// them to the connector's own clients), as written.
    pub client_overrides: ClientOverrides,
    /// The honoured client settings of the flow's two sides, typed (see
    /// [`crate::config::client_settings`]).
    pub client_settings: FlowClientSettings,
    /// Exactly-once delivery (`exactly.once.source.support = enabled` for the
    /// target): `None` writes idempotently without transactions.
    pub exactly_once: Option<ExactlyOnce>,
}

impl FlowConfig {
    /// A flow with every MM2 default (from the flow key table), replication
    /// enabled.
    pub fn with_defaults(source: ClusterAlias, target: ClusterAlias) -> Self {
        let separator = NON_EMPTY.default_of("replication.policy.separator");
        let internal_topic_separator_enabled =
            BOOL.default_of("replication.policy.internal.topic.separator.enabled");
        let topic_replication_factor = |key| TOPIC_REPLICATION_FACTOR.default_of(key);
        Self {
            source,
            target,
            replication_enabled: true,
            topics: TopicFilter {
                include: REGEX_LIST.default_of("topics"),
                exclude: REGEX_LIST.default_of("topics.exclude"),
            },
            groups: GroupFilter {
                include: REGEX_LIST.default_of("groups"),
                exclude: REGEX_LIST.default_of("groups.exclude"),
            },
            config_properties: ConfigPropertyFilter {
                exclude: REGEX_LIST.default_of("config.properties.exclude"),
                use_defaults_from: DEFAULTS_FROM.default_of("use.defaults.from"),
            },
            // The only policy class kmirror defaults to is MM2's.
            policy: ReplicationPolicy::Default {
                separator,
                internal_topic_separator_enabled,
            },
            replication_factor: REPLICATION_FACTOR.default_of("replication.factor"),
            heartbeats_topic_replication_factor: topic_replication_factor(
                "heartbeats.topic.replication.factor",
            ),
            checkpoints_topic_replication_factor: topic_replication_factor(
                "checkpoints.topic.replication.factor",
            ),
            offset_syncs_topic_replication_factor: topic_replication_factor(
                "offset-syncs.topic.replication.factor",
            ),
            offset_syncs_topic_location: OFFSET_SYNCS_LOCATION
                .default_of("offset-syncs.topic.location"),
            tasks_max: TASK_COUNT.default_of("tasks.max"),
            refresh_topics: periodic_default("refresh.topics"),
            refresh_groups: periodic_default("refresh.groups"),
            emit_heartbeats: periodic_default("emit.heartbeats"),
            emit_checkpoints: periodic_default("emit.checkpoints"),
            sync_group_offsets: periodic_default("sync.group.offsets"),
            sync_topic_configs: periodic_default("sync.topic.configs"),
            sync_topic_acls: periodic_default("sync.topic.acls"),
            heartbeats_replication_enabled: BOOL.default_of("heartbeats.replication.enabled"),
            emit_offset_syncs_enabled: BOOL.default_of("emit.offset-syncs.enabled"),
            offset_lag_max: OFFSET_LAG.default_of("offset.lag.max"),
            offset_storage_replication_factor: None,
            client_overrides: ClientOverrides::default(),
            client_settings: FlowClientSettings::default(),
            exactly_once: None,
        }
    }

    /// `source->target`, as MM2 names the flow.
    pub fn name(&self) -> String {
        format!("{}->{}", self.source, self.target)
    }

    /// Name on the target of the source topic `topic`.
    pub fn remote_topic(&self, topic: &str) -> String {
        self.policy.format_remote_topic(self.source.as_str(), topic)
    }

    /// The checkpoints topic on the target: `<source>.checkpoints.internal`.
    pub fn checkpoints_topic(&self) -> String {
        self.policy.checkpoints_topic(self.source.as_str())
    }

    /// The cluster holding this flow's offset-syncs topic.
    pub fn offset_syncs_cluster(&self) -> &ClusterAlias {
        match self.offset_syncs_topic_location {
            OffsetSyncsTopicLocation::Source => &self.source,
            OffsetSyncsTopicLocation::Target => &self.target,
        }
    }

    /// The offset-syncs topic, named after the cluster at the other end:
    /// `mm2-offset-syncs.<target>.internal` on the source by default.
    pub fn offset_syncs_topic(&self) -> String {
        let other = match self.offset_syncs_topic_location {
            OffsetSyncsTopicLocation::Source => &self.target,
            OffsetSyncsTopicLocation::Target => &self.source,
        };
        self.policy.offset_syncs_topic(other.as_str())
    }
}
