//! Limits on failed sign-ins, kept in the app's key-value store (Spin's store locally,
//! Redis at scale) so every instance sees the same counts: per account (an email) and per
//! client (an address). A limit reached refuses further sign-ins for that key, right
//! password or not, until its window ends, before any hash is computed. A success clears
//! the account's count.
//!
//! Counts are read, changed and written back (Spin's key-value API has no atomic
//! increment), so failures racing on one key may be undercounted by the number that
//! race; each guess still costs a full argon2id hash. A store that cannot be reached
//! does not stop sign-ins: the failure is logged and the hash cost alone slows guessing.

use crate::storage::key_value::KeyValue;
use serde::{Deserialize, Serialize};

pub const WINDOW_MS: i64 = 15 * 60 * 1000;
pub const MAX_FAILURES_PER_ACCOUNT: u32 = 5;
pub const MAX_FAILURES_PER_CLIENT: u32 = 20;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
struct Window {
    started_ms: i64,
    failures: u32,
}

/// One counted key: an account's email or a client's address.
pub struct Limit<'a> {
    pub key: String,
    pub max_failures: u32,
    kv: &'a dyn KeyValue,
}

impl<'a> Limit<'a> {
    pub fn account(kv: &'a dyn KeyValue, email: &str) -> Self {
        Limit {
            key: format!("sign-in:account:{email}"),
            max_failures: MAX_FAILURES_PER_ACCOUNT,
            kv,
        }
    }

    pub fn client(kv: &'a dyn KeyValue, address: &str) -> Self {
        Limit {
            key: format!("sign-in:client:{address}"),
            max_failures: MAX_FAILURES_PER_CLIENT,
            kv,
        }
    }

    fn current(&self, now_ms: i64) -> Option<Window> {
        match self.kv.get(&self.key) {
            Ok(Some(bytes)) => serde_json::from_slice::<Window>(&bytes)
                .ok()
                .filter(|w| now_ms - w.started_ms < WINDOW_MS),
            Ok(None) => None,
            Err(e) => {
                eprintln!("sign-in limits: {e}");
                None
            }
        }
    }

    /// Seconds until this key may try again, if its limit is reached.
    pub fn blocked_for_secs(&self, now_ms: i64) -> Option<i64> {
        self.current(now_ms)
            .filter(|w| w.failures >= self.max_failures)
            .map(|w| ((w.started_ms + WINDOW_MS - now_ms) + 999) / 1000)
    }

    pub fn record_failure(&self, now_ms: i64) {
        let window = match self.current(now_ms) {
            Some(w) => Window {
                failures: w.failures.saturating_add(1),
                ..w
            },
            None => Window {
                started_ms: now_ms,
                failures: 1,
            },
        };
        self.store(&window);
    }

    pub fn clear(&self) {
        self.store(&Window {
            started_ms: 0,
            failures: 0,
        });
    }

    fn store(&self, window: &Window) {
        let bytes = serde_json::to_vec(window).expect("a window serializes");
        if let Err(e) = self.kv.set(&self.key, &bytes) {
            eprintln!("sign-in limits: {e}");
        }
    }
}

/// The client's address: the peer Spin reports (`spin-client-addr`), or, when that peer
/// is one of `trusted_proxies` (the balancer), the address the balancer appended last to
/// `X-Forwarded-For`. A client cannot pick its own key by sending the header itself.
pub fn client_address(
    peer: Option<&str>,
    forwarded_for: Option<&str>,
    trusted_proxies: &[String],
) -> String {
    let peer_ip = peer
        .map(|p| {
            p.parse::<std::net::SocketAddr>()
                .map_or_else(|_| p.to_string(), |a| a.ip().to_string())
        })
        .unwrap_or_default();
    if trusted_proxies.contains(&peer_ip) {
        if let Some(last) = forwarded_for
            .and_then(|f| f.rsplit(',').next())
            .map(str::trim)
            .filter(|a| !a.is_empty())
        {
            return last.to_string();
        }
    }
    peer_ip
}

#[cfg(test)]
mod tests {
    use super::*;

    type Memory = crate::storage::key_value::InMemory;

    #[test]
    fn the_limit_blocks_until_its_window_ends_and_a_success_clears_it() {
        let kv = Memory::default();
        let limit = Limit::account(&kv, "ana@example.org");
        for i in 0..MAX_FAILURES_PER_ACCOUNT {
            assert_eq!(limit.blocked_for_secs(1_000), None, "after {i} failures");
            limit.record_failure(1_000);
        }
        assert_eq!(limit.blocked_for_secs(1_000), Some(WINDOW_MS / 1000));
        assert_eq!(limit.blocked_for_secs(1_000 + WINDOW_MS - 1), Some(1));
        assert_eq!(limit.blocked_for_secs(1_000 + WINDOW_MS), None);
        limit.record_failure(2_000);
        limit.clear();
        assert_eq!(limit.blocked_for_secs(2_000), None);
    }

    #[test]
    fn a_forwarded_address_counts_only_behind_a_trusted_balancer() {
        let trusted = vec!["127.0.0.1".to_string()];
        assert_eq!(
            client_address(Some("127.0.0.1:5000"), Some("6.6.6.6, 10.0.0.7"), &trusted),
            "10.0.0.7"
        );
        assert_eq!(
            client_address(Some("10.0.0.9:5000"), Some("6.6.6.6"), &trusted),
            "10.0.0.9"
        );
        assert_eq!(
            client_address(Some("127.0.0.1:5000"), None, &trusted),
            "127.0.0.1"
        );
        assert_eq!(client_address(None, None, &[]), "");
    }
}
