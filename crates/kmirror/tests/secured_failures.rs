//! Security failures say what to fix, and no secret ever leaks (issue 9,
//! points 3 and 4, and the negative half of 6).
//!
//! One secured cluster serves every test: its listeners (SASL_SSL, SSL with
//! client certificates, SASL_PLAINTEXT, OAUTH and the three bad-certificate
//! ones) play the clusters of the configs under test. Most cases run
//! `kmirror check` with cluster `kafka-a` on the listener under test and
//! `kafka-b` on PLAINTEXT, and assert the exit code (2: the configuration
//! cannot be used; 1: the cluster refused), that the message names the
//! cluster, the key to change and (for refusals) the broker, that no secret
//! of the config appears in the output, and that the answer came at once,
//! not after the 10 s connect retry.
//!
//! The authorization test runs `kmirror run` as `User:kmirror` with every
//! ACL it needs but WRITE on one remote topic; the leak test runs kmirror
//! with distinctive passwords in text and JSON logs and searches its log,
//! `check` output and REST answers for them.

#[path = "support/secured_check.rs"]
mod secured_check;
mod support;

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use kmirror_testbed::{
    random_topic_name, test_pki, AclBinding, ClientAuth, ConsumeOptions, KafkaCluster,
    KeyStoreForm, ProduceOptions, SecuredListener, TestRecord, TrustStoreForm, ADMIN_USER,
    KMIRROR_USER,
};
use secured_check::*;
use support::{total_end_offset, wait_until, Kmirror};

#[test]
fn sasl_refusals_name_the_key_to_change() {
    let bed = bed();
    let security = bed.cluster.security();
    let kmirror_password = security.password(KMIRROR_USER).to_string();
    let scram = listener_props(
        SecuredListener::SaslSsl,
        &ClientAuth::scram_sha_512(KMIRROR_USER),
    );

    // Wrong password: the user is named, not the password (neither the
    // wrong one nor the right one).
    let wrong = secret("WrongPassword");
    assert_check_fails(
        "wrong SCRAM-SHA-512 password",
        &with(
            scram.clone(),
            "sasl.jaas.config",
            scram_jaas(KMIRROR_USER, &wrong),
        ),
        &[&kmirror_password],
        Expect {
            code: 1,
            names: &["sasl.jaas.config", "`kmirror`", "SCRAM-SHA-512"],
        },
    );

    // The same over SASL_PLAINTEXT with PLAIN.
    let plain = listener_props(
        SecuredListener::SaslPlaintext,
        &ClientAuth::plain(KMIRROR_USER),
    );
    let jaas = format!(
        "org.apache.kafka.common.security.plain.PlainLoginModule required username=\"{KMIRROR_USER}\" password=\"{wrong}\";"
    );
    assert_check_fails(
        "wrong PLAIN password",
        &with(plain, "sasl.jaas.config", jaas),
        &[&kmirror_password],
        Expect {
            code: 1,
            names: &["sasl.jaas.config", "`kmirror`"],
        },
    );

    // A mechanism the listener does not enable: the message lists those
    // it does. SCRAM on the OAUTHBEARER-only listener...
    let on_oauth = with(
        listener_props(
            SecuredListener::SaslSsl,
            &ClientAuth::scram_sha_512(KMIRROR_USER),
        ),
        "bootstrap.servers",
        bed.cluster
            .listener_bootstrap(SecuredListener::OAuthBearer.name()),
    );
    assert_check_fails(
        "SCRAM-SHA-512 on an OAUTHBEARER listener",
        &on_oauth,
        &[],
        Expect {
            code: 1,
            names: &["sasl.mechanism", "SCRAM-SHA-512", "OAUTHBEARER"],
        },
    );
    // ... and OAUTHBEARER on the PLAIN/SCRAM listener.
    let oauth = listener_props(
        SecuredListener::OAuthBearer,
        &ClientAuth::oauth(&bed.tokens),
    );
    let mut oauth_on_plaintext = with(
        with(oauth, "security.protocol", "SASL_PLAINTEXT"),
        "bootstrap.servers",
        bed.cluster
            .listener_bootstrap(SecuredListener::SaslPlaintext.name()),
    );
    oauth_on_plaintext.retain(|(k, _)| !k.starts_with("ssl."));
    assert_check_fails(
        "OAUTHBEARER on a PLAIN/SCRAM listener",
        &oauth_on_plaintext,
        &[],
        Expect {
            code: 1,
            names: &[
                "sasl.mechanism",
                "OAUTHBEARER",
                "PLAIN",
                "SCRAM-SHA-256",
                "SCRAM-SHA-512",
            ],
        },
    );

    // No sasl.mechanism: Kafka's default GSSAPI, a configuration error.
    assert_check_fails(
        "sasl.mechanism unset",
        &without(scram, "sasl.mechanism"),
        &[],
        Expect {
            code: 2,
            names: &["sasl.mechanism", "GSSAPI"],
        },
    );
}

