//! Two secured clusters shared by the tests of one test binary, MM2
//! properties written as an operator writes them, and Kafka's Java clients
//! reading back over the secured listeners.
//!
//! Declared by the test files that use it (`#[path]`), not by `mod.rs`, so
//! test binaries without secured clusters do not compile it.

use std::path::{Path, PathBuf};
use std::sync::OnceLock;
use std::time::Duration;

use kmirror_testbed::pki::CLIENT_PRINCIPAL;
use kmirror_testbed::{
    ClientAuth, ConsumeOptions, ConsumedRecord, KafkaCluster, ProduceOptions, SecuredListener,
    SecurityOptions, TestRecord, TokenServer, TokenServerOptions, ADMIN_USER,
};

/// `connections.max.reauth.ms` of both clusters: every SASL connection
/// kmirror holds must re-authenticate (KIP-368) every few seconds, in every
/// test of the file.
pub const REAUTH: Duration = Duration::from_secs(5);
/// How long the token server's tokens live.
pub const TOKEN_LIFETIME: Duration = Duration::from_secs(15);
/// The OAuth client kmirror logs in as; the broker's principal is
/// `User:<client id>` (the token's `sub`), a super user.
pub const OAUTH_CLIENT: &str = "mirror-oauth";
/// A user that owns nothing; ACL sync copies an ACL of hers.
pub const ALICE: &str = "alice";

/// The clusters, `kafka-a` with the OAUTHBEARER listener, and the token
/// endpoint `kafka-a` trusts. Started once per test binary; their JVMs end
/// with the process.
pub struct SecuredPair {
    pub a: KafkaCluster,
    pub b: KafkaCluster,
    pub tokens: TokenServer,
}

/// How often the brokers update their TLS 1.3 keys, in bytes each way.
pub const TLS_KEY_UPDATE_BYTES: u64 = 256 * 1024;

pub fn secured_pair() -> &'static SecuredPair {
    static PAIR: OnceLock<SecuredPair> = OnceLock::new();
    PAIR.get_or_init(|| {
        // Before the clusters: the brokers' JVMs must allow its URLs.
        let mut token_options = TokenServerOptions {
            lifetime: TOKEN_LIFETIME,
            ..TokenServerOptions::default()
        };
        // The default client's random secret, under our client id.
        token_options.clients[0].0 = OAUTH_CLIENT.to_string();
        let tokens = TokenServer::start(token_options);
        let options = || {
            SecurityOptions::new()
                .user(ALICE, "alice-pw")
                .authorizer()
                .super_user(CLIENT_PRINCIPAL)
                .super_user(&format!("User:{OAUTH_CLIENT}"))
                .reauthentication(REAUTH)
                // TLS 1.3 key updates all the time, not after 2^37 bytes.
                .tls_key_update_bytes(TLS_KEY_UPDATE_BYTES)
        };
        let (a, b) = std::thread::scope(|scope| {
            let a = scope.spawn(|| {
                KafkaCluster::builder("kafka-a")
                    .secured(options().oauth(&tokens))
                    .start()
            });
            let b = scope.spawn(|| KafkaCluster::builder("kafka-b").secured(options()).start());
            (a.join().unwrap(), b.join().unwrap())
        });
        SecuredPair { a, b, tokens }
    })
}

/// One test at a time: each runs kmirror and Java clients on two cores.
pub fn one_at_a_time() -> std::sync::MutexGuard<'static, ()> {
    static LOCK: std::sync::Mutex<()> = std::sync::Mutex::new(());
    LOCK.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// An `mm2.properties` being written, line by line.
#[derive(Default)]
pub struct Mm2File {
    lines: Vec<String>,
}

impl Mm2File {
    /// The two clusters, their bootstrap lists and replication factor 1.
    pub fn new(a_bootstrap: &str, b_bootstrap: &str) -> Self {
        let mut file = Self::default();
        file.line("clusters = kafka-a, kafka-b")
            .set("kafka-a.bootstrap.servers", a_bootstrap)
            .set("kafka-b.bootstrap.servers", b_bootstrap);
        for key in [
            "replication.factor",
            "checkpoints.topic.replication.factor",
            "heartbeats.topic.replication.factor",
            "offset-syncs.topic.replication.factor",
        ] {
            file.set(key, "1");
        }
        file
    }

