//! Every Prometheus metric kmirror exports, defined in one place.
//!
//! Names are in base units (seconds, bytes) with `_total` on counters. The
//! data path records per acknowledged batch, never per record. Series are per
//! flow and source topic; with `per_partition` they also carry a `partition`
//! label (more series: opt in). Series of a partition or flow that stops
//! being replicated are removed.
//!
//! MM2's metrics and theirs here:
//!
//! | MM2 (`MirrorSourceMetrics`, `MirrorCheckpointMetrics`) | kmirror |
//! |---|---|
//! | `record-count` | `kmirror_replicated_records_total` |
//! | `byte-count` | `kmirror_replicated_bytes_total` |
//! | `record-age-ms` | `kmirror_record_age_seconds` (histogram) |
//! | `replication-latency-ms` | `kmirror_replication_latency_seconds` (histogram) |
//! | `checkpoint-latency-ms` | `kmirror_checkpoint_latency_seconds` (histogram, per flow) |
//!
//! and what MM2 lacks: `kmirror_lag_records`, `kmirror_lag_seconds`,
//! `kmirror_heartbeat_age_seconds`, `kmirror_heartbeat_emit_age_seconds`,
//! `kmirror_synced_topic_acls`, `kmirror_errors_total{kind}`, `kmirror_paused_partitions`,
//! `kmirror_forwarded_batches_total{path="passthrough"|"rebuilt"}`,
//! `kmirror_flow_state`. Gauges that describe positions are computed from
//! the [`crate::runtime::StatusBoard`] when scraped
//! ([`Metrics::encode`]).

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::sync::atomic::AtomicU64;
use std::sync::Mutex;

use prometheus_client::encoding::{EncodeLabelSet, LabelSetEncoder};
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{exponential_buckets, Histogram};
use prometheus_client::registry::{Registry, Unit};

use crate::model::{Forwarded, TopicPartition};
use crate::runtime::status::{FlowState, FlowStatus};

/// Kinds of error counted in `kmirror_errors_total`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum ErrorKind {
    /// Fetching from the source failed (partition paused).
    Fetch,
    /// The target refused or did not acknowledge a batch (partition paused).
    Produce,
    /// A source batch could not be forwarded (partition paused).
    Unforwardable,
    /// A producer id could not be had from the target (partition paused).
    ProducerInit,
    /// A whole flow failed and is restarted.
    Flow,
    /// Topic discovery or remote topic preparation failed.
    Discovery,
    /// A heartbeat could not be written.
    Heartbeat,
    /// Checkpoints could not be computed or written.
    Checkpoint,
    /// A topic ACL sync round failed (replication goes on).
    AclSync,
    /// This worker lost its membership in the flow's group (its partitions
    /// wait until the group assigns them again).
    Membership,
}

impl ErrorKind {
    /// The `kind` label value.
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorKind::Fetch => "fetch",
            ErrorKind::Produce => "produce",
            ErrorKind::Unforwardable => "unforwardable",
            ErrorKind::ProducerInit => "producer_init",
            ErrorKind::Flow => "flow",
            ErrorKind::Discovery => "discovery",
            ErrorKind::Heartbeat => "heartbeat",
            ErrorKind::Checkpoint => "checkpoint",
            ErrorKind::AclSync => "acl_sync",
            ErrorKind::Membership => "membership",
        }
    }
}

/// `{flow, topic[, partition]}`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
struct SeriesLabels {
    flow: String,
    topic: String,
    /// Only with per-partition metrics.
    partition: Option<i32>,
}

impl EncodeLabelSet for SeriesLabels {
    fn encode(&self, encoder: &mut LabelSetEncoder) -> Result<(), fmt::Error> {
        let mut labels = vec![("flow", self.flow.clone()), ("topic", self.topic.clone())];
        if let Some(partition) = self.partition {
            labels.push(("partition", partition.to_string()));
        }
        EncodeLabelSet::encode(&labels, encoder)
    }
}

