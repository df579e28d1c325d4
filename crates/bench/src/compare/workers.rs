//! Issue 10's scenario: several `kmirror run` processes sharing one flow.
//!
//! Two single-broker test-bed clusters; the brokers keep Kafka's default
//! `group.initial.rebalance.delay.ms` (3 s; the test bed sets 0), so that
//! workers started together are assigned together rather than the first
//! one copying everything before the others join.
//!
//! 1. **Catch-up** of a preloaded topic by 1, 2 and 3 workers started at
//!    once, each run with fresh cluster aliases (fresh remote topics and a
//!    fresh group), `rounds` times alternating. Per run: MB/s, time to the
//!    first and the last record, CPU per GB summed over the processes, and
//!    per worker: its CPU between its own first and last record on the
//!    target over the records that arrived on its partitions meanwhile
//!    (see `windows`).
//! 2. **Rebalances** while a producer writes at a fixed rate: two workers,
//!    then (a) a third joins, (b) one gets SIGTERM, (c) one gets SIGKILL.
//!    Every worker's `/status` is read every `poll`; a partition has no
//!    owner while no worker lists it (see `ownership`).
//! 3. After every run the remote topic's end offsets must equal the
//!    source's, partition by partition: a run that loses records fails the
//!    scenario (after the report is written).

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use anyhow::{bail, Context as _, Result};
use kmirror_testbed::{Compression, GenReport, JavaCommand, JavaProcess, KafkaCluster};
use nix::sys::signal::Signal;
use serde::Serialize;

use super::{bench_cluster, Bench, CompareOptions, KmirrorConfig, Scenario, Side};
use crate::proc_stats::{self, ProcStats};
use crate::replicator::{mm2_properties, FlowSpec, ReplicatorKind, RunningReplicator};

mod ownership;
mod rest;
mod results;
mod windows;

pub use ownership::{Bounds, OwnershipSummary};
pub use results::{RebalanceEvent, RebalanceRun, WorkerShare, WorkersCatchUp, WorkersResults};

use ownership::OwnershipSample;
use rest::{Copied, InstanceView, WorkerApi};
use windows::Poll;

/// What the workers scenario varies.
#[derive(Debug, Clone, Serialize)]
pub struct WorkersOptions {
    /// Worker counts of the catch-up runs, in the order of each round.
    pub counts: Vec<usize>,
    /// Whether to run the rebalance events after the catch-ups.
    pub rebalances: bool,
    /// `session.timeout.ms` in the workers' properties (the broker's
    /// minimum, `group.min.session.timeout.ms`, is 6 s).
    pub session_timeout: Duration,
    /// The brokers' `group.initial.rebalance.delay.ms`.
    pub initial_rebalance_delay: Duration,
    /// How often every worker's `/status` is read during rebalances.
    pub poll: Duration,
    /// Records per second produced on the source during rebalances.
    pub live_rate: u32,
}

impl Default for WorkersOptions {
    fn default() -> Self {
        WorkersOptions {
            counts: vec![1, 2, 3],
            rebalances: true,
            session_timeout: Duration::from_secs(6),
            initial_rebalance_delay: Duration::from_secs(3),
            poll: Duration::from_millis(100),
            live_rate: 5000,
        }
    }
}

impl CompareOptions {
    /// The workers scenario alone, sized to take about eight minutes on two
    /// cores with ten rounds: 6 GiB of lz4 data (`quick`: 32 MiB) in 12
    /// partitions, a warm-up round and five measured rounds (by default) of
    /// 1, 2 and 3 workers, then the rebalance events.
    ///
    /// Why 6 GiB: each process pays a fixed cost inside its copy window
    /// whatever its share, mostly the first touches of its receive buffers
    /// (about 15,000 page faults, 60 MiB, per process; see the per-worker
    /// table) and its last progress writes. With 2 GiB a worker of three
    /// copies about 0.7 GB in 0.12 CPU s, and `perf` put that cost at about
    /// 5 % of it; the ratio of three workers to one moved between 1.08× and
    /// 1.14× from run to run of one binary (1.03× to 1.44× with 1 GiB). Per GB
    /// means the cost of copying more, which a longer copy measures: with
    /// 6 GiB each worker of three copies 2 GB. The fixed cost stays in the
    /// 'total' columns, start-up included.
    pub fn workers(quick: bool) -> Self {
        let base = if quick { Self::quick() } else { Self::full() };
        CompareOptions {
            scenarios: vec![Scenario::Workers],
            replicators: vec![ReplicatorKind::Kmirror],
            codecs: vec![Compression::Lz4],
            catchup_bytes: if quick { 32 << 20 } else { 6 << 30 },
            catchup_other_bytes: if quick { 32 << 20 } else { 6 << 30 },
            rounds: if quick { 1 } else { 5 },
            ..base
        }
    }
}

