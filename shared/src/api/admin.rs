//! Admin read-outs: `GET /api/v1/admin/relay` (the relay's health figures) and
//! `GET /api/v1/admin/reconciliation` (totals vs pledges vs the provider; `?provider=skip`
//! compares with the pledges only).

use super::auth::require_admin;
use super::{ApiRequest, ApiResponse, Problem};
use crate::payments::provider::PaymentProvider;
use crate::relay::{health, reconcile};
use crate::storage::SqlExecutor;

pub struct Context<'a> {
    pub db: &'a dyn SqlExecutor,
    pub admin_token: &'a str,
    pub provider: &'a dyn PaymentProvider,
    pub now_ms: i64,
}

pub fn handle(req: &ApiRequest, ctx: &Context<'_>) -> ApiResponse {
    route(req, ctx).unwrap_or_else(Problem::into_response)
}

fn route(req: &ApiRequest, ctx: &Context<'_>) -> Result<ApiResponse, Problem> {
    let page = req
        .path
        .trim_end_matches('/')
        .strip_prefix("/api/v1/admin/");
    if !matches!(page, Some("relay" | "reconciliation")) {
        return Err(Problem::not_found(
            "not_found",
            format!("no route for {}", req.path),
        ));
    }
    if req.method != "GET" {
        return Err(Problem::method_not_allowed("GET"));
    }
    require_admin(req, ctx.admin_token)?;
    match page {
        Some("relay") => {
            no_query(req)?;
            let figures = health::read(ctx.db, ctx.now_ms).map_err(Problem::storage)?;
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
            Ok(ApiResponse::json(200, &report))
        }
    }
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
