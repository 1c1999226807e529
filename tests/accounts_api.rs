//! Registered donors over real HTTP on both backends: sign up, the confirmation email
//! through the notification gateway, sign in, a history that holds the pledges made as a
//! guest with the same email (and nobody else's), sign out, an expired session, guessing
//! throttled per account and per client, and no password or token in any log line.

use harness::{both_backends, pledge_body, Answer, App, Backend};
use payment_simulator::Config;
use reqwest::Method;
use serde_json::{json, Value};
use std::time::Duration;

both_backends! {
    account_lifecycle => sign_up_confirm_sign_in_and_out,
    expired_sessions => a_session_ends_when_its_time_is_up,
    brute_force => guessing_is_throttled_per_account_and_per_client,
    pledge_scope => a_signed_in_donors_keys_are_their_own,
}

const PASSWORD: &str = "a long passphrase 42";

async fn post(app: &App, path: &str, body: Value) -> Answer {
    app.call(
        Method::POST,
        path,
        &[("content-type", "application/json")],
        Some(body.to_string().into_bytes()),
    )
    .await
}

async fn sign_in(app: &App, email: &str, password: &str) -> Answer {
    post(
        app,
        "/api/v1/sessions",
        json!({ "email": email, "password": password }),
    )
    .await
}

/// Ends the session of `token`; it answers 204.
async fn sign_out(app: &App, token: &str) {
    let auth = format!("Bearer {token}");
    let out = app
        .call(
            Method::DELETE,
            "/api/v1/sessions/current",
            &[("authorization", &auth)],
            None,
        )
        .await;
    assert_eq!(out.status, 204, "{}", out.raw);
}

/// Signs up `email`, runs the relay and confirms with the token the email carried.
async fn confirmed_account(app: &App, email: &str) -> String {
    let created = post(
        app,
        "/api/v1/accounts",
        json!({ "email": email, "password": PASSWORD }),
    )
    .await;
    assert_eq!(created.status, 201, "{}", created.raw);
    let token = confirmation_token(app, email).await;
    let confirmed = post(
        app,
        "/api/v1/accounts/confirmations",
        json!({ "token": token }),
    )
    .await;
    assert_eq!(confirmed.status, 200, "{}", confirmed.raw);
    token
}

async fn confirmation_token(app: &App, email: &str) -> String {
    app.relay_idle(Duration::from_secs(30), true).await.unwrap();
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    loop {
        let inbox = app.inbox("notifications").await.unwrap();
        let mail = inbox
            .iter()
            .find(|n| n["body"]["kind"] == "account_confirmation" && n["body"]["to"] == email);
        if let Some(mail) = mail {
            let token = mail["body"]["confirmation_token"]
                .as_str()
                .unwrap()
                .to_string();
            assert!(
                mail["body"]["confirm_url"]
                    .as_str()
                    .unwrap()
                    .ends_with(&format!("#confirm={token}")),
                "{mail}"
            );
            return token;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "no confirmation email: {inbox:?}"
        );
        app.relay_idle(Duration::from_secs(10), true).await.unwrap();
    }
}

