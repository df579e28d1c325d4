//! The admin calls against a real Kafka broker (the test bed's shared
//! single-node KRaft cluster), checked against what the Java clients see.

use std::collections::BTreeMap;
use std::future::Future;
use std::time::{Duration, Instant};

use kafka_protocol::ResponseError;
use kmirror_client::admin::{
    AclBinding, AclFilter, AclOperation, AclPermission, Admin, ConfigOp, ConfigSource,
    CreateTopicOutcome, GroupState, NewTopic, OffsetSpec, OffsetToCommit, PatternType,
    ResourceType,
};
use kmirror_client::{ClientConfig, ClientError, KafkaClient};
use kmirror_testbed::{
    random_topic_name, shared_cluster, ConsumeOptions, KafkaCluster, ProduceOptions, TestRecord,
};

/// Bound on any single admin call or poll loop.
const WAIT: Duration = Duration::from_secs(60);
/// Bound on test-bed calls (starting the cluster, a Java producer).
const TESTBED_WAIT: Duration = Duration::from_secs(300);
/// A non-retriable per-item error must come back well before the client's
/// 30 s retry deadline.
const FAST: Duration = Duration::from_secs(10);

async fn bounded<F: Future>(what: &str, future: F) -> F::Output {
    tokio::time::timeout(WAIT, future)
        .await
        .unwrap_or_else(|_| panic!("{what} took longer than {WAIT:?}"))
}

/// Runs a blocking test-bed call off the runtime's worker threads.
async fn testbed<T: Send + 'static>(
    what: &str,
    call: impl FnOnce(&'static KafkaCluster) -> T + Send + 'static,
) -> T {
    let task = tokio::task::spawn_blocking(move || call(shared_cluster("kafka-a")));
    tokio::time::timeout(TESTBED_WAIT, task)
        .await
        .unwrap_or_else(|_| panic!("test bed: {what} took longer than {TESTBED_WAIT:?}"))
        .unwrap_or_else(|e| panic!("test bed: {what} panicked: {e}"))
}

async fn admin() -> Admin {
    let bootstrap = testbed("start", |c| c.bootstrap()).await;
    let client = bounded(
        "connect",
        KafkaClient::connect(ClientConfig::new(&bootstrap)),
    )
    .await
    .expect("connect to the test cluster");
    Admin::new(client)
}

