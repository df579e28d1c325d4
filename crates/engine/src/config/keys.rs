//! The keys MM2 knows, and which of them kmirror honours. Connector-level
//! keys (top level or `source->target.<key>`) come from the flow key table
//! ([`super::mm2::flow_keys`]); the top-level keys of `MirrorMakerConfig`,
//! Connect's `RestServerConfig` and worker group, and the client security
//! keys are listed here (trunk, Kafka 4.x). When kmirror starts honouring a
//! top-level key, move it from `NOT_HONOURED_*` to `HONOURED_*`.

use super::mm2::flow_keys;

/// Whether kmirror acts on a key MM2 knows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Support {
    /// Parsed, typed and acted on (or planned in the engine's current scope).
    Honoured,
    /// Known to MM2; kmirror accepts it and reports it once at start.
    NotHonoured,
}

/// Keys only meaningful at the top level of `mm2.properties`.
const HONOURED_TOP_LEVEL_KEYS: &[&str] = &[
    "clusters",
    "bootstrap.servers",
    "config.providers",
    // Connect's worker group settings, for the flows' worker groups
    // (`runtime::group_settings`).
    "group.id",
    "session.timeout.ms",
    "heartbeat.interval.ms",
    "rebalance.timeout.ms",
];

const NOT_HONOURED_TOP_LEVEL_KEYS: &[&str] = &[
    "dedicated.mode.enable.internal.rest",
    "listeners",
    "rest.advertised.host.name",
    "rest.advertised.port",
    "rest.advertised.listener",
    "access.control.allow.origin",
    "access.control.allow.methods",
    "response.http.headers.config",
    "ssl.client.auth",
    "admin.listeners",
    "rest.extension.classes",
];

/// Security settings of Kafka clients: `security.protocol`, `ssl.*`, `sasl.*`
/// (`MirrorClientConfig.CLIENT_CONFIG_DEF` with client SSL and SASL support).
pub(crate) fn is_security_key(key: &str) -> bool {
    key == "security.protocol" || key.starts_with("ssl.") || key.starts_with("sasl.")
}

/// Every client security setting by name: `security.protocol` and the
/// client keys of `SslConfigs` and `SaslConfigs` (Kafka 4.1), so that a
/// misspelled `ssl.truststore.locaton` is reported rather than passed on.
pub(crate) const SECURITY_KEYS: &[&str] = &[
    "security.protocol",
    "ssl.protocol",
    "ssl.provider",
    "ssl.cipher.suites",
    "ssl.enabled.protocols",
    "ssl.keystore.type",
    "ssl.keystore.key",
    "ssl.keystore.certificate.chain",
    "ssl.keystore.location",
    "ssl.keystore.password",
    "ssl.key.password",
    "ssl.truststore.type",
    "ssl.truststore.certificates",
    "ssl.truststore.location",
    "ssl.truststore.password",
    "ssl.keymanager.algorithm",
    "ssl.trustmanager.algorithm",
    "ssl.endpoint.identification.algorithm",
    "ssl.secure.random.implementation",
    "ssl.engine.factory.class",
    "sasl.mechanism",
    "sasl.jaas.config",
    "sasl.client.callback.handler.class",
    "sasl.login.callback.handler.class",
    "sasl.login.class",
    "sasl.kerberos.service.name",
    "sasl.kerberos.kinit.cmd",
    "sasl.kerberos.ticket.renew.window.factor",
    "sasl.kerberos.ticket.renew.jitter",
    "sasl.kerberos.min.time.before.relogin",
    "sasl.login.refresh.window.factor",
    "sasl.login.refresh.window.jitter",
    "sasl.login.refresh.min.period.seconds",
    "sasl.login.refresh.buffer.seconds",
    "sasl.login.connect.timeout.ms",
    "sasl.login.read.timeout.ms",
    "sasl.login.retry.backoff.max.ms",
    "sasl.login.retry.backoff.ms",
    "sasl.oauthbearer.jwt.retriever.class",
    "sasl.oauthbearer.jwt.validator.class",
    "sasl.oauthbearer.scope",
    "sasl.oauthbearer.client.credentials.client.id",
    "sasl.oauthbearer.client.credentials.client.secret",
    "sasl.oauthbearer.assertion.algorithm",
    "sasl.oauthbearer.assertion.claim.aud",
    "sasl.oauthbearer.assertion.claim.exp.seconds",
    "sasl.oauthbearer.assertion.claim.iss",
    "sasl.oauthbearer.assertion.claim.jti.include",
    "sasl.oauthbearer.assertion.claim.nbf.seconds",
    "sasl.oauthbearer.assertion.claim.sub",
    "sasl.oauthbearer.assertion.file",
    "sasl.oauthbearer.assertion.private.key.file",
    "sasl.oauthbearer.assertion.private.key.passphrase",
    "sasl.oauthbearer.assertion.template.file",
    "sasl.oauthbearer.scope.claim.name",
    "sasl.oauthbearer.sub.claim.name",
    "sasl.oauthbearer.token.endpoint.url",
    "sasl.oauthbearer.jwks.endpoint.url",
    "sasl.oauthbearer.jwks.endpoint.refresh.ms",
    "sasl.oauthbearer.jwks.endpoint.retry.backoff.max.ms",
    "sasl.oauthbearer.jwks.endpoint.retry.backoff.ms",
    "sasl.oauthbearer.clock.skew.seconds",
    "sasl.oauthbearer.expected.audience",
    "sasl.oauthbearer.expected.issuer",
    "sasl.oauthbearer.header.urlencode",
];

