//! A group's committed offsets: `OffsetFetch` and member-less
//! `OffsetCommit`, each asked from the group's coordinator.

use std::collections::{BTreeMap, HashMap};

use kafka_protocol::messages::offset_commit_request::{
    OffsetCommitRequestPartition, OffsetCommitRequestTopic,
};
use kafka_protocol::messages::offset_fetch_request::{
    OffsetFetchRequestGroup, OffsetFetchRequestTopic, OffsetFetchRequestTopics,
};
use kafka_protocol::messages::{ApiKey, OffsetCommitRequest, OffsetFetchRequest};
use kafka_protocol::protocol::StrBytes;
use kafka_protocol::ResponseError;

use super::plumbing::{by_topic, group_id, malformed, str_bytes, topic_name};
use super::Admin;
use crate::connection::BrokerConnection;
use crate::error::{check_code, ClientError, Result};

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

impl Admin {
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
}
