//! Waiting for the system to come to rest: no webhook in flight at the provider,
//! nothing left in the outbox and no notification waiting to be sent.

use crate::http::Http;
use crate::setup::Endpoints;
use std::time::{Duration, Instant};

/// Returns once the provider has no delivery in flight, the relay's backlog is empty and
/// no notification is pending, twice in a row half a second apart; fails after
/// `within_secs`.
pub async fn wait(http: &Http, at: &Endpoints, within_secs: u64) -> anyhow::Result<()> {
    let deadline = Instant::now() + Duration::from_secs(within_secs);
    let mut quiet = 0;
    let mut last = String::new();
    while Instant::now() < deadline {
        let in_flight = http
            .get(&format!("{}/_sim/deliveries", at.provider), &[])
            .await
            .map(|d| d["in_flight"].as_u64().unwrap_or(0))
            .unwrap_or(0);
        let relay = http
            .get(
                &format!("{}/api/v1/admin/relay", at.app),
                &[("authorization", &at.admin_auth)],
            )
            .await?;
        let backlog = relay["backlog"].as_u64().unwrap_or(u64::MAX);
        let unsent = relay["notifications"]["pending"]
            .as_u64()
            .unwrap_or(u64::MAX);
        last = format!(
            "{in_flight} webhook deliveries in flight, relay backlog {backlog}, {unsent} notifications unsent"
        );
        quiet = if in_flight == 0 && backlog == 0 && unsent == 0 {
            quiet + 1
        } else {
            0
        };
        if quiet == 2 {
            return Ok(());
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    anyhow::bail!("not settled after {within_secs} s: {last}")
}
