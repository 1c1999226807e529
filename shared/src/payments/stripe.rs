//! The Stripe-compatible adapter of the payment port, over any HTTP sender, so it runs in
//! a component (Spin's outbound HTTP) and natively in tests alike.

use super::provider::{
    CancelPayment, CaptureMode, CapturePayment, ChargePage, ChargeRecord, CreatePayment,
    CreateRefund, Payment, PaymentProvider, ProviderError, ProviderRefund,
};
use crate::domain::refund::RefundStatus;
use crate::telemetry::current;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HttpRequest {
    pub method: &'static str,
    pub url: String,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HttpResponse {
    pub status: u16,
    pub body: Vec<u8>,
}

/// Sends one HTTP request; `Err` means no response arrived.
pub trait HttpSend {
    fn send(&self, request: HttpRequest) -> Result<HttpResponse, String>;

    /// Sends several requests, concurrently where the sender can; answers in order.
    fn send_all(&self, requests: Vec<HttpRequest>) -> Vec<Result<HttpResponse, String>> {
        requests.into_iter().map(|r| self.send(r)).collect()
    }
}

pub struct Stripe<'a> {
    pub http: &'a dyn HttpSend,
    /// e.g. `https://api.stripe.com` or the simulator's `http://127.0.0.1:4242`.
    pub base_url: &'a str,
    pub api_key: &'a str,
}

/// The provider-side idempotency key for a pledge's payment: retries of a pledge (after a
/// crash, a timeout, a resumed idempotent request) can never create a second payment.
pub fn payment_idempotency_key(pledge_id: &str) -> String {
    format!("pledge-{pledge_id}-payment")
}

/// The provider-side idempotency key for capturing a pledge's payment.
pub fn capture_idempotency_key(pledge_id: &str) -> String {
    format!("pledge-{pledge_id}-capture")
}

/// The provider-side idempotency key for cancelling a pledge's payment.
pub fn cancel_idempotency_key(pledge_id: &str) -> String {
    format!("pledge-{pledge_id}-cancel")
}

/// The provider-side idempotency key for one refund the app decided on.
pub fn refund_idempotency_key(refund_id: &str) -> String {
    format!("refund-{refund_id}")
}

/// Charges per page when listing.
const LIST_PAGE: u32 = 100;

impl Stripe<'_> {
    fn get(&self, path_and_query: &str) -> Result<serde_json::Value, ProviderError> {
        let response = self
            .http
            .send(HttpRequest {
                method: "GET",
                url: format!("{}{path_and_query}", self.base_url.trim_end_matches('/')),
                headers: vec![("authorization".into(), format!("Bearer {}", self.api_key))],
                body: Vec::new(),
            })
            .map_err(ProviderError::Unavailable)?;
        answer(response.status, &response.body)
    }

    fn post(
        &self,
        path: &str,
        idempotency_key: &str,
        form: &[(&str, String)],
    ) -> Result<serde_json::Value, ProviderError> {
        let body = form_urlencoded::Serializer::new(String::new())
            .extend_pairs(form.iter().map(|(k, v)| (*k, v.as_str())))
            .finish();
        let mut headers = vec![
            ("authorization".into(), format!("Bearer {}", self.api_key)),
            (
                "content-type".into(),
                "application/x-www-form-urlencoded".into(),
            ),
            ("idempotency-key".into(), idempotency_key.into()),
        ];
        // The request's trace goes to the provider as a header, never in the form: a
        // retry's form must match the first call's for the provider's idempotency, and a
        // retry comes from another request. A host that traces replaces it with the span
        // of this call (Spin's outbound HTTP does).
        if let Some(context) = current::get() {
            headers.push(("traceparent".into(), context.to_string()));
        }
        let response = self
            .http
            .send(HttpRequest {
                method: "POST",
                url: format!("{}{path}", self.base_url.trim_end_matches('/')),
                headers,
                body: body.into_bytes(),
            })
            .map_err(ProviderError::Unavailable)?;
        answer(response.status, &response.body)
    }
}

fn answer(status: u16, body: &[u8]) -> Result<serde_json::Value, ProviderError> {
    let json: serde_json::Value = serde_json::from_slice(body).unwrap_or_default();
    match status {
        200..=299 => Ok(json),
        400..=499 => Err(ProviderError::Rejected {
            status,
            message: json["error"]["message"]
                .as_str()
                .unwrap_or("no message")
                .to_string(),
        }),
        status => Err(ProviderError::Unavailable(format!("status {status}"))),
    }
}