/// Both clusters, with Kafka's default initial rebalance delay.
fn start_clusters(options: &CompareOptions) -> Result<(KafkaCluster, KafkaCluster)> {
    let delay = options
        .workers
        .initial_rebalance_delay
        .as_millis()
        .to_string();
    let start = |name: &'static str| {
        let (delay, quick) = (delay.clone(), options.quick);
        std::thread::spawn(move || {
            bench_cluster(name, quick)
                .broker_prop("group.initial.rebalance.delay.ms", delay)
                .start()
        })
    };
    super::join_clusters(start("kafka-a"), start("kafka-b"))
}

/// The worker counts of a round, in order: ascending in odd rounds,
/// descending in even ones, so that brokers still warming up during a run
/// favour no count.
fn counts_of_round(counts: &[usize], round: usize) -> Vec<usize> {
    let mut counts = counts.to_vec();
    if round.is_multiple_of(2) {
        counts.reverse();
    }
    counts
}

/// A flow's name as kmirror shows it.
fn flow_name(flow: &FlowSpec) -> String {
    format!("{}->{}", flow.source_alias, flow.target_alias)
}

/// Per partition: how many records the target lacks and how many it holds
/// twice, from end offsets (the source topic has no transactions and no
/// compaction, so offsets count records on both sides).
fn compare_ends(source: &[i64], target: &[i64]) -> (u64, u64) {
    let mut missing = 0;
    let mut duplicates = 0;
    for (i, s) in source.iter().enumerate() {
        let t = target.get(i).copied().unwrap_or(0);
        missing += (s - t).max(0) as u64;
        duplicates += (t - s).max(0) as u64;
    }
    (missing, duplicates)
}

/// The workers of one run. Every process is killed when this is dropped.
struct Workers {
    procs: Vec<RunningReplicator>,
    /// Index of each process that was signalled (no longer counted).
    gone: Vec<usize>,
}

impl Workers {
    fn live(&self) -> Vec<usize> {
        (0..self.procs.len())
            .filter(|i| !self.gone.contains(i))
            .collect()
    }

    fn addrs(&self) -> Vec<SocketAddr> {
        self.procs
            .iter()
            .map(|p| p.rest_addr().expect("kmirror serves REST"))
            .collect()
    }

    fn check_alive(&mut self) -> Result<()> {
        for (i, p) in self.procs.iter_mut().enumerate() {
            if !self.gone.contains(&i) {
                p.check_alive()
                    .with_context(|| format!("worker {i} died"))?;
            }
        }
        Ok(())
    }

    /// Each worker's CPU time so far, to the nanosecond: a 2-second copy
    /// shared by three workers costs each about 0.1 CPU s, which the
    /// 10 ms ticks of `/proc/<pid>/stat` would blur by 10 to 20 %.
    fn cpu(&self) -> Result<Vec<Duration>> {
        self.procs
            .iter()
            .map(|p| {
                proc_stats::threads_cpu(p.pid())
                    .with_context(|| format!("cannot read the threads of {}", p.pid()))
            })
            .collect()
    }
}

