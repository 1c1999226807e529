//! Registered donors: sign up (`POST /api/v1/accounts`), confirm the email
//! (`POST /api/v1/accounts/confirmations`, with the token the confirmation email carries),
//! sign in (`POST /api/v1/sessions` → a short-lived bearer token for a stored session) and
//! sign out (`DELETE /api/v1/sessions/current`).

use super::auth::session_of;
use super::json::parse_body;
use super::problem::FieldError;
use super::sign_in_limits::{client_address, Limit};
use super::{ApiRequest, ApiResponse, ApiResult, Problem};
use crate::domain::donor::Email;
use crate::domain::donor_token::{self, TokenError, TokenSubject};
use crate::domain::password::{self, Password, StoredHash};
use crate::storage::accounts;
use crate::storage::key_value::KeyValue;
use crate::storage::tx::transaction;
use crate::storage::SqlExecutor;
use serde::{Deserialize, Serialize};

pub struct Context<'a> {
    pub db: &'a dyn SqlExecutor,
    /// Signs session and confirmation tokens (the app's `donor_token_secret`).
    pub token_secret: &'a [u8],
    pub session_ttl_secs: i64,
    pub clock: &'a dyn Fn() -> i64,
    pub new_id: &'a dyn Fn() -> String,
    /// Sixteen fresh random bytes for a password's salt.
    pub salt: &'a dyn Fn() -> [u8; 16],
    /// Where failed sign-ins are counted (see `sign_in_limits`).
    pub kv: &'a dyn KeyValue,
    /// Balancer addresses whose `X-Forwarded-For` names the client.
    pub trusted_proxies: &'a [String],
}

pub fn handle(req: &ApiRequest, ctx: &Context<'_>) -> ApiResponse {
    route(req, ctx).unwrap_or_else(Problem::into_response)
}

fn route(req: &ApiRequest, ctx: &Context<'_>) -> ApiResult {
    let path = req.path.trim_end_matches('/');
    let (endpoint, allowed) = match path {
        "/api/v1/accounts" => (Endpoint::SignUp, "POST"),
        "/api/v1/accounts/confirmations" => (Endpoint::Confirm, "POST"),
        "/api/v1/sessions" => (Endpoint::SignIn, "POST"),
        "/api/v1/sessions/current" => (Endpoint::SignOut, "DELETE"),
        _ => {
            return Err(Problem::not_found(
                "not_found",
                format!("no route for {}", req.path),
            ))
        }
    };
    if req.method != allowed {
        return Err(Problem::method_not_allowed(allowed));
    }
    if !req.query.is_empty() {
        return Err(Problem::new(
            400,
            "invalid_query",
            "account routes take no query parameters: credentials and tokens go in the body or the Authorization header",
        ));
    }
    match endpoint {
        Endpoint::SignUp => sign_up(req, ctx),
        Endpoint::Confirm => confirm(req, ctx),
        Endpoint::SignIn => sign_in(req, ctx),
        Endpoint::SignOut => sign_out(req, ctx),
    }
}

enum Endpoint {
    SignUp,
    Confirm,
    SignIn,
    SignOut,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Credentials {
    email: String,
    password: String,
}

/// Both fields checked, every problem reported at once.
fn parse_credentials(req: &ApiRequest) -> Result<(Email, Password), Problem> {
    let body: Credentials = parse_body(req)?;
    let email = Email::parse(&body.email);
    let password = Password::parse(&body.password);
    match (email, password) {
        (Ok(email), Ok(password)) => Ok((email, password)),
        (email, password) => {
            let mut errors = Vec::new();
            if let Err(message) = email {
                errors.push(FieldError {
                    field: "email".into(),
                    message,
                });
            }
            if let Err(e) = password {
                errors.push(FieldError {
                    field: "password".into(),
                    message: e.to_string(),
                });
            }
            Err(Problem::validation(errors))
        }
    }
}

#[derive(Serialize)]
struct AccountOut<'a> {
    id: &'a str,
    email: &'a str,
    confirmed: bool,
}

