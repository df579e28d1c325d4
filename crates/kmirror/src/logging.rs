//! Structured logs through `tracing`, as text or JSON lines.

use std::fmt::Display;
use std::io::IsTerminal as _;
use std::sync::atomic::{AtomicBool, Ordering};

use tracing_subscriber::EnvFilter;

/// Whether log lines are JSON (set once by [`init`]).
static JSON: AtomicBool = AtomicBool::new(false);

/// Installs the global subscriber. `KMIRROR_LOG` (or `RUST_LOG`) sets the
/// filter, default `info`.
pub fn init(format: &str) {
    let filter = std::env::var("KMIRROR_LOG")
        .ok()
        .or_else(|| std::env::var("RUST_LOG").ok())
        .unwrap_or_else(|| "info".to_string());
    let builder = tracing_subscriber::fmt()
        .with_env_filter(EnvFilter::new(filter))
        .with_writer(std::io::stderr)
        // Colours only on a terminal: a log file or journal gets plain text
        // that grep and log shippers read as is.
        .with_ansi(std::io::stderr().is_terminal())
        .with_target(false);
    JSON.store(format == "json", Ordering::Relaxed);
    if format == "json" {
        builder.json().flatten_event(true).init();
    } else {
        builder.init();
    }
}

/// The one line that says why a command stops: `kmirror: <message>` on
/// stderr, or an ERROR log line when the logs are JSON (a log shipper then
/// reads it like every other line). Logs and this line share stderr: never
/// both, or the operator reads every failure twice.
pub fn fatal(message: &dyn Display) {
    if JSON.load(Ordering::Relaxed) {
        tracing::error!("{message}");
    } else {
        eprintln!("kmirror: {message}");
    }
}
