//! `kmirror check`: validates, reaches every cluster and prints the plan,
//! writing nothing; the Connect JSON form is accepted too.

mod support;

use std::process::Command;

use kmirror_testbed::shared_cluster;

/// Runs `kmirror check <config>`, asserts it succeeded, returns stdout.
fn check(config: &std::path::Path) -> String {
    let output = Command::new(env!("CARGO_BIN_EXE_kmirror"))
        .args(["check", config.to_str().unwrap()])
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout).to_string();
    assert!(
        output.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    stdout
}

#[test]
fn check_prints_the_plan_and_writes_nothing() {
    let a = shared_cluster("kafka-a");
    let b = shared_cluster("kafka-b");
    a.create_topic("payment-events", 3, 1, &[]);
    a.create_topic("user-actions", 1, 1, &[]);
    a.create_topic("not-listed", 1, 1, &[]);
    let (dir, config) = support::two_region_config(a, b, "");
    let before = b.list_topics_with_internal();

    let stdout = check(&config);
    assert!(stdout.contains("cluster kafka-a: reachable"), "{stdout}");
    assert!(
        stdout
            .contains("kafka-a: payment-events -> kafka-b: kafka-a.payment-events (3 partitions)"),
        "{stdout}"
    );
    assert!(
        stdout.contains("kafka-a: user-actions -> kafka-b: kafka-a.user-actions (1 partitions)"),
        "{stdout}"
    );
    assert!(!stdout.contains("not-listed"), "{stdout}");
    // "valid" comes last, once every cluster answered.
    assert!(
        stdout
            .trim_end()
            .ends_with(&format!("{}: valid", config.display())),
        "{stdout}"
    );
    assert_eq!(
        b.list_topics_with_internal(),
        before,
        "check wrote to the target"
    );

    // The same deployment as a Kafka Connect connector JSON.
    let json =
        std::fs::read_to_string(kmirror_testbed::repo_root().join("examples/mm2-connector.json"))
            .unwrap()
            .replace(
                "kafka-a-1:9092,kafka-a-2:9092,kafka-a-3:9092",
                &a.bootstrap(),
            )
            .replace(
                "kafka-b-1:9092,kafka-b-2:9092,kafka-b-3:9092",
                &b.bootstrap(),
            );
    let json_path = dir.path().join("connector.json");
    std::fs::write(&json_path, json).unwrap();
    let stdout = check(&json_path);
    assert!(stdout.contains("flow kafka-a->kafka-b"), "{stdout}");
    assert!(
        stdout.contains("kafka-a: payment-events -> kafka-b: kafka-a.payment-events"),
        "{stdout}"
    );
}

/// `check` says "valid" only when the file, every cluster and every flow
/// check out: an unreachable cluster is exit 1 (a cluster problem) with
/// one line naming it, and no "valid" anywhere.
#[test]
fn check_is_not_valid_while_a_cluster_is_unreachable() {
    let a = shared_cluster("kafka-a");
    // A loopback port that was bound and closed: nothing listens there.
    let closed = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .to_string();
    let text = kmirror_testbed::two_region_config(&a.bootstrap(), &closed, "");
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("mm2.properties");
    std::fs::write(&config, text).unwrap();
    let output = Command::new(env!("CARGO_BIN_EXE_kmirror"))
        .args(["check", config.to_str().unwrap()])
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(1), "{stdout}\n{stderr}");
    assert!(!stdout.contains("valid"), "{stdout}");
    let errors: Vec<&str> = stderr
        .lines()
        .filter(|l| l.starts_with("kmirror: "))
        .collect();
    assert_eq!(errors.len(), 1, "{stderr}");
    assert!(
        errors[0].contains("cluster kafka-b") && errors[0].contains(&closed),
        "{stderr}"
    );
}