impl Bench<'_> {
    /// Runs the scenario on a pair of clusters of its own.
    pub(super) fn workers(&mut self) -> Result<()> {
        let options = self.options;
        eprintln!("[bench] workers: starting two clusters");
        let (a, b) = start_clusters(options)?;
        let a = self.side(a, None)?;
        let b = self.side(b, None)?;
        let api = WorkerApi::new()?;
        let mut results = WorkersResults {
            options: options.workers.clone(),
            ..Default::default()
        };
        let codec = options.codecs.first().copied().unwrap_or(Compression::Lz4);
        let topic = format!("bench-workers-{}", codec.as_str());
        self.create_topic(&a, &topic, options.partitions)?;
        let loaded = self.preload(&a, &topic, options.catchup_bytes, codec)?;
        if !options.quick {
            self.warm_up_workers(&api, (&a, &b), &topic, &loaded);
        }
        for round in 1..=options.rounds {
            for n in counts_of_round(&options.workers.counts, round) {
                eprintln!("[bench] workers: catch-up with {n} worker(s) (round {round})");
                let run = self
                    .workers_catch_up(&api, n, round, (&a, &b), &topic, &loaded)
                    .unwrap_or_else(|e| WorkersCatchUp::failed(n, round, format!("{e:#}")));
                eprintln!("[bench]   {}", run.one_line());
                if run.error.is_some() || run.missing_records > 0 || run.duplicate_records > 0 {
                    self.keep_worker_logs();
                }
                results.catch_up.push(run);
            }
        }
        self.delete_topics(&a, &[topic])?;
        if options.workers.rebalances {
            eprintln!("[bench] workers: rebalances");
            let run = self.workers_rebalances(&api, &a, &b).unwrap_or_else(|e| {
                RebalanceRun::failed(options.workers.live_rate, format!("{e:#}"))
            });
            for e in &run.events {
                eprintln!(
                    "[bench]   {} {} -> {}: settled {:?} s, ownerless {:?}, longest gap {:?}, moved {}{}",
                    e.event,
                    e.workers_before,
                    e.workers_after,
                    e.settled_s,
                    e.ownership.ownerless,
                    e.ownership.longest_partition_gap,
                    e.ownership.moved,
                    e.error.as_deref().map(|e| format!(", error: {e}")).unwrap_or_default()
                );
            }
            eprintln!(
                "[bench]   data: {} produced, {} on target, {} missing, {} duplicates{}",
                run.expected_records,
                run.replicated_records,
                run.missing_records,
                run.duplicate_records,
                run.error
                    .as_deref()
                    .map(|e| format!("; error: {e}"))
                    .unwrap_or_default()
            );
            if run.error.is_some()
                || run.missing_records > 0
                || run.events.iter().any(|e| e.error.is_some())
            {
                self.keep_worker_logs();
            }
            results.rebalances = Some(run);
        }
        results.compute_goals();
        let failures = results.failures();
        self.workers = Some(results);
        if !failures.is_empty() {
            bail!("the workers scenario failed: {}", failures.join("; "));
        }
        Ok(())
    }

    /// The flow's properties, written once for all its workers.
    fn start_workers(&self, flow: &FlowSpec, count: usize) -> Result<Workers> {
        let dir = self.work.join(format!("run-{}", self.runs));
        std::fs::create_dir_all(&dir)?;
        let config = dir.join("mm2.properties");
        let mut text = mm2_properties(flow, self.options.kmirror_config == KmirrorConfig::Tuned);
        // One group per run, shared by its workers.
        text.push_str(&format!(
            "# Worker group (issue 10).\ngroup.id = kmirror-bench-run-{}-{}\nsession.timeout.ms = {}\n",
            std::process::id(),
            self.runs,
            self.options.workers.session_timeout.as_millis()
        ));
        std::fs::write(&config, text)?;
        let mut workers = Workers {
            procs: Vec::new(),
            gone: Vec::new(),
        };
        for _ in 0..count {
            self.add_worker(&mut workers)?;
        }
        Ok(workers)
    }

    /// Starts one more worker of the current run in a folder of its own
    /// (its state folder and log).
    fn add_worker(&self, workers: &mut Workers) -> Result<()> {
        let dir = self.work.join(format!("run-{}", self.runs));
        let own = dir.join(format!("worker-{}", workers.procs.len()));
        std::fs::create_dir_all(&own)?;
        let config = dir.join("mm2.properties");
        workers.procs.push(RunningReplicator::start(
            ReplicatorKind::Kmirror,
            &config,
            &own,
            &self.kmirror_bin,
        )?);
        Ok(())
    }

    fn copied(&self, api: &WorkerApi, workers: &Workers, topic: &str) -> Vec<Option<Copied>> {
        workers
            .addrs()
            .into_iter()
            .map(|addr| self.runtime.block_on(api.copied(addr, topic)).ok())
            .collect()
    }

    /// Every worker's `/status`, read concurrently; `None` for a worker
    /// that does not answer.
    fn statuses(&self, api: &WorkerApi, workers: &Workers) -> Vec<Option<InstanceView>> {
        let pending: Vec<_> = workers
            .addrs()
            .into_iter()
            .map(|addr| {
                let api = api.clone();
                self.runtime.spawn(async move { api.status(addr).await })
            })
            .collect();
        pending
            .into_iter()
            .map(|task| self.runtime.block_on(task).ok().and_then(Result::ok))
            .collect()
    }

    /// One catch-up of the preloaded `topic` by `count` workers.
    fn workers_catch_up(
        &mut self,
        api: &WorkerApi,
        count: usize,
        round: usize,
        (source, target): (&Side, &Side),
        topic: &str,
        loaded: &GenReport,
    ) -> Result<WorkersCatchUp> {
        let codec = self
            .options
            .codecs
            .first()
            .copied()
            .unwrap_or(Compression::Lz4);
        let flow = self.flow(source, target, topic, codec, self.options.partitions);
        let remote = flow.remote_topic();
        let name = flow_name(&flow);
        let source_ends = self
            .runtime
            .block_on(source.probe.end_offsets(topic))
            .with_context(|| format!("no end offsets for {topic}"))?;
        let expected: u64 = source_ends.iter().sum::<i64>() as u64;
        let bytes_per_record = loaded.bytes as f64 / loaded.sent.max(1) as f64;
        let timeout = Duration::from_secs(120)
            + Duration::from_secs_f64(loaded.bytes as f64 / 2e6).min(Duration::from_secs(900));
        let load = self.load_snapshot([source, target]);
        let mut workers = self.start_workers(&flow, count)?;
        let started = workers.procs[0].started();
        // The first poll with a record on the target: when, and how many.
        let mut first: Option<(Instant, u64)> = None;
        let mut polls: Vec<Poll> = Vec::new();
        let outcome = (|| -> Result<Instant> {
            loop {
                std::thread::sleep(Duration::from_millis(50));
                workers.check_alive()?;
                let ends = self
                    .runtime
                    .block_on(target.probe.end_offsets(&remote))
                    .unwrap_or_default();
                let now = Instant::now();
                let cpu = workers.cpu()?;
                let count = ends.iter().sum::<i64>().max(0) as u64;
                if first.is_none() && count > 0 {
                    first = Some((now, count));
                }
                let done = count >= expected && compare_ends(&source_ends, &ends).0 == 0;
                polls.push(Poll { ends, cpu });
                if done {
                    return Ok(now);
                }
                if now - started > timeout {
                    bail!("{remote} holds {count} of {expected} records after {timeout:?}");
                }
            }
        })();
        // What each worker copied and runs, before any stops.
        let copied_end = self.copied(api, &workers, topic);
        let statuses = self.statuses(api, &workers);
        let stats: Vec<Result<ProcStats>> = workers.procs.iter().map(|p| p.stats()).collect();
        drop(workers);
        let after = self.load_snapshot([source, target]);
        let target_ends = self
            .runtime
            .block_on(target.probe.end_offsets(&remote))
            .unwrap_or_default();
        self.clean_up([source, target]);

        let (missing, duplicates) = compare_ends(&source_ends, &target_ends);
        let mut run = WorkersCatchUp {
            workers: count,
            round,
            expected_records: expected,
            replicated_records: target_ends.iter().sum::<i64>().max(0) as u64,
            missing_records: missing,
            duplicate_records: duplicates,
            ..Default::default()
        };
        let done_at = match outcome {
            Ok(done) => done,
            Err(e) => {
                run.error = Some(format!("{e:#}"));
                return Ok(run);
            }
        };
        let Some((first_at, first_count)) = first else {
            bail!("done without a first record");
        };
        run.complete = missing == 0;
        run.first_record_s = Some((first_at - started).as_secs_f64());
        run.done_s = Some((done_at - started).as_secs_f64());
        let gb = |records: u64| records as f64 * bytes_per_record / 1e9;
        let mut copy_records_total = 0;
        let mut copy_cpu_total = 0.0;
        for i in 0..count {
            let stats = stats[i]
                .as_ref()
                .map_err(|e| anyhow::anyhow!("worker {i}: {e:#}"))?;
            let end = copied_end[i].with_context(|| format!("no /metrics from worker {i}"))?;
            let status = statuses[i].as_ref();
            let partitions = status
                .map(|s| s.partitions_of(&name, topic))
                .unwrap_or_default();
            let window =
                windows::window_of(&polls, i, &partitions, &source_ends).unwrap_or_default();
            let copy_cpu = window.cpu.as_secs_f64();
            copy_records_total += window.records;
            copy_cpu_total += copy_cpu;
            run.cpu_s += stats.cpu_seconds();
            run.per_worker.push(WorkerShare {
                worker_id: status.map_or(format!("worker-{i}"), |s| s.worker_id.clone()),
                partitions: partitions.len(),
                records: end.records,
                wire_bytes: end.wire_bytes,
                copy_records: window.records,
                cpu_s: stats.cpu_seconds(),
                copy_cpu_s: copy_cpu,
                cpu_s_per_gb: (window.records > 0).then(|| copy_cpu / gb(window.records)),
                total_cpu_s_per_gb: (end.records > 0)
                    .then(|| stats.cpu_seconds() / gb(end.records)),
                peak_rss_mib: stats.peak_rss_mib(),
                page_faults: stats.minor_faults,
            });
        }
        let seconds = (done_at - first_at).as_secs_f64();
        if seconds > 0.0 {
            run.mb_per_s = Some(gb(expected.saturating_sub(first_count)) * 1e3 / seconds);
        }
        if copy_records_total > 0 {
            run.cpu_s_per_gb = Some(copy_cpu_total / gb(copy_records_total));
        }
        let all_records: u64 = run.per_worker.iter().map(|w| w.records).sum();
        if all_records > 0 {
            run.total_cpu_s_per_gb = Some(run.cpu_s / gb(all_records));
        }
        let secs = |d: Duration| d.as_secs_f64();
        run.broker_cpu_s = secs(after.brokers.saturating_sub(load.brokers));
        run.other_cpu_s = (secs(after.machine.saturating_sub(load.machine))
            - run.cpu_s
            - run.broker_cpu_s
            - secs(after.harness.saturating_sub(load.harness)))
        .max(0.0);
        Ok(run)
    }

    /// One unmeasured catch-up with each worker count: fresh brokers are
    /// slow for their first runs (the JIT; in the runs of 2026-11-28 the
    /// brokers used twice the CPU in the first round as in the fifth, and
    /// every worker count's first round cost kmirror more per GB), which
    /// would otherwise land on round 1.
    fn warm_up_workers(
        &mut self,
        api: &WorkerApi,
        sides: (&Side, &Side),
        topic: &str,
        loaded: &GenReport,
    ) {
        for &n in &self.options.workers.counts {
            eprintln!("[bench] workers: warm-up with {n} worker(s) (not measured)");
            match self.workers_catch_up(api, n, 0, sides, topic, loaded) {
                Ok(run) => eprintln!("[bench]   {}", run.one_line()),
                Err(e) => eprintln!("[bench]   warm-up failed: {e:#}"),
            }
        }
    }

    /// The rebalance run on a fresh topic of its own.
    fn workers_rebalances(
        &mut self,
        api: &WorkerApi,
        source: &Side,
        target: &Side,
    ) -> Result<RebalanceRun> {
        let topic = "bench-workers-live".to_string();
        self.create_topic(source, &topic, self.options.partitions)?;
        let result = self.rebalance_events(api, source, target, &topic);
        self.clean_up([source, target]);
        self.delete_topics(source, &[topic])?;
        result
    }

    fn rebalance_events(
        &mut self,
        api: &WorkerApi,
        source: &Side,
        target: &Side,
        topic: &str,
    ) -> Result<RebalanceRun> {
        let options = self.options;
        let rate = options.workers.live_rate;
        let flow = self.flow(source, target, topic, Compression::Lz4, options.partitions);
        let remote = flow.remote_topic();
        let mut run = RebalanceRun {
            rate,
            ..Default::default()
        };
        let mut producer = self.start_live_producer(source, topic, rate)?;
        let mut workers = self.start_workers(&flow, 2)?;
        let watch = Watch {
            flow: flow_name(&flow),
            topic,
            partitions: (0..options.partitions).collect(),
            poll: options.workers.poll,
            settle_within: options.workers.session_timeout + Duration::from_secs(60),
        };
        // Both workers copying before anything changes.
        let first = self.watch_event(api, &watch, &mut workers, "start", |_, _| Ok(()));
        if let Some(e) = first.error {
            bail!("two workers did not settle: {e}");
        }
        let deadline = Instant::now() + Duration::from_secs(60);
        while self.runtime.block_on(target.probe.total(&remote)) <= 0 {
            workers.check_alive()?;
            if Instant::now() > deadline {
                bail!("nothing arrived on {remote} within 60 s");
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        run.events.push(
            self.watch_event(api, &watch, &mut workers, "join", |bench, w| {
                bench.add_worker(w)
            }),
        );
        // The first worker is the group's oldest member, most likely its
        // leader and the owner of the flow's singletons.
        run.events.push(
            self.watch_event(api, &watch, &mut workers, "sigterm", |_, w| {
                w.gone.push(0);
                w.procs[0].signal(Signal::SIGTERM)
            }),
        );
        run.events.push(
            self.watch_event(api, &watch, &mut workers, "sigkill", |_, w| {
                w.gone.push(1);
                w.procs[1].signal(Signal::SIGKILL)
            }),
        );
        producer.kill();
        let source_ends = self
            .runtime
            .block_on(source.probe.end_offsets(topic))
            .with_context(|| format!("no end offsets for {topic}"))?;
        run.expected_records = source_ends.iter().sum::<i64>().max(0) as u64;
        // The remaining worker copies what is left.
        let deadline = Instant::now() + Duration::from_secs(120);
        let target_ends = loop {
            let ends = self
                .runtime
                .block_on(target.probe.end_offsets(&remote))
                .unwrap_or_default();
            if compare_ends(&source_ends, &ends).0 == 0 || Instant::now() > deadline {
                break ends;
            }
            if let Err(e) = workers.check_alive() {
                run.error = Some(format!("{e:#}"));
                break ends;
            }
            std::thread::sleep(Duration::from_millis(100));
        };
        drop(workers);
        let (missing, duplicates) = compare_ends(&source_ends, &target_ends);
        run.replicated_records = target_ends.iter().sum::<i64>().max(0) as u64;
        run.missing_records = missing;
        run.duplicate_records = duplicates;
        run.complete = missing == 0;
        Ok(run)
    }

    /// ProducerPerformance at `rate` records/s of the scenario's record
    /// size, lz4, until killed (it is sized for ten minutes).
    fn start_live_producer(&self, source: &Side, topic: &str, rate: u32) -> Result<JavaProcess> {
        let dir = self.work.join(format!("run-{}", self.runs));
        std::fs::create_dir_all(&dir)?;
        Ok(
            JavaCommand::new("org.apache.kafka.tools.ProducerPerformance")
                .name("ProducerPerformance (live load)")
                .fast_startup(false)
                .args(["--topic", topic])
                .args(["--num-records", &(u64::from(rate) * 600).to_string()])
                .args(["--record-size", &self.options.record_size.to_string()])
                .args(["--throughput", &rate.to_string()])
                .args([
                    "--producer-props",
                    &format!("bootstrap.servers={}", source.bootstrap),
                    "acks=all",
                    "compression.type=lz4",
                    "linger.ms=10",
                ])
                .output_to_file(dir.join("producer.log"))
                .spawn(),
        )
    }

    /// Polls every worker from just before `act` until the group settles
    /// on the live workers; sums up who owned what meanwhile.
    fn watch_event(
        &self,
        api: &WorkerApi,
        watch: &Watch<'_>,
        workers: &mut Workers,
        event: &str,
        act: impl FnOnce(&Self, &mut Workers) -> Result<()>,
    ) -> RebalanceEvent {
        let before = workers.live().len();
        let mut samples = vec![self.ownership_sample(api, watch, workers, Instant::now())];
        let t0 = Instant::now();
        samples[0].at = Duration::ZERO;
        let mut result = RebalanceEvent {
            event: event.to_string(),
            workers_before: before,
            ..Default::default()
        };
        if let Err(e) = act(self, workers) {
            result.error = Some(format!("{e:#}"));
            return result;
        }
        result.workers_after = workers.live().len();
        // Settled for three polls in a row: a rebalance's second round can
        // follow its first within a poll.
        let mut settled_since: Option<Duration> = None;
        let mut streak = 0;
        loop {
            std::thread::sleep(watch.poll);
            let statuses = self.statuses(api, workers);
            let sample = sample_of(watch, &statuses, t0);
            let settled = is_settled(watch, workers, &statuses, &sample);
            let at = sample.at;
            samples.push(sample);
            if settled {
                settled_since.get_or_insert(at);
                streak += 1;
                if streak >= 3 {
                    result.partitions_after = workers
                        .live()
                        .iter()
                        .map(|i| {
                            statuses[*i]
                                .as_ref()
                                .map_or(0, |s| s.partitions_of(&watch.flow, watch.topic).len())
                        })
                        .collect();
                    break;
                }
            } else {
                settled_since = None;
                streak = 0;
            }
            if let Err(e) = workers.check_alive() {
                result.error = Some(format!("{e:#}"));
                break;
            }
            if t0.elapsed() > watch.settle_within {
                result.error = Some(format!(
                    "did not settle within {:?}; last poll: {}",
                    watch.settle_within,
                    describe(watch, &statuses)
                ));
                break;
            }
        }
        result.settled_s = settled_since.map(|d| d.as_secs_f64());
        // Up to the first settled poll: the polls after it only confirm.
        let until = settled_since.map_or(samples.len(), |at| {
            samples
                .iter()
                .position(|s| s.at == at)
                .map_or(samples.len(), |i| i + 1)
        });
        result.ownership = ownership::summarize(&watch.partitions, &samples[..until]);
        result
    }

    fn ownership_sample(
        &self,
        api: &WorkerApi,
        watch: &Watch<'_>,
        workers: &Workers,
        t0: Instant,
    ) -> OwnershipSample {
        sample_of(watch, &self.statuses(api, workers), t0)
    }

    /// Copies every worker log of the current run to `<out>/logs/`.
    fn keep_worker_logs(&self) {
        let run = self.work.join(format!("run-{}", self.runs));
        let dest = self
            .options
            .out
            .join("logs")
            .join(format!("run-{}-workers", self.runs));
        let copy = || -> std::io::Result<()> {
            std::fs::create_dir_all(&dest)?;
            for entry in std::fs::read_dir(&run)?.flatten() {
                let name = entry.file_name().to_string_lossy().to_string();
                let log = if entry.path().is_dir() {
                    entry.path().join("kmirror.log")
                } else {
                    entry.path()
                };
                if log.is_file() {
                    std::fs::copy(&log, dest.join(format!("{name}.log")))?;
                }
            }
            Ok(())
        };
        match copy() {
            Ok(()) => eprintln!("[bench]   logs kept in {}", dest.display()),
            Err(e) => eprintln!("[bench]   cannot keep logs in {}: {e}", dest.display()),
        }
    }
}

/// What a rebalance watch looks at.
struct Watch<'a> {
    /// The flow's name in `/status`.
    flow: String,
    topic: &'a str,
    partitions: Vec<i32>,
    poll: Duration,
    settle_within: Duration,
}

