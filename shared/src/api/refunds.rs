//! `POST /api/v1/pledges/{id}/refund` (admin): a full or partial refund, exactly once per
//! `Idempotency-Key`, never more than was captured, resumable after a crash or an outage.

use super::auth::require_admin;
use super::idempotent::{remember, require_key, settled};
use super::json::{parse_body_and_value, positive_amount};
use super::problem::FieldError;
use super::{ApiRequest, ApiResponse, ApiResult, Problem};
use crate::domain::idempotency::request_hash;
use crate::domain::money::PositiveAmount;
use crate::domain::text::BoundedText;
use crate::payments::provider::{CreateRefund, PaymentProvider, ProviderError, ProviderRefund};
use crate::payments::report::{RefundReport, Report};
use crate::storage::pledges::{self, Pledge};
use crate::storage::provider_events::{apply_provider_event, ProviderEvent, Via};
use crate::storage::refunds::{self, NewRefund, Refund, RefundStatus, Refusal, Reserved};
use crate::storage::{idempotency, DbError, SqlExecutor};
use serde::{Deserialize, Serialize};

/// Refund keys are scoped to their pledge: `refund-1` on two pledges is two refunds, and
/// the refund row keeps the key for as long as it exists, after the key's own record
/// has expired.
pub fn refund_scope(pledge_id: &str) -> String {
    format!("refund:{pledge_id}")
}

type Reason = BoundedText<500, false>;

pub struct Context<'a> {
    pub db: &'a dyn SqlExecutor,
    pub provider: &'a dyn PaymentProvider,
    pub admin_token: &'a str,
    /// The wall clock, read where a time is written (inside a transaction, an event is
    /// stamped when it is written, not when the request began waiting for the lock).
    pub clock: &'a dyn Fn() -> i64,
    pub new_id: &'a dyn Fn() -> String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RefundBody {
    /// Absent: everything still refundable.
    amount_minor: Option<serde_json::Number>,
    reason: Option<String>,
}

#[derive(Serialize)]
struct Refunded<'a> {
    refund: &'a Refund,
    pledge: &'a Pledge,
}

pub fn handle(req: &ApiRequest, ctx: &Context<'_>) -> ApiResponse {
    route(req, ctx).unwrap_or_else(Problem::into_response)
}

fn route(req: &ApiRequest, ctx: &Context<'_>) -> ApiResult {
    let path = req.path.trim_end_matches('/');
    let segments: Vec<&str> = path.split('/').skip(1).collect();
    let ["api", "v1", "pledges", pledge_id, "refund"] = segments.as_slice() else {
        return Err(Problem::not_found(
            "not_found",
            format!("no route for {}", req.path),
        ));
    };
    if req.method != "POST" {
        return Err(Problem::method_not_allowed("POST"));
    }
    require_admin(req, ctx.admin_token)?;
    refund(req, pledge_id, ctx)
}

fn validate(body: &RefundBody) -> Result<(Option<PositiveAmount>, Option<Reason>), Problem> {
    let mut errors = Vec::new();
    let amount = match &body.amount_minor {
        None => None,
        Some(n) => positive_amount(n)
            .map_err(|message| {
                errors.push(FieldError {
                    field: "amount_minor".into(),
                    message,
                })
            })
            .ok(),
    };
    let reason = match &body.reason {
        None => None,
        Some(r) => Reason::parse(r)
            .map_err(|e| {
                errors.push(FieldError {
                    field: "reason".into(),
                    message: e.to_string(),
                })
            })
            .ok(),
    };
    if errors.is_empty() {
        Ok((amount, reason))
    } else {
        Err(Problem::validation(errors))
    }
}