#[test]
fn certificate_refusals_name_the_key_to_change() {
    let anonymous = ClientAuth::Anonymous;
    let untrusted = listener_props(SecuredListener::UntrustedCert, &anonymous);
    assert_check_fails(
        "certificate of an untrusted CA",
        &untrusted,
        &[],
        Expect {
            code: 1,
            names: &["ssl.truststore"],
        },
    );

    let wrong_host = listener_props(SecuredListener::WrongHostCert, &anonymous);
    assert_check_fails(
        "certificate for another host",
        &wrong_host,
        &[],
        Expect {
            code: 1,
            names: &["ssl.endpoint.identification.algorithm", "127.0.0.1"],
        },
    );
    // With the name check off the same listener works...
    let unchecked = with(wrong_host, "ssl.endpoint.identification.algorithm", "");
    let checked = check_with(&check_config(&unchecked), &[], &[], Duration::from_secs(60));
    assert_eq!(checked.code, 0, "name check off:\n{}", checked.output());
    assert!(
        checked.stdout.contains("cluster kafka-a: reachable"),
        "{}",
        checked.output()
    );
    // ... but the chain is still verified.
    assert_check_fails(
        "untrusted CA with the name check off",
        &with(untrusted, "ssl.endpoint.identification.algorithm", ""),
        &[],
        Expect {
            code: 1,
            names: &["ssl.truststore"],
        },
    );

    assert_check_fails(
        "expired certificate",
        &listener_props(SecuredListener::ExpiredCert, &anonymous),
        &[],
        Expect {
            code: 1,
            names: &["expired"],
        },
    );

    // The mTLS listener without a client certificate.
    assert_check_fails(
        "no client certificate",
        &listener_props(SecuredListener::MutualTls, &anonymous),
        &[],
        Expect {
            code: 1,
            names: &["ssl.keystore"],
        },
    );
}

