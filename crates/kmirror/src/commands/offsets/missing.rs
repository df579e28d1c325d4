//! Why `offsets translate` found nothing for a group: a group the source
//! cluster does not know (a typo, the wrong cluster) is an error, while a
//! group whose first checkpoint is not written yet only has to wait. MM2's
//! `RemoteClusterUtils.translateOffsets` answers both with an empty map.

use kmirror_client::KafkaClient;
use kmirror_engine::config::mm2::FlowConfig;
use kmirror_engine::filter::{should_replicate_group, should_replicate_topic};

use crate::EXIT_FAILURE;

/// Exit code of `offsets translate` for a group that will have offsets to
/// translate but has none yet (no checkpoint written, nothing replicated
/// up to its offsets): a failover script can wait and try again.
pub const EXIT_NOT_YET: u8 = 3;

/// Why there is nothing to translate.
#[derive(Debug, thiserror::Error)]
pub enum NothingToTranslate {
    #[error("{flow} writes no checkpoints: {reason}")]
    NoCheckpointsWritten { flow: String, reason: &'static str },
    #[error(
        "group {group} is not checkpointed by {flow}: its groups / groups.exclude settings leave it out"
    )]
    GroupExcluded { group: String, flow: String },
    #[error(
        "unknown group {group}: it is not a group on {source_cluster} and has no checkpoint on {target}; check the name and --from"
    )]
    UnknownGroup {
        group: String,
        source_cluster: String,
        target: String,
    },
    #[error(
        "group {group} commits offsets on {source_cluster} only for topics {flow} does not replicate ({topics})"
    )]
    NoReplicatedTopic {
        group: String,
        source_cluster: String,
        flow: String,
        topics: String,
    },
    #[error(
        "group {group} exists on {source_cluster} but has committed no offset yet: it gets a checkpoint once it commits on a topic {flow} replicates"
    )]
    NoCommitYet {
        group: String,
        source_cluster: String,
        flow: String,
    },
    #[error(
        "no checkpoint for group {group} on {target} yet: a running kmirror writes {flow}'s checkpoints every {every} s (emit.checkpoints.interval.seconds) for every group's offsets on records it has replicated, listing the source's groups at each round (so refresh.groups.interval.seconds does not delay a new group); try again in {every} s"
    )]
    CheckpointNotYet {
        group: String,
        target: String,
        flow: String,
        every: u64,
    },
    #[error(
        "none of group {group}'s committed offsets on {source_cluster} lies in what {flow} has replicated so far; try again once replication has caught up with them"
    )]
    NotReplicatedYet {
        group: String,
        source_cluster: String,
        flow: String,
    },
    #[error("cannot tell why group {group} has nothing to translate: {reason}")]
    Unknown { group: String, reason: String },
}

impl NothingToTranslate {
    /// 3 for what only needs waiting, 1 for the rest.
    pub fn exit_code(&self) -> u8 {
        match self {
            Self::NoCommitYet { .. }
            | Self::CheckpointNotYet { .. }
            | Self::NotReplicatedYet { .. } => EXIT_NOT_YET,
            _ => EXIT_FAILURE,
        }
    }
}

/// Says why `group` had nothing to translate from `flow`'s source to its
/// target, from the checkpoints (`live` false) or the offset index.
pub async fn why_nothing(
    flow: &FlowConfig,
    source: &KafkaClient,
    group: &str,
    live: bool,
) -> NothingToTranslate {
    let name = flow.name();
    if !live {
        if !flow.replication_enabled {
            return NothingToTranslate::NoCheckpointsWritten {
                flow: name,
                reason: "the flow is not enabled (<source>-><target>.enabled = false)",
            };
        }
        if flow.emit_checkpoints.interval().is_none() {
            return NothingToTranslate::NoCheckpointsWritten {
                flow: name,
                reason: "emit.checkpoints.enabled is false or emit.checkpoints.interval.seconds negative",
            };
        }
        if !should_replicate_group(group, flow) {
            return NothingToTranslate::GroupExcluded {
                group: group.to_string(),
                flow: name,
            };
        }
    }
    let admin = source.admin();
    let committed = match admin.offset_fetch(group, None::<&[(&str, i32)]>).await {
        Ok(committed) => committed,
        Err(e) => {
            return NothingToTranslate::Unknown {
                group: group.to_string(),
                reason: format!("cannot read its offsets on {}: {e}", flow.source),
            }
        }
    };
    if committed.is_empty() {
        let listed = match admin.list_groups().await {
            Ok(groups) => groups.iter().any(|g| g.group_id == group),
            Err(e) => {
                return NothingToTranslate::Unknown {
                    group: group.to_string(),
                    reason: format!("cannot list the groups of {}: {e}", flow.source),
                }
            }
        };
        return if listed {
            NothingToTranslate::NoCommitYet {
                group: group.to_string(),
                source_cluster: flow.source.to_string(),
                flow: name,
            }
        } else {
            NothingToTranslate::UnknownGroup {
                group: group.to_string(),
                source_cluster: flow.source.to_string(),
                target: flow.target.to_string(),
            }
        };
    }
    // As the checkpoints and `translate_group` see it: topics the flow
    // replicates, and remote topics that came from the target (failback).
    let translatable = |topic: &str| {
        should_replicate_topic(topic, flow)
            || flow.policy.topic_source(topic) == Some(flow.target.as_str())
    };
    let mut topics: Vec<&str> = committed.keys().map(|(t, _)| t.as_str()).collect();
    topics.dedup();
    if !topics.iter().any(|t| translatable(t)) {
        return NothingToTranslate::NoReplicatedTopic {
            group: group.to_string(),
            source_cluster: flow.source.to_string(),
            flow: name,
            topics: topics.join(", "),
        };
    }
    match flow.emit_checkpoints.interval() {
        Some(every) if !live => NothingToTranslate::CheckpointNotYet {
            group: group.to_string(),
            target: flow.target.to_string(),
            flow: name,
            every: every.as_secs(),
        },
        _ => NothingToTranslate::NotReplicatedYet {
            group: group.to_string(),
            source_cluster: flow.source.to_string(),
            flow: name,
        },
    }
}
