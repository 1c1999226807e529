//! `/api/v1/campaigns`: public list and detail, admin create and patch.

use super::auth::require_admin;
use super::json::{parse_body, positive_amount};
use super::list_cache;
use super::pagination::{encode_cursor, parse_page};
use super::problem::FieldError;
use super::{ApiRequest, ApiResponse, ApiResult, Problem};
use crate::domain::campaign::{
    CampaignDescription, CampaignPatch, CampaignStatus, CampaignTitle, NewCampaign,
};
use crate::domain::money::Currency;
use crate::relay::totals_cache;
use crate::storage::campaigns::{self, PatchOutcome};
use crate::storage::key_value::KeyValue;
use crate::storage::SqlExecutor;
use serde::{Deserialize, Serialize};

pub const BASE_PATH: &str = "/api/v1/campaigns";

/// What the handler needs besides the request: the store, the admin secret, a clock
/// and an id source (so tests can pin them).
pub struct Context<'a> {
    pub db: &'a dyn SqlExecutor,
    pub admin_token: &'a str,
    pub now_ms: i64,
    pub new_id: &'a dyn Fn() -> String,
    /// The wall clock, read once a write has committed.
    pub clock: &'a dyn Fn() -> i64,
    /// The app's key-value store, where the list pages and the campaign totals are
    /// kept for readers; told of every change.
    pub kv: Option<&'a dyn KeyValue>,
}

pub fn handle(req: &ApiRequest, ctx: &Context<'_>) -> ApiResponse {
    route(req, ctx).unwrap_or_else(Problem::into_response)
}

fn route(req: &ApiRequest, ctx: &Context<'_>) -> ApiResult {
    let rest = req
        .path
        .strip_prefix(BASE_PATH)
        .ok_or_else(|| Problem::not_found("not_found", format!("no route for {}", req.path)))?;
    match (rest.trim_end_matches('/'), req.method.as_str()) {
        ("", "GET") => list(req, ctx),
        ("", "POST") => create(req, ctx),
        ("", _) => Err(Problem::method_not_allowed("GET, POST")),
        (id, method) if is_single_segment(id) => {
            let id = &id[1..];
            match method {
                "GET" => get(id, ctx),
                "PATCH" => patch(req, id, ctx),
                _ => Err(Problem::method_not_allowed("GET, PATCH")),
            }
        }
        _ => Err(Problem::not_found(
            "not_found",
            format!("no route for {}", req.path),
        )),
    }
}

fn is_single_segment(rest: &str) -> bool {
    rest.len() > 1 && rest.starts_with('/') && !rest[1..].contains('/')
}

#[derive(Serialize)]
struct Page<T> {
    items: Vec<T>,
    next_cursor: Option<String>,
}

/// `GET /api/v1/campaigns` from the key-value store, before any database is opened: the
/// stored page when it is still good (see [`list_cache`]), else `None`.
pub fn cached_list(req: &ApiRequest, kv: &dyn KeyValue, now_ms: i64) -> Option<ApiResponse> {
    if req.method != "GET" || req.path.trim_end_matches('/') != BASE_PATH {
        return None;
    }
    let page = parse_page(&req.query).ok()?;
    list_cache::read(kv, &page, now_ms).unwrap_or_else(|e| {
        eprintln!("campaign list cache: {e}");
        None
    })
}

fn list(req: &ApiRequest, ctx: &Context<'_>) -> ApiResult {
    let page = parse_page(&req.query)?;
    let read_at = (ctx.clock)();
    let (listed, more) = campaigns::list(ctx.db, page.after, page.limit)?;
    let next_cursor = more.then(|| encode_cursor(listed.last().map_or(page.after, |l| l.seq)));
    let items = listed.into_iter().map(|l| l.campaign).collect();
    let response = ApiResponse::json(200, &Page { items, next_cursor });
    if let Some(kv) = ctx.kv {
        if let Err(e) = list_cache::store(kv, &page, read_at, &response) {
            eprintln!("campaign list cache: {e}");
        }
    }
    Ok(response)
}

/// After a campaign was created or changed: stored list pages read before are retired.
fn list_changed(ctx: &Context<'_>) {
    if let Some(kv) = ctx.kv {
        if let Err(e) = list_cache::changed(kv, (ctx.clock)()) {
            eprintln!("campaign list cache: {e}");
        }
    }
}

