//! Traffic that goes on while kmirror is killed, stopped or paused, and the
//! checks of what arrived: every record, in order, and how many twice.

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

use base64::engine::general_purpose::STANDARD as BASE64;
use base64::Engine as _;
use kmirror_testbed::{ConsumeOptions, JavaCommand, JavaProcess, KafkaCluster};

/// A Java producer (`TestClient produce`, idempotent, `acks=all`,
/// `linger.ms=0`) fed one record at a time through its stdin.
pub struct StreamProducer {
    topic: String,
    process: JavaProcess,
    sent: usize,
    acks: Vec<(i32, i64)>,
}

impl StreamProducer {
    pub fn start(cluster: &KafkaCluster, topic: &str) -> Self {
        let process = JavaCommand::test_client("produce")
            .name(format!("stream producer to {topic}"))
            .args(["--bootstrap", &cluster.bootstrap(), "--topic", topic])
            .spawn();
        StreamProducer {
            topic: topic.to_string(),
            process,
            sent: 0,
            acks: Vec::new(),
        }
    }

    /// Hands one record to the producer (sent at once, acknowledged later).
    pub fn send(&mut self, partition: i32, key: &str, value: &[u8]) {
        let line = serde_json::json!({
            "partition": partition,
            "key": BASE64.encode(key),
            "value": BASE64.encode(value),
            "headers": [],
            "timestamp": null,
        });
        self.process.write_line(&line.to_string());
        self.sent += 1;
    }

    pub fn sent(&self) -> usize {
        self.sent
    }

    /// Collects the acknowledgements printed so far; returns how many
    /// records are acknowledged.
    pub fn poll_acks(&mut self) -> usize {
        while let Some(line) = self.process.read_line(Duration::ZERO) {
            self.acks.push(parse_ack(&line, &self.topic));
        }
        self.acks.len()
    }

    /// Flushes, waits for every acknowledgement and the producer's exit;
    /// returns each record's `(partition, offset)` in send order.
    pub fn finish(mut self, timeout: Duration) -> Vec<(i32, i64)> {
        self.process.write_line("{\"end\":true}");
        let deadline = Instant::now() + timeout;
        while self.acks.len() < self.sent {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.process.read_line(left) {
                Some(line) => self.acks.push(parse_ack(&line, &self.topic)),
                None => panic!(
                    "producer to {}: {} of {} records acknowledged; output:\n{}",
                    self.topic,
                    self.acks.len(),
                    self.sent,
                    self.process.output_tail(40)
                ),
            }
        }
        let status = self.process.wait_timeout(Duration::from_secs(30));
        assert!(
            status.is_some_and(|s| s.success()),
            "producer to {} exited with {status:?}:\n{}",
            self.topic,
            self.process.output_tail(40)
        );
        self.acks
    }
}

fn parse_ack(line: &str, topic: &str) -> (i32, i64) {
    let ack: serde_json::Value = serde_json::from_str(line)
        .unwrap_or_else(|e| panic!("producer to {topic} printed {line:?}: {e}"));
    (
        ack["partition"].as_i64().unwrap() as i32,
        ack["offset"].as_i64().unwrap(),
    )
}

/// The value of record `seq` of `partition` in a [`Load`]: `"<p>:<seq>:"`
/// and some padding.
pub fn load_value(partition: i32, seq: u64) -> Vec<u8> {
    format!("{partition}:{seq}:{}", "x".repeat(64)).into_bytes()
}

/// Parses a value written by [`Load`] into `(partition, seq)`.
pub fn parse_load_value(value: &[u8]) -> (i32, u64) {
    let text = std::str::from_utf8(value).expect("load values are UTF-8");
    let mut parts = text.split(':');
    let p = parts.next().and_then(|p| p.parse().ok());
    let s = parts.next().and_then(|s| s.parse().ok());
    match (p, s) {
        (Some(p), Some(s)) => (p, s),
        _ => panic!("not a load value: {text:?}"),
    }
}

