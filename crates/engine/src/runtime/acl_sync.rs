//! Topic ACL sync, MM2's `sync.topic.acls.enabled` /
//! `sync.topic.acls.interval.seconds` (`MirrorSourceConnector.syncTopicAcls`).
//!
//! At flow start and then every interval, the source's LITERAL topic ACLs
//! are listed, those of topics the flow replicates are kept, and each is
//! created on the target for the remote topic name, same principal and
//! host. ALLOW only and never WRITE: only the remote topic's writer (kmirror)
//! should write it, and the readers of a topic should be able to read its
//! copy. ALLOW ALL becomes ALLOW READ for the same reason. Creating a
//! binding that exists is a no-op for Kafka, so every round sends them all
//! again (as MM2 does), which also restores one removed on the target by
//! hand. Nothing is ever deleted on the target: ACLs kmirror did not create
//! stay, and those it did stay when their source goes (as in MM2).
//!
//! Two narrowings of MM2 (whose filter only drops ALLOW WRITE), both on the
//! safe side: DENY bindings are not copied (issue 9 asks for ALLOW only), and
//! the literal wildcard `*` ("every topic") is not: it names no topic, and
//! under an identity policy it would grant the principal every topic of the
//! target, the target's own included.
//!
//! A failing round never stops replication. What went wrong is logged once,
//! naming the permission or setting to change, until the condition changes
//! (the next rounds log it at debug), so a cluster without an authorizer or
//! a principal without the right to list ACLs does not fill the log.

use std::collections::HashSet;
use std::sync::Arc;

use kmirror_client::acls::{
    AclBinding, AclFilter, AclOperation, AclPermission, CreatedAcls, PatternType, ResourceType,
};
use kmirror_client::error::Denied;
use kmirror_client::{ClientError, KafkaClient};
use tokio_util::sync::CancellationToken;
use tracing::{debug, info, warn};

use crate::config::mm2::FlowConfig;
use crate::filter::should_replicate_topic;
use crate::metrics::ErrorKind;
use crate::runtime::ticker::Ticker;
use crate::runtime::StatusBoard;

/// Kafka's literal resource name that matches every resource of its type.
const WILDCARD_RESOURCE: &str = "*";

/// What the source is asked for: literal ALLOW ACLs of topics, any
/// principal, host and operation (narrowed by [`target_acl_binding`]).
pub fn source_acl_filter() -> AclFilter {
    AclFilter {
        resource_type: ResourceType::Topic,
        pattern_type: PatternType::Literal,
        permission: AclPermission::Allow,
        ..AclFilter::any()
    }
}

/// The binding to create on the target for a source binding, or `None` when
/// it is not synced: not a literal topic ACL, not ALLOW, WRITE, the
/// wildcard, or a topic the flow does not replicate.
pub fn target_acl_binding(source: &AclBinding, flow: &FlowConfig) -> Option<AclBinding> {
    let synced = source.resource_type == ResourceType::Topic
        && source.pattern_type == PatternType::Literal
        && source.permission == AclPermission::Allow
        && source.operation != AclOperation::Write
        && source.resource_name != WILDCARD_RESOURCE
        && should_replicate_topic(&source.resource_name, flow);
    if !synced {
        return None;
    }
    let operation = match source.operation {
        AclOperation::All => AclOperation::Read,
        other => other,
    };
    Some(AclBinding {
        resource_type: ResourceType::Topic,
        resource_name: flow.remote_topic(&source.resource_name),
        pattern_type: PatternType::Literal,
        principal: source.principal.clone(),
        host: source.host.clone(),
        operation,
        permission: AclPermission::Allow,
    })
}

/// The target bindings for all of `source`, each once (ALLOW ALL and ALLOW
/// READ of one principal map to the same binding), in source order.
pub fn target_acl_bindings(source: &[AclBinding], flow: &FlowConfig) -> Vec<AclBinding> {
    let mut seen = HashSet::new();
    source
        .iter()
        .filter_map(|binding| target_acl_binding(binding, flow))
        .filter(|binding| seen.insert(binding.clone()))
        .collect()
}

