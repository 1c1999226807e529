//! `POST /internal/outbox/relay`: one relay run for an external scheduler (a Kubernetes
//! CronJob, a systemd timer), protected by the relay's shared secret. Answers what the
//! run did.

use super::auth::require_relay_secret;
use super::{ApiRequest, ApiResponse, Problem};
use crate::relay::Relay;

pub fn handle(req: &ApiRequest, relay_secret: &str, relay: &Relay<'_>) -> ApiResponse {
    route(req, relay_secret, relay).unwrap_or_else(Problem::into_response)
}

fn route(req: &ApiRequest, relay_secret: &str, relay: &Relay<'_>) -> Result<ApiResponse, Problem> {
    if req.path.trim_end_matches('/') != "/internal/outbox/relay" {
        return Err(Problem::not_found(
            "not_found",
            format!("no route for {}", req.path),
        ));
    }
    if req.method != "POST" {
        return Err(Problem::method_not_allowed("POST"));
    }
    require_relay_secret(req, relay_secret)?;
    if !req.body.is_empty() || !req.query.is_empty() {
        return Err(Problem::new(
            400,
            "unexpected_input",
            "a relay run takes no body and no query",
        ));
    }
    let report = relay
        .run()
        .map_err(|e| Problem::new(503, "relay_failed", format!("the relay run stopped: {e}")))?;
    Ok(ApiResponse::json(200, &report))
}
