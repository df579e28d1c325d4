//! The real Java producer and consumer, driven through `TestClient`: the
//! reference that kmirror's output is checked against.
//!
//! Each call is one JVM (about a second to start), so batch records into one
//! [`produce`] call rather than many.

use std::fmt::Write as _;
use std::time::Duration;

use base64::engine::general_purpose::STANDARD as BASE64;
use base64::Engine as _;
use serde::Deserialize;
use serde_json::{json, Value};

use crate::java::{tail, JavaCommand};

/// One record for the Java producer. `None` fields are left to the producer:
/// partitioner, current time.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TestRecord {
    /// The record's own topic, instead of the produce session's.
    pub topic: Option<String>,
    pub partition: Option<i32>,
    pub key: Option<Vec<u8>>,
    pub value: Option<Vec<u8>>,
    pub headers: Vec<(String, Option<Vec<u8>>)>,
    pub timestamp: Option<i64>,
}

impl TestRecord {
    /// An empty record: null key, null value, no headers.
    pub fn new() -> Self {
        Self::default()
    }

    pub fn key(mut self, key: impl Into<Vec<u8>>) -> Self {
        self.key = Some(key.into());
        self
    }

    pub fn value(mut self, value: impl Into<Vec<u8>>) -> Self {
        self.value = Some(value.into());
        self
    }

    /// Adds a header; `None` is a header with a null value.
    pub fn header(mut self, key: impl Into<String>, value: Option<&[u8]>) -> Self {
        self.headers.push((key.into(), value.map(<[u8]>::to_vec)));
        self
    }

    pub fn partition(mut self, partition: i32) -> Self {
        self.partition = Some(partition);
        self
    }

    /// Sends the record to `topic` rather than the produce session's topic,
    /// so that one producer can fill many topics.
    pub fn topic(mut self, topic: impl Into<String>) -> Self {
        self.topic = Some(topic.into());
        self
    }

    pub fn timestamp(mut self, timestamp_ms: i64) -> Self {
        self.timestamp = Some(timestamp_ms);
        self
    }

    fn to_json(&self) -> Value {
        json!({
            "topic": self.topic,
            "partition": self.partition,
            "key": self.key.as_deref().map(|k| BASE64.encode(k)),
            "value": self.value.as_deref().map(|v| BASE64.encode(v)),
            "headers": self.headers.iter()
                .map(|(k, v)| json!([k, v.as_deref().map(|v| BASE64.encode(v))]))
                .collect::<Vec<_>>(),
            "timestamp": self.timestamp,
        })
    }
}

/// One step of a produce session: a record, or a transaction/flush control.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ProduceStep {
    Record(TestRecord),
    /// `beginTransaction()`; needs [`ProduceOptions::transactional_id`].
    Begin,
    /// `commitTransaction()`.
    Commit,
    /// `flush()` then `abortTransaction()`: the flush makes the aborted
    /// records' offsets known.
    Abort,
    /// `flush()`.
    Flush,
}

impl From<TestRecord> for ProduceStep {
    fn from(record: TestRecord) -> Self {
        Self::Record(record)
    }
}

impl ProduceStep {
    /// The step as one input line of the `produce` test client, for a
    /// producer fed over time ([`crate::JavaCommand::spawn`]).
    pub fn input_line(&self) -> String {
        self.to_json().to_string()
    }

    fn to_json(&self) -> Value {
        match self {
            Self::Record(record) => record.to_json(),
            Self::Begin => json!({"txn": "begin"}),
            Self::Commit => json!({"txn": "commit"}),
            Self::Abort => json!({"txn": "abort"}),
            Self::Flush => json!({"flush": true}),
        }
    }
}

/// Producer-side compression codecs.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub enum Compression {
    #[default]
    None,
    Gzip,
    Snappy,
    Lz4,
    Zstd,
}

impl Compression {
    pub const ALL: [Self; 5] = [Self::None, Self::Gzip, Self::Snappy, Self::Lz4, Self::Zstd];

