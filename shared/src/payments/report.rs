//! What a payment provider reports about one payment, in the app's own terms: a step of
//! the payment, of one of its refunds, or of one of its disputes.

use crate::domain::dispute::DisputeReport;
use crate::domain::pledge::PaymentEvent;
use crate::domain::refund::RefundStatus;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Report {
    Payment(PaymentEvent),
    Refund(RefundReport),
    Dispute(DisputeUpdate),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RefundReport {
    pub provider_refund_id: String,
    /// The app's id for the refund, when the app asked for it (sent as metadata).
    pub refund_id: Option<String>,
    pub amount_minor: u64,
    pub status: RefundStatus,
    /// The provider's reason for a failure.
    pub failure: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DisputeUpdate {
    pub dispute_id: String,
    pub amount_minor: u64,
    pub reason: Option<String>,
    pub report: DisputeReport,
}