/// `{flow, topic, path}`: how batches were forwarded.
#[derive(Debug, Clone, PartialEq, Eq, Hash, EncodeLabelSet)]
struct BatchLabels {
    flow: String,
    topic: String,
    /// `passthrough` (bytes kept) or `rebuilt` (records rewritten).
    path: &'static str,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash, EncodeLabelSet)]
struct FlowLabels {
    flow: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash, EncodeLabelSet)]
struct ErrorLabels {
    flow: String,
    kind: &'static str,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash, EncodeLabelSet)]
struct FlowStateLabels {
    flow: String,
    state: &'static str,
}

type HistogramFamily<L> = Family<L, Histogram, fn() -> Histogram>;

/// A latency histogram family in seconds, registered as `name`.
fn seconds_histogram<L>(registry: &mut Registry, name: &str, help: &str) -> HistogramFamily<L>
where
    L: Clone + std::hash::Hash + Eq + EncodeLabelSet + std::fmt::Debug + Send + Sync + 'static,
{
    let family: HistogramFamily<L> = Family::new_with_constructor(latency_histogram);
    registry.register_with_unit(name, help, Unit::Seconds, family.clone());
    family
}
type FloatGauge = Gauge<f64, AtomicU64>;

/// Latency buckets in seconds: 1 ms doubling to about 35 minutes.
fn latency_histogram() -> Histogram {
    Histogram::new(exponential_buckets(0.001, 2.0, 22))
}

/// Replication latency seen by a flow since the last [`Metrics::take_latency_windows`],
/// for the live view's chart.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct LatencyWindow {
    pub batches: u64,
    pub sum_ms: f64,
    pub max_ms: f64,
}

impl LatencyWindow {
    /// Mean latency in ms, `None` without batches.
    pub fn mean_ms(&self) -> Option<f64> {
        (self.batches > 0).then(|| self.sum_ms / self.batches as f64)
    }
}

/// The engine's metrics and their registry.
pub struct Metrics {
    per_partition: bool,
    registry: Registry,
    records: Family<SeriesLabels, Counter>,
    bytes: Family<SeriesLabels, Counter>,
    batches: Family<BatchLabels, Counter>,
    record_age: HistogramFamily<SeriesLabels>,
    replication_latency: HistogramFamily<SeriesLabels>,
    checkpoint_latency: HistogramFamily<FlowLabels>,
    checkpoints: Family<FlowLabels, Counter>,
    transactions: Family<FlowLabels, Counter>,
    transaction_commit_latency: HistogramFamily<FlowLabels>,
    heartbeats: Family<FlowLabels, Counter>,
    synced_topic_acls: Family<FlowLabels, Gauge>,
    errors: Family<ErrorLabels, Counter>,
    lag_records: Family<SeriesLabels, Gauge>,
    lag_seconds: Family<SeriesLabels, FloatGauge>,
    heartbeat_age: Family<FlowLabels, FloatGauge>,
    heartbeat_emit_age: Family<FlowLabels, FloatGauge>,
    paused_partitions: Family<FlowLabels, Gauge>,
    partitions: Family<FlowLabels, Gauge>,
    flow_state: Family<FlowStateLabels, Gauge>,
    /// Label sets of the data-path series per flow, so that a flow's or a
    /// partition's series can be removed when it goes.
    series: Mutex<BTreeMap<String, BTreeSet<SeriesLabels>>>,
    windows: Mutex<BTreeMap<String, LatencyWindow>>,
    /// Serializes the refresh of scrape-time gauges with their encoding.
    scrape: Mutex<()>,
}

impl fmt::Debug for Metrics {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Metrics")
            .field("per_partition", &self.per_partition)
            .finish_non_exhaustive()
    }
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new(false)
    }
}

