//! How a connection is secured, configured from the Kafka client keys an
//! operator already has for MM2: `security.protocol`, `ssl.*` (TLS through
//! rustls) and `sasl.*` (PLAIN, SCRAM-SHA-256/512, OAUTHBEARER).
//!
//! [`SecurityConfig::from_properties`] reads the keys once, loads trust and
//! key stores, and fails with a [`SecurityError`] naming the key to change;
//! connections then use it through [`crate::transport`] (TLS) and
//! [`sasl`] (authentication right after ApiVersions, and again before the
//! broker's session lifetime ends).
//!
//! ```no_run
//! # async fn f() -> Result<(), Box<dyn std::error::Error>> {
//! use kmirror_client::security::SecurityConfig;
//! let (security, _ignored) = SecurityConfig::from_properties([
//!     ("security.protocol", "SASL_SSL"),
//!     ("sasl.mechanism", "SCRAM-SHA-512"),
//!     ("sasl.jaas.config", r#"org.apache.kafka.common.security.scram.ScramLoginModule required username="kmirror" password="secret";"#),
//!     ("ssl.truststore.type", "PEM"),
//!     ("ssl.truststore.location", "/etc/kafka/ca.pem"),
//! ])?;
//! # Ok(()) }
//! ```

mod error;
pub mod jaas;
mod jks;
mod legacy_pbe;
pub mod oauth;
mod record;
pub mod sasl;
pub mod scram;
mod stores;
pub mod tls;
pub(crate) mod tls_stream;

use std::collections::HashMap;
use std::fmt;
use std::sync::Arc;

use rustls::pki_types::CertificateDer;

pub use error::{SecurityError, StoreProblem};
pub use jks::JksError;

use self::sasl::{SaslCredentials, SaslMechanism, SaslSettings};
use self::stores::{KeystoreSettings, StoreType};
use self::tls::TlsSettings;

/// `security.protocol`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum SecurityProtocol {
    #[default]
    Plaintext,
    Ssl,
    SaslPlaintext,
    SaslSsl,
}

impl SecurityProtocol {
    /// Parses the value as Java does: case-insensitively.
    pub fn parse(value: &str) -> Result<Self, SecurityError> {
        match value.trim().to_ascii_uppercase().as_str() {
            "PLAINTEXT" => Ok(SecurityProtocol::Plaintext),
            "SSL" => Ok(SecurityProtocol::Ssl),
            "SASL_PLAINTEXT" => Ok(SecurityProtocol::SaslPlaintext),
            "SASL_SSL" => Ok(SecurityProtocol::SaslSsl),
            _ => Err(SecurityError::InvalidValue {
                key: "security.protocol",
                value: value.to_string(),
                expected: "PLAINTEXT, SSL, SASL_PLAINTEXT or SASL_SSL",
            }),
        }
    }

    pub fn uses_tls(self) -> bool {
        matches!(self, SecurityProtocol::Ssl | SecurityProtocol::SaslSsl)
    }

    pub fn uses_sasl(self) -> bool {
        matches!(
            self,
            SecurityProtocol::SaslPlaintext | SecurityProtocol::SaslSsl
        )
    }

    pub fn name(self) -> &'static str {
        match self {
            SecurityProtocol::Plaintext => "PLAINTEXT",
            SecurityProtocol::Ssl => "SSL",
            SecurityProtocol::SaslPlaintext => "SASL_PLAINTEXT",
            SecurityProtocol::SaslSsl => "SASL_SSL",
        }
    }
}

impl fmt::Display for SecurityProtocol {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A security setting that was given but means nothing to kmirror's TLS
/// and SASL stack; reported once at start.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IgnoredSetting {
    pub key: String,
    pub reason: &'static str,
}

