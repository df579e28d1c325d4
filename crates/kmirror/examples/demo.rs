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
        "producing {RECORDS} records to each topic on each side"
    ));
    let started = Instant::now();
    for (region, cluster) in [("beijing", &a), ("shanghai", &b)] {
        for (topic, _) in TOPICS {
            let records: Vec<TestRecord> = (0..RECORDS)
                .map(|i| {
                    TestRecord::new()
                        .key(format!("{region}-customer-{}", i % 50))
                        .value(format!(
                            "{{\"region\":\"{region}\",\"topic\":\"{topic}\",\"seq\":{i}}}"
                        ))
                        .header("origin", Some(region.as_bytes()))
                })
                .collect();
            cluster.produce(topic, &ProduceOptions::default(), &records);
        }
    }

    step("waiting for every record to arrive on the other side");
    for (topic, _) in TOPICS {
        for (from, to, alias) in [(&a, &b, "kafka-a"), (&b, &a, "kafka-b")] {
            let remote = format!("{alias}.{topic}");
            let deadline = Instant::now() + Duration::from_secs(60);
            loop {
                let arrived = end_offset(to, &remote);
                if arrived >= RECORDS as i64 {
                    println!(
                        "  {}/{topic:<15} -> {}/{remote:<24} {arrived:>5} records  ({:.1} s after the first send)",
                        from.name(),
                        to.name(),
                        started.elapsed().as_secs_f64()
                    );
                    break;
                }
                if Instant::now() > deadline {
                    eprintln!(
                        "  {remote} has only {arrived} records; see {}",
                        log.display()
                    );
                    let _ = child.kill();
                    std::process::exit(1);
                }
                std::thread::sleep(Duration::from_millis(100));
            }
        }
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
