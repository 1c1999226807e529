//! The HTTP side of idempotent requests: the required `Idempotency-Key` header and the
//! answers for keys already used (replay, still in flight, reused for another request).

use super::{ApiRequest, ApiResponse, ApiResult, Problem};
use crate::domain::idempotency::{IdempotencyKey, KeyDecision};
use crate::storage::{idempotency, DbError, SqlExecutor};

/// The request's `Idempotency-Key`; `route` names the route in the error.
pub fn require_key(req: &ApiRequest, route: &str) -> Result<IdempotencyKey, Problem> {
    let raw = req.header("idempotency-key").ok_or_else(|| {
        Problem::new(
            400,
            "idempotency_key_missing",
            format!("{route} needs an Idempotency-Key header"),
        )
    })?;
    IdempotencyKey::parse(raw).map_err(|m| {
        Problem::new(
            400,
            "invalid_idempotency_key",
            format!("Idempotency-Key {m}"),
        )
    })
}

/// The answer when a key's earlier use decides it; `None` when this request must run.
pub fn settled(decision: &KeyDecision) -> Option<ApiResult> {
    match decision {
        KeyDecision::Replay { status, body } => Some(Ok(ApiResponse {
            status: *status,
            headers: vec![
                ("content-type".into(), "application/json".into()),
                ("idempotent-replayed".into(), "true".into()),
            ],
            body: body.clone().into_bytes(),
        })),
        KeyDecision::InFlight => Some(Err(Problem::new(
            409,
            "idempotency_request_in_progress",
            "a request with this Idempotency-Key is still being served; retry shortly",
        )
        .with_header("retry-after", "1"))),
        KeyDecision::Mismatch => Some(Err(Problem::new(
            422,
            "idempotency_key_reused",
            "this Idempotency-Key was used for a different request",
        ))),
        KeyDecision::Start | KeyDecision::Resume { .. } => None,
    }
}

/// Stores `response` as the answer every later use of the key replays.
pub fn remember(
    db: &dyn SqlExecutor,
    scope: &str,
    key: &str,
    response: &ApiResponse,
) -> Result<(), DbError> {
    idempotency::finish(
        db,
        scope,
        key,
        response.status,
        &String::from_utf8_lossy(&response.body),
    )
}
