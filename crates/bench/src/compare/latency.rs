//! Steady latency: a fixed-rate producer on the source, consumers on the
//! target and (for the floor) on the source, the replicator in between.

use std::fmt::Write as _;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{bail, Result};
use kmirror_testbed::{Compression, GenOptions, JavaCommand};

use super::perf_tools::tool_stdout;
use super::{Bench, Measurement, Side};
use kmirror_client::fetch::Isolation;

use crate::latency::{consume_latencies, LatencyStats, Sample};
use crate::probe::Probe;
use crate::replicator::{ReplicatorKind, RunningReplicator};

/// One steady-latency scenario.
#[derive(Debug, Clone, Copy)]
pub(super) struct LatencyRun<'a> {
    pub(super) scenario: &'a str,
    /// Records per second the producer sends.
    pub(super) rate: u32,
    pub(super) partitions: i32,
}

impl Bench<'_> {
    /// Steady latency: a fixed-rate producer on the source, our consumer on
    /// the target, the replicator in between.
    pub(super) fn latency(
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
        // A transactional target is read as its users read it.
        let on_target = if self.read_committed {
            Isolation::ReadCommitted
        } else {
            Isolation::ReadUncommitted
        };
        let consume = |probe: &Probe, topic: &str, isolation| {
            let probe = probe.clone();
            let topic = topic.to_string();
            let stop = stop.clone();
            let deadline = tokio::time::Instant::now() + Duration::from_secs(seconds + 120);
            self.runtime.spawn(async move {
                consume_latencies(&probe, &topic, expected, isolation, stop, deadline).await
            })
        };
        let consumer = consume(&target.probe, remote, on_target);
        let direct = consume(&source.probe, topic, Isolation::ReadUncommitted);
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
}
