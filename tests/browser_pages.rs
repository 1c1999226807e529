//! The donor page (`/`) and the admin panel (`/admin`) in headless Chromium (Debian's
//! `chromium`), driven by Playwright (`tests/browser/`, from the npm registry), against
//! the real app on each backend with its cron relay and the payment simulator: a guest's
//! donation end to end, a double click and a reload that make one pledge and one
//! provider payment, a declined card and another that pays on the provider's hosted
//! page, an account whose history shows the earlier guest pledges, a partial refund from
//! the panel that the donor page's total follows, a cross-site write refused, and the
//! pages' headers. Screenshots and Playwright's report go to `target/browser/<backend>/`.
//! Here too, no log line carries a password or a token.

use harness::{repo_root, App, Backend, ADMIN_TOKEN};
use payment_simulator::Config;
use reqwest::Method;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn donor_page_and_admin_panel_in_chromium() {
    // One backend after the other: two browsers at once on two cores make timeouts.
    for backend in [Backend::Sqlite, Backend::Postgres] {
        run_browser_suite(backend).await;
    }
}

async fn run_browser_suite(backend: Backend) {
    let browser_dir = repo_root().join("tests/browser");
    assert!(
        browser_dir.join("node_modules/@playwright/test").exists(),
        "Playwright is not installed: run `npm ci` in tests/browser (scripts/test does)"
    );
    let chromium = std::env::var("CHROMIUM").unwrap_or_else(|_| "/usr/bin/chromium".into());
    assert!(
        Path::new(&chromium).exists(),
        "no Chromium at {chromium}: apt-get install chromium (.ci/run does)"
    );
    let app = App::start(backend, Config::default()).await.unwrap();
    let relay = app.start_cron_relay().await.unwrap();
    let artifacts = artifacts_dir(backend);
    let run = Command::new("npx")
        .args(["playwright", "test"])
        .current_dir(&browser_dir)
        .env("BASE_URL", app.url(""))
        .env("SIM_URL", &app.sim_url)
        .env("ADMIN_TOKEN", ADMIN_TOKEN)
        .env("ARTIFACTS_DIR", &artifacts)
        .env("CHROMIUM", &chromium)
        .env("CI", "1")
        .status()
        .expect("npx runs");
    assert!(
        run.success(),
        "the browser tests failed on {backend:?}; the report is in {}",
        artifacts.join("report").display()
    );

    // A cross-site write is refused even with the right token.
    let forged = app
        .call(
            Method::POST,
            "/api/v1/campaigns",
            &[
                ("authorization", &format!("Bearer {ADMIN_TOKEN}")),
                ("content-type", "application/json"),
                ("sec-fetch-site", "same-site"),
            ],
            Some(br#"{"title":"forged","goal_minor":100,"currency":"USD"}"#.to_vec()),
        )
        .await;
    forged.problem(403, "cross_site_request");

    app.relay_idle(Duration::from_secs(30), true).await.unwrap();
    let books = app.reconciliation().await.unwrap();
    assert_eq!(books["ok"], true, "{books}");
    for log in [app.host.log(), relay.log()] {
        for secret in ["correct horse battery staple", "wrong password, surely"] {
            assert!(!log.contains(secret), "a password in the log");
        }
        assert!(!log.contains(ADMIN_TOKEN), "the admin token in the log");
        assert!(!log.contains("#confirm="), "a confirmation link in the log");
    }
}

fn artifacts_dir(backend: Backend) -> PathBuf {
    let name = match backend {
        Backend::Sqlite => "sqlite",
        Backend::Postgres => "postgres",
    };
    let dir = repo_root().join("target/browser").join(name);
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}
