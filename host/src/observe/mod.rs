//! What the host tells operators: one JSON log line per request, Prometheus metrics.

pub mod log;
pub mod metrics;
