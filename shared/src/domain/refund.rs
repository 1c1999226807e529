//! A refund's life at the provider. A refund the provider accepted is not yet money
//! back: it may stay pending for days and may still fail after it was reported as
//! succeeded (the money returns to the platform). Each report only moves a refund
//! forward on this order, so reports delivered late or twice change nothing:
//!
//! ```text
//! REQUESTED ──► PENDING ──► SUCCEEDED ──► FAILED
//! ```
//!
//! Only SUCCEEDED counts as refunded; every status but FAILED holds its amount against
//! what may still be refunded.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RefundStatus {
    /// Reserved by the app; the provider has not answered yet.
    Requested,
    Pending,
    Succeeded,
    /// Refused, canceled, or failed after succeeding: no money went back.
    Failed,
}

impl RefundStatus {
    pub const ALL: [RefundStatus; 4] = [
        Self::Requested,
        Self::Pending,
        Self::Succeeded,
        Self::Failed,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Requested => "requested",
            Self::Pending => "pending",
            Self::Succeeded => "succeeded",
            Self::Failed => "failed",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|st| st.as_str() == s)
    }

    /// Reads a Stripe refund's `status`. `requires_action` waits on the customer like
    /// `pending`; `canceled` returned nothing like `failed`.
    pub fn from_provider(s: &str) -> Option<Self> {
        match s {
            "pending" | "requires_action" => Some(Self::Pending),
            "succeeded" => Some(Self::Succeeded),
            "failed" | "canceled" => Some(Self::Failed),
            _ => None,
        }
    }

    /// The status after a report of `reported`: `None` when the report is at or behind
    /// what is known (late or repeated), so nothing changes.
    pub fn advance(self, reported: RefundStatus) -> Option<RefundStatus> {
        (reported > self).then_some(reported)
    }

    /// Whether the money is back with the donor.
    pub fn is_refunded(self) -> bool {
        self == Self::Succeeded
    }

    /// Whether the amount is still held against what may be refunded.
    pub fn holds_amount(self) -> bool {
        self != Self::Failed
    }
}

#[cfg(test)]
mod tests {
    use super::RefundStatus as S;
    use proptest::prelude::*;

    #[test]
    fn a_refund_can_fail_after_it_succeeded_but_never_succeed_after_it_failed() {
        assert_eq!(S::Succeeded.advance(S::Failed), Some(S::Failed));
        assert_eq!(S::Failed.advance(S::Succeeded), None);
        assert_eq!(S::Pending.advance(S::Pending), None);
        assert_eq!(S::from_provider("canceled"), Some(S::Failed));
        assert_eq!(S::from_provider("requires_action"), Some(S::Pending));
        assert_eq!(S::from_provider("refunded"), None);
    }

    proptest! {
        #[test]
        fn any_order_of_reports_ends_at_the_latest_status(reports in prop::collection::vec(prop::sample::select(S::ALL.to_vec()), 0..8).prop_shuffle()) {
            let end = reports.iter().fold(S::Requested, |s, r| s.advance(*r).unwrap_or(s));
            prop_assert_eq!(end, reports.iter().copied().max().unwrap_or(S::Requested).max(S::Requested));
        }
    }
}
