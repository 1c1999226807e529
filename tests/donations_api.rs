//! Pledges, webhooks, donor history and refunds through the real app on the host over
//! HTTP, against the payment simulator, each on SQLite and on Postgres.

use careforall::domain::donor::Email;
use careforall::domain::donor_token::{issue, TokenSubject};
use careforall::payments::signature::sign;
use futures::future::join_all;
use harness::{both_backends, pledge_body, Answer, App, Backend, ADMIN_TOKEN, DONOR_TOKEN_SECRET};
use payment_simulator::Config;
use reqwest::Method;
use serde_json::{json, Value};
use std::time::Duration;

both_backends! {
    one_key_fifty_concurrent_requests => fifty_concurrent_requests_one_key,
    reused_and_missing_keys => reused_and_missing_keys_write_nothing,
    bad_input_matrix => bad_input_is_refused_precisely_and_writes_nothing,
    bad_signatures => bad_signatures_are_refused_and_write_nothing,
    donor_history => donors_see_their_own_pledges_and_the_feed_hides_anonymous_donors,
    refunds => refunds_partial_then_full_never_more_than_captured,
    pledge_keys_per_donor => two_donors_choosing_the_same_key_never_meet,
    refund_keys_per_pledge => a_refund_key_belongs_to_its_pledge_for_as_long_as_its_refund,
}

fn now_secs() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}

async fn settle(app: &App) {
    app.deliveries_settled(Duration::from_secs(60))
        .await
        .unwrap();
}

