//! Far region: the target behind a delaying proxy; catch-up of one
//! partition and of all of them, without and with a bandwidth cap.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;

use anyhow::Result;
use kmirror_testbed::Compression;

use super::catch_up::CatchUp;
use super::clusters::bench_cluster;
use super::{Bench, Side};
use crate::proxy::{DelayProxy, LinkSettings, Upstream};

impl Bench<'_> {
    /// Far region: the target behind a delaying proxy; catch-up of one
    /// partition and of all of them, without and with a bandwidth cap.
    pub(super) fn far_region(&mut self, a: &Side) -> Result<()> {
        let options = self.options;
        let far_name = "kafka-far";
        let proxy = self.runtime.block_on(DelayProxy::start(
            0,
            Upstream::Lazy(Arc::new(move || testbed_broker_address(far_name))),
            LinkSettings::default(),
        ))?;
        eprintln!(
            "[bench] far region: {far_name} reached through the proxy at {}",
            proxy.addr()
        );
        let far = bench_cluster(far_name, options.quick)
            .broker_prop(
                "advertised.listeners",
                format!("PLAINTEXT://{}", proxy.addr()),
            )
            .start();
        let far = self.side(far, Some(proxy.addr().to_string()))?;

        let mut topics = Vec::new();
        for partitions in [1, options.partitions] {
            let topic = format!("bench-far-{partitions}p");
            self.create_topic(a, &topic, partitions)?;
            let loaded = self.preload(a, &topic, options.far_bytes, Compression::Lz4)?;
            topics.push((partitions, topic, loaded));
        }
        let rtt_ms = options.far_round_trip.as_millis();
        for bandwidth in [None, Some(options.far_bandwidth)] {
            proxy.set_link(LinkSettings {
                one_way_delay: options.far_round_trip / 2,
                bandwidth,
            });
            for (partitions, topic, loaded) in &topics {
                let name = match bandwidth {
                    None => format!("far-region/{partitions}p/{rtt_ms}ms"),
                    Some(rate) => format!(
                        "far-region/{partitions}p/{rtt_ms}ms/{}Mbit",
                        rate * 8 / 1_000_000
                    ),
                };
                let run = CatchUp {
                    scenario: &name,
                    topic,
                    loaded,
                    codec: Compression::Lz4,
                    partitions: *partitions,
                    window: Some(options.far_window),
                    secured: false,
                };
                self.each_replicator(&name, |bench, kind, round| {
                    bench.catch_up(&run, kind, round, a, &far)
                });
            }
        }
        for (_, topic, _) in topics {
            self.delete_topics(a, &[topic])?;
        }
        drop(far);
        drop(proxy);
        Ok(())
    }
}

/// The real address of broker 0 of the test-bed cluster `name` started by
/// this process, read from its `server.properties` (the test bed names the
/// folder `kmirror-<name>-<pid>-*`). The broker advertises the proxy, so
/// the proxy must find the broker's own port this way, while the cluster is
/// still starting.
fn testbed_broker_address(name: &str) -> Option<SocketAddr> {
    let base = std::env::var_os("KMIRROR_TESTBED_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(std::env::temp_dir);
    let prefix = format!("kmirror-{name}-{}-", std::process::id());
    let dir = std::fs::read_dir(base)
        .ok()?
        .flatten()
        .find(|e| e.file_name().to_string_lossy().starts_with(&prefix))?
        .path();
    let config = std::fs::read_to_string(dir.join("broker-0/server.properties")).ok()?;
    let listeners = config.lines().find_map(|l| l.strip_prefix("listeners="))?;
    listeners
        .split(',')
        .find_map(|l| l.strip_prefix("PLAINTEXT://"))?
        .parse()
        .ok()
}