async fn sign_up_confirm_sign_in_and_out(backend: Backend) {
    let app = App::start(backend, Config::default()).await.unwrap();
    let campaign = app.campaign("USD").await;
    // Two pledges as a guest (the email typed two ways), one by someone else.
    let mut guest_pledges = Vec::new();
    for (key, email) in [("g-1", "Ana@Example.org"), ("g-2", "ana@example.org")] {
        let answer = app
            .pledge(Some(key), &pledge_body(&campaign, 1_500, email))
            .await;
        assert_eq!(answer.status, 201, "{}", answer.raw);
        guest_pledges.push(answer.body["pledge"]["id"].as_str().unwrap().to_string());
    }
    let other = app
        .pledge(Some("o-1"), &pledge_body(&campaign, 900, "bo@example.org"))
        .await;
    let other_pledge = other.body["pledge"]["id"].as_str().unwrap().to_string();

    // Sign up: bad input changes nothing and names every field; one account per email.
    let bad = post(
        &app,
        "/api/v1/accounts",
        json!({ "email": "nope", "password": "short" }),
    )
    .await;
    bad.problem(422, "validation_failed");
    let fields: Vec<&str> = bad.body["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["field"].as_str().unwrap())
        .collect();
    assert_eq!(fields, ["email", "password"]);
    post(
        &app,
        "/api/v1/accounts",
        json!({ "email": "ana@example.org", "password": PASSWORD, "role": "admin" }),
    )
    .await
    .problem(400, "unknown_field");
    let created = post(
        &app,
        "/api/v1/accounts",
        json!({ "email": " ANA@example.org ", "password": PASSWORD }),
    )
    .await;
    assert_eq!(created.status, 201, "{}", created.raw);
    assert_eq!(
        (
            created.body["email"].as_str(),
            created.body["confirmed"].as_bool()
        ),
        (Some("ana@example.org"), Some(false))
    );
    post(
        &app,
        "/api/v1/accounts",
        json!({ "email": "ana@example.org", "password": PASSWORD }),
    )
    .await
    .problem(409, "email_taken");

    // Before confirming: the right password is refused for the unconfirmed email; a wrong
    // password and an unknown email get the same answer.
    sign_in(&app, "ana@example.org", PASSWORD)
        .await
        .problem(403, "email_unconfirmed");
    sign_in(&app, "ana@example.org", "the wrong passphrase")
        .await
        .problem(401, "invalid_credentials");
    sign_in(&app, "nobody@example.org", PASSWORD)
        .await
        .problem(401, "invalid_credentials");

    // The confirmation email's token confirms, and opens nothing else.
    let confirmation = confirmation_token(&app, "ana@example.org").await;
    app.get_as("/api/v1/donors/me/pledges", &confirmation)
        .await
        .problem(401, "invalid_token");
    post(
        &app,
        "/api/v1/accounts/confirmations",
        json!({ "token": "cfa1.forged.token" }),
    )
    .await
    .problem(400, "invalid_token");
    let confirmed = post(
        &app,
        "/api/v1/accounts/confirmations",
        json!({ "token": confirmation }),
    )
    .await;
    assert_eq!(confirmed.status, 200, "{}", confirmed.raw);

    // Signed in: the history holds the guest pledges of that email, and nobody else's.
    let session = sign_in(&app, "ANA@example.org", PASSWORD).await;
    assert_eq!(session.status, 201, "{}", session.raw);
    let token = session.body["token"].as_str().unwrap().to_string();
    let mine = app.get_as("/api/v1/donors/me/pledges", &token).await;
    assert_eq!(mine.status, 200, "{}", mine.raw);
    let mut listed: Vec<String> = mine.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["id"].as_str().unwrap().to_string())
        .collect();
    listed.sort();
    guest_pledges.sort();
    assert_eq!(listed, guest_pledges);
    let own = app
        .get_as(&format!("/api/v1/pledges/{}", guest_pledges[0]), &token)
        .await;
    assert_eq!(own.status, 200, "{}", own.raw);
    app.get_as(&format!("/api/v1/pledges/{other_pledge}"), &token)
        .await
        .problem(404, "pledge_not_found");
    app.call(
        Method::GET,
        &format!("/api/v1/donors/me/pledges?token={token}"),
        &[],
        None,
    )
    .await
    .problem(400, "session_token_in_query");

    // Signing out ends the session at once.
    sign_out(&app, &token).await;
    app.get_as("/api/v1/donors/me/pledges", &token)
        .await
        .problem(401, "session_ended");
    app.call(Method::DELETE, "/api/v1/sessions/current", &[], None)
        .await
        .problem(401, "unauthorized");

    // Nothing secret reached a log line.
    let log = app.host.log();
    for secret in [PASSWORD, token.as_str(), confirmation.as_str()] {
        assert!(!log.contains(secret), "a log line holds `{secret}`");
    }
}

async fn a_session_ends_when_its_time_is_up(backend: Backend) {
    let app = App::start_with(
        backend,
        Config::default(),
        &[("SPIN_VARIABLE_SESSION_TTL_SECS", "2")],
    )
    .await
    .unwrap();
    confirmed_account(&app, "cy@example.org").await;
    let session = sign_in(&app, "cy@example.org", PASSWORD).await;
    assert_eq!(session.status, 201, "{}", session.raw);
    let token = session.body["token"].as_str().unwrap();
    let fresh = app.get_as("/api/v1/donors/me/pledges", token).await;
    assert_eq!(fresh.status, 200, "{}", fresh.raw);
    tokio::time::sleep(Duration::from_millis(3_100)).await;
    app.get_as("/api/v1/donors/me/pledges", token)
        .await
        .problem(401, "token_expired");
}

