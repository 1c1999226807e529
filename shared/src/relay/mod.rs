//! The outbox relay: claims batches of unpublished events, applies them to every consumer
//! (campaign totals, notifications, the external feed) and marks them published in one
//! transaction, then sends due notifications and feed deliveries. Safe to run from any
//! number of instances at once and to kill at any point (see `claim` and `apply`).

pub mod abandoned;
pub mod apply;
pub mod claim;
pub mod confirmation;
pub mod dead_letter;
pub mod deliver;
pub mod event;
pub mod feed;
pub mod health;
pub mod heartbeat;
pub mod notify;
pub mod reconcile;
pub mod run_log;
pub mod spans;
pub mod totals;
pub mod totals_cache;

use crate::payments::stripe::HttpSend;
use crate::storage::key_value::KeyValue;
use crate::storage::{DbError, SqlExecutor};
use crate::telemetry::{current, SpanId, SpanRecorder, TraceParent};
use deliver::{Delivered, Queue};
use event::OutboxEvent;
use feed::FeedSettings;
use notify::NotifySettings;
use serde::Serialize;
use std::collections::HashMap;

#[derive(Debug, Clone)]
pub struct RelaySettings {
    /// Events claimed and applied per transaction.
    pub batch_size: u32,
    /// How long a claim keeps other relays off a batch (and so how long a batch a dead
    /// relay held waits before another relay takes it).
    pub lease_ms: i64,
    /// A run stops claiming new batches after this long, so a scheduled run ends.
    pub time_budget_ms: i64,
    /// Most notifications and feed deliveries sent per run and queue.
    pub deliveries_per_run: u32,
    pub notify: NotifySettings,
    pub feed: FeedSettings,
}

impl RelaySettings {
    pub const DEFAULT_TIME_BUDGET_MS: i64 = 3_000;
    pub const DEFAULT_DELIVERIES_PER_RUN: u32 = 200;
    /// Keeps every per-batch statement (the widest binds 7 parameters per event) far
    /// under the backends' parameter limits; the feed's rows are chunked separately.
    pub const MAX_BATCH_SIZE: u32 = 2_000;
}

/// What one run did.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct RunReport {
    pub started_at_ms: i64,
    pub duration_ms: i64,
    pub batches: u64,
    /// Events this run claimed.
    pub claimed: u64,
    /// Events this run published (a claim another relay finished first is not counted).
    pub published: u64,
    /// Pledge snapshots that moved the projection (newer than what it held).
    pub applied: u64,
    /// Events that failed on their own this run; each is tried again once its lease
    /// has run out.
    pub failed: u64,
    /// Events dead-lettered this run (see [`dead_letter`]).
    pub dead_lettered: u64,
    pub notifications: Delivered,
    pub feed: Delivered,
    /// Unpaid pledges cancelled this run because their donor abandoned them.
    pub abandoned_canceled: u64,
}

#[derive(Debug, thiserror::Error)]
pub enum RelayError {
    #[error(transparent)]
    Db(#[from] DbError),
    #[error(transparent)]
    Consume(#[from] totals::ConsumeError),
}

impl RunReport {
    fn add(&mut self, applied: &apply::Applied) {
        self.published += applied.published;
        self.applied += applied.applied;
    }
}

/// The relay's surroundings: database, outbound HTTP, clock and id source, and for the
/// scheduled runs the sweep of abandoned payments.
pub struct Relay<'a> {
    pub db: &'a dyn SqlExecutor,
    pub http: &'a dyn HttpSend,
    pub settings: &'a RelaySettings,
    pub clock: &'a dyn Fn() -> i64,
    pub new_id: &'a dyn Fn() -> String,
    pub sweep: Option<abandoned::Sweep<'a>>,
    /// Set for scheduled runs, which report themselves: the heartbeat goes here (the
    /// app's key-value store), and a run that did work or failed writes one JSON line
    /// on stdout (`run_log`).
    pub heartbeat: Option<&'a dyn KeyValue>,
    /// Where this relay's spans go for export (see `spans`); `None` records none.
    pub spans: Option<&'a SpanRecorder>,
    /// The key-value store that keeps the campaign totals for readers (see
    /// [`totals_cache`]), brought up to date after every publish; `None` keeps none.
    pub totals_cache: Option<&'a dyn KeyValue>,
}

impl Relay<'_> {
    /// One run: batches until the outbox is drained or the time budget is spent, then
    /// the due deliveries. A scheduled run leaves a heartbeat whatever the outcome (one
    /// that cannot be stored is logged and does not fail the run) and its log line.
    pub fn run(&self) -> Result<RunReport, RelayError> {
        let trace = TraceParent::new_root();
        let started = (self.clock)();
        let outcome = self.run_once(trace);
        if let Some(recorder) = self.spans {
            spans::run(recorder, trace, started, (self.clock)(), &outcome);
        }
        if let Some(kv) = self.heartbeat {
            if let Some(line) = run_log::line(&outcome, (self.clock)(), &trace) {
                println!("{line}");
            }
            let beat = heartbeat::Heartbeat::of(&outcome, (self.clock)());
            if let Err(e) = heartbeat::record(kv, &beat) {
                eprintln!("relay heartbeat not stored: {e}");
            }
        }
        outcome
    }

