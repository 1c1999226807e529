//! The host's own guarantees: per-request deadline, request body limit, graceful drain on
//! SIGTERM, a JSON log line per request, Prometheus metrics, and clear startup failures.

use harness::{start_failure, HostBuilder};
use std::time::{Duration, Instant};

const APP: &str = "tests/apps/conformance/spin.toml";

fn app() -> HostBuilder {
    HostBuilder::new(APP)
        .runtime_config("tests/apps/conformance/runtime-config.toml")
        .env("SPIN_VARIABLE_SECRET_WORD", "swordfish")
}

#[tokio::test]
async fn deadline_stops_a_spinning_and_a_sleeping_component() {
    let host = app()
        .arg("--request-timeout-ms")
        .arg("1000")
        .start()
        .await
        .unwrap();
    for path in ["/busy", "/sleep?ms=10000"] {
        let started = Instant::now();
        let resp = reqwest::get(host.url(path)).await.unwrap();
        assert_eq!(resp.status(), 504, "{path}");
        assert!(
            started.elapsed() < Duration::from_secs(5),
            "{path} took {:?}",
            started.elapsed()
        );
    }
    // The host is not wedged by the stopped instances.
    let ok = reqwest::get(host.url("/anything")).await.unwrap();
    assert_eq!(ok.status(), 200);
}

#[tokio::test]
async fn request_body_limit_answers_413() {
    let host = app()
        .arg("--max-request-body-bytes")
        .arg("1024")
        .start()
        .await
        .unwrap();
    let client = reqwest::Client::new();
    let small = client
        .post(host.url("/body"))
        .body(vec![b'x'; 1000])
        .send()
        .await
        .unwrap();
    assert_eq!(small.status(), 200);
    assert_eq!(
        small.json::<serde_json::Value>().await.unwrap()["bytes"],
        1000
    );
    let large = client
        .post(host.url("/body"))
        .body(vec![b'x'; 4096])
        .send()
        .await
        .unwrap();
    assert_eq!(large.status(), 413);
    // Without a content-length (chunked), the limit still holds while streaming.
    let chunks = futures::stream::iter((0..8).map(|_| Ok::<_, std::io::Error>(vec![b'y'; 512])));
    let chunked = client
        .post(host.url("/body"))
        .body(reqwest::Body::wrap_stream(chunks))
        .send()
        .await
        .unwrap();
    assert_eq!(chunked.status(), 413);
}

#[tokio::test]
async fn sigterm_drains_in_flight_requests_then_exits() {
    let mut host = app().start().await.unwrap();
    let url = host.url("/sleep?ms=1500");
    let in_flight =
        tokio::spawn(async move { reqwest::get(url).await.map(|r| r.status().as_u16()) });
    tokio::time::sleep(Duration::from_millis(400)).await;
    host.signal(libc::SIGTERM);
    tokio::time::sleep(Duration::from_millis(200)).await;
    let refused = reqwest::Client::new()
        .get(host.url("/anything"))
        .timeout(Duration::from_secs(2))
        .send()
        .await;
    assert!(
        refused.is_err(),
        "new connections are refused while draining"
    );
    assert_eq!(
        in_flight
            .await
            .unwrap()
            .expect("in-flight request completes"),
        200
    );
    let status = host.wait_exit(Duration::from_secs(10)).await.unwrap();
    assert!(status.success(), "exit status {status}");
}

#[tokio::test]
async fn logs_one_json_line_per_request_and_serves_metrics() {
    let host = app().start().await.unwrap();
    let client = reqwest::Client::new();
    client
        .get(host.url("/spin-headers/x"))
        .header(
            "traceparent",
            "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
        )
        .send()
        .await
        .unwrap();
    let line = host
        .log()
        .lines()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .find(|l| l["msg"] == "request" && l["path"] == "/spin-headers/x")
        .expect("a JSON request line");
    assert_eq!(line["component"], "probe");
    assert_eq!(line["route"], "/spin-headers/...");
    assert_eq!(line["status"], 200);
    assert_eq!(line["trace_id"], "4bf92f3577b34da6a3ce929d0e0e4736");
    assert!(line["duration_ms"].as_f64().unwrap() > 0.0);
    let metrics = reqwest::get(host.url("/.well-known/spin-host/metrics"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        metrics.contains(r#"spin_host_requests_total{component="probe",status="200"} 1"#),
        "{metrics}"
    );
    assert!(metrics.contains("spin_host_request_duration_seconds_bucket{component=\"probe\""));
    assert!(
        metrics.contains("spin_host_instantiation_duration_seconds_count{component=\"probe\"} 1")
    );
}

#[tokio::test]
async fn unknown_manifest_keys_and_undefined_stores_fail_startup_by_name() {
    let dir = tempfile::tempdir().unwrap();
    let write = |name: &str, text: &str| {
        let p = dir.path().join(name);
        std::fs::write(&p, text).unwrap();
        p
    };
    let wasm = harness::component_wasm("hello");
    let base = format!(
        "spin_manifest_version = 2\n[application]\nname = \"x\"\n[[trigger.http]]\nroute = \"/...\"\ncomponent = \"a\"\n[component.a]\nsource = \"{}\"\n",
        wasm.display()
    );
    let cases: [(String, &[&str]); 6] = [
        (format!("{base}files = [\"static/**\"]\n"), &["files"]),
        (
            format!("{base}key_value_stores = [\"cache\"]\n"),
            &["key_value_store.cache"],
        ),
        (
            format!("{base}sqlite_databases = [\"analytics\"]\n"),
            &["sqlite_database.analytics"],
        ),
        // Every undefined label at once, so one fix and one restart are enough.
        (
            format!(
                "{base}sqlite_databases = [\"analytics\", \"reports\"]\nkey_value_stores = [\"cache\"]\n"
            ),
            &[
                "sqlite_database.analytics",
                "sqlite_database.reports",
                "key_value_store.cache",
            ],
        ),
        (
            base.replace("[[trigger.http]]", "[[trigger.redis]]"),
            &["redis"],
        ),
        (base.replace("hello.wasm", "missing.wasm"), &["missing.wasm"]),
    ];
    for (i, (manifest, expected)) in cases.into_iter().enumerate() {
        let path = write(&format!("spin-{i}.toml"), &manifest);
        let failure = start_failure(HostBuilder::new(path.to_str().unwrap())).await;
        for part in expected {
            assert!(
                failure.contains(part),
                "case {i}: expected `{part}` in:\n{failure}"
            );
        }
    }
}
