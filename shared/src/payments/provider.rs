//! The provider-neutral payment port: what the app asks of any payment provider.

use crate::domain::money::Currency;
use crate::domain::refund::RefundStatus;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CaptureMode {
    /// The provider captures as soon as the payment is authorized.
    Automatic,
    /// The provider holds the authorization until the app captures it.
    Manual,
}

impl CaptureMode {
    /// Reads the `payment_capture` setting: `automatic` or `manual`.
    pub fn parse(setting: &str) -> Result<Self, String> {
        match setting {
            "automatic" => Ok(Self::Automatic),
            "manual" => Ok(Self::Manual),
            other => Err(format!(
                "payment_capture must be automatic or manual, not `{other}`"
            )),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CreatePayment<'a> {
    pub pledge_id: &'a str,
    pub amount_minor: u64,
    pub currency: Currency,
    pub capture: CaptureMode,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Payment {
    pub id: String,
    /// What a donor's browser needs to confirm the payment with the provider.
    pub client_secret: String,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ProviderError {
    /// The provider could not be reached or failed (5xx): the same call may be retried.
    #[error("payment provider unavailable: {0}")]
    Unavailable(String),
    /// The provider refused the call (4xx): retrying the same call will not help.
    #[error("payment provider refused the request ({status}): {message}")]
    Rejected { status: u16, message: String },
}

/// Captures a payment created with [`CaptureMode::Manual`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CapturePayment<'a> {
    pub pledge_id: &'a str,
    pub payment_id: &'a str,
    /// `None` captures the whole authorized amount.
    pub amount_minor: Option<u64>,
}

/// Why the app cancels a payment (Stripe's `cancellation_reason`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CancelReason {
    /// The donor left the payment unfinished longer than the configured time.
    Abandoned,
    /// An admin cancelled it.
    RequestedByCustomer,
}

impl CancelReason {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Abandoned => "abandoned",
            Self::RequestedByCustomer => "requested_by_customer",
        }
    }
}

/// Cancels a payment that has not been paid.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CancelPayment<'a> {
    pub pledge_id: &'a str,
    pub payment_id: &'a str,
    pub reason: CancelReason,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CreateRefund<'a> {
    /// The app's own id for this refund: the provider-side idempotency key derives from it.
    pub refund_id: &'a str,
    pub payment_id: &'a str,
    pub amount_minor: u64,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProviderRefund {
    pub id: String,
    pub amount_minor: u64,
    /// Where the refund stands now: `Pending` refunds report their outcome later.
    pub status: RefundStatus,
    pub failure: Option<String>,
}

/// The provider's record of one payment's money (a Stripe charge).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChargeRecord {
    pub id: String,
    pub payment_id: String,
    /// The pledge id the payment's metadata names.
    pub pledge_id: Option<String>,
    pub captured_minor: u64,
    pub refunded_minor: u64,
}

/// One page of charges, oldest cursor first; `next` continues after the last one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChargePage {
    pub charges: Vec<ChargeRecord>,
    pub next: Option<String>,
}

pub trait PaymentProvider {
    /// Creates the payment for a pledge. Idempotent per pledge: calling it again for the
    /// same pledge returns the same payment, never a second one.
    fn create_payment(&self, request: &CreatePayment<'_>) -> Result<Payment, ProviderError>;

    /// Captures an authorized payment; returns the amount captured. Idempotent per pledge.
    fn capture(&self, request: &CapturePayment<'_>) -> Result<u64, ProviderError>;

    /// Cancels an unpaid payment (the provider refuses once it succeeded). Idempotent
    /// per pledge.
    fn cancel(&self, request: &CancelPayment<'_>) -> Result<(), ProviderError>;

    /// Refunds part or all of a captured payment. Idempotent per `refund_id`.
    fn refund(&self, request: &CreateRefund<'_>) -> Result<ProviderRefund, ProviderError>;

    /// Lists the provider's charges (for reconciliation), a page after `after`.
    fn list_charges(&self, after: Option<&str>) -> Result<ChargePage, ProviderError>;
}

#[cfg(test)]
mod tests {
    use super::CaptureMode;

    #[test]
    fn capture_setting_takes_the_two_modes_and_names_a_typo() {
        assert_eq!(CaptureMode::parse("automatic"), Ok(CaptureMode::Automatic));
        assert_eq!(CaptureMode::parse("manual"), Ok(CaptureMode::Manual));
        assert!(CaptureMode::parse("Manual")
            .unwrap_err()
            .contains("`Manual`"));
    }
}
