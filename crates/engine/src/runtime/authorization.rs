//! Authorization refusals said as the ACL to add: a partition paused on
//! TOPIC_AUTHORIZATION_FAILED names the cluster, the operations, the topic
//! and the principal kmirror connects as, so an operator can fix it with
//! one `kafka-acls` call.

use kmirror_client::error::Denied;
use kmirror_client::ClientError;

/// Which side of a flow refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Side {
    /// Reading the source topic.
    Source,
    /// Writing the remote topic on the target.
    Target,
}

/// The ACL to add when `error` is an authorization refusal, else `None`.
pub fn missing_acl(
    error: &ClientError,
    side: Side,
    cluster: &str,
    topic: &str,
    principal: Option<&str>,
) -> Option<String> {
    let who = principal.unwrap_or("<the principal kmirror connects as>");
    match (error.denied()?, side) {
        (Denied::Topic, Side::Target) => Some(format!(
            "cluster {cluster} denies {who} WRITE on topic {topic}: add an ALLOW ACL for {who} \
             with operations WRITE, DESCRIBE and CREATE on topic {topic} (kafka-acls --add \
             --allow-principal {who} --operation Write --operation Describe --operation Create \
             --topic {topic})"
        )),
        (Denied::Topic, Side::Source) => Some(format!(
            "cluster {cluster} denies {who} READ on topic {topic}: add an ALLOW ACL for {who} \
             with operations READ and DESCRIBE on topic {topic} (kafka-acls --add \
             --allow-principal {who} --operation Read --operation Describe --topic {topic})"
        )),
        (Denied::Cluster, Side::Target) => Some(format!(
            "cluster {cluster} denies {who} the idempotent producer: add an ALLOW ACL for {who} \
             with operation WRITE on topic {topic} (Kafka 3.0+) or IDEMPOTENT_WRITE on the cluster"
        )),
        _ => None,
    }
}

/// What to do when a flow fails on an authorization refusal outside the
/// data path (creating internal topics, reading groups): which principals
/// need which ACLs, as the README's "ACLs kmirror needs" lists them.
pub fn flow_failure_hint(
    error: &ClientError,
    source: &str,
    source_principal: Option<&str>,
    target: &str,
    target_principal: Option<&str>,
) -> Option<String> {
    let unknown = "<the principal kmirror connects as>";
    match error.denied()? {
        Denied::Topic | Denied::Cluster | Denied::Group => Some(format!(
            "a cluster refused kmirror an operation: grant {} on {source} and {} on {target} \
             the ACLs listed under \"ACLs kmirror needs\" in the README",
            source_principal.unwrap_or(unknown),
            target_principal.unwrap_or(unknown),
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use kafka_protocol::messages::ApiKey;
    use kafka_protocol::ResponseError;

    fn broker(error: ResponseError) -> ClientError {
        ClientError::Broker {
            api: ApiKey::Produce,
            context: "test".into(),
            error,
            message: None,
        }
    }

    #[test]
    fn names_cluster_operations_topic_and_principal() {
        let hint = missing_acl(
            &broker(ResponseError::TopicAuthorizationFailed),
            Side::Target,
            "kafka-b",
            "kafka-a.orders",
            Some("User:kmirror"),
        )
        .unwrap();
        assert!(hint.contains("cluster kafka-b denies User:kmirror WRITE on topic kafka-a.orders"));
        assert!(hint.contains("--operation Write"));
        let hint = missing_acl(
            &broker(ResponseError::TopicAuthorizationFailed),
            Side::Source,
            "kafka-a",
            "orders",
            None,
        )
        .unwrap();
        assert!(hint.contains("READ on topic orders"), "{hint}");
        assert!(hint.contains("<the principal kmirror connects as>"));
    }

    #[test]
    fn flow_failures_name_both_principals() {
        let hint = flow_failure_hint(
            &broker(ResponseError::TopicAuthorizationFailed),
            "kafka-a",
            Some("User:reader"),
            "kafka-b",
            Some("User:writer"),
        )
        .unwrap();
        assert!(
            hint.contains("User:reader on kafka-a and User:writer on kafka-b"),
            "{hint}"
        );
        assert_eq!(
            flow_failure_hint(&broker(ResponseError::NotController), "a", None, "b", None),
            None
        );
    }

    #[test]
    fn other_errors_have_no_hint() {
        assert_eq!(
            missing_acl(
                &broker(ResponseError::NotLeaderOrFollower),
                Side::Target,
                "b",
                "t",
                None
            ),
            None
        );
    }
}
