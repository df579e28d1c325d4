//! `/livez` (the process answers) and `/readyz` (503 while starting or
//! stopping, 500 while a flow is failing, else 200).
//!
//! A flow is failing when its task failed (it is being restarted), when any
//! of its partitions is paused on an error, or when a partition has lag and
//! made no progress for 30 s (a target that is down is retried for minutes
//! before partitions pause); a flow paused on request is not failing. A flow is still starting until its first topic discovery.

use std::sync::Arc;

use axum::extract::State;
use axum::http::Method;
use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum::Json;
use kmirror_engine::model::now_ms;
use kmirror_engine::runtime::status::STALL_THRESHOLD_MS;
use kmirror_engine::runtime::FlowState;
use serde_json::json;

use super::routes::Route;
use super::{AppState, Phase};

pub fn routes() -> Vec<Route> {
    vec![
        Route::new(Method::GET, "/livez", livez),
        Route::new(Method::GET, "/readyz", readyz),
    ]
}

async fn livez() -> impl IntoResponse {
    Json(json!({ "status": "ok" }))
}

async fn readyz(State(state): State<Arc<AppState>>) -> impl IntoResponse {
    let phase = state.phase();
    if phase != Phase::Running {
        return (
            StatusCode::SERVICE_UNAVAILABLE,
            Json(json!({ "status": phase.as_str() })),
        );
    }
    let flows = state.status.snapshot();
    let now = now_ms();
    let failing: Vec<_> = flows
        .iter()
        .filter_map(|flow| {
            let reason = match flow.state() {
                FlowState::Failed => flow.error.clone(),
                FlowState::Paused => None,
                _ => {
                    let paused = flow.partitions.iter().filter(|p| p.is_paused()).count();
                    let stalled = flow
                        .partitions
                        .iter()
                        .filter(|p| !p.is_paused() && p.is_stalled(now))
                        .count();
                    match (paused, stalled) {
                        (0, 0) => None,
                        (0, _) => Some(format!(
                            "{stalled} partition(s) stalled: lag and no progress for {} s",
                            STALL_THRESHOLD_MS / 1000
                        )),
                        _ => Some(format!("{paused} partition(s) paused on errors")),
                    }
                }
            }?;
            Some(json!({ "flow": flow.name, "reason": reason }))
        })
        .collect();
    if !failing.is_empty() {
        return (
            StatusCode::INTERNAL_SERVER_ERROR,
            Json(json!({ "status": "failing", "failing": failing })),
        );
    }
    let starting: Vec<_> = flows
        .iter()
        .filter(|f| f.state() == FlowState::Running && !f.discovered)
        .map(|f| f.name.clone())
        .collect();
    if !starting.is_empty() {
        return (
            StatusCode::SERVICE_UNAVAILABLE,
            Json(json!({ "status": "starting", "starting": starting })),
        );
    }
    (StatusCode::OK, Json(json!({ "status": "ready" })))
}
