//! Money going back out, through the real app on the host against the payment simulator,
//! on SQLite and on Postgres: refunds that stay pending, refunds that fail after the
//! provider accepted them (or after they succeeded), and disputes won and lost. The books
//! move only when the provider says money moved, and every failure reaches the admins.

use harness::{both_backends, pledge_body, App, Backend};
use payment_simulator::Config;
use serde_json::{json, Value};
use std::time::Duration;

both_backends! {
    refunds => a_refund_counts_only_once_the_provider_says_it_succeeded_and_uncounts_if_it_fails,
    disputes => a_dispute_takes_money_out_of_raised_while_its_funds_are_withdrawn,
}

/// A call to the simulator's control API (a card network or time passing).
async fn sim_post(app: &App, path: &str, body: Option<Value>) -> Value {
    let mut request = reqwest::Client::new().post(format!("{}{path}", app.sim_url));
    if let Some(body) = body {
        request = request.json(&body);
    }
    let resp = request.send().await.unwrap();
    let status = resp.status();
    let body: Value = resp.json().await.unwrap();
    assert!(status.is_success(), "{path}: {status} {body}");
    body
}

async fn settled(app: &App) {
    app.deliveries_settled(Duration::from_secs(60))
        .await
        .unwrap();
}

/// The pledge's status with its refunded and disputed amounts.
async fn money(app: &App, pledge: &str) -> (String, u64, u64) {
    let detail = app.admin_pledge(pledge).await;
    let p = &detail["pledge"];
    (
        p["status"].as_str().unwrap().to_string(),
        p["refunded_minor"].as_u64().unwrap(),
        p["disputed_minor"].as_u64().unwrap(),
    )
}

async fn raised(app: &App, campaign: &str) -> Value {
    app.relay_idle(Duration::from_secs(30), true).await.unwrap();
    let totals = app.totals(campaign).await;
    json!({ "raised": totals["raised_minor"], "refunded": totals["refunded_minor"], "disputed": totals["disputed_minor"] })
}

async fn captured_pledge(app: &App, campaign: &str, amount: u64, email: &str) -> (String, String) {
    let created = app
        .pledge(Some(email), &pledge_body(campaign, amount, email))
        .await;
    assert_eq!(created.status, 201, "{}", created.raw);
    settled(app).await;
    let id = created.body["pledge"]["id"].as_str().unwrap().to_string();
    let payment = created.body["payment"]["provider_payment_id"]
        .as_str()
        .unwrap()
        .to_string();
    assert_eq!(money(app, &id).await.0, "CAPTURED");
    (id, payment)
}

