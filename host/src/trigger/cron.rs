//! The cron trigger of Spin's cron plugin: each `[[trigger.cron]]` component runs on its
//! `cron_expression` (six fields, seconds first, as the plugin takes them).

use crate::app::AppRuntime;
use crate::bindings::cron::fermyon::spin_cron::cron_types::Metadata;
use crate::observe::log;
use anyhow::{anyhow, Context, Result};
use std::str::FromStr;
use std::sync::Arc;
use std::time::Instant;

/// Parses every schedule up front so a bad expression fails startup, not a later tick.
pub fn schedules(app: &AppRuntime) -> Result<Vec<(String, cron::Schedule)>> {
    app.cron
        .iter()
        .map(|(component, expr)| {
            let schedule = cron::Schedule::from_str(expr)
                .with_context(|| format!("cron_expression `{expr}` of component `{component}`"))?;
            Ok((component.clone(), schedule))
        })
        .collect()
}

/// Runs one component's schedule until the task is dropped.
pub async fn run(app: Arc<AppRuntime>, component: String, schedule: cron::Schedule) {
    for next in schedule.upcoming(chrono::Utc) {
        let wait = (next - chrono::Utc::now()).to_std().unwrap_or_default();
        tokio::time::sleep(wait).await;
        let outcome = match fire(&app, &component, next.timestamp() as u64).await {
            Ok(()) => "ok",
            Err(e) => {
                log::error(
                    "cron component failed",
                    &[("component", &component), ("error", &format!("{e:#}"))],
                );
                "error"
            }
        };
        app.metrics
            .cron_runs
            .with_label_values(&[&component, outcome])
            .inc();
    }
}

pub async fn fire(app: &Arc<AppRuntime>, component: &str, timestamp: u64) -> Result<()> {
    let loaded = app
        .component(component)
        .with_context(|| format!("no component `{component}`"))?;
    let pre = loaded
        .cron
        .clone()
        .with_context(|| format!("component `{component}` has no cron trigger"))?;
    let deadline = Instant::now() + app.limits.request_timeout;
    let trace = app.tracing.cron_span(component);
    let mut store = app.new_store(
        loaded.config.clone(),
        deadline,
        trace.clone(),
        app.service_chaining(),
    );
    let outcome = async {
        let instance = pre.instantiate_async(&mut store).await?;
        instance
            .call_handle_cron_event(&mut store, Metadata { timestamp })
            .await?
            .map_err(|e| anyhow!("handle-cron-event returned an error: {e:?}"))
    }
    .await;
    if let Err(e) = &outcome {
        trace.set_error(format!("{e:#}"));
    }
    trace.end();
    outcome
}
