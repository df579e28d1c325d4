//! One replication flow, `source->target`: topic discovery and remote topic
//! management, one pipeline per partition, durable progress, offset syncs,
//! heartbeats and topic ACL sync.

use std::collections::{BTreeMap, HashMap};
use std::hash::{Hash, Hasher};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use kmirror_client::admin::OffsetSpec;
use kmirror_client::fetch::{FetchParams, Isolation};
use kmirror_client::produce::{init_producer_id, PartitionSender, SendConfig};
use kmirror_client::{ClientError, KafkaClient};
use kmirror_wire::mm2::{Heartbeat, OffsetSync};
use tokio::sync::mpsc;
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;
use tracing::{error, info, warn};

use super::acl_sync::run_acl_sync;
use super::authorization::{self, Side};
use super::offset_sync::OffsetSyncState;
use super::progress::{progress_topic, ProgressStore, PROGRESS_TOPIC_PARTITIONS};
use super::resume::already_replicated;
use super::status::StatusBoard;
use super::ticker::Ticker;
use super::topics::{
    ensure_compacted_topic, ensure_compacted_topics, ensure_remote_topic, InternalTopic,
};
use super::writer::{now_ms, RecordWriter};
use crate::config::mm2::FlowConfig;
use crate::filter::should_replicate_topic;
use crate::forward::fetcher::{FetcherCommand, ResetPolicy, SourceFetcher};
use crate::forward::partition::{drain_in_flight, forward_partition, ForwardError, Progress};
use crate::forward::TopicPartition;
use crate::metrics::ErrorKind;
use crate::offsets::checkpoint::run_checkpoints;
use crate::offsets::store::index_topic;
use crate::offsets::IndexRegistry;
use crate::records::offset_of;

/// How often progress is made durable. After a crash at most this much
/// acknowledged traffic (plus what was in flight) is copied again.
pub const PROGRESS_COMMIT_INTERVAL: Duration = Duration::from_secs(1);

/// How long a stopping partition waits for the acknowledgements of its
/// in-flight batches; well inside the 10 s a graceful stop may take.
const STOP_DRAIN_TIMEOUT: Duration = Duration::from_secs(3);

/// Settings of the data path that MM2's properties do not cover.
#[derive(Debug, Clone)]
pub struct FlowTuning {
    pub fetch: FetchParams,
    pub progress_commit_interval: Duration,
    /// Queue of fetched chunks per partition (backpressure).
    pub partition_queue: usize,
    /// First pause before retrying a paused partition; doubles to a minute.
    pub pause_backoff: Duration,
}

impl Default for FlowTuning {
    fn default() -> Self {
        FlowTuning {
            fetch: FetchParams {
                isolation: Isolation::ReadCommitted,
                ..FetchParams::default()
            },
            progress_commit_interval: PROGRESS_COMMIT_INTERVAL,
            partition_queue: 2,
            pause_backoff: Duration::from_secs(1),
        }
    }
}

/// Everything the tasks of one flow share.
#[derive(Debug)]
struct FlowContext {
    flow: FlowConfig,
    name: String,
    source: KafkaClient,
    target: KafkaClient,
    status: Arc<StatusBoard>,
    tuning: FlowTuning,
    fetchers: Vec<mpsc::Sender<FetcherCommand>>,
    /// Next upstream offset per partition, as acknowledged by the target.
    positions: Mutex<HashMap<TopicPartition, i64>>,
    /// Offset-sync pairs (upstream, downstream) to write, per partition.
    offset_syncs: mpsc::Sender<(TopicPartition, Vec<(i64, i64)>)>,
    /// Offset translation indexes of every flow (checkpoints translate
    /// through the opposite flow's index too).
    indexes: Arc<IndexRegistry>,
    shutdown: CancellationToken,
}

/// Runs a flow until `shutdown` is cancelled; returns after in-flight
/// batches were acknowledged and progress was written.
pub async fn run_flow(
    flow: FlowConfig,
    source: KafkaClient,
    target: KafkaClient,
    status: Arc<StatusBoard>,
    indexes: Arc<IndexRegistry>,
    tuning: FlowTuning,
    shutdown: CancellationToken,
) -> Result<(), ClientError> {
    let name = flow.name();
    status.flow_started(&name, flow.source.as_str(), flow.target.as_str());
    let result = run_flow_inner(
        flow,
        source,
        target,
        status.clone(),
        indexes,
        tuning,
        shutdown,
    )
    .await;
    match &result {
        Ok(()) => status.flow_stopped(&name),
        Err(e) => status.flow_failed(&name, e.to_string()),
    }
    result
}

