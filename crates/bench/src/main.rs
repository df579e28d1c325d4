//! `kmirror-bench`: kmirror's benchmark programs. See the crate docs of
//! `kmirror_bench` and `docs/BENCHMARKS.md`.

// The raw-forward benchmark decodes broker bytes as kmirror does; use its
// allocator too (see `kmirror_client::alloc`).
#[global_allocator]
static ALLOC: kmirror_client::LazyHugeAlloc = kmirror_client::LazyHugeAlloc;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use anyhow::{anyhow, bail, Result};
use clap::{Parser, Subcommand};
use kmirror_bench::compare::{self, CompareOptions, KmirrorConfig, Scenario};
use kmirror_bench::proxy::{DelayProxy, LinkSettings, Upstream};
use kmirror_bench::raw_forward::{self, RawForwardOptions};
use kmirror_bench::replicator::ReplicatorKind;
use kmirror_testbed::Compression;

#[derive(Debug, Parser)]
#[command(name = "kmirror-bench", about = "kmirror's benchmark programs")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Forward a preloaded topic from cluster A to cluster B with the raw
    /// data path in this process; print MB/s and CPU seconds per GB.
    RawForward {
        #[arg(long, default_value_t = 1_000_000)]
        records: u64,
        /// Value size in bytes.
        #[arg(long, default_value_t = 1024)]
        size: usize,
        #[arg(long, default_value_t = 12)]
        partitions: i32,
        /// none, gzip, snappy, lz4 or zstd.
        #[arg(long, default_value = "lz4")]
        compression: String,
        /// Use this source cluster instead of starting one (with --target).
        #[arg(long)]
        source: Option<String>,
        /// Use this target cluster instead of starting one (with --source).
        #[arg(long)]
        target: Option<String>,
        /// Fetch responses up to this many MiB (default: the engine's).
        #[arg(long)]
        fetch_max_mib: Option<i32>,
        /// Fetched chunks queued per partition (default: the engine's).
        #[arg(long)]
        partition_queue: Option<usize>,
        /// Also print the report as JSON.
        #[arg(long)]
        json: bool,
    },
    /// kmirror vs MirrorMaker 2 (default and tuned), every scenario of
    /// issue 4; writes a Markdown table and a JSON file.
    Compare {
        /// Seconds of data per scenario instead of the full sizes.
        #[arg(long)]
        quick: bool,
        /// Output folder for results.{md,json} (results-quick.* with --quick).
        #[arg(long, default_value = "docs/bench-results")]
        out: PathBuf,
        /// The kmirror binary (default: built with cargo).
        #[arg(long)]
        kmirror_bin: Option<PathBuf>,
        /// Which properties file kmirror gets: default or tuned.
        #[arg(long, default_value = "default")]
        kmirror_config: String,
        /// Comma-separated: ceiling, catch-up, latency, start-up, far-region
        /// (the default set), sasl-ssl (only when named; alone, it defaults
        /// to kmirror and MM2 tuned, lz4 and none, 512 MiB each), workers
        /// (only when named; alone, 1, 2 and 3 kmirror processes on 6 GiB
        /// of lz4 data, then joins and departures while copying),
        /// latency-3b (only when named; alone, kmirror and MM2 tuned on two
        /// three-broker clusters at 10 and 5,000 records/s), scale (only when
        /// named; alone, kmirror and MM2 tuned on 1,000 topics of 10
        /// partitions), exactly-once (only when named; alone, catch-up of
        /// 512 MiB lz4 and latency at 5,000 records/s, kmirror and MM2
        /// tuned with and without exactly-once).
        #[arg(long, alias = "scenario", value_delimiter = ',')]
        scenarios: Vec<String>,
        /// Comma-separated: kmirror, mm2-default, mm2-tuned.
        #[arg(long, value_delimiter = ',')]
        replicators: Vec<String>,
        #[arg(long)]
        rounds: Option<usize>,
        #[arg(long)]
        partitions: Option<i32>,
        #[arg(long)]
        record_size: Option<usize>,
        /// Catch-up data of the first codec, MiB (also of the others unless
        /// --catchup-other-mib).
        #[arg(long)]
        catchup_mib: Option<u64>,
        /// Catch-up data of the codecs after the first, MiB.
        #[arg(long)]
        catchup_other_mib: Option<u64>,
        /// Comma-separated codecs for catch-up (the first is also the
        /// ceiling's).
        #[arg(long, value_delimiter = ',')]
        codecs: Vec<String>,
        /// Records per second of the steady-latency producer.
        #[arg(long)]
        latency_rate: Option<u32>,
        #[arg(long)]
        latency_seconds: Option<u64>,
        /// Far-region data per topic, MiB.
        #[arg(long)]
        far_mib: Option<u64>,
        #[arg(long)]
        far_window_seconds: Option<u64>,
        #[arg(long)]
        far_rtt_ms: Option<u64>,
        /// Bandwidth cap of the capped far-region runs, Mbit/s.
        #[arg(long)]
        far_mbit: Option<u64>,
    },
    /// Run the delaying TCP proxy alone (127.0.0.1 only) until interrupted.
    Proxy {
        #[arg(long, default_value_t = 0)]
        port: u16,
        /// host:port to forward to.
        #[arg(long)]
        upstream: SocketAddr,
        /// Added round trip, ms (half each way).
        #[arg(long, default_value_t = 30)]
        rtt_ms: u64,
        /// Bandwidth cap per direction, Mbit/s.
        #[arg(long)]
        mbit: Option<u64>,
    },
}

