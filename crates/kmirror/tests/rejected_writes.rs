//! A target that rejects a partition's batches: kmirror pauses that
//! partition with a clear error in its log, keeps the other partitions
//! moving, skips nothing, and resumes by itself once the cause is fixed.
//!
//! Three causes, each in its own test with its own pair of aliases (so that
//! the tests, which share the two clusters, share no kmirror topic):
//! (a) `max.message.bytes` of the remote topic too small for a batch,
//! (b) the remote topic deleted while running (auto-create is off),
//! (c) WRITE on the remote topic denied by an ACL (kafka-b runs KRaft's
//!     `StandardAuthorizer`; on PLAINTEXT every client is `User:ANONYMOUS`).

mod support;

use std::path::PathBuf;
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use kmirror_testbed::{
    shared_cluster, ConsumeOptions, JavaCommand, KafkaCluster, ProduceOptions, TestRecord,
};
use support::{total_end_offset, wait_until, Kmirror};

/// One test at a time: with two clusters (and their admin clients) up, a
/// second test's kmirror and producers would exceed what two cores run
/// smoothly, and the tests time pauses and resumptions.
fn one_at_a_time() -> std::sync::MutexGuard<'static, ()> {
    static LOCK: std::sync::Mutex<()> = std::sync::Mutex::new(());
    LOCK.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// kafka-b with an authorizer. With `allow.everyone.if.no.acl.found`, a
/// resource without ACLs is open to everyone, so the brokers, kmirror and
/// the test's clients need no ACLs until a test adds some.
fn cluster_b() -> &'static KafkaCluster {
    static B: OnceLock<KafkaCluster> = OnceLock::new();
    B.get_or_init(|| {
        KafkaCluster::builder("kafka-b")
            .broker_prop(
                "authorizer.class.name",
                "org.apache.kafka.metadata.authorizer.StandardAuthorizer",
            )
            .broker_prop("allow.everyone.if.no.acl.found", "true")
            .start()
    })
}

/// The users' config with its aliases renamed `<tag>-a` and `<tag>-b`,
/// replicating only `topics` from A to B.
fn config(
    a: &KafkaCluster,
    b: &KafkaCluster,
    tag: &str,
    topics: &str,
) -> (tempfile::TempDir, PathBuf) {
    let text = kmirror_testbed::two_region_config(&a.bootstrap(), &b.bootstrap(), "")
        .replace("kafka-a", &format!("{tag}-a"))
        .replace("kafka-b", &format!("{tag}-b"));
    let text = format!("{text}\n{tag}-a->{tag}-b.topics = {topics}\n");
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("mm2.properties");
    std::fs::write(&path, text).unwrap();
    (dir, path)
}

/// Small records `from..to` of one partition; values `"<p>:<i>"`.
fn small(partition: i32, seqs: std::ops::Range<u32>) -> Vec<TestRecord> {
    seqs.map(|i| {
        TestRecord::new()
            .partition(partition)
            .key(format!("k{i}"))
            .value(format!("{partition}:{i}"))
    })
    .collect()
}

fn produce(cluster: &KafkaCluster, topic: &str, records: &[TestRecord]) {
    cluster.produce(topic, &ProduceOptions::default(), records);
}

/// `(partition, value)` of every record, in offset order per partition.
fn contents(cluster: &KafkaCluster, topic: &str) -> Vec<(i32, Vec<u8>)> {
    let count: i64 = cluster.end_offsets(topic).iter().sum();
    let mut options = ConsumeOptions::committed(count as usize);
    options.idle_timeout = Duration::from_secs(5);
    let mut records = cluster.consume(topic, &options);
    records.sort_by_key(|r| (r.partition, r.offset));
    records
        .into_iter()
        .map(|r| (r.partition, r.value.unwrap_or_default()))
        .collect()
}

/// Asserts that `remote` on B holds exactly `topic`'s records on A: every
/// one, none twice, in order per partition.
fn assert_mirrored(a: &KafkaCluster, topic: &str, b: &KafkaCluster, remote: &str) {
    let (source, target) = (contents(a, topic), contents(b, remote));
    assert_eq!(
        source.len(),
        target.len(),
        "{remote}: {} records, {topic} has {}",
        target.len(),
        source.len()
    );
    assert!(source == target, "{remote} differs from {topic}");
}

fn end_offset(cluster: &KafkaCluster, topic: &str, partition: usize) -> i64 {
    cluster.end_offsets(topic)[partition]
}

