//! The schema, one ordered set of idempotent scripts per backend, kept in `migrations/`.

/// SQLite scripts in order. Each is safe to run again (`IF NOT EXISTS`), so Spin's
/// `spin up --sqlite @file` and the project's host can apply them at every start.
pub const SQLITE: &[(&str, &str)] = &[
    (
        "0001_campaigns",
        include_str!("../../../migrations/sqlite/0001_campaigns.sql"),
    ),
    (
        "0002_donations",
        include_str!("../../../migrations/sqlite/0002_donations.sql"),
    ),
    (
        "0003_refunds",
        include_str!("../../../migrations/sqlite/0003_refunds.sql"),
    ),
    (
        "0004_relay",
        include_str!("../../../migrations/sqlite/0004_relay.sql"),
    ),
    (
        "0005_disputes",
        include_str!("../../../migrations/sqlite/0005_disputes.sql"),
    ),
    (
        "0006_metrics",
        include_str!("../../../migrations/sqlite/0006_metrics.sql"),
    ),
    (
        "0007_trace_context",
        include_str!("../../../migrations/sqlite/0007_trace_context.sql"),
    ),
    (
        "0008_accounts",
        include_str!("../../../migrations/sqlite/0008_accounts.sql"),
    ),
];

/// Postgres scripts in order, equally idempotent.
pub const POSTGRES: &[(&str, &str)] = &[
    (
        "0001_campaigns",
        include_str!("../../../migrations/postgres/0001_campaigns.sql"),
    ),
    (
        "0002_donations",
        include_str!("../../../migrations/postgres/0002_donations.sql"),
    ),
    (
        "0003_refunds",
        include_str!("../../../migrations/postgres/0003_refunds.sql"),
    ),
    (
        "0004_relay",
        include_str!("../../../migrations/postgres/0004_relay.sql"),
    ),
    (
        "0005_disputes",
        include_str!("../../../migrations/postgres/0005_disputes.sql"),
    ),
    (
        "0006_metrics",
        include_str!("../../../migrations/postgres/0006_metrics.sql"),
    ),
    (
        "0007_trace_context",
        include_str!("../../../migrations/postgres/0007_trace_context.sql"),
    ),
    (
        "0008_accounts",
        include_str!("../../../migrations/postgres/0008_accounts.sql"),
    ),
];
