//! Consumer group failover and failback with exact offset translation:
//! checkpoints in MM2's format that MM2's own tools read, group offsets synced
//! to idle groups, `kmirror offsets translate` agreeing with MM2's
//! `RemoteClusterUtils.translateOffsets`, and zero re-reads after failover.

mod support;

use std::collections::BTreeSet;
use std::time::Duration;

use kmirror_testbed::{
    shared_cluster, ConsumeOptions, JavaCommand, KafkaCluster, ProduceOptions, TestRecord,
};
use support::{
    consume_group, group_offsets, kmirror_translate, mm2_translate, partitions_per_worker,
    produce_sequence_to, total_end_offset, two_region_config, unique_group_prefix, wait_shared,
    wait_until, Kmirror,
};

const TOPIC: &str = "payment-events";
const REMOTE: &str = "kafka-a.payment-events";

/// The tests share two clusters and each runs a kmirror on them: one at a
/// time, or two replicators would write the same remote topics.
static ONE_AT_A_TIME: std::sync::Mutex<()> = std::sync::Mutex::new(());

fn serial() -> std::sync::MutexGuard<'static, ()> {
    ONE_AT_A_TIME
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

fn produce_sequence(cluster: &KafkaCluster, from: usize, count: usize) {
    produce_sequence_to(cluster, TOPIC, from, count);
}

#[test]
fn groups_fail_over_and_back_with_exact_offsets() {
    let _serial = serial();
    let a = shared_cluster("kafka-a");
    let b = shared_cluster("kafka-b");
    for cluster in [a, b] {
        cluster.create_topic(TOPIC, 2, 1, &[]);
        let _ = cluster.try_create_topic("user-actions", 1, 1, &[]);
    }
    let (_dir, config) = two_region_config(
        a,
        b,
        "emit.checkpoints.interval.seconds = 1\n\
         refresh.groups.interval.seconds = 1\n\
         sync.group.offsets.enabled = true\n\
         sync.group.offsets.interval.seconds = 1",
    );
    let kmirror = Kmirror::run(&config);

    produce_sequence(a, 0, 2000);
    wait_until(
        "replication of 2000 records",
        Duration::from_secs(60),
        || total_end_offset(b, REMOTE) >= 2000,
    );

    // A group reads part of the topic on A and commits.
    let read_on_a = consume_group(a, TOPIC, "billing", 700);
    assert_eq!(read_on_a.len(), 700);
    let committed_on_a = group_offsets(a, "billing");

    // A second group lags the flow by thousands of records.
    let lagging = consume_group(a, TOPIC, "audit", 150);
    assert_eq!(lagging.len(), 150);
    produce_sequence(a, 2000, 3000);
    wait_until(
        "replication of 5000 records",
        Duration::from_secs(60),
        || total_end_offset(b, REMOTE) >= 5000,
    );

    // Checkpoints arrive, and the idle groups on B are synced to them. The
    // source had no gaps: translation is the identity here, exactly.
    let on_b = |committed: &BTreeSet<String>| -> BTreeSet<String> {
        committed
            .iter()
            .map(|l| l.replacen(TOPIC, REMOTE, 1))
            .collect()
    };
    let expected = on_b(&committed_on_a);
    let audit_expected = on_b(&group_offsets(a, "audit"));
    assert!(!expected.is_empty() && !audit_expected.is_empty());
    wait_until("billing synced on kafka-b", Duration::from_secs(60), || {
        group_offsets(b, "billing") == expected
    });
    wait_until("audit synced on kafka-b", Duration::from_secs(60), || {
        group_offsets(b, "audit") == audit_expected
    });
    let (ok, ours, stderr) = kmirror_translate(&config, "billing", "kafka-a", "kafka-b", &[]);
    assert!(ok, "{stderr}");
    assert_eq!(ours, expected, "kmirror offsets translate");
    assert_eq!(
        mm2_translate(b, "kafka-a", "billing"),
        expected,
        "MM2's RemoteClusterUtils"
    );
    let (ok, live, stderr) =
        kmirror_translate(&config, "billing", "kafka-a", "kafka-b", &["--live"]);
    assert!(ok, "{stderr}");
    assert_eq!(live, expected, "live translation");

    // MM2's CheckpointFormatter decodes kmirror's checkpoints.
    let output = JavaCommand::new("org.apache.kafka.tools.consumer.ConsoleConsumer")
        .args([
            "--bootstrap-server",
            &b.bootstrap(),
            "--topic",
            "kafka-a.checkpoints.internal",
            "--from-beginning",
            "--max-messages",
            "1",
            "--timeout-ms",
            "10000",
            "--formatter",
            "org.apache.kafka.connect.mirror.formatters.CheckpointFormatter",
        ])
        .timeout(Duration::from_secs(60))
        .run(b"");
    let formatted = String::from_utf8_lossy(&output.stdout);
    assert!(formatted.contains("consumerGroupId="), "{formatted}");

    // Failover: billing continues on B and misses nothing, re-reads nothing.
    let read_on_b = consume_group(b, REMOTE, "billing", 10_000);
    let all: BTreeSet<String> = (0..5000).map(|i| format!("seq-{i}")).collect();
    let seen_a: BTreeSet<String> = read_on_a.iter().cloned().collect();
    let seen_b: BTreeSet<String> = read_on_b.iter().cloned().collect();
    assert_eq!(
        seen_a.intersection(&seen_b).count(),
        0,
        "records re-read after failover"
    );
    assert_eq!(&seen_a | &seen_b, all, "records missed after failover");
    assert_eq!(
        read_on_b.len(),
        5000 - 700,
        "duplicates within the failover read"
    );

    // The lagging group too.
    let audit_b: BTreeSet<String> = consume_group(b, REMOTE, "audit", 10_000)
        .into_iter()
        .collect();
    let audit_a: BTreeSet<String> = lagging.into_iter().collect();
    assert_eq!(audit_a.intersection(&audit_b).count(), 0, "audit re-read");
    assert_eq!(&audit_a | &audit_b, all, "audit missed records");

    // Failback: billing consumed everything on B; the B->A flow checkpoints
    // it back onto payment-events on A at the end of the log.
    let ends_a: BTreeSet<String> = a
        .end_offsets(TOPIC)
        .iter()
        .enumerate()
        .map(|(p, o)| format!("{TOPIC} {p} {o}"))
        .collect();
    wait_until("failback checkpoints", Duration::from_secs(60), || {
        let (ok, lines, _) = kmirror_translate(&config, "billing", "kafka-b", "kafka-a", &[]);
        ok && lines == ends_a
    });
    assert_eq!(
        mm2_translate(a, "kafka-b", "billing"),
        ends_a,
        "MM2's failback translation"
    );
    drop(kmirror);
}

