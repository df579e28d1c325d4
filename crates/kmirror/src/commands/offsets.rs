//! `kmirror offsets translate`: where a consumer group of one cluster
//! resumes on another (the job of MM2's `RemoteClusterUtils.translateOffsets`),
//! and `--apply` to commit it there.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use clap::{Args, Subcommand};
use kmirror_client::{ClientError, KafkaClient};
use kmirror_engine::config::mm2::{FlowConfig, Mm2Config};
use kmirror_engine::model::FlowId;
use kmirror_engine::offsets::checkpoint::Translated;
use kmirror_engine::offsets::IndexRegistry;
use kmirror_engine::records::{latest_by_key, read_partition};
use kmirror_engine::runtime::checkpoints::{commit_if_idle, translate_group};
use kmirror_wire::mm2::Checkpoint;

use super::cluster;
use crate::{config_file, EXIT_CONFIG, EXIT_FAILURE};

mod missing;

#[derive(Debug, Subcommand)]
pub enum OffsetsCommand {
    /// Print the offsets group G would resume at on the other cluster.
    ///
    /// Exit codes: 0 offsets printed (and applied with --apply); 1 a
    /// cluster problem, or a group with nothing to translate ever (unknown
    /// on --from, left out by the groups settings, no replicated topic); 2
    /// a configuration error; 3 nothing to translate yet (no checkpoint
    /// written yet, or its offsets not replicated yet): try again later.
    Translate(TranslateArgs),
}

#[derive(Debug, Args)]
pub struct TranslateArgs {
    /// The MM2 properties file (or Connect connector JSON).
    #[arg(long)]
    config: PathBuf,
    /// The consumer group.
    #[arg(long)]
    group: String,
    /// The cluster the group consumed on.
    #[arg(long)]
    from: String,
    /// The cluster it moves to.
    #[arg(long)]
    to: String,
    /// Translate the group's current committed offsets through kmirror's
    /// exact index instead of reading the latest checkpoints.
    #[arg(long)]
    live: bool,
    /// Commit the translated offsets to the group on `--to` (refused while
    /// the group has active members there; never moves it backwards).
    #[arg(long)]
    apply: bool,
}

pub async fn run(command: OffsetsCommand) -> u8 {
    match command {
        OffsetsCommand::Translate(args) => translate(args).await,
    }
}

async fn translate(args: TranslateArgs) -> u8 {
    let config = match config_file::load(&args.config) {
        Ok(config) => config,
        Err(e) => {
            eprintln!("kmirror: {e}");
            return EXIT_CONFIG;
        }
    };
    let flow = match flow_between(&config, &args.from, &args.to) {
        Ok(flow) => flow,
        Err(e) => {
            eprintln!("kmirror: {e}");
            return EXIT_CONFIG;
        }
    };
    // One after the other: a first cluster that fails ends it at once.
    let mut clients = Vec::new();
    for alias in [&args.from, &args.to] {
        match cluster::connect_admin(&config, alias, "kmirror-offsets").await {
            Ok(client) => clients.push(client),
            Err(e) => {
                eprintln!("kmirror: {e}");
                return cluster::exit_code(&e);
            }
        }
    }
    let (source, target) = (clients[0].clone(), clients[1].clone());
    let result = if args.live {
        live_translation(&flow, &source, &target, &args.group).await
    } else {
        checkpointed(&flow, &target, &args.group).await
    };
    let translated = match result {
        Ok(t) => t,
        Err(e) => {
            eprintln!("kmirror: {e}");
            return EXIT_FAILURE;
        }
    };
    if translated.is_empty() {
        let why = missing::why_nothing(&flow, &source, &args.group, args.live).await;
        eprintln!("kmirror: {why}");
        if args.apply {
            eprintln!("kmirror: nothing applied");
        }
        return why.exit_code();
    }
    for t in &translated {
        println!("{} {} {}", t.topic, t.partition, t.downstream_offset);
    }
    if args.apply {
        let refs: Vec<&Translated> = translated.iter().collect();
        match commit_if_idle(&target, &args.group, &refs).await {
            Ok(0) => eprintln!(
                "nothing to change: group {} on {} is already at or past every translated offset",
                args.group, args.to
            ),
            Ok(n) => eprintln!(
                "committed {n} partition(s) of group {} on {}",
                args.group, args.to
            ),
            Err(reason) => {
                eprintln!("kmirror: not applied: {reason}");
                return EXIT_FAILURE;
            }
        }
    }
    0
}

/// The flow `from->to`, enabled or not: checkpoints exist only for enabled
/// flows, but naming and filters are needed either way.
fn flow_between(config: &Mm2Config, from: &str, to: &str) -> Result<FlowConfig, OffsetsError> {
    for alias in [from, to] {
        if config.cluster(alias).is_none() {
            return Err(OffsetsError::UnknownCluster {
                alias: alias.to_string(),
                file: config.source_name().to_string(),
            });
        }
    }
    config
        .pairs()
        .iter()
        .find(|f| f.source.as_str() == from && f.target.as_str() == to)
        .cloned()
        .ok_or_else(|| OffsetsError::NoFlow {
            flow: FlowId::new(from, to),
            file: config.source_name().to_string(),
        })
}

/// Why offsets cannot be translated.
#[derive(Debug, thiserror::Error)]
enum OffsetsError {
    #[error("unknown cluster alias {alias:?} in {file}")]
    UnknownCluster { alias: String, file: String },
    #[error("no flow {flow} in {file}")]
    NoFlow { flow: FlowId, file: String },
    #[error("cannot read the offset index on {cluster}: {source}")]
    IndexUnreadable {
        cluster: String,
        source: ClientError,
    },
    /// Reading the checkpoints or the group's offsets failed.
    #[error("{0}")]
    Cluster(#[from] ClientError),
}

/// The latest checkpoints of `group` in `<source>.checkpoints.internal` on
/// the target, as `RemoteClusterUtils.translateOffsets` reads them.
async fn checkpointed(
    flow: &FlowConfig,
    target: &KafkaClient,
    group: &str,
) -> Result<Vec<Translated>, OffsetsError> {
    let topic = flow.checkpoints_topic();
    target
        .refresh_metadata(Some(std::slice::from_ref(&topic)))
        .await?;
    // Not created yet: no checkpoint yet, which the caller explains.
    if !target.metadata().topics.contains_key(&topic) {
        return Ok(Vec::new());
    }
    let records = read_partition(target, &topic, 0, Duration::from_secs(60)).await?;
    let mut out: Vec<Translated> = latest_by_key(records)
        .into_iter()
        .filter_map(|(k, v)| Checkpoint::decode(&k, &v).ok())
        .filter(|c| c.consumer_group_id == group)
        .map(Translated::from)
        .collect();
    out.sort_by(|a, b| (&a.topic, a.partition).cmp(&(&b.topic, b.partition)));
    Ok(out)
}

/// Translates the group's current offsets through the persisted indexes of
/// both directions.
async fn live_translation(
    flow: &FlowConfig,
    source: &KafkaClient,
    target: &KafkaClient,
    group: &str,
) -> Result<Vec<Translated>, OffsetsError> {
    let indexes = Arc::new(IndexRegistry::default());
    // Forward index on the target; the opposite flow's on the source.
    indexes
        .load(&flow.name(), target, flow.source.as_str())
        .await
        .map_err(|source| OffsetsError::IndexUnreadable {
            cluster: flow.target.to_string(),
            source,
        })?;
    let backward = FlowId::reversed_of(flow);
    let _ = indexes.load(&backward, source, flow.target.as_str()).await;
    Ok(translate_group(flow, &indexes, source, group).await?)
}
