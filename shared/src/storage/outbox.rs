//! The transactional outbox writer. Every state change appends its event here inside the
//! same transaction, so an event exists exactly when its change was committed.

use super::{trace_context, DbError, SqlExecutor};
use crate::telemetry::current;
use serde::Serialize;

/// Appends one event, with the current request's trace context if it has one; call only
/// inside the transaction that makes the change.
pub fn append(
    db: &dyn SqlExecutor,
    aggregate_id: &str,
    event_type: &str,
    payload: &impl Serialize,
    now_ms: i64,
) -> Result<(), DbError> {
    let payload = serde_json::to_string(payload).map_err(|e| DbError::Decode(e.to_string()))?;
    crate::relay::totals_cache::note_append(now_ms);
    const INSERT: &str =
        "INSERT INTO outbox (aggregate_id, event_type, payload, created_at_ms) VALUES (?1, ?2, ?3, ?4)";
    let params = [
        aggregate_id.into(),
        event_type.into(),
        payload.into(),
        now_ms.into(),
    ];
    let Some(context) = current::get() else {
        return db.execute(INSERT, &params);
    };
    let rows = db.query(&format!("{INSERT} RETURNING id"), &params)?;
    let id = rows
        .first()
        .ok_or_else(|| DbError::Other("outbox insert returned no id".into()))?
        .i64("id")?;
    trace_context::record_event(db, id, &context)
}
