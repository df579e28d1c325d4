//! `GET /openapi.json`: the API's OpenAPI 3 description, written by hand in
//! `docs/openapi.json` and embedded in the binary.

use std::sync::Arc;

use axum::http::header::CONTENT_TYPE;
use axum::response::IntoResponse;
use axum::routing::get;
use axum::Router;

use super::AppState;

/// The description, as published in `docs/`.
pub const OPENAPI_JSON: &str = include_str!("../../../../docs/openapi.json");

pub fn routes() -> Router<Arc<AppState>> {
    Router::new().route("/openapi.json", get(openapi))
}

async fn openapi() -> impl IntoResponse {
    ([(CONTENT_TYPE, "application/json")], OPENAPI_JSON)
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_description_is_json_and_names_every_route() {
        let doc: serde_json::Value = serde_json::from_str(super::OPENAPI_JSON).unwrap();
        let paths = doc["paths"].as_object().unwrap();
        for path in [
            "/livez",
            "/readyz",
            "/status",
            "/metrics",
            "/api/history",
            "/connectors",
            "/connectors/{name}",
            "/connectors/{name}/config",
            "/connectors/{name}/status",
            "/connectors/{name}/tasks",
            "/connectors/{name}/pause",
            "/connectors/{name}/resume",
            "/connector-plugins",
        ] {
            assert!(paths.contains_key(path), "{path} missing");
        }
    }

    #[test]
    fn the_guard_is_described_and_the_probes_are_open() {
        let doc: serde_json::Value = serde_json::from_str(super::OPENAPI_JSON).unwrap();
        let schemes = &doc["components"]["securitySchemes"];
        assert_eq!(schemes["bearerAuth"]["scheme"], "bearer");
        assert_eq!(schemes["basicAuth"]["scheme"], "basic");
        for (path, item) in doc["paths"].as_object().unwrap() {
            for (method, operation) in item.as_object().unwrap() {
                if method == "parameters" {
                    continue;
                }
                if path == "/livez" || path == "/readyz" {
                    assert_eq!(operation["security"], serde_json::json!([]), "{path}");
                } else {
                    assert!(
                        operation["responses"].get("401").is_some(),
                        "{method} {path} documents no 401"
                    );
                }
            }
        }
    }
}