/// Retries a 409 (same key still in flight) until the first request's answer arrives.
async fn pledge_until_answered(app: &App, key: &str, body: &Value) -> Answer {
    for _ in 0..200 {
        let answer = app.pledge(Some(key), body).await;
        if answer.status != 409 {
            return answer;
        }
        answer.problem(409, "idempotency_request_in_progress");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("key {key} still in flight after 10 s");
}

async fn fifty_concurrent_requests_one_key(backend: Backend) {
    let app = App::start(backend, Config::default()).await.unwrap();
    let campaign = app.campaign("USD").await;
    let body = pledge_body(&campaign, 2_500, "ada@example.org");
    let answers = join_all((0..50).map(|_| app.pledge(Some("fifty-at-once"), &body))).await;
    let mut originals = Vec::new();
    let mut conflicts = 0;
    for answer in answers {
        match answer.status {
            201 => originals.push(answer.raw),
            409 => {
                answer.problem(409, "idempotency_request_in_progress");
                conflicts += 1;
                let retried = pledge_until_answered(&app, "fifty-at-once", &body).await;
                assert_eq!(retried.status, 201, "{}", retried.raw);
                originals.push(retried.raw);
            }
            other => panic!("unexpected {other}: {}", answer.raw),
        }
    }
    assert_eq!(originals.len(), 50);
    assert!(
        originals.iter().all(|o| *o == originals[0]),
        "every answer is the identical original response"
    );
    let first: Value = serde_json::from_str(&originals[0]).unwrap();
    assert_eq!(first["pledge"]["status"], "PENDING");
    assert!(first["payment"]["provider_payment_id"].is_string());
    assert_eq!(app.all_pledges().await.len(), 1);
    let ledger = app.ledger().await.unwrap();
    assert_eq!(ledger["payments"].as_array().unwrap().len(), 1, "{ledger}");
    println!("{backend:?}: 50 concurrent requests, {conflicts} answered 409 first, one pledge, one payment");
}

async fn reused_and_missing_keys_write_nothing(backend: Backend) {
    let app = App::start(backend, Config::default()).await.unwrap();
    let campaign = app.campaign("USD").await;
    let body = pledge_body(&campaign, 1_000, "ada@example.org");
    let first = app.pledge(Some("k-1"), &body).await;
    assert_eq!(first.status, 201, "{}", first.raw);
    let replay = app.pledge(Some("k-1"), &body).await;
    assert_eq!((replay.status, &replay.raw), (201, &first.raw));

    let other_body = pledge_body(&campaign, 2_000, "ada@example.org");
    app.pledge(Some("k-1"), &other_body)
        .await
        .problem(422, "idempotency_key_reused");
    app.pledge(None, &body)
        .await
        .problem(400, "idempotency_key_missing");
    app.pledge(Some(&"x".repeat(300)), &body)
        .await
        .problem(400, "invalid_idempotency_key");

    assert_eq!(app.all_pledges().await.len(), 1);
    assert_eq!(app.count("SELECT COUNT(*) FROM idempotency_keys").await, 1);
    let ledger = app.ledger().await.unwrap();
    assert_eq!(ledger["payments"].as_array().unwrap().len(), 1);
}

async fn bad_input_is_refused_precisely_and_writes_nothing(backend: Backend) {
    let app = App::start(backend, Config::default()).await.unwrap();
    let campaign = app.campaign("USD").await;
    let closed = app.campaign("USD").await;
    let auth = format!("Bearer {ADMIN_TOKEN}");
    let patched = app
        .call(
            Method::PATCH,
            &format!("/api/v1/campaigns/{closed}"),
            &[
                ("authorization", &auth),
                ("content-type", "application/json"),
            ],
            Some(br#"{"status":"CLOSED"}"#.to_vec()),
        )
        .await;
    assert_eq!(patched.status, 200, "{}", patched.raw);

    let with = |f: &dyn Fn(&mut Value)| {
        let mut body = pledge_body(&campaign, 1_000, "ada@example.org");
        f(&mut body);
        body.to_string().into_bytes()
    };
    let cases: Vec<(&str, Vec<u8>, &str, u16, &str)> = vec![
        (
            "malformed JSON",
            b"{\"campaign_id\":".to_vec(),
            "application/json",
            400,
            "malformed_json",
        ),
        (
            "unknown field",
            with(&|b| b["tip"] = json!(5)),
            "application/json",
            400,
            "unknown_field",
        ),
        (
            "zero amount",
            with(&|b| b["amount_minor"] = json!(0)),
            "application/json",
            422,
            "validation_failed",
        ),
        (
            "negative amount",
            with(&|b| b["amount_minor"] = json!(-500)),
            "application/json",
            422,
            "validation_failed",
        ),
        (
            "overflowing amount",
            with(&|b| b["amount_minor"] = json!(u64::MAX)),
            "application/json",
            422,
            "validation_failed",
        ),
        (
            "float amount",
            with(&|b| b["amount_minor"] = json!(10.5)),
            "application/json",
            422,
            "validation_failed",
        ),
        (
            "unknown currency",
            with(&|b| b["currency"] = json!("ZZZ")),
            "application/json",
            422,
            "validation_failed",
        ),
        (
            "currency mismatch",
            with(&|b| b["currency"] = json!("EUR")),
            "application/json",
            422,
            "currency_mismatch",
        ),
        (
            "bad email",
            with(&|b| b["donor"]["email"] = json!("not-an-email")),
            "application/json",
            422,
            "validation_failed",
        ),
        (
            "unknown campaign",
            with(&|b| b["campaign_id"] = json!("no-such-campaign")),
            "application/json",
            404,
            "campaign_not_found",
        ),
        (
            "closed campaign",
            with(&|b| b["campaign_id"] = json!(closed)),
            "application/json",
            409,
            "campaign_not_accepting_pledges",
        ),
        (
            "oversize body",
            with(&|b| b["donor"]["name"] = json!("x".repeat(70_000))),
            "application/json",
            413,
            "payload_too_large",
        ),
        (
            "wrong content type",
            with(&|_| {}),
            "text/plain",
            415,
            "unsupported_media_type",
        ),
    ];
    for (i, (what, body, content_type, status, code)) in cases.into_iter().enumerate() {
        let key = format!("bad-{i}");
        let answer = app
            .call(
                Method::POST,
                "/api/v1/pledges",
                &[("content-type", content_type), ("idempotency-key", &key)],
                Some(body),
            )
            .await;
        assert_eq!(answer.status, status, "{what}: {}", answer.raw);
        answer.problem(status, code);
    }
    for table in ["pledges", "pledge_events", "idempotency_keys", "outbox"] {
        assert_eq!(
            app.count(&format!("SELECT COUNT(*) FROM {table}")).await,
            0,
            "{table} after refused requests"
        );
    }
    let ledger = app.ledger().await.unwrap();
    assert!(ledger["payments"].as_array().unwrap().is_empty());
}

async fn bad_signatures_are_refused_and_write_nothing(backend: Backend) {
    let app = App::start(backend, Config::default()).await.unwrap();
    let campaign = app.campaign("USD").await;
    let created = app
        .pledge(
            Some("sig"),
            &pledge_body(&campaign, 5_000, "ada@example.org"),
        )
        .await;
    assert_eq!(created.status, 201, "{}", created.raw);
    settle(&app).await;
    let payment = created.body["payment"]["provider_payment_id"]
        .as_str()
        .unwrap();
    let event = json!({
        "id": "evt_forged", "type": "payment_intent.payment_failed",
        "data": { "object": { "id": payment, "metadata": { "pledge_id": created.body["pledge"]["id"] } } }
    })
    .to_string();
    let tampered = event.replace("payment_failed", "canceled");
    let secret: &[u8] = harness::WEBHOOK_SECRET.as_bytes();
    let now = now_secs();
    let before = app.count("SELECT COUNT(*) FROM pledge_events").await;
    let cases: Vec<(&str, Option<String>, &str, u16, &str)> = vec![
        ("missing", None, &event, 400, "invalid_signature_header"),
        (
            "malformed",
            Some("t=abc,v1=zz".into()),
            &event,
            400,
            "invalid_signature_header",
        ),
        (
            "wrong secret",
            Some(sign(&[b"whsec_wrong"], now, event.as_bytes())),
            &event,
            401,
            "invalid_signature",
        ),
        (
            "expired",
            Some(sign(&[secret], now - 301, event.as_bytes())),
            &event,
            401,
            "invalid_signature",
        ),
        (
            "tampered body",
            Some(sign(&[secret], now, event.as_bytes())),
            &tampered,
            401,
            "invalid_signature",
        ),
    ];
    for (what, signature, body, status, code) in cases {
        let mut headers = vec![("content-type", "application/json")];
        if let Some(s) = &signature {
            headers.push(("stripe-signature", s));
        }
        let answer = app
            .call(
                Method::POST,
                "/api/v1/payments/webhook",
                &headers,
                Some(body.as_bytes().to_vec()),
            )
            .await;
        assert_eq!(answer.status, status, "{what}: {}", answer.raw);
        answer.problem(status, code);
    }
    assert_eq!(
        app.count("SELECT COUNT(*) FROM pledge_events").await,
        before
    );
    assert_eq!(
        app.count("SELECT COUNT(*) FROM processed_provider_events WHERE event_id = 'evt_forged'")
            .await,
        0
    );
    let pledge = app
        .admin_get(&format!(
            "/api/v1/pledges/{}",
            created.body["pledge"]["id"].as_str().unwrap()
        ))
        .await;
    assert_eq!(
        pledge.body["pledge"]["status"], "CAPTURED",
        "{}",
        pledge.raw
    );
}

async fn donors_see_their_own_pledges_and_the_feed_hides_anonymous_donors(backend: Backend) {
    let app = App::start(backend, Config::default()).await.unwrap();
    let campaign = app.campaign("USD").await;
    let alice_1 = app
        .pledge(
            Some("a1"),
            &pledge_body(&campaign, 1_000, "alice@example.org"),
        )
        .await;
    let alice_2 = app
        .pledge(
            Some("a2"),
            &pledge_body(&campaign, 2_000, "alice@example.org"),
        )
        .await;
    let mut bob_body = pledge_body(&campaign, 3_000, "bob@example.org");
    bob_body["donor"] =
        json!({ "email": "bob@example.org", "name": "Bob Secret", "anonymous": true });
    let bob = app.pledge(Some("b1"), &bob_body).await;
    for a in [&alice_1, &alice_2, &bob] {
        assert_eq!(a.status, 201, "{}", a.raw);
    }
    settle(&app).await;
    let id = |a: &Answer| a.body["pledge"]["id"].as_str().unwrap().to_string();
    let token = |a: &Answer| a.body["donor_token"].as_str().unwrap().to_string();
    let get = |path: String, token: String| {
        let app = &app;
        async move { app.get_as(&path, &token).await }
    };

    // The pledge's own token: that pledge and its history, nobody else's.
    let own = get(format!("/api/v1/pledges/{}", id(&alice_1)), token(&alice_1)).await;
    assert_eq!(own.status, 200, "{}", own.raw);
    assert_eq!(own.body["pledge"]["status"], "CAPTURED");
    let kinds: Vec<&str> = own.body["history"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| h["kind"].as_str().unwrap())
        .collect();
    assert_eq!(kinds[0], "created", "{kinds:?}");
    get(format!("/api/v1/pledges/{}", id(&bob)), token(&alice_1))
        .await
        .problem(404, "pledge_not_found");
    let mine = get("/api/v1/donors/me/pledges".into(), token(&alice_1)).await;
    let ids: Vec<&str> = mine.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, vec![id(&alice_1).as_str()]);
    let by_link = app
        .call(
            Method::GET,
            &format!("/api/v1/pledges/{}?token={}", id(&alice_1), token(&alice_1)),
            &[],
            None,
        )
        .await;
    assert_eq!(by_link.status, 200, "{}", by_link.raw);

    // The receipt's email token: every pledge of that email, newest first.
    let email = issue(
        DONOR_TOKEN_SECRET.as_bytes(),
        &TokenSubject::Email(Email::parse("alice@example.org").unwrap()),
        now_secs() + 600,
    );
    let all_mine = get("/api/v1/donors/me/pledges".into(), email.clone()).await;
    let ids: Vec<&str> = all_mine.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, vec![id(&alice_2).as_str(), id(&alice_1).as_str()]);
    let paged = get("/api/v1/donors/me/pledges?limit=1".into(), email.clone()).await;
    let cursor = paged.body["next_cursor"].as_str().unwrap();
    let second = get(
        format!("/api/v1/donors/me/pledges?limit=1&cursor={cursor}"),
        email,
    )
    .await;
    assert_eq!(second.body["items"][0]["id"], id(&alice_1).as_str());
    assert!(second.body["next_cursor"].is_null());

    // Forged, expired, garbage, none.
    let forged = issue(
        b"not-the-secret",
        &TokenSubject::Pledge(id(&bob)),
        now_secs() + 600,
    );
    get(format!("/api/v1/pledges/{}", id(&bob)), forged)
        .await
        .problem(401, "invalid_token");
    let expired = issue(
        DONOR_TOKEN_SECRET.as_bytes(),
        &TokenSubject::Pledge(id(&bob)),
        now_secs() - 1,
    );
    get(format!("/api/v1/pledges/{}", id(&bob)), expired)
        .await
        .problem(401, "token_expired");
    get("/api/v1/donors/me/pledges".into(), "garbage".into())
        .await
        .problem(401, "invalid_token");
    app.call(Method::GET, "/api/v1/donors/me/pledges", &[], None)
        .await
        .problem(401, "unauthorized");

    // The admin sees everything.
    assert_eq!(app.all_pledges().await.len(), 3);
    let bob_by_admin = app
        .admin_get(&format!("/api/v1/pledges/{}", id(&bob)))
        .await;
    assert_eq!(
        bob_by_admin.body["pledge"]["donor_email"],
        "bob@example.org"
    );

    // The public feed: amounts and names, never an email, never an anonymous name.
    let feed = app
        .call(
            Method::GET,
            &format!("/api/v1/campaigns/{campaign}/donations"),
            &[],
            None,
        )
        .await;
    assert_eq!(feed.status, 200, "{}", feed.raw);
    let items = feed.body["items"].as_array().unwrap();
    assert_eq!(items.len(), 3);
    assert_eq!(items[0]["anonymous"], true);
    assert!(items[0]["donor_name"].is_null());
    assert_eq!(items[1]["donor_name"], "Ada Donor");
    assert!(
        !feed.raw.contains("Bob Secret") && !feed.raw.contains('@'),
        "{}",
        feed.raw
    );
    app.call(Method::GET, "/api/v1/campaigns/nope/donations", &[], None)
        .await
        .problem(404, "campaign_not_found");
}

