//! What a comparison run can vary (scenarios, replicators, sizes) and what
//! one replicator run measures.

use std::path::PathBuf;
use std::time::Duration;

use anyhow::Result;
use kmirror_testbed::Compression;
use serde::Serialize;

use super::scale::{ScaleSize, ScaleStats};
use super::WorkersOptions;
use crate::latency::LatencyStats;
use crate::replicator::ReplicatorKind;

/// The scenarios of issue 4.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Scenario {
    /// The brokers' own ceiling with Kafka's perf tools (no replicator).
    Ceiling,
    CatchUp,
    Latency,
    StartUp,
    FarRegion,
    /// Catch-up over SASL_SSL (SCRAM-SHA-512, TLS on both sides) against
    /// kmirror over PLAINTEXT on the same clusters (issue 9); not part of
    /// the default set, see [`CompareOptions::sasl_ssl`].
    SaslSsl,
    /// Catch-up with 1, 2 and 3 kmirror worker processes and the time
    /// partitions have no owner while workers join and leave (issue 10);
    /// not part of the default set, see [`CompareOptions::workers`].
    Workers,
    /// Steady latency on three-broker clusters at a low and a high rate
    /// (issue 12); not part of the default set, see
    /// [`CompareOptions::latency_brokers`].
    LatencyBrokers,
    /// 1,000 topics of 10 partitions on one flow: time until every
    /// partition replicates, then CPU, memory and wire bytes at rest
    /// (issue 12); not part of the default set, see
    /// [`CompareOptions::scale`].
    Scale,
    /// Catch-up and latency with and without exactly-once, kmirror and MM2
    /// (issue 13); not part of the default set, see
    /// [`CompareOptions::exactly_once`].
    ExactlyOnce,
}

impl Scenario {
    pub const ALL: [Scenario; 10] = [
        Self::Ceiling,
        Self::CatchUp,
        Self::Latency,
        Self::StartUp,
        Self::FarRegion,
        Self::SaslSsl,
        Self::Workers,
        Self::LatencyBrokers,
        Self::Scale,
        Self::ExactlyOnce,
    ];

    /// What a full run measures when no scenario is named.
    pub const DEFAULT: [Scenario; 5] = [
        Self::Ceiling,
        Self::CatchUp,
        Self::Latency,
        Self::StartUp,
        Self::FarRegion,
    ];

    pub fn key(self) -> &'static str {
        match self {
            Self::Ceiling => "ceiling",
            Self::CatchUp => "catch-up",
            Self::Latency => "latency",
            Self::StartUp => "start-up",
            Self::FarRegion => "far-region",
            Self::SaslSsl => "sasl-ssl",
            Self::Workers => "workers",
            Self::LatencyBrokers => "latency-3b",
            Self::Scale => "scale",
            Self::ExactlyOnce => "exactly-once",
        }
    }

    pub fn parse(key: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|s| s.key() == key)
    }
}

/// Which properties file kmirror gets.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum KmirrorConfig {
    /// The same file as MM2 default (the users' file, untuned).
    Default,
    /// The same file as MM2 tuned.
    Tuned,
}

/// Everything a comparison run can vary.
#[derive(Debug, Clone, Serialize)]
pub struct CompareOptions {
    pub quick: bool,
    /// Where `results.{md,json}` (or `results-quick.*`) go.
    pub out: PathBuf,
    /// The kmirror binary; built with cargo when `None`.
    #[serde(skip)]
    pub kmirror_bin: Option<PathBuf>,
    pub kmirror_config: KmirrorConfig,
    pub scenarios: Vec<Scenario>,
    pub replicators: Vec<ReplicatorKind>,
    pub rounds: usize,
    pub partitions: i32,
    pub record_size: usize,
    /// Catch-up data of the first codec (payload bytes, about).
    pub catchup_bytes: u64,
    /// Catch-up data of the other codecs (smaller, so that a full run fits
    /// in half an hour on two cores).
    pub catchup_other_bytes: u64,
    #[serde(serialize_with = "codec_names")]
    pub codecs: Vec<Compression>,
    pub latency_rate: u32,
    pub latency_seconds: u64,
    /// Records produced in the first seconds are left out of the latency
    /// statistics (JIT warm-up of producer and replicator).
    pub latency_warmup_seconds: u64,
    /// The rates of the three-broker latency scenario, records/s.
    pub brokers_latency_rates: Vec<u32>,
    pub startup_records: u64,
    /// Far-region data per topic (payload bytes, about).
    pub far_bytes: u64,
    /// A far-region run ends this long after its first record arrived (or
    /// when everything arrived).
    pub far_window: Duration,
    pub far_round_trip: Duration,
    /// The capped far-region runs' bandwidth per direction, bytes/s.
    pub far_bandwidth: u64,
    /// The workers scenario's settings.
    pub workers: WorkersOptions,
    /// The scale scenario's size.
    pub scale: ScaleSize,
}

