//! `GET /metrics`: every metric of [`kmirror_engine::metrics`] in the
//! OpenMetrics text format Prometheus scrapes.

use std::sync::Arc;

use axum::extract::State;
use axum::http::header::CONTENT_TYPE;
use axum::http::Method;
use axum::response::IntoResponse;
use kmirror_engine::model::now_ms;

use super::routes::Route;
use super::AppState;

const OPENMETRICS: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";

pub fn routes() -> Vec<Route> {
    vec![Route::new(Method::GET, "/metrics", metrics)]
}

async fn metrics(State(state): State<Arc<AppState>>) -> impl IntoResponse {
    let body = state.metrics.encode(&state.status.snapshot(), now_ms());
    ([(CONTENT_TYPE, OPENMETRICS)], body)
}
