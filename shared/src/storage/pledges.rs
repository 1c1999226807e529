//! Pledge repository: creation, lookup, status history, and applying provider events
//! exactly once, each change with its history rows and outbox event in one transaction.

use super::{outbox, DbError, Row, SqlExecutor, SqlValue};
use crate::domain::donor::Donor;
use crate::domain::money::{Currency, PositiveAmount};
use crate::domain::pledge::{PledgeState, PledgeStatus};
use serde::Serialize;

pub(super) const COLUMNS: &str = "seq, id, campaign_id, amount_minor, currency, status, captured_minor, refunded_minor, disputed_minor, \
     donor_email, donor_name, anonymous, provider_payment_id, version, created_at_ms, updated_at_ms";

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Pledge {
    #[serde(skip)]
    pub seq: i64,
    pub id: String,
    pub campaign_id: String,
    pub amount_minor: u64,
    pub currency: Currency,
    pub status: PledgeStatus,
    pub captured_minor: u64,
    pub refunded_minor: u64,
    pub disputed_minor: u64,
    pub donor_email: String,
    pub donor_name: Option<String>,
    pub anonymous: bool,
    pub provider_payment_id: Option<String>,
    pub version: u64,
    pub created_at_ms: i64,
    pub updated_at_ms: i64,
}

impl Pledge {
    pub fn state(&self) -> PledgeState {
        PledgeState {
            status: self.status,
            amount_minor: self.amount_minor,
            captured_minor: self.captured_minor,
            refunded_minor: self.refunded_minor,
            disputed_minor: self.disputed_minor,
        }
    }
}

pub(super) fn decode(row: Row<'_>) -> Result<Pledge, DbError> {
    let status = row.text("status")?;
    let currency = row.text("currency")?;
    Ok(Pledge {
        seq: row.i64("seq")?,
        id: row.text("id")?,
        campaign_id: row.text("campaign_id")?,
        amount_minor: row.u64("amount_minor")?,
        currency: Currency::parse(&currency).map_err(|e| DbError::Decode(e.to_string()))?,
        status: PledgeStatus::parse(&status)
            .ok_or_else(|| DbError::Decode(format!("pledge status `{status}`")))?,
        captured_minor: row.u64("captured_minor")?,
        refunded_minor: row.u64("refunded_minor")?,
        disputed_minor: row.u64("disputed_minor")?,
        donor_email: row.text("donor_email")?,
        donor_name: row.opt_text("donor_name")?,
        anonymous: row.i64("anonymous")? != 0,
        provider_payment_id: row.opt_text("provider_payment_id")?,
        version: row.u64("version")?,
        created_at_ms: row.i64("created_at_ms")?,
        updated_at_ms: row.i64("updated_at_ms")?,
    })
}

pub(super) fn one(
    db: &dyn SqlExecutor,
    sql: &str,
    params: &[SqlValue],
) -> Result<Option<Pledge>, DbError> {
    db.query(sql, params)?.first().map(decode).transpose()
}

pub struct NewPledge<'a> {
    pub id: &'a str,
    pub campaign_id: &'a str,
    pub amount: PositiveAmount,
    pub currency: Currency,
    pub donor: &'a Donor,
}

/// What the outbox carries for every pledge change: enough for any consumer (totals,
/// receipts, feeds) to apply it without reading the pledge again.
#[derive(Debug, Clone, Serialize)]
pub struct PledgeChanged<'a> {
    pub pledge_id: &'a str,
    pub campaign_id: &'a str,
    pub currency: &'a str,
    pub from: Option<PledgeStatus>,
    pub to: PledgeStatus,
    pub amount_minor: u64,
    pub captured_minor: u64,
    pub refunded_minor: u64,
    pub disputed_minor: u64,
    pub captured_delta_minor: u64,
    pub provider_event_id: Option<&'a str>,
    /// The pledge's version after this change; consumers apply only newer versions.
    pub version: u64,
    /// Who gets the receipt and counts as a donor (the public feed leaves it out).
    pub donor_email: &'a str,
}

/// Inserts a PENDING pledge with its first history row and `pledge.created` event.
/// Call inside a transaction.
pub fn insert(db: &dyn SqlExecutor, new: &NewPledge<'_>, now_ms: i64) -> Result<Pledge, DbError> {
    let pledge = one(
        db,
        &format!(
            "INSERT INTO pledges (id, campaign_id, amount_minor, currency, status, donor_email, donor_name, anonymous, \
             created_at_ms, updated_at_ms) VALUES (?1, ?2, ?3, ?4, 'PENDING', ?5, ?6, ?7, ?8, ?8) RETURNING {COLUMNS}"
        ),
        &[
            new.id.into(),
            new.campaign_id.into(),
            SqlValue::Integer(new.amount.minor_units() as i64),
            new.currency.code().into(),
            new.donor.email.as_str().into(),
            new.donor.name.as_ref().map(|n| n.as_str()).into(),
            SqlValue::Integer(i64::from(new.donor.anonymous)),
            now_ms.into(),
        ],
    )?
    .ok_or_else(|| DbError::Other("INSERT ... RETURNING returned no row".into()))?;
    let change = Change {
        pledge: &pledge,
        provider_event_id: None,
        kind: "created",
        now_ms,
    };
    change.record(db, "applied", (None, Some(PledgeStatus::Pending)), None)?;
    change.publish(db, "pledge.created", None, &pledge.state(), pledge.version)?;
    Ok(pledge)
}

