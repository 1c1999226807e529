//! Donor-facing reads: one pledge with its status history, a donor's own pledges, and a
//! campaign's public donation feed (anonymous donors stay anonymous).
//!
//! `GET /api/v1/pledges/{id}`, `GET /api/v1/donors/me/pledges`: admin, or a donor token
//! covering the pledge (its own pledge token, or an email token for the donor's address),
//! or a signed-in account's session (in the header only), which covers the pledges made
//! with the account's confirmed email, those made as a guest included. A pledge the token
//! does not cover answers 404, as if it did not exist.
//! `GET /api/v1/campaigns/{id}/donations`: public.

use super::auth::{identify_reader, Reader};
use super::pagination::{encode_cursor, parse_page};
use super::{ApiRequest, ApiResponse, ApiResult, Problem};
use crate::domain::donor::Email;
use crate::domain::donor_token::TokenSubject;
use crate::domain::money::Currency;
use crate::domain::pledge::PledgeStatus;
use crate::storage::disputes::{self, Dispute};
use crate::storage::pledge_lists::{self, Page};
use crate::storage::pledges::{self, HistoryEntry, Pledge};
use crate::storage::refunds::{self, Refund};
use crate::storage::{accounts, campaigns, SqlExecutor};
use serde::Serialize;

pub struct Context<'a> {
    pub db: &'a dyn SqlExecutor,
    pub admin_token: &'a str,
    pub token_secret: &'a [u8],
    pub now_ms: i64,
}

pub fn handle(req: &ApiRequest, ctx: &Context<'_>) -> ApiResponse {
    route(req, ctx).unwrap_or_else(Problem::into_response)
}

fn route(req: &ApiRequest, ctx: &Context<'_>) -> ApiResult {
    let path = req.path.trim_end_matches('/');
    let segments: Vec<&str> = path.split('/').skip(1).collect();
    let target = match segments.as_slice() {
        ["api", "v1", "pledges", id] => Target::Pledge(id),
        ["api", "v1", "donors", "me", "pledges"] => Target::MyPledges,
        ["api", "v1", "campaigns", id, "donations"] => Target::Feed(id),
        _ => {
            return Err(Problem::not_found(
                "not_found",
                format!("no route for {}", req.path),
            ))
        }
    };
    if req.method != "GET" {
        return Err(Problem::method_not_allowed("GET"));
    }
    let (token, rest) = split_token(&req.query);
    match target {
        Target::Feed(id) => {
            if token.is_some() {
                return Err(Problem::new(
                    400,
                    "invalid_query",
                    "the donation feed is public and takes no token",
                ));
            }
            feed(id, &rest, ctx)
        }
        Target::Pledge(id) => pledge_detail(id, access(req, token.as_deref(), ctx)?, &rest, ctx),
        Target::MyPledges => my_pledges(access(req, token.as_deref(), ctx)?, &rest, ctx),
    }
}

