//! The storage port: a minimal SQL executor that the Spin SQLite and Postgres interfaces
//! (and rusqlite in native tests) implement, plus the repositories written against it.

pub mod campaigns;
pub mod migrations;
mod sql;

pub use sql::{Backend, DbError, Row, Rows, SqlExecutor, SqlValue};
