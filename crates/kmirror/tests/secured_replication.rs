//! kmirror replicating between secured clusters, end to end (issue 9,
//! point 6): SASL_SSL with SCRAM both ways (JKS and PEM truststores, a
//! password from a file config provider), mutual TLS with client keys in
//! JKS and encrypted PEM, OAUTHBEARER with short-lived tokens, KIP-368
//! re-authentication, topic ACL sync with kmirror as an ordinary user under
//! the StandardAuthorizer, and the Connect JSON form posted to the REST API.
//!
//! Two clusters serve every test (see `support/secured.rs`): both have the
//! StandardAuthorizer and `connections.max.reauth.ms` of a few seconds, so
//! every SASL connection kmirror holds re-authenticates throughout. What
//! kmirror copied is read back by Kafka's Java consumer over SASL_SSL.

#[path = "support/secured.rs"]
mod secured;
mod support;

use std::time::{Duration, Instant};

use kmirror_testbed::{
    random_topic_name, test_pki, AclBinding, AclFilter, ClientAuth, KafkaCluster, KeyStoreForm,
    SecuredListener, TrustStoreForm, ADMIN_USER, KMIRROR_USER,
};
use secured::{
    admin, assert_each_once, assert_no_secret, http, log_lines, one_at_a_time, produce_secured,
    read_secured, records, secured_pair, Mm2File, ALICE, REAUTH, TLS_KEY_UPDATE_BYTES,
    TOKEN_LIFETIME,
};
use support::{total_end_offset, wait_until, Kmirror};

const SCRAM_MODULE: &str = "org.apache.kafka.common.security.scram.ScramLoginModule";

/// `<alias>.security.protocol = SASL_SSL` with SCRAM as `user` and its
/// password as written (a literal or a `${...}` placeholder).
fn scram(file: &mut Mm2File, alias: &str, mechanism: &str, user: &str, password: &str) {
    file.set(&format!("{alias}.security.protocol"), "SASL_SSL")
        .set(&format!("{alias}.sasl.mechanism"), mechanism)
        .set(
            &format!("{alias}.sasl.jaas.config"),
            &format!("{SCRAM_MODULE} required username=\"{user}\" password=\"{password}\";"),
        );
}

/// The JKS truststore (Kafka's default type, so no type line).
fn jks_truststore(file: &mut Mm2File, alias: &str) {
    let store = &test_pki().truststore_jks;
    file.set(
        &format!("{alias}.ssl.truststore.location"),
        &store.path.display().to_string(),
    )
    .set(&format!("{alias}.ssl.truststore.password"), &store.password);
}

/// Waits until `topic` on `cluster` holds `count` records (end offsets,
/// through the PLAINTEXT admin).
fn wait_for_records(cluster: &KafkaCluster, topic: &str, count: usize, timeout: Duration) {
    wait_until(
        &format!("{count} records in {topic} on {}", cluster.name()),
        timeout,
        || total_end_offset(cluster, topic) >= count as i64,
    );
}

/// No topic on either cluster carries two aliases.
fn assert_no_loops(clusters: &[&KafkaCluster]) {
    for cluster in clusters {
        for topic in cluster.list_topics() {
            let aliases = ["kafka-a.", "kafka-b."]
                .iter()
                .filter(|alias| topic.contains(*alias))
                .count();
            assert!(aliases <= 1, "looping topic {topic} on {}", cluster.name());
        }
    }
}

