//! Glue between the Spin SDK and the plain API layer (compiled for wasm only): requests
//! and responses, the configured database, outbound HTTP, the clock.

mod database;
mod http;
mod postgres;
mod provider;
mod relay;
mod respond;
mod sqlite;

pub use database::{open_database, Access};
pub use http::SpinHttp;
pub use postgres::SpinPostgres;
pub use provider::ProviderSettings;
use relay::relay_after_response;
pub use relay::{relay_settings_from_variables, with_relay};
pub use respond::answer_then_relay;
pub use spin_sdk::variables;
pub use sqlite::SpinSqlite;

use crate::api::{ApiRequest, ApiResponse};
use spin_sdk::http::{Request, Response};

/// Reads the whole request into an [`ApiRequest`].
pub fn api_request(req: &Request) -> ApiRequest {
    let uri = req.path_and_query().unwrap_or("/");
    let (path, query) = uri.split_once('?').unwrap_or((uri, ""));
    ApiRequest {
        method: req.method().to_string(),
        path: path.to_string(),
        query: query.to_string(),
        headers: req
            .headers()
            .map(|(n, v)| (n.to_ascii_lowercase(), v.as_str().unwrap_or("").to_string()))
            .collect(),
        body: req.body().to_vec(),
    }
}

pub fn spin_response(resp: ApiResponse) -> Response {
    let mut builder = Response::builder();
    builder.status(resp.status);
    for (name, value) in &resp.headers {
        builder.header(name.as_str(), value.as_str());
    }
    builder.body(resp.body).build()
}

/// Milliseconds since the Unix epoch from the host's wall clock.
pub fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64)
}

/// A fresh random identifier (UUID v4).
pub fn new_id() -> String {
    uuid::Uuid::new_v4().to_string()
}
