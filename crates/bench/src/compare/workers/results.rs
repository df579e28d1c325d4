//! The workers scenario's results: each catch-up run with every worker's
//! share, each rebalance event's ownership gaps, the goals of issue 10 item
//! 9, and their Markdown tables.

use std::fmt::Write as _;

use serde::Serialize;

use super::ownership::{Bounds, OwnershipSummary};
use super::WorkersOptions;
use crate::report::{num, write_goals, Goal};

/// One worker process's share of a catch-up.
#[derive(Debug, Clone, Default, Serialize)]
pub struct WorkerShare {
    /// `--worker-id` (the host name and REST port by default).
    pub worker_id: String,
    /// Partitions it ran at the end.
    pub partitions: usize,
    /// Records and batch bytes it copied, from its `/metrics`.
    pub records: u64,
    pub wire_bytes: u64,
    /// Records that arrived on its partitions in its own copy window (from
    /// the first record on its partitions to the last; see `windows`).
    pub copy_records: u64,
    /// All its CPU seconds, start-up included.
    pub cpu_s: f64,
    /// Its CPU seconds during its own copy window (see `windows`).
    pub copy_cpu_s: f64,
    /// Its window CPU seconds per GB of payload that arrived on its
    /// partitions in the window.
    pub cpu_s_per_gb: Option<f64>,
    /// All CPU seconds per GB of payload it copied.
    pub total_cpu_s_per_gb: Option<f64>,
    pub peak_rss_mib: f64,
    /// Its minor page faults over its life: mostly the first touches of its
    /// receive buffers, a fixed cost per process (see the scenario's size).
    pub page_faults: u64,
}

/// A catch-up of the preloaded topic by `workers` processes at once.
#[derive(Debug, Clone, Default, Serialize)]
pub struct WorkersCatchUp {
    pub workers: usize,
    pub round: usize,
    /// The source topic's end offsets, summed.
    pub expected_records: u64,
    /// The remote topic's end offsets, summed, after every worker stopped.
    pub replicated_records: u64,
    /// Per partition, source end minus remote end where positive.
    pub missing_records: u64,
    /// Per partition, remote end minus source end where positive.
    pub duplicate_records: u64,
    pub complete: bool,
    /// From the first worker's spawn to the first record on the target.
    pub first_record_s: Option<f64>,
    /// From the first worker's spawn to every record on the target.
    pub done_s: Option<f64>,
    /// Payload MB/s between the first and the last record on the target.
    pub mb_per_s: Option<f64>,
    /// All workers' CPU seconds, summed.
    pub cpu_s: f64,
    /// Copy-phase CPU seconds summed over the workers, per GB of payload
    /// they copied then.
    pub cpu_s_per_gb: Option<f64>,
    /// All CPU seconds summed over the workers, per GB of payload.
    pub total_cpu_s_per_gb: Option<f64>,
    pub broker_cpu_s: f64,
    /// Machine CPU not spent by the workers, brokers or harness.
    pub other_cpu_s: f64,
    pub per_worker: Vec<WorkerShare>,
    pub error: Option<String>,
}

impl WorkersCatchUp {
    pub fn failed(workers: usize, round: usize, error: String) -> Self {
        WorkersCatchUp {
            workers,
            round,
            error: Some(error),
            ..Default::default()
        }
    }

    /// Mean and worst of the workers' copy-phase CPU per GB.
    pub fn per_worker_cpu_s_per_gb(&self) -> (Option<f64>, Option<f64>) {
        let values: Vec<f64> = self
            .per_worker
            .iter()
            .filter_map(|w| w.cpu_s_per_gb)
            .collect();
        if values.is_empty() {
            return (None, None);
        }
        let mean = values.iter().sum::<f64>() / values.len() as f64;
        (Some(mean), values.iter().copied().reduce(f64::max))
    }

    pub fn one_line(&self) -> String {
        let mut line = format!(
            "{} worker(s): {}/{} records ({} missing, {} duplicate), {} MB/s, first {} s, all {} s, {} CPU s/GB summed",
            self.workers,
            self.replicated_records,
            self.expected_records,
            self.missing_records,
            self.duplicate_records,
            num(self.mb_per_s),
            num(self.first_record_s),
            num(self.done_s),
            num(self.cpu_s_per_gb),
        );
        for w in &self.per_worker {
            let _ = write!(
                line,
                "; {}: {} partitions, {} records, {} CPU s/GB",
                w.worker_id,
                w.partitions,
                w.records,
                num(w.cpu_s_per_gb)
            );
        }
        if let Some(e) = &self.error {
            let _ = write!(line, "; error: {}", e.lines().next().unwrap_or_default());
        }
        line
    }
}