    pub fn line(&mut self, line: &str) -> &mut Self {
        self.lines.push(line.to_string());
        self
    }

    /// `key = value`, with newlines and backslashes escaped as a Java
    /// properties file needs them (inline PEM).
    pub fn set(&mut self, key: &str, value: &str) -> &mut Self {
        let escaped = value.replace('\\', "\\\\").replace('\n', "\\n");
        self.lines.push(format!("{key} = {escaped}"));
        self
    }

    /// Every `(key, value)` with `prefix` before the key.
    pub fn set_all(&mut self, prefix: &str, props: &[(String, String)]) -> &mut Self {
        for (key, value) in props {
            self.set(&format!("{prefix}{key}"), value);
        }
        self
    }

    /// Writes the file into `dir`.
    pub fn write(&self, dir: &Path) -> PathBuf {
        let path = dir.join("mm2.properties");
        std::fs::write(&path, self.lines.join("\n") + "\n").unwrap();
        path
    }
}

/// `count` records with keys, values and two headers, distinct per `tag`.
pub fn records(tag: &str, count: usize) -> Vec<TestRecord> {
    (0..count)
        .map(|i| {
            TestRecord::new()
                .key(format!("{tag}-k{}", i % 17))
                .value(format!("{tag}:v{i}"))
                .header("origin", Some(tag.as_bytes()))
                .header("seq", Some(i.to_string().as_bytes()))
        })
        .collect()
}

/// The admin user over SASL_SSL with SCRAM-SHA-512.
pub fn admin() -> ClientAuth {
    ClientAuth::scram_sha_512(ADMIN_USER)
}

/// Produces `records` with the Java producer over SASL_SSL as the admin.
pub fn produce_secured(cluster: &KafkaCluster, topic: &str, records: &[TestRecord]) {
    cluster.produce_via(
        SecuredListener::SaslSsl,
        &admin(),
        topic,
        &ProduceOptions::default(),
        records,
    );
}

/// Reads all of `topic` (one more than `expected`, so a duplicate shows)
/// with the Java consumer over SASL_SSL as the admin.
pub fn read_secured(cluster: &KafkaCluster, topic: &str, expected: usize) -> Vec<ConsumedRecord> {
    let mut options = ConsumeOptions::committed(expected + 1);
    options.idle_timeout = Duration::from_secs(5);
    cluster.consume_via(SecuredListener::SaslSsl, &admin(), topic, &options)
}

/// What a record is made of, for comparing sent and read sets.
type Content = (
    Option<Vec<u8>>,
    Option<Vec<u8>>,
    Vec<(String, Option<Vec<u8>>)>,
);

/// Asserts that `read` holds each of `sent` exactly once (any order across
/// partitions), with identical key, value and headers.
pub fn assert_each_once(what: &str, sent: &[TestRecord], read: &[ConsumedRecord]) {
    let mut sent: Vec<Content> = sent
        .iter()
        .map(|r| (r.key.clone(), r.value.clone(), r.headers.clone()))
        .collect();
    let mut read: Vec<Content> = read
        .iter()
        .map(|r| (r.key.clone(), r.value.clone(), r.headers.clone()))
        .collect();
    sent.sort();
    read.sort();
    assert_eq!(
        read.len(),
        sent.len(),
        "{what}: read {} records, sent {}",
        read.len(),
        sent.len()
    );
    assert!(read == sent, "{what}: records differ from those sent");
}

/// Lines of kmirror's log containing `needle`.
pub fn log_lines(log: &str, needle: &str) -> Vec<String> {
    log.lines()
        .filter(|l| l.contains(needle))
        .map(str::to_string)
        .collect()
}

/// Asserts that `text` holds none of `secrets`.
pub fn assert_no_secret(what: &str, text: &str, secrets: &[&str]) {
    for secret in secrets {
        assert!(
            !text.contains(secret),
            "{what} shows a secret ({} chars)",
            secret.len()
        );
    }
}

/// An HTTP/1.1 answer: status and body.
#[derive(Debug)]
pub struct HttpAnswer {
    pub status: u16,
    pub body: String,
}

/// One plain HTTP request to `address` with an optional JSON body.
pub fn http(address: &str, method: &str, path: &str, body: Option<&str>) -> HttpAnswer {
    let (status, body) = crate::support::http(address, method, path, body);
    HttpAnswer { status, body }
}
