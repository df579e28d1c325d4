//! `kmirror status`: a terminal view of a running kmirror, read from its
//! REST API (`GET /status` and `GET /api/history`).
//!
//! On a terminal it redraws in place every `--interval` until Ctrl-C; on a
//! pipe it prints one plain snapshot (or one per interval with `--watch`).
//! A flow catching up on a backlog gets a progress bar with an ETA: the
//! backlog is the largest lag since the flow was last caught up (from the
//! server's history), the ETA the lag over the rate at which it shrank in
//! the last half minute.

use std::fmt::Write as _;
use std::io::{IsTerminal as _, Write as _};
use std::time::Duration;

use clap::Args;
use serde::Deserialize;

use super::api_call::{self, ApiCallError};
use crate::rest::guard::client::RestClientArgs;
use kmirror_engine::runtime::FlowMode;

use crate::rest::status::{FlowView, InstanceView};
use crate::{EXIT_CONFIG, EXIT_FAILURE};

/// How long one request to the API may take.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(5);

#[derive(Debug, Args)]
pub struct StatusArgs {
    /// Base URL of the kmirror REST API.
    #[arg(long, env = "KMIRROR_URL", default_value = "http://127.0.0.1:8083")]
    url: String,
    /// Seconds between refreshes.
    #[arg(long, default_value_t = 2.0)]
    interval: f64,
    /// Print one snapshot and exit, even on a terminal.
    #[arg(long)]
    once: bool,
    /// Keep printing snapshots on a pipe too.
    #[arg(long)]
    watch: bool,
    /// The CA and credentials for a guarded API.
    #[command(flatten)]
    rest: RestClientArgs,
}

#[derive(Debug, Deserialize)]
struct HistoryAnswer {
    samples: Vec<SampleAnswer>,
}

/// A history sample as read back: only what the progress bar needs.
#[derive(Debug, Deserialize)]
struct SampleAnswer {
    time_ms: i64,
    flows: std::collections::BTreeMap<String, FlowSampleAnswer>,
}

#[derive(Debug, Deserialize)]
struct FlowSampleAnswer {
    lag_records: i64,
}

pub async fn status(args: StatusArgs) -> u8 {
    let tty = std::io::stdout().is_terminal();
    let repeat = !args.once && (tty || args.watch);
    let interval = Duration::from_secs_f64(args.interval.clamp(0.2, 3600.0));
    let base = match api_call::base_url(&args.url) {
        Ok(base) => base,
        Err(e) => {
            eprintln!("kmirror: {e}");
            return EXIT_CONFIG;
        }
    };
    let client = match args.rest.client(REQUEST_TIMEOUT) {
        Ok(client) => client,
        Err(e) => {
            eprintln!("kmirror: {e}");
            return EXIT_CONFIG;
        }
    };
    if tty && repeat {
        print!("\x1b[?25l");
    }
    let mut first = true;
    let code = loop {
        let text = match fetch(&client, &base).await {
            Ok((instance, history)) => render(&instance, &history, tty, terminal_width()),
            Err(e) if first || !repeat => {
                if tty && repeat {
                    print!("\x1b[?25h");
                }
                eprintln!("kmirror: {e}");
                break EXIT_FAILURE;
            }
            Err(e) => format!("{e}\n"),
        };
        first = false;
        let mut out = std::io::stdout().lock();
        if tty && repeat {
            // Home, draw, clear what the previous frame left below.
            let _ = write!(out, "\x1b[H{}\x1b[J", text.replace('\n', "\x1b[K\n"));
        } else {
            let _ = write!(out, "{text}");
            if repeat {
                let _ = writeln!(out);
            }
        }
        let _ = out.flush();
        drop(out);
        if !repeat {
            break 0;
        }
        tokio::select! {
            _ = tokio::signal::ctrl_c() => break 0,
            _ = tokio::time::sleep(interval) => {}
        }
    };
    if tty && repeat {
        println!("\x1b[?25h");
        let _ = std::io::stdout().flush();
    }
    code
}

async fn fetch(
    client: &reqwest::Client,
    base: &str,
) -> Result<(InstanceView, Vec<SampleAnswer>), ApiCallError> {
    let instance: InstanceView = get_json(client, base, "/status").await?;
    let history: HistoryAnswer = get_json(client, base, "/api/history").await?;
    Ok((instance, history.samples))
}

