//! `/api/v1/campaigns` through the real app (root spin.toml) on the host over HTTP with a
//! fresh SQLite file: admin auth, validation that writes nothing, pagination, patches.

use harness::{app_builder, Host, ADMIN_TOKEN as TOKEN};
use reqwest::{Client, Method, Response};
use serde_json::{json, Value};

async fn app() -> Host {
    // Campaign routes never reach the payment provider.
    app_builder("http://127.0.0.1:9")
        .sqlite_migrations()
        .start()
        .await
        .unwrap()
}

async fn send(
    host: &Host,
    method: Method,
    path: &str,
    token: Option<&str>,
    body: Option<Value>,
) -> Response {
    let mut req = Client::new().request(method, host.url(path));
    if let Some(t) = token {
        req = req.bearer_auth(t);
    }
    if let Some(b) = body {
        req = req.json(&b);
    }
    req.send().await.unwrap()
}

async fn problem(resp: Response, status: u16, code: &str) -> Value {
    assert_eq!(resp.status().as_u16(), status, "expected {status} {code}");
    assert_eq!(resp.headers()["content-type"], "application/problem+json");
    let body: Value = resp.json().await.unwrap();
    assert_eq!(body["code"], code, "{body}");
    assert_eq!(body["status"], status);
    assert!(
        body["detail"].as_str().is_some_and(|d| !d.is_empty()),
        "{body}"
    );
    body
}

async fn list_all(host: &Host) -> Vec<Value> {
    let resp = send(host, Method::GET, "/api/v1/campaigns?limit=100", None, None).await;
    assert_eq!(resp.status(), 200);
    resp.json::<Value>().await.unwrap()["items"]
        .as_array()
        .unwrap()
        .clone()
}

fn campaign(title: &str) -> Value {
    json!({ "title": title, "description": "Surgery for a child", "goal_minor": 500_000, "currency": "USD" })
}

async fn create(host: &Host, title: &str) -> Value {
    let resp = send(
        host,
        Method::POST,
        "/api/v1/campaigns",
        Some(TOKEN),
        Some(campaign(title)),
    )
    .await;
    assert_eq!(resp.status(), 201);
    let location = resp.headers()["location"].to_str().unwrap().to_string();
    let body: Value = resp.json().await.unwrap();
    assert_eq!(
        location,
        format!("/api/v1/campaigns/{}", body["id"].as_str().unwrap())
    );
    body
}

#[tokio::test]
async fn admin_routes_need_the_admin_token() {
    let host = app().await;
    let created = create(&host, "Existing").await;
    let id = created["id"].as_str().unwrap();
    let patch_path = format!("/api/v1/campaigns/{id}");
    let missing = send(
        &host,
        Method::POST,
        "/api/v1/campaigns",
        None,
        Some(campaign("x")),
    )
    .await;
    assert!(missing.headers().contains_key("www-authenticate"));
    problem(missing, 401, "unauthorized").await;
    problem(
        send(
            &host,
            Method::POST,
            "/api/v1/campaigns",
            Some("wrong"),
            Some(campaign("x")),
        )
        .await,
        403,
        "forbidden",
    )
    .await;
    problem(
        send(
            &host,
            Method::PATCH,
            &patch_path,
            None,
            Some(json!({"title": "y"})),
        )
        .await,
        401,
        "unauthorized",
    )
    .await;
    problem(
        send(
            &host,
            Method::PATCH,
            &patch_path,
            Some("wrong"),
            Some(json!({"title": "y"})),
        )
        .await,
        403,
        "forbidden",
    )
    .await;
    let all = list_all(&host).await;
    assert_eq!(all.len(), 1, "nothing written by refused requests");
    assert_eq!(all[0]["title"], "Existing");
}

#[tokio::test]
async fn bad_input_gets_precise_problems_and_writes_nothing() {
    let host = app().await;
    let client = Client::new();
    let post_raw = |body: Vec<u8>, content_type: &'static str| {
        client
            .post(host.url("/api/v1/campaigns"))
            .bearer_auth(TOKEN)
            .header("content-type", content_type)
            .body(body)
            .send()
    };
    problem(
        post_raw(b"{not json".to_vec(), "application/json")
            .await
            .unwrap(),
        400,
        "malformed_json",
    )
    .await;
    problem(
        post_raw(campaign("x").to_string().into_bytes(), "text/plain")
            .await
            .unwrap(),
        415,
        "unsupported_media_type",
    )
    .await;
    let huge = json!({ "title": "x", "description": "d".repeat(70_000), "goal_minor": 1, "currency": "USD" });
    problem(
        post_raw(huge.to_string().into_bytes(), "application/json")
            .await
            .unwrap(),
        413,
        "payload_too_large",
    )
    .await;
    let with = |field: &str, value: Value| {
        let mut c = campaign("Valid title");
        c[field] = value;
        c
    };
    let mut unknown = campaign("x");
    unknown["owner"] = json!("me");
    problem(
        send(
            &host,
            Method::POST,
            "/api/v1/campaigns",
            Some(TOKEN),
            Some(unknown),
        )
        .await,
        400,
        "unknown_field",
    )
    .await;
    let invalid = [
        ("goal_minor", json!(0)),
        ("goal_minor", json!(-5)),
        ("goal_minor", json!(12.5)),
        ("goal_minor", json!(1e20)),
        ("goal_minor", json!(1_000_000_000_001u64)),
        ("goal_minor", json!("100")),
        ("currency", json!("usd")),
        ("currency", json!("XYZ")),
        ("title", json!("   ")),
        ("title", json!("t".repeat(201))),
    ];
    for (field, value) in invalid {
        let body = problem(
            send(
                &host,
                Method::POST,
                "/api/v1/campaigns",
                Some(TOKEN),
                Some(with(field, value.clone())),
            )
            .await,
            422,
            "validation_failed",
        )
        .await;
        assert!(
            body["detail"].as_str().unwrap().contains(field)
                || body["errors"][0]["field"] == "body",
            "{field}={value}: {body}"
        );
    }
    assert!(list_all(&host).await.is_empty(), "no campaign was written");
}