#[test]
fn unusable_stores_are_configuration_errors() {
    let pki = test_pki();
    let mtls = |key: KeyStoreForm| {
        listener_props_with(
            SecuredListener::MutualTls,
            &ClientAuth::ClientCertificate,
            TrustStoreForm::Jks,
            key,
        )
    };
    let wrong = secret("WrongStorePassword");

    // With the right passwords every store form below opens, so the
    // failures that follow come from what each case changes.
    for form in [
        KeyStoreForm::Jks,
        KeyStoreForm::Pkcs12,
        KeyStoreForm::PemFile,
        KeyStoreForm::PemInlineEncrypted,
    ] {
        let checked = check_with(
            &check_config(&mtls(form)),
            &[],
            &[],
            Duration::from_secs(60),
        );
        assert_eq!(checked.code, 0, "{form:?} key store:\n{}", checked.output());
    }

    let missing = with(
        mtls(KeyStoreForm::Jks),
        "ssl.keystore.location",
        "/nonexistent/kmirror/client.jks",
    );
    assert_check_fails(
        "key store that does not exist",
        &missing,
        &[],
        Expect {
            code: 2,
            names: &["ssl.keystore.location", "/nonexistent/kmirror/client.jks"],
        },
    );
    // `run` stops the same way, before it serves or replicates anything.
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("mm2.properties");
    std::fs::write(&path, check_config(&missing)).unwrap();
    let mut run = Kmirror::run(&path);
    let status = run.wait(AT_ONCE);
    assert_eq!(status.code(), Some(2), "run:\n{}", run.log());
    assert!(
        run.log()
            .contains("cluster kafka-a: ssl.keystore.location="),
        "run:\n{}",
        run.log()
    );
    assert_check_fails(
        "truststore that does not exist",
        &with(
            mtls(KeyStoreForm::Jks),
            "ssl.truststore.location",
            "/nonexistent/kmirror/truststore.jks",
        ),
        &[],
        Expect {
            code: 2,
            names: &["ssl.truststore.location"],
        },
    );
    for (form, store) in [("JKS", KeyStoreForm::Jks), ("PKCS12", KeyStoreForm::Pkcs12)] {
        let real = match store {
            KeyStoreForm::Jks => &pki.client_jks,
            _ => &pki.client_pkcs12,
        };
        assert_check_fails(
            &format!("wrong {form} key store password"),
            &with(mtls(store), "ssl.keystore.password", wrong.clone()),
            &[&real.store_password, &real.key_password],
            Expect {
                code: 2,
                names: &["ssl.keystore.password"],
            },
        );
    }
    assert_check_fails(
        "wrong JKS truststore password",
        &with(
            mtls(KeyStoreForm::Jks),
            "ssl.truststore.password",
            wrong.clone(),
        ),
        &[&pki.truststore_jks.password],
        Expect {
            code: 2,
            names: &["ssl.truststore.password"],
        },
    );
    assert_check_fails(
        "wrong PKCS12 truststore password",
        &with(
            listener_props_with(
                SecuredListener::MutualTls,
                &ClientAuth::ClientCertificate,
                TrustStoreForm::Pkcs12,
                KeyStoreForm::Jks,
            ),
            "ssl.truststore.password",
            wrong.clone(),
        ),
        &[&pki.truststore_pkcs12.password],
        Expect {
            code: 2,
            names: &["ssl.truststore.password"],
        },
    );
    // The key password of a JKS entry (the store opens) and of a PEM key.
    assert_check_fails(
        "wrong JKS key password",
        &with(mtls(KeyStoreForm::Jks), "ssl.key.password", wrong.clone()),
        &[&pki.client_jks.key_password],
        Expect {
            code: 2,
            names: &["ssl.key.password"],
        },
    );
    // PEM keys in both encrypted forms: PBE-SHA1-3DES in a key store file
    // (what Kafka on JDK 17 reads) and PBES2 inline (OpenSSL 3's default).
    for (form, store) in [
        ("PBE-SHA1-3DES", KeyStoreForm::PemFile),
        ("PBES2", KeyStoreForm::PemInlineEncrypted),
    ] {
        assert_check_fails(
            &format!("wrong {form} PEM key password"),
            &with(mtls(store), "ssl.key.password", wrong.clone()),
            &[&pki.client_pem.key_password],
            Expect {
                code: 2,
                names: &["ssl.key.password"],
            },
        );
    }
}

