//! Who may do what, over every route of `openapi.yaml`: anonymous, donor A (her pledge's
//! token), donor B (his) and the admin, through the real app on SQLite (signed-in
//! accounts have their own test, `accounts_api.rs`). Each route's
//! expectation is one of a few policies; a route the spec lists and the matrix does not
//! cover fails the test, so a new route has to say who may call it.

use harness::{pledge_body, Answer, App, Backend, ADMIN_TOKEN};
use payment_simulator::Config;
use reqwest::Method;
use serde_json::json;
use std::collections::BTreeSet;
use std::time::Duration;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Caller {
    Anonymous,
    DonorA,
    DonorB,
    Admin,
}

const CALLERS: [Caller; 4] = [
    Caller::Anonymous,
    Caller::DonorA,
    Caller::DonorB,
    Caller::Admin,
];

/// What a route lets each caller do.
#[derive(Debug, Clone, Copy)]
enum Policy {
    /// Anyone: never 401 or 403.
    Public,
    /// The admin only: 401 without a token, 403 with a donor's.
    Admin,
    /// Donor A's pledge: A and the admin read it, B gets 404 (no hint it exists).
    DonorAOwns,
    /// Authenticated by the provider's signature, never by a bearer token.
    ProviderSigned,
    /// The relay's own secret: every bearer token here, the admin's included, is refused.
    RelaySecret,
    /// Credentials in the body, never a bearer token: every caller gets the same answer
    /// (here, wrong credentials).
    Credentials,
    /// A signed-in donor's session token only: none is 401 `unauthorized`, and a donor's
    /// or the admin's token is not one (401 `invalid_token`).
    SessionOnly,
}

struct Call {
    method: Method,
    /// The spec's path template, to check coverage.
    template: &'static str,
    path: String,
    body: Option<serde_json::Value>,
    policy: Policy,
}

