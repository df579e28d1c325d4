//! Every route the REST API serves, as one table: [`super::router`] builds
//! axum's router from it, and a test checks it against `docs/openapi.json`
//! both ways, so that neither gains a route the other lacks. Each area's
//! module lists its own routes ([`super::connectors::routes`], ...).

use std::sync::Arc;

use axum::handler::Handler;
use axum::http::Method;
use axum::routing::{self, MethodFilter, MethodRouter};
use axum::Router;

use super::{connectors, health, metrics, openapi, status, web, AppState};

/// One method on one path, and the handler that answers it.
pub struct Route {
    pub method: Method,
    /// In axum's syntax, which is OpenAPI's too (`/connectors/{name}`).
    pub path: &'static str,
    /// The handler, served for the method given: [`router`] passes
    /// [`Self::method`], so the table cannot say one method while axum
    /// serves another.
    serve: Box<dyn FnOnce(MethodFilter) -> MethodRouter<Arc<AppState>> + Send>,
}

impl Route {
    /// `handler` answers `method` on `path`.
    pub fn new<H, T>(method: Method, path: &'static str, handler: H) -> Self
    where
        H: Handler<T, Arc<AppState>>,
        T: 'static,
    {
        Route {
            method,
            path,
            serve: Box::new(move |filter| routing::on(filter, handler)),
        }
    }
}

/// Every route of every area.
pub fn table() -> Vec<Route> {
    [
        health::routes(),
        status::routes(),
        connectors::routes(),
        metrics::routes(),
        web::routes(),
        openapi::routes(),
    ]
    .into_iter()
    .flatten()
    .collect()
}

/// The table as axum's router (two methods on one path merge into one
/// entry).
pub fn router(table: Vec<Route>) -> Router<Arc<AppState>> {
    table.into_iter().fold(Router::new(), |router, route| {
        let filter = MethodFilter::try_from(route.method.clone())
            .expect("the table uses only GET, POST, PUT and DELETE");
        router.route(route.path, (route.serve)(filter))
    })
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use super::*;

    /// `(METHOD, path)` pairs the OpenAPI document describes.
    fn documented() -> BTreeSet<(String, String)> {
        let doc: serde_json::Value = serde_json::from_str(openapi::OPENAPI_JSON).unwrap();
        let mut operations = BTreeSet::new();
        for (path, item) in doc["paths"].as_object().unwrap() {
            for method in item.as_object().unwrap().keys() {
                // A path item's other keys (`parameters`, `summary`, ...)
                // are not operations.
                if ["get", "put", "post", "delete", "patch", "head", "options"]
                    .contains(&method.as_str())
                {
                    operations.insert((method.to_uppercase(), path.clone()));
                }
            }
        }
        operations
    }

    #[test]
    fn every_route_served_is_documented_and_every_documented_route_served() {
        let served: BTreeSet<(String, String)> = table()
            .iter()
            .map(|route| (route.method.to_string(), route.path.to_owned()))
            .collect();
        let documented = documented();
        let undocumented: Vec<_> = served.difference(&documented).collect();
        let not_served: Vec<_> = documented.difference(&served).collect();
        assert!(
            undocumented.is_empty() && not_served.is_empty(),
            "served but missing from docs/openapi.json: {undocumented:?}; \
             in docs/openapi.json but not served: {not_served:?}"
        );
        // The restart routes, which a hand-kept list once missed.
        assert!(served.contains(&("POST".into(), "/connectors/{name}/restart".into())));
        assert!(served.contains(&(
            "POST".into(),
            "/connectors/{name}/tasks/{task}/restart".into()
        )));
    }

    #[test]
    fn no_route_is_listed_twice() {
        let table = table();
        let unique: BTreeSet<_> = table
            .iter()
            .map(|route| (route.method.clone(), route.path))
            .collect();
        assert_eq!(unique.len(), table.len());
        // axum accepts the whole table (it panics on a conflict).
        let _ = router(table);
    }
}
