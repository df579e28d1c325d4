//! The checkpoint task (MM2's `MirrorCheckpointTask`): for every consumer group on
//! the source with committed offsets on topics this flow mirrors, the
//! translated position on the target, written to
//! `<source>.checkpoints.internal` on the target, and, when
//! `sync.group.offsets.enabled`, committed to the group on the target while
//! it has no active members there.
//!
//! The translation itself is pure and lives in [`crate::offsets::checkpoint`].

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use std::time::Duration;

use kmirror_client::admin::{GroupState, OffsetToCommit};
use kmirror_client::lease::WriteLease;
use kmirror_client::mm2::Checkpoint;
use kmirror_client::{ClientError, KafkaClient};
use tokio_util::sync::CancellationToken;
use tracing::{debug, info, warn};

use super::index_store::index_topic;
use super::ownership::Ownership;
use super::ticker::Ticker;
use super::topics::ensure_compacted_topic;
use super::writer::RecordWriter;
use super::{EngineError, StatusBoard};
use crate::config::mm2::FlowConfig;
use crate::filter::should_replicate_group;
use crate::metrics::ErrorKind;
use crate::model::{now_ms, FlowId};
use crate::offsets::checkpoint::{
    monotonic, translate_offsets, CheckpointKey, Committed, Translated,
};
use crate::offsets::IndexRegistry;
use crate::records::{latest_by_key, read_partition};

/// Translates every committed offset of `group` (fetched from `source`)
/// that this flow can translate.
pub async fn translate_group(
    flow: &FlowConfig,
    indexes: &IndexRegistry,
    source: &KafkaClient,
    group: &str,
) -> Result<Vec<Translated>, ClientError> {
    let committed = source
        .admin()
        .offset_fetch(group, None::<&[(&str, i32)]>)
        .await?;
    let committed = committed
        .into_iter()
        .map(|((topic, partition), offset)| Committed {
            topic,
            partition,
            offset: offset.offset,
            metadata: offset.metadata.unwrap_or_default(),
        });
    Ok(translate_offsets(flow, indexes, group, committed))
}

/// Emits checkpoints (and syncs group offsets) every interval until
/// `shutdown`.
#[allow(clippy::too_many_arguments)]
pub async fn run_checkpoints(
    flow: FlowConfig,
    source: KafkaClient,
    target: KafkaClient,
    indexes: Arc<IndexRegistry>,
    status: Arc<StatusBoard>,
    ownership: Arc<Ownership>,
    lease: WriteLease,
    shutdown: CancellationToken,
) {
    let Some(every) = flow.emit_checkpoints.interval() else {
        return;
    };
    let topic = flow.checkpoints_topic();
    let created = match ensure_compacted_topic(
        &target,
        &topic,
        1,
        flow.checkpoints_topic_replication_factor as i32,
    )
    .await
    {
        Ok(created) => created,
        Err(e) => {
            warn!(flow = %flow.name(), error = %e, "cannot create the checkpoints topic; checkpoints disabled");
            return;
        }
    };
    // A topic created just now holds no earlier checkpoints (and answers
    // "unknown" or "no leader" for a moment).
    let mut emitted = if created {
        BTreeMap::new()
    } else {
        load_emitted(&target, &topic).await
    };
    let mut writer = RecordWriter::new(target.clone()).with_lease(lease.clone());
    let sync_every = flow.sync_group_offsets.interval();
    let mut next_sync = tokio::time::Instant::now();
    let mut ticker = Ticker::new(every, &shutdown);
    while ticker.tick().await {
        let round_started_ms = now_ms();
        // Other workers run some partitions: translate through what every
        // worker persisted of both directions' indexes (at most a progress
        // commit behind), not through this worker's live share.
        let persisted;
        let translate_with = if ownership.others_own_some() {
            persisted = persisted_indexes(&flow, &source, &target).await;
            &persisted
        } else {
            &*indexes
        };
        let translated = match checkpoint_round(&flow, &source, translate_with).await {
            Ok(t) => t,
            Err(e) => {
                warn!(flow = %flow.name(), error = %e, "cannot read source groups");
                status.error(&flow.name(), ErrorKind::Checkpoint);
                continue;
            }
        };
        let fresh = monotonic(&mut emitted, translated);
        if !fresh.is_empty() {
            let records: Vec<_> = fresh
                .iter()
                .filter_map(|t| {
                    let checkpoint = Checkpoint {
                        consumer_group_id: t.group.clone(),
                        topic: t.topic.clone(),
                        partition: t.partition,
                        upstream_offset: t.upstream_offset,
                        downstream_offset: t.downstream_offset,
                        metadata: t.metadata.clone(),
                    };
                    Some((
                        checkpoint.encode_key().ok()?,
                        Some(checkpoint.encode_value().ok()?),
                    ))
                })
                .collect();
            match writer.write(&topic, 0, &records).await {
                Ok(()) => {
                    debug!(flow = %flow.name(), count = records.len(), "checkpoints written");
                    status.checkpoints_written(
                        &flow.name(),
                        records.len(),
                        now_ms() - round_started_ms,
                    );
                }
                Err(e) => {
                    warn!(flow = %flow.name(), error = %e, "cannot write checkpoints");
                    status.error(&flow.name(), ErrorKind::Checkpoint);
                }
            }
        }
        if let Some(sync_every) = sync_every {
            if tokio::time::Instant::now() >= next_sync {
                next_sync = tokio::time::Instant::now() + sync_every;
                let latest: Vec<Translated> = emitted.values().cloned().collect();
                // A worker no longer confirmed in its group may have lost
                // this task to another already.
                if lease.is_valid() {
                    sync_group_offsets(&flow, &target, &latest).await;
                }
            }
        }
    }
}

