//! `kmirror check` warns ahead about remote topics whose
//! `max.message.bytes` is below their source topic's: batches the source
//! accepted would be refused by the target and pause their partition.
//! (The pause itself, and its message, are in `rejected_writes.rs`.)

mod support;

use std::process::Command;

use kmirror_testbed::shared_cluster;

#[test]
fn check_warns_when_a_remote_topic_limit_is_below_the_source_one() {
    let a = shared_cluster("kafka-a");
    let b = shared_cluster("kafka-b");
    // Its own limit, above the broker default (1048588), not copied: the
    // flow excludes max.message.bytes, so the remote topic kmirror would
    // create gets kafka-b's broker default.
    a.create_topic("limits-big", 1, 1, &[("max.message.bytes", "2000000")]);
    // The broker default on kafka-a, but its remote topic exists with less.
    a.create_topic("limits-small-remote", 1, 1, &[]);
    b.create_topic(
        "kafka-a.limits-small-remote",
        1,
        1,
        &[("max.message.bytes", "1000")],
    );
    // Same limits on both sides: nothing to say.
    a.create_topic("limits-fine", 1, 1, &[]);
    let (_dir, config) = support::two_region_config(
        a,
        b,
        "kafka-a->kafka-b.topics = limits-.*\n\
         kafka-a->kafka-b.config.properties.exclude = max.message.bytes\n",
    );
    let output = Command::new(env!("CARGO_BIN_EXE_kmirror"))
        .args(["check", config.to_str().unwrap()])
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let warnings: Vec<&str> = stdout
        .lines()
        .filter(|l| l.starts_with("warning:") && l.contains("max.message.bytes"))
        .collect();
    assert_eq!(warnings.len(), 2, "{stdout}");
    let about = |topic: &str| {
        warnings
            .iter()
            .find(|l| l.contains(&format!("kafka-b: {topic} ")))
            .unwrap_or_else(|| panic!("no warning about {topic}: {stdout}"))
            .to_string()
    };
    let small = about("kafka-a.limits-small-remote");
    for part in [
        "has max.message.bytes 1000 bytes (set on the topic)",
        "below kafka-a: limits-small-remote's 1048588 bytes (the broker's message.max.bytes)",
        "raise max.message.bytes of kafka-a.limits-small-remote on kafka-b to 1048588",
    ] {
        assert!(small.contains(part), "{part:?} in {small}");
    }
    let big = about("kafka-a.limits-big");
    for part in [
        "(not created yet) will have max.message.bytes 1048588 bytes (the broker's message.max.bytes)",
        "below kafka-a: limits-big's 2000000 bytes (set on the topic)",
    ] {
        assert!(big.contains(part), "{part:?} in {big}");
    }
}
