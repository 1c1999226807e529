//! Refund repository: a refund is reserved against the captured amount before the
//! provider is called, then marked succeeded or failed, so money out never exceeds money
//! in even with concurrent refund requests.

use super::tx::{for_update, transaction};
use super::{pledges, DbError, Row, SqlExecutor, SqlValue};
use crate::domain::money::PositiveAmount;
use crate::domain::pledge::PledgeStatus;
use serde::Serialize;

pub use crate::domain::refund::RefundStatus;

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Refund {
    pub id: String,
    pub pledge_id: String,
    pub amount_minor: u64,
    pub status: RefundStatus,
    pub reason: Option<String>,
    pub provider_refund_id: Option<String>,
    /// Why the provider refused it or why it failed afterwards.
    pub failure: Option<String>,
    pub created_at_ms: i64,
    pub updated_at_ms: i64,
}

const COLUMNS: &str = "id, pledge_id, amount_minor, status, reason, provider_refund_id, failure, \
     created_at_ms, updated_at_ms";

fn decode(row: Row<'_>) -> Result<Refund, DbError> {
    let status = row.text("status")?;
    Ok(Refund {
        id: row.text("id")?,
        pledge_id: row.text("pledge_id")?,
        amount_minor: row.u64("amount_minor")?,
        status: RefundStatus::parse(&status)
            .ok_or_else(|| DbError::Decode(format!("refund status `{status}`")))?,
        reason: row.opt_text("reason")?,
        provider_refund_id: row.opt_text("provider_refund_id")?,
        failure: row.opt_text("failure")?,
        created_at_ms: row.i64("created_at_ms")?,
        updated_at_ms: row.i64("updated_at_ms")?,
    })
}

pub fn get(db: &dyn SqlExecutor, id: &str) -> Result<Option<Refund>, DbError> {
    db.query(
        &format!("SELECT {COLUMNS} FROM refunds WHERE id = ?1"),
        &[id.into()],
    )?
    .first()
    .map(decode)
    .transpose()
}

/// The refund an earlier attempt of the same idempotent request reserved, if any.
pub fn by_request(db: &dyn SqlExecutor, scope: &str, key: &str) -> Result<Option<Refund>, DbError> {
    db.query(
        &format!("SELECT {COLUMNS} FROM refunds WHERE request_scope = ?1 AND request_key = ?2"),
        &[scope.into(), key.into()],
    )?
    .first()
    .map(decode)
    .transpose()
}

pub struct NewRefund<'a> {
    pub id: &'a str,
    pub pledge_id: &'a str,
    /// `None` refunds everything not yet refunded or reserved.
    pub amount: Option<PositiveAmount>,
    pub reason: Option<&'a str>,
    pub request_scope: &'a str,
    pub request_key: &'a str,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reserved {
    pub refund: Refund,
    pub provider_payment_id: String,
}

/// Why a refund cannot be reserved.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refusal {
    PledgeNotFound,
    /// Only CAPTURED and PARTIALLY_REFUNDED pledges hold money to give back.
    NotRefundable(PledgeStatus),
    Exceeds {
        requested_minor: u64,
        refundable_minor: u64,
    },
}

/// Reserves a refund under the pledge's lock: the amount must fit in what was captured
/// minus every refund not known to have failed and what disputes withdrew.
pub fn reserve(
    db: &dyn SqlExecutor,
    new: &NewRefund<'_>,
    now_ms: i64,
) -> Result<Result<Reserved, Refusal>, DbError> {
    transaction(db, || {
        let lock = for_update(db);
        let Some(pledge) = pledges::get_locked(db, new.pledge_id, lock)? else {
            return Ok(Err(Refusal::PledgeNotFound));
        };
        let (true, Some(payment_id)) = (
            matches!(
                pledge.status,
                PledgeStatus::Captured | PledgeStatus::PartiallyRefunded
            ),
            pledge.provider_payment_id.clone(),
        ) else {
            return Ok(Err(Refusal::NotRefundable(pledge.status)));
        };
        let reserved = db
            .query(
                "SELECT CAST(COALESCE(SUM(amount_minor), 0) AS BIGINT) AS reserved FROM refunds \
                 WHERE pledge_id = ?1 AND status <> 'failed'",
                &[new.pledge_id.into()],
            )?
            .first()
            .map(|r| r.u64("reserved"))
            .transpose()?
            .unwrap_or(0);
        // Money a dispute withdrew cannot be refunded as well.
        let refundable = pledge
            .captured_minor
            .saturating_sub(reserved)
            .saturating_sub(pledge.disputed_minor);
        let amount = new.amount.map_or(refundable, PositiveAmount::minor_units);
        if amount == 0 || amount > refundable {
            return Ok(Err(Refusal::Exceeds {
                requested_minor: amount,
                refundable_minor: refundable,
            }));
        }
        let refund = db
            .query(
                &format!(
                    "INSERT INTO refunds (id, pledge_id, amount_minor, status, reason, request_scope, request_key, \
                     created_at_ms, updated_at_ms) VALUES (?1, ?2, ?3, 'requested', ?4, ?5, ?6, ?7, ?7) RETURNING {COLUMNS}"
                ),
                &[
                    new.id.into(),
                    new.pledge_id.into(),
                    SqlValue::Integer(amount as i64),
                    new.reason.into(),
                    new.request_scope.into(),
                    new.request_key.into(),
                    now_ms.into(),
                ],
            )?
            .first()
            .map(decode)
            .transpose()?
            .ok_or_else(|| DbError::Other("INSERT ... RETURNING returned no row".into()))?;
        Ok(Ok(Reserved {
            refund,
            provider_payment_id: payment_id,
        }))
    })
}

/// Releases the reservation of a refund the provider refused.
pub fn mark_failed(
    db: &dyn SqlExecutor,
    id: &str,
    failure: &str,
    now_ms: i64,
) -> Result<(), DbError> {
    db.execute(
        "UPDATE refunds SET status = 'failed', failure = ?2, updated_at_ms = ?3 WHERE id = ?1",
        &[id.into(), failure.into(), now_ms.into()],
    )
}

pub fn for_pledge(db: &dyn SqlExecutor, pledge_id: &str) -> Result<Vec<Refund>, DbError> {
    db.query(
        &format!("SELECT {COLUMNS} FROM refunds WHERE pledge_id = ?1 ORDER BY seq"),
        &[pledge_id.into()],
    )?
    .iter()
    .map(decode)
    .collect()
}

/// Writes a refund as the provider last reported it: a refund the app reserved is
/// updated, one made at the provider directly is added (without a request key).
pub(super) fn save(db: &dyn SqlExecutor, refund: &Refund) -> Result<(), DbError> {
    db.execute(
        "INSERT INTO refunds (id, pledge_id, amount_minor, status, reason, provider_refund_id, failure, \
         created_at_ms, updated_at_ms) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9) \
         ON CONFLICT (id) DO UPDATE SET status = excluded.status, \
         provider_refund_id = excluded.provider_refund_id, failure = excluded.failure, \
         updated_at_ms = excluded.updated_at_ms",
        &[
            refund.id.as_str().into(),
            refund.pledge_id.as_str().into(),
            SqlValue::Integer(refund.amount_minor as i64),
            refund.status.as_str().into(),
            refund.reason.as_deref().into(),
            refund.provider_refund_id.as_deref().into(),
            refund.failure.as_deref().into(),
            refund.created_at_ms.into(),
            refund.updated_at_ms.into(),
        ],
    )
}
