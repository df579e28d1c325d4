//! Issue 9's scenario: catch-up over SASL_SSL.
//!
//! Two test-bed clusters with secured listeners; the data is loaded on the
//! source through PLAINTEXT (the loader is not what is measured). Each
//! round then copies it three times, alternating, into fresh remote topics:
//!
//! 1. kmirror over SASL_SSL (SCRAM-SHA-512, TLS on both sides, the CA in a
//!    JKS truststore, as most operators have it),
//! 2. MM2 over the same listeners with the same client keys (tuned, as in
//!    the catch-up scenario, unless other replicators are asked for),
//! 3. kmirror over PLAINTEXT on the same clusters, so that what TLS and
//!    SASL cost kmirror is measured in the same run, on the same data.
//!
//! Measurements are named `sasl-ssl/<codec>` (runs 1 and 2) and
//! `sasl-ssl/<codec>/plaintext` (run 3); [`crate::report`] turns them into
//! the two goals: kmirror's CPU per GB over SASL_SSL at most 1/10 of MM2
//! tuned's, and at most 1.5 times its own over PLAINTEXT.

use anyhow::{Context as _, Result};
use kmirror_testbed::{ClientAuth, Compression, KafkaCluster, SecuredListener, KMIRROR_USER};

use super::{start_cluster_pair, Bench, CatchUp, CompareOptions, Scenario, Side};
use crate::replicator::{FlowSpec, ReplicatorKind};

/// How a replicator reaches a secured cluster: the SASL_SSL listener and
/// the client keys (`security.protocol`, `ssl.truststore.*`, `sasl.*`).
#[derive(Clone)]
pub struct SecuredAccess {
    pub bootstrap: String,
    pub props: Vec<(String, String)>,
}

/// The keys hold the SCRAM password and the truststore password.
impl std::fmt::Debug for SecuredAccess {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SecuredAccess")
            .field("bootstrap", &self.bootstrap)
            .field(
                "props",
                &self.props.iter().map(|(k, _)| k).collect::<Vec<_>>(),
            )
            .finish()
    }
}

impl SecuredAccess {
    /// The user `kmirror` with SCRAM-SHA-512 on `cluster`'s SASL_SSL
    /// listener.
    pub fn scram_sha_512(cluster: &KafkaCluster) -> Self {
        SecuredAccess {
            bootstrap: cluster.listener_bootstrap(SecuredListener::SaslSsl.name()),
            props: cluster.java_client_props(
                SecuredListener::SaslSsl,
                &ClientAuth::scram_sha_512(KMIRROR_USER),
            ),
        }
    }
}

/// Points `flow` at the sides' SASL_SSL listeners with their client keys.
pub(super) fn secure_flow(flow: &mut FlowSpec, source: &Side, target: &Side) -> Result<()> {
    let access = |side: &Side| {
        side.secured
            .clone()
            .with_context(|| format!("{} has no secured listeners", side.cluster.name()))
    };
    apply(flow, access(source)?, access(target)?);
    Ok(())
}

fn apply(flow: &mut FlowSpec, source: SecuredAccess, target: SecuredAccess) {
    flow.source_bootstrap = source.bootstrap;
    flow.source_props = source.props;
    flow.target_bootstrap = target.bootstrap;
    flow.target_props = target.props;
}

impl CompareOptions {
    /// The SASL_SSL scenario alone, sized to take a few minutes on two
    /// cores: lz4 and uncompressed data, 512 MiB each (`quick`: 32 MiB),
    /// kmirror and MM2 tuned.
    pub fn sasl_ssl(quick: bool) -> Self {
        let base = if quick { Self::quick() } else { Self::full() };
        CompareOptions {
            scenarios: vec![Scenario::SaslSsl],
            replicators: vec![ReplicatorKind::Kmirror, ReplicatorKind::Mm2Tuned],
            codecs: vec![Compression::Lz4, Compression::None],
            catchup_bytes: if quick { 32 << 20 } else { 512 << 20 },
            catchup_other_bytes: if quick { 32 << 20 } else { 512 << 20 },
            ..base
        }
    }
}

