//! Cancelling abandoned payments: a pledge left PENDING or PAYMENT_FAILED longer than the
//! configured time is cancelled at the provider and then here (CANCELED, out of
//! `pledged`), a few per scheduled run. A payment the provider refuses to cancel (it was
//! paid meanwhile) is left alone: its webhook is on the way.

use crate::payments::actions::{self, ActionError};
use crate::payments::provider::{CancelReason, PaymentProvider, ProviderError};
use crate::storage::{DbError, SqlExecutor};

/// Most pledges cancelled per run, so a backlog of them never holds up the outbox.
pub const PER_RUN: u32 = 50;

pub struct Sweep<'a> {
    pub provider: &'a dyn PaymentProvider,
    /// How long an unpaid pledge may wait for its payment.
    pub after_ms: i64,
}

impl Sweep<'_> {
    /// Cancels up to [`PER_RUN`] abandoned pledges; returns how many. Stops early, without
    /// an error, when the provider is unavailable (the next run tries again).
    pub fn run(&self, db: &dyn SqlExecutor, clock: &dyn Fn() -> i64) -> Result<u64, DbError> {
        let mut canceled = 0;
        for id in actions::abandoned(db, clock() - self.after_ms, PER_RUN)? {
            match actions::cancel(db, self.provider, &id, CancelReason::Abandoned, clock) {
                Ok(_) => canceled += 1,
                // Paid (or moved on) since it was listed.
                Err(ActionError::Provider(ProviderError::Rejected { .. }))
                | Err(ActionError::NotAllowed { .. })
                | Err(ActionError::NotFound(_)) => {}
                Err(ActionError::Provider(ProviderError::Unavailable(_))) => break,
                Err(ActionError::Db(e)) => return Err(e),
            }
        }
        Ok(canceled)
    }
}