fn codec(name: &str) -> Result<Compression> {
    Compression::ALL
        .into_iter()
        .find(|c| c.as_str() == name)
        .ok_or_else(|| anyhow!("unknown codec {name:?}"))
}

fn main() -> Result<()> {
    match Cli::parse().command {
        Command::RawForward {
            records,
            size,
            partitions,
            compression,
            source,
            target,
            fetch_max_mib,
            partition_queue,
            json,
        } => {
            let report = raw_forward::run(&RawForwardOptions {
                records,
                size,
                partitions,
                compression: codec(&compression)?,
                source_bootstrap: source,
                target_bootstrap: target,
                fetch_max_bytes: fetch_max_mib.map(|m| m << 20),
                partition_queue,
            })?;
            println!("{}", report.to_text());
            if json {
                println!("{}", serde_json::to_string_pretty(&report)?);
            }
            Ok(())
        }
        Command::Compare {
            quick,
            out,
            kmirror_bin,
            kmirror_config,
            scenarios,
            replicators,
            rounds,
            partitions,
            record_size,
            catchup_mib,
            catchup_other_mib,
            codecs,
            latency_rate,
            latency_seconds,
            far_mib,
            far_window_seconds,
            far_rtt_ms,
            far_mbit,
        } => {
            let mut options = if scenarios == ["sasl-ssl"] {
                CompareOptions::sasl_ssl(quick)
            } else if scenarios == ["workers"] {
                CompareOptions::workers(quick)
            } else if scenarios == ["latency-3b"] {
                CompareOptions::latency_brokers(quick)
            } else if scenarios == ["scale"] {
                CompareOptions::scale(quick)
            } else if scenarios == ["exactly-once"] {
                CompareOptions::exactly_once(quick)
            } else if quick {
                CompareOptions::quick()
            } else {
                CompareOptions::full()
            };
            options.out = out;
            options.kmirror_bin = kmirror_bin;
            options.kmirror_config = match kmirror_config.as_str() {
                "default" => KmirrorConfig::Default,
                "tuned" => KmirrorConfig::Tuned,
                other => bail!("--kmirror-config is default or tuned, not {other:?}"),
            };
            if !scenarios.is_empty() {
                options.scenarios = scenarios
                    .iter()
                    .map(|s| Scenario::parse(s).ok_or_else(|| anyhow!("unknown scenario {s:?}")))
                    .collect::<Result<_>>()?;
            }
            if !replicators.is_empty() {
                options.replicators = replicators
                    .iter()
                    .map(|r| {
                        ReplicatorKind::parse(r).ok_or_else(|| anyhow!("unknown replicator {r:?}"))
                    })
                    .collect::<Result<_>>()?;
            }
            if !codecs.is_empty() {
                options.codecs = codecs.iter().map(|c| codec(c)).collect::<Result<_>>()?;
            }
            options.rounds = rounds.unwrap_or(options.rounds);
            options.partitions = partitions.unwrap_or(options.partitions);
            options.record_size = record_size.unwrap_or(options.record_size);
            if let Some(mib) = catchup_mib {
                options.catchup_bytes = mib << 20;
                options.catchup_other_bytes = mib << 20;
            }
            if let Some(mib) = catchup_other_mib {
                options.catchup_other_bytes = mib << 20;
            }
            options.latency_rate = latency_rate.unwrap_or(options.latency_rate);
            options.latency_seconds = latency_seconds.unwrap_or(options.latency_seconds);
            if let Some(mib) = far_mib {
                options.far_bytes = mib << 20;
            }
            if let Some(s) = far_window_seconds {
                options.far_window = Duration::from_secs(s);
            }
            if let Some(ms) = far_rtt_ms {
                options.far_round_trip = Duration::from_millis(ms);
            }
            if let Some(mbit) = far_mbit {
                options.far_bandwidth = mbit * 1_000_000 / 8;
            }
            let report = compare::run(&options)?;
            print!("{}", report.to_markdown());
            Ok(())
        }
        Command::Proxy {
            port,
            upstream,
            rtt_ms,
            mbit,
        } => {
            let runtime = tokio::runtime::Runtime::new()?;
            runtime.block_on(async {
                let proxy = DelayProxy::start(
                    port,
                    Upstream::Fixed(upstream),
                    LinkSettings {
                        one_way_delay: Duration::from_millis(rtt_ms) / 2,
                        bandwidth: mbit.map(|m| m * 1_000_000 / 8),
                    },
                )
                .await?;
                println!("{} -> {upstream}", proxy.addr());
                tokio::signal::ctrl_c().await?;
                anyhow::Ok(())
            })
        }
    }
}
