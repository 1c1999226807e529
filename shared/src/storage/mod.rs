//! The storage ports: a minimal SQL executor that the Spin SQLite and Postgres interfaces
//! (and rusqlite in native tests) implement, the repositories written against it, and the
//! key-value port.

pub mod accounts;
pub mod business_metrics;
pub mod busy;
pub mod campaigns;
pub mod disputes;
pub mod idempotency;
pub mod key_value;
pub mod metric_counts;
pub mod migrations;
pub mod money_back;
pub mod operator_views;
pub mod outbox;
pub mod pledge_lists;
pub mod pledges;
pub mod provider_events;
pub mod refunds;
mod sql;
pub mod trace_context;
pub mod tx;

pub use sql::{
    placeholders, postgres_placeholders, row_placeholders, rows_per_statement, Backend, DbError,
    Row, Rows, SqlExecutor, SqlValue,
};
