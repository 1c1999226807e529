//! A pledge's refunds and disputes, with the provider's reports applied to them: each
//! row only moves forward on its own order, and the pledge shows their sum.

use super::disputes::{self, Dispute};
use super::refunds::{self, Refund};
use super::{DbError, SqlExecutor};
use crate::domain::dispute::{DisputeChange, DisputeState};
use crate::domain::pledge::MoneyBack;
use crate::domain::refund::RefundStatus;
use crate::payments::report::{DisputeUpdate, RefundReport};

/// A row a report changed, to be written if the pledge accepts the result.
#[derive(Debug, Clone)]
pub enum RowChange {
    Refund(Refund),
    /// `alert`: the dispute opened or was decided by this report, which the admins hear of.
    Dispute {
        dispute: Dispute,
        alert: bool,
    },
}

impl RowChange {
    pub fn save(&self, db: &dyn SqlExecutor) -> Result<(), DbError> {
        match self {
            RowChange::Refund(r) => refunds::save(db, r),
            RowChange::Dispute { dispute, .. } => disputes::save(db, dispute),
        }
    }

    /// What the pledge's history says about the change.
    pub fn describe(&self) -> String {
        match self {
            RowChange::Refund(r) => format!(
                "refund {} of {} is {}",
                r.provider_refund_id.as_deref().unwrap_or(&r.id),
                r.amount_minor,
                r.status.as_str()
            ),
            RowChange::Dispute { dispute: d, .. } => format!(
                "dispute {} of {} is {}, funds {}",
                d.id,
                d.amount_minor,
                d.state.status.as_str(),
                d.state.funds.as_str()
            ),
        }
    }
}

#[derive(Debug, Clone, Default)]
pub struct Ledger {
    pub refunds: Vec<Refund>,
    pub disputes: Vec<Dispute>,
}

impl Ledger {
    pub fn load(db: &dyn SqlExecutor, pledge_id: &str) -> Result<Ledger, DbError> {
        Ok(Ledger {
            refunds: refunds::for_pledge(db, pledge_id)?,
            disputes: disputes::for_pledge(db, pledge_id)?,
        })
    }

    pub fn money_back(&self) -> MoneyBack {
        MoneyBack {
            refunded_minor: self
                .refunds
                .iter()
                .filter(|r| r.status.is_refunded())
                .map(|r| r.amount_minor)
                .sum(),
            disputed_minor: self
                .disputes
                .iter()
                .map(|d| d.state.withdrawn_minor(d.amount_minor))
                .sum(),
        }
    }

    /// Applies a refund report. `Ok(None)`: nothing new; `Err`: the report contradicts
    /// the refund on record.
    pub fn report_refund(
        &mut self,
        pledge_id: &str,
        report: &RefundReport,
        now_ms: i64,
    ) -> Result<Option<RowChange>, String> {
        let re = report.provider_refund_id.as_str();
        let found = self
            .refunds
            .iter()
            .position(|r| r.provider_refund_id.as_deref() == Some(re))
            .or_else(|| {
                self.refunds.iter().position(|r| {
                    r.provider_refund_id.is_none() && Some(&r.id) == report.refund_id.as_ref()
                })
            });
        let Some(i) = found else {
            if report.amount_minor == 0 {
                return Err(format!("refund {re} reported for 0"));
            }
            // Made at the provider directly (e.g. its dashboard).
            let refund = Refund {
                id: format!("provider:{re}"),
                pledge_id: pledge_id.to_string(),
                amount_minor: report.amount_minor,
                status: report.status,
                reason: None,
                provider_refund_id: Some(re.to_string()),
                failure: report.failure.clone(),
                created_at_ms: now_ms,
                updated_at_ms: now_ms,
            };
            self.refunds.push(refund.clone());
            return Ok(Some(RowChange::Refund(refund)));
        };
        let refund = &mut self.refunds[i];
        if refund.amount_minor != report.amount_minor {
            return Err(format!(
                "refund {re} reported for {}, recorded for {}",
                report.amount_minor, refund.amount_minor
            ));
        }
        let learned_id = refund.provider_refund_id.is_none();
        let advanced = refund.status.advance(report.status);
        if !learned_id && advanced.is_none() {
            return Ok(None);
        }
        refund.provider_refund_id = Some(re.to_string());
        if let Some(status) = advanced {
            refund.status = status;
            if status == RefundStatus::Failed {
                refund.failure = report.failure.clone().or(refund.failure.take());
            }
        }
        refund.updated_at_ms = now_ms;
        Ok(Some(RowChange::Refund(refund.clone())))
    }

    /// Applies a dispute report, as [`Ledger::report_refund`].
    pub fn report_dispute(
        &mut self,
        pledge_id: &str,
        update: &DisputeUpdate,
        now_ms: i64,
    ) -> Result<Option<RowChange>, String> {
        let Some(dispute) = self.disputes.iter_mut().find(|d| d.id == update.dispute_id) else {
            if update.amount_minor == 0 {
                return Err(format!("dispute {} reported for 0", update.dispute_id));
            }
            let state = match DisputeState::NEW.apply(update.report) {
                DisputeChange::Applied(state) => state,
                _ => DisputeState::NEW,
            };
            let dispute = Dispute {
                id: update.dispute_id.clone(),
                pledge_id: pledge_id.to_string(),
                amount_minor: update.amount_minor,
                state,
                reason: update.reason.clone(),
                created_at_ms: now_ms,
                updated_at_ms: now_ms,
            };
            self.disputes.push(dispute.clone());
            return Ok(Some(RowChange::Dispute {
                dispute,
                alert: true,
            }));
        };
        if dispute.amount_minor != update.amount_minor {
            return Err(format!(
                "dispute {} reported for {}, recorded for {}",
                dispute.id, update.amount_minor, dispute.amount_minor
            ));
        }
        match dispute.state.apply(update.report) {
            DisputeChange::Stale => Ok(None),
            DisputeChange::Contradicts(reason) => Err(format!("dispute {}: {reason}", dispute.id)),
            DisputeChange::Applied(state) => {
                let decided = !dispute.state.status.is_closed() && state.status.is_closed();
                dispute.state = state;
                dispute.updated_at_ms = now_ms;
                Ok(Some(RowChange::Dispute {
                    dispute: dispute.clone(),
                    alert: decided,
                }))
            }
        }
    }
}
