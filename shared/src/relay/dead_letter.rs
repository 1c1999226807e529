//! Poison events. A batch whose consumers fail is rolled back whole; the relay then
//! applies its events one at a time, so one bad event cannot hold back the others. An
//! event that still fails keeps its claim and is tried again when its lease has run out
//! (a backoff of one lease per attempt); once it has been claimed
//! [`MAX_ATTEMPTS`] times it is dead-lettered: kept in `outbox_dead_letters` with the
//! error, marked published so the outbox flows again, and an alert goes to the admins.
//! Totals stay exact for every other event: the projection applies pledge snapshots by
//! version, so a later event of the same pledge is applied on its own, and
//! reconciliation shows whatever the dead letter left out.

use super::event::OutboxEvent;
use super::notify::{self, NotifySettings};
use super::RelayError;
use crate::storage::tx::transaction;
use crate::storage::{DbError, SqlExecutor};

/// Claims of one event before it is dead-lettered.
pub const MAX_ATTEMPTS: u32 = 5;

impl RelayError {
    /// Whether the error comes from the events themselves (their payload, or what
    /// consuming them would do to the read models), not from the database being
    /// unavailable: only those are worth isolating and, in the end, dead-lettering.
    pub fn is_poison(&self) -> bool {
        match self {
            RelayError::Consume(_) => true,
            RelayError::Db(e) => matches!(e, DbError::Decode(_) | DbError::Constraint(_)),
        }
    }
}

/// Dead-letters `event` with `error`, in one transaction with its alert.
pub fn bury(
    db: &dyn SqlExecutor,
    event: &OutboxEvent,
    error: &str,
    settings: &NotifySettings,
    alert_id: &str,
    now_ms: i64,
) -> Result<(), DbError> {
    transaction(db, || {
        let marked = db.query(
            "UPDATE outbox SET published_at_ms = ?2, claimed_until_ms = NULL \
             WHERE id = ?1 AND published_at_ms IS NULL RETURNING id",
            &[event.id.into(), now_ms.into()],
        )?;
        if marked.first().is_none() {
            // Another relay published or buried it meanwhile.
            return Ok(());
        }
        db.execute(
            "INSERT INTO outbox_dead_letters (event_id, event_type, aggregate_id, attempts, error, dead_at_ms) \
             VALUES (?1, ?2, ?3, ?4, ?5, ?6) ON CONFLICT (event_id) DO NOTHING",
            &[
                event.id.into(),
                event.event_type.as_str().into(),
                event.aggregate_id.as_str().into(),
                i64::from(event.attempts).into(),
                error.into(),
                now_ms.into(),
            ],
        )?;
        notify::dead_letter_alert(db, event, error, settings, alert_id, now_ms)
    })
}

/// How many events are dead-lettered.
pub fn count(db: &dyn SqlExecutor) -> Result<u64, DbError> {
    db.query("SELECT COUNT(*) AS n FROM outbox_dead_letters", &[])?
        .first()
        .map_or(Ok(0), |r| r.u64("n"))
}