#[test]
fn wrong_security_protocol_is_named() {
    let cluster = &bed().cluster;
    // TLS to the PLAINTEXT port.
    let tls_to_plaintext = with(
        listener_props(SecuredListener::UntrustedCert, &ClientAuth::Anonymous),
        "bootstrap.servers",
        cluster.bootstrap(),
    );
    assert_check_fails(
        "SSL to a PLAINTEXT listener",
        &tls_to_plaintext,
        &[],
        Expect {
            code: 1,
            names: &["security.protocol"],
        },
    );
    // SASL_SSL to the SASL_PLAINTEXT port.
    let sasl_ssl_to_sasl_plaintext = with(
        listener_props(
            SecuredListener::SaslSsl,
            &ClientAuth::scram_sha_256(KMIRROR_USER),
        ),
        "bootstrap.servers",
        cluster.listener_bootstrap(SecuredListener::SaslPlaintext.name()),
    );
    assert_check_fails(
        "SASL_SSL to a SASL_PLAINTEXT listener",
        &sasl_ssl_to_sasl_plaintext,
        &[],
        Expect {
            code: 1,
            names: &["security.protocol"],
        },
    );
    // Plaintext to the SSL port.
    let plaintext_to_tls = vec![
        prop(
            "bootstrap.servers",
            cluster.listener_bootstrap(SecuredListener::MutualTls.name()),
        ),
        prop("security.protocol", "PLAINTEXT"),
    ];
    assert_check_fails(
        "PLAINTEXT to an SSL listener",
        &plaintext_to_tls,
        &[],
        Expect {
            code: 1,
            names: &["security.protocol", "SSL"],
        },
    );
    // Plaintext to the SASL_PLAINTEXT port.
    let plaintext_to_sasl = vec![
        prop(
            "bootstrap.servers",
            cluster.listener_bootstrap(SecuredListener::SaslPlaintext.name()),
        ),
        prop("security.protocol", "PLAINTEXT"),
    ];
    assert_check_fails(
        "PLAINTEXT to a SASL_PLAINTEXT listener",
        &plaintext_to_sasl,
        &[],
        Expect {
            code: 1,
            names: &["security.protocol", "SASL_PLAINTEXT"],
        },
    );
}

/// `(state, last_error)` of a source partition in `GET /status`.
fn partition_state(
    status: &serde_json::Value,
    flow: &str,
    topic: &str,
    partition: i64,
) -> Option<(String, Option<String>)> {
    let flow = status["flows"]
        .as_array()?
        .iter()
        .find(|f| f["name"] == flow)?;
    let topic = flow["topics"]
        .as_array()?
        .iter()
        .find(|t| t["topic"] == topic)?;
    let p = topic["partitions"]
        .as_array()?
        .iter()
        .find(|p| p["partition"] == partition)?;
    Some((
        p["state"].as_str()?.to_string(),
        p["last_error"].as_str().map(str::to_string),
    ))
}

/// The values of a topic's records, read back by Kafka's Java consumer
/// over SASL_SSL as the admin user.
fn values_via_sasl_ssl(cluster: &KafkaCluster, topic: &str, count: usize) -> Vec<Vec<u8>> {
    let mut records = cluster.consume_via(
        SecuredListener::SaslSsl,
        &ClientAuth::scram_sha_512(ADMIN_USER),
        topic,
        &ConsumeOptions::committed(count),
    );
    records.sort_by_key(|r| (r.partition, r.offset));
    records.into_iter().filter_map(|r| r.value).collect()
}

fn records(prefix: &str, range: std::ops::Range<usize>) -> Vec<TestRecord> {
    range
        .map(|i| {
            TestRecord::new()
                .key(format!("k{i}"))
                .value(format!("{prefix}-{i}"))
        })
        .collect()
}

