//! Pledge repository: creation, lookup, status history, and applying provider events
//! exactly once, each change with its history rows and outbox event in one transaction.

use super::tx::{for_update, transaction};
use super::{outbox, DbError, Row, SqlExecutor, SqlValue};
use crate::domain::donor::Donor;
use crate::domain::money::{Currency, PositiveAmount};
use crate::domain::pledge::{decide, PaymentEvent, PledgeState, PledgeStatus, Transition};
use serde::Serialize;

pub(super) const COLUMNS: &str = "seq, id, campaign_id, amount_minor, currency, status, captured_minor, refunded_minor, \
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
        donor_email: row.text("donor_email")?,
        donor_name: row.opt_text("donor_name")?,
        anonymous: row.i64("anonymous")? != 0,
        provider_payment_id: row.opt_text("provider_payment_id")?,
        version: row.u64("version")?,
        created_at_ms: row.i64("created_at_ms")?,
        updated_at_ms: row.i64("updated_at_ms")?,
    })
}

fn one(db: &dyn SqlExecutor, sql: &str, params: &[SqlValue]) -> Result<Option<Pledge>, DbError> {
    db.execute(sql, params)?.first().map(decode).transpose()
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
    pub captured_delta_minor: u64,
    pub refunded_delta_minor: u64,
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
    .map(drop)
}

/// The context of one change to a pledge: which pledge, what caused it, when. Writes
/// its history rows and its outbox event.
struct Change<'a> {
    pledge: &'a Pledge,
    provider_event_id: Option<&'a str>,
    kind: &'a str,
    now_ms: i64,
}

impl Change<'_> {
    fn record(
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
        .map(drop)
    }

    /// Appends the outbox event for the pledge moving from `from` to `next`.
    fn publish(
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
                captured_delta_minor: next.captured_minor - p.captured_minor,
                refunded_delta_minor: next.refunded_minor - p.refunded_minor,
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
    db.execute(
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

/// A provider event as the webhook delivered it, already verified and parsed.
#[derive(Debug, Clone)]
pub struct ProviderEvent<'a> {
    pub event_id: &'a str,
    /// The provider's event type, kept in the history (e.g. `payment_intent.succeeded`).
    pub kind: &'a str,
    pub payment_id: &'a str,
    /// The pledge id the payment's metadata names, for events that outrun
    /// [`attach_payment`].
    pub pledge_id: Option<&'a str>,
    pub event: PaymentEvent,
}

/// The answer to one delivery; a redelivery of the same event gets the same answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Processed {
    pub outcome: String,
    pub response_body: String,
    /// Whether this delivery was a redelivery of an event already processed.
    pub replayed: bool,
}

#[derive(Serialize)]
struct WebhookAnswer<'a> {
    event_id: &'a str,
    outcome: &'a str,
    pledge_id: Option<&'a str>,
    status: Option<PledgeStatus>,
}