async fn guessing_is_throttled_per_account_and_per_client(backend: Backend) {
    let app = App::start(backend, Config::default()).await.unwrap();
    confirmed_account(&app, "dee@example.org").await;
    confirmed_account(&app, "eve@example.org").await;
    // Five wrong guesses for one account, then that account is refused even with the
    // right password; another account from the same client still signs in.
    for _ in 0..5 {
        sign_in(&app, "dee@example.org", "a wrong passphrase")
            .await
            .problem(401, "invalid_credentials");
    }
    let locked = sign_in(&app, "dee@example.org", PASSWORD).await;
    locked.problem(429, "too_many_attempts");
    assert!(locked.raw.contains("try again in"), "{}", locked.raw);
    let eve = sign_in(&app, "eve@example.org", PASSWORD).await;
    assert_eq!(eve.status, 201, "{}", eve.raw);
    // One client guessing across many emails: 20 failures in all, then every sign-in
    // from it is refused.
    for i in 0..15 {
        sign_in(&app, &format!("guess{i}@example.org"), "a wrong passphrase")
            .await
            .problem(401, "invalid_credentials");
    }
    sign_in(&app, "eve@example.org", PASSWORD)
        .await
        .problem(429, "too_many_attempts");
}

async fn pledge_as(app: &App, session: Option<&str>, key: &str, body: &Value) -> Answer {
    let auth = session.map(|t| format!("Bearer {t}"));
    let mut headers = vec![
        ("content-type", "application/json"),
        ("idempotency-key", key),
    ];
    if let Some(auth) = &auth {
        headers.push(("authorization", auth.as_str()));
    }
    app.call(
        Method::POST,
        "/api/v1/pledges",
        &headers,
        Some(body.to_string().into_bytes()),
    )
    .await
}

async fn a_signed_in_donors_keys_are_their_own(backend: Backend) {
    let app = App::start(backend, Config::default()).await.unwrap();
    let campaign = app.campaign("USD").await;
    confirmed_account(&app, "fay@example.org").await;
    let session = sign_in(&app, "fay@example.org", PASSWORD).await;
    let token = session.body["token"].as_str().unwrap().to_string();
    let body = pledge_body(&campaign, 2_000, "fay@example.org");

    // The same key as a guest and signed in: two scopes, two pledges; each replays its own.
    let as_guest = pledge_as(&app, None, "k-1", &body).await;
    let signed_in = pledge_as(&app, Some(&token), "k-1", &body).await;
    assert_eq!(
        (as_guest.status, signed_in.status),
        (201, 201),
        "{} {}",
        as_guest.raw,
        signed_in.raw
    );
    assert_ne!(
        as_guest.body["pledge"]["id"],
        signed_in.body["pledge"]["id"]
    );
    let replay = pledge_as(&app, Some(&token), "k-1", &body).await;
    assert_eq!(
        replay.body["pledge"]["id"], signed_in.body["pledge"]["id"],
        "{}",
        replay.raw
    );
    // Signed in, one pledges with the account's email only.
    pledge_as(
        &app,
        Some(&token),
        "k-2",
        &pledge_body(&campaign, 2_000, "someone@example.org"),
    )
    .await
    .problem(422, "donor_email_mismatch");
    // A donor's pledge token or the admin's does not sign a request in: the guest scope.
    let pledge_token = as_guest.body["donor_token"].as_str().unwrap();
    let with_pledge_token = pledge_as(&app, Some(pledge_token), "k-1", &body).await;
    assert_eq!(
        with_pledge_token.body["pledge"]["id"],
        as_guest.body["pledge"]["id"]
    );
    // After signing out, a retry is refused rather than made again as a guest's.
    sign_out(&app, &token).await;
    pledge_as(&app, Some(&token), "k-1", &body)
        .await
        .problem(401, "session_ended");
    let mine = app.admin_get("/api/v1/donors/me/pledges").await;
    let count = mine.body["items"].as_array().unwrap().len();
    assert_eq!(count, 2, "{}", mine.raw);
}
