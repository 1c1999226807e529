//! Provider events applied to pledges exactly once: the event id is claimed first, then
//! each report it carries moves the pledge's payment, refunds or disputes forward, with
//! history rows, outbox events and admin alerts in the same transaction.

use super::money_back::{Ledger, RowChange};
use super::pledges::{one, Change, Pledge, COLUMNS};
use super::tx::{for_update, transaction};
use super::{metric_counts, outbox, DbError, SqlExecutor, SqlValue};
use crate::domain::pledge::{decide, settle, PledgeState, PledgeStatus, Transition};
use crate::payments::report::Report;
use serde::Serialize;

/// A provider event as the webhook delivered it, already verified and parsed.
#[derive(Debug, Clone)]
pub struct ProviderEvent<'a> {
    pub event_id: &'a str,
    /// The provider's event type, kept in the history (e.g. `payment_intent.succeeded`).
    pub kind: &'a str,
    pub payment_id: &'a str,
    /// The pledge id the payment's metadata names, for events that outrun
    /// [`super::pledges::attach_payment`].
    pub pledge_id: Option<&'a str>,
    pub reports: &'a [Report],
    /// How the event reached the app; only webhook deliveries are counted as such.
    pub via: Via,
}

/// How a provider event reached the app.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Via {
    /// The provider's signed webhook.
    Webhook,
    /// The provider's answer to a call of the app's (a refund, a capture, a cancel).
    Answer,
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

/// Applies a provider event at most once (I2), moving the pledge's payment, refunds and
/// disputes only forward (I3), with its history rows and outbox events in the same
/// transaction (I5).
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
        let claimed = db.query(
            "INSERT INTO processed_provider_events (event_id, outcome, response_status, response_body, processed_at_ms) \
             VALUES (?1, 'processing', 200, '', ?2) ON CONFLICT (event_id) DO NOTHING RETURNING event_id",
            &[input.event_id.into(), now_ms.into()],
        )?;
        if claimed.first().is_none() {
            let seen = db.query(
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
            if input.via == Via::Webhook {
                metric_counts::bump(db, metric_counts::WEBHOOKS, "duplicate", input.event_id)?;
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
                let decision = decide_reports(db, pledge, input.reports, now_ms)?;
                let (outcome, status) = write(db, pledge, input, &decision, now_ms)?;
                (outcome.to_string(), Some(pledge.id.as_str()), Some(status))
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
        if input.via == Via::Webhook {
            metric_counts::bump(db, metric_counts::WEBHOOKS, &outcome, input.event_id)?;
        }
        Ok(Processed {
            outcome,
            response_body: body,
            replayed: false,
        })
    })
}

/// What the reports of one event do to a pledge.
struct Decision {
    next: PledgeState,
    /// States the payment skipped that a later one implies.
    skipped: Vec<PledgeStatus>,
    /// Refund and dispute rows that moved.
    rows: Vec<RowChange>,
    /// Reports that contradict the pledge, kept for an operator.
    invalid: Vec<String>,
}

fn decide_reports(
    db: &dyn SqlExecutor,
    pledge: &Pledge,
    reports: &[Report],
    now_ms: i64,
) -> Result<Decision, DbError> {
    let mut decision = Decision {
        next: pledge.state(),
        skipped: Vec::new(),
        rows: Vec::new(),
        invalid: Vec::new(),
    };
    // Read only when a report needs it.
    let mut ledger: Option<Ledger> = None;
    for report in reports {
        let (trial, change) = match report {
            Report::Payment(event) => {
                apply_payment(db, pledge, &mut decision, &mut ledger, event)?;
                continue;
            }
            Report::Refund(refund) => {
                let mut trial = loaded(&mut ledger, db, &pledge.id)?.clone();
                let change = trial.report_refund(&pledge.id, refund, now_ms);
                (trial, change)
            }
            Report::Dispute(dispute) => {
                let mut trial = loaded(&mut ledger, db, &pledge.id)?.clone();
                let change = trial.report_dispute(&pledge.id, dispute, now_ms);
                (trial, change)
            }
        };
        match change {
            Ok(None) => {}
            Err(reason) => decision.invalid.push(reason),
            Ok(Some(change)) => match settle(&decision.next, trial.money_back()) {
                Ok(settled) => {
                    decision.next = settled;
                    decision.rows.push(change);
                    ledger = Some(trial);
                }
                Err(reason) => decision
                    .invalid
                    .push(format!("{}: {reason}", change.describe())),
            },
        }
    }
    Ok(decision)
}

fn loaded<'l>(
    slot: &'l mut Option<Ledger>,
    db: &dyn SqlExecutor,
    pledge_id: &str,
) -> Result<&'l Ledger, DbError> {
    if slot.is_none() {
        *slot = Some(Ledger::load(db, pledge_id)?);
    }
    slot.as_ref()
        .ok_or_else(|| DbError::Other(format!("refunds of pledge {pledge_id} not read")))
}