/// Whether MM2 knows `key` by its exact name (not only by a prefix).
pub(crate) fn is_exact_known_key(key: &str) -> bool {
    flow_keys::find(key).is_some()
        || HONOURED_TOP_LEVEL_KEYS.contains(&key)
        || NOT_HONOURED_TOP_LEVEL_KEYS.contains(&key)
}

/// How a connector-level key (top level or `source->target.<key>`) is supported.
pub(crate) fn flow_key_support(key: &str) -> Option<Support> {
    flow_keys::find(key).map(|row| row.support)
}

/// Top-level keys kmirror honours besides the connector keys.
pub(crate) fn is_honoured_top_level_key(key: &str) -> bool {
    HONOURED_TOP_LEVEL_KEYS.contains(&key)
}

/// Top-level keys of MM2 dedicated mode kmirror does not act on.
pub(crate) fn is_not_honoured_top_level_key(key: &str) -> bool {
    NOT_HONOURED_TOP_LEVEL_KEYS.contains(&key)
}

/// Every connector-level key name and alias, for "did you mean"
/// suggestions: honoured keys first, which win ties.
pub(crate) fn known_flow_keys() -> impl Iterator<Item = &'static str> {
    flow_keys::names_with(Support::Honoured).chain(flow_keys::names_with(Support::NotHonoured))
}

/// Every top-level key name MM2 knows, for "did you mean" suggestions.
pub(crate) fn known_top_level_keys() -> impl Iterator<Item = &'static str> {
    known_flow_keys()
        .chain(HONOURED_TOP_LEVEL_KEYS.iter().copied())
        .chain(NOT_HONOURED_TOP_LEVEL_KEYS.iter().copied())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classification() {
        assert_eq!(flow_key_support("topics"), Some(Support::Honoured));
        assert_eq!(flow_key_support("tasks.max"), Some(Support::Honoured));
        assert_eq!(
            flow_key_support("sync.topic.acls.interval.seconds"),
            Some(Support::Honoured)
        );
        assert_eq!(
            flow_key_support("topic.filter.class"),
            Some(Support::NotHonoured)
        );
        assert_eq!(flow_key_support("topicz"), None);
        assert_eq!(flow_key_support("emit.heartbeat.enabled"), None);
        assert_eq!(flow_key_support("clusters"), None);
        assert!(is_honoured_top_level_key("clusters"));
        assert!(is_honoured_top_level_key("group.id"));
    }

    #[test]
    fn security_keys_are_security_keys() {
        for key in SECURITY_KEYS {
            assert!(is_security_key(key), "{key}");
        }
    }

    #[test]
    fn lists_do_not_overlap() {
        let not_honoured: Vec<_> = flow_keys::names_with(Support::NotHonoured).collect();
        for key in flow_keys::names_with(Support::Honoured) {
            assert!(!not_honoured.contains(&key), "{key}");
        }
    }
}
