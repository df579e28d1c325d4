//! Several `kmirror run` processes sharing one replication: the
//! assignments their logs report, what their metrics say each forwards,
//! the check that every record arrived, and what each producer id wrote to
//! a target partition, read from the broker's own log files with Kafka's
//! `DumpLogSegments`.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use kmirror_testbed::{JavaCommand, KafkaCluster};

use super::{check_replay, read_load, Kmirror, LoadReport, Replay};

/// One `assignment received` line of a worker's log.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Assignment {
    pub generation: i32,
    pub units: usize,
}

/// The assignments a worker received for `flow` (`kafka-a->kafka-b`), in
/// log order. The group of a flow is `<prefix>-<flow>`.
pub fn assignments(log: &str, flow: &str) -> Vec<Assignment> {
    let suffix = format!("-{flow}");
    log.lines()
        .filter(|line| line.contains("assignment received"))
        .filter_map(|line| {
            let field = |name: &str| {
                line.split_whitespace()
                    .find_map(|token| token.strip_prefix(name)?.strip_prefix('='))
            };
            if !field("group")?.ends_with(&suffix) {
                return None;
            }
            Some(Assignment {
                generation: field("generation")?.parse().ok()?,
                units: field("units")?.parse().ok()?,
            })
        })
        .collect()
}

/// The last assignment `worker` received for `flow`.
pub fn latest_assignment(worker: &Kmirror, flow: &str) -> Option<Assignment> {
    assignments(&worker.log(), flow).last().copied()
}

/// When every one of `workers` last received the same generation of
/// `flow`, each some work and together all `units`: that generation and
/// each worker's unit count.
pub fn shared_generation(
    workers: &[&Kmirror],
    flow: &str,
    units: usize,
) -> Option<(i32, Vec<usize>)> {
    let latest: Vec<Assignment> = workers
        .iter()
        .map(|w| latest_assignment(w, flow))
        .collect::<Option<_>>()?;
    let generation = latest[0].generation;
    let counts: Vec<usize> = latest.iter().map(|a| a.units).collect();
    let shared = latest
        .iter()
        .all(|a| a.generation == generation && a.units > 0)
        && counts.iter().sum::<usize>() == units;
    shared.then_some((generation, counts))
}

/// Log filter for the workers: the harness default plus the membership's
/// debug lines, which name the leader of each generation.
pub const WORKER_LOG: &str = "info,kmirror_client=debug,kmirror_engine::runtime::membership=debug";

/// Which of `workers` led `generation` of `flow`'s group (its `joined`
/// line says `leader=true`; needs [`WORKER_LOG`]).
pub fn leader_of(workers: &[&Kmirror], flow: &str, generation: i32) -> Option<usize> {
    let suffix = format!("-{flow}");
    let generation = format!("generation={generation}");
    workers.iter().position(|worker| {
        worker.log().lines().any(|line| {
            let tokens: Vec<&str> = line.split_whitespace().collect();
            tokens.contains(&"joined")
                && tokens.contains(&generation.as_str())
                && tokens.contains(&"leader=true")
                && tokens
                    .iter()
                    .any(|t| t.starts_with("group=") && t.ends_with(&suffix))
        })
    })
}

