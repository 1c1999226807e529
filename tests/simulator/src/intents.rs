//! Payment intents: created and settled at once by the amount (Stripe's test cards),
//! confirmed again with another card after a decline, cancelled, captured, retrieved.

use crate::api::{authorize, error, provider_call};
use crate::delivery;
use crate::delivery::TRACEPARENT;
use crate::state::{Intent, Simulator};
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use careforall::telemetry::TraceParent;
use serde_json::{json, Value};
use std::collections::BTreeMap;

pub fn intent_json(intent: &Intent) -> Value {
    json!({
        "id": intent.id, "object": "payment_intent", "amount": intent.amount, "currency": intent.currency,
        "capture_method": intent.capture_method, "status": intent.status, "amount_received": intent.amount_received,
        "amount_capturable": if intent.status == "requires_capture" { intent.amount } else { 0 },
        "client_secret": intent.client_secret, "metadata": intent.metadata,
        "last_payment_error": if intent.status == "requires_payment_method" && intent.attempts > 0 {
            json!({ "type": "card_error", "code": "card_declined", "decline_code": "generic_decline" })
        } else {
            Value::Null
        },
        "cancellation_reason": intent.cancellation_reason,
    })
}

/// What a card does with a payment attempt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Card {
    Succeeds,
    Declined,
    /// Authorized and held for a manual capture whatever the intent's capture method.
    HeldForCapture,
}

impl Card {
    /// The card of an intent's first attempt: minor units ending in `13` are declined,
    /// in `77` held for capture, anything else paid.
    fn for_amount(amount: u64) -> Card {
        match amount % 100 {
            13 => Card::Declined,
            77 => Card::HeldForCapture,
            _ => Card::Succeeds,
        }
    }

    /// Stripe's test payment methods.
    pub(crate) fn named(payment_method: &str) -> Option<Card> {
        match payment_method {
            "pm_card_visa" | "pm_card_mastercard" => Some(Card::Succeeds),
            "pm_card_chargeDeclined" | "pm_card_visa_chargeDeclined" => Some(Card::Declined),
            _ => None,
        }
    }
}

/// One payment attempt on `intent` and the events it produces, in order.
fn attempt(intent: &mut Intent, card: Card) -> Vec<(&'static str, Value)> {
    intent.attempts += 1;
    let mut events = Vec::new();
    if card == Card::Declined {
        intent.status = "requires_payment_method".into();
        events.push(("payment_intent.payment_failed", intent_json(intent)));
        return events;
    }
    intent.status = "requires_capture".into();
    events.push((
        "payment_intent.amount_capturable_updated",
        intent_json(intent),
    ));
    if card == Card::Succeeds && intent.capture_method != "manual" {
        intent.status = "succeeded".into();
        intent.amount_received = intent.amount;
        events.push(("payment_intent.succeeded", intent_json(intent)));
    }
    events
}

