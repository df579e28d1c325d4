//! Topics on the clusters: internal topics kmirror writes, and remote topics
//! mirroring the source's (partitions, replication factor, configs).

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::Mutex;

use kmirror_client::admin::{CreateTopicOutcome, NewTopic};
use kmirror_client::cluster::TopicMetadata;
use kmirror_client::{ClientError, KafkaClient};
use tracing::{debug, info, warn};

use super::config_sync::creation_configs;
use crate::config::mm2::FlowConfig;

/// The replication factor to ask for: the configured one, except on a
/// single-broker cluster (a development set-up), where any factor above one
/// cannot be met and is lowered with a warning instead of failing.
pub fn effective_replication_factor(client: &KafkaClient, wanted: i32, what: &str) -> i16 {
    let brokers = client.metadata().brokers.len() as i32;
    if wanted > 1 && brokers == 1 {
        // Said once per cluster: every topic kmirror creates there would
        // repeat it.
        static WARNED: Mutex<BTreeSet<String>> = Mutex::new(BTreeSet::new());
        let cluster = client.cluster_label();
        if WARNED.lock().unwrap().insert(cluster.clone()) {
            warn!(
                cluster = %cluster,
                wanted,
                what,
                "replication factor lowered to 1 for the topics kmirror creates: the cluster has a single broker"
            );
        } else {
            debug!(cluster = %cluster, wanted, what, "replication factor lowered to 1");
        }
        return 1;
    }
    wanted.clamp(-1, i16::MAX as i32) as i16
}

/// A compacted internal topic kmirror writes.
#[derive(Debug, Clone)]
pub struct InternalTopic {
    pub name: String,
    pub partitions: i32,
    pub replication_factor: i32,
}

/// Makes sure a compacted internal topic exists. True when this call
/// created it (so there is nothing to read from it yet).
pub async fn ensure_compacted_topic(
    client: &KafkaClient,
    name: &str,
    partitions: i32,
    replication_factor: i32,
) -> Result<bool, ClientError> {
    let created = ensure_compacted_topics(
        client,
        &[InternalTopic {
            name: name.to_string(),
            partitions,
            replication_factor,
        }],
    )
    .await?;
    Ok(created.contains(name))
}

/// Makes sure compacted internal topics exist, creating the missing ones
/// in one request (a broker answers one CreateTopics per connection at a
/// time, each after the controller commits, so one request per topic would
/// add up on a cold start). Returns the names this call created.
pub async fn ensure_compacted_topics(
    client: &KafkaClient,
    topics: &[InternalTopic],
) -> Result<BTreeSet<String>, ClientError> {
    let metadata = client.metadata();
    let missing: Vec<NewTopic> = topics
        .iter()
        .filter(|t| !metadata.topics.contains_key(&t.name))
        .map(|t| {
            let rf = effective_replication_factor(client, t.replication_factor, &t.name);
            NewTopic::new(&t.name, t.partitions, rf).with_config("cleanup.policy", "compact")
        })
        .collect();
    create(client, missing).await
}

async fn create(
    client: &KafkaClient,
    topics: Vec<NewTopic>,
) -> Result<BTreeSet<String>, ClientError> {
    let mut created = BTreeSet::new();
    if topics.is_empty() {
        return Ok(created);
    }
    let names: Vec<String> = topics.iter().map(|t| t.name.clone()).collect();
    let results = client.admin().create_topics(&topics, false).await?;
    for (name, result) in results {
        match result? {
            CreateTopicOutcome::Created => {
                info!(topic = %name, cluster = %client.cluster_label(), "topic created");
                created.insert(name);
            }
            CreateTopicOutcome::AlreadyExists => {}
        }
    }
    client.refresh_metadata(Some(&names)).await?;
    Ok(created)
}

/// Creates the remote topic of `source_topic` with the source's configs
/// (see [`super::config_sync`], which keeps them in sync later), or grows
/// its partitions. Returns the remote partition count.
pub async fn ensure_remote_topic(
    flow: &FlowConfig,
    source: &KafkaClient,
    target: &KafkaClient,
    source_topic: &TopicMetadata,
) -> Result<i32, ClientError> {
    let mut outcomes =
        ensure_remote_topics(flow, source, target, std::slice::from_ref(source_topic)).await?;
    outcomes
        .remove(&source_topic.name)
        .unwrap_or(Err(ClientError::UnknownTopicPartition {
            topic: flow.remote_topic(&source_topic.name),
            partition: -1,
        }))
}

