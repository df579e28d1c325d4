//! Heartbeats reach the other side at once, whatever the start order.
//!
//! On a fresh pair, each flow's first topic discovery may run before the
//! opposite flow created `heartbeats` on its source. With
//! `refresh.topics.interval.seconds = 600` the next discovery would be ten
//! minutes away: the flow must pick up the topic kmirror itself creates as
//! soon as it exists. Five fresh starts in a row (the race lost about one
//! start in five), each with `heartbeats` deleted from both clusters and new
//! aliases (so new remote topic names): both `<a>.heartbeats` on kafka-b and
//! `<b>.heartbeats` on kafka-a appear, with heartbeats in them, within a
//! bound far below the refresh interval.
//!
//! The test binary has this one test, so no other test of the process
//! creates `heartbeats` on the shared clusters between rounds.

mod support;

use std::path::PathBuf;
use std::time::{Duration, Instant};

use kmirror_testbed::{shared_cluster, KafkaCluster};
use support::{total_end_offset, wait_until, Kmirror};

const ROUNDS: usize = 5;
/// Far below the 600 s refresh interval, well above a normal start.
const BOUND: Duration = Duration::from_secs(45);

fn heartbeats_topics(cluster: &KafkaCluster) -> Vec<String> {
    cluster
        .list_topics()
        .into_iter()
        .filter(|t| t == "heartbeats" || t.ends_with(".heartbeats"))
        .collect()
}

fn config(dir: &tempfile::TempDir, a: &KafkaCluster, b: &KafkaCluster, round: usize) -> PathBuf {
    let (x, y) = (format!("ha{round}"), format!("hb{round}"));
    let text = format!(
        "clusters = {x}, {y}\n\
         {x}.bootstrap.servers = {}\n\
         {y}.bootstrap.servers = {}\n\
         {x}->{y}.enabled = true\n\
         {y}->{x}.enabled = true\n\
         # Nothing but the heartbeats (always replicated) and the canary.\n\
         {x}->{y}.topics = no-such-topic\n\
         {y}->{x}.topics = no-such-topic\n\
         refresh.topics.interval.seconds = 600\n\
         emit.heartbeats.interval.seconds = 1\n\
         emit.checkpoints.enabled = false\n\
         replication.factor = 1\n\
         heartbeats.topic.replication.factor = 1\n\
         checkpoints.topic.replication.factor = 1\n\
         offset-syncs.topic.replication.factor = 1\n",
        a.bootstrap(),
        b.bootstrap()
    );
    let path = dir.path().join(format!("round{round}.properties"));
    std::fs::write(&path, text).unwrap();
    path
}

#[test]
fn heartbeats_of_both_sides_are_replicated_soon_after_every_fresh_start() {
    let a = shared_cluster("kafka-a");
    let b = shared_cluster("kafka-b");
    let dir = tempfile::tempdir().unwrap();
    for round in 0..ROUNDS {
        // `heartbeats` and the remote heartbeats topics of earlier rounds
        // (heartbeats topics are replicated onwards, as in MM2).
        for cluster in [a, b] {
            for topic in heartbeats_topics(cluster) {
                cluster.delete_topic(&topic);
            }
            wait_until(
                "heartbeats topics to be deleted",
                Duration::from_secs(30),
                || heartbeats_topics(cluster).is_empty(),
            );
        }
        let config = config(&dir, a, b, round);
        let (on_b, on_a) = (
            format!("ha{round}.heartbeats"),
            format!("hb{round}.heartbeats"),
        );
        let started = Instant::now();
        let mut kmirror = Kmirror::run(&config);
        wait_until(
            &format!("round {round}: {on_b} on kafka-b and {on_a} on kafka-a with heartbeats"),
            BOUND,
            || total_end_offset(b, &on_b) > 0 && total_end_offset(a, &on_a) > 0,
        );
        eprintln!(
            "round {round}: both remote heartbeats topics filled {:.2?} after start",
            started.elapsed()
        );
        let status = kmirror.terminate(Duration::from_secs(20));
        assert!(status.success(), "round {round}: exit status {status}");
    }
}
