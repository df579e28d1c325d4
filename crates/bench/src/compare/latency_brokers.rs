//! Issue 12's scenario: steady latency on three-broker clusters.
//!
//! Two clusters of three brokers each. For each rate of
//! [`CompareOptions::brokers_latency_rates`] (10 and 5,000 records/s by
//! default) and each replicator, a fresh topic of [`PARTITIONS`] partitions
//! (replication factor 1, so that their leaders spread over the three
//! brokers) gets a fixed-rate producer on the source; the harness reads the
//! same records on the source (the floor) and on the target in the same run,
//! each leader with its own long poll (see [`crate::latency`]).
//!
//! Before the measured runs of each rate, the first replicator runs the
//! same load for [`WARM_UP_SECONDS`] unmeasured: fresh brokers are slow at a
//! new rate for their first half minute or so (at 5,000 records/s the
//! brokers of the first run used twice the CPU of later runs, and the source
//! floor's p99 was 90 ms in its first 30 s against 10 ms after), which
//! otherwise lands on whichever replicator happens to run first.
//!
//! Measurements are named `latency-3b/<rate>`; [`crate::report`] shows each
//! replicator's latency as overhead over the source floor of its own run, and
//! checks the goals: p50 overhead at most 10 ms, p99 overhead at most 1/5 of
//! MM2 tuned's.

use anyhow::Result;

use super::{bench_cluster, join_clusters, Bench, CompareOptions, LatencyRun, Scenario, Side};
use crate::replicator::ReplicatorKind;

/// The scenario's measurements are named this, then the rate.
pub const SCENARIO_PREFIX: &str = "latency-3b/";
/// Brokers per cluster.
const BROKERS: usize = 3;
/// Partitions of each run's topic: two per broker.
pub const PARTITIONS: i32 = 6;
/// Unmeasured seconds of load at each rate before its measured runs
/// (`quick`: [`QUICK_WARM_UP_SECONDS`]).
pub const WARM_UP_SECONDS: u64 = 45;
const QUICK_WARM_UP_SECONDS: u64 = 3;

impl CompareOptions {
    /// The three-broker latency scenario alone: kmirror and MM2 tuned, 60 s
    /// per rate after 5 s of warm-up (`quick`: 10 s after 2 s).
    pub fn latency_brokers(quick: bool) -> Self {
        let base = if quick { Self::quick() } else { Self::full() };
        CompareOptions {
            scenarios: vec![Scenario::LatencyBrokers],
            replicators: vec![ReplicatorKind::Kmirror, ReplicatorKind::Mm2Tuned],
            partitions: PARTITIONS,
            ..base
        }
    }
}

impl Bench<'_> {
    /// Runs the scenario on a pair of three-broker clusters of its own.
    pub(super) fn latency_brokers(&mut self) -> Result<()> {
        let options = self.options;
        eprintln!("[bench] latency-3b: starting two clusters of {BROKERS} brokers");
        let start = |name: &'static str| {
            let quick = options.quick;
            std::thread::spawn(move || bench_cluster(name, quick).brokers(BROKERS).start())
        };
        let (a, b) = join_clusters(start("kafka-a3"), start("kafka-b3"))?;
        let a = self.side(a, None)?;
        let b = self.side(b, None)?;
        for &rate in &options.brokers_latency_rates {
            let scenario = format!("{SCENARIO_PREFIX}{rate}");
            self.warm_up(&scenario, rate, &a, &b);
            let run = LatencyRun {
                scenario: &scenario,
                rate,
                partitions: PARTITIONS,
                seconds: None,
            };
            self.each_replicator(&scenario, |bench, kind, round| {
                // A fresh source topic per run: no run starts behind the
                // records of the one before.
                let topic = format!("bench-latency-3b-{}", bench.runs + 1);
                bench.create_topic(&a, &topic, PARTITIONS)?;
                let result = bench.latency(&run, kind, round, &a, &b, &topic);
                bench.delete_topics(&a, &[topic])?;
                result
            });
        }
        Ok(())
    }
}

impl Bench<'_> {
    /// Runs `rate` through the first replicator for a while, measuring
    /// nothing, so that every measured run finds the brokers warm.
    fn warm_up(&mut self, scenario: &str, rate: u32, source: &Side, target: &Side) {
        let Some(&kind) = self.options.replicators.first() else {
            return;
        };
        let seconds = if self.options.quick {
            QUICK_WARM_UP_SECONDS
        } else {
            WARM_UP_SECONDS
        };
        eprintln!(
            "[bench] {scenario}: warming the brokers up with {} for {seconds} s (not measured)",
            kind.label()
        );
        let run = LatencyRun {
            scenario,
            rate,
            partitions: PARTITIONS,
            seconds: Some(seconds),
        };
        let topic = format!("bench-latency-3b-warm-up-{}", self.runs + 1);
        let result = self
            .create_topic(source, &topic, PARTITIONS)
            .and_then(|()| {
                let result = self.latency(&run, kind, 0, source, target, &topic);
                self.delete_topics(source, &[topic])?;
                result
            });
        // The measured runs that follow show any real trouble.
        if let Err(e) = result {
            eprintln!("[bench] {scenario}: warm-up failed: {e:#}");
        }
    }
}
