//! The app is a pure Spin app and documents itself: every component `spin.toml` references is built from a
//! crate in `functions/`, and imports nothing beyond WASI p2 and the Spin interfaces
//! DESIGN.md §2 lists.

use harness::repo_root;
use std::collections::BTreeSet;

const SPIN_INTERFACES: &[&str] = &[
    "fermyon:spin/sqlite@2.0.0",
    "fermyon:spin/key-value@2.0.0",
    "fermyon:spin/variables@2.0.0",
    "spin:postgres/postgres@4.0.0",
    // The types of the cron trigger plugin's world (no functions), which a component
    // with a `handle-cron-event` export imports; only the relay has one.
    "fermyon:spin-cron/cron-types@2.0.0",
];

/// WASI p2 interfaces a Rust guest may import (std's own plus wasi:http outgoing).
const WASI_PREFIXES: &[&str] = &[
    "wasi:cli/",
    "wasi:io/",
    "wasi:clocks/",
    "wasi:random/",
    "wasi:filesystem/",
    "wasi:http/types@0.2.",
    "wasi:http/outgoing-handler@0.2.",
];

fn manifest() -> toml::Value {
    let text = std::fs::read_to_string(repo_root().join("spin.toml")).unwrap();
    toml::from_str(&text).unwrap()
}

#[test]
fn every_component_is_a_functions_crate_built_for_wasm32_wasip2() {
    let manifest = manifest();
    let components = manifest["component"].as_table().unwrap();
    let crates: BTreeSet<String> = std::fs::read_dir(repo_root().join("functions"))
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    let mut referenced = BTreeSet::new();
    for (id, component) in components {
        let source = component["source"].as_str().unwrap();
        let crate_name = source
            .strip_prefix("target/wasm32-wasip2/release/")
            .and_then(|s| s.strip_suffix(".wasm"))
            .unwrap_or_else(|| {
                panic!("component `{id}` source `{source}` is not a release wasm32-wasip2 build")
            })
            .replace('_', "-");
        assert!(
            crates.contains(&crate_name),
            "component `{id}` runs `{source}`, which no functions/ crate builds"
        );
        referenced.insert(crate_name);
    }
    assert_eq!(
        referenced, crates,
        "every functions/ crate is a component in spin.toml"
    );
}

/// The names of the interfaces and functions a component imports at its top level (not
/// those of nested modules, nor bare type imports such as a world's `use`d types).
fn top_level_imports(bytes: &[u8]) -> Vec<String> {
    use wasmparser::{Parser, Payload};
    let mut depth = 0usize;
    let mut names = Vec::new();
    for payload in Parser::new(0).parse_all(bytes) {
        match payload.expect("a valid component") {
            Payload::ModuleSection { .. } | Payload::ComponentSection { .. } => depth += 1,
            Payload::End(_) => depth = depth.saturating_sub(1),
            Payload::ComponentImportSection(reader) if depth == 0 => {
                for import in reader {
                    let import = import.expect("a valid import");
                    if !matches!(import.ty, wasmparser::ComponentTypeRef::Type(_)) {
                        names.push(import.name.0.to_string());
                    }
                }
            }
            _ => {}
        }
    }
    names
}

#[test]
fn components_import_only_wasi_p2_and_the_listed_spin_interfaces() {
    let manifest = manifest();
    let mut seen = BTreeSet::new();
    for (id, component) in manifest["component"].as_table().unwrap() {
        let path = repo_root().join(component["source"].as_str().unwrap());
        let bytes = std::fs::read(&path).unwrap_or_else(|e| {
            panic!(
                "{}: {e} (run scripts/test to build the components)",
                path.display()
            )
        });
        let imports = top_level_imports(&bytes);
        assert!(
            !imports.is_empty(),
            "component `{id}` imports nothing; is it a component?"
        );
        seen.extend(imports.iter().cloned());
        for name in imports {
            let allowed = SPIN_INTERFACES.contains(&name.as_str())
                || WASI_PREFIXES.iter().any(|p| name.starts_with(p));
            assert!(
                allowed,
                "component `{id}` imports `{name}`, which is not a Spin interface this app may use"
            );
        }
    }
    // The campaigns component reads SQLite, so the parser must have seen that import.
    assert!(
        seen.contains("fermyon:spin/sqlite@2.0.0"),
        "imports seen: {seen:?}"
    );
}

#[test]
fn openapi_documents_exactly_the_routes_spin_toml_serves() {
    let text = std::fs::read_to_string(repo_root().join("openapi.yaml")).unwrap();
    let openapi: serde_yaml::Value =
        serde_yaml::from_str(&text).expect("openapi.yaml is valid YAML");
    let documented: BTreeSet<String> = openapi["paths"]
        .as_mapping()
        .expect("openapi.yaml has paths")
        .keys()
        .map(|k| k.as_str().unwrap().to_string())
        .collect();
    let manifest = manifest();
    let mut routed = BTreeSet::new();
    for trigger in manifest["trigger"]["http"].as_array().unwrap() {
        let route = trigger["route"].as_str().unwrap();
        if route.ends_with("/...") {
            // A wildcard serves the exact paths documented beneath it.
            let prefix = route.trim_end_matches("/...");
            assert!(
                documented.iter().any(|d| d.starts_with(prefix)),
                "spin.toml routes `{route}` but openapi.yaml documents nothing under it"
            );
            continue;
        }
        let path = route
            .split('/')
            .map(|s| match s.strip_prefix(':') {
                Some(name) => format!("{{{name}}}"),
                None => s.to_string(),
            })
            .collect::<Vec<_>>()
            .join("/");
        routed.insert(path);
    }
    let missing: Vec<_> = routed.difference(&documented).collect();
    assert!(
        missing.is_empty(),
        "routed but not in openapi.yaml: {missing:?}"
    );
    for path in documented.difference(&routed) {
        assert!(
            manifest["trigger"]["http"]
                .as_array()
                .unwrap()
                .iter()
                .filter_map(|t| t["route"].as_str()?.strip_suffix("/..."))
                .any(|prefix| path.starts_with(prefix)),
            "openapi.yaml documents `{path}`, which no spin.toml route serves"
        );
    }
}
