//! Bytes a process sent and received over its open TCP connections, from
//! the kernel's per-socket counters (`ss -tinp`: `bytes_sent`,
//! `bytes_received` of `tcp_info`).
//!
//! `/proc/<pid>/io` cannot tell this: it counts `read`/`write` but not
//! `recv`/`send`, which Rust's sockets use and Java's do not, so the two
//! replicators would be measured differently. The kernel's socket counters
//! are the same for both. Connections closed between two readings are not
//! counted; a replicator at rest keeps its connections.

use std::io;
use std::process::Command;

/// Sent and received bytes over the open TCP connections of one process.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SocketBytes {
    pub sent: u64,
    pub received: u64,
}

impl SocketBytes {
    /// Reads the counters of every open TCP connection of `pid`.
    pub fn of(pid: u32) -> io::Result<Self> {
        let output = Command::new("ss").args(["-tinpH"]).output()?;
        if !output.status.success() {
            return Err(io::Error::other(format!(
                "ss -tinpH failed: {}",
                String::from_utf8_lossy(&output.stderr).trim()
            )));
        }
        Ok(parse_ss(&String::from_utf8_lossy(&output.stdout), pid))
    }
}

/// Sums the counters of the sockets `ss -tinpH` lists for `pid`: a socket's
/// line names its users (`users:(("kmirror",pid=42,fd=9))`), and the
/// indented line after it holds its `tcp_info`.
fn parse_ss(text: &str, pid: u32) -> SocketBytes {
    let owner = format!("pid={pid},");
    let mut total = SocketBytes::default();
    let mut ours = false;
    for line in text.lines() {
        if !line.starts_with(char::is_whitespace) {
            ours = line.contains(&owner);
            // `ss` may print the counters on the socket's own line too.
            if !ours {
                continue;
            }
        } else if !ours {
            continue;
        }
        total.sent += counter(line, "bytes_sent:");
        total.received += counter(line, "bytes_received:");
    }
    total
}

fn counter(line: &str, key: &str) -> u64 {
    line.split_whitespace()
        .find_map(|field| field.strip_prefix(key))
        .and_then(|v| v.parse().ok())
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sums_the_sockets_of_one_process_only() {
        let text = "\
ESTAB 0 0 127.0.0.1:5000 127.0.0.1:9092 users:((\"kmirror\",pid=42,fd=9))
\t cubic wscale:7,7 rto:204 bytes_sent:1000 bytes_acked:1000 bytes_received:5000 segs_out:3
ESTAB 0 0 127.0.0.1:5001 127.0.0.1:9092 users:((\"java\",pid=420,fd=9))
\t cubic bytes_sent:7 bytes_received:7
ESTAB 0 0 127.0.0.1:5002 127.0.0.1:9093 users:((\"kmirror\",pid=42,fd=10))
\t cubic bytes_sent:24 bytes_received:76
";
        assert_eq!(
            parse_ss(text, 42),
            SocketBytes {
                sent: 1024,
                received: 5076
            }
        );
        assert_eq!(parse_ss(text, 4), SocketBytes::default());
    }

    #[test]
    fn reads_this_machine_without_failing() {
        // No socket of a process that does not exist.
        assert_eq!(SocketBytes::of(u32::MAX).unwrap(), SocketBytes::default());
    }
}
