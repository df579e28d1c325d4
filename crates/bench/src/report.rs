//! The comparison's results: every run, per-scenario means, the goals of
//! issue 4 as ratios, and the machine they were measured on; written as a
//! Markdown table and a JSON file.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context as _, Result};
use serde::Serialize;

use crate::compare::{Ceiling, CompareOptions, Measurement, Scenario};
use crate::replicator::ReplicatorKind;

mod exactly_once;
mod latency_brokers;
mod scale;

/// Where and with what the numbers were measured.
#[derive(Debug, Clone, Serialize)]
pub struct Machine {
    pub cpus: usize,
    pub cpu_model: String,
    pub memory_gib: f64,
    pub kernel: String,
    pub java: String,
    pub kafka_version: String,
    pub git_commit: String,
}

impl Machine {
    pub fn detect() -> Self {
        let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
        let meminfo = std::fs::read_to_string("/proc/meminfo").unwrap_or_default();
        let memory_kib: f64 = meminfo
            .lines()
            .find_map(|l| l.strip_prefix("MemTotal:"))
            .and_then(|v| v.split_whitespace().next())
            .and_then(|v| v.parse().ok())
            .unwrap_or(0.0);
        let java = Command::new("java")
            .arg("-version")
            .output()
            .map(|o| {
                String::from_utf8_lossy(&o.stderr)
                    .lines()
                    .next()
                    .unwrap_or_default()
                    .to_string()
            })
            .unwrap_or_default();
        let git_commit = Command::new("git")
            .args(["rev-parse", "--short", "HEAD"])
            .current_dir(kmirror_testbed::repo_root())
            .output()
            .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
            .unwrap_or_default();
        Machine {
            cpus: std::thread::available_parallelism().map_or(0, |n| n.get()),
            cpu_model: cpuinfo
                .lines()
                .find_map(|l| l.strip_prefix("model name"))
                .map(|v| v.trim_start_matches([' ', '\t', ':']).to_string())
                .unwrap_or_default(),
            memory_gib: memory_kib / (1024.0 * 1024.0),
            kernel: std::fs::read_to_string("/proc/sys/kernel/osrelease")
                .unwrap_or_default()
                .trim()
                .to_string(),
            java,
            kafka_version: kmirror_testbed::kafka_version(),
            git_commit,
        }
    }
}

/// Means over the rounds of one replicator in one scenario.
#[derive(Debug, Clone, Serialize)]
pub struct Summary {
    pub scenario: String,
    pub replicator: ReplicatorKind,
    pub runs: usize,
    pub complete_runs: usize,
    pub mb_per_s: Option<f64>,
    pub done_s: Option<f64>,
    pub first_record_s: Option<f64>,
    pub cpu_s: Option<f64>,
    pub cpu_s_per_gb: Option<f64>,
    pub total_cpu_s_per_gb: Option<f64>,
    pub peak_rss_mib: Option<f64>,
    pub broker_cpu_s: Option<f64>,
    pub other_cpu_s: Option<f64>,
    pub replicated_records: Option<f64>,
    pub latency_p50_ms: Option<f64>,
    pub latency_p99_ms: Option<f64>,
    /// The largest of the rounds' maxima.
    pub latency_max_ms: Option<f64>,
    /// The same records read on the source directly.
    pub source_latency_p50_ms: Option<f64>,
    pub source_latency_p99_ms: Option<f64>,
}

/// One goal of issue 4, as measured.
#[derive(Debug, Clone, Serialize)]
pub struct Goal {
    pub goal: String,
    pub target: String,
    pub kmirror: Option<f64>,
    /// What kmirror is compared with (MM2 tuned, MM2 default, the ceiling).
    pub baseline: Option<f64>,
    pub baseline_name: String,
    pub ratio: Option<f64>,
    pub met: Option<bool>,
}

/// Everything one comparison produced.
#[derive(Debug, Clone, Serialize)]
pub struct Report {
    pub machine: Machine,
    pub options: CompareOptions,
    pub elapsed_s: f64,
    pub ceiling: Option<Ceiling>,
    pub goals: Vec<Goal>,
    pub summary: Vec<Summary>,
    pub measurements: Vec<Measurement>,
    /// The workers scenario's own results (issue 10).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub workers: Option<crate::compare::WorkersResults>,
}

