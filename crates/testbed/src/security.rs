//! Secured listeners for test clusters: TLS (with the [`crate::pki`]
//! certificates), SASL users, the StandardAuthorizer, and the Java client
//! properties that reach each listener.
//!
//! A secured cluster keeps its PLAINTEXT listener (the test bed's own admin
//! and JSON-lines tools use it, as the super user `User:ANONYMOUS`) and its
//! PLAINTEXT CONTROLLER listener (SCRAM on the controller listener is a known
//! gap), and adds one listener per [`SecuredListener`], each on its own port
//! on every broker.

use std::fmt;
use std::time::Duration;

use crate::oauth::TokenServer;
use crate::pki::{test_pki, KeyStoreForm, PemKeyPair, TestPki, TrustStoreForm};

/// The super user every secured cluster has, on every SASL mechanism.
pub const ADMIN_USER: &str = "admin";
/// The user kmirror is meant to run as; it has no ACLs until a test grants
/// them (with the authorizer on, it may do nothing at first).
pub const KMIRROR_USER: &str = "kmirror";

/// The listeners a cluster started with
/// [`KafkaClusterBuilder::secured`](crate::KafkaClusterBuilder::secured) has
/// beside PLAINTEXT. [`SecuredListener::name`] is the Kafka listener name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SecuredListener {
    /// `SASL_SSL`: PLAIN, SCRAM-SHA-256 and SCRAM-SHA-512; the good broker
    /// certificate.
    SaslSsl,
    /// `SSL` with `ssl.client.auth=required`: clients authenticate with the
    /// PKI's client certificate, principal [`crate::pki::CLIENT_PRINCIPAL`].
    MutualTls,
    /// `SASL_PLAINTEXT`: the SASL_SSL mechanisms without TLS.
    SaslPlaintext,
    /// `SSL_EXPIRED` (SSL): a broker certificate whose validity has ended.
    ExpiredCert,
    /// `SSL_WRONG_HOST` (SSL): a certificate for
    /// [`crate::pki::WRONG_HOST`] only.
    WrongHostCert,
    /// `SSL_UNTRUSTED` (SSL): a certificate signed by a CA nobody trusts.
    UntrustedCert,
    /// `OAUTH` (SASL_SSL): OAUTHBEARER only, tokens checked against the
    /// [`TokenServer`]'s JWKS. Present only with
    /// [`SecurityOptions::oauth`].
    OAuthBearer,
}

impl SecuredListener {
    /// Every listener but [`SecuredListener::OAuthBearer`].
    pub const ALWAYS: [Self; 6] = [
        Self::SaslSsl,
        Self::MutualTls,
        Self::SaslPlaintext,
        Self::ExpiredCert,
        Self::WrongHostCert,
        Self::UntrustedCert,
    ];

    /// The Kafka listener name, as `listener_bootstrap` takes it.
    pub fn name(self) -> &'static str {
        match self {
            Self::SaslSsl => "SASL_SSL",
            Self::MutualTls => "SSL",
            Self::SaslPlaintext => "SASL_PLAINTEXT",
            Self::ExpiredCert => "SSL_EXPIRED",
            Self::WrongHostCert => "SSL_WRONG_HOST",
            Self::UntrustedCert => "SSL_UNTRUSTED",
            Self::OAuthBearer => "OAUTH",
        }
    }

    /// Its `security.protocol`.
    pub fn protocol(self) -> &'static str {
        match self {
            Self::SaslSsl | Self::OAuthBearer => "SASL_SSL",
            Self::SaslPlaintext => "SASL_PLAINTEXT",
            Self::MutualTls | Self::ExpiredCert | Self::WrongHostCert | Self::UntrustedCert => {
                "SSL"
            }
        }
    }

    /// The listener called `name` (as Kafka spells it, any case).
    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALWAYS
            .into_iter()
            .chain([Self::OAuthBearer])
            .find(|l| l.name().eq_ignore_ascii_case(name))
    }

    fn uses_tls(self) -> bool {
        self.protocol() != "SASL_PLAINTEXT"
    }

    fn broker_cert(self, pki: &TestPki) -> Option<&PemKeyPair> {
        match self {
            Self::SaslSsl | Self::MutualTls | Self::OAuthBearer => Some(&pki.broker),
            Self::ExpiredCert => Some(&pki.broker_expired),
            Self::WrongHostCert => Some(&pki.broker_wrong_host),
            Self::UntrustedCert => Some(&pki.broker_untrusted),
            Self::SaslPlaintext => None,
        }
    }

    fn sasl_mechanisms(self) -> &'static [SaslMechanism] {
        match self {
            Self::SaslSsl | Self::SaslPlaintext => &[
                SaslMechanism::Plain,
                SaslMechanism::ScramSha256,
                SaslMechanism::ScramSha512,
            ],
            Self::OAuthBearer => &[SaslMechanism::OAuthBearer],
            _ => &[],
        }
    }
}

