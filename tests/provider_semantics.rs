//! The provider's real semantics and hostile webhook input, through the real app on the
//! host against the payment simulator, each on SQLite and on Postgres: a declined card
//! retried on the same payment, and signature headers and bodies built to waste CPU.

use harness::{both_backends, pledge_body, App, Backend};
use payment_simulator::Config;
use reqwest::Method;
use serde_json::{json, Value};
use std::time::Duration;

both_backends! {
    declined_then_retried => a_declined_card_retried_on_the_same_payment_is_captured_once,
    hostile_webhooks => oversized_signatures_and_bodies_are_refused_before_any_work,
}

async fn settle(app: &App) {
    app.deliveries_settled(Duration::from_secs(60))
        .await
        .unwrap();
}

fn outcomes(detail: &Value) -> Vec<(String, String)> {
    detail["history"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| {
            (
                h["kind"].as_str().unwrap_or("").to_string(),
                h["outcome"].as_str().unwrap_or("").to_string(),
            )
        })
        .collect()
}

/// With Stripe a declined card returns the payment to `requires_payment_method`; the
/// donor tries another card on the same payment and it succeeds. The pledge ends
/// CAPTURED, counted once in `raised`, with one receipt; a decline reported after the
/// success is stale.
async fn a_declined_card_retried_on_the_same_payment_is_captured_once(backend: Backend) {
    let app = App::start(backend, Config::default()).await.unwrap();
    let campaign = app.campaign("USD").await;
    // Minor units ending in 13: the simulator declines the first card.
    let created = app
        .pledge(
            Some("declined-first"),
            &pledge_body(&campaign, 2_513, "ada@example.org"),
        )
        .await;
    assert_eq!(created.status, 201, "{}", created.raw);
    let pledge_id = created.body["pledge"]["id"].as_str().unwrap().to_string();
    let payment = created.body["payment"]["provider_payment_id"]
        .as_str()
        .unwrap()
        .to_string();
    settle(&app).await;
    let declined = app.admin_pledge(&pledge_id).await;
    assert_eq!(declined["pledge"]["status"], "PAYMENT_FAILED", "{declined}");
    app.relay_idle(Duration::from_secs(30), true).await.unwrap();
    let totals = app.totals(&campaign).await;
    assert_eq!(
        (
            totals["pledged_minor"].clone(),
            totals["raised_minor"].clone()
        ),
        (json!(2_513), json!(0)),
        "a declined pledge may still be paid, so it stays pledged: {totals}"
    );

    // Declined again, then paid, on the same payment.
    let confirm = format!("/v1/payment_intents/{payment}/confirm");
    let (status, again) = app
        .provider_post(&confirm, &[("payment_method", "pm_card_chargeDeclined")])
        .await;
    assert_eq!(status, 402, "{again}");
    let (status, paid) = app
        .provider_post(&confirm, &[("payment_method", "pm_card_visa")])
        .await;
    assert_eq!((status, paid["status"].as_str()), (200, Some("succeeded")));
    settle(&app).await;

    let captured = app.admin_pledge(&pledge_id).await;
    assert_eq!(captured["pledge"]["status"], "CAPTURED", "{captured}");
    assert_eq!(captured["pledge"]["captured_minor"], 2_513);
    let history = outcomes(&captured);
    assert!(
        history.contains(&("payment_intent.succeeded".into(), "applied".into())),
        "{history:?}"
    );

    // A decline that the provider reports late (after the success) changes nothing.
    let late = app
        .deliver_webhook(&json!({
            "id": "evt_late_decline", "object": "event", "type": "payment_intent.payment_failed",
            "data": { "object": { "id": payment, "object": "payment_intent", "status": "requires_payment_method",
                "metadata": { "pledge_id": pledge_id } } }
        }))
        .await;
    assert_eq!(late.status, 200, "{}", late.raw);
    let after = app.admin_pledge(&pledge_id).await;
    assert_eq!(after["pledge"]["status"], "CAPTURED", "{after}");
    assert_eq!(
        outcomes(&after).last(),
        Some(&("payment_intent.payment_failed".into(), "stale".into()))
    );

    app.relay_idle(Duration::from_secs(30), true).await.unwrap();
    let totals = app.totals(&campaign).await;
    assert_eq!(
        (
            totals["pledged_minor"].clone(),
            totals["raised_minor"].clone(),
            totals["captured_count"].clone()
        ),
        (json!(2_513), json!(2_513), json!(1)),
        "{totals}"
    );
    let receipts: Vec<Value> = app
        .inbox("notifications")
        .await
        .unwrap()
        .into_iter()
        .filter(|m| m["body"]["kind"] == "receipt")
        .collect();
    assert_eq!(receipts.len(), 1, "{receipts:?}");
    assert_eq!(receipts[0]["body"]["pledge_id"], pledge_id.as_str());
    let report = app.reconciliation().await.unwrap();
    assert_eq!(report["ok"], true, "{report}");
}

/// An unauthenticated caller cannot make the app hash a large body many times over: a
/// header with more signatures than any provider sends is refused before any MAC, and a
/// body over the route's limit is refused by the component itself (so on Spin too),
/// before it is read whole.
async fn oversized_signatures_and_bodies_are_refused_before_any_work(backend: Backend) {
    let app = App::start(backend, Config::default()).await.unwrap();
    let body = format!(
        r#"{{"id":"evt_big","type":"payment_intent.succeeded","pad":"{}"}}"#,
        "x".repeat(250 * 1024)
    );
    let candidate = format!(",v1={}", "ab".repeat(32));
    let many = format!("t={}{}", 1_800_000_000, candidate.repeat(5_000));
    let answer = app
        .call(
            Method::POST,
            "/api/v1/payments/webhook",
            &[
                ("content-type", "application/json"),
                ("stripe-signature", &many),
            ],
            Some(body.clone().into_bytes()),
        )
        .await;
    answer.problem(400, "invalid_signature_header");

    let too_big = format!(
        r#"{{"id":"evt_big","type":"payment_intent.succeeded","pad":"{}"}}"#,
        "x".repeat(300 * 1024)
    );
    let answer = app
        .call(
            Method::POST,
            "/api/v1/payments/webhook",
            &[
                ("content-type", "application/json"),
                ("stripe-signature", &format!("t=1{candidate}")),
            ],
            Some(too_big.into_bytes()),
        )
        .await;
    answer.problem(413, "body_too_large");

    let campaign = app.campaign("USD").await;
    let mut pledge = pledge_body(&campaign, 1_000, "ada@example.org");
    pledge["donor"]["name"] = json!("y".repeat(100 * 1024));
    let answer = app.pledge(Some("huge-pledge"), &pledge).await;
    answer.problem(413, "body_too_large");
    assert_eq!(app.count("SELECT COUNT(*) FROM pledges").await, 0);
    assert_eq!(app.count("SELECT COUNT(*) FROM idempotency_keys").await, 0);
    assert_eq!(
        app.count("SELECT COUNT(*) FROM processed_provider_events")
            .await,
        0
    );
}