/// One change of the group while it copies.
#[derive(Debug, Clone, Default, Serialize)]
pub struct RebalanceEvent {
    /// `join`, `sigterm` or `sigkill`.
    pub event: String,
    pub workers_before: usize,
    pub workers_after: usize,
    /// From the event until every partition ran on exactly one of the
    /// remaining workers, each running its whole assignment.
    pub settled_s: Option<f64>,
    pub ownership: OwnershipSummary,
    /// Partitions each remaining worker ran once settled.
    pub partitions_after: Vec<usize>,
    pub error: Option<String>,
}

/// The rebalance run: two workers copy a live topic; one joins, one is
/// stopped with SIGTERM, one is killed with SIGKILL.
#[derive(Debug, Clone, Default, Serialize)]
pub struct RebalanceRun {
    /// Records per second produced on the source throughout.
    pub rate: u32,
    pub expected_records: u64,
    pub replicated_records: u64,
    pub missing_records: u64,
    pub duplicate_records: u64,
    pub complete: bool,
    pub events: Vec<RebalanceEvent>,
    pub error: Option<String>,
}

impl RebalanceRun {
    pub fn failed(rate: u32, error: String) -> Self {
        RebalanceRun {
            rate,
            error: Some(error),
            ..Default::default()
        }
    }
}

/// Everything the workers scenario measured.
#[derive(Debug, Clone, Default, Serialize)]
pub struct WorkersResults {
    pub options: WorkersOptions,
    pub catch_up: Vec<WorkersCatchUp>,
    pub rebalances: Option<RebalanceRun>,
    pub goals: Vec<Goal>,
}

fn mean(values: impl Iterator<Item = Option<f64>>) -> Option<f64> {
    let values: Vec<f64> = values.flatten().filter(|v| v.is_finite()).collect();
    (!values.is_empty()).then(|| values.iter().sum::<f64>() / values.len() as f64)
}

fn bounds(b: Bounds) -> String {
    format!("{:.2}–{:.2}", b.low_s, b.high_s)
}

impl WorkersResults {
    /// What went wrong: runs that failed, lost records or did not settle.
    pub fn failures(&self) -> Vec<String> {
        let mut failures = Vec::new();
        for run in &self.catch_up {
            if let Some(e) = &run.error {
                failures.push(format!("catch-up with {} worker(s): {e}", run.workers));
            } else if run.missing_records > 0 || !run.complete {
                failures.push(format!(
                    "catch-up with {} worker(s) lost {} records",
                    run.workers, run.missing_records
                ));
            }
        }
        if let Some(r) = &self.rebalances {
            if let Some(e) = &r.error {
                failures.push(format!("rebalances: {e}"));
            } else if r.missing_records > 0 || !r.complete {
                failures.push(format!("rebalances lost {} records", r.missing_records));
            }
            for e in &r.events {
                if let Some(error) = &e.error {
                    failures.push(format!("{}: {error}", e.event));
                }
            }
        }
        failures
    }

    /// Issue 10's goals: each worker's CPU per GB within 10 % of a single
    /// process's, and a killed worker's partitions owned again within the
    /// session timeout plus 2 s.
    pub fn compute_goals(&mut self) {
        let mut goals = Vec::new();
        let single = mean(
            self.catch_up
                .iter()
                .filter(|r| r.workers == 1 && r.error.is_none())
                .map(|r| r.per_worker_cpu_s_per_gb().0),
        );
        for n in self.options.counts.iter().filter(|n| **n > 1) {
            let per_worker = mean(
                self.catch_up
                    .iter()
                    .filter(|r| r.workers == *n && r.error.is_none())
                    .map(|r| r.per_worker_cpu_s_per_gb().0),
            );
            let ratio = per_worker.zip(single).map(|(w, s)| w / s);
            goals.push(Goal {
                goal: format!("per-worker CPU s per GB, {n} workers vs 1, catch-up"),
                target: "≤ 1.10".into(),
                kmirror: per_worker,
                baseline: single,
                baseline_name: "1 worker".into(),
                ratio,
                met: ratio.map(|r| r <= 1.10),
            });
        }
        let limit = self.options.session_timeout.as_secs_f64() + 2.0;
        if let Some(kill) = self
            .rebalances
            .iter()
            .flat_map(|r| &r.events)
            .find(|e| e.event == "sigkill")
        {
            let gap = (kill.error.is_none()).then_some(kill.ownership.longest_partition_gap.high_s);
            goals.push(Goal {
                goal: "SIGKILL: longest time a partition had no owner, s".into(),
                target: format!("≤ {limit:.0} s (session timeout + 2 s)"),
                kmirror: gap,
                baseline: None,
                baseline_name: String::new(),
                ratio: None,
                met: gap.map(|g| g <= limit),
            });
        }
        self.goals = goals;
    }

