//! The host against Spin's semantics, through small test components over real HTTP:
//! SQLite, key-value, variables, outbound HTTP, service chaining, Postgres, cron, routing.

use harness::{start_failure, Host, HostBuilder, TempPgDatabase};
use serde_json::Value;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

const APP: &str = "tests/apps/conformance/spin.toml";
const RUNTIME_CONFIG: &str = "tests/apps/conformance/runtime-config.toml";

fn app() -> HostBuilder {
    HostBuilder::new(APP)
        .runtime_config(RUNTIME_CONFIG)
        .env("SPIN_VARIABLE_SECRET_WORD", "swordfish")
        .arg("--sqlite")
        .arg("CREATE TABLE IF NOT EXISTS counter (id INTEGER PRIMARY KEY, n INTEGER NOT NULL)")
}

async fn get_json(host: &Host, path: &str) -> Value {
    let resp = reqwest::get(host.url(path)).await.unwrap();
    let status = resp.status();
    let text = resp.text().await.unwrap();
    assert!(
        status.is_success(),
        "GET {path} -> {status}: {text}\n{}",
        host.log()
    );
    serde_json::from_str(&text).unwrap_or_else(|_| panic!("GET {path}: not JSON: {text}"))
}

#[tokio::test]
async fn sqlite_crud_round_trips_every_value_type() {
    let host = app().start().await.unwrap();
    let v = get_json(&host, "/sqlite/crud").await;
    assert_eq!(v["columns"], serde_json::json!(["id", "name", "data"]));
    assert_eq!(
        v["rows"],
        serde_json::json!([{ "id": 1, "name": "uno", "data": [1, 2] }])
    );
    assert!(
        host.state_dir.join("sqlite_db.db").exists(),
        "default database lives at <state-dir>/sqlite_db.db"
    );
}

#[tokio::test]
async fn sqlite_transaction_spans_several_execute_calls() {
    let host = app().start().await.unwrap();
    let v = get_json(&host, "/sqlite/transaction").await;
    assert_eq!(
        v,
        serde_json::json!({ "inside": 2, "after_rollback": 0, "after_commit": 2 })
    );
}

/// A connection the host hands out again must look new to the guest, whatever the
/// previous guest left behind, in both connection modes (`new` is Spin's).
#[tokio::test]
async fn a_reused_sqlite_connection_looks_new() {
    for mode in ["reuse", "new"] {
        let host = app()
            .arg("--sqlite-connections")
            .arg(mode)
            .start()
            .await
            .unwrap();
        let first = get_json(&host, "/sqlite/fresh").await;
        assert_eq!(first["counters"], serde_json::json!([0, 0, 0]), "{mode}");
        assert_eq!(first["temp_objects"], serde_json::json!([0]), "{mode}");
        for leave in [
            "pragmas",
            "tx",
            "temp",
            "foreign-keys",
            "pragmas",
            "pragmas",
        ] {
            let seen = get_json(&host, &format!("/sqlite/fresh?leave={leave}")).await;
            assert_eq!(seen, first, "{mode}: after a guest that left {leave}");
        }
        // Every guest's autocommit write landed; the abandoned transaction's did not.
        assert_eq!(
            get_json(&host, "/sqlite/fresh").await["in_transaction_rows"],
            serde_json::json!([0])
        );
    }
}

#[tokio::test]
async fn concurrent_writers_from_two_hosts_on_one_file_lose_nothing() {
    let shared = tempfile::tempdir().unwrap();
    let a = app().state_dir(shared.path()).start().await.unwrap();
    let b = app().state_dir(shared.path()).start().await.unwrap();
    let client = reqwest::Client::new();
    let requests = (0..120).map(|i| {
        let url = if i % 2 == 0 {
            a.url("/sqlite/increment")
        } else {
            b.url("/sqlite/increment")
        };
        let client = client.clone();
        async move { client.post(url).send().await.unwrap().status().as_u16() }
    });
    let statuses = futures::future::join_all(requests).await;
    assert!(
        statuses.iter().all(|s| *s == 200),
        "statuses: {statuses:?}\n{}",
        a.log()
    );
    assert_eq!(get_json(&a, "/sqlite/counter").await["n"], 120);
}