/// kafka-a with SCRAM-SHA-512 and a JKS truststore, kafka-b with
/// SCRAM-SHA-256, a PEM truststore and its password from a file config
/// provider: replication both ways, each record once, no loops, heartbeats
/// and checkpoints on both targets.
#[test]
fn sasl_ssl_both_ways_with_jks_pem_and_a_file_provider() {
    let _serial = one_at_a_time();
    let pair = secured_pair();
    let (a, b) = (&pair.a, &pair.b);
    let topic = random_topic_name("orders");
    for cluster in [a, b] {
        cluster.create_topic(&topic, 3, 1, &[]);
    }

    let dir = tempfile::tempdir().unwrap();
    let secrets = dir.path().join("secrets.properties");
    let b_password = b.security().password(ADMIN_USER);
    std::fs::write(&secrets, format!("kafka-b-password = {b_password}\n")).unwrap();
    let mut file = Mm2File::new(
        &a.listener_bootstrap("SASL_SSL"),
        &b.listener_bootstrap("SASL_SSL"),
    );
    file.set("kafka-a->kafka-b.enabled", "true")
        .set("kafka-b->kafka-a.enabled", "true")
        .set("kafka-a->kafka-b.topics", &topic)
        .set("kafka-b->kafka-a.topics", &topic)
        .set("emit.heartbeats.interval.seconds", "1")
        .set("emit.checkpoints.interval.seconds", "1")
        // Each flow's first discovery may run before the other flow has
        // created `heartbeats` on its source; the next one finds it (MM2
        // waits 600 s for that too).
        .set("refresh.topics.interval.seconds", "2")
        .set("config.providers", "file")
        .set(
            "config.providers.file.class",
            "org.apache.kafka.common.config.provider.FileConfigProvider",
        )
        .line("# Beijing: SCRAM-SHA-512 over TLS, the JKS truststore")
        .set("kafka-a.security.protocol", "SASL_SSL")
        .set("kafka-a.sasl.mechanism", "SCRAM-SHA-512")
        // The JAAS text over two lines, as operators wrap it.
        .line(&format!(
            "kafka-a.sasl.jaas.config = {SCRAM_MODULE} required \\\n    \
             username=\"{ADMIN_USER}\" password=\"{}\";",
            a.security().password(ADMIN_USER)
        ));
    jks_truststore(&mut file, "kafka-a");
    file.line("# Shanghai: SCRAM-SHA-256, a PEM truststore, the password in a file");
    scram(
        &mut file,
        "kafka-b",
        "SCRAM-SHA-256",
        ADMIN_USER,
        &format!("${{file:{}:kafka-b-password}}", secrets.display()),
    );
    file.set("kafka-b.ssl.truststore.type", "PEM").set(
        "kafka-b.ssl.truststore.location",
        &test_pki().ca_pem.display().to_string(),
    );
    let config = file.write(dir.path());
    let mut kmirror = Kmirror::run(&config);

    const N: usize = 200;
    let from_a = records("a", N);
    let from_b = records("b", N);
    produce_secured(a, &topic, &from_a);
    produce_secured(b, &topic, &from_b);

    for (source_records, target, alias) in [(&from_a, b, "kafka-a"), (&from_b, a, "kafka-b")] {
        let remote = format!("{alias}.{topic}");
        wait_for_records(target, &remote, N, Duration::from_secs(90));
        assert_each_once(
            &format!("{remote} on {}", target.name()),
            source_records,
            &read_secured(target, &remote, N),
        );
    }
    for (target, alias) in [(b, "kafka-a"), (a, "kafka-b")] {
        wait_until(
            &format!("heartbeats and checkpoints topics on {}", target.name()),
            Duration::from_secs(60),
            || {
                let topics = target.list_topics_with_internal();
                topics.iter().any(|t| t == "heartbeats")
                    && topics
                        .iter()
                        .any(|t| *t == format!("{alias}.checkpoints.internal"))
                    && total_end_offset(target, "heartbeats") > 0
            },
        );
    }
    // Heartbeats went one hop each way, and no further: nothing loops
    // back, nothing is copied twice.
    wait_until("replicated heartbeats", Duration::from_secs(60), || {
        total_end_offset(b, "kafka-a.heartbeats") > 0
            && total_end_offset(a, "kafka-b.heartbeats") > 0
    });
    assert_no_loops(&[a, b]);
    for (target, alias) in [(b, "kafka-a"), (a, "kafka-b")] {
        assert_eq!(
            total_end_offset(target, &format!("{alias}.{topic}")),
            N as i64,
            "records in {alias}.{topic}"
        );
    }

    let log = kmirror.log();
    assert_no_secret(
        "kmirror's log",
        &log,
        &[
            a.security().password(ADMIN_USER),
            b_password,
            &test_pki().truststore_jks.password,
        ],
    );
    assert!(
        log_lines(&log, "re-authentication failed").is_empty(),
        "{log}"
    );
    let status = kmirror.terminate(Duration::from_secs(15));
    assert!(status.success(), "exit status {status}; log:\n{log}");
}

