//! Topic ACL sync against real brokers with KRaft's `StandardAuthorizer`
//! (PLAINTEXT, so every client is `User:ANONYMOUS`). ACLs are created and
//! listed with Kafka's own `AclCommand`, an independent reader.
//!
//! Three clusters:
//! - `acl-src` and `acl-dst`: `User:ANONYMOUS` is a super user, so the
//!   brokers, kmirror and the test's tools may do anything while the topic
//!   ACLs under test exist.
//! - `acl-locked`: the super user is someone else (super users bypass DENY
//!   ACLs), every resource without ACLs is open, and `User:ANONYMOUS` may do
//!   everything on the CLUSTER resource except DESCRIBE (needed to list ACLs)
//!   and ALTER (needed to create them).

mod support;

use std::collections::BTreeSet;
use std::path::PathBuf;
use std::sync::OnceLock;
use std::time::Duration;

use kmirror_testbed::{JavaCommand, KafkaCluster, ProduceOptions, TestRecord};
use support::{acl_command_class, total_end_offset, wait_until, Kmirror};

/// The ACL sync interval of the tests' configs.
const INTERVAL_SECONDS: u64 = 2;

/// One test at a time: each runs kmirror and Java tools against shared
/// clusters on two cores.
fn one_at_a_time() -> std::sync::MutexGuard<'static, ()> {
    static LOCK: std::sync::Mutex<()> = std::sync::Mutex::new(());
    LOCK.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

fn authorized_cluster(name: &str, super_user: &str) -> KafkaCluster {
    KafkaCluster::builder(name)
        .broker_prop(
            "authorizer.class.name",
            "org.apache.kafka.metadata.authorizer.StandardAuthorizer",
        )
        .broker_prop("super.users", super_user)
        .broker_prop("allow.everyone.if.no.acl.found", "true")
        .start()
}

fn source() -> &'static KafkaCluster {
    static CLUSTER: OnceLock<KafkaCluster> = OnceLock::new();
    CLUSTER.get_or_init(|| authorized_cluster("acl-src", "User:ANONYMOUS"))
}

fn target() -> &'static KafkaCluster {
    static CLUSTER: OnceLock<KafkaCluster> = OnceLock::new();
    CLUSTER.get_or_init(|| authorized_cluster("acl-dst", "User:ANONYMOUS"))
}

fn locked() -> &'static KafkaCluster {
    static CLUSTER: OnceLock<KafkaCluster> = OnceLock::new();
    CLUSTER.get_or_init(|| {
        let cluster = authorized_cluster("acl-locked", "User:admin");
        // The ALLOW first: once the cluster resource has an ACL, only its
        // ACLs count for it (brokers and controller are ANONYMOUS too).
        acl(
            &cluster,
            &[
                "--add",
                "--allow-principal",
                "User:ANONYMOUS",
                "--operation",
                "All",
                "--cluster",
            ],
        );
        acl(
            &cluster,
            &[
                "--add",
                "--deny-principal",
                "User:ANONYMOUS",
                "--operation",
                "Describe",
                "--operation",
                "Alter",
                "--cluster",
            ],
        );
        cluster
    })
}

