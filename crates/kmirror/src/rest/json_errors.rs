//! Every error answer in Connect's shape, `{"error_code": .., "message": ..}`.
//!
//! Handlers answer [`ApiError`] already; what axum answers on its own (405
//! for a wrong method, 413 for an oversized body, 400 for a query string it
//! cannot parse) is plain text or empty. Mapping each extractor's rejection
//! at every handler would miss the ones axum's router produces before any
//! handler runs, so one middleware rewrites every error answer that is not
//! JSON yet, keeping its status and headers (`Allow`, `WWW-Authenticate`).

use axum::body::to_bytes;
use axum::extract::Request;
use axum::http::header::{ALLOW, CONTENT_LENGTH, CONTENT_TYPE};
use axum::http::{HeaderMap, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use super::ApiError;

/// The largest request body kmirror reads: a connector config is a few
/// kilobytes; this leaves room for long topic lists.
pub const MAX_BODY: usize = 1 << 20;

/// How much of a plain-text error answer is read to become the message
/// (axum's are one line).
const MAX_PLAIN_ERROR: usize = 16 * 1024;

/// The message of a 413.
pub fn body_too_large() -> String {
    format!(
        "request body larger than {} KiB; a connector config is a few KiB",
        MAX_BODY / 1024
    )
}

/// Middleware: an error answer (4xx, 5xx) that is not JSON becomes one.
pub async fn connect_error_shape(request: Request, next: Next) -> Response {
    let method = request.method().clone();
    let path = request.uri().path().to_string();
    let response = next.run(request).await;
    let status = response.status();
    if !(status.is_client_error() || status.is_server_error()) || is_json(response.headers()) {
        return response;
    }
    let (parts, body) = response.into_parts();
    let text = to_bytes(body, MAX_PLAIN_ERROR).await.unwrap_or_default();
    let message = message_for(
        status,
        &method,
        &path,
        &parts.headers,
        String::from_utf8_lossy(&text).trim(),
    );
    let mut answer = ApiError { status, message }.into_response();
    for (name, value) in &parts.headers {
        if name != CONTENT_TYPE && name != CONTENT_LENGTH {
            answer.headers_mut().append(name, value.clone());
        }
    }
    answer
}

fn is_json(headers: &HeaderMap) -> bool {
    headers
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/json"))
}

/// What went wrong, said for the caller: axum's own text when it has one
/// (lowercased first letter, as every kmirror message), else from the
/// status and request.
fn message_for(
    status: StatusCode,
    method: &Method,
    path: &str,
    headers: &HeaderMap,
    text: &str,
) -> String {
    match status {
        StatusCode::METHOD_NOT_ALLOWED => {
            let allowed = headers
                .get(ALLOW)
                .and_then(|v| v.to_str().ok())
                .filter(|v| !v.is_empty());
            match allowed {
                Some(allowed) => format!("{method} is not allowed on {path}; use {allowed}"),
                // axum adds `Allow` outside this layer, after it ran.
                None => format!(
                    "{method} is not allowed on {path} (the Allow header lists the methods that are)"
                ),
            }
        }
        StatusCode::PAYLOAD_TOO_LARGE => body_too_large(),
        StatusCode::NOT_FOUND if text.is_empty() => format!("no such endpoint: {path}"),
        _ if !text.is_empty() => lowercase_first(text),
        _ => status
            .canonical_reason()
            .map_or_else(|| status.to_string(), |r| r.to_ascii_lowercase()),
    }
}

fn lowercase_first(text: &str) -> String {
    let mut chars = text.chars();
    match chars.next() {
        Some(first) => first.to_lowercase().chain(chars).collect(),
        None => String::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_say_what_was_wrong() {
        let mut headers = HeaderMap::new();
        headers.insert(ALLOW, "GET,HEAD".parse().unwrap());
        assert_eq!(
            message_for(
                StatusCode::METHOD_NOT_ALLOWED,
                &Method::DELETE,
                "/status",
                &headers,
                ""
            ),
            "DELETE is not allowed on /status; use GET,HEAD"
        );
        let none = HeaderMap::new();
        assert!(message_for(
            StatusCode::PAYLOAD_TOO_LARGE,
            &Method::POST,
            "/connectors",
            &none,
            "Failed to buffer the request body: length limit exceeded"
        )
        .contains("1024 KiB"));
        assert_eq!(
            message_for(
                StatusCode::BAD_REQUEST,
                &Method::GET,
                "/x",
                &none,
                "Failed to deserialize query string"
            ),
            "failed to deserialize query string"
        );
        assert_eq!(
            message_for(StatusCode::REQUEST_TIMEOUT, &Method::GET, "/x", &none, ""),
            "request timeout"
        );
    }
}
