//! The relay inside Spin: its settings from variables (each parse error naming its
//! variable), a run over the configured database, and the after-response batch.

use super::telemetry::{export, otlp_endpoint};
use super::{new_id, now_ms, open_database, variables, Access, ProviderSettings, SpinHttp};
use crate::relay::abandoned::Sweep;
use crate::relay::feed::FeedSettings;
use crate::relay::notify::NotifySettings;
use crate::relay::{Relay, RelaySettings};
use crate::storage::key_value::KeyValue;
use crate::storage::SqlExecutor;
use crate::telemetry::SpanRecorder;
use anyhow::Context;

fn number<T: std::str::FromStr>(name: &str) -> anyhow::Result<T>
where
    T::Err: std::fmt::Display,
{
    let raw = variables::get(name)?;
    raw.trim()
        .parse()
        .map_err(|e| anyhow::anyhow!("variable {name} = `{raw}`: {e}"))
}

pub fn relay_settings_from_variables() -> anyhow::Result<RelaySettings> {
    let subscribers: Vec<String> = variables::get("feed_subscribers")?
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_string)
        .collect();
    let signing_secret = variables::get("feed_signing_secret")?.into_bytes();
    anyhow::ensure!(
        subscribers.is_empty() || !signing_secret.is_empty(),
        "variable feed_subscribers names subscribers but feed_signing_secret is empty"
    );
    let batch_size: u32 = number("relay_batch_size")?;
    anyhow::ensure!(
        (1..=RelaySettings::MAX_BATCH_SIZE).contains(&batch_size),
        "variable relay_batch_size must be 1 to {}, not {batch_size}",
        RelaySettings::MAX_BATCH_SIZE
    );
    Ok(RelaySettings {
        batch_size,
        lease_ms: number("relay_lease_ms")?,
        time_budget_ms: RelaySettings::DEFAULT_TIME_BUDGET_MS,
        deliveries_per_run: RelaySettings::DEFAULT_DELIVERIES_PER_RUN,
        notify: NotifySettings {
            gateway_url: variables::get("notification_url")?,
            admin_email: variables::get("admin_alert_email")?,
            public_base_url: variables::get("public_base_url")?,
            donor_token_secret: variables::get("donor_token_secret")
                .context("variable donor_token_secret")?
                .into_bytes(),
            failure_spike_threshold: number("failure_spike_threshold")?,
            failure_window_ms: number::<i64>("failure_window_secs")? * 1000,
        },
        feed: FeedSettings {
            subscribers,
            signing_secret,
        },
    })
}

/// Runs `body` with the scheduled relay over the configured database and settings: it
/// also cancels abandoned payments when `abandoned_payment_cancel_after_secs` is not 0.
pub fn with_relay<T>(body: impl FnOnce(&Relay<'_>) -> T) -> anyhow::Result<T> {
    let db = open_database(Access::Write)?;
    let after_secs: i64 = number("abandoned_payment_cancel_after_secs")?;
    anyhow::ensure!(
        after_secs >= 0,
        "variable abandoned_payment_cancel_after_secs must be 0 (never) or a number of seconds"
    );
    let provider = ProviderSettings::from_variables()?;
    let stripe = provider.stripe();
    let sweep = (after_secs > 0).then(|| Sweep {
        provider: &stripe,
        after_ms: after_secs.saturating_mul(1000),
    });
    let kv = super::DefaultStore::default();
    let endpoint = otlp_endpoint();
    let recorder = SpanRecorder::default();
    let spans = endpoint.as_ref().map(|_| &recorder);
    let result = relay_over(db.as_ref(), sweep, Some(&kv), Some(&kv), spans, body);
    if let Some(endpoint) = &endpoint {
        export(endpoint, "outbox-relay", &recorder);
    }
    result
}

/// Runs `body` with a relay over `db` (a connection the caller already holds).
fn relay_over<T>(
    db: &dyn SqlExecutor,
    sweep: Option<Sweep<'_>>,
    heartbeat: Option<&dyn KeyValue>,
    totals_cache: Option<&dyn KeyValue>,
    spans: Option<&SpanRecorder>,
    body: impl FnOnce(&Relay<'_>) -> T,
) -> anyhow::Result<T> {
    let settings = relay_settings_from_variables()?;
    let relay = Relay {
        db,
        http: &SpinHttp,
        settings: &settings,
        clock: &now_ms,
        new_id: &new_id,
        sweep,
        heartbeat,
        spans,
        totals_cache,
    };
    Ok(body(&relay))
}

/// For a handler that has already answered, on the connection it answered with: when
/// `relay_after_response` is `true`, one outbox batch (the handler's own fresh events
/// among the oldest waiting) is applied now instead of at the next scheduled run.
/// Whatever fails here is logged and left to the scheduled relay: the client has its
/// answer, and the events stay in the outbox.
pub fn relay_after_response(db: &dyn SqlExecutor) {
    let outcome = variables::get("relay_after_response")
        .map_err(anyhow::Error::from)
        .and_then(|raw| match raw.trim() {
            "true" => relay_over(
                db,
                None,
                None,
                Some(&super::DefaultStore::default()),
                None,
                |relay| relay.publish_one_batch().map(drop),
            )?
            .context("relaying after the response"),
            "false" => Ok(()),
            other => {
                anyhow::bail!("variable relay_after_response must be true or false, not `{other}`")
            }
        });
    if let Err(e) = outcome {
        eprintln!("relay after response: {e:#}");
    }
}