/// How one sync round ended.
#[derive(Debug)]
pub enum AclSyncOutcome {
    /// Every binding was created (or already existed) on the target.
    Synced { applied: usize },
    /// The source answered SECURITY_DISABLED: no ACLs exist there.
    SourceHasNoAuthorizer,
    /// The source refused `DescribeAcls` (CLUSTER_AUTHORIZATION_FAILED).
    DescribeDenied,
    /// Listing the source's ACLs failed otherwise.
    DescribeFailed(ClientError),
    /// The target answered SECURITY_DISABLED: it cannot hold ACLs.
    TargetHasNoAuthorizer { wanted: usize },
    /// The target refused `CreateAcls` (CLUSTER_AUTHORIZATION_FAILED).
    CreateDenied { wanted: usize },
    /// Creating some bindings failed otherwise; the others were created.
    CreateFailed {
        applied: usize,
        failed: usize,
        error: ClientError,
    },
}

/// An [`AclSyncOutcome`] without its details: what decides whether a round
/// is worth a log line above debug.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AclSyncCondition {
    /// With the number of bindings applied: a new source ACL is news.
    Synced(usize),
    SourceHasNoAuthorizer,
    DescribeDenied,
    /// With the broker's error code, when it answered with one.
    DescribeFailed(Option<i16>),
    TargetHasNoAuthorizer,
    CreateDenied,
    CreateFailed(Option<i16>),
}

impl AclSyncOutcome {
    pub fn condition(&self) -> AclSyncCondition {
        match self {
            AclSyncOutcome::Synced { applied } => AclSyncCondition::Synced(*applied),
            AclSyncOutcome::SourceHasNoAuthorizer => AclSyncCondition::SourceHasNoAuthorizer,
            AclSyncOutcome::DescribeDenied => AclSyncCondition::DescribeDenied,
            AclSyncOutcome::DescribeFailed(e) => AclSyncCondition::DescribeFailed(e.broker_code()),
            AclSyncOutcome::TargetHasNoAuthorizer { .. } => AclSyncCondition::TargetHasNoAuthorizer,
            AclSyncOutcome::CreateDenied { .. } => AclSyncCondition::CreateDenied,
            AclSyncOutcome::CreateFailed { error, .. } => {
                AclSyncCondition::CreateFailed(error.broker_code())
            }
        }
    }

    /// Whether the round failed (counted in `kmirror_errors_total`). A
    /// source without an authorizer is no failure: there is nothing to sync.
    pub fn is_failure(&self) -> bool {
        !matches!(
            self,
            AclSyncOutcome::Synced { .. } | AclSyncOutcome::SourceHasNoAuthorizer
        )
    }

    /// Classifies the answer to `DescribeAcls` on the source.
    fn from_describe_error(error: ClientError) -> Self {
        if error.is_security_disabled() {
            AclSyncOutcome::SourceHasNoAuthorizer
        } else if error.denied() == Some(Denied::Cluster) {
            AclSyncOutcome::DescribeDenied
        } else {
            AclSyncOutcome::DescribeFailed(error)
        }
    }

    /// Classifies the answers to `CreateAcls` on the target: per binding, or
    /// `Err` for the whole request.
    fn from_create_results(wanted: usize, results: Result<CreatedAcls, ClientError>) -> Self {
        let errors: Vec<ClientError> = match results {
            Ok(results) => results.into_iter().filter_map(|(_, r)| r.err()).collect(),
            Err(e) => vec![e; wanted.max(1)],
        };
        if errors.iter().any(|e| e.denied() == Some(Denied::Cluster)) {
            return AclSyncOutcome::CreateDenied { wanted };
        }
        if errors.iter().any(ClientError::is_security_disabled) {
            return AclSyncOutcome::TargetHasNoAuthorizer { wanted };
        }
        let failed = errors.len().min(wanted);
        match errors.into_iter().next() {
            None => AclSyncOutcome::Synced { applied: wanted },
            Some(error) => AclSyncOutcome::CreateFailed {
                applied: wanted - failed,
                failed,
                error,
            },
        }
    }
}

/// Remembers the last round's condition, so that each condition is reported
/// once until it changes.
#[derive(Debug, Default)]
pub struct ConditionMemory {
    last: Option<AclSyncCondition>,
}

impl ConditionMemory {
    /// Records `condition`; whether it differs from the last one.
    pub fn changed(&mut self, condition: AclSyncCondition) -> bool {
        self.last.replace(condition) != Some(condition)
    }
}