/// Polls (every 50 ms, for a fine measure) until [`shared_generation`]
/// holds with a generation above `after`; returns it with the time it took.
pub fn wait_shared(
    workers: &[&Kmirror],
    flow: &str,
    units: usize,
    after: i32,
    timeout: Duration,
) -> (i32, Vec<usize>, Duration) {
    let started = Instant::now();
    loop {
        if let Some((generation, counts)) = shared_generation(workers, flow, units) {
            if generation > after {
                return (generation, counts, started.elapsed());
            }
        }
        if started.elapsed() > timeout {
            let latest: Vec<_> = workers.iter().map(|w| latest_assignment(w, flow)).collect();
            panic!(
                "timed out after {timeout:?} waiting for {} workers to share all {units} units of \
                 {flow} in a generation after {after}; their last assignments: {latest:?}",
                workers.len()
            );
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// Records of `topic` forwarded per source partition of `flow`, from the
/// worker's `/metrics` (started with `--metrics-per-partition`). A
/// partition's series goes when the worker stops running it, so the keys
/// are what it runs now.
pub fn forwarded_per_partition(worker: &Kmirror, flow: &str, topic: &str) -> BTreeMap<i32, u64> {
    let flow_label = format!("flow=\"{flow}\"");
    let topic_label = format!("topic=\"{topic}\"");
    worker
        .rest_get_text("/metrics")
        .lines()
        .filter(|line| line.starts_with("kmirror_replicated_records_total{"))
        .filter(|line| line.contains(&flow_label) && line.contains(&topic_label))
        .filter_map(|line| {
            let partition = line
                .split("partition=\"")
                .nth(1)?
                .split('"')
                .next()?
                .parse()
                .ok()?;
            let count = line.rsplit(' ').next()?.parse::<f64>().ok()?;
            Some((partition, count as u64))
        })
        .collect()
}

/// The partitions of `topic` each worker forwards now, once together they
/// forward each of its `partitions` exactly once.
pub fn partitions_per_worker(
    workers: &[&Kmirror],
    flow: &str,
    topic: &str,
    partitions: i32,
) -> Vec<BTreeSet<i32>> {
    let mut per_worker = Vec::new();
    super::wait_until(
        "the workers to forward every partition, each on one worker",
        Duration::from_secs(30),
        || {
            per_worker = workers
                .iter()
                .map(|w| {
                    forwarded_per_partition(w, flow, topic)
                        .into_iter()
                        .filter(|(_, count)| *count > 0)
                        .map(|(p, _)| p)
                        .collect::<BTreeSet<i32>>()
                })
                .collect();
            let all: BTreeSet<i32> = per_worker.iter().flatten().copied().collect();
            let sum: usize = per_worker.iter().map(BTreeSet::len).sum();
            all.len() == partitions as usize && sum == partitions as usize
        },
    );
    per_worker
}

/// Waits until each partition of `remote` on `target` is at least as long
/// as that of `topic` on `source`.
pub fn wait_until_target_as_long(
    source: &KafkaCluster,
    target: &KafkaCluster,
    topic: &str,
    remote: &str,
) {
    let source_ends = source.end_offsets(topic);
    super::wait_until(
        "the target to be as long as the source",
        Duration::from_secs(120),
        || {
            target
                .end_offsets(remote)
                .iter()
                .zip(&source_ends)
                .all(|(t, s)| t >= s)
        },
    );
}

/// Waits until `target` holds every record the load sent to `source`'s
/// `topic` (as `remote`), then returns how each target partition compares
/// with its source partition. Checks that the source holds the producer's
/// records in order.
pub fn wait_for_every_record(
    source: &KafkaCluster,
    target: &KafkaCluster,
    topic: &str,
    remote: &str,
    report: &LoadReport,
) -> Vec<Replay> {
    let partitions = report.per_partition.len() as i32;
    wait_until_target_as_long(source, target, topic, remote);
    let from_source = read_load(source, topic, partitions);
    for (p, seqs) in from_source.iter().enumerate() {
        assert_eq!(
            *seqs,
            (0..report.per_partition[p]).collect::<Vec<_>>(),
            "{topic} partition {p} holds the producer's records in order"
        );
    }
    // A replay past the source's end could still be arriving: read again
    // until every sequence number is there.
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let on_target = read_load(target, remote, partitions);
        let checked: Vec<Result<Replay, String>> = (0..partitions as usize)
            .map(|p| check_replay(&on_target[p], report.per_partition[p]))
            .collect();
        if checked.iter().all(Result::is_ok) {
            return checked.into_iter().map(Result::unwrap).collect();
        }
        if Instant::now() > deadline {
            let errors: Vec<String> = checked
                .iter()
                .enumerate()
                .filter_map(|(p, c)| c.as_ref().err().map(|e| format!("partition {p}: {e}")))
                .collect();
            panic!("{remote} is missing records:\n{}", errors.join("\n"));
        }
        std::thread::sleep(Duration::from_secs(1));
    }
}

/// One record batch in a partition's log on the broker.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WrittenBatch {
    pub base_offset: i64,
    pub last_offset: i64,
    pub producer_id: i64,
}

/// Every batch of `topic`'s `partition` on the broker that leads it, in
/// offset order, from Kafka's own `DumpLogSegments` on its
/// segment files: an independent reader of what each producer id wrote.
pub fn written_batches(cluster: &KafkaCluster, topic: &str, partition: i32) -> Vec<WrittenBatch> {
    let leader = cluster.leaders(topic)[partition as usize]
        .unwrap_or_else(|| panic!("{topic}-{partition} has no leader on {}", cluster.name()));
    let dir = cluster
        .dir()
        .join(format!("broker-{leader}/data/{topic}-{partition}"));
    let segments = segment_files(&dir);
    let files = segments
        .iter()
        .map(|p| p.display().to_string())
        .collect::<Vec<_>>()
        .join(",");
    let output = JavaCommand::new(super::dump_log_segments_class())
        .args(["--files", &files])
        .timeout(Duration::from_secs(60))
        .run(b"");
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "DumpLogSegments on {files}: {}\n{stdout}",
        String::from_utf8_lossy(&output.stderr)
    );
    let mut batches: Vec<WrittenBatch> = stdout.lines().filter_map(parse_batch_line).collect();
    batches.sort_by_key(|b| b.base_offset);
    batches
}

