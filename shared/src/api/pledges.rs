//! `POST /api/v1/pledges`: a pledge and its provider payment, exactly once per
//! `Idempotency-Key`, resumable after a crash at any step.

use super::auth::presented_session;
use super::idempotent::{remember, require_key, settled};
use super::json::{parse_body_and_value, positive_amount};
use super::problem::FieldError;
use super::{post_only, ApiRequest, ApiResponse, ApiResult, Problem};
use crate::domain::campaign::CampaignStatus;
use crate::domain::donor::{Donor, DonorName, Email};
use crate::domain::donor_token::{self, TokenSubject, GUEST_TOKEN_TTL_SECS};
use crate::domain::idempotency::IdempotencyKey;
use crate::domain::idempotency::{request_hash, KeyDecision, RecoveryPoint};
use crate::domain::money::{Currency, PositiveAmount};
use crate::domain::pledge::PledgeStatus;
use crate::payments::provider::{CaptureMode, CreatePayment, PaymentProvider, ProviderError};
use crate::storage::pledges::{self, NewPledge, Pledge};
use crate::storage::{accounts, campaigns, idempotency, tx::transaction, DbError, SqlExecutor};
use serde::{Deserialize, Serialize};

pub const PATH: &str = "/api/v1/pledges";

/// The idempotency scope of a guest's pledges: their (normalized) email, so two donors
/// who happen to choose the same key never meet, and a replay answers only the donor
/// who made the request.
pub fn guest_scope(donor: &Email) -> String {
    format!("guest:{}", donor.as_str())
}

/// The scope of this request's key. A signed-in donor (a session token in the
/// Authorization header) has their account's own scope and pledges with the account's
/// email; anyone else, the guest scope of the email they give. A session that has ended
/// answers 401 instead of falling back to the guest scope, where a retry of the same key
/// would make a second pledge.
fn key_scope(req: &ApiRequest, donor: &Email, ctx: &Context<'_>) -> Result<String, Problem> {
    let Some((session, expires_at)) = presented_session(req, ctx.token_secret) else {
        return Ok(guest_scope(donor));
    };
    let now = (ctx.clock)();
    let ended = |code: &'static str| {
        Problem::new(
            401,
            "unauthorized",
            "this session has ended (signed out or expired): sign in again and retry with the same Idempotency-Key",
        )
        .with_code(code)
        .with_header("www-authenticate", "Bearer realm=\"careforall-account\"")
    };
    if now / 1000 >= expires_at {
        return Err(ended("token_expired"));
    }
    let account =
        accounts::session_account(ctx.db, &session, now)?.ok_or_else(|| ended("session_ended"))?;
    if account.email != *donor {
        return Err(Problem::validation(vec![FieldError {
            field: "donor.email".into(),
            message: format!(
                "a signed-in donor pledges with their account's email, {}",
                account.email.as_str()
            ),
        }])
        .with_code("donor_email_mismatch"));
    }
    Ok(format!("account:{}", account.id))
}

pub struct Context<'a> {
    pub db: &'a dyn SqlExecutor,
    pub provider: &'a dyn PaymentProvider,
    pub capture: CaptureMode,
    /// Signs the pledge's donor token (see [`crate::domain::donor_token`]).
    pub token_secret: &'a [u8],
    /// The wall clock, read where a time is written (inside a transaction, an event is
    /// stamped when it is written, not when the request began waiting for the lock).
    pub clock: &'a dyn Fn() -> i64,
    pub new_id: &'a dyn Fn() -> String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct DonorBody {
    email: String,
    name: Option<String>,
    #[serde(default)]
    anonymous: bool,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct CreateBody {
    campaign_id: String,
    amount_minor: serde_json::Number,
    currency: String,
    donor: DonorBody,
}

struct ValidPledge {
    campaign_id: String,
    amount: PositiveAmount,
    currency: Currency,
    donor: Donor,
}

#[derive(Serialize)]
struct Created<'a> {
    pledge: &'a Pledge,
    payment: PaymentOut<'a>,
    /// Lets the donor read this pledge and its history without an account.
    donor_token: String,
    donor_token_expires_at: i64,
}

