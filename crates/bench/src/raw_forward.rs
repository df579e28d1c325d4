//! Issue 2's benchmark program: how fast the raw data path alone forwards a
//! preloaded topic, and what it costs in CPU.
//!
//! Records are loaded into cluster A with the Java producer; then this
//! process forwards the topic to cluster B partition by partition with
//! `kmirror_engine::forward` (one `SourceFetcher`, one `forward_partition`
//! task and idempotent `PartitionSender` per partition, the engine's default
//! fetch and queue settings), exactly what `kmirror run` does per partition
//! minus topic discovery, progress and offset syncs. It reports MB/s and
//! this process's CPU seconds per GB, read from `/proc/self/stat` around the
//! forward only.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::{bail, Context as _, Result};
use kmirror_client::admin::OffsetSpec;
use kmirror_client::produce::{init_producer_id, PartitionSender, SendConfig};
use kmirror_client::{ClientConfig, KafkaClient};
use kmirror_engine::forward::fetcher::{FetcherCommand, ResetPolicy, SourceFetcher};
use kmirror_engine::forward::partition::{forward_partition, Progress};
use kmirror_engine::model::TopicPartition;
use kmirror_engine::runtime::FlowTuning;
use kmirror_testbed::{Compression, GenOptions};
use serde::Serialize;
use tokio::sync::mpsc;

use crate::proc_stats::ProcStats;

/// What to forward.
#[derive(Debug, Clone)]
pub struct RawForwardOptions {
    pub records: u64,
    pub size: usize,
    pub partitions: i32,
    pub compression: Compression,
    /// Existing clusters to use instead of starting two.
    pub source_bootstrap: Option<String>,
    pub target_bootstrap: Option<String>,
    /// Overrides the engine's fetch response limit (`max_bytes`).
    pub fetch_max_bytes: Option<i32>,
    /// Overrides the engine's per-partition queue of fetched chunks.
    pub partition_queue: Option<usize>,
}

/// The outcome, printed as a table and as JSON.
#[derive(Debug, Clone, Serialize)]
pub struct RawForwardReport {
    pub records: u64,
    pub record_size: usize,
    pub partitions: i32,
    pub compression: &'static str,
    /// Keys and values as the producer sent them (uncompressed).
    pub payload_bytes: u64,
    /// Record batches as forwarded (compressed, with headers).
    pub wire_bytes: u64,
    pub batches: u64,
    pub seconds: f64,
    pub payload_mb_per_s: f64,
    pub wire_mb_per_s: f64,
    pub cpu_seconds: f64,
    pub cpu_seconds_per_payload_gb: f64,
    pub cpu_seconds_per_wire_gb: f64,
    /// This process's peak RSS (it holds little besides the forward).
    pub peak_rss_mib: f64,
    pub fetch_max_bytes: i32,
    pub preload_seconds: f64,
}

impl RawForwardReport {
    pub fn to_text(&self) -> String {
        format!(
            "raw forward: {} records of {} B, {} partitions, {}\n\
             payload {:.1} MB ({:.1} MB on the wire in {} batches) in {:.2} s\n\
             throughput  {:>8.1} MB/s payload   {:>8.1} MB/s wire\n\
             CPU         {:>8.2} s   = {:.2} s per GB payload, {:.2} s per GB wire\n\
             peak RSS    {:>8.1} MiB (fetch responses up to {} MiB)\n\
             (preload with the Java producer took {:.1} s)",
            self.records,
            self.record_size,
            self.partitions,
            self.compression,
            self.payload_bytes as f64 / 1e6,
            self.wire_bytes as f64 / 1e6,
            self.batches,
            self.seconds,
            self.payload_mb_per_s,
            self.wire_mb_per_s,
            self.cpu_seconds,
            self.cpu_seconds_per_payload_gb,
            self.cpu_seconds_per_wire_gb,
            self.peak_rss_mib,
            self.fetch_max_bytes >> 20,
            self.preload_seconds,
        )
    }
}