/// A SASL mechanism the secured listeners enable.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SaslMechanism {
    Plain,
    ScramSha256,
    ScramSha512,
    OAuthBearer,
}

impl SaslMechanism {
    /// The name `sasl.mechanism` takes.
    pub fn name(self) -> &'static str {
        match self {
            Self::Plain => "PLAIN",
            Self::ScramSha256 => "SCRAM-SHA-256",
            Self::ScramSha512 => "SCRAM-SHA-512",
            Self::OAuthBearer => "OAUTHBEARER",
        }
    }

    fn login_module(self) -> &'static str {
        match self {
            Self::Plain => "org.apache.kafka.common.security.plain.PlainLoginModule",
            Self::ScramSha256 | Self::ScramSha512 => {
                "org.apache.kafka.common.security.scram.ScramLoginModule"
            }
            Self::OAuthBearer => {
                "org.apache.kafka.common.security.oauthbearer.OAuthBearerLoginModule"
            }
        }
    }
}

/// A user of the PLAIN and SCRAM mechanisms (the same password on each).
#[derive(Clone, PartialEq, Eq)]
pub struct SaslUser {
    pub name: String,
    pub password: String,
}

impl fmt::Debug for SaslUser {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SaslUser")
            .field("name", &self.name)
            .field("password", &"<redacted>")
            .finish()
    }
}

/// What [`KafkaClusterBuilder::secured`](crate::KafkaClusterBuilder::secured)
/// adds to a cluster. `new()` has the users [`ADMIN_USER`] and
/// [`KMIRROR_USER`] with random passwords, no authorizer, no
/// re-authentication limit and no OAUTHBEARER listener.
#[derive(Debug, Clone)]
pub struct SecurityOptions {
    pub(crate) users: Vec<SaslUser>,
    pub(crate) authorizer: bool,
    pub(crate) super_users: Vec<String>,
    pub(crate) reauth: Option<Duration>,
    pub(crate) oauth: Option<OAuthListener>,
    pub(crate) tls_key_update_bytes: Option<u64>,
}

/// Where the OAUTHBEARER listener checks tokens.
#[derive(Debug, Clone)]
pub(crate) struct OAuthListener {
    pub(crate) jwks_url: String,
    pub(crate) audience: String,
}

impl Default for SecurityOptions {
    fn default() -> Self {
        Self::new()
    }
}

impl SecurityOptions {
    pub fn new() -> Self {
        let users = [ADMIN_USER, KMIRROR_USER]
            .into_iter()
            .map(|name| SaslUser {
                name: name.to_string(),
                password: crate::pki::random_secret(&format!("{name}-pw")),
            })
            .collect();
        Self {
            users,
            authorizer: false,
            super_users: vec!["User:ANONYMOUS".to_string(), format!("User:{ADMIN_USER}")],
            reauth: None,
            oauth: None,
            tls_key_update_bytes: None,
        }
    }

