//! The admin, group and offset calls the control plane needs: topic creation
//! and deletion, partition growth, configs, offsets by spec, group listing,
//! description and (member-less) offset commits. The ACL calls live in
//! [`crate::acls`] (their types are re-exported here).
//!
//! Inputs and outputs are domain types, never `kafka-protocol` structs.
//! Batched calls answer per item: the outer `Result` fails only when the
//! cluster could not be asked at all (no broker reachable, an unsupported
//! API, a non-retriable request-level error), the inner one carries each
//! topic's, partition's or group's own outcome with its name in the error.
//! Retriable per-item errors are retried (only for the items that need it)
//! with the client's backoff and deadline; a missing topic is never retried.
//!
//! ```no_run
//! # async fn demo() -> kmirror_client::Result<()> {
//! use kmirror_client::admin::{Admin, NewTopic, OffsetSpec};
//! use kmirror_client::{ClientConfig, KafkaClient};
//!
//! let admin = Admin::new(KafkaClient::connect(ClientConfig::new("127.0.0.1:9092")).await?);
//! let topic = NewTopic::new("orders", 3, 1).with_config("compression.type", "producer");
//! for (name, outcome) in admin.create_topics(&[topic], false).await? {
//!     println!("{name}: {outcome:?}");
//! }
//! let ends = admin.list_offsets(&[("orders", 0)], OffsetSpec::Latest).await?;
//! # Ok(()) }
//! ```

use std::collections::{BTreeMap, HashMap, HashSet};
use std::fmt;
use std::future::Future;
use std::hash::Hash;
use std::sync::{Arc, Mutex as StdMutex};
use std::time::Duration;

use bytes::Bytes;
use futures::future::{join_all, try_join_all};
use indexmap::IndexSet;
use kafka_protocol::messages::create_partitions_request::CreatePartitionsTopic;
use kafka_protocol::messages::create_topics_request::{CreatableTopic, CreatableTopicConfig};
use kafka_protocol::messages::delete_topics_request::DeleteTopicState;
use kafka_protocol::messages::describe_configs_request::DescribeConfigsResource;
use kafka_protocol::messages::describe_configs_response::DescribeConfigsResourceResult;
use kafka_protocol::messages::incremental_alter_configs_request::{
    AlterConfigsResource, AlterableConfig,
};
use kafka_protocol::messages::list_offsets_request::{ListOffsetsPartition, ListOffsetsTopic};
use kafka_protocol::messages::offset_commit_request::{
    OffsetCommitRequestPartition, OffsetCommitRequestTopic,
};
use kafka_protocol::messages::offset_fetch_request::{
    OffsetFetchRequestGroup, OffsetFetchRequestTopic, OffsetFetchRequestTopics,
};
use kafka_protocol::messages::{
    ApiKey, BrokerId, CreatePartitionsRequest, CreateTopicsRequest, DeleteTopicsRequest,
    DescribeConfigsRequest, DescribeGroupsRequest, FindCoordinatorRequest, GroupId,
    IncrementalAlterConfigsRequest, ListGroupsRequest, ListOffsetsRequest, OffsetCommitRequest,
    OffsetFetchRequest, TopicName,
};
use kafka_protocol::protocol::{Message, Request, StrBytes};
use kafka_protocol::ResponseError;

pub use crate::acls::{
    AclBinding, AclFilter, AclOperation, AclPermission, PatternType, ResourceType,
};
use crate::cluster::{leader_of, KafkaClient, Purpose};
use crate::connection::{api_key, BrokerConnection};
use crate::error::{check_code, ClientError, Result};

/// A topic to create.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewTopic {
    pub name: String,
    /// -1 for the broker's `num.partitions`.
    pub partitions: i32,
    /// -1 for the broker's `default.replication.factor`.
    pub replication_factor: i16,
    /// Topic-level configs, set as dynamic topic configs.
    pub configs: Vec<(String, String)>,
}

impl NewTopic {
    pub fn new(name: impl Into<String>, partitions: i32, replication_factor: i16) -> Self {
        NewTopic {
            name: name.into(),
            partitions,
            replication_factor,
            configs: Vec::new(),
        }
    }

    pub fn with_config(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.configs.push((name.into(), value.into()));
        self
    }
}

/// How a topic creation ended, when it did not fail.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CreateTopicOutcome {
    /// Created (or, with `validate_only`, would be created).
    Created,
    /// The broker answered TOPIC_ALREADY_EXISTS: fine for callers that only
    /// need the topic to exist, though its settings may differ from the ask.
    AlreadyExists,
}

/// Where a config value comes from (`DescribeConfigs` `config_source`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ConfigSource {
    Unknown,
    /// Set on the topic itself.
    DynamicTopic,
    DynamicBroker,
    DynamicDefaultBroker,
    /// From the broker's properties file.
    StaticBroker,
    /// Kafka's built-in default.
    Default,
    DynamicBrokerLogger,
    ClientMetrics,
    Group,
    /// A code this version of kmirror does not know.
    Other(i8),
}

impl ConfigSource {
    pub fn from_code(code: i8) -> Self {
        match code {
            0 => ConfigSource::Unknown,
            1 => ConfigSource::DynamicTopic,
            2 => ConfigSource::DynamicBroker,
            3 => ConfigSource::DynamicDefaultBroker,
            4 => ConfigSource::StaticBroker,
            5 => ConfigSource::Default,
            6 => ConfigSource::DynamicBrokerLogger,
            7 => ConfigSource::ClientMetrics,
            8 => ConfigSource::Group,
            other => ConfigSource::Other(other),
        }
    }
}

/// One config of a topic or broker.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigEntry {
    pub name: String,
    /// `None` when unset or sensitive.
    pub value: Option<String>,
    pub source: ConfigSource,
    pub is_sensitive: bool,
    pub read_only: bool,
}

/// One change of an incremental config alteration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ConfigOp {
    Set(String),
    /// Back to the inherited value.
    Delete,
    /// Adds to a list-valued config.
    Append(String),
    /// Removes from a list-valued config.
    Subtract(String),
}

impl ConfigOp {
    fn code(&self) -> i8 {
        match self {
            ConfigOp::Set(_) => 0,
            ConfigOp::Delete => 1,
            ConfigOp::Append(_) => 2,
            ConfigOp::Subtract(_) => 3,
        }
    }

    fn value(&self) -> Option<&str> {
        match self {
            ConfigOp::Set(v) | ConfigOp::Append(v) | ConfigOp::Subtract(v) => Some(v),
            ConfigOp::Delete => None,
        }
    }
}

/// Which offset `list_offsets` asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OffsetSpec {
    /// The log start offset.
    Earliest,
    /// The high watermark.
    Latest,
    /// The last stable offset (READ_COMMITTED): nothing at or past it
    /// belongs to a transaction still open.
    LatestStable,
    /// The first offset whose timestamp is at or after this one (ms since
    /// the epoch); -1 when there is none.
    Timestamp(i64),
}

