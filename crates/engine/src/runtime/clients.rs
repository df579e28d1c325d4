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
    config.connection.security = security;
    Ok((config, ignored))
}
