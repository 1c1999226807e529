//! `fermyon:spin/variables@2.0.0`: application variables from defaults and
//! `SPIN_VARIABLE_<NAME>` environment variables, exposed to components through their own
//! templated `variables` table.

use crate::bindings::spin::fermyon::spin2_0_0::variables::{Error, Host};
use crate::config::component::ComponentConfig;
use crate::config::manifest::{validate_variable_name, Manifest};
use crate::config::template;
use anyhow::{anyhow, bail, Context, Result};
use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

/// Resolved application variables. Secret values never appear in `Debug` output.
pub struct AppVariables {
    values: BTreeMap<String, String>,
}

impl std::fmt::Debug for AppVariables {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list().entries(self.values.keys()).finish()
    }
}

impl AppVariables {
    /// Resolves every declared variable: the environment (`SPIN_VARIABLE_NAME`) wins over
    /// the default; a `required` variable with neither fails startup.
    pub fn resolve(manifest: &Manifest, env: impl Fn(&str) -> Option<String>) -> Result<Self> {
        let mut values = BTreeMap::new();
        for (name, decl) in &manifest.variables {
            let env_name = format!("SPIN_VARIABLE_{}", name.to_ascii_uppercase());
            let value = match (env(&env_name), &decl.default, decl.required) {
                (Some(v), _, _) => v,
                (None, Some(d), _) => d.clone(),
                (None, None, true) => {
                    bail!("required variable `{name}` is not set: set {env_name}")
                }
                (None, None, false) => {
                    bail!("variable `{name}` needs a `default` or `required = true`")
                }
            };
            values.insert(name.clone(), value);
        }
        Ok(Self { values })
    }

    pub fn get(&self, name: &str) -> Result<String> {
        self.values
            .get(name)
            .cloned()
            .ok_or_else(|| anyhow!("no application variable `{name}` is declared in [variables]"))
    }

    /// Renders a `{{ variable }}` template against these variables.
    pub fn render(&self, template_text: &str) -> Result<String> {
        template::render(template_text, |name| self.get(name))
    }

    /// A component's variables, resolved once at startup.
    pub fn for_component(
        &self,
        manifest: &Manifest,
        component: &str,
    ) -> Result<HashMap<String, String>> {
        manifest.component[component]
            .variables
            .iter()
            .map(|(name, tpl)| {
                let value = self
                    .render(tpl)
                    .with_context(|| format!("variable `{name}` of component `{component}`"))?;
                Ok((name.clone(), value))
            })
            .collect()
    }
}

/// One instance's variables: its component's, resolved at startup.
pub struct VariablesInstance {
    component: Arc<ComponentConfig>,
}

impl VariablesInstance {
    pub fn new(component: Arc<ComponentConfig>) -> Self {
        Self { component }
    }
}

impl Host for VariablesInstance {
    async fn get(&mut self, name: String) -> wasmtime::Result<Result<String, Error>> {
        if let Err(e) = validate_variable_name(&name) {
            return Ok(Err(Error::InvalidName(e.to_string())));
        }
        Ok(self
            .component
            .variables
            .get(&name)
            .cloned()
            .ok_or_else(|| Error::Undefined(format!("no variable for {name:?}"))))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn manifest() -> Manifest {
        toml::from_str(
            r#"
spin_manifest_version = 2
[application]
name = "t"
[variables]
token = { required = true, secret = true }
mode = { default = "NORMAL" }
[component.a]
source = "a.wasm"
variables = { admin = "Bearer {{ token }}", mode = "{{ mode }}" }
"#,
        )
        .unwrap()
    }

    #[test]
    fn environment_overrides_defaults_and_required_must_be_set() {
        let m = manifest();
        let err = AppVariables::resolve(&m, |_| None).unwrap_err();
        assert!(err.to_string().contains("SPIN_VARIABLE_TOKEN"));
        let vars =
            AppVariables::resolve(&m, |k| (k == "SPIN_VARIABLE_TOKEN").then(|| "t0k".into()))
                .unwrap();
        let component = vars.for_component(&m, "a").unwrap();
        assert_eq!(component["admin"], "Bearer t0k");
        assert_eq!(component["mode"], "NORMAL");
        let vars = AppVariables::resolve(&m, |k| Some(format!("env:{k}"))).unwrap();
        assert_eq!(
            vars.for_component(&m, "a").unwrap()["mode"],
            "env:SPIN_VARIABLE_MODE"
        );
        assert!(
            !format!("{vars:?}").contains("env:"),
            "values stay out of Debug output"
        );
    }
}