impl OffsetSpec {
    fn timestamp(self) -> i64 {
        match self {
            OffsetSpec::Earliest => -2,
            OffsetSpec::Latest | OffsetSpec::LatestStable => -1,
            OffsetSpec::Timestamp(ts) => ts,
        }
    }

    fn isolation_level(self) -> i8 {
        match self {
            OffsetSpec::LatestStable => 1,
            _ => 0,
        }
    }
}

/// The state of a consumer group (classic or KIP-848), share or streams
/// group, as brokers spell it.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum GroupState {
    Empty,
    Stable,
    PreparingRebalance,
    CompletingRebalance,
    Assigning,
    Reconciling,
    NotReady,
    Dead,
    /// Anything else, including the empty string of unknown groups.
    Other(String),
}

impl GroupState {
    pub fn parse(state: &str) -> Self {
        let normalized: String = state
            .chars()
            .filter(|c| *c != '_')
            .map(|c| c.to_ascii_lowercase())
            .collect();
        match normalized.as_str() {
            "empty" => GroupState::Empty,
            "stable" => GroupState::Stable,
            "preparingrebalance" => GroupState::PreparingRebalance,
            "completingrebalance" => GroupState::CompletingRebalance,
            "assigning" => GroupState::Assigning,
            "reconciling" => GroupState::Reconciling,
            "notready" => GroupState::NotReady,
            "dead" => GroupState::Dead,
            _ => GroupState::Other(state.to_string()),
        }
    }
}

/// A group as `ListGroups` shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GroupListing {
    pub group_id: String,
    /// "consumer" for consumer groups, "" for groups that only commit
    /// offsets, "connect" for Connect workers.
    pub protocol_type: String,
    /// Known from ListGroups v4 (Kafka 2.6) on.
    pub state: Option<GroupState>,
    /// "classic", "consumer", "share" or "streams"; known from v5 on.
    pub group_type: Option<String>,
}

/// A member of a group.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MemberDescription {
    pub member_id: String,
    pub group_instance_id: Option<String>,
    pub client_id: String,
    pub host: String,
    /// The member's subscription, in the group protocol's encoding.
    pub metadata: Bytes,
    /// The member's assignment, in the group protocol's encoding.
    pub assignment: Bytes,
}

/// A group as `DescribeGroups` shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GroupDescription {
    pub group_id: String,
    pub state: GroupState,
    pub protocol_type: String,
    /// The assignor in use ("range", "cooperative-sticky", ...), or "".
    pub protocol: String,
    pub members: Vec<MemberDescription>,
}

/// A committed offset of a group.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CommittedOffset {
    pub offset: i64,
    pub metadata: Option<String>,
    pub leader_epoch: Option<i32>,
}

/// An offset to commit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OffsetToCommit {
    pub topic: String,
    pub partition: i32,
    pub offset: i64,
    pub leader_epoch: Option<i32>,
    pub metadata: Option<String>,
}

impl OffsetToCommit {
    pub fn new(topic: impl Into<String>, partition: i32, offset: i64) -> Self {
        OffsetToCommit {
            topic: topic.into(),
            partition,
            offset,
            leader_epoch: None,
            metadata: None,
        }
    }

    pub fn with_metadata(mut self, metadata: impl Into<String>) -> Self {
        self.metadata = Some(metadata.into());
        self
    }
}

/// `DescribeConfigs` resource types.
const RESOURCE_TOPIC: i8 = 2;
const RESOURCE_BROKER: i8 = 4;
/// `FindCoordinator` key type of consumer groups.
const COORDINATOR_KEY_GROUP: i8 = 0;

/// Admin calls on one cluster. Cheap to clone; clones share the cache of
/// group coordinators.
#[derive(Debug, Clone)]
pub struct Admin {
    client: KafkaClient,
    /// Group id to coordinator broker id, dropped when the broker says it is
    /// not (or no longer) the coordinator or its connection fails.
    coordinators: Arc<StdMutex<HashMap<String, i32>>>,
}

impl KafkaClient {
    /// Admin calls through this client (with a fresh coordinator cache).
    pub fn admin(&self) -> Admin {
        Admin::new(self.clone())
    }
}

impl Admin {
    pub fn new(client: KafkaClient) -> Self {
        Admin {
            client,
            coordinators: Arc::new(StdMutex::new(HashMap::new())),
        }
    }

    pub fn client(&self) -> &KafkaClient {
        &self.client
    }

    // ---- topics -------------------------------------------------------

    /// Creates topics. A topic that exists already is reported as
    /// [`CreateTopicOutcome::AlreadyExists`], not as an error.
    pub async fn create_topics(
        &self,
        topics: &[NewTopic],
        validate_only: bool,
    ) -> Result<Vec<(String, Result<CreateTopicOutcome>)>> {
        let specs: HashMap<&str, &NewTopic> = topics.iter().map(|t| (t.name.as_str(), t)).collect();
        let names = topics.iter().map(|t| t.name.clone()).collect();
        let specs = &specs;
        self.per_item(
            "create topics",
            ApiKey::CreateTopics,
            names,
            |batch, _| async move {
                self.create_topics_once(&batch, specs, validate_only)
                    .await
                    .into()
            },
        )
        .await
    }

    async fn create_topics_once(
        &self,
        names: &[String],
        specs: &HashMap<&str, &NewTopic>,
        validate_only: bool,
    ) -> Result<Vec<(String, Result<CreateTopicOutcome>)>> {
        let conn = self.controller_connection().await?;
        let request = CreateTopicsRequest::default()
            .with_topics(
                names
                    .iter()
                    .filter_map(|n| specs.get(n.as_str()))
                    .map(|t| {
                        CreatableTopic::default()
                            .with_name(topic_name(&t.name))
                            .with_num_partitions(t.partitions)
                            .with_replication_factor(t.replication_factor)
                            .with_configs(
                                t.configs
                                    .iter()
                                    .map(|(k, v)| {
                                        CreatableTopicConfig::default()
                                            .with_name(str_bytes(k))
                                            .with_value(Some(str_bytes(v)))
                                    })
                                    .collect(),
                            )
                    })
                    .collect(),
            )
            .with_timeout_ms(self.broker_timeout_ms())
            .with_validate_only(validate_only);
        let response = conn.request(&request).await?;
        let results: Vec<_> = response
            .topics
            .into_iter()
            .map(|t| {
                let name = t.name.0.to_string();
                let result = match check_code(
                    ApiKey::CreateTopics,
                    t.error_code,
                    || format!("topic {name}"),
                    t.error_message.as_ref(),
                ) {
                    Ok(()) => Ok(CreateTopicOutcome::Created),
                    Err(e) if e.broker_error() == Some(ResponseError::TopicAlreadyExists) => {
                        Ok(CreateTopicOutcome::AlreadyExists)
                    }
                    Err(e) => Err(e),
                };
                (name, result)
            })
            .collect();
        self.after_controller_answer(results.iter().map(|(_, r)| r))
            .await;
        Ok(results)
    }

