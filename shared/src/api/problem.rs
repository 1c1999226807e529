//! RFC 9457 problem details with a stable machine-readable `code`.

use super::ApiResponse;
use crate::storage::DbError;
use serde::Serialize;

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FieldError {
    pub field: String,
    pub message: String,
}

/// A problem answer. Its `type` URI is derived from `code` when rendered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    pub title: &'static str,
    pub status: u16,
    pub code: &'static str,
    pub detail: String,
    pub errors: Vec<FieldError>,
    pub extra_headers: Vec<(String, String)>,
}

#[derive(Serialize)]
struct ProblemBody<'a> {
    #[serde(rename = "type")]
    type_uri: String,
    title: &'a str,
    status: u16,
    code: &'a str,
    detail: &'a str,
    #[serde(skip_serializing_if = "<[_]>::is_empty")]
    errors: &'a [FieldError],
}

impl Problem {
    pub fn new(status: u16, code: &'static str, detail: impl Into<String>) -> Self {
        Problem {
            title: title_for(status),
            status,
            code,
            detail: detail.into(),
            errors: Vec::new(),
            extra_headers: Vec::new(),
        }
    }

    /// The same problem under a more specific stable code.
    pub fn with_code(mut self, code: &'static str) -> Self {
        self.code = code;
        self
    }

    pub fn with_header(mut self, name: &str, value: impl Into<String>) -> Self {
        self.extra_headers.push((name.into(), value.into()));
        self
    }

    pub fn validation(errors: Vec<FieldError>) -> Self {
        let detail = errors
            .iter()
            .map(|e| format!("{}: {}", e.field, e.message))
            .collect::<Vec<_>>()
            .join("; ");
        Problem {
            errors,
            ..Problem::new(422, "validation_failed", detail)
        }
    }

    pub fn not_found(code: &'static str, detail: impl Into<String>) -> Self {
        Problem::new(404, code, detail)
    }

    pub fn method_not_allowed(allow: &str) -> Self {
        Problem::new(
            405,
            "method_not_allowed",
            format!("this resource allows {allow}"),
        )
        .with_header("allow", allow)
    }

    /// A storage failure: the detail names what failed without leaking SQL to clients.
    pub fn storage(err: DbError) -> Self {
        Problem::new(
            503,
            "storage_unavailable",
            format!(
                "the database could not complete the request ({})",
                kind(&err)
            ),
        )
    }

    pub fn into_response(self) -> ApiResponse {
        let mut headers = vec![(
            "content-type".to_string(),
            "application/problem+json".to_string(),
        )];
        headers.extend(self.extra_headers.iter().cloned());
        ApiResponse {
            status: self.status,
            headers,
            body: serde_json::to_vec(&ProblemBody {
                type_uri: format!("urn:careforall:problem:{}", self.code),
                title: self.title,
                status: self.status,
                code: self.code,
                detail: &self.detail,
                errors: &self.errors,
            })
            .expect("problems serialize"),
        }
    }
}

fn kind(err: &DbError) -> &'static str {
    match err {
        DbError::Constraint(_) => "constraint",
        DbError::Decode(_) => "decode",
        DbError::Other(_) => "backend",
    }
}

impl From<DbError> for Problem {
    fn from(err: DbError) -> Self {
        Problem::storage(err)
    }
}

fn title_for(status: u16) -> &'static str {
    match status {
        400 => "Bad Request",
        401 => "Unauthorized",
        403 => "Forbidden",
        404 => "Not Found",
        405 => "Method Not Allowed",
        409 => "Conflict",
        413 => "Content Too Large",
        415 => "Unsupported Media Type",
        422 => "Unprocessable Content",
        429 => "Too Many Requests",
        503 => "Service Unavailable",
        _ => "Error",
    }
}