/// A compacted source: offsets inside batches with gaps translate to the
/// batch's start, so a failed-over group re-reads at most one batch.
#[test]
fn compacted_source_fails_over_rereading_at_most_one_batch() {
    let _serial = serial();
    let a = shared_cluster("kafka-a");
    let b = shared_cluster("kafka-b");
    let topic = "ledger";
    let remote = "kafka-a.ledger";
    // Small segments and an eager cleaner so compaction happens within the
    // test (the broker's cleaner looks every 15 s).
    a.create_topic(
        topic,
        1,
        1,
        &[
            ("cleanup.policy", "compact"),
            ("segment.ms", "200"),
            ("min.cleanable.dirty.ratio", "0.001"),
            ("min.compaction.lag.ms", "0"),
            ("delete.retention.ms", "100"),
        ],
    );
    let batch_of = |round: usize| -> Vec<TestRecord> {
        (0..200)
            .map(|i| {
                TestRecord::new()
                    .key(format!("key-{}", i % 20))
                    .value(format!("r{round}-{i}"))
            })
            .collect()
    };
    let options = ProduceOptions {
        linger_ms: Some(50),
        compression: kmirror_testbed::Compression::Lz4,
        ..ProduceOptions::default()
    };
    let mut round = 0;
    // Keep writing until the cleaner has removed records (offset gaps).
    wait_until(
        "the source log to be compacted",
        Duration::from_secs(120),
        || {
            a.produce(topic, &options, &batch_of(round));
            round += 1;
            let consumed = a.consume(topic, &ConsumeOptions::committed(100_000)).len() as i64;
            consumed < a.end_offsets(topic)[0]
        },
    );
    let end = a.end_offsets(topic)[0];
    let records_on_a = a.consume(topic, &ConsumeOptions::committed(100_000));

    let (_dir, config) = two_region_config(
        a,
        b,
        "kafka-a->kafka-b.topics = ledger\nemit.checkpoints.interval.seconds = 1\nrefresh.groups.interval.seconds = 1",
    );
    let kmirror = Kmirror::run(&config);
    wait_until("ledger replicated", Duration::from_secs(60), || {
        total_end_offset(b, remote) >= records_on_a.len() as i64
    });

    // A group stops in the middle of the compacted log.
    let read_on_a = consume_group(a, topic, "ledger-reader", records_on_a.len() / 2);
    assert!(!read_on_a.is_empty());
    let committed = group_offsets(a, "ledger-reader");
    wait_until("a ledger checkpoint", Duration::from_secs(60), || {
        let (ok, lines, _) = kmirror_translate(&config, "ledger-reader", "kafka-a", "kafka-b", &[]);
        ok && !lines.is_empty()
    });
    let (_, translated, _) = kmirror_translate(&config, "ledger-reader", "kafka-a", "kafka-b", &[]);
    assert_eq!(
        mm2_translate(b, "kafka-a", "ledger-reader"),
        translated,
        "MM2 reads the same checkpoint"
    );
    let (ok, _, stderr) =
        kmirror_translate(&config, "ledger-reader", "kafka-a", "kafka-b", &["--apply"]);
    assert!(ok, "{stderr}");

    let read_on_b = consume_group(b, remote, "ledger-reader", 100_000);
    let seen_a: BTreeSet<String> = read_on_a.iter().cloned().collect();
    let seen_b: BTreeSet<String> = read_on_b.iter().cloned().collect();
    let all: BTreeSet<String> = records_on_a
        .iter()
        .map(|r| String::from_utf8(r.value.clone().unwrap_or_default()).unwrap())
        .collect();
    assert_eq!(
        &seen_a | &seen_b,
        all,
        "records missed after failover (committed {committed:?}, end {end})"
    );
    let reread = seen_a.intersection(&seen_b).count();
    println!(
        "compacted source: {} records, re-read after failover: {reread}",
        all.len()
    );
    // One produce call's batch holds at most 200 records here.
    assert!(
        reread <= 200,
        "re-read {reread} records, more than one batch"
    );
    drop(kmirror);
}

