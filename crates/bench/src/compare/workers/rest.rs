//! What the harness reads from a kmirror worker's REST API: which source
//! partitions it runs now (`GET /status`) and how much it copied
//! (`GET /metrics`).
//!
//! The views are the harness's own small copies of the fields it needs
//! (serde ignores the rest), not the binary's types: the benchmark reads
//! kmirror from outside, as an operator's tooling would.

use std::collections::BTreeSet;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context as _, Result};
use serde::Deserialize;

/// `GET /status`, the parts the harness reads.
#[derive(Debug, Clone, Deserialize)]
pub struct InstanceView {
    pub worker_id: String,
    pub flows: Vec<FlowView>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct FlowView {
    pub name: String,
    /// This worker's own partitions.
    pub topics: Vec<TopicView>,
    /// The flow's group as of this worker's last assignment.
    pub group: Option<GroupView>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct TopicView {
    pub topic: String,
    pub partitions: Vec<PartitionView>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct PartitionView {
    pub partition: i32,
}

#[derive(Debug, Clone, Deserialize)]
pub struct GroupView {
    pub generation: i32,
    pub members: Vec<MemberView>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct MemberView {
    pub worker_id: String,
    /// Partitions it runs, or will once a hand-over completes.
    pub partitions: usize,
}

impl InstanceView {
    /// The flow `name` (`<source>-><target>`).
    pub fn flow(&self, name: &str) -> Option<&FlowView> {
        self.flows.iter().find(|f| f.name == name)
    }

    /// The partitions of `topic` this worker runs in flow `flow`.
    pub fn partitions_of(&self, flow: &str, topic: &str) -> BTreeSet<i32> {
        self.flow(flow)
            .map(|f| f.partitions_of(topic))
            .unwrap_or_default()
    }

    /// Whether this worker's hand-overs in `flow` are done: it runs exactly
    /// as many partitions (of every topic, heartbeats included) as its last
    /// assignment gave it.
    pub fn runs_its_assignment(&self, flow: &str) -> bool {
        let Some(flow) = self.flow(flow) else {
            return false;
        };
        let running: usize = flow.topics.iter().map(|t| t.partitions.len()).sum();
        flow.group
            .iter()
            .flat_map(|g| &g.members)
            .find(|m| m.worker_id == self.worker_id)
            .is_some_and(|m| m.partitions == running)
    }
}

impl FlowView {
    pub fn partitions_of(&self, topic: &str) -> BTreeSet<i32> {
        self.topics
            .iter()
            .filter(|t| t.topic == topic)
            .flat_map(|t| t.partitions.iter().map(|p| p.partition))
            .collect()
    }
}

/// What a worker's `/metrics` says it copied (acknowledged by the target).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Copied {
    pub records: u64,
    /// Batch bytes as sent (compressed).
    pub wire_bytes: u64,
}

/// A client for the workers' REST APIs.
#[derive(Debug, Clone)]
pub struct WorkerApi {
    http: reqwest::Client,
}

impl WorkerApi {
    pub fn new() -> Result<Self> {
        // The workers serve plain HTTP on loopback, but reqwest as built in
        // this workspace (`rustls-no-provider`) wants a TLS config anyway:
        // one with the workspace's provider and no trusted roots.
        let tls = rustls::ClientConfig::builder_with_provider(Arc::new(
            rustls::crypto::ring::default_provider(),
        ))
        .with_safe_default_protocol_versions()
        .context("no TLS protocol versions")?
        .with_root_certificates(rustls::RootCertStore::empty())
        .with_no_client_auth();
        let http = reqwest::Client::builder()
            .use_preconfigured_tls(tls)
            // A worker that is gone refuses at once; one that hangs must
            // not hold up a 100 ms poll for long.
            .connect_timeout(Duration::from_millis(300))
            .timeout(Duration::from_millis(800))
            .build()
            .context("cannot build the HTTP client")?;
        Ok(WorkerApi { http })
    }

    pub async fn status(&self, addr: SocketAddr) -> Result<InstanceView> {
        self.http
            .get(format!("http://{addr}/status"))
            .send()
            .await?
            .error_for_status()?
            .json()
            .await
            .with_context(|| format!("unexpected /status from {addr}"))
    }

    /// What the worker copied of `topic` (other topics, such as the
    /// heartbeats every flow also replicates, left out).
    pub async fn copied(&self, addr: SocketAddr, topic: &str) -> Result<Copied> {
        let text = self
            .http
            .get(format!("http://{addr}/metrics"))
            .send()
            .await?
            .error_for_status()?
            .text()
            .await?;
        let label = format!("topic=\"{topic}\"");
        Ok(Copied {
            records: metric_sum(&text, "kmirror_replicated_records_total", &label) as u64,
            wire_bytes: metric_sum(&text, "kmirror_replicated_bytes_total", &label) as u64,
        })
    }
}

/// The sum of the samples of `name` whose labels include `label` (such as
/// `topic="t"`) in Prometheus' text format. Summing one counter's samples
/// needs no parser crate: each sample is one line, the name, `{labels}`,
/// and the value last.
fn metric_sum(text: &str, name: &str, label: &str) -> f64 {
    text.lines()
        .filter(|line| {
            line.strip_prefix(name).is_some_and(|rest| {
                rest.strip_prefix('{')
                    .and_then(|labels| labels.split_once('}'))
                    .is_some_and(|(labels, _)| labels.split(',').any(|l| l == label))
            })
        })
        .filter_map(|line| line.rsplit(' ').next()?.parse::<f64>().ok())
        .sum()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sums_one_counter_over_the_series_of_one_topic() {
        let text = "# HELP kmirror_replicated_records Records.\n\
                    # TYPE kmirror_replicated_records counter\n\
                    kmirror_replicated_records_total{flow=\"a->b\",topic=\"t\"} 1200\n\
                    kmirror_replicated_records_total{flow=\"a->b\",topic=\"heartbeats\"} 34\n\
                    kmirror_replicated_records_total{flow=\"c->b\",topic=\"t\"} 34\n\
                    kmirror_replicated_records_total_extra{topic=\"t\"} 5\n\
                    kmirror_replicated_bytes_total{flow=\"a->b\",topic=\"t\"} 99\n";
        let t = "topic=\"t\"";
        assert_eq!(
            metric_sum(text, "kmirror_replicated_records_total", t),
            1234.0
        );
        assert_eq!(metric_sum(text, "kmirror_replicated_bytes_total", t), 99.0);
        assert_eq!(metric_sum(text, "kmirror_missing_total", t), 0.0);
    }

    #[test]
    fn a_worker_runs_its_assignment_once_it_lists_its_share() {
        let status = |listed: &str| -> InstanceView {
            serde_json::from_str(&format!(
                r#"{{"worker_id":"w1","phase":"running","flows":[
                   {{"name":"b->a","topics":[],"group":{{"group_id":"h","generation":1,
                     "worker_id":"w1","members":[{{"worker_id":"w1","partitions":0}}]}}}},
                   {{"name":"a->b",
                   "topics":[{{"topic":"t","partitions":[{listed}]}},
                             {{"topic":"heartbeats","partitions":[{{"partition":0}}]}}],
                   "group":{{"group_id":"g","generation":4,"worker_id":"w1","members":[
                     {{"worker_id":"w1","partitions":3,"control":true,"refused":false}},
                     {{"worker_id":"w2","partitions":1,"control":false,"refused":false}}]}}}}]}}"#
            ))
            .unwrap()
        };
        let during = status(r#"{"partition":0}"#);
        assert_eq!(during.partitions_of("a->b", "t"), BTreeSet::from([0]));
        assert!(!during.runs_its_assignment("a->b"));
        let after = status(r#"{"partition":0},{"partition":2}"#);
        assert!(after.runs_its_assignment("a->b"));
        assert!(after.runs_its_assignment("b->a"));
        assert_eq!(
            after
                .flow("a->b")
                .unwrap()
                .group
                .as_ref()
                .unwrap()
                .generation,
            4
        );
        assert!(after.partitions_of("a->b", "other").is_empty());
        assert!(after.partitions_of("c->b", "t").is_empty());
    }
}
