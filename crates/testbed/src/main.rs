//! `kmirror-testbed`: real Kafka clusters on loopback for the demo and the
//! benchmark scripts.
//!
//! ```text
//! kmirror-testbed up --clusters kafka-a,kafka-b [--brokers 3] [--state-file F]
//!                    [--broker-prop key=value]... [--fast-startup]
//!                    [--secured [--authorizer]]
//! kmirror-testbed classpath
//! ```
//!
//! `up` prints one `name=bootstrap` line per cluster once all serve, writes
//! the same lines to the state file, and keeps the clusters until SIGINT,
//! SIGTERM, or EOF on stdin when stdin is a pipe or a terminal (a script
//! that starts it with `&` gets /dev/null there, which is not watched). If
//! this process is killed outright, the brokers halt with it.
//!
//! With `--secured`, each cluster also has the secured listeners of
//! `SecuredListener`, and more lines follow: `<name>.<LISTENER>=<bootstrap>`
//! per listener, `<name>.user.<user>=<password>` per SASL user, and
//! `pki=<folder>` with the test PKI's files (see `testbed/README.md`).

use std::io::{BufRead as _, IsTerminal as _, Write as _};
use std::os::unix::fs::FileTypeExt as _;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread;
use std::time::Duration;

use anyhow::{anyhow, bail, Context as _};
use clap::{Parser, Subcommand};
use kmirror_testbed::{test_pki, KafkaCluster, SecuredListener, SecurityOptions};

#[derive(Debug, Parser)]
#[command(
    name = "kmirror-testbed",
    about = "Real Kafka clusters on loopback for kmirror"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Start clusters and keep them up until interrupted.
    Up {
        /// Comma-separated cluster names.
        #[arg(long, value_delimiter = ',', required = true)]
        clusters: Vec<String>,
        /// Brokers per cluster.
        #[arg(long, default_value_t = 1)]
        brokers: usize,
        /// Also write the `name=bootstrap` lines to this file (removed on exit).
        #[arg(long)]
        state_file: Option<PathBuf>,
        /// A broker property for every cluster, `key=value` (repeatable).
        #[arg(long = "broker-prop", value_name = "KEY=VALUE")]
        broker_props: Vec<String>,
        /// C1-only JIT for the brokers: start a second sooner, run slower.
        /// Off by default, since `up` serves demos and benchmarks.
        #[arg(long)]
        fast_startup: bool,
        /// Add the secured listeners (SASL_SSL, SSL with client certificates,
        /// SASL_PLAINTEXT, bad-certificate ones) with the test PKI.
        #[arg(long)]
        secured: bool,
        /// With --secured: the StandardAuthorizer (super users ANONYMOUS and admin).
        #[arg(long, requires = "secured")]
        authorizer: bool,
    },
    /// Print the Java class path (test-bed helpers and Kafka's jars), for
    /// running Kafka tools or MirrorMaker 2 by hand.
    Classpath,
}

fn main() {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Up {
            clusters,
            brokers,
            state_file,
            broker_props,
            fast_startup,
            secured,
            authorizer,
        } => {
            let security = secured.then(|| {
                let options = SecurityOptions::new();
                if authorizer {
                    options.authorizer()
                } else {
                    options
                }
            });
            up(
                &clusters,
                brokers,
                state_file.as_deref(),
                &broker_props,
                fast_startup,
                security.as_ref(),
            )
        }
        Command::Classpath => {
            println!("{}", kmirror_testbed::classpath());
            Ok(())
        }
    };
    if let Err(failure) = result {
        eprintln!("kmirror-testbed: {failure:#}");
        std::process::exit(1);
    }
}