/// Polls `check` until it returns `Some`, for at most [`WAIT`].
async fn eventually<T, F, Fut>(what: &str, mut check: F) -> T
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Option<T>>,
{
    bounded(what, async {
        loop {
            if let Some(value) = check().await {
                return value;
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    })
    .await
}

async fn partition_count(admin: &Admin, topic: &str) -> Option<usize> {
    let metadata = admin
        .client()
        .refresh_metadata(Some(&[topic.to_string()]))
        .await
        .ok()?;
    let t = metadata.topics.get(topic)?;
    t.partitions
        .iter()
        .all(|p| p.leader >= 0)
        .then_some(t.partitions.len())
}

fn created(results: Vec<(String, Result<CreateTopicOutcome, ClientError>)>) -> Vec<String> {
    results
        .into_iter()
        .map(|(name, r)| {
            assert_eq!(
                r.unwrap_or_else(|e| panic!("create {name}: {e}")),
                CreateTopicOutcome::Created,
                "{name}"
            );
            name
        })
        .collect()
}

async fn create_topic(admin: &Admin, topic: NewTopic) {
    let name = topic.name.clone();
    let partitions = topic.partitions as usize;
    created(
        bounded("create", admin.create_topics(&[topic], false))
            .await
            .unwrap(),
    );
    let seen = eventually("topic in metadata", || partition_count(admin, &name)).await;
    assert_eq!(seen, partitions);
}

#[track_caller]
fn assert_broker_error<T: std::fmt::Debug>(
    result: &Result<T, ClientError>,
    expected: ResponseError,
    named: &str,
) {
    match result {
        Err(e) => {
            assert_eq!(e.broker_error(), Some(expected), "{e}");
            assert!(
                e.to_string().contains(named),
                "error does not name {named}: {e}"
            );
        }
        Ok(v) => panic!("expected {expected:?} for {named}, got {v:?}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn created_topic_shows_in_metadata_and_configs_and_exists_once() {
    let admin = admin().await;
    let topic = random_topic_name("admin-create");
    let spec = NewTopic::new(&topic, 3, 1)
        .with_config("retention.ms", "123456789")
        .with_config("compression.type", "producer");

    // validate_only creates nothing.
    let dry = bounded(
        "validate",
        admin.create_topics(std::slice::from_ref(&spec), true),
    )
    .await
    .unwrap();
    assert_eq!(created(dry), vec![topic.clone()]);
    assert_eq!(partition_count(&admin, &topic).await, None);

    create_topic(&admin, spec.clone()).await;
    let metadata = admin.client().topic_metadata(&topic).await.unwrap();
    assert_eq!(metadata.partitions.len(), 3);
    assert!(metadata.partitions.iter().all(|p| p.replicas.len() == 1));

    let configs = bounded("describe", admin.describe_topic_configs(&[&topic]))
        .await
        .unwrap();
    let entries = configs[&topic].as_ref().unwrap();
    let entry = |name: &str| {
        entries
            .iter()
            .find(|e| e.name == name)
            .unwrap_or_else(|| panic!("{name} not described"))
    };
    assert_eq!(entry("retention.ms").value.as_deref(), Some("123456789"));
    assert_eq!(entry("retention.ms").source, ConfigSource::DynamicTopic);
    assert_eq!(entry("compression.type").source, ConfigSource::DynamicTopic);
    assert!(matches!(
        entry("segment.bytes").source,
        ConfigSource::Default | ConfigSource::StaticBroker
    ));
    assert!(!entry("retention.ms").is_sensitive);

    // The Java admin client agrees about the overrides.
    let name = topic.clone();
    let java = testbed("topic config", move |c| c.topic_config(&name)).await;
    assert_eq!(java.overrides["retention.ms"], "123456789");

    // A second creation is its own, non-error outcome.
    let again = bounded("create again", admin.create_topics(&[spec], false))
        .await
        .unwrap();
    assert!(matches!(
        again.as_slice(),
        [(name, Ok(CreateTopicOutcome::AlreadyExists))] if *name == topic
    ));

    // Bad requests fail per topic, named, without holding up the others.
    let bad = random_topic_name("admin-bad");
    let good = random_topic_name("admin-good");
    let results = bounded(
        "create mixed",
        admin.create_topics(
            &[
                NewTopic::new(&bad, 1, 1).with_config("no.such.config", "1"),
                NewTopic::new(&good, 1, 1),
            ],
            false,
        ),
    )
    .await
    .unwrap();
    assert_eq!(results[0].0, bad);
    assert_broker_error(&results[0].1, ResponseError::InvalidConfig, &bad);
    assert_eq!(results[1].1.as_ref().unwrap(), &CreateTopicOutcome::Created);

    // A missing topic is reported at once, not retried.
    let missing = random_topic_name("admin-missing");
    let started = Instant::now();
    let configs = bounded(
        "describe missing",
        admin.describe_topic_configs(&[&missing]),
    )
    .await
    .unwrap();
    assert_broker_error(
        &configs[&missing],
        ResponseError::UnknownTopicOrPartition,
        &missing,
    );
    assert!(started.elapsed() < FAST);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn partitions_grow_and_configs_are_set_then_deleted() {
    let admin = admin().await;
    let topic = random_topic_name("admin-grow");
    create_topic(&admin, NewTopic::new(&topic, 1, 1)).await;

    let results = bounded("grow", admin.create_partitions(&[(&topic, 4)]))
        .await
        .unwrap();
    assert!(results[0].1.is_ok(), "{results:?}");
    let seen = eventually("four partitions", || async {
        partition_count(&admin, &topic).await.filter(|n| *n == 4)
    })
    .await;
    assert_eq!(seen, 4);

    let shrink = bounded("shrink", admin.create_partitions(&[(&topic, 2)]))
        .await
        .unwrap();
    assert_broker_error(&shrink[0].1, ResponseError::InvalidPartitions, &topic);

    let retention = |admin: Admin, topic: String| async move {
        let configs = admin.describe_topic_configs(&[&topic]).await.unwrap();
        let entries = configs[&topic].as_ref().unwrap();
        let entry = entries.iter().find(|e| e.name == "retention.ms").unwrap();
        (entry.value.clone(), entry.source)
    };

    bounded(
        "set",
        admin.incremental_alter_topic_configs(
            &topic,
            &[("retention.ms", ConfigOp::Set("4242000".into()))],
        ),
    )
    .await
    .unwrap();
    eventually("the set config to show", || {
        let (admin, topic) = (admin.clone(), topic.clone());
        async move {
            (retention(admin, topic).await
                == (Some("4242000".to_string()), ConfigSource::DynamicTopic))
                .then_some(())
        }
    })
    .await;

    bounded(
        "delete",
        admin.incremental_alter_topic_configs(&topic, &[("retention.ms", ConfigOp::Delete)]),
    )
    .await
    .unwrap();
    // The broker applies a config change to its metadata asynchronously
    // (KRaft): a describe right after the answer may still see the old one.
    eventually("the deleted config to be gone", || {
        let (admin, topic) = (admin.clone(), topic.clone());
        async move {
            let (value, source) = retention(admin, topic).await;
            (source != ConfigSource::DynamicTopic && value.as_deref() != Some("4242000"))
                .then_some(())
        }
    })
    .await;

    let missing = random_topic_name("admin-missing");
    let started = Instant::now();
    let result = bounded(
        "alter missing",
        admin.incremental_alter_topic_configs(
            &missing,
            &[("retention.ms", ConfigOp::Set("1".into()))],
        ),
    )
    .await;
    assert_broker_error(&result, ResponseError::UnknownTopicOrPartition, &missing);
    assert!(started.elapsed() < FAST);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn list_offsets_after_java_produce() {
    let admin = admin().await;
    let topic = random_topic_name("admin-offsets");
    create_topic(&admin, NewTopic::new(&topic, 2, 1)).await;

    let base = 1_700_000_000_000_i64;
    let records: Vec<TestRecord> = (0..10)
        .map(|i| {
            TestRecord::new()
                .partition(0)
                .value(format!("v{i}"))
                .timestamp(base + i * 1000)
        })
        .chain((0..5).map(|i| TestRecord::new().partition(1).value(format!("w{i}"))))
        .collect();
    let name = topic.clone();
    let sent = testbed("produce", move |c| {
        c.produce(&name, &ProduceOptions::default(), &records)
    })
    .await;
    assert_eq!(sent.len(), 15);

    let partitions = [(topic.as_str(), 0), (topic.as_str(), 1)];
    let offsets = |spec| {
        let admin = admin.clone();
        async move {
            let listed = bounded("list offsets", admin.list_offsets(&partitions, spec))
                .await
                .unwrap();
            listed
                .into_iter()
                .map(|((_, p), r)| (p, r.unwrap_or_else(|e| panic!("{spec:?}: {e}"))))
                .collect::<BTreeMap<i32, i64>>()
        }
    };
    assert_eq!(offsets(OffsetSpec::Earliest).await, [(0, 0), (1, 0)].into());
    assert_eq!(offsets(OffsetSpec::Latest).await, [(0, 10), (1, 5)].into());
    assert_eq!(
        offsets(OffsetSpec::LatestStable).await,
        [(0, 10), (1, 5)].into()
    );
    let at = offsets(OffsetSpec::Timestamp(base + 3500)).await;
    assert_eq!(at[&0], 4);
    let future = offsets(OffsetSpec::Timestamp(i64::MAX / 2)).await;
    assert_eq!(future[&0], -1);

    // The Java client sees the same ends.
    let name = topic.clone();
    let java_ends = testbed("end offsets", move |c| c.end_offsets(&name)).await;
    assert_eq!(java_ends, vec![10, 5]);

    // A partition that does not exist fails alone, at once.
    let started = Instant::now();
    let listed = bounded(
        "list missing",
        admin.list_offsets(
            &[(topic.as_str(), 0), (topic.as_str(), 7)],
            OffsetSpec::Latest,
        ),
    )
    .await
    .unwrap();
    assert_eq!(listed[&(topic.clone(), 0)].as_ref().unwrap(), &10);
    assert!(
        matches!(
            &listed[&(topic.clone(), 7)],
            Err(ClientError::UnknownTopicPartition { partition: 7, .. })
        ),
        "{listed:?}"
    );
    assert!(started.elapsed() < FAST);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn member_less_group_commits_fetches_lists_and_describes() {
    let admin = admin().await;
    let topic = random_topic_name("admin-group");
    create_topic(&admin, NewTopic::new(&topic, 2, 1)).await;
    let group = random_topic_name("admin-group");

    let coordinator = bounded("find coordinator", admin.find_coordinator(&group))
        .await
        .unwrap();
    assert!(admin.client().metadata().brokers.contains_key(&coordinator));

    // Nothing committed yet.
    let none = bounded(
        "fetch unknown group",
        admin.offset_fetch(&group, None::<&[(&str, i32)]>),
    )
    .await
    .unwrap();
    assert!(none.is_empty(), "{none:?}");

    let results = bounded(
        "commit",
        admin.offset_commit(
            &group,
            &[
                OffsetToCommit::new(&topic, 0, 5).with_metadata("from kmirror"),
                OffsetToCommit::new(&topic, 1, 7),
            ],
        ),
    )
    .await
    .unwrap();
    assert_eq!(results.len(), 2);
    for ((t, p), result) in &results {
        assert!(result.is_ok(), "{t}-{p}: {result:?}");
    }

    let all = bounded(
        "fetch all",
        admin.offset_fetch(&group, None::<&[(&str, i32)]>),
    )
    .await
    .unwrap();
    assert_eq!(all.len(), 2, "{all:?}");
    let p0 = &all[&(topic.clone(), 0)];
    assert_eq!(p0.offset, 5);
    assert_eq!(p0.metadata.as_deref(), Some("from kmirror"));
    assert_eq!(all[&(topic.clone(), 1)].offset, 7);

    let some = bounded(
        "fetch some",
        admin.offset_fetch(&group, Some(&[(topic.as_str(), 1)][..])),
    )
    .await
    .unwrap();
    assert_eq!(some.keys().collect::<Vec<_>>(), vec![&(topic.clone(), 1)]);

    // The Java admin client reads the same commits.
    let g = group.clone();
    let java = testbed("group offsets", move |c| c.group_offsets(&g)).await;
    let java: Vec<(String, i32, i64)> = java
        .into_iter()
        .map(|o| (o.topic, o.partition, o.offset))
        .collect();
    assert_eq!(java, vec![(topic.clone(), 0, 5), (topic.clone(), 1, 7)]);

    let groups = bounded("list groups", admin.list_groups()).await.unwrap();
    let listing = groups
        .iter()
        .find(|g| g.group_id == group)
        .unwrap_or_else(|| panic!("{group} not listed in {groups:?}"));
    assert_eq!(listing.protocol_type, "");
    assert_eq!(listing.state, Some(GroupState::Empty));

    let described = bounded("describe groups", admin.describe_groups(&[&group]))
        .await
        .unwrap();
    assert_eq!(described.len(), 1);
    let description = described[0].1.as_ref().unwrap();
    assert_eq!(description.group_id, group);
    assert_eq!(description.state, GroupState::Empty);
    assert!(description.members.is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn active_group_refuses_member_less_commits() {
    let admin = admin().await;
    let topic = random_topic_name("admin-active");
    create_topic(&admin, NewTopic::new(&topic, 2, 1)).await;
    let group = random_topic_name("admin-active");
    let records: Vec<TestRecord> = (0..4)
        .map(|i| TestRecord::new().partition(i % 2).value(format!("v{i}")))
        .collect();
    let name = topic.clone();
    testbed("produce", move |c| {
        c.produce(&name, &ProduceOptions::default(), &records)
    })
    .await;

    // A Java consumer that stays in the group until idle for 20 s.
    let (name, g) = (topic.clone(), group.clone());
    let consumer = tokio::spawn(testbed("consume", move |c| {
        let options = ConsumeOptions {
            group: Some(g),
            idle_timeout: Duration::from_secs(20),
            ..ConsumeOptions::default()
        };
        c.consume(&name, &options)
    }));

    let description = eventually("group stable", || async {
        let described = admin.describe_groups(&[&group]).await.ok()?;
        let description = described.into_iter().next()?.1.ok()?;
        (description.state == GroupState::Stable && description.members.len() == 1)
            .then_some(description)
    })
    .await;
    assert_eq!(description.protocol_type, "consumer");
    let member = &description.members[0];
    assert!(!member.member_id.is_empty());
    assert!(!member.client_id.is_empty());
    assert!(!member.assignment.is_empty());

    let groups = bounded("list groups", admin.list_groups()).await.unwrap();
    let listing = groups.iter().find(|l| l.group_id == group).unwrap();
    assert_eq!(listing.protocol_type, "consumer");
    assert_eq!(listing.state, Some(GroupState::Stable));

    let started = Instant::now();
    let results = bounded(
        "commit to active group",
        admin.offset_commit(&group, &[OffsetToCommit::new(&topic, 0, 1)]),
    )
    .await
    .unwrap();
    assert!(started.elapsed() < FAST);
    let error = results[0].1.as_ref().expect_err("an active group refuses");
    assert!(
        matches!(
            error.broker_error(),
            Some(
                ResponseError::UnknownMemberId
                    | ResponseError::IllegalGeneration
                    | ResponseError::RebalanceInProgress
            )
        ),
        "{error}"
    );
    assert!(error.to_string().contains(&group), "{error}");
    assert!(error.to_string().contains(&format!("{topic}-0")), "{error}");

    let read = tokio::time::timeout(TESTBED_WAIT, consumer)
        .await
        .expect("consumer ends")
        .expect("consumer task");
    assert_eq!(read.len(), 4);

    // Once the member left, the simple commit goes through.
    eventually("group empty", || async {
        let results = admin
            .offset_commit(&group, &[OffsetToCommit::new(&topic, 0, 1)])
            .await
            .ok()?;
        results[0].1.is_ok().then_some(())
    })
    .await;
    let committed = bounded(
        "fetch",
        admin.offset_fetch(&group, Some(&[(topic.as_str(), 0)][..])),
    )
    .await
    .unwrap();
    assert_eq!(committed[&(topic.clone(), 0)].offset, 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deleted_topic_leaves_metadata() {
    let admin = admin().await;
    let topic = random_topic_name("admin-delete");
    create_topic(&admin, NewTopic::new(&topic, 2, 1)).await;

    let results = bounded("delete", admin.delete_topics(&[&topic]))
        .await
        .unwrap();
    assert_eq!(results.len(), 1);
    assert!(results[0].1.is_ok(), "{results:?}");
    eventually("topic gone", || async {
        partition_count(&admin, &topic)
            .await
            .is_none()
            .then_some(())
    })
    .await;
    let name = topic.clone();
    let listed = testbed("list topics", move |c| c.list_topics()).await;
    assert!(!listed.contains(&name));

    let started = Instant::now();
    let again = bounded("delete again", admin.delete_topics(&[&topic]))
        .await
        .unwrap();
    assert_broker_error(&again[0].1, ResponseError::UnknownTopicOrPartition, &topic);
    assert!(started.elapsed() < FAST);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn acls_without_an_authorizer_are_security_disabled() {
    let admin = admin().await;
    let described = bounded("describe acls", admin.describe_acls(&AclFilter::any())).await;
    assert_eq!(
        described.as_ref().err().and_then(ClientError::broker_error),
        Some(ResponseError::SecurityDisabled),
        "{described:?}"
    );

    let binding = AclBinding {
        resource_type: ResourceType::Topic,
        resource_name: "mirrored.".into(),
        pattern_type: PatternType::Prefixed,
        principal: "User:kmirror".into(),
        host: "*".into(),
        operation: AclOperation::Read,
        permission: AclPermission::Allow,
    };
    let created = bounded(
        "create acls",
        admin.create_acls(std::slice::from_ref(&binding)),
    )
    .await;
    let error = match &created {
        Ok(results) => {
            assert_eq!(results.len(), 1);
            assert_eq!(results[0].0, binding);
            results[0]
                .1
                .as_ref()
                .err()
                .and_then(ClientError::broker_error)
        }
        Err(e) => e.broker_error(),
    };
    assert_eq!(error, Some(ResponseError::SecurityDisabled), "{created:?}");
}

/// The engine spawns admin calls on tokio tasks: their futures must be Send.
#[allow(dead_code)]
fn admin_futures_are_send(admin: Admin) {
    fn send<T: Send>(_: T) {}
    let topics = ["t"];
    let partitions = [("t", 0)];
    send(admin.create_topics(&[], false));
    send(admin.create_partitions(&partitions));
    send(admin.delete_topics(&topics));
    send(admin.describe_topic_configs(&topics));
    send(admin.describe_broker_configs(0));
    send(admin.incremental_alter_topic_configs("t", &[("k", ConfigOp::Delete)]));
    send(admin.list_offsets(&partitions, OffsetSpec::Latest));
    send(admin.find_coordinator("g"));
    send(admin.list_groups());
    send(admin.describe_groups(&topics));
    send(admin.offset_fetch("g", Some(&partitions[..])));
    send(admin.offset_commit("g", &[]));
    send(admin.describe_acls(&AclFilter::any()));
    send(admin.create_acls(&[]));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn broker_configs_are_described_by_the_broker() {
    let admin = admin().await;
    let broker = *admin.client().metadata().brokers.keys().next().unwrap();
    let configs = bounded("describe broker", admin.describe_broker_configs(broker))
        .await
        .unwrap();
    let node_id = configs
        .iter()
        .find(|e| e.name == "node.id")
        .unwrap_or_else(|| panic!("node.id not described in {configs:?}"));
    assert_eq!(node_id.value.as_deref(), Some(broker.to_string().as_str()));
    assert_eq!(node_id.source, ConfigSource::StaticBroker);
}
