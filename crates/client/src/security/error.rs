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
    #[error("{key}={path}: {problem}{}", problem.hint(key))]
    Store {
        key: &'static str,
        path: String,
        problem: StoreProblem,
    },
    #[error("no ssl.truststore.location or ssl.truststore.certificates is set and the system has no trusted root certificates: set ssl.truststore.*")]
    NoSystemRoots,
    #[error("ssl.keystore.*: the client certificate and key cannot be used: {0}")]
    UnusableIdentity(String),
    #[error("sasl.oauthbearer.token.endpoint.url: cannot set up the HTTP client for it: {0}")]
    TokenClient(String),
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
    #[error("{0}")]
    Jks(JksError),
    #[error("not a PKCS12 file, or its password is wrong")]
    Pkcs12,
    #[error("the encrypted private key does not decrypt: ssl.key.password is wrong")]
    KeyPassword,
}

impl StoreProblem {
    /// The keys to look at for this problem of the store at `location_key`
    /// (`ssl.truststore.location` or `ssl.keystore.location`), named in
    /// full: an operator greps the file for them.
    fn hint(&self, location_key: &str) -> String {
        let (type_key, password_key) = store_keys(location_key);
        match self {
            StoreProblem::Jks(JksError::KeyPassword) => {
                "; check ssl.key.password (unset, it is ssl.keystore.password)".to_string()
            }
            StoreProblem::Jks(JksError::NotJks) => format!("; check {type_key}"),
            StoreProblem::Jks(_) | StoreProblem::Pkcs12 => {
                format!("; check {password_key} and {type_key}")
            }
            _ => String::new(),
        }
    }

    /// The key to change first for this problem of the store at
    /// `location_key`.
    fn key(&self, location_key: &'static str) -> &'static str {
        let (type_key, password_key) = store_keys(location_key);
        match self {
            StoreProblem::Jks(JksError::KeyPassword) | StoreProblem::KeyPassword => {
                "ssl.key.password"
            }
            StoreProblem::Jks(JksError::NotJks) => type_key,
            StoreProblem::Jks(_) | StoreProblem::Pkcs12 => password_key,
            _ => location_key,
        }
    }
}

/// `(type key, password key)` of the store at `location_key`.
fn store_keys(location_key: &str) -> (&'static str, &'static str) {
    if location_key.starts_with("ssl.truststore") {
        ("ssl.truststore.type", "ssl.truststore.password")
    } else {
        ("ssl.keystore.type", "ssl.keystore.password")
    }
}

impl SecurityError {
    /// The key an operator should look at first.
    pub fn key(&self) -> &'static str {
        match self {
            SecurityError::InvalidValue { key, .. }
            | SecurityError::Missing { key, .. }
            | SecurityError::InlineNeedsPem { key, .. } => key,
            SecurityError::Store { key, problem, .. } => problem.key(key),
            SecurityError::GssapiDefault | SecurityError::UnsupportedMechanism(_) => {
                "sasl.mechanism"
            }
            SecurityError::Jaas(_) | SecurityError::JaasOption { .. } => "sasl.jaas.config",
            SecurityError::NoSystemRoots => "ssl.truststore.location",
            SecurityError::UnusableIdentity(_) => "ssl.keystore.location",
            SecurityError::NoTlsVersion => "ssl.enabled.protocols",
            SecurityError::TokenClient(_) => "sasl.oauthbearer.token.endpoint.url",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn store(key: &'static str, problem: StoreProblem) -> SecurityError {
        SecurityError::Store {
            key,
            path: "/etc/kmirror/store".into(),
            problem,
        }
    }

    #[test]
    fn store_errors_name_the_exact_key_to_change() {
        let wrong = store(
            "ssl.keystore.location",
            StoreProblem::Jks(JksError::Integrity),
        );
        assert_eq!(wrong.key(), "ssl.keystore.password");
        assert!(
            wrong
                .to_string()
                .ends_with("; check ssl.keystore.password and ssl.keystore.type"),
            "{wrong}"
        );
        let wrong = store("ssl.truststore.location", StoreProblem::Pkcs12);
        assert_eq!(wrong.key(), "ssl.truststore.password");
        assert!(
            wrong.to_string().contains("check ssl.truststore.password"),
            "{wrong}"
        );
        let wrong = store(
            "ssl.keystore.location",
            StoreProblem::Jks(JksError::KeyPassword),
        );
        assert_eq!(wrong.key(), "ssl.key.password");
        assert!(
            wrong.to_string().contains("check ssl.key.password"),
            "{wrong}"
        );
        let missing = store(
            "ssl.keystore.location",
            StoreProblem::Unreadable("entity not found".into()),
        );
        assert_eq!(missing.key(), "ssl.keystore.location");
        assert_eq!(
            missing.to_string(),
            "ssl.keystore.location=/etc/kmirror/store: cannot read the file (entity not found)"
        );
    }
}