/// Both directions' offset indexes as persisted in their topics: this
/// flow's on its target, the opposite flow's (if it runs) on its source.
async fn persisted_indexes(
    flow: &FlowConfig,
    source: &KafkaClient,
    target: &KafkaClient,
) -> IndexRegistry {
    let registry = IndexRegistry::default();
    if let Err(e) = registry
        .load(&flow.name(), target, flow.source.as_str())
        .await
    {
        warn!(flow = %flow.name(), error = %e, "cannot read the offset index the workers persisted");
    }
    let backward = FlowId::reversed_of(flow);
    let topic = index_topic(flow.target.as_str());
    let exists = source
        .refresh_metadata(Some(std::slice::from_ref(&topic)))
        .await
        .is_ok_and(|metadata| {
            metadata
                .topics
                .get(&topic)
                .is_some_and(|t| t.error.is_none())
        });
    if exists {
        if let Err(e) = registry.load(&backward, source, flow.target.as_str()).await {
            warn!(flow = %backward, error = %e, "cannot read the offset index the workers persisted");
        }
    }
    registry
}

async fn checkpoint_round(
    flow: &FlowConfig,
    source: &KafkaClient,
    indexes: &IndexRegistry,
) -> Result<Vec<Translated>, ClientError> {
    let groups = source.admin().list_groups().await?;
    let mut out = Vec::new();
    for group in groups {
        if !should_replicate_group(&group.group_id, flow) {
            continue;
        }
        match translate_group(flow, indexes, source, &group.group_id).await {
            Ok(t) => out.extend(t),
            Err(e) => debug!(group = %group.group_id, error = %e, "cannot translate group"),
        }
    }
    Ok(out)
}

async fn load_emitted(target: &KafkaClient, topic: &str) -> BTreeMap<CheckpointKey, Translated> {
    let mut out = BTreeMap::new();
    let records = match read_partition(target, topic, 0, Duration::from_secs(60)).await {
        Ok(records) => records,
        // A topic created a moment ago may not be known to every broker
        // yet; it holds no earlier checkpoints either way.
        Err(e) if e.is_missing_topic() => {
            debug!(topic, error = %e, "no earlier checkpoints to read");
            return out;
        }
        Err(e) => {
            warn!(topic, error = %e, "cannot read earlier checkpoints");
            return out;
        }
    };
    for (key, value) in latest_by_key(records) {
        if let Ok(c) = Checkpoint::decode(&key, &value) {
            out.insert(
                (c.consumer_group_id.clone(), c.topic.clone(), c.partition),
                Translated::from(c),
            );
        }
    }
    out
}

/// Commits translated offsets to target groups that have no active members,
/// never moving a group backwards, as MM2's `sync.group.offsets` does.
pub async fn sync_group_offsets(
    flow: &FlowConfig,
    target: &KafkaClient,
    translated: &[Translated],
) {
    let mut by_group: BTreeMap<&str, Vec<&Translated>> = BTreeMap::new();
    for t in translated {
        by_group.entry(&t.group).or_default().push(t);
    }
    for (group, offsets) in by_group {
        match commit_if_idle(target, group, &offsets).await {
            Ok(0) => {}
            Ok(n) => {
                info!(flow = %flow.name(), group, partitions = n, "group offsets synced to the target")
            }
            Err(reason) => {
                debug!(flow = %flow.name(), group, reason = %reason, "group offsets not synced")
            }
        }
    }
}

/// Commits `offsets` to `group` on `target` when the group has no active
/// members there; skips partitions where the group is already further.
/// Returns how many partitions moved.
pub async fn commit_if_idle(
    target: &KafkaClient,
    group: &str,
    offsets: &[&Translated],
) -> Result<usize, EngineError> {
    let offsets_failed = |source| EngineError::GroupOffsets {
        group: group.to_string(),
        source,
    };
    let described = target
        .admin()
        .describe_groups(&[group])
        .await
        .map_err(offsets_failed)?;
    for (_, description) in described {
        if let Ok(d) = description {
            let idle = d.members.is_empty()
                && matches!(
                    d.state,
                    GroupState::Empty | GroupState::Dead | GroupState::Other(_)
                );
            if !idle {
                return Err(EngineError::GroupActive {
                    group: group.to_string(),
                    state: d.state,
                    members: d.members.len(),
                });
            }
        }
    }
    let current: HashMap<(String, i32), i64> = target
        .admin()
        .offset_fetch(group, None::<&[(&str, i32)]>)
        .await
        .map_err(offsets_failed)?
        .into_iter()
        .map(|(k, v)| (k, v.offset))
        .collect();
    let commits: Vec<OffsetToCommit> = offsets
        .iter()
        .filter(|t| {
            current
                .get(&(t.topic.clone(), t.partition))
                .is_none_or(|&c| c < t.downstream_offset)
        })
        .map(|t| {
            OffsetToCommit::new(&t.topic, t.partition, t.downstream_offset)
                .with_metadata(&t.metadata)
        })
        .collect();
    if commits.is_empty() {
        return Ok(0);
    }
    let results = target
        .admin()
        .offset_commit(group, &commits)
        .await
        .map_err(offsets_failed)?;
    let mut moved = 0;
    for (tp, result) in results {
        match result {
            Ok(()) => moved += 1,
            Err(source) => {
                return Err(EngineError::GroupOffsetRefused {
                    group: group.to_string(),
                    topic: tp.0,
                    partition: tp.1,
                    source,
                })
            }
        }
    }
    Ok(moved)
}
