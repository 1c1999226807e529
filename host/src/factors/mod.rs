//! One module per Spin interface the host implements, in the style of Spin's factors:
//! app-level state opened and validated at startup, per-instance state the factor owns,
//! the interface impl on that instance state. Factors know nothing of triggers: the HTTP
//! trigger reaches in only through the outbound HTTP interceptor.

pub mod key_value;
pub mod outbound_http;
pub mod postgres;
mod sql_words;
pub mod sqlite;
pub mod variables;

use crate::config::manifest::Manifest;
use crate::config::runtime_config::RuntimeConfig;

/// The factors' app-wide state: the stores and pools opened at startup, shared by every
/// instance.
pub struct AppFactors {
    pub sqlite: sqlite::SqliteDatabases,
    pub key_value: key_value::KeyValueStores,
    pub postgres: postgres::PgPools,
    pub outbound_http: outbound_http::OutboundPool,
}

/// Every store label a component names that the runtime config does not define, all
/// reported at once (so one fix and one restart are enough), each in its factor's words.
pub fn check_labels(manifest: &Manifest, runtime: &RuntimeConfig) -> anyhow::Result<()> {
    let mut problems = Vec::new();
    for (id, component) in &manifest.component {
        problems.extend(sqlite::undefined_labels(
            &runtime.sqlite,
            id,
            &component.sqlite_databases,
        ));
        problems.extend(key_value::undefined_labels(
            &runtime.key_value,
            id,
            &component.key_value_stores,
        ));
    }
    anyhow::ensure!(problems.is_empty(), "{}", problems.join("; "));
    Ok(())
}

/// A message for each label of `used` that `defined` lacks: component `component` uses
/// `what` `label`, to be defined as `[section.label]`.
fn undefined<V>(
    defined: &std::collections::BTreeMap<String, V>,
    used: &[String],
    component: &str,
    (what, section): (&str, &str),
) -> Vec<String> {
    used.iter()
        .filter(|label| !defined.contains_key(*label))
        .map(|label| format!("component `{component}` uses {what} `{label}`, which is not defined: define [{section}.{label}] in a runtime config file"))
        .collect()
}
