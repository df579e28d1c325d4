fn main() {
    let n: usize = std::env::args()
        .nth(1)
        .map(|a| a.parse().unwrap())
        .unwrap_or(1);
    let t = std::time::Instant::now();
    eprintln!("TRACE begin {:?}", std::time::SystemTime::now());
    let c = kmirror_testbed::KafkaCluster::builder("timing")
        .brokers(n)
        .start();
    eprintln!("started in {:?}", t.elapsed());
    drop(c);
}
