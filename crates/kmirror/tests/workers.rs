//! Several `kmirror run` processes, one replication (issue 10): workers on
//! the same properties file and group prefix share the flow's partitions
//! through Kafka's group coordinator on the target cluster; a killed worker's
//! partitions move to the others within the session timeout, a joining one
//! takes its share, a frozen one is fenced, a rolling restart of static
//! members moves nothing, and `--clusters` runs one region each.
//!
//! Every record is counted with Kafka's Java consumer on both sides (every
//! sequence number of every source partition on the target, duplicates
//! counted), and what each producer id wrote is read from the broker's own
//! log files.
//!
//! The tests share one cluster pair and run one at a time: each measures
//! timings that a neighbour's load on this 2-core machine would distort.

mod support;

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use kmirror_testbed::{shared_cluster, KafkaCluster, ProduceOptions, TestRecord};
use support::*;

static ONE_AT_A_TIME: std::sync::Mutex<()> = std::sync::Mutex::new(());

fn serial() -> std::sync::MutexGuard<'static, ()> {
    ONE_AT_A_TIME
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

#[test]
fn three_workers_share_the_work_and_survive_a_sigkill() {
    let _serial = serial();
    three_workers_and_a_sigkill(
        shared_cluster("kafka-a"),
        shared_cluster("kafka-b"),
        "w-kill-events",
    );
}

#[test]
fn a_joining_worker_takes_a_share_and_nothing_is_lost() {
    let _serial = serial();
    let a = shared_cluster("kafka-a");
    let b = shared_cluster("kafka-b");
    let topic = "w-join-events";
    let remote = "kafka-a.w-join-events";
    a.create_topic(topic, PARTITIONS, 1, &[]);
    let (_dir, config) = worker_config(a, b, topic);
    let prefix = unique_group_prefix();

    let load = Load::start(a, topic, PARTITIONS, RATE, UNTIL_STOPPED);
    let first = start_worker(&config, &prefix, &[]);
    let (generation, _, _) = wait_shared(&[&first], FLOW, UNITS, 0, Duration::from_secs(120));
    wait_caught_up(&load, b, remote);
    more_traffic(&load, 2);

    let second = start_worker(&config, &prefix, &[]);
    let (shared, counts, took) = wait_shared(
        &[&first, &second],
        FLOW,
        UNITS,
        generation,
        Duration::from_secs(60),
    );
    eprintln!("join: generation {shared} after {took:.2?}, units {counts:?}");
    assert!(
        first
            .log()
            .contains("handing partitions over to other workers"),
        "the first worker hands partitions over"
    );
    let running = partitions_per_worker(&[&first, &second], FLOW, topic, PARTITIONS);
    eprintln!("join: partitions per worker {running:?}");
    assert!(
        running.iter().all(|set| !set.is_empty()),
        "each worker forwards records: {running:?}"
    );
    // Balanced by unit count.
    assert!(
        counts.iter().all(|c| c.abs_diff(UNITS / 2) <= 1),
        "balanced: {counts:?}"
    );

    more_traffic(&load, 3);
    let report = load.finish();
    let replays = wait_for_every_record(a, b, topic, remote, &report);
    print_replays("join", &replays);
    // A planned move drains the partition's in-flight batches and writes its
    // progress before the new owner starts from it.
    assert_eq!(total_duplicates(&replays), 0, "copied twice: {replays:?}");
}

#[test]
fn a_frozen_worker_is_fenced() {
    let _serial = serial();
    a_frozen_leader_is_fenced(
        shared_cluster("kafka-a"),
        shared_cluster("kafka-b"),
        "w-freeze-events",
    );
}

