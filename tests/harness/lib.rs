//! Test tools: start the project's host as a real process on a free loopback port with a
//! throw-away state folder, talk to it over real HTTP, and create throw-away Postgres
//! databases.

mod host;
mod postgres;

pub use host::{start_failure, Host, HostBuilder};
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
