//! Issue 4's harness: kmirror and MirrorMaker 2 side by side, on the same
//! clusters, the same data and the same machine, in one run.
//!
//! Every scenario runs each replicator in turn, `rounds` times, alternating
//! (kmirror, MM2 default, MM2 tuned, kmirror, ...), so that slow drifts of
//! the machine (page cache, other load) hit all of them alike. Each run gets
//! fresh cluster aliases (`kafka-a-r7`, `kafka-b-r7`), hence its own remote
//! topic and internal topics, and everything it created is deleted after
//! it: no run resumes from another's progress.
//!
//! Measured per run, from the replicator's own process (see
//! [`crate::proc_stats`]): time from spawn to the first record visible on
//! the target and to the last, CPU seconds (total, and during the copy,
//! i.e. between those two moments) and peak RSS. Throughput and CPU per GB
//! use the copy phase: that leaves out MM2's slower start, which the
//! start-up scenario reports on its own.

use std::collections::HashSet;
use std::fmt::Write as _;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{bail, Context as _, Result};
use kmirror_client::admin::NewTopic;
use kmirror_testbed::{
    Compression, GenOptions, GenReport, JavaCommand, KafkaCluster, SecurityOptions,
};
use serde::Serialize;

use crate::latency::{consume_latencies, LatencyStats, Sample};
use crate::probe::Probe;
use crate::proc_stats::{self, ProcStats};
use crate::proxy::{DelayProxy, LinkSettings, Upstream};
use crate::replicator::{mm2_properties, FlowSpec, ReplicatorKind, RunningReplicator};
use crate::report::{self, Report};

pub mod latency_brokers;
mod perf_tools;
mod sasl_ssl;
pub mod workers;

use perf_tools::{
    parse_consumer_performance, parse_producer_performance, tool_stdout, write_payload_file,
};
pub use sasl_ssl::SecuredAccess;
pub use workers::{WorkersOptions, WorkersResults};

/// The scenarios of issue 4.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Scenario {
    /// The brokers' own ceiling with Kafka's perf tools (no replicator).
    Ceiling,
    CatchUp,
    Latency,
    StartUp,
    FarRegion,
    /// Catch-up over SASL_SSL (SCRAM-SHA-512, TLS on both sides) against
    /// kmirror over PLAINTEXT on the same clusters (issue 9); not part of
    /// the default set, see [`CompareOptions::sasl_ssl`].
    SaslSsl,
    /// Catch-up with 1, 2 and 3 kmirror worker processes and the time
    /// partitions have no owner while workers join and leave (issue 10);
    /// not part of the default set, see [`CompareOptions::workers`].
    Workers,
    /// Steady latency on three-broker clusters at a low and a high rate
    /// (issue 12); not part of the default set, see
    /// [`CompareOptions::latency_brokers`].
    LatencyBrokers,
}

impl Scenario {
    pub const ALL: [Scenario; 8] = [
        Self::Ceiling,
        Self::CatchUp,
        Self::Latency,
        Self::StartUp,
        Self::FarRegion,
        Self::SaslSsl,
        Self::Workers,
        Self::LatencyBrokers,
    ];

    /// What a full run measures when no scenario is named.
    pub const DEFAULT: [Scenario; 5] = [
        Self::Ceiling,
        Self::CatchUp,
        Self::Latency,
        Self::StartUp,
        Self::FarRegion,
    ];

    pub fn key(self) -> &'static str {
        match self {
            Self::Ceiling => "ceiling",
            Self::CatchUp => "catch-up",
            Self::Latency => "latency",
            Self::StartUp => "start-up",
            Self::FarRegion => "far-region",
            Self::SaslSsl => "sasl-ssl",
            Self::Workers => "workers",
            Self::LatencyBrokers => "latency-3b",
        }
    }

    pub fn parse(key: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|s| s.key() == key)
    }
}

/// Which properties file kmirror gets.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum KmirrorConfig {
    /// The same file as MM2 default (the users' file, untuned).
    Default,
    /// The same file as MM2 tuned.
    Tuned,
}

/// Everything a comparison run can vary.
#[derive(Debug, Clone, Serialize)]
pub struct CompareOptions {
    pub quick: bool,
    /// Where `results.{md,json}` (or `results-quick.*`) go.
    pub out: PathBuf,
    /// The kmirror binary; built with cargo when `None`.
    #[serde(skip)]
    pub kmirror_bin: Option<PathBuf>,
    pub kmirror_config: KmirrorConfig,
    pub scenarios: Vec<Scenario>,
    pub replicators: Vec<ReplicatorKind>,
    pub rounds: usize,
    pub partitions: i32,
    pub record_size: usize,
    /// Catch-up data of the first codec (payload bytes, about).
    pub catchup_bytes: u64,
    /// Catch-up data of the other codecs (smaller, so that a full run fits
    /// in half an hour on two cores).
    pub catchup_other_bytes: u64,
    #[serde(serialize_with = "codec_names")]
    pub codecs: Vec<Compression>,
    pub latency_rate: u32,
    pub latency_seconds: u64,
    /// Records produced in the first seconds are left out of the latency
    /// statistics (JIT warm-up of producer and replicator).
    pub latency_warmup_seconds: u64,
    /// The rates of the three-broker latency scenario, records/s.
    pub brokers_latency_rates: Vec<u32>,
    pub startup_records: u64,
    /// Far-region data per topic (payload bytes, about).
    pub far_bytes: u64,
    /// A far-region run ends this long after its first record arrived (or
    /// when everything arrived).
    pub far_window: Duration,
    pub far_round_trip: Duration,
    /// The capped far-region runs' bandwidth per direction, bytes/s.
    pub far_bandwidth: u64,
    /// The workers scenario's settings.
    pub workers: WorkersOptions,
}

