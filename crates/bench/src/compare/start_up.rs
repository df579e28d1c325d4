//! Start-up: the time from spawning a replicator to the first record on
//! the target.

use std::time::{Duration, Instant};

use anyhow::{bail, Result};
use kmirror_testbed::{Compression, GenReport};

use super::{Bench, Measurement, Side};
use crate::replicator::ReplicatorKind;

impl Bench<'_> {
    /// Start-up: spawn to the first record visible on the target.
    pub(super) fn start_up(
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
}