fn is_denied(answer: &Answer) -> bool {
    matches!(answer.status, 401 | 403)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn every_route_lets_in_exactly_its_callers() {
    let app = App::start(Backend::Sqlite, Config::default())
        .await
        .unwrap();
    let campaign = app.campaign("USD").await;
    let ada = app
        .pledge(Some("a"), &pledge_body(&campaign, 5_000, "ada@example.org"))
        .await;
    let bob = app
        .pledge(Some("b"), &pledge_body(&campaign, 7_000, "bob@example.org"))
        .await;
    assert_eq!((ada.status, bob.status), (201, 201));
    app.deliveries_settled(Duration::from_secs(60))
        .await
        .unwrap();
    let ada_pledge = ada.body["pledge"]["id"].as_str().unwrap().to_string();
    let token = |caller: Caller| match caller {
        Caller::Anonymous => None,
        Caller::DonorA => Some(ada.body["donor_token"].as_str().unwrap().to_string()),
        Caller::DonorB => Some(bob.body["donor_token"].as_str().unwrap().to_string()),
        Caller::Admin => Some(ADMIN_TOKEN.to_string()),
    };

    let call = |method: Method, template: &'static str, path: String, policy: Policy| Call {
        method,
        template,
        path,
        body: None,
        policy,
    };
    let with_body = |mut c: Call, body: serde_json::Value| {
        c.body = Some(body);
        c
    };
    let calls = vec![
        call(Method::GET, "/health", "/health".into(), Policy::Public),
        // The pages are public; what the admin panel does needs the admin token.
        call(Method::GET, "/", "/".into(), Policy::Public),
        call(Method::GET, "/admin", "/admin".into(), Policy::Public),
        call(
            Method::GET,
            "/assets/{file}",
            "/assets/style.000000000000.css".into(),
            Policy::Public,
        ),
        call(Method::GET, "/metrics", "/metrics".into(), Policy::Public),
        call(
            Method::GET,
            "/api/v1/campaigns",
            "/api/v1/campaigns".into(),
            Policy::Public,
        ),
        with_body(
            call(
                Method::POST,
                "/api/v1/campaigns",
                "/api/v1/campaigns".into(),
                Policy::Admin,
            ),
            json!({ "title": "Matrix", "goal_minor": 100, "currency": "USD" }),
        ),
        call(
            Method::GET,
            "/api/v1/campaigns/{id}",
            format!("/api/v1/campaigns/{campaign}"),
            Policy::Public,
        ),
        with_body(
            call(
                Method::PATCH,
                "/api/v1/campaigns/{id}",
                format!("/api/v1/campaigns/{campaign}"),
                Policy::Admin,
            ),
            json!({ "title": "Clean water, now" }),
        ),
        call(
            Method::GET,
            "/api/v1/campaigns/{id}/donations",
            format!("/api/v1/campaigns/{campaign}/donations"),
            Policy::Public,
        ),
        call(
            Method::GET,
            "/api/v1/campaigns/{id}/totals",
            format!("/api/v1/campaigns/{campaign}/totals"),
            Policy::Public,
        ),
        with_body(
            call(
                Method::POST,
                "/api/v1/pledges",
                "/api/v1/pledges".into(),
                Policy::Public,
            ),
            pledge_body(&campaign, 1_000, "carol@example.org"),
        ),
        call(
            Method::GET,
            "/api/v1/pledges/{id}",
            format!("/api/v1/pledges/{ada_pledge}"),
            Policy::DonorAOwns,
        ),
        with_body(
            call(
                Method::POST,
                "/api/v1/pledges/{id}/refund",
                format!("/api/v1/pledges/{ada_pledge}/refund"),
                Policy::Admin,
            ),
            json!({ "amount_minor": 100 }),
        ),
        call(
            Method::GET,
            "/api/v1/donors/me/pledges",
            "/api/v1/donors/me/pledges".into(),
            Policy::DonorAOwns,
        ),
        with_body(
            call(
                Method::POST,
                "/api/v1/payments/webhook",
                "/api/v1/payments/webhook".into(),
                Policy::ProviderSigned,
            ),
            json!({ "id": "evt_x", "type": "payment_intent.succeeded", "data": { "object": {} } }),
        ),
        call(
            Method::POST,
            "/api/v1/admin/pledges/{id}/capture",
            format!("/api/v1/admin/pledges/{ada_pledge}/capture"),
            Policy::Admin,
        ),
        call(
            Method::POST,
            "/api/v1/admin/pledges/{id}/cancel",
            format!("/api/v1/admin/pledges/{ada_pledge}/cancel"),
            Policy::Admin,
        ),
        call(
            Method::GET,
            "/api/v1/admin/relay",
            "/api/v1/admin/relay".into(),
            Policy::Admin,
        ),
        call(
            Method::GET,
            "/api/v1/admin/stuck-pledges",
            "/api/v1/admin/stuck-pledges".into(),
            Policy::Admin,
        ),
        call(
            Method::GET,
            "/api/v1/admin/webhooks",
            "/api/v1/admin/webhooks".into(),
            Policy::Admin,
        ),
        call(
            Method::GET,
            "/api/v1/admin/dead-letters",
            "/api/v1/admin/dead-letters".into(),
            Policy::Admin,
        ),
        call(
            Method::GET,
            "/api/v1/admin/reconciliation",
            "/api/v1/admin/reconciliation".into(),
            Policy::Admin,
        ),
        call(
            Method::POST,
            "/internal/outbox/relay",
            "/internal/outbox/relay".into(),
            Policy::RelaySecret,
        ),
        with_body(
            call(
                Method::POST,
                "/api/v1/accounts",
                "/api/v1/accounts".into(),
                Policy::Public,
            ),
            json!({ "email": "matrix@example.org", "password": "a long passphrase 42" }),
        ),
        with_body(
            call(
                Method::POST,
                "/api/v1/accounts/confirmations",
                "/api/v1/accounts/confirmations".into(),
                Policy::Public,
            ),
            json!({ "token": "not-a-token" }),
        ),
        with_body(
            call(
                Method::POST,
                "/api/v1/sessions",
                "/api/v1/sessions".into(),
                Policy::Credentials,
            ),
            json!({ "email": "nobody@example.org", "password": "a long passphrase 42" }),
        ),
        call(
            Method::DELETE,
            "/api/v1/sessions/current",
            "/api/v1/sessions/current".into(),
            Policy::SessionOnly,
        ),
    ];

    let spec: serde_yaml::Value = serde_yaml::from_str(
        &std::fs::read_to_string(harness::repo_root().join("openapi.yaml")).unwrap(),
    )
    .unwrap();
    let documented: BTreeSet<(String, String)> = spec["paths"]
        .as_mapping()
        .unwrap()
        .iter()
        .flat_map(|(path, item)| {
            let path = path.as_str().unwrap().to_string();
            item.as_mapping()
                .unwrap()
                .keys()
                .filter_map(|m| m.as_str())
                .filter(|m| ["get", "post", "patch", "put", "delete"].contains(m))
                .map(move |m| (m.to_ascii_uppercase(), path.clone()))
                .collect::<Vec<_>>()
        })
        .collect();
    let covered: BTreeSet<(String, String)> = calls
        .iter()
        .map(|c| (c.method.to_string(), c.template.to_string()))
        .collect();
    assert_eq!(
        covered, documented,
        "the matrix covers every documented route"
    );

    let mut key = 0;
    for c in &calls {
        for caller in CALLERS {
            key += 1;
            let idempotency_key = format!("matrix-{key}");
            let auth = token(caller).map(|t| format!("Bearer {t}"));
            let mut headers = vec![
                ("content-type", "application/json"),
                ("idempotency-key", idempotency_key.as_str()),
            ];
            if let Some(auth) = &auth {
                headers.push(("authorization", auth.as_str()));
            }
            let body = c.body.as_ref().map(|b| b.to_string().into_bytes());
            let answer = app.call(c.method.clone(), &c.path, &headers, body).await;
            let what = format!(
                "{} {} as {caller:?}: {} {}",
                c.method, c.path, answer.status, answer.raw
            );
            assert!(answer.status < 500, "{what}");
            match (c.policy, caller) {
                (Policy::Public, _) => assert!(!is_denied(&answer), "{what}"),
                (Policy::Admin, Caller::Anonymous) => answer.problem(401, "unauthorized"),
                (Policy::Admin, Caller::DonorA | Caller::DonorB) => {
                    answer.problem(403, "forbidden")
                }
                (Policy::Admin, Caller::Admin) => assert!(!is_denied(&answer), "{what}"),
                (Policy::DonorAOwns, Caller::Anonymous) => answer.problem(401, "unauthorized"),
                (Policy::DonorAOwns, Caller::DonorB) if c.template.contains("{id}") => {
                    answer.problem(404, "pledge_not_found")
                }
                (Policy::DonorAOwns, Caller::DonorB) => {
                    // Bob's own list: never Ada's pledge.
                    assert_eq!(answer.status, 200, "{what}");
                    assert!(!answer.raw.contains(&ada_pledge), "{what}");
                }
                (Policy::DonorAOwns, Caller::DonorA | Caller::Admin) => {
                    assert_eq!(answer.status, 200, "{what}");
                    assert!(answer.raw.contains(&ada_pledge), "{what}");
                }
                (Policy::ProviderSigned, _) => answer.problem(400, "invalid_signature_header"),
                (Policy::RelaySecret, Caller::Anonymous) => answer.problem(401, "unauthorized"),
                (Policy::RelaySecret, _) => answer.problem(403, "forbidden"),
                (Policy::Credentials, _) => answer.problem(401, "invalid_credentials"),
                (Policy::SessionOnly, Caller::Anonymous) => answer.problem(401, "unauthorized"),
                (Policy::SessionOnly, _) => answer.problem(401, "invalid_token"),
            }
        }
    }
}
