//! The transactional outbox writer. Every state change appends its event here inside the
//! same transaction, so an event exists exactly when its change was committed.

use super::{DbError, SqlExecutor};
use serde::Serialize;

/// Appends one event; call only inside the transaction that makes the change.
pub fn append(
    db: &dyn SqlExecutor,
    aggregate_id: &str,
    event_type: &str,
    payload: &impl Serialize,
    now_ms: i64,
) -> Result<(), DbError> {
    let payload = serde_json::to_string(payload).map_err(|e| DbError::Decode(e.to_string()))?;
    db.execute(
        "INSERT INTO outbox (aggregate_id, event_type, payload, created_at_ms) VALUES (?1, ?2, ?3, ?4)",
        &[aggregate_id.into(), event_type.into(), payload.into(), now_ms.into()],
    )
}