/// `GET base+path` as JSON.
async fn get_json<T: serde::de::DeserializeOwned>(
    client: &reqwest::Client,
    base: &str,
    path: &str,
) -> Result<T, ApiCallError> {
    let url = format!("{base}{path}");
    let response = client
        .get(&url)
        .send()
        .await
        .map_err(|e| api_call::request_failed(base, &url, REQUEST_TIMEOUT, &e))?;
    if !response.status().is_success() {
        return Err(api_call::status_failed(&url, response.status()));
    }
    response.json().await.map_err(|e| ApiCallError::Unexpected {
        url,
        reason: api_call::with_causes(&e),
    })
}

fn terminal_width() -> usize {
    std::env::var("COLUMNS")
        .ok()
        .and_then(|c| c.parse().ok())
        .filter(|&c: &usize| c >= 60)
        .unwrap_or(110)
}

fn human(n: f64) -> String {
    let abs = n.abs();
    if abs >= 1e9 {
        format!("{:.1}G", n / 1e9)
    } else if abs >= 1e6 {
        format!("{:.1}M", n / 1e6)
    } else if abs >= 1e4 {
        format!("{:.1}k", n / 1e3)
    } else if n.fract() == 0.0 || abs >= 100.0 {
        format!("{n:.0}")
    } else {
        format!("{n:.1}")
    }
}

fn bytes(n: f64) -> String {
    let units = ["B", "kB", "MB", "GB"];
    let mut value = n;
    let mut unit = 0;
    while value >= 1000.0 && unit < units.len() - 1 {
        value /= 1000.0;
        unit += 1;
    }
    if unit == 0 {
        format!("{value:.0} B")
    } else {
        format!("{value:.1} {}", units[unit])
    }
}

fn duration(seconds: f64) -> String {
    let s = seconds.max(0.0).round() as u64;
    match s {
        0..=59 => format!("{s}s"),
        60..=3599 => format!("{}m{:02}s", s / 60, s % 60),
        _ => format!("{}h{:02}m", s / 3600, (s % 3600) / 60),
    }
}

/// The catch-up of a lagging flow: the backlog since it was last caught
/// up, and how fast the lag shrank lately (records per second).
fn catch_up(flow: &FlowView, history: &[SampleAnswer]) -> Option<(i64, Option<f64>)> {
    if flow.lag_records < 100 && flow.lag_seconds < 5.0 {
        return None;
    }
    let lags: Vec<(i64, i64)> = history
        .iter()
        .filter_map(|s| s.flows.get(&flow.name).map(|f| (s.time_ms, f.lag_records)))
        .collect();
    let since_caught_up = lags
        .iter()
        .rposition(|(_, lag)| *lag == 0)
        .map_or(&lags[..], |i| &lags[i + 1..]);
    let backlog = since_caught_up
        .iter()
        .map(|(_, lag)| *lag)
        .max()
        .unwrap_or(0)
        .max(flow.lag_records);
    let recent: Vec<&(i64, i64)> = since_caught_up
        .iter()
        .filter(|(t, _)| *t >= lags.last().map_or(0, |l| l.0) - 30_000)
        .collect();
    let shrink = match (recent.first(), recent.last()) {
        (Some(first), Some(last)) if last.0 > first.0 => {
            let rate = (first.1 - last.1) as f64 / ((last.0 - first.0) as f64 / 1000.0);
            (rate > 0.0).then_some(rate)
        }
        _ => None,
    };
    Some((backlog, shrink))
}

