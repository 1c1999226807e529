//! Glue between the Spin SDK and the plain API layer (compiled for wasm only): requests
//! and responses, the configured database, outbound HTTP, the clock.

mod database;
mod http;
mod key_value;
mod postgres;
mod provider;
mod relay;
mod request;
mod respond;
mod sqlite;
mod telemetry;

pub use database::{
    open_database, open_for_request, open_or_problem, read_with_database, Access, OpenError,
};
pub use http::SpinHttp;
pub use key_value::DefaultStore;
pub use postgres::SpinPostgres;
pub use provider::ProviderSettings;
use relay::relay_after_response;
pub use relay::{relay_settings_from_variables, with_relay};
pub use request::read_request;
pub use respond::{answer_then_relay, respond};
pub use spin_sdk::variables;
pub use sqlite::SpinSqlite;

use crate::api::ApiResponse;
use spin_sdk::http::Response;

/// The component answering, as its crate names it: every response says
/// `careforall-component: <name>/<version>`, so an operator sees which version of each
/// function is serving. Set once per instance by [`crate::identify_component!`].
static COMPONENT: std::sync::OnceLock<String> = std::sync::OnceLock::new();

pub const COMPONENT_HEADER: &str = "careforall-component";

pub fn identify(name: &str, version: &str) {
    let _ = COMPONENT.set(format!("{name}/{version}"));
}

pub fn spin_response(resp: ApiResponse) -> Response {
    let mut builder = Response::builder();
    builder.status(resp.status);
    if let Some(component) = COMPONENT.get() {
        builder.header(COMPONENT_HEADER, component.as_str());
    }
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
