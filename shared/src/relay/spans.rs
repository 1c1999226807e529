//! The relay's own spans. A run is a trace of its own (`outbox_relay.run`, one
//! `outbox_relay.batch` per batch under it); each applied event written under a trace
//! context gets an `outbox_relay.apply` span in that trace (the donation's), linked to
//! its batch, and each receipt sent gets an `outbox_relay.deliver` span there too.

use super::event::OutboxEvent;
use super::{RelayError, RunReport};
use crate::telemetry::{FinishedSpan, SpanKind, SpanRecorder, TraceParent};
use std::collections::HashMap;

fn count(n: u64) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

pub fn run(
    recorder: &SpanRecorder,
    context: TraceParent,
    started_ms: i64,
    ended_ms: i64,
    outcome: &Result<RunReport, RelayError>,
) {
    let span = FinishedSpan::root(context, "outbox_relay.run", started_ms, ended_ms);
    let span = match outcome {
        Ok(r) => span
            .with("relay.claimed", count(r.claimed))
            .with("relay.published", count(r.published))
            .with("relay.notifications_sent", count(r.notifications.sent)),
        Err(e) => span.failed(Some(e.to_string())),
    };
    recorder.record(span);
}

/// One batch: its span under the run, and an apply span per traced event it published.
pub struct Batch<'a> {
    /// The batch span's own context.
    pub context: TraceParent,
    pub parent: TraceParent,
    pub events: &'a [OutboxEvent],
    pub started_ms: i64,
    pub ended_ms: i64,
    pub published: u64,
}

impl Batch<'_> {
    pub fn record(&self, recorder: &SpanRecorder, traces: &HashMap<i64, TraceParent>) {
        let mut batch = FinishedSpan::under(
            self.parent,
            "outbox_relay.batch",
            SpanKind::Internal,
            self.started_ms,
            self.ended_ms,
        )
        .with("relay.claimed", count(self.events.len() as u64))
        .with("relay.published", count(self.published));
        batch.context = self.context;
        recorder.record(batch);
        for event in self.events {
            let Some(donation) = traces.get(&event.id) else {
                continue;
            };
            recorder.record(
                FinishedSpan::under(
                    *donation,
                    format!("outbox_relay.apply {}", event.event_type),
                    SpanKind::Consumer,
                    self.started_ms,
                    self.ended_ms,
                )
                .with("outbox.event_id", event.id)
                .with("outbox.event_type", event.event_type.as_str())
                .with("pledge.id", event.aggregate_id.as_str())
                .linked_to(self.context),
            );
        }
    }
}