/// Keys that configure Java's TLS or SASL machinery and have no meaning with
/// rustls and kmirror's own SASL client.
const IGNORED_KEYS: &[(&str, &str)] = &[
    ("ssl.provider", "rustls has no JCA providers"),
    ("ssl.cipher.suites", "rustls offers only its own safe cipher suites"),
    ("ssl.keymanager.algorithm", "rustls has no JCA key managers"),
    ("ssl.trustmanager.algorithm", "rustls has no JCA trust managers"),
    ("ssl.secure.random.implementation", "rustls uses the ring provider's random source"),
    ("ssl.engine.factory.class", "TLS is rustls, not a pluggable Java SSLEngine"),
    ("sasl.login.class", "kmirror logs in with its own SASL client"),
    ("sasl.login.callback.handler.class", "kmirror logs in with its own SASL client (OAUTHBEARER: the client-credentials flow is built in)"),
    ("sasl.client.callback.handler.class", "kmirror logs in with its own SASL client"),
    ("sasl.login.refresh.window.factor", "tokens are refreshed at 80% of their lifetime"),
    ("sasl.login.refresh.window.jitter", "tokens are refreshed at 80% of their lifetime"),
    ("sasl.login.refresh.min.period.seconds", "tokens are refreshed at 80% of their lifetime"),
    ("sasl.login.refresh.buffer.seconds", "tokens are refreshed at 80% of their lifetime"),
];

/// Everything needed to open secured connections to one cluster. Cheap to
/// clone. `Debug` names the protocol, mechanism and user, never a secret.
#[derive(Clone, Default)]
pub struct SecurityConfig {
    protocol: SecurityProtocol,
    tls: Option<Arc<TlsSettings>>,
    sasl: Option<Arc<SaslSettings>>,
}

impl fmt::Debug for SecurityConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut s = f.debug_struct("SecurityConfig");
        s.field("protocol", &self.protocol);
        if let Some(tls) = &self.tls {
            s.field("tls", tls);
        }
        if let Some(sasl) = &self.sasl {
            s.field("sasl", sasl);
        }
        s.finish()
    }
}

impl SecurityConfig {
    /// PLAINTEXT: no TLS, no SASL.
    pub fn plaintext() -> Self {
        Self::default()
    }

    /// Reads the security keys among `properties` (other keys are ignored),
    /// loads stores and key files, and returns the config with the settings
    /// that have no meaning here.
    pub fn from_properties<K, V>(
        properties: impl IntoIterator<Item = (K, V)>,
    ) -> Result<(Self, Vec<IgnoredSetting>), SecurityError>
    where
        K: AsRef<str>,
        V: AsRef<str>,
    {
        let props = Properties(
            properties
                .into_iter()
                .map(|(k, v)| (k.as_ref().to_string(), v.as_ref().to_string()))
                .collect(),
        );
        let get = |key: &str| props.get(key);
        let protocol = get("security.protocol")
            .map(SecurityProtocol::parse)
            .transpose()?
            .unwrap_or_default();
        let mut ignored = Vec::new();
        // Read once: TLS and an https OAuth token endpoint trust the same CAs.
        let trusted = if protocol != SecurityProtocol::Plaintext {
            read_trusted(&props)?
        } else {
            None
        };
        let tls = if protocol.uses_tls() {
            Some(Arc::new(read_tls(&props, trusted.clone(), &mut ignored)?))
        } else {
            None
        };
        let sasl = if protocol.uses_sasl() {
            Some(Arc::new(read_sasl(&props, trusted)?))
        } else {
            None
        };
        if protocol != SecurityProtocol::Plaintext {
            for (key, reason) in IGNORED_KEYS {
                if get(key).is_some_and(|v| !v.trim().is_empty()) {
                    ignored.push(IgnoredSetting {
                        key: (*key).to_string(),
                        reason,
                    });
                }
            }
        }
        Ok((
            SecurityConfig {
                protocol,
                tls,
                sasl,
            },
            ignored,
        ))
    }

    pub fn protocol(&self) -> SecurityProtocol {
        self.protocol
    }

    pub(crate) fn tls(&self) -> Option<&TlsSettings> {
        self.tls.as_deref()
    }

    pub(crate) fn sasl(&self) -> Option<&Arc<SaslSettings>> {
        self.sasl.as_ref()
    }