    /// Grows topics to `new_total` partitions each.
    pub async fn create_partitions(
        &self,
        increases: &[(impl AsRef<str>, i32)],
    ) -> Result<Vec<(String, Result<()>)>> {
        let totals: HashMap<String, i32> = increases
            .iter()
            .map(|(t, n)| (t.as_ref().to_string(), *n))
            .collect();
        let names = increases
            .iter()
            .map(|(t, _)| t.as_ref().to_string())
            .collect();
        let totals = &totals;
        self.per_item(
            "create partitions",
            ApiKey::CreatePartitions,
            names,
            |batch, _| async move { self.create_partitions_once(&batch, totals).await.into() },
        )
        .await
    }

    async fn create_partitions_once(
        &self,
        names: &[String],
        totals: &HashMap<String, i32>,
    ) -> Result<Vec<(String, Result<()>)>> {
        let conn = self.controller_connection().await?;
        let request = CreatePartitionsRequest::default()
            .with_topics(
                names
                    .iter()
                    .filter_map(|n| {
                        let count = *totals.get(n)?;
                        Some(
                            CreatePartitionsTopic::default()
                                .with_name(topic_name(n))
                                .with_count(count)
                                // The codec defaults to an empty list, which
                                // the broker reads as zero manual placements.
                                .with_assignments(None),
                        )
                    })
                    .collect(),
            )
            .with_timeout_ms(self.broker_timeout_ms());
        let response = conn.request(&request).await?;
        let results: Vec<_> = response
            .results
            .into_iter()
            .map(|t| {
                let name = t.name.0.to_string();
                let result = check_code(
                    ApiKey::CreatePartitions,
                    t.error_code,
                    || format!("topic {name}"),
                    t.error_message.as_ref(),
                );
                (name, result)
            })
            .collect();
        self.after_controller_answer(results.iter().map(|(_, r)| r))
            .await;
        Ok(results)
    }

    /// Deletes topics by name.
    pub async fn delete_topics(
        &self,
        names: &[impl AsRef<str>],
    ) -> Result<Vec<(String, Result<()>)>> {
        let names = names.iter().map(|n| n.as_ref().to_string()).collect();
        self.per_item(
            "delete topics",
            ApiKey::DeleteTopics,
            names,
            |batch, _| async move { self.delete_topics_once(&batch).await.into() },
        )
        .await
    }

    async fn delete_topics_once(&self, names: &[String]) -> Result<Vec<(String, Result<()>)>> {
        let conn = self.controller_connection().await?;
        let timeout_ms = self.broker_timeout_ms();
        let (_, response) = self
            .send(&conn, |version| {
                let request = DeleteTopicsRequest::default().with_timeout_ms(timeout_ms);
                // v6 names topics by name or id, earlier versions by name.
                Ok(if version >= 6 {
                    request.with_topics(
                        names
                            .iter()
                            .map(|n| DeleteTopicState::default().with_name(Some(topic_name(n))))
                            .collect(),
                    )
                } else {
                    request.with_topic_names(names.iter().map(|n| topic_name(n)).collect())
                })
            })
            .await?;
        let results: Vec<_> = response
            .responses
            .into_iter()
            .filter_map(|t| {
                let name = t.name?.0.to_string();
                let result = check_code(
                    ApiKey::DeleteTopics,
                    t.error_code,
                    || format!("topic {name}"),
                    t.error_message.as_ref(),
                );
                Some((name, result))
            })
            .collect();
        self.after_controller_answer(results.iter().map(|(_, r)| r))
            .await;
        Ok(results)
    }

    // ---- configs ------------------------------------------------------

    /// Every config of each topic, with where its value comes from.
    pub async fn describe_topic_configs(
        &self,
        topics: &[impl AsRef<str>],
    ) -> Result<BTreeMap<String, Result<Vec<ConfigEntry>>>> {
        let names = topics.iter().map(|n| n.as_ref().to_string()).collect();
        let results = self
            .per_item(
                "describe topic configs",
                ApiKey::DescribeConfigs,
                names,
                |batch, _| async move {
                    async {
                        let conn = self.client.any_connection().await?;
                        self.describe_configs_once(&conn, RESOURCE_TOPIC, &batch)
                            .await
                    }
                    .await
                    .into()
                },
            )
            .await?;
        Ok(results.into_iter().collect())
    }

    /// Every config of one broker as that broker sees it (static configs
    /// are only known to the broker itself).
    pub async fn describe_broker_configs(&self, broker_id: i32) -> Result<Vec<ConfigEntry>> {
        let name = broker_id.to_string();
        self.client
            .with_retries("describe broker configs", || async {
                let conn = self.client.connection(broker_id, Purpose::Control).await?;
                let mut results = self
                    .describe_configs_once(&conn, RESOURCE_BROKER, std::slice::from_ref(&name))
                    .await?;
                match results.pop() {
                    Some((_, result)) => result,
                    None => Err(malformed(&conn, ApiKey::DescribeConfigs, "no result")),
                }
            })
            .await
    }

    async fn describe_configs_once(
        &self,
        conn: &BrokerConnection,
        resource_type: i8,
        names: &[String],
    ) -> Result<Vec<(String, Result<Vec<ConfigEntry>>)>> {
        let request = DescribeConfigsRequest::default().with_resources(
            names
                .iter()
                .map(|n| {
                    DescribeConfigsResource::default()
                        .with_resource_type(resource_type)
                        .with_resource_name(str_bytes(n))
                        .with_configuration_keys(None)
                })
                .collect(),
        );
        let response = conn.request(&request).await?;
        let kind = if resource_type == RESOURCE_TOPIC {
            "topic"
        } else {
            "broker"
        };
        Ok(response
            .results
            .into_iter()
            .map(|r| {
                let name = r.resource_name.to_string();
                let result = check_code(
                    ApiKey::DescribeConfigs,
                    r.error_code,
                    || format!("{kind} {name}"),
                    r.error_message.as_ref(),
                )
                .map(|()| r.configs.into_iter().map(config_entry).collect());
                (name, result)
            })
            .collect())
    }