#[tokio::test]
async fn undeclared_databases_and_stores_are_denied() {
    let host = app().start().await.unwrap();
    // `other` is defined in the runtime config, but the probe does not declare it.
    for path in [
        "/sqlite/crud?db=other",
        "/kv/get?store=other&key=x",
        "/kv/get?store=nowhere&key=x",
    ] {
        let v = get_json(&host, path).await;
        assert_eq!(
            v["error"].as_str(),
            Some("Error::AccessDenied"),
            "{path}: {v}"
        );
    }
}

async fn kv_round_trip(host: &Host, store: &str) {
    let client = reqwest::Client::new();
    let key = format!("k-{}", uuid::Uuid::new_v4().simple());
    let q = |op: &str| host.url(&format!("/kv/{op}?store={store}&key={key}"));
    assert_eq!(
        get_json(host, &format!("/kv/exists?store={store}&key={key}")).await["exists"],
        false
    );
    assert_eq!(
        get_json(host, &format!("/kv/get?store={store}&key={key}")).await["value"],
        Value::Null
    );
    let set: Value = client
        .post(q("set"))
        .body("v1")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(set["ok"], true);
    assert_eq!(
        get_json(host, &format!("/kv/get?store={store}&key={key}")).await["value"],
        "v1"
    );
    assert_eq!(
        get_json(host, &format!("/kv/exists?store={store}&key={key}")).await["exists"],
        true
    );
    let keys = get_json(host, &format!("/kv/keys?store={store}")).await;
    assert!(
        keys["keys"]
            .as_array()
            .unwrap()
            .iter()
            .any(|k| k == key.as_str()),
        "{keys}"
    );
    client.post(q("delete")).send().await.unwrap();
    assert_eq!(
        get_json(host, &format!("/kv/exists?store={store}&key={key}")).await["exists"],
        false
    );
}

#[tokio::test]
async fn key_value_on_spin_sqlite_store() {
    let host = app().start().await.unwrap();
    kv_round_trip(&host, "default").await;
    assert!(host.state_dir.join("sqlite_key_value.db").exists());
}

#[tokio::test]
async fn key_value_on_redis_store() {
    let host = app().start().await.unwrap();
    kv_round_trip(&host, "redis").await;
}

#[tokio::test]
async fn variables_from_defaults_environment_and_templates() {
    let host = app().start().await.unwrap();
    assert_eq!(
        get_json(&host, "/vars?name=greeting").await["value"],
        "hello, world"
    );
    assert_eq!(
        get_json(&host, "/vars?name=secret_word").await["value"],
        "swordfish"
    );
    assert!(get_json(&host, "/vars?name=nope").await["error"]
        .as_str()
        .unwrap()
        .starts_with("Error::Undefined"));
    assert!(get_json(&host, "/vars?name=Bad-Name").await["error"]
        .as_str()
        .unwrap()
        .starts_with("Error::InvalidName"));
    drop(host);
    let host = app()
        .env("SPIN_VARIABLE_GREETING", "hi")
        .start()
        .await
        .unwrap();
    assert_eq!(
        get_json(&host, "/vars?name=greeting").await["value"],
        "hi, world"
    );
}

#[tokio::test]
async fn missing_required_variable_fails_startup_by_name() {
    let builder = HostBuilder::new(APP).runtime_config(RUNTIME_CONFIG);
    let failure = start_failure(builder).await;
    assert!(
        failure.contains("secret_word") && failure.contains("SPIN_VARIABLE_SECRET_WORD"),
        "{failure}"
    );
}