async fn run_flow_inner(
    flow: FlowConfig,
    source: KafkaClient,
    target: KafkaClient,
    status: Arc<StatusBoard>,
    indexes: Arc<IndexRegistry>,
    tuning: FlowTuning,
    shutdown: CancellationToken,
) -> Result<(), ClientError> {
    let name = flow.name();
    let mut background = JoinSet::new();

    let syncs_on_source = flow.offset_syncs_cluster() == &flow.source;
    let syncs_client = if syncs_on_source {
        source.clone()
    } else {
        target.clone()
    };
    // The flow's internal topics, created together (one request per
    // cluster) on a cold start.
    let progress_rf = flow.replication_factor.max(1);
    let mut on_target = Vec::new();
    let mut on_source = Vec::new();
    if flow.emit_heartbeats.enabled {
        on_target.push(InternalTopic {
            name: flow.policy.heartbeats_topic().to_string(),
            partitions: 1,
            replication_factor: flow.heartbeats_topic_replication_factor as i32,
        });
    }
    if flow.replication_enabled {
        if flow.emit_offset_syncs_enabled {
            let syncs = InternalTopic {
                name: flow.offset_syncs_topic(),
                partitions: 1,
                replication_factor: flow.offset_syncs_topic_replication_factor as i32,
            };
            if syncs_on_source {
                on_source.push(syncs);
            } else {
                on_target.push(syncs);
            }
        }
        on_target.push(InternalTopic {
            name: progress_topic(flow.source.as_str()),
            partitions: PROGRESS_TOPIC_PARTITIONS,
            replication_factor: progress_rf,
        });
        on_target.push(InternalTopic {
            name: index_topic(flow.source.as_str()),
            partitions: 1,
            replication_factor: progress_rf,
        });
    }
    let (created, _) = tokio::try_join!(
        ensure_compacted_topics(&target, &on_target),
        ensure_compacted_topics(&source, &on_source),
    )?;
    // A topic created just now holds nothing: reading it would only wait
    // for its partitions' leaders.
    let progress_ready = async {
        if !flow.replication_enabled {
            return Ok(None);
        }
        let progress = if created.contains(&progress_topic(flow.source.as_str())) {
            ProgressStore::empty(flow.source.as_str(), PROGRESS_TOPIC_PARTITIONS)
        } else {
            ProgressStore::load(&target, flow.source.as_str(), PROGRESS_TOPIC_PARTITIONS).await?
        };
        Ok::<_, ClientError>(Some(progress))
    };
    let index_ready = async {
        if flow.replication_enabled && !created.contains(&index_topic(flow.source.as_str())) {
            indexes.load(&name, &target, flow.source.as_str()).await?;
        }
        Ok(())
    };
    let (progress, ()) = tokio::try_join!(progress_ready, index_ready)?;

    if flow.emit_heartbeats.enabled {
        background.spawn(emit_heartbeats(
            flow.clone(),
            RecordWriter::new(target.clone()),
            status.clone(),
            shutdown.clone(),
        ));
    }
    let Some(mut progress) = progress else {
        status.flow_discovered(&name);
        shutdown.cancelled().await;
        background.join_all().await;
        return Ok(());
    };
    if flow.emit_checkpoints.enabled {
        background.spawn(run_checkpoints(
            flow.clone(),
            source.clone(),
            target.clone(),
            indexes.clone(),
            status.clone(),
            shutdown.clone(),
        ));
    }

    if flow.sync_topic_acls.interval().is_some() {
        background.spawn(run_acl_sync(
            flow.clone(),
            source.clone(),
            target.clone(),
            status.clone(),
            shutdown.clone(),
        ));
    }

    // One fetcher per task, as MM2 runs one consumer per task.
    let mut fetcher_tasks = JoinSet::new();
    let mut fetchers = Vec::new();
    for _ in 0..flow.tasks_max.max(1) {
        let (tx, rx) = mpsc::channel(64);
        let fetcher =
            SourceFetcher::new(source.clone(), tuning.fetch.clone(), ResetPolicy::Earliest);
        let stop = shutdown.clone();
        fetcher_tasks.spawn(async move {
            tokio::select! {
                _ = fetcher.run(rx) => {}
                _ = stop.cancelled() => {}
            }
        });
        fetchers.push(tx);
    }

    let (sync_tx, sync_rx) = mpsc::channel(4096);
    if flow.emit_offset_syncs_enabled {
        background.spawn(write_offset_syncs(
            flow.clone(),
            RecordWriter::new(syncs_client),
            sync_rx,
        ));
    }

    let ctx = Arc::new(FlowContext {
        name: name.clone(),
        flow: flow.clone(),
        source: source.clone(),
        target: target.clone(),
        status,
        tuning: tuning.clone(),
        fetchers,
        positions: Mutex::new(HashMap::new()),
        offset_syncs: sync_tx,
        indexes,
        shutdown: shutdown.clone(),
    });

    let mut pipelines: BTreeMap<TopicPartition, CancellationToken> = BTreeMap::new();
    let mut pipeline_tasks = JoinSet::new();
    let mut progress_writer = RecordWriter::new(target.clone());
    let refresh = flow
        .refresh_topics
        .interval()
        .unwrap_or(Duration::from_secs(u32::MAX as u64));
    let config_sync = flow.sync_topic_configs.interval();
    let mut next_discovery = tokio::time::Instant::now();
    let mut next_config_sync = tokio::time::Instant::now();
    let mut commit_tick = tokio::time::interval(tuning.progress_commit_interval);
    commit_tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);

    info!(flow = %name, "flow started");
    loop {
        tokio::select! {
            _ = shutdown.cancelled() => break,
            _ = tokio::time::sleep_until(next_discovery) => {
                let sync_configs = config_sync.is_some() && tokio::time::Instant::now() >= next_config_sync;
                if let Err(e) = discover(&ctx, &progress, &mut pipelines, &mut pipeline_tasks, sync_configs).await {
                    warn!(flow = %name, error = %e, "topic discovery failed; retrying");
                    ctx.status.error(&name, ErrorKind::Discovery);
                    next_discovery = tokio::time::Instant::now() + Duration::from_secs(5).min(refresh);
                    continue;
                }
                ctx.status.flow_discovered(&name);
                if let (true, Some(every)) = (sync_configs, config_sync) {
                    next_config_sync = tokio::time::Instant::now() + every;
                }
                next_discovery = tokio::time::Instant::now() + refresh;
            }
            _ = commit_tick.tick() => {
                commit_progress(&ctx, &mut progress, &mut progress_writer).await;
            }
            Some(_) = pipeline_tasks.join_next(), if !pipeline_tasks.is_empty() => {}
        }
    }

    // Shutdown: fetchers stop, pipelines drain what is in flight, then the
    // final positions are written.
    fetcher_tasks.join_all().await;
    while pipeline_tasks.join_next().await.is_some() {}
    commit_progress(&ctx, &mut progress, &mut progress_writer).await;
    drop(ctx);
    background.join_all().await;
    info!(flow = %name, "flow stopped");
    Ok(())
}