/// kmirror's own TLS record layer (after rustls's handshake) on both TLS
/// versions: it fetches megabytes from kafka-a over TLS 1.2 and writes them
/// to kafka-b over TLS 1.3, whose broker updates its keys every
/// [`TLS_KEY_UPDATE_BYTES`] and asks kmirror to update its own in return.
/// Every record arrives intact and once, and both key updates happened.
#[test]
fn tls_1_2_and_tls_1_3_key_updates_carry_megabytes_intact() {
    let _serial = one_at_a_time();
    let pair = secured_pair();
    let (a, b) = (&pair.a, &pair.b);
    let topic = random_topic_name("bulk");
    a.create_topic(&topic, 2, 1, &[]);

    let dir = tempfile::tempdir().unwrap();
    let mut file = Mm2File::new(
        &a.listener_bootstrap("SASL_SSL"),
        &b.listener_bootstrap("SASL_SSL"),
    );
    file.set("kafka-a->kafka-b.enabled", "true")
        .set("kafka-a->kafka-b.topics", &topic)
        .set("kafka-a.ssl.protocol", "TLSv1.2");
    for alias in ["kafka-a", "kafka-b"] {
        let cluster = if alias == "kafka-a" { a } else { b };
        scram(
            &mut file,
            alias,
            "SCRAM-SHA-512",
            ADMIN_USER,
            cluster.security().password(ADMIN_USER),
        );
        jks_truststore(&mut file, alias);
    }
    let config = file.write(dir.path());
    let mut kmirror = Kmirror::run(&config);

    // 8 MiB of incompressible values: many TLS records and key updates.
    const N: usize = 512;
    const VALUE_BYTES: u32 = 16 * 1024;
    assert!(N as u64 * u64::from(VALUE_BYTES) >= 16 * TLS_KEY_UPDATE_BYTES);
    let sent: Vec<_> = records("bulk", N)
        .into_iter()
        .enumerate()
        .map(|(i, record)| {
            let value: Vec<u8> = (0..VALUE_BYTES)
                .map(|j| (j.wrapping_mul(2_654_435_761) ^ i as u32).to_le_bytes()[1])
                .collect();
            record.value(value)
        })
        .collect();
    produce_secured(a, &topic, &sent);
    let remote = format!("kafka-a.{topic}");
    wait_for_records(b, &remote, N, Duration::from_secs(90));
    assert_each_once(
        &format!("{remote} on {}", b.name()),
        &sent,
        &read_secured(b, &remote, N),
    );

    let log = kmirror.log();
    for direction in ["read", "write"] {
        assert!(
            !log_lines(&log, &format!("TLS {direction} key updated")).is_empty(),
            "no TLS {direction} key update in kmirror's log:\n{log}"
        );
    }
    let status = kmirror.terminate(Duration::from_secs(15));
    assert!(status.success(), "exit status {status}; log:\n{log}");
}

