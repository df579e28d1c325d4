//! `GET /openapi.json`: the API's OpenAPI 3 description, written by hand in
//! `docs/openapi.json` and embedded in the binary. A test in
//! [`super::routes`] fails when a route served is missing from it, or a
//! route described is not served.

use axum::http::header::CONTENT_TYPE;
use axum::http::Method;
use axum::response::IntoResponse;

use super::routes::Route;

/// The description, as published in `docs/`.
pub const OPENAPI_JSON: &str = include_str!("../../../../docs/openapi.json");

pub fn routes() -> Vec<Route> {
    vec![Route::new(Method::GET, "/openapi.json", openapi)]
}

async fn openapi() -> impl IntoResponse {
    ([(CONTENT_TYPE, "application/json")], OPENAPI_JSON)
}

#[cfg(test)]
mod tests {
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
