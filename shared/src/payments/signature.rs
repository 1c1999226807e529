//! Stripe-compatible webhook signatures: `Stripe-Signature: t=<unix>,v1=<hex>[,v1=<hex>…]`
//! where each `v1` is HMAC-SHA256 over `"<t>.<raw body>"`. The raw body is verified before
//! anything parses it; comparison is constant-time; a timestamp more than the tolerance
//! away from now is refused, which bounds replays.
//!
//! Checking is bounded before any MAC is computed: a header of at most
//! [`MAX_HEADER_BYTES`] with at most [`MAX_CANDIDATES`] signatures of SHA-256's length,
//! and one MAC per configured secret however many candidates there are, so an
//! unauthenticated caller cannot make the body be hashed more than once per secret.

use hmac::digest::CtOutput;
use hmac::{Hmac, Mac};
use sha2::Sha256;

type HmacSha256 = Hmac<Sha256>;

/// How far a signature's timestamp may be from now, either way.
pub const DEFAULT_TOLERANCE_SECS: i64 = 300;

/// The most `v1` signatures a header may carry: Stripe sends one per active secret, two
/// while a secret is being rolled.
pub const MAX_CANDIDATES: usize = 8;

/// The longest header accepted: a timestamp, [`MAX_CANDIDATES`] signatures and room for
/// other schemes' elements.
pub const MAX_HEADER_BYTES: usize = 1024;

const SIGNATURE_BYTES: usize = 32;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SignatureError {
    #[error("the Stripe-Signature header is missing")]
    Missing,
    #[error("the Stripe-Signature header is malformed: {0}")]
    Malformed(&'static str),
    #[error(
        "the signature timestamp is {age_secs} s from now; at most {tolerance_secs} s is accepted"
    )]
    OutsideTolerance { age_secs: i64, tolerance_secs: i64 },
    #[error("no v1 signature matches the body with any configured secret")]
    Mismatch,
}

fn mac(secret: &[u8], timestamp: i64, body: &[u8]) -> HmacSha256 {
    let mut mac = HmacSha256::new_from_slice(secret).expect("HMAC takes keys of any length");
    mac.update(timestamp.to_string().as_bytes());
    mac.update(b".");
    mac.update(body);
    mac
}

/// The header value a provider sends for `body` at `timestamp`, one `v1` per secret.
pub fn sign(secrets: &[&[u8]], timestamp: i64, body: &[u8]) -> String {
    let mut header = format!("t={timestamp}");
    for secret in secrets {
        header.push_str(",v1=");
        header.push_str(&hex::encode(
            mac(secret, timestamp, body).finalize().into_bytes(),
        ));
    }
    header
}

/// Verifies `header` for `body` against any of `secrets` (several during rotation).
pub fn verify(
    header: Option<&str>,
    body: &[u8],
    secrets: &[&[u8]],
    now: i64,
    tolerance_secs: i64,
) -> Result<(), SignatureError> {
    let header = header.ok_or(SignatureError::Missing)?;
    if header.len() > MAX_HEADER_BYTES {
        return Err(SignatureError::Malformed("longer than 1024 bytes"));
    }
    let mut timestamp = None;
    let mut candidates: Vec<[u8; SIGNATURE_BYTES]> = Vec::new();
    for part in header.split(',') {
        let (key, value) = part
            .trim()
            .split_once('=')
            .ok_or(SignatureError::Malformed("every element must be key=value"))?;
        match key {
            "t" => {
                if timestamp.is_some() {
                    return Err(SignatureError::Malformed("more than one timestamp"));
                }
                timestamp = Some(
                    value
                        .parse::<i64>()
                        .map_err(|_| SignatureError::Malformed("t is not a unix time"))?,
                );
            }
            "v1" => {
                if candidates.len() == MAX_CANDIDATES {
                    return Err(SignatureError::Malformed("more than 8 v1 signatures"));
                }
                let mut candidate = [0; SIGNATURE_BYTES];
                hex::decode_to_slice(value, &mut candidate)
                    .map_err(|_| SignatureError::Malformed("v1 is not 64 hex digits"))?;
                candidates.push(candidate);
            }
            // Other schemes (v0, future versions) are ignored, as Stripe's libraries do.
            _ => {}
        }
    }
    let timestamp = timestamp.ok_or(SignatureError::Malformed("no timestamp"))?;
    if candidates.is_empty() {
        return Err(SignatureError::Malformed("no v1 signature"));
    }
    let age = now.saturating_sub(timestamp);
    if age.unsigned_abs() > tolerance_secs.unsigned_abs() {
        return Err(SignatureError::OutsideTolerance {
            age_secs: age,
            tolerance_secs,
        });
    }
    let matched = secrets.iter().any(|secret| {
        let expected = mac(secret, timestamp, body).finalize();
        candidates
            .iter()
            .any(|candidate| expected == CtOutput::new((*candidate).into()))
    });
    if matched {
        Ok(())
    } else {
        Err(SignatureError::Mismatch)
    }
}

