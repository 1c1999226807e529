//! Where a write's trace context is kept (migration 0007): beside its outbox event, and
//! beside the notification an event queued. Written only under a trace context.

use super::{placeholders, DbError, Row, SqlExecutor, SqlValue};
use crate::telemetry::TraceParent;
use std::collections::HashMap;

pub fn record_event(
    db: &dyn SqlExecutor,
    event_id: i64,
    context: &TraceParent,
) -> Result<(), DbError> {
    record(
        db,
        "outbox_trace_context",
        "event_id",
        event_id.into(),
        context,
    )
}

pub fn record_notification(
    db: &dyn SqlExecutor,
    notification_id: &str,
    context: &TraceParent,
) -> Result<(), DbError> {
    record(
        db,
        "notification_trace_context",
        "notification_id",
        notification_id.into(),
        context,
    )
}

fn record(
    db: &dyn SqlExecutor,
    table: &str,
    key: &str,
    id: SqlValue,
    context: &TraceParent,
) -> Result<(), DbError> {
    db.execute(
        &format!(
            "INSERT INTO {table} ({key}, traceparent) VALUES (?1, ?2) ON CONFLICT ({key}) DO NOTHING"
        ),
        &[id, context.to_string().into()],
    )
}

/// The trace contexts of those of `event_ids` written under one.
pub fn of_events(
    db: &dyn SqlExecutor,
    event_ids: &[i64],
) -> Result<HashMap<i64, TraceParent>, DbError> {
    let ids: Vec<SqlValue> = event_ids.iter().map(|id| (*id).into()).collect();
    lookup(db, "outbox_trace_context", "event_id", &ids, |row| {
        row.i64("event_id")
    })
}

/// The trace contexts of those of `notification_ids` queued under one.
pub fn of_notifications(
    db: &dyn SqlExecutor,
    notification_ids: &[&str],
) -> Result<HashMap<String, TraceParent>, DbError> {
    let ids: Vec<SqlValue> = notification_ids.iter().map(|id| (*id).into()).collect();
    lookup(
        db,
        "notification_trace_context",
        "notification_id",
        &ids,
        |row| row.text("notification_id"),
    )
}

/// `traceparent` of the rows of `table` whose `key` is one of `ids`, by key; a stored
/// value that no longer parses is left out (the work it belongs to is simply untraced).
fn lookup<K: std::hash::Hash + Eq>(
    db: &dyn SqlExecutor,
    table: &str,
    key: &str,
    ids: &[SqlValue],
    key_of: impl Fn(&Row<'_>) -> Result<K, DbError>,
) -> Result<HashMap<K, TraceParent>, DbError> {
    if ids.is_empty() {
        return Ok(HashMap::new());
    }
    let rows = db.query(
        &format!(
            "SELECT {key}, traceparent FROM {table} WHERE {key} IN ({})",
            placeholders(1, ids.len())
        ),
        ids,
    )?;
    let mut found = HashMap::new();
    for row in rows.iter() {
        if let Some(context) = TraceParent::parse(&row.text("traceparent")?) {
            found.insert(key_of(&row)?, context);
        }
    }
    Ok(found)
}