    /// Adds a user (or sets the password of an existing one) for PLAIN,
    /// SCRAM-SHA-256 and SCRAM-SHA-512.
    ///
    /// # Panics
    /// If the name or password holds a character outside letters, digits and
    /// `-_.~!@#%^&*+`: the storage tool's `--add-scram` syntax and the JAAS
    /// text carry them unquoted.
    pub fn user(mut self, name: &str, password: &str) -> Self {
        let safe = |s: &str| {
            !s.is_empty()
                && s.chars()
                    .all(|c| c.is_ascii_alphanumeric() || "-_.~!@#%^&*+".contains(c))
        };
        assert!(
            safe(name) && safe(password),
            "SASL user {name:?}: use letters, digits and -_.~!@#%^&*+ in names and passwords"
        );
        self.users.retain(|u| u.name != name);
        self.users.push(SaslUser {
            name: name.to_string(),
            password: password.to_string(),
        });
        self
    }

    /// Turns on `org.apache.kafka.metadata.authorizer.StandardAuthorizer`:
    /// with it, a principal may do only what an ACL allows, except the super
    /// users `User:ANONYMOUS` (every PLAINTEXT client, the brokers
    /// themselves and TLS clients without a certificate) and
    /// `User:`[`ADMIN_USER`].
    pub fn authorizer(mut self) -> Self {
        self.authorizer = true;
        self
    }

    /// Adds a super user principal (`User:name`), for the authorizer.
    pub fn super_user(mut self, principal: &str) -> Self {
        self.super_users.push(principal.to_string());
        self
    }

    /// `connections.max.reauth.ms`: the broker closes a SASL connection that
    /// has not re-authenticated (KIP-368) within this long.
    pub fn reauthentication(mut self, max: Duration) -> Self {
        self.reauth = Some(max);
        self
    }

    /// Adds the [`SecuredListener::OAuthBearer`] listener, which accepts the
    /// tokens `server` issues (it checks signature, expiry and audience).
    pub fn oauth(mut self, server: &TokenServer) -> Self {
        self.oauth = Some(OAuthListener {
            jwks_url: server.jwks_url(),
            audience: server.audience().to_string(),
        });
        self
    }

    /// TLS 1.3 key updates every `bytes` (the JDK's `jdk.tls.keyLimits`,
    /// 2^37 bytes by default): the broker then sends a KeyUpdate asking the
    /// client for one in return each time that much has been read or
    /// written on a connection, so tests see key updates without moving
    /// terabytes.
    pub fn tls_key_update_bytes(mut self, bytes: u64) -> Self {
        self.tls_key_update_bytes = Some(bytes);
        self
    }

    /// The `java.security` overrides a broker JVM needs, if any.
    pub(crate) fn java_security_overrides(&self) -> Option<String> {
        self.tls_key_update_bytes.map(|bytes| {
            format!(
                "jdk.tls.keyLimits=AES/GCM/NoPadding KeyUpdate {bytes}, \
                 ChaCha20-Poly1305 KeyUpdate {bytes}\n"
            )
        })
    }

    pub(crate) fn listeners(&self) -> Vec<SecuredListener> {
        let mut listeners = SecuredListener::ALWAYS.to_vec();
        if self.oauth.is_some() {
            listeners.push(SecuredListener::OAuthBearer);
        }
        listeners
    }

    /// The password of `user`.
    ///
    /// # Panics
    /// If there is no such user.
    pub fn password(&self, user: &str) -> &str {
        self.users
            .iter()
            .find(|u| u.name == user)
            .map(|u| u.password.as_str())
            .unwrap_or_else(|| panic!("no SASL user {user:?} on this cluster"))
    }

    pub fn users(&self) -> &[SaslUser] {
        &self.users
    }

    /// `kafka-storage format --add-scram` values seeding every user for
    /// both SCRAM mechanisms.
    pub(crate) fn scram_credentials(&self) -> Vec<String> {
        let mut args = Vec::new();
        for mechanism in [SaslMechanism::ScramSha256, SaslMechanism::ScramSha512] {
            for user in &self.users {
                args.push(format!(
                    "{}=[name={},password={}]",
                    mechanism.name(),
                    user.name,
                    user.password
                ));
            }
        }
        args
    }