/// Steady traffic from a background thread: records round-robin over the
/// topic's partitions at a fixed rate, record `seq` of partition `p` with
/// value [`load_value`]`(p, seq)`, until stopped or `total` were sent.
pub struct Load {
    stop: Arc<AtomicBool>,
    sent: Arc<AtomicUsize>,
    send_times: Arc<Mutex<Vec<(i32, Instant)>>>,
    thread: Option<thread::JoinHandle<Vec<(i32, i64)>>>,
    partitions: i32,
}

/// What a finished [`Load`] sent.
#[derive(Debug, Clone)]
pub struct LoadReport {
    /// Records sent to each partition.
    pub per_partition: Vec<u64>,
    /// When each record was handed to the producer, with its partition.
    pub send_times: Vec<(i32, Instant)>,
}

impl LoadReport {
    /// Records of `partition` sent in `[from, to]`.
    pub fn sent_between(&self, partition: i32, from: Instant, to: Instant) -> u64 {
        self.send_times
            .iter()
            .filter(|(p, t)| *p == partition && *t >= from && *t <= to)
            .count() as u64
    }

    pub fn total(&self) -> u64 {
        self.per_partition.iter().sum()
    }
}

impl Load {
    /// Starts `per_second` records a second (in ticks of 10 ms) into
    /// `topic`, which has `partitions` partitions.
    pub fn start(
        cluster: &KafkaCluster,
        topic: &str,
        partitions: i32,
        per_second: u32,
        total: usize,
    ) -> Self {
        let stop = Arc::new(AtomicBool::new(false));
        let sent = Arc::new(AtomicUsize::new(0));
        let send_times = Arc::new(Mutex::new(Vec::with_capacity(total)));
        let mut producer = StreamProducer::start(cluster, topic);
        let thread = {
            let (stop, sent, send_times) = (stop.clone(), sent.clone(), send_times.clone());
            thread::spawn(move || {
                let tick = Duration::from_millis(10);
                let per_tick = (per_second as usize / 100).max(1);
                let mut seqs = vec![0u64; partitions as usize];
                let started = Instant::now();
                let mut n = 0usize;
                'ticks: for round in 1u32.. {
                    for _ in 0..per_tick {
                        if n == total || stop.load(Ordering::Relaxed) {
                            break 'ticks;
                        }
                        let p = (n % partitions as usize) as i32;
                        let seq = seqs[p as usize];
                        seqs[p as usize] += 1;
                        producer.send(p, &format!("k{p}-{seq}"), &load_value(p, seq));
                        send_times.lock().unwrap().push((p, Instant::now()));
                        n += 1;
                        sent.store(n, Ordering::Relaxed);
                    }
                    producer.poll_acks();
                    // A fixed rate, not a wait for a condition.
                    let next = started + tick * round;
                    thread::sleep(next.saturating_duration_since(Instant::now()));
                }
                producer.finish(Duration::from_secs(60))
            })
        };
        Load {
            stop,
            sent,
            send_times,
            thread: Some(thread),
            partitions,
        }
    }

    /// Records handed to the producer so far.
    pub fn sent(&self) -> usize {
        self.sent.load(Ordering::Relaxed)
    }

    pub fn is_done(&self) -> bool {
        self.thread.as_ref().is_none_or(|t| t.is_finished())
    }

    /// Stops sending (if not done yet), waits for every acknowledgement.
    pub fn finish(mut self) -> LoadReport {
        self.stop.store(true, Ordering::Relaxed);
        let acks = self
            .thread
            .take()
            .unwrap()
            .join()
            .expect("the load thread panicked");
        let mut per_partition = vec![0u64; self.partitions as usize];
        for (p, _) in &acks {
            per_partition[*p as usize] += 1;
        }
        LoadReport {
            per_partition,
            send_times: std::mem::take(&mut *self.send_times.lock().unwrap()),
        }
    }
}

impl Drop for Load {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
    }
}

