//! `GET /metrics` through the real app on both backends: the business figures a
//! Prometheus scrape reads equal the books once the relay is idle, in the OpenMetrics
//! text format, and bad requests are refused; every metric the alert rules and the
//! dashboard query exists in a scrape of the app and its host.

use harness::{both_backends, pledge_body, repo_root, App, Backend, ADMIN_TOKEN};
use payment_simulator::Config;
use reqwest::Method;
use serde_json::json;
use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

both_backends! {
    figures_follow_the_books => the_figures_equal_the_books_once_the_relay_is_idle,
}

/// `name{labels} value` lines of an OpenMetrics text, by `name{labels}`.
fn samples(text: &str) -> BTreeMap<String, f64> {
    text.lines()
        .filter(|l| !l.starts_with('#') && !l.is_empty())
        .map(|l| {
            let (series, value) = l.rsplit_once(' ').unwrap_or_else(|| panic!("bad line {l}"));
            (
                series.to_string(),
                value.parse().unwrap_or_else(|_| panic!("bad value in {l}")),
            )
        })
        .collect()
}

/// The metric names a scrape shows: every `# TYPE` family and every sample's name.
fn names(text: &str) -> BTreeSet<String> {
    text.lines()
        .filter_map(|l| match l.strip_prefix("# TYPE ") {
            Some(typed) => typed.split(' ').next(),
            None if !l.starts_with('#') => l.split(['{', ' ']).next(),
            None => None,
        })
        .filter(|n| !n.is_empty())
        .map(str::to_string)
        .collect()
}

/// The app's and host's metric names the alert rules and the dashboard query.
fn queried_names() -> BTreeSet<String> {
    let mut text = String::new();
    for file in [
        "deploy/prometheus/alerts.yml",
        "deploy/grafana/careforall-dashboard.json",
    ] {
        text.push_str(&std::fs::read_to_string(repo_root().join(file)).unwrap());
    }
    let mut found = BTreeSet::new();
    for prefix in ["careforall_", "spin_host_"] {
        let mut rest = text.as_str();
        while let Some(at) = rest.find(prefix) {
            let name: String = rest[at..]
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                .collect();
            rest = &rest[at + name.len()..];
            // `careforall_*` in a comment names the family, not a metric.
            if !name.ends_with('_') {
                found.insert(name);
            }
        }
    }
    found
}

