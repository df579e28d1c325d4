//! Topic and group administration through one long-lived Java Admin client
//! per cluster (`TestClient admin`), so that a test pays one JVM start per
//! cluster instead of one per topic operation.

use std::collections::BTreeMap;
use std::time::Duration;

use serde::Deserialize;
use serde_json::{json, Value};

use crate::java::{JavaCommand, JavaProcess};

/// A failed admin request, as the Java Admin client reported it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("admin {op} failed: {error_class}: {message}")]
pub struct AdminError {
    pub op: String,
    /// The Java exception's simple class name, e.g. `TopicExistsException`.
    pub error_class: String,
    pub message: String,
}

/// A topic's partitions as the cluster describes them.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TopicDescription {
    pub topic: String,
    pub topic_id: String,
    pub internal: bool,
    pub partitions: Vec<PartitionDescription>,
}

/// One partition's leader and replicas (broker node ids).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct PartitionDescription {
    pub partition: i32,
    pub leader: Option<i32>,
    pub replicas: Vec<i32>,
    pub isr: Vec<i32>,
}

impl TopicDescription {
    /// Whether every partition has a leader and all replicas in sync.
    pub fn fully_in_sync(&self) -> bool {
        self.partitions
            .iter()
            .all(|p| p.leader.is_some() && p.isr.len() == p.replicas.len())
    }
}

/// The cluster as `describeCluster` reports it.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ClusterDescription {
    pub cluster_id: String,
    pub controller: Option<i32>,
    /// Live (registered, unfenced) broker ids.
    pub nodes: Vec<i32>,
}

/// A topic's configuration.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct TopicConfig {
    /// Every effective value, defaults included.
    pub values: BTreeMap<String, String>,
    /// Only the values set on the topic itself.
    pub overrides: BTreeMap<String, String>,
}

/// A committed consumer-group offset.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, serde::Serialize)]
pub struct GroupOffset {
    pub topic: String,
    pub partition: i32,
    pub offset: i64,
}

/// How long one admin request may take before the session is declared hung.
/// The Java side bounds each call at 30 s; this covers its own retries.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(90);

/// The `TestClient admin` JVM of one cluster.
#[derive(Debug)]
pub(crate) struct AdminSession {
    process: JavaProcess,
}

impl AdminSession {
    pub(crate) fn start(cluster: &str, bootstrap: &str) -> Self {
        let process = JavaCommand::test_client("admin")
            .name(format!("admin client of {cluster}"))
            .heap("256m")
            .args(["--bootstrap", bootstrap])
            .spawn();
        Self { process }
    }

    pub(crate) fn is_running(&mut self) -> bool {
        self.process.is_running()
    }

    pub(crate) fn pid(&self) -> u32 {
        self.process.pid()
    }

    /// Sends one request and waits for its answer.
    ///
    /// # Panics
    /// If the admin JVM died or did not answer in time: that is a broken test
    /// bed, unlike a Kafka error, which is returned.
    pub(crate) fn request(&mut self, request: &Value) -> Result<Value, AdminError> {
        let op = request["op"].as_str().unwrap_or_default().to_string();
        self.process.write_line(&request.to_string());
        let Some(line) = self.process.read_line(REQUEST_TIMEOUT) else {
            let running = self.process.is_running();
            panic!(
                "{} gave no answer to {request} within {REQUEST_TIMEOUT:?} (running: {running}); stderr:\n{}",
                self.process.name(),
                self.process.output_tail(40)
            );
        };
        let mut answer: Value = serde_json::from_str(&line)
            .unwrap_or_else(|e| panic!("admin answered {line:?} to {request}: {e}"));
        if answer["ok"].as_bool() == Some(true) {
            Ok(answer["result"].take())
        } else {
            Err(AdminError {
                op,
                error_class: answer["errorClass"].as_str().unwrap_or("?").to_string(),
                message: answer["error"].as_str().unwrap_or("?").to_string(),
            })
        }
    }
}

/// Parses an admin result into `T`.
pub(crate) fn parse<T: for<'de> Deserialize<'de>>(op: &str, value: Value) -> T {
    serde_json::from_value(value.clone())
        .unwrap_or_else(|e| panic!("admin {op}: unexpected result {value}: {e}"))
}

pub(crate) fn create_topic_request(
    topic: &str,
    partitions: i32,
    replication_factor: i16,
    configs: &[(&str, &str)],
) -> Value {
    let configs: serde_json::Map<String, Value> = configs
        .iter()
        .map(|(k, v)| ((*k).to_string(), Value::from(*v)))
        .collect();
    json!({
        "op": "create-topic",
        "topic": topic,
        "partitions": partitions,
        "rf": replication_factor,
        "configs": configs,
    })
}
