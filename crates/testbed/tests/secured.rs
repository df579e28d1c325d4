//! Secured clusters: the test PKI in every form, each secured listener read
//! and written by Kafka's Java clients, the negative listeners' certificates,
//! SASL refusals, ACLs and the OAuth token endpoint.
//!
//! One single-node cluster with every listener serves all tests but the
//! three-broker one.

mod common;

use std::io::{Read as _, Write as _};
use std::net::TcpStream;
use std::sync::OnceLock;
use std::time::Duration;

use kmirror_testbed::pki::{CLIENT_PRINCIPAL, WRONG_HOST};
use kmirror_testbed::{
    random_topic_name, test_pki, AclBinding, AclFilter, ClientAuth, ConsumeOptions, KafkaCluster,
    KeyStoreForm, ProduceOptions, SecuredListener, SecurityOptions, TestRecord, TokenServer,
    TokenServerOptions, TrustStoreForm, ADMIN_USER, KMIRROR_USER,
};

const REAUTH: Duration = Duration::from_secs(600);

struct Secured {
    tokens: TokenServer,
    cluster: KafkaCluster,
}

/// The shared secured cluster (authorizer on) and its token endpoint.
fn secured() -> &'static Secured {
    static SECURED: OnceLock<Secured> = OnceLock::new();
    SECURED.get_or_init(|| {
        let tokens = TokenServer::start(TokenServerOptions::default());
        let cluster = KafkaCluster::builder("secured")
            .secured(
                SecurityOptions::new()
                    .authorizer()
                    .reauthentication(REAUTH)
                    .oauth(&tokens),
            )
            .start();
        Secured { tokens, cluster }
    })
}

/// Read, write and describe on `topic` for `principal`.
fn grant_read_write(cluster: &KafkaCluster, principal: &str, topic: &str) {
    let acls: Vec<AclBinding> = ["READ", "WRITE", "DESCRIBE"]
        .iter()
        .map(|op| AclBinding::allow_topic(principal, topic, op))
        .collect();
    cluster.create_acls(&acls);
}

fn records(tag: &str, count: usize) -> Vec<TestRecord> {
    (0..count)
        .map(|i| {
            TestRecord::new()
                .key(format!("{tag}-k{i}"))
                .value(format!("{tag}-v{i}"))
        })
        .collect()
}

#[test]
fn test_pki_has_every_form_kmirror_reads() {
    let _serial = common::serial();
    let pki = test_pki();
    let read = |path: &std::path::Path| {
        std::fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
    };
    let text = |path: &std::path::Path| String::from_utf8(read(path)).expect("PEM is text");

    assert!(text(&pki.ca_pem).starts_with("-----BEGIN CERTIFICATE-----"));
    assert_ne!(read(&pki.ca_pem), read(&pki.untrusted_ca_pem));
    for pair in [
        &pki.client_pem,
        &pki.broker,
        &pki.broker_expired,
        &pki.broker_wrong_host,
        &pki.broker_untrusted,
    ] {
        let chain = text(&pair.chain);
        assert_eq!(
            chain.matches("-----BEGIN CERTIFICATE-----").count(),
            2,
            "{pair:?}"
        );
        assert!(text(&pair.key).starts_with("-----BEGIN PRIVATE KEY-----"));
        let encrypted = text(&pair.encrypted_key);
        assert!(encrypted.starts_with("-----BEGIN ENCRYPTED PRIVATE KEY-----"));
        let legacy = text(&pair.encrypted_key_legacy);
        assert!(legacy.starts_with("-----BEGIN ENCRYPTED PRIVATE KEY-----"));
        assert_ne!(legacy, encrypted);
        assert_eq!(text(&pair.keystore), format!("{legacy}{chain}"));
        assert!(!pair.key_password.is_empty());
    }
    // The untrusted broker's chain ends in the untrusted CA, the others in
    // the trusted one.
    assert!(text(&pki.broker_untrusted.chain).ends_with(&text(&pki.untrusted_ca_pem)));
    assert!(text(&pki.broker.chain).ends_with(&text(&pki.ca_pem)));

    // JKS files start with the magic 0xFEEDFEED, PKCS12 with a DER SEQUENCE.
    for jks in [&pki.truststore_jks.path, &pki.client_jks.path] {
        assert_eq!(
            read(jks)[..4],
            [0xfe, 0xed, 0xfe, 0xed],
            "{}",
            jks.display()
        );
    }
    for p12 in [&pki.truststore_pkcs12.path, &pki.client_pkcs12.path] {
        assert_eq!(read(p12)[0], 0x30, "{}", p12.display());
    }
    assert_ne!(pki.client_jks.store_password, pki.client_jks.key_password);
    assert_eq!(
        pki.client_pkcs12.store_password,
        pki.client_pkcs12.key_password
    );

    // Secrets stay out of Debug output.
    let debug = format!("{pki:?}");
    for secret in [
        &pki.truststore_jks.password,
        &pki.client_jks.store_password,
        &pki.client_jks.key_password,
        &pki.client_pkcs12.store_password,
        &pki.client_pem.key_password,
        &pki.broker.key_password,
    ] {
        assert!(!debug.contains(secret.as_str()), "Debug shows a password");
    }
    let options = SecurityOptions::new();
    assert!(!format!("{options:?}").contains(options.password(KMIRROR_USER)));
}

