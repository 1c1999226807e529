//! Authentication: the admin bearer token (compared in constant time with a secret) and
//! donor tokens for guests reading their own pledges.

use super::{ApiRequest, Problem};
use crate::domain::donor_token::{verify, verify_signature, TokenError, TokenSubject};
use subtle::ConstantTimeEq;

fn challenge(realm: &str, detail: &str) -> Problem {
    Problem::new(401, "unauthorized", detail)
        .with_header("www-authenticate", format!("Bearer realm=\"{realm}\""))
}

/// The token of an `Authorization: Bearer <token>` header, if the header is present.
fn bearer<'r>(req: &'r ApiRequest, realm: &str) -> Result<Option<&'r str>, Problem> {
    let Some(header) = req.header("authorization") else {
        return Ok(None);
    };
    header
        .strip_prefix("Bearer ")
        .or_else(|| header.strip_prefix("bearer "))
        .map(str::trim)
        .filter(|t| !t.is_empty())
        .map(Some)
        .ok_or_else(|| challenge(realm, "the Authorization header must be `Bearer <token>`"))
}

fn is_token(token: &str, expected: &str) -> bool {
    !expected.is_empty() && bool::from(token.as_bytes().ct_eq(expected.as_bytes()))
}

/// Checks `Authorization: Bearer <token>` against the configured admin token.
/// Missing or malformed credentials answer 401; a wrong token answers 403.
pub fn require_admin(req: &ApiRequest, admin_token: &str) -> Result<(), Problem> {
    require_secret(req, admin_token, "careforall-admin", "an admin token")
}

/// Checks `Authorization: Bearer <token>` against the relay's shared secret (the
/// scheduler calling `POST /internal/outbox/relay`).
pub fn require_relay_secret(req: &ApiRequest, relay_secret: &str) -> Result<(), Problem> {
    require_secret(req, relay_secret, "careforall-relay", "the relay secret")
}

fn require_secret(
    req: &ApiRequest,
    expected: &str,
    realm: &str,
    what: &str,
) -> Result<(), Problem> {
    let token = bearer(req, realm)?
        .ok_or_else(|| challenge(realm, &format!("this route needs {what} as bearer token")))?;
    if !is_token(token, expected) {
        return Err(Problem::new(
            403,
            "forbidden",
            format!("the bearer token is not {what}"),
        ));
    }
    Ok(())
}

/// The session id of a session token in `Authorization: Bearer <token>` (signed and not
/// expired; whether the session is still open is the store's to say). Anything else
/// answers 401.
pub fn session_of(req: &ApiRequest, token_secret: &[u8], now_secs: i64) -> Result<String, Problem> {
    const REALM: &str = "careforall-account";
    let token = bearer(req, REALM)?
        .ok_or_else(|| challenge(REALM, "this route needs a session token: sign in first"))?;
    match verify(token_secret, token, now_secs) {
        Ok(TokenSubject::Session(id)) => Ok(id),
        Ok(_) => Err(invalid_token(
            REALM,
            "invalid_token",
            "this is not a session token",
        )),
        Err(e) => Err(refused_token(REALM, &e)),
    }
}

/// The session a request presents in `Authorization: Bearer <token>`, with when its
/// token expires (unix seconds, possibly past): `None` when there is no bearer token or it
/// is not a genuine session token (a donor's pledge token, the admin's), which does not
/// make the request signed in.
pub fn presented_session(req: &ApiRequest, token_secret: &[u8]) -> Option<(String, i64)> {
    let token = bearer(req, "careforall-account").ok().flatten()?;
    match verify_signature(token_secret, token) {
        Ok((TokenSubject::Session(id), expires_at)) => Some((id, expires_at)),
        _ => None,
    }
}

fn invalid_token(realm: &str, code: &'static str, detail: impl Into<String>) -> Problem {
    Problem::new(401, "unauthorized", detail)
        .with_code(code)
        .with_header(
            "www-authenticate",
            format!("Bearer realm=\"{realm}\", error=\"invalid_token\""),
        )
}

