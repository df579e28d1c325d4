//! CPU time and memory of a process, read from Linux's `/proc`.
//!
//! A replicator's cost is measured on its own process, apart from the
//! brokers': `utime + stime` (plus `cutime + cstime`, the CPU of children it
//! waited for) from `/proc/<pid>/stat`, and the peak resident set `VmHWM`
//! from `/proc/<pid>/status`, which the kernel keeps as a high-water mark so
//! that no sampling can miss a short peak. Both must be read while the
//! process is alive (before it is killed and reaped).

use std::fs;
use std::io;
use std::time::Duration;

/// Clock ticks per second of `/proc/<pid>/stat` times. Linux reports them in
/// `USER_HZ`, which is 100 on every architecture it runs on today.
const USER_HZ: u64 = 100;

/// A snapshot of one process's resource use.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ProcStats {
    /// User plus system CPU of the process and its reaped children.
    pub cpu: Duration,
    /// Peak resident set size (`VmHWM`), in bytes.
    pub peak_rss: u64,
    /// Current resident set size (`VmRSS`), in bytes.
    pub rss: u64,
    /// Minor page faults so far (`minflt`): first touches of fresh memory,
    /// a cost each process pays once for its buffers whatever its share.
    pub minor_faults: u64,
}

impl ProcStats {
    /// Reads the stats of process `pid`.
    pub fn of(pid: u32) -> io::Result<Self> {
        Self::read(&format!("/proc/{pid}"))
    }

    /// Reads the stats of this process.
    pub fn of_self() -> io::Result<Self> {
        Self::read("/proc/self")
    }

    fn read(dir: &str) -> io::Result<Self> {
        let stat = fs::read_to_string(format!("{dir}/stat"))?;
        let status = fs::read_to_string(format!("{dir}/status"))?;
        Ok(ProcStats {
            cpu: parse_cpu(&stat).ok_or_else(|| malformed(dir, "stat"))?,
            peak_rss: status_kib(&status, "VmHWM:").unwrap_or(0) * 1024,
            rss: status_kib(&status, "VmRSS:").unwrap_or(0) * 1024,
            minor_faults: parse_minor_faults(&stat).ok_or_else(|| malformed(dir, "stat"))?,
        })
    }

    pub fn cpu_seconds(&self) -> f64 {
        self.cpu.as_secs_f64()
    }

    pub fn peak_rss_mib(&self) -> f64 {
        self.peak_rss as f64 / (1024.0 * 1024.0)
    }
}

/// CPU time the whole machine spent busy (every CPU, all processes and the
/// kernel; idle and I/O wait left out), from `/proc/stat`.
pub fn machine_busy() -> io::Result<Duration> {
    let stat = fs::read_to_string("/proc/stat")?;
    parse_machine_busy(&stat).ok_or_else(|| malformed("/proc", "stat"))
}

fn parse_machine_busy(stat: &str) -> Option<Duration> {
    let line = stat.lines().find(|l| l.starts_with("cpu "))?;
    let ticks: Vec<u64> = line
        .split_whitespace()
        .skip(1)
        .map(|v| v.parse().ok())
        .collect::<Option<_>>()?;
    // user nice system idle iowait irq softirq steal (guest time is
    // already counted in user).
    let busy: u64 = ticks.iter().take(8).sum::<u64>() - ticks.get(3)? - ticks.get(4)?;
    Some(Duration::from_millis(busy * 1000 / USER_HZ))
}

/// CPU time of the process's live threads to the nanosecond: the sum of
/// the first field (time on CPU, ns) of `/proc/<pid>/task/*/schedstat`.
/// Threads that already exited are not counted, so this suits differences
/// over a phase in which a process keeps its threads (a tokio runtime's
/// workers), not lifetime totals.
pub fn threads_cpu(pid: u32) -> io::Result<Duration> {
    let dir = format!("/proc/{pid}/task");
    let mut total = Duration::ZERO;
    for entry in fs::read_dir(&dir)?.flatten() {
        // A thread can exit between the listing and the read.
        let Ok(text) = fs::read_to_string(entry.path().join("schedstat")) else {
            continue;
        };
        let ns = parse_schedstat(&text).ok_or_else(|| malformed(&dir, "*/schedstat"))?;
        total += Duration::from_nanos(ns);
    }
    Ok(total)
}

