//! The JSON log lines of a scheduled relay run: one per batch, and one for the run when
//! it did work or failed (an idle run every second would only add noise; its heartbeat
//! shows it ran). Each carries the trace and span ids of the relay's own spans (see
//! `spans`); a batch's line names the pledges it published events of. Never a donor's
//! address, a token or a secret.

use super::spans::Batch;
use super::{RelayError, RunReport};
use crate::telemetry::TraceParent;
use serde_json::json;
use std::collections::BTreeSet;

/// At most this many pledge ids in a batch's line (its `pledges` field counts them all).
const PLEDGE_IDS_PER_LINE: usize = 20;

pub fn batch_line(batch: &Batch<'_>) -> String {
    let pledges: BTreeSet<&str> = batch
        .events
        .iter()
        .filter(|e| e.event_type.starts_with("pledge."))
        .map(|e| e.aggregate_id.as_str())
        .collect();
    json!({
        "ts_ms": batch.ended_ms, "level": "info", "msg": "relay batch",
        "trace_id": batch.context.trace_id_hex(), "span_id": batch.context.span_id.to_string(),
        "claimed": batch.events.len(), "published": batch.published,
        "duration_ms": batch.ended_ms - batch.started_ms,
        "pledges": pledges.len(),
        "pledge_ids": pledges.iter().take(PLEDGE_IDS_PER_LINE).collect::<Vec<_>>(),
    })
    .to_string()
}

pub fn line(
    outcome: &Result<RunReport, RelayError>,
    at_ms: i64,
    trace: &TraceParent,
) -> Option<String> {
    let (trace_id, span_id) = (trace.trace_id_hex(), trace.span_id.to_string());
    let fields = match outcome {
        Ok(r) => {
            let delivered = r.notifications.sent + r.feed.sent;
            let retried = r.notifications.retried + r.feed.retried;
            if r.claimed == 0 && delivered == 0 && retried == 0 && r.abandoned_canceled == 0 {
                return None;
            }
            json!({
                "ts_ms": at_ms, "level": "info", "msg": "relay run",
                "trace_id": trace_id, "span_id": span_id,
                "duration_ms": r.duration_ms, "batches": r.batches, "claimed": r.claimed,
                "published": r.published, "applied": r.applied, "failed": r.failed,
                "dead_lettered": r.dead_lettered,
                "notifications_sent": r.notifications.sent, "notifications_retried": r.notifications.retried,
                "notifications_gave_up": r.notifications.gave_up,
                "feed_sent": r.feed.sent, "feed_retried": r.feed.retried, "feed_gave_up": r.feed.gave_up,
                "abandoned_canceled": r.abandoned_canceled,
            })
        }
        Err(e) => {
            json!({
                "ts_ms": at_ms, "level": "error", "msg": "relay run failed",
                "trace_id": trace_id, "span_id": span_id, "error": e.to_string(),
            })
        }
    };
    Some(fields.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_idle_run_is_quiet_and_a_busy_or_failed_one_is_one_json_line() {
        assert_eq!(
            line(&Ok(RunReport::default()), 1, &TraceParent::new_root()),
            None
        );
        let busy = RunReport {
            claimed: 3,
            published: 3,
            ..RunReport::default()
        };
        let trace = TraceParent::new_root();
        let text = line(&Ok(busy), 7, &trace).unwrap();
        let parsed: serde_json::Value = serde_json::from_str(&text).unwrap();
        assert_eq!(
            (parsed["msg"].as_str(), parsed["published"].as_u64()),
            (Some("relay run"), Some(3))
        );
        assert_eq!(
            parsed["trace_id"].as_str(),
            Some(trace.trace_id_hex().as_str())
        );
        assert!(!text.contains('\n'));
        let failed = line(
            &Err(RelayError::Db(crate::storage::DbError::Other(
                "gone".into(),
            ))),
            7,
            &trace,
        )
        .unwrap();
        assert!(failed.contains("\"level\":\"error\""), "{failed}");
    }
}
