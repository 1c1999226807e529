//! The command line: which scenario, where the app and the provider are, the secrets the
//! scenarios need, and Goose's own options (users, run time, report file...).

use clap::{Parser, ValueEnum};
use goose::config::GooseConfiguration;

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Scenario {
    /// POST /api/v1/pledges: fresh keys, a share of retries with the same key.
    CreatePledge,
    /// POST /api/v1/payments/webhook: the provider's signed events for real pledges,
    /// shuffled and duplicated.
    PaymentWebhook,
    /// GET /api/v1/campaigns/{id}/totals.
    GetTotals,
    /// GET /api/v1/campaigns (pages) and GET /api/v1/campaigns/{id}.
    Campaigns,
    /// GET /api/v1/pledges/{id}, /api/v1/donors/me/pledges (pledge and email tokens) and
    /// the public feed.
    DonorHistory,
    /// POST /api/v1/pledges/{id}/refund: partial and full, with retries.
    Refunds,
    /// The mix of donation night: mostly readers, donors pledging, the provider's
    /// webhook retries and a few admins refunding.
    DonationDay,
}

impl Scenario {
    pub fn name(self) -> &'static str {
        match self {
            Scenario::CreatePledge => "create-pledge",
            Scenario::PaymentWebhook => "payment-webhook",
            Scenario::GetTotals => "get-totals",
            Scenario::Campaigns => "campaigns",
            Scenario::DonorHistory => "donor-history",
            Scenario::Refunds => "refunds",
            Scenario::DonationDay => "donation-day",
        }
    }
}

/// The longest run allowed: a load loop must stop on its own.
pub const MAX_RUN_SECS: u64 = 600;

#[derive(Parser)]
#[command(
    name = "loadtest",
    about = "CareForAll's per-function load tests and donation-day scenario (Goose); \
             checks the books afterwards. The base URL is Goose's --host."
)]
pub struct Cli {
    #[arg(value_enum)]
    pub scenario: Scenario,
    /// The payment provider (the simulator): its ledger and events are read for the books.
    #[arg(
        long,
        env = "SPIN_VARIABLE_PAYMENT_PROVIDER_URL",
        default_value = "http://127.0.0.1:4242"
    )]
    pub provider_url: String,
    #[arg(
        long,
        env = "SPIN_VARIABLE_PAYMENT_PROVIDER_API_KEY",
        default_value = "sk_test_simulator"
    )]
    pub provider_api_key: String,
    /// The app's admin token (creates the campaigns, refunds, reads reconciliation).
    #[arg(long, env = "SPIN_VARIABLE_ADMIN_TOKEN", hide_env_values = true)]
    pub admin_token: String,
    /// Signs the replayed provider events (the first of a comma-separated list).
    #[arg(
        long,
        env = "SPIN_VARIABLE_WEBHOOK_SECRETS",
        default_value = "whsec_simulator",
        hide_env_values = true
    )]
    pub webhook_secrets: String,
    /// Campaigns created for the run; donors and readers pick them with a skew (Zipf).
    #[arg(long, default_value_t = 20)]
    pub campaigns: usize,
    /// Pledges made before the run for the readers, the refunds and the webhook replays.
    #[arg(long, default_value_t = 200)]
    pub seed_pledges: usize,
    /// How long to wait after the run for webhooks and the relay to settle.
    #[arg(long, default_value_t = 120)]
    pub settle_secs: u64,
    #[command(flatten)]
    pub goose: GooseConfiguration,
}