async fn refunds_partial_then_full_never_more_than_captured(backend: Backend) {
    let app = App::start(backend, Config::default()).await.unwrap();
    let campaign = app.campaign("USD").await;
    let created = app
        .pledge(
            Some("r"),
            &pledge_body(&campaign, 10_000, "ada@example.org"),
        )
        .await;
    assert_eq!(created.status, 201, "{}", created.raw);
    settle(&app).await;
    let pledge = created.body["pledge"]["id"].as_str().unwrap().to_string();
    let payment = created.body["payment"]["provider_payment_id"]
        .as_str()
        .unwrap()
        .to_string();
    let path = format!("/api/v1/pledges/{pledge}/refund");
    let auth = format!("Bearer {ADMIN_TOKEN}");
    let refund = |key: &'static str, body: Value| {
        let (path, auth) = (path.clone(), auth.clone());
        let app = &app;
        async move {
            app.call(
                Method::POST,
                &path,
                &[
                    ("authorization", &auth),
                    ("content-type", "application/json"),
                    ("idempotency-key", key),
                ],
                Some(body.to_string().into_bytes()),
            )
            .await
        }
    };
    let refunded_at_provider = || async {
        let ledger = app.ledger().await.unwrap();
        ledger["payments"]
            .as_array()
            .unwrap()
            .iter()
            .find(|p| p["id"] == payment.as_str())
            .unwrap()["amount_refunded"]
            .as_u64()
            .unwrap()
    };

    let no_auth = app
        .call(
            Method::POST,
            &path,
            &[
                ("content-type", "application/json"),
                ("idempotency-key", "x"),
            ],
            Some(b"{}".to_vec()),
        )
        .await;
    no_auth.problem(401, "unauthorized");
    let no_key = app
        .call(
            Method::POST,
            &path,
            &[
                ("authorization", &auth),
                ("content-type", "application/json"),
            ],
            Some(b"{}".to_vec()),
        )
        .await;
    no_key.problem(400, "idempotency_key_missing");

    let partial = refund(
        "r1",
        json!({ "amount_minor": 3_000, "reason": "donor asked" }),
    )
    .await;
    assert_eq!(partial.status, 201, "{}", partial.raw);
    assert_eq!(partial.body["pledge"]["status"], "PARTIALLY_REFUNDED");
    assert_eq!(partial.body["pledge"]["refunded_minor"], 3_000);
    let again = join_all((0..8).map(|_| {
        refund(
            "r1",
            json!({ "amount_minor": 3_000, "reason": "donor asked" }),
        )
    }))
    .await;
    for a in again {
        assert!(
            a.status == 201 && a.raw == partial.raw || a.status == 409,
            "{}",
            a.raw
        );
    }
    assert_eq!(
        refunded_at_provider().await,
        3_000,
        "a repeated request refunds once"
    );

    refund("r2", json!({ "amount_minor": 8_000 }))
        .await
        .problem(422, "refund_exceeds_captured");
    refund("r3", json!({ "amount_minor": 0 }))
        .await
        .problem(422, "validation_failed");
    let full = refund("r4", json!({})).await;
    assert_eq!(full.status, 201, "{}", full.raw);
    assert_eq!(full.body["refund"]["amount_minor"], 7_000);
    assert_eq!(full.body["pledge"]["status"], "REFUNDED");
    assert_eq!(full.body["pledge"]["refunded_minor"], 10_000);
    refund("r5", json!({}))
        .await
        .problem(409, "pledge_not_refundable");
    assert_eq!(refunded_at_provider().await, 10_000);

    // The provider's own charge.refunded webhooks arrive after and change nothing.
    settle(&app).await;
    let detail = app.admin_get(&format!("/api/v1/pledges/{pledge}")).await;
    assert_eq!(detail.body["pledge"]["status"], "REFUNDED");
    assert_eq!(detail.body["pledge"]["refunded_minor"], 10_000);
    assert_eq!(detail.body["refunds"].as_array().unwrap().len(), 2);
    let refund_events = app
        .count(&format!(
            "SELECT COUNT(*) FROM outbox WHERE aggregate_id = '{pledge}' AND payload LIKE '%\"to\":\"%REFUNDED\"%'"
        ))
        .await;
    assert_eq!(refund_events, 2, "one outbox event per refund state change");
    let (events, changes) = (
        app.count(&format!("SELECT COUNT(*) FROM outbox WHERE aggregate_id = '{pledge}'")).await,
        app.count(&format!("SELECT COUNT(*) FROM pledge_events WHERE pledge_id = '{pledge}' AND outcome = 'applied'")).await,
    );
    assert_eq!(events, changes, "one outbox event per applied change");
}

