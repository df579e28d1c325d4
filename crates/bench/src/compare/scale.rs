//! Issue 12's scale scenario: 1,000 topics of 10 partitions (10,000
//! partitions) on one flow.
//!
//! Every source partition holds one record before the replicator starts.
//! Measured per run:
//! - the time from spawn until every partition's record is on the target
//!   (so every partition was discovered, created remotely and replicates),
//!   and until half of them are;
//! - then, with a trickle of one record per second on each of
//!   [`ScaleSize::trickle_topics`] topics: the replicator's CPU as a share of
//!   one core, its resident memory, and the bytes it sends and receives per
//!   second over TCP (requests and answers: what fetching 10,000 partitions costs at
//!   rest, metadata included);
//! - that the trickle arrives (the target ends with every record);
//! - a restart: the replicator is stopped, every source partition gets one
//!   more record, and a new process on the same file and state folder is
//!   timed until every partition's new record is on the target. The remote
//!   topics exist by then, so this is the replicator's own start-up at
//!   10,000 partitions, without the target broker creating them.
//!
//! Beside them, the floor no replicator can go under on this machine: how
//! long the source broker took to create the same 10,000 partitions and take
//! one record in each from a plain Java producer, before any replicator ran.
//! A fresh target broker must do the same work for the remote topics inside
//! a replicator's "all replicating" time.
//!
//! Measurements are named `scale`; [`crate::report`] writes them with the
//! goals: every partition replicating within 10 s of start, idle CPU at most
//! 2 % of a core, RSS at most 200 MiB.

use std::time::{Duration, Instant};

use anyhow::Result;
use kmirror_testbed::{Compression, JavaCommand, ProduceOptions, ProduceStep, TestRecord};
use serde::Serialize;

use super::{bench_cluster, join_clusters, Bench, CompareOptions, Measurement, Scenario, Side};
use crate::proc_stats::ProcStats;
use crate::replicator::{FlowSpec, ReplicatorKind, RunningReplicator};
use crate::socket_bytes::SocketBytes;

/// The scenario's measurements are named this.
pub const SCENARIO: &str = "scale";
/// Source topics are this and a number.
const TOPIC_PREFIX: &str = "bench-scale-";
/// `tasks.max` for MM2 tuned: one task per partition, as in the other
/// scenarios, is no setting for 10,000 partitions; operators run a handful.
pub const MM2_TASKS: i32 = 4;
/// How long a replicator may take to have every partition replicating.
const ALL_REPLICATING_TIMEOUT: Duration = Duration::from_secs(300);

/// How big the scenario is.
#[derive(Debug, Clone, Copy, Serialize)]
pub struct ScaleSize {
    pub topics: usize,
    pub partitions_per_topic: i32,
    /// Topics that get one record per second during the idle window.
    pub trickle_topics: usize,
    /// How long the idle window lasts.
    pub idle_seconds: u64,
}

impl ScaleSize {
    pub fn full() -> Self {
        ScaleSize {
            topics: 1000,
            partitions_per_topic: 10,
            trickle_topics: 100,
            idle_seconds: 60,
        }
    }

    /// What CI runs: a tenth of the partitions, a short window.
    pub fn quick() -> Self {
        ScaleSize {
            topics: 100,
            partitions_per_topic: 10,
            trickle_topics: 10,
            idle_seconds: 10,
        }
    }

    pub fn partitions(&self) -> usize {
        self.topics * self.partitions_per_topic as usize
    }
}

/// What one scale run measured, beside the common [`Measurement`] fields.
#[derive(Debug, Clone, Default, Serialize)]
pub struct ScaleStats {
    pub partitions: usize,
    /// Spawn until half of the partitions' records are on the target.
    pub half_replicating_s: Option<f64>,
    /// Spawn until every partition's record is on the target.
    pub all_replicating_s: Option<f64>,
    /// The floor under `all_replicating_s`: how long the source broker took
    /// to create the same topics and take one record in every partition
    /// (harness, Java producer), measured once per scenario.
    pub broker_floor_s: Option<f64>,
    /// After a restart with the remote topics in place and one new record
    /// in every source partition: spawn of the new process until every
    /// partition's new record is on the target.
    pub restart_all_replicating_s: Option<f64>,
    /// Partitions whose record was on the target at the end of the wait.
    pub replicating_partitions: usize,
    /// CPU during the idle window, % of one core.
    pub idle_cpu_pct: Option<f64>,
    /// Resident memory at the end of the idle window, MiB.
    pub idle_rss_mib: Option<f64>,
    /// Bytes received and sent per second over the replicator's TCP
    /// connections during the idle window: requests (fetches, metadata,
    /// heartbeats) and their answers, to and from both clusters.
    pub idle_received_bytes_per_s: Option<f64>,
    pub idle_sent_bytes_per_s: Option<f64>,
    /// Records of the trickle, and whether all of them arrived.
    pub trickle_records: u64,
    pub trickle_arrived: bool,
    /// Records on the target beyond what the source holds, summed over
    /// the partitions that have more on the target than on the source.
    pub duplicate_records: u64,
    /// Those partitions (remote name, partition, extra records), the first
    /// [`DUPLICATES_LISTED`]: where to look in the replicator's log.
    pub duplicated_partitions: Vec<(String, i32, i64)>,
}