fn codec_names<S: serde::Serializer>(codecs: &[Compression], s: S) -> Result<S::Ok, S::Error> {
    s.collect_seq(codecs.iter().map(|c| c.as_str()))
}

impl CompareOptions {
    /// The full run documented in `docs/BENCHMARKS.md`: about half an hour on
    /// two cores.
    pub fn full() -> Self {
        CompareOptions {
            quick: false,
            out: PathBuf::from("docs/bench-results"),
            kmirror_bin: None,
            kmirror_config: KmirrorConfig::Default,
            scenarios: Scenario::DEFAULT.to_vec(),
            replicators: ReplicatorKind::ALL.to_vec(),
            rounds: 2,
            partitions: 12,
            record_size: 1024,
            catchup_bytes: 1 << 30,
            catchup_other_bytes: 512 << 20,
            codecs: vec![Compression::Lz4, Compression::None, Compression::Zstd],
            latency_rate: 5000,
            latency_seconds: 60,
            latency_warmup_seconds: 5,
            brokers_latency_rates: vec![10, 5000],
            startup_records: 1000,
            far_bytes: 256 << 20,
            far_window: Duration::from_secs(8),
            far_round_trip: Duration::from_millis(30),
            far_bandwidth: 25_000_000,
            workers: WorkersOptions::default(),
            scale: ScaleSize::full(),
        }
    }

    /// Seconds of data per scenario: a check that the harness works.
    pub fn quick() -> Self {
        CompareOptions {
            quick: true,
            rounds: 1,
            catchup_bytes: 32 << 20,
            catchup_other_bytes: 32 << 20,
            latency_rate: 2000,
            latency_seconds: 10,
            latency_warmup_seconds: 2,
            startup_records: 100,
            far_bytes: 16 << 20,
            far_window: Duration::from_secs(5),
            ..Self::full()
        }
    }

    pub(super) fn records_for(&self, bytes: u64) -> u64 {
        (bytes / self.record_size.max(1) as u64).max(1)
    }
}

/// One replicator run in one scenario.
#[derive(Debug, Clone, Serialize)]
pub struct Measurement {
    /// `catch-up/lz4`, `latency`, `start-up`, `far-region/1p/30ms`, ...
    pub scenario: String,
    pub replicator: ReplicatorKind,
    pub round: usize,
    pub expected_records: u64,
    /// What the target held at the end (may exceed `expected_records` for
    /// an at-least-once replicator).
    pub replicated_records: u64,
    pub complete: bool,
    /// Time from spawn to the first record on the target.
    pub first_record_s: Option<f64>,
    /// Time from spawn to the last record on the target.
    pub done_s: Option<f64>,
    /// Payload MB/s between the first and the last observation.
    pub mb_per_s: Option<f64>,
    pub cpu_s: f64,
    /// CPU seconds during the copy phase, per GB of payload copied then.
    pub cpu_s_per_gb: Option<f64>,
    /// All CPU seconds, start-up included, per GB of payload.
    pub total_cpu_s_per_gb: Option<f64>,
    pub peak_rss_mib: f64,
    /// CPU seconds of both clusters' brokers during the run.
    pub broker_cpu_s: f64,
    /// CPU seconds of everything else on the machine during the run (not
    /// the replicator, the brokers or this harness with its load
    /// generators): a sign of outside interference when large.
    pub other_cpu_s: f64,
    /// End-to-end latency, producer to consumer on the target.
    pub latency: Option<LatencyStats>,
    /// The same records read directly on the source: what the producer and
    /// the source broker alone contribute (the floor for any replicator).
    pub source_latency: Option<LatencyStats>,
    /// The scale scenario's own figures.
    pub scale: Option<ScaleStats>,
    pub error: Option<String>,
}

impl Measurement {
    pub(super) fn new(scenario: &str, kind: ReplicatorKind, round: usize) -> Self {
        Self::failed(scenario, kind, round, String::new()).ok()
    }

    fn ok(mut self) -> Self {
        self.error = None;
        self
    }

    pub(super) fn failed(
        scenario: &str,
        kind: ReplicatorKind,
        round: usize,
        error: String,
    ) -> Self {
        Measurement {
            scenario: scenario.to_string(),
            replicator: kind,
            round,
            expected_records: 0,
            replicated_records: 0,
            complete: false,
            first_record_s: None,
            done_s: None,
            mb_per_s: None,
            cpu_s: 0.0,
            cpu_s_per_gb: None,
            total_cpu_s_per_gb: None,
            peak_rss_mib: 0.0,
            broker_cpu_s: 0.0,
            other_cpu_s: 0.0,
            latency: None,
            source_latency: None,
            scale: None,
            error: Some(error),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scenario_keys_round_trip() {
        for scenario in Scenario::ALL {
            assert_eq!(Scenario::parse(scenario.key()), Some(scenario));
        }
    }
}