    /// The `server.properties` entries of one broker whose secured
    /// listeners are on `ports`; `listeners`, `advertised.listeners` and the
    /// protocol map include PLAINTEXT and CONTROLLER.
    pub(crate) fn broker_props(
        &self,
        plaintext_port: u16,
        controller_port: u16,
        ports: &[(SecuredListener, u16)],
    ) -> Vec<(String, String)> {
        let pki = test_pki();
        let mut listeners = vec![
            format!("PLAINTEXT://127.0.0.1:{plaintext_port}"),
            format!("CONTROLLER://127.0.0.1:{controller_port}"),
        ];
        let mut advertised = vec![format!("PLAINTEXT://127.0.0.1:{plaintext_port}")];
        let mut protocols = vec![
            "PLAINTEXT:PLAINTEXT".to_string(),
            "CONTROLLER:PLAINTEXT".to_string(),
        ];
        let mut props: Vec<(String, String)> = Vec::new();
        let mut set = |key: String, value: String| props.push((key, value));
        for &(listener, port) in ports {
            let name = listener.name();
            let prefix = format!("listener.name.{}.", name.to_ascii_lowercase());
            listeners.push(format!("{name}://127.0.0.1:{port}"));
            advertised.push(format!("{name}://127.0.0.1:{port}"));
            protocols.push(format!("{name}:{}", listener.protocol()));
            if let Some(cert) = listener.broker_cert(pki) {
                // A PEM key store file holds the encrypted key and the chain;
                // Kafka wants ssl.key.password and no store password for it.
                set(format!("{prefix}ssl.keystore.type"), "PEM".into());
                set(
                    format!("{prefix}ssl.keystore.location"),
                    cert.keystore.display().to_string(),
                );
                set(
                    format!("{prefix}ssl.key.password"),
                    cert.key_password.clone(),
                );
            }
            if listener == SecuredListener::MutualTls {
                set(format!("{prefix}ssl.client.auth"), "required".into());
                set(format!("{prefix}ssl.truststore.type"), "PEM".into());
                set(
                    format!("{prefix}ssl.truststore.location"),
                    pki.ca_pem.display().to_string(),
                );
            }
            let mechanisms = listener.sasl_mechanisms();
            if !mechanisms.is_empty() {
                let names: Vec<&str> = mechanisms.iter().map(|m| m.name()).collect();
                set(format!("{prefix}sasl.enabled.mechanisms"), names.join(","));
            }
            for &mechanism in mechanisms {
                let mech_prefix = format!("{prefix}{}.", mechanism.name().to_ascii_lowercase());
                let mut jaas = format!("{} required", mechanism.login_module());
                if mechanism == SaslMechanism::Plain {
                    for user in &self.users {
                        jaas.push_str(&format!(" user_{}=\"{}\"", user.name, user.password));
                    }
                }
                jaas.push(';');
                set(format!("{mech_prefix}sasl.jaas.config"), jaas);
                if mechanism == SaslMechanism::OAuthBearer {
                    let oauth = self
                        .oauth
                        .as_ref()
                        .expect("the OAUTH listener exists only with oauth settings");
                    set(
                        format!("{mech_prefix}sasl.server.callback.handler.class"),
                        "org.apache.kafka.common.security.oauthbearer.OAuthBearerValidatorCallbackHandler"
                            .into(),
                    );
                    set(
                        format!("{mech_prefix}sasl.oauthbearer.jwks.endpoint.url"),
                        oauth.jwks_url.clone(),
                    );
                    set(
                        format!("{mech_prefix}sasl.oauthbearer.expected.audience"),
                        oauth.audience.clone(),
                    );
                }
            }
        }
        if let Some(max) = self.reauth {
            set(
                "connections.max.reauth.ms".into(),
                max.as_millis().to_string(),
            );
        }
        if self.authorizer {
            set(
                "authorizer.class.name".into(),
                "org.apache.kafka.metadata.authorizer.StandardAuthorizer".into(),
            );
            set("super.users".into(), self.super_users.join(";"));
        }
        props.push(("listeners".into(), listeners.join(",")));
        props.push(("advertised.listeners".into(), advertised.join(",")));
        props.push(("listener.security.protocol.map".into(), protocols.join(",")));
        props
    }
}