/// Applies a provider event at most once (I2), moving the pledge only forward (I3), with
/// its history rows and outbox event in the same transaction (I5).
pub fn apply_provider_event(
    db: &dyn SqlExecutor,
    input: &ProviderEvent<'_>,
    clock: &dyn Fn() -> i64,
) -> Result<Processed, DbError> {
    transaction(db, || {
        // Read once the write lock is held: the event's age counts from here.
        let now_ms = clock();
        // Claim the event id first: a concurrent delivery of the same event waits here
        // for this transaction and then finds the answer instead of applying it again.
        let claimed = db.execute(
            "INSERT INTO processed_provider_events (event_id, outcome, response_status, response_body, processed_at_ms) \
             VALUES (?1, 'processing', 200, '', ?2) ON CONFLICT (event_id) DO NOTHING RETURNING event_id",
            &[input.event_id.into(), now_ms.into()],
        )?;
        if claimed.first().is_none() {
            let seen = db.execute(
                "SELECT pledge_id, outcome, response_body FROM processed_provider_events WHERE event_id = ?1",
                &[input.event_id.into()],
            )?;
            let row = seen.first().ok_or_else(|| {
                DbError::Other(format!("event {} claimed but not found", input.event_id))
            })?;
            if let Some(pledge_id) = row.opt_text("pledge_id")? {
                db.execute(
                    "INSERT INTO pledge_events (pledge_id, provider_event_id, kind, outcome, recorded_at_ms) \
                     VALUES (?1, ?2, ?3, 'duplicate', ?4)",
                    &[pledge_id.into(), input.event_id.into(), input.kind.into(), now_ms.into()],
                )?;
            }
            return Ok(Processed {
                outcome: row.text("outcome")?,
                response_body: row.text("response_body")?,
                replayed: true,
            });
        }
        let lock = for_update(db);
        // The pledge holding this payment, else the one the payment's metadata names (a
        // webhook can overtake the request that records the payment id), in one statement.
        let pledge = one(
            db,
            &format!(
                "SELECT {COLUMNS} FROM pledges WHERE provider_payment_id = ?1 OR id = ?2 \
                 ORDER BY CASE WHEN provider_payment_id = ?1 THEN 0 ELSE 1 END LIMIT 1{lock}"
            ),
            &[input.payment_id.into(), input.pledge_id.into()],
        )?;
        let (outcome, pledge_id, status) = match &pledge {
            None => ("unknown_payment".to_string(), None, None),
            Some(pledge) => {
                let transition = decide(&pledge.state(), &input.event, false);
                let status = apply(db, pledge, input, &transition, now_ms)?;
                (
                    transition.outcome().to_string(),
                    Some(pledge.id.as_str()),
                    Some(status),
                )
            }
        };
        let body = serde_json::to_string(&WebhookAnswer {
            event_id: input.event_id,
            outcome: &outcome,
            pledge_id,
            status,
        })
        .map_err(|e| DbError::Decode(e.to_string()))?;
        db.execute(
            "UPDATE processed_provider_events SET pledge_id = ?2, outcome = ?3, response_body = ?4 WHERE event_id = ?1",
            &[input.event_id.into(), pledge_id.into(), outcome.as_str().into(), body.as_str().into()],
        )?;
        Ok(Processed {
            outcome,
            response_body: body,
            replayed: false,
        })
    })
}

/// Writes a decided transition; returns the pledge's status afterwards.
fn apply(
    db: &dyn SqlExecutor,
    pledge: &Pledge,
    input: &ProviderEvent<'_>,
    transition: &Transition,
    now_ms: i64,
) -> Result<PledgeStatus, DbError> {
    let from = pledge.status;
    let change = Change {
        pledge,
        provider_event_id: Some(input.event_id),
        kind: input.kind,
        now_ms,
    };
    match transition {
        Transition::Applied { next, skipped } => {
            let updated = db.execute(
                "UPDATE pledges SET status = ?2, captured_minor = ?3, refunded_minor = ?4, \
                 provider_payment_id = COALESCE(provider_payment_id, ?5), version = version + 1, updated_at_ms = ?6 \
                 WHERE id = ?1 AND version = ?7 RETURNING id",
                &[
                    pledge.id.as_str().into(),
                    next.status.as_str().into(),
                    SqlValue::Integer(next.captured_minor as i64),
                    SqlValue::Integer(next.refunded_minor as i64),
                    input.payment_id.into(),
                    now_ms.into(),
                    SqlValue::Integer(pledge.version as i64),
                ],
            )?;
            if updated.first().is_none() {
                return Err(DbError::Other(format!(
                    "pledge {} changed under a held lock",
                    pledge.id
                )));
            }
            for implied in skipped {
                change.record(
                    db,
                    "implied",
                    (Some(from), Some(*implied)),
                    Some("implied by a later state"),
                )?;
            }
            change.record(db, "applied", (Some(from), Some(next.status)), None)?;
            change.publish(
                db,
                "pledge.status_changed",
                Some(from),
                next,
                pledge.version + 1,
            )?;
            Ok(next.status)
        }
        Transition::Stale | Transition::Duplicate => {
            change.record(db, transition.outcome(), (Some(from), None), None)?;
            Ok(from)
        }
        Transition::Invalid { reason } => {
            change.record(db, "invalid", (Some(from), None), Some(reason))?;
            Ok(from)
        }
    }
}