#[test]
fn a_rolling_restart_moves_no_partition() {
    let _serial = serial();
    let a = shared_cluster("kafka-a");
    let b = shared_cluster("kafka-b");
    let topic = "w-roll-events";
    let remote = "kafka-a.w-roll-events";
    a.create_topic(topic, PARTITIONS, 1, &[]);
    let (_dir, config) = worker_config(a, b, topic);
    let prefix = unique_group_prefix();
    let listen: Vec<String> = (0..2)
        .map(|_| format!("127.0.0.1:{}", kmirror_testbed::free_port()))
        .collect();
    let ids = ["w1", "w2"];
    let start = |i: usize| {
        start_worker(
            &config,
            &prefix,
            &["--worker-id", ids[i], "--rest-listen", &listen[i]],
        )
    };

    let load = Load::start(a, topic, PARTITIONS, RATE, UNTIL_STOPPED);
    let mut workers = [start(0), start(1)];
    let (generation, counts, _) = wait_shared(
        &workers.iter().collect::<Vec<_>>(),
        FLOW,
        UNITS,
        0,
        Duration::from_secs(120),
    );
    let before =
        partitions_per_worker(&workers.iter().collect::<Vec<_>>(), FLOW, topic, PARTITIONS);
    wait_caught_up(&load, b, remote);
    eprintln!("rolling restart: generation {generation}, partitions {before:?}");

    for i in 0..2 {
        let other = 1 - i;
        let other_assignments = support::assignments(&workers[other].log(), FLOW).len();
        let stopped_at = Instant::now();
        let status = workers[i].terminate(Duration::from_secs(15));
        assert!(status.success(), "{} exit status {status}", ids[i]);
        let stopped_after = stopped_at.elapsed();
        workers[i] = start(i);
        let restarted = &workers[i];
        wait_until(
            "the restarted worker's assignment",
            Duration::from_secs(60),
            || latest_assignment(restarted, FLOW).is_some(),
        );
        let again = latest_assignment(restarted, FLOW).unwrap();
        eprintln!(
            "{} stopped in {stopped_after:.2?}, assigned again {:.2?} after the SIGTERM: {again:?}",
            ids[i],
            stopped_at.elapsed()
        );
        assert_eq!(
            again,
            Assignment {
                generation,
                units: counts[i]
            },
            "{} rejoins its generation with its units",
            ids[i]
        );
        let after =
            partitions_per_worker(&workers.iter().collect::<Vec<_>>(), FLOW, topic, PARTITIONS);
        assert_eq!(after, before, "{} runs the same partitions", ids[i]);
        assert_eq!(
            support::assignments(&workers[other].log(), FLOW).len(),
            other_assignments,
            "{} saw a rebalance while {} restarted",
            ids[other],
            ids[i]
        );
        wait_caught_up(&load, b, remote);
    }

    // Still the generation of the start, more than a heartbeat interval
    // after the last restart: no rebalance came late either.
    more_traffic(&load, 3);
    for (worker, id) in workers.iter().zip(ids) {
        assert_eq!(
            latest_assignment(worker, FLOW).map(|a| a.generation),
            Some(generation),
            "{id} saw a rebalance after the restarts"
        );
    }
    let report = load.finish();
    let replays = wait_for_every_record(a, b, topic, remote, &report);
    print_replays("rolling restart", &replays);
    // SIGTERM drains and writes the final progress; the restart resumes
    // from it.
    assert_eq!(total_duplicates(&replays), 0, "copied twice: {replays:?}");
}

fn produce_numbered(cluster: &KafkaCluster, topic: &str, count: usize) {
    let records: Vec<TestRecord> = (0..count)
        .map(|i| {
            TestRecord::new()
                .key(format!("k{i}"))
                .value(format!("{}-{i}", cluster.name()))
        })
        .collect();
    cluster.produce(topic, &ProduceOptions::default(), &records);
}

fn kmirror_check(config: &Path, clusters: &str) -> (Option<i32>, String, String) {
    let output = Command::new(env!("CARGO_BIN_EXE_kmirror"))
        .args(["check", config.to_str().unwrap(), "--clusters", clusters])
        .output()
        .unwrap();
    (
        output.status.code(),
        String::from_utf8_lossy(&output.stdout).to_string(),
        String::from_utf8_lossy(&output.stderr).to_string(),
    )
}