#[tokio::test]
async fn create_get_and_patch_with_status_rules() {
    let host = app().await;
    let created = create(&host, "Help Ana").await;
    assert_eq!(created["status"], "ACTIVE");
    assert_eq!(created["version"], 1);
    assert_eq!(created["goal_minor"], 500_000);
    let id = created["id"].as_str().unwrap();
    let path = format!("/api/v1/campaigns/{id}");
    let fetched: Value = send(&host, Method::GET, &path, None, None)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(fetched, created);
    problem(
        send(&host, Method::GET, "/api/v1/campaigns/nope", None, None).await,
        404,
        "campaign_not_found",
    )
    .await;
    problem(
        send(
            &host,
            Method::PATCH,
            "/api/v1/campaigns/nope",
            Some(TOKEN),
            Some(json!({"title": "t"})),
        )
        .await,
        404,
        "campaign_not_found",
    )
    .await;
    problem(
        send(&host, Method::DELETE, &path, Some(TOKEN), None).await,
        405,
        "method_not_allowed",
    )
    .await;
    problem(
        send(&host, Method::PATCH, &path, Some(TOKEN), Some(json!({}))).await,
        422,
        "validation_failed",
    )
    .await;
    problem(
        send(
            &host,
            Method::PATCH,
            &path,
            Some(TOKEN),
            Some(json!({"currency": "EUR"})),
        )
        .await,
        400,
        "unknown_field",
    )
    .await;

    let paused: Value = send(
        &host,
        Method::PATCH,
        &path,
        Some(TOKEN),
        Some(json!({"status": "PAUSED", "goal_minor": 750_000})),
    )
    .await
    .json()
    .await
    .unwrap();
    assert_eq!(
        (
            paused["status"].as_str(),
            paused["goal_minor"].as_u64(),
            paused["version"].as_u64()
        ),
        (Some("PAUSED"), Some(750_000), Some(2))
    );
    assert_eq!(
        paused["title"], "Help Ana",
        "fields not named stay as they were"
    );
    let closed = send(
        &host,
        Method::PATCH,
        &path,
        Some(TOKEN),
        Some(json!({"status": "CLOSED"})),
    )
    .await;
    assert_eq!(closed.status(), 200);
    let reopen = problem(
        send(
            &host,
            Method::PATCH,
            &path,
            Some(TOKEN),
            Some(json!({"status": "ACTIVE"})),
        )
        .await,
        409,
        "invalid_transition",
    )
    .await;
    assert!(reopen["detail"].as_str().unwrap().contains("CLOSED"));
    let after: Value = send(&host, Method::GET, &path, None, None)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(
        (after["status"].as_str(), after["version"].as_u64()),
        (Some("CLOSED"), Some(3)),
        "a refused patch changes nothing"
    );
}

#[tokio::test]
async fn cursor_pagination_walks_every_campaign_once_in_creation_order() {
    let host = app().await;
    let mut expected = Vec::new();
    for i in 0..7 {
        expected.push(create(&host, &format!("Campaign {i}")).await["id"].clone());
    }
    let mut seen = Vec::new();
    let mut path = "/api/v1/campaigns?limit=3".to_string();
    let mut pages = 0;
    loop {
        let page: Value = send(&host, Method::GET, &path, None, None)
            .await
            .json()
            .await
            .unwrap();
        pages += 1;
        let items = page["items"].as_array().unwrap();
        assert!(items.len() <= 3);
        seen.extend(items.iter().map(|c| c["id"].clone()));
        match page["next_cursor"].as_str() {
            Some(cursor) => path = format!("/api/v1/campaigns?limit=3&cursor={cursor}"),
            None => break,
        }
    }
    assert_eq!(pages, 3);
    assert_eq!(seen, expected);
    for bad in [
        "limit=0",
        "limit=101",
        "limit=abc",
        "cursor=bogus",
        "order=desc",
    ] {
        problem(
            send(
                &host,
                Method::GET,
                &format!("/api/v1/campaigns?{bad}"),
                None,
                None,
            )
            .await,
            400,
            "invalid_query",
        )
        .await;
    }
}

