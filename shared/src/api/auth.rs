//! Admin authentication: a bearer token compared in constant time with a secret.

use super::{ApiRequest, Problem};
use subtle::ConstantTimeEq;

/// Checks `Authorization: Bearer <token>` against the configured admin token.
/// Missing or malformed credentials answer 401; a wrong token answers 403.
pub fn require_admin(req: &ApiRequest, admin_token: &str) -> Result<(), Problem> {
    let challenge = |detail: &str| {
        Problem::new(401, "unauthorized", detail)
            .with_header("www-authenticate", "Bearer realm=\"careforall-admin\"")
    };
    let header = req
        .header("authorization")
        .ok_or_else(|| challenge("this route needs an admin bearer token"))?;
    let token = header
        .strip_prefix("Bearer ")
        .or_else(|| header.strip_prefix("bearer "))
        .map(str::trim)
        .filter(|t| !t.is_empty())
        .ok_or_else(|| challenge("the Authorization header must be `Bearer <token>`"))?;
    if admin_token.is_empty() || !bool::from(token.as_bytes().ct_eq(admin_token.as_bytes())) {
        return Err(Problem::new(
            403,
            "forbidden",
            "the bearer token is not an admin token",
        ));
    }
    Ok(())
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
