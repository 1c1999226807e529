//! Stand-ins for the other systems the app talks to: a notification gateway (e-mail) and
//! event-feed subscribers. Each channel records every POST it accepts, with its
//! `Idempotency-Key` and signature, and refuses a share of them (503) when
//! `inbox_failure_rate` says so, so the app's retries are exercised.

use crate::state::Simulator;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::Json;
use rand::Rng;
use serde::Serialize;
use serde_json::Value;

#[derive(Debug, Clone, Serialize)]
pub struct InboxEntry {
    pub idempotency_key: Option<String>,
    pub signature: Option<String>,
    pub received_at_ms: i64,
    pub body: Value,
    /// The body exactly as received, for checking its signature.
    pub raw: String,
}

pub async fn receive(
    State(sim): State<Simulator>,
    Path(channel): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> StatusCode {
    let failure_rate = sim.config().inbox_failure_rate.clamp(0.0, 1.0);
    if rand::rng().random_bool(failure_rate) {
        return StatusCode::SERVICE_UNAVAILABLE;
    }
    let Ok(parsed) = serde_json::from_slice::<Value>(&body) else {
        return StatusCode::BAD_REQUEST;
    };
    let header = |name: &str| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::to_string)
    };
    let entry = InboxEntry {
        idempotency_key: header("idempotency-key"),
        signature: header("careforall-signature"),
        received_at_ms: std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_millis() as i64),
        body: parsed,
        raw: String::from_utf8_lossy(&body).into_owned(),
    };
    sim.books
        .lock()
        .unwrap()
        .inbox
        .entry(channel)
        .or_default()
        .push(entry);
    StatusCode::ACCEPTED
}

pub async fn list(
    State(sim): State<Simulator>,
    Path(channel): Path<String>,
) -> Json<Vec<InboxEntry>> {
    Json(
        sim.books
            .lock()
            .unwrap()
            .inbox
            .get(&channel)
            .cloned()
            .unwrap_or_default(),
    )
}
