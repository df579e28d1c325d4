//! This process's identity in the groups of its flows.

use std::net::SocketAddr;

use kmirror_engine::runtime::WorkerIdentity;

/// `--worker-id`, by default the host name and the REST port (stable
/// across restarts, distinct for processes on one host), and the URL of
/// the REST API for the other workers.
pub fn identity(worker_id: Option<&str>, rest_listen: &str, https: bool) -> WorkerIdentity {
    let host = nix::unistd::gethostname()
        .ok()
        .and_then(|name| name.into_string().ok())
        .filter(|name| !name.is_empty())
        .unwrap_or_else(|| "localhost".to_string());
    let listen: Option<SocketAddr> = rest_listen.parse().ok();
    let port = listen.map_or_else(
        || {
            rest_listen
                .rsplit_once(':')
                .map_or("8083", |(_, port)| port)
                .to_string()
        },
        |addr| addr.port().to_string(),
    );
    // A wildcard listen address is no address for the others: use the
    // host name.
    let reachable = match listen {
        Some(addr) if addr.ip().is_unspecified() => format!("{host}:{port}"),
        _ => rest_listen.to_string(),
    };
    let scheme = if https { "https" } else { "http" };
    WorkerIdentity {
        worker_id: worker_id.map_or_else(|| format!("{host}:{port}"), str::to_string),
        rest_url: Some(format!("{scheme}://{reachable}")),
        started_at_ms: std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_millis() as i64),
        group_prefix: None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_to_host_and_port() {
        let id = identity(None, "127.0.0.1:18083", false);
        assert!(id.worker_id.ends_with(":18083"), "{}", id.worker_id);
        assert_eq!(id.rest_url.as_deref(), Some("http://127.0.0.1:18083"));
        let wildcard = identity(Some("w1"), "0.0.0.0:8083", true);
        assert_eq!(wildcard.worker_id, "w1");
        let url = wildcard.rest_url.unwrap();
        assert!(
            url.starts_with("https://") && !url.contains("0.0.0.0"),
            "{url}"
        );
    }
}