#[derive(Serialize)]
struct PaymentOut<'a> {
    provider_payment_id: &'a str,
    client_secret: &'a str,
}

pub fn handle(req: &ApiRequest, ctx: &Context<'_>) -> ApiResponse {
    post_only(req, PATH)
        .and_then(|()| create(req, ctx))
        .unwrap_or_else(Problem::into_response)
}

fn validate(body: &CreateBody) -> Result<ValidPledge, Problem> {
    let mut errors = Vec::new();
    let mut field = |name: &str, message: String| {
        errors.push(FieldError {
            field: name.into(),
            message,
        })
    };
    let amount = positive_amount(&body.amount_minor)
        .map_err(|m| field("amount_minor", m))
        .ok();
    let currency = Currency::parse(&body.currency)
        .map_err(|e| field("currency", e.to_string()))
        .ok();
    let email = Email::parse(&body.donor.email)
        .map_err(|m| field("donor.email", m))
        .ok();
    let name = match &body.donor.name {
        Some(n) => DonorName::parse(n)
            .map(Some)
            .map_err(|e| field("donor.name", e.to_string()))
            .ok(),
        None => Some(None),
    };
    if body.campaign_id.is_empty() || body.campaign_id.len() > 64 {
        field("campaign_id", "must be 1 to 64 characters".into());
    }
    match (amount, currency, email, name) {
        (Some(amount), Some(currency), Some(email), Some(name)) if errors.is_empty() => {
            Ok(ValidPledge {
                campaign_id: body.campaign_id.clone(),
                amount,
                currency,
                donor: Donor {
                    email,
                    name,
                    anonymous: body.donor.anonymous,
                },
            })
        }
        _ => Err(Problem::validation(errors)),
    }
}

/// Refusals that depend on the campaign, checked once the key is held.
fn check_campaign(db: &dyn SqlExecutor, pledge: &ValidPledge) -> Result<(), Problem> {
    let campaign = campaigns::get(db, &pledge.campaign_id)?.ok_or_else(|| {
        Problem::not_found(
            "campaign_not_found",
            format!("no campaign with id `{}`", pledge.campaign_id),
        )
    })?;
    if campaign.status != CampaignStatus::Active {
        return Err(Problem::new(
            409,
            "campaign_not_accepting_pledges",
            format!(
                "campaign `{}` is {} and takes no pledges",
                campaign.id, campaign.status
            ),
        ));
    }
    if campaign.currency != pledge.currency {
        return Err(Problem::validation(vec![FieldError {
            field: "currency".into(),
            message: format!(
                "campaign `{}` takes {}, not {}",
                campaign.id, campaign.currency, pledge.currency
            ),
        }])
        .with_code("currency_mismatch"));
    }
    Ok(())
}

/// What claiming the key found: an answer already decided, or the pledge to pay for.
enum Claimed {
    Settled(ApiResult),
    Pledge(Pledge),
}

/// A pledge request read and checked, before anything is stored: its key, the pledge it
/// asks for, and the request's hash (which a replay of the key must match).
pub struct PledgeRequest {
    key: IdempotencyKey,
    pledge: ValidPledge,
    hash: String,
}

/// Reads and checks `POST /api/v1/pledges` without touching any store: every refusal of
/// bad input (400, 413, 415, 422) is decided here.
pub fn read_request(req: &ApiRequest) -> Result<PledgeRequest, Problem> {
    let key = require_key(req, "POST /api/v1/pledges")?;
    let (body, raw_json): (CreateBody, _) = parse_body_and_value(req)?;
    let pledge = validate(&body)?;
    let hash = request_hash(&req.method, PATH, &raw_json);
    Ok(PledgeRequest { key, pledge, hash })
}