/// A one-route HTTP server on a free loopback port answering "upstream ok".
async fn upstream() -> u16 {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    tokio::spawn(async move {
        loop {
            let Ok((mut stream, _)) = listener.accept().await else {
                return;
            };
            tokio::spawn(async move {
                use tokio::io::{AsyncReadExt, AsyncWriteExt};
                let mut buf = [0u8; 4096];
                let _ = stream.read(&mut buf).await;
                let _ = stream
                    .write_all(b"HTTP/1.1 200 OK\r\ncontent-length: 11\r\nconnection: close\r\n\r\nupstream ok")
                    .await;
            });
        }
    });
    port
}

#[tokio::test]
async fn outbound_http_follows_allowed_outbound_hosts() {
    let allowed = upstream().await;
    let other = upstream().await;
    let host = app()
        .env("SPIN_VARIABLE_UPSTREAM_PORT", allowed.to_string())
        .start()
        .await
        .unwrap();
    let ok = get_json(
        &host,
        &format!("/outbound?url=http://127.0.0.1:{allowed}/x"),
    )
    .await;
    assert_eq!(
        ok,
        serde_json::json!({ "status": 200, "body": "upstream ok" })
    );
    let denied = get_json(&host, &format!("/outbound?url=http://127.0.0.1:{other}/x")).await;
    assert!(
        denied["error"]
            .as_str()
            .unwrap()
            .contains("HttpRequestDenied"),
        "{denied}"
    );
    let denied = get_json(
        &host,
        &format!("/outbound?url=http://localhost:{allowed}/x"),
    )
    .await;
    assert!(
        denied["error"]
            .as_str()
            .unwrap()
            .contains("HttpRequestDenied"),
        "{denied}"
    );
}

/// A keep-alive HTTP/1.1 server on a free loopback port answering "kept {n}" to each
/// request; the counter tells how many TCP connections it accepted.
async fn keep_alive_upstream() -> (u16, Arc<AtomicUsize>) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let accepted = Arc::new(AtomicUsize::new(0));
    let counter = accepted.clone();
    tokio::spawn(async move {
        while let Ok((mut stream, _)) = listener.accept().await {
            let n = counter.fetch_add(1, Ordering::SeqCst) + 1;
            tokio::spawn(async move {
                let mut pending = Vec::new();
                let mut buf = [0u8; 4096];
                loop {
                    while let Some(end) = pending.windows(4).position(|w| w == b"\r\n\r\n") {
                        pending.drain(..end + 4);
                        let body = format!("kept {n}");
                        let head =
                            format!("HTTP/1.1 200 OK\r\ncontent-length: {}\r\n\r\n", body.len());
                        if stream.write_all((head + &body).as_bytes()).await.is_err() {
                            return;
                        }
                    }
                    match stream.read(&mut buf).await {
                        Ok(0) | Err(_) => return,
                        Ok(read) => pending.extend_from_slice(&buf[..read]),
                    }
                }
            });
        }
    });
    (port, accepted)
}

/// As on Spin (`[outbound_http] connection_pooling`, on by default), requests to the
/// same server reuse a kept-alive connection; the guest sees each answer as before. A
/// runtime config that turns pooling off gets a connection per request, and a server
/// that is gone is a connection error, not a hang.
#[tokio::test]
async fn outbound_http_reuses_connections_unless_pooling_is_off() {
    for pooling in [true, false] {
        let (port, accepted) = keep_alive_upstream().await;
        let state = tempfile::tempdir().unwrap();
        let config = state.path().join("runtime-config.toml");
        let stores = std::fs::read_to_string(harness::repo_root().join(RUNTIME_CONFIG)).unwrap();
        std::fs::write(
            &config,
            format!("{stores}\n[outbound_http]\nconnection_pooling = {pooling}\n"),
        )
        .unwrap();
        let host = app()
            .runtime_config(config.to_str().unwrap())
            .env("SPIN_VARIABLE_UPSTREAM_PORT", port.to_string())
            .start()
            .await
            .unwrap();
        for _ in 0..3 {
            let v = get_json(&host, &format!("/outbound?url=http://127.0.0.1:{port}/x")).await;
            assert_eq!(v["status"], 200, "{v}");
            assert!(v["body"].as_str().unwrap().starts_with("kept "), "{v}");
        }
        let expected = if pooling { 1 } else { 3 };
        assert_eq!(
            accepted.load(Ordering::SeqCst),
            expected,
            "connections accepted with pooling {pooling}"
        );
    }
    let closed = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.local_addr().unwrap().port()
    };
    let host = app()
        .env("SPIN_VARIABLE_UPSTREAM_PORT", closed.to_string())
        .start()
        .await
        .unwrap();
    let refused = get_json(&host, &format!("/outbound?url=http://127.0.0.1:{closed}/x")).await;
    assert!(
        refused["error"]
            .as_str()
            .unwrap_or("")
            .contains("Connection"),
        "{refused}"
    );
}

