//! The REST API (axum), one module per area:
//! - [`health`]: `/livez`, `/readyz`;
//! - [`status`]: `GET /status`, every flow, topic and partition;
//! - [`connectors`]: the Kafka Connect endpoints MM2 users script against;
//! - [`metrics`]: `GET /metrics` for Prometheus;
//! - [`web`]: the live page at `/` and `GET /api/history`;
//! - [`openapi`]: `GET /openapi.json`, the description of all of this;
//! - [`guard`]: optional TLS, and credentials for what changes state;
//! - [`routes`]: the one table of every route, checked against the
//!   OpenAPI document.
//!
//! Errors are Connect's shape, `{"error_code": 400, "message": "..."}`, also
//! those axum answers itself ([`json_errors`]). Bad input is a 4xx, never a
//! 5xx; configs are echoed with secrets redacted.

pub mod connectors;
pub mod guard;
pub mod health;
pub mod json_errors;
pub mod metrics;
pub mod openapi;
pub mod peers;
pub mod routes;
pub mod status;
pub mod web;

use std::net::SocketAddr;
use std::sync::atomic::{AtomicU8, Ordering};
use std::sync::Arc;
use std::time::Instant;

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::{Json, Router};
use kmirror_engine::metrics::Metrics;
use kmirror_engine::runtime::StatusBoard;
use serde_json::{json, Map, Value};
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;
use tracing::info;

use self::guard::auth::AccessPolicy;
use self::guard::tls::TlsListener;
use self::guard::RestGuard;
use crate::connectors::{ConnectorError, Registry};
use crate::history::History;

/// Where the process is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
pub enum Phase {
    /// Connecting to the clusters; flows not started yet.
    Starting = 0,
    Running = 1,
    Stopping = 2,
}

impl Phase {
    pub fn as_str(self) -> &'static str {
        match self {
            Phase::Starting => "starting",
            Phase::Running => "running",
            Phase::Stopping => "stopping",
        }
    }
}

/// What every handler can see.
#[derive(Debug)]
pub struct AppState {
    phase: AtomicU8,
    pub status: Arc<StatusBoard>,
    pub metrics: Arc<Metrics>,
    pub history: Arc<History>,
    pub registry: Arc<Registry>,
    /// This worker's id in the flows' groups (`--worker-id`), Connect's
    /// `worker_id`.
    pub worker_id: String,
    pub started: Instant,
    /// Sends connector changes on to the other workers; `None`: not sent.
    pub peers: Option<peers::Peers>,
}

impl AppState {
    pub fn new(
        status: Arc<StatusBoard>,
        metrics: Arc<Metrics>,
        history: Arc<History>,
        registry: Arc<Registry>,
        worker_id: String,
    ) -> Self {
        AppState {
            phase: AtomicU8::new(Phase::Starting as u8),
            status,
            metrics,
            history,
            registry,
            worker_id,
            started: Instant::now(),
            peers: None,
        }
    }

    /// Connector changes made here are sent on to the other workers of
    /// the flows' groups.
    pub fn with_peers(mut self, peers: peers::Peers) -> Self {
        self.peers = Some(peers);
        self
    }

    pub fn phase(&self) -> Phase {
        match self.phase.load(Ordering::Relaxed) {
            0 => Phase::Starting,
            1 => Phase::Running,
            _ => Phase::Stopping,
        }
    }

    pub fn set_phase(&self, phase: Phase) {
        self.phase.store(phase as u8, Ordering::Relaxed);
    }

    /// Connect's `worker_id`.
    pub fn worker_id(&self) -> &str {
        &self.worker_id
    }
}

/// An error answer in Connect's shape.
#[derive(Debug)]
pub struct ApiError {
    pub status: StatusCode,
    pub message: String,
}

impl ApiError {
    pub fn bad_request(message: impl Into<String>) -> Self {
        ApiError {
            status: StatusCode::BAD_REQUEST,
            message: message.into(),
        }
    }

    pub fn not_found(message: impl Into<String>) -> Self {
        ApiError {
            status: StatusCode::NOT_FOUND,
            message: message.into(),
        }
    }
}

impl From<ConnectorError> for ApiError {
    /// Connect's status for each failure: 400 for a config or request that
    /// is wrong, 404, 409 when the name exists or the flows clash with
    /// another connector's, 503 while the engine starts, 500 when the state
    /// could not be written.
    fn from(e: ConnectorError) -> Self {
        let status = match &e {
            ConnectorError::NotAString { .. }
            | ConnectorError::NameMismatch { .. }
            | ConnectorError::Config(_)
            | ConnectorError::HostNotAllowed { .. }
            | ConnectorError::NameRequired
            | ConnectorError::InvalidName { .. } => StatusCode::BAD_REQUEST,
            ConnectorError::NotFound { .. } => StatusCode::NOT_FOUND,
            ConnectorError::SameFlow { .. } | ConnectorError::AlreadyExists { .. } => {
                StatusCode::CONFLICT
            }
            ConnectorError::Starting => StatusCode::SERVICE_UNAVAILABLE,
            ConnectorError::State(_) => StatusCode::INTERNAL_SERVER_ERROR,
        };
        ApiError {
            status,
            message: e.to_string(),
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = Json(json!({
            "error_code": self.status.as_u16(),
            "message": self.message,
        }));
        (self.status, body).into_response()
    }
}

/// Parses a request body as a JSON object; anything else is a 400 that says
/// what is wrong.
pub fn json_object(body: &[u8]) -> Result<Map<String, Value>, ApiError> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Err(ApiError::bad_request(
            "request body is empty; expected a JSON object",
        ));
    }
    let value: Value = serde_json::from_slice(body)
        .map_err(|e| ApiError::bad_request(format!("malformed JSON: {e}")))?;
    match value {
        Value::Object(map) => Ok(map),
        _ => Err(ApiError::bad_request("expected a JSON object")),
    }
}

