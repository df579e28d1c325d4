//! Exponential backoff, as Kafka's clients compute it
//! (`org.apache.kafka.common.utils.ExponentialBackoff`): the n-th pause is
//! `initial × multiplier^n`, at most `max`, then optionally spread by ±20 %
//! (`retry.backoff.ms`/`reconnect.backoff.ms` with their `.max.ms`) so that
//! many partitions or connections do not retry in lockstep. Every retry
//! loop of kmirror uses this one type. Pure apart from the jitter's random
//! numbers; no I/O.
//!
//! ```
//! use std::time::Duration;
//! use kmirror_client::backoff::Backoff;
//!
//! let mut backoff = Backoff::new(Duration::from_millis(100), Duration::from_millis(300));
//! assert_eq!(backoff.next_pause(), Duration::from_millis(100));
//! assert_eq!(backoff.next_pause(), Duration::from_millis(200));
//! assert_eq!(backoff.next_pause(), Duration::from_millis(300));
//! backoff.reset(); // it worked: start again from the first pause
//! assert_eq!(backoff.next_pause(), Duration::from_millis(100));
//! ```

use std::time::Duration;

use rand::Rng;

/// Kafka's `CommonClientConfigs.RETRY_BACKOFF_JITTER`: pauses are spread
/// over ±20 % of their value.
pub const KAFKA_JITTER: f64 = 0.2;

/// Pauses between attempts, growing geometrically up to a maximum, and the
/// number of pauses taken since the last [`Backoff::reset`].
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Backoff {
    initial: Duration,
    max: Duration,
    multiplier: u32,
    /// Relative spread of each pause (0.2 for ±20 %); 0 for none.
    jitter: f64,
    /// Pauses taken since the last reset.
    pauses: u32,
}

impl Backoff {
    /// Starts at `initial`, doubles per pause, never beyond `max` (nor
    /// below `initial`), without jitter.
    pub const fn new(initial: Duration, max: Duration) -> Self {
        Backoff {
            initial,
            max,
            multiplier: 2,
            jitter: 0.0,
            pauses: 0,
        }
    }

    /// Grows by `multiplier` per pause instead of doubling (1: constant).
    pub const fn with_multiplier(mut self, multiplier: u32) -> Self {
        self.multiplier = multiplier;
        self
    }

    /// Spreads each pause by ±[`KAFKA_JITTER`], as Kafka's clients do.
    pub const fn with_jitter(mut self) -> Self {
        self.jitter = KAFKA_JITTER;
        self
    }

    /// The pause after `failures` failed attempts in a row (1 for the first
    /// pause), before jitter.
    pub fn pause_after(&self, failures: u32) -> Duration {
        let exponent = failures.saturating_sub(1);
        let factor = self.multiplier.checked_pow(exponent).unwrap_or(u32::MAX);
        self.initial
            .saturating_mul(factor)
            .min(self.max)
            .max(self.initial.min(self.max))
    }

    /// [`Self::pause_after`] with the jitter applied.
    pub fn jittered_pause_after(&self, failures: u32) -> Duration {
        let pause = self.pause_after(failures);
        if self.jitter > 0.0 {
            let factor = rand::thread_rng().gen_range(1.0 - self.jitter..1.0 + self.jitter);
            pause.mul_f64(factor)
        } else {
            pause
        }
    }

    /// The next pause to take (jittered), counting it.
    pub fn next_pause(&mut self) -> Duration {
        self.pauses = self.pauses.saturating_add(1);
        self.jittered_pause_after(self.pauses)
    }

    /// The next pause [`Self::next_pause`] would return, before jitter,
    /// without counting it.
    pub fn peek(&self) -> Duration {
        self.pause_after(self.pauses.saturating_add(1))
    }

    /// An attempt succeeded: the next pause is the first one again.
    pub fn reset(&mut self) {
        self.pauses = 0;
    }

    /// Pauses taken since the last reset.
    pub fn pauses(&self) -> u32 {
        self.pauses
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(millis: u64) -> Duration {
        Duration::from_millis(millis)
    }

    #[test]
    fn doubles_up_to_its_max_and_starts_again_after_a_reset() {
        let mut backoff = Backoff::new(ms(50), ms(300));
        let pauses: Vec<u128> = (0..5).map(|_| backoff.next_pause().as_millis()).collect();
        assert_eq!(pauses, [50, 100, 200, 300, 300]);
        assert_eq!(backoff.pauses(), 5);
        backoff.reset();
        assert_eq!(backoff.peek(), ms(50));
        assert_eq!(backoff.next_pause(), ms(50));
    }

    #[test]
    fn pause_after_counts_failures_from_one() {
        let backoff = Backoff::new(ms(50), ms(300));
        let pauses: Vec<u128> = (1..=5)
            .map(|failures| backoff.pause_after(failures).as_millis())
            .collect();
        assert_eq!(pauses, [50, 100, 200, 300, 300]);
        // No failure yet: the first pause, not less.
        assert_eq!(backoff.pause_after(0), ms(50));
    }

    #[test]
    fn other_multipliers() {
        let mut triple = Backoff::new(ms(10), ms(1000)).with_multiplier(3);
        let pauses: Vec<u128> = (0..4).map(|_| triple.next_pause().as_millis()).collect();
        assert_eq!(pauses, [10, 30, 90, 270]);
        let mut constant = Backoff::new(ms(10), ms(1000)).with_multiplier(1);
        assert_eq!([constant.next_pause(), constant.next_pause()], [ms(10); 2]);
    }

    #[test]
    fn never_overflows() {
        let backoff = Backoff::new(Duration::from_secs(1), Duration::from_secs(60));
        assert_eq!(backoff.pause_after(u32::MAX), Duration::from_secs(60));
        let huge = Backoff::new(Duration::MAX, Duration::MAX);
        assert_eq!(huge.pause_after(40), Duration::MAX);
        let mut counting = Backoff::new(ms(1), ms(2));
        for _ in 0..100 {
            assert!(counting.next_pause() <= ms(2));
        }
    }

    #[test]
    fn a_max_below_the_initial_pause_wins() {
        // Kafka treats `retry.backoff.max.ms` below `retry.backoff.ms` as
        // the cap for every pause.
        let backoff = Backoff::new(ms(500), ms(100));
        assert_eq!(backoff.pause_after(1), ms(100));
        assert_eq!(backoff.pause_after(3), ms(100));
    }

    #[test]
    fn jitter_stays_within_twenty_percent_and_varies() {
        let backoff = Backoff::new(ms(1000), ms(1000)).with_jitter();
        let pauses: Vec<Duration> = (0..200).map(|_| backoff.jittered_pause_after(1)).collect();
        assert!(
            pauses.iter().all(|p| *p >= ms(800) && *p <= ms(1200)),
            "{pauses:?}"
        );
        assert!(pauses.iter().any(|p| *p != pauses[0]), "no spread");
        let plain = Backoff::new(ms(1000), ms(1000));
        assert_eq!(plain.jittered_pause_after(1), ms(1000));
    }
}
