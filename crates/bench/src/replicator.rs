//! The replicators under test, each run as its own OS process so that its
//! CPU time and memory can be read apart from the brokers' and the harness's.
//!
//! - **kmirror**: the release binary, `kmirror run mm2.properties`.
//! - **MM2 default**: `org.apache.kafka.connect.mirror.MirrorMaker` (dedicated
//!   mode) from the same Kafka jars as the brokers, with the same properties
//!   file, launched as Kafka's `connect-mirror-maker.sh` launches it (2 GiB
//!   heap, G1 with Kafka's flags, full JIT).
//! - **MM2 tuned**: the same plus what MM2 operators change for throughput:
//!   one task per partition, large producer batches with linger and the
//!   source's codec, five requests in flight (idempotent), bigger consumer
//!   fetches and polls, larger socket buffers.
//!
//! No replicator outlives the harness: MM2 runs under the test bed's stdin
//! watchdog, and kmirror is started through `setpriv --pdeathsig KILL`, so
//! the kernel kills it when the harness dies however it dies; both are also
//! killed when their [`RunningReplicator`] is dropped (panics included).

use std::fmt::Write as _;
use std::fs::OpenOptions;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{bail, Context as _, Result};
use kmirror_testbed::{Compression, JavaCommand, JavaProcess};
use nix::sys::signal::{kill, Signal};
use nix::unistd::Pid;
use serde::Serialize;

use crate::proc_stats::ProcStats;

/// Which replicator, and how it is configured.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum ReplicatorKind {
    Kmirror,
    Mm2Default,
    Mm2Tuned,
}

impl ReplicatorKind {
    pub const ALL: [ReplicatorKind; 3] = [Self::Kmirror, Self::Mm2Default, Self::Mm2Tuned];

    /// The name used on the command line and in JSON.
    pub fn key(self) -> &'static str {
        match self {
            Self::Kmirror => "kmirror",
            Self::Mm2Default => "mm2-default",
            Self::Mm2Tuned => "mm2-tuned",
        }
    }

    /// The name used in tables.
    pub fn label(self) -> &'static str {
        match self {
            Self::Kmirror => "kmirror",
            Self::Mm2Default => "MM2 default",
            Self::Mm2Tuned => "MM2 tuned",
        }
    }

    pub fn parse(key: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.key() == key)
    }

    pub fn is_mm2(self) -> bool {
        !matches!(self, Self::Kmirror)
    }
}

/// One replication flow to configure: source to target, one topic.
#[derive(Debug, Clone)]
pub struct FlowSpec {
    pub source_alias: String,
    pub target_alias: String,
    pub source_bootstrap: String,
    pub target_bootstrap: String,
    pub topic: String,
    /// The `topics` regex, written as is, when the flow covers more topics
    /// than `topic`.
    pub topics: Option<String>,
    /// Partitions of the topic, for `tasks.max` when tuned.
    pub partitions: i32,
    /// The codec the source data was produced with, which a tuned MM2
    /// producer uses too (MM2 decompresses and recompresses every record).
    pub compression: Compression,
    /// Client properties of the source cluster (`security.protocol`,
    /// `ssl.*`, `sasl.*`), written under its alias; empty for PLAINTEXT.
    pub source_props: Vec<(String, String)>,
    /// The same for the target cluster.
    pub target_props: Vec<(String, String)>,
}

impl FlowSpec {
    /// The topic the replicator writes on the target.
    pub fn remote_topic(&self) -> String {
        format!("{}.{}", self.source_alias, self.topic)
    }
}

