//! Client settings for a cluster as MM2 would build them: bootstrap servers
//! and the cluster's security keys, with `<alias>.consumer.*` winning for
//! the source side of a flow (MM2's consumer) and `<alias>.producer.*` for
//! the target side (MM2's producer); plus the flow side's other honoured
//! client settings ([`ClientSettings`], applied by `client_settings`).
//!
//! kmirror has one client per cluster side, and makes a side's admin calls
//! on it: `<alias>.admin.*` settings that differ from that client's are
//! reported, not applied ([`admin_settings_differ`]).

use std::collections::hash_map::DefaultHasher;
use std::hash::{Hash, Hasher};

use kmirror_client::security::{IgnoredSetting, SecurityConfig, SecurityError};
use kmirror_client::ClientConfig;

use super::client_settings::apply_to_client;
use crate::config::client_settings::ClientSettings;
use crate::config::keys::is_security_key;
use crate::config::mm2::{ClientRole, ClusterConfig};

/// The security keys the `role` client of `cluster` uses, sorted.
fn security_properties(cluster: &ClusterConfig, role: ClientRole) -> Vec<(String, String)> {
    cluster
        .client_config(role)
        .iter()
        .filter(|(key, _)| is_security_key(key))
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

/// A fingerprint of the security settings of the `role` client and of its
/// other `settings`, so that roles with the same settings share one client
/// and roles with different ones do not (and no secret sits in a map key
/// that `Debug` could print).
pub(crate) fn client_fingerprint(
    cluster: &ClusterConfig,
    role: ClientRole,
    settings: &ClientSettings,
) -> u64 {
    let mut hasher = DefaultHasher::new();
    security_properties(cluster, role).hash(&mut hasher);
    settings.hash_values(&mut hasher);
    hasher.finish()
}

/// The client settings of the `role` client of `cluster`, with the
/// security settings that mean nothing here; the other client settings
/// keep kmirror's defaults (see [`client_config_with`]).
pub fn client_config(
    cluster: &ClusterConfig,
    role: ClientRole,
    client_id: String,
) -> Result<(ClientConfig, Vec<IgnoredSetting>), SecurityError> {
    client_config_with(cluster, role, &ClientSettings::default(), client_id)
}

/// [`client_config`] with the flow side's other client `settings`
/// (`client_id` unless they set `client.id`).
pub fn client_config_with(
    cluster: &ClusterConfig,
    role: ClientRole,
    settings: &ClientSettings,
    client_id: String,
) -> Result<(ClientConfig, Vec<IgnoredSetting>), SecurityError> {
    let (security, ignored) = SecurityConfig::from_properties(security_properties(cluster, role))?;
    let mut config = ClientConfig::new(&cluster.bootstrap_servers.join(","));
    config.connection.client_id = client_id;
    config.label = Some(cluster.alias.to_string());
    config.connection.security = security;
    apply_to_client(settings, &mut config);
    Ok((config, ignored))
}

/// The `<alias>.admin.*` settings of a side that differ from its `role`
/// client's (which kmirror's admin calls use), as keys to name.
pub fn admin_settings_differ(
    cluster: &ClusterConfig,
    role: ClientRole,
    admin: &ClientSettings,
    settings: &ClientSettings,
) -> Vec<String> {
    let mut keys: Vec<String> = admin
        .differing_common_keys(settings)
        .into_iter()
        .map(|key| format!("{}.admin.{key}", cluster.alias))
        .collect();
    if admin_security_differs(cluster, role) {
        keys.push(format!("{}.admin.<security settings>", cluster.alias));
    }
    keys
}

/// Whether the admin client of `cluster` would be secured differently from
/// its `role` client. kmirror makes a side's admin calls on that side's
/// connection, so such an `<alias>.admin.*` override is not honoured.
pub fn admin_security_differs(cluster: &ClusterConfig, role: ClientRole) -> bool {
    security_properties(cluster, ClientRole::Admin) != security_properties(cluster, role)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::mm2::Mm2Config;

    const BASE: &str = "clusters = a, b\na.bootstrap.servers = 127.0.0.1:1\nb.bootstrap.servers = 127.0.0.1:2\na->b.enabled = true\n";

    fn cluster(extra: &str) -> ClusterConfig {
        let config = Mm2Config::parse(&format!("{BASE}{extra}"), "mm2.properties").unwrap();
        config.cluster("a").unwrap().clone()
    }

    #[test]
    fn roles_take_their_own_security_keys_over_the_cluster_ones() {
        let none = ClientSettings::default();
        let a = cluster(
            "a.security.protocol = SASL_PLAINTEXT\na.sasl.mechanism = PLAIN\n\
             a.sasl.jaas.config = org.apache.kafka.common.security.plain.PlainLoginModule required username=\"reader\" password=\"r\";\n\
             a.producer.sasl.jaas.config = org.apache.kafka.common.security.plain.PlainLoginModule required username=\"writer\" password=\"w\";\n",
        );
        let (consumer, _) =
            client_config_with(&a, ClientRole::Consumer, &none, "c".into()).unwrap();
        let (producer, _) =
            client_config_with(&a, ClientRole::Producer, &none, "p".into()).unwrap();
        assert_eq!(
            consumer.connection.security.principal().as_deref(),
            Some("User:reader")
        );
        assert_eq!(
            producer.connection.security.principal().as_deref(),
            Some("User:writer")
        );
        assert_ne!(
            client_fingerprint(&a, ClientRole::Consumer, &none),
            client_fingerprint(&a, ClientRole::Producer, &none)
        );
        assert!(!admin_security_differs(&a, ClientRole::Consumer));
        assert!(admin_security_differs(&a, ClientRole::Producer));
    }

    #[test]
    fn plaintext_clusters_share_one_client_for_all_roles() {
        let a = cluster("");
        let none = ClientSettings::default();
        assert_eq!(
            client_fingerprint(&a, ClientRole::Consumer, &none),
            client_fingerprint(&a, ClientRole::Producer, &none)
        );
        let (config, ignored) =
            client_config_with(&a, ClientRole::Consumer, &none, "c".into()).unwrap();
        assert!(!config.connection.security.protocol().uses_tls());
        assert!(ignored.is_empty());
    }

    #[test]
    fn roles_with_different_settings_get_their_own_client() {
        let a = cluster("");
        let none = ClientSettings::default();
        let config = Mm2Config::parse(
            &format!(
                "{BASE}a.consumer.client.rack = r1
a->b.consumer.request.timeout.ms = 30000
"
            ),
            "mm2.properties",
        )
        .unwrap();
        let consumer = &config.flow("a", "b").unwrap().client_settings.consumer;
        assert_ne!(
            client_fingerprint(&a, ClientRole::Consumer, consumer),
            client_fingerprint(&a, ClientRole::Producer, &none)
        );
        // The same values set elsewhere are the same client.
        let same = Mm2Config::parse(
            &format!(
                "{BASE}a->b.consumer.client.rack = r1
a.consumer.request.timeout.ms = 30000
"
            ),
            "mm2.properties",
        )
        .unwrap();
        assert_eq!(
            client_fingerprint(&a, ClientRole::Consumer, consumer),
            client_fingerprint(
                &a,
                ClientRole::Consumer,
                &same.flow("a", "b").unwrap().client_settings.consumer
            )
        );
    }
}