impl Metrics {
    /// Metrics per flow and topic, or per partition too.
    pub fn new(per_partition: bool) -> Self {
        let mut registry = Registry::with_prefix("kmirror");
        let records = Family::<SeriesLabels, Counter>::default();
        registry.register(
            "replicated_records",
            "Records acknowledged by the target (MM2 record-count)",
            records.clone(),
        );
        let bytes = Family::<SeriesLabels, Counter>::default();
        registry.register_with_unit(
            "replicated",
            "Batch bytes acknowledged by the target (MM2 byte-count)",
            Unit::Bytes,
            bytes.clone(),
        );
        let batches = Family::<BatchLabels, Counter>::default();
        registry.register(
            "forwarded_batches",
            "Batches acknowledged by the target, by path: passthrough (bytes kept, never decompressed) or rebuilt (LogAppendTime or legacy batches re-encoded)",
            batches.clone(),
        );
        let record_age: HistogramFamily<SeriesLabels> = seconds_histogram(
            &mut registry,
            "record_age",
            "Age of a batch's newest record when it is sent to the target (MM2 record-age-ms)",
        );
        let replication_latency: HistogramFamily<SeriesLabels> =
            seconds_histogram(&mut registry, "replication_latency", "Time from a batch's newest record timestamp to the target's acknowledgement (MM2 replication-latency-ms)");
        let checkpoint_latency: HistogramFamily<FlowLabels> =
            seconds_histogram(&mut registry, "checkpoint_latency", "Time from reading the source groups' offsets to the checkpoints' acknowledgement on the target (MM2 checkpoint-latency-ms)");
        let checkpoints = Family::<FlowLabels, Counter>::default();
        registry.register(
            "checkpoints_written",
            "Checkpoint records written to the target",
            checkpoints.clone(),
        );
        let transactions = Family::<FlowLabels, Counter>::default();
        registry.register(
            "transactions_committed",
            "Transactions committed on the target (exactly-once flows)",
            transactions.clone(),
        );
        let transaction_commit_latency: HistogramFamily<FlowLabels> =
            seconds_histogram(&mut registry, "transaction_commit_latency", "Time to write a transaction's progress record and commit it, after its batches were acknowledged (exactly-once flows)");
        let heartbeats = Family::<FlowLabels, Counter>::default();
        registry.register(
            "heartbeats_written",
            "Heartbeats written to the target",
            heartbeats.clone(),
        );
        let synced_topic_acls = Family::<FlowLabels, Gauge>::default();
        registry.register(
            "synced_topic_acls",
            "Topic ACL bindings the flow's last successful ACL sync created (or found) on the target",
            synced_topic_acls.clone(),
        );
        let errors = Family::<ErrorLabels, Counter>::default();
        registry.register(
            "errors",
            "Errors by kind: fetch, produce, unforwardable, producer_init (each pauses a partition), flow, discovery, heartbeat, checkpoint, acl_sync",
            errors.clone(),
        );
        let lag_records = Family::<SeriesLabels, Gauge>::default();
        registry.register(
            "lag_records",
            "Records on the source not yet acknowledged by the target",
            lag_records.clone(),
        );
        let lag_seconds = Family::<SeriesLabels, FloatGauge>::default();
        registry.register_with_unit(
            "lag",
            "How far the target is behind in time: 0 when caught up, else the time since the target last held everything the source had, or since the newest replicated record was written, whichever is later",
            Unit::Seconds,
            lag_seconds.clone(),
        );
        let heartbeat_age = Family::<FlowLabels, FloatGauge>::default();
        registry.register_with_unit(
            "heartbeat_age",
            "Age of the newest heartbeat this flow replicated from its source: grows when the far side or the path is silent",
            Unit::Seconds,
            heartbeat_age.clone(),
        );
        let heartbeat_emit_age = Family::<FlowLabels, FloatGauge>::default();
        registry.register_with_unit(
            "heartbeat_emit_age",
            "Time since this flow last wrote a heartbeat to its target",
            Unit::Seconds,
            heartbeat_emit_age.clone(),
        );
        let paused_partitions = Family::<FlowLabels, Gauge>::default();
        registry.register(
            "paused_partitions",
            "Partitions stopped on an error and retried with backoff",
            paused_partitions.clone(),
        );
        let partitions = Family::<FlowLabels, Gauge>::default();
        registry.register(
            "partitions",
            "Source partitions the flow replicates",
            partitions.clone(),
        );
        let flow_state = Family::<FlowStateLabels, Gauge>::default();
        registry.register(
            "flow_state",
            "1 for the flow's current state (running, paused, failed, stopped)",
            flow_state.clone(),
        );
        Metrics {
            per_partition,
            registry,
            records,
            bytes,
            batches,
            record_age,
            replication_latency,
            checkpoint_latency,
            checkpoints,
            transactions,
            transaction_commit_latency,
            heartbeats,
            synced_topic_acls,
            errors,
            lag_records,
            lag_seconds,
            heartbeat_age,
            heartbeat_emit_age,
            paused_partitions,
            partitions,
            flow_state,
            series: Mutex::default(),
            windows: Mutex::default(),
            scrape: Mutex::new(()),
        }
    }

