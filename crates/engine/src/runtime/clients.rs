//! Client settings for a cluster as MM2 would build them: bootstrap servers
//! and the cluster's security keys, with `<alias>.consumer.*` winning for
//! the source side of a flow (MM2's consumer) and `<alias>.producer.*` for
//! the target side (MM2's producer).

use std::collections::hash_map::DefaultHasher;
use std::hash::{Hash, Hasher};

use kmirror_client::security::{IgnoredSetting, SecurityConfig, SecurityError};
use kmirror_client::ClientConfig;

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

/// A fingerprint of the security settings of the `role` client, so that
/// roles with the same settings share one client (and no secret sits in a
/// map key that `Debug` could print).
pub(crate) fn security_fingerprint(cluster: &ClusterConfig, role: ClientRole) -> u64 {
    let mut hasher = DefaultHasher::new();
    security_properties(cluster, role).hash(&mut hasher);
    hasher.finish()
}

/// The client settings of the `role` client of `cluster`, with the
/// security settings that mean nothing here.
pub fn client_config(
    cluster: &ClusterConfig,
    role: ClientRole,
    client_id: String,
) -> Result<(ClientConfig, Vec<IgnoredSetting>), SecurityError> {
    let (security, ignored) = SecurityConfig::from_properties(security_properties(cluster, role))?;
    let mut config = ClientConfig::new(&cluster.bootstrap_servers.join(","));
    config.connection.client_id = client_id;
    config.label = Some(cluster.alias.to_string());
    config.connection.security = security;
    Ok((config, ignored))
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
        let a = cluster(
            "a.security.protocol = SASL_PLAINTEXT\na.sasl.mechanism = PLAIN\n\
             a.sasl.jaas.config = org.apache.kafka.common.security.plain.PlainLoginModule required username=\"reader\" password=\"r\";\n\
             a.producer.sasl.jaas.config = org.apache.kafka.common.security.plain.PlainLoginModule required username=\"writer\" password=\"w\";\n",
        );
        let (consumer, _) = client_config(&a, ClientRole::Consumer, "c".into()).unwrap();
        let (producer, _) = client_config(&a, ClientRole::Producer, "p".into()).unwrap();
        assert_eq!(
            consumer.connection.security.principal().as_deref(),
            Some("User:reader")
        );
        assert_eq!(
            producer.connection.security.principal().as_deref(),
            Some("User:writer")
        );
        assert_ne!(
            security_fingerprint(&a, ClientRole::Consumer),
            security_fingerprint(&a, ClientRole::Producer)
        );
        assert!(!admin_security_differs(&a, ClientRole::Consumer));
        assert!(admin_security_differs(&a, ClientRole::Producer));
    }

    #[test]
    fn plaintext_clusters_share_one_client_for_all_roles() {
        let a = cluster("");
        assert_eq!(
            security_fingerprint(&a, ClientRole::Consumer),
            security_fingerprint(&a, ClientRole::Producer)
        );
        let (config, ignored) = client_config(&a, ClientRole::Consumer, "c".into()).unwrap();
        assert!(!config.connection.security.protocol().uses_tls());
        assert!(ignored.is_empty());
    }
}
