//! Liveness: answers without touching any store, so a load balancer can tell a live
//! instance from a dead one cheaply.

use super::ApiResponse;

pub fn handle(version: &str) -> ApiResponse {
    ApiResponse::json(
        200,
        &serde_json::json!({ "status": "ok", "version": version }),
    )
}