#[test]
fn java_clients_write_and_read_through_every_positive_listener() {
    let _serial = common::serial();
    let Secured { tokens, cluster } = secured();
    let topic = random_topic_name("secured");
    cluster.create_topic(&topic, 2, 1, &[]);
    grant_read_write(cluster, &format!("User:{KMIRROR_USER}"), &topic);
    grant_read_write(cluster, CLIENT_PRINCIPAL, &topic);

    let ways = [
        (
            SecuredListener::SaslSsl,
            ClientAuth::scram_sha_256(KMIRROR_USER),
        ),
        (
            SecuredListener::SaslSsl,
            ClientAuth::scram_sha_512(KMIRROR_USER),
        ),
        (SecuredListener::SaslSsl, ClientAuth::plain(KMIRROR_USER)),
        (SecuredListener::MutualTls, ClientAuth::ClientCertificate),
        (
            SecuredListener::SaslPlaintext,
            ClientAuth::scram_sha_512(KMIRROR_USER),
        ),
        (SecuredListener::OAuthBearer, ClientAuth::oauth(tokens)),
    ];
    let mut sent = Vec::new();
    for (i, (listener, auth)) in ways.iter().enumerate() {
        let batch = records(&format!("{}-{i}", listener.name()), 3);
        cluster.produce_via(*listener, auth, &topic, &ProduceOptions::default(), &batch);
        sent.extend(batch);
    }
    assert!(
        tokens.tokens_issued() >= 1,
        "the OAuth producer fetched no token"
    );
    for (listener, auth) in &ways {
        let read = cluster.consume_via(
            *listener,
            auth,
            &topic,
            &ConsumeOptions {
                max_records: Some(sent.len()),
                ..ConsumeOptions::default()
            },
        );
        assert_eq!(
            read.len(),
            sent.len(),
            "via {} with {auth:?}",
            listener.name()
        );
        for record in &sent {
            assert!(
                read.iter().any(|r| r.matches(record)),
                "via {}: {record:?} missing",
                listener.name()
            );
        }
    }
    // The plaintext tools see the same data.
    assert_eq!(
        cluster
            .consume(&topic, &ConsumeOptions::committed(sent.len()))
            .len(),
        sent.len()
    );
}

#[test]
fn every_store_form_opens_in_the_java_client() {
    let _serial = common::serial();
    let Secured { cluster, .. } = secured();
    let tls = SecuredListener::MutualTls;
    let cert = ClientAuth::ClientCertificate;
    let mut combinations: Vec<(TrustStoreForm, KeyStoreForm)> = TrustStoreForm::ALL
        .into_iter()
        .map(|trust| (trust, KeyStoreForm::Pkcs12))
        .collect();
    // PBES2-encrypted PEM keys are left out: Kafka's client cannot read them
    // on JDK 17 (the PKI's JDK step checked that they decrypt).
    combinations.extend(
        KeyStoreForm::ALL
            .into_iter()
            .filter(|key| !matches!(key, KeyStoreForm::Pkcs12 | KeyStoreForm::PemInlineEncrypted))
            .map(|key| (TrustStoreForm::Jks, key)),
    );
    for (trust, key) in combinations {
        let props = cluster.java_client_props_with(tls, &cert, trust, key);
        let nodes = cluster
            .probe_with_props(tls, &props, None)
            .unwrap_or_else(|e| panic!("{trust:?} truststore, {key:?} key store: {e}"));
        assert_eq!(nodes, vec![0], "{trust:?}, {key:?}");
    }
    // mTLS really requires the certificate.
    let refused = cluster
        .probe(SecuredListener::MutualTls, &ClientAuth::Anonymous, &[])
        .expect_err("the SSL listener let a client in without a certificate");
    assert!(
        refused.error_class.contains("Ssl") || refused.message.contains("SSL"),
        "{refused}"
    );
}

