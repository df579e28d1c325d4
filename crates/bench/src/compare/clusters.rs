//! The clusters and the kmirror binary every scenario runs on.

use std::collections::HashSet;
use std::path::PathBuf;
use std::time::Duration;

use anyhow::{bail, Context as _, Result};
use kmirror_testbed::{KafkaCluster, SecurityOptions};

/// Starts `kafka-a` and `kafka-b` side by side (in parallel), tuned for
/// benchmarks: full JIT, 1 GiB heaps, deleted topics' files removed after
/// a second rather than a minute. Secured clusters (`secured`) also have
/// the test bed's SASL_SSL, SSL and SASL_PLAINTEXT listeners and SCRAM
/// users.
pub fn start_cluster_pair(quick: bool, secured: bool) -> Result<(KafkaCluster, KafkaCluster)> {
    let start = |name: &'static str| {
        std::thread::spawn(move || {
            let builder = bench_cluster(name, quick);
            if secured {
                builder.secured(SecurityOptions::new()).start()
            } else {
                builder.start()
            }
        })
    };
    join_clusters(start("kafka-a"), start("kafka-b"))
}

/// The two clusters started side by side.
pub(crate) fn join_clusters(
    a: std::thread::JoinHandle<KafkaCluster>,
    b: std::thread::JoinHandle<KafkaCluster>,
) -> Result<(KafkaCluster, KafkaCluster)> {
    let a = a
        .join()
        .map_err(|_| anyhow::anyhow!("kafka-a did not start"))?;
    let b = b
        .join()
        .map_err(|_| anyhow::anyhow!("kafka-b did not start"))?;
    Ok((a, b))
}

pub(super) fn bench_cluster(name: &str, quick: bool) -> kmirror_testbed::KafkaClusterBuilder {
    KafkaCluster::builder(name)
        .fast_startup(quick)
        .heap("1g")
        .broker_prop("log.segment.delete.delay.ms", "1000")
        .start_timeout(Duration::from_secs(120))
}

/// Builds the kmirror binary with cargo (release when this is a release
/// build) and returns its path.
pub fn build_kmirror() -> Result<PathBuf> {
    if let Some(path) = std::env::var_os("KMIRROR_BIN") {
        return Ok(PathBuf::from(path));
    }
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let mut command = std::process::Command::new(cargo);
    command
        .current_dir(kmirror_testbed::repo_root())
        .args(["build", "-p", "kmirror", "--bin", "kmirror"])
        .args(["--message-format", "json-render-diagnostics"]);
    if !cfg!(debug_assertions) {
        command.arg("--release");
    }
    let output = command
        .stderr(std::process::Stdio::inherit())
        .output()
        .context("cannot run cargo to build kmirror")?;
    if !output.status.success() {
        bail!("cargo build -p kmirror failed ({})", output.status);
    }
    // The last compiler artifact naming an executable is the binary.
    String::from_utf8_lossy(&output.stdout)
        .lines()
        .filter_map(|line| serde_json::from_str::<serde_json::Value>(line).ok())
        .filter_map(|v| v["executable"].as_str().map(PathBuf::from))
        .next_back()
        .context("cargo built kmirror but did not say where")
}

/// Every running broker's pid.
pub(super) fn broker_pids(cluster: &KafkaCluster) -> Vec<u32> {
    (0..cluster.broker_count())
        .filter_map(|i| cluster.broker_pid(i))
        .collect()
}

/// Kills the test bed's admin-client JVM of `cluster` (our own child); the
/// test bed restarts it if one of its admin calls is ever made again.
pub(super) fn stop_admin_jvm(cluster: &KafkaCluster) {
    let brokers: HashSet<u32> = broker_pids(cluster).into_iter().collect();
    for pid in cluster.pids() {
        if !brokers.contains(&pid) {
            let _ = std::process::Command::new("kill")
                .args(["-KILL", &pid.to_string()])
                .status();
        }
    }
}