/// How a Java client authenticates to a [`SecuredListener`] (see
/// [`crate::KafkaCluster::java_client_props`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ClientAuth {
    /// No client identity: TLS only checks the broker (for the certificate
    /// listeners).
    Anonymous,
    /// A SASL user of the cluster with its password.
    Sasl {
        mechanism: SaslMechanism,
        user: String,
    },
    /// A SASL user with the wrong password.
    SaslWrongPassword {
        mechanism: SaslMechanism,
        user: String,
    },
    /// The PKI's client certificate (by default from its PKCS12 key store;
    /// see [`KeyStoreForm`]).
    ClientCertificate,
    /// OAuth client credentials against the cluster's token endpoint.
    OAuth {
        token_url: String,
        client_id: String,
        client_secret: String,
    },
}

impl ClientAuth {
    pub fn scram_sha_256(user: &str) -> Self {
        Self::Sasl {
            mechanism: SaslMechanism::ScramSha256,
            user: user.to_string(),
        }
    }

    pub fn scram_sha_512(user: &str) -> Self {
        Self::Sasl {
            mechanism: SaslMechanism::ScramSha512,
            user: user.to_string(),
        }
    }

    pub fn plain(user: &str) -> Self {
        Self::Sasl {
            mechanism: SaslMechanism::Plain,
            user: user.to_string(),
        }
    }

    /// The client credentials `server` issues tokens for.
    pub fn oauth(server: &TokenServer) -> Self {
        Self::OAuth {
            token_url: server.token_url(),
            client_id: server.client_id().to_string(),
            client_secret: server.client_secret().to_string(),
        }
    }
}