fn refused_token(realm: &str, e: &TokenError) -> Problem {
    let code = match e {
        TokenError::Expired { .. } => "token_expired",
        TokenError::Malformed | TokenError::BadSignature => "invalid_token",
    };
    invalid_token(realm, code, e.to_string())
}

/// Who is reading donor data.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reader {
    Admin,
    Donor(TokenSubject),
}

/// Identifies the reader of a donor route from `Authorization: Bearer <token>` or, for
/// links in receipts, a `token` query parameter: the admin token (in the header only:
/// URLs end up in logs and browser histories, so the admin token in a query is refused),
/// or a donor token signed with `token_secret` and not expired. Anything else answers 401.
pub fn identify_reader(
    req: &ApiRequest,
    query_token: Option<&str>,
    admin_token: &str,
    token_secret: &[u8],
    now_secs: i64,
) -> Result<Reader, Problem> {
    const REALM: &str = "careforall-donor";
    if query_token.is_some_and(|t| is_token(t, admin_token)) {
        return Err(Problem::new(
            400,
            "admin_token_in_query",
            "the admin token is accepted only in the Authorization header, never in a URL; \
             it may now be in a log, so rotate it",
        ));
    }
    let header = bearer(req, REALM)?;
    let from_query = header.is_none();
    let token = header.or(query_token).ok_or_else(|| {
        challenge(
            REALM,
            "this route needs a donor token (from the pledge or its receipt) or an admin token",
        )
    })?;
    if is_token(token, admin_token) {
        return Ok(Reader::Admin);
    }
    match verify(token_secret, token, now_secs) {
        Ok(TokenSubject::Session(_)) if from_query => Err(Problem::new(
            400,
            "session_token_in_query",
            "a session token is accepted only in the Authorization header, never in a URL",
        )),
        Ok(TokenSubject::Confirmation(_)) => Err(invalid_token(
            REALM,
            "invalid_token",
            "an email confirmation token does not open donor history; sign in",
        )),
        Ok(subject) => Ok(Reader::Donor(subject)),
        Err(e) => Err(refused_token(REALM, &e)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn req(auth: Option<&str>) -> ApiRequest {
        ApiRequest {
            headers: auth
                .map(|a| vec![("authorization".into(), a.into())])
                .unwrap_or_default(),
            ..Default::default()
        }
    }

    #[test]
    fn the_admin_token_is_refused_in_a_query() {
        let refused = identify_reader(&req(None), Some("s3cret"), "s3cret", b"k", 0).unwrap_err();
        assert_eq!(
            (refused.status, refused.code),
            (400, "admin_token_in_query")
        );
        assert_eq!(
            identify_reader(&req(Some("Bearer s3cret")), None, "s3cret", b"k", 0),
            Ok(Reader::Admin)
        );
    }

    #[test]
    fn missing_malformed_wrong_and_right_tokens() {
        assert_eq!(require_admin(&req(None), "s3cret").unwrap_err().status, 401);
        assert_eq!(
            require_admin(&req(Some("Basic abc")), "s3cret")
                .unwrap_err()
                .status,
            401
        );
        assert_eq!(
            require_admin(&req(Some("Bearer ")), "s3cret")
                .unwrap_err()
                .status,
            401
        );
        assert_eq!(
            require_admin(&req(Some("Bearer nope")), "s3cret")
                .unwrap_err()
                .status,
            403
        );
        assert!(require_admin(&req(Some("Bearer s3cret")), "s3cret").is_ok());
        // An unset secret never authorises anyone.
        assert_eq!(
            require_admin(&req(Some("Bearer ")), "").unwrap_err().status,
            401
        );
        assert_eq!(
            require_admin(&req(Some("Bearer x")), "")
                .unwrap_err()
                .status,
            403
        );
    }
}