#[test]
fn missing_write_acl_pauses_one_partition_and_names_it() {
    let cluster = &bed().cluster;
    let principal = format!("User:{KMIRROR_USER}");
    let open = random_topic_name("open");
    let shut = random_topic_name("shut");
    let (remote_open, remote_shut) = (format!("kafka-a.{open}"), format!("kafka-a.{shut}"));
    cluster.create_topic(&open, 2, 1, &[]);
    cluster.create_topic(&shut, 1, 1, &[]);

    // Everything kmirror needs, but WRITE only on the topics it writes
    // besides the remote `shut` topic (prefixes, so that no ACL names
    // that topic).
    let mut acls = vec![
        AclBinding::new("CLUSTER", "kafka-cluster", &principal, "ALL", "ALLOW"),
        AclBinding::new("GROUP", "*", &principal, "ALL", "ALLOW"),
        AclBinding::new("TRANSACTIONAL_ID", "*", &principal, "ALL", "ALLOW"),
    ];
    for operation in [
        "READ",
        "DESCRIBE",
        "CREATE",
        "DESCRIBE_CONFIGS",
        "ALTER_CONFIGS",
        "ALTER",
    ] {
        acls.push(AclBinding::allow_topic(&principal, "*", operation));
    }
    for prefix in [
        "heartbeats",
        "mm2-",
        "kmirror-",
        "kafka-a.heartbeats",
        "kafka-a.checkpoints",
        "kafka-a.kmirror-",
        "kafka-a.open-",
    ] {
        acls.push(AclBinding::allow_topic(&principal, prefix, "WRITE").pattern("PREFIXED"));
    }
    cluster.create_acls(&acls);

    cluster.produce(&open, &ProduceOptions::default(), &records(&open, 0..10));
    cluster.produce(&shut, &ProduceOptions::default(), &records(&shut, 0..10));

    let props = listener_props(
        SecuredListener::SaslSsl,
        &ClientAuth::scram_sha_512(KMIRROR_USER),
    );
    let config = format!(
        "clusters = kafka-a, kafka-b\n\
         kafka-a->kafka-b.enabled = true\n\
         kafka-a->kafka-b.topics = {open}, {shut}\n\
         sync.topic.acls.interval.seconds = 600\n\
         {}{}",
        alias_lines("kafka-a", &props),
        alias_lines("kafka-b", &props)
    );
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("mm2.properties");
    std::fs::write(&path, config).unwrap();
    let kmirror = Kmirror::run(&path);

    wait_until(
        &format!("{remote_open} to receive the first records"),
        Duration::from_secs(90),
        || total_end_offset(cluster, &remote_open) >= 10,
    );
    let flow = "kafka-a->kafka-b";
    let mut last = None;
    wait_until(
        &format!("{shut}-0 paused on the missing ACL"),
        Duration::from_secs(60),
        || {
            last = partition_state(&kmirror.rest_get("/status"), flow, &shut, 0);
            matches!(&last, Some((state, Some(_))) if state == "paused")
        },
    );
    let error = last.unwrap().1.unwrap();
    eprintln!("paused: {error}");
    for part in [
        "cluster kafka-b",
        "WRITE",
        remote_shut.as_str(),
        principal.as_str(),
        "--operation Write",
    ] {
        assert!(error.contains(part), "the error names `{part}`: {error}");
    }

    // The other topic keeps flowing, the paused one writes nothing.
    cluster.produce(&open, &ProduceOptions::default(), &records(&open, 10..20));
    wait_until(
        &format!("{remote_open} to keep flowing"),
        Duration::from_secs(60),
        || total_end_offset(cluster, &remote_open) >= 20,
    );
    assert_eq!(
        total_end_offset(cluster, &remote_shut),
        0,
        "nothing written while denied"
    );
    for partition in 0..2 {
        let state = partition_state(&kmirror.rest_get("/status"), flow, &open, partition);
        assert!(
            matches!(&state, Some((s, _)) if s == "running"),
            "{open}-{partition}: {state:?}"
        );
    }

    // The ACL the message asks for: the partition resumes.
    cluster.create_acls(&[AclBinding::allow_topic(&principal, &remote_shut, "WRITE")]);
    let granted = Instant::now();
    wait_until(
        &format!("{shut}-0 to resume after the grant"),
        Duration::from_secs(120),
        || total_end_offset(cluster, &remote_shut) >= 10,
    );
    eprintln!("{shut}-0 resumed {:.2?} after the grant", granted.elapsed());
    wait_until(
        &format!("{shut}-0 running"),
        Duration::from_secs(30),
        || {
            matches!(partition_state(&kmirror.rest_get("/status"), flow, &shut, 0),
            Some((s, _)) if s == "running")
        },
    );

    let want = |topic: &str, n| -> Vec<Vec<u8>> {
        let mut values: Vec<Vec<u8>> = (0..n)
            .map(|i| format!("{topic}-{i}").into_bytes())
            .collect();
        values.sort();
        values
    };
    let mut got_open = values_via_sasl_ssl(cluster, &remote_open, 20);
    got_open.sort();
    assert_eq!(got_open, want(&open, 20), "{remote_open}");
    assert_eq!(
        values_via_sasl_ssl(cluster, &remote_shut, 10),
        want(&shut, 10),
        "{remote_shut}"
    );
    drop(kmirror);
}

