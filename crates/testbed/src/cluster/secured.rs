//! The secured side of a [`KafkaCluster`]: its listeners' addresses, the
//! Java client properties that reach them, and Java clients over them.

use std::time::Duration;

use serde::Deserialize;

use super::KafkaCluster;
use crate::client::{self, ConsumeOptions, ConsumedRecord, ProduceOptions, TestRecord};
use crate::java::{tail, JavaCommand};
use crate::pki::{KeyStoreForm, TrustStoreForm};
use crate::security::{self, ClientAuth, SecuredListener, SecurityOptions};

/// Why a [`KafkaCluster::probe`] could not reach the cluster.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("probe refused: {error_class}: {message}")]
pub struct ProbeError {
    /// The Java exception's simple class name, e.g.
    /// `SslAuthenticationException`.
    pub error_class: String,
    /// The messages of the exception and all its causes, `|`-separated.
    pub message: String,
}

impl KafkaCluster {
    /// The security settings the cluster started with.
    ///
    /// # Panics
    /// If it was not started with
    /// [`KafkaClusterBuilder::secured`](crate::KafkaClusterBuilder::secured).
    pub fn security(&self) -> &SecurityOptions {
        self.security.as_ref().unwrap_or_else(|| {
            panic!(
                "{} has no secured listeners; start it with .secured(..)",
                self.name
            )
        })
    }

    /// The address of listener `name` (`"PLAINTEXT"` or a
    /// [`SecuredListener::name`]) on every broker, comma-separated.
    ///
    /// # Panics
    /// If the cluster has no such listener.
    pub fn listener_bootstrap(&self, name: &str) -> String {
        if name.eq_ignore_ascii_case("PLAINTEXT") {
            return self.bootstrap();
        }
        let listener = SecuredListener::from_name(name)
            .unwrap_or_else(|| panic!("{}: no listener called {name:?}", self.name));
        self.brokers
            .iter()
            .map(|broker| {
                let port = broker
                    .secured_ports
                    .iter()
                    .find(|(l, _)| *l == listener)
                    .map(|(_, port)| *port)
                    .unwrap_or_else(|| {
                        panic!(
                            "{} has no {name} listener (secured: {}, OAUTH needs SecurityOptions::oauth)",
                            self.name,
                            self.security.is_some()
                        )
                    });
                format!("127.0.0.1:{port}")
            })
            .collect::<Vec<_>>()
            .join(",")
    }

    /// Java client properties for `listener` with `auth`: `security.protocol`,
    /// the PKI's JKS truststore for TLS, and `sasl.*` or (PKCS12)
    /// `ssl.keystore.*` for the client's identity. Add them to
    /// [`ProduceOptions::props`]/[`ConsumeOptions::props`], or use
    /// [`KafkaCluster::produce_via`] and [`KafkaCluster::consume_via`].
    /// The same keys, prefixed with a cluster alias, configure kmirror or
    /// MM2.
    pub fn java_client_props(
        &self,
        listener: SecuredListener,
        auth: &ClientAuth,
    ) -> Vec<(String, String)> {
        self.java_client_props_with(listener, auth, TrustStoreForm::Jks, KeyStoreForm::Pkcs12)
    }

    /// [`KafkaCluster::java_client_props`] with the CA and the client key
    /// in the given forms.
    pub fn java_client_props_with(
        &self,
        listener: SecuredListener,
        auth: &ClientAuth,
        trust: TrustStoreForm,
        key: KeyStoreForm,
    ) -> Vec<(String, String)> {
        security::java_client_props(self.security(), listener, auth, trust, key)
    }

    /// [`KafkaCluster::produce`] through a secured listener.
    pub fn produce_via(
        &self,
        listener: SecuredListener,
        auth: &ClientAuth,
        topic: &str,
        options: &ProduceOptions,
        records: &[TestRecord],
    ) -> Vec<(i32, i64)> {
        let mut options = options.clone();
        options
            .props
            .splice(0..0, self.java_client_props(listener, auth));
        client::produce(
            &self.listener_bootstrap(listener.name()),
            topic,
            &options,
            records,
        )
    }

    /// [`KafkaCluster::consume`] through a secured listener.
    pub fn consume_via(
        &self,
        listener: SecuredListener,
        auth: &ClientAuth,
        topic: &str,
        options: &ConsumeOptions,
    ) -> Vec<ConsumedRecord> {
        let mut options = options.clone();
        options
            .props
            .splice(0..0, self.java_client_props(listener, auth));
        client::consume(&self.listener_bootstrap(listener.name()), topic, &options)
    }

    /// Whether a Java Admin client with `auth` (and `extra_props` on top,
    /// replacing the same keys, e.g. `ssl.endpoint.identification.algorithm`
    /// set to `""`) reaches the cluster through `listener`: the live broker
    /// ids, or the client's error. Answers within about 20 s.
    pub fn probe(
        &self,
        listener: SecuredListener,
        auth: &ClientAuth,
        extra_props: &[(&str, &str)],
    ) -> Result<Vec<i32>, ProbeError> {
        let mut props = self.java_client_props(listener, auth);
        for (key, value) in extra_props {
            props.retain(|(k, _)| k != key);
            props.push((key.to_string(), value.to_string()));
        }
        self.probe_with_props(listener, &props, None)
    }

    /// [`KafkaCluster::probe`] with exactly these client properties, and
    /// with `topic`, also describes it (with the authorizer on, a principal
    /// without DESCRIBE on it gets `TopicAuthorizationException`).
    pub fn probe_with_props(
        &self,
        listener: SecuredListener,
        props: &[(String, String)],
        topic: Option<&str>,
    ) -> Result<Vec<i32>, ProbeError> {
        let mut cmd = JavaCommand::test_client("probe")
            .name(format!("probe of {} via {}", self.name, listener.name()))
            .args(["--bootstrap", &self.listener_bootstrap(listener.name())])
            .timeout(Duration::from_secs(60));
        if let Some(topic) = topic {
            cmd = cmd.args(["--topic", topic]);
        }
        for (key, value) in props {
            cmd = cmd.args(["--prop", &format!("{key}={value}")]);
        }
        let output = cmd.run(b"");
        let stdout = String::from_utf8_lossy(&output.stdout);
        #[derive(Deserialize)]
        #[serde(rename_all = "camelCase")]
        struct Answer {
            ok: bool,
            #[serde(default)]
            nodes: Vec<i32>,
            #[serde(default)]
            error_class: String,
            #[serde(default)]
            error: String,
        }
        let answer: Answer = stdout
            .lines()
            .rev()
            .find_map(|line| serde_json::from_str(line).ok())
            .unwrap_or_else(|| {
                panic!(
                    "probe of {} via {} gave no answer ({}):\n{}",
                    self.name,
                    listener.name(),
                    output.status,
                    tail(&String::from_utf8_lossy(&output.stderr), 40)
                )
            });
        if answer.ok {
            Ok(answer.nodes)
        } else {
            Err(ProbeError {
                error_class: answer.error_class,
                message: answer.error,
            })
        }
    }
}