#[test]
fn negative_listeners_present_the_bad_certificates() {
    let _serial = common::serial();
    let Secured { cluster, .. } = secured();
    let pki = test_pki();

    let expired = cluster
        .probe(SecuredListener::ExpiredCert, &ClientAuth::Anonymous, &[])
        .expect_err("an expired certificate was accepted");
    assert!(
        expired.message.contains("NotAfter") || expired.message.contains("expired"),
        "{expired}"
    );

    let wrong_host = cluster
        .probe(SecuredListener::WrongHostCert, &ClientAuth::Anonymous, &[])
        .expect_err("a certificate for another host was accepted");
    assert!(
        wrong_host.message.contains("127.0.0.1")
            && wrong_host.message.contains("subject alternative"),
        "{wrong_host}"
    );
    // The chain itself is good: without the host name check it works.
    cluster
        .probe(
            SecuredListener::WrongHostCert,
            &ClientAuth::Anonymous,
            &[("ssl.endpoint.identification.algorithm", "")],
        )
        .unwrap_or_else(|e| panic!("{WRONG_HOST} listener without the name check: {e}"));

    let untrusted = cluster
        .probe(SecuredListener::UntrustedCert, &ClientAuth::Anonymous, &[])
        .expect_err("a certificate of an untrusted CA was accepted");
    assert!(
        untrusted.message.contains("certification path"),
        "{untrusted}"
    );
    // Trusting the other CA lets the client in: the listener works, and only
    // the trust is missing.
    let trust_other_ca = vec![
        ("security.protocol".to_string(), "SSL".to_string()),
        ("ssl.truststore.type".to_string(), "PEM".to_string()),
        (
            "ssl.truststore.location".to_string(),
            pki.untrusted_ca_pem.display().to_string(),
        ),
    ];
    cluster
        .probe_with_props(SecuredListener::UntrustedCert, &trust_other_ca, None)
        .unwrap_or_else(|e| panic!("untrusted-CA listener with that CA trusted: {e}"));

    // The good certificate passes the same checks.
    cluster
        .probe(
            SecuredListener::SaslSsl,
            &ClientAuth::scram_sha_512(ADMIN_USER),
            &[],
        )
        .unwrap_or_else(|e| panic!("SASL_SSL with the good certificate: {e}"));
}

#[test]
fn sasl_refuses_a_wrong_password_and_the_reauth_limit_is_set() {
    let _serial = common::serial();
    let Secured { cluster, .. } = secured();
    for mechanism in [
        kmirror_testbed::SaslMechanism::ScramSha256,
        kmirror_testbed::SaslMechanism::Plain,
    ] {
        let auth = ClientAuth::SaslWrongPassword {
            mechanism,
            user: KMIRROR_USER.to_string(),
        };
        let refused = cluster
            .probe(SecuredListener::SaslSsl, &auth, &[])
            .expect_err("a wrong password was accepted");
        assert_eq!(
            refused.error_class, "SaslAuthenticationException",
            "{refused}"
        );
    }
    let log = std::fs::read_to_string(cluster.broker_log(0)).expect("read the broker log");
    assert!(
        log.contains(&format!(
            "connections.max.reauth.ms = {}",
            REAUTH.as_millis()
        )),
        "the broker did not take connections.max.reauth.ms"
    );
}