/// Runs the benchmark: clusters (started unless given), preload, forward,
/// check, report.
pub fn run(options: &RawForwardOptions) -> Result<RawForwardReport> {
    let mut owned = Vec::new();
    let (source_bootstrap, target_bootstrap) =
        match (&options.source_bootstrap, &options.target_bootstrap) {
            (Some(s), Some(t)) => (s.clone(), t.clone()),
            (None, None) => {
                let (a, b) = crate::compare::start_cluster_pair(false, false)?;
                let bootstraps = (a.bootstrap(), b.bootstrap());
                owned.push(a);
                owned.push(b);
                bootstraps
            }
            _ => bail!("give both --source and --target bootstraps, or neither"),
        };

    let topic = kmirror_testbed::random_topic_name("raw-forward");
    let remote_topic = format!("bench.{topic}");
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    let (source, target) = runtime.block_on(async {
        let source = connect(&source_bootstrap).await?;
        let target = connect(&target_bootstrap).await?;
        anyhow::Ok((source, target))
    })?;
    runtime.block_on(async {
        create_topic(&source, &topic, options.partitions, &[]).await?;
        create_topic(
            &target,
            &remote_topic,
            options.partitions,
            &[("compression.type", "producer")],
        )
        .await
    })?;

    eprintln!(
        "[raw-forward] loading {} records of {} B ({}) into {topic}",
        options.records,
        options.size,
        options.compression.as_str()
    );
    let mut gen = GenOptions::new(options.records, options.size);
    gen.compression = options.compression;
    gen.partitions_from_topic = true;
    let loaded = kmirror_testbed::gen(&source_bootstrap, &topic, &gen);

    eprintln!("[raw-forward] forwarding {topic} to {remote_topic}");
    let cpu_before = ProcStats::of_self()?.cpu;
    let started = Instant::now();
    let mut tuning = FlowTuning::default();
    if let Some(max) = options.fetch_max_bytes {
        tuning.fetch.max_bytes = max;
    }
    if let Some(queue) = options.partition_queue {
        tuning.partition_queue = queue.max(1);
    }
    let fetch_max_bytes = tuning.fetch.max_bytes;
    let (wire_bytes, batches) = runtime.block_on(forward_topic(
        &source,
        &target,
        &topic,
        &remote_topic,
        options.partitions,
        tuning,
    ))?;
    let peak_rss_mib = ProcStats::of_self()?.peak_rss_mib();
    let seconds = started.elapsed().as_secs_f64();
    let cpu = (ProcStats::of_self()?.cpu - cpu_before).as_secs_f64();

    let (upstream, downstream) = runtime.block_on(async {
        let mut up = Vec::new();
        let mut down = Vec::new();
        for p in 0..options.partitions {
            up.push(
                source
                    .admin()
                    .offset_of(&topic, p, OffsetSpec::Latest)
                    .await?,
            );
            down.push(
                target
                    .admin()
                    .offset_of(&remote_topic, p, OffsetSpec::Latest)
                    .await?,
            );
        }
        anyhow::Ok((up, down))
    })?;
    if upstream != downstream {
        bail!("target end offsets {downstream:?} differ from the source's {upstream:?}");
    }
    drop(owned);

    let payload_gb = loaded.bytes as f64 / 1e9;
    let wire_gb = wire_bytes as f64 / 1e9;
    Ok(RawForwardReport {
        records: options.records,
        record_size: options.size,
        partitions: options.partitions,
        compression: options.compression.as_str(),
        payload_bytes: loaded.bytes,
        wire_bytes,
        batches,
        seconds,
        payload_mb_per_s: loaded.bytes as f64 / 1e6 / seconds,
        wire_mb_per_s: wire_bytes as f64 / 1e6 / seconds,
        cpu_seconds: cpu,
        cpu_seconds_per_payload_gb: cpu / payload_gb,
        cpu_seconds_per_wire_gb: cpu / wire_gb,
        peak_rss_mib,
        fetch_max_bytes,
        preload_seconds: loaded.elapsed.as_secs_f64(),
    })
}

async fn connect(bootstrap: &str) -> Result<KafkaClient> {
    let mut config = ClientConfig::new(bootstrap);
    config.connection.client_id = "kmirror-bench".into();
    tokio::time::timeout(Duration::from_secs(60), KafkaClient::connect(config))
        .await
        .context("connecting timed out")?
        .with_context(|| format!("cannot connect to {bootstrap}"))
}

