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
    manual_capture => an_admin_captures_or_cancels_a_held_payment_at_the_provider,
    abandoned_payments => an_abandoned_payment_is_cancelled_and_a_later_success_is_drift,
}

/// The simulator's view of one payment intent.
async fn intent(app: &App, payment: &str) -> Value {
    reqwest::Client::new()
        .get(format!("{}/v1/payment_intents/{payment}", app.sim_url))
        .bearer_auth(harness::PROVIDER_API_KEY)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap()
}

async fn admin_post(app: &App, path: &str, body: Option<Value>) -> harness::Answer {
    let auth = format!("Bearer {}", harness::ADMIN_TOKEN);
    app.call(
        Method::POST,
        path,
        &[
            ("authorization", &auth),
            ("content-type", "application/json"),
        ],
        body.map(|b| b.to_string().into_bytes()),
    )
    .await
}

async fn settle(app: &App) {
    app.deliveries_settled(Duration::from_secs(60))
        .await
        .unwrap();
}

fn pledged_and_raised(totals: &Value) -> (u64, u64) {
    (
        totals["pledged_minor"].as_u64().unwrap(),
        totals["raised_minor"].as_u64().unwrap(),
    )
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
        pledged_and_raised(&totals),
        (2_513, 0),
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
    app.no_rowless_queries().await;
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
    answer.problem(413, "payload_too_large");

    let campaign = app.campaign("USD").await;
    let mut pledge = pledge_body(&campaign, 1_000, "ada@example.org");
    pledge["donor"]["name"] = json!("y".repeat(100 * 1024));
    let answer = app.pledge(Some("huge-pledge"), &pledge).await;
    answer.problem(413, "payload_too_large");
    assert_eq!(app.count("SELECT COUNT(*) FROM pledges").await, 0);
    assert_eq!(app.count("SELECT COUNT(*) FROM idempotency_keys").await, 0);
    assert_eq!(
        app.count("SELECT COUNT(*) FROM processed_provider_events")
            .await,
        0
    );
}

/// With `payment_capture = manual` the provider only authorizes; an admin captures part
/// of one payment and cancels another, each at the provider first. The provider's own
/// webhooks for those changes then find them applied (stale).
async fn an_admin_captures_or_cancels_a_held_payment_at_the_provider(backend: Backend) {
    let app = App::start_with(
        backend,
        Config::default(),
        &[("SPIN_VARIABLE_PAYMENT_CAPTURE", "manual")],
    )
    .await
    .unwrap();
    let campaign = app.campaign("USD").await;
    let mut held = Vec::new();
    for (key, email) in [("held-1", "ada@example.org"), ("held-2", "bob@example.org")] {
        let created = app
            .pledge(Some(key), &pledge_body(&campaign, 5_000, email))
            .await;
        assert_eq!(created.status, 201, "{}", created.raw);
        held.push((
            created.body["pledge"]["id"].as_str().unwrap().to_string(),
            created.body["payment"]["provider_payment_id"]
                .as_str()
                .unwrap()
                .to_string(),
        ));
    }
    settle(&app).await;
    for (id, _) in &held {
        assert_eq!(app.admin_pledge(id).await["pledge"]["status"], "AUTHORIZED");
    }

    let (capture_id, capture_payment) = &held[0];
    let captured = admin_post(
        &app,
        &format!("/api/v1/admin/pledges/{capture_id}/capture"),
        Some(json!({ "amount_minor": 4_000 })),
    )
    .await;
    assert_eq!(captured.status, 200, "{}", captured.raw);
    assert_eq!(captured.body["pledge"]["status"], "CAPTURED");
    assert_eq!(captured.body["pledge"]["captured_minor"], 4_000);
    assert_eq!(
        intent(&app, capture_payment).await["amount_received"],
        4_000
    );
    // Again: the provider's idempotency answers the same; nothing moves twice.
    let again = admin_post(
        &app,
        &format!("/api/v1/admin/pledges/{capture_id}/capture"),
        None,
    )
    .await;
    again.problem(409, "pledge_state_conflict");

    let (cancel_id, cancel_payment) = &held[1];
    let canceled = admin_post(
        &app,
        &format!("/api/v1/admin/pledges/{cancel_id}/cancel"),
        None,
    )
    .await;
    assert_eq!(canceled.status, 200, "{}", canceled.raw);
    assert_eq!(canceled.body["pledge"]["status"], "CANCELED");
    assert_eq!(intent(&app, cancel_payment).await["status"], "canceled");
    let twice = admin_post(
        &app,
        &format!("/api/v1/admin/pledges/{cancel_id}/cancel"),
        None,
    )
    .await;
    assert_eq!(twice.status, 200, "{}", twice.raw);
    let paid_one = admin_post(
        &app,
        &format!("/api/v1/admin/pledges/{capture_id}/cancel"),
        None,
    )
    .await;
    paid_one.problem(409, "pledge_state_conflict");
    let nobody = admin_post(&app, "/api/v1/admin/pledges/nope/cancel", None).await;
    nobody.problem(404, "pledge_not_found");
    let anonymous = app
        .call(
            Method::POST,
            &format!("/api/v1/admin/pledges/{cancel_id}/cancel"),
            &[],
            None,
        )
        .await;
    anonymous.problem(401, "unauthorized");

    settle(&app).await;
    // The provider's webhook and the app's own record of its call race: whichever
    // comes second finds the step already taken.
    for (id, webhook, action) in [
        (capture_id, "payment_intent.succeeded", "app.capture"),
        (cancel_id, "payment_intent.canceled", "app.cancel"),
    ] {
        let detail = app.admin_pledge(id).await;
        let history = outcomes(&detail);
        let stale = |kind: &str| history.contains(&(kind.to_string(), "stale".to_string()));
        assert!(stale(webhook) != stale(action), "{detail}");
    }
    app.relay_idle(Duration::from_secs(30), true).await.unwrap();
    let totals = app.totals(&campaign).await;
    assert_eq!(pledged_and_raised(&totals), (5_000, 4_000), "{totals}");
    let report = app.reconciliation().await.unwrap();
    assert_eq!(report["ok"], true, "{report}");
    app.no_rowless_queries().await;
}

