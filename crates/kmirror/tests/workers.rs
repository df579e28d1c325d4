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

/// The lines of a worker's log (index and text) that say it lost its
/// membership in `flow`'s group or let its write lease lapse.
fn lapses(log: &str, flow: &str) -> Vec<(usize, String)> {
    let suffix = format!("-{flow}");
    log.lines()
        .enumerate()
        .filter(|(_, l)| {
            l.contains("membership lost") || l.contains("has not confirmed this worker")
        })
        .filter(|(_, l)| {
            l.split_whitespace()
                .any(|t| t.starts_with("group=") && t.ends_with(&suffix))
        })
        .map(|(i, l)| (i, l.to_string()))
        .collect()
}

#[test]
fn a_frozen_worker_is_fenced() {
    let _serial = serial();
    let a = shared_cluster("kafka-a");
    let b = shared_cluster("kafka-b");
    let topic = "w-freeze-events";
    let remote = "kafka-a.w-freeze-events";
    a.create_topic(topic, PARTITIONS, 1, &[]);
    let (_dir, config) = worker_config(a, b, topic);
    let prefix = unique_group_prefix();

    let before_load = Instant::now();
    let load = Load::start(a, topic, PARTITIONS, RATE, UNTIL_STOPPED);
    let pair = [
        start_worker(&config, &prefix, &[]),
        start_worker(&config, &prefix, &[]),
    ];
    let (generation, counts, _) = wait_shared(
        &[&pair[0], &pair[1]],
        FLOW,
        UNITS,
        0,
        Duration::from_secs(120),
    );
    // The leader freezes: the harder case, the other worker must lead the
    // takeover.
    let leader = leader_of(&[&pair[0], &pair[1]], FLOW, generation)
        .expect("a leader of the shared generation");
    let (frozen, other) = (&pair[leader], &pair[1 - leader]);
    let counts = [counts[leader], counts[1 - leader]];
    let running = partitions_per_worker(&[frozen, other], FLOW, topic, PARTITIONS);
    let frozen_partitions = running[0].clone();
    eprintln!("freeze: generation {generation}, units {counts:?}, partitions {running:?}");
    wait_caught_up(&load, b, remote);
    more_traffic(&load, 2);
    wait_caught_up(&load, b, remote);

    let log_lines_at_freeze = frozen.log().lines().count();
    frozen.send_signal("STOP");
    let frozen_at = Instant::now();
    let target_at_freeze = b.end_offsets(remote);
    eprintln!("froze the leader, running partitions {frozen_partitions:?}");

    // The other worker takes everything over and writes the frozen one's
    // partitions.
    let (takeover, _, took) =
        wait_shared(&[other], FLOW, UNITS, generation, Duration::from_secs(60));
    wait_until(
        "every target partition to grow after the freeze",
        Duration::from_secs(30),
        || {
            b.end_offsets(remote)
                .iter()
                .zip(&target_at_freeze)
                .all(|(now, then)| now > then)
        },
    );
    eprintln!(
        "takeover: generation {takeover} after {took:.2?}, data after {:.2?}",
        frozen_at.elapsed()
    );
    // Frozen past the session timeout and then some, the scenario itself:
    // no condition to poll for.
    let frozen_for = SESSION + Duration::from_secs(4);
    std::thread::sleep(frozen_for.saturating_sub(frozen_at.elapsed()));
    frozen.send_signal("CONT");
    let thawed_at = Instant::now();

    // Lines after the freeze, of the flow's group (not the heartbeats-only
    // reverse flow's).
    let lost_line = || {
        lapses(&frozen.log(), FLOW)
            .into_iter()
            .find(|(line, _)| *line >= log_lines_at_freeze)
            .map(|(_, text)| text)
    };
    wait_until(
        "the frozen worker to notice it lost its membership",
        Duration::from_secs(30),
        || lost_line().is_some(),
    );
    let lost_line = lost_line().unwrap();
    eprintln!(
        "frozen worker after SIGCONT ({:.2?}): {lost_line}",
        thawed_at.elapsed()
    );
    // It rejoins and gets work again.
    let (rejoined, counts, took) = wait_shared(
        &[frozen, other],
        FLOW,
        UNITS,
        takeover,
        Duration::from_secs(60),
    );
    eprintln!("rejoined: generation {rejoined} after {took:.2?}, units {counts:?}");
    let early: Vec<String> = lapses(&frozen.log(), FLOW)
        .into_iter()
        .filter(|(line, _)| *line < log_lines_at_freeze)
        .map(|(_, text)| text)
        .collect();
    assert!(
        early.is_empty(),
        "the worker lost its membership before it was frozen:\n{}",
        early.join("\n")
    );
    let other_lapses = lapses(&other.log(), FLOW);
    assert!(
        other_lapses.is_empty(),
        "the worker that was never frozen lost its membership: {other_lapses:?}"
    );

    more_traffic(&load, 3);
    let report = load.finish();
    let replays = wait_for_every_record(a, b, topic, remote, &report);
    print_replays("freeze", &replays);
    for (p, replay) in replays.iter().enumerate() {
        if frozen_partitions.contains(&(p as i32)) {
            let sent_before = report.sent_between(p as i32, before_load, frozen_at);
            let lag = sent_before.saturating_sub(target_at_freeze[p] as u64);
            let bound = crash_bound(&report, p, frozen_at, lag);
            assert!(
                replay.duplicates as u64 <= bound,
                "partition {p} of the frozen worker: {replay:?}, bound {bound}"
            );
        }
    }

    // What each producer id wrote: the frozen worker's writer of each of
    // its partitions (the one that wrote last before the freeze) wrote
    // nothing after the first batch of the writer that took over.
    let mut taken_over = 0;
    for p in 0..PARTITIONS {
        let batches = written_batches(b, remote, p);
        let late = interleaved_writers(&batches);
        assert!(
            late.is_empty(),
            "partition {p}: producer ids wrote after another took over (id, offset): {late:?}; \
             runs {:?}",
            writer_runs(&batches)
        );
        if !frozen_partitions.contains(&p) {
            continue;
        }
        let end = target_at_freeze[p as usize];
        let frozen_writer = batches
            .iter()
            .rfind(|batch| batch.base_offset < end)
            .map(|batch| batch.producer_id)
            .unwrap_or_else(|| panic!("partition {p}: nothing written before the freeze"));
        let last_by_frozen = batches
            .iter()
            .filter(|batch| batch.producer_id == frozen_writer)
            .map(|batch| batch.last_offset)
            .max()
            .unwrap();
        let next = batches
            .iter()
            .find(|batch| batch.base_offset > last_by_frozen)
            .map(|batch| (batch.producer_id, batch.base_offset));
        if let Some((next_writer, first)) = next {
            assert_ne!(next_writer, frozen_writer);
            taken_over += 1;
            eprintln!(
                "partition {p}: frozen worker's producer id {frozen_writer} wrote up to offset \
                 {last_by_frozen} (target end at the freeze {end}); producer id {next_writer} \
                 from {first}"
            );
        }
    }
    assert!(
        taken_over > 0,
        "no partition of the frozen worker was written by another producer id"
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
