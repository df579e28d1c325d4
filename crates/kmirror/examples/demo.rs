//! The local two-region demo: two Kafka clusters on this machine, kmirror
//! running the users' unchanged mm2.properties (but for the addresses),
//! traffic on both sides, and what arrived where.
//!
//! Run it with `scripts/demo.sh` (which builds kmirror and passes its path).

use std::io::Write as _;
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use kmirror_testbed::{ConsumeOptions, JavaCommand, KafkaCluster, ProduceOptions, TestRecord};

const TOPICS: [(&str, i32); 2] = [("payment-events", 3), ("user-actions", 2)];
const RECORDS: usize = 1000;

fn main() {
    let kmirror = std::env::args()
        .nth(1)
        .map(PathBuf::from)
        .expect("usage: demo <path to the kmirror binary>");
    let keep_running = std::env::args().any(|a| a == "--keep-running");

    step("starting two Kafka clusters (kafka-a = Beijing, kafka-b = Shanghai)");
    let (a, b) = std::thread::scope(|s| {
        let a = s.spawn(|| KafkaCluster::start("kafka-a"));
        let b = s.spawn(|| KafkaCluster::start("kafka-b"));
        (a.join().unwrap(), b.join().unwrap())
    });
    println!(
        "  kafka-a at {}\n  kafka-b at {}",
        a.bootstrap(),
        b.bootstrap()
    );
    for cluster in [&a, &b] {
        for (topic, partitions) in TOPICS {
            cluster.create_topic(topic, partitions, 1, &[]);
        }
    }

    let work = tempfile::tempdir().unwrap();
    let config = work.path().join("mm2.properties");
    std::fs::write(
        &config,
        kmirror_testbed::two_region_config(&a.bootstrap(), &b.bootstrap(), ""),
    )
    .unwrap();
    let log = work.path().join("kmirror.log");
    step(&format!(
        "starting kmirror run {} (examples/mm2-config.properties with local addresses; log: {})",
        config.display(),
        log.display()
    ));
    step("live view at http://127.0.0.1:8083/ (kmirror status, /metrics, /connectors)");
    let mut child = Command::new(&kmirror)
        .arg("run")
        .arg(&config)
        .arg("--state-dir")
        .arg(work.path().join("kmirror-state"))
        .stdin(Stdio::null())
        .stderr(std::fs::File::create(&log).unwrap())
        .spawn()
        .expect("kmirror starts");

    step(&format!(
        "producing {RECORDS} records to each topic on each side, four producers at once"
    ));
    // Each producer is a JVM (Kafka's console producer) that exits once its
    // records are acknowledged: when it returns, its records are on the
    // source. What follows measures from that moment, per topic.
    let sent: Vec<Send> = std::thread::scope(|s| {
        let producers: Vec<_> = [("beijing", &a, "kafka-a"), ("shanghai", &b, "kafka-b")]
            .into_iter()
            .flat_map(|side| TOPICS.iter().map(move |(topic, _)| (side, *topic)))
            .map(|((region, cluster, alias), topic)| {
                s.spawn(move || {
                    cluster.produce(topic, &ProduceOptions::default(), &records(region, topic));
                    Send {
                        from: alias,
                        topic,
                        acknowledged: Instant::now(),
                    }
                })
            })
            .collect();
        producers.into_iter().map(|p| p.join().unwrap()).collect()
    });

    step("waiting for every record to arrive on the other side");
    let mut waiting: Vec<&Send> = sent.iter().collect();
    let deadline = Instant::now() + Duration::from_secs(60);
    while !waiting.is_empty() {
        waiting.retain(|send| {
            let (to, remote) = send.remote(&a, &b);
            let arrived = end_offset(to, &remote);
            if arrived < RECORDS as i64 {
                return true;
            }
            // Polled every 50 ms, so the figure is good to about 0.1 s; all
            // of a topic's records may be there before its producer's JVM
            // has even exited.
            let lag = send.acknowledged.elapsed().as_secs_f64();
            println!(
                "  {}/{:<15} -> {}/{remote:<24} {arrived:>5} records, complete {lag:.1} s after the source acknowledged the last one",
                send.from,
                send.topic,
                to.name(),
            );
            false
        });
        if Instant::now() > deadline {
            for send in &waiting {
                let (to, remote) = send.remote(&a, &b);
                eprintln!(
                    "  {remote} has only {} records; see {}",
                    end_offset(to, &remote),
                    log.display()
                );
            }
            let _ = child.kill();
            std::process::exit(1);
        }
        std::thread::sleep(Duration::from_millis(50));
    }

    step("three records of kafka-a.payment-events as a Java consumer on kafka-b reads them");
    let mut options = ConsumeOptions::committed(3);
    options.partitions = Some(vec![0]);
    for record in b.consume("kafka-a.payment-events", &options) {
        println!(
            "  offset {} key={} value={} headers={:?}",
            record.offset,
            String::from_utf8_lossy(record.key.as_deref().unwrap_or_default()),
            String::from_utf8_lossy(record.value.as_deref().unwrap_or_default()),
            record
                .headers
                .iter()
                .map(|(k, v)| format!(
                    "{k}={}",
                    String::from_utf8_lossy(v.as_deref().unwrap_or_default())
                ))
                .collect::<Vec<_>>()
        );
    }

    step("topics on each cluster (no kafka-a.kafka-b.* loops)");
    for cluster in [&a, &b] {
        let mut topics = cluster.list_topics();
        topics.sort();
        println!("  {}: {}", cluster.name(), topics.join(", "));
    }

    step("heartbeats on kafka-b, decoded by MM2's own HeartbeatFormatter");
    let output = JavaCommand::new("org.apache.kafka.tools.consumer.ConsoleConsumer")
        .args([
            "--bootstrap-server",
            &b.bootstrap(),
            "--topic",
            "heartbeats",
            "--from-beginning",
            "--max-messages",
            "2",
            "--timeout-ms",
            "10000",
            "--formatter",
            "org.apache.kafka.connect.mirror.formatters.HeartbeatFormatter",
        ])
        .timeout(Duration::from_secs(60))
        .run(b"");
    for line in String::from_utf8_lossy(&output.stdout).lines() {
        println!("  {line}");
    }

    if keep_running {
        step("kmirror keeps replicating; press Ctrl-C to stop everything");
        let _ = child.wait();
        return;
    }
    step("stopping kmirror with SIGTERM");
    let _ = Command::new("kill")
        .arg("-TERM")
        .arg(child.id().to_string())
        .status();
    let status = child.wait().unwrap();
    println!("  kmirror exited with {status}");
    println!("\ndone; both clusters stop with this program.");
}

