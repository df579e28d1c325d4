//! The last minutes of rates, lag and latency per flow, sampled every
//! [`SAMPLE_INTERVAL`] into a ring buffer: the live view's charts and the
//! rates of `GET /status` come from here.

use std::collections::{BTreeMap, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use kmirror_engine::model::now_ms;
use kmirror_engine::runtime::{FlowStatus, StatusBoard};
use serde::Serialize;
use tokio_util::sync::CancellationToken;

pub const SAMPLE_INTERVAL: Duration = Duration::from_secs(2);
/// Ten minutes of samples.
pub const CAPACITY: usize = 300;

/// One flow at one instant.
#[derive(Debug, Clone, Default, Serialize)]
pub struct FlowSample {
    pub records_per_second: f64,
    pub bytes_per_second: f64,
    pub lag_records: i64,
    pub lag_seconds: f64,
    /// Mean and worst replication latency of the batches acknowledged since
    /// the previous sample; absent when none were.
    pub latency_mean_ms: Option<f64>,
    pub latency_max_ms: Option<f64>,
    pub paused_partitions: usize,
}

#[derive(Debug, Clone, Serialize)]
pub struct Sample {
    pub time_ms: i64,
    pub flows: BTreeMap<String, FlowSample>,
}

/// The ring buffer.
#[derive(Debug, Default)]
pub struct History {
    samples: Mutex<VecDeque<Sample>>,
}

/// Totals of a flow's counters, to turn into rates.
#[derive(Debug, Clone, Copy, Default)]
struct Totals {
    records: u64,
    bytes: u64,
}

fn totals(flow: &FlowStatus) -> Totals {
    flow.partitions
        .iter()
        .fold(Totals::default(), |t, p| Totals {
            records: t.records + p.records,
            bytes: t.bytes + p.bytes,
        })
}

impl History {
    pub fn samples(&self) -> Vec<Sample> {
        self.samples.lock().unwrap().iter().cloned().collect()
    }

    pub fn latest(&self) -> Option<Sample> {
        self.samples.lock().unwrap().back().cloned()
    }

    fn push(&self, sample: Sample) {
        let mut samples = self.samples.lock().unwrap();
        if samples.len() == CAPACITY {
            samples.pop_front();
        }
        samples.push_back(sample);
    }

    /// Samples `status` until `stop`.
    pub async fn run_sampler(self: Arc<Self>, status: Arc<StatusBoard>, stop: CancellationToken) {
        let mut previous: BTreeMap<String, (i64, Totals)> = BTreeMap::new();
        let mut tick = tokio::time::interval(SAMPLE_INTERVAL);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                _ = stop.cancelled() => return,
                _ = tick.tick() => {}
            }
            let now = now_ms();
            let windows = status.metrics().take_latency_windows();
            let mut flows = BTreeMap::new();
            let mut seen = BTreeMap::new();
            for flow in status.snapshot() {
                let current = totals(&flow);
                let (records_per_second, bytes_per_second) = match previous.get(&flow.name) {
                    Some((at, before)) if now > *at => {
                        let seconds = (now - at) as f64 / 1000.0;
                        (
                            current.records.saturating_sub(before.records) as f64 / seconds,
                            current.bytes.saturating_sub(before.bytes) as f64 / seconds,
                        )
                    }
                    _ => (0.0, 0.0),
                };
                let window = windows.get(&flow.name).copied().unwrap_or_default();
                flows.insert(
                    flow.name.clone(),
                    FlowSample {
                        records_per_second,
                        bytes_per_second,
                        lag_records: flow.partitions.iter().map(|p| p.lag_records()).sum(),
                        lag_seconds: flow
                            .partitions
                            .iter()
                            .map(|p| p.lag_seconds(now))
                            .fold(0.0, f64::max),
                        latency_mean_ms: window.mean_ms(),
                        latency_max_ms: (window.batches > 0).then_some(window.max_ms),
                        paused_partitions: flow.partitions.iter().filter(|p| p.is_paused()).count(),
                    },
                );
                seen.insert(flow.name.clone(), (now, current));
            }
            previous = seen;
            self.push(Sample {
                time_ms: now,
                flows,
            });
        }
    }
}