fn codec_names<S: serde::Serializer>(codecs: &[Compression], s: S) -> Result<S::Ok, S::Error> {
    s.collect_seq(codecs.iter().map(|c| c.as_str()))
}

impl CompareOptions {
    /// The full run documented in `docs/BENCHMARKS.md`: about half an hour on
    /// two cores.
    pub fn full() -> Self {
        CompareOptions {
            quick: false,
            out: PathBuf::from("docs/bench-results"),
            kmirror_bin: None,
            kmirror_config: KmirrorConfig::Default,
            scenarios: Scenario::DEFAULT.to_vec(),
            replicators: ReplicatorKind::ALL.to_vec(),
            rounds: 2,
            partitions: 12,
            record_size: 1024,
            catchup_bytes: 1 << 30,
            catchup_other_bytes: 512 << 20,
            codecs: vec![Compression::Lz4, Compression::None, Compression::Zstd],
            latency_rate: 5000,
            latency_seconds: 60,
            latency_warmup_seconds: 5,
            brokers_latency_rates: vec![10, 5000],
            startup_records: 1000,
            far_bytes: 256 << 20,
            far_window: Duration::from_secs(8),
            far_round_trip: Duration::from_millis(30),
            far_bandwidth: 25_000_000,
            workers: WorkersOptions::default(),
        }
    }

    /// Seconds of data per scenario: a check that the harness works.
    pub fn quick() -> Self {
        CompareOptions {
            quick: true,
            rounds: 1,
            catchup_bytes: 32 << 20,
            catchup_other_bytes: 32 << 20,
            latency_rate: 2000,
            latency_seconds: 10,
            latency_warmup_seconds: 2,
            startup_records: 100,
            far_bytes: 16 << 20,
            far_window: Duration::from_secs(5),
            ..Self::full()
        }
    }

    fn records_for(&self, bytes: u64) -> u64 {
        (bytes / self.record_size.max(1) as u64).max(1)
    }
}

/// One replicator run in one scenario.
#[derive(Debug, Clone, Serialize)]
pub struct Measurement {
    /// `catch-up/lz4`, `latency`, `start-up`, `far-region/1p/30ms`, ...
    pub scenario: String,
    pub replicator: ReplicatorKind,
    pub round: usize,
    pub expected_records: u64,
    /// What the target held at the end (may exceed `expected_records` for
    /// an at-least-once replicator).
    pub replicated_records: u64,
    pub complete: bool,
    /// Time from spawn to the first record on the target.
    pub first_record_s: Option<f64>,
    /// Time from spawn to the last record on the target.
    pub done_s: Option<f64>,
    /// Payload MB/s between the first and the last observation.
    pub mb_per_s: Option<f64>,
    pub cpu_s: f64,
    /// CPU seconds during the copy phase, per GB of payload copied then.
    pub cpu_s_per_gb: Option<f64>,
    /// All CPU seconds, start-up included, per GB of payload.
    pub total_cpu_s_per_gb: Option<f64>,
    pub peak_rss_mib: f64,
    /// CPU seconds of both clusters' brokers during the run.
    pub broker_cpu_s: f64,
    /// CPU seconds of everything else on the machine during the run (not
    /// the replicator, the brokers or this harness with its load
    /// generators): a sign of outside interference when large.
    pub other_cpu_s: f64,
    /// End-to-end latency, producer to consumer on the target.
    pub latency: Option<LatencyStats>,
    /// The same records read directly on the source: what the producer and
    /// the source broker alone contribute (the floor for any replicator).
    pub source_latency: Option<LatencyStats>,
    pub error: Option<String>,
}

impl Measurement {
    fn new(scenario: &str, kind: ReplicatorKind, round: usize) -> Self {
        Self::failed(scenario, kind, round, String::new()).ok()
    }

    fn ok(mut self) -> Self {
        self.error = None;
        self
    }

    fn failed(scenario: &str, kind: ReplicatorKind, round: usize, error: String) -> Self {
        Measurement {
            scenario: scenario.to_string(),
            replicator: kind,
            round,
            expected_records: 0,
            replicated_records: 0,
            complete: false,
            first_record_s: None,
            done_s: None,
            mb_per_s: None,
            cpu_s: 0.0,
            cpu_s_per_gb: None,
            total_cpu_s_per_gb: None,
            peak_rss_mib: 0.0,
            broker_cpu_s: 0.0,
            other_cpu_s: 0.0,
            latency: None,
            source_latency: None,
            error: Some(error),
        }
    }
}

