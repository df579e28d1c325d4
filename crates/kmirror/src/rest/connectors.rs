//! The Kafka Connect REST endpoints MM2 users script against, with
//! Connect's request and answer shapes:
//!
//! | endpoint | answer |
//! |---|---|
//! | `GET /connectors[?expand=status&expand=info]` | names (or Connect's expanded map) |
//! | `POST /connectors` `{"name", "config"}` | 201 connector info; 409 if it exists |
//! | `GET /connectors/{name}` | `{name, config, tasks, type}` |
//! | `GET /connectors/{name}/config` | the config, secrets redacted |
//! | `PUT /connectors/{name}/config` | 201 created / 200 updated |
//! | `GET /connectors/{name}/status` | `{name, connector: {state, worker_id}, tasks, type}` |
//! | `GET /connectors/{name}/tasks` | `[{id, config}]` |
//! | `PUT /connectors/{name}/pause`, `/resume` | 202 |
//! | `POST /connectors/{name}/restart[?includeTasks=&onlyFailed=]` | 204, or 202 with the status when a flag is given |
//! | `POST /connectors/{name}/tasks/{task}/restart` | 204 |
//! | `DELETE /connectors/{name}` | 204 |
//! | `GET /connector-plugins` | the three MM2 connector classes |

use std::collections::BTreeMap;
use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::Method;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use kmirror_engine::config::mm2::ConnectorClass;
use kmirror_engine::runtime::status::GroupMemberStatus;
use kmirror_engine::runtime::{FlowMode, FlowState};
use serde_json::{json, Map, Value};

use super::routes::Route;
use super::{json_object, ApiError, AppState};
use crate::connectors::Connector;

pub fn routes() -> Vec<Route> {
    vec![
        Route::new(Method::GET, "/connectors", list),
        Route::new(Method::POST, "/connectors", create),
        Route::new(Method::GET, "/connectors/{name}", info),
        Route::new(Method::DELETE, "/connectors/{name}", delete),
        Route::new(Method::GET, "/connectors/{name}/config", get_config),
        Route::new(Method::PUT, "/connectors/{name}/config", put_config),
        Route::new(Method::GET, "/connectors/{name}/status", status),
        Route::new(Method::GET, "/connectors/{name}/tasks", tasks),
        Route::new(Method::PUT, "/connectors/{name}/pause", pause),
        Route::new(Method::PUT, "/connectors/{name}/resume", resume),
        Route::new(Method::POST, "/connectors/{name}/restart", restart),
        Route::new(
            Method::POST,
            "/connectors/{name}/tasks/{task}/restart",
            restart_task,
        ),
        Route::new(Method::GET, "/connector-plugins", plugins),
    ]
}

async fn list(State(state): State<Arc<AppState>>, RawQuery(query): RawQuery) -> Response {
    let snapshot = state.registry.snapshot();
    let mut expand_status = false;
    let mut expand_info = false;
    for pair in query.as_deref().unwrap_or("").split('&') {
        match pair {
            "expand=status" => expand_status = true,
            "expand=info" => expand_info = true,
            _ => {}
        }
    }
    if !expand_status && !expand_info {
        let names: Vec<&String> = snapshot.0.keys().collect();
        return Json(names).into_response();
    }
    let mut out = Map::new();
    for connector in snapshot.0.values() {
        let mut entry = Map::new();
        if expand_info {
            entry.insert("info".into(), info_json(&state, connector));
        }
        if expand_status {
            entry.insert("status".into(), status_json(&state, connector));
        }
        out.insert(connector.name.clone(), Value::Object(entry));
    }
    Json(Value::Object(out)).into_response()
}

async fn create(State(state): State<Arc<AppState>>, body: Bytes) -> Result<Response, ApiError> {
    let request = json_object(&body)?;
    let name = match request.get("name") {
        Some(Value::String(name)) => name.clone(),
        Some(_) => return Err(ApiError::bad_request("name: expected a string")),
        None => return Err(ApiError::bad_request("name: required")),
    };
    let config = match request.get("config") {
        Some(Value::Object(config)) => config.clone(),
        Some(_) => return Err(ApiError::bad_request("config: expected a JSON object")),
        None => return Err(ApiError::bad_request("config: required")),
    };
    let connector = state.registry.create(&name, &config).await?;
    Ok((StatusCode::CREATED, Json(info_json(&state, &connector))).into_response())
}

