//! HTTP API handlers as plain functions from [`ApiRequest`] to [`ApiResponse`], so the
//! components stay thin and everything here is testable natively against real SQLite.

pub mod accounts;
pub mod admin;
pub mod auth;
pub mod body_limit;
pub mod campaigns;
pub mod cross_site;
pub mod donor_history;
pub mod health;
pub mod idempotent;
pub mod json;
pub mod list_cache;
pub mod metrics;
pub mod operator_views;
pub mod pagination;
pub mod pledges;
pub mod problem;
pub mod refunds;
pub mod relay;
pub mod sign_in_limits;
pub mod static_assets;
pub mod totals;
pub mod webhooks;

pub use problem::Problem;

/// The parts of an HTTP request the handlers look at.
#[derive(Debug, Clone, Default)]
pub struct ApiRequest {
    pub method: String,
    /// The full path, without the query string.
    pub path: String,
    pub query: String,
    /// Header names in lower case.
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl ApiRequest {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiResponse {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl ApiResponse {
    pub fn json(status: u16, value: &impl serde::Serialize) -> Self {
        ApiResponse {
            status,
            headers: vec![("content-type".into(), "application/json".into())],
            body: serde_json::to_vec(value).expect("response types serialize"),
        }
    }

    pub fn with_header(mut self, name: &str, value: impl Into<String>) -> Self {
        self.headers.push((name.into(), value.into()));
        self
    }
}

impl From<Problem> for ApiResponse {
    fn from(p: Problem) -> Self {
        p.into_response()
    }
}

/// Handler result: an error is always a problem document.
pub type ApiResult = Result<ApiResponse, Problem>;

/// For a route with a single `POST` endpoint at `path`: 404 for other paths, 405 for
/// other methods.
pub fn post_only(req: &ApiRequest, path: &str) -> Result<(), Problem> {
    if req.path.trim_end_matches('/') != path {
        return Err(Problem::not_found(
            "not_found",
            format!("no route for {}", req.path),
        ));
    }
    if req.method != "POST" {
        return Err(Problem::method_not_allowed("POST"));
    }
    Ok(())
}