    /// Changes some configs of a topic, leaving the others as they are.
    pub async fn incremental_alter_topic_configs(
        &self,
        topic: &str,
        ops: &[(impl AsRef<str>, ConfigOp)],
    ) -> Result<()> {
        let configs: Vec<AlterableConfig> = ops
            .iter()
            .map(|(name, op)| {
                AlterableConfig::default()
                    .with_name(str_bytes(name.as_ref()))
                    .with_config_operation(op.code())
                    .with_value(op.value().map(str_bytes))
            })
            .collect();
        let configs = &configs;
        let results = self
            .per_item(
                "alter topic configs",
                ApiKey::IncrementalAlterConfigs,
                vec![topic.to_string()],
                |_, _| async move {
                    async {
                        let conn = self.client.any_connection().await?;
                        let request =
                            IncrementalAlterConfigsRequest::default().with_resources(vec![
                                AlterConfigsResource::default()
                                    .with_resource_type(RESOURCE_TOPIC)
                                    .with_resource_name(str_bytes(topic))
                                    .with_configs(configs.clone()),
                            ]);
                        let response = conn.request(&request).await?;
                        Ok(response
                            .responses
                            .into_iter()
                            .map(|r| {
                                let name = r.resource_name.to_string();
                                let result = check_code(
                                    ApiKey::IncrementalAlterConfigs,
                                    r.error_code,
                                    || format!("topic {name}"),
                                    r.error_message.as_ref(),
                                );
                                (name, result)
                            })
                            .collect())
                    }
                    .await
                    .into()
                },
            )
            .await?;
        results
            .into_iter()
            .next()
            .map(|(_, result)| result)
            .unwrap_or(Ok(()))
    }

    // ---- offsets ------------------------------------------------------

    /// The offset `spec` names for each partition, asked from each
    /// partition's leader.
    pub async fn list_offsets(
        &self,
        partitions: &[(impl AsRef<str>, i32)],
        spec: OffsetSpec,
    ) -> Result<BTreeMap<(String, i32), Result<i64>>> {
        let keys = partitions
            .iter()
            .map(|(t, p)| (t.as_ref().to_string(), *p))
            .collect();
        let results = self
            .per_item(
                "list offsets",
                ApiKey::ListOffsets,
                keys,
                |batch, attempt| self.list_offsets_once(batch, attempt, spec),
            )
            .await?;
        Ok(results.into_iter().collect())
    }

    async fn list_offsets_once(
        &self,
        partitions: Vec<(String, i32)>,
        attempt: u32,
        spec: OffsetSpec,
    ) -> Answers<(String, i32), i64> {
        let topics: Vec<String> = partitions
            .iter()
            .map(|(t, _)| t.clone())
            .collect::<IndexSet<_>>()
            .into_iter()
            .collect();
        let cached = self.client.metadata();
        // A retry follows an error that may mean leadership moved.
        let metadata = if attempt > 1 || topics.iter().any(|t| !cached.topics.contains_key(t)) {
            match self.client.refresh_metadata(Some(&topics)).await {
                Ok(metadata) => metadata,
                Err(e) => return Answers::failed(e),
            }
        } else {
            cached
        };
        let mut answered = Vec::new();
        let mut by_leader: BTreeMap<i32, Vec<(String, i32)>> = BTreeMap::new();
        for (topic, partition) in partitions {
            match leader_of(&metadata, &topic, partition) {
                Ok(leader) => by_leader
                    .entry(leader)
                    .or_default()
                    .push((topic, partition)),
                Err(e) => answered.push(((topic, partition), Err(e))),
            }
        }
        let replies = join_all(
            by_leader
                .iter()
                .map(|(leader, tps)| self.list_offsets_from(*leader, tps, spec)),
        )
        .await;
        let mut failure = None;
        for reply in replies {
            match reply {
                Ok(results) => answered.extend(results),
                Err(e) => failure = failure.or(Some(e)),
            }
        }
        Answers { answered, failure }
    }

    async fn list_offsets_from(
        &self,
        leader: i32,
        partitions: &[(String, i32)],
        spec: OffsetSpec,
    ) -> Result<Vec<((String, i32), Result<i64>)>> {
        let conn = self.client.connection(leader, Purpose::Control).await?;
        let timeout_ms = self.broker_timeout_ms();
        let (_, response) = self
            .send(&conn, |version| {
                if version < 2 && spec.isolation_level() != 0 {
                    return Err(ClientError::UnsupportedVersion {
                        addr: conn.addr().to_string(),
                        api: ApiKey::ListOffsets,
                        detail: "the last stable offset needs ListOffsets v2".into(),
                    });
                }
                Ok(ListOffsetsRequest::default()
                    .with_replica_id(BrokerId(-1))
                    .with_isolation_level(spec.isolation_level())
                    .with_timeout_ms(timeout_ms)
                    .with_topics(
                        by_topic(partitions.iter().map(|(t, p)| (t.as_str(), *p)))
                            .into_iter()
                            .map(|(topic, ps)| {
                                ListOffsetsTopic::default()
                                    .with_name(topic_name(topic))
                                    .with_partitions(
                                        ps.into_iter()
                                            .map(|p| {
                                                ListOffsetsPartition::default()
                                                    .with_partition_index(p)
                                                    .with_timestamp(spec.timestamp())
                                            })
                                            .collect(),
                                    )
                            })
                            .collect(),
                    ))
            })
            .await?;
        let mut results = Vec::new();
        for topic in response.topics {
            let name = topic.name.0.to_string();
            for p in topic.partitions {
                let result = check_code(
                    ApiKey::ListOffsets,
                    p.error_code,
                    || format!("partition {name}-{}", p.partition_index),
                    None,
                )
                .map(|()| p.offset);
                results.push(((name.clone(), p.partition_index), result));
            }
        }
        Ok(results)
    }

    // ---- groups -------------------------------------------------------

    /// The broker coordinating `group` (cached until it stops being so).
    pub async fn find_coordinator(&self, group: &str) -> Result<i32> {
        if let Some(id) = self.coordinators.lock().unwrap().get(group) {
            return Ok(*id);
        }
        let id = self
            .client
            .with_retries("find coordinator", || self.find_coordinator_once(group))
            .await?;
        self.coordinators
            .lock()
            .unwrap()
            .insert(group.to_string(), id);
        Ok(id)
    }

    async fn find_coordinator_once(&self, group: &str) -> Result<i32> {
        let conn = self.client.any_connection().await?;
        let (version, response) = self
            .send(&conn, |version| {
                // v4 batches keys; earlier versions ask for one.
                Ok(if version >= 4 {
                    FindCoordinatorRequest::default()
                        .with_key_type(COORDINATOR_KEY_GROUP)
                        .with_coordinator_keys(vec![str_bytes(group)])
                } else {
                    FindCoordinatorRequest::default()
                        .with_key_type(COORDINATOR_KEY_GROUP)
                        .with_key(str_bytes(group))
                })
            })
            .await?;
        let context = || format!("group {group}");
        if version >= 4 {
            let coordinator = response
                .coordinators
                .into_iter()
                .find(|c| c.key.as_str() == group)
                .ok_or_else(|| {
                    malformed(&conn, ApiKey::FindCoordinator, "no coordinator for the key")
                })?;
            check_code(
                ApiKey::FindCoordinator,
                coordinator.error_code,
                context,
                coordinator.error_message.as_ref(),
            )?;
            Ok(coordinator.node_id.0)
        } else {
            check_code(
                ApiKey::FindCoordinator,
                response.error_code,
                context,
                response.error_message.as_ref(),
            )?;
            Ok(response.node_id.0)
        }
    }