async fn commit_progress(
    ctx: &FlowContext,
    progress: &mut ProgressStore,
    writer: &mut RecordWriter,
) {
    // Positions first, then the index (which already holds every batch
    // the positions count), then the positions: a restart never resumes
    // from a position whose mapping the index does not know.
    let positions = ctx.positions.lock().unwrap().clone();
    if let Err(e) = ctx
        .indexes
        .persist(&ctx.name, writer, ctx.flow.source.as_str())
        .await
    {
        warn!(flow = %ctx.name, error = %e, "cannot write the offset index; will retry");
    }
    if let Err(e) = progress.commit(writer, &positions).await {
        warn!(flow = %ctx.name, error = %e, "cannot write progress; will retry");
    }
}

/// Finds source topics to replicate, creates or updates their remote topics
/// and starts pipelines for new partitions; stops pipelines of topics no
/// longer selected.
async fn discover(
    ctx: &Arc<FlowContext>,
    progress: &ProgressStore,
    pipelines: &mut BTreeMap<TopicPartition, CancellationToken>,
    tasks: &mut JoinSet<()>,
    sync_configs: bool,
) -> Result<(), ClientError> {
    let metadata = ctx.source.refresh_metadata(None).await?;
    let mut selected: Vec<_> = metadata
        .topics
        .values()
        .filter(|t| t.error.is_none() && should_replicate_topic(&t.name, &ctx.flow))
        .cloned()
        .collect();
    selected.sort_by(|a, b| a.name.cmp(&b.name));

    let mut wanted = BTreeMap::new();
    for topic in &selected {
        let remote_partitions = match ensure_remote_topic(
            &ctx.flow,
            &ctx.source,
            &ctx.target,
            topic,
            sync_configs,
        )
        .await
        {
            Ok(n) => n,
            Err(e) => {
                warn!(flow = %ctx.name, topic = %topic.name, error = %e, "cannot prepare remote topic");
                ctx.status.error(&ctx.name, ErrorKind::Discovery);
                continue;
            }
        };
        for p in &topic.partitions {
            if p.partition < remote_partitions {
                wanted.insert(TopicPartition::new(&topic.name, p.partition), ());
            }
        }
    }

    pipelines.retain(|tp, token| {
        let keep = wanted.contains_key(tp);
        if !keep {
            info!(flow = %ctx.name, %tp, "partition no longer selected; stopping its pipeline");
            token.cancel();
            ctx.status.partition_removed(&ctx.name, tp);
        }
        keep
    });
    for tp in wanted.into_keys() {
        if pipelines.contains_key(&tp) {
            continue;
        }
        let start = match progress.resume_offset(&tp) {
            Some(offset) => offset,
            None => offset_of(&ctx.source, &tp.topic, tp.partition, OffsetSpec::Earliest).await?,
        };
        let token = ctx.shutdown.child_token();
        pipelines.insert(tp.clone(), token.clone());
        tasks.spawn(run_pipeline(ctx.clone(), tp, start, token));
    }
    Ok(())
}

