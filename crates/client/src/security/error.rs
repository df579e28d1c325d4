//! Why a cluster's security settings cannot be used. Every message names the
//! key to change and never a secret: values are echoed only for keys that
//! hold no secret (protocol names, store types, file paths).

use super::jaas::JaasError;
use super::jks::JksError;

/// A configuration problem in `security.protocol`, `ssl.*` or `sasl.*`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SecurityError {
    #[error("{key}={value} is not valid: expected {expected}")]
    InvalidValue {
        key: &'static str,
        value: String,
        expected: &'static str,
    },
    #[error("{key} must be set for {context}")]
    Missing {
        key: &'static str,
        context: &'static str,
    },
    #[error("{key} is inline PEM and needs {type_key}=PEM")]
    InlineNeedsPem {
        key: &'static str,
        type_key: &'static str,
    },
    #[error("sasl.mechanism is not set, so Kafka's default GSSAPI (Kerberos) applies, which kmirror does not support: set sasl.mechanism to PLAIN, SCRAM-SHA-256, SCRAM-SHA-512 or OAUTHBEARER")]
    GssapiDefault,
    #[error("sasl.mechanism={0} is not supported: use PLAIN, SCRAM-SHA-256, SCRAM-SHA-512 or OAUTHBEARER")]
    UnsupportedMechanism(String),
    #[error("sasl.jaas.config {0}")]
    Jaas(JaasError),
    #[error("sasl.jaas.config has no `{option}` option, which {mechanism} needs")]
    JaasOption {
        option: &'static str,
        mechanism: &'static str,
    },
    #[error("{key}={path}: {problem}")]
    Store {
        key: &'static str,
        path: String,
        problem: StoreProblem,
    },
    #[error("no ssl.truststore.location or ssl.truststore.certificates is set and the system has no trusted root certificates: set ssl.truststore.*")]
    NoSystemRoots,
    #[error("ssl.keystore.*: the client certificate and key cannot be used: {0}")]
    UnusableIdentity(String),
    #[error("ssl.enabled.protocols / ssl.protocol leave no TLS version kmirror speaks (TLSv1.2, TLSv1.3)")]
    NoTlsVersion,
}

/// What is wrong with a store or key file.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StoreProblem {
    #[error("cannot read the file ({0})")]
    Unreadable(String),
    #[error("not valid PEM")]
    NotPem,
    #[error("holds no certificate")]
    NoCertificate,
    #[error("holds no private key")]
    NoPrivateKey,
    #[error("a certificate in it cannot be parsed")]
    BadCertificate,
    #[error("{0} (check the store type and ssl.*store.password)")]
    Jks(JksError),
    #[error("not a PKCS12 file, or ssl.*store.password is wrong")]
    Pkcs12,
    #[error("the encrypted private key does not decrypt: ssl.key.password is wrong")]
    KeyPassword,
}

impl SecurityError {
    /// The key an operator should look at first.
    pub fn key(&self) -> &'static str {
        match self {
            SecurityError::InvalidValue { key, .. }
            | SecurityError::Missing { key, .. }
            | SecurityError::InlineNeedsPem { key, .. }
            | SecurityError::Store { key, .. } => key,
            SecurityError::GssapiDefault | SecurityError::UnsupportedMechanism(_) => {
                "sasl.mechanism"
            }
            SecurityError::Jaas(_) | SecurityError::JaasOption { .. } => "sasl.jaas.config",
            SecurityError::NoSystemRoots => "ssl.truststore.location",
            SecurityError::UnusableIdentity(_) => "ssl.keystore.location",
            SecurityError::NoTlsVersion => "ssl.enabled.protocols",
        }
    }
}