fn dispatch_all(sim: &Simulator, events: Vec<(&'static str, Value)>) {
    for (kind, object) in events {
        delivery::dispatch(sim, kind, object);
    }
}

fn unexpected_state(intent: &Intent, action: &str) -> (StatusCode, String) {
    error(
        StatusCode::BAD_REQUEST,
        "invalid_request_error",
        &format!(
            "payment_intent_unexpected_state: you cannot {action} this PaymentIntent because it has a status of {}",
            intent.status
        ),
    )
}

pub(crate) fn no_such_intent() -> (StatusCode, String) {
    error(
        StatusCode::NOT_FOUND,
        "invalid_request_error",
        "no such payment_intent",
    )
}

pub async fn create(State(sim): State<Simulator>, headers: HeaderMap, body: Bytes) -> Response {
    // A provider that takes part in W3C tracing: the caller's trace context stays with
    // the payment (in its metadata, unless the caller put one there) and goes out on
    // every webhook about it.
    let trace = headers
        .get("traceparent")
        .and_then(|v| v.to_str().ok())
        .and_then(TraceParent::parse);
    provider_call(&sim, &headers, &body, "/v1/payment_intents", |form| {
        let Some(amount) = form
            .get("amount")
            .and_then(|a| a.parse::<u64>().ok())
            .filter(|a| *a > 0)
        else {
            return error(
                StatusCode::BAD_REQUEST,
                "invalid_request_error",
                "amount must be a positive integer",
            );
        };
        let Some(currency) = form.get("currency").filter(|c| c.len() == 3).cloned() else {
            return error(
                StatusCode::BAD_REQUEST,
                "invalid_request_error",
                "currency must be a 3-letter code",
            );
        };
        let metadata: BTreeMap<String, String> = form
            .iter()
            .filter_map(|(k, v)| {
                k.strip_prefix("metadata[")
                    .and_then(|k| k.strip_suffix(']'))
                    .map(|k| (k.to_string(), v.clone()))
            })
            .collect();
        let mut metadata = metadata;
        if let Some(trace) = trace {
            metadata
                .entry(TRACEPARENT.to_string())
                .or_insert_with(|| trace.to_string());
        }
        let id = format!("pi_{}", uuid::Uuid::new_v4().simple());
        let mut intent = Intent {
            client_secret: format!("{id}_secret_{}", uuid::Uuid::new_v4().simple()),
            id,
            amount,
            currency: currency.to_ascii_lowercase(),
            capture_method: form
                .get("capture_method")
                .cloned()
                .unwrap_or_else(|| "automatic".into()),
            status: "processing".into(),
            amount_received: 0,
            amount_refunded: 0,
            amount_disputed: 0,
            metadata,
            attempts: 0,
            cancellation_reason: None,
        };
        let created = intent_json(&intent);
        // Settle right away; the webhooks carry the outcome.
        let events = attempt(&mut intent, Card::for_amount(amount));
        sim.books
            .lock()
            .unwrap()
            .intents
            .insert(intent.id.clone(), intent);
        dispatch_all(&sim, events);
        (StatusCode::OK, created.to_string())
    })
}

pub async fn retrieve(
    State(sim): State<Simulator>,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Response {
    if let Err(e) = authorize(&sim, &headers) {
        return e.into_response();
    }
    match sim.books.lock().unwrap().intents.get(&id) {
        Some(intent) => (StatusCode::OK, intent_json(intent).to_string()).into_response(),
        None => no_such_intent().into_response(),
    }
}

/// Another attempt with the card `payment_method` names, after a decline (Stripe
/// returns the intent to `requires_payment_method`, and the donor may try again).
pub async fn confirm(
    State(sim): State<Simulator>,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let path = format!("/v1/payment_intents/{id}/confirm");
    provider_call(&sim, &headers, &body, &path, |form| {
        let Some(card) = form.get("payment_method").and_then(|pm| Card::named(pm)) else {
            return error(
                StatusCode::BAD_REQUEST,
                "invalid_request_error",
                "payment_method must be a test card: pm_card_visa or pm_card_chargeDeclined",
            );
        };
        match pay_again(&sim, &id, card, None) {
            Err(refused) => refused,
            Ok(Attempt::Declined(object)) => {
                let body = json!({ "error": { "type": "card_error", "code": "card_declined",
                    "message": "Your card was declined.", "payment_intent": object } });
                (StatusCode::PAYMENT_REQUIRED, body.to_string())
            }
            Ok(Attempt::Paid(object)) => (StatusCode::OK, object.to_string()),
        }
    })
}

/// What another payment attempt did, with the intent as it now stands.
pub enum Attempt {
    Paid(Value),
    Declined(Value),
}

/// Confirms intent `id` again with `card`, as the API's confirm and the hosted payment
/// page do; `client_secret`, when given, must be the intent's (the browser's credential).
pub(crate) fn pay_again(
    sim: &Simulator,
    id: &str,
    card: Card,
    client_secret: Option<&str>,
) -> Result<Attempt, (StatusCode, String)> {
    let mut books = sim.books.lock().unwrap();
    let Some(intent) = books
        .intents
        .get_mut(id)
        .filter(|i| client_secret.is_none_or(|s| s == i.client_secret))
    else {
        return Err(no_such_intent());
    };
    if intent.status != "requires_payment_method" && intent.status != "requires_confirmation" {
        return Err(unexpected_state(intent, "confirm"));
    }
    let events = attempt(intent, card);
    let object = intent_json(intent);
    drop(books);
    dispatch_all(sim, events);
    Ok(if card == Card::Declined {
        Attempt::Declined(object)
    } else {
        Attempt::Paid(object)
    })
}

/// Cancels an intent that has not been paid; Stripe refuses once it succeeded.
pub async fn cancel(
    State(sim): State<Simulator>,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let path = format!("/v1/payment_intents/{id}/cancel");
    provider_call(&sim, &headers, &body, &path, |form| {
        let mut books = sim.books.lock().unwrap();
        let Some(intent) = books.intents.get_mut(&id) else {
            return no_such_intent();
        };
        if intent.status == "succeeded" || intent.status == "canceled" {
            return unexpected_state(intent, "cancel");
        }
        intent.status = "canceled".into();
        intent.cancellation_reason = form.get("cancellation_reason").cloned();
        let object = intent_json(intent);
        drop(books);
        delivery::dispatch(&sim, "payment_intent.canceled", object.clone());
        (StatusCode::OK, object.to_string())
    })
}

pub async fn capture(
    State(sim): State<Simulator>,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let path = format!("/v1/payment_intents/{id}/capture");
    provider_call(&sim, &headers, &body, &path, |form| {
        let mut books = sim.books.lock().unwrap();
        let Some(intent) = books.intents.get_mut(&id) else {
            return no_such_intent();
        };
        if intent.status != "requires_capture" {
            return unexpected_state(intent, "capture");
        }
        let amount = form
            .get("amount_to_capture")
            .and_then(|a| a.parse().ok())
            .unwrap_or(intent.amount)
            .min(intent.amount);
        intent.status = "succeeded".into();
        intent.amount_received = amount;
        let object = intent_json(intent);
        drop(books);
        delivery::dispatch(&sim, "payment_intent.succeeded", object.clone());
        (StatusCode::OK, object.to_string())
    })
}
