//! The deployment descriptions held against the app they deploy: the SpinKube manifests
//! (deploy/kubernetes) and the compose topology (deploy/compose) supply every variable
//! spin.toml requires, take every secret from a secret store, name routes that exist,
//! and point the key-value store at Redis.

use serde::Deserialize;
use serde_yaml::Value;
use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap()
}

fn read(path: &str) -> String {
    std::fs::read_to_string(root().join(path)).unwrap_or_else(|e| panic!("{path}: {e}"))
}

fn yaml_documents(path: &str) -> Vec<Value> {
    let text = read(path);
    serde_yaml::Deserializer::from_str(&text)
        .map(|doc| {
            let mut value = Value::deserialize(doc).unwrap_or_else(|e| panic!("{path}: {e}"));
            value.apply_merge().unwrap();
            value
        })
        .collect()
}

fn str_at<'a>(value: &'a Value, path: &[&str]) -> &'a str {
    let mut at = value;
    for key in path {
        at = &at[*key];
    }
    at.as_str()
        .unwrap_or_else(|| panic!("no string at {}", path.join(".")))
}

/// The manifest's variables: name → (required, secret).
struct Manifest {
    variables: BTreeMap<String, (bool, bool)>,
    routes: BTreeSet<String>,
    key_value_stores: BTreeSet<String>,
}

fn manifest(path: &str) -> Manifest {
    let spin: toml::Value = toml::from_str(&read(path)).unwrap();
    let variables = spin["variables"]
        .as_table()
        .unwrap()
        .iter()
        .map(|(name, decl)| {
            let flag = |k: &str| decl.get(k).and_then(toml::Value::as_bool).unwrap_or(false);
            (name.clone(), (flag("required"), flag("secret")))
        })
        .collect();
    let routes = spin
        .get("trigger")
        .and_then(|t| t.get("http"))
        .and_then(toml::Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|t| t.get("route").and_then(toml::Value::as_str))
        .map(str::to_string)
        .collect();
    let key_value_stores = spin["component"]
        .as_table()
        .unwrap()
        .values()
        .filter_map(|c| c.get("key_value_stores").and_then(toml::Value::as_array))
        .flatten()
        .map(|s| s.as_str().unwrap().to_string())
        .collect();
    Manifest {
        variables,
        routes,
        key_value_stores,
    }
}

fn kind<'a>(docs: &'a [Value], kind: &str) -> &'a Value {
    docs.iter()
        .find(|d| d["kind"].as_str() == Some(kind))
        .unwrap_or_else(|| panic!("no {kind}"))
}

fn secret_ref(value_from: &Value) -> Option<(&str, &str)> {
    let r = &value_from["secretKeyRef"];
    Some((r["name"].as_str()?, r["key"].as_str()?))
}

#[test]
fn the_spinapp_supplies_every_required_variable_and_takes_secrets_from_secrets() {
    let app = manifest("spin.toml");
    let docs = yaml_documents("deploy/kubernetes/spinapp.yaml");
    let spinapp = kind(&docs, "SpinApp");
    assert_eq!(
        str_at(spinapp, &["apiVersion"]),
        "core.spinkube.dev/v1alpha1"
    );
    assert!(
        spinapp["spec"]["replicas"].as_u64().unwrap() >= 2,
        "replicas to fan out over"
    );
    assert!(!str_at(spinapp, &["spec", "image"]).is_empty());

    let mut supplied = BTreeSet::new();
    for var in spinapp["spec"]["variables"].as_sequence().unwrap() {
        let name = str_at(var, &["name"]);
        let (_, secret) = *app
            .variables
            .get(name)
            .unwrap_or_else(|| panic!("variable {name} is not in spin.toml"));
        let from_secret = secret_ref(&var["valueFrom"]);
        if secret {
            let (store, key) = from_secret
                .unwrap_or_else(|| panic!("secret variable {name} is not from a Secret"));
            assert_eq!((store, key), ("careforall-secrets", name));
        } else {
            assert!(
                var["value"].is_string() || from_secret.is_some(),
                "{name} has no value"
            );
        }
        assert!(supplied.insert(name), "{name} is supplied twice");
    }
    for (name, (required, _)) in &app.variables {
        if *required {
            assert!(
                supplied.contains(name.as_str()),
                "required variable {name} is not supplied"
            );
        }
    }
    assert!(
        supplied.contains("postgres_url"),
        "the data is in Postgres at scale"
    );
    assert_eq!(
        spinapp["spec"]["variables"]
            .as_sequence()
            .unwrap()
            .iter()
            .find(|v| v["name"] == "database_backend")
            .map(|v| str_at(v, &["value"])),
        Some("postgres")
    );

    for probe in ["liveness", "readiness"] {
        let path = str_at(spinapp, &["spec", "checks", probe, "httpGet", "path"]);
        assert!(
            app.routes.contains(path),
            "{probe} probe {path} is not a route"
        );
    }

    let stores = spinapp["spec"]["runtimeConfig"]["keyValueStores"]
        .as_sequence()
        .unwrap();
    let configured: BTreeSet<String> = stores
        .iter()
        .map(|s| str_at(s, &["name"]).to_string())
        .collect();
    assert_eq!(
        configured, app.key_value_stores,
        "every store the components open"
    );
    for store in stores {
        assert_eq!(str_at(store, &["type"]), "redis");
        let url = store["options"]
            .as_sequence()
            .unwrap()
            .iter()
            .find(|o| o["name"] == "url")
            .expect("a redis url option");
        assert_eq!(
            secret_ref(&url["valueFrom"]),
            Some(("careforall-secrets", "redis_url"))
        );
    }
}