/// The `mm2.properties` both replicators read. `tuned` adds MM2's operator
/// tuning; kmirror ignores those keys (it reports them once at start) and
/// honours the rest exactly as MM2 does.
pub fn mm2_properties(flow: &FlowSpec, tuned: bool) -> String {
    let (s, t) = (&flow.source_alias, &flow.target_alias);
    let mut text = String::new();
    let mut line = |l: String| writeln!(text, "{l}").expect("write to a String");
    line("# Written by kmirror-bench for one benchmark run.".into());
    line(format!("clusters = {s}, {t}"));
    line(format!("{s}.bootstrap.servers = {}", flow.source_bootstrap));
    line(format!("{t}.bootstrap.servers = {}", flow.target_bootstrap));
    // Cluster-level keys: MM2 hands them to every client of the cluster
    // (consumer, producer, admin, its Connect worker), and kmirror reads
    // them where MM2 does.
    for (alias, props) in [(s, &flow.source_props), (t, &flow.target_props)] {
        for (key, value) in props {
            line(format!("{alias}.{key} = {value}"));
        }
    }
    line(format!("{s}->{t}.enabled = true"));
    let topics = flow
        .topics
        .clone()
        .unwrap_or_else(|| regex_quote(&flow.topic));
    line(format!("{s}->{t}.topics = {topics}"));
    line("# Single-broker test-bed clusters.".into());
    for key in [
        "replication.factor",
        "checkpoints.topic.replication.factor",
        "heartbeats.topic.replication.factor",
        "offset-syncs.topic.replication.factor",
        "offset.storage.replication.factor",
        "status.storage.replication.factor",
        "config.storage.replication.factor",
    ] {
        line(format!("{key} = 1"));
    }
    if tuned {
        line("# MM2 tuned for throughput, as its operators do.".into());
        line(format!("tasks.max = {}", flow.partitions.max(1)));
        for (key, value) in [
            ("batch.size", "1048576"),
            ("linger.ms", "20"),
            ("compression.type", flow.compression.as_str()),
            ("buffer.memory", "268435456"),
            ("max.request.size", "10485760"),
            ("enable.idempotence", "true"),
            ("max.in.flight.requests.per.connection", "5"),
            ("send.buffer.bytes", "1048576"),
        ] {
            line(format!("{t}.producer.{key} = {value}"));
        }
        for (key, value) in [
            ("fetch.max.bytes", "104857600"),
            ("max.partition.fetch.bytes", "10485760"),
            ("max.poll.records", "5000"),
            ("receive.buffer.bytes", "1048576"),
        ] {
            line(format!("{s}.consumer.{key} = {value}"));
        }
    }
    text
}

/// The topic name as a Java regex matching only itself.
fn regex_quote(topic: &str) -> String {
    topic.replace('.', "\\.")
}

/// How the OS process of a replicator is held.
#[derive(Debug)]
enum Process {
    Native(Child),
    Java(JavaProcess),
}

/// A replicator process under measurement. Killed when dropped.
#[derive(Debug)]
pub struct RunningReplicator {
    kind: ReplicatorKind,
    pid: u32,
    started: Instant,
    process: Option<Process>,
    log: PathBuf,
    /// kmirror's REST API (status, metrics); `None` for MM2.
    rest: Option<SocketAddr>,
}

