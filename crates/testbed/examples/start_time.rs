//! Prints how long clusters take to start: `cargo run -p kmirror-testbed
//! --example start_time [brokers] [rounds]`.

use std::time::Instant;

fn main() {
    let mut args = std::env::args().skip(1);
    let brokers: usize = args.next().map_or(1, |a| a.parse().expect("brokers"));
    let rounds: usize = args.next().map_or(3, |a| a.parse().expect("rounds"));
    for _ in 0..rounds {
        let started = Instant::now();
        let cluster = kmirror_testbed::KafkaCluster::builder("timing")
            .brokers(brokers)
            .start();
        println!(
            "{brokers} broker(s) serving after {:.1?}",
            started.elapsed()
        );
        let started = Instant::now();
        cluster.list_topics();
        println!("  first admin call {:.2?}", started.elapsed());
        let started = Instant::now();
        kmirror_testbed::run_java(
            kmirror_testbed::TEST_CLIENT_CLASS,
            &[
                "gen",
                "--bootstrap",
                "127.0.0.1:9",
                "--topic",
                "x",
                "--count",
                "0",
                "--size",
                "1",
            ],
            b"",
        );
        println!("  one TestClient JVM {:.2?}", started.elapsed());
    }
}
