//! Each function says which version of it is serving: every route of `spin.toml`
//! answers with `careforall-component: <component>/<version>`, the version its crate's
//! `Cargo.toml` has (bumped per function by `tools/ship`).

use harness::{repo_root, App, Backend};
use payment_simulator::Config;

fn crate_version(component: &str) -> String {
    let path = repo_root()
        .join("functions")
        .join(component)
        .join("Cargo.toml");
    let manifest: toml::Value = toml::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    manifest["package"]["version"].as_str().unwrap().to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn every_route_names_its_component_and_version() {
    let app = App::start(Backend::Sqlite, Config::default())
        .await
        .unwrap();
    let manifest: toml::Value =
        toml::from_str(&std::fs::read_to_string(repo_root().join("spin.toml")).unwrap()).unwrap();
    let triggers = manifest["trigger"]["http"].as_array().unwrap();
    assert!(triggers.len() > 10);
    let client = reqwest::Client::new();
    for trigger in triggers {
        let route = trigger["route"].as_str().unwrap();
        let component = trigger["component"].as_str().unwrap();
        let path = route.replace("/...", "/x").replace(":id", "x");
        let answer = client.get(app.url(&path)).send().await.unwrap();
        assert_eq!(
            answer
                .headers()
                .get("careforall-component")
                .and_then(|v| v.to_str().ok()),
            Some(format!("{component}/{}", crate_version(component)).as_str()),
            "GET {path} ({route}) answered {}",
            answer.status()
        );
    }
}
