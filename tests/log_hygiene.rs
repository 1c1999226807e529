//! What the logs must never hold: after a donation day in miniature (pledges with donor
//! emails, donor tokens in headers and in link query strings, signed webhooks, a
//! declined card, refunds, a forged signature, a wrong admin token, the relay through
//! its secret route and on its cron schedule, reconciliation), no line of any kind the
//! app's processes wrote (the host's JSON request lines, its warnings and errors, the
//! components' own output, the cron relay's) contains a secret, a token or an email.

use harness::{
    both_backends, pledge_body, App, Backend, ADMIN_TOKEN, DONOR_TOKEN_SECRET, FEED_SIGNING_SECRET,
    PROVIDER_API_KEY, RELAY_SECRET, WEBHOOK_SECRET,
};
use payment_simulator::Config;
use reqwest::Method;
use serde_json::{json, Value};
use std::time::Duration;

both_backends! {
    no_secret_in_any_line => no_log_line_holds_a_secret_a_token_or_an_email,
}

async fn no_log_line_holds_a_secret_a_token_or_an_email(backend: Backend) {
    let app = App::start(backend, Config::default()).await.unwrap();
    let cron = app.start_cron_relay().await.unwrap();
    let campaign = app.campaign_with_goal("USD", 10_000).await;
    let admin = format!("Bearer {ADMIN_TOKEN}");
    let mut donor_tokens = Vec::new();
    let mut client_secrets = Vec::new();
    let mut emails = Vec::new();
    // Captured, declined (…13), captured then refunded.
    for (i, amount) in [2_500u64, 1_013, 4_000].into_iter().enumerate() {
        let email = format!("private.donor{i}@example.org");
        let answer = app
            .pledge(
                Some(&format!("key-{i}")),
                &pledge_body(&campaign, amount, &email),
            )
            .await;
        assert_eq!(answer.status, 201, "{}", answer.raw);
        donor_tokens.push(answer.body["donor_token"].as_str().unwrap().to_string());
        if let Some(secret) = answer.body["payment"]["client_secret"].as_str() {
            client_secrets.push(secret.to_string());
        }
        emails.push(email);
    }
    app.deliveries_settled(Duration::from_secs(60))
        .await
        .unwrap();
    app.relay_idle(Duration::from_secs(30), true).await.unwrap();

    let token = donor_tokens[0].clone();
    let bearer = format!("Bearer {token}");
    let mine = app
        .call(
            Method::GET,
            "/api/v1/donors/me/pledges",
            &[("authorization", &bearer)],
            None,
        )
        .await;
    assert_eq!(mine.status, 200, "{}", mine.raw);
    let pledge_id = mine.body["items"][0]["id"].as_str().unwrap().to_string();
    // The receipt's link form: the token in the query string.
    let link = app
        .call(
            Method::GET,
            &format!("/api/v1/pledges/{pledge_id}?token={token}"),
            &[],
            None,
        )
        .await;
    assert_eq!(link.status, 200, "{}", link.raw);
    let refund = app
        .refund(&pledge_id, "r-1", &json!({ "amount_minor": 2_500 }))
        .await;
    assert!(matches!(refund.status, 201 | 202), "{}", refund.raw);
    // Refused callers: a forged webhook, a wrong admin token, a donor token of another.
    let forged = app
        .call(
            Method::POST,
            "/api/v1/payments/webhook",
            &[
                (
                    "stripe-signature",
                    "t=1,v1=0000000000000000000000000000000000000000000000000000000000000000",
                ),
                ("content-type", "application/json"),
            ],
            Some(
                json!({ "id": "evt_forged", "type": "payment_intent.succeeded" })
                    .to_string()
                    .into_bytes(),
            ),
        )
        .await;
    assert_eq!(forged.status, 401, "{}", forged.raw);
    let wrong = app
        .call(
            Method::GET,
            "/api/v1/admin/relay",
            &[("authorization", "Bearer not-the-token")],
            None,
        )
        .await;
    assert!(matches!(wrong.status, 401 | 403), "{}", wrong.raw);
    let stranger = format!("Bearer {}", donor_tokens[1]);
    app.call(
        Method::GET,
        &format!("/api/v1/pledges/{pledge_id}"),
        &[("authorization", &stranger)],
        None,
    )
    .await;
    let reconciliation = app
        .call(
            Method::GET,
            "/api/v1/admin/reconciliation",
            &[("authorization", &admin)],
            None,
        )
        .await;
    assert_eq!(reconciliation.status, 200, "{}", reconciliation.raw);
    app.relay_once().await.unwrap();
    app.deliveries_settled(Duration::from_secs(60))
        .await
        .unwrap();
    app.relay_idle(Duration::from_secs(30), true).await.unwrap();
    tokio::time::sleep(Duration::from_millis(1_500)).await; // a cron run or two

    let logs = [("app", app.host.log()), ("cron relay", cron.log())];
    let mut secrets: Vec<(&str, String)> = vec![
        ("admin token", ADMIN_TOKEN.into()),
        ("relay secret", RELAY_SECRET.into()),
        ("webhook secret", WEBHOOK_SECRET.into()),
        ("provider API key", PROVIDER_API_KEY.into()),
        ("donor token secret", DONOR_TOKEN_SECRET.into()),
        ("feed signing secret", FEED_SIGNING_SECRET.into()),
    ];
    secrets.extend(donor_tokens.iter().map(|t| ("donor token", t.clone())));
    secrets.extend(
        client_secrets
            .iter()
            .map(|t| ("payment client secret", t.clone())),
    );
    secrets.extend(emails.iter().map(|e| ("donor email", e.clone())));
    let mut kinds = std::collections::BTreeSet::new();
    for (process, log) in &logs {
        for line in log.lines() {
            kinds.insert(match serde_json::from_str::<Value>(line) {
                Ok(json) => format!("{process}: {}", json["msg"].as_str().unwrap_or("json")),
                Err(_) => format!("{process}: text"),
            });
            for (what, secret) in &secrets {
                assert!(
                    !line.contains(secret.as_str()),
                    "{process} logged a {what}: {line}"
                );
            }
            assert!(
                !line.contains("@example.org"),
                "{process} logged an email: {line}"
            );
        }
    }
    // The lines looked at include the host's request lines and the relay's run lines.
    assert!(kinds.contains("app: request"), "{kinds:?}");
    assert!(
        kinds.iter().any(|k| k.starts_with("cron relay:")),
        "{kinds:?}"
    );
    assert!(
        kinds.iter().any(|k| k.ends_with(": relay run")),
        "{kinds:?}"
    );
    eprintln!("log line kinds checked: {kinds:?}");
}