/// Nanoseconds on CPU from a `schedstat` line (`<run ns> <wait ns> <slices>`).
fn parse_schedstat(text: &str) -> Option<u64> {
    text.split_whitespace().next()?.parse().ok()
}

fn malformed(dir: &str, file: &str) -> io::Error {
    io::Error::new(
        io::ErrorKind::InvalidData,
        format!("{dir}/{file} is not in the expected format"),
    )
}

/// `utime + stime + cutime + cstime` of a `/proc/<pid>/stat` line. The
/// command name (field 2) may contain spaces and parentheses, so fields are
/// counted from the last `)`.
fn parse_cpu(stat: &str) -> Option<Duration> {
    let rest = &stat[stat.rfind(')')? + 1..];
    let fields: Vec<&str> = rest.split_whitespace().collect();
    // `rest` starts at field 3 (state): utime is field 14, cstime field 17.
    let ticks: u64 = fields
        .get(11..15)?
        .iter()
        .map(|f| f.parse::<i64>().ok().map(|t| t.max(0) as u64))
        .sum::<Option<u64>>()?;
    Some(Duration::from_millis(ticks * 1000 / USER_HZ))
}

/// `minflt` (field 10) of a `/proc/<pid>/stat` line, counted from the last
/// `)` as in [`parse_cpu`].
fn parse_minor_faults(stat: &str) -> Option<u64> {
    let rest = &stat[stat.rfind(')')? + 1..];
    // `rest` starts at field 3, so field 10 is its eighth.
    rest.split_whitespace().nth(7)?.parse().ok()
}

/// A `Key:   1234 kB` line of `/proc/<pid>/status`, in KiB.
fn status_kib(status: &str, key: &str) -> Option<u64> {
    status
        .lines()
        .find_map(|line| line.strip_prefix(key))
        .and_then(|v| v.split_whitespace().next())
        .and_then(|v| v.parse().ok())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_stat_with_a_tricky_command_name() {
        let stat = "4242 (java (x) y) S 1 2 3 4 5 6 7 8 9 10 150 50 7 3 20 0 30 0 100 0";
        assert_eq!(parse_cpu(stat), Some(Duration::from_millis(2100)));
        assert_eq!(parse_minor_faults(stat), Some(7));
        assert_eq!(parse_minor_faults("4242 (x) S 1 2"), None);
    }

    #[test]
    fn parses_status_sizes() {
        let status = "Name:\tkmirror\nVmHWM:\t   20480 kB\nVmRSS:\t   10240 kB\n";
        assert_eq!(status_kib(status, "VmHWM:"), Some(20480));
        assert_eq!(status_kib(status, "VmRSS:"), Some(10240));
        assert_eq!(status_kib(status, "VmSwap:"), None);
    }

    #[test]
    fn parses_machine_busy_time() {
        let stat = "cpu  100 5 50 1000 20 1 2 3 0 0\ncpu0 50 2 25 500 10 0 1 1 0 0\n";
        assert_eq!(parse_machine_busy(stat), Some(Duration::from_millis(1610)));
    }

    #[test]
    fn parses_schedstat_and_reads_this_process_threads() {
        assert_eq!(parse_schedstat("3236462 1665663 4\n"), Some(3_236_462));
        assert_eq!(parse_schedstat(""), None);
        // Burn some CPU so that the sum cannot be zero.
        let mut x = 0u64;
        for i in 0..2_000_000u64 {
            x = std::hint::black_box(x.wrapping_mul(31).wrapping_add(i));
        }
        assert!(threads_cpu(std::process::id()).unwrap() > Duration::ZERO);
    }

    #[test]
    fn reads_this_process() {
        let stats = ProcStats::of_self().unwrap();
        assert!(stats.peak_rss >= stats.rss && stats.rss > 0, "{stats:?}");
        // Loading the test binary alone faults pages in.
        assert!(stats.minor_faults > 0, "{stats:?}");
    }
}