    /// Drops the cached coordinator of `group`, so the next call looks it
    /// up again.
    pub(crate) fn forget_coordinator(&self, group: &str) {
        self.coordinators.lock().unwrap().remove(group);
    }

    /// A connection to the coordinator of `group`; forgets the coordinator
    /// when it cannot be reached.
    async fn coordinator_connection(&self, group: &str) -> Result<Arc<BrokerConnection>> {
        let id = self.find_coordinator(group).await?;
        self.client
            .connection(id, Purpose::Control)
            .await
            .inspect_err(|_| self.forget_coordinator(group))
    }

    /// Forgets the coordinator of `group` when `error` says it moved.
    fn check_coordinator<'e>(&self, group: &str, error: impl IntoIterator<Item = &'e ClientError>) {
        if error.into_iter().any(coordinator_moved) {
            self.forget_coordinator(group);
        }
    }

    /// Every group of the cluster: ListGroups asked from each broker, since
    /// each lists only the groups it coordinates.
    pub async fn list_groups(&self) -> Result<Vec<GroupListing>> {
        let metadata = self.client.refresh_metadata(Some(&[])).await?;
        let brokers: Vec<i32> = metadata.brokers.keys().copied().collect();
        let per_broker = try_join_all(brokers.into_iter().map(|id| {
            self.client
                .with_retries("list groups", move || self.list_groups_from(id))
        }))
        .await?;
        let mut groups: Vec<GroupListing> = per_broker.into_iter().flatten().collect();
        groups.sort_by(|a, b| a.group_id.cmp(&b.group_id));
        groups.dedup_by(|a, b| a.group_id == b.group_id);
        Ok(groups)
    }

    async fn list_groups_from(&self, broker_id: i32) -> Result<Vec<GroupListing>> {
        let conn = self.client.connection(broker_id, Purpose::Control).await?;
        let (version, response) = self
            .send(&conn, |_| Ok(ListGroupsRequest::default()))
            .await?;
        check_code(
            ApiKey::ListGroups,
            response.error_code,
            || format!("groups of broker {broker_id}"),
            None,
        )?;
        Ok(response
            .groups
            .into_iter()
            .map(|g| GroupListing {
                group_id: g.group_id.0.to_string(),
                protocol_type: g.protocol_type.to_string(),
                state: (version >= 4).then(|| GroupState::parse(g.group_state.as_str())),
                group_type: (version >= 5).then(|| g.group_type.to_string()),
            })
            .collect())
    }

    /// Describes groups, each asked from its coordinator.
    pub async fn describe_groups(
        &self,
        groups: &[impl AsRef<str>],
    ) -> Result<Vec<(String, Result<GroupDescription>)>> {
        let names = groups.iter().map(|g| g.as_ref().to_string()).collect();
        self.per_item(
            "describe groups",
            ApiKey::DescribeGroups,
            names,
            |batch, _| self.describe_groups_once(batch),
        )
        .await
    }

    async fn describe_groups_once(&self, groups: Vec<String>) -> Answers<String, GroupDescription> {
        let coordinators = join_all(groups.iter().map(|g| self.find_coordinator(g))).await;
        let mut answered = Vec::new();
        let mut by_coordinator: BTreeMap<i32, Vec<String>> = BTreeMap::new();
        for (group, coordinator) in groups.into_iter().zip(coordinators) {
            match coordinator {
                Ok(id) => by_coordinator.entry(id).or_default().push(group),
                Err(e) => answered.push((group, Err(e))),
            }
        }
        let replies = join_all(
            by_coordinator
                .iter()
                .map(|(id, groups)| self.describe_groups_from(*id, groups)),
        )
        .await;
        let mut failure = None;
        for (reply, groups) in replies.into_iter().zip(by_coordinator.values()) {
            match reply {
                Ok(results) => {
                    for (group, result) in &results {
                        self.check_coordinator(group, result.as_ref().err());
                    }
                    answered.extend(results);
                }
                Err(e) => {
                    for group in groups {
                        self.check_coordinator(group, [&e]);
                    }
                    failure = failure.or(Some(e));
                }
            }
        }
        Answers { answered, failure }
    }

    async fn describe_groups_from(
        &self,
        coordinator: i32,
        groups: &[String],
    ) -> Result<Vec<(String, Result<GroupDescription>)>> {
        let conn = self
            .client
            .connection(coordinator, Purpose::Control)
            .await?;
        let request = DescribeGroupsRequest::default()
            .with_groups(groups.iter().map(|g| group_id(g)).collect());
        let response = conn.request(&request).await?;
        Ok(response
            .groups
            .into_iter()
            .map(|g| {
                let name = g.group_id.0.to_string();
                let result = check_code(
                    ApiKey::DescribeGroups,
                    g.error_code,
                    || format!("group {name}"),
                    g.error_message.as_ref(),
                )
                .map(|()| GroupDescription {
                    group_id: name.clone(),
                    state: GroupState::parse(g.group_state.as_str()),
                    protocol_type: g.protocol_type.to_string(),
                    protocol: g.protocol_data.to_string(),
                    members: g
                        .members
                        .into_iter()
                        .map(|m| MemberDescription {
                            member_id: m.member_id.to_string(),
                            group_instance_id: m.group_instance_id.map(|s| s.to_string()),
                            client_id: m.client_id.to_string(),
                            host: m.client_host.to_string(),
                            metadata: m.member_metadata,
                            assignment: m.member_assignment,
                        })
                        .collect(),
                });
                (name, result)
            })
            .collect())
    }

    /// The offsets `group` committed, for the given partitions or (`None`)
    /// for all. Partitions without a committed offset are absent, and so is
    /// everything of a group that does not exist.
    pub async fn offset_fetch(
        &self,
        group: &str,
        partitions: Option<&[(impl AsRef<str>, i32)]>,
    ) -> Result<BTreeMap<(String, i32), CommittedOffset>> {
        let wanted: Option<BTreeMap<&str, Vec<i32>>> =
            partitions.map(|ps| by_topic(ps.iter().map(|(t, p)| (t.as_ref(), *p))));
        let wanted = wanted.as_ref();
        self.client
            .with_retries("offset fetch", || async move {
                let conn = self.coordinator_connection(group).await?;
                let result = self.offset_fetch_from(&conn, group, wanted).await;
                self.check_coordinator(group, result.as_ref().err());
                result
            })
            .await
    }

    async fn offset_fetch_from(
        &self,
        conn: &BrokerConnection,
        group: &str,
        wanted: Option<&BTreeMap<&str, Vec<i32>>>,
    ) -> Result<BTreeMap<(String, i32), CommittedOffset>> {
        let (version, response) = self
            .send(conn, |version| {
                if version >= 8 {
                    // v8 asks for several groups at once.
                    let topics = wanted.map(|w| {
                        w.iter()
                            .map(|(t, ps)| {
                                OffsetFetchRequestTopics::default()
                                    .with_name(topic_name(t))
                                    .with_partition_indexes(ps.clone())
                            })
                            .collect()
                    });
                    Ok(OffsetFetchRequest::default().with_groups(vec![
                        OffsetFetchRequestGroup::default()
                            .with_group_id(group_id(group))
                            .with_topics(topics),
                    ]))
                } else {
                    if version < 2 && wanted.is_none() {
                        return Err(ClientError::UnsupportedVersion {
                            addr: conn.addr().to_string(),
                            api: ApiKey::OffsetFetch,
                            detail: "fetching all offsets of a group needs OffsetFetch v2".into(),
                        });
                    }
                    let topics = wanted.map(|w| {
                        w.iter()
                            .map(|(t, ps)| {
                                OffsetFetchRequestTopic::default()
                                    .with_name(topic_name(t))
                                    .with_partition_indexes(ps.clone())
                            })
                            .collect()
                    });
                    Ok(OffsetFetchRequest::default()
                        .with_group_id(group_id(group))
                        .with_topics(topics))
                }
            })
            .await?;
        let context = || format!("group {group}");
        // (topic, partition, offset, leader epoch, metadata, error code)
        let mut rows: Vec<(String, i32, i64, i32, Option<StrBytes>, i16)> = Vec::new();
        if version >= 8 {
            let Some(g) = response
                .groups
                .into_iter()
                .find(|g| g.group_id.0.as_str() == group)
            else {
                return Err(malformed(
                    conn,
                    ApiKey::OffsetFetch,
                    "no answer for the group",
                ));
            };
            if g.error_code == ResponseError::GroupIdNotFound.code() {
                return Ok(BTreeMap::new());
            }
            check_code(ApiKey::OffsetFetch, g.error_code, context, None)?;
            for t in g.topics {
                let name = t.name.0.to_string();
                for p in t.partitions {
                    rows.push((
                        name.clone(),
                        p.partition_index,
                        p.committed_offset,
                        p.committed_leader_epoch,
                        p.metadata,
                        p.error_code,
                    ));
                }
            }
        } else {
            if response.error_code == ResponseError::GroupIdNotFound.code() {
                return Ok(BTreeMap::new());
            }
            check_code(ApiKey::OffsetFetch, response.error_code, context, None)?;
            for t in response.topics {
                let name = t.name.0.to_string();
                for p in t.partitions {
                    rows.push((
                        name.clone(),
                        p.partition_index,
                        p.committed_offset,
                        p.committed_leader_epoch,
                        p.metadata,
                        p.error_code,
                    ));
                }
            }
        }
        let mut offsets = BTreeMap::new();
        for (topic, partition, offset, epoch, metadata, code) in rows {
            // Old brokers answer this for a partition nothing was committed to.
            if code == ResponseError::UnknownTopicOrPartition.code() {
                continue;
            }
            check_code(
                ApiKey::OffsetFetch,
                code,
                || format!("group {group} partition {topic}-{partition}"),
                None,
            )?;
            if offset < 0 {
                continue;
            }
            offsets.insert(
                (topic, partition),
                CommittedOffset {
                    offset,
                    metadata: metadata.map(|m| m.to_string()),
                    leader_epoch: (epoch >= 0).then_some(epoch),
                },
            );
        }
        Ok(offsets)
    }

    /// Commits offsets for `group` as a simple, member-less commit
    /// (generation -1, empty member id), the way MM2 syncs group offsets.
    /// The coordinator accepts it only while the group has no active
    /// members; otherwise the partitions fail with UNKNOWN_MEMBER_ID,
    /// ILLEGAL_GENERATION or REBALANCE_IN_PROGRESS.
    pub async fn offset_commit(
        &self,
        group: &str,
        offsets: &[OffsetToCommit],
    ) -> Result<Vec<((String, i32), Result<()>)>> {
        let by_key: HashMap<(String, i32), &OffsetToCommit> = offsets
            .iter()
            .map(|o| ((o.topic.clone(), o.partition), o))
            .collect();
        let keys = offsets
            .iter()
            .map(|o| (o.topic.clone(), o.partition))
            .collect();
        let by_key = &by_key;
        self.per_item(
            "offset commit",
            ApiKey::OffsetCommit,
            keys,
            |batch, _| async move {
                let result = self.offset_commit_once(group, &batch, by_key).await;
                match &result {
                    Ok(results) => self.check_coordinator(
                        group,
                        results.iter().filter_map(|(_, r)| r.as_ref().err()),
                    ),
                    Err(e) => self.check_coordinator(group, [e]),
                }
                result.into()
            },
        )
        .await
    }

    async fn offset_commit_once(
        &self,
        group: &str,
        keys: &[(String, i32)],
        offsets: &HashMap<(String, i32), &OffsetToCommit>,
    ) -> Result<Vec<((String, i32), Result<()>)>> {
        let conn = self.coordinator_connection(group).await?;
        let mut topics: BTreeMap<&str, Vec<OffsetCommitRequestPartition>> = BTreeMap::new();
        for key in keys {
            let Some(o) = offsets.get(key) else { continue };
            topics.entry(o.topic.as_str()).or_default().push(
                OffsetCommitRequestPartition::default()
                    .with_partition_index(o.partition)
                    .with_committed_offset(o.offset)
                    .with_committed_leader_epoch(o.leader_epoch.unwrap_or(-1))
                    .with_committed_metadata(Some(str_bytes(o.metadata.as_deref().unwrap_or("")))),
            );
        }
        let request = OffsetCommitRequest::default()
            .with_group_id(group_id(group))
            .with_generation_id_or_member_epoch(-1)
            .with_member_id(StrBytes::default())
            .with_topics(
                topics
                    .into_iter()
                    .map(|(t, ps)| {
                        OffsetCommitRequestTopic::default()
                            .with_name(topic_name(t))
                            .with_partitions(ps)
                    })
                    .collect(),
            );
        let response = conn.request(&request).await?;
        let mut results = Vec::new();
        for t in response.topics {
            let name = t.name.0.to_string();
            for p in t.partitions {
                let result = check_code(
                    ApiKey::OffsetCommit,
                    p.error_code,
                    || format!("group {group} partition {name}-{}", p.partition_index),
                    None,
                );
                results.push(((name.clone(), p.partition_index), result));
            }
        }
        Ok(results)
    }

    // ---- plumbing -----------------------------------------------------

    /// How long a broker may work on a topic operation: less than our
    /// socket timeout, so its answer (even a timeout) reaches us.
    fn broker_timeout_ms(&self) -> i32 {
        let ours = self.client.config().connection.request_timeout;
        let theirs = ours.saturating_sub(ours / 5).max(Duration::from_millis(1));
        i32::try_from(theirs.as_millis()).unwrap_or(i32::MAX)
    }

    /// The controller for topic operations (ZooKeeper-mode brokers insist;
    /// KRaft brokers forward to the quorum themselves), else any broker.
    async fn controller_connection(&self) -> Result<Arc<BrokerConnection>> {
        let id = self.client.metadata().controller_id;
        if id >= 0 {
            if let Ok(conn) = self.client.connection(id, Purpose::Control).await {
                return Ok(conn);
            }
        }
        self.client.any_connection().await
    }

    /// Learns the new controller when an answer says it moved.
    async fn after_controller_answer<'r, T: 'r>(
        &self,
        results: impl IntoIterator<Item = &'r Result<T>>,
    ) {
        let moved = results
            .into_iter()
            .any(|r| matches!(r, Err(e) if e.broker_error() == Some(ResponseError::NotController)));
        if moved {
            let _ = self.client.refresh_metadata(Some(&[])).await;
        }
    }

    /// Sends the request `build` makes for the highest version both sides
    /// speak, for requests whose shape depends on the version.
    async fn send<R: Request>(
        &self,
        conn: &BrokerConnection,
        build: impl FnOnce(i16) -> Result<R>,
    ) -> Result<(i16, R::Response)> {
        let version = conn.version_for(api_key::<R>(), <R as Message>::VERSIONS)?;
        let request = build(version)?;
        let timeout = self.client.config().connection.request_timeout;
        let response = conn.request_at(&request, version, timeout).await?;
        Ok((version, response))
    }

    /// Runs a batched call until every item has a final answer: items that
    /// fail with a retriable error are sent again (alone) after a backoff,
    /// until the client's retry deadline. Answers come back in input order,
    /// one per distinct item.
    async fn per_item<K, T, F, Fut>(
        &self,
        what: &str,
        api: ApiKey,
        items: Vec<K>,
        mut attempt: F,
    ) -> Result<Vec<(K, Result<T>)>>
    where
        K: Clone + Eq + Hash + fmt::Debug,
        F: FnMut(Vec<K>, u32) -> Fut,
        Fut: Future<Output = Answers<K, T>>,
    {
        let order: IndexSet<K> = items.into_iter().collect();
        if order.is_empty() {
            return Ok(Vec::new());
        }
        let batch = StdMutex::new(Batch {
            pending: order.clone(),
            done: HashMap::new(),
            retrying: Vec::new(),
            signalled: None,
            attempts: 0,
        });
        let batch_ref = &batch;
        let addr = self.client.bootstrap_display();
        let outcome = self
            .client
            .with_retries(what, move || {
                let (keys, attempt_no) = {
                    let mut b = batch_ref.lock().unwrap();
                    b.attempts += 1;
                    (b.pending.iter().cloned().collect(), b.attempts)
                };
                let answers = attempt(keys, attempt_no);
                let addr = addr.clone();
                async move {
                    let answers = answers.await;
                    batch_ref.lock().unwrap().absorb(answers, api, &addr)
                }
            })
            .await;
        let mut batch = batch.into_inner().unwrap();
        match outcome {
            Ok(()) => {}
            Err(ClientError::RetriesExhausted { attempts, last }) if batch.signalled.is_some() => {
                if let Some(k) = batch.signalled.take() {
                    batch
                        .done
                        .insert(k, Err(ClientError::RetriesExhausted { attempts, last }));
                }
                for (k, e) in std::mem::take(&mut batch.retrying) {
                    let e = ClientError::RetriesExhausted {
                        attempts,
                        last: Box::new(e),
                    };
                    batch.done.insert(k, Err(e));
                }
            }
            Err(e) => return Err(e),
        }
        let addr = self.client.bootstrap_display();
        Ok(order
            .into_iter()
            .map(|k| {
                let result = batch.done.remove(&k).unwrap_or_else(|| {
                    Err(ClientError::Malformed {
                        addr: addr.clone(),
                        api,
                        reason: format!("{what}: no answer for {k:?}"),
                    })
                });
                (k, result)
            })
            .collect())
    }
}