#[test]
fn the_relay_cronjob_posts_to_the_relay_route_with_the_secret_from_a_secret() {
    let app = manifest("spin.toml");
    let docs = yaml_documents("deploy/kubernetes/relay-cronjob.yaml");
    let cron = kind(&docs, "CronJob");
    assert_eq!(str_at(cron, &["spec", "concurrencyPolicy"]), "Forbid");
    let container = &cron["spec"]["jobTemplate"]["spec"]["template"]["spec"]["containers"][0];
    let env: BTreeMap<&str, &Value> = container["env"]
        .as_sequence()
        .unwrap()
        .iter()
        .map(|e| (str_at(e, &["name"]), e))
        .collect();
    assert_eq!(
        secret_ref(&env["RELAY_SECRET"]["valueFrom"]),
        Some(("careforall-secrets", "relay_secret"))
    );
    let url = str_at(env["RELAY_URL"], &["value"]);
    let path = url.splitn(4, '/').nth(3).map(|p| format!("/{p}")).unwrap();
    assert!(app.routes.contains(&path), "{path} is not a route");
    assert_eq!(path, "/internal/outbox/relay");
    let script = container["args"][0].as_str().expect("the job's script");
    assert!(script.contains("-X POST"), "the relay route takes POST");
    assert!(script.contains("authorization: Bearer $RELAY_SECRET"));
    assert!(
        script.contains("sleep"),
        "runs every few seconds within the minute"
    );
}

#[test]
fn the_autoscaler_targets_the_spinapps_deployment() {
    let spinapp = yaml_documents("deploy/kubernetes/spinapp.yaml");
    let name = str_at(kind(&spinapp, "SpinApp"), &["metadata", "name"]).to_string();
    let docs = yaml_documents("deploy/kubernetes/autoscaling.yaml");
    let hpa = kind(&docs, "HorizontalPodAutoscaler");
    assert_eq!(
        str_at(hpa, &["spec", "scaleTargetRef", "kind"]),
        "Deployment"
    );
    assert_eq!(str_at(hpa, &["spec", "scaleTargetRef", "name"]), name);
    assert!(hpa["spec"]["minReplicas"].as_u64().unwrap() >= 2);
}

#[test]
fn the_compose_topology_supplies_every_required_variable_and_balances_every_instance() {
    let app = manifest("spin.toml");
    let docs = yaml_documents("deploy/compose/compose.yaml");
    let services = docs[0]["services"].as_mapping().unwrap();
    let service = |name: &str| &services[name];
    let instances: Vec<&str> = services
        .keys()
        .filter_map(Value::as_str)
        .filter(|n| n.starts_with("app-"))
        .collect();
    assert!(instances.len() >= 2, "replicas to fan out over");
    let edge_targets = str_at(service("edge"), &["environment", "INSTANCES"]);
    for name in instances.iter().copied().chain(["relay"]) {
        let env = service(name)["environment"].as_mapping().unwrap();
        for (var, (required, _)) in &app.variables {
            if *required {
                let key = format!("SPIN_VARIABLE_{}", var.to_uppercase());
                assert!(env.contains_key(key.as_str()), "{name} lacks {key}");
            }
        }
        assert_eq!(str_at(service(name), &["network_mode"]), "host");
    }
    for name in &instances {
        let listen = service(name)["command"]
            .as_sequence()
            .unwrap()
            .iter()
            .skip_while(|a| a.as_str() != Some("--listen"))
            .nth(1)
            .and_then(Value::as_str)
            .unwrap();
        assert!(
            edge_targets.contains(listen),
            "nginx does not balance {name} ({listen})"
        );
    }
    let runtime: toml::Value = toml::from_str(&read("deploy/compose/runtime-config.toml")).unwrap();
    for store in &app.key_value_stores {
        assert_eq!(
            runtime["key_value_store"][store.as_str()]["type"].as_str(),
            Some("redis"),
            "store {store}"
        );
    }
}
