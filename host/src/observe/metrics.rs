//! The host's own Prometheus metrics, served at `/.well-known/spin-host/metrics`.

use anyhow::Result;
use prometheus::{
    Encoder, HistogramOpts, HistogramVec, IntCounterVec, IntGauge, Opts, Registry, TextEncoder,
};

#[derive(Clone)]
pub struct Metrics {
    registry: Registry,
    pub requests: IntCounterVec,
    pub request_duration: HistogramVec,
    pub instantiation_duration: HistogramVec,
    pub in_flight: IntGauge,
    pub cron_runs: IntCounterVec,
    /// Guest Postgres statements by the call they took (`query`, `execute`) and whether
    /// they have result rows (`rows`, `no_rows`).
    pub postgres_statements: IntCounterVec,
}

const LATENCY_BUCKETS: &[f64] = &[
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
];

impl Metrics {
    pub fn new() -> Result<Self> {
        let registry = Registry::new();
        let requests = IntCounterVec::new(
            Opts::new(
                "spin_host_requests_total",
                "HTTP requests served, by component and status",
            ),
            &["component", "status"],
        )?;
        let request_duration = HistogramVec::new(
            HistogramOpts::new(
                "spin_host_request_duration_seconds",
                "Time from request received to response headers, by component",
            )
            .buckets(LATENCY_BUCKETS.to_vec()),
            &["component"],
        )?;
        let instantiation_duration = HistogramVec::new(
            HistogramOpts::new(
                "spin_host_instantiation_duration_seconds",
                "Time to instantiate a component from its InstancePre",
            )
            .buckets(vec![
                0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.05,
            ]),
            &["component"],
        )?;
        let in_flight = IntGauge::new(
            "spin_host_requests_in_flight",
            "HTTP requests being served now",
        )?;
        let cron_runs = IntCounterVec::new(
            Opts::new(
                "spin_host_cron_runs_total",
                "Cron component runs, by component and outcome",
            ),
            &["component", "outcome"],
        )?;
        let postgres_statements = IntCounterVec::new(
            Opts::new(
                "spin_host_postgres_statements_total",
                "Guest Postgres statements, by call and by whether they have result rows",
            ),
            &["call", "result"],
        )?;
        registry.register(Box::new(postgres_statements.clone()))?;
        registry.register(Box::new(requests.clone()))?;
        registry.register(Box::new(request_duration.clone()))?;
        registry.register(Box::new(instantiation_duration.clone()))?;
        registry.register(Box::new(in_flight.clone()))?;
        registry.register(Box::new(cron_runs.clone()))?;
        Ok(Metrics {
            registry,
            requests,
            request_duration,
            instantiation_duration,
            in_flight,
            cron_runs,
            postgres_statements,
        })
    }

    pub fn render(&self) -> Vec<u8> {
        let mut out = Vec::new();
        let _ = TextEncoder::new().encode(&self.registry.gather(), &mut out);
        out
    }
}
