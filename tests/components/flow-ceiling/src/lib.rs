//! The donation flow with every step but storage: `POST /pledges` reads the body, calls
//! the provider for a payment as the app does and answers 201; `POST /webhook` verifies
//! the provider's signature and parses the event as the app does and answers 200. What
//! the app's pledges cost beyond this is their storage and domain logic.

use careforall::api::body_limit::BodyLimit;
use careforall::api::{ApiRequest, ApiResponse, Problem};
use careforall::domain::money::Currency;
use careforall::payments::provider::{CaptureMode, CreatePayment, PaymentProvider};
use careforall::payments::signature::{secrets_from_list, verify, DEFAULT_TOLERANCE_SECS};
use careforall::payments::stripe_events::parse_webhook;
use careforall::spin::{
    new_id, now_ms, read_request, respond, spin_response, variables, ProviderSettings,
};
use spin_sdk::http::{IncomingRequest, ResponseOutparam};
use spin_sdk::http_component;

#[http_component]
async fn flow_ceiling(req: IncomingRequest, out: ResponseOutparam) {
    let answer = match read_request(req, BodyLimit::API).await {
        Ok(req) if req.path.ends_with("/webhook") => webhook(&req),
        Ok(req) => pledge(&req),
        Err(refused) => Ok(refused),
    };
    let answer = answer.unwrap_or_else(Problem::into_response);
    respond(out, Ok(spin_response(answer))).await;
}

fn bad_request(message: String) -> Problem {
    Problem::new(400, "bad_request", message)
}

/// A variable the manifest should provide is missing: the operator's to fix.
fn misconfigured(e: impl std::fmt::Display) -> Problem {
    Problem::new(500, "misconfigured", e.to_string())
}

fn pledge(req: &ApiRequest) -> Result<ApiResponse, Problem> {
    let body: serde_json::Value =
        serde_json::from_slice(&req.body).map_err(|e| bad_request(e.to_string()))?;
    let amount_minor = body["amount_minor"]
        .as_u64()
        .ok_or_else(|| bad_request("amount_minor must be a positive integer".into()))?;
    let currency = Currency::parse(body["currency"].as_str().unwrap_or_default())
        .map_err(|e| bad_request(e.to_string()))?;
    let settings = ProviderSettings::from_variables().map_err(misconfigured)?;
    let id = new_id();
    let payment = settings
        .stripe()
        .create_payment(&CreatePayment {
            pledge_id: &id,
            amount_minor,
            currency,
            capture: CaptureMode::Automatic,
        })
        .map_err(|e| Problem::new(502, "payment_provider_unavailable", e.to_string()))?;
    Ok(ApiResponse::json(
        201,
        &serde_json::json!({ "id": id, "provider_payment_id": payment.id, "client_secret": payment.client_secret }),
    ))
}

fn webhook(req: &ApiRequest) -> Result<ApiResponse, Problem> {
    let configured = variables::get("webhook_secrets").map_err(misconfigured)?;
    verify(
        req.header("stripe-signature"),
        &req.body,
        &secrets_from_list(&configured),
        now_ms() / 1000,
        DEFAULT_TOLERANCE_SECS,
    )
    .map_err(|e| Problem::new(401, "invalid_signature", e.to_string()))?;
    parse_webhook(&req.body).map_err(|m| Problem::new(400, "malformed_event", m))?;
    Ok(ApiResponse::json(
        200,
        &serde_json::json!({ "outcome": "received" }),
    ))
}
