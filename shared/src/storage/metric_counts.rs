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

/// Every count, by name and label.
pub fn read_all(db: &dyn SqlExecutor) -> Result<BTreeMap<(String, String), i64>, DbError> {
    let rows = db.query("SELECT name, label, value FROM metric_counts", &[])?;
    rows.iter()
        .map(|row| Ok(((row.text("name")?, row.text("label")?), row.i64("value")?)))
        .collect()
}
