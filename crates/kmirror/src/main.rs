//! `kmirror`: replicates Kafka topics between clusters from an MM2
//! properties file. See `kmirror --help`.

// Broker bytes are decoded with kafka-protocol; see `kmirror_client::alloc`.
#[global_allocator]
static ALLOC: kmirror_client::LazyHugeAlloc = kmirror_client::LazyHugeAlloc;

mod commands;
mod config_file;
mod connectors;
mod history;
mod logging;
mod rest;
mod worker;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

/// What `--help` says of exit codes; the README's "Exit codes" says the same.
const EXIT_CODES: &str = "\
Exit codes:
  0  done; for `run`, stopped by SIGTERM or SIGINT (also before replication started)
  1  a cluster problem: unreachable, refusing kmirror, or failing a check;
     or another failure at run time (REST address in use, state directory locked)
  2  a configuration error: the file, a flag or a security setting
  3  `offsets translate` only: nothing to translate yet, try again later";

/// A Rust replacement for Kafka MirrorMaker 2 that reads the same
/// mm2.properties.
#[derive(Debug, Parser)]
#[command(name = "kmirror", version, about, after_help = EXIT_CODES)]
struct Cli {
    /// Log format: `text` for people, `json` for log shippers.
    #[arg(long, global = true, default_value = "text", value_parser = ["text", "json"])]
    log_format: String,
    /// Threads that run kmirror's async work. One suffices for most
    /// deployments and is the cheapest per GB copied: the work is mostly
    /// waiting on sockets, and batches pass through without being decoded.
    /// Raise it for many flows or TLS-heavy traffic on a host with cores to
    /// spare.
    #[arg(long, global = true, env = "KMIRROR_THREADS", default_value_t = 1,
          value_parser = clap::value_parser!(u16).range(1..=1024))]
    threads: u16,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Replicate as the MM2 properties file says, until SIGTERM or Ctrl-C.
    #[command(after_help = EXIT_CODES)]
    Run(commands::run::RunArgs),
    /// Validate the file, reach every cluster and print what would be
    /// replicated where, without writing anything.
    #[command(after_help = EXIT_CODES)]
    Check(commands::check::CheckArgs),
    /// Consumer group offsets across clusters.
    #[command(subcommand)]
    Offsets(commands::offsets::OffsetsCommand),
    /// Show a running kmirror's flows, rates, lag and errors (from its REST
    /// API), refreshing in place on a terminal.
    Status(commands::status::StatusArgs),
    /// Write a canary record on each flow's source and check it arrives
    /// intact on its target; exits 1 naming the flows whose canary did not.
    Verify(commands::verify::VerifyArgs),
}

/// Exit code for a configuration that cannot be used.
pub const EXIT_CONFIG: u8 = 2;
/// Exit code for a cluster that cannot be reached or a run that failed.
pub const EXIT_FAILURE: u8 = 1;

/// The runtime with `threads` async threads. Multi-thread even with one:
/// blocking work then runs on its own pool, whatever the count.
fn async_runtime(threads: u16) -> std::io::Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(usize::from(threads))
        .enable_all()
        .build()
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    logging::init(&cli.log_format);
    let runtime = match async_runtime(cli.threads) {
        Ok(runtime) => runtime,
        Err(e) => {
            eprintln!("kmirror: cannot start the async runtime: {e}");
            return ExitCode::from(EXIT_FAILURE);
        }
    };
    let code = runtime.block_on(async {
        match cli.command {
            Command::Run(args) => commands::run::run(args).await,
            Command::Check(args) => commands::check::check(args).await,
            Command::Offsets(command) => commands::offsets::run(command).await,
            Command::Status(args) => commands::status::status(args).await,
            Command::Verify(args) => commands::verify::verify(args).await,
        }
    });
    // Do not wait for tasks stuck on unreachable brokers.
    runtime.shutdown_timeout(kmirror_engine::runtime::shutdown_budget::RUNTIME_STOP);
    ExitCode::from(code)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_async_thread_unless_asked_for_more() {
        let parse = |args: &[&str]| Cli::try_parse_from(args.iter().copied());
        let default = parse(&["kmirror", "check", "mm2.properties"]).unwrap();
        assert_eq!(default.threads, 1);
        let four = parse(&["kmirror", "check", "mm2.properties", "--threads", "4"]).unwrap();
        assert_eq!(four.threads, 4);
        let zero = parse(&["kmirror", "--threads", "0", "check", "mm2.properties"]).unwrap_err();
        assert!(zero.to_string().contains("--threads"), "{zero}");
        assert_eq!(async_runtime(1).unwrap().metrics().num_workers(), 1);
        assert_eq!(async_runtime(3).unwrap().metrics().num_workers(), 3);
    }
}