/// What one attempt of a batched call learned.
#[derive(Debug)]
struct Answers<K, T> {
    answered: Vec<(K, Result<T>)>,
    /// Why some items got no answer (a request to one broker failed).
    failure: Option<ClientError>,
}

impl<K, T> Answers<K, T> {
    fn failed(error: ClientError) -> Self {
        Answers {
            answered: Vec::new(),
            failure: Some(error),
        }
    }
}

impl<K, T> From<Result<Vec<(K, Result<T>)>>> for Answers<K, T> {
    fn from(result: Result<Vec<(K, Result<T>)>>) -> Self {
        match result {
            Ok(answered) => Answers {
                answered,
                failure: None,
            },
            Err(e) => Answers::failed(e),
        }
    }
}

/// The state of a batched call across attempts.
#[derive(Debug)]
struct Batch<K, T> {
    /// Items without a final answer yet.
    pending: IndexSet<K>,
    done: HashMap<K, Result<T>>,
    /// Retriable errors of the latest attempt, reported if retries run out.
    retrying: Vec<(K, ClientError)>,
    /// The item whose error was handed to `with_retries` as the reason to
    /// retry; it comes back inside `RetriesExhausted` if retries run out.
    signalled: Option<K>,
    attempts: u32,
}

impl<K: Clone + Eq + Hash + fmt::Debug, T> Batch<K, T> {
    /// Records an attempt's answers; `Err` asks `with_retries` to retry
    /// (or, when not retriable, to give up on the whole call).
    fn absorb(&mut self, answers: Answers<K, T>, api: ApiKey, addr: &str) -> Result<()> {
        let Answers { answered, failure } = answers;
        self.retrying.clear();
        self.signalled = None;
        let mut reason = None;
        let mut seen = HashSet::new();
        for (k, result) in answered {
            if !self.pending.contains(&k) || !seen.insert(k.clone()) {
                continue;
            }
            match result {
                Err(e) if is_admin_retriable(&e) => {
                    if reason.is_none() && failure.is_none() {
                        self.signalled = Some(k);
                        reason = Some(e);
                    } else {
                        self.retrying.push((k, e));
                    }
                }
                result => {
                    self.pending.shift_remove(&k);
                    self.done.insert(k, result);
                }
            }
        }
        if let Some(failure) = failure {
            return Err(failure);
        }
        let unanswered: Vec<K> = self
            .pending
            .iter()
            .filter(|k| !seen.contains(*k))
            .cloned()
            .collect();
        for k in unanswered {
            self.pending.shift_remove(&k);
            let error = ClientError::Malformed {
                addr: addr.to_string(),
                api,
                reason: format!("the answer says nothing about {k:?}"),
            };
            self.done.insert(k, Err(error));
        }
        match reason {
            Some(e) => Err(e),
            None => Ok(()),
        }
    }
}