    /// Whether series carry a `partition` label.
    pub fn per_partition(&self) -> bool {
        self.per_partition
    }

    fn labels(&self, flow: &str, tp: &TopicPartition) -> SeriesLabels {
        SeriesLabels {
            flow: flow.to_string(),
            topic: tp.topic.to_string(),
            partition: self.per_partition.then_some(tp.partition),
        }
    }

    /// A batch acknowledged by the target at `now_ms`.
    pub fn forwarded(&self, flow: &str, tp: &TopicPartition, batch: &Forwarded, now_ms: i64) {
        let labels = self.labels(flow, tp);
        self.records
            .get_or_create(&labels)
            .inc_by(batch.records.max(0) as u64);
        self.bytes.get_or_create(&labels).inc_by(batch.bytes as u64);
        self.batches
            .get_or_create(&BatchLabels {
                flow: flow.to_string(),
                topic: tp.topic.to_string(),
                path: if batch.rebuilt {
                    "rebuilt"
                } else {
                    "passthrough"
                },
            })
            .inc();
        // Batches without timestamps (-1) say nothing about age.
        if batch.max_timestamp > 0 {
            let age_ms = (batch.sent_ms - batch.max_timestamp).max(0);
            let latency_ms = (now_ms - batch.max_timestamp).max(0);
            self.record_age
                .get_or_create(&labels)
                .observe(age_ms as f64 / 1000.0);
            self.replication_latency
                .get_or_create(&labels)
                .observe(latency_ms as f64 / 1000.0);
            let mut windows = self.windows.lock().unwrap();
            let window = windows.entry(flow.to_string()).or_default();
            window.batches += 1;
            window.sum_ms += latency_ms as f64;
            window.max_ms = window.max_ms.max(latency_ms as f64);
        }
        let mut series = self.series.lock().unwrap();
        let known = series.entry(flow.to_string()).or_default();
        if !known.contains(&labels) {
            known.insert(labels);
        }
    }

    /// Checkpoints written: `count` records, `latency_ms` after the source
    /// offsets were read.
    pub fn checkpoints_written(&self, flow: &str, count: usize, latency_ms: i64) {
        let labels = FlowLabels {
            flow: flow.to_string(),
        };
        self.checkpoints.get_or_create(&labels).inc_by(count as u64);
        self.checkpoint_latency
            .get_or_create(&labels)
            .observe(latency_ms.max(0) as f64 / 1000.0);
    }