/// Mutual TLS both ways: kafka-a's client key in a JKS store whose key
/// password differs from the store password (PKCS12 truststore), kafka-b's
/// key inline as PEM encrypted with PBES2 (OpenSSL 3's default, which
/// Kafka's own client on JDK 17 cannot read) with an inline PEM CA.
#[test]
fn mutual_tls_with_jks_and_pbes2_encrypted_pem_keys() {
    let _serial = one_at_a_time();
    let pair = secured_pair();
    let (a, b) = (&pair.a, &pair.b);
    let topic = random_topic_name("mtls");
    for cluster in [a, b] {
        cluster.create_topic(&topic, 2, 1, &[]);
    }
    let dir = tempfile::tempdir().unwrap();
    let mut file = Mm2File::new(&a.listener_bootstrap("SSL"), &b.listener_bootstrap("SSL"));
    file.set("kafka-a->kafka-b.enabled", "true")
        .set("kafka-b->kafka-a.enabled", "true")
        .set("kafka-a->kafka-b.topics", &topic)
        .set("kafka-b->kafka-a.topics", &topic)
        .set_all(
            "kafka-a.",
            &a.java_client_props_with(
                SecuredListener::MutualTls,
                &ClientAuth::ClientCertificate,
                TrustStoreForm::Pkcs12,
                KeyStoreForm::Jks,
            ),
        )
        .set_all(
            "kafka-b.",
            &b.java_client_props_with(
                SecuredListener::MutualTls,
                &ClientAuth::ClientCertificate,
                TrustStoreForm::PemInline,
                KeyStoreForm::PemInlineEncrypted,
            ),
        );
    let config = file.write(dir.path());
    let mut kmirror = Kmirror::run(&config);

    const N: usize = 100;
    let from_a = records("mtls-a", N);
    let from_b = records("mtls-b", N);
    produce_secured(a, &topic, &from_a);
    produce_secured(b, &topic, &from_b);
    for (sent, target, alias) in [(&from_a, b, "kafka-a"), (&from_b, a, "kafka-b")] {
        let remote = format!("{alias}.{topic}");
        wait_for_records(target, &remote, N, Duration::from_secs(90));
        assert_each_once(&remote, sent, &read_secured(target, &remote, N));
    }
    let log = kmirror.log();
    let pki = test_pki();
    assert_no_secret(
        "kmirror's log",
        &log,
        &[
            &pki.client_jks.store_password,
            &pki.client_jks.key_password,
            &pki.client_pem.key_password,
            &pki.truststore_pkcs12.password,
        ],
    );
    let status = kmirror.terminate(Duration::from_secs(15));
    assert!(status.success(), "exit status {status}; log:\n{log}");
}

/// `kmirror check` reaches kafka-b over mutual TLS with the client key in
/// `form`: exit code and output.
fn check_with_key(form: KeyStoreForm) -> (Option<i32>, String) {
    let b = &secured_pair().b;
    let dir = tempfile::tempdir().unwrap();
    let mut file = Mm2File::new(&b.listener_bootstrap("SSL"), &b.listener_bootstrap("SSL"));
    file.set("kafka-a->kafka-b.enabled", "true").set_all(
        "",
        &b.java_client_props_with(
            SecuredListener::MutualTls,
            &ClientAuth::ClientCertificate,
            TrustStoreForm::PemFile,
            form,
        ),
    );
    let config = file.write(dir.path());
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_kmirror"))
        .args(["check", config.to_str().unwrap()])
        .env("KMIRROR_LOG", "warn")
        .current_dir(dir.path())
        .output()
        .unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    (output.status.code(), text)
}

/// The legacy encrypted PEM key (PBEWithSHA1AndDESede, what a working MM2
/// on JDK 17 has), inline and as a key store file with the chain.
#[test]
fn mutual_tls_with_legacy_encrypted_pem_keys() {
    let _serial = one_at_a_time();
    for form in [
        KeyStoreForm::PemInlineEncryptedLegacy,
        KeyStoreForm::PemFile,
    ] {
        let (code, text) = check_with_key(form);
        assert_eq!(code, Some(0), "{form:?}: {text}");
        assert!(
            text.contains("cluster kafka-b: reachable"),
            "{form:?}: {text}"
        );
    }
}

/// What [`replicate_for`] sent, and where kmirror's log stood once the
/// first round had arrived (start-up is over: topics exist, producer ids
/// are set).
struct Replicated {
    sent: Vec<kmirror_testbed::TestRecord>,
    steady_from_line: usize,
}

