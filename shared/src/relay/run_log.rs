//! The one JSON log line of a scheduled relay run that did work or failed (an idle run
//! every second would only add noise; its heartbeat shows it ran). Counts and timings
//! only: no pledge, donor or secret is ever in it.

use super::{RelayError, RunReport};
use serde_json::json;

pub fn line(outcome: &Result<RunReport, RelayError>, at_ms: i64) -> Option<String> {
    let fields = match outcome {
        Ok(r) => {
            let delivered = r.notifications.sent + r.feed.sent;
            let retried = r.notifications.retried + r.feed.retried;
            if r.claimed == 0 && delivered == 0 && retried == 0 && r.abandoned_canceled == 0 {
                return None;
            }
            json!({
                "ts_ms": at_ms, "level": "info", "msg": "relay run",
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
            json!({ "ts_ms": at_ms, "level": "error", "msg": "relay run failed", "error": e.to_string() })
        }
    };
    Some(fields.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_idle_run_is_quiet_and_a_busy_or_failed_one_is_one_json_line() {
        assert_eq!(line(&Ok(RunReport::default()), 1), None);
        let busy = RunReport {
            claimed: 3,
            published: 3,
            ..RunReport::default()
        };
        let text = line(&Ok(busy), 7).unwrap();
        let parsed: serde_json::Value = serde_json::from_str(&text).unwrap();
        assert_eq!(
            (parsed["msg"].as_str(), parsed["published"].as_u64()),
            (Some("relay run"), Some(3))
        );
        assert!(!text.contains('\n'));
        let failed = line(
            &Err(RelayError::Db(crate::storage::DbError::Other(
                "gone".into(),
            ))),
            7,
        )
        .unwrap();
        assert!(failed.contains("\"level\":\"error\""), "{failed}");
    }
}
