//! What the host tells operators: one JSON log line per request, Prometheus metrics,
//! OpenTelemetry traces.

pub mod log;
pub mod metrics;
pub mod trace;
