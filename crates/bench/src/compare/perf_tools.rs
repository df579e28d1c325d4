//! Kafka's own perf tools (ProducerPerformance, ConsumerPerformance) as the
//! ceiling scenario runs them: their input and their output.

use std::fmt::Write as _;
use std::path::Path;

use anyhow::{bail, Result};

/// Records/s from ConsumerPerformance's CSV line (`fetch.nMsg.sec`, the
/// rate without the group join).
pub(super) fn parse_consumer_performance(stdout: &str) -> Option<f64> {
    let mut lines = stdout.lines().filter(|l| !l.trim().is_empty());
    let header: Vec<&str> = lines
        .find(|l| l.contains("fetch.nMsg.sec"))?
        .split(',')
        .map(str::trim)
        .collect();
    let values: Vec<&str> = lines.next()?.split(',').map(str::trim).collect();
    let index = header.iter().position(|h| *h == "fetch.nMsg.sec")?;
    values.get(index)?.parse().ok()
}

/// Records/s from ProducerPerformance's summary line
/// (`N records sent, R records/sec (M MB/sec), ...`).
pub(super) fn parse_producer_performance(stdout: &str) -> Option<f64> {
    let line = stdout.lines().rev().find(|l| l.contains("records sent"))?;
    let rate = line.split(',').nth(1)?.trim();
    rate.split_whitespace().next()?.parse().ok()
}

/// Payloads for ProducerPerformance like the test bed's loader writes: text
/// cut from a pool of random words (neither random bytes nor constant), one
/// per line.
pub(super) fn write_payload_file(path: &Path, size: usize) -> Result<()> {
    use rand::{Rng as _, SeedableRng as _};
    let mut rng = rand::rngs::StdRng::seed_from_u64(42);
    let words: Vec<String> = (0..512)
        .map(|_| {
            let len = rng.gen_range(3..11);
            (0..len)
                .map(|_| rng.gen_range(b'a'..=b'z') as char)
                .collect()
        })
        .collect();
    let mut text = String::new();
    for _ in 0..1000 {
        let mut line = String::with_capacity(size + 16);
        while line.len() < size {
            line.push_str(&words[rng.gen_range(0..words.len())]);
            line.push(if rng.gen_range(0..10) == 0 { ',' } else { ' ' });
        }
        line.truncate(size);
        writeln!(text, "{line}").expect("write to a String");
    }
    std::fs::write(path, text)?;
    Ok(())
}

/// The standard output of one of Kafka's perf tools, or why it failed.
pub(super) fn tool_stdout(tool: &str, output: &std::process::Output) -> Result<String> {
    if !output.status.success() {
        bail!(
            "{tool} failed ({}): {}",
            output.status,
            String::from_utf8_lossy(&output.stderr)
        );
    }
    Ok(String::from_utf8_lossy(&output.stdout).into_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_perf_tool_output() {
        let consumer = "start.time, end.time, data.consumed.in.MB, MB.sec, data.consumed.in.nMsg, nMsg.sec, rebalance.time.ms, fetch.time.ms, fetch.MB.sec, fetch.nMsg.sec\n\
            2024-01-01 00:00:00:000, 2024-01-01 00:00:10:000, 976.5625, 97.6563, 1000000, 100000.0000, 3000, 7000, 139.5089, 142857.1429\n";
        assert_eq!(parse_consumer_performance(consumer), Some(142857.1429));
        let producer = "500000 records sent, 99990.0 records/sec (97.65 MB/sec), 3.0 ms avg latency, 300.0 ms max latency.\n\
            1000000 records sent, 120000.5 records/sec (117.19 MB/sec), 200.10 ms avg latency, 800.00 ms max latency, 150 ms 50th, 600 ms 95th, 700 ms 99th, 790 ms 99.9th.\n";
        assert_eq!(parse_producer_performance(producer), Some(120000.5));
    }

    #[test]
    fn payload_lines_have_the_record_size() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("p.txt");
        write_payload_file(&path, 100).unwrap();
        let text = std::fs::read_to_string(path).unwrap();
        assert_eq!(text.lines().count(), 1000);
        assert!(text.lines().all(|l| l.len() == 100));
    }
}