fn up(
    names: &[String],
    brokers: usize,
    state_file: Option<&Path>,
    broker_props: &[String],
    fast_startup: bool,
    security: Option<&SecurityOptions>,
) -> anyhow::Result<()> {
    let mut props = Vec::new();
    for prop in broker_props {
        let (key, value) = prop
            .split_once('=')
            .ok_or_else(|| anyhow!("--broker-prop wants key=value, got {prop:?}"))?;
        props.push((key.to_string(), value.to_string()));
    }

    // Register before starting anything: a Ctrl-C during startup must still
    // tear down cleanly rather than kill us mid-way.
    let stop = Arc::new(AtomicBool::new(false));
    for signal in [signal_hook::consts::SIGINT, signal_hook::consts::SIGTERM] {
        signal_hook::flag::register(signal, Arc::clone(&stop))
            .with_context(|| format!("cannot handle signal {signal}"))?;
    }
    if stdin_is_watched() {
        let stop = Arc::clone(&stop);
        thread::spawn(move || {
            for line in std::io::stdin().lock().lines() {
                if line.is_err() {
                    break;
                }
            }
            stop.store(true, Ordering::SeqCst);
        });
    }

    // Started side by side: on two cores that still nearly halves the wait.
    let clusters: Vec<KafkaCluster> = thread::scope(|scope| {
        let handles: Vec<_> = names
            .iter()
            .map(|name| {
                let props = props.clone();
                scope.spawn(move || {
                    let mut builder = KafkaCluster::builder(name)
                        .brokers(brokers)
                        .fast_startup(fast_startup);
                    for (key, value) in props {
                        builder = builder.broker_prop(key, value);
                    }
                    if let Some(security) = security {
                        builder = builder.secured(security.clone());
                    }
                    builder.start()
                })
            })
            .collect();
        let results: Vec<_> = handles.into_iter().map(|h| h.join()).collect();
        if results.iter().any(Result::is_err) {
            // The panic message is already on stderr; the clusters that did
            // start are dropped (and stopped) here.
            bail!("a cluster failed to start");
        }
        Ok(results.into_iter().map(|r| r.expect("checked")).collect())
    })?;

    let mut lines = String::new();
    for cluster in &clusters {
        lines.push_str(&format!("{}={}\n", cluster.name(), cluster.bootstrap()));
    }
    if let Some(security) = security {
        for cluster in &clusters {
            for listener in SecuredListener::ALWAYS {
                let name = listener.name();
                let bootstrap = cluster.listener_bootstrap(name);
                lines.push_str(&format!("{}.{name}={bootstrap}\n", cluster.name()));
            }
            for user in security.users() {
                let (name, password) = (&user.name, &user.password);
                lines.push_str(&format!("{}.user.{name}={password}\n", cluster.name()));
            }
        }
        lines.push_str(&format!("pki={}\n", test_pki().dir.display()));
    }
    if let Some(path) = state_file {
        write_atomically(path, &lines)?;
    }
    print!("{lines}");
    std::io::stdout().flush().ok();

    let mut reported_dead = vec![vec![false; brokers]; clusters.len()];
    while !stop.load(Ordering::SeqCst) {
        for (c, cluster) in clusters.iter().enumerate() {
            for (b, reported) in reported_dead[c].iter_mut().enumerate() {
                if !*reported && !cluster.is_broker_running(b) {
                    *reported = true;
                    eprintln!(
                        "kmirror-testbed: broker {b} of {} exited; see {}",
                        cluster.name(),
                        cluster.broker_log(b).display()
                    );
                }
            }
        }
        thread::sleep(Duration::from_millis(200));
    }

    eprintln!("kmirror-testbed: stopping");
    if let Some(path) = state_file {
        let _ = std::fs::remove_file(path);
    }
    drop(clusters);
    Ok(())
}

/// Whether stdin EOF should stop us: only for a pipe or a terminal, where
/// EOF means the other end is done, not for /dev/null.
fn stdin_is_watched() -> bool {
    if std::io::stdin().is_terminal() {
        return true;
    }
    std::fs::metadata("/proc/self/fd/0").is_ok_and(|m| m.file_type().is_fifo())
}

fn write_atomically(path: &Path, text: &str) -> anyhow::Result<()> {
    let staging = path.with_extension("tmp");
    std::fs::write(&staging, text)
        .and_then(|()| std::fs::rename(&staging, path))
        .with_context(|| format!("cannot write {}", path.display()))
}
