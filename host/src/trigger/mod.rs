//! The triggers this host runs: HTTP (with Spin's routing) and cron.

pub mod cron;
pub mod http;
mod service_chaining;