/// Whether an admin call should retry an item: retriable errors except a
/// missing topic, which admin callers want to hear about at once.
fn is_admin_retriable(error: &ClientError) -> bool {
    error.is_retriable()
        && !matches!(error, ClientError::UnknownTopicPartition { .. })
        && error.broker_error() != Some(ResponseError::UnknownTopicOrPartition)
}

/// Whether an error means the group coordinator we asked is not (or no
/// longer) the one.
fn coordinator_moved(error: &ClientError) -> bool {
    match error {
        ClientError::Broker { error, .. } => matches!(
            error,
            ResponseError::NotCoordinator | ResponseError::CoordinatorNotAvailable
        ),
        ClientError::Connect { .. }
        | ClientError::ConnectTimeout { .. }
        | ClientError::Io { .. }
        | ClientError::ConnectionClosed { .. }
        | ClientError::RequestTimeout { .. } => true,
        _ => false,
    }
}

fn config_entry(c: DescribeConfigsResourceResult) -> ConfigEntry {
    ConfigEntry {
        name: c.name.to_string(),
        value: c.value.map(|v| v.to_string()),
        source: ConfigSource::from_code(c.config_source),
        is_sensitive: c.is_sensitive,
        read_only: c.read_only,
    }
}

/// Partitions grouped by topic, topics and partitions in order.
fn by_topic<'a>(partitions: impl Iterator<Item = (&'a str, i32)>) -> BTreeMap<&'a str, Vec<i32>> {
    let mut topics: BTreeMap<&str, Vec<i32>> = BTreeMap::new();
    for (topic, partition) in partitions {
        topics.entry(topic).or_default().push(partition);
    }
    for partitions in topics.values_mut() {
        partitions.sort_unstable();
        partitions.dedup();
    }
    topics
}

