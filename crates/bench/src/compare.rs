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

use std::path::PathBuf;
use std::time::Instant;

use anyhow::{Context as _, Result};
use kmirror_testbed::{Compression, KafkaCluster};

use crate::probe::Probe;
use crate::replicator::ReplicatorKind;
use crate::report::{self, Report};

mod catch_up;
mod ceiling;
mod clusters;
pub mod exactly_once;
mod far_region;
mod latency;
pub mod latency_brokers;
mod options;
mod perf_tools;
mod runs;
mod sasl_ssl;
pub mod scale;
mod start_up;
pub mod workers;

use catch_up::CatchUp;
pub use ceiling::Ceiling;
use clusters::bench_cluster;
pub(crate) use clusters::join_clusters;
pub use clusters::{build_kmirror, start_cluster_pair};
use latency::LatencyRun;
pub use options::{CompareOptions, KmirrorConfig, Measurement, Scenario};
pub use sasl_ssl::SecuredAccess;
pub use workers::{WorkersOptions, WorkersResults};

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
        exactly_once: false,
        read_committed: false,
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
    /// Replicators of the next runs get exactly-once settings.
    exactly_once: bool,
    /// The next runs' target is read in read_committed.
    read_committed: bool,
}

/// A cluster as the harness uses it: its test-bed handle (for the Java
/// tools) and a probe with kmirror's client (for everything else).
struct Side {
    cluster: KafkaCluster,
    /// Every broker's pid (three on the three-broker scenarios): the
    /// brokers' CPU of a run is their sum.
    broker_pids: Vec<u32>,
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
        if self.wants(Scenario::Scale) {
            self.scale()?;
        }
        if self.wants(Scenario::ExactlyOnce) {
            self.exactly_once()?;
        }
        Ok(())
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
                    seconds: None,
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
}
