//! Idempotency keys with Stripe's semantics: a replay gets the identical answer, the same
//! key with a different request is refused, a duplicate arriving while the first is still
//! in flight gets 409, and a request that crashed mid-way leaves the key resumable after
//! its lock times out: never stuck, never doubled.

use sha2::{Digest, Sha256};

/// Keys are kept at least this long after first use.
pub const KEY_TTL_MS: i64 = 24 * 60 * 60 * 1000;

/// A lock older than this belongs to a request that died; the next retry takes over.
/// Longer than the host's request deadline, so a live request never loses its lock.
pub const LOCK_TIMEOUT_MS: i64 = 60_000;

/// A client-chosen `Idempotency-Key`: 1 to 255 visible ASCII characters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdempotencyKey(String);

impl IdempotencyKey {
    pub fn parse(raw: &str) -> Result<Self, String> {
        if raw.is_empty() || raw.len() > 255 {
            return Err(format!("must be 1 to 255 characters, got {}", raw.len()));
        }
        if !raw.bytes().all(|b| b.is_ascii_graphic()) {
            return Err("must be visible ASCII characters without spaces".into());
        }
        Ok(Self(raw.to_string()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// The fingerprint of a request: method, path and the body as canonical JSON (object
/// keys sorted), so formatting differences do not count as a different request.
pub fn request_hash(method: &str, path: &str, body: &serde_json::Value) -> String {
    let mut hasher = Sha256::new();
    hasher.update(method.as_bytes());
    hasher.update(b"\n");
    hasher.update(path.as_bytes());
    hasher.update(b"\n");
    hasher.update(body.to_string().as_bytes());
    hex::encode(hasher.finalize())
}

/// How far a keyed request got; a resumed request continues from here.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RecoveryPoint {
    Started,
    PledgeCreated,
    Finished,
}

impl RecoveryPoint {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Started => "started",
            Self::PledgeCreated => "pledge_created",
            Self::Finished => "finished",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        [Self::Started, Self::PledgeCreated, Self::Finished]
            .into_iter()
            .find(|p| p.as_str() == s)
    }
}

/// A key as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredKey {
    pub request_hash: String,
    pub locked_at_ms: Option<i64>,
    pub recovery_point: RecoveryPoint,
    pub pledge_id: Option<String>,
    pub response: Option<(u16, String)>,
    pub expires_at_ms: i64,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KeyDecision {
    /// First use (or first after expiry): start from scratch.
    Start,
    /// A previous attempt stopped part-way; continue from `point`.
    Resume {
        point: RecoveryPoint,
        pledge_id: Option<String>,
    },
    /// Answer exactly what the first request was answered.
    Replay { status: u16, body: String },
    /// Another request with this key is being served right now.
    InFlight,
    /// The key was used for a different request.
    Mismatch,
}

pub fn decide(stored: Option<&StoredKey>, request_hash: &str, now_ms: i64) -> KeyDecision {
    let Some(stored) = stored.filter(|s| s.expires_at_ms > now_ms) else {
        return KeyDecision::Start;
    };
    if stored.request_hash != request_hash {
        return KeyDecision::Mismatch;
    }
    if let (RecoveryPoint::Finished, Some((status, body))) =
        (stored.recovery_point, &stored.response)
    {
        return KeyDecision::Replay {
            status: *status,
            body: body.clone(),
        };
    }
    match stored.locked_at_ms {
        Some(locked) if now_ms - locked < LOCK_TIMEOUT_MS => KeyDecision::InFlight,
        _ => KeyDecision::Resume {
            point: stored.recovery_point,
            pledge_id: stored.pledge_id.clone(),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stored(point: RecoveryPoint, locked: Option<i64>) -> StoredKey {
        StoredKey {
            request_hash: "h".into(),
            locked_at_ms: locked,
            recovery_point: point,
            pledge_id: Some("p1".into()),
            response: (point == RecoveryPoint::Finished).then(|| (201, "{}".to_string())),
            expires_at_ms: 1_000_000,
        }
    }

    #[test]
    fn each_state_of_a_key_gets_its_answer() {
        use RecoveryPoint::*;
        assert_eq!(decide(None, "h", 0), KeyDecision::Start);
        assert_eq!(
            decide(Some(&stored(Finished, None)), "h", 10),
            KeyDecision::Replay {
                status: 201,
                body: "{}".into()
            }
        );
        assert_eq!(
            decide(Some(&stored(Finished, None)), "other", 10),
            KeyDecision::Mismatch
        );
        assert_eq!(
            decide(Some(&stored(Started, Some(5))), "h", 10),
            KeyDecision::InFlight
        );
        assert_eq!(
            decide(
                Some(&stored(PledgeCreated, Some(5))),
                "h",
                5 + LOCK_TIMEOUT_MS
            ),
            KeyDecision::Resume {
                point: PledgeCreated,
                pledge_id: Some("p1".into())
            }
        );
        assert_eq!(
            decide(Some(&stored(PledgeCreated, None)), "h", 10),
            KeyDecision::Resume {
                point: PledgeCreated,
                pledge_id: Some("p1".into())
            }
        );
        assert_eq!(
            decide(Some(&stored(Finished, None)), "other", 1_000_000),
            KeyDecision::Start,
            "expired keys start over"
        );
    }

    #[test]
    fn keys_are_bounded_visible_ascii_and_hashes_ignore_key_order() {
        assert!(IdempotencyKey::parse("a1-b2_c3").is_ok());
        for bad in ["", "has space", "tab\t", "ключ"] {
            assert!(IdempotencyKey::parse(bad).is_err(), "{bad:?}");
        }
        assert!(IdempotencyKey::parse(&"k".repeat(256)).is_err());
        let a: serde_json::Value = serde_json::from_str(r#"{"a":1,"b":{"c":2,"d":3}}"#).unwrap();
        let b: serde_json::Value =
            serde_json::from_str(r#"{ "b": {"d":3, "c":2}, "a": 1 }"#).unwrap();
        assert_eq!(
            request_hash("POST", "/p", &a),
            request_hash("POST", "/p", &b)
        );
        assert_ne!(
            request_hash("POST", "/p", &a),
            request_hash("POST", "/q", &a)
        );
    }
}
