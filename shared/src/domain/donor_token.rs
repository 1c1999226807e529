//! Signed, expiring donor tokens: how a guest (no account) proves which pledges are theirs,
//! and how a registered donor proves who they are.
//!
//! A token names one subject: a single pledge (handed back with the pledge itself, so the
//! browser that made it can follow it), a donor email (sent in the receipt, so only the
//! owner of the mailbox holds it), a signed-in session of an account (short-lived, and
//! revocable because the session is stored), or an account's email confirmation (sent to
//! that email, good only for confirming it). Format: `cfa1.<payload>.<mac>`, both base64url, the MAC
//! an HMAC-SHA256 over `cfa1.<payload>` with the app's `donor_token_secret`.

use super::donor::Email;
use base64::{engine::general_purpose::URL_SAFE_NO_PAD, Engine};
use hmac::{Hmac, Mac};
use sha2::Sha256;

const PREFIX: &str = "cfa1";

/// How long a guest link stays valid.
pub const GUEST_TOKEN_TTL_SECS: i64 = 30 * 24 * 60 * 60;

/// How long an account's confirmation link stays valid.
pub const CONFIRMATION_TOKEN_TTL_SECS: i64 = 2 * 24 * 60 * 60;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TokenSubject {
    Pledge(String),
    Email(Email),
    /// A stored session (its id); valid while the session is.
    Session(String),
    /// Confirms the email of an account (its id).
    Confirmation(String),
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TokenError {
    #[error("the donor token is malformed")]
    Malformed,
    #[error("the donor token's signature does not match")]
    BadSignature,
    #[error("the donor token expired at {expired_at} (unix seconds)")]
    Expired { expired_at: i64 },
}

fn mac(secret: &[u8], signed: &str) -> Hmac<Sha256> {
    let mut mac = Hmac::<Sha256>::new_from_slice(secret).expect("HMAC takes keys of any length");
    mac.update(signed.as_bytes());
    mac
}

/// Issues a token for `subject`, valid until `expires_at` (unix seconds).
pub fn issue(secret: &[u8], subject: &TokenSubject, expires_at: i64) -> String {
    let payload = match subject {
        TokenSubject::Pledge(id) => format!("{expires_at}:pledge:{id}"),
        TokenSubject::Email(email) => format!("{expires_at}:email:{}", email.as_str()),
        TokenSubject::Session(id) => format!("{expires_at}:session:{id}"),
        TokenSubject::Confirmation(account) => format!("{expires_at}:confirm:{account}"),
    };
    let signed = format!("{PREFIX}.{}", URL_SAFE_NO_PAD.encode(payload));
    let tag = mac(secret, &signed).finalize().into_bytes();
    format!("{signed}.{}", URL_SAFE_NO_PAD.encode(tag))
}

/// Checks the signature (constant time) before reading anything, then the expiry.
pub fn verify(secret: &[u8], token: &str, now_secs: i64) -> Result<TokenSubject, TokenError> {
    let (subject, expires_at) = verify_signature(secret, token)?;
    if now_secs >= expires_at {
        return Err(TokenError::Expired {
            expired_at: expires_at,
        });
    }
    Ok(subject)
}

/// What a genuine token names and when it expires (unix seconds), expired or not: for a
/// caller that must tell an ended session from no session at all.
pub fn verify_signature(secret: &[u8], token: &str) -> Result<(TokenSubject, i64), TokenError> {
    let (signed, tag) = token.rsplit_once('.').ok_or(TokenError::Malformed)?;
    let (prefix, payload) = signed.split_once('.').ok_or(TokenError::Malformed)?;
    if prefix != PREFIX {
        return Err(TokenError::Malformed);
    }
    let tag = URL_SAFE_NO_PAD
        .decode(tag)
        .map_err(|_| TokenError::Malformed)?;
    mac(secret, signed)
        .verify_slice(&tag)
        .map_err(|_| TokenError::BadSignature)?;
    let payload = URL_SAFE_NO_PAD
        .decode(payload)
        .ok()
        .and_then(|p| String::from_utf8(p).ok())
        .ok_or(TokenError::Malformed)?;
    let mut parts = payload.splitn(3, ':');
    let (Some(expires_at), Some(kind), Some(value)) = (parts.next(), parts.next(), parts.next())
    else {
        return Err(TokenError::Malformed);
    };
    let expires_at: i64 = expires_at.parse().map_err(|_| TokenError::Malformed)?;
    let subject = match kind {
        "pledge" if !value.is_empty() => Ok(TokenSubject::Pledge(value.to_string())),
        "email" => Email::parse(value)
            .map(TokenSubject::Email)
            .map_err(|_| TokenError::Malformed),
        "session" if !value.is_empty() => Ok(TokenSubject::Session(value.to_string())),
        "confirm" if !value.is_empty() => Ok(TokenSubject::Confirmation(value.to_string())),
        _ => Err(TokenError::Malformed),
    }?;
    Ok((subject, expires_at))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const SECRET: &[u8] = b"test-secret";

    #[test]
    fn round_trips_expires_and_refuses_other_secrets() {
        let email = TokenSubject::Email(Email::parse("a@example.org").unwrap());
        let token = issue(SECRET, &email, 1_000);
        assert_eq!(verify(SECRET, &token, 999), Ok(email));
        assert_eq!(
            verify(SECRET, &token, 1_000),
            Err(TokenError::Expired { expired_at: 1_000 })
        );
        assert_eq!(verify(b"other", &token, 0), Err(TokenError::BadSignature));
        for subject in [
            TokenSubject::Pledge("p-1".into()),
            TokenSubject::Session("s-1".into()),
            TokenSubject::Confirmation("a-1".into()),
        ] {
            assert_eq!(verify(SECRET, &issue(SECRET, &subject, 5), 4), Ok(subject));
        }
        for bad in ["", "cfa1", "cfa1.abc", "x.abc.def", "cfa1.!!.!!"] {
            assert_eq!(verify(SECRET, bad, 0), Err(TokenError::Malformed), "{bad}");
        }
    }

    proptest! {
        #[test]
        fn any_changed_character_is_refused(index in 0usize..200, replacement in "[A-Za-z0-9_.-]") {
            let token = issue(SECRET, &TokenSubject::Pledge("pledge-42".into()), 10_000);
            let index = index % token.len();
            let mut changed = token.clone();
            changed.replace_range(index..index + 1, &replacement);
            prop_assume!(changed != token);
            prop_assert!(verify(SECRET, &changed, 0).is_err());
        }
    }
}