fn fetcher_for(ctx: &FlowContext, tp: &TopicPartition) -> mpsc::Sender<FetcherCommand> {
    // A stable hash spreads partitions over tasks and keeps each on its
    // task when others come and go.
    let mut hasher = std::collections::hash_map::DefaultHasher::new();
    tp.hash(&mut hasher);
    let index = (hasher.finish() % ctx.fetchers.len() as u64) as usize;
    ctx.fetchers[index].clone()
}

/// Runs one partition's pipeline, pausing on errors and retrying with
/// backoff until the flow stops or the partition is deselected.
async fn run_pipeline(
    ctx: Arc<FlowContext>,
    tp: TopicPartition,
    start: i64,
    stop: CancellationToken,
) {
    let remote_topic = ctx.flow.remote_topic(&tp.topic);
    let fetcher = fetcher_for(&ctx, &tp);
    let mut next = start;
    let mut backoff = ctx.tuning.pause_backoff;
    let mut sync_state = OffsetSyncState::new(ctx.flow.offset_lag_max);
    loop {
        ctx.status
            .partition_started(&ctx.name, &tp, &remote_topic, next);
        skip_already_replicated(&ctx, &tp, &remote_topic, &mut next).await;
        let outcome = async {
            let identity = init_producer_id(&ctx.target)
                .await
                .map_err(|e| {
                    let error = ForwardError::Produce(e);
                    (ErrorKind::ProducerInit, describe_forward_error(&ctx, &tp, &remote_topic, &error))
                })?;
            let mut sender = PartitionSender::new(
                ctx.target.clone(),
                &remote_topic,
                tp.partition,
                identity,
                SendConfig::default(),
            );
            let (events_tx, events_rx) = mpsc::channel(ctx.tuning.partition_queue);
            fetcher
                .send(FetcherCommand::Add {
                    tp: tp.clone(),
                    offset: next,
                    events: events_tx,
                })
                .await
                .map_err(|_| (ErrorKind::Fetch, "fetcher stopped".to_string()))?;
            let forwarded = {
                let forwarding = forward_partition(events_rx, &mut sender, |event| {
                    record_progress(&ctx, &tp, &mut next, &mut sync_state, event)
                });
                tokio::select! {
                    result = forwarding => Some(result.map_err(|e| {
                        (forward_error_kind(&e), describe_forward_error(&ctx, &tp, &remote_topic, &e))
                    })),
                    _ = stop.cancelled() => None,
                }
            };
            if let Some(result) = forwarded {
                return result;
            }
            // Stopping: record what the target acknowledges of the batches
            // in flight, so that the final progress covers them and a
            // restart does not copy them again. Batches fetched but not sent
            // are left to the restart.
            let drain = drain_in_flight(&mut sender, |event| {
                record_progress(&ctx, &tp, &mut next, &mut sync_state, event)
            });
            let error = match tokio::time::timeout(STOP_DRAIN_TIMEOUT, drain).await {
                Ok(Ok(())) => None,
                Ok(Err(e)) => Some(e.to_string()),
                Err(_) => Some(format!("no acknowledgement within {STOP_DRAIN_TIMEOUT:?}")),
            };
            if let Some(error) = error {
                warn!(flow = %ctx.name, %tp, error, "in-flight batches unconfirmed at stop; a restart copies them again");
            }
            Ok(())
        }
        .await;
        let _ = fetcher
            .send(FetcherCommand::Remove { tp: tp.clone() })
            .await;
        let (kind, error) = match outcome {
            Ok(()) => return,
            Err(error) => error,
        };
        if stop.is_cancelled() {
            return;
        }
        error!(flow = %ctx.name, %tp, remote = %remote_topic, offset = next, error = %error, "partition paused");
        ctx.status
            .partition_paused(&ctx.name, &tp, kind, error.clone(), now_ms());
        tokio::select! {
            _ = tokio::time::sleep(backoff) => {}
            _ = stop.cancelled() => return,
        }
        backoff = (backoff * 2).min(Duration::from_secs(60));
        // The remote topic may be what is missing; recreate it if so.
        if let Ok(meta) = ctx.source.topic_metadata(&tp.topic).await {
            if let Err(e) =
                ensure_remote_topic(&ctx.flow, &ctx.source, &ctx.target, &meta, false).await
            {
                warn!(flow = %ctx.name, %tp, error = %e, "cannot prepare remote topic");
            }
        }
        info!(flow = %ctx.name, %tp, offset = next, "partition resuming");
    }
}