fn refund(req: &ApiRequest, pledge_id: &str, ctx: &Context<'_>) -> ApiResult {
    let key = require_key(req, "POST /api/v1/pledges/{id}/refund")?;
    let (body, raw_json): (RefundBody, _) = parse_body_and_value(req)?;
    let (amount, reason) = validate(&body)?;
    let hash = request_hash(&req.method, &req.path, &raw_json);
    let scope = refund_scope(pledge_id);
    let (scope, key) = (scope.as_str(), key.as_str());
    let decision = idempotency::acquire(ctx.db, scope, key, &hash, (ctx.clock)())?;
    if let Some(answer) = settled(&decision) {
        return answer;
    }
    // An earlier attempt with this key may have reserved the refund already (its key
    // record may have expired since: the refund row still names the key).
    let (refund, payment_id) = match refunds::by_request(ctx.db, scope, key)? {
        Some(refund) => {
            if !same_request(&refund, amount, reason.as_ref()) {
                idempotency::forget(ctx.db, scope, key)?;
                return Err(Problem::new(
                    422,
                    "idempotency_key_reused",
                    format!(
                        "Idempotency-Key `{key}` already made refund {} of {} on this pledge, with other parameters",
                        refund.id, refund.amount_minor
                    ),
                ));
            }
            let payment_id = pledges::get(ctx.db, &refund.pledge_id)?
                .and_then(|p| p.provider_payment_id)
                .ok_or_else(|| {
                    Problem::storage(DbError::Other(format!(
                        "refund {} names pledge {} without a provider payment",
                        refund.id, refund.pledge_id
                    )))
                })?;
            (refund, payment_id)
        }
        None => {
            let id = (ctx.new_id)();
            let reservation = refunds::reserve(
                ctx.db,
                &NewRefund {
                    id: &id,
                    pledge_id,
                    amount,
                    reason: reason.as_ref().map(|r| r.as_str()),
                    request_scope: scope,
                    request_key: key,
                },
                (ctx.clock)(),
            )?;
            match reservation {
                Ok(Reserved {
                    refund,
                    provider_payment_id,
                }) => (refund, provider_payment_id),
                Err(refused) => {
                    idempotency::forget(ctx.db, scope, key)?;
                    return Err(refusal(pledge_id, refused));
                }
            }
        }
    };
    if refund.provider_refund_id.is_none() {
        let asked = CreateRefund {
            refund_id: &refund.id,
            payment_id: &payment_id,
            amount_minor: refund.amount_minor,
        };
        match ctx.provider.refund(&asked) {
            Ok(answer) => record_answer(ctx, &refund, &payment_id, &answer)?,
            Err(ProviderError::Unavailable(m)) => {
                // The reservation stays; a retry with the same key calls the provider again
                // under the same provider-side idempotency key.
                idempotency::release(ctx.db, scope, key)?;
                return Err(Problem::new(
                    502,
                    "payment_provider_unavailable",
                    format!(
                        "payment provider unavailable: {m}; retry with the same Idempotency-Key"
                    ),
                ));
            }
            Err(e @ ProviderError::Rejected { .. }) => {
                refunds::mark_failed(ctx.db, &refund.id, &e.to_string(), (ctx.clock)())?;
                idempotency::forget(ctx.db, scope, key)?;
                return Err(Problem::new(
                    502,
                    "payment_provider_rejected",
                    e.to_string(),
                ));
            }
        }
    }
    let refund = refunds::get(ctx.db, &refund.id)?.ok_or_else(|| {
        Problem::storage(DbError::Other(format!("refund {} vanished", refund.id)))
    })?;
    let status = match refund.status {
        RefundStatus::Succeeded => 201,
        // Accepted, not yet money back: the provider reports the outcome by webhook.
        RefundStatus::Requested | RefundStatus::Pending => 202,
        RefundStatus::Failed => {
            idempotency::forget(ctx.db, scope, key)?;
            return Err(Problem::new(
                502,
                "payment_provider_rejected",
                format!(
                    "the payment provider reports refund {} failed: {}",
                    refund.id,
                    refund.failure.as_deref().unwrap_or("no reason given")
                ),
            ));
        }
    };
    let pledge = pledges::get(ctx.db, &refund.pledge_id)?.ok_or_else(|| {
        Problem::storage(DbError::Other(format!(
            "pledge {} of refund {} is missing",
            refund.pledge_id, refund.id
        )))
    })?;
    let response = ApiResponse::json(
        status,
        &Refunded {
            refund: &refund,
            pledge: &pledge,
        },
    );
    remember(ctx.db, scope, key, &response)?;
    Ok(response)
}

/// Whether a request carries the parameters of the refund its key made: the same
/// amount (or none: "what was left then") and the same reason.
fn same_request(refund: &Refund, amount: Option<PositiveAmount>, reason: Option<&Reason>) -> bool {
    amount.is_none_or(|a| a.minor_units() == refund.amount_minor)
        && reason.map(|r| r.as_str()) == refund.reason.as_deref()
}

/// Records the provider's answer as a report on the refund, like its later webhooks:
/// the pledge moves only if the refund already succeeded.
fn record_answer(
    ctx: &Context<'_>,
    refund: &Refund,
    payment_id: &str,
    answer: &ProviderRefund,
) -> Result<(), Problem> {
    apply_provider_event(
        ctx.db,
        &ProviderEvent {
            event_id: &format!("refund:{}:{}", answer.id, answer.status.as_str()),
            kind: "refund.answer",
            payment_id,
            pledge_id: Some(&refund.pledge_id),
            reports: &[Report::Refund(RefundReport {
                provider_refund_id: answer.id.clone(),
                refund_id: Some(refund.id.clone()),
                amount_minor: answer.amount_minor,
                status: answer.status,
                failure: answer.failure.clone(),
            })],
            via: Via::Answer,
        },
        ctx.clock,
    )?;
    Ok(())
}

fn refusal(pledge_id: &str, refused: Refusal) -> Problem {
    match refused {
        Refusal::PledgeNotFound => Problem::not_found(
            "pledge_not_found",
            format!("no pledge with id `{pledge_id}`"),
        ),
        Refusal::NotRefundable(status) => Problem::new(
            409,
            "pledge_not_refundable",
            format!("pledge `{pledge_id}` is {status}; only captured money can be refunded"),
        ),
        Refusal::Exceeds {
            requested_minor,
            refundable_minor,
        } => Problem::validation(vec![FieldError {
            field: "amount_minor".into(),
            message: format!(
                "a refund of {requested_minor} exceeds the {refundable_minor} still refundable"
            ),
        }])
        .with_code("refund_exceeds_captured"),
    }
}