/// Rounds of 10 records produced to `topic` on `source` until `duration`
/// has passed since the first round arrived, each round waited for on
/// `target`: replication that never stops for long.
fn replicate_for(
    kmirror: &Kmirror,
    duration: Duration,
    source: &KafkaCluster,
    topic: &str,
    target: &KafkaCluster,
    remote: &str,
) -> Replicated {
    let mut sent = Vec::new();
    let mut steady = None;
    let mut round = 0;
    while steady.is_none_or(|(started, _): (Instant, usize)| started.elapsed() < duration) {
        let batch = records(&format!("round{round}"), 10);
        produce_secured(source, topic, &batch);
        sent.extend(batch);
        wait_for_records(target, remote, sent.len(), Duration::from_secs(30));
        steady.get_or_insert_with(|| (Instant::now(), kmirror.log().lines().count()));
        round += 1;
    }
    Replicated {
        sent,
        steady_from_line: steady.expect("one round at least").1,
    }
}

/// From line `from` on, kmirror's log has no failed re-authentication, no
/// reconnect and no warning at all.
fn assert_quiet_sessions(log: &str, from: usize) {
    assert!(
        log_lines(log, "re-authentication failed").is_empty(),
        "{log}"
    );
    let warnings: Vec<&str> = log
        .lines()
        .skip(from)
        .filter(|l| l.contains(" WARN ") || l.contains(" ERROR "))
        .collect();
    assert!(
        warnings.is_empty(),
        "warnings while replicating: {warnings:#?}"
    );
}

/// OAUTHBEARER from the source's OAUTH listener with tokens that live
/// [`TOKEN_LIFETIME`]: replication goes on for more than two lifetimes,
/// kmirror fetched fresh tokens, and sessions were re-authenticated.
#[test]
fn oauthbearer_source_keeps_replicating_across_token_lifetimes() {
    let _serial = one_at_a_time();
    let pair = secured_pair();
    let (a, b) = (&pair.a, &pair.b);
    let topic = random_topic_name("oauth");
    a.create_topic(&topic, 2, 1, &[]);
    let dir = tempfile::tempdir().unwrap();
    let mut file = Mm2File::new(
        &a.listener_bootstrap("OAUTH"),
        &b.listener_bootstrap("SASL_SSL"),
    );
    file.set("kafka-a->kafka-b.enabled", "true")
        .set("kafka-b->kafka-a.enabled", "false")
        .set("kafka-a->kafka-b.topics", &topic)
        .set_all(
            "kafka-a.",
            &a.java_client_props(
                SecuredListener::OAuthBearer,
                &ClientAuth::oauth(&pair.tokens),
            ),
        )
        .set_all(
            "kafka-b.",
            &b.java_client_props(SecuredListener::SaslSsl, &admin()),
        );
    let config = file.write(dir.path());
    let issued_before = pair.tokens.tokens_issued();
    let mut kmirror = Kmirror::run(&config);

    let remote = format!("kafka-a.{topic}");
    let Replicated {
        sent,
        steady_from_line,
    } = replicate_for(&kmirror, 2 * TOKEN_LIFETIME + REAUTH, a, &topic, b, &remote);
    let issued = pair.tokens.tokens_issued() - issued_before;
    assert!(
        issued >= 3,
        "kmirror fetched {issued} token(s) over more than two lifetimes"
    );
    assert_each_once(&remote, &sent, &read_secured(b, &remote, sent.len()));

    let log = kmirror.log();
    assert!(
        !log_lines(&log, "re-authenticated").is_empty(),
        "no re-authentication logged:\n{log}"
    );
    assert_quiet_sessions(&log, steady_from_line);
    assert_no_secret("kmirror's log", &log, &[pair.tokens.client_secret()]);
    let status = kmirror.terminate(Duration::from_secs(15));
    assert!(status.success(), "exit status {status}; log:\n{log}");
}