/// The error of a paused partition, with the ACL to add when a cluster
/// refused kmirror's principal.
fn describe_forward_error(
    ctx: &FlowContext,
    tp: &TopicPartition,
    remote_topic: &str,
    error: &ForwardError,
) -> String {
    let hint = match error {
        ForwardError::Fetch(e) => authorization::missing_acl(
            e,
            Side::Source,
            ctx.flow.source.as_str(),
            &tp.topic,
            ctx.source
                .config()
                .connection
                .security
                .principal()
                .as_deref(),
        ),
        ForwardError::Produce(e) => authorization::missing_acl(
            e,
            Side::Target,
            ctx.flow.target.as_str(),
            remote_topic,
            ctx.target
                .config()
                .connection
                .security
                .principal()
                .as_deref(),
        ),
        ForwardError::Unforwardable { .. } => None,
    };
    match hint {
        Some(hint) => format!("{error}; {hint}"),
        None => error.to_string(),
    }
}

fn forward_error_kind(error: &ForwardError) -> ErrorKind {
    match error {
        ForwardError::Fetch(_) => ErrorKind::Fetch,
        ForwardError::Produce(_) => ErrorKind::Produce,
        ForwardError::Unforwardable { .. } => ErrorKind::Unforwardable,
    }
}

/// Moves `next` past the batches the target already holds from before a
/// crash or a pause (see [`super::resume`]), recording their mappings.
async fn skip_already_replicated(
    ctx: &FlowContext,
    tp: &TopicPartition,
    remote_topic: &str,
    next: &mut i64,
) {
    // Only where the index knows `next` exactly (not past its end).
    let Some(downstream) = ctx.indexes.exact_downstream(&ctx.name, tp, *next) else {
        return;
    };
    match already_replicated(
        &ctx.source,
        &ctx.target,
        tp,
        remote_topic,
        *next,
        downstream,
    )
    .await
    {
        Ok(batches) if !batches.is_empty() => {
            let from = *next;
            for batch in &batches {
                ctx.indexes.record(&ctx.name, tp, batch);
                *next = (*next).max(batch.upstream_next());
            }
            ctx.status.skipped_to(&ctx.name, tp, *next);
            ctx.positions.lock().unwrap().insert(tp.clone(), *next);
            info!(flow = %ctx.name, %tp, from, to = *next, batches = batches.len(), "already on the target; not copied again");
        }
        Ok(_) => {}
        Err(e) => {
            warn!(flow = %ctx.name, %tp, error = %e, "cannot compare with the target; resuming as recorded")
        }
    }
}