/// A run's topics on both sides: each source topic and, at the same
/// index, its remote topic.
struct Mirrored<'a> {
    source: &'a Side,
    target: &'a Side,
    topics: &'a [String],
    remote: &'a [String],
}

/// Both sides' end offsets, compared partition by partition.
#[derive(Default)]
struct Ends {
    /// Source partitions whose remote partition holds fewer records.
    behind: usize,
    /// Remote partitions holding more records than their source: name,
    /// partition, records too many.
    extra: Vec<(String, i32, i64)>,
    source_records: u64,
    target_records: u64,
}

/// Partitions with duplicates named in a run's result, at most.
const DUPLICATES_LISTED: usize = 20;

impl ScaleStats {
    /// Resident memory per partition, KiB.
    pub fn rss_per_partition_kib(&self) -> Option<f64> {
        Some(self.idle_rss_mib? * 1024.0 / self.partitions.max(1) as f64)
    }
}

impl CompareOptions {
    /// The scale scenario alone: kmirror and MM2 tuned, one round each
    /// (`quick`: a tenth of the partitions).
    pub fn scale(quick: bool) -> Self {
        let base = if quick { Self::quick() } else { Self::full() };
        CompareOptions {
            scenarios: vec![Scenario::Scale],
            replicators: vec![ReplicatorKind::Kmirror, ReplicatorKind::Mm2Tuned],
            rounds: 1,
            scale: if quick {
                ScaleSize::quick()
            } else {
                ScaleSize::full()
            },
            ..base
        }
    }
}

