//! Disputes (chargebacks), opened and decided from the control API as a card network
//! would: `POST /_sim/payment_intents/{id}/dispute` opens one over what is left of the
//! charge (`needs_response`) and withdraws its funds (`charge.dispute.created`, then
//! `charge.dispute.funds_withdrawn`); `POST /_sim/disputes/{id}/close` with
//! `{"outcome": "won" | "lost"}` decides it (`charge.dispute.closed`, and for a win
//! `charge.dispute.funds_reinstated`: the money comes back).

use crate::api::error;
use crate::delivery;
use crate::state::Simulator;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::Deserialize;
use serde_json::{json, Value};

#[derive(Debug, Clone)]
pub struct Dispute {
    pub id: String,
    pub payment_intent: String,
    pub amount: u64,
    pub status: &'static str,
}

impl Dispute {
    pub fn is_closed(&self) -> bool {
        matches!(self.status, "won" | "lost")
    }

    fn json(&self) -> Value {
        json!({
            "id": self.id, "object": "dispute", "amount": self.amount, "payment_intent": self.payment_intent,
            "charge": format!("ch_{}", &self.payment_intent[3..]), "status": self.status, "reason": "fraudulent",
        })
    }
}

fn answer(object: &Value) -> Response {
    (
        StatusCode::OK,
        [("content-type", "application/json")],
        object.to_string(),
    )
        .into_response()
}

pub async fn open(State(sim): State<Simulator>, Path(payment_intent): Path<String>) -> Response {
    let mut books = sim.books.lock().unwrap();
    let refunds_held: u64 = books
        .refunds
        .values()
        .filter(|r| r.payment_intent == payment_intent && r.status != "failed")
        .map(|r| r.amount)
        .sum();
    let Some(intent) = books.intents.get_mut(&payment_intent) else {
        return error(
            StatusCode::NOT_FOUND,
            "invalid_request_error",
            "no such payment_intent",
        )
        .into_response();
    };
    let amount = intent
        .amount_received
        .saturating_sub(refunds_held + intent.amount_disputed);
    if intent.status != "succeeded" || amount == 0 {
        return error(
            StatusCode::BAD_REQUEST,
            "invalid_request_error",
            "nothing left to dispute",
        )
        .into_response();
    }
    intent.amount_disputed += amount;
    let dispute = Dispute {
        id: format!("dp_{}", uuid::Uuid::new_v4().simple()),
        payment_intent,
        amount,
        status: "needs_response",
    };
    books.disputes.insert(dispute.id.clone(), dispute.clone());
    drop(books);
    let object = dispute.json();
    delivery::dispatch(&sim, "charge.dispute.created", object.clone());
    delivery::dispatch(&sim, "charge.dispute.funds_withdrawn", object.clone());
    answer(&object)
}

#[derive(Deserialize)]
pub struct Close {
    outcome: String,
}

pub async fn close(
    State(sim): State<Simulator>,
    Path(id): Path<String>,
    Json(close): Json<Close>,
) -> Response {
    let status = match close.outcome.as_str() {
        "won" => "won",
        "lost" => "lost",
        _ => {
            return error(
                StatusCode::BAD_REQUEST,
                "invalid_request_error",
                "outcome is won or lost",
            )
            .into_response()
        }
    };
    let mut books = sim.books.lock().unwrap();
    let Some(dispute) = books.disputes.get_mut(&id) else {
        return error(
            StatusCode::NOT_FOUND,
            "invalid_request_error",
            "no such dispute",
        )
        .into_response();
    };
    if dispute.is_closed() {
        return error(
            StatusCode::BAD_REQUEST,
            "invalid_request_error",
            "the dispute is closed",
        )
        .into_response();
    }
    dispute.status = status;
    let dispute = dispute.clone();
    if status == "won" {
        if let Some(intent) = books.intents.get_mut(&dispute.payment_intent) {
            intent.amount_disputed -= dispute.amount;
        }
    }
    drop(books);
    let object = dispute.json();
    delivery::dispatch(&sim, "charge.dispute.closed", object.clone());
    if status == "won" {
        delivery::dispatch(&sim, "charge.dispute.funds_reinstated", object.clone());
    }
    answer(&object)
}
