//! How long partitions had no owner during a rebalance, from polls of every
//! worker's `/status`.
//!
//! A partition is owned at a poll when some worker lists it among the
//! partitions it runs (a worker that does not answer lists nothing). The
//! truth between two polls is unknown, so every interval is given as
//! bounds: an episode of polls `i..=j` that saw a partition without owner
//! lasted at least from poll `i` to poll `j + 1` (the first that saw it
//! owned again) and at most from poll `i - 1` (the last that saw it owned)
//! to poll `j + 1`. The two differ by one poll interval.

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use serde::Serialize;

/// One poll of every worker.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct OwnershipSample {
    /// Since the event (negative times are not needed: the first sample is
    /// taken just before the event, at zero).
    pub at: Duration,
    /// Each partition that some worker listed, with the workers (by index)
    /// that listed it.
    pub owners: BTreeMap<i32, BTreeSet<usize>>,
}

/// An interval known only between two polls.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize)]
pub struct Bounds {
    pub low_s: f64,
    pub high_s: f64,
}

/// What one rebalance did to ownership.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct OwnershipSummary {
    /// Time during which some partition had no owner (all episodes).
    pub ownerless: Bounds,
    /// The longest time one partition had no owner.
    pub longest_partition_gap: Bounds,
    /// Partitions that had no owner at some poll.
    pub partitions_without_owner: usize,
    /// The most partitions listed by two workers at the same poll.
    pub most_doubly_owned: usize,
    /// Partitions whose owner at the last poll differs from the first's.
    pub moved: usize,
    pub polls: usize,
}

/// Sums up `samples` (in time order, the first taken just before the
/// event) for the topic's `partitions`.
pub fn summarize(partitions: &[i32], samples: &[OwnershipSample]) -> OwnershipSummary {
    let times: Vec<f64> = samples.iter().map(|s| s.at.as_secs_f64()).collect();
    let owned =
        |sample: &OwnershipSample, p: i32| sample.owners.get(&p).is_some_and(|o| !o.is_empty());
    let any_missing: Vec<bool> = samples
        .iter()
        .map(|s| partitions.iter().any(|p| !owned(s, *p)))
        .collect();
    let ownerless = episodes(&times, &any_missing)
        .into_iter()
        .fold(Bounds::default(), |sum, e| Bounds {
            low_s: sum.low_s + e.low_s,
            high_s: sum.high_s + e.high_s,
        });
    let mut longest = Bounds::default();
    let mut without_owner = 0;
    for p in partitions {
        let missing: Vec<bool> = samples.iter().map(|s| !owned(s, *p)).collect();
        let gaps = episodes(&times, &missing);
        if !gaps.is_empty() {
            without_owner += 1;
        }
        for gap in gaps {
            if gap.high_s > longest.high_s {
                longest = gap;
            }
        }
    }
    let most_doubly_owned = samples
        .iter()
        .map(|s| s.owners.values().filter(|o| o.len() > 1).count())
        .max()
        .unwrap_or(0);
    let moved = match (samples.first(), samples.last()) {
        (Some(first), Some(last)) => partitions
            .iter()
            .filter(|p| first.owners.get(p) != last.owners.get(p))
            .count(),
        _ => 0,
    };
    OwnershipSummary {
        ownerless,
        longest_partition_gap: longest,
        partitions_without_owner: without_owner,
        most_doubly_owned,
        moved,
        polls: samples.len(),
    }
}

/// The bounds of each run of `true` in `flags` (polled at `times`). A run
/// still open at the last poll ends there.
fn episodes(times: &[f64], flags: &[bool]) -> Vec<Bounds> {
    let mut found = Vec::new();
    let mut i = 0;
    while i < flags.len() {
        if !flags[i] {
            i += 1;
            continue;
        }
        let mut j = i;
        while j + 1 < flags.len() && flags[j + 1] {
            j += 1;
        }
        let end = times[(j + 1).min(times.len() - 1)];
        let start_high = if i > 0 { times[i - 1] } else { times[i] };
        found.push(Bounds {
            low_s: end - times[i],
            high_s: end - start_high,
        });
        i = j + 1;
    }
    found
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample(ms: u64, owners: &[(i32, &[usize])]) -> OwnershipSample {
        OwnershipSample {
            at: Duration::from_millis(ms),
            owners: owners
                .iter()
                .map(|(p, o)| (*p, o.iter().copied().collect()))
                .collect(),
        }
    }

    fn assert_bounds(b: Bounds, low_s: f64, high_s: f64) {
        let close = |a: f64, b: f64| (a - b).abs() < 1e-9;
        assert!(close(b.low_s, low_s) && close(b.high_s, high_s), "{b:?}");
    }

    #[test]
    fn a_killed_workers_partitions_are_ownerless_until_taken_over() {
        let samples = [
            sample(0, &[(0, &[0]), (1, &[1]), (2, &[1])]),
            sample(100, &[(0, &[0])]),
            sample(200, &[(0, &[0])]),
            sample(300, &[(0, &[0]), (1, &[0])]),
            sample(400, &[(0, &[0]), (1, &[0]), (2, &[0])]),
            sample(500, &[(0, &[0]), (1, &[0]), (2, &[0])]),
        ];
        let s = summarize(&[0, 1, 2], &samples);
        assert_bounds(s.ownerless, 0.3, 0.4);
        assert_bounds(s.longest_partition_gap, 0.3, 0.4);
        assert_eq!(s.partitions_without_owner, 2);
        assert_eq!(s.moved, 2);
        assert_eq!(s.most_doubly_owned, 0);
        assert_eq!(s.polls, 6);
    }

    #[test]
    fn separate_episodes_add_up_and_the_longest_gap_is_one_partitions() {
        let samples = [
            sample(0, &[(0, &[0]), (1, &[1])]),
            sample(100, &[(1, &[1])]),
            sample(200, &[(0, &[2]), (1, &[1])]),
            sample(300, &[(0, &[2]), (1, &[1, 2])]),
            sample(400, &[(0, &[2])]),
            sample(500, &[(0, &[2])]),
            sample(600, &[(0, &[2]), (1, &[2])]),
        ];
        let s = summarize(&[0, 1], &samples);
        assert_bounds(s.ownerless, 0.1 + 0.2, 0.2 + 0.3);
        assert_bounds(s.longest_partition_gap, 0.2, 0.3);
        assert_eq!(s.most_doubly_owned, 1);
        assert_eq!(s.moved, 2);
    }

    #[test]
    fn a_gap_still_open_at_the_last_poll_ends_there_and_no_gap_is_zero() {
        let open = [sample(0, &[(0, &[0])]), sample(100, &[]), sample(250, &[])];
        let s = summarize(&[0], &open);
        assert_bounds(s.longest_partition_gap, 0.15, 0.25);
        let steady = [sample(0, &[(0, &[0])]), sample(100, &[(0, &[0])])];
        assert_eq!(
            summarize(&[0], &steady),
            OwnershipSummary {
                polls: 2,
                ..Default::default()
            }
        );
    }
}