fn record_progress(
    ctx: &FlowContext,
    tp: &TopicPartition,
    next: &mut i64,
    sync_state: &mut OffsetSyncState,
    event: Progress,
) {
    match event {
        Progress::Forwarded(batch) => {
            *next = (*next).max(batch.upstream_next());
            ctx.status.forwarded(&ctx.name, tp, &batch, now_ms());
            ctx.indexes.record(&ctx.name, tp, &batch);
            let pairs = sync_state.update(&batch);
            if !pairs.is_empty() {
                // Dropped when the writer is far behind; the next batch that
                // needs a sync writes one.
                let _ = ctx.offset_syncs.try_send((tp.clone(), pairs));
            }
        }
        Progress::SkippedTo { next: skipped } => {
            *next = (*next).max(skipped);
            ctx.status.skipped_to(&ctx.name, tp, skipped);
        }
        Progress::HighWatermark(end) => {
            ctx.status.source_end_offset(&ctx.name, tp, end);
            return;
        }
    }
    ctx.positions.lock().unwrap().insert(tp.clone(), *next);
}

/// Writes the offset syncs the pipelines decided on (MM2's rules, see
/// [`OffsetSyncState`]).
async fn write_offset_syncs(
    flow: FlowConfig,
    mut writer: RecordWriter,
    mut syncs: mpsc::Receiver<(TopicPartition, Vec<(i64, i64)>)>,
) {
    let topic = flow.offset_syncs_topic();
    // Whatever queued up while the last write ran goes out in one batch.
    while let Some(first) = syncs.recv().await {
        let mut pending = vec![first];
        while let Ok(more) = syncs.try_recv() {
            pending.push(more);
        }
        let mut records = Vec::new();
        for (tp, pairs) in pending {
            for (upstream, downstream) in pairs {
                let sync = OffsetSync {
                    topic: tp.topic.to_string(),
                    partition: tp.partition,
                    upstream_offset: upstream,
                    downstream_offset: downstream,
                };
                match sync.encode_key() {
                    Ok(key) => records.push((key, Some(sync.encode_value()))),
                    Err(e) => warn!(%tp, error = %e, "offset sync not encodable"),
                }
            }
        }
        if let Err(e) = writer.write(&topic, 0, &records).await {
            warn!(flow = %flow.name(), error = %e, "cannot write offset syncs");
        }
    }
}

/// Writes a heartbeat to the target every interval.
async fn emit_heartbeats(
    flow: FlowConfig,
    mut writer: RecordWriter,
    status: Arc<StatusBoard>,
    shutdown: CancellationToken,
) {
    let Some(every) = flow.emit_heartbeats.interval() else {
        return;
    };
    let topic = flow.policy.heartbeats_topic().to_string();
    let mut ticker = Ticker::new(every, &shutdown);
    while ticker.tick().await {
        let at = now_ms();
        let heartbeat = Heartbeat {
            source_cluster_alias: flow.source.to_string(),
            target_cluster_alias: flow.target.to_string(),
            timestamp_ms: at,
        };
        let key = match heartbeat.encode_key() {
            Ok(key) => key,
            Err(e) => {
                error!(flow = %flow.name(), error = %e, "heartbeat not encodable");
                return;
            }
        };
        match writer
            .write(&topic, 0, &[(key, Some(heartbeat.encode_value()))])
            .await
        {
            Ok(()) => status.heartbeat_written(&flow.name(), at),
            Err(e) if e.is_missing_topic() => {
                status.error(&flow.name(), ErrorKind::Heartbeat);
                let _ = ensure_compacted_topic(
                    writer.client(),
                    &topic,
                    1,
                    flow.heartbeats_topic_replication_factor as i32,
                )
                .await;
            }
            Err(e) => {
                warn!(flow = %flow.name(), error = %e, "cannot write heartbeat");
                status.error(&flow.name(), ErrorKind::Heartbeat);
            }
        }
    }
}
