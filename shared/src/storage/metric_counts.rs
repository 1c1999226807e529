//! The business counts the relay keeps for `GET /metrics` (`metric_counts`): a handful
//! of rows moved once per batch inside the relay's own transactions, so a scrape never
//! counts pledges or notifications.

use super::{row_placeholders, DbError, SqlExecutor, SqlValue};
use std::collections::BTreeMap;

/// Pledges by relayed status (label: the status).
pub const PLEDGES: &str = "pledges";
/// Notifications finished (label: `sent` or `failed`).
pub const NOTIFICATIONS: &str = "notifications";
/// Feed deliveries finished (label: `sent` or `failed`).
pub const FEED: &str = "feed";
/// Provider event deliveries by what they did (label: the webhook's outcome).
pub const WEBHOOKS: &str = "webhooks";
/// Requests answered from an Idempotency-Key's earlier use (label: `replay`,
/// `in_progress` or `conflict`).
pub const IDEMPOTENCY: &str = "idempotency";

/// The last reconciliation (labels `drift`: what it found, `checked_at_ms`: when).
pub const RECONCILIATION: &str = "reconciliation";

/// Rows each count written by requests is spread over: a request adds one to one of them
/// in its own transaction, so concurrent requests rarely wait on the same row (Postgres
/// holds it locked until the commit). Reads add them up.
const SHARDS: u64 = 16;

/// Changes to some counts, summed before they are written.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Deltas(BTreeMap<(&'static str, String), i64>);

impl Deltas {
    pub fn add(&mut self, name: &'static str, label: &str, by: i64) {
        *self.0.entry((name, label.to_string())).or_default() += by;
    }

    /// Writes the non-zero changes in one statement. The rows are taken in key order,
    /// so two relays writing at once never wait on each other in a cycle.
    pub fn apply(&self, db: &dyn SqlExecutor) -> Result<(), DbError> {
        let moved: Vec<_> = self.0.iter().filter(|(_, by)| **by != 0).collect();
        if moved.is_empty() {
            return Ok(());
        }
        let mut params: Vec<SqlValue> = Vec::with_capacity(moved.len() * 3);
        for ((name, label), by) in &moved {
            params.extend([(*name).into(), label.as_str().into(), (**by).into()]);
        }
        let values: Vec<String> = row_placeholders(moved.len(), 3)
            .map(|p| format!("({})", p.join(", ")))
            .collect();
        db.execute(
            &format!(
                "INSERT INTO metric_counts (name, label, value) VALUES {} ON CONFLICT (name, label) \
                 DO UPDATE SET value = metric_counts.value + excluded.value",
                values.join(", ")
            ),
            &params,
        )
    }
}

/// Adds one to count `name`/`label` for a request, on the shard `spread` (an event id, a
/// key) falls on. The caller's last statement in its transaction, so no lock is awaited
/// while this row is held.
pub fn bump(db: &dyn SqlExecutor, name: &str, label: &str, spread: &str) -> Result<(), DbError> {
    let shard = spread
        .bytes()
        .fold(0u64, |h, b| h.wrapping_mul(31).wrapping_add(u64::from(b)))
        % SHARDS;
    db.execute(
        "INSERT INTO metric_counts (name, label, value) VALUES (?1, ?2, 1) ON CONFLICT (name, label) \
         DO UPDATE SET value = metric_counts.value + 1",
        &[name.into(), format!("{label}#{shard}").into()],
    )
}

/// Sets `name`/`label` to `value` (a figure, not a count: the last reconciliation's).
pub fn set(db: &dyn SqlExecutor, name: &str, label: &str, value: i64) -> Result<(), DbError> {
    db.execute(
        "INSERT INTO metric_counts (name, label, value) VALUES (?1, ?2, ?3) ON CONFLICT (name, label) \
         DO UPDATE SET value = excluded.value",
        &[name.into(), label.into(), value.into()],
    )
}

/// Every count, by name and label (a sharded count's rows added up).
pub fn read_all(db: &dyn SqlExecutor) -> Result<BTreeMap<(String, String), i64>, DbError> {
    let rows = db.query("SELECT name, label, value FROM metric_counts", &[])?;
    let mut counts = BTreeMap::new();
    for row in rows.iter() {
        let label = row.text("label")?;
        let label = label
            .split_once('#')
            .map_or(label.as_str(), |(l, _)| l)
            .to_string();
        *counts.entry((row.text("name")?, label)).or_insert(0) += row.i64("value")?;
    }
    Ok(counts)
}