/// Offset sync never touches a group that is active on the target or that
/// exists only there, and `--apply` refuses an active group.
#[test]
fn active_and_target_only_groups_are_left_alone() {
    let _serial = serial();
    let a = shared_cluster("kafka-a");
    let b = shared_cluster("kafka-b");
    // Its own topic, so the other tests' counts are not disturbed.
    const TOPIC: &str = "user-actions";
    const REMOTE: &str = "kafka-a.user-actions";
    for cluster in [a, b] {
        let _ = cluster.try_create_topic(TOPIC, 1, 1, &[]);
    }
    let (_dir, config) = two_region_config(
        a,
        b,
        "emit.checkpoints.interval.seconds = 1\n\
         refresh.groups.interval.seconds = 1\n\
         sync.group.offsets.enabled = true\n\
         sync.group.offsets.interval.seconds = 1",
    );
    let _kmirror = Kmirror::run(&config);
    let records: Vec<TestRecord> = (0..500)
        .map(|i| {
            TestRecord::new()
                .key(format!("k{i}"))
                .value(format!("u-{i}"))
        })
        .collect();
    a.produce(TOPIC, &ProduceOptions::default(), &records);
    wait_until("replication", Duration::from_secs(60), || {
        total_end_offset(b, REMOTE) >= 500
    });

    // A group that exists only on the target.
    b.alter_group_offsets(
        "target-only",
        &[kmirror_testbed::GroupOffset {
            topic: REMOTE.into(),
            partition: 0,
            offset: 3,
        }],
    );
    // A group active on the target while it also commits on the source.
    let active_b = std::thread::spawn(move || {
        let mut options = ConsumeOptions::committed(1_000_000);
        options.group = Some("active".into());
        options.commit = false;
        options.idle_timeout = Duration::from_secs(15);
        b.consume(REMOTE, &options)
    });
    wait_until(
        "the active member on kafka-b",
        Duration::from_secs(60),
        || b.list_groups().iter().any(|g| g == "active"),
    );
    consume_group(a, TOPIC, "active", 100);
    wait_until(
        "a checkpoint for the active group",
        Duration::from_secs(60),
        || {
            let (ok, lines, _) = kmirror_translate(&config, "active", "kafka-a", "kafka-b", &[]);
            ok && !lines.is_empty()
        },
    );
    let (ok, _, stderr) = kmirror_translate(&config, "active", "kafka-a", "kafka-b", &["--apply"]);
    assert!(
        !ok && stderr.contains("active"),
        "apply must refuse: {stderr}"
    );
    // Several sync intervals pass while the member is there.
    std::thread::sleep(Duration::from_secs(4));
    assert!(
        group_offsets(b, "active").is_empty(),
        "an active group was overwritten"
    );
    assert_eq!(
        group_offsets(b, "target-only"),
        BTreeSet::from([format!("{REMOTE} 0 3")]),
        "a target-only group was touched"
    );
    let _ = active_b.join();
}

