//! Real Apache Kafka clusters on loopback, for kmirror's tests, benchmarks
//! and demo.
//!
//! Kafka runs from Maven Central jars (no tarball): `testbed/kafka/fetch.sh`
//! resolves them once into `<repo>/.cache/kafka/<version>/libs`, and a few
//! Java helpers under `testbed/java` are compiled beside them. Clusters are
//! KRaft, each node a broker and a controller in one JVM, listening on free
//! 127.0.0.1 ports, with their files in a temp dir.
//!
//! The real Java clients are the reference: [`KafkaCluster::produce`] and
//! [`KafkaCluster::consume`] drive them through a JSON-lines helper, so a test
//! can check that what a Java producer wrote to one cluster is what a Java
//! consumer reads from the other after kmirror copied it.
//!
//! Secured clusters ([`KafkaClusterBuilder::secured`]) add SASL_SSL, mTLS,
//! SASL_PLAINTEXT, OAUTHBEARER and bad-certificate listeners beside
//! PLAINTEXT, with certificates from a PKI made at test time
//! ([`test_pki`]), SCRAM and PLAIN users, and optionally the
//! StandardAuthorizer with ACL helpers; [`TokenServer`] is the OAuth token
//! endpoint. `testbed/README.md` has the whole tour.
//!
//! ```no_run
//! use kmirror_testbed::{
//!     ClientAuth, ConsumeOptions, KafkaCluster, SecuredListener, SecurityOptions, KMIRROR_USER,
//! };
//!
//! let cluster = KafkaCluster::builder("kafka-a")
//!     .secured(SecurityOptions::new().authorizer())
//!     .start();
//! let bootstrap = cluster.listener_bootstrap("SASL_SSL");
//! let password = cluster.security().password(KMIRROR_USER);
//! let ca = &kmirror_testbed::test_pki().ca_pem;
//! // ... point kmirror at `bootstrap` with SCRAM and the CA, then read back
//! // with Kafka's own client over any listener:
//! let read = cluster.consume_via(
//!     SecuredListener::MutualTls,
//!     &ClientAuth::ClientCertificate,
//!     "orders",
//!     &ConsumeOptions::committed(10),
//! );
//! # let _ = (bootstrap, password, ca, read);
//! ```
//!
//! No JVM outlives the test process: each is started through a watchdog main
//! class that halts the JVM when its stdin pipe, held by this process, closes.
//! A panic, a timeout or SIGKILL of the test closes it.
//!
//! The API is synchronous and panics on failure, as test helpers should;
//! async tests can call it from `tokio::task::spawn_blocking` or simply
//! block briefly.
//!
//! ```no_run
//! use kmirror_testbed::{ConsumeOptions, KafkaCluster, ProduceOptions, TestRecord};
//!
//! let cluster = KafkaCluster::start("kafka-a");
//! let topic = kmirror_testbed::random_topic_name("orders");
//! cluster.create_topic(&topic, 3, 1, &[("compression.type", "producer")]);
//! let sent = vec![TestRecord::new().key("k1").value("v1")];
//! cluster.produce(&topic, &ProduceOptions::default(), &sent);
//! let read = cluster.consume(&topic, &ConsumeOptions::committed(1));
//! assert!(read[0].matches(&sent[0]));
//! // Dropping the cluster kills its JVMs and removes its files.
//! ```
//!
//! Environment: `KMIRROR_KAFKA_VERSION` (default 4.1.2), `KMIRROR_CACHE_DIR`
//! (default `<repo>/.cache`), `KMIRROR_TESTBED_DIR` (where cluster folders go,
//! default the system temp dir), `KMIRROR_KEEP_TESTBED` (keep cluster folders
//! even when tests pass), `KMIRROR_TESTBED_CDS=0` (no class-data-sharing
//! archives; see `testbed/README.md`).

mod acl;
mod admin;
mod cds;
mod client;
mod cluster;
mod jars;
mod java;
mod oauth;
pub mod pki;
mod ports;
mod security;
mod workdir;

