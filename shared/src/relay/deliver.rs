//! Sends queued notifications and feed deliveries over HTTP: claims due rows with a
//! lease, POSTs each (concurrently) with its id as `Idempotency-Key`, and records the
//! outcomes. A failed send is retried with exponential backoff; after `MAX_ATTEMPTS` the
//! row is marked failed (and shows in the relay's health figures) instead of being
//! retried forever.

use super::feed::SIGNATURE_HEADER;
use super::Relay;
use crate::payments::signature;
use crate::payments::stripe::HttpRequest;
use crate::storage::metric_counts::{self, Deltas};
use crate::storage::tx::{skip_locked, transaction};
use crate::storage::{trace_context, DbError, SqlExecutor, SqlValue};
use crate::telemetry::{FinishedSpan, SpanKind};
use serde::Serialize;
use std::collections::HashMap;

pub const MAX_ATTEMPTS: i64 = 10;
const MAX_BACKOFF_MS: i64 = 5 * 60 * 1000;

/// The two outgoing queues; both tables have the same delivery columns.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Queue {
    Notifications,
    Feed,
}

impl Queue {
    fn table(self) -> &'static str {
        match self {
            Queue::Notifications => "notifications",
            Queue::Feed => "feed_deliveries",
        }
    }

    /// Its finished deliveries' name in `metric_counts`.
    fn count_name(self) -> &'static str {
        match self {
            Queue::Notifications => metric_counts::NOTIFICATIONS,
            Queue::Feed => metric_counts::FEED,
        }
    }
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Delivered {
    pub sent: u64,
    pub retried: u64,
    pub gave_up: u64,
}

/// The wait before attempt `attempts + 1`: 1 s, 2 s, 4 s, ... capped at five minutes.
pub fn backoff_ms(attempts: i64) -> i64 {
    let doubling = u32::try_from(attempts.clamp(1, 20) - 1).unwrap_or(0);
    (1000_i64 << doubling).min(MAX_BACKOFF_MS)
}

struct Outgoing {
    id: String,
    destination: String,
    body: String,
    attempts: i64,
}

/// Requests sent at once (outbound HTTP runs concurrently within a chunk).
const CONCURRENT_SENDS: usize = 32;

/// Delivers up to the relay's `deliveries_per_run` due rows of `queue`, sent
/// concurrently, their outcomes written in one transaction. `signing_secret` signs each
/// body (feed). A notification queued under a trace context is sent in a span of that
/// trace, whose context goes out as its `traceparent`, when the relay records spans.
pub fn deliver_due(
    relay: &Relay<'_>,
    queue: Queue,
    signing_secret: Option<&[u8]>,
) -> Result<Delivered, DbError> {
    let (db, clock) = (relay.db, relay.clock);
    let s = relay.settings;
    let claimed = claim_due(db, queue, s.deliveries_per_run, s.lease_ms, clock())?;
    let traces = match (relay.spans, queue) {
        (Some(_), Queue::Notifications) => {
            let ids: Vec<&str> = claimed.iter().map(|out| out.id.as_str()).collect();
            trace_context::of_notifications(db, &ids)?
        }
        _ => HashMap::new(),
    };
    let mut outcomes = Vec::with_capacity(claimed.len());
    for chunk in claimed.chunks(CONCURRENT_SENDS) {
        let started = clock();
        let mut spans: Vec<Option<FinishedSpan>> = chunk
            .iter()
            .map(|out| {
                traces.get(&out.id).map(|donation| {
                    FinishedSpan::under(
                        *donation,
                        "outbox_relay.deliver",
                        SpanKind::Client,
                        started,
                        started,
                    )
                    .with("notification.id", out.id.as_str())
                })
            })
            .collect();
        let requests = chunk
            .iter()
            .zip(&spans)
            .map(|(out, span)| request(out, signing_secret, started / 1000, span.as_ref()))
            .collect();
        let sent: Vec<Option<String>> = relay
            .http
            .send_all(requests)
            .into_iter()
            .map(|result| match result {
                Ok(r) if (200..300).contains(&r.status) => None,
                Ok(r) => Some(format!("HTTP {}", r.status)),
                Err(e) => Some(e),
            })
            .collect();
        if let Some(recorder) = relay.spans {
            let ended = clock();
            for (span, error) in spans.iter_mut().zip(&sent) {
                if let Some(mut span) = span.take() {
                    span.end_ms = ended;
                    recorder.record(span.failed(error.clone()));
                }
            }
        }
        outcomes.extend(sent);
    }
    let now = clock();
    transaction(db, || record(db, queue, &claimed, outcomes, now))
}

