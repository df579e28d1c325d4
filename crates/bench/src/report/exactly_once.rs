//! The exactly-once scenario's tables and goals (issue 13): catch-up and
//! latency of each replicator with and without exactly-once, from the same
//! rounds.

use std::fmt::Write as _;

use super::{num, Goal, Report, Summary};
use crate::compare::exactly_once::SCENARIO_PREFIX;
use crate::replicator::ReplicatorKind;

/// kmirror exactly-once's catch-up MB/s over its own without it.
const OWN_THROUGHPUT_GOAL: f64 = 0.80;
/// kmirror exactly-once's catch-up MB/s over MM2 tuned exactly-once's.
const MM2_THROUGHPUT_GOAL: f64 = 3.0;

fn mode_label(mode: &str) -> &str {
    match mode {
        "eos" => "exactly-once",
        other => other,
    }
}

/// The catch-up scenarios' codecs, in the order they ran.
fn catch_up_codecs(scenarios: &[&str]) -> Vec<String> {
    let mut codecs: Vec<String> = Vec::new();
    for s in scenarios {
        let Some(rest) = s.strip_prefix(SCENARIO_PREFIX) else {
            continue;
        };
        if let Some(codec) = rest
            .strip_prefix("catch-up/")
            .and_then(|r| r.split('/').next())
        {
            if !codecs.iter().any(|c| c == codec) {
                codecs.push(codec.to_string());
            }
        }
    }
    codecs
}

fn overhead(target: Option<f64>, source: Option<f64>) -> Option<f64> {
    Some(target? - source?)
}

pub(super) fn write_section(report: &Report, w: &mut String) {
    let scenarios: Vec<&str> = report.summary.iter().map(|s| s.scenario.as_str()).collect();
    if !scenarios.iter().any(|s| s.starts_with(SCENARIO_PREFIX)) {
        return;
    }
    let _ = writeln!(w, "## Exactly-once\n");
    let _ = writeln!(
        w,
        "`exactly.once.source.support = enabled` (MM2 also with its internal REST server). \
         The target is read in read_committed and counted up to its last stable offsets; \
         commit markers take offsets too, so \"records\" exceeds the source's count by the \
         markers below the last stable offset (one per partition per committed transaction), \
         and the copy is timed up to that many records early.\n"
    );
    for codec in catch_up_codecs(&scenarios) {
        let _ = writeln!(w, "### Catch-up, {codec}\n");
        let _ = writeln!(
            w,
            "| mode | replicator | MB/s | to first s | to all s | CPU s/GB copy | CPU s/GB total | peak RSS MiB | records (with markers) | broker CPU s | other CPU s | complete |"
        );
        let _ = writeln!(
            w,
            "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|:---:|"
        );
        for mode in ["idempotent", "eos"] {
            let scenario = format!("{SCENARIO_PREFIX}catch-up/{codec}/{mode}");
            for kind in ReplicatorKind::ALL {
                let Some(s) = report.find(&scenario, kind) else {
                    continue;
                };
                let _ = writeln!(
                    w,
                    "| {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {}/{} |",
                    mode_label(mode),
                    kind.label(),
                    num(s.mb_per_s),
                    num(s.first_record_s),
                    num(s.done_s),
                    num(s.cpu_s_per_gb),
                    num(s.total_cpu_s_per_gb),
                    num(s.peak_rss_mib),
                    num(s.replicated_records),
                    num(s.broker_cpu_s),
                    num(s.other_cpu_s),
                    s.complete_runs,
                    s.runs
                );
            }
        }
        let _ = writeln!(w);
    }
    if scenarios
        .iter()
        .any(|s| s.starts_with(&format!("{SCENARIO_PREFIX}latency/")))
    {
        let o = &report.options;
        let _ = writeln!(w, "### Latency at {} records/s\n", o.latency_rate);
        let _ = writeln!(
            w,
            "{} s per run, the first {} s left out; producer timestamp to consumption, on the \
             source (the floor) and on the target (read_committed) in the same run. Overhead: \
             the target's percentile minus the source's.\n",
            o.latency_seconds, o.latency_warmup_seconds
        );
        let _ = writeln!(
            w,
            "| mode | replicator | p50 overhead ms | p99 overhead ms | p50 / p99 / max ms | source p50 / p99 ms | CPU s | complete |"
        );
        let _ = writeln!(w, "|---|---|---:|---:|---:|---:|---:|:---:|");
        for mode in ["idempotent", "eos"] {
            let scenario = format!("{SCENARIO_PREFIX}latency/{mode}");
            for kind in ReplicatorKind::ALL {
                let Some(s) = report.find(&scenario, kind) else {
                    continue;
                };
                let _ = writeln!(
                    w,
                    "| {} | {} | {} | {} | {} / {} / {} | {} / {} | {} | {}/{} |",
                    mode_label(mode),
                    kind.label(),
                    num(overhead(s.latency_p50_ms, s.source_latency_p50_ms)),
                    num(overhead(s.latency_p99_ms, s.source_latency_p99_ms)),
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
}

/// Issue 13's two throughput goals, per catch-up codec.
pub(super) fn goals(
    scenarios: &[&str],
    get: impl Fn(&str, ReplicatorKind, fn(&Summary) -> Option<f64>) -> Option<f64>,
) -> Vec<Goal> {
    let mut goals = Vec::new();
    for codec in catch_up_codecs(scenarios) {
        let eos = format!("{SCENARIO_PREFIX}catch-up/{codec}/eos");
        let idempotent = format!("{SCENARIO_PREFIX}catch-up/{codec}/idempotent");
        let kmirror = get(&eos, ReplicatorKind::Kmirror, |s| s.mb_per_s);
        let mut push = |goal: String, baseline, baseline_name: &str, target: f64| {
            let ratio = match (kmirror, baseline) {
                (Some(k), Some(b)) if b > 0.0 => Some(k / b),
                _ => None,
            };
            goals.push(Goal {
                goal,
                target: format!("≥ {target}"),
                kmirror,
                baseline,
                baseline_name: baseline_name.to_string(),
                ratio,
                met: ratio.map(|r| r >= target),
            });
        };
        push(
            format!("catch-up MB/s exactly-once vs kmirror idempotent, {codec}"),
            get(&idempotent, ReplicatorKind::Kmirror, |s| s.mb_per_s),
            "kmirror idempotent",
            OWN_THROUGHPUT_GOAL,
        );
        push(
            format!("catch-up MB/s exactly-once vs MM2 tuned exactly-once, {codec}"),
            get(&eos, ReplicatorKind::Mm2Tuned, |s| s.mb_per_s),
            "MM2 tuned exactly-once",
            MM2_THROUGHPUT_GOAL,
        );
    }
    goals
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codecs_come_from_catch_up_scenarios_only() {
        let scenarios = [
            "exactly-once/catch-up/lz4/idempotent",
            "exactly-once/catch-up/lz4/eos",
            "exactly-once/latency/eos",
            "catch-up/zstd",
        ];
        assert_eq!(catch_up_codecs(&scenarios), ["lz4"]);
    }
}