/// KIP-368 with SCRAM: the brokers end every SASL session after
/// [`REAUTH`]; over more than three of them kmirror re-authenticates its
/// connections in place and loses nothing.
#[test]
fn scram_sessions_are_re_authenticated_without_reconnecting() {
    let _serial = one_at_a_time();
    let pair = secured_pair();
    let (a, b) = (&pair.a, &pair.b);
    let topic = random_topic_name("reauth");
    a.create_topic(&topic, 3, 1, &[]);
    let dir = tempfile::tempdir().unwrap();
    let mut file = Mm2File::new(
        &a.listener_bootstrap("SASL_SSL"),
        &b.listener_bootstrap("SASL_SSL"),
    );
    file.set("kafka-a->kafka-b.enabled", "true")
        .set("kafka-b->kafka-a.enabled", "false")
        .set("kafka-a->kafka-b.topics", &topic)
        .set_all(
            "kafka-a.",
            &a.java_client_props(SecuredListener::SaslSsl, &admin()),
        )
        .set_all(
            "kafka-b.",
            &b.java_client_props(
                SecuredListener::SaslSsl,
                &ClientAuth::scram_sha_256(ADMIN_USER),
            ),
        );
    let config = file.write(dir.path());
    let mut kmirror = Kmirror::run(&config);

    let remote = format!("kafka-a.{topic}");
    let Replicated {
        sent,
        steady_from_line,
    } = replicate_for(&kmirror, 4 * REAUTH, a, &topic, b, &remote);
    assert_eq!(total_end_offset(b, &remote), sent.len() as i64);
    assert_each_once(&remote, &sent, &read_secured(b, &remote, sent.len()));

    let log = kmirror.log();
    let reauthenticated = log_lines(&log, "re-authenticated");
    assert!(
        reauthenticated.len() >= 3,
        "{} re-authentications logged:\n{log}",
        reauthenticated.len()
    );
    assert_quiet_sessions(&log, steady_from_line);
    let status = kmirror.terminate(Duration::from_secs(15));
    assert!(status.success(), "exit status {status}; log:\n{log}");
}

/// The ACLs `User:kmirror` gets for a flow `kafka-a->kafka-b` of `topic`:
/// what README's "ACLs kmirror needs" table lists, and no more.
fn kmirror_acls(topic: &str) -> (Vec<AclBinding>, Vec<AclBinding>) {
    let user = format!("User:{KMIRROR_USER}");
    let allow = |kind: &str, name: &str, operation: &str| {
        AclBinding::new(kind, name, &user, operation, "ALLOW")
    };
    let mut source = Vec::new();
    for operation in ["READ", "DESCRIBE", "DESCRIBE_CONFIGS"] {
        source.push(allow("TOPIC", topic, operation));
    }
    for operation in ["CREATE", "WRITE", "DESCRIBE"] {
        source.push(allow(
            "TOPIC",
            "mm2-offset-syncs.kafka-b.internal",
            operation,
        ));
    }
    // The flow kafka-b->kafka-a, though not enabled, emits heartbeats to
    // kafka-a, as MM2's heartbeat connector does for every pair; and
    // kafka-a->kafka-b replicates them, as MM2 does whatever `topics` says.
    for operation in ["CREATE", "WRITE", "READ", "DESCRIBE", "DESCRIBE_CONFIGS"] {
        source.push(allow("TOPIC", "heartbeats", operation));
    }
    source.push(allow("CLUSTER", "kafka-cluster", "DESCRIBE"));
    // The workers' groups: kafka-b->kafka-a's (heartbeats only) is on
    // kafka-a. The test harness gives each process its own `kmirror-test-`
    // group prefix, so these are prefixed.
    source.push(allow("GROUP", "kmirror-", "READ").pattern("PREFIXED"));

    let mut target = Vec::new();
    for operation in [
        "CREATE",
        "WRITE",
        "READ",
        "DESCRIBE",
        "DESCRIBE_CONFIGS",
        "ALTER_CONFIGS",
        "ALTER",
    ] {
        target.push(allow("TOPIC", "kafka-a.", operation).pattern("PREFIXED"));
    }
    for operation in ["CREATE", "WRITE", "READ", "DESCRIBE"] {
        target.push(allow("TOPIC", "mm2-offsets.kafka-a.internal", operation));
        target.push(allow(
            "TOPIC",
            "kmirror-offset-index.kafka-a.internal",
            operation,
        ));
    }
    for operation in ["CREATE", "WRITE", "READ", "DESCRIBE", "DESCRIBE_CONFIGS"] {
        target.push(allow("TOPIC", "heartbeats", operation));
    }
    target.push(allow("CLUSTER", "kafka-cluster", "ALTER"));
    target.push(allow("GROUP", "kmirror-", "READ").pattern("PREFIXED"));
    (source, target)
}