/// Pledge keys are scoped per donor (DESIGN.md §3): two guests who both send
/// `Idempotency-Key: 1` each get their own pledge, and a replay answers only its donor.
async fn two_donors_choosing_the_same_key_never_meet(backend: Backend) {
    let app = App::start(backend, Config::default()).await.unwrap();
    let campaign = app.campaign("USD").await;
    let ada = app
        .pledge(Some("1"), &pledge_body(&campaign, 1_000, "ada@example.org"))
        .await;
    let bob = app
        .pledge(Some("1"), &pledge_body(&campaign, 2_000, "bob@example.org"))
        .await;
    assert_eq!(
        (ada.status, bob.status),
        (201, 201),
        "{} {}",
        ada.raw,
        bob.raw
    );
    assert_ne!(ada.body["pledge"]["id"], bob.body["pledge"]["id"]);
    assert_ne!(ada.body["donor_token"], bob.body["donor_token"]);
    // Ada's retry is answered with her own pledge, Bob's with his.
    let again = app
        .pledge(Some("1"), &pledge_body(&campaign, 1_000, "ada@example.org"))
        .await;
    assert_eq!(again.status, 201, "{}", again.raw);
    assert_eq!(again.body["pledge"]["id"], ada.body["pledge"]["id"]);
    assert_eq!(again.body["payment"], ada.body["payment"]);
    let bob_again = app
        .pledge(Some("1"), &pledge_body(&campaign, 2_000, "bob@example.org"))
        .await;
    assert_eq!(bob_again.body["pledge"]["id"], bob.body["pledge"]["id"]);
    assert_eq!(app.count("SELECT COUNT(*) FROM pledges").await, 2);
    settle(&app).await;
}

