//! `GET /api/v1/campaigns/{id}/totals`: the campaign totals read model, in O(1). The
//! relay keeps each campaign's totals in the key-value store with the marker of waiting
//! events (see [`totals_cache`]), so most reads never open the database; otherwise one
//! statement reads the campaign, its `campaign_totals` row and the relay lag's index
//! entry. It never reads pledges.

use super::{ApiRequest, ApiResponse, Problem};
use crate::domain::totals::Totals;
use crate::relay::totals;
use crate::relay::totals_cache::{self, CachedTotals};
use crate::storage::key_value::KeyValue;
use crate::storage::SqlExecutor;
use serde::Serialize;

pub struct Context<'a> {
    /// Where the relay keeps the totals; `None` reads the database every time.
    pub cache: Option<&'a dyn KeyValue>,
    /// Opens the database, for a campaign the cache does not hold.
    pub open_db: &'a dyn Fn() -> Result<Box<dyn SqlExecutor>, Problem>,
    pub now_ms: i64,
}

#[derive(Serialize)]
struct TotalsView {
    campaign_id: String,
    currency: String,
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
    let view = match cached(ctx, id) {
        Some(view) => view,
        None => from_database(ctx, id)?,
    };
    let body = ApiResponse::json(200, &view);
    Ok(body.with_header("cache-control", "no-store"))
}

/// The totals from the key-value store, when it holds the campaign. A store that fails
/// is logged and the database answers instead.
fn cached(ctx: &Context<'_>, id: &str) -> Option<TotalsView> {
    match totals_cache::read(ctx.cache?, id, ctx.now_ms) {
        Ok(found) => found.map(|(cached, lag)| TotalsView::of(cached, lag)),
        Err(e) => {
            eprintln!("totals cache: {e}");
            None
        }
    }
}

fn from_database(ctx: &Context<'_>, id: &str) -> Result<TotalsView, Problem> {
    let db = (ctx.open_db)()?;
    let read = totals::read(db.as_ref(), id)
        .map_err(Problem::storage)?
        .ok_or_else(|| {
            Problem::not_found("campaign_not_found", format!("no campaign with id `{id}`"))
        })?;
    let lag = read
        .oldest_unpublished_at_ms
        .map_or(0, |created| (ctx.now_ms - created).max(0));
    Ok(TotalsView::of(CachedTotals::from(read), lag))
}

impl TotalsView {
    fn of(totals: CachedTotals, relay_lag_ms: i64) -> Self {
        TotalsView {
            raised_minor: totals.totals.raised_minor(),
            totals: totals.totals,
            as_of: totals.last_event_id,
            updated_at_ms: totals.updated_at_ms,
            campaign_id: totals.campaign_id,
            currency: totals.currency,
            goal_minor: totals.goal_minor,
            relay_lag_ms,
        }
    }
}
