//! Issue 10's failover and fencing tests on clusters of three brokers each
//! (topics replicated three times; see `support/scenario.rs` and
//! `support/fencing.rs`). Its own binary: its six brokers are not the
//! shared single-broker pair of `workers.rs`.

mod support;

use std::sync::{Mutex, MutexGuard, OnceLock};

use kmirror_testbed::KafkaCluster;

/// One pair of three-broker clusters for the tests of this binary, which
/// run one at a time (they measure timings).
fn clusters() -> (
    MutexGuard<'static, ()>,
    &'static KafkaCluster,
    &'static KafkaCluster,
) {
    static ONE_AT_A_TIME: Mutex<()> = Mutex::new(());
    static CLUSTERS: OnceLock<(KafkaCluster, KafkaCluster)> = OnceLock::new();
    let guard = ONE_AT_A_TIME
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    let (a, b) = CLUSTERS.get_or_init(|| {
        (
            KafkaCluster::builder("kafka-a").brokers(3).start(),
            KafkaCluster::builder("kafka-b").brokers(3).start(),
        )
    });
    (guard, a, b)
}

#[test]
fn three_workers_survive_a_sigkill_with_three_brokers_per_cluster() {
    let (_serial, a, b) = clusters();
    support::three_workers_and_a_sigkill(a, b, "w3-kill-events");
}

#[test]
fn a_frozen_worker_is_fenced_with_three_brokers_per_cluster() {
    let (_serial, a, b) = clusters();
    support::a_frozen_leader_is_fenced(a, b, "w3-freeze-events");
}