fn started_flows(worker: &Kmirror) -> BTreeSet<String> {
    worker
        .log()
        .lines()
        .filter(|l| l.contains("flow started"))
        .filter_map(|l| l.split("flow=").nth(1))
        .map(|f| f.split_whitespace().next().unwrap_or(f).to_string())
        .collect()
}

#[test]
fn clusters_option_runs_one_region_each() {
    let _serial = serial();
    let a = shared_cluster("kafka-a");
    let b = shared_cluster("kafka-b");
    let topic = "w-region-events";
    const COUNT: usize = 500;
    for cluster in [a, b] {
        cluster.create_topic(topic, 2, 1, &[]);
        produce_numbered(cluster, topic, COUNT);
    }
    let (_dir, config) = two_region_config(
        a,
        b,
        &format!("kafka-a->kafka-b.topics = {topic}\nkafka-b->kafka-a.topics = {topic}\n"),
    );
    let config_arg = config.to_str().unwrap();
    // Each region's kmirror runs next to its cluster; the default group
    // prefix of each process is its own (see support), which does not
    // matter: their flows differ.
    let in_a = Kmirror::start(&["run", config_arg, "--clusters", "kafka-a"]);
    let in_b = Kmirror::start(&["run", config_arg, "--clusters", "kafka-b"]);
    let remote_on_a = format!("kafka-b.{topic}");
    let remote_on_b = format!("kafka-a.{topic}");
    wait_until(
        "both directions replicated",
        Duration::from_secs(90),
        || {
            total_end_offset(a, &remote_on_a) >= COUNT as i64
                && total_end_offset(b, &remote_on_b) >= COUNT as i64
        },
    );
    assert_eq!(
        started_flows(&in_a),
        BTreeSet::from(["kafka-b->kafka-a".to_string()]),
        "the kmirror of kafka-a runs only the flow into kafka-a"
    );
    assert_eq!(
        started_flows(&in_b),
        BTreeSet::from(["kafka-a->kafka-b".to_string()]),
        "the kmirror of kafka-b runs only the flow into kafka-b"
    );
    // Each REST API shows one task: its own region's flow.
    let connectors = in_b.rest_get("/connectors");
    let name = connectors[0].as_str().expect("one connector").to_string();
    let status = in_b.rest_get(&format!("/connectors/{name}/status"));
    assert_eq!(
        status["tasks"].as_array().map(Vec::len),
        Some(1),
        "{status}"
    );
    assert_eq!(status["tasks"][0]["state"], "RUNNING", "{status}");

    let (code, stdout, stderr) = kmirror_check(&config, "kafka-b");
    assert_eq!(code, Some(0), "{stdout}{stderr}");
    let flows: Vec<&str> = stdout.lines().filter(|l| l.starts_with("flow ")).collect();
    assert_eq!(flows.len(), 1, "{stdout}");
    assert!(flows[0].starts_with("flow kafka-a->kafka-b:"), "{stdout}");
    let (code, stdout, stderr) = kmirror_check(&config, "kafka-c");
    assert_eq!(code, Some(2), "{stdout}{stderr}");
    assert!(stderr.contains("kafka-c"), "{stderr}");
    let (code, _, stderr) = {
        let output = Command::new(env!("CARGO_BIN_EXE_kmirror"))
            .args(["run", config_arg, "--clusters", "kafka-c"])
            .env("KMIRROR_REST_LISTEN", "127.0.0.1:0")
            .output()
            .unwrap();
        (
            output.status.code(),
            (),
            String::from_utf8_lossy(&output.stderr).to_string(),
        )
    };
    assert_eq!(code, Some(2), "{stderr}");
    assert!(stderr.contains("kafka-c"), "{stderr}");

    for (cluster, remote) in [(a, &remote_on_a), (b, &remote_on_b)] {
        let records = cluster.consume(
            remote,
            &kmirror_testbed::ConsumeOptions::committed(COUNT * 2),
        );
        let values: BTreeMap<String, usize> = records.iter().fold(BTreeMap::new(), |mut m, r| {
            *m.entry(
                String::from_utf8_lossy(r.value.as_deref().unwrap_or_default()).to_string(),
            )
            .or_default() += 1;
            m
        });
        assert_eq!(
            values.len(),
            COUNT,
            "{remote} on {}: every record",
            cluster.name()
        );
        assert!(values.values().all(|n| *n == 1), "{remote}: duplicates");
    }
}

