//! The loop of every periodic job (heartbeats, checkpoints, ACL sync, end
//! offset polls): a tick now, then one every interval, missed ticks delayed
//! rather than bunched, until shutdown.

use std::time::Duration;

use tokio::time::{Interval, MissedTickBehavior};
use tokio_util::sync::CancellationToken;

/// Ticks every `every` until `shutdown` is cancelled.
#[derive(Debug)]
pub(crate) struct Ticker<'a> {
    interval: Interval,
    shutdown: &'a CancellationToken,
}

impl<'a> Ticker<'a> {
    pub(crate) fn new(every: Duration, shutdown: &'a CancellationToken) -> Self {
        let mut interval = tokio::time::interval(every);
        interval.set_missed_tick_behavior(MissedTickBehavior::Delay);
        Ticker { interval, shutdown }
    }

    /// Waits for the next tick; `false` once shutdown has begun.
    pub(crate) async fn tick(&mut self) -> bool {
        tokio::select! {
            _ = self.shutdown.cancelled() => false,
            _ = self.interval.tick() => true,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn ticks_at_once_then_every_interval_until_shutdown() {
        let shutdown = CancellationToken::new();
        let mut ticker = Ticker::new(Duration::from_secs(5), &shutdown);
        let start = tokio::time::Instant::now();
        assert!(ticker.tick().await);
        assert_eq!(start.elapsed(), Duration::ZERO);
        assert!(ticker.tick().await);
        assert_eq!(start.elapsed(), Duration::from_secs(5));
        shutdown.cancel();
        assert!(!ticker.tick().await);
    }
}
