//! The outbox relay through the real app on both backends: totals that follow the relay,
//! the relay route's guard, receipts whose link works, alerts, reconciliation, and a
//! relay stopped while pledges keep arriving.

use careforall::payments::signature;
use futures::future::join_all;
use harness::{both_backends, pledge_body, App, Backend, FEED_SIGNING_SECRET, RELAY_SECRET};
use payment_simulator::Config;
use reqwest::Method;
use serde_json::{json, Value};
use std::time::Duration;

both_backends! {
    totals_follow_the_relay => totals_receipts_alerts_and_reconciliation_follow_the_relay,
    relay_route_guard => the_relay_route_needs_its_secret_and_nothing_else,
    stopped_relay => a_stopped_relay_leaves_a_backlog_that_drains_when_it_restarts,
    after_response => handlers_relay_their_own_events_after_answering_when_configured,
}

async fn settle(app: &App) {
    app.deliveries_settled(Duration::from_secs(60))
        .await
        .unwrap();
}

async fn totals_receipts_alerts_and_reconciliation_follow_the_relay(backend: Backend) {
    let app = App::start(backend, Config::default()).await.unwrap();
    let campaign = app.campaign_with_goal("USD", 5_000).await;
    let empty = app.totals(&campaign).await;
    assert_eq!(
        (empty["raised_minor"].clone(), empty["as_of"].clone()),
        (json!(0), Value::Null)
    );
    app.call(Method::GET, "/api/v1/campaigns/nope/totals", &[], None)
        .await
        .problem(404, "campaign_not_found");
    app.call(
        Method::GET,
        &format!("/api/v1/campaigns/{campaign}/totals?x=1"),
        &[],
        None,
    )
    .await
    .problem(400, "invalid_query");

    // Captured 4_000 and 2_500, one declined (…13), one held for manual capture (…77).
    let amounts = [4_000u64, 2_500, 1_013, 1_077];
    let mut ids = Vec::new();
    for (i, amount) in amounts.iter().enumerate() {
        let answer = app
            .pledge(
                Some(&format!("k{i}")),
                &pledge_body(&campaign, *amount, &format!("d{i}@example.org")),
            )
            .await;
        assert_eq!(answer.status, 201, "{}", answer.raw);
        ids.push(answer.body["pledge"]["id"].as_str().unwrap().to_string());
    }
    settle(&app).await;
    let before = app.totals(&campaign).await;
    assert_eq!(before["raised_minor"], 0, "nothing relayed yet: {before}");
    assert!(before["relay_lag_ms"].as_i64().unwrap() > 0, "{before}");

    app.relay_idle(Duration::from_secs(30), true).await.unwrap();
    let after = app.totals(&campaign).await;
    assert_eq!(after["raised_minor"], 6_500, "{after}");
    assert_eq!(after["captured_count"], 2);
    assert_eq!(
        after["pledge_count"], 4,
        "a declined pledge is still pledged (its donor may pay with another card): {after}"
    );
    assert_eq!(after["pledged_minor"], 4_000 + 2_500 + 1_013 + 1_077);
    assert_eq!(after["donor_count"], 2);
    assert_eq!(after["relay_lag_ms"], 0);
    assert!(after["as_of"].as_i64().unwrap() > 0);

    let refund = app
        .refund(&ids[0], "r1", &json!({ "amount_minor": 1_500 }))
        .await;
    assert_eq!(refund.status, 201, "{}", refund.raw);
    settle(&app).await;
    app.relay_idle(Duration::from_secs(30), true).await.unwrap();
    let refunded = app.totals(&campaign).await;
    assert_eq!(
        (
            refunded["raised_minor"].clone(),
            refunded["refunded_minor"].clone()
        ),
        (json!(5_000), json!(1_500))
    );

    let report = app.reconciliation().await.unwrap();
    assert_eq!(report["ok"], true, "{report}");
    assert_eq!(report["provider_charges_checked"], 4, "{report}");

    // One receipt per captured pledge, the goal alert once; the receipt's link works.
    let inbox = app.inbox("notifications").await.unwrap();
    let kinds: Vec<&str> = inbox
        .iter()
        .map(|m| m["body"]["kind"].as_str().unwrap())
        .collect();
    assert_eq!(
        kinds.iter().filter(|k| **k == "receipt").count(),
        2,
        "{inbox:?}"
    );
    assert_eq!(
        kinds.iter().filter(|k| **k == "goal_reached").count(),
        1,
        "{inbox:?}"
    );
    let receipt = inbox
        .iter()
        .find(|m| m["body"]["pledge_id"] == ids[0].as_str())
        .unwrap();
    assert_eq!(receipt["body"]["to"], "d0@example.org");
    assert_eq!(receipt["idempotency_key"], receipt["body"]["id"]);
    let link = receipt["body"]["history_url"].as_str().unwrap();
    let path = link
        .strip_prefix(&app.url(""))
        .expect("link on public_base_url, the app's own address");
    let history = app.call(Method::GET, path, &[], None).await;
    assert_eq!(history.status, 200, "{}", history.raw);
    assert_eq!(history.body["items"][0]["id"], ids[0].as_str());

    // The event feed: every outbox event once, signed, without the donor's email.
    let feed = app.inbox("feed").await.unwrap();
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64;
    for entry in &feed {
        let raw = entry["raw"].as_str().unwrap();
        signature::verify(
            entry["signature"].as_str(),
            raw.as_bytes(),
            &[FEED_SIGNING_SECRET.as_bytes()],
            now,
            300,
        )
        .unwrap_or_else(|e| panic!("feed delivery not signed right ({e:?}): {entry}"));
        assert!(!raw.contains("@example.org"), "{raw}");
    }
    let delivered: std::collections::BTreeSet<i64> = feed
        .iter()
        .map(|e| e["body"]["id"].as_i64().unwrap())
        .collect();
    assert_eq!(delivered.len(), feed.len(), "each event delivered once");
    assert_eq!(
        delivered.len() as i64,
        app.count("SELECT COUNT(*) FROM outbox").await
    );
}

