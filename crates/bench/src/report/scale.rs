//! The scale scenario's table and goals (issue 12): 10,000 partitions on one
//! flow, every run listed.

use std::fmt::Write as _;

use super::{mean, num, Goal, Report};
use crate::compare::scale::{ScaleStats, SCENARIO};
use crate::compare::Measurement;
use crate::replicator::ReplicatorKind;

/// Seconds from start until every partition replicates.
const ALL_REPLICATING_GOAL_S: f64 = 10.0;
/// CPU at rest, % of one core.
const IDLE_CPU_GOAL_PCT: f64 = 2.0;
/// Resident memory at rest, MiB.
const RSS_GOAL_MIB: f64 = 200.0;

/// One figure of a scale run.
type Figure = fn(&ScaleStats) -> Option<f64>;

fn runs(measurements: &[Measurement]) -> impl Iterator<Item = (&Measurement, &ScaleStats)> {
    measurements
        .iter()
        .filter(|m| m.scenario == SCENARIO)
        .filter_map(|m| Some((m, m.scale.as_ref()?)))
}

pub(super) fn write_section(report: &Report, w: &mut String) {
    if runs(&report.measurements).next().is_none() {
        return;
    }
    let size = report.options.scale;
    let _ = writeln!(
        w,
        "## Scale: {} partitions on one flow\n",
        size.partitions()
    );
    let _ = writeln!(
        w,
        "{} topics of {} partitions, one record in each before the replicator starts; \
         'all replicating': process start until every partition's record is on the target. \
         Then {} s at rest with one record per second on each of {} topics: the \
         replicator's CPU (% of one core), resident memory, and bytes it sent and received per \
         second over TCP (requests, and their answers, to both clusters). Then a restart: \
         the replicator stopped, one more record in every source partition, a new process on \
         the same file and state folder; 'after restart': its start until every partition's new \
         record is on the target (the remote topics exist by then). 'broker floor': how long the \
         source broker took to create the same partitions and take one record in each from a \
         Java producer before any replicator ran; a fresh target broker does that work for the \
         remote topics inside 'all replicating'. MM2 tuned runs {} tasks.\n",
        size.topics,
        size.partitions_per_topic,
        size.idle_seconds,
        size.trickle_topics,
        crate::compare::scale::MM2_TASKS,
    );
    let _ = writeln!(
        w,
        "| replicator | round | broker floor s | half replicating s | all replicating s | after restart s | idle CPU % | RSS MiB | KiB per partition | sent KB/s | received KB/s | peak RSS MiB | duplicates | complete |"
    );
    let _ = writeln!(
        w,
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|:---:|"
    );
    for (m, s) in runs(&report.measurements) {
        let kb = |v: Option<f64>| num(v.map(|b| b / 1000.0));
        let _ = writeln!(
            w,
            "| {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} |",
            m.replicator.label(),
            m.round,
            num(s.broker_floor_s),
            num(s.half_replicating_s),
            num(s.all_replicating_s),
            num(s.restart_all_replicating_s),
            num(s.idle_cpu_pct),
            num(s.idle_rss_mib),
            num(s.rss_per_partition_kib()),
            kb(s.idle_sent_bytes_per_s),
            kb(s.idle_received_bytes_per_s),
            num(Some(m.peak_rss_mib)),
            s.duplicate_records,
            if m.complete { "yes" } else { "no" },
        );
    }
    let _ = writeln!(w);
}

/// kmirror's mean over its runs against the absolute goals, MM2
/// tuned's mean beside it.
pub(super) fn goals(measurements: &[Measurement]) -> Vec<Goal> {
    let of = |kind: ReplicatorKind, figure: Figure| {
        mean(
            runs(measurements)
                .filter(|(m, _)| m.replicator == kind)
                .filter_map(|(_, s)| figure(s)),
        )
    };
    let rows: [(&str, &str, f64, Figure); 4] = [
        (
            "all partitions replicating after start, s",
            "≤ 10 s",
            ALL_REPLICATING_GOAL_S,
            |s| s.all_replicating_s,
        ),
        (
            "all partitions replicating after a restart (remote topics in place), s",
            "≤ 10 s",
            ALL_REPLICATING_GOAL_S,
            |s| s.restart_all_replicating_s,
        ),
        (
            "CPU at rest with a trickle, % of a core",
            "≤ 2 %",
            IDLE_CPU_GOAL_PCT,
            |s| s.idle_cpu_pct,
        ),
        (
            "resident memory at rest, MiB",
            "≤ 200 MiB",
            RSS_GOAL_MIB,
            |s| s.idle_rss_mib,
        ),
    ];
    if runs(measurements).next().is_none() {
        return Vec::new();
    }
    rows.into_iter()
        .map(|(goal, target, limit, figure)| {
            let k = of(ReplicatorKind::Kmirror, figure);
            let b = of(ReplicatorKind::Mm2Tuned, figure);
            Goal {
                goal: format!("scale: {goal}"),
                target: target.into(),
                kmirror: k,
                baseline: b,
                baseline_name: "MM2 tuned".into(),
                ratio: k.map(|k| k / limit),
                met: k.map(|k| k <= limit),
            }
        })
        .collect()
}