    /// The Markdown section.
    pub fn write_markdown(&self, w: &mut String) {
        let o = &self.options;
        let _ = writeln!(w, "## Several workers (issue 10)\n");
        let _ = writeln!(
            w,
            "`kmirror run` processes on the same properties file, each with its own REST port \
             and state folder, sharing one flow through the group coordinator on the target. \
             Brokers use group.initial.rebalance.delay.ms = {} ms (Kafka's default), so workers \
             started together get their first assignment together; session.timeout.ms = {} ms; \
             every worker's /status read every {} ms.\n",
            o.initial_rebalance_delay.as_millis(),
            o.session_timeout.as_millis(),
            o.poll.as_millis()
        );
        write_goals(w, "### Goals", "measured", &self.goals);
        self.catch_up_markdown(w);
        self.rebalance_markdown(w);
    }

    fn catch_up_markdown(&self, w: &mut String) {
        if self.catch_up.is_empty() {
            return;
        }
        let _ = writeln!(
            w,
            "### Catch-up with 1 to {} workers\n",
            self.options.counts.iter().max().unwrap_or(&1)
        );
        let _ = writeln!(
            w,
            "Means over the rounds, after one unmeasured warm-up round (fresh brokers are \
             slow); the worker counts run in ascending order in odd rounds and descending in \
             even ones. MB/s from the first to the last record on the target; \
             'to first' and 'to all' from the first worker's spawn. CPU per GB over each \
             worker's own copy window (from the first record on its partitions to the last, \
             end offsets polled every 50 ms): 'per worker': its CPU over the bytes that \
             arrived on its partitions meanwhile, mean and worst; 'summed': all workers' \
             window CPU over all those bytes; 'total': all CPU of the processes, start-up \
             and stop included, over all bytes.\n"
        );
        let _ = writeln!(
            w,
            "| workers | runs | MB/s | to first s | to all s | CPU s/GB summed | CPU s/GB per worker (mean) | worst worker | CPU s/GB total summed | complete |"
        );
        let _ = writeln!(w, "|---:|---:|---:|---:|---:|---:|---:|---:|---:|:---:|");
        for n in &self.options.counts {
            let runs: Vec<&WorkersCatchUp> =
                self.catch_up.iter().filter(|r| r.workers == *n).collect();
            let ok = || runs.iter().filter(|r| r.error.is_none());
            let _ = writeln!(
                w,
                "| {n} | {} | {} | {} | {} | {} | {} | {} | {} | {}/{} |",
                runs.len(),
                num(mean(ok().map(|r| r.mb_per_s))),
                num(mean(ok().map(|r| r.first_record_s))),
                num(mean(ok().map(|r| r.done_s))),
                num(mean(ok().map(|r| r.cpu_s_per_gb))),
                num(mean(ok().map(|r| r.per_worker_cpu_s_per_gb().0))),
                num(mean(ok().map(|r| r.per_worker_cpu_s_per_gb().1))),
                num(mean(ok().map(|r| r.total_cpu_s_per_gb))),
                runs.iter()
                    .filter(|r| r.complete && r.error.is_none())
                    .count(),
                runs.len()
            );
        }
        let _ = writeln!(w, "\nEvery run and worker:\n");
        let _ = writeln!(
            w,
            "| workers | round | worker | partitions | records | copy CPU s | CPU s/GB copy | CPU s/GB total | peak RSS MiB | page faults |"
        );
        let _ = writeln!(w, "|---:|---:|---|---:|---:|---:|---:|---:|---:|---:|");
        for r in &self.catch_up {
            if let Some(e) = &r.error {
                let _ = writeln!(
                    w,
                    "| {} | {} | failed: {} | | | | | | | |",
                    r.workers,
                    r.round,
                    e.lines().next().unwrap_or_default().replace('|', "/")
                );
            }
            for s in &r.per_worker {
                let _ = writeln!(
                    w,
                    "| {} | {} | {} | {} | {} | {:.3} | {} | {} | {:.0} | {} |",
                    r.workers,
                    r.round,
                    s.worker_id,
                    s.partitions,
                    s.records,
                    s.copy_cpu_s,
                    num(s.cpu_s_per_gb),
                    num(s.total_cpu_s_per_gb),
                    s.peak_rss_mib,
                    s.page_faults
                );
            }
        }
        let _ = writeln!(w, "\nData check per run (end offsets of the remote topic against the source's, per partition):\n");
        let _ = writeln!(w, "| workers | round | source records | remote records | missing | duplicates | broker CPU s | other CPU s |");
        let _ = writeln!(w, "|---:|---:|---:|---:|---:|---:|---:|---:|");
        for r in &self.catch_up {
            let _ = writeln!(
                w,
                "| {} | {} | {} | {} | {} | {} | {:.1} | {:.1} |",
                r.workers,
                r.round,
                r.expected_records,
                r.replicated_records,
                r.missing_records,
                r.duplicate_records,
                r.broker_cpu_s,
                r.other_cpu_s
            );
        }
        let _ = writeln!(w);
    }