use std::collections::HashMap;
use std::sync::{Mutex, OnceLock};

use rand::Rng as _;

pub use acl::{AclBinding, AclFilter};
pub use admin::{
    AdminError, ClusterDescription, GroupOffset, PartitionDescription, TopicConfig,
    TopicDescription,
};
pub use client::{
    consume, gen, produce, produce_steps, Compression, ConsumeOptions, ConsumedRecord, GenOptions,
    GenReport, Isolation, ProduceOptions, ProduceStep, TestRecord, TimestampType,
};
pub use cluster::{KafkaCluster, KafkaClusterBuilder, ProbeError};
pub use jars::{
    cache_dir, classpath, java_classes, java_helpers_jar, kafka_libs, kafka_version, repo_root,
    DEFAULT_KAFKA_VERSION,
};
pub use java::{run_java, spawn_java, JavaCommand, JavaProcess, LAUNCH_CLASS, TEST_CLIENT_CLASS};
pub use oauth::{TokenServer, TokenServerOptions};
pub use pki::{test_pki, KeyStoreForm, TestPki, TrustStoreForm};
pub use ports::free_port;
pub use security::{
    ClientAuth, SaslMechanism, SaslUser, SecuredListener, SecurityOptions, ADMIN_USER, KMIRROR_USER,
};

/// `<prefix>-<8 random hex digits>`: a topic name no other test uses.
pub fn random_topic_name(prefix: &str) -> String {
    format!("{prefix}-{:08x}", rand::thread_rng().gen::<u32>())
}

/// A single-node cluster started on first use and shared by every test of
/// the test binary that asks for the same `name`.
///
/// It is never dropped: its JVMs end with the process (the stdin watchdog),
/// and its folder is swept by a later test process, or kept, and printed, if
/// any test of this process panicked.
pub fn shared_cluster(name: &str) -> &'static KafkaCluster {
    static CLUSTERS: OnceLock<Mutex<HashMap<String, &'static OnceLock<KafkaCluster>>>> =
        OnceLock::new();
    let cell = *CLUSTERS
        .get_or_init(Default::default)
        .lock()
        .unwrap()
        .entry(name.to_string())
        .or_insert_with(|| Box::leak(Box::new(OnceLock::new())));
    // Started outside the map's lock: other names need not wait for it.
    cell.get_or_init(|| {
        let cluster = KafkaCluster::start(name);
        keep_on_panic(cluster.dir().to_path_buf());
        cluster
    })
}

/// Registers a folder to keep (and print) if any thread of this process
/// panics, for clusters whose `Drop` never runs.
fn keep_on_panic(dir: std::path::PathBuf) {
    static DIRS: OnceLock<Mutex<Vec<std::path::PathBuf>>> = OnceLock::new();
    let mut first = false;
    let dirs = DIRS.get_or_init(|| {
        first = true;
        Mutex::default()
    });
    dirs.lock().unwrap().push(dir);
    if first {
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            previous(info);
            if let Ok(dirs) = dirs.lock() {
                for dir in dirs.iter() {
                    workdir::keep(dir);
                }
            }
        }));
    }
}

/// The users' two-region MM2 config (`examples/mm2-config.properties`) with
/// the bootstrap addresses of two local clusters, followed by `extra`
/// property lines.
pub fn two_region_config(a_bootstrap: &str, b_bootstrap: &str, extra: &str) -> String {
    let example = repo_root().join("examples/mm2-config.properties");
    let text = std::fs::read_to_string(&example)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", example.display()));
    let text = text
        .replace("kafka-a-1:9092,kafka-a-2:9092,kafka-a-3:9092", a_bootstrap)
        .replace("kafka-b-1:9092,kafka-b-2:9092,kafka-b-3:9092", b_bootstrap);
    assert!(
        !text.contains(":9092"),
        "the bootstrap lines of {} changed; update two_region_config",
        example.display()
    );
    format!("{text}\n{extra}\n")
}