impl Bench<'_> {
    /// Runs the scenario on a pair of secured clusters of its own.
    pub(super) fn sasl_ssl(&mut self) -> Result<()> {
        let options = self.options;
        eprintln!("[bench] sasl-ssl: starting two secured clusters");
        let (a, b) = start_cluster_pair(options.quick, true)?;
        let a = self.secured_side(a)?;
        let b = self.secured_side(b)?;
        for (i, codec) in options.codecs.iter().enumerate() {
            let topic = format!("bench-tls-{}", codec.as_str());
            self.create_topic(&a, &topic, options.partitions)?;
            let bytes = if i == 0 {
                options.catchup_bytes
            } else {
                options.catchup_other_bytes
            };
            let loaded = self.preload(&a, &topic, bytes, *codec)?;
            let tls_name = format!("sasl-ssl/{}", codec.as_str());
            let plaintext_name = format!("{tls_name}/plaintext");
            let run = |scenario, secured| CatchUp {
                scenario,
                topic: &topic,
                loaded: &loaded,
                codec: *codec,
                partitions: options.partitions,
                window: None,
                secured,
            };
            let (tls, plaintext) = (run(&tls_name, true), run(&plaintext_name, false));
            for round in 1..=options.rounds {
                for kind in options.replicators.clone() {
                    self.record(&tls_name, kind, round, |bench| {
                        bench.catch_up(&tls, kind, round, &a, &b)
                    });
                }
                if options.replicators.contains(&ReplicatorKind::Kmirror) {
                    let kind = ReplicatorKind::Kmirror;
                    self.record(&plaintext_name, kind, round, |bench| {
                        bench.catch_up(&plaintext, kind, round, &a, &b)
                    });
                }
            }
            self.delete_topics(&a, &[topic])?;
        }
        Ok(())
    }

    fn secured_side(&self, cluster: KafkaCluster) -> Result<Side> {
        let access = SecuredAccess::scram_sha_512(&cluster);
        let mut side = self.side(cluster, None)?;
        side.secured = Some(access);
        Ok(side)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::replicator::mm2_properties;

    #[test]
    fn a_secured_flow_reaches_both_clusters_over_sasl_ssl_only() {
        let mut flow = FlowSpec {
            source_alias: "a".into(),
            target_alias: "b".into(),
            source_bootstrap: "127.0.0.1:9092".into(),
            target_bootstrap: "127.0.0.1:9093".into(),
            topic: "t".into(),
            topics: None,
            partitions: 1,
            compression: Compression::Lz4,
            source_props: Vec::new(),
            target_props: Vec::new(),
        };
        let access = |port: u16| SecuredAccess {
            bootstrap: format!("127.0.0.1:{port}"),
            props: vec![
                ("security.protocol".into(), "SASL_SSL".into()),
                ("sasl.mechanism".into(), "SCRAM-SHA-512".into()),
            ],
        };
        apply(&mut flow, access(19092), access(19093));
        let text = mm2_properties(&flow, true);
        for line in [
            "a.bootstrap.servers = 127.0.0.1:19092\n",
            "b.bootstrap.servers = 127.0.0.1:19093\n",
            "a.security.protocol = SASL_SSL\n",
            "b.security.protocol = SASL_SSL\n",
            "b.sasl.mechanism = SCRAM-SHA-512\n",
        ] {
            assert!(text.contains(line), "{line:?} missing in:\n{text}");
        }
        assert!(
            !text.contains(":9092\n") && !text.contains(":9093\n"),
            "{text}"
        );
    }

    #[test]
    fn debug_hides_the_values() {
        let access = SecuredAccess {
            bootstrap: "127.0.0.1:1".into(),
            props: vec![("sasl.jaas.config".into(), "password=\"s3cret\"".into())],
        };
        let debug = format!("{access:?}");
        assert!(debug.contains("sasl.jaas.config"), "{debug}");
        assert!(!debug.contains("s3cret"), "{debug}");
    }
}
