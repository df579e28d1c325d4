//! No JVM outlives its owner: not when a cluster is dropped, not when the
//! process holding it is killed.

mod common;

use std::fs;
use std::process::{Command, Stdio};
use std::time::Duration;

use kmirror_testbed::{JavaCommand, KafkaCluster, TEST_CLIENT_CLASS};

#[test]
fn dropping_a_cluster_kills_its_jvms_and_removes_its_files() {
    let _serial = common::serial();
    let cluster = KafkaCluster::start("dropped");
    let pids = cluster.pids();
    // The broker and the admin client.
    assert_eq!(pids.len(), 2, "{pids:?}");
    assert!(pids.iter().all(|p| common::pid_alive(*p)));
    let dir = cluster.dir().to_path_buf();
    assert!(dir.join("broker-0/server.log").is_file());

    drop(cluster);
    for pid in pids {
        assert!(!common::pid_alive(pid), "JVM {pid} survived its cluster");
    }
    assert!(!dir.exists(), "{} was not removed", dir.display());
}

#[test]
fn closing_stdin_halts_the_jvm() {
    let _serial = common::serial();
    // An admin client with nothing to talk to waits for input forever.
    let mut process = JavaCommand::new(TEST_CLIENT_CLASS)
        .args(["admin", "--bootstrap", "127.0.0.1:9"])
        .spawn();
    assert!(process.wait_timeout(Duration::from_millis(500)).is_none());
    process.close_stdin();
    let status = process
        .wait_timeout(Duration::from_secs(15))
        .expect("the watchdog halts the JVM once stdin closes");
    assert!(status.success(), "{status}");
}

#[test]
fn killing_the_owner_process_halts_its_brokers() {
    let _serial = common::serial();
    let state = tempfile::tempdir().unwrap();
    let state_file = state.path().join("clusters");
    let mut up = Command::new(env!("CARGO_BIN_EXE_kmirror-testbed"))
        .args(["up", "--clusters", "orphan-a"])
        .arg("--state-file")
        .arg(&state_file)
        // /dev/null on stdin: `up` does not watch it, so only the kill ends it.
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    common::wait_for("the cluster's state file", Duration::from_secs(90), || {
        if let Some(status) = up.try_wait().unwrap() {
            panic!("kmirror-testbed up exited early: {status}");
        }
        state_file.exists()
    });
    let state_text = fs::read_to_string(&state_file).unwrap();
    assert!(
        state_text.starts_with("orphan-a=127.0.0.1:"),
        "{state_text}"
    );

    let jvms = common::children_of(up.id());
    assert_eq!(jvms.len(), 2, "broker and admin JVMs expected: {jvms:?}");
    up.kill().unwrap();
    up.wait().unwrap();
    common::wait_for("orphaned JVMs to halt", Duration::from_secs(15), || {
        jvms.iter().all(|pid| !common::pid_alive(*pid))
    });
}