    fn run_once(&self, trace: TraceParent) -> Result<RunReport, RelayError> {
        let s = self.settings;
        let report = self.timed(|report| {
            if let Some(sweep) = &self.sweep {
                report.abandoned_canceled = sweep.run(self.db, self.clock)?;
            }
            self.publish(report, s.time_budget_ms, trace)?;
            report.notifications = self.deliver(Queue::Notifications, None)?;
            if !s.feed.subscribers.is_empty() {
                report.feed = self.deliver(Queue::Feed, Some(&s.feed.signing_secret))?;
            }
            // Events committed while the deliveries were out go now, not a tick later.
            self.publish(report, s.time_budget_ms, trace)?;
            self.sync_totals_cache();
            Ok(())
        })?;
        health::record_run(self.db, &report)?;
        Ok(report)
    }

    /// One batch claimed and applied, nothing else: what a handler runs right after it
    /// has answered, so its fresh events need not wait for the next scheduled run. No
    /// deliveries (those are the scheduled run's, with its outbound hosts) and no health
    /// record (the runs in relay health are the scheduled ones).
    pub fn publish_one_batch(&self) -> Result<RunReport, RelayError> {
        let trace = current::get().unwrap_or_else(TraceParent::new_root);
        self.timed(|report| {
            self.publish(report, 0, trace)?;
            self.sync_totals_cache();
            Ok(())
        })
    }

    /// The totals store follows what was just committed. A store that fails is logged
    /// and left for the next run: readers then see older totals with a lag that says so.
    fn sync_totals_cache(&self) {
        if let Some(kv) = self.totals_cache {
            if let Err(e) = totals_cache::sync(self.db, kv, (self.clock)()) {
                eprintln!("totals cache not brought up to date: {e}");
            }
        }
    }

    /// A report of `work`, stamped with when it started and how long it took.
    fn timed(
        &self,
        work: impl FnOnce(&mut RunReport) -> Result<(), RelayError>,
    ) -> Result<RunReport, RelayError> {
        let started = (self.clock)();
        let mut report = RunReport {
            started_at_ms: started,
            ..RunReport::default()
        };
        work(&mut report)?;
        report.duration_ms = (self.clock)() - started;
        Ok(report)
    }

    /// Claims and applies batches until the outbox is drained or `budget_ms` is spent
    /// (at least one batch either way); each batch is traced under `trace`.
    fn publish(
        &self,
        report: &mut RunReport,
        budget_ms: i64,
        trace: TraceParent,
    ) -> Result<(), RelayError> {
        let s = self.settings;
        loop {
            let started = (self.clock)();
            let batch = claim::claim_batch(self.db, s.batch_size, s.lease_ms, started)?;
            if batch.is_empty() {
                return Ok(());
            }
            report.batches += 1;
            report.claimed += batch.len() as u64;
            let published_before = report.published;
            let traces = match apply::apply_batch(self, &batch) {
                Ok(applied) => {
                    report.add(&applied);
                    applied.traces
                }
                Err(e) if e.is_poison() => self.apply_one_by_one(report, &batch)?,
                Err(e) => return Err(e),
            };
            let traced = spans::Batch {
                context: trace.child(SpanId::random()),
                parent: trace,
                events: &batch,
                started_ms: started,
                ended_ms: (self.clock)(),
                published: report.published - published_before,
            };
            if let Some(recorder) = self.spans {
                traced.record(recorder, &traces);
            }
            if self.heartbeat.is_some() {
                println!("{}", run_log::batch_line(&traced));
            }
            let spent = (self.clock)() - report.started_at_ms;
            if (batch.len() as u32) < s.batch_size || spent >= budget_ms {
                return Ok(());
            }
        }
    }

    /// A batch failed: each event on its own, so only the bad ones stay behind.
    fn apply_one_by_one(
        &self,
        report: &mut RunReport,
        batch: &[OutboxEvent],
    ) -> Result<HashMap<i64, TraceParent>, RelayError> {
        let mut traces = HashMap::new();
        for event in batch {
            match apply::apply_batch(self, std::slice::from_ref(event)) {
                Ok(applied) => {
                    report.add(&applied);
                    traces.extend(applied.traces);
                }
                Err(e) if e.is_poison() && event.attempts >= dead_letter::MAX_ATTEMPTS => {
                    let error = e.to_string();
                    let alert_id = (self.new_id)();
                    let now = (self.clock)();
                    dead_letter::bury(
                        self.db,
                        event,
                        &error,
                        &self.settings.notify,
                        &alert_id,
                        now,
                    )?;
                    report.dead_lettered += 1;
                }
                // It keeps its claim: tried again once the lease has run out.
                Err(e) if e.is_poison() => report.failed += 1,
                Err(e) => return Err(e),
            }
        }
        Ok(traces)
    }

    fn deliver(&self, queue: Queue, secret: Option<&[u8]>) -> Result<Delivered, DbError> {
        deliver::deliver_due(self, queue, secret)
    }
}
