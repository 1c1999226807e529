//! `POST /api/v1/payments/webhook`: provider events, verified on the raw body before any
//! parsing, applied exactly once, every delivery acknowledged and recorded.

use super::{post_only, ApiRequest, ApiResponse, ApiResult, Problem};
use crate::payments::signature::{verify, SignatureError, DEFAULT_TOLERANCE_SECS};
use crate::payments::stripe_events::{parse_webhook, ParsedWebhook};
use crate::storage::provider_events::{apply_provider_event, ProviderEvent, Via};
use crate::storage::SqlExecutor;

pub const PATH: &str = "/api/v1/payments/webhook";

pub struct Context<'a> {
    pub db: &'a dyn SqlExecutor,
    /// Every secret currently accepted (more than one while rotating).
    pub secrets: &'a [&'a [u8]],
    /// The wall clock, read where a time is written (inside a transaction, an event is
    /// stamped when it is written, not when the request began waiting for the lock).
    pub clock: &'a dyn Fn() -> i64,
}

pub fn handle(req: &ApiRequest, ctx: &Context<'_>) -> ApiResponse {
    post_only(req, PATH)
        .and_then(|()| receive(req, ctx))
        .unwrap_or_else(Problem::into_response)
}

fn receive(req: &ApiRequest, ctx: &Context<'_>) -> ApiResult {
    verify(
        req.header("stripe-signature"),
        &req.body,
        ctx.secrets,
        (ctx.clock)() / 1000,
        DEFAULT_TOLERANCE_SECS,
    )
    .map_err(|e| match e {
        SignatureError::Missing | SignatureError::Malformed(_) => {
            Problem::new(400, "invalid_signature_header", e.to_string())
        }
        SignatureError::OutsideTolerance { .. } | SignatureError::Mismatch => {
            Problem::new(401, "invalid_signature", e.to_string())
        }
    })?;
    let parsed = parse_webhook(&req.body).map_err(|m| Problem::new(400, "malformed_event", m))?;
    let event = match parsed {
        ParsedWebhook::Ignored { event_id, kind } => {
            return Ok(ApiResponse::json(
                200,
                &serde_json::json!({ "event_id": event_id, "outcome": "ignored", "type": kind }),
            ))
        }
        ParsedWebhook::Event(event) => event,
    };
    let processed = apply_provider_event(
        ctx.db,
        &ProviderEvent {
            event_id: &event.event_id,
            kind: &event.kind,
            payment_id: &event.payment_id,
            pledge_id: event.pledge_id.as_deref(),
            reports: &event.reports,
            via: Via::Webhook,
        },
        ctx.clock,
    )?;
    Ok(ApiResponse {
        status: 200,
        headers: vec![("content-type".into(), "application/json".into())],
        body: processed.response_body.into_bytes(),
    })
}
