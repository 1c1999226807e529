//! The payment-provider port: what the app needs from a provider, independent of wire
//! format, plus the Stripe-compatible webhook signature scheme.

pub mod actions;
pub mod provider;
pub mod report;
pub mod signature;
pub mod stripe;
pub mod stripe_events;
