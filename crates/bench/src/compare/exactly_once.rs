//! Issue 13's scenario: what exactly-once costs, kmirror and MM2 side by
//! side on one pair of clusters.
//!
//! 1. Catch-up of a preloaded lz4 topic (the catch-up scenario's data
//!    generator), each round alternating: kmirror idempotent (today's
//!    default), kmirror exactly-once, MM2 tuned exactly-once, MM2 tuned
//!    idempotent. Measurements `exactly-once/catch-up/<codec>/eos` and
//!    `.../idempotent`.
//! 2. Steady latency at `latency_rate` records/s: kmirror idempotent,
//!    kmirror exactly-once and MM2 tuned exactly-once
//!    (`exactly-once/latency/eos` and `.../idempotent`).
//!
//! Exactly-once is `<target>.exactly.once.source.support = enabled`, as
//! MM2 documents it (MM2 in dedicated mode does not pass the top-level key
//! to its workers: their configs say `disabled`); MM2 in dedicated mode also gets its internal REST
//! server (`dedicated.mode.enable.internal.rest = true` on a free loopback
//! port), which Connect's exactly-once source support relies on for
//! fencing task generations. The target is read in read_committed in every
//! run of this scenario, and counted up to its last stable offsets: commit
//! markers take offsets too, so a count reaches the expected total up to
//! one marker per committed transaction early (the bias is stated with the
//! results).

use anyhow::Result;
use kmirror_testbed::Compression;

use super::{start_cluster_pair, Bench, CatchUp, CompareOptions, LatencyRun, Scenario};
use crate::replicator::ReplicatorKind;

/// Measurement names start with this.
pub const SCENARIO_PREFIX: &str = "exactly-once/";

/// The properties a replicator gets on top of the run's `mm2.properties`
/// for exactly-once.
pub(super) fn properties(kind: ReplicatorKind, target_alias: &str) -> String {
    let mut text = format!(
        "# Exactly-once (issue 13).\n{target_alias}.exactly.once.source.support = enabled\n"
    );
    if kind.is_mm2() {
        // Dedicated MM2 needs its internal REST server for exactly-once
        // (KIP-710): the leader fences older task generations through it.
        text.push_str("dedicated.mode.enable.internal.rest = true\n");
        text.push_str(&format!(
            "listeners = http://127.0.0.1:{}\n",
            kmirror_testbed::free_port()
        ));
    }
    text
}

/// The two modes measured, in the order each round runs them.
const MODES: [(&str, bool); 2] = [("idempotent", false), ("eos", true)];

impl CompareOptions {
    /// The exactly-once scenario alone: 512 MiB of lz4 (`quick`: 32 MiB),
    /// 2 rounds, kmirror and MM2 tuned, latency at 5,000 records/s for 30 s.
    pub fn exactly_once(quick: bool) -> Self {
        let base = if quick { Self::quick() } else { Self::full() };
        CompareOptions {
            scenarios: vec![Scenario::ExactlyOnce],
            replicators: vec![ReplicatorKind::Kmirror, ReplicatorKind::Mm2Tuned],
            codecs: vec![Compression::Lz4],
            catchup_bytes: if quick { 32 << 20 } else { 512 << 20 },
            latency_seconds: if quick { 10 } else { 30 },
            ..base
        }
    }
}

impl Bench<'_> {
    /// Runs the scenario on a pair of clusters of its own.
    pub(super) fn exactly_once(&mut self) -> Result<()> {
        let options = self.options;
        eprintln!("[bench] exactly-once: starting two clusters");
        let (a, b) = start_cluster_pair(options.quick, false)?;
        let a = self.side(a, None)?;
        let b = self.side(b, None)?;
        self.read_committed = true;
        let codec = options.codecs.first().copied().unwrap_or(Compression::Lz4);
        let topic = format!("bench-eos-{}", codec.as_str());
        self.create_topic(&a, &topic, options.partitions)?;
        let loaded = self.preload(&a, &topic, options.catchup_bytes, codec)?;
        let names: Vec<(String, bool)> = MODES
            .iter()
            .map(|(mode, eos)| {
                let name = format!("{SCENARIO_PREFIX}catch-up/{}/{mode}", codec.as_str());
                (name, *eos)
            })
            .collect();
        for round in 1..=options.rounds {
            // kmirror idempotent, kmirror exactly-once, MM2 exactly-once,
            // MM2 idempotent: each replicator's two modes back to back.
            for kind in options.replicators.clone() {
                let mut order: Vec<&(String, bool)> = names.iter().collect();
                if kind.is_mm2() {
                    order.reverse();
                }
                for (name, eos) in order {
                    let run = CatchUp {
                        scenario: name,
                        topic: &topic,
                        loaded: &loaded,
                        codec,
                        partitions: options.partitions,
                        window: None,
                        secured: false,
                    };
                    self.exactly_once = *eos;
                    self.record(name, kind, round, |bench| {
                        bench.catch_up(&run, kind, round, &a, &b)
                    });
                }
            }
        }
        self.delete_topics(&a, &[topic])?;

        for round in 1..=options.rounds {
            for kind in options.replicators.clone() {
                for (mode, eos) in MODES {
                    // MM2 without exactly-once is the latency scenario's
                    // business; here it would only lengthen the run.
                    if kind.is_mm2() && !eos {
                        continue;
                    }
                    let name = format!("{SCENARIO_PREFIX}latency/{mode}");
                    self.exactly_once = eos;
                    self.record(&name, kind, round, |bench| {
                        let topic = format!("bench-eos-latency-{}", bench.runs + 1);
                        bench.create_topic(&a, &topic, options.partitions)?;
                        let run = LatencyRun {
                            scenario: &name,
                            rate: options.latency_rate,
                            partitions: options.partitions,
                        };
                        let result = bench.latency(&run, kind, round, &a, &b, &topic);
                        bench.delete_topics(&a, &[topic])?;
                        result
                    });
                }
            }
        }
        self.exactly_once = false;
        self.read_committed = false;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_mm2_gets_the_internal_rest_server() {
        let kmirror = properties(ReplicatorKind::Kmirror, "b");
        assert!(kmirror.contains("\nb.exactly.once.source.support = enabled\n"));
        assert!(!kmirror.contains("listeners"), "{kmirror}");
        let mm2 = properties(ReplicatorKind::Mm2Tuned, "b");
        assert!(mm2.contains("\nb.exactly.once.source.support = enabled\n"));
        assert!(mm2.contains("dedicated.mode.enable.internal.rest = true\n"));
        assert!(mm2.contains("listeners = http://127.0.0.1:"), "{mm2}");
    }
}