#[test]
fn acls_allow_and_deny_sasl_users() {
    let _serial = common::serial();
    let Secured { cluster, .. } = secured();
    let topic = random_topic_name("acl");
    cluster.create_topic(&topic, 1, 1, &[]);
    let kmirror = format!("User:{KMIRROR_USER}");
    let as_kmirror = cluster.java_client_props(
        SecuredListener::SaslSsl,
        &ClientAuth::scram_sha_512(KMIRROR_USER),
    );

    // No ACL yet: describing the topic is refused.
    let refused = cluster
        .probe_with_props(SecuredListener::SaslSsl, &as_kmirror, Some(&topic))
        .expect_err("a user without ACLs described a topic");
    assert_eq!(
        refused.error_class, "TopicAuthorizationException",
        "{refused}"
    );

    let allow = AclBinding::allow_topic(&kmirror, &topic, "DESCRIBE");
    cluster.create_acls(std::slice::from_ref(&allow));
    assert_eq!(
        cluster.list_acls(&AclFilter::topic(&topic)),
        vec![allow.clone()]
    );
    cluster
        .probe_with_props(SecuredListener::SaslSsl, &as_kmirror, Some(&topic))
        .unwrap_or_else(|e| panic!("DESCRIBE granted but refused: {e}"));

    // DENY wins over ALLOW.
    let deny = AclBinding::deny_topic(&kmirror, &topic, "DESCRIBE");
    cluster.create_acls(std::slice::from_ref(&deny));
    let refused = cluster
        .probe_with_props(SecuredListener::SaslSsl, &as_kmirror, Some(&topic))
        .expect_err("a DENY ACL was ignored");
    assert_eq!(
        refused.error_class, "TopicAuthorizationException",
        "{refused}"
    );

    // The super user is not bound by ACLs.
    cluster
        .probe_with_props(
            SecuredListener::SaslSsl,
            &cluster.java_client_props(
                SecuredListener::SaslSsl,
                &ClientAuth::scram_sha_256(ADMIN_USER),
            ),
            Some(&topic),
        )
        .unwrap_or_else(|e| panic!("the super user was refused: {e}"));

    let mut expected = vec![allow, deny];
    expected.sort();
    assert_eq!(cluster.delete_acls(&AclFilter::topic(&topic)), expected);
    assert!(cluster.list_acls(&AclFilter::topic(&topic)).is_empty());
}

#[test]
fn oauth_listener_refuses_tokens_it_cannot_verify() {
    let _serial = common::serial();
    let Secured { tokens, cluster } = secured();
    cluster
        .probe(
            SecuredListener::OAuthBearer,
            &ClientAuth::oauth(tokens),
            &[],
        )
        .unwrap_or_else(|e| panic!("a token of the cluster's endpoint was refused: {e}"));
    assert!(
        tokens.jwks_requests() >= 1,
        "the broker never fetched the JWKS"
    );

    // Another endpoint's tokens name a key id the broker's JWKS lacks.
    let stranger = TokenServer::start(TokenServerOptions {
        key_id: Some("a-key-the-broker-never-saw".to_string()),
        ..TokenServerOptions::default()
    });
    let refused = cluster
        .probe(
            SecuredListener::OAuthBearer,
            &ClientAuth::oauth(&stranger),
            &[],
        )
        .expect_err("a token signed under an unknown key id was accepted");
    assert_eq!(
        refused.error_class, "SaslAuthenticationException",
        "{refused}"
    );
    assert!(
        stranger.tokens_issued() >= 1,
        "the client never got a token"
    );

    // The same key and key id, but a token for another audience.
    let same_audience = TokenServer::start(TokenServerOptions::default());
    cluster
        .probe(
            SecuredListener::OAuthBearer,
            &ClientAuth::oauth(&same_audience),
            &[],
        )
        .unwrap_or_else(|e| panic!("a second endpoint with the same key was refused: {e}"));
    let other_audience = TokenServerOptions {
        audience: "not-kafka".to_string(),
        clients: vec![(
            tokens.client_id().to_string(),
            tokens.client_secret().to_string(),
        )],
        ..TokenServerOptions::default()
    };
    let other_audience = TokenServer::start(other_audience);
    let refused = cluster
        .probe(
            SecuredListener::OAuthBearer,
            &ClientAuth::oauth(&other_audience),
            &[],
        )
        .expect_err("a token for another audience was accepted");
    assert_eq!(
        refused.error_class, "SaslAuthenticationException",
        "{refused}"
    );
}