fn mean(values: impl Iterator<Item = f64>) -> Option<f64> {
    let values: Vec<f64> = values.filter(|v| v.is_finite()).collect();
    (!values.is_empty()).then(|| values.iter().sum::<f64>() / values.len() as f64)
}

impl Report {
    pub fn new(
        options: &CompareOptions,
        ceiling: Option<Ceiling>,
        measurements: Vec<Measurement>,
    ) -> Self {
        let summary = summarize(&measurements);
        let mut goals = goals(&summary, ceiling.as_ref());
        goals.extend(scale::goals(&measurements));
        Report {
            machine: Machine::detect(),
            options: options.clone(),
            elapsed_s: 0.0,
            ceiling,
            goals,
            summary,
            measurements,
            workers: None,
        }
    }

    fn find(&self, scenario: &str, kind: ReplicatorKind) -> Option<&Summary> {
        self.summary
            .iter()
            .find(|s| s.scenario == scenario && s.replicator == kind)
    }

    /// The Markdown tables.
    pub fn to_markdown(&self) -> String {
        let mut md = String::new();
        let m = &self.machine;
        let o = &self.options;
        let w = &mut md;
        let title = if o.scenarios == [Scenario::Workers] {
            "kmirror with several worker processes"
        } else {
            "kmirror vs MirrorMaker 2"
        };
        let _ = writeln!(
            w,
            "# {title}: {} run\n",
            if o.quick { "quick" } else { "full" }
        );
        let _ = writeln!(
            w,
            "Machine: {} CPUs ({}), {:.0} GiB RAM, Linux {}; {}; Apache Kafka {} (brokers, \
             MM2 and perf tools from the same jars); kmirror at commit {}. \
             Took {:.1} min.\n",
            m.cpus,
            m.cpu_model,
            m.memory_gib,
            m.kernel,
            m.java,
            m.kafka_version,
            m.git_commit,
            self.elapsed_s / 60.0
        );
        let wants = |s: Scenario| o.scenarios.contains(&s);
        let mut settings = format!(
            "Settings: {} partitions, {} B records, catch-up {:.0} MiB for the first codec and \
             {:.0} MiB for the others, {} round(s) alternating {}",
            o.partitions,
            o.record_size,
            o.catchup_bytes as f64 / (1 << 20) as f64,
            o.catchup_other_bytes as f64 / (1 << 20) as f64,
            o.rounds,
            o.replicators
                .iter()
                .map(|r| r.label())
                .collect::<Vec<_>>()
                .join(", "),
        );
        if wants(Scenario::SaslSsl) {
            settings.push_str(" (and kmirror over PLAINTEXT in the SASL_SSL scenario)");
        }
        if wants(Scenario::Latency) {
            let _ = write!(
                settings,
                "; latency at {} records/s for {} s (first {} s left out)",
                o.latency_rate, o.latency_seconds, o.latency_warmup_seconds
            );
        }
        if wants(Scenario::LatencyBrokers) {
            let rates: Vec<String> = o.brokers_latency_rates.iter().map(u32::to_string).collect();
            let _ = write!(
                settings,
                "; three-broker latency at {} records/s for {} s each (first {} s left out)",
                rates.join(" and "),
                o.latency_seconds,
                o.latency_warmup_seconds
            );
        }
        if wants(Scenario::FarRegion) {
            let _ = write!(
                settings,
                "; far region {} ms RTT, cap {:.0} Mbit/s, {:.0} MiB per topic, {} s window",
                o.far_round_trip.as_millis(),
                o.far_bandwidth as f64 * 8.0 / 1e6,
                o.far_bytes as f64 / (1 << 20) as f64,
                o.far_window.as_secs(),
            );
        }
        let _ = writeln!(
            w,
            "{settings}; kmirror gets the {} properties file.\n",
            match o.kmirror_config {
                crate::compare::KmirrorConfig::Default => "default (MM2 default's)",
                crate::compare::KmirrorConfig::Tuned => "tuned (MM2 tuned's)",
            }
        );

        write_goals(
            w,
            "## Goals (kmirror / baseline, same run)",
            "kmirror",
            &self.goals,
        );

        if let Some(c) = &self.ceiling {
            let producers = c
                .producer_rates
                .iter()
                .map(|(codec, rate)| format!("{rate:.0} MB/s with {codec}"))
                .collect::<Vec<_>>()
                .join(", ");
            let _ = writeln!(
                w,
                "## Broker ceiling\n\nKafka's perf tools, {} records of the {} data, alone on the \
                 machine: ProducerPerformance into the target {producers}; ConsumerPerformance \
                 from the source {:.0} MB/s (payload MB/s). A replicator does both at once, so \
                 the ceiling is the slower of the best producer and the consumer, {:.0} MB/s. \
                 On two cores a single Java producer is limited by its own CPU (compressing, \
                 batching), so this understates what the brokers alone can take.\n",
                c.records,
                c.compression,
                c.consumer_mb_per_s,
                c.mb_per_s()
            );
        }

        let scenarios = self.scenario_names();
        let catch_up: Vec<&String> = scenarios
            .iter()
            .filter(|s| s.starts_with("catch-up"))
            .collect();
        if !catch_up.is_empty() {
            let _ = writeln!(w, "## Catch-up\n");
            let _ = writeln!(
                w,
                "MB/s and CPU per GB over the copy (first to last record on the target); \
                 'to all' counts from process start.\n"
            );
            let _ = writeln!(
                w,
                "| data | replicator | MB/s | to first s | to all s | CPU s/GB copy | CPU s/GB total | peak RSS MiB | broker CPU s | other CPU s | complete |"
            );
            let _ = writeln!(w, "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|:---:|");
            for scenario in &catch_up {
                for kind in &o.replicators {
                    if let Some(s) = self.find(scenario, *kind) {
                        let _ = writeln!(
                            w,
                            "| {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {}/{} |",
                            scenario.trim_start_matches("catch-up/"),
                            kind.label(),
                            num(s.mb_per_s),
                            num(s.first_record_s),
                            num(s.done_s),
                            num(s.cpu_s_per_gb),
                            num(s.total_cpu_s_per_gb),
                            num(s.peak_rss_mib),
                            num(s.broker_cpu_s),
                            num(s.other_cpu_s),
                            s.complete_runs,
                            s.runs
                        );
                    }
                }
            }
            let _ = writeln!(w);
        }

        if scenarios.iter().any(|s| s == "latency") {
            let _ = writeln!(w, "## Steady latency\n");
            let _ = writeln!(
                w,
                "Producer timestamp to consumption on the target. 'source p50/p99': the same \
                 records read on the source cluster in the same run, the floor no replicator \
                 can go under.\n"
            );
            let _ = writeln!(
                w,
                "| replicator | p50 ms | p99 ms | max ms | source p50 / p99 ms | CPU s | peak RSS MiB | other CPU s | complete |"
            );
            let _ = writeln!(w, "|---|---:|---:|---:|---:|---:|---:|---:|:---:|");
            for kind in &o.replicators {
                if let Some(s) = self.find("latency", *kind) {
                    let _ = writeln!(
                        w,
                        "| {} | {} | {} | {} | {} / {} | {} | {} | {} | {}/{} |",
                        kind.label(),
                        num(s.latency_p50_ms),
                        num(s.latency_p99_ms),
                        num(s.latency_max_ms),
                        num(s.source_latency_p50_ms),
                        num(s.source_latency_p99_ms),
                        num(s.cpu_s),
                        num(s.peak_rss_mib),
                        num(s.other_cpu_s),
                        s.complete_runs,
                        s.runs
                    );
                }
            }
            let _ = writeln!(w);
        }

        latency_brokers::write_section(self, w);
        scale::write_section(self, w);
        exactly_once::write_section(self, w);

        if scenarios.iter().any(|s| s == "start-up") {
            let _ = writeln!(w, "## Start-up\n");
            let _ = writeln!(
                w,
                "| replicator | process start to first record s | CPU s | peak RSS MiB |"
            );
            let _ = writeln!(w, "|---|---:|---:|---:|");
            for kind in &o.replicators {
                if let Some(s) = self.find("start-up", *kind) {
                    let _ = writeln!(
                        w,
                        "| {} | {} | {} | {} |",
                        kind.label(),
                        num(s.first_record_s),
                        num(s.cpu_s),
                        num(s.peak_rss_mib)
                    );
                }
            }
            let _ = writeln!(w);
        }

        let far: Vec<&String> = scenarios
            .iter()
            .filter(|s| s.starts_with("far-region"))
            .collect();
        if !far.is_empty() {
            let _ = writeln!(w, "## Far region\n");
            let _ = writeln!(
                w,
                "Target behind the delaying proxy; MB/s from the first record until all \
                 arrived or the window closed.\n"
            );
            let _ = writeln!(
                w,
                "| link | replicator | MB/s | records on target | to first s | CPU s/GB copy | peak RSS MiB |"
            );
            let _ = writeln!(w, "|---|---|---:|---:|---:|---:|---:|");
            for scenario in &far {
                for kind in &o.replicators {
                    if let Some(s) = self.find(scenario, *kind) {
                        let _ = writeln!(
                            w,
                            "| {} | {} | {} | {} | {} | {} | {} |",
                            scenario.trim_start_matches("far-region/"),
                            kind.label(),
                            num(s.mb_per_s),
                            num(s.replicated_records),
                            num(s.first_record_s),
                            num(s.cpu_s_per_gb),
                            num(s.peak_rss_mib)
                        );
                    }
                }
            }
            let _ = writeln!(w);
        }

        self.sasl_ssl_markdown(w);
        if let Some(workers) = &self.workers {
            workers.write_markdown(w);
        }
        if self.measurements.is_empty() {
            return md;
        }

        let _ = writeln!(w, "## Every run\n");
        let _ = writeln!(w, "| scenario | replicator | round | result |");
        let _ = writeln!(w, "|---|---|---:|---|");
        for m in &self.measurements {
            let _ = writeln!(
                w,
                "| {} | {} | {} | {} |",
                m.scenario,
                m.replicator.label(),
                m.round,
                one_line(m).replace('|', "/")
            );
        }
        md
    }

