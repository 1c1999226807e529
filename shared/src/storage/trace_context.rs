//! Where a write's trace context is kept (migration 0007): beside its outbox event, and
//! beside the notification an event queued. Written only under a trace context.

use super::{placeholders, DbError, SqlExecutor, SqlValue};
use crate::telemetry::TraceParent;
use std::collections::HashMap;

pub fn record_event(
    db: &dyn SqlExecutor,
    event_id: i64,
    context: &TraceParent,
) -> Result<(), DbError> {
    db.execute(
        "INSERT INTO outbox_trace_context (event_id, traceparent) VALUES (?1, ?2) \
         ON CONFLICT (event_id) DO NOTHING",
        &[event_id.into(), context.to_string().into()],
    )
}

pub fn record_notification(
    db: &dyn SqlExecutor,
    notification_id: &str,
    context: &TraceParent,
) -> Result<(), DbError> {
    db.execute(
        "INSERT INTO notification_trace_context (notification_id, traceparent) VALUES (?1, ?2) \
         ON CONFLICT (notification_id) DO NOTHING",
        &[notification_id.into(), context.to_string().into()],
    )
}

/// The trace contexts of those of `event_ids` written under one.
pub fn of_events(
    db: &dyn SqlExecutor,
    event_ids: &[i64],
) -> Result<HashMap<i64, TraceParent>, DbError> {
    if event_ids.is_empty() {
        return Ok(HashMap::new());
    }
    let ids: Vec<SqlValue> = event_ids.iter().map(|id| (*id).into()).collect();
    db.query(
        &format!(
            "SELECT event_id, traceparent FROM outbox_trace_context WHERE event_id IN ({})",
            placeholders(1, ids.len())
        ),
        &ids,
    )?
    .iter()
    .filter_map(|row| {
        let parsed = row.text("traceparent").map(|t| TraceParent::parse(&t));
        match (row.i64("event_id"), parsed) {
            (Ok(id), Ok(Some(context))) => Some(Ok((id, context))),
            (Err(e), _) | (_, Err(e)) => Some(Err(e)),
            (Ok(_), Ok(None)) => None,
        }
    })
    .collect()
}

/// The trace contexts of those of `notification_ids` queued under one.
pub fn of_notifications(
    db: &dyn SqlExecutor,
    notification_ids: &[&str],
) -> Result<HashMap<String, TraceParent>, DbError> {
    if notification_ids.is_empty() {
        return Ok(HashMap::new());
    }
    let ids: Vec<SqlValue> = notification_ids.iter().map(|id| (*id).into()).collect();
    db.query(
        &format!(
            "SELECT notification_id, traceparent FROM notification_trace_context \
             WHERE notification_id IN ({})",
            placeholders(1, ids.len())
        ),
        &ids,
    )?
    .iter()
    .filter_map(|row| {
        let parsed = row.text("traceparent").map(|t| TraceParent::parse(&t));
        match (row.text("notification_id"), parsed) {
            (Ok(id), Ok(Some(context))) => Some(Ok((id, context))),
            (Err(e), _) | (_, Err(e)) => Some(Err(e)),
            (Ok(_), Ok(None)) => None,
        }
    })
    .collect()
}