/// Pooled memory slots are reused (and, where the kernel can tell which pages a request
/// touched, kept mapped): each request still starts on a fresh instance that sees
/// nothing an earlier one wrote, in sequence and at once.
#[tokio::test]
async fn a_request_never_sees_the_memory_an_earlier_one_wrote() {
    let host = app().start().await.unwrap();
    let fresh = serde_json::json!({ "counter_before": 0, "dirty_pages_before": 0 });
    for _ in 0..20 {
        assert_eq!(get_json(&host, "/memory").await, fresh);
    }
    let together = futures::future::join_all((0..32).map(|_| get_json(&host, "/memory"))).await;
    assert!(together.iter().all(|v| *v == fresh), "{together:?}");
}

#[tokio::test]
async fn spin_internal_chaining_reaches_private_components() {
    let host = app().start().await.unwrap();
    let v = get_json(&host, "/outbound?url=http://hidden.spin.internal/inner").await;
    assert_eq!(
        v,
        serde_json::json!({ "status": 200, "body": "hello from /inner" })
    );
    let missing = get_json(&host, "/outbound?url=http://nobody.spin.internal/").await;
    assert!(missing["error"].is_string(), "{missing}");
}

#[tokio::test]
async fn postgres_query_and_execute_against_the_local_server() {
    let db = TempPgDatabase::create().await.unwrap();
    let host = app().start().await.unwrap();
    let v = get_json(&host, &format!("/pg?address={}", db.url())).await;
    assert_eq!(v["inserted"], 2);
    assert_eq!(
        v["rows"],
        serde_json::json!([
            { "id": 1, "name": "one", "flag": true, "data": [7] },
            { "id": 2, "name": null, "flag": false, "data": null }
        ])
    );
    assert!(
        v["missing_table_error"].as_str().unwrap().contains("42P01"),
        "{v}"
    );
    // Not in allowed_outbound_hosts (another port): refused before connecting.
    let denied = get_json(
        &host,
        &format!("/pg?address={}", db.url().replace(":5432", ":5433")),
    )
    .await;
    assert!(
        denied["error"].as_str().unwrap().contains("not permitted"),
        "{denied}"
    );
    drop(host);
    db.drop_now().await.unwrap();
}

/// TLS follows `sslmode` as on Spin: `require` to `localhost` (the name the local
/// server's certificate carries, trusted by the system store) is verified TLS; to
/// `127.0.0.1` the certificate does not match and the connection is refused, never
/// downgraded to plaintext; `disable` is plaintext; `verify-full` is refused.
#[tokio::test]
async fn postgres_tls_follows_sslmode_like_spin() {
    let db = TempPgDatabase::create().await.unwrap();
    let host = app().start().await.unwrap();
    let plain = db.url(); // `?sslmode=disable` on loopback
    let by_name = plain
        .replace("127.0.0.1", "localhost")
        .replace("sslmode=disable", "sslmode=require");
    let by_ip = plain.replace("sslmode=disable", "sslmode=require");
    let tls = |address: String| {
        let host = &host;
        async move { get_json(host, &format!("/pg/tls?address={address}")).await }
    };
    assert_eq!(tls(plain.clone()).await["ssl"], false);
    assert_eq!(tls(by_name.clone()).await["ssl"], true);
    let default_mode = by_name.replace("?sslmode=require", "");
    assert_eq!(
        tls(default_mode).await["ssl"],
        true,
        "prefer uses TLS when the server offers it"
    );
    let mismatch = tls(by_ip).await;
    assert!(
        mismatch["error"]
            .as_str()
            .unwrap_or("")
            .contains("certificate"),
        "a certificate for another name is fatal: {mismatch}"
    );
    let verify_full = tls(plain.replace("sslmode=disable", "sslmode=verify-full")).await;
    assert!(verify_full["error"].is_string(), "{verify_full}");
    drop(host);
    db.drop_now().await.unwrap();
}