async fn info(
    State(state): State<Arc<AppState>>,
    Path(name): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let connector = state.registry.get(&name)?;
    Ok(Json(info_json(&state, &connector)))
}

async fn get_config(
    State(state): State<Arc<AppState>>,
    Path(name): Path<String>,
) -> Result<Json<BTreeMap<String, String>>, ApiError> {
    Ok(Json(state.registry.get(&name)?.redacted_config()))
}

async fn put_config(
    State(state): State<Arc<AppState>>,
    Path(name): Path<String>,
    body: Bytes,
) -> Result<Response, ApiError> {
    let config = json_object(&body)?;
    let (connector, created) = state.registry.put_config(&name, &config).await?;
    let code = if created {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    Ok((code, Json(info_json(&state, &connector))).into_response())
}

async fn status(
    State(state): State<Arc<AppState>>,
    Path(name): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let connector = state.registry.get(&name)?;
    Ok(Json(status_json(&state, &connector)))
}

async fn tasks(
    State(state): State<Arc<AppState>>,
    Path(name): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let connector = state.registry.get(&name)?;
    let config = connector.redacted_config();
    let tasks: Vec<Value> = task_flows(&state, &connector)
        .iter()
        .enumerate()
        .map(|(id, flow)| {
            let mut task_config = config.clone();
            task_config.insert("kmirror.flow".into(), flow.clone());
            json!({ "id": { "connector": connector.name, "task": id }, "config": task_config })
        })
        .collect();
    Ok(Json(Value::Array(tasks)))
}

async fn pause(
    State(state): State<Arc<AppState>>,
    Path(name): Path<String>,
) -> Result<StatusCode, ApiError> {
    state.registry.set_paused(&name, true).await?;
    Ok(StatusCode::ACCEPTED)
}

async fn resume(
    State(state): State<Arc<AppState>>,
    Path(name): Path<String>,
) -> Result<StatusCode, ApiError> {
    state.registry.set_paused(&name, false).await?;
    Ok(StatusCode::ACCEPTED)
}

/// Connect answers 204 to a plain restart and 202 with the connector's
/// status when `includeTasks` or `onlyFailed` is given.
async fn restart(
    State(state): State<Arc<AppState>>,
    Path(name): Path<String>,
    RawQuery(query): RawQuery,
) -> Result<Response, ApiError> {
    let mut include_tasks = false;
    let mut only_failed = false;
    for pair in query.as_deref().unwrap_or("").split('&') {
        match pair.split_once('=') {
            Some(("includeTasks", value)) => include_tasks = value.eq_ignore_ascii_case("true"),
            Some(("onlyFailed", value)) => only_failed = value.eq_ignore_ascii_case("true"),
            _ => {}
        }
    }
    state.registry.restart(&name, only_failed).await?;
    if !include_tasks && !only_failed {
        return Ok(StatusCode::NO_CONTENT.into_response());
    }
    let connector = state.registry.get(&name)?;
    Ok((StatusCode::ACCEPTED, Json(status_json(&state, &connector))).into_response())
}

/// A task is one flow of the connector (see `GET /connectors/{name}/tasks`).
async fn restart_task(
    State(state): State<Arc<AppState>>,
    Path((name, task)): Path<(String, usize)>,
) -> Result<StatusCode, ApiError> {
    let connector = state.registry.get(&name)?;
    let Some(flow) = task_flows(&state, &connector).get(task).cloned() else {
        return Err(ApiError::not_found(format!("Task {name}-{task} not found")));
    };
    state.registry.restart_flows(&name, &[flow], false).await?;
    Ok(StatusCode::NO_CONTENT)
}

async fn delete(
    State(state): State<Arc<AppState>>,
    Path(name): Path<String>,
) -> Result<StatusCode, ApiError> {
    state.registry.delete(&name).await?;
    Ok(StatusCode::NO_CONTENT)
}

async fn plugins() -> Json<Value> {
    let classes = [
        ConnectorClass::Source,
        ConnectorClass::Checkpoint,
        ConnectorClass::Heartbeat,
    ];
    Json(Value::Array(
        classes
            .iter()
            .map(|c| {
                json!({
                    "class": c.java_class_name(),
                    "type": "source",
                    "version": env!("CARGO_PKG_VERSION"),
                })
            })
            .collect(),
    ))
}

/// The flows shown as the connector's tasks, in order.
fn task_flows(state: &AppState, connector: &Connector) -> Vec<String> {
    state
        .registry
        .snapshot()
        .1
        .tasks
        .get(&connector.name)
        .cloned()
        .unwrap_or_default()
}

fn info_json(state: &AppState, connector: &Connector) -> Value {
    let tasks: Vec<Value> = (0..task_flows(state, connector).len())
        .map(|task| json!({ "connector": connector.name, "task": task }))
        .collect();
    json!({
        "name": connector.name,
        "config": connector.redacted_config(),
        "tasks": tasks,
        "type": "source",
    })
}

fn status_json(state: &AppState, connector: &Connector) -> Value {
    let worker_id = state.worker_id();
    let flows = task_flows(state, connector);
    let board = state.status.snapshot();
    let plan = state.registry.snapshot();
    // One task per flow and worker of its group that runs part of it;
    // before the first assignment, one per flow.
    let mut tasks: Vec<Value> = Vec::new();
    for flow in &flows {
        let status = board.iter().find(|f| &f.name == flow);
        // A heartbeats-only pair runs, as MM2's MirrorHeartbeatConnector
        // task does; `mode` says it replicates nothing.
        let mode = plan
            .1
            .specs
            .iter()
            .find(|spec| &spec.name() == flow)
            .map_or(FlowMode::Replication, |spec| {
                FlowMode::new(spec.flow.replication_enabled)
            })
            .as_str();
        let (local_state, trace) = match status.map(|f| (f.state(), f.error.clone())) {
            _ if connector.paused => ("PAUSED", None),
            Some((FlowState::Running, _)) => ("RUNNING", None),
            Some((FlowState::Paused, _)) => ("PAUSED", None),
            Some((FlowState::Failed, error)) => ("FAILED", error),
            Some((FlowState::Stopped, _)) | None => ("UNASSIGNED", None),
        };
        let members: Vec<&GroupMemberStatus> = status
            .and_then(|f| f.group.as_ref())
            .map(|g| {
                g.members
                    .iter()
                    .filter(|m| m.refused || m.control || m.partitions > 0)
                    .collect()
            })
            .unwrap_or_default();
        if members.is_empty() {
            let mut task = json!({ "id": tasks.len(), "state": local_state, "worker_id": worker_id, "flow": flow, "mode": mode });
            if let Some(trace) = trace {
                task["trace"] = Value::String(trace);
            }
            tasks.push(task);
            continue;
        }
        for member in members {
            let mine = member.worker_id == worker_id;
            let (state, trace) = if member.refused {
                (
                    "FAILED",
                    Some("refused by the group: its configuration differs".to_string()),
                )
            } else if mine {
                (local_state, trace.clone())
            } else if connector.paused {
                ("PAUSED", None)
            } else {
                // Another worker's share, as the last assignment gave it.
                ("RUNNING", None)
            };
            let mut task = json!({
                "id": tasks.len(),
                "state": state,
                "worker_id": member.worker_id,
                "flow": flow,
                "mode": mode,
                "partitions": member.partitions,
                "control": member.control,
            });
            if let Some(trace) = trace {
                task["trace"] = Value::String(trace);
            }
            tasks.push(task);
        }
    }
    let mut connector_status = if connector.paused {
        json!({ "state": "PAUSED", "worker_id": worker_id })
    } else {
        json!({ "state": "RUNNING", "worker_id": worker_id })
    };
    if flows.is_empty() && !connector.paused {
        let trace = match connector.class {
            ConnectorClass::Checkpoint if !connector.from_file => {
                "kmirror emits checkpoints from the MirrorSourceConnector of the same cluster pair; no such connector runs its pairs"
            }
            _ => "no flow to run: no pair is enabled, or another connector runs them",
        };
        connector_status = json!({ "state": "FAILED", "worker_id": worker_id, "trace": trace });
    }
    json!({
        "name": connector.name,
        "connector": connector_status,
        "tasks": tasks,
        "type": "source",
    })
}
