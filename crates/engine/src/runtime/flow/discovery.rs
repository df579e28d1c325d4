//! What the flow replicates: the source partitions its filters select (the
//! units of work its group shares out), found at start and every
//! `refresh.topics.interval`, with their remote topics prepared.

use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::Duration;

use kmirror_client::cluster::TopicMetadata;
use kmirror_client::{Backoff, ClientError, KafkaClient};
use tokio::sync::watch;
use tokio_util::sync::CancellationToken;
use tracing::{debug, warn};

use super::FlowContext;
use crate::config::mm2::FlowConfig;
use crate::filter::should_replicate_topic;
use crate::group::{units_digest, Unit};
use crate::metrics::ErrorKind;
use crate::model::TopicPartition;
use crate::runtime::membership::UnitsNotifier;
use crate::runtime::topics::ensure_remote_topics;

/// The flow's units of work: its control unit and, when it replicates,
/// every partition of every source topic it selects.
pub(super) async fn flow_units(
    flow: &FlowConfig,
    source: &KafkaClient,
) -> Result<BTreeSet<Unit>, ClientError> {
    let mut units = BTreeSet::from([Unit::Control]);
    if !flow.replication_enabled {
        return Ok(units);
    }
    let metadata = source.refresh_metadata(None).await?;
    for topic in metadata.topics.values() {
        if topic.error.is_some() || !should_replicate_topic(&topic.name, flow) {
            continue;
        }
        for p in &topic.partitions {
            units.insert(Unit::Partition(TopicPartition::new(
                &topic.name,
                p.partition,
            )));
        }
    }
    Ok(units)
}

/// Finds the source topics to replicate every `refresh.topics.interval`,
/// and as soon as a topic another flow creates on the source appears (see
/// [`crate::runtime::replicator::expected_source_topics`]); creates their remote
/// topics or grows their partitions (configs are synced apart, see
/// [`crate::runtime::config_sync`]), and asks for a rebalance when the partitions
/// differ from those the group assigned.
pub(super) async fn run_discovery(
    ctx: Arc<FlowContext>,
    assigned_digest: watch::Receiver<u64>,
    notifier: UnitsNotifier,
    stop: CancellationToken,
) {
    let refresh = ctx
        .flow
        .refresh_topics
        .interval()
        .unwrap_or(Duration::from_secs(u32::MAX as u64));
    loop {
        // Expected topics the discovery did not find: watched for below.
        let mut missing: Vec<String> = Vec::new();
        let wait = match discover(&ctx).await {
            Ok(units) => {
                missing = ctx
                    .expected_source_topics
                    .iter()
                    .filter(|topic| {
                        !units
                            .iter()
                            .any(|u| matches!(u, Unit::Partition(tp) if *tp.topic == **topic))
                    })
                    .cloned()
                    .collect();
                let digest = units_digest(&units.into_iter().collect::<Vec<_>>());
                if digest != *assigned_digest.borrow() {
                    notifier.units_changed(digest);
                }
                refresh
            }
            Err(e) => {
                warn!(flow = %ctx.name, error = %e, "topic discovery failed; retrying");
                ctx.status.error(&ctx.name, ErrorKind::Discovery);
                Duration::from_secs(5).min(refresh)
            }
        };
        tokio::select! {
            _ = tokio::time::sleep(wait) => {}
            _ = expected_topic_created(&ctx.source, &missing) => {
                debug!(flow = %ctx.name, topics = ?missing, "a topic kmirror creates appeared on the source; discovering now");
            }
            _ = stop.cancelled() => return,
        }
    }
}

/// Pauses between two looks for a missing expected topic: 250 ms doubling
/// up to 10 s, so that a flow into the source that runs in a process
/// started later is still seen within 10 s.
const EXPECTED_TOPIC_POLL: Backoff =
    Backoff::new(Duration::from_millis(250), Duration::from_secs(10));

/// Returns once one of `missing` exists on the source, never when
/// `missing` is empty. Asks for those topics only (a cheap metadata
/// request), not for the whole cluster as a discovery does.
async fn expected_topic_created(source: &KafkaClient, missing: &[String]) {
    if missing.is_empty() {
        return std::future::pending().await;
    }
    let mut pauses = EXPECTED_TOPIC_POLL;
    loop {
        tokio::time::sleep(pauses.next_pause()).await;
        if let Ok(metadata) = source.refresh_metadata(Some(missing)).await {
            if missing
                .iter()
                .any(|t| metadata.topics.get(t).is_some_and(|t| t.error.is_none()))
            {
                return;
            }
        }
    }
}

async fn discover(ctx: &FlowContext) -> Result<BTreeSet<Unit>, ClientError> {
    let units = flow_units(&ctx.flow, &ctx.source).await?;
    let metadata = ctx.source.metadata();
    let mut topics: Vec<_> = metadata
        .topics
        .values()
        .filter(|t| t.error.is_none() && should_replicate_topic(&t.name, &ctx.flow))
        .collect();
    topics.sort_by(|a, b| a.name.cmp(&b.name));
    let topics: Vec<TopicMetadata> = topics.into_iter().cloned().collect();
    // All remote topics in a few requests: per topic, 1,000 topics would
    // be 4,000 requests on one control connection.
    match ensure_remote_topics(&ctx.flow, &ctx.source, &ctx.target, &topics).await {
        Ok(outcomes) => {
            for (topic, outcome) in outcomes {
                match outcome {
                    Ok(_) => ctx.lookups.remote_topic_ready(&topic),
                    Err(e) => {
                        warn!(flow = %ctx.name, topic = %topic, error = %e, "cannot prepare remote topic");
                        ctx.status.error(&ctx.name, ErrorKind::Discovery);
                    }
                }
            }
        }
        Err(e) => {
            warn!(flow = %ctx.name, error = %e, "cannot prepare remote topics");
            ctx.status.error(&ctx.name, ErrorKind::Discovery);
        }
    }
    Ok(units)
}