async fn create_topic(
    client: &KafkaClient,
    topic: &str,
    partitions: i32,
    configs: &[(&str, &str)],
) -> Result<()> {
    let mut new_topic = kmirror_client::admin::NewTopic::new(topic, partitions, 1);
    for (k, v) in configs {
        new_topic = new_topic.with_config(*k, *v);
    }
    let outcomes = client.admin().create_topics(&[new_topic], false).await?;
    for outcome in outcomes {
        outcome
            .1
            .with_context(|| format!("cannot create {topic}"))?;
    }
    // Leaders are elected within moments; wait until metadata shows them.
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let metadata = client.refresh_metadata(Some(&[topic.to_string()])).await?;
        if metadata.topics.get(topic).is_some_and(|t| {
            t.partitions.len() == partitions as usize && t.partitions.iter().all(|p| p.leader >= 0)
        }) {
            return Ok(());
        }
        if Instant::now() > deadline {
            bail!("{topic} has no leaders after 30 s");
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Forwards every partition of `topic` from its start to its last stable
/// offset as it is now; returns the bytes and batches forwarded.
async fn forward_topic(
    source: &KafkaClient,
    target: &KafkaClient,
    topic: &str,
    remote_topic: &str,
    partitions: i32,
    tuning: FlowTuning,
) -> Result<(u64, u64)> {
    let (commands, commands_rx) = mpsc::channel(64);
    let fetcher = SourceFetcher::new(source.clone(), tuning.fetch.clone(), ResetPolicy::Earliest);
    let fetch_task = tokio::spawn(fetcher.run(commands_rx));
    let identity = init_producer_id(target).await?;
    let totals = Arc::new(Mutex::new((0u64, 0u64)));
    let mut tasks = Vec::new();
    for p in 0..partitions {
        let start = source
            .admin()
            .offset_of(topic, p, OffsetSpec::Earliest)
            .await?;
        let end = source
            .admin()
            .offset_of(topic, p, OffsetSpec::LatestStable)
            .await?;
        if start >= end {
            continue;
        }
        let (events_tx, events_rx) = mpsc::channel(tuning.partition_queue);
        commands
            .send(FetcherCommand::Add {
                tp: TopicPartition::new(topic, p),
                offset: start,
                events: events_tx,
            })
            .await
            .context("the fetcher stopped")?;
        let target = target.clone();
        let remote_topic = remote_topic.to_string();
        let commands = commands.clone();
        let topic = topic.to_string();
        let totals = totals.clone();
        tasks.push(tokio::spawn(async move {
            let mut sender =
                PartitionSender::new(target, &remote_topic, p, identity, SendConfig::default());
            let (done_tx, mut done_rx) = mpsc::channel::<()>(1);
            let mut next = start;
            let forwarding = forward_partition(events_rx, &mut sender, |event| {
                match event {
                    Progress::Forwarded(batch) => {
                        next = batch.upstream_next();
                        let mut totals = totals.lock().unwrap();
                        totals.0 += u64::from(batch.bytes);
                        totals.1 += 1;
                    }
                    Progress::SkippedTo { next: n } => next = next.max(n),
                    Progress::HighWatermark(_) => {}
                }
                if next >= end {
                    let _ = done_tx.try_send(());
                }
            });
            tokio::pin!(forwarding);
            tokio::select! {
                result = &mut forwarding => {
                    bail!("forwarding partition {p} ended early: {result:?}");
                }
                _ = done_rx.recv() => {}
            }
            // Stop fetching and let the forwarder finish what it holds.
            let _ = commands
                .send(FetcherCommand::Remove {
                    tp: TopicPartition::new(&topic, p),
                })
                .await;
            forwarding
                .await
                .with_context(|| format!("partition {p} failed while draining"))?;
            Ok(())
        }));
    }
    drop(commands);
    let mut failures = HashMap::new();
    for (i, task) in tasks.into_iter().enumerate() {
        if let Err(e) = task.await? {
            failures.insert(i, e);
        }
    }
    fetch_task.abort();
    if let Some((_, e)) = failures.into_iter().next() {
        return Err(e);
    }
    let totals = *totals.lock().unwrap();
    Ok(totals)
}
