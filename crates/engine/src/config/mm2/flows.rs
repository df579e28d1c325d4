//! One flow, `source->target`, with every setting typed and MM2's defaults.

use std::time::Duration;

use super::{ClientOverrides, ClusterAlias};
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
}

/// MM2 defaults, in one place (`Mirror*Config.*_DEFAULT`).
pub(super) mod defaults {
    pub const REPLICATION_FACTOR: i32 = 2;
    pub const INTERNAL_TOPIC_REPLICATION_FACTOR: i16 = 3;
    pub const TASKS_MAX: i32 = 1;
    pub const REFRESH_TOPICS_SECONDS: i64 = 600;
    pub const REFRESH_GROUPS_SECONDS: i64 = 600;
    pub const EMIT_HEARTBEATS_SECONDS: i64 = 1;
    pub const EMIT_CHECKPOINTS_SECONDS: i64 = 60;
    pub const SYNC_GROUP_OFFSETS_SECONDS: i64 = 60;
    pub const SYNC_TOPIC_CONFIGS_SECONDS: i64 = 600;
    pub const SYNC_TOPIC_ACLS_SECONDS: i64 = 600;
    pub const OFFSET_LAG_MAX: i64 = 100;
}

impl FlowConfig {
    /// A flow with every MM2 default, replication enabled.
    pub fn with_defaults(source: ClusterAlias, target: ClusterAlias) -> Self {
        let policy = ReplicationPolicy::default();
        Self {
            source,
            target,
            replication_enabled: true,
            topics: TopicFilter::default(),
            groups: GroupFilter::default(),
            config_properties: ConfigPropertyFilter::default(),
            policy,
            replication_factor: defaults::REPLICATION_FACTOR,
            heartbeats_topic_replication_factor: defaults::INTERNAL_TOPIC_REPLICATION_FACTOR,
            checkpoints_topic_replication_factor: defaults::INTERNAL_TOPIC_REPLICATION_FACTOR,
            offset_syncs_topic_replication_factor: defaults::INTERNAL_TOPIC_REPLICATION_FACTOR,
            offset_syncs_topic_location: OffsetSyncsTopicLocation::Source,
            tasks_max: 1,
            refresh_topics: Periodic {
                enabled: true,
                interval_seconds: defaults::REFRESH_TOPICS_SECONDS,
            },
            refresh_groups: Periodic {
                enabled: true,
                interval_seconds: defaults::REFRESH_GROUPS_SECONDS,
            },
            emit_heartbeats: Periodic {
                enabled: true,
                interval_seconds: defaults::EMIT_HEARTBEATS_SECONDS,
            },
            emit_checkpoints: Periodic {
                enabled: true,
                interval_seconds: defaults::EMIT_CHECKPOINTS_SECONDS,
            },
            sync_group_offsets: Periodic {
                enabled: false,
                interval_seconds: defaults::SYNC_GROUP_OFFSETS_SECONDS,
            },
            sync_topic_configs: Periodic {
                enabled: true,
                interval_seconds: defaults::SYNC_TOPIC_CONFIGS_SECONDS,
            },
            sync_topic_acls: Periodic {
                enabled: true,
                interval_seconds: defaults::SYNC_TOPIC_ACLS_SECONDS,
            },
            heartbeats_replication_enabled: true,
            emit_offset_syncs_enabled: true,
            offset_lag_max: defaults::OFFSET_LAG_MAX,
            offset_storage_replication_factor: None,
            client_overrides: ClientOverrides::default(),
            client_settings: FlowClientSettings::default(),
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
