//! `kmirror verify --config mm2.properties`: the end-to-end check operators
//! run by hand. For every enabled flow `A->B` it writes a canary record to
//! `kmirror-canary` on A and waits until the running kmirror has copied it,
//! byte for byte, to `A.kmirror-canary` on B; it reports each round trip and
//! exits 1, naming the flow, if a canary does not arrive within `--timeout`.
//!
//! How the canary gets replicated whatever the user's `topics` list says:
//! every flow replicates the topic `kmirror-canary` of its source as it
//! replicates heartbeats (`kmirror_engine::policy::CANARY_TOPIC`), and creates
//! it on its source when it starts, so a running kmirror replicates it from
//! its first topic discovery. `verify` creates it too when it is missing (a
//! kmirror started before then sees it at its next topic refresh). Under a
//! policy that keeps topic names (identity), remote and local canary would
//! be the same topic: such flows are skipped.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use bytes::Bytes;
use clap::Args;
use kmirror_client::admin::{CreateTopicOutcome, NewTopic, OffsetSpec};
use kmirror_client::fetch::Isolation;
use kmirror_client::read::ReadOptions;
use kmirror_client::records::{read_key_values_at, KeyValue};
use kmirror_client::{ClientError, KafkaClient};
use kmirror_engine::config::mm2::FlowConfig;
use kmirror_engine::model::now_ms;
use kmirror_engine::policy::CANARY_TOPIC;
use kmirror_engine::runtime::topics::effective_replication_factor;
use kmirror_engine::runtime::writer::RecordWriter;
use rand::Rng as _;

use super::cluster;
use crate::{config_file, EXIT_CONFIG, EXIT_FAILURE};

#[derive(Debug, Args)]
pub struct VerifyArgs {
    /// The MM2 properties file (or Connect connector JSON) kmirror runs.
    #[arg(long)]
    config: PathBuf,
    /// Seconds to wait for each canary.
    #[arg(long, default_value_t = 60.0)]
    timeout: f64,
}

/// How one flow did.
#[derive(Debug)]
enum Outcome {
    Arrived { round_trip: Duration },
    Skipped(String),
    Failed(String),
}

pub async fn verify(args: VerifyArgs) -> u8 {
    let config = match config_file::load(&args.config) {
        Ok(config) => config,
        Err(e) => {
            eprintln!("kmirror: {e}");
            return EXIT_CONFIG;
        }
    };
    let timeout = Duration::from_secs_f64(args.timeout.clamp(0.1, 86_400.0));
    let flows: Vec<FlowConfig> = config.flows().cloned().collect();
    if flows.is_empty() {
        eprintln!("kmirror: no enabled flow to verify");
        return EXIT_CONFIG;
    }
    let mut clients = std::collections::BTreeMap::new();
    for flow in &flows {
        for alias in [&flow.source, &flow.target] {
            if clients.contains_key(alias.as_str()) {
                continue;
            }
            // verify writes canaries on sources and reads them on targets;
            // the cluster-level (admin) security settings serve both.
            match cluster::connect_admin(&config, alias.as_str(), "kmirror-verify").await {
                Ok(client) => {
                    clients.insert(alias.to_string(), client);
                }
                Err(e) => {
                    eprintln!("kmirror: {e}");
                    return cluster::exit_code(&e);
                }
            }
        }
    }

    let checks = flows.iter().map(|flow| {
        let source = clients[flow.source.as_str()].clone();
        let target = clients[flow.target.as_str()].clone();
        async move { (flow.name(), check_flow(flow, source, target, timeout).await) }
    });
    let results = futures::future::join_all(checks).await;

    let width = results.iter().map(|(n, _)| n.len()).max().unwrap_or(4);
    let mut failed = Vec::new();
    for (name, outcome) in &results {
        match outcome {
            Outcome::Arrived { round_trip } => println!(
                "{name:<width$}  ok       round trip {} ms",
                round_trip.as_millis()
            ),
            Outcome::Skipped(why) => println!("{name:<width$}  skipped  {why}"),
            Outcome::Failed(why) => {
                println!("{name:<width$}  FAILED   {why}");
                failed.push(name.clone());
            }
        }
    }
    if failed.is_empty() {
        0
    } else {
        eprintln!("kmirror: verify failed for flow {}", failed.join(", "));
        EXIT_FAILURE
    }
}