/// Two workers share the flow: the one that runs the checkpoints translates
/// the other's partitions through the offset index that one persisted, and
/// the group lands on the target at exactly its source positions.
#[test]
fn checkpoints_of_a_flow_shared_by_two_workers_are_exact() {
    let _serial = serial();
    let a = shared_cluster("kafka-a");
    let b = shared_cluster("kafka-b");
    let topic = "shared-payments";
    let remote = "kafka-a.shared-payments";
    let partitions = 4;
    a.create_topic(topic, partitions, 1, &[]);
    let (_dir, config) = two_region_config(
        a,
        b,
        "kafka-a->kafka-b.topics = shared-payments\n\
         emit.checkpoints.interval.seconds = 1\n\
         refresh.groups.interval.seconds = 1\n\
         sync.group.offsets.enabled = true\n\
         sync.group.offsets.interval.seconds = 1",
    );
    let prefix = unique_group_prefix();
    let start = || {
        Kmirror::start_with_env(
            &["run", config.to_str().unwrap(), "--metrics-per-partition"],
            &[("KMIRROR_GROUP_PREFIX", prefix.as_str())],
        )
    };
    let one = start();
    let two = start();
    // The records go in once the workers share the flow: a partition read to
    // its end before the hand-over would show no records forwarded by its
    // new owner. The flow's units: the topic's partitions, heartbeats,
    // canary and the control unit.
    let units = partitions as usize + 3;
    wait_shared(
        &[&one, &two],
        "kafka-a->kafka-b",
        units,
        0,
        Duration::from_secs(60),
    );

    produce_sequence_to(a, topic, 0, 2000);
    wait_until(
        "replication of 2000 records",
        Duration::from_secs(60),
        || total_end_offset(b, remote) >= 2000,
    );
    // Each worker runs some of the topic's partitions.
    let shares = partitions_per_worker(&[&one, &two], "kafka-a->kafka-b", topic, partitions);
    assert!(shares.iter().all(|share| !share.is_empty()), "{shares:?}");

    // Every partition read to its end: each worker's partitions are in the
    // group's committed offsets.
    let read_on_a = consume_group(a, topic, "ledger", 2000);
    assert_eq!(read_on_a.len(), 2000);
    let expected: BTreeSet<String> = group_offsets(a, "ledger")
        .iter()
        .map(|l| l.replacen(topic, remote, 1))
        .collect();
    assert_eq!(expected.len(), partitions as usize, "{expected:?}");
    wait_until("ledger synced on kafka-b", Duration::from_secs(60), || {
        group_offsets(b, "ledger") == expected
    });
    assert_eq!(
        mm2_translate(b, "kafka-a", "ledger"),
        expected,
        "MM2's RemoteClusterUtils"
    );
}