    /// A transaction of an exactly-once partition committed, `latency`
    /// after its batches were acknowledged.
    pub fn transaction_committed(&self, flow: &str, latency: std::time::Duration) {
        let labels = FlowLabels {
            flow: flow.to_string(),
        };
        self.transactions.get_or_create(&labels).inc();
        self.transaction_commit_latency
            .get_or_create(&labels)
            .observe(latency.as_secs_f64());
    }

    pub fn heartbeat_written(&self, flow: &str) {
        self.heartbeats
            .get_or_create(&FlowLabels {
                flow: flow.to_string(),
            })
            .inc();
    }

    /// A topic ACL sync round applied `bindings` on the target.
    pub fn topic_acls_synced(&self, flow: &str, bindings: usize) {
        self.synced_topic_acls
            .get_or_create(&FlowLabels {
                flow: flow.to_string(),
            })
            .set(i64::try_from(bindings).unwrap_or(i64::MAX));
    }

    pub fn error(&self, flow: &str, kind: ErrorKind) {
        self.errors
            .get_or_create(&ErrorLabels {
                flow: flow.to_string(),
                kind: kind.as_str(),
            })
            .inc();
    }

    /// A partition left the flow: its per-partition series go.
    pub fn partition_removed(&self, flow: &str, tp: &TopicPartition) {
        if !self.per_partition {
            return;
        }
        let labels = self.labels(flow, tp);
        self.remove_series(&labels);
        if let Some(known) = self.series.lock().unwrap().get_mut(flow) {
            known.remove(&labels);
        }
    }

    /// A flow was removed: all its series go.
    pub fn flow_removed(&self, flow: &str) {
        let known = self.series.lock().unwrap().remove(flow).unwrap_or_default();
        for labels in &known {
            self.remove_series(labels);
            for path in ["passthrough", "rebuilt"] {
                self.batches.remove(&BatchLabels {
                    flow: labels.flow.clone(),
                    topic: labels.topic.clone(),
                    path,
                });
            }
        }
        let flow_labels = FlowLabels {
            flow: flow.to_string(),
        };
        self.checkpoint_latency.remove(&flow_labels);
        self.checkpoints.remove(&flow_labels);
        self.heartbeats.remove(&flow_labels);
        self.synced_topic_acls.remove(&flow_labels);
        for kind in [
            ErrorKind::Fetch,
            ErrorKind::Produce,
            ErrorKind::Unforwardable,
            ErrorKind::ProducerInit,
            ErrorKind::Flow,
            ErrorKind::Discovery,
            ErrorKind::Heartbeat,
            ErrorKind::Checkpoint,
            ErrorKind::AclSync,
            ErrorKind::Membership,
        ] {
            self.errors.remove(&ErrorLabels {
                flow: flow.to_string(),
                kind: kind.as_str(),
            });
        }
        self.windows.lock().unwrap().remove(flow);
    }

    fn remove_series(&self, labels: &SeriesLabels) {
        self.records.remove(labels);
        self.bytes.remove(labels);
        self.record_age.remove(labels);
        self.replication_latency.remove(labels);
    }

    /// The latency seen per flow since the last call, and resets it.
    pub fn take_latency_windows(&self) -> BTreeMap<String, LatencyWindow> {
        std::mem::take(&mut *self.windows.lock().unwrap())
    }

    /// The text exposition (OpenMetrics) of every metric, with the gauges
    /// that describe positions computed from `flows` at `now_ms`.
    pub fn encode(&self, flows: &[FlowStatus], now_ms: i64) -> String {
        let _scrape = self.scrape.lock().unwrap();
        self.refresh_gauges(flows, now_ms);
        let mut out = String::new();
        prometheus_client::encoding::text::encode(&mut out, &self.registry)
            .expect("writing to a String cannot fail");
        out
    }