enum Target<'a> {
    Pledge(&'a str),
    MyPledges,
    Feed(&'a str),
}

/// What a reader may see: everything, one pledge, or the pledges of one email (a guest's
/// email token, or a signed-in account's confirmed email).
enum Access {
    Admin,
    Pledge(String),
    Email(Email),
}

fn access(req: &ApiRequest, token: Option<&str>, ctx: &Context<'_>) -> Result<Access, Problem> {
    let reader = identify_reader(
        req,
        token,
        ctx.admin_token,
        ctx.token_secret,
        ctx.now_ms / 1000,
    )?;
    match reader {
        Reader::Admin => Ok(Access::Admin),
        Reader::Donor(TokenSubject::Pledge(id)) => Ok(Access::Pledge(id)),
        Reader::Donor(TokenSubject::Email(email)) => Ok(Access::Email(email)),
        Reader::Donor(TokenSubject::Session(session)) => {
            match accounts::session_account(ctx.db, &session, ctx.now_ms)? {
                Some(account) if account.confirmed => Ok(Access::Email(account.email)),
                Some(_) => Err(Problem::new(
                    403,
                    "email_unconfirmed",
                    "confirm the account's email first",
                )),
                None => Err(Problem::new(
                    401,
                    "session_ended",
                    "this session has ended (signed out or expired); sign in again",
                )
                .with_header("www-authenticate", "Bearer realm=\"careforall-account\"")),
            }
        }
        Reader::Donor(TokenSubject::Confirmation(_)) => Err(Problem::new(
            401,
            "invalid_token",
            "an email confirmation token does not open donor history",
        )),
    }
}

/// Takes the `token` parameter out of a query string, leaving the rest for pagination.
fn split_token(query: &str) -> (Option<String>, String) {
    let mut token = None;
    let mut rest = form_urlencoded::Serializer::new(String::new());
    for (key, value) in form_urlencoded::parse(query.as_bytes()) {
        if key == "token" {
            token = Some(value.into_owned());
        } else {
            rest.append_pair(&key, &value);
        }
    }
    (token, rest.finish())
}

fn covers(access: &Access, pledge: &Pledge) -> bool {
    match access {
        Access::Admin => true,
        Access::Pledge(id) => *id == pledge.id,
        Access::Email(email) => email.as_str() == pledge.donor_email,
    }
}

#[derive(Serialize)]
struct PledgeDetail {
    pledge: Pledge,
    history: Vec<HistoryEntry>,
    refunds: Vec<Refund>,
    disputes: Vec<Dispute>,
}

fn pledge_detail(id: &str, access: Access, query: &str, ctx: &Context<'_>) -> ApiResult {
    if !query.is_empty() {
        return Err(Problem::new(
            400,
            "invalid_query",
            "a pledge takes no query parameters besides token",
        ));
    }
    let not_found = || Problem::not_found("pledge_not_found", format!("no pledge with id `{id}`"));
    let pledge = pledges::get(ctx.db, id)?.ok_or_else(not_found)?;
    if !covers(&access, &pledge) {
        return Err(not_found());
    }
    Ok(ApiResponse::json(
        200,
        &PledgeDetail {
            history: pledges::history(ctx.db, id)?,
            refunds: refunds::for_pledge(ctx.db, id)?,
            disputes: disputes::for_pledge(ctx.db, id)?,
            pledge,
        },
    ))
}

#[derive(Serialize)]
struct Listing<T> {
    items: Vec<T>,
    next_cursor: Option<String>,
}

fn page(query: &str) -> Result<Page, Problem> {
    let page = parse_page(query)?;
    Ok(Page {
        before: (page.after > 0).then_some(page.after),
        limit: page.limit,
    })
}

fn listing<T>(items: Vec<T>, more: bool, last_seq: Option<i64>) -> Listing<T> {
    Listing {
        items,
        next_cursor: more.then(|| last_seq.map(encode_cursor)).flatten(),
    }
}

fn my_pledges(access: Access, query: &str, ctx: &Context<'_>) -> ApiResult {
    let page = page(query)?;
    let (items, more) = match &access {
        Access::Admin => pledge_lists::all(ctx.db, page)?,
        Access::Email(email) => pledge_lists::for_email(ctx.db, email.as_str(), page)?,
        Access::Pledge(id) => {
            let own = pledges::get(ctx.db, id)?
                .filter(|p| page.before.is_none_or(|before| p.seq < before));
            (own.into_iter().collect(), false)
        }
    };
    let last = items.last().map(|p| p.seq);
    Ok(ApiResponse::json(200, &listing(items, more, last)))
}

/// What the public sees of a donation: never the email, and no name when anonymous.
#[derive(Serialize)]
struct Donation {
    donor_name: Option<String>,
    anonymous: bool,
    amount_minor: u64,
    refunded_minor: u64,
    currency: Currency,
    status: PledgeStatus,
    created_at_ms: i64,
}

impl From<Pledge> for Donation {
    fn from(p: Pledge) -> Self {
        Donation {
            donor_name: if p.anonymous { None } else { p.donor_name },
            anonymous: p.anonymous,
            amount_minor: p.amount_minor,
            refunded_minor: p.refunded_minor,
            currency: p.currency,
            status: p.status,
            created_at_ms: p.created_at_ms,
        }
    }
}

fn feed(campaign_id: &str, query: &str, ctx: &Context<'_>) -> ApiResult {
    let page = page(query)?;
    if campaigns::get(ctx.db, campaign_id)?.is_none() {
        return Err(Problem::not_found(
            "campaign_not_found",
            format!("no campaign with id `{campaign_id}`"),
        ));
    }
    let (pledges, more) = pledge_lists::campaign_donations(ctx.db, campaign_id, page)?;
    let last = pledges.last().map(|p| p.seq);
    let items = pledges.into_iter().map(Donation::from).collect();
    Ok(ApiResponse::json(
        200,
        &listing::<Donation>(items, more, last),
    ))
}