/// Topics per CreateTopics request: the controller creates them all before
/// the broker answers, so a request must stay well inside its timeout.
const CREATE_CHUNK_TOPICS: usize = 200;
/// Partitions per CreateTopics request. A KRaft controller refuses a
/// request of more than 10,000 partitions ("Excessively large number of
/// partitions per request"), which is how MM2 fails to create the remote
/// topics of a 10,000-partition flow.
const CREATE_CHUNK_PARTITIONS: i64 = 5_000;

/// Splits `topics` into CreateTopics requests within both limits; a topic
/// larger than the partition limit goes alone.
fn create_chunks(topics: &[NewTopic]) -> Vec<&[NewTopic]> {
    let mut chunks = Vec::new();
    let (mut start, mut partitions) = (0, 0i64);
    for (i, topic) in topics.iter().enumerate() {
        let more = i64::from(topic.partitions.max(1));
        let full = i - start >= CREATE_CHUNK_TOPICS || partitions + more > CREATE_CHUNK_PARTITIONS;
        if i > start && full {
            chunks.push(&topics[start..i]);
            (start, partitions) = (i, 0);
        }
        partitions += more;
    }
    if start < topics.len() {
        chunks.push(&topics[start..]);
    }
    chunks
}

/// [`ensure_remote_topic`] for many source topics at once, in a fixed
/// number of requests whatever their count (one Metadata, DescribeConfigs
/// and CreatePartitions, one CreateTopics per [`CREATE_CHUNK_TOPICS`]
/// topics or [`CREATE_CHUNK_PARTITIONS`] partitions):
/// 1,000 topics must not cost 4,000 requests on one control connection.
/// Returns each source topic's outcome; `Err` only when no topic could be
/// handled.
pub async fn ensure_remote_topics(
    flow: &FlowConfig,
    source: &KafkaClient,
    target: &KafkaClient,
    source_topics: &[TopicMetadata],
) -> Result<HashMap<String, Result<i32, ClientError>>, ClientError> {
    let mut outcomes = HashMap::new();
    if source_topics.is_empty() {
        return Ok(outcomes);
    }
    let remotes: Vec<String> = source_topics
        .iter()
        .map(|t| flow.remote_topic(&t.name))
        .collect();
    let existing = target.refresh_metadata(Some(&remotes)).await?;
    let mut missing = Vec::new();
    let mut grow = Vec::new();
    for (topic, remote) in source_topics.iter().zip(&remotes) {
        let partitions = topic.partitions.len() as i32;
        match existing.topics.get(remote).filter(|m| m.error.is_none()) {
            None => missing.push((topic, remote)),
            Some(meta) if (meta.partitions.len() as i32) < partitions => {
                grow.push((topic, remote, meta.partitions.len() as i32))
            }
            Some(meta) => {
                outcomes.insert(
                    topic.name.clone(),
                    Ok(partitions.max(meta.partitions.len() as i32)),
                );
            }
        }
    }
    let created_or_grown = !missing.is_empty() || !grow.is_empty();
    if !missing.is_empty() {
        create_remote_topics(flow, source, target, &missing, &mut outcomes).await?;
    }
    if !grow.is_empty() {
        // Partition counts only grow, as in MM2.
        let increases: Vec<(&str, i32)> = grow
            .iter()
            .map(|(t, remote, _)| (remote.as_str(), t.partitions.len() as i32))
            .collect();
        let mut results: HashMap<String, Result<(), ClientError>> = target
            .admin()
            .create_partitions(&increases)
            .await?
            .into_iter()
            .collect();
        for (topic, remote, have) in grow {
            let partitions = topic.partitions.len() as i32;
            let outcome = match results.remove(remote.as_str()) {
                Some(Ok(())) => {
                    info!(topic = %remote, from = have, to = partitions, "remote topic partitions grown");
                    Ok(partitions)
                }
                Some(Err(e)) => Err(e),
                None => Err(ClientError::UnknownTopicPartition {
                    topic: remote.clone(),
                    partition: -1,
                }),
            };
            outcomes.insert(topic.name.clone(), outcome);
        }
    }
    if created_or_grown {
        // The producers need the new partitions' leaders; otherwise the
        // refresh above already holds them.
        target.refresh_metadata(Some(&remotes)).await?;
    }
    Ok(outcomes)
}

