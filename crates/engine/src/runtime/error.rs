//! The runtime's one error type: why the engine cannot start, why a flow
//! stops, why a partition pauses, why group offsets are not synced.
//!
//! Each variant carries its context (`flow`, topic partition, `offset`) for
//! logs and metrics; its `Display` is the message users see in the status
//! answers and logs, kept as it was when these errors were strings (tests
//! and runbooks match on them), with the context the status already shows
//! per flow and partition left out.

use std::time::Duration;

use kmirror_client::admin::GroupState;
use kmirror_client::security::SecurityError;
use kmirror_client::ClientError;

use super::coalesce::LookupError;
use super::membership::MembershipError;
use crate::forward::partition::ForwardError;
use crate::metrics::ErrorKind;
use crate::model::{FlowId, TopicPartition};

#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    /// A cluster's security settings cannot be used: the configuration
    /// is wrong.
    #[error("cluster {alias}: {source}")]
    Security {
        alias: String,
        #[source]
        source: SecurityError,
    },
    /// A cluster answered but refused kmirror's credentials or principal.
    #[error("cluster {alias} ({bootstrap}) refused kmirror: {source}")]
    Refused {
        alias: String,
        bootstrap: String,
        #[source]
        source: ClientError,
    },
    #[error("cluster {alias} ({bootstrap}) is unreachable: {source}")]
    Unreachable {
        alias: String,
        bootstrap: String,
        #[source]
        source: ClientError,
    },

    /// A cluster call the whole flow depends on failed (its internal
    /// topics, progress, offset index): the flow stops and is restarted.
    #[error("{source}")]
    Flow {
        flow: FlowId,
        #[source]
        source: ClientError,
    },
    /// The flow's worker group failed: the flow stops and is restarted.
    #[error("{source}")]
    Membership {
        flow: FlowId,
        #[source]
        source: MembershipError,
    },

    /// The offset a partition without progress starts from could not be
    /// read from the source.
    #[error("{source}")]
    StartOffset {
        flow: FlowId,
        tp: TopicPartition,
        #[source]
        source: LookupError,
    },
    /// The remote topic of a partition could not be created or checked.
    #[error("{source}")]
    RemoteTopic {
        flow: FlowId,
        tp: TopicPartition,
        #[source]
        source: LookupError,
    },
    /// The flow's fetcher task ended before the partition could join it
    /// (the flow is stopping).
    #[error("fetcher stopped")]
    FetcherStopped { flow: FlowId, tp: TopicPartition },
    /// Forwarding stopped (or could not start: no producer id from the
    /// target), with the ACL to add or the limit to raise when that is the
    /// fix.
    #[error("{source}{}", suffix(.hint))]
    Forward {
        flow: FlowId,
        tp: TopicPartition,
        offset: i64,
        stage: ForwardStage,
        #[source]
        source: ForwardError,
        hint: Option<String>,
    },
    /// A stopping partition's in-flight batches failed: a restart copies
    /// them again.
    #[error("{source}")]
    Unconfirmed {
        flow: FlowId,
        tp: TopicPartition,
        offset: i64,
        #[source]
        source: ForwardError,
    },
    #[error("no acknowledgement within {waited:?}")]
    UnconfirmedInTime {
        flow: FlowId,
        tp: TopicPartition,
        offset: i64,
        waited: Duration,
    },
    /// Another producer took the partition's transactional id
    /// (exactly-once): a newer owner writes the partition, so this worker
    /// stops writing it for good.
    #[error(
        "fenced: another producer took transactional id {transactional_id} (a newer owner of \
         the partition); this worker stops writing it"
    )]
    Fenced {
        flow: FlowId,
        tp: TopicPartition,
        transactional_id: String,
    },
    /// The committed progress of an exactly-once partition could not be
    /// read after its producer fenced its predecessor.
    #[error("cannot read the partition's committed progress: {source}")]
    CommittedProgress {
        flow: FlowId,
        tp: TopicPartition,
        #[source]
        source: ClientError,
    },
    /// The worker cannot tell whether the group still assigns it the
    /// partition, so it stopped it.
    #[error(
        "this worker's membership in the flow's group is not confirmed: \
         waiting for the group to assign the partition again"
    )]
    MembershipLost { flow: FlowId, tp: TopicPartition },

    /// Group offsets are synced only to groups with no active member on
    /// the target (as MM2 does).
    #[error("group is active on the target ({state:?}, {members} members)")]
    GroupActive {
        group: String,
        state: GroupState,
        members: usize,
    },
    /// Reading or committing a group's offsets on the target failed.
    #[error("{source}")]
    GroupOffsets {
        group: String,
        #[source]
        source: ClientError,
    },
    /// The target refused one partition's offset commit.
    #[error("{topic}-{partition}: {source}")]
    GroupOffsetRefused {
        group: String,
        topic: String,
        partition: i32,
        #[source]
        source: ClientError,
    },
}

