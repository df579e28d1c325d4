//! Connecting the one-shot commands (`offsets`, `verify`) to a cluster of
//! the file, with the failures `run` and `check` report: unusable security
//! settings are a configuration error (exit 2), a cluster that refuses
//! kmirror or cannot be reached a cluster problem (exit 1).

use kmirror_client::KafkaClient;
use kmirror_engine::config::mm2::{ClientRole, Mm2Config};
use kmirror_engine::runtime::{clients, EngineError};

use crate::{EXIT_CONFIG, EXIT_FAILURE};

/// A client of cluster `alias` with its cluster-level (admin) settings, as
/// `<client_id>-<alias>`. `alias` must be a cluster of `config`.
pub async fn connect_admin(
    config: &Mm2Config,
    alias: &str,
    client_id: &str,
) -> Result<KafkaClient, EngineError> {
    let cluster = config
        .cluster(alias)
        .expect("the caller checked the alias against the file");
    let (client_config, _) =
        clients::client_config(cluster, ClientRole::Admin, format!("{client_id}-{alias}"))
            .map_err(|source| EngineError::Security {
                alias: alias.to_string(),
                source,
            })?;
    let bootstrap = cluster.bootstrap_servers.join(",");
    KafkaClient::connect(client_config).await.map_err(|source| {
        if source.is_security_refusal() {
            EngineError::Refused {
                alias: alias.to_string(),
                bootstrap,
                source,
            }
        } else {
            EngineError::Unreachable {
                alias: alias.to_string(),
                bootstrap,
                source,
            }
        }
    })
}

/// The exit code of a connection failure.
pub fn exit_code(error: &EngineError) -> u8 {
    if error.is_config_error() {
        EXIT_CONFIG
    } else {
        EXIT_FAILURE
    }
}