/// Java client properties (`security.protocol`, `ssl.*`, `sasl.*`) for
/// `listener` with `auth`, the CA trusted through `trust` and (for
/// [`ClientAuth::ClientCertificate`]) the client key in `key`. The host name
/// is checked (Kafka's default).
pub(crate) fn java_client_props(
    options: &SecurityOptions,
    listener: SecuredListener,
    auth: &ClientAuth,
    trust: TrustStoreForm,
    key: KeyStoreForm,
) -> Vec<(String, String)> {
    let mut props = vec![(
        "security.protocol".to_string(),
        listener.protocol().to_string(),
    )];
    let mut set = |k: &str, v: String| props.push((k.to_string(), v));
    if listener.uses_tls() {
        for (k, v) in trust.props() {
            set(&k, v);
        }
    }
    match auth {
        ClientAuth::Anonymous => {}
        ClientAuth::Sasl { mechanism, user }
        | ClientAuth::SaslWrongPassword { mechanism, user } => {
            let password = if matches!(auth, ClientAuth::Sasl { .. }) {
                options.password(user).to_string()
            } else {
                format!("not-{}", options.password(user))
            };
            set("sasl.mechanism", mechanism.name().to_string());
            set(
                "sasl.jaas.config",
                format!(
                    "{} required username=\"{user}\" password=\"{password}\";",
                    mechanism.login_module()
                ),
            );
        }
        ClientAuth::ClientCertificate => {
            for (k, v) in key.props() {
                set(&k, v);
            }
        }
        ClientAuth::OAuth {
            token_url,
            client_id,
            client_secret,
        } => {
            set("sasl.mechanism", "OAUTHBEARER".into());
            set(
                "sasl.login.callback.handler.class",
                "org.apache.kafka.common.security.oauthbearer.OAuthBearerLoginCallbackHandler"
                    .into(),
            );
            set("sasl.oauthbearer.token.endpoint.url", token_url.clone());
            set(
                "sasl.jaas.config",
                format!(
                    "{} required clientId=\"{client_id}\" clientSecret=\"{client_secret}\" scope=\"kafka\";",
                    SaslMechanism::OAuthBearer.login_module()
                ),
            );
        }
    }
    props
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn listener_names_round_trip_and_map_to_protocols() {
        for listener in SecuredListener::ALWAYS
            .into_iter()
            .chain([SecuredListener::OAuthBearer])
        {
            assert_eq!(SecuredListener::from_name(listener.name()), Some(listener));
            assert_eq!(
                SecuredListener::from_name(&listener.name().to_ascii_lowercase()),
                Some(listener)
            );
        }
        assert_eq!(SecuredListener::from_name("PLAINTEXT"), None);
        assert_eq!(SecuredListener::MutualTls.protocol(), "SSL");
        assert_eq!(SecuredListener::WrongHostCert.protocol(), "SSL");
        assert_eq!(SecuredListener::OAuthBearer.protocol(), "SASL_SSL");
        assert_eq!(SecuredListener::SaslPlaintext.protocol(), "SASL_PLAINTEXT");
    }

    #[test]
    fn every_user_is_seeded_for_both_scram_mechanisms() {
        let options = SecurityOptions::new().user("alice", "a-pw");
        let credentials = options.scram_credentials();
        assert_eq!(credentials.len(), 6);
        assert!(credentials.contains(&"SCRAM-SHA-256=[name=alice,password=a-pw]".to_string()));
        assert!(credentials.contains(&"SCRAM-SHA-512=[name=alice,password=a-pw]".to_string()));
        let kmirror = options.password(KMIRROR_USER);
        assert!(credentials.contains(&format!("SCRAM-SHA-512=[name=kmirror,password={kmirror}]")));
        // Replacing a user's password keeps one entry per user.
        let options = options.user("alice", "b-pw");
        assert_eq!(options.users().len(), 3);
        assert_eq!(options.password("alice"), "b-pw");
    }

    #[test]
    #[should_panic(expected = "use letters, digits")]
    fn passwords_that_break_the_format_syntax_are_refused() {
        let _ = SecurityOptions::new().user("bob", "a,b=c");
    }

    #[test]
    fn sasl_plaintext_client_props_carry_the_user_and_no_tls() {
        let options = SecurityOptions::new();
        let props = java_client_props(
            &options,
            SecuredListener::SaslPlaintext,
            &ClientAuth::scram_sha_256(KMIRROR_USER),
            TrustStoreForm::Jks,
            KeyStoreForm::Pkcs12,
        );
        let get = |key: &str| {
            props
                .iter()
                .find(|(k, _)| k == key)
                .map(|(_, v)| v.as_str())
        };
        assert_eq!(get("security.protocol"), Some("SASL_PLAINTEXT"));
        assert_eq!(get("sasl.mechanism"), Some("SCRAM-SHA-256"));
        let jaas = get("sasl.jaas.config").expect("a JAAS config");
        assert!(
            jaas.starts_with("org.apache.kafka.common.security.scram.ScramLoginModule required")
        );
        assert!(jaas.contains(&format!("password=\"{}\"", options.password(KMIRROR_USER))));
        assert!(props.iter().all(|(k, _)| !k.starts_with("ssl.")));

        let wrong = java_client_props(
            &options,
            SecuredListener::SaslPlaintext,
            &ClientAuth::SaslWrongPassword {
                mechanism: SaslMechanism::Plain,
                user: KMIRROR_USER.to_string(),
            },
            TrustStoreForm::Jks,
            KeyStoreForm::Pkcs12,
        );
        let jaas = &wrong
            .iter()
            .find(|(k, _)| k == "sasl.jaas.config")
            .unwrap()
            .1;
        assert!(!jaas.contains(&format!("password=\"{}\"", options.password(KMIRROR_USER))));
    }
}
