//! The steps every scenario's runs share: topics, preloading, a fresh flow
//! per run, starting the replicator, and the CPU accounting around it.

use std::time::{Duration, Instant};

use anyhow::{bail, Context as _, Result};
use kmirror_client::admin::NewTopic;
use kmirror_testbed::{Compression, GenOptions, GenReport, KafkaCluster};

use super::clusters::stop_admin_jvm;
use super::{Bench, KmirrorConfig, Measurement, Side};
use crate::probe::Probe;
use crate::proc_stats::{self, ProcStats};
use crate::replicator::{mm2_properties, FlowSpec, ReplicatorKind, RunningReplicator};

/// CPU counters at one moment (see [`Bench::load_snapshot`]).
#[derive(Debug, Clone, Copy)]
pub(super) struct LoadSnapshot {
    pub(super) machine: Duration,
    pub(super) brokers: Duration,
    /// This process and the load generators it waited for.
    pub(super) harness: Duration,
}

/// Source topics the harness preloads start with this; remote topics start
/// with their run's alias, and everything else is a replicator's.
const SOURCE_TOPIC_PREFIX: &str = "bench-";

impl Bench<'_> {
    pub(super) fn side(&self, cluster: KafkaCluster, bootstrap: Option<String>) -> Result<Side> {
        let bootstrap = bootstrap.unwrap_or_else(|| cluster.bootstrap());
        let probe = self.runtime.block_on(Probe::connect(&bootstrap))?;
        // The harness does its topic work with kmirror's client; the test
        // bed's idle admin JVM would only count against the JVM budget.
        stop_admin_jvm(&cluster);
        Ok(Side {
            broker_pids: super::clusters::broker_pids(&cluster),
            cluster,
            bootstrap,
            secured: None,
            probe,
        })
    }

    pub(super) fn create_topic(&self, side: &Side, topic: &str, partitions: i32) -> Result<()> {
        self.create_topics(side, &[topic.to_string()], partitions)
    }

    /// Creates `topics` (100 per request) and waits until every partition
    /// has a leader: 30 s, plus a second per 100 partitions.
    pub(super) fn create_topics(
        &self,
        side: &Side,
        topics: &[String],
        partitions: i32,
    ) -> Result<()> {
        self.runtime.block_on(async {
            let admin = side.probe.client().admin();
            for chunk in topics.chunks(100) {
                let new: Vec<NewTopic> = chunk
                    .iter()
                    .map(|t| NewTopic::new(t, partitions, 1))
                    .collect();
                for (topic, outcome) in admin.create_topics(&new, false).await? {
                    outcome.with_context(|| format!("cannot create {topic}"))?;
                }
            }
            let expected = topics.len() * partitions.max(1) as usize;
            let wait = Duration::from_secs(30 + expected as u64 / 100);
            let deadline = Instant::now() + wait;
            while side.probe.ends_of(topics).await?.len() < expected {
                if Instant::now() > deadline {
                    bail!(
                        "{} has partitions without leaders after {} s",
                        topics.join(", "),
                        wait.as_secs()
                    );
                }
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
            Ok(())
        })
    }

    pub(super) fn delete_topics(&self, side: &Side, topics: &[String]) -> Result<()> {
        if topics.is_empty() {
            return Ok(());
        }
        self.runtime.block_on(async {
            let results = side.probe.client().admin().delete_topics(topics).await?;
            for (topic, result) in results {
                if let Err(e) = result {
                    eprintln!("[bench] cannot delete {topic}: {e}");
                }
            }
            anyhow::Ok(())
        })
    }

    /// Topics of the cluster, Kafka's own (`__*`) left out.
    pub(super) fn topics(&self, side: &Side) -> Result<Vec<String>> {
        let metadata = self
            .runtime
            .block_on(side.probe.client().refresh_metadata(None))?;
        let mut topics: Vec<String> = metadata
            .topics
            .keys()
            .filter(|t| !t.starts_with("__"))
            .cloned()
            .collect();
        topics.sort();
        Ok(topics)
    }

    /// Deletes every topic a run created on either side: all but the
    /// preloaded source topics (`bench-*`).
    pub(super) fn clean_up(&self, sides: [&Side; 2]) {
        for side in sides {
            let result = self.topics(side).and_then(|topics| {
                let doomed: Vec<String> = topics
                    .into_iter()
                    .filter(|t| !t.starts_with(SOURCE_TOPIC_PREFIX))
                    .collect();
                self.delete_topics(side, &doomed)
            });
            if let Err(e) = result {
                eprintln!("[bench] clean-up failed: {e:#}");
            }
        }
    }

    /// CPU counters to tell, after a run, what the brokers and the rest of
    /// the machine spent meanwhile.
    pub(super) fn load_snapshot(&self, sides: [&Side; 2]) -> LoadSnapshot {
        let pid_cpu = |pid: &u32| ProcStats::of(*pid).map_or(Duration::ZERO, |s| s.cpu);
        LoadSnapshot {
            machine: proc_stats::machine_busy().unwrap_or_default(),
            brokers: sides
                .iter()
                .flat_map(|s| s.broker_pids.iter().map(pid_cpu))
                .sum(),
            harness: ProcStats::of_self().map_or(Duration::ZERO, |s| s.cpu),
        }
    }

    /// Fills in the replicator's final stats and the load around it.
    pub(super) fn account(
        &self,
        m: &mut Measurement,
        stats: &ProcStats,
        before: &LoadSnapshot,
        sides: [&Side; 2],
    ) {
        let after = self.load_snapshot(sides);
        let secs = |d: Duration| d.as_secs_f64();
        m.cpu_s = stats.cpu_seconds();
        m.peak_rss_mib = stats.peak_rss_mib();
        m.broker_cpu_s = secs(after.brokers.saturating_sub(before.brokers));
        m.other_cpu_s = (secs(after.machine.saturating_sub(before.machine))
            - m.cpu_s
            - m.broker_cpu_s
            - secs(after.harness.saturating_sub(before.harness)))
        .max(0.0);
    }

    pub(super) fn preload(
        &self,
        side: &Side,
        topic: &str,
        bytes: u64,
        codec: Compression,
    ) -> Result<GenReport> {
        let records = self.options.records_for(bytes);
        eprintln!(
            "[bench] loading {records} records of {} B ({}) into {topic}",
            self.options.record_size,
            codec.as_str()
        );
        let mut gen = GenOptions::new(records, self.options.record_size);
        gen.compression = codec;
        gen.partitions_from_topic = true;
        gen.timeout = Some(Duration::from_secs(1800));
        let loaded = side.cluster.gen(topic, &gen);
        eprintln!(
            "[bench] loaded {:.0} MB in {:.1} s ({:.0} MB/s)",
            loaded.bytes as f64 / 1e6,
            loaded.elapsed.as_secs_f64(),
            loaded.bytes as f64 / 1e6 / loaded.elapsed.as_secs_f64().max(0.001)
        );
        Ok(loaded)
    }

    /// The next run's flow: fresh aliases, hence fresh remote and internal
    /// topics.
    pub(super) fn flow(
        &mut self,
        source: &Side,
        target: &Side,
        topic: &str,
        codec: Compression,
        partitions: i32,
    ) -> FlowSpec {
        self.runs += 1;
        FlowSpec {
            source_alias: format!("kafka-a-r{}", self.runs),
            target_alias: format!("kafka-b-r{}", self.runs),
            source_bootstrap: source.bootstrap.clone(),
            target_bootstrap: target.bootstrap.clone(),
            topic: topic.to_string(),
            topics: None,
            partitions,
            compression: codec,
            source_props: Vec::new(),
            target_props: Vec::new(),
        }
    }

    pub(super) fn start_replicator(
        &self,
        kind: ReplicatorKind,
        flow: &FlowSpec,
    ) -> Result<RunningReplicator> {
        let tuned = match kind {
            ReplicatorKind::Kmirror => self.options.kmirror_config == KmirrorConfig::Tuned,
            ReplicatorKind::Mm2Default => false,
            ReplicatorKind::Mm2Tuned => true,
        };
        let dir = self.work.join(format!("run-{}", self.runs));
        std::fs::create_dir_all(&dir)?;
        let config = dir.join("mm2.properties");
        let mut properties = mm2_properties(flow, tuned);
        if self.exactly_once {
            properties.push_str(&super::exactly_once::properties(kind, &flow.target_alias));
        }
        std::fs::write(&config, properties)?;
        RunningReplicator::start(kind, &config, &dir, &self.kmirror_bin)
    }
}