    /// The SASL_SSL scenario's table: each codec over SASL_SSL (kmirror,
    /// MM2) and over PLAINTEXT (kmirror), from the same run.
    fn sasl_ssl_markdown(&self, w: &mut String) {
        let scenarios: Vec<String> = self
            .scenario_names()
            .into_iter()
            .filter(|s| s.starts_with("sasl-ssl/"))
            .collect();
        if scenarios.is_empty() {
            return;
        }
        let _ = writeln!(w, "## Catch-up over SASL_SSL\n");
        let _ = writeln!(
            w,
            "SCRAM-SHA-512 and TLS on both clusters, the same data copied over PLAINTEXT by \
             kmirror on the same clusters in the same rounds. MB/s and CPU per GB over the \
             copy (first to last record on the target).\n"
        );
        let _ = writeln!(
            w,
            "| data | listener | replicator | MB/s | to first s | to all s | CPU s/GB copy | CPU s/GB total | peak RSS MiB | broker CPU s | complete |"
        );
        let _ = writeln!(w, "|---|---|---|---:|---:|---:|---:|---:|---:|---:|:---:|");
        for scenario in &scenarios {
            let rest = scenario.trim_start_matches("sasl-ssl/");
            let (codec, listener) = match rest.strip_suffix("/plaintext") {
                Some(codec) => (codec, "PLAINTEXT"),
                None => (rest, "SASL_SSL"),
            };
            for kind in ReplicatorKind::ALL {
                if let Some(s) = self.find(scenario, kind) {
                    let _ = writeln!(
                        w,
                        "| {codec} | {listener} | {} | {} | {} | {} | {} | {} | {} | {} | {}/{} |",
                        kind.label(),
                        num(s.mb_per_s),
                        num(s.first_record_s),
                        num(s.done_s),
                        num(s.cpu_s_per_gb),
                        num(s.total_cpu_s_per_gb),
                        num(s.peak_rss_mib),
                        num(s.broker_cpu_s),
                        s.complete_runs,
                        s.runs
                    );
                }
            }
        }
        let _ = writeln!(w);
    }

