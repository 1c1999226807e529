//! Strict JSON request bodies: right content type, bounded size, no unknown fields.

use super::problem::{FieldError, Problem};
use super::ApiRequest;
use serde::de::DeserializeOwned;

/// The largest JSON body any API route accepts.
pub const MAX_JSON_BODY_BYTES: usize = 16 * 1024;

/// Parses the body as `T`, answering 415/413/400/422 problems for each way it can fail.
pub fn parse_body<T: DeserializeOwned>(req: &ApiRequest) -> Result<T, Problem> {
    let content_type = req.header("content-type").unwrap_or("");
    let media_type = content_type.split(';').next().unwrap_or("").trim();
    if !media_type.eq_ignore_ascii_case("application/json") {
        return Err(Problem::new(
            415,
            "unsupported_media_type",
            format!("expected content-type application/json, got `{content_type}`"),
        ));
    }
    if req.body.len() > MAX_JSON_BODY_BYTES {
        return Err(Problem::new(
            413,
            "payload_too_large",
            format!(
                "body is {} bytes; the limit is {MAX_JSON_BODY_BYTES}",
                req.body.len()
            ),
        ));
    }
    serde_json::from_slice(&req.body).map_err(|e| classify(&e))
}

fn classify(err: &serde_json::Error) -> Problem {
    use serde_json::error::Category;
    let message = err.to_string();
    match err.classify() {
        Category::Syntax | Category::Eof | Category::Io => Problem::new(
            400,
            "malformed_json",
            format!("request body is not valid JSON: {message}"),
        ),
        Category::Data if message.starts_with("unknown field") => {
            Problem::new(400, "unknown_field", message)
        }
        Category::Data => Problem::validation(vec![FieldError {
            field: "body".into(),
            message,
        }]),
    }
}