async fn the_figures_equal_the_books_once_the_relay_is_idle(backend: Backend) {
    let app = App::start(backend, Config::default()).await.unwrap();
    let campaign = app.campaign_with_goal("USD", 50_000).await;
    let eur = app.campaign_with_goal("EUR", 50_000).await;
    // Captured 4_000 and 2_500 (USD) and 700 (EUR), one declined (…13), one held for
    // manual capture (…77).
    let pledges = [
        (&campaign, 4_000u64),
        (&campaign, 2_500),
        (&campaign, 1_013),
        (&campaign, 1_077),
        (&eur, 700),
    ];
    let mut ids = Vec::new();
    for (i, (campaign, amount)) in pledges.iter().enumerate() {
        let mut body = pledge_body(campaign, *amount, &format!("d{i}@example.org"));
        if *campaign == &eur {
            body["currency"] = json!("EUR");
        }
        let answer = app.pledge(Some(&format!("k{i}")), &body).await;
        assert_eq!(answer.status, 201, "{}", answer.raw);
        ids.push(answer.body["pledge"]["id"].as_str().unwrap().to_string());
    }
    app.deliveries_settled(Duration::from_secs(60))
        .await
        .unwrap();
    app.relay_idle(Duration::from_secs(30), true).await.unwrap();
    // A donor's retry is replayed; the same key for another amount is a conflict.
    let replay = app
        .pledge(Some("k1"), &pledge_body(&campaign, 2_500, "d1@example.org"))
        .await;
    assert_eq!(replay.status, 201, "{}", replay.raw);
    app.pledge(Some("k1"), &pledge_body(&campaign, 2_600, "d1@example.org"))
        .await
        .problem(422, "idempotency_key_reused");
    let refund = app
        .refund(&ids[0], "r1", &json!({ "amount_minor": 1_500 }))
        .await;
    assert_eq!(refund.status, 201, "{}", refund.raw);
    app.deliveries_settled(Duration::from_secs(60))
        .await
        .unwrap();
    app.relay_idle(Duration::from_secs(30), true).await.unwrap();
    // The relay's deliveries (receipts) have been sent.
    for _ in 0..100 {
        let page = app.call(Method::GET, "/metrics", &[], None).await;
        if samples(&page.raw)["careforall_notifications{state=\"pending\"}"] == 0.0 {
            break;
        }
        app.relay_idle(Duration::from_secs(30), true).await.unwrap();
        tokio::time::sleep(Duration::from_millis(100)).await;
    }

    let never = samples(&app.call(Method::GET, "/metrics", &[], None).await.raw);
    assert_eq!(
        never["careforall_reconciliation_last_run_timestamp_seconds"],
        0.0
    );
    // Drift made on purpose (a campaign's raised total moved behind the relay's back)
    // shows until a clean reconciliation runs again.
    let auth = format!("Bearer {ADMIN_TOKEN}");
    let headers = [("authorization", auth.as_str())];
    let reconcile = || app.call(Method::GET, "/api/v1/admin/reconciliation", &headers, None);
    let nudge = |by: &str| {
        format!("UPDATE campaign_totals SET captured_minor = captured_minor {by} WHERE campaign_id = '{eur}'")
    };
    app.query(&nudge("+ 1")).await.unwrap();
    let drifted = reconcile().await;
    assert_eq!(
        (drifted.status, &drifted.body["ok"]),
        (200, &json!(false)),
        "{}",
        drifted.raw
    );
    let shown = samples(&app.call(Method::GET, "/metrics", &[], None).await.raw);
    assert!(shown["careforall_reconciliation_drift"] >= 1.0, "{shown:?}");
    app.query(&nudge("- 1")).await.unwrap();
    let clean = reconcile().await;
    assert_eq!(
        (clean.status, &clean.body["ok"]),
        (200, &json!(true)),
        "{}",
        clean.raw
    );

    let page = app.call(Method::GET, "/metrics", &[], None).await;
    assert_eq!(page.status, 200, "{}", page.raw);
    assert!(
        page.content_type
            .starts_with("application/openmetrics-text"),
        "{}",
        page.content_type
    );
    assert!(page.raw.ends_with("# EOF\n"));
    let m = samples(&page.raw);
    let expected = [
        ("careforall_pledges{status=\"PARTIALLY_REFUNDED\"}", 1.0),
        ("careforall_pledges{status=\"CAPTURED\"}", 2.0),
        ("careforall_pledges{status=\"PAYMENT_FAILED\"}", 1.0),
        ("careforall_pledges{status=\"AUTHORIZED\"}", 1.0),
        ("careforall_pledges{status=\"PENDING\"}", 0.0),
        ("careforall_captured_minor{currency=\"USD\"}", 6_500.0),
        ("careforall_refunded_minor{currency=\"USD\"}", 1_500.0),
        ("careforall_raised_minor{currency=\"USD\"}", 5_000.0),
        ("careforall_pledged_minor{currency=\"USD\"}", 8_590.0),
        ("careforall_captured_pledges{currency=\"USD\"}", 2.0),
        ("careforall_captured_minor{currency=\"EUR\"}", 700.0),
        ("careforall_raised_minor{currency=\"EUR\"}", 700.0),
        ("careforall_relay_backlog_events", 0.0),
        ("careforall_relay_lag_seconds", 0.0),
        ("careforall_relay_dead_letters", 0.0),
        // Three receipts (one per captured pledge); an admin alert may add more.
        ("careforall_notifications{state=\"pending\"}", 0.0),
        ("careforall_notifications{state=\"failed\"}", 0.0),
        ("careforall_idempotent_answers{answer=\"replay\"}", 1.0),
        ("careforall_idempotent_answers{answer=\"conflict\"}", 1.0),
        ("careforall_idempotent_answers{answer=\"in_progress\"}", 0.0),
        ("careforall_webhook_deliveries{outcome=\"invalid\"}", 0.0),
        ("careforall_reconciliation_drift", 0.0),
    ];
    for (series, value) in expected {
        assert_eq!(m.get(series), Some(&value), "{series} in\n{}", page.raw);
    }
    assert!(
        m["careforall_notifications{state=\"sent\"}"] >= 3.0,
        "{}",
        page.raw
    );
    // Every webhook the simulator delivered is counted once, by its outcome.
    let webhooks: f64 = m
        .iter()
        .filter(|(k, _)| k.starts_with("careforall_webhook_deliveries{"))
        .map(|(_, v)| v)
        .sum();
    let delivered = app.sim_get("/_sim/deliveries").await.unwrap();
    assert!(
        m["careforall_webhook_deliveries{outcome=\"applied\"}"] >= 5.0,
        "{}",
        page.raw
    );
    assert_eq!(
        webhooks,
        delivered["delivered"].as_f64().unwrap(),
        "{delivered} vs\n{}",
        page.raw
    );
    assert!(
        m["careforall_relay_last_run_timestamp_seconds"] > 1.0e9,
        "{}",
        page.raw
    );

    app.call(Method::GET, "/metrics?debug=1", &[], None)
        .await
        .problem(400, "invalid_query");
    let post = app.call(Method::POST, "/metrics", &[], None).await;
    assert_eq!(post.status, 405, "{}", post.raw);

    let host = app
        .call(Method::GET, "/.well-known/spin-host/metrics", &[], None)
        .await;
    assert_eq!(host.status, 200, "{}", host.raw);
    let scraped: BTreeSet<String> = names(&page.raw).union(&names(&host.raw)).cloned().collect();
    let queried = queried_names();
    assert!(queried.len() >= 10, "{queried:?}");
    let missing: Vec<_> = queried.iter().filter(|n| !scraped.contains(*n)).collect();
    assert!(
        missing.is_empty(),
        "queried but not in a scrape: {missing:?}\nscraped: {scraped:?}"
    );
}
