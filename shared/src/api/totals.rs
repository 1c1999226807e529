//! `GET /api/v1/campaigns/{id}/totals`: the campaign totals read model, in O(1): one
//! primary-key read of `campaign_totals` and one index lookup for the relay lag. It
//! never reads pledges.

use super::{ApiRequest, ApiResponse, Problem};
use crate::domain::totals::Totals;
use crate::relay::{health, totals};
use crate::storage::{campaigns, SqlExecutor};
use serde::Serialize;

pub struct Context<'a> {
    pub db: &'a dyn SqlExecutor,
    pub now_ms: i64,
}

#[derive(Serialize)]
struct TotalsView<'a> {
    campaign_id: &'a str,
    currency: &'a str,
    goal_minor: u64,
    raised_minor: u64,
    #[serde(flatten)]
    totals: Totals,
    /// The newest outbox event (position) reflected in these totals; null before the first.
    as_of: Option<i64>,
    updated_at_ms: Option<i64>,
    /// Age of the oldest event the relay has not applied yet (0 when it is idle): how far
    /// behind these totals may be.
    relay_lag_ms: i64,
}

pub fn handle(req: &ApiRequest, ctx: &Context<'_>) -> ApiResponse {
    route(req, ctx).unwrap_or_else(Problem::into_response)
}

fn route(req: &ApiRequest, ctx: &Context<'_>) -> Result<ApiResponse, Problem> {
    let segments: Vec<&str> = req.path.trim_end_matches('/').split('/').skip(1).collect();
    let ["api", "v1", "campaigns", id, "totals"] = segments.as_slice() else {
        return Err(Problem::not_found(
            "not_found",
            format!("no route for {}", req.path),
        ));
    };
    if req.method != "GET" {
        return Err(Problem::method_not_allowed("GET"));
    }
    if !req.query.is_empty() {
        return Err(Problem::new(
            400,
            "invalid_query",
            "totals take no query parameters",
        ));
    }
    let relay_lag_ms = health::lag_ms(ctx.db, ctx.now_ms).map_err(Problem::storage)?;
    let body = match totals::read(ctx.db, id).map_err(Problem::storage)? {
        Some(t) => ApiResponse::json(
            200,
            &TotalsView {
                campaign_id: &t.campaign_id,
                currency: &t.currency,
                goal_minor: t.goal_minor,
                raised_minor: t.totals.raised_minor(),
                totals: t.totals,
                as_of: Some(t.last_event_id),
                updated_at_ms: Some(t.updated_at_ms),
                relay_lag_ms,
            },
        ),
        // A campaign the relay has seen no event of yet.
        None => {
            let campaign = campaigns::get(ctx.db, id)
                .map_err(Problem::storage)?
                .ok_or_else(|| {
                    Problem::not_found("campaign_not_found", format!("no campaign with id `{id}`"))
                })?;
            ApiResponse::json(
                200,
                &TotalsView {
                    campaign_id: &campaign.id,
                    currency: campaign.currency.code(),
                    goal_minor: campaign.goal_minor,
                    raised_minor: 0,
                    totals: Totals::default(),
                    as_of: None,
                    updated_at_ms: None,
                    relay_lag_ms,
                },
            )
        }
    };
    Ok(body.with_header("cache-control", "no-store"))
}