fn request(
    out: &Outgoing,
    signing_secret: Option<&[u8]>,
    now_secs: i64,
    span: Option<&FinishedSpan>,
) -> HttpRequest {
    let mut headers = vec![
        ("content-type".to_string(), "application/json".to_string()),
        ("idempotency-key".to_string(), out.id.clone()),
    ];
    if let Some(span) = span {
        headers.push(("traceparent".to_string(), span.context.to_string()));
    }
    if let Some(secret) = signing_secret {
        let header = signature::sign(&[secret], now_secs, out.body.as_bytes());
        headers.push((SIGNATURE_HEADER.to_string(), header));
    }
    HttpRequest {
        method: "POST",
        url: out.destination.clone(),
        headers,
        body: out.body.clone().into_bytes(),
    }
}

/// Writes each send's outcome: sent, retried after a backoff, or given up; the finished
/// ones are counted for the metrics only where this relay's write took (a row another
/// relay finished after this one's lease ran out is not counted twice).
fn record(
    db: &dyn SqlExecutor,
    queue: Queue,
    claimed: &[Outgoing],
    outcomes: Vec<Option<String>>,
    now: i64,
) -> Result<Delivered, DbError> {
    let mut done = Delivered::default();
    let mut finished = Deltas::default();
    for (out, error) in claimed.iter().zip(outcomes) {
        // (status, sent_at_ms, next_attempt_ms)
        let (status, sent_at, next_attempt) = match &error {
            None => {
                done.sent += 1;
                ("sent", Some(now), None)
            }
            Some(_) if out.attempts >= MAX_ATTEMPTS => {
                done.gave_up += 1;
                ("failed", None, None)
            }
            Some(_) => {
                done.retried += 1;
                ("pending", None, Some(now + backoff_ms(out.attempts)))
            }
        };
        let written = db.query(
            &format!(
                "UPDATE {} SET status = ?2, sent_at_ms = ?3, next_attempt_ms = COALESCE(?4, next_attempt_ms), \
                 claimed_until_ms = NULL, last_error = ?5 WHERE id = ?1 AND status = 'pending' RETURNING id",
                queue.table()
            ),
            &[
                out.id.as_str().into(),
                status.into(),
                sent_at.into(),
                next_attempt.into(),
                error.into(),
            ],
        )?;
        if status != "pending" && written.first().is_some() {
            finished.add(queue.count_name(), status, 1);
        }
    }
    finished.apply(db)?;
    Ok(done)
}

fn claim_due(
    db: &dyn SqlExecutor,
    queue: Queue,
    limit: u32,
    lease_ms: i64,
    now_ms: i64,
) -> Result<Vec<Outgoing>, DbError> {
    let table = queue.table();
    let rows = db.query(
        &format!(
            "UPDATE {table} SET claimed_until_ms = ?1, attempts = attempts + 1 WHERE id IN (\
             SELECT id FROM {table} WHERE status = 'pending' AND next_attempt_ms <= ?2 \
             AND (claimed_until_ms IS NULL OR claimed_until_ms < ?2) ORDER BY next_attempt_ms LIMIT ?3{}) \
             RETURNING id, destination, body, attempts",
            skip_locked(db)
        ),
        &[
            (now_ms + lease_ms).into(),
            now_ms.into(),
            SqlValue::Integer(i64::from(limit)),
        ],
    )?;
    rows.iter()
        .map(|r| {
            Ok(Outgoing {
                id: r.text("id")?,
                destination: r.text("destination")?,
                body: r.text("body")?,
                attempts: r.i64("attempts")?,
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::backoff_ms;

    #[test]
    fn backoff_doubles_from_one_second_up_to_five_minutes() {
        assert_eq!(backoff_ms(1), 1000);
        assert_eq!(backoff_ms(2), 2000);
        assert_eq!(backoff_ms(4), 8000);
        assert_eq!(backoff_ms(30), 300_000);
    }
}