/// Creates the `missing` remote topics with their source topics' configs.
async fn create_remote_topics(
    flow: &FlowConfig,
    source: &KafkaClient,
    target: &KafkaClient,
    missing: &[(&TopicMetadata, &String)],
    outcomes: &mut HashMap<String, Result<i32, ClientError>>,
) -> Result<(), ClientError> {
    let names: Vec<&str> = missing.iter().map(|(t, _)| t.name.as_str()).collect();
    let mut described = source.admin().describe_topic_configs(&names).await?;
    let mut new_topics = Vec::new();
    let mut partitions_of = HashMap::new();
    for (topic, remote) in missing {
        let configs = match described.remove(&topic.name) {
            Some(Ok(entries)) => creation_configs(&flow.config_properties, &entries),
            Some(Err(e)) => {
                outcomes.insert(topic.name.clone(), Err(e));
                continue;
            }
            None => BTreeMap::new(),
        };
        let partitions = topic.partitions.len() as i32;
        let rf = effective_replication_factor(target, flow.replication_factor, remote);
        let mut new = NewTopic::new(remote.as_str(), partitions, rf)
            .with_config("compression.type", "producer");
        for (name, value) in &configs {
            new = new.with_config(name, value);
        }
        new_topics.push(new);
        partitions_of.insert(remote.to_string(), (topic.name.clone(), partitions));
    }
    for chunk in create_chunks(&new_topics) {
        for (remote, result) in target.admin().create_topics(chunk, false).await? {
            let Some((topic, partitions)) = partitions_of.remove(&remote) else {
                continue;
            };
            let outcome = match result {
                Ok(CreateTopicOutcome::Created) => {
                    info!(topic = %remote, cluster = %target.cluster_label(), "topic created");
                    Ok(partitions)
                }
                Ok(CreateTopicOutcome::AlreadyExists) => Ok(partitions),
                Err(e) => Err(e),
            };
            outcomes.insert(topic, outcome);
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn topics(partitions: &[i32]) -> Vec<NewTopic> {
        partitions
            .iter()
            .enumerate()
            .map(|(i, &p)| NewTopic::new(format!("t{i}"), p, 1))
            .collect()
    }

    fn sizes(chunks: &[&[NewTopic]]) -> Vec<usize> {
        chunks.iter().map(|c| c.len()).collect()
    }

    #[test]
    fn create_requests_stay_within_the_topic_and_partition_limits() {
        // 1,000 topics of 10 partitions: 200 topics (2,000 partitions) each.
        let many = topics(&[10; 1000]);
        assert_eq!(sizes(&create_chunks(&many)), [200; 5]);
        // Large topics: at most 5,000 partitions per request.
        let large = topics(&[3000, 3000, 2000, 100]);
        assert_eq!(sizes(&create_chunks(&large)), [1, 2, 1]);
        // One topic above the limit still goes, alone.
        let huge = topics(&[12_000, 1]);
        assert_eq!(sizes(&create_chunks(&huge)), [1, 1]);
        // Every topic is in exactly one chunk.
        let mixed = topics(&[1, 4999, 2, 5000, 7, 6000, 3]);
        let chunks = create_chunks(&mixed);
        assert_eq!(chunks.iter().map(|c| c.len()).sum::<usize>(), mixed.len());
        for chunk in &chunks {
            let partitions: i64 = chunk.iter().map(|t| i64::from(t.partitions)).sum();
            assert!(chunk.len() == 1 || partitions <= CREATE_CHUNK_PARTITIONS);
        }
        assert!(create_chunks(&[]).is_empty());
    }
}