/// Where forwarding a partition failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ForwardStage {
    /// Getting a producer id from the target.
    ProducerInit,
    /// Fetching, sending or having batches acknowledged.
    Forwarding,
}

/// `"; <hint>"`, or nothing without a hint.
fn suffix(hint: &Option<String>) -> String {
    hint.as_ref()
        .map(|hint| format!("; {hint}"))
        .unwrap_or_default()
}

impl EngineError {
    /// Whether the configuration itself is wrong (exit code 2), rather than
    /// a cluster unreachable or refusing (exit code 1).
    pub fn is_config_error(&self) -> bool {
        matches!(self, EngineError::Security { .. })
    }

    /// The `kind` this error counts as in `kmirror_errors_total`.
    pub fn kind(&self) -> ErrorKind {
        match self {
            EngineError::Security { .. }
            | EngineError::Refused { .. }
            | EngineError::Unreachable { .. }
            | EngineError::Flow { .. }
            | EngineError::Membership { .. } => ErrorKind::Flow,
            EngineError::StartOffset { .. } | EngineError::FetcherStopped { .. } => {
                ErrorKind::Fetch
            }
            EngineError::RemoteTopic { .. } => ErrorKind::Discovery,
            EngineError::Forward {
                stage: ForwardStage::ProducerInit,
                ..
            } => ErrorKind::ProducerInit,
            EngineError::Forward { source, .. } | EngineError::Unconfirmed { source, .. } => {
                match source {
                    ForwardError::Fetch(_) => ErrorKind::Fetch,
                    ForwardError::Produce(_) | ForwardError::BatchTooLarge { .. } => {
                        ErrorKind::Produce
                    }
                    ForwardError::Unforwardable { .. } | ForwardError::AboveRequestSize { .. } => {
                        ErrorKind::Unforwardable
                    }
                }
            }
            EngineError::UnconfirmedInTime { .. } => ErrorKind::Produce,
            EngineError::MembershipLost { .. } | EngineError::Fenced { .. } => {
                ErrorKind::Membership
            }
            EngineError::CommittedProgress { .. } => ErrorKind::ProducerInit,
            EngineError::GroupActive { .. }
            | EngineError::GroupOffsets { .. }
            | EngineError::GroupOffsetRefused { .. } => ErrorKind::Checkpoint,
        }
    }

    /// The cluster error behind a failed flow, for the hint that names the
    /// ACL to add.
    pub fn flow_client_error(&self) -> Option<&ClientError> {
        match self {
            EngineError::Flow { source, .. }
            | EngineError::Membership {
                source: MembershipError::Join { source, .. },
                ..
            } => Some(source),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_paused_partition_says_what_failed_and_the_fix_after_it() {
        let tp = TopicPartition::new("orders", 3);
        let flow = FlowId::new("kafka-a", "kafka-b");
        let too_large = |hint: Option<&str>| EngineError::Forward {
            flow: flow.clone(),
            tp: tp.clone(),
            offset: 7,
            stage: ForwardStage::Forwarding,
            source: ForwardError::AboveRequestSize {
                offset: 7,
                bytes: 2000,
                limit: 1000,
                key: "kafka-b.producer.max.request.size".into(),
            },
            hint: hint.map(str::to_string),
        };
        let plain = too_large(None).to_string();
        assert!(
            plain.starts_with("the source batch at offset 7 is 2000 bytes"),
            "{plain}"
        );
        assert_eq!(
            too_large(Some("raise it")).to_string(),
            format!("{plain}; raise it")
        );
        assert_eq!(too_large(None).kind(), ErrorKind::Unforwardable);
        let lost = EngineError::MembershipLost { flow, tp };
        assert_eq!(lost.kind(), ErrorKind::Membership);
        assert!(lost.to_string().starts_with("this worker's membership"));
    }
}