fn charge_record(json: &serde_json::Value) -> Result<ChargeRecord, ProviderError> {
    let malformed =
        |what: &str| ProviderError::Unavailable(format!("charge without {what}: {json}"));
    Ok(ChargeRecord {
        id: json["id"]
            .as_str()
            .ok_or_else(|| malformed("id"))?
            .to_string(),
        payment_id: json["payment_intent"]
            .as_str()
            .ok_or_else(|| malformed("payment_intent"))?
            .to_string(),
        pledge_id: json["metadata"]["pledge_id"].as_str().map(str::to_string),
        captured_minor: json["amount_captured"]
            .as_u64()
            .ok_or_else(|| malformed("amount_captured"))?,
        refunded_minor: json["amount_refunded"]
            .as_u64()
            .ok_or_else(|| malformed("amount_refunded"))?,
    })
}

impl PaymentProvider for Stripe<'_> {
    fn create_payment(&self, request: &CreatePayment<'_>) -> Result<Payment, ProviderError> {
        let capture = match request.capture {
            CaptureMode::Automatic => "automatic",
            CaptureMode::Manual => "manual",
        };
        let json = self.post(
            "/v1/payment_intents",
            &payment_idempotency_key(request.pledge_id),
            &[
                ("amount", request.amount_minor.to_string()),
                ("currency", request.currency.code().to_ascii_lowercase()),
                ("capture_method", capture.to_string()),
                ("metadata[pledge_id]", request.pledge_id.to_string()),
            ],
        )?;
        match (json["id"].as_str(), json["client_secret"].as_str()) {
            (Some(id), Some(secret)) => Ok(Payment {
                id: id.to_string(),
                client_secret: secret.to_string(),
            }),
            _ => Err(ProviderError::Unavailable(
                "payment intent without id or client_secret".into(),
            )),
        }
    }

    fn capture(&self, request: &CapturePayment<'_>) -> Result<u64, ProviderError> {
        let form: Vec<(&str, String)> = request
            .amount_minor
            .map(|a| ("amount_to_capture", a.to_string()))
            .into_iter()
            .collect();
        let json = self.post(
            &format!("/v1/payment_intents/{}/capture", request.payment_id),
            &capture_idempotency_key(request.pledge_id),
            &form,
        )?;
        json["amount_received"].as_u64().ok_or_else(|| {
            ProviderError::Unavailable(format!("capture answer without amount_received: {json}"))
        })
    }

    fn cancel(&self, request: &CancelPayment<'_>) -> Result<(), ProviderError> {
        let json = self.post(
            &format!("/v1/payment_intents/{}/cancel", request.payment_id),
            &cancel_idempotency_key(request.pledge_id),
            &[("cancellation_reason", request.reason.as_str().to_string())],
        )?;
        match json["status"].as_str() {
            Some("canceled") => Ok(()),
            _ => Err(ProviderError::Unavailable(format!(
                "cancel answer with a status other than canceled: {json}"
            ))),
        }
    }

    fn refund(&self, request: &CreateRefund<'_>) -> Result<ProviderRefund, ProviderError> {
        let json = self.post(
            "/v1/refunds",
            &refund_idempotency_key(request.refund_id),
            &[
                ("payment_intent", request.payment_id.to_string()),
                ("amount", request.amount_minor.to_string()),
                ("metadata[refund_id]", request.refund_id.to_string()),
            ],
        )?;
        let status = json["status"]
            .as_str()
            .and_then(RefundStatus::from_provider);
        match (json["id"].as_str(), json["amount"].as_u64(), status) {
            (Some(id), Some(amount), Some(status)) if amount == request.amount_minor => {
                Ok(ProviderRefund {
                    id: id.to_string(),
                    amount_minor: amount,
                    status,
                    failure: json["failure_reason"].as_str().map(str::to_string),
                })
            }
            _ => Err(ProviderError::Unavailable(format!(
                "refund answer without id or status, or with another amount: {json}"
            ))),
        }
    }

    fn list_charges(&self, after: Option<&str>) -> Result<ChargePage, ProviderError> {
        let mut query = format!("/v1/charges?limit={LIST_PAGE}");
        if let Some(after) = after {
            query.push_str("&starting_after=");
            query.push_str(&form_urlencoded::byte_serialize(after.as_bytes()).collect::<String>());
        }
        let json = self.get(&query)?;
        let charges = json["data"]
            .as_array()
            .map(|data| {
                data.iter()
                    .map(charge_record)
                    .collect::<Result<Vec<_>, _>>()
            })
            .transpose()?
            .unwrap_or_default();
        let next = match json["has_more"].as_bool() {
            Some(true) => charges.last().map(|c| c.id.clone()),
            _ => None,
        };
        Ok(ChargePage { charges, next })
    }
}
