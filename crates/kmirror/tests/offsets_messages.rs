//! `kmirror offsets translate` tells apart why a group has nothing to
//! translate: a group the source cluster does not know is exit 1 with a
//! message; a known group whose first checkpoint is not written yet is
//! exit 3 saying when checkpoints are due; a group the flow's `groups`
//! leave out, or whose offsets are on topics it does not replicate, is exit
//! 1 saying so. `--apply` with nothing to change says so.

mod support;

use std::process::Command;
use std::time::Duration;

use kmirror_testbed::{
    random_topic_name, shared_cluster, GroupOffset, KafkaCluster, ProduceOptions, TestRecord,
};
use support::{total_end_offset, two_region_config, wait_until, Kmirror};

/// Runs `kmirror offsets translate`: exit code, stdout, stderr.
fn translate(config: &std::path::Path, group: &str, extra: &[&str]) -> (i32, String, String) {
    let output = Command::new(env!("CARGO_BIN_EXE_kmirror"))
        .args(["offsets", "translate", "--config"])
        .arg(config)
        .args(["--group", group, "--from", "kafka-a", "--to", "kafka-b"])
        .args(extra)
        .output()
        .unwrap();
    (
        output.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&output.stdout).to_string(),
        String::from_utf8_lossy(&output.stderr).to_string(),
    )
}

fn commit(cluster: &KafkaCluster, group: &str, topic: &str, offset: i64) {
    cluster.alter_group_offsets(
        group,
        &[GroupOffset {
            topic: topic.to_string(),
            partition: 0,
            offset,
        }],
    );
}

fn produce(cluster: &KafkaCluster, topic: &str, count: usize) {
    let records: Vec<TestRecord> = (0..count)
        .map(|i| TestRecord::new().value(format!("record {i}")))
        .collect();
    cluster.produce(topic, &ProduceOptions::default(), &records);
}

#[test]
fn unknown_groups_and_groups_without_a_checkpoint_yet_are_told_apart() {
    let a = shared_cluster("kafka-a");
    let b = shared_cluster("kafka-b");
    let topic = random_topic_name("translated");
    let other = random_topic_name("not-replicated");
    for t in [&topic, &other] {
        a.create_topic(t, 1, 1, &[]);
        produce(a, t, 5);
    }
    // No kmirror runs: no checkpoint will come for these groups.
    let (_dir, config) = two_region_config(
        a,
        b,
        &format!("kafka-a->kafka-b.topics = {topic}\nemit.checkpoints.interval.seconds = 45"),
    );

    // Not a group anywhere: exit 1, says so.
    let unknown = format!("{topic}-nobody");
    for extra in [&[][..], &["--live"], &["--apply"]] {
        let (code, stdout, stderr) = translate(&config, &unknown, extra);
        assert_eq!(code, 1, "{extra:?}: {stderr}");
        assert!(stdout.is_empty(), "{stdout}");
        assert!(
            stderr.contains(&format!("unknown group {unknown}")) && stderr.contains("kafka-a"),
            "{extra:?}: {stderr}"
        );
    }
    let (_, _, stderr) = translate(&config, &unknown, &["--apply"]);
    assert!(stderr.contains("nothing applied"), "{stderr}");

    // A group with offsets on a replicated topic, not checkpointed yet:
    // exit 3, saying when checkpoints are due.
    let waiting = format!("{topic}-waiting");
    commit(a, &waiting, &topic, 3);
    let (code, stdout, stderr) = translate(&config, &waiting, &[]);
    assert_eq!(code, 3, "{stderr}");
    assert!(stdout.is_empty(), "{stdout}");
    assert!(
        stderr.contains("no checkpoint for group")
            && stderr.contains("every 45 s")
            && stderr.contains("emit.checkpoints.interval.seconds")
            && stderr.contains("refresh.groups.interval.seconds"),
        "{stderr}"
    );

    // Offsets only on a topic the flow does not replicate: exit 1.
    let elsewhere = format!("{topic}-elsewhere");
    commit(a, &elsewhere, &other, 2);
    let (code, _, stderr) = translate(&config, &elsewhere, &[]);
    assert_eq!(code, 1, "{stderr}");
    assert!(
        stderr.contains("does not replicate") && stderr.contains(&other),
        "{stderr}"
    );

    // Left out by the default groups.exclude (console-consumer-.*): exit 1.
    let (code, _, stderr) = translate(&config, "console-consumer-4711", &[]);
    assert_eq!(code, 1, "{stderr}");
    assert!(stderr.contains("groups.exclude"), "{stderr}");
}

#[test]
fn apply_with_nothing_to_change_says_so() {
    let a = shared_cluster("kafka-a");
    let b = shared_cluster("kafka-b");
    let topic = random_topic_name("applied");
    let remote = format!("kafka-a.{topic}");
    a.create_topic(&topic, 1, 1, &[]);
    produce(a, &topic, 10);
    let (_dir, config) = two_region_config(
        a,
        b,
        &format!("kafka-a->kafka-b.topics = {topic}\nemit.checkpoints.interval.seconds = 1"),
    );
    let group = format!("{topic}-reader");
    commit(a, &group, &topic, 7);
    let mut kmirror = Kmirror::run(&config);
    wait_until("the topic replicated", Duration::from_secs(60), || {
        total_end_offset(b, &remote) >= 10
    });
    wait_until("a checkpoint of the group", Duration::from_secs(60), || {
        translate(&config, &group, &[]).0 == 0
    });
    let (code, stdout, stderr) = translate(&config, &group, &["--apply"]);
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(stdout.trim(), format!("{remote} 0 7"), "{stdout}");
    assert!(stderr.contains("committed 1 partition"), "{stderr}");

    let (code, _, stderr) = translate(&config, &group, &["--apply"]);
    assert_eq!(code, 0, "{stderr}");
    assert!(
        stderr.contains("nothing to change") && !stderr.contains("committed"),
        "{stderr}"
    );
    let status = kmirror.terminate(Duration::from_secs(10));
    assert!(status.success(), "{status}");
}