/// Every route, behind the credentials check when `access` is set (the
/// fallback too: an unknown path answers 401 before 404 to a caller
/// without credentials).
pub fn router(state: Arc<AppState>, access: Option<Arc<AccessPolicy>>) -> Router {
    let router = routes::router(routes::table())
        .fallback(|uri: axum::http::Uri| async move {
            ApiError::not_found(format!("no such endpoint: {}", uri.path()))
        })
        .layer(axum::extract::DefaultBodyLimit::max(json_errors::MAX_BODY))
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            peers::forward_changes,
        ))
        .with_state(state);
    let router = match access {
        Some(policy) => router.layer(axum::middleware::from_fn_with_state(
            policy,
            guard::auth::require_credentials,
        )),
        None => router,
    };
    // Outermost: also the answers of the layers above are Connect's shape.
    router.layer(axum::middleware::from_fn(json_errors::connect_error_shape))
}

/// Why the REST API cannot listen.
#[derive(Debug, thiserror::Error)]
pub enum BindError {
    #[error("--rest-listen {address:?} is not an address to listen on: {source}; write HOST:PORT, e.g. 127.0.0.1:8083")]
    Malformed {
        address: String,
        source: std::io::Error,
    },
    #[error("cannot listen on {address} for the REST API: it is in use (another kmirror, or a Kafka Connect worker, whose default port is also 8083?); give another --rest-listen, or --no-rest")]
    InUse { address: String },
    #[error("cannot listen on {address} for the REST API: {source}")]
    Unavailable {
        address: String,
        source: std::io::Error,
    },
}

impl BindError {
    /// A malformed address is a configuration error (exit 2); one in use
    /// or not on this host is not.
    pub fn is_config_error(&self) -> bool {
        matches!(self, BindError::Malformed { .. })
    }
}

/// Binds the listener (an error if the address is taken).
pub async fn bind(address: &str) -> Result<(TcpListener, SocketAddr), BindError> {
    let failed = |source: std::io::Error| {
        // The standard library says InvalidInput for text that is no
        // socket address (no port, a port out of range).
        if source.kind() == std::io::ErrorKind::InvalidInput {
            BindError::Malformed {
                address: address.to_string(),
                source,
            }
        } else if source.kind() == std::io::ErrorKind::AddrInUse {
            BindError::InUse {
                address: address.to_string(),
            }
        } else {
            BindError::Unavailable {
                address: address.to_string(),
                source,
            }
        }
    };
    let listener = TcpListener::bind(address).await.map_err(failed)?;
    let local = listener.local_addr().map_err(failed)?;
    Ok((listener, local))
}

/// Serves until `stop`, over TLS when the guard has a certificate.
pub async fn serve(
    listener: TcpListener,
    guard: RestGuard,
    state: Arc<AppState>,
    stop: CancellationToken,
) {
    let address = listener
        .local_addr()
        .map(|a| a.to_string())
        .unwrap_or_default();
    let scheme = if guard.tls.is_some() { "https" } else { "http" };
    // `address` first: tests and scripts read the address from this line.
    info!(
        address = %address,
        scheme,
        authentication = guard.access.is_some(),
        "REST API listening"
    );
    let app = router(state, guard.access);
    let stopped = async move { stop.cancelled().await };
    let result = match guard.tls {
        Some(config) => {
            axum::serve(TlsListener::new(listener, config), app)
                .with_graceful_shutdown(stopped)
                .await
        }
        None => {
            axum::serve(listener, app)
                .with_graceful_shutdown(stopped)
                .await
        }
    };
    if let Err(e) = result {
        tracing::warn!(error = %e, "REST API stopped");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn answer(error: ConnectorError) -> (u16, Value) {
        let response = ApiError::from(error).into_response();
        let status = response.status().as_u16();
        let body = axum::body::to_bytes(response.into_body(), 1 << 16)
            .await
            .unwrap();
        (status, serde_json::from_slice(&body).unwrap())
    }

    #[tokio::test]
    async fn connector_failures_answer_connect_status_codes_and_bodies() {
        let name = || "mirror".to_string();
        let cases = [
            (ConnectorError::NameRequired, 400),
            (
                ConnectorError::NotAString {
                    key: "topics".into(),
                },
                400,
            ),
            (ConnectorError::NotFound { name: name() }, 404),
            (ConnectorError::AlreadyExists { name: name() }, 409),
            (
                ConnectorError::SameFlow {
                    first: "one".into(),
                    second: "two".into(),
                    flow: "a->b".into(),
                },
                409,
            ),
            (ConnectorError::Starting, 503),
        ];
        for (error, code) in cases {
            let message = error.to_string();
            let (status, body) = answer(error).await;
            assert_eq!(status, code, "{body}");
            assert_eq!(body["error_code"], code, "{body}");
            assert_eq!(body["message"], message, "{body}");
        }
        let (status, body) = answer(ConnectorError::NotFound { name: name() }).await;
        assert_eq!(
            (status, body["message"].as_str()),
            (404, Some("connector mirror not found"))
        );
    }
}