fn get(id: &str, ctx: &Context<'_>) -> ApiResult {
    campaigns::get(ctx.db, id)?
        .map(|c| ApiResponse::json(200, &c))
        .ok_or_else(|| campaign_not_found(id))
}

fn campaign_not_found(id: &str) -> Problem {
    Problem::not_found("campaign_not_found", format!("no campaign with id `{id}`"))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct CreateBody {
    title: String,
    #[serde(default)]
    description: String,
    goal_minor: serde_json::Number,
    currency: String,
    #[serde(default)]
    status: Option<CampaignStatus>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct PatchBody {
    title: Option<String>,
    description: Option<String>,
    goal_minor: Option<serde_json::Number>,
    status: Option<CampaignStatus>,
}

/// Collects field errors while parsing, so one answer names every problem.
#[derive(Default)]
struct Fields(Vec<FieldError>);

impl Fields {
    fn check<T, E: ToString>(&mut self, field: &str, result: Result<T, E>) -> Option<T> {
        result
            .map_err(|e| {
                self.0.push(FieldError {
                    field: field.into(),
                    message: e.to_string(),
                })
            })
            .ok()
    }

    fn finish<T>(self, value: impl FnOnce() -> T) -> Result<T, Problem> {
        if self.0.is_empty() {
            Ok(value())
        } else {
            Err(Problem::validation(self.0))
        }
    }
}

fn create(req: &ApiRequest, ctx: &Context<'_>) -> ApiResult {
    require_admin(req, ctx.admin_token)?;
    let body: CreateBody = parse_body(req)?;
    let mut f = Fields::default();
    let title = f.check("title", CampaignTitle::parse(&body.title));
    let description = f.check("description", CampaignDescription::parse(&body.description));
    let goal = f.check("goal_minor", positive_amount(&body.goal_minor));
    let currency = f.check("currency", Currency::parse(&body.currency));
    let new = f.finish(|| NewCampaign {
        title: title.unwrap(),
        description: description.unwrap(),
        goal: goal.unwrap(),
        currency: currency.unwrap(),
        status: body.status.unwrap_or(CampaignStatus::Active),
    })?;
    let campaign = campaigns::insert(ctx.db, &(ctx.new_id)(), &new, ctx.now_ms)?;
    list_changed(ctx);
    if let Some(cache) = ctx.kv {
        if let Err(e) = totals_cache::store_new(cache, &campaign) {
            eprintln!("totals cache: new campaign {}: {e}", campaign.id);
        }
    }
    Ok(ApiResponse::json(201, &campaign)
        .with_header("location", format!("{BASE_PATH}/{}", campaign.id)))
}

fn patch(req: &ApiRequest, id: &str, ctx: &Context<'_>) -> ApiResult {
    require_admin(req, ctx.admin_token)?;
    let body: PatchBody = parse_body(req)?;
    let mut f = Fields::default();
    let patch = CampaignPatch {
        title: body
            .title
            .and_then(|t| f.check("title", CampaignTitle::parse(&t))),
        description: body
            .description
            .and_then(|d| f.check("description", CampaignDescription::parse(&d))),
        goal: body
            .goal_minor
            .and_then(|g| f.check("goal_minor", positive_amount(&g))),
        status: body.status,
    };
    let patch = f.finish(|| patch)?;
    if patch.is_empty() {
        return Err(Problem::validation(vec![FieldError {
            field: "body".into(),
            message: "name at least one of title, description, goal_minor, status".into(),
        }]));
    }
    match campaigns::patch(ctx.db, id, &patch, ctx.now_ms)? {
        PatchOutcome::Updated(c) => {
            list_changed(ctx);
            if let (Some(cache), Some(_)) = (ctx.kv, patch.goal) {
                // The stored totals carry the goal; readers go to the database until the
                // relay stores this campaign again.
                if let Err(e) = totals_cache::forget(cache, id) {
                    eprintln!("totals cache: the goal of campaign {id} changed: {e}");
                }
            }
            Ok(ApiResponse::json(200, &c))
        }
        PatchOutcome::NotFound => Err(campaign_not_found(id)),
        PatchOutcome::InvalidTransition { from, to } => Err(Problem::new(
            409,
            "invalid_transition",
            format!("campaign `{id}` is {from} and cannot become {to}"),
        )),
        PatchOutcome::Conflict => Err(Problem::new(
            409,
            "concurrent_update",
            format!("campaign `{id}` changed while this update was applied; retry"),
        )),
    }
}