    /// The name Kafka's `compression.type` uses.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::None => "none",
            Self::Gzip => "gzip",
            Self::Snappy => "snappy",
            Self::Lz4 => "lz4",
            Self::Zstd => "zstd",
        }
    }
}

/// Java producer settings. `Default` is an idempotent producer with
/// `acks=all`, no compression, `linger.ms=0`.
#[derive(Debug, Clone, Default)]
pub struct ProduceOptions {
    pub compression: Compression,
    pub transactional_id: Option<String>,
    pub linger_ms: Option<u32>,
    pub batch_size: Option<u32>,
    /// `acks`; `None` is `all`.
    pub acks: Option<String>,
    /// Any other producer property.
    pub props: Vec<(String, String)>,
    /// How long the whole call may take (`None`: 120 s).
    pub timeout: Option<Duration>,
}

/// Consumer isolation level.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Isolation {
    /// Kafka's default: aborted and open transactions' records included.
    #[default]
    ReadUncommitted,
    ReadCommitted,
}

impl Isolation {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::ReadUncommitted => "read_uncommitted",
            Self::ReadCommitted => "read_committed",
        }
    }
}

/// Java consumer settings.
#[derive(Debug, Clone)]
pub struct ConsumeOptions {
    pub isolation: Isolation,
    /// Start at the log start (default) rather than the end; with a group,
    /// only where the group has no committed offset.
    pub from_beginning: bool,
    /// Stop after this many records.
    pub max_records: Option<usize>,
    /// Stop once this long passes without a new record (default 10 s).
    pub idle_timeout: Duration,
    /// Subscribe as this group instead of assigning all partitions.
    pub group: Option<String>,
    /// With a group: commit exactly the records returned.
    pub commit: bool,
    /// Without a group: read only these partitions.
    pub partitions: Option<Vec<i32>>,
    /// Any other consumer property.
    pub props: Vec<(String, String)>,
}

impl Default for ConsumeOptions {
    fn default() -> Self {
        Self {
            isolation: Isolation::default(),
            from_beginning: true,
            max_records: None,
            idle_timeout: Duration::from_secs(10),
            group: None,
            commit: false,
            partitions: None,
            props: Vec::new(),
        }
    }
}

impl ConsumeOptions {
    /// Reads up to `max_records` from the beginning, READ_COMMITTED.
    pub fn committed(max_records: usize) -> Self {
        Self {
            isolation: Isolation::ReadCommitted,
            max_records: Some(max_records),
            ..Self::default()
        }
    }
}

/// How a record's timestamp was set.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
pub enum TimestampType {
    CreateTime,
    LogAppendTime,
    NoTimestampType,
}

/// A record as the Java consumer returned it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConsumedRecord {
    pub partition: i32,
    pub offset: i64,
    pub key: Option<Vec<u8>>,
    pub value: Option<Vec<u8>>,
    pub headers: Vec<(String, Option<Vec<u8>>)>,
    pub timestamp: i64,
    pub timestamp_type: TimestampType,
}

impl ConsumedRecord {
    /// Whether key, value and headers equal what `sent` asked for, and so do
    /// partition and timestamp where `sent` fixed them.
    pub fn matches(&self, sent: &TestRecord) -> bool {
        self.key == sent.key
            && self.value == sent.value
            && self.headers == sent.headers
            && sent.partition.is_none_or(|p| p == self.partition)
            && sent.timestamp.is_none_or(|t| t == self.timestamp)
    }
}

/// Bulk-load settings for [`gen`].
#[derive(Debug, Clone)]
pub struct GenOptions {
    pub count: u64,
    /// Value size in bytes (keys are `k<i>`).
    pub size: usize,
    pub compression: Compression,
    /// Round-robin over the topic's partitions instead of hashing keys.
    pub partitions_from_topic: bool,
    /// `acks`; `None` is `all`.
    pub acks: Option<String>,
    /// `None`: 10 ms.
    pub linger_ms: Option<u32>,
    /// `None`: 256 KiB.
    pub batch_size: Option<u32>,
    pub props: Vec<(String, String)>,
    /// How long the whole call may take (`None`: 600 s).
    pub timeout: Option<Duration>,
}