/// The log lines saying a partition paused.
fn paused_lines(kmirror: &Kmirror) -> Vec<String> {
    kmirror
        .log()
        .lines()
        .filter(|l| l.contains("partition paused"))
        .map(str::to_string)
        .collect()
}

/// Waits until kmirror logged a pause of `tp` whose error names one of
/// `causes`; returns that line.
fn wait_for_pause(kmirror: &Kmirror, tp: &str, causes: &[&str]) -> String {
    let mut found = None;
    wait_until(
        &format!("a logged pause of {tp}"),
        Duration::from_secs(60),
        || {
            found = paused_lines(kmirror)
                .into_iter()
                .find(|l| l.contains(&format!("tp={tp} ")) && causes.iter().any(|c| l.contains(c)));
            found.is_some()
        },
    );
    found.unwrap()
}

/// `(state, last_error)` of a source partition in kmirror's `GET /status`.
fn partition_status(
    kmirror: &Kmirror,
    flow: &str,
    topic: &str,
    partition: i64,
) -> Option<(String, Option<String>)> {
    let status = kmirror.rest_get("/status");
    let flow = status["flows"]
        .as_array()?
        .iter()
        .find(|f| f["name"] == flow)?;
    let topic = flow["topics"]
        .as_array()?
        .iter()
        .find(|t| t["topic"] == topic)?;
    let p = topic["partitions"]
        .as_array()?
        .iter()
        .find(|p| p["partition"] == partition)?;
    Some((
        p["state"].as_str()?.to_string(),
        p["last_error"].as_str().map(str::to_string),
    ))
}

/// Waits until `GET /status` shows the partition paused with an error
/// naming one of `causes` (between retries it shows `running`).
fn wait_for_paused_status(
    kmirror: &Kmirror,
    flow: &str,
    topic: &str,
    partition: i64,
    causes: &[&str],
) {
    let mut last = None;
    let what = format!("{topic}-{partition} paused in the status");
    let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        wait_until(&what, Duration::from_secs(60), || {
            last = partition_status(kmirror, flow, topic, partition);
            matches!(&last, Some((state, Some(error)))
                if state == "paused" && causes.iter().any(|c| error.contains(c)))
        })
    }));
    if let Err(panic) = result {
        eprintln!("last status of {topic}-{partition}: {last:?}");
        std::panic::resume_unwind(panic);
    }
    eprintln!("status of {topic}-{partition}: {last:?}");
}

