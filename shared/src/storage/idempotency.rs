//! The idempotency-key store: acquire a key (deciding replay, conflict or go), note
//! progress, store the final answer.

use super::metric_counts::{self, IDEMPOTENCY};
use super::tx::{for_update, transaction};
use super::{DbError, SqlExecutor, SqlValue};
use crate::domain::idempotency::{decide, KeyDecision, RecoveryPoint, StoredKey, KEY_TTL_MS};

fn load(db: &dyn SqlExecutor, scope: &str, key: &str) -> Result<Option<StoredKey>, DbError> {
    let rows = db.query(
        &format!(
            "SELECT request_hash, locked_at_ms, recovery_point, pledge_id, response_status, response_body, expires_at_ms \
             FROM idempotency_keys WHERE scope = ?1 AND key = ?2{}",
            for_update(db)
        ),
        &[scope.into(), key.into()],
    )?;
    let Some(row) = rows.first() else {
        return Ok(None);
    };
    let point = row.text("recovery_point")?;
    let response = match (
        row.opt_i64("response_status")?,
        row.opt_text("response_body")?,
    ) {
        (Some(status), Some(body)) => Some((status as u16, body)),
        _ => None,
    };
    Ok(Some(StoredKey {
        request_hash: row.text("request_hash")?,
        locked_at_ms: row.opt_i64("locked_at_ms")?,
        recovery_point: RecoveryPoint::parse(&point)
            .ok_or_else(|| DbError::Decode(format!("recovery point `{point}`")))?,
        pledge_id: row.opt_text("pledge_id")?,
        response,
        expires_at_ms: row.i64("expires_at_ms")?,
    }))
}

/// Claims `key` for a request with `request_hash`, or says why not, in a transaction of
/// its own.
pub fn acquire(
    db: &dyn SqlExecutor,
    scope: &str,
    key: &str,
    request_hash: &str,
    now_ms: i64,
) -> Result<KeyDecision, DbError> {
    transaction(db, || claim(db, scope, key, request_hash, now_ms, None))
}

/// [`acquire`] inside the caller's transaction, so that what the request does next
/// commits with the claim, and a refusal rolls the claim back. `pledge_id` names the
/// pledge a starting request creates in that transaction: the key is then written at
/// `pledge_created` with the pledge's id in one statement (else at `started`).
pub fn claim(
    db: &dyn SqlExecutor,
    scope: &str,
    key: &str,
    request_hash: &str,
    now_ms: i64,
    pledge_id: Option<&str>,
) -> Result<KeyDecision, DbError> {
    let point = match pledge_id {
        Some(_) => RecoveryPoint::PledgeCreated,
        None => RecoveryPoint::Started,
    };
    let inserted = db.query(
        "INSERT INTO idempotency_keys (scope, key, request_hash, locked_at_ms, recovery_point, pledge_id, created_at_ms, expires_at_ms) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?4, ?7) ON CONFLICT (scope, key) DO NOTHING RETURNING key",
        &[scope.into(), key.into(), request_hash.into(), now_ms.into(), point.as_str().into(), pledge_id.into(), (now_ms + KEY_TTL_MS).into()],
    )?;
    if inserted.first().is_some() {
        return Ok(KeyDecision::Start);
    }
    let stored = load(db, scope, key)?;
    let decision = decide(stored.as_ref(), request_hash, now_ms);
    match &decision {
        KeyDecision::Start => {
            // The old key expired: reuse the row for the new request.
            db.execute(
                "UPDATE idempotency_keys SET request_hash = ?3, locked_at_ms = ?4, recovery_point = ?6, \
                 pledge_id = ?7, response_status = NULL, response_body = NULL, created_at_ms = ?4, expires_at_ms = ?5 \
                 WHERE scope = ?1 AND key = ?2",
                &[scope.into(), key.into(), request_hash.into(), now_ms.into(), (now_ms + KEY_TTL_MS).into(), point.as_str().into(), pledge_id.into()],
            )?;
        }
        KeyDecision::Resume { .. } => {
            db.execute(
                "UPDATE idempotency_keys SET locked_at_ms = ?3 WHERE scope = ?1 AND key = ?2",
                &[scope.into(), key.into(), now_ms.into()],
            )?;
        }
        KeyDecision::Replay { .. } => metric_counts::bump(db, IDEMPOTENCY, "replay", key)?,
        KeyDecision::InFlight => metric_counts::bump(db, IDEMPOTENCY, "in_progress", key)?,
        KeyDecision::Mismatch => metric_counts::bump(db, IDEMPOTENCY, "conflict", key)?,
    }
    Ok(decision)
}

/// Notes that the pledge exists, for a key claimed at `started` (one written before
/// `claim` could name the pledge it creates, resumed after a crash); inside the creating transaction.
pub fn mark_pledge_created(
    db: &dyn SqlExecutor,
    scope: &str,
    key: &str,
    pledge_id: &str,
) -> Result<(), DbError> {
    db.execute(
        "UPDATE idempotency_keys SET recovery_point = 'pledge_created', pledge_id = ?3 WHERE scope = ?1 AND key = ?2",
        &[scope.into(), key.into(), pledge_id.into()],
    )
}

/// Stores the final answer and releases the key; later requests replay it.
pub fn finish(
    db: &dyn SqlExecutor,
    scope: &str,
    key: &str,
    status: u16,
    body: &str,
) -> Result<(), DbError> {
    db.execute(
        "UPDATE idempotency_keys SET recovery_point = 'finished', locked_at_ms = NULL, \
         response_status = ?3, response_body = ?4 WHERE scope = ?1 AND key = ?2",
        &[
            scope.into(),
            key.into(),
            SqlValue::Integer(i64::from(status)),
            body.into(),
        ],
    )
}

/// Releases the key without an answer (a retryable failure): the next retry resumes.
pub fn release(db: &dyn SqlExecutor, scope: &str, key: &str) -> Result<(), DbError> {
    db.execute(
        "UPDATE idempotency_keys SET locked_at_ms = NULL WHERE scope = ?1 AND key = ?2",
        &[scope.into(), key.into()],
    )
}

/// Forgets a key whose request was refused before it changed anything, so a refused
/// request leaves nothing stored (and a corrected retry may reuse the key).
pub fn forget(db: &dyn SqlExecutor, scope: &str, key: &str) -> Result<(), DbError> {
    db.execute(
        "DELETE FROM idempotency_keys WHERE scope = ?1 AND key = ?2 AND pledge_id IS NULL",
        &[scope.into(), key.into()],
    )
}
