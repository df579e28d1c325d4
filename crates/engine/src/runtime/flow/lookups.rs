//! What a partition needs before it starts, looked up for many partitions
//! at once: its start offset, its remote topic, a producer id.
//!
//! A flow of 10,000 partitions starts 10,000 pipelines together. Asked one
//! by one, these lookups are 10,000 requests each on the clusters' control
//! connections, which brokers answer in order; batched (see
//! [`crate::runtime::coalesce`]) they are a handful.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};

use kmirror_client::admin::OffsetSpec;
use kmirror_client::produce::{init_producer_id, ProducerIdentity};
use kmirror_client::{ClientError, KafkaClient};
use tokio::sync::OnceCell;

use crate::config::mm2::FlowConfig;
use crate::model::TopicPartition;
use crate::runtime::coalesce::{Coalescer, LookupError};
use crate::runtime::topics::ensure_remote_topics;

/// The flow's batched lookups.
#[derive(Debug)]
pub(super) struct FlowLookups {
    earliest: Coalescer<TopicPartition, i64>,
    remote_topics: Coalescer<String, i32>,
    /// Remote topics known to exist with the source's partitions: each is
    /// prepared once, however many of its partitions ask.
    prepared: Mutex<HashMap<String, Arc<OnceCell<()>>>>,
    producer_ids: ProducerIds,
}

impl FlowLookups {
    pub(super) fn new(flow: &FlowConfig, source: &KafkaClient, target: &KafkaClient) -> Self {
        let earliest = {
            let source = source.clone();
            Coalescer::spawn(move |partitions: Vec<TopicPartition>| {
                let source = source.clone();
                async move { earliest_offsets(&source, &partitions).await }
            })
        };
        let remote_topics = {
            let (flow, source, target) = (flow.clone(), source.clone(), target.clone());
            Coalescer::spawn(move |topics: Vec<String>| {
                let (flow, source, target) = (flow.clone(), source.clone(), target.clone());
                async move { prepare_remote_topics(&flow, &source, &target, &topics).await }
            })
        };
        FlowLookups {
            earliest,
            remote_topics,
            prepared: Mutex::default(),
            producer_ids: ProducerIds::new(target.clone()),
        }
    }

    /// The source's earliest offset of `tp`.
    pub(super) async fn earliest_offset(&self, tp: &TopicPartition) -> Result<i64, LookupError> {
        self.earliest.get(tp.clone()).await
    }

    /// Makes sure the remote topic of `topic` exists, once per topic.
    pub(super) async fn prepare_remote_topic(&self, topic: &str) -> Result<(), LookupError> {
        self.cell(topic)
            .get_or_try_init(|| async {
                self.remote_topics.get(topic.to_string()).await.map(|_| ())
            })
            .await?;
        Ok(())
    }

    /// The topic discovery prepared `topic`'s remote topic.
    pub(super) fn remote_topic_ready(&self, topic: &str) {
        let _ = self.cell(topic).set(());
    }

    fn cell(&self, topic: &str) -> Arc<OnceCell<()>> {
        self.prepared
            .lock()
            .unwrap()
            .entry(topic.to_string())
            .or_default()
            .clone()
    }

    /// A producer id for `tp`'s next sender (see [`ProducerIds`]).
    pub(super) async fn producer_id(
        &self,
        tp: &TopicPartition,
    ) -> Result<ProducerIdentity, ClientError> {
        self.producer_ids.for_partition(tp).await
    }
}

async fn earliest_offsets(
    source: &KafkaClient,
    partitions: &[TopicPartition],
) -> Result<HashMap<TopicPartition, Result<i64, ClientError>>, ClientError> {
    let keys: Vec<(&str, i32)> = partitions
        .iter()
        .map(|tp| (&*tp.topic, tp.partition))
        .collect();
    let answers = source
        .admin()
        .list_offsets(&keys, OffsetSpec::Earliest)
        .await?;
    Ok(answers
        .into_iter()
        .map(|((topic, partition), offset)| (TopicPartition::new(&topic, partition), offset))
        .collect())
}

async fn prepare_remote_topics(
    flow: &FlowConfig,
    source: &KafkaClient,
    target: &KafkaClient,
    topics: &[String],
) -> Result<HashMap<String, Result<i32, ClientError>>, ClientError> {
    let metadata = source.refresh_metadata(Some(topics)).await?;
    let described: Vec<_> = topics
        .iter()
        .filter_map(|t| metadata.topics.get(t))
        .filter(|t| t.error.is_none())
        .cloned()
        .collect();
    ensure_remote_topics(flow, source, target, &described).await
}

/// Producer ids for the flow's partitions.
///
/// Each partition's sender needs a producer id whose sequence on that
/// partition starts at 0. One id serves the first sender of every
/// partition, as one Java producer serves all its partitions: the broker
/// keeps sequences per partition. A partition that starts again (after a
/// pause, or when the group gives it back) cannot continue that id's
/// sequence, so it gets a fresh one. A flow of 10,000 partitions then starts
/// with one InitProducerId, not 10,000.
#[derive(Debug)]
struct ProducerIds {
    target: KafkaClient,
    shared: OnceCell<ProducerIdentity>,
    /// Partitions that already wrote with the shared id.
    used: Mutex<HashSet<TopicPartition>>,
}

impl ProducerIds {
    fn new(target: KafkaClient) -> Self {
        ProducerIds {
            target,
            shared: OnceCell::new(),
            used: Mutex::default(),
        }
    }

    async fn for_partition(&self, tp: &TopicPartition) -> Result<ProducerIdentity, ClientError> {
        let first_start = self.used.lock().unwrap().insert(tp.clone());
        if first_start {
            let shared = self
                .shared
                .get_or_try_init(|| init_producer_id(&self.target))
                .await;
            match shared {
                Ok(identity) => return Ok(*identity),
                // Not used after all: a later start may still take it.
                Err(e) => {
                    self.used.lock().unwrap().remove(tp);
                    return Err(e);
                }
            }
        }
        init_producer_id(&self.target).await
    }
}
