//! Liveness: answers without touching any store, so a load balancer can tell a live
//! instance from a dead one cheaply.

use super::{ApiResponse, Problem};

/// `GET` or `HEAD /health`; any other method answers 405.
pub fn handle(method: &str, version: &str) -> ApiResponse {
    match method {
        "GET" | "HEAD" => ApiResponse::json(
            200,
            &serde_json::json!({ "status": "ok", "version": version }),
        ),
        _ => Problem::method_not_allowed("GET, HEAD").into_response(),
    }
}

#[cfg(test)]
mod tests {
    use super::handle;

    #[test]
    fn only_reads_are_answered() {
        assert_eq!(handle("GET", "1.0.0").status, 200);
        assert_eq!(handle("HEAD", "1.0.0").status, 200);
        let trace = handle("TRACE", "1.0.0");
        assert_eq!(trace.status, 405);
        assert!(trace
            .headers
            .contains(&("allow".into(), "GET, HEAD".into())));
    }
}