fn acl(b: &KafkaCluster, action: &str, extra: &[&str]) {
    let output = JavaCommand::new(support::acl_command_class())
        .args(["--bootstrap-server", &b.bootstrap(), action])
        .args(extra)
        .timeout(Duration::from_secs(60))
        .run(b"");
    assert!(
        output.status.success(),
        "AclCommand {action} {extra:?} failed:\n{}\n{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
}

const FLOW_A: &str = "large-a->large-b";
const FLOW_B: &str = "gone-a->gone-b";
const FLOW_C: &str = "acl-a->acl-b";

#[test]
fn batch_too_large_pauses_its_partition_until_max_message_bytes_is_raised() {
    let _serial = one_at_a_time();
    let (a, b) = (shared_cluster("kafka-a"), cluster_b());
    let (orders, steady) = ("large-orders", "large-steady");
    let (remote_orders, remote_steady) = ("large-a.large-orders", "large-a.large-steady");
    a.create_topic(orders, 2, 1, &[]);
    a.create_topic(steady, 1, 1, &[]);
    produce(a, orders, &[small(0, 0..3), small(1, 0..3)].concat());
    produce(a, steady, &small(0, 0..3));
    let (_dir, config) = config(a, b, "large", "large-orders, large-steady");
    let mut kmirror = Kmirror::run(&config);
    wait_until(
        "the first records on kafka-b",
        Duration::from_secs(60),
        || total_end_offset(b, remote_orders) >= 6 && total_end_offset(b, remote_steady) >= 3,
    );

    // The remote topic now refuses batches over 1000 bytes; partition 0
    // gets one record of 5000 among small ones.
    b.alter_topic_config(remote_orders, &[("max.message.bytes", "1000")], &[]);
    let large = TestRecord::new()
        .partition(0)
        .key("large")
        .value(vec![b'L'; 5000]);
    produce(
        a,
        orders,
        &[small(0, 3..5), vec![large], small(0, 6..8)].concat(),
    );
    let line = wait_for_pause(
        &kmirror,
        "large-orders-0",
        &["MessageTooLarge", "RecordListTooLarge", "RecordTooLarge"],
    );
    eprintln!("pause logged: {line}");
    assert!(
        line.contains(remote_orders),
        "the line names the remote topic: {line}"
    );
    // It says what to raise where, from what, to at least what.
    assert!(
        line.contains(&format!(
            "raise max.message.bytes of topic {remote_orders} on large-b, now 1000 bytes (set on the topic), to at least the batch's "
        )),
        "the line names the setting, topic and current value: {line}"
    );
    let batch_bytes: u32 = line
        .split("to at least the batch's ")
        .nth(1)
        .and_then(|rest| rest.split(' ').next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("no batch size in {line}"));
    assert!(
        (5000..6000).contains(&batch_bytes),
        "the batch of the 5000-byte record: {batch_bytes}"
    );
    wait_for_paused_status(&kmirror, FLOW_A, orders, 0, &["max.message.bytes of topic"]);

    // The other partition of the topic and the other topic keep moving,
    // twice over while partition 0 stays paused.
    for round in 0..2u32 {
        let seqs = 3 + 10 * round..13 + 10 * round;
        produce(a, orders, &small(1, seqs.clone()));
        produce(a, steady, &small(0, seqs.clone()));
        wait_until(
            "the other partitions to keep moving",
            Duration::from_secs(60),
            || {
                end_offset(b, remote_orders, 1) >= seqs.end as i64
                    && end_offset(b, remote_steady, 0) >= seqs.end as i64
            },
        );
        let held = end_offset(b, remote_orders, 0);
        assert!(
            (3..=5).contains(&held),
            "partition 0 went past the refused record: {held}"
        );
    }
    for line in paused_lines(&kmirror) {
        assert!(
            line.contains("tp=large-orders-0 "),
            "only partition 0 paused: {line}"
        );
    }
    for (topic, p) in [(orders, 1), (steady, 0)] {
        let (state, _) = partition_status(&kmirror, FLOW_A, topic, p).unwrap();
        assert_eq!(state, "running", "{topic}-{p}");
    }

    // Fixed: the partition resumes by itself with the refused batch.
    b.alter_topic_config(remote_orders, &[], &["max.message.bytes"]);
    let fixed = Instant::now();
    let source_end = end_offset(a, orders, 0);
    wait_until("partition 0 to resume", Duration::from_secs(120), || {
        end_offset(b, remote_orders, 0) >= source_end
    });
    eprintln!(
        "partition 0 resumed {:.2?} after max.message.bytes was raised ({} pauses logged)",
        fixed.elapsed(),
        paused_lines(&kmirror).len()
    );
    assert_mirrored(a, orders, b, remote_orders);
    assert_mirrored(a, steady, b, remote_steady);
    wait_until(
        "partition 0 running in the status",
        Duration::from_secs(30),
        || {
            partition_status(&kmirror, FLOW_A, orders, 0)
                .is_some_and(|(state, _)| state == "running")
        },
    );

    let status = kmirror.terminate(Duration::from_secs(10));
    assert!(status.success(), "exit status {status}");
}

#[test]
fn deleted_remote_topic_pauses_its_partitions_until_recreated() {
    let _serial = one_at_a_time();
    let (a, b) = (shared_cluster("kafka-a"), cluster_b());
    let (orders, steady) = ("gone-orders", "gone-steady");
    let (remote_orders, remote_steady) = ("gone-a.gone-orders", "gone-a.gone-steady");
    a.create_topic(orders, 1, 1, &[]);
    a.create_topic(steady, 1, 1, &[]);
    produce(a, orders, &small(0, 0..5));
    produce(a, steady, &small(0, 0..5));
    let (_dir, config) = config(a, b, "gone", "gone-orders, gone-steady");
    let mut kmirror = Kmirror::run(&config);
    wait_until(
        "the first records on kafka-b",
        Duration::from_secs(60),
        || total_end_offset(b, remote_orders) >= 5 && total_end_offset(b, remote_steady) >= 5,
    );

    b.delete_topic(remote_orders);
    let deleted = Instant::now();
    produce(a, orders, &small(0, 5..15));
    produce(a, steady, &small(0, 5..15));
    wait_until(
        "the other topic to keep moving",
        Duration::from_secs(60),
        || total_end_offset(b, remote_steady) >= 15,
    );

    // The partition pauses on the missing topic (after a short grace for
    // metadata propagation), then kmirror recreates the remote topic and
    // copies what it had not copied before the deletion: records 5..15
    // (0..5 went with the deleted topic).
    let line = wait_for_pause(
        &kmirror,
        "gone-orders-0",
        &["unknown topic or partition", "UnknownTopicOrPartition"],
    );
    eprintln!(
        "pause logged {:.2?} after the deletion: {line}",
        deleted.elapsed()
    );
    wait_for_paused_status(&kmirror, FLOW_B, orders, 0, &["unknown topic or partition"]);
    wait_until(
        "the remote topic to be recreated and caught up",
        Duration::from_secs(60),
        || total_end_offset(b, remote_orders) >= 10,
    );
    eprintln!(
        "{remote_orders} recreated and caught up {:.2?} after its deletion",
        deleted.elapsed()
    );
    let expected: Vec<(i32, Vec<u8>)> = contents(a, orders).split_off(5);
    assert_eq!(
        contents(b, remote_orders),
        expected,
        "records 5..15, in order, once"
    );
    assert_mirrored(a, steady, b, remote_steady);
    for line in paused_lines(&kmirror) {
        assert!(
            line.contains("tp=gone-orders-0 "),
            "only gone-orders paused: {line}"
        );
    }

    let status = kmirror.terminate(Duration::from_secs(10));
    assert!(status.success(), "exit status {status}");
}

#[test]
fn denied_write_pauses_its_partition_until_the_acl_is_removed() {
    let _serial = one_at_a_time();
    let (a, b) = (shared_cluster("kafka-a"), cluster_b());
    let (orders, steady) = ("acl-orders", "acl-steady");
    let (remote_orders, remote_steady) = ("acl-a.acl-orders", "acl-a.acl-steady");
    a.create_topic(orders, 1, 1, &[]);
    a.create_topic(steady, 1, 1, &[]);
    produce(a, orders, &small(0, 0..5));
    produce(a, steady, &small(0, 0..5));
    let (_dir, config) = config(a, b, "acl", "acl-orders, acl-steady");
    let mut kmirror = Kmirror::run(&config);
    wait_until(
        "the first records on kafka-b",
        Duration::from_secs(60),
        || total_end_offset(b, remote_orders) >= 5 && total_end_offset(b, remote_steady) >= 5,
    );

    // Everything allowed on the topic but WRITE for User:ANONYMOUS (a DENY
    // wins over an ALLOW; the ALLOW keeps the topic readable and
    // describable once it has ACLs at all).
    let topic = ["--topic", remote_orders];
    acl(
        b,
        "--add",
        &[
            &["--allow-principal", "User:*", "--operation", "All"][..],
            &topic,
        ]
        .concat(),
    );
    let deny = [
        &["--deny-principal", "User:ANONYMOUS", "--operation", "Write"][..],
        &topic,
    ]
    .concat();
    acl(b, "--add", &deny);

    produce(a, orders, &small(0, 5..15));
    let line = wait_for_pause(&kmirror, "acl-orders-0", &["TopicAuthorizationFailed"]);
    eprintln!("pause logged: {line}");
    wait_for_paused_status(&kmirror, FLOW_C, orders, 0, &["TopicAuthorizationFailed"]);
    produce(a, steady, &small(0, 5..15));
    wait_until(
        "the other topic to keep moving",
        Duration::from_secs(60),
        || total_end_offset(b, remote_steady) >= 15,
    );
    assert_eq!(
        end_offset(b, remote_orders, 0),
        5,
        "nothing written while denied"
    );

    acl(b, "--remove", &[&deny[..], &["--force"]].concat());
    let allowed = Instant::now();
    wait_until("the partition to resume", Duration::from_secs(120), || {
        end_offset(b, remote_orders, 0) >= 15
    });
    eprintln!(
        "acl-orders-0 resumed {:.2?} after the ACL was removed ({} pauses logged)",
        allowed.elapsed(),
        paused_lines(&kmirror).len()
    );
    assert_mirrored(a, orders, b, remote_orders);
    assert_mirrored(a, steady, b, remote_steady);

    let status = kmirror.terminate(Duration::from_secs(10));
    assert!(status.success(), "exit status {status}");
}
