//! Start-up latency: a newly started `kmirror run` (the users' config)
//! replicates its first record soon after the clusters answer. Measured and
//! printed, not asserted against a wall-clock bound (this machine's load
//! varies); only a generous timeout applies.
//!
//! Three measurements: a cold start on clusters kmirror has never seen (it
//! creates its internal topics and the remote topic first), a warm restart
//! (everything exists, progress is read back), and a record produced while
//! kmirror runs.

mod support;

use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use kmirror_testbed::{shared_cluster, ConsumeOptions, KafkaCluster, ProduceOptions, TestRecord};
use support::{total_end_offset, two_region_config, wait_until, Kmirror};

const TOPIC: &str = "payment-events";
const REMOTE: &str = "kafka-a.payment-events";
const TIMEOUT: Duration = Duration::from_secs(60);

/// Polls every 10 ms (finer than `wait_until`: this is a measurement) until
/// `topic` on `cluster` holds `count` records; returns the time since
/// `since`.
fn time_until_records(cluster: &KafkaCluster, topic: &str, count: i64, since: Instant) -> Duration {
    loop {
        if total_end_offset(cluster, topic) >= count {
            return since.elapsed();
        }
        assert!(
            since.elapsed() < TIMEOUT,
            "{topic} on {} did not reach {count} records within {TIMEOUT:?}",
            cluster.name()
        );
        std::thread::sleep(Duration::from_millis(10));
    }
}

fn produce_one(cluster: &KafkaCluster, i: u32) {
    cluster.produce(
        TOPIC,
        &ProduceOptions::default(),
        &[TestRecord::new()
            .key(format!("k{i}"))
            .value(format!("record {i}"))],
    );
}

/// The lines of kmirror's log that mark its start-up steps, each with its
/// time since `started` (the log's UTC time of day against the clock's).
fn start_up_steps(log: &str, started: SystemTime) -> String {
    let start_of_day = started
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs_f64()
        .rem_euclid(86_400.0);
    log.lines()
        .filter(|l| {
            ["connected", "flow started", "topic created"]
                .iter()
                .any(|m| l.contains(m))
        })
        .map(|l| {
            // "2026-11-25T21:40:33.271288Z  INFO connected ..."
            let at = l
                .get(11..26)
                .and_then(|t| {
                    let mut parts = t.split(':');
                    let h: f64 = parts.next()?.parse().ok()?;
                    let m: f64 = parts.next()?.parse().ok()?;
                    let s: f64 = parts.next()?.parse().ok()?;
                    Some(h * 3600.0 + m * 60.0 + s)
                })
                .map(|t| format!("+{:>5.0} ms", (t - start_of_day) * 1000.0))
                .unwrap_or_default();
            format!("  {at}  {}", l.get(27..).unwrap_or(l).trim())
        })
        .collect::<Vec<_>>()
        .join("\n")
}

#[test]
fn first_record_is_replicated_soon_after_start() {
    let a = shared_cluster("kafka-a");
    let b = shared_cluster("kafka-b");
    a.create_topic(TOPIC, 1, 1, &[]);
    produce_one(a, 1);
    // An application's group on kafka-a, for checkpoints to read.
    let mut options = ConsumeOptions::committed(1);
    options.group = Some("startup-app".to_string());
    options.commit = true;
    assert_eq!(a.consume(TOPIC, &options).len(), 1);
    let (_dir, config) = two_region_config(a, b, "emit.checkpoints.interval.seconds = 2");
    // Both clusters answer before the clock starts.
    assert!(a.list_topics().contains(&TOPIC.to_string()));
    assert!(!b.list_topics().contains(&REMOTE.to_string()));

    let (started, clock) = (Instant::now(), SystemTime::now());
    // At the default log level, as an operator runs it.
    let mut kmirror = Kmirror::start_with_env(
        &["run", config.to_str().unwrap()],
        &[("KMIRROR_LOG", "info")],
    );
    let cold = time_until_records(b, REMOTE, 1, started);
    eprintln!(
        "cold start: first record on kafka-b {cold:.2?} after `kmirror run` started \
         (internal and remote topics created first)\n{}",
        start_up_steps(&kmirror.log(), clock)
    );
    // What a fresh cluster answers for a moment (coordinators loading,
    // topics just created, no checkpoints yet) is not a warning; on these
    // one-broker clusters the lowered replication factor is.
    wait_until(
        "both flows' heartbeats replicated and the app's group checkpointed",
        TIMEOUT,
        || {
            total_end_offset(b, "kafka-a.heartbeats") > 0
                && total_end_offset(a, "kafka-b.heartbeats") > 0
                && total_end_offset(b, "kafka-a.checkpoints.internal") > 0
        },
    );
    let log = kmirror.log();
    let unexpected: Vec<&str> = log
        .lines()
        .filter(|l| l.contains(" WARN ") || l.contains(" ERROR "))
        .filter(|l| !l.contains("replication factor lowered to 1"))
        .collect();
    assert!(
        unexpected.is_empty(),
        "warnings on a fresh start:\n{}\n---- log ----\n{log}",
        unexpected.join("\n")
    );
    let lowered = log
        .lines()
        .filter(|l| l.contains(" WARN ") && l.contains("replication factor lowered to 1"))
        .count();
    assert_eq!(lowered, 2, "said once per cluster:\n{log}");
    assert!(
        !log.lines().any(|l| l.contains("cluster=127.0.0.1")),
        "clusters are named by alias in the log:\n{log}"
    );
    let status = kmirror.terminate(Duration::from_secs(10));
    assert!(status.success(), "exit status {status}");

    produce_one(a, 2);
    let (started, clock) = (Instant::now(), SystemTime::now());
    let mut kmirror = Kmirror::run(&config);
    let warm = time_until_records(b, REMOTE, 2, started);
    eprintln!(
        "warm start: first new record on kafka-b {warm:.2?} after `kmirror run` started \
         (topics exist, progress read back)\n{}",
        start_up_steps(&kmirror.log(), clock)
    );

    let before = Instant::now();
    produce_one(a, 3);
    let acked = before.elapsed();
    let live = time_until_records(b, REMOTE, 3, before);
    eprintln!(
        "running: a record produced now is on kafka-b {live:.2?} after the producer started \
         ({acked:.2?} of it the Java producer's own start and acknowledgement)"
    );

    let status = kmirror.terminate(Duration::from_secs(10));
    assert!(status.success(), "exit status {status}");
}
