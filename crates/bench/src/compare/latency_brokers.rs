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
//! Measurements are named `latency-3b/<rate>`; [`crate::report`] shows each
//! replicator's latency as overhead over the source floor of its own run, and
//! checks the goals: p50 overhead at most 10 ms, p99 overhead at most 1/5 of
//! MM2 tuned's.

use anyhow::Result;

use super::{bench_cluster, join_clusters, Bench, CompareOptions, LatencyRun, Scenario};
use crate::replicator::ReplicatorKind;

/// The scenario's measurements are named this, then the rate.
pub const SCENARIO_PREFIX: &str = "latency-3b/";
/// Brokers per cluster.
const BROKERS: usize = 3;
/// Partitions of each run's topic: two per broker.
pub const PARTITIONS: i32 = 6;

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
            let run = LatencyRun {
                scenario: &scenario,
                rate,
                partitions: PARTITIONS,
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
