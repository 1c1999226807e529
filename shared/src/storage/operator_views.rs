//! What an operator looks at on donation night, each a page through an index: pledges
//! stuck before the money moved, the provider's recent events with what they did, and
//! the outbox events set aside as dead letters.

use super::pledges::{decode, COLUMNS};
use super::{DbError, Row, SqlExecutor, SqlValue};
use crate::domain::pledge::PledgeStatus;
use serde::Serialize;

/// A pledge still PENDING or AUTHORIZED: the donor was promised a payment step, and the
/// provider has not settled it either way.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct StuckPledge {
    #[serde(skip)]
    pub seq: i64,
    pub id: String,
    pub campaign_id: String,
    pub status: PledgeStatus,
    pub amount_minor: u64,
    pub currency: String,
    pub provider_payment_id: Option<String>,
    pub created_at_ms: i64,
    pub updated_at_ms: i64,
    /// How long it has been in this status.
    pub stuck_for_ms: i64,
}

/// A provider event as applied to its pledge.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ProviderEventOutcome {
    #[serde(skip)]
    pub seq: i64,
    pub event_id: String,
    pub pledge_id: String,
    pub kind: String,
    /// applied, implied, recorded, stale, duplicate or invalid.
    pub outcome: String,
    pub from_status: Option<String>,
    pub to_status: Option<String>,
    pub detail: Option<String>,
    pub recorded_at_ms: i64,
}

/// An outbox event no consumer could apply within its attempts.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DeadLetter {
    pub event_id: i64,
    pub event_type: String,
    pub aggregate_id: String,
    pub attempts: u64,
    pub error: String,
    pub dead_at_ms: i64,
}

/// One page and whether another follows.
pub type Page<T> = (Vec<T>, bool);

fn page<T>(
    rows: super::Rows,
    limit: u32,
    decode: impl Fn(Row<'_>) -> Result<T, DbError>,
) -> Result<Page<T>, DbError> {
    let mut items = rows.iter().map(decode).collect::<Result<Vec<_>, _>>()?;
    let more = items.len() > limit as usize;
    items.truncate(limit as usize);
    Ok((items, more))
}

fn one_more(limit: u32) -> SqlValue {
    SqlValue::Integer(i64::from(limit) + 1)
}

/// Pledges PENDING or AUTHORIZED since `updated_before_ms` or earlier, oldest pledge
/// first, after list position `after_seq`.
pub fn stuck_pledges(
    db: &dyn SqlExecutor,
    updated_before_ms: i64,
    now_ms: i64,
    after_seq: i64,
    limit: u32,
) -> Result<Page<StuckPledge>, DbError> {
    let rows = db.query(
        &format!(
            "SELECT {COLUMNS} FROM pledges WHERE status IN ('PENDING', 'AUTHORIZED') \
             AND seq > ?1 AND updated_at_ms <= ?2 ORDER BY seq LIMIT ?3"
        ),
        &[after_seq.into(), updated_before_ms.into(), one_more(limit)],
    )?;
    page(rows, limit, |row| {
        let p = decode(row)?;
        Ok(StuckPledge {
            seq: p.seq,
            stuck_for_ms: (now_ms - p.updated_at_ms).max(0),
            id: p.id,
            campaign_id: p.campaign_id,
            status: p.status,
            amount_minor: p.amount_minor,
            currency: p.currency.code().to_string(),
            provider_payment_id: p.provider_payment_id,
            created_at_ms: p.created_at_ms,
            updated_at_ms: p.updated_at_ms,
        })
    })
}

/// The provider's events newest first, before list position `before_seq` (0: from the
/// newest).
pub fn provider_events(
    db: &dyn SqlExecutor,
    before_seq: i64,
    limit: u32,
) -> Result<Page<ProviderEventOutcome>, DbError> {
    const SELECT: &str = "SELECT seq, provider_event_id, pledge_id, kind, outcome, from_status, \
         to_status, detail, recorded_at_ms FROM pledge_events WHERE provider_event_id IS NOT NULL";
    let rows = if before_seq == 0 {
        db.query(
            &format!("{SELECT} ORDER BY seq DESC LIMIT ?1"),
            &[one_more(limit)],
        )?
    } else {
        db.query(
            &format!("{SELECT} AND seq < ?1 ORDER BY seq DESC LIMIT ?2"),
            &[before_seq.into(), one_more(limit)],
        )?
    };
    page(rows, limit, |row| {
        Ok(ProviderEventOutcome {
            seq: row.i64("seq")?,
            event_id: row.text("provider_event_id")?,
            pledge_id: row.text("pledge_id")?,
            kind: row.text("kind")?,
            outcome: row.text("outcome")?,
            from_status: row.opt_text("from_status")?,
            to_status: row.opt_text("to_status")?,
            detail: row.opt_text("detail")?,
            recorded_at_ms: row.i64("recorded_at_ms")?,
        })
    })
}

/// Dead letters in the order their events were written, after event `after_event_id`.
pub fn dead_letters(
    db: &dyn SqlExecutor,
    after_event_id: i64,
    limit: u32,
) -> Result<Page<DeadLetter>, DbError> {
    let rows = db.query(
        "SELECT event_id, event_type, aggregate_id, attempts, error, dead_at_ms \
         FROM outbox_dead_letters WHERE event_id > ?1 ORDER BY event_id LIMIT ?2",
        &[after_event_id.into(), one_more(limit)],
    )?;
    page(rows, limit, |row| {
        Ok(DeadLetter {
            event_id: row.i64("event_id")?,
            event_type: row.text("event_type")?,
            aggregate_id: row.text("aggregate_id")?,
            attempts: row.u64("attempts")?,
            error: row.text("error")?,
            dead_at_ms: row.i64("dead_at_ms")?,
        })
    })
}