    fn rebalance_markdown(&self, w: &mut String) {
        let Some(r) = &self.rebalances else {
            return;
        };
        let _ = writeln!(w, "### Partitions without owner during rebalances\n");
        let _ = writeln!(
            w,
            "Two workers copy a topic produced at {} records/s; then a third joins, one is \
             stopped with SIGTERM, one is killed with SIGKILL. Times are bounds from the \
             polls (the truth lies between; they differ by one poll interval). 'settled': \
             every partition runs on exactly one worker, each running its whole assignment.\n",
            r.rate
        );
        let _ = writeln!(
            w,
            "| event | workers | settled s | some partition ownerless s | longest partition gap s | partitions without owner | moved | doubly owned (max) | partitions per worker after |"
        );
        let _ = writeln!(w, "|---|---|---:|---:|---:|---:|---:|---:|---|");
        for e in &r.events {
            let o = &e.ownership;
            let _ = writeln!(
                w,
                "| {} | {} → {} | {} | {} | {} | {} | {} | {} | {}{} |",
                e.event,
                e.workers_before,
                e.workers_after,
                num(e.settled_s),
                bounds(o.ownerless),
                bounds(o.longest_partition_gap),
                o.partitions_without_owner,
                o.moved,
                o.most_doubly_owned,
                e.partitions_after
                    .iter()
                    .map(|p| p.to_string())
                    .collect::<Vec<_>>()
                    .join(", "),
                e.error
                    .as_ref()
                    .map(|e| format!(" (error: {})", e.replace('|', "/")))
                    .unwrap_or_default()
            );
        }
        let _ = writeln!(
            w,
            "\nData check: {} records produced, {} on the remote topic, {} missing, {} duplicates{}.\n",
            r.expected_records,
            r.replicated_records,
            r.missing_records,
            r.duplicate_records,
            r.error
                .as_ref()
                .map(|e| format!("; error: {}", e.lines().next().unwrap_or_default()))
                .unwrap_or_default()
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(workers: usize, per_worker: &[f64]) -> WorkersCatchUp {
        WorkersCatchUp {
            workers,
            round: 1,
            complete: true,
            per_worker: per_worker
                .iter()
                .map(|v| WorkerShare {
                    cpu_s_per_gb: Some(*v),
                    ..Default::default()
                })
                .collect(),
            ..Default::default()
        }
    }

    #[test]
    fn the_per_worker_goal_compares_means_with_one_process() {
        let mut results = WorkersResults {
            options: WorkersOptions::default(),
            catch_up: vec![
                run(1, &[0.50]),
                run(2, &[0.50, 0.60]),
                run(3, &[0.70, 0.80, 0.90]),
                run(1, &[0.50]),
            ],
            ..Default::default()
        };
        results.compute_goals();
        let two = &results.goals[0];
        assert!((two.ratio.unwrap() - 1.10).abs() < 1e-9, "{two:?}");
        assert_eq!(two.met, Some(true));
        let three = &results.goals[1];
        assert!((three.ratio.unwrap() - 1.6).abs() < 1e-9, "{three:?}");
        assert_eq!(three.met, Some(false));
        assert!(results.failures().is_empty());
    }

    #[test]
    fn lost_records_and_errors_are_failures() {
        let mut lossy = run(2, &[0.5, 0.5]);
        lossy.missing_records = 3;
        let results = WorkersResults {
            catch_up: vec![lossy, WorkersCatchUp::failed(3, 1, "boom".into())],
            rebalances: Some(RebalanceRun {
                complete: true,
                events: vec![RebalanceEvent {
                    event: "sigkill".into(),
                    error: Some("did not settle".into()),
                    ..Default::default()
                }],
                ..Default::default()
            }),
            ..Default::default()
        };
        let failures = results.failures();
        assert_eq!(failures.len(), 3, "{failures:?}");
        assert!(failures[0].contains("lost 3 records"), "{failures:?}");
    }
}
