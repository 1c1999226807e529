//! The provider's HTTP API (Stripe's wire format, the subset the app uses) and controls.

use crate::intents;
use crate::state::{Books, Config, Simulator};
use axum::body::Bytes;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde_json::{json, Value};
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;

pub fn router(sim: Simulator) -> Router {
    Router::new()
        .route("/v1/payment_intents", post(intents::create))
        .route("/v1/payment_intents/{id}", get(intents::retrieve))
        .route("/v1/payment_intents/{id}/confirm", post(intents::confirm))
        .route("/v1/payment_intents/{id}/cancel", post(intents::cancel))
        .route("/v1/payment_intents/{id}/capture", post(intents::capture))
        .route(
            "/pay/{id}",
            get(crate::hosted_page::show).post(crate::hosted_page::pay),
        )
        .route("/v1/refunds", post(crate::refunds::create))
        .route("/_sim/refunds/{id}/settle", post(crate::refunds::settle))
        .route(
            "/_sim/payment_intents/{id}/dispute",
            post(crate::disputes::open),
        )
        .route("/_sim/disputes/{id}/close", post(crate::disputes::close))
        .route("/v1/charges", get(list_charges))
        .route("/v1/events", get(list_events))
        .route(
            "/_sim/inbox/{channel}",
            get(crate::inbox::list).post(crate::inbox::receive),
        )
        .route("/_sim/config", get(get_config).post(set_config))
        .route(
            "/_sim/ledger",
            get(|State(sim): State<Simulator>| async move { Json(sim.ledger()) }),
        )
        .route(
            "/_sim/deliveries",
            get(|State(sim): State<Simulator>| async move {
                Json(sim.books.lock().unwrap().deliveries.clone())
            }),
        )
        .with_state(sim)
}

pub(crate) fn error(status: StatusCode, kind: &str, message: &str) -> (StatusCode, String) {
    (
        status,
        json!({ "error": { "type": kind, "message": message } }).to_string(),
    )
}

pub(crate) fn authorize(sim: &Simulator, headers: &HeaderMap) -> Result<(), (StatusCode, String)> {
    let expected = format!("Bearer {}", sim.config().api_key);
    match headers.get("authorization").and_then(|v| v.to_str().ok()) {
        Some(given) if given == expected => Ok(()),
        _ => Err(error(
            StatusCode::UNAUTHORIZED,
            "authentication_error",
            "invalid API key",
        )),
    }
}

/// Serves one provider API call: checks the API key, reads the form, and runs `op` at
/// most once per `Idempotency-Key` (per path): a retry with the same parameters gets the
/// stored answer, different parameters get Stripe's 400.
pub(crate) fn provider_call(
    sim: &Simulator,
    headers: &HeaderMap,
    body: &Bytes,
    path: &str,
    op: impl FnOnce(&BTreeMap<String, String>) -> (StatusCode, String),
) -> Response {
    if let Err(e) = authorize(sim, headers) {
        return e.into_response();
    }
    let form = &parse_form(body);
    let key = headers
        .get("idempotency-key")
        .and_then(|v| v.to_str().ok())
        .map(|k| format!("{path}\n{k}"));
    let fingerprint = hex::encode(Sha256::digest(serde_json::to_vec(form).unwrap()));
    if let Some(key) = &key {
        if let Some((stored, status, body)) =
            sim.books.lock().unwrap().idempotency.get(key).cloned()
        {
            if stored != fingerprint {
                return error(
                    StatusCode::BAD_REQUEST,
                    "idempotency_error",
                    "keys for idempotent requests can only be used with the same parameters",
                )
                .into_response();
            }
            return (
                StatusCode::from_u16(status).unwrap(),
                [("idempotent-replayed", "true")],
                body,
            )
                .into_response();
        }
    }
    let (status, body) = op(form);
    if let Some(key) = key {
        sim.books
            .lock()
            .unwrap()
            .idempotency
            .insert(key, (fingerprint, status.as_u16(), body.clone()));
    }
    (status, [("content-type", "application/json")], body).into_response()
}

fn parse_form(body: &Bytes) -> BTreeMap<String, String> {
    form_urlencoded::parse(body).into_owned().collect()
}

/// Stripe's charge for an intent, with its refunds listed (as API versions that list
/// them by default do).
pub(crate) fn charge_json(books: &Books, payment_intent: &str) -> Value {
    let Some(intent) = books.intents.get(payment_intent) else {
        return Value::Null;
    };
    let refunds: Vec<Value> = books
        .refunds
        .values()
        .filter(|r| r.payment_intent == intent.id)
        .map(crate::refunds::Refund::json)
        .collect();
    json!({
        "id": format!("ch_{}", &intent.id[3..]), "object": "charge", "payment_intent": intent.id,
        "amount": intent.amount, "amount_captured": intent.amount_received, "amount_refunded": intent.amount_refunded,
        "refunded": intent.amount_refunded == intent.amount_received, "disputed": intent.amount_disputed > 0,
        "currency": intent.currency, "metadata": intent.metadata,
        "refunds": { "object": "list", "data": refunds },
    })
}

#[derive(serde::Deserialize)]
struct ListQuery {
    limit: Option<usize>,
    starting_after: Option<String>,
}

impl ListQuery {
    /// Stripe's page size: 10 unless asked, 1 to 100.
    fn page_size(&self) -> usize {
        self.limit.unwrap_or(10).clamp(1, 100)
    }
}

/// Stripe's list format: `data` oldest id first, `has_more`, paged by `starting_after`.
async fn list_charges(
    State(sim): State<Simulator>,
    headers: HeaderMap,
    Query(query): Query<ListQuery>,
) -> Response {
    if let Err(e) = authorize(&sim, &headers) {
        return e.into_response();
    }
    let limit = query.page_size();
    let after = query
        .starting_after
        .map(|ch| format!("pi_{}", ch.trim_start_matches("ch_")));
    let books = sim.books.lock().unwrap();
    let mut intents = books
        .intents
        .values()
        .filter(|i| after.as_ref().is_none_or(|a| &i.id > a));
    let data: Vec<Value> = intents
        .by_ref()
        .take(limit)
        .map(|i| charge_json(&books, &i.id))
        .collect();
    list(data, intents.next().is_some())
}

/// Stripe's list object.
fn list(data: Vec<Value>, has_more: bool) -> Response {
    Json(json!({ "object": "list", "data": data, "has_more": has_more })).into_response()
}

/// Stripe's `GET /v1/events`: newest first, paged by `starting_after`.
async fn list_events(
    State(sim): State<Simulator>,
    headers: HeaderMap,
    Query(query): Query<ListQuery>,
) -> Response {
    if let Err(e) = authorize(&sim, &headers) {
        return e.into_response();
    }
    let books = sim.books.lock().unwrap();
    match books
        .events
        .page(query.page_size(), query.starting_after.as_deref())
    {
        Some((data, has_more)) => list(data, has_more),
        None => error(
            StatusCode::BAD_REQUEST,
            "invalid_request_error",
            "starting_after names no event",
        )
        .into_response(),
    }
}

async fn get_config(State(sim): State<Simulator>) -> Json<Config> {
    Json(sim.config())
}

async fn set_config(State(sim): State<Simulator>, Json(config): Json<Config>) -> Json<Config> {
    *sim.config.lock().unwrap() = config.clone();
    Json(config)
}