impl RunningReplicator {
    /// Starts `kind` on `config` (an `mm2.properties`), with its log in
    /// `dir`.
    pub fn start(
        kind: ReplicatorKind,
        config: &Path,
        dir: &Path,
        kmirror_bin: &Path,
    ) -> Result<Self> {
        let log = dir.join(format!("{}.log", kind.key()));
        let started = Instant::now();
        let mut rest = None;
        let process = match kind {
            ReplicatorKind::Kmirror => {
                let listen = SocketAddr::from(([127, 0, 0, 1], kmirror_testbed::free_port()));
                rest = Some(listen);
                // Appended to: a restart in the same folder (the scale
                // scenario's) keeps the first process's log.
                let out = OpenOptions::new()
                    .create(true)
                    .append(true)
                    .open(&log)
                    .with_context(|| format!("cannot open {}", log.display()))?;
                let child = Command::new("setpriv")
                    .arg("--pdeathsig")
                    .arg("KILL")
                    .arg("--")
                    .arg(kmirror_bin)
                    .arg("run")
                    .arg(config)
                    // Its state folder (`kmirror-state`) goes with the run,
                    // and its REST API (on by default, as users run it)
                    // on a port of its own.
                    .current_dir(dir)
                    .env("KMIRROR_REST_LISTEN", listen.to_string())
                    .envs(own_group(config))
                    .stdin(Stdio::null())
                    .stdout(out.try_clone()?)
                    .stderr(out)
                    .spawn()
                    .with_context(|| {
                        format!(
                            "cannot start {} (through setpriv, from util-linux)",
                            kmirror_bin.display()
                        )
                    })?;
                Process::Native(child)
            }
            ReplicatorKind::Mm2Default | ReplicatorKind::Mm2Tuned => {
                // What bin/connect-mirror-maker.sh and kafka-run-class.sh set.
                let process = JavaCommand::new("org.apache.kafka.connect.mirror.MirrorMaker")
                    .name(kind.label())
                    .arg(config)
                    .heap("2g")
                    .fast_startup(false)
                    .jvm_arg("-Xms256m")
                    .jvm_arg("-XX:+UseG1GC")
                    .jvm_arg("-XX:MaxGCPauseMillis=20")
                    .jvm_arg("-XX:InitiatingHeapOccupancyPercent=35")
                    .jvm_arg("-XX:+ExplicitGCInvokesConcurrent")
                    .jvm_arg("-XX:MaxInlineLevel=15")
                    .log4j_to_file(&log)
                    .output_to_file(dir.join(format!("{}.console.log", kind.key())));
                // A hook for profiling, e.g. Java Flight Recorder options.
                let process = std::env::var("KMIRROR_BENCH_MM2_JVM_ARGS")
                    .unwrap_or_default()
                    .split_whitespace()
                    .fold(process, |command, arg| command.jvm_arg(arg))
                    .spawn();
                Process::Java(process)
            }
        };
        let pid = match &process {
            Process::Native(child) => child.id(),
            Process::Java(java) => java.pid(),
        };
        Ok(RunningReplicator {
            kind,
            pid,
            started,
            process: Some(process),
            log,
            rest,
        })
    }

    /// Where kmirror serves its REST API (`None` for MM2).
    pub fn rest_addr(&self) -> Option<SocketAddr> {
        self.rest
    }

    /// Sends `signal` (SIGTERM: a graceful stop; SIGKILL: a crash) and
    /// leaves the process to exit on its own; it is reaped later.
    pub fn signal(&self, signal: Signal) -> Result<()> {
        let pid = i32::try_from(self.pid).context("pid out of range")?;
        kill(Pid::from_raw(pid), signal)
            .with_context(|| format!("cannot send {signal} to {} ({})", self.kind.label(), pid))
    }