fn create(req: &ApiRequest, ctx: &Context<'_>) -> ApiResult {
    let PledgeRequest { key, pledge, hash } = read_request(req)?;
    let scope = key_scope(req, &pledge.donor.email, ctx)?;
    let (scope, key) = (scope.as_str(), key.as_str());

    // One transaction claims the key and, for a new request, creates the pledge: a
    // refusal (unknown or closed campaign) rolls the claim back, so it leaves nothing.
    // `id` is the pledge's if this request is the one that creates it.
    let id = (ctx.new_id)();
    let claimed = transaction(ctx.db, || -> Result<Claimed, Problem> {
        let decision = idempotency::claim(ctx.db, scope, key, &hash, (ctx.clock)(), Some(&id))?;
        if let Some(answer) = settled(&decision) {
            return Ok(Claimed::Settled(answer));
        }
        let stored = match decision {
            KeyDecision::Resume {
                point: RecoveryPoint::PledgeCreated | RecoveryPoint::Finished,
                pledge_id: Some(id),
            } => pledges::get(ctx.db, &id)?.ok_or_else(|| {
                Problem::storage(DbError::Other(format!(
                    "pledge {id} named by a key is missing"
                )))
            })?,
            _ => {
                check_campaign(ctx.db, &pledge)?;
                if decision != KeyDecision::Start {
                    idempotency::mark_pledge_created(ctx.db, scope, key, &id)?;
                }
                pledges::insert(
                    ctx.db,
                    &NewPledge {
                        id: &id,
                        campaign_id: &pledge.campaign_id,
                        amount: pledge.amount,
                        currency: pledge.currency,
                        donor: &pledge.donor,
                    },
                    (ctx.clock)(),
                )?
            }
        };
        Ok(Claimed::Pledge(stored))
    })?;
    let stored = match claimed {
        Claimed::Settled(answer) => return answer,
        Claimed::Pledge(stored) => stored,
    };
    if stored.status == PledgeStatus::Canceled {
        // Resumed after the pledge was cancelled (abandoned, or by an admin): its payment
        // must not be started again.
        idempotency::release(ctx.db, scope, key)?;
        return Err(Problem::new(
            409,
            "pledge_canceled",
            format!("pledge `{}` was cancelled before its payment was made; pledge again with a new Idempotency-Key", stored.id),
        ));
    }
    let payment = match ctx.provider.create_payment(&CreatePayment {
        pledge_id: &stored.id,
        amount_minor: stored.amount_minor,
        currency: stored.currency,
        capture: ctx.capture,
    }) {
        Ok(payment) => payment,
        Err(e) => {
            // The pledge stays PENDING and the key resumable: a retry with the same key
            // reaches the provider again, whose own idempotency key prevents a second payment.
            idempotency::release(ctx.db, scope, key)?;
            let code = match e {
                ProviderError::Unavailable(_) => "payment_provider_unavailable",
                ProviderError::Rejected { .. } => "payment_provider_rejected",
            };
            return Err(Problem::new(
                502,
                code,
                format!("{e}; retry with the same Idempotency-Key"),
            ));
        }
    };
    // Two statements, each its own transaction: the payment id first, then the answer
    // that finishes the key. A crash between them leaves the key to resume, and the
    // resumed request finds the same payment at the provider and the id already there.
    // Apart, each holds the write lock for one statement only.
    pledges::attach_payment(ctx.db, &stored.id, &payment.id, (ctx.clock)())?;
    // The pledge as this request created it (PENDING, read before the provider was
    // called): the provider's webhooks may already have moved it on, which
    // `GET /api/v1/pledges/{id}` shows. Every replay answers the same.
    let pledge = Pledge {
        provider_payment_id: Some(payment.id.clone()),
        ..stored
    };
    let expires_at = (ctx.clock)() / 1000 + GUEST_TOKEN_TTL_SECS;
    let response = ApiResponse::json(
        201,
        &Created {
            pledge: &pledge,
            payment: PaymentOut {
                provider_payment_id: &payment.id,
                client_secret: &payment.client_secret,
            },
            donor_token: donor_token::issue(
                ctx.token_secret,
                &TokenSubject::Pledge(pledge.id.clone()),
                expires_at,
            ),
            donor_token_expires_at: expires_at,
        },
    );
    remember(ctx.db, scope, key, &response)?;
    Ok(response)
}