/// `POST /token` by hand: the status code and body.
fn post_token(tokens: &TokenServer, basic: &str) -> (u16, String) {
    let address = tokens
        .token_url()
        .trim_start_matches("http://")
        .trim_end_matches("/token")
        .to_string();
    let body = "grant_type=client_credentials&scope=kafka";
    let mut stream = TcpStream::connect(&address).expect("connect to the token server");
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .expect("set a read timeout");
    write!(
        stream,
        "POST /token HTTP/1.1\r\nHost: {address}\r\nAuthorization: Basic {basic}\r\n\
         Content-Type: application/x-www-form-urlencoded\r\nContent-Length: {}\r\n\
         Connection: close\r\n\r\n{body}",
        body.len()
    )
    .expect("send a token request");
    let mut answer = String::new();
    stream.read_to_string(&mut answer).expect("read the answer");
    let status = answer
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("not HTTP: {answer:?}"));
    let body = answer
        .split("\r\n\r\n")
        .nth(1)
        .unwrap_or_default()
        .to_string();
    (status, body)
}

#[test]
fn token_endpoint_checks_client_credentials_and_counts_requests() {
    use base64::Engine as _;
    let _serial = common::serial();
    let tokens = TokenServer::start(TokenServerOptions {
        lifetime: Duration::from_secs(30),
        ..TokenServerOptions::default()
    });
    let encode = |s: String| base64::engine::general_purpose::STANDARD.encode(s);
    let good = encode(format!("{}:{}", tokens.client_id(), tokens.client_secret()));
    let bad = encode(format!("{}:not-the-secret", tokens.client_id()));

    let (status, body) = post_token(&tokens, &bad);
    assert_eq!(status, 401, "{body}");
    assert!(!body.contains("access_token"));
    let (status, body) = post_token(&tokens, &good);
    assert_eq!(status, 200, "{body}");
    let answer: serde_json::Value = serde_json::from_str(&body).expect("JSON");
    assert_eq!(answer["token_type"], "Bearer");
    assert_eq!(answer["expires_in"], 30);
    let token = answer["access_token"].as_str().expect("an access token");
    let parts: Vec<&str> = token.split('.').collect();
    assert_eq!(parts.len(), 3, "a JWS in compact form");
    let claims: serde_json::Value = serde_json::from_slice(
        &base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(parts[1])
            .expect("base64url claims"),
    )
    .expect("JSON claims");
    assert_eq!(claims["sub"], tokens.client_id());
    assert_eq!(claims["aud"], tokens.audience());
    assert_eq!(claims["scope"], "kafka");
    assert_eq!(
        claims["exp"].as_u64().unwrap() - claims["iat"].as_u64().unwrap(),
        30
    );
    assert_eq!(tokens.token_requests(), 2);
    assert_eq!(tokens.tokens_issued(), 1);
    // The secret is not in the server's Debug output.
    assert!(!format!("{tokens:?}").contains(tokens.client_secret()));
}

#[test]
fn three_secured_brokers_serve_every_broker_on_each_listener() {
    let _serial = common::serial();
    let cluster = KafkaCluster::builder("secured3")
        .brokers(3)
        .secured(SecurityOptions::new())
        .start();
    for listener in SecuredListener::ALWAYS {
        assert_eq!(
            cluster
                .listener_bootstrap(listener.name())
                .split(',')
                .count(),
            3,
            "{}",
            listener.name()
        );
    }
    let topic = random_topic_name("secured3");
    cluster.create_topic(&topic, 3, 3, &[]);
    let sent = records("three", 30);
    cluster.produce_via(
        SecuredListener::SaslSsl,
        &ClientAuth::scram_sha_512(KMIRROR_USER),
        &topic,
        &ProduceOptions::default(),
        &sent,
    );
    let read = cluster.consume_via(
        SecuredListener::MutualTls,
        &ClientAuth::ClientCertificate,
        &topic,
        &ConsumeOptions::committed(sent.len()),
    );
    assert_eq!(read.len(), sent.len());
    assert!(sent.iter().all(|s| read.iter().any(|r| r.matches(s))));
    // Every broker leads a partition, so each one's listener was used.
    let leaders = cluster.leaders(&topic);
    assert_eq!(leaders.iter().flatten().count(), 3);
}
