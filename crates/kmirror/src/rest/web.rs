//! The live page: `/` serves it to browsers (Connect's version answer to
//! other clients), its script and style are embedded in the binary (no
//! front-end build), and `GET /api/history` feeds its charts from the
//! server's ring buffer of samples ([`crate::history`]).
//!
//! The page draws the clusters and flows as a picture (A ⇄ B with rates on
//! the arrows), lag and latency over the last minutes, and the paused
//! partitions and errors; it polls `/status` and `/api/history` every two
//! seconds.

use std::sync::Arc;

use axum::extract::State;
use axum::http::header::{ACCEPT, CACHE_CONTROL, CONTENT_TYPE};
use axum::http::HeaderMap;
use axum::http::Method;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::json;

use super::routes::Route;
use super::AppState;
use crate::history::SAMPLE_INTERVAL;

const INDEX_HTML: &str = include_str!("web/index.html");
const APP_JS: &str = include_str!("web/app.js");
const STYLE_CSS: &str = include_str!("web/style.css");

pub fn routes() -> Vec<Route> {
    vec![
        Route::new(Method::GET, "/", root),
        Route::new(Method::GET, "/ui/app.js", app_js),
        Route::new(Method::GET, "/ui/style.css", style_css),
        Route::new(Method::GET, "/api/history", history),
    ]
}

/// The page for browsers; Connect's root answer (`{"version", "commit",
/// "kafka_cluster_id"}`) for scripts.
async fn root(headers: HeaderMap) -> Response {
    let wants_html = headers
        .get(ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.contains("text/html"));
    if wants_html {
        (
            [
                (CONTENT_TYPE, "text/html; charset=utf-8"),
                (CACHE_CONTROL, "no-cache"),
            ],
            INDEX_HTML,
        )
            .into_response()
    } else {
        Json(json!({
            "version": env!("CARGO_PKG_VERSION"),
            "commit": "kmirror",
            "kafka_cluster_id": null,
        }))
        .into_response()
    }
}

async fn app_js() -> impl IntoResponse {
    (
        [
            (CONTENT_TYPE, "text/javascript; charset=utf-8"),
            (CACHE_CONTROL, "no-cache"),
        ],
        APP_JS,
    )
}

async fn style_css() -> impl IntoResponse {
    (
        [
            (CONTENT_TYPE, "text/css; charset=utf-8"),
            (CACHE_CONTROL, "no-cache"),
        ],
        STYLE_CSS,
    )
}

async fn history(State(state): State<Arc<AppState>>) -> impl IntoResponse {
    Json(json!({
        "interval_seconds": SAMPLE_INTERVAL.as_secs_f64(),
        "samples": state.history.samples(),
    }))
}
