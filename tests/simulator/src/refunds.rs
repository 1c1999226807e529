//! `POST /v1/refunds` and the refund's later life. Like Stripe's test cards, the amount
//! decides the fate: minor units ending in `91` begin `pending` and later succeed, `92`
//! succeed and later fail (the money comes back to the platform), `93` begin `pending`
//! and later fail; anything else succeeds at once. `POST /_sim/refunds/{id}/settle` is
//! "later": it moves the refund to its final status and sends `charge.refund.updated`.

use crate::api::{charge_json, error, provider_call};
use crate::delivery;
use crate::state::{Books, Simulator};
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use serde_json::{json, Value};

#[derive(Debug, Clone, Serialize)]
pub struct Refund {
    pub id: String,
    pub payment_intent: String,
    pub amount: u64,
    pub status: &'static str,
    /// Where `settle` takes it, if anywhere.
    #[serde(skip)]
    pub settles_to: Option<&'static str>,
    pub metadata: serde_json::Map<String, Value>,
    pub failure_reason: Option<&'static str>,
}

impl Refund {
    pub fn json(&self) -> Value {
        json!({
            "id": self.id, "object": "refund", "amount": self.amount, "payment_intent": self.payment_intent,
            "status": self.status, "metadata": self.metadata, "failure_reason": self.failure_reason,
        })
    }
}

/// (first status, final status after `settle`) for a refund of `amount`.
fn fate(amount: u64) -> (&'static str, Option<&'static str>) {
    match amount % 100 {
        91 => ("pending", Some("succeeded")),
        92 => ("succeeded", Some("failed")),
        93 => ("pending", Some("failed")),
        _ => ("succeeded", None),
    }
}

/// Sums the intent's refunds that count: succeeded ones as refunded.
pub fn recount(books: &mut Books, payment_intent: &str) {
    let refunded = books
        .refunds
        .values()
        .filter(|r| r.payment_intent == payment_intent && r.status == "succeeded")
        .map(|r| r.amount)
        .sum();
    if let Some(intent) = books.intents.get_mut(payment_intent) {
        intent.amount_refunded = refunded;
    }
}

/// What may still be refunded: captured, minus refunds not failed, minus disputed money.
fn refundable(books: &Books, payment_intent: &str) -> u64 {
    let Some(intent) = books.intents.get(payment_intent) else {
        return 0;
    };
    let held: u64 = books
        .refunds
        .values()
        .filter(|r| r.payment_intent == payment_intent && r.status != "failed")
        .map(|r| r.amount)
        .sum();
    intent
        .amount_received
        .saturating_sub(held)
        .saturating_sub(intent.amount_disputed)
}

pub async fn create(State(sim): State<Simulator>, headers: HeaderMap, body: Bytes) -> Response {
    provider_call(&sim, &headers, &body, "/v1/refunds", |form| {
        let mut books = sim.books.lock().unwrap();
        let Some(intent) = form
            .get("payment_intent")
            .and_then(|id| books.intents.get(id))
        else {
            return error(
                StatusCode::NOT_FOUND,
                "invalid_request_error",
                "no such payment_intent",
            );
        };
        if intent.status != "succeeded" {
            return error(
                StatusCode::BAD_REQUEST,
                "invalid_request_error",
                &format!("payment_intent is {}", intent.status),
            );
        }
        let payment_intent = intent.id.clone();
        if books
            .disputes
            .values()
            .any(|d| d.payment_intent == payment_intent && !d.is_closed())
        {
            return error(
                StatusCode::BAD_REQUEST,
                "charge_disputed",
                "the charge is disputed",
            );
        }
        let remaining = refundable(&books, &payment_intent);
        let amount = form
            .get("amount")
            .and_then(|a| a.parse::<u64>().ok())
            .unwrap_or(remaining);
        if amount == 0 || amount > remaining {
            return error(
                StatusCode::BAD_REQUEST,
                "invalid_request_error",
                &format!("refund of {amount} exceeds the {remaining} left to refund"),
            );
        }
        let (status, settles_to) = fate(amount);
        let metadata = form
            .iter()
            .filter_map(|(k, v)| {
                let key = k.strip_prefix("metadata[")?.strip_suffix(']')?;
                Some((key.to_string(), Value::String(v.clone())))
            })
            .collect();
        let refund = Refund {
            id: format!("re_{}", uuid::Uuid::new_v4().simple()),
            payment_intent: payment_intent.clone(),
            amount,
            status,
            settles_to,
            metadata,
            failure_reason: None,
        };
        books.refunds.insert(refund.id.clone(), refund.clone());
        recount(&mut books, &payment_intent);
        let charge = charge_json(&books, &payment_intent);
        drop(books);
        delivery::dispatch(&sim, "charge.refunded", charge);
        (StatusCode::OK, refund.json().to_string())
    })
}

/// `POST /_sim/refunds/{id}/settle`: the refund reaches its final status.
pub async fn settle(State(sim): State<Simulator>, Path(id): Path<String>) -> Response {
    let mut books = sim.books.lock().unwrap();
    let Some(refund) = books.refunds.get_mut(&id) else {
        return error(
            StatusCode::NOT_FOUND,
            "invalid_request_error",
            "no such refund",
        )
        .into_response();
    };
    let Some(status) = refund.settles_to.take() else {
        return error(
            StatusCode::BAD_REQUEST,
            "invalid_request_error",
            &format!("refund is {} and stays so", refund.status),
        )
        .into_response();
    };
    refund.status = status;
    if status == "failed" {
        refund.failure_reason = Some("expired_or_canceled_card");
    }
    let object = refund.json();
    let payment_intent = refund.payment_intent.clone();
    recount(&mut books, &payment_intent);
    drop(books);
    delivery::dispatch(&sim, "charge.refund.updated", object.clone());
    (
        StatusCode::OK,
        [("content-type", "application/json")],
        object.to_string(),
    )
        .into_response()
}