    /// Waits up to `timeout` for the process to exit; whether it did.
    pub fn wait_exit(&mut self, timeout: Duration) -> Result<bool> {
        let deadline = Instant::now() + timeout;
        loop {
            let exited = match self.process.as_mut() {
                Some(Process::Native(child)) => child.try_wait()?.is_some(),
                Some(Process::Java(java)) => java.try_wait().is_some(),
                None => true,
            };
            if exited || Instant::now() >= deadline {
                return Ok(exited);
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    pub fn kind(&self) -> ReplicatorKind {
        self.kind
    }

    pub fn pid(&self) -> u32 {
        self.pid
    }

    /// When the process was spawned.
    pub fn started(&self) -> Instant {
        self.started
    }

    /// CPU and memory so far.
    pub fn stats(&self) -> Result<ProcStats> {
        ProcStats::of(self.pid).with_context(|| format!("cannot read /proc/{}", self.pid))
    }

    /// Fails if the process has exited.
    pub fn check_alive(&mut self) -> Result<()> {
        let exited = match self.process.as_mut() {
            Some(Process::Native(child)) => child.try_wait()?.map(|s| s.to_string()),
            Some(Process::Java(java)) => java.try_wait().map(|s| s.to_string()),
            None => Some("stopped".into()),
        };
        if let Some(status) = exited {
            bail!(
                "{} exited early ({status}); its log ends with:\n{}",
                self.kind.label(),
                self.log_tail(30)
            );
        }
        Ok(())
    }

    /// Reads the final stats, then kills and reaps the process.
    pub fn stop(mut self) -> Result<ProcStats> {
        let stats = self.stats();
        self.kill();
        stats
    }

    fn kill(&mut self) {
        match self.process.take() {
            Some(Process::Native(mut child)) => {
                let _ = child.kill();
                let _ = child.wait();
            }
            Some(Process::Java(mut java)) => {
                java.kill();
            }
            None => {}
        }
    }

    /// The last lines of the replicator's log.
    pub fn log_tail(&self, lines: usize) -> String {
        let text = std::fs::read_to_string(&self.log).unwrap_or_default();
        let all: Vec<&str> = text.lines().collect();
        all[all.len().saturating_sub(lines)..].join("\n")
    }

    pub fn log_path(&self) -> &Path {
        &self.log
    }
}

impl Drop for RunningReplicator {
    fn drop(&mut self) {
        self.kill();
    }
}

/// A worker group of its own for a kmirror whose properties name none:
/// the last round's stopped worker stays a static member of the default
/// group for the session timeout, which a new worker would wait out.
/// Workers meant to share a group get a `group.id` in their properties.
fn own_group(config: &Path) -> Option<(&'static str, String)> {
    let text = std::fs::read_to_string(config).unwrap_or_default();
    let names_group = text
        .lines()
        .any(|line| line.trim_start().starts_with("group.id"));
    (!names_group).then(|| ("KMIRROR_GROUP_PREFIX", unique_group_prefix()))
}

/// A group id prefix of its own for each kmirror run.
fn unique_group_prefix() -> String {
    static NEXT: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
    format!(
        "kmirror-bench-{}-{}",
        std::process::id(),
        NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn flow() -> FlowSpec {
        FlowSpec {
            source_alias: "src1".into(),
            target_alias: "dst1".into(),
            source_bootstrap: "127.0.0.1:1".into(),
            target_bootstrap: "127.0.0.1:2".into(),
            topic: "bench.lz4".into(),
            topics: None,
            partitions: 12,
            compression: Compression::Lz4,
            source_props: Vec::new(),
            target_props: Vec::new(),
        }
    }

    #[test]
    fn default_properties_select_one_topic_and_tune_nothing() {
        let text = mm2_properties(&flow(), false);
        assert!(text.contains("src1->dst1.topics = bench\\.lz4\n"), "{text}");
        assert!(text.contains("src1.bootstrap.servers = 127.0.0.1:1\n"));
        assert!(!text.contains("tasks.max"));
        assert!(!text.contains("producer."));
    }

    #[test]
    fn tuned_properties_reach_mm2_clients() {
        let text = mm2_properties(&flow(), true);
        assert!(text.contains("tasks.max = 12\n"), "{text}");
        assert!(text.contains("dst1.producer.compression.type = lz4\n"));
        assert!(text.contains("src1.consumer.max.partition.fetch.bytes = 10485760\n"));
    }

    #[test]
    fn cluster_props_go_under_their_alias() {
        let mut flow = flow();
        flow.source_props = vec![("security.protocol".into(), "SASL_SSL".into())];
        flow.target_props = vec![("sasl.mechanism".into(), "SCRAM-SHA-512".into())];
        let text = mm2_properties(&flow, true);
        assert!(
            text.contains("src1.security.protocol = SASL_SSL\n"),
            "{text}"
        );
        assert!(
            text.contains("dst1.sasl.mechanism = SCRAM-SHA-512\n"),
            "{text}"
        );
        assert!(!text.contains("dst1.security.protocol"), "{text}");
    }

    #[test]
    fn kinds_round_trip_their_keys() {
        for kind in ReplicatorKind::ALL {
            assert_eq!(ReplicatorKind::parse(kind.key()), Some(kind));
        }
    }
}
