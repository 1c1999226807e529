//! Dispute repository: each dispute the provider reported on a pledge's payment, as it
//! last stands.

use super::{DbError, Row, SqlExecutor, SqlValue};
use crate::domain::dispute::{DisputeFunds, DisputeState, DisputeStatus};
use serde::Serialize;

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Dispute {
    /// The provider's id (`dp_…`).
    pub id: String,
    pub pledge_id: String,
    pub amount_minor: u64,
    #[serde(flatten)]
    pub state: DisputeState,
    pub reason: Option<String>,
    pub created_at_ms: i64,
    pub updated_at_ms: i64,
}

const COLUMNS: &str =
    "id, pledge_id, amount_minor, status, funds, reason, created_at_ms, updated_at_ms";

fn decode(row: Row<'_>) -> Result<Dispute, DbError> {
    let status = row.text("status")?;
    let funds = row.text("funds")?;
    Ok(Dispute {
        id: row.text("id")?,
        pledge_id: row.text("pledge_id")?,
        amount_minor: row.u64("amount_minor")?,
        state: DisputeState {
            status: DisputeStatus::parse(&status)
                .ok_or_else(|| DbError::Decode(format!("dispute status `{status}`")))?,
            funds: DisputeFunds::parse(&funds)
                .ok_or_else(|| DbError::Decode(format!("dispute funds `{funds}`")))?,
        },
        reason: row.opt_text("reason")?,
        created_at_ms: row.i64("created_at_ms")?,
        updated_at_ms: row.i64("updated_at_ms")?,
    })
}

pub fn for_pledge(db: &dyn SqlExecutor, pledge_id: &str) -> Result<Vec<Dispute>, DbError> {
    db.query(
        &format!("SELECT {COLUMNS} FROM disputes WHERE pledge_id = ?1 ORDER BY seq"),
        &[pledge_id.into()],
    )?
    .iter()
    .map(decode)
    .collect()
}

pub(super) fn save(db: &dyn SqlExecutor, dispute: &Dispute) -> Result<(), DbError> {
    db.execute(
        "INSERT INTO disputes (id, pledge_id, amount_minor, status, funds, reason, created_at_ms, updated_at_ms) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8) ON CONFLICT (id) DO UPDATE SET status = excluded.status, \
         funds = excluded.funds, updated_at_ms = excluded.updated_at_ms",
        &[
            dispute.id.as_str().into(),
            dispute.pledge_id.as_str().into(),
            SqlValue::Integer(dispute.amount_minor as i64),
            dispute.state.status.as_str().into(),
            dispute.state.funds.as_str().into(),
            dispute.reason.as_deref().into(),
            dispute.created_at_ms.into(),
            dispute.updated_at_ms.into(),
        ],
    )
}

/// Disputes still waiting on a decision, across all pledges (an index range).
pub fn undecided_count(db: &dyn SqlExecutor) -> Result<u64, DbError> {
    db.query(
        "SELECT COUNT(*) AS n FROM disputes WHERE status IN ('open', 'under_review')",
        &[],
    )?
    .first()
    .map(|r| r.u64("n"))
    .transpose()
    .map(Option::unwrap_or_default)
}
