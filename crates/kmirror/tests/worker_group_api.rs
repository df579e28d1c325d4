//! The worker group seen through the REST API: every worker shows the whole
//! group, a connector change made through one worker applies on all, and a
//! worker whose file differs from the group's is refused with a message that
//! says so.

mod support;

use std::time::Duration;

use kmirror_testbed::shared_cluster;
use serde_json::Value;
use support::{http, two_region_config, unique_group_prefix, wait_until, Kmirror};

const CONNECTOR: &str = "mm2";

fn start_worker(config: &std::path::Path, prefix: &str) -> (Kmirror, String) {
    let kmirror = Kmirror::start_with_env(
        &["run", config.to_str().unwrap()],
        &[("KMIRROR_GROUP_PREFIX", prefix)],
    );
    let mut address = None;
    wait_until("the REST API", Duration::from_secs(30), || {
        address = kmirror.rest_address();
        address.is_some()
    });
    (kmirror, address.unwrap())
}

fn get(address: &str, path: &str) -> Value {
    let (status, body) = http(address, "GET", path, None);
    assert_eq!(status, 200, "GET {path}: {body}");
    serde_json::from_str(&body).unwrap_or_else(|e| panic!("GET {path}: {e}: {body}"))
}

/// The members of `flow`'s group as `address`'s `/status` shows them.
fn members(address: &str, flow: &str) -> Vec<Value> {
    let status = get(address, "/status");
    status["flows"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["name"] == flow)
        .and_then(|f| f["group"]["members"].as_array().cloned())
        .unwrap_or_default()
}

fn task_states(address: &str) -> Vec<(String, String)> {
    let status = get(address, &format!("/connectors/{CONNECTOR}/status"));
    status["tasks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| {
            (
                t["worker_id"].as_str().unwrap().to_string(),
                t["state"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

#[test]
fn every_worker_shows_the_group_and_a_change_through_one_applies_on_all() {
    let a = shared_cluster("kafka-a");
    let b = shared_cluster("kafka-b");
    let topic = "group-api-events";
    a.create_topic(topic, 6, 1, &[]);
    let (_dir, config) = two_region_config(a, b, "");
    let prefix = unique_group_prefix();
    let (one, one_address) = start_worker(&config, &prefix);
    let (two, two_address) = start_worker(&config, &prefix);
    let flow = "kafka-a->kafka-b";

    // Both workers run part of the flow, and each shows both.
    wait_until(
        "both workers in the group with work",
        Duration::from_secs(60),
        || {
            [&one_address, &two_address].iter().all(|address| {
                let members = members(address, flow);
                members.len() == 2
                    && members
                        .iter()
                        .all(|m| m["partitions"].as_u64().unwrap_or(0) > 0 || m["control"] == true)
            })
        },
    );
    let mut workers: Vec<String> = task_states(&one_address)
        .into_iter()
        .map(|(worker, _)| worker)
        .collect();
    workers.sort();
    workers.dedup();
    assert_eq!(workers.len(), 2, "tasks of both workers: {workers:?}");
    // Each worker learns the other's tasks through the group, a moment
    // after its own: the lists must come to agree.
    wait_until(
        "both workers list the same tasks",
        Duration::from_secs(30),
        || task_states(&one_address).len() == task_states(&two_address).len(),
    );

    // Paused through the first worker: paused on the second too.
    let (status, body) = http(
        &one_address,
        "PUT",
        &format!("/connectors/{CONNECTOR}/pause"),
        None,
    );
    assert_eq!(status, 202, "{body}");
    wait_until(
        "the pause on the second worker",
        Duration::from_secs(30),
        || {
            task_states(&two_address)
                .iter()
                .all(|(_, state)| state == "PAUSED")
        },
    );
    assert!(
        one.log().contains("change applied on another worker"),
        "{}",
        one.log()
    );

    // Resumed through the second: running on the first again.
    let (status, body) = http(
        &two_address,
        "PUT",
        &format!("/connectors/{CONNECTOR}/resume"),
        None,
    );
    assert_eq!(status, 202, "{body}");
    wait_until(
        "the resume on the first worker",
        Duration::from_secs(60),
        || {
            let states = task_states(&one_address);
            !states.is_empty() && states.iter().all(|(_, state)| state == "RUNNING")
        },
    );
    drop(two);
}

#[test]
fn a_worker_whose_file_differs_is_refused_and_says_so() {
    let a = shared_cluster("kafka-a");
    let b = shared_cluster("kafka-b");
    let (_dir, config) = two_region_config(a, b, "");
    let (_other_dir, other) = two_region_config(a, b, "kafka-a->kafka-b.topics = only-this-one");
    let prefix = unique_group_prefix();
    let (first, first_address) = start_worker(&config, &prefix);
    wait_until(
        "the first worker's assignment",
        Duration::from_secs(60),
        || members(&first_address, "kafka-a->kafka-b").len() == 1,
    );
    let (second, _) = start_worker(&other, &prefix);
    wait_until("the refusal", Duration::from_secs(60), || {
        second.log().contains("refused by the group")
    });
    let log = second.log();
    assert!(
        log.contains("configuration of the flow differs from the group's"),
        "{log}"
    );
    // The first worker keeps all of the flow.
    let members = members(&first_address, "kafka-a->kafka-b");
    let running: Vec<&Value> = members.iter().filter(|m| m["refused"] == false).collect();
    assert_eq!(running.len(), 1, "{members:?}");
    drop(first);
}