/// Every record of `topic`, values parsed as [`load_value`]s, the
/// sequence numbers of each partition in offset order.
pub fn read_load(cluster: &KafkaCluster, topic: &str, partitions: i32) -> Vec<Vec<u64>> {
    let expected: i64 = cluster.end_offsets(topic).iter().sum();
    let mut options = ConsumeOptions::committed(expected as usize);
    options.idle_timeout = Duration::from_secs(10);
    let sequences = read_load_with(cluster, topic, partitions, &options);
    let read: usize = sequences.iter().map(Vec::len).sum();
    assert_eq!(
        read as i64,
        expected,
        "{topic} on {}: read fewer records than its end offsets",
        cluster.name()
    );
    sequences
}

/// [`read_load`] with the Java consumer's `options`, no count expected
/// (a topic written in transactions has offsets that hold no record).
pub fn read_load_with(
    cluster: &KafkaCluster,
    topic: &str,
    partitions: i32,
    options: &ConsumeOptions,
) -> Vec<Vec<u64>> {
    let mut records = cluster.consume(topic, options);
    records.sort_by_key(|r| (r.partition, r.offset));
    let mut out = vec![Vec::new(); partitions as usize];
    for record in records {
        let (p, seq) = parse_load_value(record.value.as_deref().unwrap_or_default());
        assert_eq!(
            p, record.partition,
            "{topic}: record of {p} in {}",
            record.partition
        );
        out[p as usize].push(seq);
    }
    out
}

/// The sequence numbers of each partition of `topic` as Kafka's Java
/// consumer reads them in read_committed, read again until every partition
/// holds every number `0..counts[p]` (a replay past the end could still be
/// arriving), within two minutes.
pub fn read_committed_complete(
    cluster: &KafkaCluster,
    topic: &str,
    counts: &[u64],
) -> Vec<Vec<u64>> {
    let partitions = counts.len() as i32;
    let options = ConsumeOptions {
        max_records: None,
        idle_timeout: Duration::from_secs(5),
        ..ConsumeOptions::committed(0)
    };
    let mut target = read_load_with(cluster, topic, partitions, &options);
    super::wait_until(
        "the target to hold every record",
        Duration::from_secs(120),
        || {
            let complete = (0..counts.len()).all(|p| check_replay(&target[p], counts[p]).is_ok());
            if !complete {
                target = read_load_with(cluster, topic, partitions, &options);
            }
            complete
        },
    );
    target
}

/// How a target partition compares with its source partition `0..count`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Replay {
    /// Records on the target beyond the `count` distinct ones.
    pub duplicates: usize,
    /// Times the target went back to an earlier record (a restart that
    /// re-copied from its last durable position).
    pub rewinds: usize,
}

/// Checks that `target` holds every sequence number `0..count` of one
/// source partition, in order, as runs of consecutive records where each
/// run starts at or before the end of what came before it (a replay after a
/// restart), never past it (a gap). Returns the duplicates and rewinds.
pub fn check_replay(target: &[u64], count: u64) -> Result<Replay, String> {
    let mut covered = 0u64;
    let mut rewinds = 0;
    let mut previous: Option<u64> = None;
    for (i, &seq) in target.iter().enumerate() {
        if seq >= count {
            return Err(format!(
                "record #{i} is seq {seq}, never produced (count {count})"
            ));
        }
        match previous {
            None if seq != 0 => return Err(format!("first record is seq {seq}, not 0")),
            Some(p) if seq == p + 1 => {}
            Some(p) if seq <= p => rewinds += 1,
            Some(p) => {
                return Err(format!("gap: record #{i} is seq {seq} right after {p}"));
            }
            None => {}
        }
        covered = covered.max(seq + 1);
        previous = Some(seq);
    }
    if covered != count {
        return Err(format!(
            "missing records: seq {covered}..{count} never arrived"
        ));
    }
    Ok(Replay {
        duplicates: target.len() - count as usize,
        rewinds,
    })
}