/// The accepted secrets from a comma-separated setting (old and new while rotating);
/// blanks around and between entries are ignored.
pub fn secrets_from_list(list: &str) -> Vec<&[u8]> {
    list.split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::as_bytes)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const SECRET: &[u8] = b"whsec_test";
    const NOW: i64 = 1_800_000_000;

    #[test]
    fn a_rotation_list_yields_each_secret_once_and_no_blanks() {
        assert_eq!(
            secrets_from_list(" whsec_old , whsec_new,, "),
            vec![b"whsec_old".as_slice(), b"whsec_new".as_slice()]
        );
        assert!(secrets_from_list(" , ").is_empty());
    }

    fn check(header: Option<&str>, body: &[u8]) -> Result<(), SignatureError> {
        verify(header, body, &[SECRET], NOW, DEFAULT_TOLERANCE_SECS)
    }

    #[test]
    fn accepts_its_own_signature_and_rejects_each_way_of_failing() {
        let body = br#"{"id":"evt_1"}"#;
        let header = sign(&[SECRET], NOW, body);
        assert_eq!(check(Some(&header), body), Ok(()));
        assert_eq!(check(None, body), Err(SignatureError::Missing));
        assert!(matches!(
            check(Some("garbage"), body),
            Err(SignatureError::Malformed(_))
        ));
        assert!(matches!(
            check(Some("t=abc,v1=00"), body),
            Err(SignatureError::Malformed(_))
        ));
        assert!(matches!(
            check(Some(&format!("t={NOW}")), body),
            Err(SignatureError::Malformed(_))
        ));
        assert!(matches!(
            check(Some(&format!("t={NOW},v1=zz")), body),
            Err(SignatureError::Malformed(_))
        ));
        assert_eq!(
            check(Some(&header), br#"{"id":"evt_2"}"#),
            Err(SignatureError::Mismatch)
        );
        let wrong_secret = sign(&[b"other"], NOW, body);
        assert_eq!(
            check(Some(&wrong_secret), body),
            Err(SignatureError::Mismatch)
        );
        let old = sign(&[SECRET], NOW - 301, body);
        assert_eq!(
            check(Some(&old), body),
            Err(SignatureError::OutsideTolerance {
                age_secs: 301,
                tolerance_secs: 300
            })
        );
        let future = sign(&[SECRET], NOW + 301, body);
        assert!(matches!(
            check(Some(&future), body),
            Err(SignatureError::OutsideTolerance { .. })
        ));
    }

    #[test]
    fn a_header_is_refused_before_any_mac_when_it_is_too_big() {
        let body = br#"{"id":"evt_1"}"#;
        let good = sign(&[SECRET], NOW, body);
        let v1 = good.split_once(",v1=").unwrap().1;
        let eight = format!("t={NOW}{}", format!(",v1={v1}").repeat(8));
        assert_eq!(check(Some(&eight), body), Ok(()));
        let nine = format!("{eight},v1={v1}");
        assert_eq!(
            check(Some(&nine), body),
            Err(SignatureError::Malformed("more than 8 v1 signatures"))
        );
        let padded = format!("{good},{}", "v0=00,".repeat(200));
        assert_eq!(
            check(Some(&padded), body),
            Err(SignatureError::Malformed("longer than 1024 bytes"))
        );
        assert_eq!(
            check(Some(&format!("t={NOW},v1=00")), body),
            Err(SignatureError::Malformed("v1 is not 64 hex digits"))
        );
    }

    #[test]
    fn extreme_timestamps_are_outside_the_tolerance_not_an_overflow() {
        let body = b"{}";
        for t in [i64::MIN, i64::MAX] {
            let header = sign(&[SECRET], t, body);
            assert!(matches!(
                verify(Some(&header), body, &[SECRET], NOW, DEFAULT_TOLERANCE_SECS),
                Err(SignatureError::OutsideTolerance { .. })
            ));
        }
    }

    #[test]
    fn rotation_accepts_any_v1_and_any_configured_secret() {
        let body = b"{}";
        let both = sign(&[b"old", SECRET], NOW, body);
        assert_eq!(check(Some(&both), body), Ok(()));
        let new_only = sign(&[b"new"], NOW, body);
        assert_eq!(
            verify(Some(&new_only), body, &[SECRET, b"new"], NOW, 300),
            Ok(())
        );
    }

    proptest! {
        #[test]
        fn any_change_to_the_body_breaks_the_signature(body in prop::collection::vec(any::<u8>(), 0..256), flip in any::<prop::sample::Index>()) {
            let header = sign(&[SECRET], NOW, &body);
            prop_assert_eq!(check(Some(&header), &body), Ok(()));
            let mut tampered = body.clone();
            if tampered.is_empty() { tampered.push(0) } else { let i = flip.index(tampered.len()); tampered[i] ^= 1; }
            prop_assert_eq!(check(Some(&header), &tampered), Err(SignatureError::Mismatch));
        }
    }
}
