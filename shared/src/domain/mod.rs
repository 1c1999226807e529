//! Domain types: parsed, validated values that make wrong states unrepresentable.

pub mod campaign;
pub mod dispute;
pub mod donor;
pub mod donor_token;
pub mod idempotency;
pub mod money;
pub mod password;
pub mod pledge;
pub mod refund;
pub mod text;
pub mod totals;
