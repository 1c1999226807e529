//! Leases on outbox events: a relay claims a batch for `lease_ms`, so another relay skips
//! it meanwhile; a relay that dies holding a claim only delays the batch until the lease
//! expires. The claim is an optimisation of who does the work; exactly-once effect comes
//! from applying and publishing in one transaction (see `apply`).

use super::event::{OutboxEvent, EVENT_COLUMNS};
use crate::storage::{Backend, DbError, SqlExecutor, SqlValue};

/// Claims up to `limit` unpublished, unclaimed (or lease-expired) events, oldest first.
pub fn claim_batch(
    db: &dyn SqlExecutor,
    limit: u32,
    lease_ms: i64,
    now_ms: i64,
) -> Result<Vec<OutboxEvent>, DbError> {
    // Postgres: rows another relay is claiming right now are skipped, not waited for.
    // SQLite: the single UPDATE holds the database write lock, so claims never overlap.
    let skip_locked = match db.backend() {
        Backend::Postgres => " FOR UPDATE SKIP LOCKED",
        Backend::Sqlite => "",
    };
    let rows = db.execute(
        &format!(
            "UPDATE outbox SET claimed_until_ms = ?1, attempts = attempts + 1 WHERE id IN (\
             SELECT id FROM outbox WHERE published_at_ms IS NULL \
             AND (claimed_until_ms IS NULL OR claimed_until_ms < ?2) ORDER BY id LIMIT ?3{skip_locked}) \
             RETURNING {EVENT_COLUMNS}"
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

/// `?from, ?from+1, ...` for `n` parameters.
pub(super) fn placeholders(from: usize, n: usize) -> String {
    (from..from + n)
        .map(|i| format!("?{i}"))
        .collect::<Vec<_>>()
        .join(", ")
}

#[cfg(test)]
mod tests {
    #[test]
    fn placeholders_number_from_the_given_index() {
        assert_eq!(super::placeholders(3, 3), "?3, ?4, ?5");
    }
}
