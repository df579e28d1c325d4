//! `DescribeAcls` and `CreateAcls` against a real broker with KRaft's
//! `StandardAuthorizer` (`User:ANONYMOUS`, every PLAINTEXT client, is a
//! super user), checked against what Kafka's `AclCommand` lists.

use std::future::Future;
use std::sync::OnceLock;
use std::time::Duration;

use kafka_protocol::messages::ApiKey;
use kmirror_client::acls::{
    AclBinding, AclFilter, AclOperation, AclPermission, PatternType, ResourceType,
};
use kmirror_client::admin::Admin;
use kmirror_client::{ClientConfig, KafkaClient};
use kmirror_testbed::{kafka_version, JavaCommand, KafkaCluster};

/// Bound on any single call.
const WAIT: Duration = Duration::from_secs(60);

async fn bounded<F: Future>(what: &str, future: F) -> F::Output {
    tokio::time::timeout(WAIT, future)
        .await
        .unwrap_or_else(|_| panic!("{what} took longer than {WAIT:?}"))
}

fn cluster() -> &'static KafkaCluster {
    static CLUSTER: OnceLock<KafkaCluster> = OnceLock::new();
    CLUSTER.get_or_init(|| {
        KafkaCluster::builder("acls")
            .broker_prop(
                "authorizer.class.name",
                "org.apache.kafka.metadata.authorizer.StandardAuthorizer",
            )
            .broker_prop("super.users", "User:ANONYMOUS")
            .start()
    })
}

async fn admin() -> Admin {
    let bootstrap = tokio::task::spawn_blocking(|| cluster().bootstrap())
        .await
        .unwrap();
    let client = bounded(
        "connect",
        KafkaClient::connect(ClientConfig::new(&bootstrap)),
    )
    .await
    .expect("connect to the test cluster");
    client.admin()
}

/// `AclCommand --list`: every ACL of the cluster, as Kafka prints it.
fn listed_by_kafka() -> String {
    let class = if kafka_version().starts_with("3.") {
        "kafka.admin.AclCommand"
    } else {
        "org.apache.kafka.tools.AclCommand"
    };
    let output = JavaCommand::new(class)
        .args(["--bootstrap-server", &cluster().bootstrap(), "--list"])
        .timeout(WAIT)
        .run(b"");
    let stdout = String::from_utf8_lossy(&output.stdout).to_string();
    assert!(output.status.success(), "AclCommand --list: {stdout}");
    stdout
}

fn binding(
    resource_type: ResourceType,
    name: &str,
    pattern_type: PatternType,
    principal: &str,
    operation: AclOperation,
    permission: AclPermission,
) -> AclBinding {
    AclBinding {
        resource_type,
        resource_name: name.into(),
        pattern_type,
        principal: principal.into(),
        host: "*".into(),
        operation,
        permission,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn created_acls_are_described_through_filters() {
    let admin = admin().await;
    let conn = bounded("connect", admin.client().any_connection())
        .await
        .unwrap();
    // Kafka 3.9 serves v0-v3 and 4.x v1-v3; the codec speaks v1-v3.
    for api in [ApiKey::DescribeAcls, ApiKey::CreateAcls] {
        let range = conn.versions().range(api).expect("advertised");
        assert_eq!(range.max, 3, "{api:?}");
    }

    let topic = "acl-client-orders";
    let literal_read = binding(
        ResourceType::Topic,
        topic,
        PatternType::Literal,
        "User:alice",
        AclOperation::Read,
        AclPermission::Allow,
    );
    let prefixed_read = binding(
        ResourceType::Topic,
        "acl-client-",
        PatternType::Prefixed,
        "User:bob",
        AclOperation::Read,
        AclPermission::Allow,
    );
    let literal_deny = binding(
        ResourceType::Topic,
        topic,
        PatternType::Literal,
        "User:carol",
        AclOperation::Write,
        AclPermission::Deny,
    );
    let group_read = binding(
        ResourceType::Group,
        "acl-client-group",
        PatternType::Literal,
        "User:alice",
        AclOperation::Read,
        AclPermission::Allow,
    );
    let all = [
        literal_read.clone(),
        prefixed_read.clone(),
        literal_deny.clone(),
        group_read.clone(),
    ];
    let created = bounded("create acls", admin.create_acls(&all))
        .await
        .unwrap();
    assert_eq!(created.len(), all.len());
    for ((binding, result), asked) in created.iter().zip(&all) {
        assert_eq!(binding, asked);
        assert!(result.is_ok(), "{binding}: {result:?}");
    }
    // Creating an existing binding again is accepted.
    let again = bounded("create again", admin.create_acls(&all[..1]))
        .await
        .unwrap();
    assert!(again[0].1.is_ok(), "{again:?}");

    let kafka = tokio::task::spawn_blocking(listed_by_kafka).await.unwrap();
    for needle in [
        format!("resourceType=TOPIC, name={topic}, patternType=LITERAL"),
        "resourceType=TOPIC, name=acl-client-, patternType=PREFIXED".to_string(),
        "resourceType=GROUP, name=acl-client-group, patternType=LITERAL".to_string(),
        "(principal=User:alice, host=*, operation=READ, permissionType=ALLOW)".to_string(),
        "(principal=User:carol, host=*, operation=WRITE, permissionType=DENY)".to_string(),
    ] {
        assert!(kafka.contains(&needle), "{needle} in\n{kafka}");
    }

    let mut everything = bounded("describe all", admin.describe_acls(&AclFilter::any()))
        .await
        .unwrap();
    everything.retain(|b| b.resource_name.starts_with("acl-client-"));
    assert_eq!(everything.len(), all.len(), "{everything:#?}");
    for binding in &all {
        assert!(everything.contains(binding), "{binding} in {everything:#?}");
    }

    let literal_allow_topics = AclFilter {
        resource_type: ResourceType::Topic,
        pattern_type: PatternType::Literal,
        permission: AclPermission::Allow,
        ..AclFilter::any()
    };
    let described = bounded("describe", admin.describe_acls(&literal_allow_topics))
        .await
        .unwrap();
    let ours: Vec<_> = described
        .into_iter()
        .filter(|b| b.resource_name.starts_with("acl-client-"))
        .collect();
    assert_eq!(ours, [literal_read]);

    let of_bob = AclFilter {
        principal: Some("User:bob".into()),
        ..AclFilter::any()
    };
    let described = bounded("describe bob", admin.describe_acls(&of_bob))
        .await
        .unwrap();
    assert_eq!(described, [prefixed_read]);
}
