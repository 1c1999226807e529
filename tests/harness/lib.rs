//! Test tools: start the project's host as a real process on a free loopback port with a
//! throw-away state folder, talk to it over real HTTP, and create throw-away Postgres
//! databases.

mod app;
mod client;
mod host;
mod otlp;
mod postgres;

pub use app::{
    app_builder, App, Backend, ADMIN_TOKEN, DONOR_TOKEN_SECRET, FEED_SIGNING_SECRET,
    PROVIDER_API_KEY, RELAY_LEASE_MS, RELAY_SECRET, WEBHOOK_SECRET,
};
pub use client::{pledge_body, Answer};
pub use host::{free_port, start_failure, Host, HostBuilder};
pub use otlp::{OtlpReceiver, ReceivedSpan};
pub use postgres::TempPgDatabase;

use std::path::PathBuf;

/// The repository root.
pub fn repo_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("tests/ has a parent")
        .to_path_buf()
}

/// The host binary the tests run: `SPIN_HOST_BIN`, else the release build.
pub fn host_binary() -> PathBuf {
    let path = std::env::var_os("SPIN_HOST_BIN")
        .map(PathBuf::from)
        .unwrap_or_else(|| repo_root().join("target/release/spin-host"));
    assert!(
        path.exists(),
        "{} does not exist: run scripts/test, which builds the host and the components first",
        path.display()
    );
    path
}

/// A component built for wasm32-wasip2 in release mode.
pub fn component_wasm(crate_name: &str) -> PathBuf {
    let path = repo_root()
        .join("target/wasm32-wasip2/release")
        .join(format!("{}.wasm", crate_name.replace('-', "_")));
    assert!(
        path.exists(),
        "{} does not exist: run scripts/test to build the components",
        path.display()
    );
    path
}

/// Runs `async fn $body(Backend)` as two tests, `$name::sqlite` and `$name::postgres`.
#[macro_export]
macro_rules! both_backends {
    ($($name:ident => $body:ident),* $(,)?) => {$(
        mod $name {
            #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
            async fn sqlite() {
                super::$body($crate::Backend::Sqlite).await
            }
            #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
            async fn postgres() {
                super::$body($crate::Backend::Postgres).await
            }
        }
    )*};
}
