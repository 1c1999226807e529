//! What `GET /metrics` reports of the business, each figure read through a small table or
//! an index: the relay's counts (`metric_counts`), the campaign totals summed by currency
//! (one row per campaign), the relay's health, and the queues' pending rows (their
//! partial indexes). Nothing here counts pledges, events or notifications.

use super::metric_counts::{
    self, FEED, IDEMPOTENCY, NOTIFICATIONS, PLEDGES, RECONCILIATION, WEBHOOKS,
};
use super::{DbError, SqlExecutor};
use crate::domain::pledge::PledgeStatus;
use crate::relay::health;
use std::collections::BTreeMap;

/// Money in one currency, in minor units, as the relay has applied it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Money {
    pub pledged_minor: u64,
    pub captured_minor: u64,
    pub refunded_minor: u64,
    pub disputed_minor: u64,
    pub captured_count: u64,
}

impl Money {
    pub fn raised_minor(&self) -> u64 {
        self.captured_minor
            .saturating_sub(self.refunded_minor)
            .saturating_sub(self.disputed_minor)
    }
}

/// A queue's rows by state.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Queue {
    pub pending: u64,
    pub sent: u64,
    pub failed: u64,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BusinessMetrics {
    /// Every status, zero included.
    pub pledges: Vec<(PledgeStatus, i64)>,
    pub money: BTreeMap<String, Money>,
    pub relay_backlog: u64,
    pub relay_claimed: u64,
    pub relay_lag_ms: i64,
    pub dead_letters: u64,
    pub last_run_at_ms: Option<i64>,
    pub run_duration_p50_ms: i64,
    pub run_duration_p99_ms: i64,
    pub notifications: Queue,
    pub feed: Queue,
    /// Provider event deliveries by outcome, every known outcome included.
    pub webhooks: Vec<(String, i64)>,
    /// Requests answered from a key's earlier use: replay, in_progress, conflict.
    pub idempotency: Vec<(&'static str, i64)>,
    /// Drifts the last reconciliation found, and when it ran (0: never).
    pub reconciliation_drift: i64,
    pub reconciliation_at_ms: i64,
}

/// What a provider event delivery can do (`storage::provider_events`).
pub const WEBHOOK_OUTCOMES: [&str; 6] = [
    "applied",
    "recorded",
    "stale",
    "duplicate",
    "invalid",
    "unknown_payment",
];

pub fn read(db: &dyn SqlExecutor, now_ms: i64) -> Result<BusinessMetrics, DbError> {
    let counts = metric_counts::read_all(db)?;
    let count = |name: &str, label: &str| -> i64 {
        counts
            .get(&(name.to_string(), label.to_string()))
            .copied()
            .unwrap_or(0)
    };
    let finished = |name: &str, pending: u64| Queue {
        pending,
        sent: count(name, "sent").max(0) as u64,
        failed: count(name, "failed").max(0) as u64,
    };
    let (relay_backlog, relay_claimed) = health::backlog(db, now_ms)?;
    let runs = health::run_stats(db)?;
    Ok(BusinessMetrics {
        pledges: PledgeStatus::ALL
            .iter()
            .map(|s| (*s, count(PLEDGES, s.as_str())))
            .collect(),
        money: money_by_currency(db)?,
        relay_backlog,
        relay_claimed,
        relay_lag_ms: health::lag_ms(db, now_ms)?,
        dead_letters: crate::relay::dead_letter::count(db)?,
        last_run_at_ms: runs.last_run_at_ms,
        run_duration_p50_ms: runs.duration_p50_ms,
        run_duration_p99_ms: runs.duration_p99_ms,
        notifications: finished(NOTIFICATIONS, pending(db, "notifications")?),
        feed: finished(FEED, pending(db, "feed_deliveries")?),
        webhooks: with_known(&counts, WEBHOOKS, &WEBHOOK_OUTCOMES),
        idempotency: ["replay", "in_progress", "conflict"]
            .into_iter()
            .map(|answer| (answer, count(IDEMPOTENCY, answer)))
            .collect(),
        reconciliation_drift: count(RECONCILIATION, "drift"),
        reconciliation_at_ms: count(RECONCILIATION, "checked_at_ms"),
    })
}

fn money_by_currency(db: &dyn SqlExecutor) -> Result<BTreeMap<String, Money>, DbError> {
    let rows = db.query(
        "SELECT currency, CAST(SUM(pledged_minor) AS BIGINT) AS pledged, \
         CAST(SUM(captured_minor) AS BIGINT) AS captured, CAST(SUM(refunded_minor) AS BIGINT) AS refunded, \
         CAST(SUM(disputed_minor) AS BIGINT) AS disputed, CAST(SUM(captured_count) AS BIGINT) AS captured_count \
         FROM campaign_totals GROUP BY currency",
        &[],
    )?;
    rows.iter()
        .map(|row| {
            Ok((
                row.text("currency")?,
                Money {
                    pledged_minor: row.u64("pledged")?,
                    captured_minor: row.u64("captured")?,
                    refunded_minor: row.u64("refunded")?,
                    disputed_minor: row.u64("disputed")?,
                    captured_count: row.u64("captured_count")?,
                },
            ))
        })
        .collect()
}

/// Pending rows of a queue, counted through its partial index of pending rows.
fn pending(db: &dyn SqlExecutor, table: &str) -> Result<u64, DbError> {
    let rows = db.query(
        &format!("SELECT COUNT(*) AS n FROM {table} WHERE status = 'pending'"),
        &[],
    )?;
    rows.first()
        .ok_or_else(|| DbError::Other("COUNT returned no row".into()))?
        .u64("n")
}

/// The counts under `name`: every label in `known` (zero if none yet), then any other.
fn with_known(
    counts: &BTreeMap<(String, String), i64>,
    name: &str,
    known: &[&str],
) -> Vec<(String, i64)> {
    let mut out: Vec<(String, i64)> = known.iter().map(|l| (l.to_string(), 0)).collect();
    for ((n, label), value) in counts {
        if n != name {
            continue;
        }
        match out.iter_mut().find(|(l, _)| l == label) {
            Some(entry) => entry.1 = *value,
            None => out.push((label.clone(), *value)),
        }
    }
    out
}