async fn the_relay_route_needs_its_secret_and_nothing_else(backend: Backend) {
    let app = App::start(backend, Config::default()).await.unwrap();
    let path = "/internal/outbox/relay";
    app.call(Method::POST, path, &[], None)
        .await
        .problem(401, "unauthorized");
    app.call(
        Method::POST,
        path,
        &[("authorization", "Bearer wrong")],
        None,
    )
    .await
    .problem(403, "forbidden");
    let auth = format!("Bearer {RELAY_SECRET}");
    app.call(Method::GET, path, &[("authorization", &auth)], None)
        .await
        .problem(405, "method_not_allowed");
    app.call(
        Method::POST,
        path,
        &[("authorization", &auth)],
        Some(b"{}".to_vec()),
    )
    .await
    .problem(400, "unexpected_input");
    let run = app
        .call(Method::POST, path, &[("authorization", &auth)], None)
        .await;
    assert_eq!(run.status, 200, "{}", run.raw);
    assert_eq!(run.body["published"], 0);
    app.admin_get("/api/v1/admin/relay?x=1")
        .await
        .problem(400, "invalid_query");
    app.call(Method::GET, "/api/v1/admin/relay", &[], None)
        .await
        .problem(401, "unauthorized");
    app.admin_get("/api/v1/admin/reconciliation?provider=maybe")
        .await
        .problem(400, "invalid_query");
    app.admin_get("/api/v1/admin/nothing")
        .await
        .problem(404, "not_found");
}

