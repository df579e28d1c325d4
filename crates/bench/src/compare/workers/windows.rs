//! Each worker's own copy window in a catch-up, from polls of the remote
//! topic's end offsets and of every worker's CPU time.
//!
//! Why per worker: with one window for all (first record of any worker to
//! the last of all), a worker that starts copying later pays the end of its
//! start-up inside the window, and one that finishes earlier pays its
//! closing progress writes there, while a lone worker pays neither (its
//! start-up comes before the first record and its closing writes after the
//! last). Each worker measured from its own first record on the target to
//! its own last treats one worker and three alike.

use std::collections::BTreeSet;
use std::time::Duration;

/// One poll: the remote topic's end offset per partition, and each
/// worker's CPU time so far.
#[derive(Debug, Clone)]
pub struct Poll {
    pub ends: Vec<i64>,
    pub cpu: Vec<Duration>,
}

/// What one worker copied inside its own window.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Window {
    /// Records that arrived on its partitions between the window's polls.
    pub records: u64,
    /// Its CPU time between the same polls.
    pub cpu: Duration,
}

fn arrived(poll: &Poll, partitions: &BTreeSet<i32>) -> i64 {
    partitions
        .iter()
        .filter_map(|p| poll.ends.get(usize::try_from(*p).ok()?))
        .sum()
}

/// Worker `worker`'s window over `partitions` (the ones it ran): from the
/// first poll that saw a record on any of them to the first poll that saw
/// all of them complete (`source_ends`). `None` when its partitions never
/// got a record or never completed within the polls.
pub fn window_of(
    polls: &[Poll],
    worker: usize,
    partitions: &BTreeSet<i32>,
    source_ends: &[i64],
) -> Option<Window> {
    let complete = |poll: &Poll| {
        partitions.iter().all(|p| {
            let i = usize::try_from(*p).unwrap_or(usize::MAX);
            poll.ends.get(i).copied().unwrap_or(0) >= source_ends.get(i).copied().unwrap_or(0)
        })
    };
    let start = polls.iter().position(|p| arrived(p, partitions) > 0)?;
    let end = start + polls[start..].iter().position(complete)?;
    let (a, b) = (&polls[start], &polls[end]);
    Some(Window {
        records: (arrived(b, partitions) - arrived(a, partitions)).max(0) as u64,
        cpu: b.cpu.get(worker)?.saturating_sub(*a.cpu.get(worker)?),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn poll(ends: &[i64], cpu_ms: &[u64]) -> Poll {
        Poll {
            ends: ends.to_vec(),
            cpu: cpu_ms.iter().map(|ms| Duration::from_millis(*ms)).collect(),
        }
    }

    #[test]
    fn each_worker_is_measured_from_its_own_first_to_its_own_last_record() {
        let source = [100, 100];
        // Worker 0 runs partition 0, worker 1 partition 1, which starts
        // later and ends later.
        let polls = [
            poll(&[0, 0], &[10, 10]),
            poll(&[20, 0], &[20, 15]),
            poll(&[100, 30], &[40, 30]),
            poll(&[100, 100], &[45, 60]),
        ];
        let w0 = window_of(&polls, 0, &BTreeSet::from([0]), &source).unwrap();
        assert_eq!(w0.records, 80);
        assert_eq!(w0.cpu, Duration::from_millis(20));
        let w1 = window_of(&polls, 1, &BTreeSet::from([1]), &source).unwrap();
        assert_eq!(w1.records, 70);
        assert_eq!(w1.cpu, Duration::from_millis(30));
    }

    #[test]
    fn a_worker_whose_partitions_never_complete_has_no_window() {
        let polls = [poll(&[0], &[0]), poll(&[50], &[5])];
        assert_eq!(window_of(&polls, 0, &BTreeSet::from([0]), &[100]), None);
        assert_eq!(window_of(&polls, 0, &BTreeSet::new(), &[100]), None);
    }
}