/// A refund key names a refund of its own pledge only: reused on another pledge it makes
/// that pledge's refund, and after its key record has expired the refund row still
/// answers for it (the same refund for the same request, 422 for another).
async fn a_refund_key_belongs_to_its_pledge_for_as_long_as_its_refund(backend: Backend) {
    let app = App::start(backend, Config::default()).await.unwrap();
    let campaign = app.campaign("USD").await;
    let mut pledges = Vec::new();
    for (key, email) in [("a", "ada@example.org"), ("b", "bob@example.org")] {
        let created = app
            .pledge(Some(key), &pledge_body(&campaign, 5_000, email))
            .await;
        assert_eq!(created.status, 201, "{}", created.raw);
        pledges.push(created.body["pledge"]["id"].as_str().unwrap().to_string());
    }
    settle(&app).await;
    let first = app
        .refund(&pledges[0], "refund-1", &json!({ "amount_minor": 1_000 }))
        .await;
    assert_eq!(first.status, 201, "{}", first.raw);
    // Every key record expires (24 h later); the refund rows stay.
    app.query("UPDATE idempotency_keys SET expires_at_ms = 0")
        .await
        .unwrap();
    let other = app
        .refund(&pledges[1], "refund-1", &json!({ "amount_minor": 700 }))
        .await;
    assert_eq!(other.status, 201, "{}", other.raw);
    assert_eq!(other.body["refund"]["pledge_id"], pledges[1].as_str());
    assert_eq!(other.body["refund"]["amount_minor"], 700);
    assert_eq!(other.body["pledge"]["refunded_minor"], 700);

    let replay = app
        .refund(&pledges[0], "refund-1", &json!({ "amount_minor": 1_000 }))
        .await;
    assert_eq!(replay.status, 201, "{}", replay.raw);
    assert_eq!(replay.body["refund"]["id"], first.body["refund"]["id"]);
    let changed = app
        .refund(&pledges[0], "refund-1", &json!({ "amount_minor": 2_000 }))
        .await;
    changed.problem(422, "idempotency_key_reused");
    assert_eq!(app.count("SELECT COUNT(*) FROM refunds").await, 2);
    let ledger = app.ledger().await.unwrap();
    let refunded: Vec<u64> = ledger["payments"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["amount_refunded"].as_u64().unwrap())
        .collect();
    let mut refunded = refunded;
    refunded.sort();
    assert_eq!(refunded, vec![700, 1_000]);
    settle(&app).await;
    app.relay_idle(Duration::from_secs(30), true).await.unwrap();
    let report = app.reconciliation().await.unwrap();
    assert_eq!(report["ok"], true, "{report}");
}