impl Bench<'_> {
    /// Runs the scenario on a pair of clusters of its own.
    pub(super) fn scale(&mut self) -> Result<()> {
        let size = self.options.scale;
        eprintln!(
            "[bench] scale: starting two clusters for {} topics of {} partitions",
            size.topics, size.partitions_per_topic
        );
        let start = |name: &'static str| {
            let quick = self.options.quick;
            // Two gigabytes: each broker holds 10,000 partitions or more.
            std::thread::spawn(move || bench_cluster(name, quick).heap("2g").start())
        };
        let (a, b) = join_clusters(start("kafka-a"), start("kafka-b"))?;
        let a = self.side(a, None)?;
        let b = self.side(b, None)?;
        let topics: Vec<String> = (0..size.topics)
            .map(|i| format!("{TOPIC_PREFIX}{i:04}"))
            .collect();
        let created = self.create_many_topics(&a, &topics, size.partitions_per_topic)?;
        let filled = self.fill_every_partition(&a, &topics, size.partitions_per_topic)?;
        let floor = (created + filled).as_secs_f64();
        eprintln!("[bench] scale: broker floor (create and fill the source) {floor:.1} s");
        self.each_replicator(SCENARIO, |bench, kind, round| {
            bench.scale_run(kind, round, &a, &b, &topics, floor)
        });
        Ok(())
    }

    fn create_many_topics(
        &self,
        side: &Side,
        topics: &[String],
        partitions: i32,
    ) -> Result<Duration> {
        let started = Instant::now();
        self.create_topics(side, topics, partitions)?;
        let took = started.elapsed();
        eprintln!(
            "[bench] scale: created {} topics in {:.1} s",
            topics.len(),
            took.as_secs_f64()
        );
        Ok(took)
    }

    /// One record in every partition, from one Java producer; how long it
    /// took (on fresh topics: until the broker had created every log).
    fn fill_every_partition(
        &self,
        side: &Side,
        topics: &[String],
        partitions: i32,
    ) -> Result<Duration> {
        let started = Instant::now();
        let steps: Vec<ProduceStep> = topics
            .iter()
            .flat_map(|topic| {
                (0..partitions).map(move |p| {
                    TestRecord::new()
                        .topic(topic.clone())
                        .partition(p)
                        .value(format!("{topic}/{p}"))
                        .into()
                })
            })
            .collect();
        let options = ProduceOptions {
            linger_ms: Some(50),
            timeout: Some(Duration::from_secs(300)),
            ..ProduceOptions::default()
        };
        let acks = side.cluster.produce_steps(&topics[0], &options, &steps);
        let took = started.elapsed();
        eprintln!(
            "[bench] scale: one record in each of {} partitions in {:.1} s",
            acks.len(),
            took.as_secs_f64()
        );
        Ok(took)
    }

    fn scale_run(
        &mut self,
        kind: ReplicatorKind,
        round: usize,
        source: &Side,
        target: &Side,
        topics: &[String],
        broker_floor_s: f64,
    ) -> Result<Measurement> {
        let size = self.options.scale;
        let mut flow = self.flow(source, target, &topics[0], Compression::None, MM2_TASKS);
        flow.topics = Some(format!("{TOPIC_PREFIX}[0-9]+"));
        let remote: Vec<String> = topics
            .iter()
            .map(|t| format!("{}.{t}", flow.source_alias))
            .collect();
        let mirrored = Mirrored {
            source,
            target,
            topics,
            remote: &remote,
        };
        let mut scale = ScaleStats {
            partitions: size.partitions(),
            broker_floor_s: Some(broker_floor_s),
            ..ScaleStats::default()
        };
        let load = self.load_snapshot([source, target]);
        let mut replicator = self.start_replicator(kind, &flow)?;
        let outcome = self.measure_scale(&mut replicator, &mirrored, &mut scale);
        let stats = replicator.stop()?;
        let mut m = Measurement::new(SCENARIO, kind, round);
        self.account(&mut m, &stats, &load, [source, target]);
        outcome?;
        if scale.trickle_arrived {
            scale.restart_all_replicating_s = self.measure_restart(kind, &flow, &mirrored)?;
        }
        let ends = self.compare_ends(&mirrored)?;
        if scale.trickle_arrived {
            note_duplicates(&mut scale, ends.extra);
        }
        self.clean_up([source, target]);
        m.expected_records = ends.source_records;
        m.replicated_records = ends.target_records;
        m.complete = scale.all_replicating_s.is_some()
            && scale.trickle_arrived
            && scale.restart_all_replicating_s.is_some();
        m.first_record_s = scale.half_replicating_s;
        m.done_s = scale.all_replicating_s;
        if !m.complete {
            m.error = Some(format!(
                "{} of {} partitions replicating; trickle arrived: {}; replicating after a restart: {}",
                scale.replicating_partitions,
                scale.partitions,
                scale.trickle_arrived,
                scale.restart_all_replicating_s.is_some()
            ));
        }
        m.scale = Some(scale);
        Ok(m)
    }

    /// Waits for every partition to replicate, then measures the idle
    /// window and waits for the trickle to arrive.
    fn measure_scale(
        &self,
        replicator: &mut RunningReplicator,
        mirrored: &Mirrored,
        scale: &mut ScaleStats,
    ) -> Result<()> {
        let Mirrored {
            source,
            target,
            topics,
            remote,
        } = *mirrored;
        let size = self.options.scale;
        let total = size.partitions();
        let started = replicator.started();
        loop {
            let ends = self.runtime.block_on(target.probe.ends_of(remote))?;
            let replicating = ends.iter().filter(|&&end| end > 0).count();
            scale.replicating_partitions = replicating;
            if replicating * 2 >= total && scale.half_replicating_s.is_none() {
                scale.half_replicating_s = Some(started.elapsed().as_secs_f64());
            }
            if replicating >= total {
                scale.all_replicating_s = Some(started.elapsed().as_secs_f64());
                break;
            }
            replicator.check_alive()?;
            if started.elapsed() > ALL_REPLICATING_TIMEOUT {
                eprintln!(
                    "[bench] scale: {replicating} of {total} partitions replicating after {} s",
                    ALL_REPLICATING_TIMEOUT.as_secs()
                );
                return Ok(());
            }
            std::thread::sleep(Duration::from_millis(200));
        }
        eprintln!(
            "[bench] scale: all {total} partitions replicating {:.1} s after start",
            scale.all_replicating_s.unwrap_or_default()
        );

        // The idle window: a trickle on a few topics, the rest at rest.
        let before_trickle = self.compare_ends(mirrored)?.source_records;
        let mut trickle = JavaCommand::test_client("produce")
            .name("produce (scale trickle)")
            .args(["--bootstrap", &source.bootstrap, "--topic", &topics[0]])
            .spawn();
        let before = ProcStats::of(replicator.pid())?;
        let wire_before = SocketBytes::of(replicator.pid())?;
        let window_start = Instant::now();
        let mut sent = 0u64;
        for second in 0..size.idle_seconds {
            for topic in &topics[..size.trickle_topics.min(topics.len())] {
                let partition = (second % size.partitions_per_topic as u64) as i32;
                let step: ProduceStep = TestRecord::new()
                    .topic(topic.clone())
                    .partition(partition)
                    .value(format!("trickle {second}"))
                    .into();
                trickle.write_line(&step.input_line());
                sent += 1;
            }
            let next = window_start + Duration::from_secs(second + 1);
            std::thread::sleep(next.saturating_duration_since(Instant::now()));
            replicator.check_alive()?;
        }
        let after = ProcStats::of(replicator.pid())?;
        let wire_after = SocketBytes::of(replicator.pid())?;
        let window = window_start.elapsed().as_secs_f64();
        trickle.write_line(&ProduceStep::Flush.input_line());
        scale.trickle_records = sent;
        let per_s = |a: u64, b: u64| b.saturating_sub(a) as f64 / window;
        scale.idle_cpu_pct =
            Some(after.cpu.saturating_sub(before.cpu).as_secs_f64() / window * 100.0);
        scale.idle_rss_mib = Some(after.rss as f64 / (1024.0 * 1024.0));
        scale.idle_received_bytes_per_s = Some(per_s(wire_before.received, wire_after.received));
        scale.idle_sent_bytes_per_s = Some(per_s(wire_before.sent, wire_after.sent));

        // Every record, trickle included, must reach the target: every
        // remote partition as long as its source, once the source holds the
        // whole trickle.
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            let sides = self.compare_ends(mirrored)?;
            if sides.source_records >= before_trickle + sent && sides.behind == 0 {
                scale.trickle_arrived = true;
                return Ok(());
            }
            replicator.check_alive()?;
            if Instant::now() > deadline {
                return Ok(());
            }
            std::thread::sleep(Duration::from_millis(200));
        }
    }

    /// Every source partition's end against its remote partition's.
    fn compare_ends(&self, mirrored: &Mirrored) -> Result<Ends> {
        let (topics, remote) = (mirrored.topics, mirrored.remote);
        let upstream = self
            .runtime
            .block_on(mirrored.source.probe.ends_by_partition(topics))?;
        let downstream = self
            .runtime
            .block_on(mirrored.target.probe.ends_by_partition(remote))?;
        let remote_of: std::collections::HashMap<&String, &String> =
            topics.iter().zip(remote).collect();
        let mut ends = Ends::default();
        for ((topic, partition), &up) in &upstream {
            let key = (remote_of[topic].clone(), *partition);
            let down = downstream.get(&key).copied().unwrap_or(0);
            if down < up {
                ends.behind += 1;
            } else if down > up {
                ends.extra.push((key.0, key.1, down - up));
            }
            ends.source_records += up.max(0) as u64;
        }
        ends.target_records = downstream.values().map(|&e| e.max(0) as u64).sum();
        Ok(ends)
    }

    /// The restart: one more record in every source partition, then a new
    /// replicator process on the same file and state folder, timed until
    /// every remote partition holds as many records as its source. `None`
    /// when that does not happen within [`ALL_REPLICATING_TIMEOUT`].
    fn measure_restart(
        &self,
        kind: ReplicatorKind,
        flow: &FlowSpec,
        mirrored: &Mirrored,
    ) -> Result<Option<f64>> {
        let partitions = self.options.scale.partitions_per_topic;
        self.fill_every_partition(mirrored.source, mirrored.topics, partitions)?;
        let mut replicator = self.start_replicator(kind, flow)?;
        let started = replicator.started();
        let outcome = loop {
            let behind = self.compare_ends(mirrored)?.behind;
            if behind == 0 {
                let took = started.elapsed().as_secs_f64();
                eprintln!(
                    "[bench] scale: after a restart, all partitions replicating {took:.1} s after start"
                );
                break Some(took);
            }
            replicator.check_alive()?;
            if started.elapsed() > ALL_REPLICATING_TIMEOUT {
                eprintln!("[bench] scale: after a restart, {behind} partitions still behind");
                break None;
            }
            std::thread::sleep(Duration::from_millis(200));
        };
        replicator.stop()?;
        Ok(outcome)
    }
}

/// Records what `extra` holds (remote partitions with more records than
/// their source) as duplicates: kmirror writes nothing else to a remote
/// topic, so more on the target is records copied twice.
fn note_duplicates(scale: &mut ScaleStats, extra: Vec<(String, i32, i64)>) {
    scale.duplicate_records = extra.iter().map(|(_, _, n)| *n as u64).sum();
    scale.duplicated_partitions = extra.into_iter().take(DUPLICATES_LISTED).collect();
    if scale.duplicate_records > 0 {
        eprintln!(
            "[bench] scale: {} records more on the target than on the source, in {:?}",
            scale.duplicate_records, scale.duplicated_partitions
        );
    }
}
