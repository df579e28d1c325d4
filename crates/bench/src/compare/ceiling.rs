//! The brokers' own ceiling, measured with Kafka's perf tools and no
//! replicator.

use std::time::Duration;

use anyhow::{Context as _, Result};
use kmirror_testbed::{Compression, GenReport, JavaCommand};
use serde::Serialize;

use super::perf_tools::{
    parse_consumer_performance, parse_producer_performance, tool_stdout, write_payload_file,
};
use super::{Bench, Side};

/// The brokers' own throughput, measured with Kafka's perf tools.
#[derive(Debug, Clone, Serialize)]
pub struct Ceiling {
    /// ProducerPerformance into the target cluster, payload MB/s: the best
    /// of `producer_rates`.
    pub producer_mb_per_s: f64,
    /// Per producer codec (the source data's, and none).
    pub producer_rates: Vec<(&'static str, f64)>,
    /// ConsumerPerformance from the source cluster, payload MB/s.
    pub consumer_mb_per_s: f64,
    pub records: u64,
    pub compression: &'static str,
}

impl Ceiling {
    /// What a replicator could at best move: the slower of the two.
    pub fn mb_per_s(&self) -> f64 {
        self.producer_mb_per_s.min(self.consumer_mb_per_s)
    }
}

impl Bench<'_> {
    pub(super) fn measure_ceiling(
        &self,
        source: &Side,
        target: &Side,
        topic: &str,
        loaded: &GenReport,
        codec: Compression,
    ) -> Result<Ceiling> {
        let options = self.options;
        eprintln!("[bench] ceiling: ConsumerPerformance on the source");
        let output = JavaCommand::new("org.apache.kafka.tools.ConsumerPerformance")
            .name("ConsumerPerformance")
            .fast_startup(false)
            .heap("1g")
            .args(["--bootstrap-server", &source.bootstrap])
            .args(["--topic", topic])
            .args(["--messages", &loaded.sent.to_string()])
            .args(["--timeout", "60000"])
            .timeout(Duration::from_secs(900))
            .run(b"");
        let stdout = tool_stdout("ConsumerPerformance", &output)?;
        let per_record = loaded.bytes as f64 / loaded.sent.max(1) as f64;
        let consumer_mb_per_s =
            parse_consumer_performance(&stdout).context("ConsumerPerformance output")? * per_record
                / 1e6;

        let payloads = self.work.join("payloads.txt");
        write_payload_file(&payloads, options.record_size)?;
        let records = loaded.sent;
        let mut producer_rates = Vec::new();
        // The source's codec, and no compression: a Java producer spends
        // much of its CPU compressing, which a replicator that forwards
        // compressed batches does not.
        let mut codecs = vec![codec];
        if codec != Compression::None {
            codecs.push(Compression::None);
        }
        for producer_codec in codecs {
            eprintln!(
                "[bench] ceiling: ProducerPerformance ({}) into the target",
                producer_codec.as_str()
            );
            let ceiling_topic = "bench-ceiling".to_string();
            self.create_topic(target, &ceiling_topic, options.partitions)?;
            let output = JavaCommand::new("org.apache.kafka.tools.ProducerPerformance")
                .name("ProducerPerformance")
                .fast_startup(false)
                .heap("1g")
                .args(["--topic", &ceiling_topic])
                .args(["--num-records", &records.to_string()])
                .arg("--payload-file")
                .arg(&payloads)
                .args(["--throughput", "-1"])
                .args([
                    "--producer-props",
                    &format!("bootstrap.servers={}", target.bootstrap),
                    "acks=all",
                    &format!("compression.type={}", producer_codec.as_str()),
                    // The test bed's loader settings, which the replicated
                    // batches have too.
                    "batch.size=262144",
                    "linger.ms=10",
                    "buffer.memory=134217728",
                ])
                .timeout(Duration::from_secs(900))
                .run(b"");
            self.delete_topics(target, &[ceiling_topic])?;
            let stdout = tool_stdout("ProducerPerformance", &output)?;
            let rate = parse_producer_performance(&stdout).context("ProducerPerformance output")?
                * options.record_size as f64
                / 1e6;
            producer_rates.push((producer_codec.as_str(), rate));
        }
        let ceiling = Ceiling {
            producer_mb_per_s: producer_rates.iter().map(|(_, r)| *r).fold(0.0, f64::max),
            producer_rates,
            consumer_mb_per_s,
            records,
            compression: codec.as_str(),
        };
        eprintln!(
            "[bench] ceiling: produce {:?} MB/s, consume {:.0} MB/s",
            ceiling.producer_rates, ceiling.consumer_mb_per_s
        );
        Ok(ceiling)
    }
}