    fn scenario_names(&self) -> Vec<String> {
        let mut names: Vec<String> = Vec::new();
        for m in &self.measurements {
            if !names.contains(&m.scenario) {
                names.push(m.scenario.clone());
            }
        }
        names
    }
}

fn summarize(measurements: &[Measurement]) -> Vec<Summary> {
    let mut groups: BTreeMap<(usize, ReplicatorKind), Vec<&Measurement>> = BTreeMap::new();
    let mut order: Vec<String> = Vec::new();
    for m in measurements {
        let index = match order.iter().position(|s| *s == m.scenario) {
            Some(i) => i,
            None => {
                order.push(m.scenario.clone());
                order.len() - 1
            }
        };
        groups.entry((index, m.replicator)).or_default().push(m);
    }
    groups
        .into_iter()
        .map(|((index, replicator), runs)| {
            let ok: Vec<&&Measurement> = runs.iter().filter(|m| m.error.is_none()).collect();
            Summary {
                scenario: order[index].clone(),
                replicator,
                runs: runs.len(),
                complete_runs: runs.iter().filter(|m| m.complete).count(),
                mb_per_s: mean(ok.iter().filter_map(|m| m.mb_per_s)),
                done_s: mean(ok.iter().filter_map(|m| m.done_s)),
                first_record_s: mean(ok.iter().filter_map(|m| m.first_record_s)),
                cpu_s: mean(ok.iter().map(|m| m.cpu_s)),
                cpu_s_per_gb: mean(ok.iter().filter_map(|m| m.cpu_s_per_gb)),
                total_cpu_s_per_gb: mean(ok.iter().filter_map(|m| m.total_cpu_s_per_gb)),
                peak_rss_mib: mean(ok.iter().map(|m| m.peak_rss_mib)),
                broker_cpu_s: mean(ok.iter().map(|m| m.broker_cpu_s)),
                other_cpu_s: mean(ok.iter().map(|m| m.other_cpu_s)),
                replicated_records: mean(ok.iter().map(|m| m.replicated_records as f64)),
                latency_p50_ms: mean(ok.iter().filter_map(|m| m.latency.map(|l| l.p50_ms))),
                latency_p99_ms: mean(ok.iter().filter_map(|m| m.latency.map(|l| l.p99_ms))),
                latency_max_ms: ok
                    .iter()
                    .filter_map(|m| m.latency.map(|l| l.max_ms))
                    .reduce(f64::max),
                source_latency_p50_ms: mean(
                    ok.iter().filter_map(|m| m.source_latency.map(|l| l.p50_ms)),
                ),
                source_latency_p99_ms: mean(
                    ok.iter().filter_map(|m| m.source_latency.map(|l| l.p99_ms)),
                ),
            }
        })
        .collect()
}