async fn check_flow(
    flow: &FlowConfig,
    source: KafkaClient,
    target: KafkaClient,
    timeout: Duration,
) -> Outcome {
    let remote = flow.remote_topic(CANARY_TOPIC);
    if remote == CANARY_TOPIC {
        return Outcome::Skipped(
            "the replication policy keeps topic names: the canary would loop".into(),
        );
    }
    if let Err(e) = ensure_canary(&source, flow).await {
        return Outcome::Failed(format!(
            "cannot create {CANARY_TOPIC} on {}: {e}",
            flow.source
        ));
    }
    // Where to look on the target: past everything already there.
    let start: i64 = target
        .admin()
        .offset_of(&remote, 0, OffsetSpec::Latest)
        .await
        .unwrap_or_default();
    let nonce: u64 = rand::thread_rng().gen();
    let key = format!("kmirror-verify:{}:{nonce:016x}", flow.name()).into_bytes();
    let filler: String = (0..32)
        .map(|_| format!("{:02x}", rand::thread_rng().gen::<u8>()))
        .collect();
    let value = serde_json::json!({
        "flow": flow.name(),
        "nonce": format!("{nonce:016x}"),
        "sent_ms": now_ms(),
        "filler": filler,
    })
    .to_string()
    .into_bytes();
    let mut writer = RecordWriter::new(source.clone());
    let sent = Instant::now();
    if let Err(e) = writer
        .write(CANARY_TOPIC, 0, &[(key.clone(), Some(value.clone()))])
        .await
    {
        return Outcome::Failed(format!(
            "cannot write the canary to {CANARY_TOPIC} on {}: {e}",
            flow.source
        ));
    }
    let deadline = sent + timeout;
    let mut offset = start;
    loop {
        if Instant::now() > deadline {
            return Outcome::Failed(format!(
                "canary not seen in {remote} on {} within {timeout:?}",
                flow.target
            ));
        }
        match read_from(&target, &remote, offset).await {
            Ok((records, next)) => {
                for record in records {
                    if record.key.as_deref() != Some(key.as_slice()) {
                        continue;
                    }
                    return if record.value == Some(Bytes::from(value.clone())) {
                        Outcome::Arrived {
                            round_trip: sent.elapsed(),
                        }
                    } else {
                        Outcome::Failed(format!(
                            "canary arrived altered in {remote} on {} at offset {}",
                            flow.target, record.offset
                        ))
                    };
                }
                if next == offset {
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
                offset = next;
            }
            // The remote topic may not exist yet.
            Err(_) => tokio::time::sleep(Duration::from_millis(250)).await,
        }
    }
}

/// Creates the canary topic as a running kmirror would.
async fn ensure_canary(source: &KafkaClient, flow: &FlowConfig) -> Result<(), ClientError> {
    let metadata = source
        .refresh_metadata(Some(&[CANARY_TOPIC.to_string()]))
        .await?;
    if metadata
        .topics
        .get(CANARY_TOPIC)
        .is_some_and(|t| t.error.is_none())
    {
        return Ok(());
    }
    let rf = effective_replication_factor(source, flow.replication_factor, CANARY_TOPIC);
    let topic = NewTopic::new(CANARY_TOPIC, 1, rf)
        .with_config("cleanup.policy", "delete")
        .with_config("retention.ms", "86400000");
    let results = source.admin().create_topics(&[topic], false).await?;
    for (_, result) in results {
        if let CreateTopicOutcome::Created = result? {
            eprintln!(
                "created {CANARY_TOPIC} on {}; a kmirror that is already running replicates it after its next topic refresh (refresh.topics.interval.seconds)",
                flow.source
            );
        }
    }
    source
        .refresh_metadata(Some(&[CANARY_TOPIC.to_string()]))
        .await?;
    Ok(())
}

/// Records of `topic`-0 from `offset`, and where to read next.
async fn read_from(
    client: &KafkaClient,
    topic: &str,
    offset: i64,
) -> Result<(Vec<KeyValue>, i64), ClientError> {
    let options = ReadOptions {
        max_wait: Duration::from_millis(200),
        max_bytes: 1024 * 1024,
        isolation: Isolation::ReadCommitted,
    };
    read_key_values_at(client, topic, 0, offset, options).await
}