/// The leak test's config: three aliases of the shared cluster, each
/// reached another way (SCRAM with a JKS truststore; mTLS with a JKS key
/// store and a PKCS12 truststore; OAuth with a PEM truststore), two flows.
/// Returns it with every secret in it.
fn leak_config(topic: &str, kafka_a_password: &str) -> (String, Vec<String>) {
    let bed = bed();
    let pki = test_pki();
    let scram = with(
        listener_props(
            SecuredListener::SaslSsl,
            &ClientAuth::scram_sha_512(LEAK_USER),
        ),
        "sasl.jaas.config",
        scram_jaas(LEAK_USER, kafka_a_password),
    );
    let mtls = listener_props_with(
        SecuredListener::MutualTls,
        &ClientAuth::ClientCertificate,
        TrustStoreForm::Pkcs12,
        KeyStoreForm::Jks,
    );
    let oauth = listener_props_with(
        SecuredListener::OAuthBearer,
        &ClientAuth::oauth(&bed.tokens),
        TrustStoreForm::PemFile,
        KeyStoreForm::Jks,
    );
    let mut secrets = vec![
        bed.leak_password.clone(),
        kafka_a_password.to_string(),
        pki.truststore_jks.password.clone(),
        pki.truststore_pkcs12.password.clone(),
        pki.client_jks.store_password.clone(),
        pki.client_jks.key_password.clone(),
        bed.tokens.client_secret().to_string(),
    ];
    for props in [&scram, &mtls, &oauth] {
        secrets.extend(secrets_of(props));
    }
    secrets.sort();
    secrets.dedup();
    // An OAuth access token: a JWT, whose header is base64url JSON.
    secrets.push("eyJ".to_string());
    let config = format!(
        "clusters = kafka-a, kafka-b, kafka-c\n\
         kafka-a->kafka-b.enabled = true\n\
         kafka-c->kafka-b.enabled = true\n\
         topics = {topic}\n\
         emit.heartbeats.enabled = false\n\
         {}{}{}",
        alias_lines("kafka-a", &scram),
        alias_lines("kafka-b", &mtls),
        alias_lines("kafka-c", &oauth),
    );
    (config, secrets)
}

