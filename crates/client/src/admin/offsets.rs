//! `ListOffsets`: the offset a spec names for each partition, asked from
//! each partition's leader.

use std::collections::BTreeMap;

use futures::future::join_all;
use indexmap::IndexSet;
use kafka_protocol::messages::list_offsets_request::{ListOffsetsPartition, ListOffsetsTopic};
use kafka_protocol::messages::{ApiKey, BrokerId, ListOffsetsRequest};

use super::batch::Answers;
use super::plumbing::{by_topic, topic_name};
use super::Admin;
use crate::cluster::{leader_of, Purpose};
use crate::error::{check_code, ClientError, Result};

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

impl Admin {
    /// The offset `spec` names for one partition.
    pub async fn offset_of(&self, topic: &str, partition: i32, spec: OffsetSpec) -> Result<i64> {
        self.list_offsets(&[(topic, partition)], spec)
            .await?
            .into_iter()
            .next()
            .map(|(_, offset)| offset)
            .unwrap_or(Err(ClientError::UnknownTopicPartition {
                topic: topic.to_string(),
                partition,
            }))
    }

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
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn offset_specs_map_to_kafka_timestamps() {
        assert_eq!(OffsetSpec::Earliest.timestamp(), -2);
        assert_eq!(OffsetSpec::Latest.timestamp(), -1);
        assert_eq!(OffsetSpec::LatestStable.timestamp(), -1);
        assert_eq!(OffsetSpec::LatestStable.isolation_level(), 1);
        assert_eq!(OffsetSpec::Timestamp(42).timestamp(), 42);
    }
}