/// Runs `AclCommand` against `cluster` and returns its stdout.
fn acl(cluster: &KafkaCluster, args: &[&str]) -> String {
    let output = JavaCommand::new(acl_command_class())
        .args(["--bootstrap-server", &cluster.bootstrap()])
        .args(args)
        .timeout(Duration::from_secs(60))
        .run(b"");
    let stdout = String::from_utf8_lossy(&output.stdout).to_string();
    assert!(
        output.status.success(),
        "AclCommand {args:?} failed:\n{stdout}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    stdout
}

/// `AclCommand --add` of one topic ACL.
fn add_topic_acl(
    cluster: &KafkaCluster,
    topic: &str,
    pattern: &str,
    permission: &str,
    principal: &str,
    host: &str,
    operation: &str,
) {
    let (principal_flag, host_flag) = match permission {
        "Allow" => ("--allow-principal", "--allow-host"),
        "Deny" => ("--deny-principal", "--deny-host"),
        other => panic!("no permission {other}"),
    };
    acl(
        cluster,
        &[
            "--add",
            principal_flag,
            principal,
            host_flag,
            host,
            "--operation",
            operation,
            "--topic",
            topic,
            "--resource-pattern-type",
            pattern,
        ],
    );
}

/// One topic ACL as `AclCommand --list` prints it:
/// `(name, pattern type, principal, host, operation, permission)`.
type TopicAcl = (String, String, String, String, String, String);

/// Every topic ACL of `cluster`, parsed from `AclCommand --list` output
/// (other resource types are skipped):
/// ```text
/// Current ACLs for resource `ResourcePattern(resourceType=TOPIC, name=t, patternType=LITERAL)`:
///     (principal=User:alice, host=*, operation=READ, permissionType=ALLOW)
/// ```
fn topic_acls(cluster: &KafkaCluster) -> BTreeSet<TopicAcl> {
    // Without a resource, `--list` prints every ACL of the cluster.
    let out = acl(cluster, &["--list"]);
    let field = |text: &str, key: &str| -> String {
        text.split(&format!("{key}="))
            .nth(1)
            .and_then(|rest| rest.split([',', ')']).next())
            .unwrap_or_else(|| panic!("no {key} in {text:?}"))
            .trim()
            .to_string()
    };
    let mut acls = BTreeSet::new();
    let mut resource = None;
    for line in out.lines() {
        if line.contains("ResourcePattern(") {
            resource = (field(line, "resourceType") == "TOPIC")
                .then(|| (field(line, "name"), field(line, "patternType")));
        } else if line.trim_start().starts_with("(principal=") {
            let Some((name, pattern)) = resource.clone() else {
                continue;
            };
            acls.insert((
                name,
                pattern,
                field(line, "principal"),
                field(line, "host"),
                field(line, "operation"),
                field(line, "permissionType"),
            ));
        }
    }
    acls
}

fn topic_acl(
    name: &str,
    pattern: &str,
    principal: &str,
    host: &str,
    operation: &str,
    permission: &str,
) -> TopicAcl {
    (
        name.into(),
        pattern.into(),
        principal.into(),
        host.into(),
        operation.into(),
        permission.into(),
    )
}

/// Topic ACLs of `cluster` on resources whose name starts with `prefix`.
fn topic_acls_of(cluster: &KafkaCluster, prefix: &str) -> BTreeSet<TopicAcl> {
    topic_acls(cluster)
        .into_iter()
        .filter(|acl| acl.0.starts_with(prefix))
        .collect()
}

/// An mm2.properties with the given clusters and flows, written to a temp
/// file; ACLs synced every [`INTERVAL_SECONDS`].
fn config(
    clusters: &[(&str, &KafkaCluster)],
    flows: &[(&str, &str)],
) -> (tempfile::TempDir, PathBuf) {
    let aliases: Vec<&str> = clusters.iter().map(|(alias, _)| *alias).collect();
    let mut text = format!("clusters = {}\n", aliases.join(", "));
    for (alias, cluster) in clusters {
        text.push_str(&format!(
            "{alias}.bootstrap.servers = {}\n",
            cluster.bootstrap()
        ));
    }
    for (flow, topics) in flows {
        text.push_str(&format!(
            "{flow}.enabled = true\n{flow}.topics = {topics}\n"
        ));
    }
    text.push_str(&format!(
        "sync.topic.acls.enabled = true\n\
         sync.topic.acls.interval.seconds = {INTERVAL_SECONDS}\n\
         replication.factor = 1\n\
         checkpoints.topic.replication.factor = 1\n\
         heartbeats.topic.replication.factor = 1\n\
         offset-syncs.topic.replication.factor = 1\n"
    ));
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("mm2.properties");
    std::fs::write(&path, text).unwrap();
    (dir, path)
}

fn produce(cluster: &KafkaCluster, topic: &str, count: usize) {
    let records: Vec<TestRecord> = (0..count)
        .map(|i| {
            TestRecord::new()
                .key(format!("k{i}"))
                .value(format!("v{i}"))
        })
        .collect();
    cluster.produce(topic, &ProduceOptions::default(), &records);
}

/// Sum of the samples of `metric` whose labels include every `labels` pair.
fn metric(text: &str, metric: &str, labels: &[(&str, &str)]) -> f64 {
    text.lines()
        .filter(|l| !l.starts_with('#'))
        .filter_map(|l| {
            let (series, value) = l.rsplit_once(' ')?;
            let (name, label_text) = series.split_once('{').unwrap_or((series, ""));
            (name == metric
                && labels
                    .iter()
                    .all(|(k, v)| label_text.contains(&format!("{k}=\"{v}\""))))
            .then(|| value.parse::<f64>().ok())
            .flatten()
        })
        .sum()
}

fn lines_containing(kmirror: &Kmirror, needle: &str) -> Vec<String> {
    kmirror
        .log()
        .lines()
        .filter(|l| l.contains(needle))
        .map(str::to_string)
        .collect()
}

#[test]
fn literal_allow_topic_acls_reach_the_remote_topics() {
    let _serial = one_at_a_time();
    let (src, dst) = (source(), target());
    for topic in ["acl-orders", "acl-users", "acl-private"] {
        src.create_topic(topic, 1, 1, &[]);
    }
    produce(src, "acl-orders", 10);

    // On the source: what is synced, and what must not be.
    let any = "*";
    add_topic_acl(
        src,
        "acl-orders",
        "literal",
        "Allow",
        "User:alice",
        any,
        "Read",
    );
    add_topic_acl(
        src,
        "acl-orders",
        "literal",
        "Allow",
        "User:bob",
        any,
        "All",
    );
    add_topic_acl(
        src,
        "acl-orders",
        "literal",
        "Allow",
        "User:carol",
        any,
        "Write",
    );
    add_topic_acl(
        src,
        "acl-orders",
        "literal",
        "Deny",
        "User:mallory",
        any,
        "Read",
    );
    add_topic_acl(
        src,
        "acl-orders",
        "literal",
        "Allow",
        "User:dave",
        "127.0.0.1",
        "Describe",
    );
    add_topic_acl(src, "acl-", "prefixed", "Allow", "User:eve", any, "Read");
    add_topic_acl(
        src,
        "acl-private",
        "literal",
        "Allow",
        "User:alice",
        any,
        "Read",
    );
    // On the target, by hand: kmirror must leave it alone.
    add_topic_acl(
        dst,
        "src.acl-orders",
        "literal",
        "Allow",
        "User:frank",
        any,
        "Read",
    );

    let (_dir, config) = config(
        &[("src", src), ("dst", dst)],
        &[("src->dst", "acl-orders, acl-users")],
    );
    let mut kmirror = Kmirror::run(&config);

    let hand_made = topic_acl(
        "src.acl-orders",
        "LITERAL",
        "User:frank",
        "*",
        "READ",
        "ALLOW",
    );
    let mut expected: BTreeSet<TopicAcl> = [
        topic_acl(
            "src.acl-orders",
            "LITERAL",
            "User:alice",
            "*",
            "READ",
            "ALLOW",
        ),
        topic_acl(
            "src.acl-orders",
            "LITERAL",
            "User:bob",
            "*",
            "READ",
            "ALLOW",
        ),
        topic_acl(
            "src.acl-orders",
            "LITERAL",
            "User:dave",
            "127.0.0.1",
            "DESCRIBE",
            "ALLOW",
        ),
        hand_made.clone(),
    ]
    .into();
    let mut on_target = BTreeSet::new();
    wait_until("the first ACL sync on dst", Duration::from_secs(60), || {
        on_target = topic_acls_of(dst, "src.");
        on_target.len() >= expected.len()
    });
    assert_eq!(on_target, expected, "ACLs of remote topics on dst");
    // Nothing under any other name either (no `acl-private`, no prefix).
    assert_eq!(topic_acls_of(dst, "acl-"), BTreeSet::new());

    wait_until("records on dst", Duration::from_secs(60), || {
        total_end_offset(dst, "src.acl-orders") >= 10
    });

    // A new ACL on the source arrives at a later round; the hand-made one
    // is still there after it.
    add_topic_acl(
        src,
        "acl-users",
        "literal",
        "Allow",
        "User:erin",
        any,
        "Read",
    );
    expected.insert(topic_acl(
        "src.acl-users",
        "LITERAL",
        "User:erin",
        "*",
        "READ",
        "ALLOW",
    ));
    wait_until(
        "the new ACL on dst",
        Duration::from_secs(10 * INTERVAL_SECONDS),
        || {
            on_target = topic_acls_of(dst, "src.");
            on_target.len() >= expected.len()
        },
    );
    assert_eq!(on_target, expected, "ACLs of remote topics on dst");
    assert!(on_target.contains(&hand_made));

    wait_until(
        "the ACL gauge",
        Duration::from_secs(10 * INTERVAL_SECONDS),
        || {
            let text = kmirror.rest_get_text("/metrics");
            metric(&text, "kmirror_synced_topic_acls", &[("flow", "src->dst")]) == 4.0
        },
    );
    assert!(
        lines_containing(&kmirror, " WARN ")
            .iter()
            .all(|l| !l.contains("ACL")),
        "no ACL warning:\n{}",
        kmirror.log()
    );

    let status = kmirror.terminate(Duration::from_secs(10));
    assert!(status.success(), "exit status {status}");
}

#[test]
fn missing_acl_permissions_are_one_warning_each_and_replication_goes_on() {
    let _serial = one_at_a_time();
    let (src, dst, locked) = (source(), target(), locked());
    // locked->dst: the source refuses DescribeAcls.
    locked.create_topic("denied-describe", 1, 1, &[]);
    produce(locked, "denied-describe", 10);
    // src->locked: the target refuses CreateAcls.
    src.create_topic("denied-create", 1, 1, &[]);
    produce(src, "denied-create", 10);
    add_topic_acl(
        src,
        "denied-create",
        "literal",
        "Allow",
        "User:alice",
        "*",
        "Read",
    );

    let (_dir, config) = config(
        &[("src", src), ("dst", dst), ("locked", locked)],
        &[
            ("locked->dst", "denied-describe"),
            ("src->locked", "denied-create"),
        ],
    );
    let mut kmirror = Kmirror::run(&config);

    wait_until("records of both flows", Duration::from_secs(90), || {
        total_end_offset(dst, "locked.denied-describe") >= 10
            && total_end_offset(locked, "src.denied-create") >= 10
    });
    // Several rounds, each counted as an error, before the log is read.
    wait_until(
        "three failed ACL sync rounds per flow",
        Duration::from_secs(20 * INTERVAL_SECONDS),
        || {
            let text = kmirror.rest_get_text("/metrics");
            ["locked->dst", "src->locked"].iter().all(|flow| {
                metric(
                    &text,
                    "kmirror_errors_total",
                    &[("flow", flow), ("kind", "acl_sync")],
                ) >= 3.0
            })
        },
    );

    let describe = lines_containing(&kmirror, "needs DESCRIBE on the CLUSTER resource");
    assert_eq!(describe.len(), 1, "one warning: {describe:#?}");
    assert!(describe[0].contains("WARN"), "{}", describe[0]);
    assert!(
        describe[0].contains("cannot list topic ACLs on locked"),
        "{}",
        describe[0]
    );
    assert!(
        describe[0].contains("locked->dst.sync.topic.acls.enabled = false"),
        "{}",
        describe[0]
    );

    eprintln!("logged: {}", describe[0]);
    let create = lines_containing(&kmirror, "needs ALTER on the CLUSTER resource");
    assert_eq!(create.len(), 1, "one warning: {create:#?}");
    assert!(create[0].contains("WARN"), "{}", create[0]);
    assert!(
        create[0].contains("cannot create topic ACLs on locked"),
        "{}",
        create[0]
    );
    eprintln!("logged: {}", create[0]);

    // Still replicating after the warnings.
    produce(locked, "denied-describe", 5);
    produce(src, "denied-create", 5);
    wait_until(
        "later records of both flows",
        Duration::from_secs(60),
        || {
            total_end_offset(dst, "locked.denied-describe") >= 15
                && total_end_offset(locked, "src.denied-create") >= 15
        },
    );
    // A source that refuses to list its ACLs gives nothing to create.
    assert_eq!(topic_acls_of(dst, "locked."), BTreeSet::new());

    let status = kmirror.terminate(Duration::from_secs(10));
    assert!(status.success(), "exit status {status}");
}