fn goals(summary: &[Summary], ceiling: Option<&Ceiling>) -> Vec<Goal> {
    let get = |scenario: &str, kind: ReplicatorKind, f: fn(&Summary) -> Option<f64>| {
        summary
            .iter()
            .find(|s| s.scenario == scenario && s.replicator == kind)
            .and_then(f)
    };
    let mut goals = Vec::new();
    let mut compare = |goal: String,
                       target: &str,
                       kmirror: Option<f64>,
                       baseline: Option<f64>,
                       baseline_name: &str,
                       met: fn(f64) -> bool| {
        let ratio = match (kmirror, baseline) {
            (Some(k), Some(b)) if b > 0.0 => Some(k / b),
            _ => None,
        };
        goals.push(Goal {
            goal,
            target: target.to_string(),
            kmirror,
            baseline,
            baseline_name: baseline_name.to_string(),
            ratio,
            met: ratio.map(met),
        });
    };
    let mut scenarios: Vec<&str> = Vec::new();
    for s in summary {
        if !scenarios.contains(&s.scenario.as_str()) {
            scenarios.push(&s.scenario);
        }
    }
    use ReplicatorKind::{Kmirror, Mm2Default, Mm2Tuned};
    for scenario in scenarios.iter().filter(|s| s.starts_with("catch-up/")) {
        let codec = scenario.trim_start_matches("catch-up/");
        compare(
            format!("CPU s per GB, catch-up {codec}"),
            "≤ 0.10",
            get(scenario, Kmirror, |s| s.cpu_s_per_gb),
            get(scenario, Mm2Tuned, |s| s.cpu_s_per_gb),
            "MM2 tuned",
            |r| r <= 0.10,
        );
        compare(
            format!("catch-up MB/s, {codec}"),
            "≥ 3",
            get(scenario, Kmirror, |s| s.mb_per_s),
            get(scenario, Mm2Tuned, |s| s.mb_per_s),
            "MM2 tuned",
            |r| r >= 3.0,
        );
        if let Some(c) = ceiling.filter(|c| c.compression == codec) {
            compare(
                format!("catch-up MB/s vs broker ceiling, {codec}"),
                "≥ 0.5",
                get(scenario, Kmirror, |s| s.mb_per_s),
                Some(c.mb_per_s()),
                "ceiling",
                |r| r >= 0.5,
            );
        }
    }
    // Issue 9: what TLS and SASL cost, against MM2 over the same listeners
    // and against kmirror's own PLAINTEXT runs of the same data.
    for scenario in scenarios
        .iter()
        .filter(|s| s.starts_with("sasl-ssl/") && !s.ends_with("/plaintext"))
    {
        let codec = scenario.trim_start_matches("sasl-ssl/");
        let tls = get(scenario, Kmirror, |s| s.cpu_s_per_gb);
        compare(
            format!("CPU s per GB, SASL_SSL catch-up {codec}"),
            "≤ 0.10",
            tls,
            get(scenario, Mm2Tuned, |s| s.cpu_s_per_gb),
            "MM2 tuned SASL_SSL",
            |r| r <= 0.10,
        );
        compare(
            format!("CPU s per GB, SASL_SSL vs PLAINTEXT {codec}"),
            "≤ 1.5",
            tls,
            get(&format!("{scenario}/plaintext"), Kmirror, |s| {
                s.cpu_s_per_gb
            }),
            "kmirror PLAINTEXT",
            |r| r <= 1.5,
        );
    }
    if scenarios.contains(&"latency") {
        compare(
            "p99 latency at steady load".into(),
            "≤ 0.20",
            get("latency", Kmirror, |s| s.latency_p99_ms),
            get("latency", Mm2Tuned, |s| s.latency_p99_ms),
            "MM2 tuned",
            |r| r <= 0.20,
        );
    }
    // Peak RSS: the worst ratio over the scenarios.
    let worst_rss = scenarios
        .iter()
        .filter_map(|s| {
            let k = get(s, Kmirror, |s| s.peak_rss_mib)?;
            let b = get(s, Mm2Tuned, |s| s.peak_rss_mib)?;
            (b > 0.0).then_some((k / b, k, b, *s))
        })
        .max_by(|x, y| x.0.total_cmp(&y.0));
    if let Some((_, k, b, scenario)) = worst_rss {
        compare(
            format!("peak RSS MiB (worst scenario: {scenario})"),
            "≤ 0.10",
            Some(k),
            Some(b),
            "MM2 tuned",
            |r| r <= 0.10,
        );
    }
    let start_up = scenarios.contains(&"start-up").then(|| {
        let k = get("start-up", Kmirror, |s| s.first_record_s);
        Goal {
            goal: "start-up to first record, s".into(),
            target: "< 1 s".into(),
            kmirror: k,
            baseline: get("start-up", Mm2Tuned, |s| s.first_record_s),
            baseline_name: "MM2 tuned".into(),
            ratio: None,
            met: k.map(|k| k < 1.0),
        }
    });
    for scenario in scenarios
        .iter()
        .filter(|s| s.starts_with("far-region/1p/") && s.matches('/').count() == 2)
    {
        compare(
            format!(
                "far region MB/s, {}",
                scenario.trim_start_matches("far-region/")
            ),
            "≥ 10",
            get(scenario, Kmirror, |s| s.mb_per_s),
            get(scenario, Mm2Default, |s| s.mb_per_s),
            "MM2 default",
            |r| r >= 10.0,
        );
    }
    goals.extend(start_up);
    goals.extend(latency_brokers::goals(&scenarios, get));
    goals.extend(exactly_once::goals(&scenarios, get));
    goals
}