/// A declined pledge nobody pays again is cancelled once it has waited the configured
/// time: at the provider, then here (out of `pledged`). A success the provider reports
/// afterwards is never dropped silently: it is recorded `invalid` and reconciliation
/// lists it for an operator.
async fn an_abandoned_payment_is_cancelled_and_a_later_success_is_drift(backend: Backend) {
    let app = App::start_with(
        backend,
        Config::default(),
        &[("SPIN_VARIABLE_ABANDONED_PAYMENT_CANCEL_AFTER_SECS", "1")],
    )
    .await
    .unwrap();
    let campaign = app.campaign("USD").await;
    let body = pledge_body(&campaign, 3_013, "ada@example.org");
    let created = app.pledge(Some("abandoned"), &body).await;
    assert_eq!(created.status, 201, "{}", created.raw);
    let pledge_id = created.body["pledge"]["id"].as_str().unwrap().to_string();
    let payment = created.body["payment"]["provider_payment_id"]
        .as_str()
        .unwrap()
        .to_string();
    settle(&app).await;
    assert_eq!(
        app.admin_pledge(&pledge_id).await["pledge"]["status"],
        "PAYMENT_FAILED"
    );
    let early = app.relay_once().await.unwrap();
    assert_eq!(early["abandoned_canceled"], 0, "{early}");

    tokio::time::sleep(Duration::from_millis(1_200)).await;
    let run = app.relay_once().await.unwrap();
    assert_eq!(run["abandoned_canceled"], 1, "{run}");
    assert_eq!(
        app.admin_pledge(&pledge_id).await["pledge"]["status"],
        "CANCELED"
    );
    let at_provider = intent(&app, &payment).await;
    assert_eq!(
        (
            at_provider["status"].as_str(),
            at_provider["cancellation_reason"].as_str()
        ),
        (Some("canceled"), Some("abandoned"))
    );
    app.relay_idle(Duration::from_secs(30), true).await.unwrap();
    let totals = app.totals(&campaign).await;
    assert_eq!(
        (
            totals["pledged_minor"].clone(),
            totals["pledge_count"].clone()
        ),
        (json!(0), json!(0))
    );
    assert_eq!(app.reconciliation().await.unwrap()["ok"], true);

    // A replay of the finished request answers what it answered then; no new payment.
    let replayed = app.pledge(Some("abandoned"), &body).await;
    assert_eq!(replayed.status, 201, "{}", replayed.raw);
    assert_eq!(replayed.body["pledge"]["id"], pledge_id.as_str());
    assert_eq!(
        replayed.body["payment"]["provider_payment_id"],
        payment.as_str()
    );

    let late = app
        .deliver_webhook(&json!({
            "id": "evt_paid_after_cancel", "object": "event", "type": "payment_intent.succeeded",
            "data": { "object": { "id": payment, "object": "payment_intent", "status": "succeeded",
                "amount_received": 3_013, "metadata": { "pledge_id": pledge_id } } }
        }))
        .await;
    assert_eq!(late.status, 200, "{}", late.raw);
    assert_eq!(late.body["outcome"], "invalid", "{}", late.raw);
    assert_eq!(
        app.admin_pledge(&pledge_id).await["pledge"]["status"],
        "CANCELED"
    );
    let report = app.reconciliation().await.unwrap();
    assert_eq!(report["ok"], false, "{report}");
    let drift = report["drift"].as_array().unwrap();
    assert!(
        drift.iter().any(|d| d["kind"] == "contradictory_event"
            && d["pledge_id"] == pledge_id.as_str()
            && d["provider_event_id"] == "evt_paid_after_cancel"),
        "{report}"
    );
    app.no_rowless_queries().await;
}
