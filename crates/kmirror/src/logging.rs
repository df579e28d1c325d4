//! Structured logs through `tracing`, as text or JSON lines.

use std::io::IsTerminal as _;

use tracing_subscriber::EnvFilter;

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
    if format == "json" {
        builder.json().flatten_event(true).init();
    } else {
        builder.init();
    }
}
