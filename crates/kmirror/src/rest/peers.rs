//! Connector changes reach every worker of the group: a change made through
//! one worker's API (create, new config, pause, resume, restart, delete) is
//! sent on to the other workers it shares a flow group with, as MM2's
//! dedicated mode forwards requests between its nodes (KIP-710). Their REST
//! URLs come with each assignment (see the flows' group status). A worker
//! started later does not get earlier changes: start every worker with the
//! same file.

use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::Duration;

use axum::body::{to_bytes, Body};
use axum::extract::{Request, State};
use axum::http::{HeaderValue, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use futures::future::join_all;
use reqwest::header::{AUTHORIZATION, CONTENT_TYPE};
use rustls::pki_types::CertificateDer;
use rustls::RootCertStore;
use tracing::{debug, info, warn};

use super::guard::tls;
use super::json_errors::{body_too_large, MAX_BODY};
use super::{ApiError, AppState};
use crate::commands::api_call::request_failed;

/// Marks a forwarded request, so that its receiver does not forward it on.
pub const FORWARDED_HEADER: &str = "x-kmirror-forwarded-by";

/// How long a peer may take to apply a change.
const PEER_TIMEOUT: Duration = Duration::from_secs(10);

/// Why the client for the other workers could not be built.
#[derive(Debug, thiserror::Error)]
pub enum PeersError {
    #[error("{0}")]
    Tls(#[from] rustls::Error),
    #[error("{0}")]
    Client(#[from] reqwest::Error),
}

/// The client that sends changes on to the other workers.
#[derive(Debug, Clone)]
pub struct Peers {
    client: reqwest::Client,
}

impl Peers {
    /// A client that trusts the system's roots and this worker's own REST
    /// certificate chain (the other workers of a deployment usually serve
    /// the same one, or one from the same CA).
    pub fn new(own_chain: &[CertificateDer<'static>]) -> Result<Self, PeersError> {
        let mut roots = RootCertStore::empty();
        let native = rustls_native_certs::load_native_certs();
        roots.add_parsable_certificates(native.certs);
        roots.add_parsable_certificates(own_chain.iter().cloned());
        let config = rustls::ClientConfig::builder_with_provider(tls::crypto_provider())
            .with_safe_default_protocol_versions()?
            .with_root_certificates(Arc::new(roots))
            .with_no_client_auth();
        let client = reqwest::Client::builder()
            .use_preconfigured_tls(config)
            .timeout(PEER_TIMEOUT)
            .build()?;
        Ok(Peers { client })
    }
}

/// The REST URLs of the other workers of this worker's groups.
fn peer_urls(state: &AppState) -> BTreeSet<String> {
    state
        .status
        .snapshot()
        .iter()
        .filter_map(|flow| flow.group.as_ref())
        .flat_map(|group| group.members.iter())
        .filter(|member| member.worker_id != state.worker_id())
        .filter_map(|member| member.rest_url.clone())
        .collect()
}

fn is_change(method: &Method, path: &str) -> bool {
    matches!(*method, Method::POST | Method::PUT | Method::DELETE)
        && path.starts_with("/connectors")
}

/// Middleware: applies a change here, then on the other workers.
pub async fn forward_changes(
    State(state): State<Arc<AppState>>,
    request: Request,
    next: Next,
) -> Response {
    let Some(peers) = state.peers.clone() else {
        return next.run(request).await;
    };
    if !is_change(request.method(), request.uri().path())
        || request.headers().contains_key(FORWARDED_HEADER)
    {
        return next.run(request).await;
    }
    let (parts, body) = request.into_parts();
    let body = match to_bytes(body, MAX_BODY).await {
        Ok(body) => body,
        // Over the limit, as the handlers' own limit answers; a client gone
        // mid-body gets this answer too, but it reads none.
        Err(_) => {
            return ApiError {
                status: StatusCode::PAYLOAD_TOO_LARGE,
                message: body_too_large(),
            }
            .into_response()
        }
    };
    let method = parts.method.clone();
    let path = parts
        .uri
        .path_and_query()
        .map_or_else(|| parts.uri.path().to_string(), |p| p.as_str().to_string());
    let authorization = parts.headers.get(AUTHORIZATION).cloned();
    let content_type = parts.headers.get(CONTENT_TYPE).cloned();
    let response = next
        .run(Request::from_parts(parts, Body::from(body.clone())))
        .await;
    if !response.status().is_success() {
        return response;
    }
    let urls = peer_urls(&state);
    if urls.is_empty() {
        return response;
    }
    let sends = urls.into_iter().map(|url| {
        let mut request = peers
            .client
            .request(method.clone(), format!("{url}{path}"))
            .header(FORWARDED_HEADER, state.worker_id())
            .body(body.clone());
        if let Some(mut value) = authorization.clone() {
            value.set_sensitive(true);
            request = request.header(AUTHORIZATION, value);
        }
        if let Some(value) = content_type.clone() {
            request = request.header(CONTENT_TYPE, value);
        }
        async move { (url, request.send().await) }
    });
    for (url, outcome) in join_all(sends).await {
        match outcome {
            Ok(answer) if answer.status().is_success() => {
                info!(peer = %url, %method, path, "change applied on another worker")
            }
            // The same change twice (say, a create) is refused there.
            Ok(answer) => {
                warn!(peer = %url, %method, path, status = answer.status().as_u16(), "another worker refused the change")
            }
            Err(e) => {
                let error = request_failed(&url, &format!("{url}{path}"), PEER_TIMEOUT, &e);
                warn!(peer = %url, %method, path, error = %error, "cannot reach another worker to apply the change there")
            }
        }
    }
    debug!(%method, path, "change sent on to the other workers");
    let mut response = response;
    response
        .headers_mut()
        .insert("x-kmirror-forwarded", HeaderValue::from_static("true"));
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_connector_changes_are_forwarded() {
        assert!(is_change(&Method::POST, "/connectors"));
        assert!(is_change(&Method::PUT, "/connectors/mm2/config"));
        assert!(is_change(&Method::DELETE, "/connectors/mm2"));
        assert!(is_change(&Method::POST, "/connectors/mm2/restart"));
        assert!(!is_change(&Method::GET, "/connectors/mm2/status"));
        assert!(!is_change(&Method::POST, "/status"));
    }
}