impl GenOptions {
    pub fn new(count: u64, size: usize) -> Self {
        Self {
            count,
            size,
            compression: Compression::None,
            partitions_from_topic: false,
            acks: None,
            linger_ms: None,
            batch_size: None,
            props: Vec::new(),
            timeout: None,
        }
    }
}

/// What [`gen`] sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct GenReport {
    pub sent: u64,
    /// Keys plus values, uncompressed.
    pub bytes: u64,
    pub elapsed: Duration,
}

/// Sends `records` with the Java producer; returns each record's
/// `(partition, offset)` in order.
///
/// # Panics
/// If the producer fails (the message carries its stderr).
pub fn produce(
    bootstrap: &str,
    topic: &str,
    options: &ProduceOptions,
    records: &[TestRecord],
) -> Vec<(i32, i64)> {
    let steps: Vec<ProduceStep> = records.iter().cloned().map(ProduceStep::Record).collect();
    produce_steps(bootstrap, topic, options, &steps)
}

/// Runs a produce session of records and transaction steps; returns each
/// record's `(partition, offset)` in order, aborted ones included.
///
/// # Panics
/// If the producer fails (the message carries its stderr).
pub fn produce_steps(
    bootstrap: &str,
    topic: &str,
    options: &ProduceOptions,
    steps: &[ProduceStep],
) -> Vec<(i32, i64)> {
    let mut cmd = JavaCommand::test_client("produce")
        .args(["--bootstrap", bootstrap, "--topic", topic])
        .args(["--compression", options.compression.as_str()])
        .timeout(options.timeout.unwrap_or(Duration::from_secs(120)));
    if let Some(id) = &options.transactional_id {
        cmd = cmd.args(["--transactional-id", id]);
    }
    if let Some(linger) = options.linger_ms {
        cmd = cmd.args(["--linger-ms", &linger.to_string()]);
    }
    if let Some(size) = options.batch_size {
        cmd = cmd.args(["--batch-size", &size.to_string()]);
    }
    if let Some(acks) = &options.acks {
        cmd = cmd.args(["--acks", acks]);
    }
    cmd = with_props(cmd, &options.props);

    let mut input = String::new();
    for step in steps {
        writeln!(input, "{}", step.to_json()).expect("write to a String");
    }
    input.push_str("{\"end\":true}\n");

    #[derive(Deserialize)]
    struct Ack {
        partition: i32,
        offset: i64,
    }
    let acks: Vec<Ack> = run_json_lines(&cmd, input.as_bytes(), &format!("produce to {topic}"));
    let expected = steps
        .iter()
        .filter(|s| matches!(s, ProduceStep::Record(_)))
        .count();
    assert_eq!(
        acks.len(),
        expected,
        "produce to {topic}: {expected} records sent but {} acked",
        acks.len()
    );
    acks.into_iter().map(|a| (a.partition, a.offset)).collect()
}

