//! Topics on the clusters: internal topics kmirror writes, and remote topics
//! mirroring the source's (partitions, replication factor, configs).

use std::collections::{BTreeMap, BTreeSet};
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

async fn create_one(client: &KafkaClient, topic: NewTopic) -> Result<bool, ClientError> {
    Ok(!create(client, vec![topic]).await?.is_empty())
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
    let remote = flow.remote_topic(&source_topic.name);
    let partitions = source_topic.partitions.len() as i32;
    let configs = if !target.metadata().topics.contains_key(&remote) {
        let described = source
            .admin()
            .describe_topic_configs(&[&source_topic.name])
            .await?;
        match described.into_values().next() {
            Some(Ok(entries)) => creation_configs(&flow.config_properties, &entries),
            Some(Err(e)) => return Err(e),
            None => BTreeMap::new(),
        }
    } else {
        BTreeMap::new()
    };

    let existing = target
        .refresh_metadata(Some(std::slice::from_ref(&remote)))
        .await?;
    match existing.topics.get(&remote) {
        None => {
            let rf = effective_replication_factor(target, flow.replication_factor, &remote);
            let mut topic =
                NewTopic::new(&remote, partitions, rf).with_config("compression.type", "producer");
            for (name, value) in &configs {
                topic = topic.with_config(name, value);
            }
            create_one(target, topic).await?;
            Ok(partitions)
        }
        Some(meta) => {
            let have = meta.partitions.len() as i32;
            if have < partitions {
                // Partition counts only grow, as in MM2.
                for (_, result) in target
                    .admin()
                    .create_partitions(&[(remote.as_str(), partitions)])
                    .await?
                {
                    result?;
                }
                info!(topic = %remote, from = have, to = partitions, "remote topic partitions grown");
                target
                    .refresh_metadata(Some(std::slice::from_ref(&remote)))
                    .await?;
            }
            Ok(partitions.max(have))
        }
    }
}