/// The goals table under `heading` (nothing without goals); the measured
/// column is headed `measured`.
pub(crate) fn write_goals(w: &mut String, heading: &str, measured: &str, goals: &[Goal]) {
    if goals.is_empty() {
        return;
    }
    let _ = writeln!(w, "{heading}\n");
    let _ = writeln!(w, "| goal | target | {measured} | baseline | ratio | met |");
    let _ = writeln!(w, "|---|---|---:|---:|---:|:---:|");
    for g in goals {
        let _ = writeln!(
            w,
            "| {} | {} | {} | {} {} | {} | {} |",
            g.goal,
            g.target,
            num(g.kmirror),
            num(g.baseline),
            g.baseline_name,
            ratio(g.ratio),
            match g.met {
                Some(true) => "yes",
                Some(false) => "**no**",
                None => "n/a",
            }
        );
    }
    let _ = writeln!(w);
}

pub(crate) fn num(value: Option<f64>) -> String {
    match value {
        None => "–".into(),
        Some(v) if v.abs() >= 100.0 => format!("{v:.0}"),
        Some(v) if v.abs() >= 10.0 => format!("{v:.1}"),
        Some(v) => format!("{v:.2}"),
    }
}

fn ratio(value: Option<f64>) -> String {
    match value {
        None => "–".into(),
        Some(v) if v >= 10.0 => format!("{v:.0}×"),
        Some(v) if v >= 0.1 => format!("{v:.2}×"),
        Some(v) => format!("{v:.3}×"),
    }
}