/// Alerts the admins received of `kind`.
async fn alerts(app: &App, kind: &str) -> Vec<Value> {
    app.relay_idle(Duration::from_secs(30), true).await.unwrap();
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    loop {
        let found: Vec<Value> = app
            .inbox("notifications")
            .await
            .unwrap()
            .into_iter()
            .filter(|m| m["body"]["kind"] == kind)
            .map(|m| m["body"].clone())
            .collect();
        if !found.is_empty() || std::time::Instant::now() > deadline {
            return found;
        }
        app.relay_once().await.unwrap();
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// Amounts ending in 91 begin pending and later succeed; 92 succeed and later fail; 93
/// begin pending and later fail (the simulator's refund test amounts).
async fn a_refund_counts_only_once_the_provider_says_it_succeeded_and_uncounts_if_it_fails(
    backend: Backend,
) {
    let app = App::start(backend, Config::default()).await.unwrap();
    let campaign = app.campaign("USD").await;
    let (pledge, _) = captured_pledge(&app, &campaign, 10_000, "ada@example.org").await;

    // Pending: accepted (202), reserved, not yet money back.
    let pending = app
        .refund(&pledge, "r-pending", &json!({ "amount_minor": 1_091 }))
        .await;
    assert_eq!(pending.status, 202, "{}", pending.raw);
    assert_eq!(pending.body["refund"]["status"], "pending");
    let pending_re = pending.body["refund"]["provider_refund_id"]
        .as_str()
        .unwrap()
        .to_string();
    settled(&app).await;
    assert_eq!(money(&app, &pledge).await, ("CAPTURED".into(), 0, 0));
    assert_eq!(raised(&app, &campaign).await["raised"], 10_000);
    // Reserved: more than what is left besides it is refused.
    app.refund(&pledge, "r-too-much", &json!({ "amount_minor": 9_000 }))
        .await
        .problem(422, "refund_exceeds_captured");

    sim_post(&app, &format!("/_sim/refunds/{pending_re}/settle"), None).await;
    settled(&app).await;
    assert_eq!(
        money(&app, &pledge).await,
        ("PARTIALLY_REFUNDED".into(), 1_091, 0)
    );
    assert_eq!(raised(&app, &campaign).await["raised"], 8_909);

    // Succeeded at once, then failed: counted, then uncounted, and the admins hear of it.
    let flaky = app
        .refund(&pledge, "r-flaky", &json!({ "amount_minor": 2_092 }))
        .await;
    assert_eq!(flaky.status, 201, "{}", flaky.raw);
    assert_eq!(flaky.body["pledge"]["refunded_minor"], 3_183);
    let flaky_re = flaky.body["refund"]["provider_refund_id"]
        .as_str()
        .unwrap()
        .to_string();
    settled(&app).await;
    assert_eq!(raised(&app, &campaign).await["raised"], 6_817);
    let failed = sim_post(&app, &format!("/_sim/refunds/{flaky_re}/settle"), None).await;
    assert_eq!(failed["status"], "failed");
    settled(&app).await;
    assert_eq!(
        money(&app, &pledge).await,
        ("PARTIALLY_REFUNDED".into(), 1_091, 0)
    );
    assert_eq!(
        raised(&app, &campaign).await,
        json!({ "raised": 8_909, "refunded": 1_091, "disputed": 0 })
    );
    let refund_alerts = alerts(&app, "refund_failed").await;
    assert_eq!(refund_alerts.len(), 1, "{refund_alerts:?}");
    assert_eq!(refund_alerts[0]["provider_refund_id"], flaky_re.as_str());

    // A late copy of the earlier "succeeded" report changes nothing.
    let late = app
        .deliver_webhook(&json!({
            "id": "evt_late_success", "object": "event", "type": "charge.refund.updated",
            "data": { "object": { "id": flaky_re, "object": "refund", "amount": 2_092,
                "payment_intent": failed["payment_intent"], "status": "succeeded" } }
        }))
        .await;
    assert_eq!(
        (late.status, late.body["outcome"].as_str()),
        (200, Some("stale")),
        "{}",
        late.raw
    );
    assert_eq!(money(&app, &pledge).await.1, 1_091);

    // Pending, then failed: never counted; the refunded money may be asked for again.
    let doomed = app
        .refund(&pledge, "r-doomed", &json!({ "amount_minor": 1_093 }))
        .await;
    assert_eq!(doomed.status, 202, "{}", doomed.raw);
    let doomed_re = doomed.body["refund"]["provider_refund_id"]
        .as_str()
        .unwrap()
        .to_string();
    sim_post(&app, &format!("/_sim/refunds/{doomed_re}/settle"), None).await;
    settled(&app).await;
    assert_eq!(
        money(&app, &pledge).await,
        ("PARTIALLY_REFUNDED".into(), 1_091, 0)
    );
    let rest = app.refund(&pledge, "r-rest", &json!({})).await;
    assert_eq!(rest.status, 201, "{}", rest.raw);
    assert_eq!(rest.body["refund"]["amount_minor"], 8_909);
    settled(&app).await;
    assert_eq!(money(&app, &pledge).await, ("REFUNDED".into(), 10_000, 0));
    assert_eq!(alerts(&app, "refund_failed").await.len(), 2);

    let detail = app.admin_pledge(&pledge).await;
    let statuses: Vec<&str> = detail["refunds"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["status"].as_str().unwrap())
        .collect();
    assert_eq!(
        statuses,
        ["succeeded", "failed", "failed", "succeeded"],
        "{detail}"
    );
    let ledger = app.ledger().await.unwrap();
    assert_eq!(ledger["refunded_minor"], 10_000);
    assert_eq!(raised(&app, &campaign).await["raised"], 0);
    let report = app.reconciliation().await.unwrap();
    assert_eq!(report["ok"], true, "{report}");
    app.no_rowless_queries().await;
}

async fn a_dispute_takes_money_out_of_raised_while_its_funds_are_withdrawn(backend: Backend) {
    let app = App::start(backend, Config::default()).await.unwrap();
    let campaign = app.campaign("USD").await;
    let (lost, lost_pi) = captured_pledge(&app, &campaign, 5_000, "bob@example.org").await;
    let (won, won_pi) = captured_pledge(&app, &campaign, 3_000, "cy@example.org").await;
    assert_eq!(raised(&app, &campaign).await["raised"], 8_000);

    let dispute = sim_post(
        &app,
        &format!("/_sim/payment_intents/{lost_pi}/dispute"),
        None,
    )
    .await;
    settled(&app).await;
    assert_eq!(money(&app, &lost).await, ("CAPTURED".into(), 0, 5_000));
    assert_eq!(
        raised(&app, &campaign).await,
        json!({ "raised": 3_000, "refunded": 0, "disputed": 5_000 })
    );
    // The disputed money cannot be refunded as well.
    app.refund(&lost, "r-disputed", &json!({}))
        .await
        .problem(422, "refund_exceeds_captured");
    let detail = app.admin_pledge(&lost).await;
    assert_eq!(detail["disputes"][0]["status"], "open", "{detail}");
    assert_eq!(detail["disputes"][0]["funds"], "withdrawn", "{detail}");

    let dispute_id = dispute["id"].as_str().unwrap();
    sim_post(
        &app,
        &format!("/_sim/disputes/{dispute_id}/close"),
        Some(json!({ "outcome": "lost" })),
    )
    .await;
    let other = sim_post(
        &app,
        &format!("/_sim/payment_intents/{won_pi}/dispute"),
        None,
    )
    .await;
    let other_id = other["id"].as_str().unwrap();
    sim_post(
        &app,
        &format!("/_sim/disputes/{other_id}/close"),
        Some(json!({ "outcome": "won" })),
    )
    .await;
    settled(&app).await;
    assert_eq!(money(&app, &lost).await, ("CAPTURED".into(), 0, 5_000));
    assert_eq!(money(&app, &won).await, ("CAPTURED".into(), 0, 0));
    assert_eq!(
        raised(&app, &campaign).await,
        json!({ "raised": 3_000, "refunded": 0, "disputed": 5_000 })
    );
    // A lost dispute reported won afterwards contradicts the record: kept for an operator.
    let contradiction = app
        .deliver_webhook(&json!({
            "id": "evt_contradiction", "object": "event", "type": "charge.dispute.closed",
            "data": { "object": { "id": dispute_id, "object": "dispute", "amount": 5_000,
                "payment_intent": lost_pi, "status": "won" } }
        }))
        .await;
    assert_eq!(
        contradiction.body["outcome"], "invalid",
        "{}",
        contradiction.raw
    );
    assert_eq!(money(&app, &lost).await.2, 5_000);

    // The admins hear of each dispute opening and of each decision.
    let dispute_alerts = alerts(&app, "dispute").await;
    let mut seen: Vec<(String, String)> = dispute_alerts
        .iter()
        .map(|a| {
            (
                a["id"].as_str().unwrap().to_string(),
                a["status"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    seen.sort();
    let mut expected = vec![
        (dispute_id.to_string(), "open".to_string()),
        (dispute_id.to_string(), "lost".to_string()),
        (other_id.to_string(), "open".to_string()),
        (other_id.to_string(), "won".to_string()),
    ];
    expected.sort();
    assert_eq!(seen, expected, "{dispute_alerts:?}");
    let ledger = app.ledger().await.unwrap();
    assert_eq!(ledger["disputed_minor"], 5_000);
    let report = app.reconciliation().await.unwrap();
    assert_eq!(
        report["drift"].as_array().map(Vec::len),
        Some(1),
        "{report}"
    );
    assert_eq!(
        report["drift"][0]["kind"], "contradictory_event",
        "{report}"
    );
    app.no_rowless_queries().await;
}