/// One round: lists the source's topic ACLs and creates the flow's share
/// of them on the target.
pub async fn sync_topic_acls(
    flow: &FlowConfig,
    source: &KafkaClient,
    target: &KafkaClient,
) -> AclSyncOutcome {
    let listed = match source.admin().describe_acls(&source_acl_filter()).await {
        Ok(listed) => listed,
        Err(e) => return AclSyncOutcome::from_describe_error(e),
    };
    let bindings = target_acl_bindings(&listed, flow);
    if bindings.is_empty() {
        return AclSyncOutcome::Synced { applied: 0 };
    }
    let results = target.admin().create_acls(&bindings).await;
    AclSyncOutcome::from_create_results(bindings.len(), results)
}

/// Runs [`sync_topic_acls`] now and then every `sync.topic.acls.interval.seconds`
/// until `shutdown`; returns at once when the sync is disabled.
pub async fn run_acl_sync(
    flow: FlowConfig,
    source: KafkaClient,
    target: KafkaClient,
    status: Arc<StatusBoard>,
    shutdown: CancellationToken,
) {
    let Some(every) = flow.sync_topic_acls.interval() else {
        return;
    };
    let name = flow.name();
    let mut memory = ConditionMemory::default();
    let mut ticker = Ticker::new(every, &shutdown);
    while ticker.tick().await {
        let outcome = tokio::select! {
            _ = shutdown.cancelled() => return,
            outcome = sync_topic_acls(&flow, &source, &target) => outcome,
        };
        if outcome.is_failure() {
            status.error(&name, ErrorKind::AclSync);
        }
        if let AclSyncOutcome::Synced { applied } = outcome {
            status.topic_acls_synced(&name, applied);
        }
        let changed = memory.changed(outcome.condition());
        report(&flow, &outcome, changed);
    }
}