/// A run in one line, for the log and the table of every run.
pub fn one_line(m: &Measurement) -> String {
    let mut line = format!(
        "{}/{} records{}",
        m.replicated_records,
        m.expected_records,
        if m.complete { "" } else { " (incomplete)" }
    );
    if let Some(v) = m.first_record_s {
        let _ = write!(line, ", first {v:.2} s");
    }
    if let Some(v) = m.done_s {
        let _ = write!(line, ", all {v:.1} s");
    }
    if let Some(v) = m.mb_per_s {
        let _ = write!(line, ", {v:.1} MB/s");
    }
    if let Some(v) = m.cpu_s_per_gb {
        let _ = write!(line, ", {v:.2} CPU s/GB");
    }
    if let Some(l) = &m.latency {
        let _ = write!(
            line,
            ", latency p50 {:.0} p99 {:.0} max {:.0} ms",
            l.p50_ms, l.p99_ms, l.max_ms
        );
    }
    if let Some(l) = &m.source_latency {
        let _ = write!(line, " (on source p50 {:.0} p99 {:.0})", l.p50_ms, l.p99_ms);
    }
    let _ = write!(
        line,
        ", CPU {:.1} s, peak RSS {:.0} MiB, brokers {:.1} s, other {:.1} s",
        m.cpu_s, m.peak_rss_mib, m.broker_cpu_s, m.other_cpu_s
    );
    if let Some(e) = &m.error {
        if !e.is_empty() {
            let first = e.lines().next().unwrap_or_default();
            let _ = write!(line, "; error: {first}");
        }
    }
    line
}

/// Writes `results.md` and `results.json` (`results-quick.*` for a quick
/// run, `results-sasl-ssl*` for the SASL_SSL scenario alone,
/// `results-workers*` for the workers scenario alone) into `out`; returns
/// their paths.
pub fn write(report: &Report, out: &Path, quick: bool) -> Result<(PathBuf, PathBuf)> {
    std::fs::create_dir_all(out).with_context(|| format!("cannot create {}", out.display()))?;
    // The SASL_SSL scenario alone keeps its own files, next to the full
    // run's.
    let alone = match report.options.scenarios.as_slice() {
        [Scenario::SaslSsl] => "-sasl-ssl",
        [Scenario::Workers] => "-workers",
        [Scenario::LatencyBrokers] => "-latency-3b",
        [Scenario::Scale] => "-scale",
        [Scenario::ExactlyOnce] => "-exactly-once",
        _ => "",
    };
    let stem = format!("results{alone}{}", if quick { "-quick" } else { "" });
    let md = out.join(format!("{stem}.md"));
    let json = out.join(format!("{stem}.json"));
    std::fs::write(&md, report.to_markdown())
        .with_context(|| format!("cannot write {}", md.display()))?;
    std::fs::write(&json, serde_json::to_string_pretty(report)?)
        .with_context(|| format!("cannot write {}", json.display()))?;
    Ok((md, json))
}
