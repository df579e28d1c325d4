//! The three-broker latency scenario's table and goals (issue 12): each
//! replicator's latency as overhead over the source floor measured in the
//! same runs.

use std::fmt::Write as _;

use super::{num, Goal, Report, Summary};
use crate::compare::latency_brokers::SCENARIO_PREFIX;
use crate::replicator::ReplicatorKind;

/// The p50 overhead kmirror may add, ms.
const P50_OVERHEAD_GOAL_MS: f64 = 10.0;
/// kmirror's p99 overhead over MM2 tuned's.
const P99_OVERHEAD_GOAL_RATIO: f64 = 0.20;

/// What a replicator adds to the source's own latency, ms: its mean
/// percentile minus the source's mean percentile over the same runs.
fn overhead(target: Option<f64>, source: Option<f64>) -> Option<f64> {
    Some(target? - source?)
}

fn p50_overhead(s: &Summary) -> Option<f64> {
    overhead(s.latency_p50_ms, s.source_latency_p50_ms)
}

fn p99_overhead(s: &Summary) -> Option<f64> {
    overhead(s.latency_p99_ms, s.source_latency_p99_ms)
}

/// The rates measured, in the order they ran.
fn rates(scenarios: &[&str]) -> Vec<String> {
    scenarios
        .iter()
        .filter_map(|s| s.strip_prefix(SCENARIO_PREFIX))
        .map(str::to_string)
        .collect()
}

pub(super) fn write_section(report: &Report, w: &mut String) {
    let scenarios: Vec<&str> = report.summary.iter().map(|s| s.scenario.as_str()).collect();
    let rates = rates(&scenarios);
    let mut seen = Vec::new();
    let rates: Vec<&String> = rates
        .iter()
        .filter(|r| {
            let new = !seen.contains(r);
            seen.push(*r);
            new
        })
        .collect();
    if rates.is_empty() {
        return;
    }
    let _ = writeln!(w, "## Latency on three-broker clusters\n");
    let _ = writeln!(
        w,
        "Both clusters have three brokers; each run's topic has 6 partitions with replication \
         factor 1, so their leaders spread over the brokers. Producer timestamp to consumption; \
         every leader is read with its own long poll, on the source (the floor) and on the \
         target in the same run. Overhead: the replicator's percentile minus the source's.\n"
    );
    let _ = writeln!(
        w,
        "| rate (records/s) | replicator | p50 overhead ms | p99 overhead ms | p50 / p99 / max ms | source p50 / p99 ms | CPU s | complete |"
    );
    let _ = writeln!(w, "|---:|---|---:|---:|---:|---:|---:|:---:|");
    for rate in rates {
        let scenario = format!("{SCENARIO_PREFIX}{rate}");
        for kind in &report.options.replicators {
            let Some(s) = report.find(&scenario, *kind) else {
                continue;
            };
            let _ = writeln!(
                w,
                "| {rate} | {} | {} | {} | {} / {} / {} | {} / {} | {} | {}/{} |",
                kind.label(),
                num(p50_overhead(s)),
                num(p99_overhead(s)),
                num(s.latency_p50_ms),
                num(s.latency_p99_ms),
                num(s.latency_max_ms),
                num(s.source_latency_p50_ms),
                num(s.source_latency_p99_ms),
                num(s.cpu_s),
                s.complete_runs,
                s.runs
            );
        }
    }
    let _ = writeln!(w);
}

/// Per rate: kmirror's p50 overhead against 10 ms, and its p99 overhead
/// against MM2 tuned's.
pub(super) fn goals(
    scenarios: &[&str],
    get: impl Fn(&str, ReplicatorKind, fn(&Summary) -> Option<f64>) -> Option<f64>,
) -> Vec<Goal> {
    let mut goals = Vec::new();
    for rate in rates(scenarios) {
        let scenario = format!("{SCENARIO_PREFIX}{rate}");
        let p50 = get(&scenario, ReplicatorKind::Kmirror, p50_overhead);
        let ratio = p50.map(|k| k / P50_OVERHEAD_GOAL_MS);
        goals.push(Goal {
            goal: format!("p50 latency overhead over the source, 3 brokers, {rate} records/s"),
            target: "≤ 10 ms".into(),
            kmirror: p50,
            baseline: Some(P50_OVERHEAD_GOAL_MS),
            baseline_name: "10 ms".into(),
            ratio,
            met: p50.map(|k| k <= P50_OVERHEAD_GOAL_MS),
        });
        let k = get(&scenario, ReplicatorKind::Kmirror, p99_overhead);
        let b = get(&scenario, ReplicatorKind::Mm2Tuned, p99_overhead);
        let ratio = match (k, b) {
            (Some(k), Some(b)) if b > 0.0 => Some(k / b),
            _ => None,
        };
        goals.push(Goal {
            goal: format!("p99 latency overhead over the source, 3 brokers, {rate} records/s"),
            target: "≤ 0.20".into(),
            kmirror: k,
            baseline: b,
            baseline_name: "MM2 tuned".into(),
            ratio,
            met: ratio.map(|r| r <= P99_OVERHEAD_GOAL_RATIO),
        });
    }
    goals
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn overheads_are_target_minus_source_and_goals_follow() {
        let summary = |kind, p50, p99, source_p50, source_p99| Summary {
            scenario: format!("{SCENARIO_PREFIX}10"),
            replicator: kind,
            runs: 1,
            complete_runs: 1,
            mb_per_s: None,
            done_s: None,
            first_record_s: None,
            cpu_s: None,
            cpu_s_per_gb: None,
            total_cpu_s_per_gb: None,
            peak_rss_mib: None,
            broker_cpu_s: None,
            other_cpu_s: None,
            replicated_records: None,
            latency_p50_ms: Some(p50),
            latency_p99_ms: Some(p99),
            latency_max_ms: None,
            source_latency_p50_ms: Some(source_p50),
            source_latency_p99_ms: Some(source_p99),
        };
        let all = [
            summary(ReplicatorKind::Kmirror, 8.0, 30.0, 2.0, 20.0),
            summary(ReplicatorKind::Mm2Tuned, 40.0, 220.0, 2.0, 20.0),
        ];
        let get = |scenario: &str, kind: ReplicatorKind, f: fn(&Summary) -> Option<f64>| {
            all.iter()
                .find(|s| s.scenario == scenario && s.replicator == kind)
                .and_then(f)
        };
        let scenario = format!("{SCENARIO_PREFIX}10");
        let goals = goals(&[scenario.as_str()], get);
        assert_eq!(goals.len(), 2);
        assert_eq!(goals[0].kmirror, Some(6.0));
        assert_eq!(goals[0].met, Some(true));
        assert_eq!(goals[1].kmirror, Some(10.0));
        assert_eq!(goals[1].baseline, Some(200.0));
        assert_eq!(goals[1].ratio, Some(0.05));
        assert_eq!(goals[1].met, Some(true));
    }
}