fn segment_files(dir: &Path) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("cannot list {}: {e}", dir.display()))
        .map(|entry| entry.unwrap().path())
        .filter(|path| path.extension().is_some_and(|e| e == "log"))
        .collect();
    files.sort();
    assert!(!files.is_empty(), "no segment in {}", dir.display());
    files
}

/// Parses DumpLogSegments' batch line: `baseOffset: 0 lastOffset: 4
/// count: 5 ... producerId: 1000 producerEpoch: 0 ...`.
pub fn parse_batch_line(line: &str) -> Option<WrittenBatch> {
    if !line.starts_with("baseOffset:") {
        return None;
    }
    let tokens: Vec<&str> = line.split_whitespace().collect();
    let field = |name: &str| -> Option<i64> {
        let at = tokens.iter().position(|t| *t == name)?;
        tokens.get(at + 1)?.parse().ok()
    };
    Some(WrittenBatch {
        base_offset: field("baseOffset:")?,
        last_offset: field("lastOffset:")?,
        producer_id: field("producerId:")?,
    })
}

/// Writers of a partition that wrote again after another writer had
/// started writing it: `(producer id, first offset of its late batch)`.
///
/// kmirror takes a fresh producer id each time it starts a partition's
/// pipeline, so each stint of ownership is one producer id and, as long as
/// a partition has one owner at a time, each producer id's batches are one
/// contiguous run. A worker that kept writing after its partition was
/// taken over shows up here.
pub fn interleaved_writers(batches: &[WrittenBatch]) -> Vec<(i64, i64)> {
    let mut finished = std::collections::BTreeSet::new();
    let mut current: Option<i64> = None;
    let mut late = Vec::new();
    for batch in batches {
        if current == Some(batch.producer_id) {
            continue;
        }
        if finished.contains(&batch.producer_id) {
            late.push((batch.producer_id, batch.base_offset));
        }
        if let Some(previous) = current {
            finished.insert(previous);
        }
        current = Some(batch.producer_id);
    }
    late
}

/// Producer ids in the order they first wrote the partition, each with the
/// offset range it wrote: `(producer id, first offset, last offset)`.
pub fn writer_runs(batches: &[WrittenBatch]) -> Vec<(i64, i64, i64)> {
    let mut runs: Vec<(i64, i64, i64)> = Vec::new();
    for batch in batches {
        match runs.last_mut() {
            Some(run) if run.0 == batch.producer_id => run.2 = batch.last_offset,
            _ => runs.push((batch.producer_id, batch.base_offset, batch.last_offset)),
        }
    }
    runs
}
