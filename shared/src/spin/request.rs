//! Reading a request from Spin, its body bounded while it streams in.

use crate::api::body_limit::BodyLimit;
use crate::api::cross_site::refuse_cross_site;
use crate::api::{ApiRequest, ApiResponse, Problem};
use crate::telemetry::{current, TraceParent};
use futures::TryStreamExt;
use spin_sdk::http::IncomingRequest;

/// Reads `req` into an [`ApiRequest`], or answers 413 as soon as its declared or
/// received length passes `limit` (the rest of the body is never read). Its
/// `traceparent`, if valid, becomes the trace context its writes carry. A browser's write
/// that another site started is refused with 403 before anything is read.
pub async fn read_request(
    req: IncomingRequest,
    limit: BodyLimit,
) -> Result<ApiRequest, ApiResponse> {
    let uri = req.path_with_query().unwrap_or_else(|| "/".into());
    let (path, query) = uri.split_once('?').unwrap_or((&uri, ""));
    let headers: Vec<(String, String)> = req
        .headers()
        .entries()
        .into_iter()
        .map(|(n, v)| {
            (
                n.to_ascii_lowercase(),
                String::from_utf8_lossy(&v).into_owned(),
            )
        })
        .collect();
    current::set(
        headers
            .iter()
            .find(|(name, _)| name == "traceparent")
            .and_then(|(_, value)| TraceParent::parse(value)),
    );
    let mut api = ApiRequest {
        method: req.method().to_string(),
        path: path.to_string(),
        query: query.to_string(),
        headers,
        body: Vec::new(),
    };
    refuse_cross_site(&api).map_err(Problem::into_response)?;
    limit
        .check_declared(api.header("content-length"))
        .map_err(Problem::into_response)?;
    let mut stream = req.into_body_stream();
    while let Some(chunk) = stream.try_next().await.map_err(|e| {
        Problem::new(
            400,
            "body_unreadable",
            format!("reading the request body: {e:?}"),
        )
        .into_response()
    })? {
        api.body.extend_from_slice(&chunk);
        limit
            .check_read(api.body.len())
            .map_err(Problem::into_response)?;
    }
    Ok(api)
}