/// kmirror as the ordinary user `kmirror` on both clusters (SCRAM over
/// SASL_SSL, the StandardAuthorizer on): with the ACLs of
/// [`kmirror_acls`] it replicates, and a source topic's ACL for alice
/// appears on the remote topic, with no authorization warning.
#[test]
fn acl_sync_as_an_ordinary_user_with_the_minimal_acls() {
    let _serial = one_at_a_time();
    let pair = secured_pair();
    let (a, b) = (&pair.a, &pair.b);
    let topic = random_topic_name("acl");
    a.create_topic(&topic, 2, 1, &[]);
    let (source_acls, target_acls) = kmirror_acls(&topic);
    a.create_acls(&source_acls);
    b.create_acls(&target_acls);
    let alice_reads = AclBinding::allow_topic(&format!("User:{ALICE}"), &topic, "READ");
    a.create_acls(std::slice::from_ref(&alice_reads));

    let dir = tempfile::tempdir().unwrap();
    let mut file = Mm2File::new(
        &a.listener_bootstrap("SASL_SSL"),
        &b.listener_bootstrap("SASL_SSL"),
    );
    file.set("kafka-a->kafka-b.enabled", "true")
        .set("kafka-b->kafka-a.enabled", "false")
        .set("kafka-a->kafka-b.topics", &topic)
        .set("sync.topic.acls.interval.seconds", "2")
        .set_all(
            "kafka-a.",
            &a.java_client_props(
                SecuredListener::SaslSsl,
                &ClientAuth::scram_sha_512(KMIRROR_USER),
            ),
        )
        .set_all(
            "kafka-b.",
            &b.java_client_props(
                SecuredListener::SaslSsl,
                &ClientAuth::scram_sha_512(KMIRROR_USER),
            ),
        );
    let config = file.write(dir.path());
    let mut kmirror = Kmirror::run(&config);

    let remote = format!("kafka-a.{topic}");
    // Alice's, and kmirror's own on the source topic (MM2 copies every
    // literal ALLOW ACL but WRITE of a replicated topic).
    let mut expected: Vec<AclBinding> = source_acls
        .iter()
        .filter(|acl| acl.name == topic)
        .chain([&alice_reads])
        .map(|acl| AclBinding {
            name: remote.clone(),
            ..acl.clone()
        })
        .collect();
    expected.sort();
    let mut synced = Vec::new();
    wait_until(
        "alice's ACL on the remote topic",
        Duration::from_secs(60),
        || {
            synced = b.list_acls(&AclFilter::topic(&remote));
            synced.len() >= expected.len()
        },
    );
    assert_eq!(synced, expected, "ACLs of {remote} on kafka-b");

    const N: usize = 50;
    let sent = records("acl", N);
    produce_secured(a, &topic, &sent);
    wait_for_records(b, &remote, N, Duration::from_secs(60));
    assert_each_once(&remote, &sent, &read_secured(b, &remote, N));

    let log = kmirror.log();
    let refused: Vec<String> = log
        .lines()
        .filter(|l| l.contains(" WARN ") || l.contains(" ERROR "))
        .filter(|l| l.to_ascii_lowercase().contains("authoriz") || l.contains("ACL"))
        .map(str::to_string)
        .collect();
    assert!(refused.is_empty(), "authorization warnings: {refused:#?}");
    assert_no_secret(
        "kmirror's log",
        &log,
        &[
            a.security().password(KMIRROR_USER),
            b.security().password(KMIRROR_USER),
        ],
    );
    let status = kmirror.terminate(Duration::from_secs(15));
    assert!(status.success(), "exit status {status}; log:\n{log}");
}

