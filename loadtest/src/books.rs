//! The books after a run: the app's own reconciliation is clean, every pledge the app
//! acknowledged is stored with the provider's amounts, each campaign's totals equal
//! the provider's ledger for that campaign's payments, and every pledge whose money was
//! captured has exactly one receipt (one message id, however often delivered) and no
//! other pledge has one.

use crate::http::Http;
use crate::setup::Endpoints;
use crate::world::World;
use serde_json::Value;
use std::collections::{HashMap, HashSet};

pub struct Verdict {
    pub findings: Vec<String>,
    pub summary: String,
}

impl Verdict {
    pub fn exact(&self) -> bool {
        self.findings.is_empty()
    }
}

/// Money the provider moved for one payment.
#[derive(Default, Clone, Copy, PartialEq, Eq, Debug)]
struct Moved {
    captured: u64,
    refunded: u64,
}

pub async fn check(http: &Http, at: &Endpoints, world: &World) -> anyhow::Result<Verdict> {
    let admin = [("authorization", at.admin_auth.as_str())];
    let mut findings = Vec::new();

    let report = http
        .get(&format!("{}/api/v1/admin/reconciliation", at.app), &admin)
        .await?;
    if report["ok"] != true {
        findings.push(format!("reconciliation drifted: {}", report["drift"]));
    }

    let stored = all_pledges(http, at).await?;
    let ledger = provider_ledger(http, at).await?;
    let acknowledged = world.acknowledged.lock().unwrap().clone();
    for ack in &acknowledged {
        let Some(pledge) = stored.get(&ack.pledge_id) else {
            findings.push(format!("acknowledged pledge {} is missing", ack.pledge_id));
            continue;
        };
        if pledge["campaign_id"] != ack.campaign_id.as_str() {
            findings.push(format!(
                "pledge {} is stored under campaign {}, not {}",
                ack.pledge_id, pledge["campaign_id"], ack.campaign_id
            ));
        }
        let kept = Moved {
            captured: pledge["captured_minor"].as_u64().unwrap_or_default(),
            refunded: pledge["refunded_minor"].as_u64().unwrap_or_default(),
        };
        let moved = ledger.get(&ack.pledge_id).copied().unwrap_or_default();
        if kept != moved {
            findings.push(format!(
                "pledge {} records {kept:?}, the provider {moved:?}",
                ack.pledge_id
            ));
        }
    }

    let receipts = receipt_ids(http, at).await?;
    let mut receipted = 0;
    for (pledge_id, moved) in &ledger {
        let ids = receipts.get(pledge_id).map_or(0, HashSet::len);
        if moved.captured > 0 {
            receipted += 1;
        }
        match (moved.captured > 0, ids) {
            (true, 1) | (false, 0) => {}
            (true, n) => findings.push(format!("captured pledge {pledge_id} has {n} receipts")),
            (false, n) => findings.push(format!(
                "{n} receipts for pledge {pledge_id}, which was never captured"
            )),
        }
    }
    for pledge_id in receipts.keys().filter(|p| !ledger.contains_key(*p)) {
        findings.push(format!(
            "receipt for pledge {pledge_id}, which the provider has no payment for"
        ));
    }

    let mut by_campaign: HashMap<&str, Moved> = HashMap::new();
    for (pledge_id, moved) in &ledger {
        if let Some(campaign) = stored
            .get(pledge_id)
            .and_then(|p| p["campaign_id"].as_str())
        {
            let sum = by_campaign.entry(campaign).or_default();
            sum.captured += moved.captured;
            sum.refunded += moved.refunded;
        }
    }
    let (mut captured, mut refunded) = (0, 0);
    for campaign in &world.campaigns {
        let totals = http
            .get(
                &format!("{}/api/v1/campaigns/{campaign}/totals", at.app),
                &[],
            )
            .await?;
        let shown = Moved {
            captured: totals["captured_minor"].as_u64().unwrap_or_default(),
            refunded: totals["refunded_minor"].as_u64().unwrap_or_default(),
        };
        let expected = by_campaign
            .get(campaign.as_str())
            .copied()
            .unwrap_or_default();
        if shown != expected {
            findings.push(format!(
                "campaign {campaign} totals show {shown:?}, the provider's ledger {expected:?}"
            ));
        }
        captured += shown.captured;
        refunded += shown.refunded;
    }
    Ok(Verdict {
        summary: format!(
            "{} acknowledged pledges all stored with the provider's amounts: {}; {} campaigns' totals \
             (captured {captured}, refunded {refunded} minor units) equal the provider's ledger: {}; \
             reconciliation ok: {}; {receipted} captured pledges with one receipt each: {}",
            acknowledged.len(),
            !findings.iter().any(|f| f.starts_with("acknowledged") || f.starts_with("pledge")),
            world.campaigns.len(),
            !findings.iter().any(|f| f.starts_with("campaign")),
            report["ok"] == true,
            !findings.iter().any(|f| f.contains("receipt")),
        ),
        findings,
    })
}

/// Every stored pledge by id, paged with the admin token.
async fn all_pledges(http: &Http, at: &Endpoints) -> anyhow::Result<HashMap<String, Value>> {
    let mut pledges = HashMap::new();
    let mut cursor: Option<String> = None;
    loop {
        let mut url = format!("{}/api/v1/donors/me/pledges?limit=100", at.app);
        if let Some(c) = &cursor {
            url.push_str(&format!("&cursor={c}"));
        }
        let page = http.get(&url, &[("authorization", &at.admin_auth)]).await?;
        for pledge in page["items"].as_array().into_iter().flatten() {
            if let Some(id) = pledge["id"].as_str() {
                pledges.insert(id.to_string(), pledge.clone());
            }
        }
        match page["next_cursor"].as_str() {
            Some(next) => cursor = Some(next.to_string()),
            None => return Ok(pledges),
        }
    }
}

/// What the provider captured and refunded, by the pledge its payment is for.
async fn provider_ledger(http: &Http, at: &Endpoints) -> anyhow::Result<HashMap<String, Moved>> {
    let ledger = http
        .get(&format!("{}/_sim/ledger", at.provider), &[])
        .await?;
    let mut moved = HashMap::new();
    for payment in ledger["payments"].as_array().into_iter().flatten() {
        if let Some(pledge) = payment["metadata"]["pledge_id"].as_str() {
            moved.insert(
                pledge.to_string(),
                Moved {
                    captured: payment["amount_received"].as_u64().unwrap_or_default(),
                    refunded: payment["amount_refunded"].as_u64().unwrap_or_default(),
                },
            );
        }
    }
    Ok(moved)
}

/// The receipt message ids the notification gateway (the simulator's inbox) received, by
/// pledge. A redelivery carries the same id, so it counts once.
async fn receipt_ids(
    http: &Http,
    at: &Endpoints,
) -> anyhow::Result<HashMap<String, HashSet<String>>> {
    let inbox = http
        .get(&format!("{}/_sim/inbox/notifications", at.provider), &[])
        .await?;
    let mut receipts: HashMap<String, HashSet<String>> = HashMap::new();
    for entry in inbox.as_array().into_iter().flatten() {
        let body = &entry["body"];
        if body["kind"] != "receipt" {
            continue;
        }
        if let (Some(pledge), Some(id)) = (body["pledge_id"].as_str(), body["id"].as_str()) {
            receipts
                .entry(pledge.to_string())
                .or_default()
                .insert(id.to_string());
        }
    }
    Ok(receipts)
}
