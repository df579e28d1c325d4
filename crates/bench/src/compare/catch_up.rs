//! Catch-up: a preloaded topic copied from the start, timed until the
//! target holds every record (or for a window after the first one).

use std::time::{Duration, Instant};

use anyhow::{bail, Result};
use kmirror_testbed::{Compression, GenReport};

use super::{sasl_ssl, Bench, Measurement, Side};
use crate::replicator::ReplicatorKind;

/// One catch-up scenario: a preloaded topic to copy.
#[derive(Debug, Clone, Copy)]
pub(super) struct CatchUp<'a> {
    pub(super) scenario: &'a str,
    pub(super) topic: &'a str,
    pub(super) loaded: &'a GenReport,
    pub(super) codec: Compression,
    pub(super) partitions: i32,
    /// End this long after the first record arrived, even if incomplete.
    pub(super) window: Option<Duration>,
    /// Replicate through the sides' SASL_SSL listeners.
    pub(super) secured: bool,
}

impl Bench<'_> {
    /// Catch-up: start the replicator on a preloaded topic and time it until
    /// the target holds every record (or, with a window, until that long
    /// after the first record arrived).
    pub(super) fn catch_up(
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
                // A transactional target is counted up to its last stable
                // offset (commit markers below it still count: the bias is
                // stated with the exactly-once results).
                let count = if self.read_committed {
                    self.runtime.block_on(target.probe.stable_total(&remote))
                } else {
                    self.runtime.block_on(target.probe.total(&remote))
                };
                let count = count.max(0) as u64;
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
}