/// Logs a round's outcome: at info or warn when its condition is new, at
/// debug while it lasts.
fn report(flow: &FlowConfig, outcome: &AclSyncOutcome, changed: bool) {
    let name = flow.name();
    let (source, target) = (flow.source.as_str(), flow.target.as_str());
    let disable = format!("{name}.sync.topic.acls.enabled = false");
    if !changed {
        debug!(flow = %name, ?outcome, "topic ACL sync: no change");
        return;
    }
    match outcome {
        AclSyncOutcome::Synced { applied } => {
            info!(flow = %name, bindings = applied, "topic ACLs synced to {target}")
        }
        AclSyncOutcome::SourceHasNoAuthorizer => info!(
            flow = %name,
            "cluster {source} has no authorizer, so it has no topic ACLs to sync; set {disable} to skip the check"
        ),
        AclSyncOutcome::DescribeDenied => warn!(
            flow = %name,
            "cannot list topic ACLs on {source}: the principal kmirror connects to {source} as needs DESCRIBE on the CLUSTER resource there; grant it, or set {disable}; replication goes on"
        ),
        AclSyncOutcome::DescribeFailed(error) => warn!(
            flow = %name,
            %error,
            "cannot list topic ACLs on {source}; retrying at the next ACL sync, replication goes on"
        ),
        AclSyncOutcome::TargetHasNoAuthorizer { wanted } => warn!(
            flow = %name,
            bindings = wanted,
            "cluster {target} has no authorizer, so the topic ACLs of {source} cannot be created there; enable an authorizer on {target}, or set {disable}; replication goes on"
        ),
        AclSyncOutcome::CreateDenied { wanted } => warn!(
            flow = %name,
            bindings = wanted,
            "cannot create topic ACLs on {target}: the principal kmirror connects to {target} as needs ALTER on the CLUSTER resource there; grant it, or set {disable}; replication goes on"
        ),
        AclSyncOutcome::CreateFailed {
            applied,
            failed,
            error,
        } => warn!(
            flow = %name,
            applied,
            failed,
            %error,
            "cannot create some topic ACLs on {target}; retrying at the next ACL sync, replication goes on"
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::mm2::ClusterAlias;
    use crate::filter::TopicFilter;
    use crate::policy::ReplicationPolicy;
    use kafka_protocol::ResponseError;

    /// `kafka-a->kafka-b`, replicating `orders` and `users`.
    fn flow() -> FlowConfig {
        let mut flow =
            FlowConfig::with_defaults(ClusterAlias::new("kafka-a"), ClusterAlias::new("kafka-b"));
        flow.topics = TopicFilter::new("orders, users", TopicFilter::DEFAULT_EXCLUDE).unwrap();
        flow
    }

    fn binding(topic: &str, operation: AclOperation, permission: AclPermission) -> AclBinding {
        AclBinding {
            resource_type: ResourceType::Topic,
            resource_name: topic.into(),
            pattern_type: PatternType::Literal,
            principal: "User:alice".into(),
            host: "*".into(),
            operation,
            permission,
        }
    }

    fn allow(topic: &str, operation: AclOperation) -> AclBinding {
        binding(topic, operation, AclPermission::Allow)
    }

    #[test]
    fn the_source_is_asked_for_literal_allow_topic_acls() {
        let filter = source_acl_filter();
        assert_eq!(filter.resource_type, ResourceType::Topic);
        assert_eq!(filter.pattern_type, PatternType::Literal);
        assert_eq!(filter.permission, AclPermission::Allow);
        assert_eq!(filter.operation, AclOperation::Any);
        assert_eq!(filter.resource_name, None);
        assert_eq!(filter.principal, None);
        assert_eq!(filter.host, None);
    }

    #[test]
    fn allow_read_goes_to_the_remote_topic_with_the_same_principal_and_host() {
        let mut source = allow("orders", AclOperation::Read);
        source.principal = "User:CN=reader,O=example".into();
        source.host = "10.0.0.7".into();
        let target = target_acl_binding(&source, &flow()).unwrap();
        assert_eq!(
            target,
            AclBinding {
                resource_name: "kafka-a.orders".into(),
                ..source
            }
        );
    }

    #[test]
    fn allow_all_becomes_read() {
        let target = target_acl_binding(&allow("orders", AclOperation::All), &flow()).unwrap();
        assert_eq!(target.operation, AclOperation::Read);
        assert_eq!(target.permission, AclPermission::Allow);
    }

    #[test]
    fn other_operations_keep_their_name() {
        for operation in [
            AclOperation::Describe,
            AclOperation::DescribeConfigs,
            AclOperation::Create,
            AclOperation::Delete,
            AclOperation::Alter,
            AclOperation::AlterConfigs,
        ] {
            let target = target_acl_binding(&allow("users", operation), &flow()).unwrap();
            assert_eq!(target.operation, operation);
            assert_eq!(target.resource_name, "kafka-a.users");
        }
    }

    #[test]
    fn write_is_never_synced() {
        assert_eq!(
            target_acl_binding(&allow("orders", AclOperation::Write), &flow()),
            None
        );
    }

    #[test]
    fn deny_is_never_synced() {
        for operation in [AclOperation::Read, AclOperation::All, AclOperation::Write] {
            let deny = binding("orders", operation, AclPermission::Deny);
            assert_eq!(target_acl_binding(&deny, &flow()), None, "{deny}");
        }
    }

    #[test]
    fn only_literal_topic_acls_are_synced() {
        let prefixed = AclBinding {
            pattern_type: PatternType::Prefixed,
            ..allow("orders", AclOperation::Read)
        };
        assert_eq!(target_acl_binding(&prefixed, &flow()), None);
        let group = AclBinding {
            resource_type: ResourceType::Group,
            ..allow("orders", AclOperation::Read)
        };
        assert_eq!(target_acl_binding(&group, &flow()), None);
        let wildcard = allow("*", AclOperation::Read);
        let mut everything = flow();
        everything.topics = TopicFilter::default();
        assert_eq!(target_acl_binding(&wildcard, &everything), None);
    }

    #[test]
    fn topics_the_flow_does_not_replicate_are_skipped() {
        let flow = flow();
        for topic in [
            "payments",
            // Came from the target: replicating it back would be a cycle.
            "kafka-b.orders",
            "__consumer_offsets",
            "mm2-offset-syncs.kafka-b.internal",
        ] {
            assert_eq!(
                target_acl_binding(&allow(topic, AclOperation::Read), &flow),
                None,
                "{topic}"
            );
        }
        // Heartbeats are replicated whatever `topics` says, and so their ACLs.
        let heartbeats = target_acl_binding(&allow("heartbeats", AclOperation::Read), &flow);
        assert_eq!(heartbeats.unwrap().resource_name, "kafka-a.heartbeats");
    }

    #[test]
    fn the_remote_name_follows_the_replication_policy() {
        let mut flow = flow();
        flow.policy = ReplicationPolicy::identity();
        let target = target_acl_binding(&allow("orders", AclOperation::Read), &flow).unwrap();
        assert_eq!(target.resource_name, "orders");
    }

    #[test]
    fn bindings_that_map_to_the_same_target_binding_are_created_once() {
        let source = [
            allow("orders", AclOperation::All),
            allow("orders", AclOperation::Write),
            allow("orders", AclOperation::Read),
            allow("users", AclOperation::Describe),
            allow("payments", AclOperation::Read),
        ];
        let target = target_acl_bindings(&source, &flow());
        let summary: Vec<_> = target
            .iter()
            .map(|b| (b.resource_name.as_str(), b.operation))
            .collect();
        assert_eq!(
            summary,
            [
                ("kafka-a.orders", AclOperation::Read),
                ("kafka-a.users", AclOperation::Describe),
            ]
        );
    }

    fn broker_error(error: ResponseError) -> ClientError {
        ClientError::Broker {
            api: kafka_protocol::messages::ApiKey::DescribeAcls,
            context: "test".into(),
            error,
            message: None,
        }
    }

    #[test]
    fn describe_errors_are_classified() {
        let outcome =
            AclSyncOutcome::from_describe_error(broker_error(ResponseError::SecurityDisabled));
        assert_eq!(outcome.condition(), AclSyncCondition::SourceHasNoAuthorizer);
        assert!(!outcome.is_failure());
        let outcome = AclSyncOutcome::from_describe_error(broker_error(
            ResponseError::ClusterAuthorizationFailed,
        ));
        assert_eq!(outcome.condition(), AclSyncCondition::DescribeDenied);
        assert!(outcome.is_failure());
        let outcome = AclSyncOutcome::from_describe_error(ClientError::UnknownTopicPartition {
            topic: "t".into(),
            partition: 0,
        });
        assert_eq!(outcome.condition(), AclSyncCondition::DescribeFailed(None));
    }

    #[test]
    fn create_results_are_classified() {
        let one = allow("kafka-a.orders", AclOperation::Read);
        let two = allow("kafka-a.users", AclOperation::Read);
        let ok = AclSyncOutcome::from_create_results(
            2,
            Ok(vec![(one.clone(), Ok(())), (two.clone(), Ok(()))]),
        );
        assert!(matches!(ok, AclSyncOutcome::Synced { applied: 2 }));

        let denied = AclSyncOutcome::from_create_results(
            2,
            Ok(vec![
                (
                    one.clone(),
                    Err(broker_error(ResponseError::ClusterAuthorizationFailed)),
                ),
                (
                    two.clone(),
                    Err(broker_error(ResponseError::ClusterAuthorizationFailed)),
                ),
            ]),
        );
        assert_eq!(denied.condition(), AclSyncCondition::CreateDenied);

        let disabled = AclSyncOutcome::from_create_results(
            1,
            Err(broker_error(ResponseError::SecurityDisabled)),
        );
        assert_eq!(
            disabled.condition(),
            AclSyncCondition::TargetHasNoAuthorizer
        );

        let partial = AclSyncOutcome::from_create_results(
            2,
            Ok(vec![
                (one, Ok(())),
                (two, Err(broker_error(ResponseError::InvalidRequest))),
            ]),
        );
        assert!(
            matches!(
                partial,
                AclSyncOutcome::CreateFailed {
                    applied: 1,
                    failed: 1,
                    ..
                }
            ),
            "{partial:?}"
        );
        assert_eq!(
            partial.condition(),
            AclSyncCondition::CreateFailed(Some(ResponseError::InvalidRequest.code()))
        );
    }

    #[test]
    fn a_condition_is_reported_once_until_it_changes() {
        let mut memory = ConditionMemory::default();
        assert!(memory.changed(AclSyncCondition::DescribeDenied));
        assert!(!memory.changed(AclSyncCondition::DescribeDenied));
        assert!(!memory.changed(AclSyncCondition::DescribeDenied));
        assert!(memory.changed(AclSyncCondition::Synced(3)));
        assert!(!memory.changed(AclSyncCondition::Synced(3)));
        assert!(memory.changed(AclSyncCondition::Synced(4)));
        assert!(memory.changed(AclSyncCondition::DescribeDenied));
        assert!(memory.changed(AclSyncCondition::DescribeFailed(None)));
        assert!(memory.changed(AclSyncCondition::DescribeFailed(Some(
            ResponseError::RequestTimedOut.code()
        ))));
    }
}