    fn refresh_gauges(&self, flows: &[FlowStatus], now_ms: i64) {
        self.lag_records.clear();
        self.lag_seconds.clear();
        self.heartbeat_age.clear();
        self.heartbeat_emit_age.clear();
        self.paused_partitions.clear();
        self.partitions.clear();
        self.flow_state.clear();
        for flow in flows {
            let flow_labels = FlowLabels {
                flow: flow.name.clone(),
            };
            let state = flow.state();
            for candidate in [
                FlowState::Running,
                FlowState::Paused,
                FlowState::Failed,
                FlowState::Stopped,
            ] {
                self.flow_state
                    .get_or_create(&FlowStateLabels {
                        flow: flow.name.clone(),
                        state: candidate.as_str(),
                    })
                    .set(i64::from(candidate == state));
            }
            self.partitions
                .get_or_create(&flow_labels)
                .set(flow.partitions.len() as i64);
            self.paused_partitions
                .get_or_create(&flow_labels)
                .set(flow.partitions.iter().filter(|p| p.is_paused()).count() as i64);
            if let Some(at) = flow.last_replicated_heartbeat_ms() {
                self.heartbeat_age
                    .get_or_create(&flow_labels)
                    .set((now_ms - at).max(0) as f64 / 1000.0);
            }
            if flow.last_heartbeat_ms > 0 {
                self.heartbeat_emit_age
                    .get_or_create(&flow_labels)
                    .set((now_ms - flow.last_heartbeat_ms).max(0) as f64 / 1000.0);
            }
            // Per topic: lag records add up, lag seconds is the worst.
            let mut per_series: BTreeMap<SeriesLabels, (i64, f64)> = BTreeMap::new();
            for p in &flow.partitions {
                let labels = SeriesLabels {
                    flow: flow.name.clone(),
                    topic: p.topic.clone(),
                    partition: self.per_partition.then_some(p.partition),
                };
                let entry = per_series.entry(labels).or_default();
                entry.0 += p.lag_records();
                entry.1 = entry.1.max(p.lag_seconds(now_ms));
            }
            for (labels, (records, seconds)) in per_series {
                self.lag_records.get_or_create(&labels).set(records);
                self.lag_seconds.get_or_create(&labels).set(seconds);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn batch(records: i32, max_timestamp: i64, rebuilt: bool) -> Forwarded {
        Forwarded {
            upstream_base: 0,
            upstream_last: records as i64 - 1,
            downstream_base: 0,
            records,
            dense: true,
            bytes: 1000,
            max_timestamp,
            sent_ms: max_timestamp + 20,
            rebuilt,
        }
    }

    #[test]
    fn series_per_topic_or_partition_and_removed_with_their_flow() {
        let tp = TopicPartition::new("payment-events", 2);
        for per_partition in [false, true] {
            let metrics = Metrics::new(per_partition);
            metrics.forwarded("a->b", &tp, &batch(10, 1_000, false), 1_050);
            metrics.forwarded("a->b", &tp, &batch(5, 1_000, true), 1_100);
            let text = metrics.encode(&[], 2_000);
            let labels = if per_partition {
                "{flow=\"a->b\",topic=\"payment-events\",partition=\"2\"}"
            } else {
                "{flow=\"a->b\",topic=\"payment-events\"}"
            };
            assert!(
                text.contains(&format!("kmirror_replicated_records_total{labels} 15")),
                "{text}"
            );
            assert!(
                text.contains(&format!("kmirror_replicated_bytes_total{labels} 2000")),
                "{text}"
            );
            assert!(text.contains("path=\"rebuilt\"} 1"), "{text}");
            assert!(text.contains("path=\"passthrough\"} 1"), "{text}");
            assert!(
                text.contains(&format!(
                    "kmirror_replication_latency_seconds_count{labels} 2"
                )),
                "{text}"
            );
            let window = metrics.take_latency_windows()["a->b"];
            assert_eq!((window.batches, window.max_ms), (2, 100.0));
            metrics.flow_removed("a->b");
            let text = metrics.encode(&[], 2_000);
            assert!(!text.contains("payment-events"), "{text}");
        }
    }
}