/// The Connect JSON form with Connect's own keys (`source.cluster.*`,
/// `target.cluster.*`), posted to `POST /connectors` of a kmirror started
/// without a config file: it replicates over SASL_SSL, and neither the
/// REST answers nor the log show a password.
#[test]
fn connect_json_posted_to_the_rest_api_replicates_over_sasl_ssl() {
    let _serial = one_at_a_time();
    let pair = secured_pair();
    let (a, b) = (&pair.a, &pair.b);
    let topic = random_topic_name("connect");
    a.create_topic(&topic, 2, 1, &[]);
    let state = tempfile::tempdir().unwrap();
    let mut kmirror = Kmirror::start(&["run", "--state-dir", state.path().to_str().unwrap()]);
    wait_until("the REST API", Duration::from_secs(30), || {
        kmirror.rest_address().is_some()
    });
    let address = kmirror.rest_address().unwrap();

    let mut config = serde_json::Map::new();
    let mut put = |key: String, value: String| {
        config.insert(key, serde_json::Value::String(value));
    };
    put(
        "connector.class".into(),
        "org.apache.kafka.connect.mirror.MirrorSourceConnector".into(),
    );
    put("source.cluster.alias".into(), "kafka-a".into());
    put("target.cluster.alias".into(), "kafka-b".into());
    put("topics".into(), topic.clone());
    for (side, cluster, auth) in [
        ("source", a, admin()),
        ("target", b, ClientAuth::scram_sha_256(ADMIN_USER)),
    ] {
        put(
            format!("{side}.cluster.bootstrap.servers"),
            cluster.listener_bootstrap("SASL_SSL"),
        );
        for (key, value) in cluster.java_client_props(SecuredListener::SaslSsl, &auth) {
            put(format!("{side}.cluster.{key}"), value);
        }
    }
    for key in [
        "replication.factor",
        "checkpoints.topic.replication.factor",
        "heartbeats.topic.replication.factor",
        "offset-syncs.topic.replication.factor",
    ] {
        put(key.into(), "1".into());
    }
    let name = "secured-connect";
    let body = serde_json::json!({"name": name, "config": config}).to_string();
    let created = http(&address, "POST", "/connectors", Some(&body));
    assert_eq!(created.status, 201, "{created:?}");

    const N: usize = 60;
    let sent = records("connect", N);
    produce_secured(a, &topic, &sent);
    let remote = format!("kafka-a.{topic}");
    wait_for_records(b, &remote, N, Duration::from_secs(90));
    assert_each_once(&remote, &sent, &read_secured(b, &remote, N));

    let secrets = [
        a.security().password(ADMIN_USER),
        b.security().password(ADMIN_USER),
        test_pki().truststore_jks.password.as_str(),
    ];
    for path in [
        format!("/connectors/{name}"),
        format!("/connectors/{name}/config"),
        format!("/connectors/{name}/status"),
        "/status".to_string(),
    ] {
        let answer = http(&address, "GET", &path, None);
        assert_eq!(answer.status, 200, "GET {path}: {answer:?}");
        assert_no_secret(&format!("GET {path}"), &answer.body, &secrets);
    }
    let log = kmirror.log();
    assert_no_secret("kmirror's log", &log, &secrets);
    let status = kmirror.terminate(Duration::from_secs(15));
    assert!(status.success(), "exit status {status}; log:\n{log}");
}
