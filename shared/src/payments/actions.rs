//! What the app itself does to a pledge's payment at the provider: capture an authorized
//! payment (manual capture), cancel an unpaid one. The provider is asked first; the books
//! move only on its answer, recorded as an event of the app's own, so the provider's
//! webhook for the same change is then stale.

use super::provider::{
    CancelPayment, CancelReason, CapturePayment, PaymentProvider, ProviderError,
};
use crate::domain::pledge::{PaymentEvent, PledgeStatus};
use crate::payments::report::Report;
use crate::storage::pledges::{self, Pledge};
use crate::storage::provider_events::{apply_provider_event, ProviderEvent, Via};
use crate::storage::{DbError, SqlExecutor};

#[derive(Debug, thiserror::Error)]
pub enum ActionError {
    #[error("no pledge with id `{0}`")]
    NotFound(String),
    /// The pledge's status does not allow the action.
    #[error("pledge `{pledge_id}` is {status}; {needed}")]
    NotAllowed {
        pledge_id: String,
        status: PledgeStatus,
        needed: &'static str,
    },
    #[error(transparent)]
    Provider(#[from] ProviderError),
    #[error(transparent)]
    Db(#[from] DbError),
}

fn load(db: &dyn SqlExecutor, pledge_id: &str) -> Result<Pledge, ActionError> {
    pledges::get(db, pledge_id)?.ok_or_else(|| ActionError::NotFound(pledge_id.to_string()))
}

fn record(
    db: &dyn SqlExecutor,
    pledge: &Pledge,
    kind: &str,
    event: PaymentEvent,
    clock: &dyn Fn() -> i64,
) -> Result<Pledge, ActionError> {
    apply_provider_event(
        db,
        &ProviderEvent {
            event_id: &format!("{kind}:{}", pledge.id),
            kind,
            // The pledge is found by its id; a pledge whose payment never started has no
            // payment id, and none other has the empty one.
            payment_id: pledge.provider_payment_id.as_deref().unwrap_or(""),
            pledge_id: Some(&pledge.id),
            reports: &[Report::Payment(event)],
            via: Via::Answer,
        },
        clock,
    )?;
    load(db, &pledge.id)
}

/// Cancels an unpaid pledge (PENDING, PAYMENT_FAILED or AUTHORIZED): its payment at the
/// provider first, then the pledge, which leaves `pledged`. A pledge whose payment never
/// started is cancelled here only. Cancelling a CANCELED pledge changes nothing.
pub fn cancel(
    db: &dyn SqlExecutor,
    provider: &dyn PaymentProvider,
    pledge_id: &str,
    reason: CancelReason,
    clock: &dyn Fn() -> i64,
) -> Result<Pledge, ActionError> {
    let pledge = load(db, pledge_id)?;
    if pledge.status == PledgeStatus::Canceled {
        return Ok(pledge);
    }
    if !pledge.status.is_unpaid() {
        return Err(ActionError::NotAllowed {
            pledge_id: pledge.id,
            status: pledge.status,
            needed: "only an unpaid pledge can be cancelled (refund a paid one)",
        });
    }
    if let Some(payment_id) = &pledge.provider_payment_id {
        provider.cancel(&CancelPayment {
            pledge_id: &pledge.id,
            payment_id,
            reason,
        })?;
    }
    record(db, &pledge, "app.cancel", PaymentEvent::Canceled, clock)
}

/// Captures an AUTHORIZED pledge's payment (created with manual capture), all of it or
/// `amount_minor` of it.
pub fn capture(
    db: &dyn SqlExecutor,
    provider: &dyn PaymentProvider,
    pledge_id: &str,
    amount_minor: Option<u64>,
    clock: &dyn Fn() -> i64,
) -> Result<Pledge, ActionError> {
    let pledge = load(db, pledge_id)?;
    let (PledgeStatus::Authorized, Some(payment_id)) =
        (pledge.status, pledge.provider_payment_id.as_deref())
    else {
        return Err(ActionError::NotAllowed {
            pledge_id: pledge.id.clone(),
            status: pledge.status,
            needed: "only an AUTHORIZED pledge can be captured",
        });
    };
    let captured_minor = provider.capture(&CapturePayment {
        pledge_id: &pledge.id,
        payment_id,
        amount_minor,
    })?;
    record(
        db,
        &pledge,
        "app.capture",
        PaymentEvent::Captured { captured_minor },
        clock,
    )
}

/// Pledges left unpaid (PENDING or PAYMENT_FAILED) since before `before_ms`, oldest
/// first, at most `limit`.
pub fn abandoned(db: &dyn SqlExecutor, before_ms: i64, limit: u32) -> Result<Vec<String>, DbError> {
    db.query(
        "SELECT id FROM pledges WHERE status IN ('PENDING', 'PAYMENT_FAILED') AND updated_at_ms < ?1 \
         ORDER BY updated_at_ms LIMIT ?2",
        &[before_ms.into(), i64::from(limit).into()],
    )?
    .iter()
    .map(|r| r.text("id"))
    .collect()
}
