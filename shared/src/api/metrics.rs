//! `GET /metrics`: the business figures in the OpenMetrics text format (Prometheus
//! scrapes it), served by a component so it works on any Spin host. Cheap enough to
//! scrape every second: see `storage::business_metrics`. Request figures per component
//! (status, latency) are the host's own (Spin: OTLP; the project's host:
//! `/.well-known/spin-host/metrics`).

use super::{ApiRequest, ApiResponse, ApiResult, Problem};
use crate::storage::business_metrics::{self, BusinessMetrics, Money, Queue};
use crate::storage::SqlExecutor;
use prometheus_client::encoding::text::encode;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::registry::Registry;
use std::sync::atomic::AtomicU64;

pub const CONTENT_TYPE: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";

type Labels = Vec<(&'static str, String)>;

/// A per-currency figure: its name, its help, and how it is read.
type MoneyFigure = (&'static str, &'static str, fn(&Money) -> u64);

pub fn handle(req: &ApiRequest, db: &dyn SqlExecutor, now_ms: i64) -> ApiResponse {
    route(req, db, now_ms).unwrap_or_else(Problem::into_response)
}

fn route(req: &ApiRequest, db: &dyn SqlExecutor, now_ms: i64) -> ApiResult {
    if req.method != "GET" {
        return Err(Problem::method_not_allowed("GET"));
    }
    if !req.query.is_empty() {
        return Err(Problem::new(
            400,
            "invalid_query",
            "/metrics takes no query parameters",
        ));
    }
    let figures = business_metrics::read(db, now_ms).map_err(Problem::storage)?;
    Ok(ApiResponse {
        status: 200,
        headers: vec![
            ("content-type".into(), CONTENT_TYPE.into()),
            ("cache-control".into(), "no-store".into()),
        ],
        body: render(&figures).into_bytes(),
    })
}

/// One labelled gauge family, registered under `name`.
fn family(registry: &mut Registry, name: &str, help: &str) -> Family<Labels, Gauge> {
    let family = Family::<Labels, Gauge>::default();
    registry.register(name, help, family.clone());
    family
}

fn gauge(registry: &mut Registry, name: &str, help: &str, value: i64) {
    let gauge = Gauge::<i64>::default();
    gauge.set(value);
    registry.register(name, help, gauge);
}

fn seconds(registry: &mut Registry, name: &str, help: &str, ms: i64) {
    let gauge = Gauge::<f64, AtomicU64>::default();
    gauge.set(ms as f64 / 1000.0);
    registry.register(name, help, gauge);
}

fn clamp(v: u64) -> i64 {
    i64::try_from(v).unwrap_or(i64::MAX)
}

/// The figures as OpenMetrics text.
pub fn render(m: &BusinessMetrics) -> String {
    let mut r = Registry::default();
    let pledges = family(
        &mut r,
        "careforall_pledges",
        "Pledges by status, as the relay has applied them",
    );
    for (status, n) in &m.pledges {
        pledges
            .get_or_create(&vec![("status", status.as_str().to_string())])
            .set(*n);
    }
    let money: [MoneyFigure; 6] = [
        (
            "careforall_pledged_minor",
            "Amount pledged and not cancelled, in minor units",
            |m| m.pledged_minor,
        ),
        (
            "careforall_captured_minor",
            "Amount captured by the provider, in minor units (only grows)",
            |m| m.captured_minor,
        ),
        (
            "careforall_refunded_minor",
            "Amount refunded as the provider confirmed, in minor units",
            |m| m.refunded_minor,
        ),
        (
            "careforall_disputed_minor",
            "Amount withdrawn by disputes, in minor units",
            |m| m.disputed_minor,
        ),
        (
            "careforall_raised_minor",
            "Captured minus refunded minus disputed, in minor units",
            |m| m.raised_minor(),
        ),
        (
            "careforall_captured_pledges",
            "Pledges whose payment was captured",
            |m| m.captured_count,
        ),
    ];
    for (name, help, value) in money {
        let by_currency = family(&mut r, name, help);
        for (currency, figures) in &m.money {
            by_currency
                .get_or_create(&vec![("currency", currency.clone())])
                .set(clamp(value(figures)));
        }
    }
    gauge(
        &mut r,
        "careforall_relay_backlog_events",
        "Outbox events not yet published",
        clamp(m.relay_backlog),
    );
    gauge(
        &mut r,
        "careforall_relay_claimed_events",
        "Unpublished events a live relay lease holds",
        clamp(m.relay_claimed),
    );
    seconds(
        &mut r,
        "careforall_relay_lag_seconds",
        "Age of the oldest unpublished outbox event (0 when idle)",
        m.relay_lag_ms,
    );
    gauge(
        &mut r,
        "careforall_relay_dead_letters",
        "Outbox events set aside after failing every attempt",
        clamp(m.dead_letters),
    );
    seconds(
        &mut r,
        "careforall_relay_batch_duration_p50_seconds",
        "Median duration of the recent relay runs that did work",
        m.run_duration_p50_ms,
    );
    seconds(
        &mut r,
        "careforall_relay_batch_duration_p99_seconds",
        "99th percentile duration of the recent relay runs that did work",
        m.run_duration_p99_ms,
    );
    seconds(
        &mut r,
        "careforall_relay_last_run_timestamp_seconds",
        "When the last relay run that did work started (Unix time)",
        m.last_run_at_ms.unwrap_or(0),
    );
    queue(
        &mut r,
        "careforall_notifications",
        "Notifications (donor receipts, admin alerts) by state",
        &m.notifications,
    );
    queue(
        &mut r,
        "careforall_feed_deliveries",
        "External feed deliveries by state",
        &m.feed,
    );
    let webhooks = family(
        &mut r,
        "careforall_webhook_deliveries",
        "Provider event deliveries by outcome (a bad signature never reaches the store: see the host's 401s)",
    );
    for (outcome, n) in &m.webhooks {
        webhooks
            .get_or_create(&vec![("outcome", outcome.clone())])
            .set(*n);
    }
    let idempotency = family(
        &mut r,
        "careforall_idempotent_answers",
        "Requests answered from an Idempotency-Key's earlier use: replay, in_progress (409), conflict (422)",
    );
    for (answer, n) in &m.idempotency {
        idempotency
            .get_or_create(&vec![("answer", answer.to_string())])
            .set(*n);
    }
    gauge(
        &mut r,
        "careforall_reconciliation_drift",
        "Drifts the last reconciliation found (totals vs pledges vs the provider)",
        m.reconciliation_drift,
    );
    seconds(
        &mut r,
        "careforall_reconciliation_last_run_timestamp_seconds",
        "When the last reconciliation ran (Unix time; 0: never)",
        m.reconciliation_at_ms,
    );
    let mut out = String::new();
    encode(&mut out, &r).expect("writing to a String cannot fail");
    out
}

fn queue(registry: &mut Registry, name: &str, help: &str, q: &Queue) {
    let states = family(registry, name, help);
    for (state, n) in [
        ("pending", q.pending),
        ("sent", q.sent),
        ("failed", q.failed),
    ] {
        states
            .get_or_create(&vec![("state", state.to_string())])
            .set(clamp(n));
    }
}
