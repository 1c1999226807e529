//! The run's data, made through the public API before the attack: campaigns, pledges the
//! readers and admins work on, and provider events held back for the webhook replays.

use crate::http::Http;
use crate::world::{Acknowledged, EventGroup};
use crate::{donors, settle};
use anyhow::Context;
use futures::stream::{self, StreamExt, TryStreamExt};
use serde_json::{json, Value};
use std::collections::BTreeMap;

/// Where the app and the provider are, and how to reach their admin sides.
#[derive(Clone)]
pub struct Endpoints {
    pub app: String,
    pub provider: String,
    pub provider_auth: String,
    pub admin_auth: String,
}

/// Requests in flight while seeding.
const SEED_CONCURRENCY: usize = 16;

pub async fn campaigns(http: &Http, at: &Endpoints, count: usize) -> anyhow::Result<Vec<String>> {
    let mut ids = Vec::with_capacity(count);
    for i in 1..=count {
        let body = json!({
            "title": format!("Load test campaign {i}"),
            "description": "Made by the load test",
            "goal_minor": 10_000_000,
            "currency": "USD",
        });
        let created = http
            .post(
                &format!("{}/api/v1/campaigns", at.app),
                &[("authorization", &at.admin_auth)],
                &body,
            )
            .await?;
        ids.push(id_of(&created, "/id")?);
    }
    Ok(ids)
}

fn id_of(value: &Value, pointer: &str) -> anyhow::Result<String> {
    value
        .pointer(pointer)
        .and_then(Value::as_str)
        .map(str::to_string)
        .with_context(|| format!("no `{pointer}` in {value}"))
}

/// Creates one pledge as a donor would; the app's 201 makes it acknowledged.
pub async fn pledge(
    http: &Http,
    at: &Endpoints,
    campaign_id: &str,
) -> anyhow::Result<Acknowledged> {
    let body = donors::pledge_body(campaign_id);
    let key = uuid::Uuid::new_v4().to_string();
    let created = http
        .post(
            &format!("{}/api/v1/pledges", at.app),
            &[("idempotency-key", &key)],
            &body,
        )
        .await?;
    Ok(Acknowledged {
        pledge_id: id_of(&created, "/pledge/id")?,
        campaign_id: campaign_id.to_string(),
        amount_minor: body["amount_minor"].as_u64().unwrap_or_default(),
        donor_token: id_of(&created, "/donor_token")?,
    })
}

pub async fn pledges(
    http: &Http,
    at: &Endpoints,
    campaigns: &[String],
    count: usize,
) -> anyhow::Result<Vec<Acknowledged>> {
    stream::iter(0..count)
        .map(|i| pledge(http, at, &campaigns[i % campaigns.len()]))
        .buffer_unordered(SEED_CONCURRENCY)
        .try_collect()
        .await
}

/// The seeded pledges the provider captured: what an admin can refund.
pub async fn captured(
    http: &Http,
    at: &Endpoints,
    pledges: &[Acknowledged],
) -> anyhow::Result<Vec<(String, u64)>> {
    let mut captured = Vec::new();
    for p in pledges {
        let found = http
            .get(
                &format!("{}/api/v1/pledges/{}", at.app, p.pledge_id),
                &[("authorization", &at.admin_auth)],
            )
            .await?;
        if found["pledge"]["status"] == "CAPTURED" {
            captured.push((p.pledge_id.clone(), p.amount_minor));
        }
    }
    Ok(captured)
}

/// Email tokens from the receipts the gateway (the simulator's inbox) received; none
/// when the gateway keeps no inbox.
pub async fn email_tokens(http: &Http, at: &Endpoints) -> Vec<String> {
    let Ok(Value::Array(entries)) = http
        .get(&format!("{}/_sim/inbox/notifications", at.provider), &[])
        .await
    else {
        return Vec::new();
    };
    entries
        .iter()
        .filter_map(|e| e["body"]["history_url"].as_str())
        .filter_map(|url| url.split_once("token=").map(|(_, t)| t.to_string()))
        .collect()
}

/// Pledges whose provider events are held back, not delivered: the webhook scenario
/// delivers them. The simulator's webhook URL is unset while they are made, and the
/// events are then read back from the provider's `GET /v1/events`.
pub async fn held_back_events(
    http: &Http,
    at: &Endpoints,
    campaigns: &[String],
    count: usize,
) -> anyhow::Result<(Vec<Acknowledged>, Vec<EventGroup>)> {
    settle::wait(http, at, 60).await?;
    let config_url = format!("{}/_sim/config", at.provider);
    let config = http.get(&config_url, &[]).await?;
    let mut held = config.clone();
    held["webhook_url"] = Value::Null;
    http.post(&config_url, &[], &held).await?;
    let made = pledges(http, at, campaigns, count).await;
    http.post(&config_url, &[], &config).await?;
    let made = made?;
    let ours: std::collections::HashSet<&str> = made.iter().map(|p| p.pledge_id.as_str()).collect();
    let mut groups: BTreeMap<String, EventGroup> = BTreeMap::new();
    for event in provider_events(http, at).await?.into_iter().rev() {
        let object = &event["data"]["object"];
        let pledge = object["metadata"]["pledge_id"].as_str().unwrap_or_default();
        if ours.contains(pledge) {
            let payment = object["id"].as_str().unwrap_or_default().to_string();
            groups.entry(payment).or_default().push(event.to_string());
        }
    }
    Ok((made, groups.into_values().collect()))
}

/// Every event the provider still keeps, newest first (Stripe's paging).
async fn provider_events(http: &Http, at: &Endpoints) -> anyhow::Result<Vec<Value>> {
    let mut events = Vec::new();
    let mut after: Option<String> = None;
    loop {
        let mut url = format!("{}/v1/events?limit=100", at.provider);
        if let Some(id) = &after {
            url.push_str(&format!("&starting_after={id}"));
        }
        let page = http
            .get(&url, &[("authorization", &at.provider_auth)])
            .await?;
        let data = page["data"].as_array().cloned().unwrap_or_default();
        after = data
            .last()
            .map(|e| e["id"].as_str().unwrap_or_default().to_string());
        events.extend(data);
        if page["has_more"] != true || after.is_none() {
            return Ok(events);
        }
    }
}