fn sample_of(watch: &Watch<'_>, statuses: &[Option<InstanceView>], t0: Instant) -> OwnershipSample {
    let mut owners: BTreeMap<i32, std::collections::BTreeSet<usize>> = BTreeMap::new();
    for (i, status) in statuses.iter().enumerate() {
        for p in status
            .iter()
            .flat_map(|s| s.partitions_of(&watch.flow, watch.topic))
        {
            owners.entry(p).or_default().insert(i);
        }
    }
    OwnershipSample {
        at: t0.elapsed(),
        owners,
    }
}

/// Every partition runs on exactly one worker, only live workers run any,
/// and every live worker is in the same generation of a group of the live
/// workers and runs its whole assignment.
fn is_settled(
    watch: &Watch<'_>,
    workers: &Workers,
    statuses: &[Option<InstanceView>],
    sample: &OwnershipSample,
) -> bool {
    let live = workers.live();
    let each_once = watch.partitions.iter().all(|p| {
        sample
            .owners
            .get(p)
            .is_some_and(|o| o.len() == 1 && live.contains(o.first().unwrap()))
    });
    let mut generations = live.iter().map(|i| {
        statuses[*i].as_ref().and_then(|s| {
            let group = s.flow(&watch.flow)?.group.as_ref()?;
            (group.members.len() == live.len() && s.runs_its_assignment(&watch.flow))
                .then_some(group.generation)
        })
    });
    let Some(Some(generation)) = generations.next() else {
        return false;
    };
    each_once && generations.all(|g| g == Some(generation))
}