    /// The principal the broker sees, where kmirror knows it (`User:<name>`
    /// for PLAIN and SCRAM), for messages that name an ACL to add.
    pub fn principal(&self) -> Option<String> {
        let sasl = self.sasl.as_ref()?;
        match sasl.mechanism() {
            SaslMechanism::Plain | SaslMechanism::Scram(_) => {
                Some(format!("User:{}", sasl.principal()))
            }
            SaslMechanism::OAuthBearer => None,
        }
    }

    /// The SASL mechanism in use, for messages and status.
    pub fn sasl_mechanism(&self) -> Option<SaslMechanism> {
        self.sasl.as_ref().map(|s| s.mechanism())
    }
}

/// The client properties, looked up by key.
pub(crate) struct Properties(HashMap<String, String>);

impl Properties {
    pub(crate) fn get(&self, key: &str) -> Option<&str> {
        self.0.get(key).map(String::as_str)
    }
}

/// The CA certificates of `ssl.truststore.*`, `None` when none is set.
fn read_trusted(props: &Properties) -> Result<Option<Vec<CertificateDer<'static>>>, SecurityError> {
    let get = |key: &str| props.get(key);
    stores::load_trusted_certificates(
        StoreType::parse("ssl.truststore.type", get("ssl.truststore.type"))?,
        get("ssl.truststore.location"),
        get("ssl.truststore.password").filter(|p| !p.is_empty()),
        get("ssl.truststore.certificates"),
    )
}

fn read_tls(
    props: &Properties,
    trusted: Option<Vec<CertificateDer<'static>>>,
    ignored: &mut Vec<IgnoredSetting>,
) -> Result<TlsSettings, SecurityError> {
    let get = |key: &str| props.get(key);
    let keystore_type = StoreType::parse("ssl.keystore.type", get("ssl.keystore.type"))?;
    let identity = stores::load_client_identity(KeystoreSettings {
        store_type: keystore_type,
        location: get("ssl.keystore.location"),
        store_password: get("ssl.keystore.password"),
        key_password: get("ssl.key.password"),
        inline_key: get("ssl.keystore.key"),
        inline_chain: get("ssl.keystore.certificate.chain"),
    })?;
    let verify_hostname = match get("ssl.endpoint.identification.algorithm").map(str::trim) {
        None => true,
        Some("") => false,
        Some(v) if v.eq_ignore_ascii_case("https") => true,
        Some(other) => {
            return Err(SecurityError::InvalidValue {
                key: "ssl.endpoint.identification.algorithm",
                value: other.to_string(),
                expected: "https, or empty to skip the host name check",
            })
        }
    };
    let versions = tls::TlsVersions::from_settings(
        get("ssl.protocol"),
        get("ssl.enabled.protocols"),
        ignored,
    )?;
    TlsSettings::build(trusted, identity, verify_hostname, versions)
}

fn read_sasl(
    props: &Properties,
    trusted: Option<Vec<CertificateDer<'static>>>,
) -> Result<SaslSettings, SecurityError> {
    let get = |key: &str| props.get(key);
    let mechanism = SaslMechanism::parse(get("sasl.mechanism"))?;
    let jaas_text = get("sasl.jaas.config")
        .filter(|t| !t.trim().is_empty())
        .ok_or(SecurityError::Missing {
            key: "sasl.jaas.config",
            context: "a SASL security.protocol",
        })?;
    let module = jaas::parse_jaas_config(jaas_text).map_err(SecurityError::Jaas)?;
    let credentials = match mechanism {
        SaslMechanism::Plain | SaslMechanism::Scram(_) => {
            let user = module.option("username").ok_or(SecurityError::JaasOption {
                option: "username",
                mechanism: mechanism.name(),
            })?;
            let password = module.option("password").ok_or(SecurityError::JaasOption {
                option: "password",
                mechanism: mechanism.name(),
            })?;
            SaslCredentials::Password {
                user: user.to_string(),
                password: password.to_string(),
            }
        }
        SaslMechanism::OAuthBearer => SaslCredentials::OAuth(
            oauth::ClientCredentials::from_settings(props, &module, trusted)?,
        ),
    };
    SaslSettings::new(mechanism, credentials)
}
