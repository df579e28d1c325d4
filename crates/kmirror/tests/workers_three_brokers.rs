//! Issue 10's failover test on clusters of three brokers each: three
//! `kmirror run` workers share a topic replicated three times, one is
//! killed, the others take over within the session timeout + 2 s, and every
//! record arrives (see `support/scenario.rs`). Its own binary: its six
//! brokers are not the shared single-broker pair of `workers.rs`.

mod support;

use kmirror_testbed::KafkaCluster;

#[test]
fn three_workers_survive_a_sigkill_with_three_brokers_per_cluster() {
    let a = KafkaCluster::builder("kafka-a").brokers(3).start();
    let b = KafkaCluster::builder("kafka-b").brokers(3).start();
    support::three_workers_and_a_sigkill(&a, &b, "w3-kill-events");
}