fn render(instance: &InstanceView, history: &[SampleAnswer], color: bool, width: usize) -> String {
    let (bold, dim, red, green, yellow, reset) = if color {
        (
            "\x1b[1m", "\x1b[2m", "\x1b[31m", "\x1b[32m", "\x1b[33m", "\x1b[0m",
        )
    } else {
        ("", "", "", "", "", "")
    };
    let mut out = String::new();
    let _ = writeln!(
        out,
        "{bold}kmirror{reset} {} · {} · up {} · v{}",
        instance.worker_id,
        instance.phase,
        duration(instance.uptime_seconds),
        instance.version
    );
    let _ = writeln!(out);
    if instance.flows.is_empty() {
        let _ = writeln!(out, "no flows");
        return out;
    }
    let name_width = instance
        .flows
        .iter()
        .map(|f| f.name.len())
        .max()
        .unwrap_or(4)
        .max(4);
    let _ = writeln!(
        out,
        "{dim}{:<name_width$}  {:<8} {:>10} {:>11} {:>9} {:>8} {:>9} {:>10}{reset}",
        "FLOW", "STATE", "RECORDS/S", "BYTES/S", "LAG", "LAG(S)", "LATENCY", "HEARTBEAT"
    );
    let mut problems = Vec::new();
    for flow in &instance.flows {
        let state_color = match flow.state.as_str() {
            "running" if flow.paused_partitions == 0 => green,
            "running" => yellow,
            "failed" => red,
            _ => dim,
        };
        let latency = flow
            .latency_mean_ms
            .map_or("–".to_string(), |ms| format!("{} ms", human(ms)));
        let heartbeat = flow
            .heartbeat_age_seconds
            .map_or("–".to_string(), |s| format!("{s:.1} s"));
        if flow.mode == FlowMode::HeartbeatsOnly {
            // Nothing replicated: no rates, lag or latency to show.
            let emitted = flow
                .heartbeat_emit_age_seconds
                .map_or("–".to_string(), |s| format!("last sent {s:.1} s ago"));
            let _ = writeln!(
                out,
                "{:<name_width$}  {state_color}{:<8}{reset} {dim}{}{reset} ({emitted})",
                flow.name,
                flow.state,
                FlowMode::HeartbeatsOnly.as_str(),
            );
            if let Some(error) = &flow.error {
                problems.push(format!("{red}{}: {error}{reset}", flow.name));
            }
            continue;
        }
        let _ = writeln!(
            out,
            "{:<name_width$}  {state_color}{:<8}{reset} {:>10} {:>11} {:>9} {:>8.1} {:>9} {:>10}",
            flow.name,
            flow.state,
            human(flow.records_per_second),
            format!("{}/s", bytes(flow.bytes_per_second)),
            human(flow.lag_records as f64),
            flow.lag_seconds,
            latency,
            heartbeat,
        );
        if flow.state == "running" {
            if let Some((backlog, shrink)) = catch_up(flow, history) {
                let done = if backlog > 0 {
                    1.0 - flow.lag_records as f64 / backlog as f64
                } else {
                    1.0
                };
                let bar_width = width.saturating_sub(name_width + 50).clamp(10, 40);
                let filled = ((done * bar_width as f64).round() as usize).min(bar_width);
                let eta = match shrink {
                    Some(rate) => format!("ETA {}", duration(flow.lag_records as f64 / rate)),
                    None => "ETA unknown (lag not shrinking)".to_string(),
                };
                let _ = writeln!(
                    out,
                    "{:<name_width$}  catching up [{yellow}{}{reset}{}] {:>3.0}%  {} left, {eta}",
                    "",
                    "#".repeat(filled),
                    "-".repeat(bar_width - filled),
                    done * 100.0,
                    human(flow.lag_records as f64),
                );
            }
        }
        if let Some(error) = &flow.error {
            problems.push(format!("{red}{}: {error}{reset}", flow.name));
        }
        for topic in &flow.topics {
            for p in &topic.partitions {
                if p.state == "paused" {
                    problems.push(format!(
                        "{yellow}{} {}-{} paused at offset {}: {}{reset}",
                        flow.name,
                        topic.topic,
                        p.partition,
                        p.replicated_offset,
                        p.last_error.as_deref().unwrap_or("?")
                    ));
                }
            }
        }
    }
    render_groups(&mut out, instance, bold, dim, red, reset);
    if !problems.is_empty() {
        let _ = writeln!(out, "\n{bold}Paused partitions and errors{reset}");
        for problem in problems {
            let _ = writeln!(out, "  {problem}");
        }
    }
    out
}