/// One line per worker for an error message: its generation, members and
/// partitions.
fn describe(watch: &Watch<'_>, statuses: &[Option<InstanceView>]) -> String {
    statuses
        .iter()
        .enumerate()
        .map(|(i, s)| match s {
            None => format!("worker {i}: no answer"),
            Some(s) => {
                let group = s.flow(&watch.flow).and_then(|f| f.group.as_ref());
                format!(
                    "worker {i} ({}): generation {:?}, members {:?}, runs {:?} of {}",
                    s.worker_id,
                    group.map(|g| g.generation),
                    group.map(|g| {
                        g.members
                            .iter()
                            .map(|m| (m.worker_id.clone(), m.partitions))
                            .collect::<Vec<_>>()
                    }),
                    s.partitions_of(&watch.flow, watch.topic),
                    watch.topic
                )
            }
        })
        .collect::<Vec<_>>()
        .join("; ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn end_offsets_tell_missing_from_duplicated_per_partition() {
        assert_eq!(compare_ends(&[10, 10, 10], &[10, 10, 10]), (0, 0));
        // A partition short and another over do not cancel out.
        assert_eq!(compare_ends(&[10, 10, 10], &[7, 12, 10]), (3, 2));
        // A remote topic that is missing a partition lacks all of it.
        assert_eq!(compare_ends(&[10, 5], &[10]), (5, 0));
    }

    #[test]
    fn rounds_alternate_the_order_of_worker_counts() {
        assert_eq!(counts_of_round(&[1, 2, 3], 1), [1, 2, 3]);
        assert_eq!(counts_of_round(&[1, 2, 3], 2), [3, 2, 1]);
        assert_eq!(counts_of_round(&[1, 2, 3], 3), [1, 2, 3]);
    }

    #[test]
    fn the_workers_options_size_the_scenario() {
        let full = CompareOptions::workers(false);
        assert_eq!(full.scenarios, [Scenario::Workers]);
        assert_eq!(full.catchup_bytes, 6 << 30);
        assert!(full.partitions >= 12);
        assert_eq!(full.workers.counts, [1, 2, 3]);
        let quick = CompareOptions::workers(true);
        assert!(quick.catchup_bytes < full.catchup_bytes);
    }
}