/// Reads `topic` with the Java consumer.
///
/// # Panics
/// If the consumer fails (the message carries its stderr).
pub fn consume(bootstrap: &str, topic: &str, options: &ConsumeOptions) -> Vec<ConsumedRecord> {
    let mut cmd = JavaCommand::test_client("consume")
        .args(["--bootstrap", bootstrap, "--topic", topic])
        .args(["--isolation", options.isolation.as_str()])
        .args([
            "--timeout-ms",
            &options.idle_timeout.as_millis().to_string(),
        ])
        .timeout(options.idle_timeout + Duration::from_secs(120));
    if options.from_beginning {
        cmd = cmd.arg("--from-beginning");
    }
    if let Some(max) = options.max_records {
        cmd = cmd.args(["--max-records", &max.to_string()]);
    }
    if let Some(group) = &options.group {
        cmd = cmd.args(["--group", group]);
    }
    if options.commit {
        cmd = cmd.arg("--commit");
    }
    if let Some(partitions) = &options.partitions {
        let list: Vec<String> = partitions.iter().map(i32::to_string).collect();
        cmd = cmd.args(["--partitions", &list.join(",")]);
    }
    cmd = with_props(cmd, &options.props);

    #[derive(Deserialize)]
    #[serde(rename_all = "camelCase")]
    struct Line {
        partition: i32,
        offset: i64,
        key: Option<String>,
        value: Option<String>,
        headers: Vec<(String, Option<String>)>,
        timestamp: i64,
        timestamp_type: TimestampType,
    }
    let lines: Vec<Line> = run_json_lines(&cmd, b"", &format!("consume from {topic}"));
    lines
        .into_iter()
        .map(|l| ConsumedRecord {
            partition: l.partition,
            offset: l.offset,
            key: l.key.as_deref().map(decode),
            value: l.value.as_deref().map(decode),
            headers: l
                .headers
                .into_iter()
                .map(|(k, v)| (k, v.as_deref().map(decode)))
                .collect(),
            timestamp: l.timestamp,
            timestamp_type: l.timestamp_type,
        })
        .collect()
}

/// Bulk-loads `topic` with the Java producer (see [`GenOptions`]).
///
/// # Panics
/// If any send fails.
pub fn gen(bootstrap: &str, topic: &str, options: &GenOptions) -> GenReport {
    let mut cmd = JavaCommand::test_client("gen")
        .name(format!("TestClient gen {topic}"))
        // A load runs long enough for the full JIT to pay off.
        .fast_startup(false)
        .heap("1g")
        .args(["--bootstrap", bootstrap, "--topic", topic])
        .args(["--count", &options.count.to_string()])
        .args(["--size", &options.size.to_string()])
        .args(["--compression", options.compression.as_str()])
        .timeout(options.timeout.unwrap_or(Duration::from_secs(600)));
    if options.partitions_from_topic {
        cmd = cmd.arg("--partitions-from-topic");
    }
    if let Some(acks) = &options.acks {
        cmd = cmd.args(["--acks", acks]);
    }
    if let Some(linger) = options.linger_ms {
        cmd = cmd.args(["--linger-ms", &linger.to_string()]);
    }
    if let Some(size) = options.batch_size {
        cmd = cmd.args(["--batch-size", &size.to_string()]);
    }
    cmd = with_props(cmd, &options.props);

    #[derive(Deserialize)]
    #[serde(rename_all = "camelCase")]
    struct Report {
        sent: u64,
        bytes: u64,
        elapsed_ms: u64,
    }
    let mut reports: Vec<Report> = run_json_lines(&cmd, b"", &format!("gen into {topic}"));
    let report = reports
        .pop()
        .unwrap_or_else(|| panic!("gen into {topic} printed no report"));
    GenReport {
        sent: report.sent,
        bytes: report.bytes,
        elapsed: Duration::from_millis(report.elapsed_ms),
    }
}

fn with_props(mut cmd: JavaCommand, props: &[(String, String)]) -> JavaCommand {
    for (key, value) in props {
        cmd = cmd.args(["--prop", &format!("{key}={value}")]);
    }
    cmd
}

/// Runs a TestClient command and parses each stdout line as `T`.
fn run_json_lines<T: for<'de> Deserialize<'de>>(
    cmd: &JavaCommand,
    stdin: &[u8],
    what: &str,
) -> Vec<T> {
    let output = cmd.run(stdin);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        output.status.success(),
        "{what} failed ({}):\n{}",
        output.status,
        tail(&stderr, 60)
    );
    String::from_utf8_lossy(&output.stdout)
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| {
            serde_json::from_str(l)
                .unwrap_or_else(|e| panic!("{what}: unexpected output line {l:?}: {e}"))
        })
        .collect()
}

fn decode(text: &str) -> Vec<u8> {
    BASE64
        .decode(text)
        .unwrap_or_else(|e| panic!("TestClient printed invalid base64 {text:?}: {e}"))
}