async fn status_of(host: &Host, path: &str) -> u16 {
    reqwest::get(host.url(path))
        .await
        .unwrap()
        .status()
        .as_u16()
}

/// A guest killed by the deadline between `BEGIN` and `COMMIT` takes its transaction
/// with it: the next request on the same connection (one pooled connection) commits
/// only its own row, and is not held up by the dead request's locks.
#[tokio::test]
async fn a_guest_killed_inside_a_postgres_transaction_leaves_nothing() {
    let db = TempPgDatabase::create().await.unwrap();
    let host = app()
        .arg("--max-postgres-connections")
        .arg("1")
        .arg("--request-timeout-ms")
        .arg("500")
        .start()
        .await
        .unwrap();
    let address = db.url();
    for _ in 0..2 {
        assert_eq!(
            status_of(&host, &format!("/pg/abandon?address={address}")).await,
            504
        );
    }
    let v = get_json(&host, &format!("/pg/commit?address={address}")).await;
    assert_eq!(v["rows"], serde_json::json!(["committed"]), "{v}");
    drop(host);
    db.drop_now().await.unwrap();
}

/// The same on SQLite, in both connection modes: the killed writer's rows are gone and
/// its write lock (and, reusing connections, its place in the writer queue) released.
#[tokio::test]
async fn a_guest_killed_inside_a_sqlite_transaction_leaves_nothing() {
    for mode in ["reuse", "new"] {
        let host = app()
            .arg("--sqlite-connections")
            .arg(mode)
            .arg("--request-timeout-ms")
            .arg("500")
            .start()
            .await
            .unwrap();
        for _ in 0..2 {
            assert_eq!(status_of(&host, "/sqlite/abandon").await, 504, "{mode}");
        }
        let v = get_json(&host, "/sqlite/commit").await;
        assert_eq!(v["rows"], serde_json::json!(["committed"]), "{mode}: {v}");
    }
}

#[tokio::test]
async fn cron_component_fires_on_schedule() {
    let host = app().start().await.unwrap();
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let v = get_json(&host, "/kv/get?store=default&key=cron-runs").await;
        let runs: u64 = v["value"]
            .as_str()
            .and_then(|s| s.parse().ok())
            .unwrap_or(0);
        if runs >= 2 {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "cron ran {runs} times in 10 s\n{}",
            host.log()
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

#[tokio::test]
async fn most_specific_route_wins_and_spin_headers_are_set() {
    let host = app().start().await.unwrap();
    let exact = reqwest::get(host.url("/spin-headers/exact"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert_eq!(exact, "hello from /spin-headers/exact");
    let wild = get_json(&host, "/spin-headers/a/b?x=1").await;
    let h = &wild["headers"];
    assert_eq!(h["spin-matched-route"], "/spin-headers/...");
    assert_eq!(h["spin-component-route"], "/spin-headers");
    assert_eq!(h["spin-path-info"], "/a/b");
    assert_eq!(
        h["spin-full-url"],
        format!("{}/spin-headers/a/b?x=1", host.base_url)
    );
    let param = get_json(&host, "/params/42/detail").await;
    assert_eq!(param["headers"]["spin-path-match-id"], "42");
    let fallback = reqwest::get(host.url("/anything/else"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert_eq!(fallback, "hello from /anything/else");
    // A private route is not reachable from outside: the catch-all answers instead.
    let hidden = reqwest::get(host.url("/hidden"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert_eq!(hidden, "hello from /hidden");
}
