//! Admin read-outs and payment actions: `GET /api/v1/admin/relay` (the relay's health
//! figures and its heartbeat), `GET /api/v1/admin/reconciliation` (totals vs pledges vs the provider;
//! `?provider=skip` compares with the pledges only), the operator views (stuck pledges,
//! webhooks, dead letters; `operator_views`), and
//! `POST /api/v1/admin/pledges/{id}/capture` and `.../cancel` (a manually captured
//! payment taken, an unpaid one cancelled at the provider).

use super::auth::require_admin;
use super::json::{parse_body, positive_amount};
use super::operator_views::{self, View};
use super::problem::FieldError;
use super::{ApiRequest, ApiResponse, ApiResult, Problem};
use crate::payments::actions::{self, ActionError};
use crate::payments::provider::{CancelReason, PaymentProvider, ProviderError};
use crate::relay::{health, heartbeat, reconcile};
use crate::storage::key_value::KeyValue;
use crate::storage::SqlExecutor;
use serde::{Deserialize, Serialize};

pub struct Context<'a> {
    pub db: &'a dyn SqlExecutor,
    pub kv: &'a dyn KeyValue,
    pub admin_token: &'a str,
    pub provider: &'a dyn PaymentProvider,
    pub now_ms: i64,
}

/// The database's figures and the key-value store's heartbeat (shown as unreadable,
/// not failing the page, when the store is down: the operator needs the rest then most).
#[derive(Serialize)]
struct RelayFigures {
    #[serde(flatten)]
    figures: health::RelayHealth,
    heartbeat: heartbeat::HeartbeatView,
}

pub fn handle(req: &ApiRequest, ctx: &Context<'_>) -> ApiResponse {
    route(req, ctx).unwrap_or_else(Problem::into_response)
}

fn route(req: &ApiRequest, ctx: &Context<'_>) -> Result<ApiResponse, Problem> {
    let page = req
        .path
        .trim_end_matches('/')
        .strip_prefix("/api/v1/admin/");
    if let Some(["pledges", id, action @ ("capture" | "cancel")]) =
        page.map(|p| p.split('/').collect::<Vec<_>>()).as_deref()
    {
        if req.method != "POST" {
            return Err(Problem::method_not_allowed("POST"));
        }
        require_admin(req, ctx.admin_token)?;
        return payment_action(req, id, action, ctx);
    }
    let view = page.and_then(View::parse);
    if view.is_none() && !matches!(page, Some("relay" | "reconciliation")) {
        return Err(Problem::not_found(
            "not_found",
            format!("no route for {}", req.path),
        ));
    }
    if req.method != "GET" {
        return Err(Problem::method_not_allowed("GET"));
    }
    require_admin(req, ctx.admin_token)?;
    if let Some(view) = view {
        return operator_views::answer(view, req, ctx.db, ctx.now_ms);
    }
    match page {
        Some("relay") => {
            no_query(req)?;
            let figures = RelayFigures {
                figures: health::read(ctx.db, ctx.now_ms).map_err(Problem::storage)?,
                heartbeat: heartbeat::view(ctx.kv, ctx.now_ms),
            };
            Ok(ApiResponse::json(200, &figures))
        }
        _ => {
            let provider = match req.query.as_str() {
                "" => Some(ctx.provider),
                "provider=skip" => None,
                other => {
                    return Err(Problem::new(
                        400,
                        "invalid_query",
                        format!("unknown query `{other}`; the only option is `provider=skip`"),
                    ))
                }
            };
            let report =
                reconcile::reconcile(ctx.db, provider, ctx.now_ms).map_err(|e| match e {
                    reconcile::ReconcileError::Db(e) => Problem::storage(e),
                    reconcile::ReconcileError::Provider(e) => {
                        Problem::new(502, "provider_unavailable", e.to_string())
                    }
                })?;
            // The metrics show the last run's drift; a run whose figure cannot be kept
            // still answers (the report is what was asked for).
            if let Err(e) = reconcile::remember(ctx.db, &report) {
                eprintln!("reconciliation figures not kept for /metrics: {e}");
            }
            Ok(ApiResponse::json(200, &report))
        }
    }
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct CaptureBody {
    /// Absent: the whole authorized amount.
    amount_minor: Option<serde_json::Number>,
}

fn payment_action(req: &ApiRequest, id: &str, action: &str, ctx: &Context<'_>) -> ApiResult {
    no_query(req)?;
    let clock = || ctx.now_ms;
    let done = if action == "capture" {
        let body: CaptureBody = if req.body.is_empty() {
            CaptureBody::default()
        } else {
            parse_body(req)?
        };
        let amount = body
            .amount_minor
            .as_ref()
            .map(positive_amount)
            .transpose()
            .map_err(|message| {
                Problem::validation(vec![FieldError {
                    field: "amount_minor".into(),
                    message,
                }])
            })?;
        actions::capture(
            ctx.db,
            ctx.provider,
            id,
            amount.map(|a| a.minor_units()),
            &clock,
        )
    } else {
        if !req.body.is_empty() && req.body.as_slice() != b"{}" {
            return Err(Problem::new(
                400,
                "invalid_body",
                "cancelling takes no body",
            ));
        }
        actions::cancel(
            ctx.db,
            ctx.provider,
            id,
            CancelReason::RequestedByCustomer,
            &clock,
        )
    };
    let pledge = done.map_err(|e| match e {
        ActionError::NotFound(_) => Problem::not_found("pledge_not_found", e.to_string()),
        ActionError::NotAllowed { .. } => Problem::new(409, "pledge_state_conflict", e.to_string()),
        ActionError::Provider(ProviderError::Unavailable(_)) => {
            Problem::new(502, "payment_provider_unavailable", format!("{e}; retry"))
        }
        ActionError::Provider(ProviderError::Rejected { .. }) => {
            Problem::new(502, "payment_provider_rejected", e.to_string())
        }
        ActionError::Db(e) => Problem::storage(e),
    })?;
    Ok(ApiResponse::json(
        200,
        &serde_json::json!({ "pledge": pledge }),
    ))
}

fn no_query(req: &ApiRequest) -> Result<(), Problem> {
    if req.query.is_empty() {
        Ok(())
    } else {
        Err(Problem::new(
            400,
            "invalid_query",
            "this route takes no query parameters",
        ))
    }
}