/// Who runs what of each flow: the flows above show this worker's share.
fn render_groups(
    out: &mut String,
    instance: &InstanceView,
    bold: &str,
    dim: &str,
    red: &str,
    reset: &str,
) {
    let groups: Vec<_> = instance
        .flows
        .iter()
        .filter_map(|flow| flow.group.as_ref().map(|g| (flow, g)))
        .collect();
    if groups.is_empty() {
        return;
    }
    let _ = writeln!(
        out,
        "\n{bold}Workers{reset} {dim}(the flows above show this worker's share){reset}"
    );
    for (flow, group) in groups {
        if group.generation < 0 {
            let _ = writeln!(
                out,
                "  {red}{}: not a member of {} (rejoining){reset}",
                flow.name, group.group_id
            );
            continue;
        }
        let members: Vec<String> = group
            .members
            .iter()
            .map(|m| {
                let mut runs = Vec::new();
                if m.control {
                    runs.push("control".to_string());
                }
                runs.push(format!("{} partitions", m.partitions));
                let this = if m.worker_id == group.worker_id {
                    " (this)"
                } else {
                    ""
                };
                let refused = if m.refused {
                    ", REFUSED: configuration differs"
                } else {
                    ""
                };
                format!("{}{this}: {}{refused}", m.worker_id, runs.join(" + "))
            })
            .collect();
        let _ = writeln!(
            out,
            "  {} {dim}{} generation {}{reset}: {}",
            flow.name,
            group.group_id,
            group.generation,
            members.join(", ")
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A running instance of worker `worker_id` with `flows`.
    fn running_instance(worker_id: &str, flows: Vec<FlowView>) -> InstanceView {
        InstanceView {
            phase: "running".into(),
            worker_id: worker_id.into(),
            version: "0".into(),
            uptime_seconds: 1.0,
            time_ms: 0,
            flows,
        }
    }

    fn flow(name: &str, lag: i64) -> FlowView {
        serde_json::from_value(serde_json::json!({
            "name": name, "source": "a", "target": "b", "connector": "mm2",
            "state": "running", "error": null, "records_per_second": 10.0,
            "bytes_per_second": 1000.0, "replicated_records": 5, "replicated_bytes": 500,
            "source_end_offset_total": 100, "replicated_offset_total": 100 - lag,
            "lag_records": lag, "lag_seconds": 12.0, "latency_mean_ms": 3.0,
            "latency_max_ms": 4.0, "heartbeat_age_seconds": 1.0,
            "heartbeat_emit_age_seconds": 0.5, "paused_partitions": 0, "topics": []
        }))
        .unwrap()
    }

    #[test]
    fn a_lagging_flow_gets_a_bar_with_an_eta() {
        let history: Vec<SampleAnswer> = [(0, 0), (2_000, 1000), (4_000, 800), (6_000, 600)]
            .iter()
            .map(|(t, lag)| SampleAnswer {
                time_ms: *t,
                flows: [("a->b".to_string(), FlowSampleAnswer { lag_records: *lag })].into(),
            })
            .collect();
        let instance = running_instance("w", vec![flow("a->b", 600)]);
        let text = render(&instance, &history, false, 100);
        assert!(text.contains("catching up ["), "{text}");
        assert!(!text.contains("Workers"), "no group yet: {text}");
        assert!(text.contains("40%"), "{text}");
        assert!(text.contains("ETA 6s"), "{text}");
        assert!(!text.contains('\x1b'), "plain text on a pipe");
    }

    #[test]
    fn the_group_shows_who_runs_what() {
        let mut a_to_b = flow("a->b", 0);
        a_to_b.group = Some(serde_json::from_value(serde_json::json!({
            "group_id": "kmirror-a->b", "generation": 7, "worker_id": "h:1",
            "members": [
                {"worker_id": "h:1", "rest_url": null, "partitions": 4, "control": true, "refused": false},
                {"worker_id": "h:2", "rest_url": null, "partitions": 5, "control": false, "refused": false},
                {"worker_id": "h:3", "rest_url": null, "partitions": 0, "control": false, "refused": true}
            ]
        })).unwrap());
        let instance = running_instance("h:1", vec![a_to_b]);
        let text = render(&instance, &[], false, 100);
        assert!(text.contains("kmirror-a->b generation 7"), "{text}");
        assert!(
            text.contains("h:1 (this): control + 4 partitions"),
            "{text}"
        );
        assert!(text.contains("h:2: 5 partitions"), "{text}");
        assert!(text.contains("h:3: 0 partitions, REFUSED"), "{text}");
    }

    #[test]
    fn a_heartbeats_only_flow_says_so_instead_of_rates_and_lag() {
        let mut b_to_a = flow("b->a", 0);
        b_to_a.mode = FlowMode::HeartbeatsOnly;
        let instance = running_instance("w", vec![flow("a->b", 0), b_to_a]);
        let text = render(&instance, &[], false, 100);
        let line = text.lines().find(|l| l.starts_with("b->a")).unwrap();
        assert!(
            line.contains("running  heartbeats only (last sent 0.5 s ago)"),
            "{text}"
        );
        let line = text.lines().find(|l| l.starts_with("a->b")).unwrap();
        assert!(!line.contains("heartbeats only"), "{text}");
    }
}