/// The brokers' own throughput, measured with Kafka's perf tools.
#[derive(Debug, Clone, Serialize)]
pub struct Ceiling {
    /// ProducerPerformance into the target cluster, payload MB/s: the best
    /// of `producer_rates`.
    pub producer_mb_per_s: f64,
    /// Per producer codec (the source data's, and none).
    pub producer_rates: Vec<(&'static str, f64)>,
    /// ConsumerPerformance from the source cluster, payload MB/s.
    pub consumer_mb_per_s: f64,
    pub records: u64,
    pub compression: &'static str,
}

impl Ceiling {
    /// What a replicator could at best move: the slower of the two.
    pub fn mb_per_s(&self) -> f64 {
        self.producer_mb_per_s.min(self.consumer_mb_per_s)
    }
}

/// Runs the comparison and writes its report; returns it.
pub fn run(options: &CompareOptions) -> Result<Report> {
    let started = Instant::now();
    let kmirror_bin = match &options.kmirror_bin {
        Some(path) => path.clone(),
        None => build_kmirror()?,
    };
    // Replicators run in their own folders: the path must not be relative.
    let kmirror_bin = kmirror_bin
        .canonicalize()
        .with_context(|| format!("no kmirror binary at {}", kmirror_bin.display()))?;
    eprintln!("[bench] kmirror binary: {}", kmirror_bin.display());
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    let work = tempfile::Builder::new()
        .prefix("kmirror-bench-")
        .tempdir()?;
    let mut bench = Bench {
        options,
        runtime,
        kmirror_bin,
        work: work.path().to_path_buf(),
        runs: 0,
        measurements: Vec::new(),
        ceiling: None,
        workers: None,
    };
    let result = bench.run_all();
    if result.is_err() || std::env::var_os("KMIRROR_KEEP_BENCH").is_some() {
        let kept = work.keep();
        eprintln!(
            "[bench] configs and logs of every run kept in {}",
            kept.display()
        );
    }
    let mut report = Report::new(options, bench.ceiling.clone(), bench.measurements.clone());
    report.elapsed_s = started.elapsed().as_secs_f64();
    report.workers = bench.workers.take();
    let written = report::write(&report, &options.out, options.quick);
    result?;
    let (md, json) = written?;
    eprintln!(
        "[bench] done in {:.0} s; wrote {} and {}",
        report.elapsed_s,
        md.display(),
        json.display()
    );
    Ok(report)
}

/// Starts `kafka-a` and `kafka-b` side by side (in parallel), tuned for
/// benchmarks: full JIT, 1 GiB heaps, deleted topics' files removed after
/// a second rather than a minute. Secured clusters (`secured`) also have
/// the test bed's SASL_SSL, SSL and SASL_PLAINTEXT listeners and SCRAM
/// users.
pub fn start_cluster_pair(quick: bool, secured: bool) -> Result<(KafkaCluster, KafkaCluster)> {
    let start = |name: &'static str| {
        std::thread::spawn(move || {
            let builder = bench_cluster(name, quick);
            if secured {
                builder.secured(SecurityOptions::new()).start()
            } else {
                builder.start()
            }
        })
    };
    join_clusters(start("kafka-a"), start("kafka-b"))
}

/// The two clusters started side by side.
pub(crate) fn join_clusters(
    a: std::thread::JoinHandle<KafkaCluster>,
    b: std::thread::JoinHandle<KafkaCluster>,
) -> Result<(KafkaCluster, KafkaCluster)> {
    let a = a
        .join()
        .map_err(|_| anyhow::anyhow!("kafka-a did not start"))?;
    let b = b
        .join()
        .map_err(|_| anyhow::anyhow!("kafka-b did not start"))?;
    Ok((a, b))
}

fn bench_cluster(name: &str, quick: bool) -> kmirror_testbed::KafkaClusterBuilder {
    KafkaCluster::builder(name)
        .fast_startup(quick)
        .heap("1g")
        .broker_prop("log.segment.delete.delay.ms", "1000")
        .start_timeout(Duration::from_secs(120))
}

/// Builds the kmirror binary with cargo (release when this is a release
/// build) and returns its path.
pub fn build_kmirror() -> Result<PathBuf> {
    if let Some(path) = std::env::var_os("KMIRROR_BIN") {
        return Ok(PathBuf::from(path));
    }
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let mut command = std::process::Command::new(cargo);
    command
        .current_dir(kmirror_testbed::repo_root())
        .args(["build", "-p", "kmirror", "--bin", "kmirror"])
        .args(["--message-format", "json-render-diagnostics"]);
    if !cfg!(debug_assertions) {
        command.arg("--release");
    }
    let output = command
        .stderr(std::process::Stdio::inherit())
        .output()
        .context("cannot run cargo to build kmirror")?;
    if !output.status.success() {
        bail!("cargo build -p kmirror failed ({})", output.status);
    }
    // The last compiler artifact naming an executable is the binary.
    String::from_utf8_lossy(&output.stdout)
        .lines()
        .filter_map(|line| serde_json::from_str::<serde_json::Value>(line).ok())
        .filter_map(|v| v["executable"].as_str().map(PathBuf::from))
        .next_back()
        .context("cargo built kmirror but did not say where")
}

/// CPU counters at one moment (see [`Bench::load_snapshot`]).
#[derive(Debug, Clone, Copy)]
struct LoadSnapshot {
    machine: Duration,
    brokers: Duration,
    /// This process and the load generators it waited for.
    harness: Duration,
}

/// Source topics the harness preloads start with this; remote topics start
/// with their run's alias, and everything else is a replicator's.
const SOURCE_TOPIC_PREFIX: &str = "bench-";

/// One steady-latency scenario.
#[derive(Debug, Clone, Copy)]
struct LatencyRun<'a> {
    scenario: &'a str,
    /// Records per second the producer sends.
    rate: u32,
    partitions: i32,
}

/// One catch-up scenario: a preloaded topic to copy.
#[derive(Debug, Clone, Copy)]
struct CatchUp<'a> {
    scenario: &'a str,
    topic: &'a str,
    loaded: &'a GenReport,
    codec: Compression,
    partitions: i32,
    /// End this long after the first record arrived, even if incomplete.
    window: Option<Duration>,
    /// Replicate through the sides' SASL_SSL listeners.
    secured: bool,
}