fn sign_up(req: &ApiRequest, ctx: &Context<'_>) -> ApiResult {
    let (email, password) = parse_credentials(req)?;
    // The slow part, outside any transaction.
    let hash = password::hash(&password, &(ctx.salt)());
    let id = (ctx.new_id)();
    let created = transaction(ctx.db, || {
        accounts::create(ctx.db, &id, &email, &hash, (ctx.clock)())
    })?;
    if !created {
        return Err(Problem::new(
            409,
            "email_taken",
            format!(
                "an account for {} exists already; sign in instead",
                email.as_str()
            ),
        ));
    }
    Ok(ApiResponse::json(
        201,
        &AccountOut {
            id: &id,
            email: email.as_str(),
            confirmed: false,
        },
    ))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Confirmation {
    token: String,
}

fn confirm(req: &ApiRequest, ctx: &Context<'_>) -> ApiResult {
    let body: Confirmation = parse_body(req)?;
    let refused = |code: &'static str, detail: String| Problem::new(400, code, detail);
    let account = match donor_token::verify(ctx.token_secret, &body.token, (ctx.clock)() / 1000) {
        Ok(TokenSubject::Confirmation(account)) => account,
        Ok(_) => {
            return Err(refused(
                "invalid_token",
                "this is not an email confirmation token".into(),
            ))
        }
        Err(e @ TokenError::Expired { .. }) => {
            return Err(refused(
                "token_expired",
                format!("{e}; sign up again for a new confirmation email"),
            ))
        }
        Err(e) => return Err(refused("invalid_token", e.to_string())),
    };
    if !accounts::confirm(ctx.db, &account, (ctx.clock)())? {
        return Err(Problem::not_found(
            "account_not_found",
            "the account this token confirms does not exist",
        ));
    }
    Ok(ApiResponse::json(
        200,
        &serde_json::json!({ "id": account, "confirmed": true }),
    ))
}

/// Verified against when the email has no account, so that a wrong email costs as
/// long as a wrong password and the answer's timing does not tell which it was.
fn decoy_hash() -> StoredHash {
    StoredHash::from_stored(
        "$argon2id$v=19$m=19456,t=2,p=1$ZGVjb3lkZWNveWRlY295$5B7H2Xh4cm8c5k0pJZ1Zr2yq3Kx0Jz0mZQm9yGf3d0s"
            .into(),
    )
    .expect("a well-formed PHC string")
}

#[derive(Serialize)]
struct SessionOut {
    token: String,
    token_type: &'static str,
    expires_at: i64,
}

fn sign_in(req: &ApiRequest, ctx: &Context<'_>) -> ApiResult {
    let (email, password) = parse_credentials(req)?;
    let now = (ctx.clock)();
    let client = client_address(
        req.header("spin-client-addr"),
        req.header("x-forwarded-for"),
        ctx.trusted_proxies,
    );
    let limits = [
        Limit::account(ctx.kv, email.as_str()),
        Limit::client(ctx.kv, &client),
    ];
    if let Some(secs) = limits.iter().filter_map(|l| l.blocked_for_secs(now)).max() {
        return Err(Problem::new(
            429,
            "too_many_attempts",
            format!("too many failed sign-ins; try again in {secs} s"),
        )
        .with_header("retry-after", secs.to_string()));
    }
    let account = accounts::by_email(ctx.db, &email)?;
    let stored = account
        .as_ref()
        .map_or_else(decoy_hash, |a| a.password_hash.clone());
    let matches = password::verify(&password, &stored);
    let account = match account {
        Some(account) if matches => account,
        _ => {
            for limit in &limits {
                limit.record_failure(now);
            }
            return Err(Problem::new(
                401,
                "invalid_credentials",
                "the email or the password is wrong",
            ));
        }
    };
    if !account.confirmed {
        return Err(Problem::new(
            403,
            "email_unconfirmed",
            format!(
                "confirm {} first, with the link in the confirmation email",
                account.email.as_str()
            ),
        ));
    }
    limits[0].clear();
    let expires_at = now / 1000 + ctx.session_ttl_secs;
    let session = (ctx.new_id)();
    accounts::open_session(ctx.db, &session, &account.id, now, expires_at * 1000)?;
    Ok(ApiResponse::json(
        201,
        &SessionOut {
            token: donor_token::issue(
                ctx.token_secret,
                &TokenSubject::Session(session),
                expires_at,
            ),
            token_type: "Bearer",
            expires_at,
        },
    ))
}

fn sign_out(req: &ApiRequest, ctx: &Context<'_>) -> ApiResult {
    let now = (ctx.clock)();
    let session = session_of(req, ctx.token_secret, now / 1000)?;
    accounts::revoke_session(ctx.db, &session, now)?;
    Ok(ApiResponse {
        status: 204,
        headers: Vec::new(),
        body: Vec::new(),
    })
}
