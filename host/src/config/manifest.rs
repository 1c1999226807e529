//! `spin.toml`, manifest version 2: the subset of Spin's schema this host implements.
//! Anything outside that subset is refused at startup by name, never silently ignored.

use anyhow::{bail, Context, Result};
use serde::Deserialize;
use std::collections::{BTreeMap, HashSet};
use std::path::{Path, PathBuf};

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Manifest {
    pub spin_manifest_version: u32,
    pub application: Application,
    #[serde(default)]
    pub variables: BTreeMap<String, VariableDecl>,
    #[serde(default)]
    pub trigger: Triggers,
    #[serde(default)]
    pub component: BTreeMap<String, ComponentDecl>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
#[allow(dead_code)] // descriptive fields: accepted so Spin manifests parse, unused by a host
pub struct Application {
    pub name: String,
    pub version: Option<String>,
    pub description: Option<String>,
    #[serde(default)]
    pub authors: Vec<String>,
}

/// An application variable: a default, or `required`; `secret` keeps it out of logs.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
#[allow(dead_code)] // `secret` and `description` matter to Spin's tooling, not to serving
pub struct VariableDecl {
    pub default: Option<String>,
    #[serde(default)]
    pub required: bool,
    #[serde(default)]
    pub secret: bool,
    pub description: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Triggers {
    #[serde(default)]
    pub http: Vec<HttpTrigger>,
    #[serde(default)]
    pub cron: Vec<CronTrigger>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HttpTrigger {
    pub route: Route,
    pub component: String,
    pub executor: Option<Executor>,
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(untagged)]
pub enum Route {
    Path(String),
    Private { private: bool },
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Executor {
    #[serde(rename = "type")]
    pub kind: String,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CronTrigger {
    pub component: String,
    pub cron_expression: String,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
#[allow(dead_code)] // `description` and `build` are for people and `spin build`
pub struct ComponentDecl {
    pub source: String,
    pub description: Option<String>,
    #[serde(default)]
    pub sqlite_databases: Vec<String>,
    #[serde(default)]
    pub key_value_stores: Vec<String>,
    #[serde(default)]
    pub variables: BTreeMap<String, String>,
    #[serde(default)]
    pub allowed_outbound_hosts: Vec<String>,
    #[serde(default)]
    pub environment: BTreeMap<String, String>,
    /// Read by `spin build`, not by a host; accepted so the same manifest serves both.
    pub build: Option<toml::Value>,
}

impl Manifest {
    pub fn load(path: &Path) -> Result<Self> {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("cannot read manifest {}", path.display()))?;
        let manifest: Manifest = toml::from_str(&text).with_context(|| {
            format!("{} is not a manifest this host understands", path.display())
        })?;
        manifest
            .validate()
            .with_context(|| format!("invalid manifest {}", path.display()))?;
        Ok(manifest)
    }

    fn validate(&self) -> Result<()> {
        if self.spin_manifest_version != 2 {
            bail!(
                "spin_manifest_version must be 2, found {}",
                self.spin_manifest_version
            );
        }
        for name in self.variables.keys() {
            validate_variable_name(name)
                .with_context(|| format!("application variable `{name}`"))?;
        }
        for (name, decl) in &self.variables {
            if decl.required && decl.default.is_some() {
                bail!("variable `{name}` is `required` and has a `default`; choose one");
            }
        }
        for (id, component) in &self.component {
            validate_component_id(id)?;
            for name in component.variables.keys() {
                validate_variable_name(name)
                    .with_context(|| format!("variable `{name}` of component `{id}`"))?;
            }
        }
        let mut routes = HashSet::new();
        for trigger in &self.trigger.http {
            self.require_component(&trigger.component, "[[trigger.http]]")?;
            if let Some(executor) = &trigger.executor {
                if executor.kind != "spin" {
                    bail!(
                        "HTTP executor `{}` (component `{}`) is not supported; only `spin`",
                        executor.kind,
                        trigger.component
                    );
                }
            }
            match &trigger.route {
                Route::Path(path) => {
                    if !path.starts_with('/') {
                        bail!(
                            "route `{path}` of component `{}` must start with `/`",
                            trigger.component
                        );
                    }
                    if !routes.insert(path.trim_end_matches('/').to_string()) {
                        bail!("route `{path}` is declared more than once");
                    }
                }
                Route::Private { private: false } => {
                    bail!(
                        "route of component `{}` is `{{ private = false }}`; use a path instead",
                        trigger.component
                    )
                }
                Route::Private { private: true } => {}
            }
        }
        for trigger in &self.trigger.cron {
            self.require_component(&trigger.component, "[[trigger.cron]]")?;
        }
        Ok(())
    }

    fn require_component(&self, id: &str, section: &str) -> Result<()> {
        if !self.component.contains_key(id) {
            bail!("{section} names component `{id}`, which has no [component.{id}] section");
        }
        Ok(())
    }

    /// A component's source, relative to the manifest's folder.
    pub fn source_path(&self, manifest_dir: &Path, id: &str) -> PathBuf {
        manifest_dir.join(&self.component[id].source)
    }
}

/// Spin's rule for component ids: kebab-case, lower-case ASCII words of letters and digits.
fn validate_component_id(id: &str) -> Result<()> {
    let ok = !id.is_empty()
        && id.split('-').all(|word| {
            !word.is_empty()
                && word
                    .chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit())
        })
        && id.starts_with(|c: char| c.is_ascii_lowercase());
    if !ok {
        bail!("component id `{id}` must be kebab-case (lower-case letters and digits, words joined by `-`)");
    }
    Ok(())
}

/// Spin's rule for variable names: lower-case letters, digits and single underscores,
/// starting with a letter and not ending with an underscore.
pub fn validate_variable_name(name: &str) -> Result<()> {
    let ok = name.starts_with(|c: char| c.is_ascii_lowercase())
        && !name.ends_with('_')
        && !name.contains("__")
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_');
    if !ok {
        bail!("`{name}` is not a valid variable name: use lower-case letters, digits and single underscores, starting with a letter");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<Manifest> {
        let m: Manifest = toml::from_str(text)?;
        m.validate()?;
        Ok(m)
    }

    const BASE: &str = r#"
spin_manifest_version = 2
[application]
name = "t"
[[trigger.http]]
route = "/a/..."
component = "a"
[component.a]
source = "a.wasm"
"#;

    #[test]
    fn accepts_the_supported_subset() {
        let m = parse(BASE).unwrap();
        assert_eq!(m.trigger.http[0].route, Route::Path("/a/...".into()));
    }

    #[test]
    fn refuses_unknown_keys_triggers_and_bad_names_by_name() {
        let unknown_key = format!("{BASE}files = [\"x\"]\n");
        assert!(format!("{:#}", parse(&unknown_key).unwrap_err()).contains("files"));
        let redis = BASE.replace("[[trigger.http]]", "[[trigger.redis]]");
        assert!(format!("{:#}", parse(&redis).unwrap_err()).contains("redis"));
        let missing = BASE.replace("component = \"a\"", "component = \"b\"");
        assert!(format!("{:#}", parse(&missing).unwrap_err()).contains("`b`"));
        let bad_id = BASE
            .replace("component.a]", "component.A_b]")
            .replace("\"a\"", "\"A_b\"");
        assert!(parse(&bad_id).is_err());
        let dup = format!("{BASE}[[trigger.http]]\nroute = \"/a/...\"\ncomponent = \"a\"\n");
        assert!(format!("{:#}", parse(&dup).unwrap_err()).contains("more than once"));
    }

    #[test]
    fn variable_names_follow_spin() {
        for ok in ["a", "admin_token", "a1_b2"] {
            validate_variable_name(ok).unwrap();
        }
        for bad in ["", "A", "1a", "a__b", "a_", "a-b"] {
            assert!(validate_variable_name(bad).is_err(), "{bad}");
        }
    }
}
