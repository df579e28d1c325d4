//! `kmirror check`: validate, reach the clusters, show the plan.

use std::path::PathBuf;

use clap::Args;
use kmirror_engine::filter::should_replicate_topic;
use kmirror_engine::runtime::{FlowTuning, Replicator};

use super::size_limits;
use crate::{config_file, EXIT_CONFIG, EXIT_FAILURE};

#[derive(Debug, Args)]
pub struct CheckArgs {
    /// The MM2 properties file (or Connect connector JSON).
    config: PathBuf,
    /// Only the flows into these clusters (comma-separated aliases), as
    /// MM2's `--clusters`.
    #[arg(long, value_delimiter = ',')]
    clusters: Option<Vec<String>>,
    /// Refuse keys that neither MM2, Kafka Connect, Kafka's clients nor
    /// kmirror knows (exit 2) instead of warning about them.
    #[arg(long)]
    strict: bool,
}

pub async fn check(args: CheckArgs) -> u8 {
    let config = match config_file::load(&args.config)
        .and_then(|config| config_file::only_targets(config, args.clusters.as_deref(), args.strict))
    {
        Ok(config) => config,
        Err(e) => {
            eprintln!("kmirror: {e}");
            return EXIT_CONFIG;
        }
    };
    config_file::report(&config);
    let replicator = match Replicator::connect(&config, FlowTuning::default()).await {
        Ok(replicator) => replicator,
        Err(e) => {
            eprintln!("kmirror: {}: {e}", args.config.display());
            return if e.is_config_error() {
                EXIT_CONFIG
            } else {
                EXIT_FAILURE
            };
        }
    };
    for cluster in config.clusters() {
        if let Some(client) = replicator.client(cluster.alias.as_str()) {
            let metadata = client.metadata();
            println!(
                "cluster {}: reachable, {} broker(s), cluster id {}",
                cluster.alias,
                metadata.brokers.len(),
                metadata.cluster_id.as_deref().unwrap_or("?")
            );
        }
    }
    for flow in Replicator::flows_of(&config) {
        let source = replicator
            .client(flow.source.as_str())
            .expect("connected clusters include every flow's source");
        if !flow.replication_enabled {
            println!("flow {}: heartbeats only", flow.name());
            continue;
        }
        let metadata = match source.refresh_metadata(None).await {
            Ok(metadata) => metadata,
            Err(e) => {
                eprintln!(
                    "kmirror: {}: cannot list the topics of cluster {}: {e}",
                    args.config.display(),
                    flow.source
                );
                return EXIT_FAILURE;
            }
        };
        let mut topics: Vec<_> = metadata
            .topics
            .values()
            .filter(|t| should_replicate_topic(&t.name, &flow))
            .collect();
        topics.sort_by(|a, b| a.name.cmp(&b.name));
        println!("flow {}: {} topic(s)", flow.name(), topics.len());
        for topic in &topics {
            // `cluster: topic`: a dot between them would read as one
            // (remote) topic name.
            println!(
                "  {}: {} -> {}: {} ({} partitions)",
                flow.source,
                topic.name,
                flow.target,
                flow.remote_topic(&topic.name),
                topic.partitions.len()
            );
        }
        // Warnings about the topics' size limits, after the plan.
        if let Some(target) = replicator.client(flow.target.as_str()) {
            let names: Vec<String> = topics.iter().map(|t| t.name.clone()).collect();
            size_limits::warn_limits_below_source(&flow, &source, &target, &names).await;
        }
    }
    // Only now: the file, every cluster and every flow's topics check out.
    println!("{}: valid", args.config.display());
    0
}