/// One producer's records: which side and topic, and when the source had
/// acknowledged all of them.
struct Send {
    from: &'static str,
    topic: &'static str,
    acknowledged: Instant,
}

impl Send {
    /// The cluster the records are copied to and the remote topic's name.
    fn remote<'c>(&self, a: &'c KafkaCluster, b: &'c KafkaCluster) -> (&'c KafkaCluster, String) {
        let to = if self.from == "kafka-a" { b } else { a };
        (to, format!("{}.{}", self.from, self.topic))
    }
}

/// The records one region sends to one topic: keyed by customer, with a
/// header naming the region.
fn records(region: &str, topic: &str) -> Vec<TestRecord> {
    (0..RECORDS)
        .map(|i| {
            TestRecord::new()
                .key(format!("{region}-customer-{}", i % 50))
                .value(format!(
                    "{{\"region\":\"{region}\",\"topic\":\"{topic}\",\"seq\":{i}}}"
                ))
                .header("origin", Some(region.as_bytes()))
        })
        .collect()
}

fn step(what: &str) {
    println!("\n== {what}");
    let _ = std::io::stdout().flush();
}

fn end_offset(cluster: &KafkaCluster, topic: &str) -> i64 {
    if !cluster.list_topics().iter().any(|t| t == topic) {
        return 0;
    }
    cluster.end_offsets(topic).iter().sum()
}