pub fn get(db: &dyn SqlExecutor, id: &str) -> Result<Option<Pledge>, DbError> {
    one(
        db,
        &format!("SELECT {COLUMNS} FROM pledges WHERE id = ?1"),
        &[id.into()],
    )
}

/// Reads a pledge inside a transaction; `lock` is [`super::tx::for_update`]'s suffix.
pub fn get_locked(db: &dyn SqlExecutor, id: &str, lock: &str) -> Result<Option<Pledge>, DbError> {
    one(
        db,
        &format!("SELECT {COLUMNS} FROM pledges WHERE id = ?1{lock}"),
        &[id.into()],
    )
}

/// Records the provider's payment id once the payment exists (a webhook that outran the
/// response may have recorded it already).
pub fn attach_payment(
    db: &dyn SqlExecutor,
    id: &str,
    payment_id: &str,
    now_ms: i64,
) -> Result<(), DbError> {
    db.execute(
        "UPDATE pledges SET provider_payment_id = ?2, updated_at_ms = ?3 WHERE id = ?1 AND provider_payment_id IS NULL",
        &[id.into(), payment_id.into(), now_ms.into()],
    )
}

/// The context of one change to a pledge: which pledge, what caused it, when. Writes
/// its history rows and its outbox event.
pub(super) struct Change<'a> {
    pub(super) pledge: &'a Pledge,
    pub(super) provider_event_id: Option<&'a str>,
    pub(super) kind: &'a str,
    pub(super) now_ms: i64,
}

impl Change<'_> {
    pub(super) fn record(
        &self,
        db: &dyn SqlExecutor,
        outcome: &str,
        (from, to): (Option<PledgeStatus>, Option<PledgeStatus>),
        detail: Option<&str>,
    ) -> Result<(), DbError> {
        db.execute(
            "INSERT INTO pledge_events (pledge_id, provider_event_id, kind, outcome, from_status, to_status, detail, recorded_at_ms) \
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
            &[
                self.pledge.id.as_str().into(),
                self.provider_event_id.into(),
                self.kind.into(),
                outcome.into(),
                from.map(PledgeStatus::as_str).into(),
                to.map(PledgeStatus::as_str).into(),
                detail.into(),
                self.now_ms.into(),
            ],
        )
    }

    /// Appends the outbox event for the pledge moving from `from` to `next`.
    pub(super) fn publish(
        &self,
        db: &dyn SqlExecutor,
        event_type: &str,
        from: Option<PledgeStatus>,
        next: &PledgeState,
        version: u64,
    ) -> Result<(), DbError> {
        let p = self.pledge;
        outbox::append(
            db,
            &p.id,
            event_type,
            &PledgeChanged {
                pledge_id: &p.id,
                campaign_id: &p.campaign_id,
                currency: p.currency.code(),
                from,
                to: next.status,
                amount_minor: p.amount_minor,
                captured_minor: next.captured_minor,
                refunded_minor: next.refunded_minor,
                disputed_minor: next.disputed_minor,
                captured_delta_minor: next.captured_minor - p.captured_minor,
                provider_event_id: self.provider_event_id,
                version,
                donor_email: p.donor_email.as_str(),
            },
            self.now_ms,
        )
    }
}

/// One row of a pledge's status history.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct HistoryEntry {
    pub kind: String,
    pub outcome: String,
    pub provider_event_id: Option<String>,
    pub from_status: Option<String>,
    pub to_status: Option<String>,
    pub detail: Option<String>,
    pub recorded_at_ms: i64,
}

pub fn history(db: &dyn SqlExecutor, pledge_id: &str) -> Result<Vec<HistoryEntry>, DbError> {
    db.query(
        "SELECT kind, outcome, provider_event_id, from_status, to_status, detail, recorded_at_ms \
         FROM pledge_events WHERE pledge_id = ?1 ORDER BY seq",
        &[pledge_id.into()],
    )?
    .iter()
    .map(|r| {
        Ok(HistoryEntry {
            kind: r.text("kind")?,
            outcome: r.text("outcome")?,
            provider_event_id: r.opt_text("provider_event_id")?,
            from_status: r.opt_text("from_status")?,
            to_status: r.opt_text("to_status")?,
            detail: r.opt_text("detail")?,
            recorded_at_ms: r.i64("recorded_at_ms")?,
        })
    })
    .collect()
}
