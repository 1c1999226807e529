//! Leases on outbox events: a relay claims a batch for `lease_ms`, so another relay skips
//! it meanwhile; a relay that dies holding a claim only delays the batch until the lease
//! expires. The claim is an optimisation of who does the work; exactly-once effect comes
//! from applying and publishing in one transaction (see `apply`).

use super::event::{OutboxEvent, EVENT_COLUMNS};
use crate::storage::tx::skip_locked;
use crate::storage::{DbError, SqlExecutor, SqlValue};

/// Claims up to `limit` unpublished, unclaimed (or lease-expired) events, oldest first.
/// SQLite's single UPDATE holds the database write lock, so claims never overlap.
pub fn claim_batch(
    db: &dyn SqlExecutor,
    limit: u32,
    lease_ms: i64,
    now_ms: i64,
) -> Result<Vec<OutboxEvent>, DbError> {
    let rows = db.query(
        &format!(
            "UPDATE outbox SET claimed_until_ms = ?1, attempts = attempts + 1 WHERE id IN (\
             SELECT id FROM outbox WHERE published_at_ms IS NULL \
             AND (claimed_until_ms IS NULL OR claimed_until_ms < ?2) ORDER BY id LIMIT ?3{}) \
             RETURNING {EVENT_COLUMNS}",
            skip_locked(db)
        ),
        &[
            (now_ms + lease_ms).into(),
            now_ms.into(),
            SqlValue::Integer(i64::from(limit)),
        ],
    )?;
    let mut events = rows
        .iter()
        .map(OutboxEvent::decode)
        .collect::<Result<Vec<_>, _>>()?;
    events.sort_by_key(|e| e.id);
    Ok(events)
}