#[test]
fn secrets_never_leak() {
    let bed = bed();
    let cluster = &bed.cluster;
    let wrong = secret("WrongSaslPassword");
    let debug = [("KMIRROR_LOG", "debug")];

    for format in ["text", "json"] {
        let topic = random_topic_name(&format!("leak-{format}"));
        cluster.create_topic(&topic, 1, 1, &[]);
        cluster.produce(&topic, &ProduceOptions::default(), &records(&topic, 0..5));
        let mut next = 5;
        let global = ["--log-format", format];
        let (good, secrets) = leak_config(&topic, &bed.leak_password);
        let (bad, bad_secrets) = leak_config(&topic, &wrong);

        // `check`, working and refused.
        let checked = check_with(&good, &global, &debug, Duration::from_secs(60));
        assert_eq!(checked.code, 0, "{format}: check:\n{}", checked.output());
        assert!(
            checked
                .stdout
                .contains(&format!("kafka-c: {topic} -> kafka-b: kafka-c.{topic}")),
            "{}",
            checked.output()
        );
        assert_no_secret(&format!("{format} check"), &checked.output(), &secrets);
        let checked = check_with(&bad, &global, &debug, AT_ONCE);
        assert_eq!(
            checked.code,
            1,
            "{format}: check, wrong password:\n{}",
            checked.output()
        );
        assert!(
            checked.stderr.contains("sasl.jaas.config"),
            "{}",
            checked.output()
        );
        assert_no_secret(
            &format!("{format} refused check"),
            &checked.output(),
            &bad_secrets,
        );

        // `run` refused: exits 1 at once, its log holds no secret.
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("mm2.properties");
        std::fs::write(&path, &bad).unwrap();
        let state = dir.path().join("state");
        let args = [
            "--log-format",
            format,
            "run",
            path.to_str().unwrap(),
            "--state-dir",
            state.to_str().unwrap(),
        ];
        let mut refused = Kmirror::start_with_env(&args, &debug);
        let status = refused.wait(AT_ONCE);
        assert_eq!(
            status.code(),
            Some(1),
            "{format}: run, wrong password:\n{}",
            refused.log()
        );
        assert_no_secret(
            &format!("{format} refused run log"),
            &refused.log(),
            &bad_secrets,
        );

        // `run` working: log, every REST answer and the state file.
        std::fs::write(&path, &good).unwrap();
        let mut kmirror = Kmirror::start_with_env(&args, &debug);
        for remote in [format!("kafka-a.{topic}"), format!("kafka-c.{topic}")] {
            wait_until(
                &format!("{format}: {remote} replicated"),
                Duration::from_secs(90),
                || total_end_offset(cluster, &remote) >= next as i64,
            );
        }
        let log = kmirror.log();
        let address = rest_address(&log).unwrap_or_else(|| panic!("no REST address in:\n{log}"));
        let connector = "mm2";
        let get = |path: &str| {
            let (status, body) = http(&address, "GET", path, None);
            assert!(status.contains(" 200"), "GET {path}: {status}\n{body}");
            body
        };
        let every_get = |stage: &str| {
            for path in [
                "/connectors".to_string(),
                "/connectors?expand=status&expand=info".to_string(),
                format!("/connectors/{connector}"),
                format!("/connectors/{connector}/config"),
                format!("/connectors/{connector}/status"),
                format!("/connectors/{connector}/tasks"),
                "/status".to_string(),
                "/metrics".to_string(),
                "/api/history".to_string(),
            ] {
                assert_no_secret(
                    &format!("{format}, {stage}: GET {path}"),
                    &get(&path),
                    &secrets,
                );
            }
        };
        every_get("from the file");
        // A config change through the API: the connector's config, secrets
        // included, goes to the state file.
        let config = get(&format!("/connectors/{connector}/config"));
        assert!(config.contains("[redacted]"), "{config}");
        let mut changed: serde_json::Value = serde_json::from_str(&config).unwrap();
        changed["sync.topic.acls.interval.seconds"] = "900".into();
        let (status, body) = http(
            &address,
            "PUT",
            &format!("/connectors/{connector}/config"),
            Some(&changed.to_string()),
        );
        assert!(status.contains(" 200"), "PUT config: {status}\n{body}");
        assert_no_secret(&format!("{format}: PUT config answer"), &body, &secrets);
        every_get("changed through the API");
        // The flows still replicate after the change.
        cluster.produce(
            &topic,
            &ProduceOptions::default(),
            &records(&topic, next..next + 5),
        );
        next += 5;
        for remote in [format!("kafka-a.{topic}"), format!("kafka-c.{topic}")] {
            wait_until(
                &format!("{format}: {remote} replicated after the change"),
                Duration::from_secs(90),
                || total_end_offset(cluster, &remote) >= next as i64,
            );
        }
        let stopped = kmirror.terminate(Duration::from_secs(15));
        assert!(stopped.success(), "{format}: exit {stopped}");
        let log = kmirror.log();
        if format == "json" {
            assert!(
                log.lines()
                    .all(|l| serde_json::from_str::<serde_json::Value>(l).is_ok()),
                "every log line is JSON:\n{log}"
            );
        }
        assert_no_secret(&format!("{format} run log"), &log, &secrets);

        let modes: BTreeMap<String, String> = files_under(&state)
            .iter()
            .map(|f| {
                use std::os::unix::fs::PermissionsExt as _;
                let mode = std::fs::metadata(f).unwrap().permissions().mode() & 0o777;
                let empty = std::fs::metadata(f).unwrap().len() == 0;
                let name = f.file_name().unwrap().to_string_lossy().to_string();
                (
                    name,
                    format!("{mode:o}{}", if empty { " (empty)" } else { "" }),
                )
            })
            .collect();
        eprintln!("{format}: state files {modes:?}");
        assert_eq!(
            modes.get("connectors.json").map(String::as_str),
            Some("600"),
            "the state file: {modes:?}"
        );
        // Only the empty lock file may have another mode.
        for (file, mode) in &modes {
            assert!(
                mode == "600" || mode.ends_with("(empty)"),
                "{file}: mode {mode}"
            );
        }
    }
}