/// The worker group settings kmirror honours are known keys, not reported
/// as unknown.
///
/// ENGINE BUG (found by this test, left for the engine's owner): kmirror
/// warns `session.timeout.ms: unknown key; neither MM2 nor kmirror knows
/// it` (and the same for `heartbeat.interval.ms`, `rebalance.timeout.ms`,
/// `group.id`) although `runtime/group_settings.rs` reads them: the MM2 key
/// table (`config/mm2` keys) lacks them.
#[test]
fn worker_group_settings_are_known_keys() {
    let _serial = serial();
    let a = shared_cluster("kafka-a");
    let b = shared_cluster("kafka-b");
    let (_dir, config) = two_region_config(
        a,
        b,
        "group.id = mirror-workers\n\
         session.timeout.ms = 6000\n\
         heartbeat.interval.ms = 2000\n\
         rebalance.timeout.ms = 30000\n",
    );
    let output = Command::new(env!("CARGO_BIN_EXE_kmirror"))
        .args(["check", config.to_str().unwrap()])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{stderr}");
    let unknown: Vec<&str> = stderr
        .lines()
        .filter(|l| l.contains("unknown key") || l.contains("not honoured"))
        .collect();
    assert!(
        unknown.is_empty(),
        "worker settings reported as unknown or not honoured:\n{}",
        unknown.join("\n")
    );
}

#[test]
fn writer_runs_find_a_writer_coming_back() {
    let batch = |base_offset, producer_id| WrittenBatch {
        base_offset,
        last_offset: base_offset + 1,
        producer_id,
    };
    let clean = [
        batch(0, 7),
        batch(2, 7),
        batch(4, 9),
        batch(6, 9),
        batch(8, 11),
    ];
    assert!(interleaved_writers(&clean).is_empty());
    assert_eq!(writer_runs(&clean), vec![(7, 0, 3), (9, 4, 7), (11, 8, 9)]);
    let late = [batch(0, 7), batch(2, 9), batch(4, 7), batch(6, 9)];
    assert_eq!(interleaved_writers(&late), vec![(7, 4), (9, 6)]);
}

#[test]
fn dump_log_segments_batch_lines_parse() {
    let line = "baseOffset: 10 lastOffset: 14 count: 5 baseSequence: 0 lastSequence: 4 \
                producerId: 1003 producerEpoch: 0 partitionLeaderEpoch: 0 isTransactional: false \
                isControl: false deleteHorizonMs: OptionalLong.empty position: 0 \
                CreateTime: 1764252000000 size: 120 magic: 2 compresscodec: none crc: 1 isvalid: true";
    assert_eq!(
        parse_batch_line(line),
        Some(WrittenBatch {
            base_offset: 10,
            last_offset: 14,
            producer_id: 1003
        })
    );
    assert_eq!(
        parse_batch_line("Dumping /tmp/00000000000000000000.log"),
        None
    );
}

#[test]
fn assignment_lines_are_read_per_flow() {
    let log = "2026-11-27T14:00:00.000001Z  INFO assignment received group=p-kafka-a->kafka-b generation=3 units=5\n\
               2026-11-27T14:00:00.000002Z  INFO assignment received group=p-kafka-b->kafka-a generation=1 units=1\n";
    assert_eq!(
        support::assignments(log, FLOW),
        vec![Assignment {
            generation: 3,
            units: 5
        }]
    );
}