struct Bench<'a> {
    options: &'a CompareOptions,
    runtime: tokio::runtime::Runtime,
    kmirror_bin: PathBuf,
    /// Configs and logs of every run.
    work: PathBuf,
    runs: usize,
    measurements: Vec<Measurement>,
    ceiling: Option<Ceiling>,
    workers: Option<WorkersResults>,
}

/// A cluster as the harness uses it: its test-bed handle (for the Java
/// tools) and a probe with kmirror's client (for everything else).
struct Side {
    cluster: KafkaCluster,
    broker_pid: Option<u32>,
    /// What replicators and probes bootstrap from (the proxy when far).
    bootstrap: String,
    /// The SASL_SSL listener and a client's keys for it, on secured
    /// clusters (probes still use `bootstrap`, the PLAINTEXT listener).
    secured: Option<SecuredAccess>,
    probe: Probe,
}

impl Bench<'_> {
    fn wants(&self, scenario: Scenario) -> bool {
        self.options.scenarios.contains(&scenario)
    }

    fn run_all(&mut self) -> Result<()> {
        let local = [
            Scenario::Ceiling,
            Scenario::CatchUp,
            Scenario::Latency,
            Scenario::StartUp,
        ];
        if local.iter().any(|s| self.wants(*s)) {
            let (a, b) = start_cluster_pair(self.options.quick, false)?;
            let a = self.side(a, None)?;
            let b = self.side(b, None)?;
            self.local_scenarios(&a, &b)?;
            drop(b);
            if self.wants(Scenario::FarRegion) {
                self.far_region(&a)?;
            }
        } else if self.wants(Scenario::FarRegion) {
            let a = bench_cluster("kafka-a", self.options.quick).start();
            let a = self.side(a, None)?;
            self.far_region(&a)?;
        }
        if self.wants(Scenario::SaslSsl) {
            self.sasl_ssl()?;
        }
        if self.wants(Scenario::Workers) {
            self.workers()?;
        }
        if self.wants(Scenario::LatencyBrokers) {
            self.latency_brokers()?;
        }
        Ok(())
    }

    fn side(&self, cluster: KafkaCluster, bootstrap: Option<String>) -> Result<Side> {
        let bootstrap = bootstrap.unwrap_or_else(|| cluster.bootstrap());
        let probe = self.runtime.block_on(Probe::connect(&bootstrap))?;
        // The harness does its topic work with kmirror's client; the test
        // bed's idle admin JVM would only count against the JVM budget.
        stop_admin_jvm(&cluster);
        Ok(Side {
            broker_pid: cluster.broker_pid(0),
            cluster,
            bootstrap,
            secured: None,
            probe,
        })
    }

    fn local_scenarios(&mut self, a: &Side, b: &Side) -> Result<()> {
        let options = self.options;
        if self.wants(Scenario::Ceiling) || self.wants(Scenario::CatchUp) {
            for (i, codec) in options.codecs.iter().enumerate() {
                let topic = format!("bench-{}", codec.as_str());
                self.create_topic(a, &topic, options.partitions)?;
                let bytes = if i == 0 {
                    options.catchup_bytes
                } else {
                    options.catchup_other_bytes
                };
                let loaded = self.preload(a, &topic, bytes, *codec)?;
                if i == 0 && self.wants(Scenario::Ceiling) {
                    self.ceiling = Some(self.measure_ceiling(a, b, &topic, &loaded, *codec)?);
                }
                if self.wants(Scenario::CatchUp) {
                    let name = format!("catch-up/{}", codec.as_str());
                    let run = CatchUp {
                        scenario: &name,
                        topic: &topic,
                        loaded: &loaded,
                        codec: *codec,
                        partitions: options.partitions,
                        window: None,
                        secured: false,
                    };
                    self.each_replicator(&name, |bench, kind, round| {
                        bench.catch_up(&run, kind, round, a, b)
                    });
                }
                self.delete_topics(a, &[topic])?;
            }
        }
        if self.wants(Scenario::Latency) {
            self.each_replicator("latency", |bench, kind, round| {
                // A fresh source topic per run: no run starts behind the
                // records of the one before.
                let topic = format!("bench-latency-{}", bench.runs + 1);
                bench.create_topic(a, &topic, options.partitions)?;
                let run = LatencyRun {
                    scenario: "latency",
                    rate: options.latency_rate,
                    partitions: options.partitions,
                };
                let result = bench.latency(&run, kind, round, a, b, &topic);
                bench.delete_topics(a, &[topic])?;
                result
            });
        }
        if self.wants(Scenario::StartUp) {
            let topic = "bench-startup".to_string();
            self.create_topic(a, &topic, options.partitions)?;
            let loaded = self.preload(
                a,
                &topic,
                options.startup_records * options.record_size as u64,
                Compression::Lz4,
            )?;
            self.each_replicator("start-up", |bench, kind, round| {
                bench.start_up(kind, round, a, b, &topic, &loaded)
            });
            self.delete_topics(a, &[topic])?;
        }
        Ok(())
    }

    /// Runs `body` for each replicator, `rounds` times, alternating; a run
    /// that fails is recorded as failed and the next one starts.
    fn each_replicator(
        &mut self,
        scenario: &str,
        mut body: impl FnMut(&mut Self, ReplicatorKind, usize) -> Result<Measurement>,
    ) {
        for round in 1..=self.options.rounds {
            for kind in self.options.replicators.clone() {
                self.record(scenario, kind, round, |bench| body(bench, kind, round));
            }
        }
    }

    /// Runs one measurement and records it (as failed if `body` fails),
    /// keeping the logs of a run that failed, fell short or duplicated.
    fn record(
        &mut self,
        scenario: &str,
        kind: ReplicatorKind,
        round: usize,
        body: impl FnOnce(&mut Self) -> Result<Measurement>,
    ) {
        eprintln!("[bench] {scenario}: {} (round {round})", kind.label());
        let measurement = body(self).unwrap_or_else(|e| {
            eprintln!("[bench] {scenario}: {} failed: {e:#}", kind.label());
            Measurement::failed(scenario, kind, round, format!("{e:#}"))
        });
        eprintln!("[bench]   {}", report::one_line(&measurement));
        let anomalous = measurement.error.is_some()
            || !measurement.complete
                && measurement.scenario != "start-up"
                && !measurement.scenario.starts_with("far-region")
            || measurement.replicated_records > measurement.expected_records
                && measurement.scenario != "start-up";
        if anomalous {
            self.keep_logs(&measurement);
        }
        self.measurements.push(measurement);
    }

    /// Copies the logs of the last run (the one `measurement` describes)
    /// to `<out>/logs/`, for a run that failed, fell short or duplicated.
    fn keep_logs(&self, measurement: &Measurement) {
        let run = self.work.join(format!("run-{}", self.runs));
        let dest = self.options.out.join("logs").join(format!(
            "run-{}-{}",
            self.runs,
            measurement.replicator.key()
        ));
        let copy = || -> std::io::Result<()> {
            std::fs::create_dir_all(&dest)?;
            for entry in std::fs::read_dir(&run)?.flatten() {
                let path = entry.path();
                if !path.is_file() {
                    continue;
                }
                // JVM logs can be long: their last 5,000 lines will do.
                let text = std::fs::read_to_string(&path).unwrap_or_default();
                let lines: Vec<&str> = text.lines().collect();
                let tail = lines[lines.len().saturating_sub(5000)..].join("\n");
                std::fs::write(dest.join(entry.file_name()), tail)?;
            }
            Ok(())
        };
        match copy() {
            Ok(()) => eprintln!("[bench]   logs kept in {}", dest.display()),
            Err(e) => eprintln!("[bench]   cannot keep logs in {}: {e}", dest.display()),
        }
    }

    fn create_topic(&self, side: &Side, topic: &str, partitions: i32) -> Result<()> {
        self.runtime.block_on(async {
            let admin = side.probe.client().admin();
            let outcomes = admin
                .create_topics(&[NewTopic::new(topic, partitions, 1)], false)
                .await?;
            for (_, outcome) in outcomes {
                outcome.with_context(|| format!("cannot create {topic}"))?;
            }
            let deadline = Instant::now() + Duration::from_secs(30);
            while side.probe.end_offsets(topic).await.is_none() {
                if Instant::now() > deadline {
                    bail!("{topic} has no leaders after 30 s");
                }
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
            Ok(())
        })
    }

    fn delete_topics(&self, side: &Side, topics: &[String]) -> Result<()> {
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
    fn topics(&self, side: &Side) -> Result<Vec<String>> {
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
    fn clean_up(&self, sides: [&Side; 2]) {
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
    fn load_snapshot(&self, sides: [&Side; 2]) -> LoadSnapshot {
        let pid_cpu = |pid: Option<u32>| {
            pid.and_then(|p| ProcStats::of(p).ok())
                .map_or(Duration::ZERO, |s| s.cpu)
        };
        LoadSnapshot {
            machine: proc_stats::machine_busy().unwrap_or_default(),
            brokers: sides.iter().map(|s| pid_cpu(s.broker_pid)).sum(),
            harness: ProcStats::of_self().map_or(Duration::ZERO, |s| s.cpu),
        }
    }

    /// Fills in the replicator's final stats and the load around it.
    fn account(
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

    fn preload(
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
    fn flow(
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
            partitions,
            compression: codec,
            source_props: Vec::new(),
            target_props: Vec::new(),
        }
    }

    fn start_replicator(&self, kind: ReplicatorKind, flow: &FlowSpec) -> Result<RunningReplicator> {
        let tuned = match kind {
            ReplicatorKind::Kmirror => self.options.kmirror_config == KmirrorConfig::Tuned,
            ReplicatorKind::Mm2Default => false,
            ReplicatorKind::Mm2Tuned => true,
        };
        let dir = self.work.join(format!("run-{}", self.runs));
        std::fs::create_dir_all(&dir)?;
        let config = dir.join("mm2.properties");
        std::fs::write(&config, mm2_properties(flow, tuned))?;
        RunningReplicator::start(kind, &config, &dir, &self.kmirror_bin)
    }

    /// Catch-up: start the replicator on a preloaded topic and time it until
    /// the target holds every record (or, with a window, until that long
    /// after the first record arrived).
    fn catch_up(
        &mut self,
        run: &CatchUp<'_>,
        kind: ReplicatorKind,
        round: usize,
        source: &Side,
        target: &Side,
    ) -> Result<Measurement> {
        let CatchUp {
            scenario,
            topic,
            loaded,
            codec,
            partitions,
            window,
            secured,
        } = *run;
        let mut flow = self.flow(source, target, topic, codec, partitions);
        if secured {
            sasl_ssl::secure_flow(&mut flow, source, target)?;
        }
        let remote = flow.remote_topic();
        let expected = loaded.sent;
        let bytes_per_record = loaded.bytes as f64 / loaded.sent.max(1) as f64;
        // Generous: MM2 default can be slow, but a stuck run must end.
        let timeout = Duration::from_secs(120)
            + Duration::from_secs_f64(loaded.bytes as f64 / 2e6).min(Duration::from_secs(900));
        let load = self.load_snapshot([source, target]);
        let mut replicator = self.start_replicator(kind, &flow)?;
        let poll = Duration::from_millis(50);
        let mut first: Option<(Instant, u64, Duration)> = None;
        let mut last = (Instant::now(), 0u64);
        let mut done: Option<Instant> = None;
        let mut cpu_at_end = Duration::ZERO;
        let outcome = (|| -> Result<()> {
            loop {
                std::thread::sleep(poll);
                replicator.check_alive()?;
                let count = self.runtime.block_on(target.probe.total(&remote)).max(0) as u64;
                let now = Instant::now();
                if first.is_none() && count > 0 {
                    first = Some((now, count, replicator.stats()?.cpu));
                }
                last = (now, count);
                if count >= expected {
                    done = Some(now);
                    cpu_at_end = replicator.stats()?.cpu;
                    return Ok(());
                }
                if let (Some(window), Some((t, _, _))) = (window, first) {
                    if now - t >= window {
                        cpu_at_end = replicator.stats()?.cpu;
                        return Ok(());
                    }
                }
                if now - replicator.started() > timeout {
                    cpu_at_end = replicator.stats()?.cpu;
                    bail!(
                        "{remote} holds {count} of {expected} records after {timeout:?}; \
                         the replicator's log ends with:\n{}",
                        replicator.log_tail(20)
                    );
                }
            }
        })();
        let started = replicator.started();
        let stats = replicator.stop()?;
        let mut m = Measurement::new(scenario, kind, round);
        self.account(&mut m, &stats, &load, [source, target]);
        self.clean_up([source, target]);
        m.error = outcome.err().map(|e| format!("{e:#}"));
        m.expected_records = expected;
        m.replicated_records = last.1;
        m.complete = done.is_some();
        m.done_s = done.map(|t| (t - started).as_secs_f64());
        if let Some((t_first, n_first, cpu_first)) = first {
            m.first_record_s = Some((t_first - started).as_secs_f64());
            let (t_end, n_end) = last;
            let seconds = (t_end - t_first).as_secs_f64();
            let copied_gb = (n_end - n_first) as f64 * bytes_per_record / 1e9;
            if seconds > 0.0 && n_end > n_first {
                m.mb_per_s = Some(copied_gb * 1e3 / seconds);
                m.cpu_s_per_gb = Some((cpu_at_end - cpu_first).as_secs_f64() / copied_gb);
            }
            let total_gb = n_end as f64 * bytes_per_record / 1e9;
            if total_gb > 0.0 {
                m.total_cpu_s_per_gb = Some(cpu_at_end.as_secs_f64() / total_gb);
            }
        }
        Ok(m)
    }

    /// Start-up: spawn to the first record visible on the target.
    fn start_up(
        &mut self,
        kind: ReplicatorKind,
        round: usize,
        source: &Side,
        target: &Side,
        topic: &str,
        loaded: &GenReport,
    ) -> Result<Measurement> {
        let flow = self.flow(
            source,
            target,
            topic,
            Compression::Lz4,
            self.options.partitions,
        );
        let remote = flow.remote_topic();
        let load = self.load_snapshot([source, target]);
        let mut replicator = self.start_replicator(kind, &flow)?;
        let outcome = (|| -> Result<(Instant, u64)> {
            loop {
                let count = self.runtime.block_on(target.probe.total(&remote)).max(0) as u64;
                if count > 0 {
                    return Ok((Instant::now(), count));
                }
                replicator.check_alive()?;
                if replicator.started().elapsed() > Duration::from_secs(180) {
                    bail!("no record on {remote} after 180 s");
                }
                std::thread::sleep(Duration::from_millis(5));
            }
        })();
        let started = replicator.started();
        let stats = replicator.stop()?;
        let mut m = Measurement::new("start-up", kind, round);
        self.account(&mut m, &stats, &load, [source, target]);
        self.clean_up([source, target]);
        let (at, count) = outcome?;
        m.expected_records = loaded.sent;
        m.replicated_records = count;
        m.complete = true;
        m.first_record_s = Some((at - started).as_secs_f64());
        Ok(m)
    }

    /// Steady latency: a fixed-rate producer on the source, our consumer on
    /// the target, the replicator in between.
    fn latency(
        &mut self,
        run: &LatencyRun<'_>,
        kind: ReplicatorKind,
        round: usize,
        source: &Side,
        target: &Side,
        topic: &str,
    ) -> Result<Measurement> {
        let options = self.options;
        let flow = self.flow(source, target, topic, Compression::None, run.partitions);
        let remote = flow.remote_topic();
        let load = self.load_snapshot([source, target]);
        let mut replicator = self.start_replicator(kind, &flow)?;
        let outcome =
            self.measure_latency(&mut replicator, run.rate, source, target, topic, &remote);
        let stats = replicator.stop()?;
        let mut m = Measurement::new(run.scenario, kind, round);
        self.account(&mut m, &stats, &load, [source, target]);
        self.clean_up([source, target]);
        let (expected, on_target, on_source) = outcome?;
        let first_produced = on_source
            .iter()
            .chain(&on_target)
            .map(|s| s.produced_ms)
            .min()
            .unwrap_or(0);
        let steady_from = first_produced + options.latency_warmup_seconds as i64 * 1000;
        let steady = |samples: &[Sample]| -> Vec<i64> {
            samples
                .iter()
                .filter(|s| s.produced_ms >= steady_from)
                .map(|s| s.latency_ms)
                .collect()
        };
        m.expected_records = expected;
        m.replicated_records = on_target.len() as u64;
        m.complete = on_target.len() as u64 >= expected;
        if !m.complete {
            m.error = Some(format!("{} of {expected} records arrived", on_target.len()));
        }
        m.latency = LatencyStats::of(&steady(&on_target));
        m.source_latency = LatencyStats::of(&steady(&on_source));
        Ok(m)
    }

    fn measure_latency(
        &self,
        replicator: &mut RunningReplicator,
        rate: u32,
        source: &Side,
        target: &Side,
        topic: &str,
        remote: &str,
    ) -> Result<(u64, Vec<Sample>, Vec<Sample>)> {
        let options = self.options;
        // Prime: wait until the replicator demonstrably copies, so that the
        // measurement does not include its start-up.
        let prime_records = 100;
        let mut prime = GenOptions::new(prime_records, options.record_size);
        prime.partitions_from_topic = true;
        let before = self.runtime.block_on(source.probe.total(topic)).max(0) as u64;
        source.cluster.gen(topic, &prime);
        let deadline = Instant::now() + Duration::from_secs(180);
        while (self.runtime.block_on(target.probe.total(remote)).max(0) as u64)
            < before + prime_records
        {
            replicator.check_alive()?;
            if Instant::now() > deadline {
                bail!("the replicator copied nothing within 180 s");
            }
            std::thread::sleep(Duration::from_millis(100));
        }

        let seconds = options.latency_seconds + options.latency_warmup_seconds;
        let expected = u64::from(rate) * seconds;
        let stop = Arc::new(AtomicBool::new(false));
        let consume = |probe: &Probe, topic: &str| {
            let probe = probe.clone();
            let topic = topic.to_string();
            let stop = stop.clone();
            let deadline = tokio::time::Instant::now() + Duration::from_secs(seconds + 120);
            self.runtime.spawn(async move {
                consume_latencies(&probe, &topic, expected, stop, deadline).await
            })
        };
        let consumer = consume(&target.probe, remote);
        let direct = consume(&source.probe, topic);
        // Let the consumer read the end offsets before the first record.
        std::thread::sleep(Duration::from_millis(500));
        let output = JavaCommand::new("org.apache.kafka.tools.ProducerPerformance")
            .name("ProducerPerformance (latency load)")
            .fast_startup(false)
            .args(["--topic", topic])
            .args(["--num-records", &expected.to_string()])
            .args(["--record-size", &options.record_size.to_string()])
            .args(["--throughput", &rate.to_string()])
            .args([
                "--producer-props",
                &format!("bootstrap.servers={}", source.bootstrap),
                "acks=all",
            ])
            .timeout(Duration::from_secs(seconds + 120))
            .run(b"");
        let grace = Instant::now() + Duration::from_secs(30);
        while !(consumer.is_finished() && direct.is_finished()) && Instant::now() < grace {
            replicator.check_alive()?;
            std::thread::sleep(Duration::from_millis(100));
        }
        stop.store(true, Ordering::Relaxed);
        let samples = self.runtime.block_on(consumer)??;
        let direct_samples = self.runtime.block_on(direct)??;
        // Every sample, for a closer look at a run (kept with
        // KMIRROR_KEEP_BENCH).
        for (name, samples) in [("target", &samples), ("source", &direct_samples)] {
            let mut dump = String::new();
            for s in samples {
                let _ = writeln!(dump, "{} {}", s.produced_ms, s.latency_ms);
            }
            let _ = std::fs::write(
                self.work
                    .join(format!("run-{}", self.runs))
                    .join(format!("latency-{name}.txt")),
                dump,
            );
        }
        tool_stdout("ProducerPerformance", &output)?;
        Ok((expected, samples, direct_samples))
    }

    fn measure_ceiling(
        &self,
        source: &Side,
        target: &Side,
        topic: &str,
        loaded: &GenReport,
        codec: Compression,
    ) -> Result<Ceiling> {
        let options = self.options;
        eprintln!("[bench] ceiling: ConsumerPerformance on the source");
        let output = JavaCommand::new("org.apache.kafka.tools.ConsumerPerformance")
            .name("ConsumerPerformance")
            .fast_startup(false)
            .heap("1g")
            .args(["--bootstrap-server", &source.bootstrap])
            .args(["--topic", topic])
            .args(["--messages", &loaded.sent.to_string()])
            .args(["--timeout", "60000"])
            .timeout(Duration::from_secs(900))
            .run(b"");
        let stdout = tool_stdout("ConsumerPerformance", &output)?;
        let per_record = loaded.bytes as f64 / loaded.sent.max(1) as f64;
        let consumer_mb_per_s =
            parse_consumer_performance(&stdout).context("ConsumerPerformance output")? * per_record
                / 1e6;

        let payloads = self.work.join("payloads.txt");
        write_payload_file(&payloads, options.record_size)?;
        let records = loaded.sent;
        let mut producer_rates = Vec::new();
        // The source's codec, and no compression: a Java producer spends
        // much of its CPU compressing, which a replicator that forwards
        // compressed batches does not.
        let mut codecs = vec![codec];
        if codec != Compression::None {
            codecs.push(Compression::None);
        }
        for producer_codec in codecs {
            eprintln!(
                "[bench] ceiling: ProducerPerformance ({}) into the target",
                producer_codec.as_str()
            );
            let ceiling_topic = "bench-ceiling".to_string();
            self.create_topic(target, &ceiling_topic, options.partitions)?;
            let output = JavaCommand::new("org.apache.kafka.tools.ProducerPerformance")
                .name("ProducerPerformance")
                .fast_startup(false)
                .heap("1g")
                .args(["--topic", &ceiling_topic])
                .args(["--num-records", &records.to_string()])
                .arg("--payload-file")
                .arg(&payloads)
                .args(["--throughput", "-1"])
                .args([
                    "--producer-props",
                    &format!("bootstrap.servers={}", target.bootstrap),
                    "acks=all",
                    &format!("compression.type={}", producer_codec.as_str()),
                    // The test bed's loader settings, which the replicated
                    // batches have too.
                    "batch.size=262144",
                    "linger.ms=10",
                    "buffer.memory=134217728",
                ])
                .timeout(Duration::from_secs(900))
                .run(b"");
            self.delete_topics(target, &[ceiling_topic])?;
            let stdout = tool_stdout("ProducerPerformance", &output)?;
            let rate = parse_producer_performance(&stdout).context("ProducerPerformance output")?
                * options.record_size as f64
                / 1e6;
            producer_rates.push((producer_codec.as_str(), rate));
        }
        let ceiling = Ceiling {
            producer_mb_per_s: producer_rates.iter().map(|(_, r)| *r).fold(0.0, f64::max),
            producer_rates,
            consumer_mb_per_s,
            records,
            compression: codec.as_str(),
        };
        eprintln!(
            "[bench] ceiling: produce {:?} MB/s, consume {:.0} MB/s",
            ceiling.producer_rates, ceiling.consumer_mb_per_s
        );
        Ok(ceiling)
    }

    /// Far region: the target behind a delaying proxy; catch-up of one
    /// partition and of all of them, without and with a bandwidth cap.
    fn far_region(&mut self, a: &Side) -> Result<()> {
        let options = self.options;
        let far_name = "kafka-far";
        let proxy = self.runtime.block_on(DelayProxy::start(
            0,
            Upstream::Lazy(Arc::new(move || testbed_broker_address(far_name))),
            LinkSettings::default(),
        ))?;
        eprintln!(
            "[bench] far region: {far_name} reached through the proxy at {}",
            proxy.addr()
        );
        let far = bench_cluster(far_name, options.quick)
            .broker_prop(
                "advertised.listeners",
                format!("PLAINTEXT://{}", proxy.addr()),
            )
            .start();
        let far = self.side(far, Some(proxy.addr().to_string()))?;

        let mut topics = Vec::new();
        for partitions in [1, options.partitions] {
            let topic = format!("bench-far-{partitions}p");
            self.create_topic(a, &topic, partitions)?;
            let loaded = self.preload(a, &topic, options.far_bytes, Compression::Lz4)?;
            topics.push((partitions, topic, loaded));
        }
        let rtt_ms = options.far_round_trip.as_millis();
        for bandwidth in [None, Some(options.far_bandwidth)] {
            proxy.set_link(LinkSettings {
                one_way_delay: options.far_round_trip / 2,
                bandwidth,
            });
            for (partitions, topic, loaded) in &topics {
                let name = match bandwidth {
                    None => format!("far-region/{partitions}p/{rtt_ms}ms"),
                    Some(rate) => format!(
                        "far-region/{partitions}p/{rtt_ms}ms/{}Mbit",
                        rate * 8 / 1_000_000
                    ),
                };
                let run = CatchUp {
                    scenario: &name,
                    topic,
                    loaded,
                    codec: Compression::Lz4,
                    partitions: *partitions,
                    window: Some(options.far_window),
                    secured: false,
                };
                self.each_replicator(&name, |bench, kind, round| {
                    bench.catch_up(&run, kind, round, a, &far)
                });
            }
        }
        for (_, topic, _) in topics {
            self.delete_topics(a, &[topic])?;
        }
        drop(far);
        drop(proxy);
        Ok(())
    }
}

/// Kills the test bed's admin-client JVM of `cluster` (our own child); the
/// test bed restarts it if one of its admin calls is ever made again.
fn stop_admin_jvm(cluster: &KafkaCluster) {
    let brokers: HashSet<u32> = (0..cluster.broker_count())
        .filter_map(|i| cluster.broker_pid(i))
        .collect();
    for pid in cluster.pids() {
        if !brokers.contains(&pid) {
            let _ = std::process::Command::new("kill")
                .args(["-KILL", &pid.to_string()])
                .status();
        }
    }
}

/// The real address of broker 0 of the test-bed cluster `name` started by
/// this process, read from its `server.properties` (the test bed names the
/// folder `kmirror-<name>-<pid>-*`). The broker advertises the proxy, so
/// the proxy must find the broker's own port this way, while the cluster is
/// still starting.
fn testbed_broker_address(name: &str) -> Option<SocketAddr> {
    let base = std::env::var_os("KMIRROR_TESTBED_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(std::env::temp_dir);
    let prefix = format!("kmirror-{name}-{}-", std::process::id());
    let dir = std::fs::read_dir(base)
        .ok()?
        .flatten()
        .find(|e| e.file_name().to_string_lossy().starts_with(&prefix))?
        .path();
    let config = std::fs::read_to_string(dir.join("broker-0/server.properties")).ok()?;
    let listeners = config.lines().find_map(|l| l.strip_prefix("listeners="))?;
    listeners
        .split(',')
        .find_map(|l| l.strip_prefix("PLAINTEXT://"))?
        .parse()
        .ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scenario_keys_round_trip() {
        for scenario in Scenario::ALL {
            assert_eq!(Scenario::parse(scenario.key()), Some(scenario));
        }
    }
}
