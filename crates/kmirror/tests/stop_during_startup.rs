//! SIGINT and SIGTERM stop `kmirror run` at any point of its start-up
//! (connecting to clusters that do not answer, creating internal topics,
//! loading progress, joining the group), not only once it replicates: the
//! goal is within 1 s; the tests allow 5 s (this machine's load varies) and
//! assert exit code 0, as for a stop while replicating.
//!
//! The handlers are in place before kmirror logs its REST address, so the
//! tests signal once that line is there ("at once") or 2 s later.

mod support;

use std::net::TcpListener;
use std::time::{Duration, Instant};

use kmirror_testbed::shared_cluster;
use support::{two_region_config, unique_group_prefix, wait_until, Kmirror};

/// The bound of the tests, looser than the 1 s goal.
const EXIT_LIMIT: Duration = Duration::from_secs(5);

fn wait_for_rest(kmirror: &Kmirror) {
    wait_until("kmirror's REST address", Duration::from_secs(30), || {
        kmirror.rest_address().is_some()
    });
}

/// Sends `signal` after `delay`, asserts an exit with code 0 within
/// [`EXIT_LIMIT`]; returns the log.
fn stop(mut kmirror: Kmirror, signal: &str, delay: Duration) -> String {
    wait_for_rest(&kmirror);
    std::thread::sleep(delay);
    let running = kmirror.log();
    let sent = Instant::now();
    kmirror.send_signal(signal);
    let status = kmirror.wait(EXIT_LIMIT);
    let took = sent.elapsed();
    let log = kmirror.log();
    eprintln!("SIG{signal} after {delay:?}: {status} in {took:.2?}");
    assert_eq!(
        status.code(),
        Some(0),
        "SIG{signal}: exit {status}\nlog before the signal:\n{running}\nlog:\n{log}"
    );
    log
}

/// A bootstrap server that accepts connections (the kernel does, into the
/// backlog) and never answers: kmirror waits for its ApiVersions answer
/// (10 s) there, the slowest way a cluster can be unreachable.
fn silent_config() -> (TcpListener, tempfile::TempDir, std::path::PathBuf) {
    let silent = TcpListener::bind("127.0.0.1:0").unwrap();
    let address = silent.local_addr().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("mm2.properties");
    std::fs::write(
        &path,
        format!(
            "clusters = a, b\na.bootstrap.servers = {address}\nb.bootstrap.servers = {address}\n\
             a->b.enabled = true\nreplication.factor = 1\n"
        ),
    )
    .unwrap();
    (silent, dir, path)
}

#[test]
fn a_signal_stops_the_connection_to_a_cluster_that_does_not_answer() {
    for (signal, delay) in [("INT", Duration::ZERO), ("TERM", Duration::from_secs(2))] {
        let (_silent, _dir, config) = silent_config();
        let kmirror = Kmirror::run(&config);
        let log = stop(kmirror, signal, delay);
        assert!(
            log.contains("stopped before replication started"),
            "SIG{signal}:\n{log}"
        );
        assert!(!log.contains("unreachable"), "SIG{signal}:\n{log}");
    }
}

#[test]
fn a_signal_stops_the_start_on_live_clusters() {
    let a = shared_cluster("kafka-a");
    let b = shared_cluster("kafka-b");
    for (signal, delay) in [
        ("INT", Duration::ZERO),
        ("INT", Duration::from_secs(2)),
        ("TERM", Duration::ZERO),
    ] {
        // A group of its own each time: every start joins a fresh group
        // and creates or loads its internal topics.
        let (_dir, config) = two_region_config(a, b, "");
        let kmirror = Kmirror::run(&config);
        let log = stop(kmirror, signal, delay);
        assert!(
            log.contains("stop requested") && !log.contains("shutdown took too long"),
            "SIG{signal} after {delay:?}:\n{log}"
        );
    }
}

/// A worker joining a group whose other member is frozen (SIGSTOP) waits
/// in JoinGroup until the coordinator gives up on that member (its 6 s
/// session): a signal meanwhile stops it at once.
#[test]
fn a_signal_stops_a_worker_waiting_to_join_its_group() {
    let a = shared_cluster("kafka-a");
    let b = shared_cluster("kafka-b");
    let (_dir, config) = two_region_config(
        a,
        b,
        "session.timeout.ms = 6000\nheartbeat.interval.ms = 2000\nrebalance.timeout.ms = 30000",
    );
    let config = config.to_str().unwrap();
    let prefix = unique_group_prefix();
    let env = [("KMIRROR_GROUP_PREFIX", prefix.as_str())];
    let first = Kmirror::start_with_env(&["run", config, "--worker-id", "w1"], &env);
    wait_until("w1's assignment", Duration::from_secs(60), || {
        first.log().matches("assignment received").count() >= 2
    });
    first.send_signal("STOP");

    let second = Kmirror::start_with_env(&["run", config, "--worker-id", "w2"], &env);
    wait_for_rest(&second);
    std::thread::sleep(Duration::from_secs(2));
    assert!(
        !second.log().contains("assignment received"),
        "w2 joined before the signal: nothing waited\n{}",
        second.log()
    );
    let log = stop(second, "INT", Duration::ZERO);
    assert!(!log.contains("shutdown took too long"), "{log}");
    first.send_signal("CONT");
}