/// A step of the payment itself. Its first capture settles refunds and disputes that
/// overtook it.
fn apply_payment(
    db: &dyn SqlExecutor,
    pledge: &Pledge,
    decision: &mut Decision,
    ledger: &mut Option<Ledger>,
    event: &crate::domain::pledge::PaymentEvent,
) -> Result<(), DbError> {
    match decide(&decision.next, event, false) {
        Transition::Applied { next, skipped } => {
            let first_capture = !decision.next.status.is_captured() && next.status.is_captured();
            decision.next = next;
            decision.skipped.extend(skipped);
            if first_capture {
                match settle(&decision.next, loaded(ledger, db, &pledge.id)?.money_back()) {
                    Ok(settled) => decision.next = settled,
                    Err(reason) => decision.invalid.push(reason),
                }
            }
        }
        Transition::Invalid { reason } => decision.invalid.push(reason),
        Transition::Stale | Transition::Duplicate => {}
    }
    Ok(())
}

/// Writes a decision; returns the delivery's outcome and the pledge's status afterwards.
fn write(
    db: &dyn SqlExecutor,
    pledge: &Pledge,
    input: &ProviderEvent<'_>,
    decision: &Decision,
    now_ms: i64,
) -> Result<(&'static str, PledgeStatus), DbError> {
    let from = pledge.status;
    let change = Change {
        pledge,
        provider_event_id: Some(input.event_id),
        kind: input.kind,
        now_ms,
    };
    for row in &decision.rows {
        row.save(db)?;
        alert(db, pledge, row, now_ms)?;
    }
    let details = (!decision.rows.is_empty()).then(|| {
        decision
            .rows
            .iter()
            .map(RowChange::describe)
            .collect::<Vec<_>>()
            .join("; ")
    });
    if !decision.invalid.is_empty() {
        change.record(
            db,
            "invalid",
            (Some(from), None),
            Some(&decision.invalid.join("; ")),
        )?;
    }
    let next = &decision.next;
    if *next != pledge.state() {
        let updated = db.query(
            "UPDATE pledges SET status = ?2, captured_minor = ?3, refunded_minor = ?4, disputed_minor = ?5, \
             provider_payment_id = COALESCE(provider_payment_id, ?6), version = version + 1, updated_at_ms = ?7 \
             WHERE id = ?1 AND version = ?8 RETURNING id",
            &[
                pledge.id.as_str().into(),
                next.status.as_str().into(),
                SqlValue::Integer(next.captured_minor as i64),
                SqlValue::Integer(next.refunded_minor as i64),
                SqlValue::Integer(next.disputed_minor as i64),
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
        for implied in &decision.skipped {
            change.record(
                db,
                "implied",
                (Some(from), Some(*implied)),
                Some("implied by a later state"),
            )?;
        }
        change.record(
            db,
            "applied",
            (Some(from), Some(next.status)),
            details.as_deref(),
        )?;
        change.publish(
            db,
            "pledge.status_changed",
            Some(from),
            next,
            pledge.version + 1,
        )?;
        return Ok(("applied", next.status));
    }
    if let Some(details) = &details {
        // A refund or dispute moved without moving the money (yet): a pending refund, a
        // dispute under review, a refund that overtook the capture.
        change.record(db, "recorded", (Some(from), None), Some(details))?;
        return Ok(("recorded", from));
    }
    if !decision.invalid.is_empty() {
        return Ok(("invalid", from));
    }
    change.record(db, "stale", (Some(from), None), None)?;
    Ok(("stale", from))
}

/// Admin alerts travel the outbox as `admin.*` events (the relay turns them into
/// notifications; the public feed leaves them out).
pub const ADMIN_EVENT_PREFIX: &str = "admin.";
/// A refund the provider reports failed (possibly after it had succeeded).
pub const REFUND_FAILED_EVENT: &str = "admin.refund_failed";
/// A dispute that opened or was decided.
pub const DISPUTE_EVENT: &str = "admin.dispute";

#[derive(Serialize)]
struct Alert<'a, T: Serialize> {
    pledge_id: &'a str,
    campaign_id: &'a str,
    currency: &'a str,
    #[serde(flatten)]
    row: &'a T,
}

/// Queues an alert for a refund that failed and for a dispute that opened or closed.
fn alert(
    db: &dyn SqlExecutor,
    pledge: &Pledge,
    row: &RowChange,
    now_ms: i64,
) -> Result<(), DbError> {
    let (pledge_id, campaign_id, currency) = (
        pledge.id.as_str(),
        pledge.campaign_id.as_str(),
        pledge.currency.code(),
    );
    match row {
        RowChange::Refund(refund)
            if refund.status == crate::domain::refund::RefundStatus::Failed =>
        {
            outbox::append(
                db,
                pledge_id,
                REFUND_FAILED_EVENT,
                &Alert {
                    pledge_id,
                    campaign_id,
                    currency,
                    row: refund,
                },
                now_ms,
            )
        }
        RowChange::Dispute {
            dispute,
            alert: true,
        } => outbox::append(
            db,
            pledge_id,
            DISPUTE_EVENT,
            &Alert {
                pledge_id,
                campaign_id,
                currency,
                row: dispute,
            },
            now_ms,
        ),
        _ => Ok(()),
    }
}