/// `n` concurrent pledges (amounts the simulator captures); every one must be accepted.
async fn pledge_for(app: &App, campaign: &str, prefix: &str, n: usize) -> usize {
    let answers = join_all((0..n).map(|i| {
        let body = pledge_body(
            campaign,
            1_000 + 100 * i as u64,
            &format!("{prefix}{i}@example.org"),
        );
        async move { app.pledge(Some(&format!("{prefix}-{i}")), &body).await }
    }))
    .await;
    for a in &answers {
        assert_eq!(
            a.status, 201,
            "no pledge is refused while the relay is down: {}",
            a.raw
        );
    }
    answers.len()
}

async fn a_stopped_relay_leaves_a_backlog_that_drains_when_it_restarts(backend: Backend) {
    let app = App::start(backend, Config::default()).await.unwrap();
    let campaign = app.campaign("USD").await;
    let mut cron = app.start_cron_relay().await.unwrap();
    pledge_for(&app, &campaign, "early", 20).await;
    settle(&app).await;
    app.relay_idle(Duration::from_secs(30), false)
        .await
        .unwrap();

    cron.kill();
    pledge_for(&app, &campaign, "meanwhile", 60).await;
    settle(&app).await;
    tokio::time::sleep(Duration::from_millis(1_500)).await;
    let stalled = app.relay_health().await.unwrap();
    assert!(stalled["backlog"].as_u64().unwrap() >= 60, "{stalled}");
    assert!(
        stalled["oldest_unpublished_age_ms"].as_i64().unwrap() >= 1_000,
        "{stalled}"
    );
    let behind = app.totals(&campaign).await;
    assert!(
        behind["relay_lag_ms"].as_i64().unwrap() >= 1_000,
        "{behind}"
    );

    let _cron = app.start_cron_relay().await.unwrap();
    let drained = app
        .relay_idle(Duration::from_secs(30), false)
        .await
        .unwrap();
    assert!(
        drained["runs"]["sampled"].as_u64().unwrap() > 0,
        "{drained}"
    );
    let ledger = app.ledger().await.unwrap();
    let now = app.totals(&campaign).await;
    assert_eq!(
        now["raised_minor"], ledger["captured_minor"],
        "{now} vs {ledger}"
    );
    assert_eq!(now["captured_count"], 80);
    let report = app.reconciliation().await.unwrap();
    assert_eq!(report["ok"], true, "{report}");
}

async fn handlers_relay_their_own_events_after_answering_when_configured(backend: Backend) {
    let app = App::start_with(
        backend,
        Config::default(),
        &[("SPIN_VARIABLE_RELAY_AFTER_RESPONSE", "true")],
    )
    .await
    .unwrap();
    let campaign = app.campaign("USD").await;
    let n = pledge_for(&app, &campaign, "fresh", 12).await;
    settle(&app).await;

    // No scheduled relay and no relay route call: only the handlers publish. The last
    // webhook's batch runs after its answer, so the totals are awaited, not read once.
    let expected: u64 = (0..n as u64).map(|i| 1_000 + 100 * i).sum();
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    let totals = loop {
        let totals = app.totals(&campaign).await;
        if totals["raised_minor"] == expected || std::time::Instant::now() > deadline {
            break totals;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert_eq!(totals["raised_minor"], expected, "{totals}");
    assert_eq!(totals["captured_count"], n, "{totals}");
    assert_eq!(totals["relay_lag_ms"], 0, "{totals}");
    let health = app.relay_health().await.unwrap();
    assert_eq!(health["backlog"], 0, "{health}");
    assert_eq!(
        health["runs"]["sampled"], 0,
        "no scheduled run took part: {health}"
    );
    // Handlers publish; sending stays with the scheduled relay and its outbound hosts.
    assert_eq!(health["notifications"]["pending"], n, "{health}");
    assert!(app.inbox("notifications").await.unwrap().is_empty());
    app.relay_idle(Duration::from_secs(30), true).await.unwrap();
    assert_eq!(app.inbox("notifications").await.unwrap().len(), n);
    assert_eq!(app.reconciliation().await.unwrap()["ok"], true);
}
