//! Consumer groups and their offsets, read and translated by kmirror and by
//! MM2's own `RemoteClusterUtils`.

use std::collections::BTreeSet;
use std::process::Command;
use std::time::Duration;

use kmirror_testbed::{ConsumeOptions, JavaCommand, KafkaCluster, ProduceOptions, TestRecord};

/// Records `seq-<from>..` keyed `k<i % 17>` into `topic`.
pub fn produce_sequence_to(cluster: &KafkaCluster, topic: &str, from: usize, count: usize) {
    let records: Vec<TestRecord> = (from..from + count)
        .map(|i| {
            TestRecord::new()
                .key(format!("k{}", i % 17))
                .value(format!("seq-{i}"))
        })
        .collect();
    cluster.produce(topic, &ProduceOptions::default(), &records);
}

/// Reads up to `max` records of `topic` as `group` (read_committed) and
/// commits exactly what it returned; the values.
pub fn consume_group(cluster: &KafkaCluster, topic: &str, group: &str, max: usize) -> Vec<String> {
    let mut options = ConsumeOptions::committed(max);
    options.group = Some(group.to_string());
    options.commit = true;
    options.idle_timeout = Duration::from_secs(8);
    cluster
        .consume(topic, &options)
        .into_iter()
        .map(|r| String::from_utf8(r.value.unwrap_or_default()).unwrap())
        .collect()
}

/// `kmirror offsets translate` of `group` from `from` to `to`: success,
/// the lines printed, stderr.
pub fn kmirror_translate(
    config: &std::path::Path,
    group: &str,
    from: &str,
    to: &str,
    extra: &[&str],
) -> (bool, BTreeSet<String>, String) {
    let output = Command::new(env!("CARGO_BIN_EXE_kmirror"))
        .args([
            "offsets",
            "translate",
            "--config",
            config.to_str().unwrap(),
            "--group",
            group,
            "--from",
            from,
            "--to",
            to,
        ])
        .args(extra)
        .output()
        .unwrap();
    let lines = String::from_utf8_lossy(&output.stdout)
        .lines()
        .map(str::to_string)
        .collect();
    (
        output.status.success(),
        lines,
        String::from_utf8_lossy(&output.stderr).to_string(),
    )
}

/// MM2's `RemoteClusterUtils.translateOffsets` of `group` on `target`.
pub fn mm2_translate(target: &KafkaCluster, remote_alias: &str, group: &str) -> BTreeSet<String> {
    let output = JavaCommand::new("dev.kmirror.testbed.Translate")
        .args([target.bootstrap().as_str(), remote_alias, group])
        .timeout(Duration::from_secs(60))
        .run(b"");
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout)
        .lines()
        .map(str::to_string)
        .collect()
}

/// `topic partition offset` lines of `group`'s committed offsets.
pub fn group_offsets(cluster: &KafkaCluster, group: &str) -> BTreeSet<String> {
    cluster
        .group_offsets(group)
        .into_iter()
        .map(|o| format!("{} {} {}", o.topic, o.partition, o.offset))
        .collect()
}