fn malformed(conn: &BrokerConnection, api: ApiKey, reason: &str) -> ClientError {
    ClientError::Malformed {
        addr: conn.addr().to_string(),
        api,
        reason: reason.to_string(),
    }
}

fn str_bytes(s: &str) -> StrBytes {
    StrBytes::from_string(s.to_string())
}

fn topic_name(s: &str) -> TopicName {
    TopicName(str_bytes(s))
}

fn group_id(s: &str) -> GroupId {
    GroupId(str_bytes(s))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn broker_error(api: ApiKey, error: ResponseError) -> ClientError {
        ClientError::Broker {
            api,
            context: "topic t".into(),
            error,
            message: None,
        }
    }

    #[test]
    fn parses_group_states_of_every_group_type() {
        assert_eq!(GroupState::parse("Stable"), GroupState::Stable);
        assert_eq!(
            GroupState::parse("PreparingRebalance"),
            GroupState::PreparingRebalance
        );
        assert_eq!(GroupState::parse("NOT_READY"), GroupState::NotReady);
        assert_eq!(GroupState::parse("Empty"), GroupState::Empty);
        assert_eq!(GroupState::parse(""), GroupState::Other(String::new()));
    }

    #[test]
    fn acl_codes_round_trip_and_keep_unknown_ones() {
        for code in -1..20 {
            assert_eq!(AclOperation::from_code(code).code(), code);
            assert_eq!(ResourceType::from_code(code).code(), code);
        }
        assert_eq!(AclOperation::from_code(3), AclOperation::Read);
        assert_eq!(PatternType::from_code(4), PatternType::Prefixed);
        assert_eq!(AclPermission::from_code(99), AclPermission::Other(99));
    }

    #[test]
    fn offset_specs_map_to_kafka_timestamps() {
        assert_eq!(OffsetSpec::Earliest.timestamp(), -2);
        assert_eq!(OffsetSpec::Latest.timestamp(), -1);
        assert_eq!(OffsetSpec::LatestStable.timestamp(), -1);
        assert_eq!(OffsetSpec::LatestStable.isolation_level(), 1);
        assert_eq!(OffsetSpec::Timestamp(42).timestamp(), 42);
    }

    #[test]
    fn missing_topics_are_not_retried() {
        assert!(!is_admin_retriable(&broker_error(
            ApiKey::DeleteTopics,
            ResponseError::UnknownTopicOrPartition
        )));
        assert!(!is_admin_retriable(&ClientError::UnknownTopicPartition {
            topic: "t".into(),
            partition: 0
        }));
        assert!(is_admin_retriable(&broker_error(
            ApiKey::OffsetCommit,
            ResponseError::CoordinatorLoadInProgress
        )));
        assert!(is_admin_retriable(&broker_error(
            ApiKey::OffsetCommit,
            ResponseError::NotCoordinator
        )));
    }

    #[test]
    fn absorb_keeps_retriable_items_pending_and_finalizes_the_rest() {
        let mut batch: Batch<String, ()> = Batch {
            pending: ["a", "b", "c", "d"].map(String::from).into_iter().collect(),
            done: HashMap::new(),
            retrying: Vec::new(),
            signalled: None,
            attempts: 1,
        };
        let answers = Answers {
            answered: vec![
                ("a".to_string(), Ok(())),
                (
                    "b".to_string(),
                    Err(broker_error(
                        ApiKey::CreateTopics,
                        ResponseError::NotController,
                    )),
                ),
                (
                    "c".to_string(),
                    Err(broker_error(
                        ApiKey::CreateTopics,
                        ResponseError::RequestTimedOut,
                    )),
                ),
            ],
            failure: None,
        };
        let reason = batch
            .absorb(answers, ApiKey::CreateTopics, "x:1")
            .unwrap_err();
        assert_eq!(reason.broker_error(), Some(ResponseError::NotController));
        assert_eq!(batch.signalled.as_deref(), Some("b"));
        assert_eq!(batch.retrying.len(), 1);
        assert!(matches!(batch.done.get("a"), Some(Ok(()))));
        // "d" got no answer at all: final, as a malformed answer.
        assert!(matches!(
            batch.done.get("d"),
            Some(Err(ClientError::Malformed { .. }))
        ));
        let pending: Vec<&str> = batch.pending.iter().map(String::as_str).collect();
        assert_eq!(pending, ["b", "c"]);

        let answers = Answers {
            answered: vec![("b".to_string(), Ok(())), ("c".to_string(), Ok(()))],
            failure: None,
        };
        batch.absorb(answers, ApiKey::CreateTopics, "x:1").unwrap();
        assert!(batch.pending.is_empty());
        assert_eq!(batch.done.len(), 4);
    }

    #[test]
    fn groups_partitions_by_topic() {
        let grouped = by_topic([("b", 1), ("a", 2), ("b", 0), ("b", 1)].into_iter());
        assert_eq!(
            grouped.into_iter().collect::<Vec<_>>(),
            vec![("a", vec![2]), ("b", vec![0, 1])]
        );
    }
}