#[tokio::test]
async fn health_answers_without_a_database() {
    let host = app().await;
    let resp = send(&host, Method::GET, "/health", None, None).await;
    assert_eq!(resp.status(), 200);
    assert_eq!(resp.json::<Value>().await.unwrap()["status"], "ok");
}

#[tokio::test]
async fn a_database_that_cannot_be_reached_answers_503_with_retry_after_and_a_bad_setting_500() {
    // Nothing listens on port 1: the server is down (or, the same to the app, full).
    let down = app_builder("http://127.0.0.1:9")
        .env("SPIN_VARIABLE_DATABASE_BACKEND", "postgres")
        .env(
            "SPIN_VARIABLE_POSTGRES_URL",
            "postgres://postgres@127.0.0.1:1/careforall?sslmode=disable",
        )
        .env("SPIN_VARIABLE_POSTGRES_HOST", "127.0.0.1:1")
        .start()
        .await
        .unwrap();
    for (method, body) in [
        (Method::GET, None),
        (Method::POST, Some(campaign("Never stored"))),
    ] {
        let resp = send(
            &down,
            method.clone(),
            "/api/v1/campaigns",
            Some(TOKEN),
            body,
        )
        .await;
        assert_eq!(resp.status(), 503, "{method}");
        assert_eq!(resp.headers()["retry-after"], "1");
        assert_eq!(resp.headers()["content-type"], "application/problem+json");
        let problem: Value = resp.json().await.unwrap();
        assert_eq!(problem["code"], "storage_unavailable");
        assert!(
            !problem["detail"].as_str().unwrap().contains("127.0.0.1:1"),
            "no server address to clients"
        );
    }
    let wrong = app_builder("http://127.0.0.1:9")
        .env("SPIN_VARIABLE_DATABASE_BACKEND", "mysql")
        .start()
        .await
        .unwrap();
    let resp = send(&wrong, Method::GET, "/api/v1/campaigns", None, None).await;
    assert_eq!(resp.status(), 500, "retrying cannot fix a misconfiguration");
    assert_eq!(resp.json::<Value>().await.unwrap()["code"], "misconfigured");
}

#[tokio::test]
async fn durability_switch_takes_full_and_refuses_a_typo() {
    let full = app_builder("http://127.0.0.1:9")
        .env("SPIN_VARIABLE_SQLITE_SYNCHRONOUS", "FULL")
        .sqlite_migrations()
        .start()
        .await
        .unwrap();
    create(&full, "Durable").await;
    let typo = app_builder("http://127.0.0.1:9")
        .env("SPIN_VARIABLE_SQLITE_SYNCHRONOUS", "FUL")
        .sqlite_migrations()
        .start()
        .await
        .unwrap();
    // Reads do not use the setting (they skip it); every write refuses to run without it.
    let read = send(&typo, Method::GET, "/api/v1/campaigns", None, None).await;
    assert_eq!(read.status(), 200);
    let resp = send(
        &typo,
        Method::POST,
        "/api/v1/campaigns",
        Some(TOKEN),
        Some(campaign("Never stored")),
    )
    .await;
    assert_eq!(
        resp.status(),
        500,
        "a misconfigured durability setting is never silently replaced"
    );
    let listed: Value = send(&typo, Method::GET, "/api/v1/campaigns", None, None)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(
        listed["items"],
        serde_json::json!([]),
        "the refused write stored nothing"
    );
    assert!(
        typo.log()
            .contains("sqlite_synchronous must be NORMAL or FULL"),
        "{}",
        typo.log()
    );
}

#[tokio::test]
async fn the_list_kept_for_readers_shows_every_change_at_once() {
    async fn page(host: &Host) -> Value {
        let resp = send(host, Method::GET, "/api/v1/campaigns?limit=5", None, None).await;
        assert_eq!(resp.status(), 200);
        resp.json().await.unwrap()
    }
    let host = app().await;
    let first = create(&host, "First").await;
    // Read twice: the second answer comes from the key-value store.
    let kept = page(&host).await;
    assert_eq!(page(&host).await, kept);
    assert_eq!(kept["items"].as_array().unwrap().len(), 1);

    let second = create(&host, "Second").await;
    let titles = |page: &Value| -> Vec<String> {
        page["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c["title"].as_str().unwrap().to_owned())
            .collect()
    };
    assert_eq!(
        titles(&page(&host).await),
        ["First", "Second"],
        "a new campaign shows at once"
    );

    let id = first["id"].as_str().unwrap();
    let patched = send(
        &host,
        Method::PATCH,
        &format!("/api/v1/campaigns/{id}"),
        Some(TOKEN),
        Some(json!({"title": "First, renamed", "status": "PAUSED"})),
    )
    .await;
    assert_eq!(patched.status(), 200);
    let after = page(&host).await;
    assert_eq!(
        titles(&after),
        ["First, renamed", "Second"],
        "a change shows at once"
    );
    assert_eq!(after["items"][0]["status"], "PAUSED");
    assert_eq!(second["status"], "ACTIVE");
}
